"""The sentences about a platform chosen from a list (spyglass.core.platform_choice)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spyglass.core.digest import Digest
from spyglass.core.manifest import Descriptor, ImageIndex
from spyglass.core.platform import Platform
from spyglass.core.platform_choice import (
    offered_text,
    platform_not_found,
    platform_twins,
    same_image_note,
)

ATTESTATION = {"vnd.docker.reference.type": "attestation-manifest"}


def index_of(*entries: Descriptor) -> ImageIndex:
    raw = json.dumps({"entries": len(entries)}).encode()
    return ImageIndex("application/vnd.oci.image.index.v1+json", entries, Digest.of(raw), raw)


def entry(n: int, platform: Platform | None = None, attestation: bool = False) -> Descriptor:
    return Descriptor("application/vnd.oci.image.manifest.v1+json", Digest.of(bytes([n])), 1,
                      annotations=ATTESTATION if attestation else {}, platform=platform)


UNKNOWN = Platform("unknown", "unknown")


@pytest.mark.parametrize(("entries", "why"), [
    ((), "it is empty"),
    ((entry(1),), "its entry names no platform"),
    ((entry(1), entry(2)), "none of its 2 entries names a platform"),
    ((entry(1, UNKNOWN, True),), "it holds only an attestation, of an image it does not hold"),
    ((entry(1, UNKNOWN, True), entry(2, UNKNOWN, True)),
     "it holds only 2 attestations, of images it does not hold"),
    ((entry(1, UNKNOWN, True), entry(2)), "its 2 entries are attestations or name no platform"),
])
def test_a_list_that_offers_nothing_says_why(entries: tuple[Descriptor, ...], why: str) -> None:
    index = index_of(*entries)
    error = platform_not_found(index, Platform("linux", "amd64"))
    assert error.message == f"The manifest list {index.digest} has no image for linux/amd64: {why}."
    assert error.on_command_line is None  # --platform would not help
    assert not error.offered


def test_nested_lists_that_offer_nothing_say_so() -> None:
    index = index_of()
    error = platform_not_found(index, Platform("linux", "amd64"), nested=set())
    assert error.message == (f"The manifest list {index.digest} and the lists nested in it "
                             "have no image for linux/amd64: none of their entries names a "
                             "platform.")


@pytest.mark.parametrize(("platform", "wanted", "text"), [
    (Platform("linux", "arm"), Platform("linux", "arm", "v5"), "linux/arm (taken as linux/arm/v7)"),
    (Platform("linux", "armhf"), Platform("linux", "arm", "v6"),
     "linux/armhf (taken as linux/arm/v7)"),
    (Platform("linux", "arm"), Platform("linux", "s390x"), "linux/arm"),
    (Platform("linux", "arm", "v7"), Platform("linux", "arm", "v5"), "linux/arm/v7"),
])
def test_an_entry_offered_says_how_it_is_taken_where_it_could_pass_for_the_one_asked(
        platform: Platform, wanted: Platform, text: str) -> None:
    assert offered_text(platform, wanted) == text


def test_three_platforms_of_one_image_are_listed() -> None:
    chosen = entry(1, Platform("linux", "amd64"))
    note = same_image_note([Platform("linux", "amd64"), Platform("linux", "x86_64"),
                            Platform("Linux", "AMD64")], chosen, False)
    assert note == (f"linux/amd64, linux/x86_64 and Linux/AMD64 name the same image of the "
                    f"list, {chosen.digest.short}, for linux/amd64: it is copied once")


AMD64 = Platform("linux", "amd64")
WINDOWS = Platform("windows", "amd64", os_version="10.0.17763.1234")


@pytest.mark.parametrize(("platforms", "twins"), [
    ((AMD64, AMD64, Platform("linux", "arm64")), {1: 0}),
    # told apart by the platform they name: a variant, an os.version
    ((Platform("linux", "arm64"), Platform("linux", "arm64", "v8")), {}),
    ((WINDOWS, Platform("windows", "amd64", os_version="10.0.20348.500")), {}),
    # the same but for case, or for an os.version the second leaves out: chosen alike
    ((Platform("linux", "AMD64"), AMD64), {1: 0}),
    ((WINDOWS, Platform("windows", "amd64")), {1: 0}),
    ((AMD64, None, AMD64, AMD64), {2: 0, 3: 0}),
])
def test_images_their_platform_does_not_choose_are_twins_of_the_one_it_does(
        platforms: tuple[Platform | None, ...], twins: dict[int, int]) -> None:
    entries = [entry(n, platform) for n, platform in enumerate(platforms)]
    assert platform_twins(entries, entries) == {
        entries[twin].digest: entries[chosen] for twin, chosen in twins.items()}


def test_an_image_listed_twice_is_no_twin_and_attestations_are_none() -> None:
    image = entry(1, AMD64)
    entries = [image, entry(2, UNKNOWN, True), image, entry(3, UNKNOWN, True)]
    assert platform_twins(entries, entries) == {}


def test_the_list_s_own_image_of_a_platform_is_chosen_before_a_nested_list_s() -> None:
    nested_image, own = entry(1, AMD64), entry(2, AMD64)
    nested = Descriptor("application/vnd.oci.image.index.v1+json", Digest.of(b"nested"), 1)
    assert platform_twins([nested, own], [nested_image, own]) == {nested_image.digest: own}


def test_twins_are_the_images_choose_entry_does_not_choose(tmp_path: Path) -> None:
    """Of every list of awkward platforms, an image is a twin exactly when choosing its
    own platform (as a copy and inspect choose) takes another image: the one named."""
    from spyglass.core.image import choose_entry, load_manifest
    from spyglass.core.transports import open_source
    from tests.helpers.platform_lists import LISTS, platform_lists

    lists = platform_lists(tmp_path)
    seen_twins = 0
    for tag in LISTS:
        source = open_source(f"oci:{lists.root}:{tag}")
        top = load_manifest(source)
        assert isinstance(top, ImageIndex)
        twins = platform_twins(top.manifests, top.manifests)
        seen_twins += len(twins)
        for image in top.manifests:
            if image.platform is None or image.platform.os == "unknown":
                continue
            chosen = choose_entry(source, top, image.platform)
            assert twins.get(image.digest, image) == chosen, (tag, image.platform)
    assert seen_twins == 1  # (dup's dupB)


def _big_list(count: int, seed: int) -> tuple[list[Descriptor], list[Descriptor]]:
    """A list's own entries and its images (a nested list's too): platforms alike in many
    ways, some listed twice, some without a platform, attestations and a nested list."""
    import random

    rand = random.Random(seed)
    pick = rand.choice

    def image(n: int) -> Descriptor:
        platform = Platform(pick(("linux", "Linux", "windows")),
                            pick(("amd64", "x86_64", "arm", "armhf", "arm64", "aarch64")),
                            pick(("", "", "v6", "v7", "v8")), pick(("", "", "10.0.1")))
        return Descriptor("application/vnd.oci.image.manifest.v1+json",
                          Digest.of(f"image {n}".encode()), 1,
                          platform=None if n % 17 == 0 else platform)

    own = [image(n) for n in range(count)]
    own += [pick(own) for _ in range(count // 10)]  # the same image listed twice
    own += [Descriptor("application/vnd.oci.image.manifest.v1+json",
                       Digest.of(f"attestation {n}".encode()), 1, annotations=ATTESTATION,
                       platform=UNKNOWN) for n in range(count // 10)]
    nested = Descriptor("application/vnd.oci.image.index.v1+json", Digest.of(b"nested"), 1)
    listed = [*own, nested]
    rand.shuffle(listed)
    return listed, [*own, *(image(n) for n in range(count, count + count // 5))]


def _twins_entry_by_entry(listed: list[Descriptor],
                          images: list[Descriptor]) -> dict[Digest, Descriptor]:
    """platform_twins as it was first written: best_match over each scope for every
    entry, the reference its answers must keep."""
    from spyglass.core import media
    from spyglass.core.platform import best_match
    from spyglass.core.platform_choice import names_platform

    own = [e for e in listed if names_platform(e) and not media.is_index(e.media_type)]
    placed = [e for e in images if names_platform(e)]
    twins: dict[Digest, Descriptor] = {}
    for entry in placed:
        assert entry.platform is not None
        for scope in (own, placed):
            found = best_match(entry.platform, [e.platform for e in scope if e.platform])
            if found is not None:
                if scope[found].digest != entry.digest:
                    twins[entry.digest] = scope[found]
                break
    return twins


@pytest.mark.parametrize("seed", range(4))
def test_the_twins_of_a_big_list_are_those_of_choosing_entry_by_entry(seed: int) -> None:
    listed, images = _big_list(150, seed)
    expected = _twins_entry_by_entry(listed, images)
    assert len(expected) > 50  # (a list of many ties, of its own and of the nested list)
    assert platform_twins(listed, images) == expected


def test_the_twins_of_a_list_of_hundreds_normalize_each_platform_a_few_times(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each platform is normalized once a scope and once as the one wanted: not once for
    every other entry (a list of 60 platforms froze the window for 400 ms)."""
    listed, images = _big_list(300, 0)
    calls = 0
    normalized = Platform.normalized

    def counted(platform: Platform) -> Platform:
        nonlocal calls
        calls += 1
        return normalized(platform)

    monkeypatch.setattr(Platform, "normalized", counted)
    platform_twins(listed, images)
    assert 0 < calls <= 4 * len(images)
