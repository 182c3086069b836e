"""The registries model without a registry: fed pages, fake clients, the model tester,
the natural order, aliases, bounded digest look-ups, and a 10,000-tag page."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import shiboken6
from PySide6.QtCore import QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidReference, RegistryError, Unsupported
from spyglass.core.natural import natural_key
from spyglass.core.settings import RegistrySettings
from spyglass.core.transports.registry.client import ManifestHead, NamePage
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.places import LoadState
from spyglass.gui.models.registries import RegistriesModel
from spyglass.gui.models.registry_data import tags_summary
from spyglass.gui.models.registry_digests import MAX_DIGEST_JOBS, MAX_WANTED
from spyglass.gui.models.registry_filter import ChildFilterModel
from spyglass.gui.models.registry_rows import (
    ALIASES,
    ALIASES_ROLE,
    DIGEST,
    DIGEST_ROLE,
    KIND_ROLE,
    NAME,
    SIGNED_ROLE,
    TAG_ROLE,
    RegistryNode,
    RepositoryNode,
    TagNode,
)
from spyglass.gui.registry_jobs import (
    DigestAnswer,
    Listing,
    Page,
    parse_host_input,
    parse_repository_input,
    pull_command,
)
from spyglass.gui.workers import Runner
from tests.gui.guitools import WAIT_MS, wait_tags

pytestmark = pytest.mark.gui

HOST = "registry.example.com"


class FakeClient:
    """What the model asks of a RegistryClient, answered from memory (thread-safe)."""

    def __init__(self, repositories: list[str] | None = None,
                 tags: dict[str, list[str]] | None = None, *, catalog: bool = True,
                 head_delay: float = 0.0) -> None:
        self.repositories = repositories or []
        self.tags = tags or {}
        self.catalog = catalog
        self.head_delay = head_delay
        self.heads: list[str] = []
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def catalog_pages(self, *, page_size: int, cancel: CancelToken) -> Iterator[NamePage]:
        if not self.catalog:
            raise Unsupported(f"Listing the repositories of {HOST} failed: the registry "
                              f"{HOST} does not support this operation.")
        names = self.repositories
        yield from (NamePage(names[i:i + page_size], linked=i + page_size < len(names))
                    for i in range(0, len(names), page_size))

    def tag_pages(self, repository: str, *, page_size: int,
                  cancel: CancelToken) -> Iterator[NamePage]:
        # one page, as distribution 2.8 does
        yield NamePage(self.tags.get(repository, []), linked=False)

    def check_credentials(self, *, cancel: CancelToken | None = None) -> None:
        pass

    def head_manifest(self, repository: str, tag: str, *, cancel: CancelToken | None = None,
                      confirm_missing: bool = False) -> ManifestHead:
        with self._lock:
            self.heads.append(tag)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.head_delay)
        with self._lock:
            self.running -= 1
        same = tag.split("-")[0]  # "2-a" and "2-b" are one image
        return ManifestHead(Digest.of(same.encode()), 100,
                            "application/vnd.oci.image.index.v1+json")


class FakeConnection:
    def __init__(self, client: FakeClient, host: str = HOST) -> None:
        self.host = host
        self.insecure = False
        self.plain_http = False  # (as a Connection says: over TLS, or not asked yet)
        self.found = None  # (no credentials: anonymous)
        self.password_missing = False
        self._client = client

    def client(self) -> FakeClient:
        return self._client


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[Runner]:
    runner = Runner()
    yield runner
    runner.shutdown()


def tags_under(model: RegistriesModel, parent: Any) -> list[str]:
    return [model.data(model.index(r, 0, parent), TAG_ROLE) for r in range(model.rowCount(parent))]


# -- names


def test_natural_order_puts_1_10_after_1_9() -> None:
    tags = ["latest", "1.10", "1.9", "1.2", "v2", "v10", "1.10.1", "1.10-rc1", "alpine3.9",
            "alpine3.18", "1.9", "RC", "rc", "010", "10"]
    assert sorted(set(tags), key=natural_key) == [
        "1.2", "1.9", "1.10", "1.10-rc1", "1.10.1", "010", "10", "alpine3.9", "alpine3.18",
        "latest", "RC", "rc", "v2", "v10"]
    # keys of any two tags compare (numbers with numbers, text with text)
    assert natural_key("2024.01") < natural_key("2024.1a")
    assert natural_key("a") < natural_key("a1")


def test_what_people_type_is_read_with_the_reference_grammar() -> None:
    assert parse_host_input("https://Quay.io/v2/").host == "quay.io"
    assert parse_host_input("http://127.0.0.1:5000").plain_http
    with pytest.raises(InvalidReference, match="not a registry host"):
        parse_host_input("not a host")
    with pytest.raises(InvalidReference, match="no port"):
        parse_host_input("example.com:99999")
    assert parse_repository_input("docker.io", "alpine").repository == "library/alpine"
    found = parse_repository_input("127.0.0.1:5000", "127.0.0.1:5000/team/app:1.0")
    assert (found.repository, found.tag) == ("team/app", "1.0")
    assert parse_repository_input("registry", "team/app").repository == "team/app"
    with pytest.raises(InvalidReference, match=r'"Team/App".*lowercase'):
        parse_repository_input("quay.io", "Team/App")
    with pytest.raises(InvalidReference, match="names a digest"):
        parse_repository_input("quay.io", "team/app@sha256:" + "a" * 64)
    with pytest.raises(InvalidReference, match="Enter a repository name"):
        parse_repository_input("quay.io", "  ")


@pytest.mark.parametrize("text", [
    "https://alice:PWLEAK@127.0.0.1:5000/team/app", "alice:PWLEAK@127.0.0.1:5000/team/app",
    "docker://alice:PWLEAK@127.0.0.1:5000/team/app", "alice:PW/LEAK@127.0.0.1:5000/team/app",
    "docker:alice:PW LEAK@127.0.0.1:5000/team/app"])
def test_a_password_typed_into_open_repository_is_masked(text: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_repository_input("127.0.0.1:5000", text)
    assert "LEAK" not in str(caught.value)
    assert str(caught.value).startswith(f'"{text.split(":PW")[0]}:xxxxx@127.0.0.1:5000/team/app"'
                                        " holds a user name and password; credentials do not "
                                        "go in a repository name")


@pytest.mark.parametrize("text", [
    "https://alice:PW@LEAK@127.0.0.1:5000", "https://alice:PW/LEAK@127.0.0.1:5000",
    "alice:PW LEAK@127.0.0.1:5000", "http://alice:PW/LEAK@127.0.0.1:5000/v2/"])
def test_a_password_typed_into_the_host_field_is_masked(text: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_host_input(text)
    assert "LEAK" not in str(caught.value) and "PW" not in str(caught.value)
    assert f'"{text.split(":PW")[0]}:xxxxx@127.0.0.1:5000' in str(caught.value)
    assert "credentials do not go in it" in str(caught.value)


def test_a_password_in_a_name_typed_into_the_copy_dialog_is_masked() -> None:
    from spyglass.gui.copy_names import describe_name

    name, said = describe_name("https://alice:PWLEAK@127.0.0.1:5000/team/app:v1")
    assert name is None and "PWLEAK" not in said
    assert said.startswith('Invalid image name "https://alice:xxxxx@127.0.0.1:5000/team/app:v1"'
                           ": it holds a user name and password")


def test_the_session_banner_says_which_passwords_a_locked_keyring_did_not_take(
        tmp_path: Path) -> None:
    from spyglass.core.credentials import Credentials
    from spyglass.core.credentials.store import CredentialStore
    from spyglass.gui.session_banner import LOCKED_SESSION_ONLY, SESSION_ONLY, session_only_text
    from tests.helpers.keyrings import LockableKeyring

    store = CredentialStore(keyring_backend=LockableKeyring(locked=True),
                            environ={"HOME": str(tmp_path)})
    for host in ("a.example", "b.example"):
        assert store.save(host, Credentials("alice", "pw")) == "session"
    store.keep_for_session("c.example", Credentials("bob", "pw"))  # not the keyring's doing
    keyring = "The keyring backend LockableKeyring"
    assert session_only_text(["a.example"], store) == LOCKED_SESSION_ONLY.format(
        keyring=keyring, host="a.example")
    assert session_only_text(["a.example", "b.example", "c.example"], store) == (
        f"{keyring} is locked, so the passwords for a.example and b.example are kept only "
        "until Spyglass quits. Unlock it, then type them again in Edit Registry… to keep "
        f"them. {SESSION_ONLY.format(host='c.example')}")
    assert "set up a keyring" not in session_only_text(["a.example"], store).lower()


def test_the_session_banner_says_a_refused_password_needs_no_restart(tmp_path: Path) -> None:
    """The keyring refused one write (KWallet's "Cancelled by user"): it is still used,
    and takes the password typed again. The banner said to start Spyglass again."""
    from spyglass.core.credentials import Credentials
    from spyglass.core.credentials.store import CredentialStore
    from spyglass.gui.session_banner import session_only_text
    from tests.helpers.keyrings import RefusingKeyring

    store = CredentialStore(keyring_backend=RefusingKeyring(),
                            environ={"HOME": str(tmp_path)})
    assert store.save("a.example", Credentials("alice", "pw")) == "session"
    said = session_only_text(["a.example"], store)
    assert said == ("The keyring backend RefusingKeyring did not take the password for "
                    "a.example (PasswordSetError: Cancelled by user), so it is kept only "
                    "until Spyglass quits. Type it again in Edit Registry… to keep it.")
    assert "start Spyglass again" not in said
    assert store.save("a.example", Credentials("alice", "pw")) == "keyring"


def test_the_session_banner_names_every_registry() -> None:
    from spyglass.gui.session_banner import passed_over_text, session_only_text

    assert "the password for a.example is kept only until Spyglass quits" in \
        session_only_text(["a.example"])
    assert "the passwords for a.example, b.example and c.example are kept only" in \
        session_only_text(["a.example", "b.example", "c.example"])
    # keyring's fallback to a readable file, not used unless chosen, is named (in the
    # banner's tooltip: the banner itself stays one plain sentence)
    said = passed_over_text("the keyring backend PlaintextKeyring (/k.cfg, unencrypted)",
                            "keyrings.alt.file.PlaintextKeyring")
    assert said == ("The only keyring there is the keyring backend PlaintextKeyring "
                    "(/k.cfg, unencrypted), which Spyglass uses only when chosen: to use "
                    "it, set PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring.")


def test_copy_texts() -> None:
    assert pull_command("podman", "quay.io", "team/app", "1.0") == \
        "podman pull quay.io/team/app:1.0"
    # a registry marked insecure (plain HTTP): podman needs to be told; docker's daemon
    # has its own list
    assert pull_command("podman", "r.lan:5000", "app", "1", insecure=True) == \
        "podman pull --tls-verify=false r.lan:5000/app:1"
    assert pull_command("docker", "r.lan:5000", "app", "1", insecure=True) == \
        "docker pull r.lan:5000/app:1"


# -- listings


class _TimedPages:
    """Pages of a list that each take a quarter of a second of a clock the test keeps (in
    steps exact in binary); the page at ``fail_at`` fails."""

    def __init__(self, pages: list[list[str]], fail_at: int | None = None) -> None:
        self.pages = pages
        self.fail_at = fail_at
        self.now = 0.0

    def open(self, cancel: CancelToken) -> Iterator[NamePage]:
        for number, page in enumerate(self.pages):
            self.now += 0.25
            if number == self.fail_at:
                raise RegistryError("Listing the tags failed: HTTP 503.", status=503)
            yield NamePage(page, linked=number + 1 < len(self.pages))

    def next_pages(self, listing: Listing) -> Page:
        return listing.next_pages(CancelToken(), within=0.75, clock=lambda: self.now)


def test_a_tag_list_comes_as_its_first_page_then_what_was_read_in_a_while() -> None:
    """Each page merged by itself kept the window busy for most of a listing in pages of
    100: the first page comes at once, then the pages read in a while (three here)."""
    pages = [[f"{n}.{i}" for i in range(3)] for n in range(10)]
    timed = _TimedPages(pages)
    listing = Listing(timed.open)
    batches = [timed.next_pages(listing)]
    while not batches[-1].done:
        batches.append(timed.next_pages(listing))
    assert [len(b.names) for b in batches] == [3, 9, 9, 9]  # (the last links to none)
    assert [name for batch in batches for name in batch.names] == [n for p in pages for n in p]


def test_a_page_that_fails_after_others_were_read_is_said_after_them() -> None:
    pages = [[f"{n}.{i}" for i in range(3)] for n in range(10)]
    timed = _TimedPages(pages, fail_at=3)
    listing = Listing(timed.open)
    assert timed.next_pages(listing).names == tuple(pages[0])
    assert timed.next_pages(listing) == Page(tuple(pages[1] + pages[2]), False)
    with pytest.raises(RegistryError, match="HTTP 503"):
        timed.next_pages(listing)
    with pytest.raises(RegistryError, match="HTTP 503"):  # (and again: not "no more tags")
        timed.next_pages(listing)


# -- the model


def filled_model(qtbot: QtBot, runner: Runner, client: FakeClient,
                 **kwargs: Any) -> RegistriesModel:
    model = RegistriesModel(runner, **kwargs)
    model.add_registry(RegistrySettings(HOST, repositories=["pinned/one"]),
                       FakeConnection(client))  # type: ignore[arg-type]
    return model


def test_a_page_asked_for_just_before_the_model_is_deleted_is_dropped(
        qtbot: QtBot, runner: Runner) -> None:
    """A view asks for a page, and its window closes (the model deleted) before the event
    loop starts the job: the call is dropped. It ran on the deleted model, and failed
    with "Internal C++ object (RegistriesModel) already deleted"."""
    model = filled_model(qtbot, runner, FakeClient(["team/app"], {"team/app": ["1"]}),
                         max_digest_jobs=0)
    registry = model.registry_index(HOST)
    repo = model.index(0, 0, registry)  # the pinned repository
    assert model.can_fetch_next(repo)
    model.fetch_next(repo)
    shiboken6.delete(model)
    qtbot.wait(20)  # (an exception here fails the test: pytest-qt catches it)
    assert runner.active == 0


def test_model_tester_while_pages_arrive(qtbot: QtBot, qtmodeltester: ModelTester,
                                         runner: Runner) -> None:
    client = FakeClient(["team/app", "team/db"],
                        {"team/app": ["1.10", "1.9", "latest", "2-a", "2-b"]})
    model = RegistriesModel(runner, max_digest_jobs=0)
    qtmodeltester.check(model)  # empty
    model = RegistriesModel(runner, max_digest_jobs=0)
    model.add_registry(RegistrySettings(HOST, repositories=["pinned/one"]),
                       FakeConnection(client))  # type: ignore[arg-type]
    registry = model.registry_index(HOST)
    assert model.hasChildren(registry) and model.canFetchMore(registry)
    assert model.rowCount(registry) == 1  # the pinned repository only
    # the tester fetches what it can, and stays connected: pages are checked as they come
    with qtbot.waitSignal(model.registryLoaded, timeout=WAIT_MS):
        qtmodeltester.check(model)
    qtbot.waitUntil(lambda: not model.canFetchMore(registry) and runner.active == 0,
                    timeout=WAIT_MS)
    names = [model.index(r, 0, registry).data() for r in range(model.rowCount(registry))]
    assert names == ["pinned/one", "team/app", "team/db"]
    repo = model.repository_index(HOST, "team/app")
    model.fetchMore(repo)  # unless the tester did already
    qtbot.waitUntil(lambda: model.rowCount(repo) == 5 and runner.active == 0, timeout=WAIT_MS)
    assert tags_under(model, repo) == ["1.9", "1.10", "2-a", "2-b", "latest"]
    model.feed_tags(repo, ["1.95", "0.1", "zz", "1.2", "2a"], done=False)  # in among them
    assert tags_under(model, repo) == ["0.1", "1.2", "1.9", "1.10", "1.95", "2-a", "2-b", "2a",
                                       "latest", "zz"]
    model.set_digest(HOST, "team/app", "2-a", Digest.of(b"2"))
    model.set_digest(HOST, "team/app", "2-b", Digest.of(b"2"))
    qtmodeltester.check(model)
    proxy = ChildFilterModel()
    proxy.setSourceModel(model)
    root = proxy.set_root(repo)
    qtmodeltester.check(proxy)
    proxy.set_filter_text("2-")
    assert [proxy.index(r, 0, root).data() for r in range(proxy.rowCount(root))] == [
        "2-a", "2-b"]
    assert proxy.index(0, ALIASES, root).data() == "2-b"
    model.reload(repo)
    model.reload(registry)
    model.remove_registry(HOST)
    assert model.rowCount() == 0


def test_ten_thousand_tags_in_one_page_are_one_insert(qtbot: QtBot, runner: Runner) -> None:
    model = filled_model(qtbot, runner, FakeClient(), max_digest_jobs=0)
    model.feed_repositories(model.registry_index(HOST), ["big/repo"], done=True)
    repo = model.repository_index(HOST, "big/repo")
    inserts: list[tuple[int, int]] = []
    layouts: list[int] = []
    model.rowsInserted.connect(lambda parent, first, last: inserts.append((first, last)))
    model.layoutChanged.connect(lambda *_: layouts.append(1))
    names = [f"1.{n}" for n in range(10_000)]
    names.reverse()  # any order: the model sorts
    started = time.perf_counter()
    model.feed_tags(repo, names, done=False)
    elapsed = time.perf_counter() - started
    assert model.rowCount(repo) == 10_000
    assert inserts == [(0, 9_999)]  # one beginInsertRows for the whole page
    assert layouts == []
    tags = tags_under(model, repo)
    assert tags[:3] == ["1.0", "1.1", "1.2"] and tags[-1] == "1.9999"
    assert tags[10] == "1.10"
    print(f"10,000 tags inserted in {elapsed * 1000:.0f} ms")  # no assertion on time

    # a second page that interleaves: an insert where each tag goes (the rows already
    # there never move: no layout change, which sent every row through the filters again)
    keep = QPersistentModelIndex(model.tag_index(HOST, "big/repo", "1.10"))
    model.feed_tags(repo, ["1.9a", "0.1", "1.99999", "1.99998"], done=True)
    assert inserts[1:] == [(10_000, 10_001), (10, 10), (0, 0)]
    assert layouts == []
    tags = tags_under(model, repo)
    assert tags[0] == "0.1" and tags[-1] == "1.99999"
    assert tags.index("1.9a") == tags.index("1.9") + 1
    assert keep.isValid() and keep.data(TAG_ROLE) == "1.10"
    assert keep.row() == tags.index("1.10")


def test_digests_are_fetched_for_asked_rows_only_a_few_at_a_time(
        qtbot: QtBot, runner: Runner) -> None:
    names = [f"{n}-x" for n in range(3_000)]
    client = FakeClient(tags={"team/app": names}, head_delay=0.002)
    model = filled_model(qtbot, runner, client)
    model.feed_repositories(model.registry_index(HOST), ["team/app"], done=True)
    repo = model.repository_index(HOST, "team/app")
    model.feed_tags(repo, names, done=True)
    # as a view would: ask for the digest column of the rows shown (here: 400 of them)
    for row in range(400):
        model.index(row, DIGEST, repo).data()
    assert client.heads == []  # nothing is requested from inside data()
    qtbot.waitUntil(lambda: runner.active == 0 and len(client.heads) >= MAX_WANTED,
                    timeout=WAIT_MS * 4)
    qtbot.wait(100)
    asked = set(client.heads)
    assert len(asked) == len(client.heads) == MAX_WANTED  # the oldest requests were dropped
    assert asked == {names[r] for r in range(400 - MAX_WANTED, 400)}  # the newest kept
    assert client.most_at_once <= MAX_DIGEST_JOBS * 4
    index = model.tag_index(HOST, "team/app", names[399])
    assert model.data(index, DIGEST_ROLE) == str(Digest.of(b"399"))
    assert model.data(model.index(0, DIGEST, repo)) == "…"  # never asked for again yet


class HungHeads(FakeClient):
    """Its manifest HEADs never come back (until ``release`` is set, or a cancel)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def head_manifest(self, repository: str, tag: str, *, cancel: CancelToken | None = None,
                      confirm_missing: bool = False) -> ManifestHead:
        with self._lock:
            self.heads.append(tag)
        while not self.release.wait(0.01):
            if cancel is not None:
                cancel.check()
        return super().head_manifest(repository, tag, cancel=cancel,
                                     confirm_missing=confirm_missing)


def test_a_registry_whose_digests_hang_holds_up_no_other_registrys(
        qtbot: QtBot, runner: Runner) -> None:
    hung, answering = HungHeads(), FakeClient()
    model = RegistriesModel(runner)
    for host, client in (("hung.example", hung), (HOST, answering)):
        model.add_registry(RegistrySettings(host), FakeConnection(client, host))  # type: ignore[arg-type]
        model.feed_repositories(model.registry_index(host), ["team/app"], done=True)
        model.feed_tags(model.repository_index(host, "team/app"),
                        [f"{n}-x" for n in range(100)], done=True)
    hung_repo = model.repository_index("hung.example", "team/app")
    for row in range(100):
        model.index(row, DIGEST, hung_repo).data()
    qtbot.waitUntil(lambda: len(hung.heads) >= MAX_DIGEST_JOBS, timeout=WAIT_MS)
    repo = model.repository_index(HOST, "team/app")
    model.index(0, DIGEST, repo).data()  # asked for later: it was queued behind them
    qtbot.waitUntil(lambda: model.index(0, 0, repo).data(DIGEST_ROLE) is not None,
                    timeout=WAIT_MS)
    assert model.data(model.index(0, DIGEST, hung_repo)) == "…"
    hung.release.set()


def test_aliases_are_marked_once_digests_are_known(qtbot: QtBot, runner: Runner) -> None:
    model = filled_model(qtbot, runner, FakeClient(), max_digest_jobs=0)
    model.feed_repositories(model.registry_index(HOST), ["team/app"], done=True)
    repo = model.repository_index(HOST, "team/app")
    model.feed_tags(repo, ["latest", "1.0", "1.1", "stable"], done=True)
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    one = Digest.of(b"one")
    model.set_digest(HOST, "team/app", "1.1", one)
    assert model.data(model.tag_index(HOST, "team/app", "1.1"), ALIASES_ROLE) == []
    model.set_digest(HOST, "team/app", "latest", one)
    model.set_digest(HOST, "team/app", "stable", one)
    index = model.tag_index(HOST, "team/app", "1.1", ALIASES)
    assert model.data(index) == "latest, stable"
    assert model.data(model.tag_index(HOST, "team/app", "latest", ALIASES)) == "1.1, stable"
    assert model.data(model.tag_index(HOST, "team/app", "1.0", ALIASES)) == ""
    # every row of the group is told, so each view repaints its mark: soon, in one
    qtbot.waitUntil(lambda: bool(changed), timeout=WAIT_MS)
    assert changed == [(1, 3)]
    decoration = model.data(model.tag_index(HOST, "team/app", "1.1"),
                            Qt.ItemDataRole.DecorationRole)
    assert decoration is not None and not decoration.isNull()
    # a tag that moves leaves its old group
    model.set_digest(HOST, "team/app", "stable", Digest.of(b"two"))
    assert model.data(model.tag_index(HOST, "team/app", "1.1", ALIASES)) == "latest"
    assert model.data(model.tag_index(HOST, "team/app", "1.1"), KIND_ROLE) == "tag"


def test_an_alias_count_says_so_far_until_every_digest_is_known(
        qtbot: QtBot, runner: Runner) -> None:
    model = filled_model(qtbot, runner, FakeClient(), max_digest_jobs=0)
    model.feed_repositories(model.registry_index(HOST), ["team/app"], done=True)
    repo = model.repository_index(HOST, "team/app")
    names = [f"v{n}" for n in range(8)]
    model.feed_tags(repo, names, done=True)
    one = Digest.of(b"one")
    for name in names[:7]:
        model.set_digest(HOST, "team/app", name, one)
    first = model.tag_index(HOST, "team/app", "v0", ALIASES)
    assert model.data(first) == "6 other tags so far: v1, v2, v3, v4, …"
    assert "(of the tags whose digests are looked up so far)" in model.data(
        model.tag_index(HOST, "team/app", "v0"), Qt.ItemDataRole.ToolTipRole)
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    model.set_digest(HOST, "team/app", "v7", Digest.of(b"two"))  # the last one known
    assert model.data(first) == "6 other tags: v1, v2, v3, v4, …"
    qtbot.waitUntil(lambda: bool(changed), timeout=WAIT_MS)
    assert changed == [(0, 7)]  # every row is told: none says "so far" any more


class _CountedKey(tuple):  # type: ignore[type-arg]
    """A natural key that counts how often it is compared."""

    compared = 0

    def __lt__(self, other: object) -> bool:
        _CountedKey.compared += 1
        return super().__lt__(other)  # type: ignore[operator]


class _CountedIterations(list):  # type: ignore[type-arg]
    """A group of tags (or any list) that counts the passes over it."""

    passes = 0

    def __iter__(self) -> Iterator[Any]:
        _CountedIterations.passes += 1
        return super().__iter__()


class _CountedScans(dict):  # type: ignore[type-arg]
    """A repository's tags by name, counting the passes over them."""

    passes = 0

    def values(self) -> Any:
        _CountedScans.passes += 1
        return super().values()


def test_three_thousand_tags_of_one_image_cost_little_to_look_up_and_to_show(
        qtbot: QtBot, runner: Runner) -> None:
    """Each tag looked up was put into its image's group with a test of membership and a
    sort of the group (402,570 sort keys for 850 digests while scrolling); each painted
    "Same image as" cell listed all the other tags and, past four, went over every tag
    to know whether all were looked up; the tooltip named every tag (26,619 characters
    for 2,657 of them)."""
    model = filled_model(qtbot, runner, FakeClient(), max_digest_jobs=0)
    model.feed_repositories(model.registry_index(HOST), ["big/tags"], done=True)
    repo = model.repository_index(HOST, "big/tags")
    names = [f"1.{n}" for n in range(3_000)]
    model.feed_tags(repo, reversed(names), done=True)
    node = model.node(repo)
    assert isinstance(node, RepositoryNode)
    for tag in node.tags:
        tag.key = _CountedKey(tag.key)  # type: ignore[assignment]
    one = Digest.of(b"one")
    node.by_digest[one] = _CountedIterations()
    node.by_name = _CountedScans(node.by_name)
    _CountedKey.compared = 0
    tags = node.tags
    for first in range(0, len(tags), 12):  # as digest jobs answer: 12 at a time
        model._apply_digests(node, [(t, DigestAnswer(t.name, one, None))
                                    for t in tags[first:first + 12]])
    assert _CountedKey.compared <= len(names) * 16  # (a binary search each: ~12)
    # painting a row asks for its aliases, its mark, and (hovered) its tooltip
    _CountedIterations.passes = _CountedScans.passes = 0
    row = model.tag_index(HOST, "big/tags", "1.3")
    assert model.data(row.siblingAtColumn(ALIASES)) == "2,999 other tags: 1.0, 1.1, 1.2, 1.4, …"
    assert model.data(row, Qt.ItemDataRole.DecorationRole) is not None
    tooltip = model.data(row, Qt.ItemDataRole.ToolTipRole)
    assert _CountedIterations.passes == _CountedScans.passes == 0
    assert len(tooltip) < 1_000
    assert "Same image as 1.0, 1.1, 1.2, 1.4, " in tooltip
    assert ", 1.12 and 2,987 more" in tooltip
    assert len(model.data(row, ALIASES_ROLE)) == 2_999  # (the role gives every one)


def test_digests_that_come_together_are_told_together_a_run_of_rows_at_a_time(
        qtbot: QtBot, runner: Runner) -> None:
    """Each digest job's answer was told at once, from its first row to its last: every
    row between repainted, in both pages and the tree, a dozen times a second while the
    table scrolled (stalls of 110-300 ms). Answers that come within a tenth of a second
    are told together, a signal for each run of rows that changed."""
    model = filled_model(qtbot, runner, FakeClient(), max_digest_jobs=0)
    model.feed_repositories(model.registry_index(HOST), ["team/app"], done=True)
    repo = model.repository_index(HOST, "team/app")
    names = [f"1.{n}" for n in range(200)]
    model.feed_tags(repo, names, done=True)
    node = model.node(repo)
    assert isinstance(node, RepositoryNode)
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    tags = node.tags
    for rows in (range(0, 12), range(100, 112), range(12, 24)):  # three jobs' answers
        model._apply_digests(node, [(tags[r], DigestAnswer(tags[r].name,
                                                           Digest.of(tags[r].name.encode()),
                                                           None)) for r in rows])
    assert changed == []  # (not yet)
    qtbot.waitUntil(lambda: bool(changed), timeout=WAIT_MS)
    assert changed == [(0, 23), (100, 111)]
    assert model.data(model.index(111, DIGEST, repo)) != "…"


class HeldTags(FakeClient):
    """Its first tag listing reads the tags, then waits at the gate before answering."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.listings = 0

    def tag_pages(self, repository: str, *, page_size: int,
                  cancel: CancelToken) -> Iterator[NamePage]:
        self.listings += 1
        read = NamePage(self.tags.get(repository, []), linked=False)
        if self.listings == 1:
            self.gate.wait(WAIT_MS / 1000)
        yield read


def test_a_copy_ending_while_the_tags_are_listed_has_its_tag_shown(
        qtbot: QtBot, runner: Runner) -> None:
    client = HeldTags(["team/app"], {"team/app": ["1.0"]})
    model = filled_model(qtbot, runner, client, max_digest_jobs=0)
    model.feed_repositories(model.registry_index(HOST), ["team/app"], done=True)
    repo = model.repository_index(HOST, "team/app")
    model.fetchMore(repo)  # the listing reads "1.0" and waits
    qtbot.waitUntil(lambda: client.listings == 1, timeout=WAIT_MS)
    client.tags["team/app"].append("copied")  # a copy writes a tag meanwhile
    model.refresh_repository(repo, "copied", None)
    client.gate.set()
    qtbot.waitUntil(lambda: tags_under(model, repo) == ["1.0", "copied"], timeout=WAIT_MS)
    assert client.listings == 2


def test_copies_ending_while_the_tags_are_listed_list_them_once_more(
        qtbot: QtBot, runner: Runner) -> None:
    """Refreshes are coalesced: each copy used to stop the listing under way and start
    another (N copies ending one after another, N listings, and one that never ended
    while copies kept ending); now one listing follows the one under way."""
    client = HeldTags(["team/app"], {"team/app": ["1.0"]})
    model = filled_model(qtbot, runner, client, max_digest_jobs=0)
    model.feed_repositories(model.registry_index(HOST), ["team/app"], done=True)
    repo = model.repository_index(HOST, "team/app")
    model.fetchMore(repo)  # the listing reads "1.0" and waits
    qtbot.waitUntil(lambda: client.listings == 1, timeout=WAIT_MS)
    copied = [f"copied{number}" for number in range(5)]
    for tag in copied:  # copies write their tags meanwhile, each asking for a refresh
        client.tags["team/app"].append(tag)
        model.refresh_repository(repo, tag, None)
        qtbot.waitUntil(lambda: runner.active == 1, timeout=WAIT_MS)  # (the held one)
    client.gate.set()
    qtbot.waitUntil(lambda: tags_under(model, repo) == ["1.0", *copied], timeout=WAIT_MS)
    assert client.listings == 2


# -- a registry without a catalog, in the window


class ClosedCatalog(FakeClient):
    """The catalog is there, closed to this user (a token without the catalog scope)."""

    def catalog_pages(self, *, page_size: int, cancel: CancelToken) -> Iterator[NamePage]:
        from spyglass.core.errors import AccessDenied

        raise AccessDenied(f"The registry {HOST} denied access to its catalog.")
        yield NamePage([], linked=False)


def test_a_catalog_closed_to_the_user_says_so(qtbot: QtBot, window: MainWindow) -> None:
    entry = RegistrySettings("reg.example", "bob")
    window.settings.set_registry(entry)
    model = window.registries.model
    index = model.add_registry(entry, FakeConnection(ClosedCatalog(), "reg.example"))  # type: ignore[arg-type]
    with qtbot.waitSignal(model.registryLoaded, timeout=WAIT_MS):
        window.registries.tree.setCurrentIndex(index)
    page = window.registries.registry_page
    assert page.panel.title.text() == "reg.example does not let bob list its repositories"
    assert model.data(model.index(0, 0, index)) == "Catalog closed to bob: open by name"


def test_a_registry_without_catalog_offers_open_by_name(qtbot: QtBot, window: MainWindow,
                                                        qtmodeltester: ModelTester) -> None:
    client = FakeClient(tags={"library/alpine": ["3.19", "3.9", "edge"]}, catalog=False)
    entry = RegistrySettings("docker.io")
    window.settings.set_registry(entry)
    model = window.registries.model
    index = model.add_registry(entry, FakeConnection(client, "docker.io"))  # type: ignore[arg-type]
    with qtbot.waitSignal(model.registryLoaded, timeout=WAIT_MS):
        window.registries.tree.setCurrentIndex(index)
    page = window.registries.registry_page
    assert page.panel.title.text() == "docker.io does not list its repositories"
    assert page.stack.currentWidget() is page.panel
    message = model.index(0, 0, index)
    assert model.data(message, KIND_ROLE) == "message"
    assert model.data(message) == "No catalog: open repositories by name"
    qtmodeltester.check(model)

    qtbot.keyClicks(page.open_edit, "alpine:3.9")
    qtbot.keyClick(page.open_edit, Qt.Key.Key_Return)
    repo_page = window.registries.repository_page
    assert window.content.currentWidget() is repo_page
    assert repo_page.header.title.text() == "library/alpine"
    qtbot.waitUntil(lambda: repo_page.current_tag().data(TAG_ROLE) == "3.9", timeout=WAIT_MS)
    assert repo_page.tag_texts() == ["3.9", "3.19", "edge"]
    # remembered, listed before the note, and in the settings
    assert entry.repositories == ["library/alpine"]
    assert model.index(0, 0, index).data() == "library/alpine"
    assert model.data(model.index(1, 0, index), KIND_ROLE) == "message"
    window.registries.tree.setCurrentIndex(index)
    assert page.stack.currentWidget() is page.list
    assert "1 repository opened by name" in page.count.text()


class SizedPages(FakeClient):
    """Records the page sizes asked for."""

    def __init__(self, repositories: list[str]) -> None:
        super().__init__(repositories)
        self.sizes: list[int] = []

    def catalog_pages(self, *, page_size: int, cancel: CancelToken) -> Iterator[NamePage]:
        self.sizes.append(page_size)
        return super().catalog_pages(page_size=page_size, cancel=cancel)


def test_the_catalog_is_read_in_pages_as_large_as_the_command_lines(
        qtbot: QtBot, window: MainWindow) -> None:
    # pages of 200 came no sooner, and reading 23,000 repositories took 15.6 s, not 3.3
    from spyglass.core.transports.registry.client import DEFAULT_PAGE_SIZE

    assert DEFAULT_PAGE_SIZE == 1000  # the most distribution gives
    client = SizedPages([f"team/app-{n:04d}" for n in range(2500)])
    model = window.registries.model
    index = model.add_registry(RegistrySettings(HOST), FakeConnection(client))  # type: ignore[arg-type]
    window.registries.tree.setCurrentIndex(index)
    qtbot.waitUntil(lambda: model.rowCount(index) > 0 and window.runner.active == 0,
                    timeout=WAIT_MS)
    assert client.sizes == [1000] and model.rowCount(index) == 1000
    assert "1,000 repositories so far" in window.registries.registry_page.count.text()


@pytest.fixture
def pages_of_200(monkeypatch: pytest.MonkeyPatch) -> None:
    from spyglass.gui import registry_jobs

    monkeypatch.setattr(registry_jobs, "CATALOG_PAGE_SIZE", 200)


@pytest.mark.usefixtures("pages_of_200")
def test_a_long_catalog_loads_page_by_page(qtbot: QtBot, window: MainWindow) -> None:
    names = [f"team/app-{n:03d}" for n in range(450)]
    model = window.registries.model
    index = model.add_registry(RegistrySettings(HOST),
                               FakeConnection(FakeClient(names)))  # type: ignore[arg-type]
    node = model.registry_node(index)
    assert node is not None
    pages: list[int] = []
    model.registryLoaded.connect(lambda _host: pages.append(model.rowCount(index)))

    def idle() -> None:
        assert window.runner.active == 0 and node.state is LoadState.LOADED

    # one page at a time: after the first, the list knows there may be more
    model.fetchMore(index)
    assert not model.canFetchMore(index)  # at once: a view's loop must not ask again
    qtbot.waitUntil(idle, timeout=WAIT_MS)
    assert model.rowCount(index) == 200 and model.can_fetch_next(index)
    page = window.registries.registry_page
    window.registries.tree.setCurrentIndex(index)
    assert "200 repositories so far" in page.count.text()
    # the tree asks for the rest as it is scrolled to its end, not as it is expanded
    tree = window.registries.tree
    tree.expand(index)
    qtbot.wait(50)
    assert window.runner.active == 0 and model.rowCount(index) == 200
    assert not model.canFetchMore(index) and model.can_fetch_next(index)
    bar = tree.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=WAIT_MS)  # (expanded, animated)
    for listed in (400, 450):
        tree.scrollToBottom()
        qtbot.waitUntil(lambda listed=listed: model.rowCount(index) == listed,  # type: ignore[misc]
                        timeout=WAIT_MS)
        qtbot.waitUntil(idle, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: node.done, timeout=WAIT_MS)
    assert sorted(set(pages)) == [200, 400, 450]  # (the last says it is the last)
    assert model.rowCount(index) == 450
    assert tree.verticalScrollBar().maximum() > 400 - 40
    qtbot.keyClicks(page.filter, "app-44")
    root = page.list.rootIndex()
    assert [page.proxy.index(r, 0, root).data() for r in range(page.proxy.rowCount(root))] \
        == [f"team/app-44{n}" for n in range(10)]
    assert page.count.text() == "10 of 450 repositories"


@pytest.mark.usefixtures("pages_of_200")
def test_a_filter_reads_the_whole_catalog(qtbot: QtBot, window: MainWindow) -> None:
    names = [f"team/app-{n:03d}" for n in range(450)]
    model = window.registries.model
    index = model.add_registry(RegistrySettings(HOST),
                               FakeConnection(FakeClient(names)))  # type: ignore[arg-type]
    window.registries.tree.setCurrentIndex(index)  # the page lists the first page
    page = window.registries.registry_page
    qtbot.waitUntil(lambda: model.rowCount(index) >= 200 and window.runner.active == 0,
                    timeout=WAIT_MS)
    qtbot.keyClicks(page.filter, "app-44")
    node = model.registry_node(index)
    qtbot.waitUntil(lambda: node is not None and node.done, timeout=WAIT_MS)
    assert not model.canFetchMore(index)
    assert model.rowCount(index) == 450
    assert page.count.text() == "10 of 450 repositories"


def test_a_tag_selected_stays_in_sight_as_later_pages_are_sorted_in_above_it(
        qtbot: QtBot, window: MainWindow) -> None:
    """Pages of tags come in the registry's order (1.100…1.199, then 1.2…1.99), each
    sorted in among the rows: the tag selected stayed selected, and scrolled away."""
    model = window.registries.model
    model.add_registry(RegistrySettings(HOST, repositories=["team/app"]),
                       FakeConnection(FakeClient()))  # type: ignore[arg-type]
    repo = model.repository_index(HOST, "team/app")
    window.registries.tree.setCurrentIndex(repo)
    # listed empty (the listing is only asked for here: the runner is idle until it starts)
    assert wait_tags(qtbot, window, HOST, "team/app") == []
    assert model.node(repo).state is LoadState.LOADED
    qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)  # (the rest too)
    model.feed_tags(repo, [f"1.{n}" for n in range(100, 200)], done=False)  # then fed
    page = window.registries.repository_page
    table = page.table
    page.select_tag(model.tag_index(HOST, "team/app", "1.150"))
    qtbot.wait(10)

    def shown(tag: str) -> int:
        index = page.proxy.mapFromSource(model.tag_index(HOST, "team/app", tag))
        rect = table.visualRect(index)
        assert table.viewport().rect().intersects(rect), f"{tag} out of sight"
        return rect.top()

    top = shown("1.150")
    model.feed_tags(repo, [f"1.{n}" for n in range(2, 100)], done=False)  # above it
    qtbot.wait(20)
    assert shown("1.150") == top
    assert page.current_tag().data(TAG_ROLE) == "1.150"
    # a tag scrolled away is left where it is
    table.scrollToTop()
    qtbot.wait(10)
    model.feed_tags(repo, ["1.0", "1.1"], done=True)
    qtbot.wait(20)
    assert table.verticalScrollBar().value() == 0


def test_the_delete_question_names_the_lists_it_would_break() -> None:
    from spyglass.gui.registry_actions import delete_question
    from spyglass.gui.registry_jobs import DeletePlan

    digest = Digest.of(b"arm64 image")
    plan = DeletePlan(HOST, "team/app", "arm", digest, ("arm",), ("1.0", "latest"))
    text = delete_question(plan)
    assert "which no other tag points at" in text
    assert "The lists <b>1.0</b>, <b>latest</b> hold this image as one of their platforms" \
        in text
    single = delete_question(DeletePlan(HOST, "team/app", "arm", digest, ("arm",), ("1.0",)))
    assert "The list <b>1.0</b> holds this image as one of its platforms: it would" in single
    assert "The list" not in delete_question(DeletePlan(HOST, "team/app", "arm", digest,
                                                        ("arm",)))


def test_the_delete_question_names_a_few_tags_and_counts_the_rest() -> None:
    """Three hundred tags of one image: a dozen named, the rest counted, so the box stays
    on the screen."""
    from spyglass.gui.registry_actions import SHOWN_TAGS, delete_question
    from spyglass.gui.registry_jobs import DeletePlan

    tags = tuple(f"1.{n}" for n in range(300))
    text = delete_question(DeletePlan(HOST, "team/app", "1.0", Digest.of(b"one"), tags))
    others = [t for t in tags if t != "1.0"]
    assert f"so the other {len(others)} tags pointing at it" in text
    assert all(f"<b>{t}</b>" in text for t in others[:SHOWN_TAGS])
    assert f"<b>{others[SHOWN_TAGS]}</b>" not in text
    assert f"and {len(others) - SHOWN_TAGS} more — go too" in text
    two = delete_question(DeletePlan(HOST, "team/app", "1.0", Digest.of(b"one"),
                                     ("1.0", "1.1", "latest")))
    assert "so the other 2 tags pointing at it — <b>1.1</b>, <b>latest</b> — go too" in two


class BrokenCatalog(FakeClient):
    def catalog_pages(self, *, page_size: int, cancel: CancelToken) -> Iterator[NamePage]:
        from spyglass.core.errors import ConnectionFailed

        raise ConnectionFailed(f"Cannot reach the registry {HOST}: connection reset.")
        yield NamePage([], linked=False)  # a generator all the same


def test_a_repository_opens_by_name_where_the_catalog_failed(
        qtbot: QtBot, runner: Runner) -> None:
    # a failed catalog is listed again when a copy creates a repository there, but
    # opening a repository by name does not wait for it
    model = filled_model(qtbot, runner, BrokenCatalog(), max_digest_jobs=0)
    registry = model.registry_index(HOST)
    model.fetchMore(registry)
    qtbot.waitUntil(lambda: model.registry_node(registry).state is LoadState.FAILED,
                    timeout=WAIT_MS)
    opened = model.open_repository(registry, "team/app")
    assert opened.isValid() and model.data(opened) == "team/app"
    assert not model.add_repository(registry, "team/new").isValid()
    assert model.registry_node(registry).state is not LoadState.FAILED  # listed again


def test_the_status_after_a_delete_names_a_dozen_tags(window: MainWindow) -> None:
    from spyglass.gui.registry_jobs import DeletePlan

    tags = tuple(f"v{n}" for n in range(150))
    digest = Digest.of(b"gone")
    window.registries.actions._image_deleted(DeletePlan(HOST, "team/app", "v0", digest, tags))
    shown = ", ".join(tags[:12])
    assert window.status_text == (f"Deleted team/app@{digest} from {HOST} (tags: {shown} "
                                  "and 138 more).")


class _CountingPages(FakeClient):
    def __init__(self, repositories: list[str]) -> None:
        super().__init__(repositories)
        self.pages = 0

    def catalog_pages(self, *, page_size: int, cancel: CancelToken) -> Iterator[NamePage]:
        for page in super().catalog_pages(page_size=page_size, cancel=cancel):
            self.pages += 1
            yield page


def test_a_registry_opened_above_the_selected_row_reads_one_page(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a repository of the registry below selected, opening the registry above read
    its whole catalog: each page went in above the selected row, which was kept in place,
    so the registry's end stayed above the view, counted as near, and asked for more."""
    from spyglass.gui import registry_jobs

    monkeypatch.setattr(registry_jobs, "CATALOG_PAGE_SIZE", 50)
    above = _CountingPages([f"a/r{n:05d}" for n in range(2000)])
    below = _CountingPages([f"b/r{n:03d}" for n in range(20)])
    model, tree = window.registries.model, window.registries.tree
    first = model.add_registry(RegistrySettings("a.example"), FakeConnection(above, "a.example"))
    second = model.add_registry(RegistrySettings("b.example"), FakeConnection(below, "b.example"))
    tree.collapse(first)
    tree.expand(second)
    qtbot.waitUntil(lambda: model.rowCount(second) == 20 and window.runner.active == 0,
                    timeout=WAIT_MS)
    tree.setCurrentIndex(model.index(3, 0, second))
    assert wait_tags(qtbot, window, "b.example", "b/r003") == []  # (its tags listed)
    qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
    tree.expand(first)
    qtbot.waitUntil(lambda: above.pages >= 1 and window.runner.active == 0, timeout=WAIT_MS)
    for _ in range(10):  # (what went wrong went on page after page)
        qtbot.wait(50)
    assert above.pages <= 2 and model.rowCount(first) <= 100


def test_the_tag_count_says_one_attachment_tag_as_either_kind_and_ends_with_so_far() -> None:
    """One hidden tag is a signature or a referrer tag, not one that is both; while the
    list grows, "so far…" ends the count, not the middle of the sentence."""
    node = RepositoryNode(1, parent=cast(RegistryNode, None), name="app")
    node.state = LoadState.LOADED
    node.by_name = {name: cast(TagNode, object()) for name in ("1.0", "sha256-ab.sig")}
    node.attachment_tags = 1
    assert tags_summary(node, hidden=1) == (
        "1 tag (and 1 signature or referrer tag, hidden) so far…")
    node.done = True
    assert tags_summary(node, apart=True) == "1 tag (and 1 signature or referrer tag)"
    node.by_name["sha256-ab"] = cast(TagNode, object())
    node.attachment_tags = 2
    assert tags_summary(node, hidden=2) == "1 tag (and 2 signature and referrer tags, hidden)"


def test_a_signed_tags_name_keeps_its_room_beside_the_pill_in_a_narrow_window(
        qtbot: QtBot, window: MainWindow) -> None:
    """At 800 px the names' column was narrowed to its least, which did not count the
    "signed" pill drawn in it: "latest" showed as "l…t", "stable" as "…"."""
    signed = Digest.of(b"latest")
    model = window.registries.model
    client = FakeClient(tags={"team/app": ["latest", "latest-b", "1.0",
                                           f"sha256-{signed.hex}.sig"]})
    model.add_registry(RegistrySettings(HOST, repositories=["team/app"]),
                       FakeConnection(client))  # type: ignore[arg-type]
    window.resize(800, 600)
    window.registries.tree.setCurrentIndex(model.repository_index(HOST, "team/app"))
    page = window.registries.repository_page
    qtbot.waitUntil(lambda: model.data(model.tag_index(HOST, "team/app", "latest"),
                                       SIGNED_ROLE) is True, timeout=WAIT_MS)
    table = page.table
    qtbot.waitUntil(lambda: 0 < table.viewport().width() < 600, timeout=WAIT_MS)
    qtbot.wait(50)  # (the columns fitted to the width)
    index = page.proxy.mapFromSource(model.tag_index(HOST, "team/app", "latest"))
    option = QStyleOptionViewItem()
    option.initFrom(table)
    style = table.style()
    icon = style.pixelMetric(QStyle.PixelMetric.PM_SmallIconSize, None, table)
    option.decorationSize = QSize(icon, icon)  # (as the view gives it)
    page.badges.initStyleOption(option, index)
    option.rect = table.visualRect(index).adjusted(
        0, 0, -page.badges.pill_room(table.font()), 0)
    text = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, table)
    margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table) + 1
    assert text.width() - 2 * margin >= option.fontMetrics.horizontalAdvance("latest")
    # the room came from the types and the digests' margin: nothing scrolls sideways,
    # and the digests and "Same image as" still show
    header = table.horizontalHeader()
    assert table.horizontalScrollBar().maximum() == 0
    assert header.sectionSize(ALIASES) >= page.ALIASES_LEAST
    digest = index.siblingAtColumn(DIGEST)
    assert header.sectionSize(DIGEST) >= QFontMetrics(digest.data(Qt.ItemDataRole.FontRole)) \
        .horizontalAdvance(str(digest.data())) + 2 * margin
    # wide again, each column has its width back
    window.resize(1600, 900)
    qtbot.waitUntil(lambda: header.sectionSize(ALIASES) > page.ALIASES_ROOM, timeout=WAIT_MS)
    assert header.sectionSize(NAME) >= 200
