"""Platforms (os/architecture/variant): normalization, parsing and matching.

Normalization follows containerd's ``platforms`` package as containers/image
uses it: ``x86_64`` → ``amd64``, ``aarch64`` → ``arm64`` (variant ``v8``),
``arm`` without a variant → ``v7``.
"""

from __future__ import annotations

import re
import struct
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from spyglass.core.errors import InvalidManifest, InvalidReference

_ARCH_ALIASES: Final = {
    "x86_64": "amd64",
    "x86-64": "amd64",
    "amd64": "amd64",
    "i386": "386",
    "i686": "386",
    "386": "386",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armhf": "arm",
    "armel": "arm",
    "arm": "arm",
    # what uname -m (platform.machine()) says on 32-bit ARM
    "armv5l": "arm",
    "armv5tel": "arm",
    "armv6l": "arm",
    "armv7l": "arm",
    "armv8l": "arm",
}
# the variant a uname machine name implies
_UNAME_ARM_VARIANTS: Final = {
    "armv5l": "v5",
    "armv5tel": "v5",
    "armv6l": "v6",
    "armv7l": "v7",
    "armv8l": "v8",
}
_OS_ALIASES: Final = {"macos": "darwin"}
_VARIANT: Final = re.compile(r"[vV]?[0-9][0-9.]*")

# For an architecture, the variants a machine of a given variant can run, best first.
_COMPATIBLE: Final = {
    "arm": ("v8", "v7", "v6", "v5"),
    "arm64": ("v9", "v8"),
}


def _normalize_variant(arch: str, variant: str, original_arch: str) -> str:
    variant = variant.lower()
    if variant and not variant.startswith("v") and variant[0].isdigit():
        variant = "v" + variant
    if arch == "arm64":
        if variant in ("", "v8.0"):
            return "v8"
        if variant == "v9.0":
            return "v9"
    if arch == "arm":
        if original_arch == "armhf":
            return "v7"
        if original_arch == "armel":
            return "v6"
        if original_arch in _UNAME_ARM_VARIANTS:
            return variant or _UNAME_ARM_VARIANTS[original_arch]
        return variant or "v7"
    if arch == "amd64" and variant == "v1":
        return ""
    return variant


@dataclass(frozen=True)
class Platform:
    """An OCI platform, as written (a list's entry, ``--platform``); :meth:`normalized`
    gives the form platforms are compared in."""

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = field(default=())
    features: tuple[str, ...] = field(default=())
    """A Docker manifest list's ``features`` (CPU features, ``sse4``): OCI has none, and
    a platform is never chosen by them; kept only for a Docker list written again."""

    def normalized(self) -> Platform:
        os_name = _OS_ALIASES.get(self.os.lower(), self.os.lower())
        original = self.architecture.lower()
        arch = _ARCH_ALIASES.get(original, original)
        variant = _normalize_variant(arch, self.variant, original)
        return Platform(os_name, arch, variant, self.os_version, self.os_features)

    @classmethod
    def parse(cls, text: str, *, as_written: bool = False) -> Platform:
        """Parse ``OS/ARCH[/VARIANT]`` as ``--platform`` takes it: normalized, or with
        ``as_written`` as it was typed (matching normalizes it all the same, but an
        entry written the same wins, and sentences echo it)."""
        if "," in text:
            raise InvalidReference(
                f'Invalid platform "{text}": a platform is one OS/ARCH or OS/ARCH/VARIANT, '
                "not several separated by commas.")
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise InvalidReference(
                f'Invalid platform "{text}": expected OS/ARCH or OS/ARCH/VARIANT, '
                "for example linux/amd64 or linux/arm/v7."
            )
        if parts[0].lower() in _ARCH_ALIASES:  # arm64/v8: no OS is named so
            example = ("linux/" + "/".join(parts) if len(parts) == 2
                       and _VARIANT.fullmatch(parts[1]) else f"linux/{parts[0]}")
            raise InvalidReference(
                f'Invalid platform "{text}": "{parts[0]}" is an architecture, not an OS; '
                f"expected OS/ARCH or OS/ARCH/VARIANT, for example {example}.")
        written = cls(parts[0], parts[1], parts[2] if len(parts) == 3 else "")
        return written if as_written else written.normalized()

    @classmethod
    def from_json(cls, data: object) -> Platform:
        if not isinstance(data, Mapping):
            raise InvalidManifest("A descriptor's platform is not a JSON object.")
        os_features = data.get("os.features") or ()
        features = data.get("features") or ()
        return cls(
            os=str(data.get("os", "")),
            architecture=str(data.get("architecture", "")),
            variant=str(data.get("variant", "") or ""),
            os_version=str(data.get("os.version", "") or ""),
            os_features=(tuple(str(f) for f in os_features)
                         if isinstance(os_features, list) else ()),
            features=tuple(str(f) for f in features) if isinstance(features, list) else (),
        )

    def to_json(self, *, docker: bool = False) -> dict[str, Any]:
        """The platform as JSON, in the order of Go's structs: OCI's, or with ``docker``
        a Docker manifest list's, which has ``features`` too."""
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        if self.variant:
            out["variant"] = self.variant
        if docker and self.features:
            out["features"] = list(self.features)
        return out

    def candidates(self) -> list[Platform]:
        """Platforms a machine of this platform can run, best first (variant-less last)."""
        me = self.normalized()
        out = [me]
        compatible = _COMPATIBLE.get(me.architecture, ())
        if me.variant in compatible:
            for variant in compatible[compatible.index(me.variant) + 1 :]:
                out.append(Platform(me.os, me.architecture, variant))
        if me.variant:
            out.append(Platform(me.os, me.architecture, ""))
        return out

    def matches(self, other: Platform) -> bool:
        """True when ``other`` is exactly this platform after normalization (os.version aside)."""
        a, b = self.normalized(), other.normalized()
        return (a.os, a.architecture, a.variant) == (b.os, b.architecture, b.variant)

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


