"""Qt item models of the window: the places tree and the tables of the image view."""
