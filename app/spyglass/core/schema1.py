"""Docker schema 1 images, converted to schema 2 for copying, as containers/image does.

A schema 1 manifest (``application/vnd.docker.distribution.manifest.v1+json``,
signed or not) has no config blob and states neither its layers' sizes nor their
uncompressed digests; registries today refuse it, and so do OCI layouts and
archives. containers/image copies one by converting it (``manifest/docker_schema1.go``:
``fixManifestLayers``, ``ToSchema2Config``; ``image/docker_schema1.go``):

- the history is checked first: every ``v1Compatibility`` has members of the types Go
  decodes them into (:mod:`~spyglass.core.schema1_types`), a 64-hex ``id``,
  each names the next older one as its ``parent`` and the base none, and an id
  that repeats back to back (an old docker bug) counts once;
- the config is the top ``v1Compatibility`` object as it is written, without its
  schema 1 bookkeeping (``id``, ``parent``, ``Size``, ``parent_id``, ``layer_id``,
  ``throwaway``), with ``rootfs.diff_ids`` from the layers and a ``history`` entry
  per step; the keys sorted and the values kept as written, as Go's encoder writes a
  map of raw messages, so that the config (and so the image ID) is the one skopeo
  makes;
- the layers are the steps not marked ``throwaway``, base first.

Sizes and uncompressed digests are only known by reading the layers: :func:`convert`
reads each distinct layer once, as a stream verified against its digest, and the copy
then reads it again to send it. A schema 1 image is legacy; reading it twice keeps the
copy engine's plan-then-execute shape whole.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Final

from spyglass.core import compression, gojson, media
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidManifest, Unsupported, clause
from spyglass.core.manifest import (
    Descriptor,
    ImageManifest,
    Schema1Manifest,
    parse_manifest,
    schema1_fields,
)
from spyglass.core.schema1_types import history_fault
from spyglass.core.transports.base import ImageSource

_DROPPED: Final = frozenset({"id", "parent", "Size", "parent_id", "layer_id", "throwaway"})
"""The schema 1 bookkeeping a schema 2 config does not carry."""

_V1_ID: Final = re.compile(r"[a-f0-9]{64}")

_LAYER_TYPES: Final = {
    compression.GZIP: media.DOCKER_LAYER_GZIP,
    compression.ZSTD: media.DOCKER_LAYER_ZSTD,
    compression.NONE: media.DOCKER_LAYER,
}
"""A layer's media type by the compression its bytes show (schema 1 does not say)."""


@dataclass(frozen=True)
class Converted:
    """A schema 1 image as schema 2: its manifest (parsed, with its bytes) and config."""

    manifest: ImageManifest
    config: bytes


@dataclass(frozen=True)
class _Step:
    blob: Digest
    raw: str
    """The ``v1Compatibility`` as written."""
    compat: dict[str, Any]

    @property
    def empty(self) -> bool:
        return gojson.member(self.compat, "throwaway") is True  # (as Schema1Layer.empty)


def convert(
    source: ImageSource, manifest: Schema1Manifest, *, cancel: CancelToken | None = None
) -> Converted:
    """The schema 2 image ``manifest`` becomes; its layers are read from ``source`` to
    learn their sizes, compression and uncompressed digests (a damaged one fails here).
    Raises :class:`InvalidManifest` for a history containers/image would refuse."""
    steps = _steps(manifest)
    measured: dict[Digest, tuple[int, str, Digest]] = {}
    layers: list[str] = []
    diff_ids: list[str] = []
    for step in steps:  # base first
        if step.empty:
            continue
        check(cancel)
        if step.blob not in measured:
            measured[step.blob] = _measure(source, step.blob, cancel)
        size, media_type, diff_id = measured[step.blob]
        layers.append(_descriptor(media_type, size, step.blob))
        diff_ids.append(str(diff_id))
    config = _config(steps, diff_ids)
    raw = (f'{{"schemaVersion":2,"mediaType":"{media.DOCKER_V2S2}","config":'
           f'{_descriptor(media.DOCKER_CONFIG, len(config), Digest.of(config))},'
           f'"layers":[{",".join(layers)}]}}').encode()  # as containers/image writes it
    converted = parse_manifest(raw, media.DOCKER_V2S2)
    assert isinstance(converted, ImageManifest)
    return Converted(converted, config)


def _descriptor(media_type: str, size: int, digest: Digest) -> str:
    return f'{{"mediaType":"{media_type}","size":{size},"digest":"{digest}"}}'


