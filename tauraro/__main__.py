"""`python -m tauraro`: the same command line as the `tauraro` script."""
import sys

from .cli import main

sys.exit(main())
