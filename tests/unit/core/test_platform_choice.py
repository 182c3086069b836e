"""The sentences about a platform chosen from a list (spyglass.core.platform_choice)."""

from __future__ import annotations

import json

import pytest

from spyglass.core.digest import Digest
from spyglass.core.manifest import Descriptor, ImageIndex
from spyglass.core.platform import Platform
from spyglass.core.platform_choice import offered_text, platform_not_found, same_image_note

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
