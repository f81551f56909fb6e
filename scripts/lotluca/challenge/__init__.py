"""The challenge kit (docs/challenge.md): de-identified participant data, train / public / private test splits,
a Codabench competition bundle with its scoring program, and the re-identification check.

`settings` (the `challenge` config block), `splits` (stratified seeded splits), `deidentify` (pseudonyms,
per-person date shifts, FINESS pseudonyms, coarsening), `dictionary` (the data dictionary from the contracts),
`reidentify` (the re-identification check), `scoring` (the scoring program's logic, shared with
`lotluca evaluate`), `bundle` (the Codabench bundle), `kit` (the whole kit), `steps` (the rule `challenge`).
"""
