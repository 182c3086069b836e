"""Shared helpers for the benchmark scripts: paths, timing rounds, subprocess timing, a table.

Benchmarks are plain scripts, not tests: each measures, prints a table and
exits 0 (non-zero only when it could not measure). Importing this module puts
``app/`` and the repository root on ``sys.path``, so ``spyglass`` and
``tests.helpers`` import without installing anything.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_DIR = REPO_ROOT / "app"
for _path in (APP_DIR, REPO_ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

#: Where built inputs are cached between runs (``SPYGLASS_BENCH_CACHE`` overrides).
CACHE_DIR = Path(
    os.environ.get("SPYGLASS_BENCH_CACHE") or Path(tempfile.gettempdir()) / "spyglass-bench"
)


def subprocess_env() -> dict[str, str]:
    """The environment for child processes: ``spyglass`` importable, Qt offscreen, bytecode kept."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(APP_DIR), str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Time what an installed Spyglass does: with compiled bytecode. It is
    # cached outside the source tree, even where PYTHONDONTWRITEBYTECODE is set.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(CACHE_DIR / "pycache")
    return env


def fresh_cache_home(parent: Path) -> Path:
    """A new, empty ``XDG_CACHE_HOME`` for one timed Spyglass command (no blob-location
    cache: nothing mounted or skipped from an earlier round), holding only the compiled
    code of the dataclasses' methods an earlier command kept (see
    :mod:`spyglass.dataclass_code`), as an installed Spyglass has it after its first
    start, the way its bytecode is kept in ``PYTHONPYCACHEPREFIX``.
    :func:`keep_compiled_code` takes it back after the command."""
    from spyglass.dataclass_code import FILE_NAME

    home = Path(tempfile.mkdtemp(prefix="xdg-", dir=parent))
    kept = CACHE_DIR / "dataclass-code" / FILE_NAME
    if kept.is_file():
        folder = home / "spyglass"
        folder.mkdir(mode=0o700)
        shutil.copy2(kept, folder / FILE_NAME)
    return home


def keep_compiled_code(home: Path) -> None:
    """Keep what a command wrote to ``home`` (from :func:`fresh_cache_home`) of the
    dataclasses' compiled code for the next rounds."""
    from spyglass.dataclass_code import FILE_NAME

    written = home / "spyglass" / FILE_NAME
    if written.is_file():
        (CACHE_DIR / "dataclass-code").mkdir(parents=True, exist_ok=True)
        shutil.copy2(written, CACHE_DIR / "dataclass-code" / FILE_NAME)


def gui_sandbox() -> None:
    """Point this process's settings, caches and credentials at a folder of the
    benchmarks' own (a window measured must not read or write the user's), with Qt
    offscreen unless a platform is chosen (and its notes of what it cannot do kept out
    of the tables: :func:`quiet_offscreen_qt`)."""
    sandbox = CACHE_DIR / "gui-home"
    for variable in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        os.environ[variable] = str(sandbox / variable.lower())
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # (made: a window given a settings file in it said on each round that it could
    # not keep its settings)
    sandbox.mkdir(parents=True, exist_ok=True)
    quiet_offscreen_qt()


OFFSCREEN_NOTES = (
    "This plugin does not support propagateSizeHints()",
    "This plugin does not support raise()",
    "This plugin does not support grabbing the keyboard",
)
"""What Qt's offscreen platform says of what it cannot do, harmless (the tests ignore
the same: ``qt_log_ignore`` in pyproject.toml). A window measured said the first at
each show and resize: 23 lines among ``make bench``'s tables."""

_quiet_handler: list[Callable[..., None]] = []  # (kept alive while Qt calls it)


def quiet_offscreen_qt() -> None:
    """On the offscreen platform, have this process's Qt drop :data:`OFFSCREEN_NOTES`;
    every other Qt message goes to stderr as Qt writes it. For the benchmarks alone: the
    window itself installs no message handler. Does nothing without PySide6 (the script
    then says why it measures nothing)."""
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen" or _quiet_handler:
        return
    try:
        from PySide6.QtCore import (
            QMessageLogContext,
            QtMsgType,
            qFormatLogMessage,
            qInstallMessageHandler,
        )
    except ImportError:
        return

    def handler(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if message in OFFSCREEN_NOTES:
            return
        sys.stderr.write(qFormatLogMessage(mode, context, message) + "\n")
        sys.stderr.flush()

    _quiet_handler.append(handler)
    qInstallMessageHandler(handler)


def find_tool(name: str) -> str | None:
    """The path of ``name`` on PATH, or None (the benchmark then skips that row)."""
    return shutil.which(name)


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Timing:
    """The wall-clock times of repeated rounds of one measurement, in seconds."""

    times: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def rounds(self) -> int:
        return len(self.times)


def time_rounds(func: Callable[[], object], rounds: int, *, warmup: int = 1) -> Timing:
    """Call ``func`` ``warmup`` times untimed, then ``rounds`` times, timing each call."""
    for _ in range(warmup):
        func()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return Timing(tuple(times))


def run_command(args: Sequence[str], env: dict[str, str] | None = None) -> bytes:
    """Run a command to completion; raise with its stderr when it fails. Returns stdout."""
    result = subprocess.run(list(args), capture_output=True, env=env, check=False, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed ({result.returncode}): "
            f"{result.stderr.decode(errors='replace').strip()}"
        )
    return result.stdout


def time_command(
    args: Sequence[str], rounds: int, *, env: dict[str, str] | None = None, warmup: int = 1
) -> Timing:
    """Wall time of a whole process, start to exit (start-up included), over ``rounds``."""
    return time_rounds(lambda: run_command(args, env), rounds, warmup=warmup)


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Row:
    """One line of a result table.

    ``seconds`` None means not measured (``note`` says why); ``target`` is the
    limit in seconds the median should stay below, or None when there is none.
    """

    what: str
    seconds: float | None
    rounds: int = 0
    best: float | None = None
    target: float | None = None
    note: str = ""

    @classmethod
    def of(cls, what: str, timing: Timing, *, target: float | None = None, note: str = "") -> Row:
        return cls(what, timing.median, timing.rounds, timing.best, target, note)

    @property
    def verdict(self) -> str:
        if self.seconds is None:
            return "skipped"
        if self.target is None:
            return ""
        return "ok" if self.seconds < self.target else "SLOW"


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def print_table(title: str, rows: Sequence[Row], *, file: TextIO | None = None) -> None:
    """Print ``rows`` as an aligned plain-text table under ``title``."""
    header = ("measurement", "median", "best", "rounds", "target", "verdict", "note")
    lines = [
        (
            row.what,
            format_seconds(row.seconds),
            format_seconds(row.best),
            str(row.rounds) if row.rounds else "-",
            f"< {format_seconds(row.target)}" if row.target is not None else "-",
            row.verdict,
            row.note,
        )
        for row in rows
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=True)]
    out = file or sys.stdout

    def emit(cells: Sequence[str]) -> None:
        print(
            "  ".join(
                cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
            ).rstrip(),
            file=out,
        )

    print(f"\n{title}", file=out)
    emit(header)
    emit(["-" * width for width in widths])
    for line in lines:
        emit(line)
    print(file=out, flush=True)
