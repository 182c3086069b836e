"""Run Spyglass as ``python -m spyglass``: the command line, or the window with no arguments."""

import sys

from spyglass.cli import main

if __name__ == "__main__":
    sys.exit(main())
