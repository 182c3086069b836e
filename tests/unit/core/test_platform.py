"""Platforms: normalization, parsing, matching (spyglass.core.platform)."""

from __future__ import annotations

import pytest

from spyglass.core.errors import InvalidManifest, InvalidReference
from spyglass.core.platform import (
    Platform,
    PlatformChooser,
    best_match,
    best_matches,
    host_platform,
)

# --------------------------------------------------------------------------- normalization


@pytest.mark.parametrize(
    ("os", "arch", "variant", "expected"),
    [
        ("linux", "x86_64", "", ("linux", "amd64", "")),
        ("linux", "x86-64", "", ("linux", "amd64", "")),
        ("linux", "amd64", "", ("linux", "amd64", "")),
        ("linux", "amd64", "v1", ("linux", "amd64", "")),
        ("linux", "AMD64", "", ("linux", "amd64", "")),
        ("linux", "aarch64", "", ("linux", "arm64", "v8")),
        ("linux", "arm64", "", ("linux", "arm64", "v8")),
        ("linux", "arm64", "8", ("linux", "arm64", "v8")),
        ("linux", "arm64", "v8.0", ("linux", "arm64", "v8")),
        ("linux", "arm64", "v9.0", ("linux", "arm64", "v9")),
        ("linux", "armhf", "", ("linux", "arm", "v7")),
        ("linux", "armel", "", ("linux", "arm", "v6")),
        ("linux", "arm", "", ("linux", "arm", "v7")),
        ("linux", "arm", "7", ("linux", "arm", "v7")),
        ("linux", "arm", "v6", ("linux", "arm", "v6")),
        ("linux", "arm", "5", ("linux", "arm", "v5")),
        # uname -m on 32-bit ARM machines
        ("linux", "armv7l", "", ("linux", "arm", "v7")),
        ("linux", "armv6l", "", ("linux", "arm", "v6")),
        ("linux", "armv5tel", "", ("linux", "arm", "v5")),
        ("linux", "armv8l", "", ("linux", "arm", "v8")),
        ("linux", "i386", "", ("linux", "386", "")),
        ("linux", "i686", "", ("linux", "386", "")),
        ("linux", "386", "", ("linux", "386", "")),
        ("macos", "arm64", "", ("darwin", "arm64", "v8")),
        ("Linux", "ppc64le", "", ("linux", "ppc64le", "")),
        ("windows", "amd64", "", ("windows", "amd64", "")),
        ("linux", "s390x", "", ("linux", "s390x", "")),
    ],
)
def test_normalization(os: str, arch: str, variant: str, expected: tuple[str, str, str]) -> None:
    p = Platform(os, arch, variant).normalized()
    assert (p.os, p.architecture, p.variant) == expected


def test_normalization_keeps_os_version_and_features() -> None:
    p = Platform("windows", "x86_64", "", "10.0.17763.1", ("win32k",)).normalized()
    assert p.os_version == "10.0.17763.1"
    assert p.os_features == ("win32k",)
    assert p.architecture == "amd64"


def test_normalized_is_idempotent() -> None:
    for p in (Platform("linux", "aarch64"), Platform("linux", "armel"), Platform("macos", "i686")):
        once = p.normalized()
        assert once.normalized() == once


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/amd64", "linux/amd64"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/arm64", "linux/arm64/v8"),
        ("linux/arm/v7", "linux/arm/v7"),
        ("linux/arm/6", "linux/arm/v6"),
        ("linux/armhf", "linux/arm/v7"),
        (" linux/amd64 ", "linux/amd64"),
        ("windows/amd64", "windows/amd64"),
    ],
)
def test_parse(text: str, expected: str) -> None:
    assert str(Platform.parse(text)) == expected


@pytest.mark.parametrize(
    "text", ["", "linux", "linux/", "/amd64", "linux//v7", "linux/arm/v7/extra", "/", "a/b/"]
)
def test_parse_errors(text: str) -> None:
    with pytest.raises(InvalidReference) as info:
        Platform.parse(text)
    message = str(info.value)
    assert f'Invalid platform "{text}"' in message
    assert "expected OS/ARCH or OS/ARCH/VARIANT" in message


def test_from_json_and_back() -> None:
    data = {
        "architecture": "arm",
        "os": "linux",
        "variant": "v7",
        "os.version": "5.10",
        "os.features": ["sse4"],
    }
    p = Platform.from_json(data)
    assert p == Platform("linux", "arm", "v7", "5.10", ("sse4",))
    assert p.to_json() == data
    assert Platform.from_json({"architecture": "amd64", "os": "linux"}).to_json() == {
        "architecture": "amd64",
        "os": "linux",
    }


def test_from_json_refuses_non_objects() -> None:
    with pytest.raises(InvalidManifest, match="platform is not a JSON object"):
        Platform.from_json(["linux", "amd64"])


