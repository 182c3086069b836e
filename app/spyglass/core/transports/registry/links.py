"""The ``Link`` header of a paged list (``_catalog``, ``tags/list``, referrers), read as
RFC 8288 writes it, and the next page it names.

``Link: <…>; rel="next"``, and each way registries write it otherwise: ``REL="Next"``
(parameter names and relation types compare case-insensitively, RFC 8288 §3 and
§2.1.1), ``rel=next`` unquoted, ``rel="next last"`` (several relation types), spaces
around ``;`` and ``=``, other links before it (``rel="first", …``), a comma or ``;``
inside a quoted value. A header of one link with no ``rel`` at all is taken for the
next page too: containers/image (skopeo) follows the first link of the header whatever
its ``rel`` (``GetRepositoryTags`` cuts the header at its first ``;``), and so does
go-containerregistry (``getNextPageURL``), so registries that leave ``rel`` out are
paged by them; one that names any other relation (``prev``, ``first``) is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

_SPACE: Final = " \t"


@dataclass(frozen=True)
class Link:
    """One link-value: its target as written (a URI reference, maybe relative), and its
    relation types, lowercased (None: the link has no ``rel``)."""

    target: str
    relations: tuple[str, ...] | None


@dataclass(frozen=True)
class NextPage:
    """The next page a ``Link`` header names: ``target`` as written; ``named`` False when
    it was taken from a lone link without ``rel``."""

    target: str
    named: bool


def parse_links(header: str) -> list[Link]:
    """The link-values of a ``Link`` header (several headers joined with ``,``); a
    value that does not start with ``<`` is skipped up to the next ``,``."""
    links: list[Link] = []
    at, end = 0, len(header)
    while at < end:
        at = _skip(header, at, _SPACE + ",")
        if at >= end:
            break
        if header[at] != "<":
            at = _past_value(header, at)
            continue
        close = header.find(">", at)
        if close < 0:
            break
        target = header[at + 1:close].strip()
        relations, at = _params(header, close + 1)
        links.append(Link(target, relations))
    return links


def next_page(header: str | None) -> NextPage | None:
    """The target of the header's first link whose relation types hold ``next``; else,
    of its only link when that has no ``rel`` (see the module's docstring); else None."""
    if not header:
        return None
    links = parse_links(header)
    for link in links:
        if link.relations is not None and "next" in link.relations:
            return NextPage(link.target, named=True)
    if len(links) == 1 and links[0].relations is None:
        return NextPage(links[0].target, named=False)
    return None


def _skip(text: str, at: int, chars: str) -> int:
    while at < len(text) and text[at] in chars:
        at += 1
    return at


def _past_value(text: str, at: int) -> int:
    """Past the ``,`` that ends a link-value (quoted strings and ``<…>`` stepped over)."""
    while at < len(text) and text[at] != ",":
        if text[at] == '"':
            _, at = _quoted(text, at)
            continue
        if text[at] == "<":
            close = text.find(">", at)
            at = len(text) if close < 0 else close + 1
            continue
        at += 1
    return at + 1


def _params(text: str, at: int) -> tuple[tuple[str, ...] | None, int]:
    """The relation types of the link-params from ``at`` (the first ``rel`` counts, as
    RFC 8288 §3.3 says), and where the link-value ends (past its ``,``)."""
    relations: tuple[str, ...] | None = None
    while True:
        at = _skip(text, at, _SPACE)
        if at >= len(text) or text[at] != ";":
            return relations, _past_value(text, at)
        at = _skip(text, at + 1, _SPACE)
        start = at
        while at < len(text) and text[at] not in _SPACE + "=;,":
            at += 1
        name = text[start:at].lower()
        at = _skip(text, at, _SPACE)
        value = ""
        if at < len(text) and text[at] == "=":
            at = _skip(text, at + 1, _SPACE)
            if at < len(text) and text[at] == '"':
                value, at = _quoted(text, at)
            else:
                start = at
                while at < len(text) and text[at] not in _SPACE + ";,":
                    at += 1
                value = text[start:at]
        if name == "rel" and relations is None:
            relations = tuple(value.lower().split())


def _quoted(text: str, at: int) -> tuple[str, int]:
    """The quoted-string at ``at`` (its ``"``), unescaped, and the index past it."""
    value: list[str] = []
    at += 1
    while at < len(text):
        char = text[at]
        if char == "\\" and at + 1 < len(text):
            value.append(text[at + 1])
            at += 2
            continue
        if char == '"':
            return "".join(value), at + 1
        value.append(char)
        at += 1
    return "".join(value), at
