"""Run Spyglass as ``python -m spyglass``: the command line, or the window with no arguments."""

from spyglass.launch import main

if __name__ == "__main__":
    main()