def test_matches_after_normalization() -> None:
    assert Platform("linux", "x86_64").matches(Platform("linux", "amd64"))
    assert Platform("linux", "aarch64").matches(Platform("linux", "arm64", "v8"))
    assert Platform("linux", "arm64").matches(Platform("linux", "arm64", "v8"))
    assert not Platform("linux", "arm", "v6").matches(Platform("linux", "arm", "v7"))
    assert not Platform("linux", "amd64").matches(Platform("windows", "amd64"))


@pytest.mark.parametrize(
    ("machine", "expected"),
    [
        ("x86_64", "linux/amd64"),
        ("aarch64", "linux/arm64/v8"),
        ("armv7l", "linux/arm/v7"),
        ("armv6l", "linux/arm/v6"),
        ("i686", "linux/386"),
        ("ppc64le", "linux/ppc64le"),
        ("", "linux/amd64"),
    ],
)
def test_host_platform_from_uname(
    machine: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``platform.machine()`` answers with uname names; they map onto OCI platforms."""
    monkeypatch.setattr("platform.machine", lambda: machine)
    monkeypatch.setattr("sys.platform", "linux")
    assert str(host_platform()) == expected


def test_host_platform_on_a_raspberry_pi_picks_the_arm_v7_image() -> None:
    available = plats("linux/amd64", "linux/arm64/v8", "linux/arm/v7", "linux/arm/v6")
    pi = Platform("linux", "armv7l").normalized()
    assert best_match(pi, available) == 2
    assert best_match(Platform("linux", "armv6l").normalized(), available) == 3


def test_host_platform_is_normalized() -> None:
    host = host_platform()
    assert host == host.normalized()
    assert host.os and host.architecture
    assert host.architecture not in ("x86_64", "aarch64", "i686")


# --------------------------------------------------------------------------- best_match


def plats(*texts: str) -> list[Platform]:
    out = []
    for text in texts:
        parts = text.split("/")
        out.append(Platform(parts[0], parts[1], parts[2] if len(parts) > 2 else ""))
    return out


def test_best_match_exact() -> None:
    available = plats("linux/amd64", "linux/arm64/v8", "linux/arm/v7")
    assert best_match(Platform.parse("linux/amd64"), available) == 0
    assert best_match(Platform.parse("linux/arm64"), available) == 1
    assert best_match(Platform.parse("linux/arm/v7"), available) == 2


def test_best_match_prefers_the_exact_variant() -> None:
    available = plats("linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/arm/v8")
    assert best_match(Platform.parse("linux/arm/v7"), available) == 2
    assert best_match(Platform.parse("linux/arm/v6"), available) == 1


def test_best_match_falls_back_to_older_arm_variants_newest_first() -> None:
    available = plats("linux/arm/v5", "linux/arm/v6")
    assert best_match(Platform.parse("linux/arm/v7"), available) == 1
    assert best_match(Platform.parse("linux/arm/v8"), available) == 1
    assert best_match(Platform.parse("linux/arm/v6"), available) == 1
    assert best_match(Platform.parse("linux/arm/v5"), available) == 0


def test_best_match_never_picks_a_newer_variant() -> None:
    assert best_match(Platform.parse("linux/arm/v6"), plats("linux/arm/v7")) is None
    assert best_match(Platform.parse("linux/arm/v5"), plats("linux/arm/v6", "linux/arm/v7")) is None


def test_best_match_arm_without_variant_means_v7() -> None:
    assert best_match(Platform.parse("linux/arm/v7"), plats("linux/amd64", "linux/arm")) == 1
    assert best_match(Platform.parse("linux/arm/v6"), plats("linux/arm")) is None


@pytest.mark.parametrize("entry", ["linux/arm64", "linux/arm64/v8", "linux/aarch64"])
@pytest.mark.parametrize("wanted", ["linux/arm64", "linux/arm64/v8", "linux/aarch64"])
def test_best_match_arm64_without_variant_is_v8(entry: str, wanted: str) -> None:
    assert best_match(Platform.parse(wanted), [Platform("linux", "amd64"), *plats(entry)]) == 1


def test_best_match_arm64_v9_runs_v8() -> None:
    assert best_match(Platform.parse("linux/arm64/v9"), plats("linux/arm64")) == 0
    assert best_match(Platform.parse("linux/arm64/v8"), plats("linux/arm64/v9")) is None


def test_best_match_normalizes_the_entries() -> None:
    assert best_match(Platform.parse("linux/amd64"), plats("linux/arm64", "linux/x86_64")) == 1
    assert best_match(Platform.parse("darwin/arm64"), plats("macos/aarch64")) == 0


def test_best_match_none() -> None:
    available = plats("linux/amd64", "linux/arm64/v8")
    assert best_match(Platform.parse("windows/amd64"), available) is None
    assert best_match(Platform.parse("linux/s390x"), available) is None
    assert best_match(Platform.parse("linux/amd64"), []) is None


def test_best_match_first_of_equals() -> None:
    assert best_match(Platform.parse("linux/amd64"), plats("linux/amd64", "linux/amd64")) == 0


def test_best_match_takes_the_entry_written_as_asked_over_a_normalized_equal() -> None:
    both = plats("linux/arm64", "linux/arm64/v8")
    assert best_match(Platform.parse("linux/arm64/v8", as_written=True), both) == 1
    assert best_match(Platform.parse("linux/arm64", as_written=True), both[::-1]) == 1
    arms = plats("linux/arm/v7", "linux/arm")
    assert best_match(Platform.parse("linux/arm", as_written=True), arms) == 1
    assert best_match(Platform.parse("linux/arm/v7", as_written=True), arms) == 0
    assert best_match(Platform.parse("Linux/ARM64/V8", as_written=True), both) == 1
    # normalized, as this machine's platform is, linux/arm64 is linux/arm64/v8
    assert best_match(Platform.parse("linux/arm64"), both) == 1


def test_best_matches_are_the_entries_tied_for_best() -> None:
    windows = [Platform("windows", "amd64", "", "10.0.17763.1"),
               Platform("windows", "amd64", "", "10.0.20348.5"), Platform("linux", "amd64")]
    assert best_matches(Platform.parse("windows/amd64"), windows) == [0, 1]
    assert best_matches(Platform.parse("linux/amd64"), plats(
        "linux/amd64", "linux/arm64", "linux/amd64")) == [0, 2]
    # the entry written as asked is better than the others, which do not tie with it
    assert best_matches(Platform.parse("linux/arm64/v8", as_written=True),
                        plats("linux/arm64", "linux/arm64/v8")) == [1]
    assert best_matches(Platform.parse("linux/arm64/v9", as_written=True),
                        plats("linux/arm64", "linux/arm64/v8")) == [0, 1]
    assert best_matches(Platform.parse("linux/s390x"), plats("linux/amd64")) == []


def test_parse_as_written_keeps_what_was_typed() -> None:
    assert str(Platform.parse(" Linux/aarch64 ", as_written=True)) == "Linux/aarch64"
    assert Platform.parse("linux/arm", as_written=True) == Platform("linux", "arm")


def test_best_match_takes_the_os_version_asked_of_equals() -> None:
    """The copy dialog's Windows checkboxes carry their entry's os.version: each reaches
    its own image, not the first of the two."""
    windows = [Platform("windows", "amd64", "", "10.0.17763.1"),
               Platform("windows", "amd64", "", "10.0.20348.5")]
    assert best_matches(windows[1], windows) == [1]
    assert best_matches(windows[0], windows) == [0]
    assert best_matches(Platform("windows", "amd64", "", "10.0.99999.1"), windows) == [0, 1]


def _linear_best_matches(wanted: Platform, available: list[Platform]) -> list[int]:
    """best_matches as it was written before PlatformChooser, a pass over the list per
    candidate: the reference the chooser's look-ups must agree with."""
    normalized = [p.normalized() for p in available]

    def key(p: Platform) -> tuple[str, str, str]:
        return (p.os, p.architecture, p.variant)

    def written(p: Platform) -> tuple[str, str, str]:
        return (p.os.lower(), p.architecture.lower(), p.variant.lower())

    for candidate in wanted.candidates():
        fit = [i for i, p in enumerate(normalized) if key(p) == key(candidate)]
        if fit:
            fit = [i for i in fit if written(available[i]) == written(wanted)] or fit
            if wanted.os_version:
                fit = [i for i in fit
                       if available[i].os_version == wanted.os_version] or fit
            return fit
    return []


def _awkward_platforms(count: int, seed: int) -> list[Platform]:
    """Platforms that normalize alike in many ways (aliases, case, missing variants,
    os.versions), so that lists of them tie, fall back and pick the written form."""
    import random

    pick = random.Random(seed).choice
    return [Platform(pick(("linux", "Linux", "windows", "macos", "darwin")),
                     pick(("amd64", "x86_64", "AMD64", "arm", "armhf", "armel", "armv7l",
                           "armv6l", "arm64", "aarch64", "386", "i686")),
                     pick(("", "", "v5", "v6", "v7", "7", "v8", "v8.0", "v9", "V7", "v1")),
                     pick(("", "", "10.0.1", "10.0.2")))
            for _ in range(count)]


@pytest.mark.parametrize("seed", range(6))
def test_the_chooser_chooses_as_a_pass_over_the_list_does(seed: int) -> None:
    """PlatformChooser (which best_match, best_matches and platform_twins go through)
    gives the same answers as comparing every entry, for every platform of a big list
    of awkward ones, as written and as --platform normalizes it."""
    available = _awkward_platforms(200, seed)
    chooser = PlatformChooser(available)
    for wanted in [*_awkward_platforms(100, seed + 1000), *available[:100]]:
        for asked in (wanted, wanted.normalized()):
            expected = _linear_best_matches(asked, available)
            assert chooser.best_matches(asked) == expected, asked
            assert chooser.best_match(asked) == (expected[0] if expected else None), asked
