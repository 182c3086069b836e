"""How fast a large OCI layout opens: in the core, in the window, and against skopeo.

The layout holds 1,000 single-platform images (``img-0000`` … ``img-0999``),
each with its own config and manifest, all sharing one small layer. It is
built once and cached (see ``common.CACHE_DIR``).

Measured:

(a) core: ``open_location(path)`` and ``list(location.list_images())``;
(b) window: from creating ``MainWindow`` and asking it to open the layout until
    its places model shows every image;
(c) ``skopeo inspect --raw oci:LAYOUT:img-0500`` against
    ``spyglass inspect --raw`` of the same name, whole processes, wall time.

Target: the list is shown in less than a second, (a) and (b).

Run ``.venv/bin/python benchmarks/bench_open_layout.py [--images N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # common puts app/ and the repo root on sys.path
    CACHE_DIR,
    Row,
    Timing,
    find_tool,
    gui_sandbox,
    print_table,
    run_command,
    subprocess_env,
    time_command,
    time_rounds,
)

from tests.helpers.imagebuild import (
    OCI_CONFIG,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    REF_NAME_ANNOTATION,
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    build_config,
    build_layer,
    dump_json,
)

LIST_TARGET = 1.0
"""Seconds: the longest the image list of the layout may take to show."""

LAYOUT_VERSION = 1
"""Bump when the layout's contents change, so cached copies are rebuilt."""


# --------------------------------------------------------------------------- the layout


def ref_name(index: int) -> str:
    return f"img-{index:04d}"


def build_layout(root: Path, count: int) -> None:
    """Write ``count`` single-platform images sharing one layer into an OCI layout at ``root``.

    Blobs are written once each and ``index.json`` once at the end, so this
    takes well under a second per thousand images.
    """
    builder = LayoutBuilder(root)
    shared = LayerSpec({"/etc/motd": b"A layer every benchmark image shares.\n"})
    blob, diff_id = build_layer(shared)
    layer = {"mediaType": OCI_LAYER_GZIP, **builder.add_blob(blob)}
    entries = []
    for index in range(count):
        spec = ImageSpec(
            layers=[shared],
            env=["PATH=/usr/bin:/bin", f"IMAGE_INDEX={index}"],
            labels={"org.opencontainers.image.title": ref_name(index)},
        )
        config = builder.add_blob(dump_json(build_config(spec, [diff_id])))
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, **config},
            "layers": [layer],
        }
        entries.append(
            {
                "mediaType": OCI_MANIFEST,
                **builder.add_blob(dump_json(manifest)),
                "platform": spec.platform(),
                "annotations": {REF_NAME_ANNOTATION: ref_name(index)},
            }
        )
    builder.index["manifests"] = entries
    (root / "index.json").write_bytes(dump_json(builder.index))


