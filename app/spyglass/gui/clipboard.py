"""Putting text on the clipboard, each function answering the sentence the status bar
says of it ("Copied …"): the places tree's and the Transfers table's context menus copy
through here."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QGuiApplication

from spyglass.core.text import shell_quoted, visible


def copy_text(text: str) -> str:
    """Put ``text`` (a digest, a sentence) on the clipboard as it is; answer "Copied …"
    (what would not show as itself written as an escape)."""
    QGuiApplication.clipboard().setText(text)
    return f"Copied {visible(text)}"


def copy_as_given(text: str, *, url: str = "") -> str:
    """Put ``text`` (a path, an image name) on the clipboard as a shell takes it
    (:func:`~spyglass.core.text.shell_quoted`): as it is, or ``$'…'`` where it holds a
    byte that is not UTF-8 or a control character (a newline), or ``'…'`` where it holds
    a quote or a backslash or starts or ends with a space; with ``url`` too, for file
    managers. Answer what the status bar says of it."""
    quoted = shell_quoted(text)
    data = QMimeData()
    data.setText(quoted)
    if url:
        data.setUrls([QUrl(url)])
    QGuiApplication.clipboard().setMimeData(data)
    if quoted == text:
        return f"Copied {text}"
    if quoted.startswith("$'"):
        return (f"Copied {quoted}: the name holds what is no text, so it is written as a "
                "shell takes it")
    return (f"Copied {quoted}: the name holds a quote, a backslash or a space at an end, "
            "so it is written as a shell takes it (and pasted, read back as it is)")


__all__ = ["copy_as_given", "copy_text"]
