"""How the window writes sizes, digests, dates, platforms and build steps (no Qt)."""

from __future__ import annotations

import itertools
import re
import stat
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from spyglass.core import media
from spyglass.core.digest import Digest
from spyglass.core.errors import as_clause
from spyglass.core.manifest import Descriptor
from spyglass.core.platform import Platform
from spyglass.core.platform_choice import (
    WITHOUT_PLATFORM,
    is_unplaced,
    names_platform,
    unplaced_text,
)
from spyglass.core.platform_choice import is_attestation as is_attestation  # (shared)
from spyglass.core.signatures import media as signed
from spyglass.core.units import human_size as human_size  # (the window's sizes: shared)

if TYPE_CHECKING:
    from spyglass.core.image import InstanceSummary

ROUTE_ARROW = "  \u2192  "
"""What stands between the two sides of a copy, ``source → destination``."""

UNKNOWN_SIZE = "\u2014"
"""What stands for a size that is not known (a Docker schema 1 image's layers)."""

SCHEMA1_SIZES = ("Docker schema 1 records no layer sizes: they are known only by "
                 "reading the layers (a copy does).")
"""Why a schema 1 image's sizes are not shown."""

SIGNED_TEXT = "signed"
"""What the pill of a signed tag says (painted, and told to screen readers). No check
mark: it says a signature is there, not that it was verified."""


