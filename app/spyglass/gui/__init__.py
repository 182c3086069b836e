"""The Qt (PySide6) front end of Spyglass."""
