"""How a sync's lanes tell the waiting thread what ended, without a registry (the copies
are stand-ins; tests/integration/test_sync.py copies for real)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from spyglass.core import sync_run
from spyglass.core.cancel import CancelToken
from spyglass.core.copy import CopyOptions
from spyglass.core.digest import Digest
from spyglass.core.errors import Cancelled
from spyglass.core.reference import DirName
from spyglass.core.sync import SyncImage

DIGEST = Digest.parse("sha256:" + "ab" * 32)


def image(tmp_path: Path, name: str) -> SyncImage:
    return SyncImage(DirName(str(tmp_path / "in" / name)), DirName(str(tmp_path / "out" / name)))


def in_thread(run: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``run`` in a thread given 30 s to end: what it returned or raised."""
    returned: list[Any] = []
    raised: list[BaseException] = []

    def target() -> None:
        try:
            returned.append(run())
        except BaseException as exc:  # (handed to the test)
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "run_sync still waited after every copy had ended"
    return returned, raised


def test_the_sync_ends_when_its_last_copy_ends_not_at_the_next_wake_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The waiting thread wakes now and then only for Ctrl+C; a lane's end is told to it
    at once (before, the last copy's end was noticed at the next wake-up: 0.2 s added to
    every sync, two fifths of a second sync of 21 images that were all there)."""
    monkeypatch.setattr(sync_run, "_WAKE_EVERY", 3600.0)
    monkeypatch.setattr(sync_run, "copy_one", lambda *args, **kwargs: (DIGEST, True, None))
    images = [image(tmp_path, name) for name in ("a", "b", "c")]
    returned, raised = in_thread(lambda: sync_run.run_sync(images, CopyOptions(), None,
                                                           parallel_images=2))
    assert raised == []
    # (in the order they ended: two lanes at once may end either way round)
    assert sorted([(str(result.image.source), result.digest, result.unchanged)
                   for result in returned[0]]) == [
        (str(each.source), DIGEST, True) for each in images]


def test_a_lane_that_breaks_stops_the_others_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An unexpected error in one lane (not a copy's failure, which is a result) is raised
    as soon as that lane ends, and the copies under way elsewhere are taken back."""
    monkeypatch.setattr(sync_run, "_WAKE_EVERY", 3600.0)
    broken, waiting = image(tmp_path, "broken"), image(tmp_path, "waiting")
    stopped = threading.Event()

    def copy_one(one: SyncImage, *args: object, cancel: CancelToken | None = None,
                 **kwargs: object) -> tuple[Digest, bool, None]:
        assert cancel is not None
        if one is broken:
            time.sleep(0.05)  # (the other lane is under way by then)
            raise RuntimeError("a defect")
        while not cancel.cancelled:
            time.sleep(0.01)
        stopped.set()
        raise Cancelled("taken back")

    monkeypatch.setattr(sync_run, "copy_one", copy_one)
    returned, raised = in_thread(lambda: sync_run.run_sync([waiting, broken], CopyOptions(),
                                                           None, parallel_images=2))
    assert returned == [] and [str(exc) for exc in raised] == ["a defect"]
    assert stopped.is_set()