def counted(count: int, noun: str) -> str:
    """``1 image``, ``3 images``: a count with its noun in the right number."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def held_text(images: int, attached: int) -> str:
    """``3 images``; ``no images, only 2 signatures or referrers of images not in it``;
    ``1 image, and 1 signature or referrer of an image not in it``."""
    if not attached:
        return counted(images, "image")
    what = ("1 signature or referrer of an image not in it" if attached == 1
            else f"{attached} signatures or referrers of images not in it")
    return (f"{counted(images, 'image')}, and {what}" if images
            else f"no images, only {what}")


def exact_size(size: int) -> str:
    """``12,345 bytes``, for tooltips."""
    return f"{size:,} byte" + ("" if size == 1 else "s")


def short_digest(digest: Digest | str) -> str:
    """``sha256:9f86d081884c``: the algorithm and the first 12 hex characters."""
    parsed = digest if isinstance(digest, Digest) else Digest.parse(digest)
    return f"{parsed.algorithm}:{parsed.short}"


_LOWER_WORD = re.compile(r"[a-z]+ ")


def breakable(text: str, every: int = 16) -> str:
    """``text`` with a zero-width space after its first colon and every ``every``
    characters after it: a digest a wrapping label may break (a label that cannot break
    it sets the window's least width: 895 px at a 16 pt font). For labels only, whose
    text is not selected and copied."""
    head, colon, tail = text.partition(":")
    if not colon:
        head, tail = "", text
    pieces = [tail[i:i + every] for i in range(0, len(tail), every)]
    return head + colon + "\u200b" + "\u200b".join(pieces) if colon else "\u200b".join(pieces)


LONGEST_QUOTED: Final = 60
"""The most characters of what a sentence quotes (a name that was typed) it shows."""

_QUOTED = re.compile(r'"([^"\n]*)"')


TITLE_CHARS: Final = 80
"""The most characters of what a window's title names (an image, a place, a registry's
repository, a layer's image), cut in its middle past that as the title in the window is:
the title is also the taskbar's and the window switcher's, and a long reference took
hundreds."""


def cut_middle(text: str, longest: int) -> str:
    """``text``, or where it is longer than ``longest`` characters, its start and end
    around an ellipsis, ``longest`` characters in all (as Qt elides in the middle)."""
    if len(text) <= longest:
        return text
    head = (longest - 1) // 2
    return f"{text[:head]}\u2026{text[len(text) - (longest - 1 - head):]}"


def shorten_quoted(sentence: str, longest: int = LONGEST_QUOTED) -> str:
    """``sentence`` with each name it quotes longer than ``longest`` characters cut in its
    middle: a name pasted by mistake (a paragraph, a thousand characters without a space)
    cannot be wrapped, and set the width of the dialog quoting it. For sentences shown
    beside the field that holds the name whole."""
    return _QUOTED.sub(lambda match: f'"{cut_middle(match.group(1), longest)}"', sentence)


BREAK: Final = "\u200b"
"""Where :func:`wrap_anywhere` lets a line break: a zero-width space (one an image's text
holds is shown as its escape, ``\\u200b``: every one shown was put there)."""

LONGEST_RUN: Final = 30
"""Runs of more characters than this that a line cannot break in may break anywhere."""

_GLUED: Final = frozenset({"Mn", "Mc", "Me", "Sk", "Cf"})
"""What stays with the character before it: combining marks, skin tones, joiners."""


def wrap_anywhere(text: str, longest: int = LONGEST_RUN) -> str:
    """``text`` with a :data:`BREAK` between the characters (not inside one as it is
    drawn: a letter and its accent, an emoji and its skin tone) of every run longer
    than ``longest`` without a space, a slash or a hyphen (where a line breaks
    already): base64, a signature, a digest. Qt wraps a label's lines there alone, and a
    value of 2,000 ``x`` made the Overview scroll sideways, its header off the right
    edge. Unlike :func:`breakable`, for text that is selected and copied: what is
    copied is taken through :func:`unbroken`."""
    if len(text) <= longest:
        return text
    return re.sub(rf"[^\s/-]{{{longest + 1},}}", lambda run: _spread(run.group()), text)


def _regional(char: str) -> bool:
    """A regional indicator: two of them in a row are drawn as one flag (🇩🇪)."""
    return "\U0001F1E6" <= char <= "\U0001F1FF"


def _spread(run: str) -> str:
    out = [run[0]]
    indicators = 1 if _regional(run[0]) else 0  # in a row, before the character
    for before, char in itertools.pairwise(run):
        second_half = _regional(char) and indicators % 2 == 1
        if unicodedata.category(char) not in _GLUED and before != "\u200d" \
                and not second_half:
            out.append(BREAK)
        out.append(char)
        indicators = indicators + 1 if _regional(char) else 0
    return "".join(out)


def unbroken(text: str) -> str:
    """``text`` without the breaks :func:`wrap_anywhere` put in it."""
    return text.replace(BREAK, "")


def as_sentence(text: str) -> str:
    """A note as the engine words it (``the list is rebuilt …``) as a sentence: its first
    letter capitalized (unless it begins with a name, ``docker://…``), a full stop at the
    end."""
    text = text.strip()
    if _LOWER_WORD.match(text):
        text = text[:1].upper() + text[1:]
    return text if not text or text.endswith((".", "!", "?")) else f"{text}."


_ATTACHED_TYPES: Final = {
    signed.COSIGN_SIMPLESIGNING: "cosign signature",
    "application/vnd.dev.cosign.artifact.sig.v1+json": "cosign signature",
    "application/vnd.dev.cosign.artifact.sbom.v1+json": "cosign SBOM",
    signed.DSSE_ENVELOPE: "attestation (DSSE)",
    signed.IN_TOTO_PAYLOAD: "attestation (in-toto)",
    signed.NOTARY_JWS: "Notation signature (JWS)",
    signed.NOTARY_COSE: "Notation signature (COSE)",
    signed.NOTARY_PAYLOAD: "Notation payload",
    **dict.fromkeys(signed.SPDX_JSON_TYPES, "SPDX SBOM"),
    **dict.fromkeys(signed.SPDX_TEXT_TYPES, "SPDX SBOM (tag-value)"),
    **dict.fromkeys(signed.CYCLONEDX_JSON_TYPES, "CycloneDX SBOM"),
    **dict.fromkeys(signed.CYCLONEDX_XML_TYPES, "CycloneDX SBOM (XML)"),
    **dict.fromkeys(signed.SYFT_JSON_TYPES, "Syft SBOM"),
}
"""Names for the media types of what is attached to images, which :func:`media.friendly`
(for images' own blobs) leaves as they are."""

SIGSTORE_BUNDLE: Final = "application/vnd.dev.sigstore.bundle"


def blob_type(media_type: str, attachment: str = "") -> str:
    """What a blob is, in a few words: ``OCI layer (gzip)``, ``cosign signature``,
    ``SPDX SBOM``, ``sigstore bundle``; the config of an attached manifest (``attachment``
    names what is attached: ``cosign signature``, ``SBOM``) is ``cosign signature config``.
    A type nothing knows is given as it is."""
    base = media_type.split(";", 1)[0].strip().lower()
    if base in _ATTACHED_TYPES:
        return _ATTACHED_TYPES[base]
    if base.startswith(SIGSTORE_BUNDLE):
        return "sigstore bundle"
    if attachment:
        if base in (media.OCI_CONFIG, media.DOCKER_CONFIG):
            return f"{attachment} config"
        if base == media.OCI_EMPTY:
            return f"{attachment} config (empty)"
    if base == media.OCI_EMPTY:
        return "empty config"
    return media.friendly(media_type) if media_type else ""


def platform_text(platform: Platform | None) -> str:
    """``linux/arm64/v8`` (plus the OS version when there is one), or an em dash."""
    if platform is None:
        return "—"
    text = str(platform)
    return f"{text} ({platform.os_version})" if platform.os_version else text


def instance_label(descriptor: Descriptor, *, twinned: bool = False) -> str:
    """What an entry of a list is called: its platform, or what it is (``image without a
    platform, sha256:7cf297963bef``, as the command line says it). ``twinned``: another
    image of the list has its platform too, so its digest is said (:func:`twin_label`)."""
    if is_attestation(descriptor):
        return "attestation"
    if descriptor.platform is not None and descriptor.platform.os:
        platform = str(descriptor.platform)
        return twin_label(platform, descriptor.digest) if twinned else platform
    if media.is_index(descriptor.media_type):
        return f"nested list {short_digest(descriptor.digest)}"
    if is_unplaced(descriptor):
        return unplaced_label(descriptor.digest)
    return short_digest(descriptor.digest)


def twin_label(platform: str, digest: Digest) -> str:
    """What an image of a list is called where another image of the list has its
    platform too (:func:`~spyglass.core.platform_choice.platform_twins`): the platform
    and the digest, ``linux/amd64, sha256:7cf297963bef``, as :func:`unplaced_label` says
    an image without one."""
    return f"{platform}, {short_digest(digest)}"


def unplaced_label(digest: Digest) -> str:
    """What the image ``digest`` of a list, which names no platform, is called:
    ``image without a platform, sha256:7cf297963bef``."""
    return f"image {WITHOUT_PLATFORM}, {short_digest(digest)}"


def and_joined(parts: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)


def besides_platforms(entries: Sequence[Descriptor]) -> list[str]:
    """What the entries of a list hold besides images for a platform, counted in the
    words the Platforms table and the command line use: ``1 image without a platform``,
    ``2 artifacts``, ``2 attestations``, ``1 other entry``; empty for none."""
    unplaced = sum(1 for e in entries if is_unplaced(e))
    attestations = sum(1 for e in entries if is_attestation(e))
    artifacts = sum(1 for e in entries if not names_platform(e) and not is_attestation(e)
                    and e.artifact_type)
    others = sum(1 for e in entries if not names_platform(e)) - unplaced - attestations \
        - artifacts
    said = [unplaced_text(unplaced)] if unplaced else []
    said += [counted(artifacts, "artifact")] if artifacts else []
    said += [counted(attestations, "attestation")] if attestations else []
    if others:
        said.append("1 other entry" if others == 1 else f"{others} other entries")
    return said


def list_count_text(entries: Sequence[Descriptor]) -> str:
    """How many platforms a list offers, and what else it holds (:func:`besides_platforms`):
    ``2 platforms``, ``1 platform (and 1 image without a platform)``, ``2 platforms (and 2
    attestations)``; a list with no platform says what it holds (``1 image without a
    platform``, ``2 attestations``)."""
    placed = sum(1 for e in entries if names_platform(e))
    besides = besides_platforms(entries)
    if not placed and besides:
        head, besides = besides[0], besides[1:]
    else:
        head = counted(placed, "platform")
    return head + (f" (and {and_joined(besides)})" if besides else "")


def unreadable_text(unreadable: Sequence[InstanceSummary]) -> str:
    """What a banner says of the entries of a list that cannot be read: which, and (for
    one) why; each row of Platforms says why in its tooltip."""
    if len(unreadable) == 1:
        only = unreadable[0]
        return (f"The image for {instance_label(only.descriptor)} cannot be read: "
                f"{as_clause(only.problem)}")
    labels = ", ".join(instance_label(s.descriptor) for s in unreadable)
    return (f"The images for {labels} cannot be read; Platforms says why (hover over "
            "their rows).")


_FRACTION = re.compile(r"(\.\d{1,6})\d*")


_ZERO_TIME = re.compile(r"^0001-01-01T00:00:00(?:\.0+)?(?:Z|[+-]00:00)$")
"""Go's zero time, which a Go program writes for a time it never set (a cosign signature's
``created``): no time at all, not the year 1."""


def parse_timestamp(text: str | None) -> datetime | None:
    """An RFC 3339 timestamp as image configs write them (nanoseconds allowed), or None
    (also for Go's zero time, which means none was recorded)."""
    if text and _ZERO_TIME.match(text.strip()):
        return None
    if not text:
        return None
    cleaned = _FRACTION.sub(r"\1", text.strip()).replace("z", "Z")
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def format_timestamp(text: str | None, *, empty: str = "—") -> str:
    """``2024-03-01 12:00:00 UTC``; text that is no timestamp is shown as it is."""
    value = parse_timestamp(text)
    if value is None:
        return empty if not text or _ZERO_TIME.match(text.strip()) else text
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def relative_age(text: str | None, *, now: datetime | None = None) -> str:
    """``3 days ago``, ``2 years ago``; "" when the timestamp cannot be read."""
    value = parse_timestamp(text)
    if value is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - value).total_seconds()
    if seconds < 0:
        return "in the future"
    for unit, length in (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400),
                         ("hour", 3600), ("minute", 60)):
        if seconds >= length:
            count = int(seconds // length)
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*")
_SHELL = re.compile(r"^(?:RUN\s+)?/bin/(?:ba)?sh -c\s+")
_BUILDKIT = re.compile(r"\s*# buildkit\s*$")


def history_step(created_by: str) -> str:
    """A build step as a Dockerfile line: ``RUN apk add …`` rather than ``/bin/sh -c …``."""
    text = created_by.strip()
    if not text:
        return ""
    text = _BUILDKIT.sub("", text)
    if _NOP.match(text):
        return _NOP.sub("", text).strip()
    if _SHELL.match(text):
        return "RUN " + _SHELL.sub("", text).strip()
    return text


_KIND_BITS = {
    "dir": stat.S_IFDIR,
    "opaque": stat.S_IFDIR,
    "symlink": stat.S_IFLNK,
    "chardev": stat.S_IFCHR,
    "blockdev": stat.S_IFBLK,
    "fifo": stat.S_IFIFO,
}


def file_mode(kind: str, mode: int) -> str:
    """``drwxr-xr-x`` from a layer entry's kind and permission bits; an entry of a type no
    tar format defines is ``?rw-r--r--``, as GNU tar shows it."""
    bits = _KIND_BITS.get(kind.lower(), stat.S_IFREG)
    text = stat.filemode(bits | (mode & 0o7777))
    return "?" + text[1:] if kind == "other" else text


FARTHEST_EPOCH = 10**15
"""Seconds from 1970 (some 31 million years) past which :func:`format_epoch` gives no
date: a pax mtime may be any decimal (``1e300``), and its 301 digits widened the column
past the dialog."""


def _civil(days: int) -> tuple[int, int, int]:
    """The proleptic Gregorian year, month and day ``days`` after 1970-01-01, for any
    year (H. Hinnant's ``civil_from_days``), where :class:`datetime` stops at 9999."""
    days += 719_468
    era = days // 146_097
    day_of_era = days - era * 146_097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524
                   - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted + 2) // 5 + 1
    month = shifted + 3 if shifted < 10 else shifted - 9
    return year_of_era + era * 400 + (month <= 2), month, day


def format_epoch(seconds: int) -> str:
    """A file's mtime: ``2024-01-02 03:04 UTC``, saying its zone as every time the window
    shows does. A year past 9999 is written whole, as ``tar -tv`` does
    (``33658-09-27 01:46 UTC``); past :data:`FARTHEST_EPOCH`, the text says so, short."""
    if abs(seconds) > FARTHEST_EPOCH:
        return f"{'after' if seconds > 0 else 'before'} year " \
               f"{'31,000,000' if seconds > 0 else '-31,000,000'} (out of range)"
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        pass
    days, rest = divmod(seconds, 86_400)
    year, month, day = _civil(days)
    return f"{year:04d}-{month:02d}-{day:02d} {rest // 3600:02d}:{rest % 3600 // 60:02d} UTC"


def home_shortened(path: str) -> str:
    """``path`` with the home folder written ``~`` (``~/.docker/config.json``), as a
    person reads it; any other text as it is."""
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + "/") else path