def host_platform() -> Platform:
    """The platform of the running system."""
    if sys.platform.startswith("linux"):
        os_name = "linux"
    elif sys.platform == "darwin":
        os_name = "darwin"
    elif sys.platform in ("win32", "cygwin"):
        os_name = "windows"
    else:
        os_name = sys.platform
    import platform as stdplatform  # ~2 ms to import: only when asked

    machine = stdplatform.machine() or "amd64"
    if struct.calcsize("P") == 4 and machine.lower() in _USERLAND_32:
        # a 32-bit program on a 64-bit kernel (32-bit Raspberry Pi OS on a Pi 4 boots one):
        # images for this program's architecture run here, not the kernel's, as
        # containers/image chooses by the running program's (GOARCH)
        machine = _USERLAND_32[machine.lower()]
        if machine == "arm":
            return Platform(os_name, machine, _arm_variant()).normalized()
    return Platform(os_name, machine).normalized()


_USERLAND_32: Final = {"aarch64": "arm", "arm64": "arm", "armv8l": "arm", "x86_64": "386",
                       "amd64": "386"}


def _arm_variant() -> str:
    """``v7``, ``v8``… from /proc/cpuinfo's "CPU architecture" (containers/image reads it
    so); "" when it does not say."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "CPU architecture":
            digits = value.strip().split("(")[0].strip()
            if digits.isdigit():
                return f"v{digits}"
            return "v8" if digits.lower() == "aarch64" else ""
    return ""


def best_matches(wanted: Platform, available: Sequence[Platform]) -> list[int]:
    """The indexes of the entries of ``available`` tied for best suiting ``wanted``, in
    their order (empty when none fits): :func:`best_match` takes the first.

    Both sides are compared normalized (``aarch64`` is ``arm64``, ``arm64`` without a
    variant is ``v8``, ``arm`` without one ``v7``; ``os.version`` aside). The first of
    :meth:`Platform.candidates` that some entry is decides which entries fit: the
    variant asked, then the older ones a machine of it runs (newest first), then none.
    Of those, an entry written as ``wanted`` is (the same OS, architecture and variant
    before normalization, case aside) wins over one that is only the same normalized:
    ``linux/arm64/v8`` takes the entry written so over an ``arm64`` without a variant,
    ``linux/arm64`` takes that one, and ``linux/arm`` an ``arm`` without a variant over
    ``arm/v7``. A ``wanted`` with an ``os.version`` (an entry of the list, as the copy
    dialog passes it) takes the entry of that version over the others.

    To choose for many platforms among the same ones, build a :class:`PlatformChooser`
    once.
    """
    return PlatformChooser(available).best_matches(wanted)


def best_match(wanted: Platform, available: Sequence[Platform]) -> int | None:
    """The index of the entry of ``available`` that best suits ``wanted``, or None: the
    first of :func:`best_matches` (the first in the list of equally good entries, as
    containers/image takes it)."""
    return PlatformChooser(available).best_match(wanted)


_Key = tuple[str, str, str]
"""OS, architecture and variant (normalized, or as written)."""


class PlatformChooser:
    """``available`` platforms, each normalized once and indexed, to choose among them
    for one ``wanted`` after another by :func:`best_matches`'s rule: each choice is a
    look-up, not a pass over the list, so that choosing for every entry of a list (its
    twins, :func:`~spyglass.core.platform_choice.platform_twins`) is not quadratic."""

    def __init__(self, available: Sequence[Platform]) -> None:
        self._available = available
        self._written = [_written(platform) for platform in available]
        self._fits: dict[_Key, list[int]] = {}
        """The indexes of the entries of each normalized platform, in order."""
        self._first: dict[tuple[_Key, _Key | None, str | None], int] = {}
        """The first index of a normalized platform's entries, of those written so
        (None: any), of that os.version (None: any)."""
        for i, platform in enumerate(available):
            key = _key(platform.normalized())
            self._fits.setdefault(key, []).append(i)
            written, version = self._written[i], platform.os_version
            for first in ((key, None, None), (key, written, None), (key, None, version),
                          (key, written, version)):
                self._first.setdefault(first, i)

    def best_matches(self, wanted: Platform) -> list[int]:
        """:func:`best_matches` of ``wanted`` among the platforms given."""
        for candidate in wanted.candidates():
            fit = self._fits.get(_key(candidate))
            if fit:
                written = _written(wanted)
                fit = [i for i in fit if self._written[i] == written] or fit
                if wanted.os_version:
                    fit = [i for i in fit
                           if self._available[i].os_version == wanted.os_version] or fit
                return fit
        return []

    def best_match(self, wanted: Platform) -> int | None:
        """:func:`best_match` of ``wanted`` among the platforms given: the first of
        :meth:`best_matches`, found without listing them."""
        for candidate in wanted.candidates():
            key = _key(candidate)
            if key in self._fits:
                written: _Key | None = _written(wanted)
                if (key, written, None) not in self._first:
                    written = None  # none is written so: any of them
                version = wanted.os_version
                if version and (key, written, version) in self._first:
                    return self._first[(key, written, version)]
                return self._first[(key, written, None)]
        return None


def _key(platform: Platform) -> _Key:
    return (platform.os, platform.architecture, platform.variant)


def _written(platform: Platform) -> tuple[str, str, str]:
    """OS, architecture and variant as written (case aside), not normalized."""
    return (platform.os.lower(), platform.architecture.lower(), platform.variant.lower())
