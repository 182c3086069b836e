"""The referrers tag schema's index on a registry without the referrers API, changed by
the client as the distribution spec asks: an entry added when a referrer is pushed, taken
out when one is deleted (the tag itself deleted once it lists nothing).

The registry offers no way to change the index but to write it whole, so the changes
made in this process take turns at each tag, and the index is read again after it is
written: what another writer's index undid (a copy in another process) is done again, a
few times at most.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Literal

from spyglass.core import gojson, media
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import Digest
from spyglass.core.errors import AccessDenied, ImageNotFound, RegistryError
from spyglass.core.manifest import Descriptor
from spyglass.core.referrers import attachment_tag_subject, referrers_tag
from spyglass.core.transports.registry.client import RegistryClient
from spyglass.core.transports.registry.endpoint import digest_or_none
from spyglass.core.transports.registry.source import referrers_index

log = logging.getLogger(__name__)

_MANIFEST_UNKNOWN_CHILD: Final = "MANIFEST_BLOB_UNKNOWN"
"""The error code distribution answers an index that lists a manifest it does not have."""

REFERRERS_TAG_ROUNDS: Final = 3
"""How many times a referrers tag index is written to make one change, when another
writer's index keeps replacing it."""

Change = Literal["", "written", "deleted"]
"""What :func:`change_referrers_tag` did to an index."""

_LOCK_POLL: Final = 0.1
"""Seconds between looks at the cancel token while another change rewrites a tag."""

_TAG_LOCKS: dict[tuple[str, str, str], threading.Lock] = {}
_TAG_LOCKS_GUARD = threading.Lock()


def _tag_lock(host: str, repository: str, tag: str) -> threading.Lock:
    """The lock changes in this process hold while they rewrite the tag ``tag``."""
    with _TAG_LOCKS_GUARD:
        return _TAG_LOCKS.setdefault((host, repository, tag), threading.Lock())


