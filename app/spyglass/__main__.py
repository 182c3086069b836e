"""Run Spyglass as ``python -m spyglass``: the command line, or the window with no arguments."""

from spyglass.cli import run

if __name__ == "__main__":
    run()
