"""Dialogs: the layer file listing and the crash report."""
