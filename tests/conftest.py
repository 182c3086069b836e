"""Test set-up shared by every test folder.

Before anything imports Qt, the offscreen platform is chosen. The user's own
settings, caches, logins and keyring are kept out of reach: the XDG folders
(which platformdirs follows), ``HOME``, ``DOCKER_CONFIG`` and the runtime folder
(where containers' ``auth.json`` lives) point into a temporary folder for the
session, and keyring gets the backend that refuses everything, as on a
machine without a keyring. A test that needs a keyring installs its own
(``keyring.set_keyring``). Proxy settings are dropped: tests talk to loopback only.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parent.parent
for _path in (REPO_ROOT / "app", REPO_ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

_SANDBOX = Path(tempfile.mkdtemp(prefix="spyglass-tests-"))  # mode 0700, as Qt wants
atexit.register(shutil.rmtree, _SANDBOX, ignore_errors=True)
for _name, _sub in (
    ("XDG_CONFIG_HOME", "config"),
    ("XDG_CACHE_HOME", "cache"),
    ("XDG_DATA_HOME", "data"),
    ("XDG_STATE_HOME", "state"),
    ("XDG_RUNTIME_DIR", "runtime"),
    ("DOCKER_CONFIG", "docker"),
    # HOME too: containers/image's certs.d (which Spyglass follows, and the window writes
    # a trusted CA into) is ~/.config/containers/certs.d whatever XDG_CONFIG_HOME says
    ("HOME", "home"),
):
    (_SANDBOX / _sub).mkdir(mode=0o700)
    os.environ[_name] = str(_SANDBOX / _sub)
os.environ.pop("REGISTRY_AUTH_FILE", None)
# Every server a test talks to is on loopback: no proxy may see that traffic (or the
# test credentials in it), whatever the machine running the tests has configured.
for _name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    os.environ.pop(_name, None)
    os.environ.pop(_name.lower(), None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"


def _interrupted(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # (pytest then tears down: servers stop, folders go)


# a run stopped with SIGTERM (pkill, a CI job cancelled or timed out) tears its fixtures
# down as Ctrl+C does; by default it died at once, its registries left serving
signal.signal(signal.SIGTERM, _interrupted)

import pytest  # noqa: E402  (after the environment above is in place)

from tests.helpers.clock import AuthClock  # noqa: E402
from tests.helpers.imagebuild import multi_platform_layout  # noqa: E402

SAMPLE_LAYOUT = REPO_ROOT / "resources" / "sample-layout"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The root of the source tree."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def sample_layout() -> Path:
    """The bundled sample OCI layout (``resources/sample-layout``): read it, never write it.

    Its refs are ``spyglass-demo:1.0`` (an OCI index of linux/amd64, linux/arm64/v8
    and linux/arm/v7) and ``tools:2024.1`` (a single linux/amd64 image with Docker
    media types). Tests that write use :func:`sample_layout_copy`.
    """
    if not (SAMPLE_LAYOUT / "index.json").is_file():
        pytest.fail(f"{SAMPLE_LAYOUT} is missing; run `make sample` to write it")
    return SAMPLE_LAYOUT


@pytest.fixture
def sample_layout_copy(tmp_path: Path, sample_layout: Path) -> Path:
    """A private, writable copy of the sample layout."""
    return Path(shutil.copytree(sample_layout, tmp_path / "sample-layout"))


@pytest.fixture
def tmp_layout(tmp_path: Path) -> Path:
    """A fresh OCI layout holding :func:`multi_platform_layout`, tagged ``latest``."""
    root = tmp_path / "layout"
    multi_platform_layout(root)
    return root


@pytest.fixture(scope="session")
def env_sandbox() -> Path:
    """The session's temporary folder that the XDG and Docker variables point into."""
    return _SANDBOX


NOBODY_ID = 65534
"""The user and group that tests needing enforced permissions run as, when run as root."""


@pytest.fixture
def unprivileged_dir() -> Iterator[Path]:
    """A fresh folder, with the test itself running as an unprivileged user.

    Root reads and writes whatever a file's mode says, so a test of what happens
    when permission is refused proves nothing as root (CI runs as root). Run as
    root, this switches the process's effective user and group to 65534 (nobody)
    for the test and back afterwards; the folder is in the system's temporary
    folder (pytest's own are root's, mode 0700) and belongs to that user. Run as
    anyone else, the test runs as that user.
    """
    folder = Path(tempfile.mkdtemp(prefix="spyglass-unprivileged-"))
    switched = os.geteuid() == 0
    try:
        if switched:
            os.chown(folder, NOBODY_ID, NOBODY_ID)
            os.setegid(NOBODY_ID)
            os.seteuid(NOBODY_ID)
        try:
            yield folder
        finally:
            if switched:
                os.seteuid(0)
                os.setegid(0)
    finally:
        for path in (folder, *folder.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o700)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def auth_clock(monkeypatch: pytest.MonkeyPatch) -> AuthClock:
    """A hand-moved clock for token lifetimes in the registry auth module (other modules,
    and the servers, keep real time; the registry takes a token up to a minute past its
    ``exp``)."""
    from types import SimpleNamespace

    from spyglass.core.transports.registry import auth as auth_module

    fake = AuthClock()
    monkeypatch.setattr(auth_module, "time", SimpleNamespace(monotonic=fake))
    return fake


@pytest.fixture(autouse=True)
def _mirrors_asked_again() -> Iterator[None]:
    """A mirror one test found unreachable is asked again by the next (the process keeps
    it a minute: a port freed by one test may be a registry's in the next)."""
    yield
    pulls = sys.modules.get("spyglass.core.transports.registry.pulls")
    if pulls is not None:
        pulls.forget_unreached()


@pytest.fixture(autouse=True)
def _no_note_handler_left() -> Iterator[None]:
    """The command line's warning handler is taken off the root logger when its command
    or progress reporter ends: one left after a test is a leak (taken off, and failed)."""
    import logging

    yield
    notes = sys.modules.get("spyglass.cli.notes")
    if notes is not None:
        root = logging.getLogger()
        left = [h for h in root.handlers if isinstance(h, notes.NoteHandler)]
        for handler in left:
            root.removeHandler(handler)
        assert not left, "the command line's warning handler outlived the test"