def _steps(manifest: Schema1Manifest) -> list[_Step]:
    """The history, base first, checked and with repeated ids counted once, as
    containers/image's ``fixManifestLayers`` does."""
    what = f"The schema 1 manifest {manifest.digest}"
    try:
        data = schema1_fields(manifest.raw)  # the signed fields only
        blobs = [Digest.parse(layer["blobSum"]) for layer in data["fsLayers"]]
        raws = [entry["v1Compatibility"] for entry in data["history"]]
        compats = [gojson.loads(raw, parse_constant=_no_constant) for raw in raws]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidManifest(f"{what} cannot be read to convert it: {clause(exc)}.") from exc
    if not blobs or len(blobs) != len(raws) or not all(isinstance(c, dict) for c in compats):
        raise InvalidManifest(f"{what} has no layers, or not one history entry per layer.")
    for index, raw in enumerate(raws):  # (top first)
        fault = history_fault(raw, top=index == 0)
        if fault is not None:
            entry = ("top history entry" if index == 0 else
                     f"history entry {index + 1} of {len(compats)} (the top one first)")
            raise InvalidManifest(f"{what} cannot be converted to schema 2: in its {entry}, "
                                  f"{fault} (skopeo cannot read it either).")
        for created in _members_named(raw, "created"):  # each, as Go parses each in turn
            _go_time(created)
    ids = [gojson.member(c, "id") for c in compats]  # top first
    for found in ids:
        if not isinstance(found, str) or not _V1_ID.fullmatch(found):
            raise InvalidManifest(f'{what} has an invalid layer id "{found}".')
    if gojson.member(compats[-1], "parent"):
        raise InvalidManifest(f"{what} names a parent for its base layer.")
    seen: set[str] = set()
    for index, found in enumerate(ids):
        if found in seen and ids[index - 1] != found:
            raise InvalidManifest(f"{what} has the layer id {found} more than once.")
        seen.add(found)
    steps: list[_Step] = []
    for index in range(len(ids) - 1, -1, -1):  # base first
        if index < len(ids) - 1 and ids[index] == ids[index + 1]:
            continue  # the same step again (an old docker bug): once
        if index < len(ids) - 1 and gojson.member(compats[index], "parent") != ids[index + 1]:
            raise InvalidManifest(
                f"{what} breaks its chain of layers: {ids[index]} names the parent "
                f"{gojson.member(compats[index], 'parent')}, not {ids[index + 1]}.")
        steps.append(_Step(blobs[index], raws[index], compats[index]))
    return steps


def _config(steps: list[_Step], diff_ids: list[str]) -> bytes:
    """The schema 2 config: the top step's object with its members kept as written
    (compacted, HTML characters escaped, as Go's encoder writes raw messages), the
    bookkeeping dropped, ``rootfs`` and ``history`` added, the keys sorted."""
    members = {key: _compact(value) for key, value in _members(steps[-1].raw)
               if key not in _DROPPED}
    rootfs = '{"type":"layers"' + (f',"diff_ids":[{",".join(_go_string(d) for d in diff_ids)}]'
                                   if diff_ids else "") + "}"
    members["rootfs"] = rootfs
    members["history"] = "[" + ",".join(_history(step) for step in steps) + "]"
    return ("{" + ",".join(f"{_go_string(key)}:{members[key]}" for key in sorted(members))
            + "}").encode()


def _history(step: _Step) -> str:
    """One history entry, in the order and with the omissions of containers/image's
    ``Schema2History`` (``created`` always; the others only when set)."""
    compat = step.compat  # (its types checked: history_fault)
    container = gojson.member(compat, "container_config") or {}
    command = [part or "" for part in gojson.member(container, "Cmd") or ()]
    parts = [f'"created":{_go_string(_go_time(gojson.member(compat, "created")))}']
    for key, value in (("author", gojson.member(compat, "author")),
                       ("created_by", " ".join(command)),
                       ("comment", gojson.member(compat, "comment"))):  # Schema2History's order
        if value:
            parts.append(f'"{key}":{_go_string(value)}')
    if step.empty:
        parts.append('"empty_layer":true')
    return "{" + ",".join(parts) + "}"


def _members(raw: str) -> list[tuple[str, str]]:
    """The members of the JSON object ``raw`` as ``(key, value as written)``."""
    decoder = json.JSONDecoder(parse_constant=_no_constant)
    text = raw.strip()
    if not text.startswith("{"):
        raise InvalidManifest("A schema 1 v1Compatibility is not a JSON object.")
    members: dict[str, str] = {}  # the last of a key written twice wins, as in Go
    index = _skip(text, 1)
    if text[index] == "}":
        return list(members.items())
    while True:
        key, index = decoder.raw_decode(text, index)
        index = _skip(text, index)
        if text[index] != ":":
            raise InvalidManifest("A schema 1 v1Compatibility is not a JSON object.")
        start = _skip(text, index + 1)
        _value, end = decoder.raw_decode(text, start)
        members[key] = text[start:end]
        index = _skip(text, end)
        if text[index] == "}":
            return list(members.items())
        index = _skip(text, index + 1)  # the comma


def _members_named(raw: str, name: str) -> list[Any]:
    """The values of every top member of the JSON object ``raw`` that Go's decoder puts
    in the field ``name`` (whatever their case; a key written twice, each)."""
    pairs = gojson.loads(raw, object_pairs_hook=lambda pairs: pairs)
    return [value for key, value in pairs if gojson.names_field(key, name)]


