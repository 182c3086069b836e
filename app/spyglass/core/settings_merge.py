"""Merging settings: what a window changed since it read the file, applied to what the
file holds now (:func:`merge_settings`), so that what another window or a hand edit
changed meanwhile is kept.
"""

from __future__ import annotations

import copy as copying
from typing import Any

from spyglass.core.settings import MAX_RECENT, RegistrySettings, Settings, unique_locations


def _merge_value(base: Any, mine: Any, theirs: Any) -> Any:
    """Mine where I changed it since ``base``, else theirs."""
    return copying.deepcopy(mine if mine != base else theirs)


def _merge_extra(base: dict[str, Any], mine: dict[str, Any],
                 theirs: dict[str, Any]) -> dict[str, Any]:
    """Keys this version does not know: the file's, with what mine set differently from
    ``base`` on top (Spyglass never takes such a key away: one mine lacks stays)."""
    merged = copying.deepcopy(theirs)
    for key, value in mine.items():
        if key not in base or base[key] != value:
            merged[key] = copying.deepcopy(value)
    return merged


def _merge_names(base: list[str], mine: list[str], theirs: list[str]) -> list[str]:
    """A list of names: theirs, less what mine took out since ``base``, then what mine
    added (in mine's order)."""
    removed = set(base) - set(mine)
    merged = [name for name in theirs if name not in removed]
    merged += [name for name in mine if name not in base and name not in merged]
    return merged


def _opened_since(base: list[str], mine: list[str]) -> int:
    """How many of mine's first recent places were opened since ``base``: mine is those
    (most recent first) before what is left of ``base`` in its order."""
    j = len(base) - 1
    for i in range(len(mine) - 1, -1, -1):
        while j >= 0 and base[j] != mine[i]:
            j -= 1
        if j < 0:
            return i + 1
        j -= 1
    return 0


def _merge_recent(base: list[str], mine: list[str], theirs: list[str]) -> list[str]:
    """The recent places: those opened here since ``base`` first, then the file's, less
    those taken off the list here (Clear Recent, a place that failed); at most
    :data:`MAX_RECENT`. A full list lost its last ones to the cap, not to a removal."""
    opened = mine[:_opened_since(base, mine)]
    removed = set(base) - set(mine) if len(mine) < MAX_RECENT else set()
    rest = [p for p in theirs if p not in opened and p not in removed]
    return unique_locations([*opened, *rest], MAX_RECENT)


def _merge_registry(base: RegistrySettings | None, mine: RegistrySettings,
                    theirs: RegistrySettings) -> RegistrySettings:
    if base is None:  # added on both sides: mine, with the file's unknown keys
        merged = mine.copy()
        merged.extra = _merge_extra({}, mine.extra, theirs.extra)
        return merged
    merged = theirs.copy()
    # who signs in (a user, or a token alone) is one setting: merged as one
    merged.username, merged.saved_token = _merge_value(
        (base.username, base.saved_token), (mine.username, mine.saved_token),
        (theirs.username, theirs.saved_token))
    merged.insecure = _merge_value(base.insecure, mine.insecure, theirs.insecure)
    merged.repositories = _merge_names(base.repositories, mine.repositories,
                                       theirs.repositories)
    merged.extra = _merge_extra(base.extra, mine.extra, theirs.extra)
    return merged


def _same_registry(one: RegistrySettings, other: RegistrySettings) -> bool:
    return one.to_json() == other.to_json()


def _merge_registries(base: list[RegistrySettings], mine: list[RegistrySettings],
                      theirs: list[RegistrySettings]) -> list[RegistrySettings]:
    """By host, in the file's order, then the ones added here: one removed here goes (a
    change made to it meanwhile too), one added there stays, one changed on both sides
    is merged field by field, and one removed there stays removed unless it was changed
    here since."""
    in_base = {r.host: r for r in base}
    in_mine = {r.host: r for r in mine}
    in_theirs = {r.host: r for r in theirs}
    merged: list[RegistrySettings] = []
    for entry in theirs:
        host = entry.host
        if host in in_mine:
            merged.append(_merge_registry(in_base.get(host), in_mine[host], entry))
        elif host not in in_base:
            merged.append(entry.copy())  # added there
        # else: removed here
    for entry in mine:
        host = entry.host
        if host in in_theirs:
            continue
        known = in_base.get(host)
        if known is None or not _same_registry(known, entry):
            merged.append(entry.copy())  # added here, or changed here after a removal there
    return merged


def merge_settings(base: Settings | None, mine: Settings, theirs: Settings) -> Settings:
    """Three-way merge: ``mine`` (a window's settings) and ``theirs`` (what the file holds
    now) both came from ``base`` (what that window read or last saved).

    A field mine changed since ``base`` takes mine's value, any other the file's (the
    window's geometry, the places open when it closed, first start, the attachment
    tags). Registries are merged by host (see :func:`_merge_registries`), the recent
    places by what was opened and taken off here (see :func:`_merge_recent`), the
    passwords still to forget as names (see :func:`_merge_names`). Keys this
    version does not know are the file's, with any mine set on top. With no ``base``
    every field is mine's, but for those unknown keys.
    """
    if base is None:
        merged = mine.copy()
        merged.extra = _merge_extra({}, mine.extra, theirs.extra)
        by_host = {r.host: r for r in theirs.registries}
        for entry in merged.registries:
            if entry.host in by_host:
                entry.extra = _merge_extra({}, entry.extra, by_host[entry.host].extra)
        return merged
    merged = theirs.copy()
    for name in ("first_run_done", "window_geometry", "show_attachment_tags",
                 "open_locations"):
        setattr(merged, name, _merge_value(getattr(base, name), getattr(mine, name),
                                           getattr(theirs, name)))
    merged.recent_locations = _merge_recent(base.recent_locations, mine.recent_locations,
                                            theirs.recent_locations)
    merged.registries = _merge_registries(base.registries, mine.registries,
                                          theirs.registries)
    merged.forget_pending = _merge_names(base.forget_pending, mine.forget_pending,
                                         theirs.forget_pending)
    users = {**theirs.forget_users, **mine.forget_users}  # (whose a pending forget is)
    merged.forget_users = {host: users[host] for host in merged.forget_pending
                           if host in users}
    merged.extra = _merge_extra(base.extra, mine.extra, theirs.extra)
    return merged