def test_after_ctrl_c_the_images_that_ended_while_stopping_are_told(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Ctrl+C lands as the first image is told; the other lane's copy, writing its last
    manifest, ends whole while the sync stops: it is told too, before the interrupt is
    raised (before, it was in place and never said)."""
    first, second = image(tmp_path, "first"), image(tmp_path, "second")
    interrupted, begun = threading.Event(), threading.Event()

    def copy_one(one: SyncImage, *args: object, **kwargs: object) -> tuple[Digest, bool, None]:
        if one is first:
            begun.wait(30)  # (both are under way)
        else:
            begun.set()
            interrupted.wait(30)
            time.sleep(0.05)  # (its end comes while the sync is stopping)
        return DIGEST, False, None

    told: list[SyncImage] = []

    def on_result(result: sync_run.ImageResult) -> None:
        told.append(result.image)
        if result.image is first:
            interrupted.set()
            raise KeyboardInterrupt

    monkeypatch.setattr(sync_run, "copy_one", copy_one)
    with pytest.raises(KeyboardInterrupt):
        sync_run.run_sync([first, second], CopyOptions(), None, parallel_images=2,
                          on_result=on_result)
    assert told == [first, second]


def test_an_interrupted_sync_ends_with_a_line_of_what_it_synced(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each image in place has its line on stdout, and the last line says the sync was
    interrupted and how far it came, as the summary would."""
    from spyglass.cli import main
    from spyglass.core.sync_run import ImageResult

    for name in ("a", "b", "c"):
        (tmp_path / "in" / name).mkdir(parents=True)
        (tmp_path / "in" / name / "manifest.json").write_text("{}")

    def run_sync(images: list[SyncImage], *args: object,
                 on_result: Callable[[ImageResult], None], **kwargs: object) -> None:
        on_result(ImageResult(images[0], digest=DIGEST))
        raise KeyboardInterrupt

    monkeypatch.setattr(sync_run, "run_sync", run_sync)
    assert main(["sync", "-q", "--src", "dir", "--dest", "docker", "--dest-tls-verify=false",
                 str(tmp_path / "in"), "127.0.0.1:9/m"]) == 130
    out = capsys.readouterr()
    assert out.out.splitlines() == [
        f"Copied dir:{tmp_path / 'in' / 'a'} → docker://127.0.0.1:9/m/a:latest ({DIGEST})",
        "Synced 1 images from 1 sources, then interrupted; 2 not copied"]
    assert out.err == "spyglass: interrupted.\n"


@pytest.mark.parametrize("failure", ["unreachable", "no answer", "lost after a page"])
def test_a_dry_run_asks_no_further_a_registry_whose_listing_brought_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    """A destination whose tag listing could not connect at all, or brought no page
    (it stopped answering), was asked again for each image's HEAD, waiting out the same
    retries (4 min with the defaults, for a registry that hangs); one whose listing broke
    off after a page came may answer the HEADs, which say what is there."""
    from collections.abc import Iterator

    from spyglass.core.errors import ConnectionFailed, Unreachable
    from spyglass.core.reference import DockerName, parse_docker_reference
    from spyglass.core.transports import registry

    error = {
        "unreachable": Unreachable("Cannot reach the registry m.example: connection refused."),
        "no answer": ConnectionFailed(
            "Listing the tags of m.example/app: the registry m.example stopped answering "
            "(nothing came for the whole timeout)."),
        "lost after a page": ConnectionFailed(
            "Listing the tags of m.example/app: the connection to the registry m.example "
            "was lost before its answer came."),
    }[failure]

    class Failing:
        def tag_pages(self, *args: Any, **kwargs: Any) -> Iterator[list[str]]:
            if failure == "lost after a page":
                yield ["0"]
            raise error

    asked: list[SyncImage] = []

    def unchanged(image: SyncImage, *args: Any, **kwargs: Any) -> Digest | None:
        asked.append(image)
        return DIGEST

    monkeypatch.setattr(registry, "client_for", lambda *args, **kwargs: Failing())
    monkeypatch.setattr(sync_run, "unchanged_digest", unchanged)
    images = [SyncImage(DirName(str(tmp_path / "in" / "app")),
                        DockerName(parse_docker_reference(f"m.example/app:{tag}")))
              for tag in ("1", "2")]
    found, failed = sync_run.unchanged_digests(images, CopyOptions(), None)
    if failure == "lost after a page":
        assert (found, failed, asked) == ([DIGEST, DIGEST], None, images)
    else:
        assert (found, failed, asked) == ([None, None], error, [])


def test_with_keep_going_a_registry_that_cannot_be_reached_is_tried_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each image into a registry that was down waited out the same retries (5 s each
    with the defaults: 90 minutes for a mirror of 1,000 tags); once one copy could not
    reach it, the others bound for it fail at once, saying so. Images into another
    registry are copied."""
    from spyglass.core.errors import Unreachable
    from spyglass.core.reference import DockerName, parse_docker_reference

    copied: list[SyncImage] = []

    def copy_one(image: SyncImage, *args: Any, **kwargs: Any) -> tuple[Digest, bool, None]:
        copied.append(image)
        assert isinstance(image.destination, DockerName)
        if image.destination.reference.domain == "down.example":
            error = Unreachable("Cannot reach the registry down.example: connection refused.")
            error.host, error.attempts = "down.example", 4
            raise error
        return DIGEST, False, None

    monkeypatch.setattr(sync_run, "copy_one", copy_one)
    images = [SyncImage(DirName(str(tmp_path / "in" / name)),
                        DockerName(parse_docker_reference(f"{host}/{name}:1")))
              for host in ("down.example", "up.example") for name in ("a", "b", "c")]
    results = sync_run.run_sync(images, CopyOptions(), None, parallel_images=1,
                                keep_going=True)
    assert copied == images[:1] + images[3:]
    said = "Cannot reach the registry down.example: connection refused (tried 4 times)"
    assert [str(result.error) for result in results[:3]] == [f"{said}."] + [
        f"{said}; this image was not tried, as an earlier one could not reach it."] * 2
    assert [result.error for result in results[3:]] == [None] * 3