def _no_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are no JSON (Python's reader takes them; Go's does not)."""
    raise ValueError(f"{name} is not JSON")


def _skip(text: str, index: int) -> int:
    while text[index] in " \t\n\r":
        index += 1
    return index


def _compact(raw: str) -> str:
    """JSON text as Go's ``json.Compact`` with HTML escaping leaves it: whitespace
    between tokens gone, ``<``, ``>``, ``&``, U+2028 and U+2029 in strings escaped,
    everything else as written."""
    out: list[str] = []
    in_string = escaped = False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            elif ch in _HTML:
                out.append(_HTML[ch])
                continue
            out.append(ch)
        elif ch in " \t\n\r":
            continue
        else:
            in_string = ch == '"'
            out.append(ch)
    return "".join(out)


_HTML: Final = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _go_string(text: str) -> str:
    """``text`` as Go's encoder writes a string (HTML characters escaped)."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in _HTML:
            out.append(_HTML[ch])
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            out.append("\ufffd")  # a lone surrogate: Go decodes it as U+FFFD
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _go_time(value: object) -> str:
    """A ``created`` time as Go writes a parsed one (RFC 3339, sub-seconds cut to
    nanoseconds and without trailing zeros, a zero offset as ``Z``); the zero time for
    none. One Go would not parse is refused, as containers/image refuses it."""
    if value is None:
        return "0001-01-01T00:00:00Z"
    match = re.fullmatch(
        r"((\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d))([.,]\d+)?(Z|([+-])(\d\d):(\d\d))",
        value) if isinstance(value, str) else None
    if match is None or not _valid_time(match):
        raise InvalidManifest(f"A schema 1 history entry has a created time that is not "
                              f"RFC 3339: {value!r}.")
    fraction = "." + (match.group(8) or ".")[1:10].rstrip("0")  # (go1.19 takes a "," too)
    return f"{match.group(1)}{'' if fraction == '.' else fraction}{_go_zone(match)}"


def _go_zone(match: re.Match[str]) -> str:
    """The offset as Go writes the one it parsed: ``Z`` for none, else its minutes as
    ``±HH:MM`` (go1.19 parses an hour of 24 and a minute of 60: ``+05:60`` is
    ``+06:00``)."""
    if match.group(9) == "Z":
        return "Z"
    minutes = int(match.group(11)) * 60 + int(match.group(12))
    if minutes == 0:
        return "Z"
    return f"{match.group(10)}{minutes // 60:02d}:{minutes % 60:02d}"


def _valid_time(match: re.Match[str]) -> bool:
    """Whether the parts are a real date and time (year 0 included, as Go allows), with
    an offset go1.19's ``time.Parse`` takes (skopeo 1.9's: an hour up to 24 and a minute
    up to 60, which later Go refuses)."""
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(2, 8))
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    zone_ok = match.group(11) is None or (int(match.group(11)) <= 24
                                          and int(match.group(12)) <= 60)
    return (1 <= month <= 12 and 1 <= day <= days[month - 1] and hour < 24 and minute < 60
            and second < 60 and zone_ok)


def _measure(source: ImageSource, digest: Digest,
             cancel: CancelToken | None) -> tuple[int, str, Digest]:
    """A layer's size, media type (by the compression its bytes show) and uncompressed
    digest, read once as a stream verified against its digest (schema 1 states no
    size)."""
    descriptor = Descriptor(media.DOCKER_LAYER_GZIP, digest, -1)
    plain = hashlib.sha256()
    with source.open_blob(descriptor, cancel=cancel) as stream:
        counted = _Counting(stream)
        head = b""
        while len(head) < compression.HEADER_SIZE and (
                more := counted.read(compression.HEADER_SIZE - len(head))):
            head += more
        algorithm = compression.detect(head) or compression.NONE
        media_type = _LAYER_TYPES.get(algorithm)
        if media_type is None:
            raise Unsupported(f"The layer {digest} is {algorithm}-compressed, which Docker "
                              "schema 2 cannot name; the schema 1 image is not converted.")
        reader = compression.open_decompressed(
            _Prefixed(head, counted), algorithm, what=f"The layer {digest}", buffered=False)
        with reader:
            while chunk := reader.read(compression.READ_SIZE):
                check(cancel)
                plain.update(chunk)
        while counted.read(compression.READ_SIZE):  # to its end: the digest is checked
            pass
    return counted.count, media_type, Digest("sha256", plain.hexdigest())


class _Counting:
    """Counts the bytes read through it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.count = 0

    def read(self, n: int = -1, /) -> bytes:
        data: bytes = self._stream.read(n)
        self.count += len(data)
        return data


class _Prefixed:
    """``head`` (already read), then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: Any) -> None:
        self._head = head
        self._stream = stream

    def read(self, n: int = -1, /) -> bytes:
        if self._head:
            if n is None or n < 0 or n >= len(self._head):
                head, self._head = self._head, b""
                return head
            head, self._head = self._head[:n], self._head[n:]
            return head
        data: bytes = self._stream.read(n)
        return data


__all__ = ["Converted", "convert"]
