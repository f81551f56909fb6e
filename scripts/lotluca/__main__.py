"""`python -m lotluca` runs the command line."""

import sys

from lotluca.cli import main

sys.exit(main())
