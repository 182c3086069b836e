"""Spyglass: browse, inspect and copy container images.

The transport core lives in :mod:`spyglass.core` (no Qt anywhere below it),
the Qt front end in :mod:`spyglass.gui`, and the command line in
:mod:`spyglass.cli`; the last two share the core.
"""

__version__ = "0.1.0"
