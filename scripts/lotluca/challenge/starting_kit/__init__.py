"""Files of the challenge's starting kit, copied as they are into the bundle (lotluca.challenge.bundle)."""