def cached_layout(count: int, *, rebuild: bool = False) -> Path:
    """The layout of ``count`` images, built on first use and kept in the cache folder."""
    root = CACHE_DIR / f"layout-{count}-v{LAYOUT_VERSION}"
    done = root.with_name(root.name + ".done")
    if rebuild or not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        done.unlink(missing_ok=True)
        partial = root.with_name(root.name + f".partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        start = time.perf_counter()
        build_layout(partial, count)
        partial.rename(root)
        done.touch()
        print(f"built {root} ({count} images) in {time.perf_counter() - start:.2f} s")
    return root


# --------------------------------------------------------------------------- (a) the core


def measure_core(layout: Path, count: int, rounds: int) -> list[Row]:
    """(a) ``open_location`` and listing every image, in this process."""
    from spyglass.core.image import load_manifest
    from spyglass.core.transports import open_location, open_source

    def open_and_list() -> None:
        location = open_location(layout)
        try:
            images = list(location.list_images())
        finally:
            location.close()
        if len(images) != count:
            raise RuntimeError(f"{layout} listed {len(images)} images, expected {count}")

    def raw_manifest() -> None:
        source = open_source(f"oci:{layout}:{ref_name(count // 2)}")
        try:
            load_manifest(source)
        finally:
            source.close()

    return [
        Row.of(
            f"(a) core: open_location + list_images ({count} images)",
            time_rounds(open_and_list, rounds),
            target=LIST_TARGET,
        ),
        Row.of(
            f"    core: open_source + load_manifest of {ref_name(count // 2)}",
            time_rounds(raw_manifest, rounds),
            note="in-process part of (c)",
        ),
    ]


# --------------------------------------------------------------------------- (b) the window


def measure_gui(layout: Path, count: int, rounds: int) -> list[Row]:
    """(b) From creating the main window to its places model showing every image.

    Drives the real ``MainWindow`` offscreen, one ``QApplication`` for all
    rounds. Each round times ``MainWindow(...)``, ``show()`` and
    ``open_location(layout)`` (as File → Open does: the first image gets
    selected) until the layout's row in the places model has ``count``
    children; then the window is closed. A second row times the same up to
    the tree having painted them (the events queued by the insertion handled).
    Settings go to a folder in the benchmark cache, never the user's.
    """
    sandbox = CACHE_DIR / "gui-home"
    gui_sandbox()
    what = f"(b) window: MainWindow opens the layout, {count} rows in the model"
    try:
        from PySide6.QtCore import QEventLoop, QModelIndex, QTimer

        from spyglass.core.settings import Settings
        from spyglass.gui.app import create_application
        from spyglass.gui.main_window import MainWindow
    except ImportError as exc:
        return [Row(what, None, target=LIST_TARGET, note=f"not measured: {exc}")]

    app = create_application([sys.argv[0]])
    settings_file = sandbox / "settings.json"

    def wait_for_rows(window: MainWindow, index: QModelIndex, timeout_s: float = 30.0) -> None:
        places = window.places
        loop = QEventLoop()
        places.rowsInserted.connect(loop.quit)
        places.locationFailed.connect(lambda _path, message: loop.quit())
        deadline = time.monotonic() + timeout_s
        while places.rowCount(index) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the window did not list {layout} in {timeout_s:.0f} s")
            failed = places.data(index, places.ERROR_ROLE)
            if failed:
                raise RuntimeError(f"the window could not open {layout}: {failed}")
            QTimer.singleShot(200, loop.quit)  # re-check now and then, whatever happens
            loop.exec()
        if places.rowCount(index) != count:
            raise RuntimeError(f"the window listed {places.rowCount(index)} images, not {count}")

    model_times: list[float] = []
    painted_times: list[float] = []
    for round_number in range(rounds + 1):  # the first round warms up, untimed
        start = time.perf_counter()
        window = MainWindow(Settings(first_run_done=True), settings_file=settings_file)
        window.show()
        index = window.open_location(layout)
        wait_for_rows(window, index)
        listed = time.perf_counter()
        app.processEvents()
        window.tree.viewport().repaint()
        painted = time.perf_counter()
        if round_number:
            model_times.append(listed - start)
            painted_times.append(painted - start)
        window.close()
        window.deleteLater()
        app.processEvents()
    return [
        Row.of(what, Timing(tuple(model_times)), target=LIST_TARGET),
        Row.of("    window: ... and the tree painted", Timing(tuple(painted_times))),
    ]


# --------------------------------------------------------------------------- (c) vs skopeo


def measure_against_skopeo(layout: Path, count: int, rounds: int) -> list[Row]:
    """(c) ``inspect --raw`` of one image as whole processes: skopeo and spyglass."""
    name = f"oci:{layout}:{ref_name(count // 2)}"
    env = subprocess_env()
    ours_cmd = [sys.executable, "-m", "spyglass", "inspect", "--raw", name]
    rows = []
    skopeo = find_tool("skopeo")
    skopeo_time: Timing | None = None
    if skopeo is None:
        rows.append(Row("(c) skopeo inspect --raw", None, note="skopeo is not on PATH"))
    else:
        skopeo_cmd = [skopeo, "inspect", "--raw", name]
        if run_command(skopeo_cmd) != run_command(ours_cmd, env):
            raise RuntimeError(f"skopeo and spyglass print different bytes for {name}")
        skopeo_time = time_command(skopeo_cmd, rounds)
        rows.append(Row.of(f"(c) skopeo inspect --raw {ref_name(count // 2)}", skopeo_time))
    ours = time_command(ours_cmd, rounds, env=env)
    ratio = f"{ours.median / skopeo_time.median:.1f}x skopeo" if skopeo_time else ""
    rows.append(Row.of(f"    spyglass inspect --raw {ref_name(count // 2)}", ours, note=ratio))
    startup = time_command([sys.executable, "-c", "pass"], rounds)
    rows.append(Row.of("    python -c pass (interpreter start-up)", startup, note="baseline"))
    return rows


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1000, help="images in the layout")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per measurement")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached layout")
    parser.add_argument("--no-gui", action="store_true", help="skip (b), the window")
    parser.add_argument("--no-skopeo", action="store_true", help="skip (c), the processes")
    # run_all.py passes every script the same arguments: those for others are ignored
    args, _others = parser.parse_known_args(argv)

    layout = cached_layout(args.images, rebuild=args.rebuild)
    rows = measure_core(layout, args.images, args.rounds)
    if not args.no_gui:
        rows += measure_gui(layout, args.images, args.rounds)
    if not args.no_skopeo:
        rows += measure_against_skopeo(layout, args.images, args.rounds)
    print_table(f"Opening an OCI layout of {args.images} images ({layout})", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