def entries(index: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The entries of a referrers tag index's JSON, as they were."""
    return [entry for entry in index.get("manifests") or () if isinstance(entry, dict)]


def referrers_tag_index(
    client: RegistryClient, repository: str, subject: Digest, *,
    cancel: CancelToken | None = None,
) -> dict[str, Any] | None:
    """The referrers tag index of ``subject`` as its JSON reads (``{}`` when there is
    none), so that what others wrote in it is written back as it was; None when it cannot
    be read: the tag answers with a manifest that is no such index (GitLab answers with
    the subject itself), or the account may push but not read it (403)."""
    try:
        answer = client.get_manifest(repository, referrers_tag(subject), cancel=cancel)
    except ImageNotFound:
        return {}
    except AccessDenied:
        return None
    if referrers_index(answer, subject) is None:
        return None
    index: dict[str, Any] = gojson.loads(answer.raw)  # an index: parsed already
    return index


def change_referrers_tag(
    client: RegistryClient,
    repository: str,
    subject: Digest,
    *,
    add: Descriptor | None = None,
    remove: Digest | None = None,
    cancel: CancelToken | None = None,
    note: Callable[[str], None] | None = None,
) -> Change:
    """List ``add`` in the referrers tag index of ``subject``, or take ``remove`` out of
    it, keeping its other entries and fields as they were written (``data``, annotations,
    fields of other tools). An index ``remove`` leaves with no entry is deleted (the spec
    allows it), its tag and no other (see :func:`_delete_index`).

    An index the registry refuses because it lists manifests the registry no longer has
    (distribution checks an index's entries: ``MANIFEST_BLOB_UNKNOWN``), left by another
    tool's delete or a garbage collection, is written without them, each looked up
    first; ``note`` is told so once (a lower-case sentence without its full stop; by
    default it is logged as a warning).

    Returns what was done: ``""`` when nothing was (the index said so already, it
    cannot be read), else ``"written"`` or ``"deleted"`` (the last of several rounds,
    when another writer kept replacing the index)."""
    assert (add is None) != (remove is None), "one change at a time"
    tag = referrers_tag(subject)
    dropped: list[str] = []
    lock = _tag_lock(client.host, repository, tag)
    while not lock.acquire(timeout=_LOCK_POLL):
        check(cancel)  # another change's turn may take its requests' time
    try:
        changed = _rewrite(client, repository, subject, add, remove, dropped, cancel)
    finally:
        lock.release()
    if dropped:
        said = dropped_note(f"{client.host}/{repository}:{tag}", dropped)
        if note is not None:
            note(said)
        else:
            log.warning("%s.", said[:1].upper() + said[1:])
    return changed


def dropped_note(index: str, dropped: Sequence[str]) -> str:
    """What :func:`change_referrers_tag` says of the entries it took out of the referrers
    index ``index`` (``host/repository:tag``) because the registry no longer has them."""
    if len(dropped) == 1:
        listed = (f"listed {dropped[0]}, which the registry no longer has (deleted by "
                  "another tool, or collected)")
    else:
        listed = (f"listed {len(dropped)} manifests the registry no longer has, deleted by "
                  f"another tool or collected ({', '.join(dropped)})")
    return (f"the referrers index {index} {listed}: taken out, since the registry stores "
            "no index listing a manifest it lacks")


def _rewrite(
    client: RegistryClient, repository: str, subject: Digest, add: Descriptor | None,
    remove: Digest | None, dropped: list[str], cancel: CancelToken | None,
) -> Change:
    """:func:`change_referrers_tag` with the tag's lock held; the entries taken out for
    being gone are added to ``dropped``."""
    tag = referrers_tag(subject)
    gone = str(remove) if remove is not None else None
    keep: dict[str, dict[str, object]] = {}  # every entry seen, but those taken out
    changed: Change = ""
    for round_number in range(REFERRERS_TAG_ROUNDS):
        answer = referrers_tag_index(client, repository, subject, cancel=cancel)
        if answer is None and (round_number or remove is not None):
            return changed  # what was written cannot be read back: unchecked
        read = answer or {}
        listed = entries(read)
        for entry in listed:
            keep.setdefault(str(entry.get("digest")), entry)
        out = {*dropped, *([gone] if gone is not None else [])}
        for digest in out:
            keep.pop(digest, None)
        if add is not None:
            keep.setdefault(str(add.digest), add.to_json())
        digests = {str(entry.get("digest")) for entry in listed}
        if set(keep) <= digests and not out & digests:
            return changed
        while True:  # each refusal for entries that are gone takes them out
            out = {*dropped, *([gone] if gone is not None else [])}
            manifests = [*(e for e in listed if str(e.get("digest")) not in out),
                         *(e for d, e in keep.items() if d not in digests)]
            if not manifests:
                changed = _delete_index(client, repository, tag, read, cancel)
                break
            index = json.dumps(
                {**read, "schemaVersion": 2, "mediaType": media.OCI_INDEX,
                 "manifests": manifests},
                separators=(",", ":"),
            ).encode()
            try:
                client.put_manifest(repository, tag, index, media.OCI_INDEX, cancel=cancel)
            except RegistryError as exc:
                missing = _missing(client, repository, manifests, add, exc, cancel)
                if not missing:
                    raise
                dropped.extend(missing)
                for digest in missing:
                    keep.pop(digest, None)
                continue
            changed = "written"
            break
    log.info("The referrers tag %s of %s/%s was written by others as often as by this "
             "process; it may still %s %s.", tag, client.host, repository,
             "not list" if add is not None else "list", add.digest if add else remove)
    return changed


def _missing(
    client: RegistryClient, repository: str, manifests: Sequence[Mapping[str, Any]],
    add: Descriptor | None, refused: RegistryError, cancel: CancelToken | None,
) -> list[str]:
    """The entries of ``manifests`` the registry no longer has, where its refusal to
    store the index that lists them says a manifest it names is unknown: those the
    answer names (else every one but ``add``), each confirmed gone with a lookup."""
    if refused.code != _MANIFEST_UNKNOWN_CHILD:
        return []
    listed = [str(entry.get("digest")) for entry in manifests]
    looked = [digest for digest in listed
              if (add is None or digest != str(add.digest)) and digest_or_none(digest)]
    named = [digest for digest in looked if digest in refused.message]
    missing = []
    for digest in named or looked:
        try:
            client.head_manifest(repository, digest, cancel=cancel, confirm_missing=True)
        except ImageNotFound:
            missing.append(digest)
    return missing


EMPTIED_ANNOTATION: Final = "spyglass.referrers.emptied"
"""The annotation that makes the empty index written before a referrers tag is deleted
a manifest of its own (a random value): the one deleted by digest, which no other tag
names."""


def _delete_index(client: RegistryClient, repository: str, tag: str,
                  read: Mapping[str, Any], cancel: CancelToken | None) -> Change:
    """Delete the referrers tag ``tag``, and no other tag: an index that lists nothing,
    made unique by :data:`EMPTIED_ANNOTATION`, is written under it and deleted by its
    digest. Deleting the index read by its digest would delete every other tag naming
    that manifest too (a copy kept under another tag): distribution 2.8 deletes no tag
    by its name (400), and a manifest's delete takes all its tags. Deleting by the tag
    would delete an index another writer put there since; one written after the
    throw-away index is another manifest, and stays. Where the registry refuses the
    delete, the tag keeps the empty index (the spec's own result of taking the last
    entry out): ``"written"``, else ``"deleted"``."""
    annotations = read.get("annotations")
    emptied = json.dumps(
        {**read, "schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": [],
         "annotations": {**(annotations if isinstance(annotations, dict) else {}),
                         EMPTIED_ANNOTATION: secrets.token_hex(16)}},
        separators=(",", ":"),
    ).encode()
    digest = client.put_manifest(repository, tag, emptied, media.OCI_INDEX, cancel=cancel)
    response = client.send("DELETE", f"/v2/{repository}/manifests/{digest}",
                           what=f"Deleting {client.host}/{repository}@{digest}",
                           cancel=cancel, kind="manifest", ok=(200, 202, 400, 404, 405))
    response.close()
    if response.status_code in (400, 405):
        log.info("%s/%s refused to delete the emptied referrers index %s (HTTP %s); the "
                 "tag keeps it, listing nothing.", client.host, repository, tag,
                 response.status_code)
        return "written"
    return "deleted"


def unlist_referrer(
    client: RegistryClient, repository: str, digest: Digest, tags: Iterable[str], *,
    cancel: CancelToken | None = None, note: Callable[[str], None] | None = None,
) -> dict[str, Change]:
    """Take the manifest ``digest``, deleted, out of the referrers tags ``tags`` that list
    it (:attr:`~spyglass.core.transports.registry.client.ManifestUsers.referrers`);
    what was done to each (see :func:`change_referrers_tag`, which tells ``note`` of
    the entries of manifests gone it took out too)."""
    done: dict[str, Change] = {}
    for tag in tags:
        subject = attachment_tag_subject(tag)
        assert subject is not None and referrers_tag(subject) == tag, tag
        done[tag] = change_referrers_tag(client, repository, subject, remove=digest,
                                         cancel=cancel, note=note)
    return done


__all__ = [
    "REFERRERS_TAG_ROUNDS",
    "Change",
    "change_referrers_tag",
    "dropped_note",
    "entries",
    "referrers_tag_index",
    "unlist_referrer",
]
