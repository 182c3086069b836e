"""The widgets of the window's panes: the image view and its tabs."""
