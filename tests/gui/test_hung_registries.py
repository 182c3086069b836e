"""A registry that takes requests and never answers them, in the real window: it holds up
its own jobs alone, a listing nobody looks at any more is stopped, a page that waits
long says how long and offers Stop, and Stop ends the look-ups of digests there too."""

from __future__ import annotations

import logging
import os
import re
import signal
import time
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from spyglass.core.natural import natural_key
from spyglass.core.retry import Wait
from spyglass.core.settings import RegistrySettings, Settings
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.places import LoadState
from spyglass.gui.models.registry_digests import DIGEST_BATCH
from spyglass.gui.models.registry_rows import DIGEST, RepositoryNode
from spyglass.gui.workers import MAX_THREADS
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import WAIT_MS, SampleFacts, show_image, wait_tags
from tests.helpers.hanging import HangingRegistry
from tests.helpers.registry import RegistryServer, seed_tags

pytestmark = pytest.mark.gui

HUNG = [f"hung/r{n}" for n in range(MAX_THREADS + 1)]


@pytest.fixture
def hanging() -> Iterator[HangingRegistry]:
    with HangingRegistry({"ok/app": ["1.0", "latest"]}) as server:
        yield server


@pytest.fixture
def hung_window(make_window: Callable[..., MainWindow],
                hanging: HangingRegistry) -> MainWindow:
    entry = RegistrySettings(hanging.host, insecure=True, repositories=[*HUNG, "ok/app"])
    return make_window(Settings(first_run_done=True, registries=[entry]))


def repository(window: MainWindow, host: str, name: str) -> RepositoryNode:
    model = window.registries.model
    node = model.node(model.repository_index(host, name))
    assert isinstance(node, RepositoryNode)
    return node


def test_hung_listings_hold_up_neither_the_local_layouts_nor_another_registry(
        qtbot: QtBot, hung_window: MainWindow, hanging: HangingRegistry,
        sample: SampleFacts) -> None:
    """Five repositories of a hung registry open in the tree: four listings run (the
    fifth waits its turn) and hang; a local layout lists and shows its image meanwhile
    (it waited, with all four of the window's threads held, for four minutes)."""
    window, host = hung_window, hanging.host
    model, tree = window.registries.model, window.registries.tree
    tree.expand(model.registry_index(host))
    for name in HUNG:
        tree.expand(model.repository_index(host, name))  # looked at: never set aside
    qtbot.waitUntil(lambda: sum(hanging.asked(n) for n in HUNG) == MAX_THREADS,
                    timeout=WAIT_MS)
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    # still hung, all of them; the fifth waits for one of the registry's own threads
    assert all(repository(window, host, n).state is LoadState.LOADING for n in HUNG)
    assert sum(hanging.asked(n) for n in HUNG) == MAX_THREADS


def test_a_hung_listing_left_for_another_repository_is_stopped(
        qtbot: QtBot, hung_window: MainWindow, hanging: HangingRegistry) -> None:
    """Four hung repositories clicked one after another, then one that answers: each left
    stops listing (nothing of it had come), so the last is listed at once (it waited
    behind the four for four minutes) and the others are listed again when chosen."""
    window, host = hung_window, hanging.host
    model, tree = window.registries.model, window.registries.tree
    page = window.registries.repository_page
    for name in HUNG[:MAX_THREADS]:
        tree.setCurrentIndex(model.repository_index(host, name))
        qtbot.waitUntil(lambda name=name: hanging.asked(name), timeout=WAIT_MS)  # type: ignore[misc]
        assert page.panel.title.text() == f"Listing the tags of {name}…"
    tree.setCurrentIndex(model.repository_index(host, "ok/app"))
    assert wait_tags(qtbot, window, host, "ok/app") == ["1.0", "latest"]
    assert page.tag_texts() == ["1.0", "latest"]
    for name in HUNG[:MAX_THREADS]:
        node = repository(window, host, name)
        assert node.state is LoadState.PENDING and node.listing is None
    qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)  # none left hung
    # chosen again, listed again
    seen = len(hanging.seen)
    tree.setCurrentIndex(model.repository_index(host, HUNG[0]))
    qtbot.waitUntil(lambda: HUNG[0] in "".join(hanging.seen[seen:]), timeout=WAIT_MS)
    assert repository(window, host, HUNG[0]).state is LoadState.LOADING


@pytest.fixture
def soon(monkeypatch: pytest.MonkeyPatch) -> None:
    """A panel says how long it waits after 0.2 s, not 5."""
    from spyglass.gui.views import widgets

    monkeypatch.setattr(widgets, "STILL_WAITING_S", 0.2)


@pytest.mark.usefixtures("soon")
def test_a_listing_that_waits_says_how_long_and_stop_ends_it(
        qtbot: QtBot, hung_window: MainWindow, hanging: HangingRegistry,
        caplog: pytest.LogCaptureFixture) -> None:
    """The page said "Listing the tags of …" for four minutes, and nothing else."""
    window, host = hung_window, hanging.host
    model, tree = window.registries.model, window.registries.tree
    page = window.registries.repository_page
    panel = page.panel
    index = model.repository_index(host, HUNG[0])
    tree.setCurrentIndex(index)
    assert panel.title.text() == f"Listing the tags of {HUNG[0]}…"
    assert not panel.stop_button.isVisible()  # not before it has waited
    qtbot.waitUntil(lambda: panel.stop_button.isVisible(), timeout=WAIT_MS)
    assert re.fullmatch(rf"Still waiting for {re.escape(host)} \(\d+ s\)…", panel.waited.text())
    assert hanging.asked(HUNG[0])
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    node = repository(window, host, HUNG[0])
    assert node.state is LoadState.FAILED
    assert panel.title.text() == f"Stopped listing the tags of {HUNG[0]}"
    assert re.fullmatch(rf"Stopped: {re.escape(host)} had not answered after \d+ s\. Try "
                        r"again later\.", panel.body.text())
    assert page.retry_button.isVisible() and not panel.stop_button.isVisible()
    assert not panel.waited.isVisible()
    qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)  # its request ended
    asked = len(hanging.seen)
    qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)
    assert node.state is LoadState.LOADING
    assert page.panel.title.text() == f"Listing the tags of {HUNG[0]}…"
    qtbot.waitUntil(lambda: len(hanging.seen) > asked, timeout=WAIT_MS)  # asked anew
    qtbot.wait(100)
    # once: the tags asked for by one job (two read one listing at once: an error)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.usefixtures("soon")
def test_an_image_that_waits_says_how_long_and_stop_ends_it(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    with HangingRegistry({"slow/app": ["1.0"]}, hung=("slow/app/manifests/",)) as server:
        host = server.host
        entry = RegistrySettings(host, insecure=True, repositories=["slow/app"])
        window = make_window(Settings(first_run_done=True, registries=[entry]))
        model, tree = window.registries.model, window.registries.tree
        tree.setCurrentIndex(model.repository_index(host, "slow/app"))
        assert wait_tags(qtbot, window, host, "slow/app") == ["1.0"]
        view = window.image_view
        tree.setCurrentIndex(model.tag_index(host, "slow/app", "1.0"))
        assert view.pages.currentWidget() is view.loading
        assert view.loading.title.text() == "Loading slow/app:1.0…"
        qtbot.waitUntil(lambda: view.loading.stop_button.isVisible(), timeout=WAIT_MS)
        assert view.loading.waited.text().startswith(f"Still waiting for {host} (")
        qtbot.mouseClick(view.loading.stop_button, Qt.MouseButton.LeftButton)
        assert view.pages.currentWidget() is view.error
        assert view.error.title.text() == "Stopped loading slow/app:1.0"
        assert view.error.body.text().startswith(f"Stopped: {host} had not answered after ")
        assert view.retry_button.isVisible()
        qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
        assert view.pages.currentWidget() is view.error  # its answer, if any, is dropped
        qtbot.mouseClick(view.retry_button, Qt.MouseButton.LeftButton)
        assert view.pages.currentWidget() is view.loading
        window.close()


@pytest.mark.usefixtures("soon")
def test_a_listing_that_waits_on_the_token_server_names_it(
        qtbot: QtBot, make_window: Callable[..., MainWindow], registry_binary: str) -> None:
    """The registry answered at once; its token server took the token request and sent
    nothing: the page said "Still waiting for REGISTRY", and Stop that the registry had
    not answered. Both name the token server."""
    from tests.helpers.tokenserver import TokenServer

    with TokenServer() as tokens, \
            RegistryServer(binary=registry_binary, token_server=tokens) as server:
        host = server.host
        tokens.answering.clear()
        window = make_window(Settings(first_run_done=True,
                                      registries=[RegistrySettings(host)]))
        model, tree = window.registries.model, window.registries.tree
        panel = window.registries.registry_page.panel
        tree.setCurrentIndex(model.registry_index(host))
        qtbot.waitUntil(lambda: panel.stop_button.isVisible(), timeout=WAIT_MS)
        who = f"the token server 127.0.0.1:{tokens.port} of {host}"
        qtbot.waitUntil(lambda: panel.waited.text().startswith(f"Still waiting for {who} ("),
                        timeout=WAIT_MS)
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
        assert re.fullmatch(rf"Stopped: {re.escape(who)} had not answered after \d+ s\. Try "
                            r"again later\.", panel.body.text()), panel.body.text()
        # answered once more, the listing asked again is no longer said to wait on it
        tokens.answering.set()
        qtbot.mouseClick(window.registries.registry_page.retry_button,
                         Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: model.registry_node(model.registry_index(host)).done,
                        timeout=WAIT_MS)
        assert model.registry_node(model.registry_index(host)).waiting_on == ""
        window.close()


def test_test_connection_gives_up_on_a_silent_token_server_as_on_a_silent_registry(
        registry_binary: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test Connection waited a minute on a token server that never answered, where the
    README promised it would be held as long as by a registry that never answers (the
    ping's timeout): /v2/ and the token it needs are asked within that timeout."""
    import httpx

    from spyglass.core.cancel import CancelToken
    from spyglass.core.transports.registry import endpoint
    from spyglass.gui.registry_jobs import check_connection
    from tests.helpers.tokenserver import TokenServer

    monkeypatch.setattr(endpoint, "PING_TIMEOUT", httpx.Timeout(1.0))
    with TokenServer() as tokens, \
            RegistryServer(binary=registry_binary, token_server=tokens) as server:
        tokens.answering.clear()
        began = time.monotonic()
        check = check_connection(server.host, insecure=False, credentials=None, store=None,
                                 cancel=CancelToken())
        waited = time.monotonic() - began
    assert check.problem == "connection"
    assert check.sentence == (f"The token server 127.0.0.1:{tokens.port} of {server.host} "
                              "stopped answering (no token came for the whole timeout).")
    assert waited < 10, waited


APP_TAGS = [f"v{n}" for n in range(3 * DIGEST_BATCH)]
"""More tags than the registry's two digest jobs look up at once."""


def pending(node: RepositoryNode) -> int:
    """How many of the repository's tags have their digest looked up right now."""
    return sum(tag.pending for tag in node.tags)


def look_up_digests(qtbot: QtBot, window: MainWindow, host: str, name: str) -> RepositoryNode:
    """Show the tags of ``name`` (listed already): wait until both of the registry's digest
    jobs are under way."""
    model, tree = window.registries.model, window.registries.tree
    tree.setCurrentIndex(model.repository_index(host, name))
    node = repository(window, host, name)
    qtbot.waitUntil(lambda: pending(node) > DIGEST_BATCH, timeout=WAIT_MS)
    return node


def stop_listing(qtbot: QtBot, window: MainWindow, host: str, name: str) -> None:
    """Choose repository ``name``, whose listing hangs, and press Stop once it is offered."""
    model, tree = window.registries.model, window.registries.tree
    panel = window.registries.repository_page.panel
    tree.setCurrentIndex(model.repository_index(host, name))
    qtbot.waitUntil(lambda: panel.stop_button.isVisible(), timeout=WAIT_MS)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert repository(window, host, name).state is LoadState.FAILED


@pytest.fixture
def hung_heads(qtbot: QtBot, make_window: Callable[..., MainWindow]
               ) -> Iterator[tuple[MainWindow, HangingRegistry]]:
    """A registry that lists the tags of ``app`` and never answers for their digests; it
    never answers for ``hung/r0`` at all."""
    with HangingRegistry({"app": APP_TAGS}, hung_heads=("app/",)) as server:
        entry = RegistrySettings(server.host, insecure=True, repositories=["app", HUNG[0]])
        window = make_window(Settings(first_run_done=True, registries=[entry]))
        model, tree = window.registries.model, window.registries.tree
        tree.setCurrentIndex(model.repository_index(server.host, "app"))
        assert wait_tags(qtbot, window, server.host, "app") == \
            sorted(APP_TAGS, key=natural_key)
        yield window, server
        window.close()


@pytest.mark.usefixtures("soon")
def test_stop_ends_the_digest_look_ups_waiting_on_the_registry_too(
        qtbot: QtBot, hung_heads: tuple[MainWindow, HangingRegistry]) -> None:
    """The tags of one repository shown, their digests asked of a registry that never
    answers; another repository's listing hangs there, and is stopped. The look-ups end
    too (they held the registry's lane, and both of its digest jobs, for minutes), and
    the tags, shown again, are looked up again (they stayed "being looked up")."""
    window, server = hung_heads
    host = server.host
    node = look_up_digests(qtbot, window, host, "app")
    qtbot.waitUntil(lambda: len(server.heads) >= 2, timeout=WAIT_MS)  # taken, unanswered
    stop_listing(qtbot, window, host, HUNG[0])
    qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)  # none left hung
    assert pending(node) == 0
    assert all(t.digest is None and t.error is None for t in node.tags)  # unknown, not failed
    asked = len(server.heads)
    look_up_digests(qtbot, window, host, "app")  # both jobs again: none counted as running
    qtbot.waitUntil(lambda: len(server.heads) > asked, timeout=WAIT_MS)
    assert window.registries.repository_page.tag_texts()[0] == "v0"


def test_leaving_a_repository_ends_the_look_ups_of_its_digests(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    """The digests of one repository's tags hang; the person moves on to another
    repository of the registry. The first one's look-ups end (they held both of the
    registry's digest jobs: the second's digests were never asked, for minutes)."""
    with HangingRegistry({"app": APP_TAGS, "b": ["1", "2", "3"]},
                         hung_heads=("app/",)) as server:
        host = server.host
        entry = RegistrySettings(host, insecure=True, repositories=["app", "b"])
        window = make_window(Settings(first_run_done=True, registries=[entry]))
        model, tree = window.registries.model, window.registries.tree
        tree.setCurrentIndex(model.repository_index(host, "app"))
        wait_tags(qtbot, window, host, "app")
        app = look_up_digests(qtbot, window, host, "app")
        tree.setCurrentIndex(model.repository_index(host, "b"))
        assert wait_tags(qtbot, window, host, "b") == ["1", "2", "3"]
        qtbot.waitUntil(lambda: any(h.startswith("/v2/b/") for h in server.heads),
                        timeout=WAIT_MS)
        assert pending(app) == 0
        window.close()


def test_removing_a_registry_ends_the_look_ups_of_its_digests(
        qtbot: QtBot, hung_heads: tuple[MainWindow, HangingRegistry]) -> None:
    window, server = hung_heads
    look_up_digests(qtbot, window, server.host, "app")
    window.registries.confirm = lambda title, text, accept: True  # type: ignore[method-assign]
    assert window.registries.remove_registry(server.host)
    qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)  # none left hung


@pytest.mark.usefixtures("soon")
def test_a_registry_stopped_while_digests_are_looked_up_shows_them_once_reloaded(
        qtbot: QtBot, make_window: Callable[..., MainWindow], registry_binary: str) -> None:
    """A real registry stops answering (its process is stopped) while the digests of the
    tags shown are looked up; another repository's listing waits, and is stopped; the
    registry answers again, and Reload shows the digests (the look-ups stopped no longer
    count as the registry's jobs under way: none would start while they did)."""
    with RegistryServer(binary=registry_binary) as server:
        host = server.host
        names = seed_tags(server, "many/tags", len(APP_TAGS), direct=True)
        entry = RegistrySettings(host, insecure=True, repositories=["many/tags", "other/repo"])
        window = make_window(Settings(first_run_done=True, registries=[entry]))
        model, tree = window.registries.model, window.registries.tree
        tree.expand(model.registry_index(host))
        tree.expand(model.repository_index(host, "many/tags"))  # names only: no digest asked
        assert wait_tags(qtbot, window, host, "many/tags") == names
        qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
        pid = server.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            node = look_up_digests(qtbot, window, host, "many/tags")
            stop_listing(qtbot, window, host, "other/repo")
            qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
            assert pending(node) == 0
        finally:
            os.kill(pid, signal.SIGCONT)
        tree.setCurrentIndex(model.repository_index(host, "many/tags"))
        with qtbot.waitSignal(model.tagsLoaded, timeout=WAIT_MS,
                              check_params_cb=lambda host, repo, done: done):
            window.reload_action.trigger()
        node = repository(window, host, "many/tags")
        page = window.registries.repository_page
        assert page.tag_texts()[0] == names[0]
        # both jobs' worth, the first row's among them (the last shown is looked up first)
        qtbot.waitUntil(lambda: sum(t.digest is not None for t in node.tags) > DIGEST_BATCH
                        and page.tag_texts(DIGEST)[0].startswith("sha256:"), timeout=WAIT_MS)
        window.close()


@pytest.mark.usefixtures("soon")
def test_a_listing_the_registry_asked_to_wait_says_so_and_stop_says_what_it_stopped(
        qtbot: QtBot, make_window: Callable[..., MainWindow],
        demo_registry: RegistryFacts) -> None:
    """A 429 with Retry-After: 30 to the tag listing: the page said the registry had not
    answered, where it had answered at once and asked to be asked again later."""
    from tests.helpers.faultproxy import Fault, FaultProxy

    with FaultProxy(demo_registry.host) as proxy:
        proxy.add(Fault("GET", r"^/v2/asked/app/tags/list", "status", count=10, status=429,
                        headers={"Retry-After": "30"}))
        entry = RegistrySettings(proxy.address, insecure=True, repositories=["asked/app"])
        window = make_window(Settings(first_run_done=True, registries=[entry]))
        model, tree = window.registries.model, window.registries.tree
        page = window.registries.repository_page
        panel = page.panel
        tree.setCurrentIndex(model.repository_index(proxy.address, "asked/app"))
        qtbot.waitUntil(lambda: "asked to wait" in panel.body.text(), timeout=WAIT_MS)
        assert panel.body.text() == f"The registry {proxy.address} asked to wait 30 s."
        qtbot.waitUntil(lambda: panel.stop_button.isVisible(), timeout=WAIT_MS)
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
        assert panel.body.text() == (f"Stopped while waiting: the registry {proxy.address} "
                                     "asked to wait 30 s. Try again later.")
        qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)


def refused_registry_window(make_window: Callable[..., MainWindow],
                            monkeypatch: pytest.MonkeyPatch) -> tuple[MainWindow, str]:
    """A window listing a registry (with its repository team/app) on a port that refuses
    every connection, and that host; requests are asked again after pauses long enough
    to be seen (the tests' own are a hundredth of the real ones)."""
    import socket

    from spyglass.core.transports.registry.endpoint import RegistryEndpoint

    monkeypatch.setattr(RegistryEndpoint, "_backoff", staticmethod(lambda attempt: 0.6))
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{unused.getsockname()[1]}"
    entry = RegistrySettings(host, insecure=True, repositories=["team/app"])
    return make_window(Settings(first_run_done=True, registries=[entry])), host


@pytest.mark.usefixtures("soon")
def test_a_listing_of_a_registry_that_refuses_connections_says_so_and_stop_says_that(
        qtbot: QtBot, make_window: Callable[..., MainWindow],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A port that refuses every connection, asked again after a backoff: the page said
    "Still waiting for HOST", where nothing waited."""
    window, host = refused_registry_window(make_window, monkeypatch)
    model, tree = window.registries.model, window.registries.tree
    panel = window.registries.repository_page.panel
    tree.setCurrentIndex(model.repository_index(host, "team/app"))
    qtbot.waitUntil(lambda: "attempt 3 of 4" in panel.body.text(), timeout=WAIT_MS)
    assert panel.body.text() == (f"Cannot reach the registry {host} (connection refused); "
                                 "asking again (attempt 3 of 4).")
    qtbot.waitUntil(lambda: panel.stop_button.isVisible(), timeout=WAIT_MS)
    assert panel.waited.text().startswith(f"Waiting to ask {host} again (")
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert panel.body.text() == (f"Stopped while waiting: cannot reach the registry {host} "
                                 "(connection refused). Try again later.")
    qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)


@pytest.mark.usefixtures("soon")
def test_an_image_of_a_registry_that_refuses_connections_says_so_and_stop_says_that(
        qtbot: QtBot, make_window: Callable[..., MainWindow],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The image view said "Still waiting for HOST" while a port that refuses every
    connection was asked again after a backoff, where nothing waited."""
    from spyglass.gui.loading import load_registry_tag

    window, host = refused_registry_window(make_window, monkeypatch)
    registry = window.registries.model.registry_node(
        window.registries.model.registry_index(host))
    assert registry is not None
    client = registry.connection.client()
    view = window.image_view
    view.show_image("team/app:1", f"docker://{host}/team/app:1",
                    lambda cancel: load_registry_tag(client, "team/app", "1", cancel))
    said: list[str] = []

    def seen(text: str) -> bool:
        """Whether the panel has said ``text`` (noting what it says, as it changes)."""
        if view.loading.waited.isVisible() and view.loading.waited.text() not in said:
            said.append(view.loading.waited.text())
        return any(text in line for line in said)

    qtbot.waitUntil(lambda: seen("attempt 3 of 4"), timeout=WAIT_MS)
    assert not [text for text in said if "Still waiting" in text], said
    assert re.fullmatch(rf"Cannot reach the registry {re.escape(host)} \(connection "
                        r"refused\); asking again, attempt [234] of 4 \(\d+ s\)…", said[-1])
    qtbot.mouseClick(view.loading.stop_button, Qt.MouseButton.LeftButton)
    assert view.error.title.text() == "Stopped loading team/app:1"
    assert re.fullmatch(rf"Stopped after \d+ s: cannot reach the registry {re.escape(host)} "
                        r"\(connection refused\)\. Try again later\.", view.error.body.text())
    qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)


@pytest.mark.usefixtures("soon")
def test_once_the_wait_asked_for_is_over_a_listing_that_hangs_says_so_again(
        qtbot: QtBot, hung_window: MainWindow, hanging: HangingRegistry) -> None:
    """The page kept saying the registry had asked to wait 1 s while the listing asked
    again hung, and Stop said it stopped "while waiting"."""
    window, host = hung_window, hanging.host
    model, tree = window.registries.model, window.registries.tree
    panel = window.registries.repository_page.panel
    index = model.repository_index(host, HUNG[0])
    tree.setCurrentIndex(index)
    node = repository(window, host, HUNG[0])
    qtbot.waitUntil(lambda: hanging.asked(HUNG[0]) > 0, timeout=WAIT_MS)
    # (as the job's request tells it: a 429 asking for an hour, waited a minute)
    model._asked_to_wait(node, Wait(f"the registry {host}", 0.3, 2, 4, asked=3600.0))
    assert panel.body.text() == (f"The registry {host} asked to wait 3600 s; the page is "
                                 "asked for again after 0 s.")
    qtbot.waitUntil(lambda: "asked to wait" not in panel.body.text(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.stop_button.isVisible(), timeout=WAIT_MS)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert re.fullmatch(rf"Stopped: {re.escape(host)} had not answered after \d+ s\. Try "
                        r"again later\.", panel.body.text())


@pytest.mark.usefixtures("soon")
def test_a_wait_asked_again_after_try_again_is_not_ended_by_the_first_ones_timer(
        qtbot: QtBot, hung_window: MainWindow, hanging: HangingRegistry) -> None:
    """After Stop and Try Again, the same registry asking the same wait again had its text
    cleared by the first wait's timer (it knew its wait by the words alone): the page
    said "Still waiting", and Stop "had not answered", while the wait asked for lasted."""
    wait = 3.0
    window, host = hung_window, hanging.host
    model, tree = window.registries.model, window.registries.tree
    page = window.registries.repository_page
    panel = page.panel
    tree.setCurrentIndex(model.repository_index(host, HUNG[0]))
    node = repository(window, host, HUNG[0])
    qtbot.waitUntil(lambda: hanging.asked(HUNG[0]) > 0, timeout=WAIT_MS)
    model._asked_to_wait(node, Wait(f"the registry {host}", wait, 2, 4, asked=wait))
    first = time.monotonic()
    qtbot.waitUntil(lambda: panel.stop_button.isVisible(), timeout=WAIT_MS)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.retry_button.isVisible(), timeout=WAIT_MS)
    qtbot.wait(500)
    qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: node.state is LoadState.LOADING, timeout=WAIT_MS)
    qtbot.wait(200)  # (the job asked again starts: its request then asks the same wait)
    model._asked_to_wait(node, Wait(f"the registry {host}", wait, 2, 4, asked=wait))
    second = time.monotonic()
    qtbot.waitUntil(lambda: time.monotonic() - first > wait + 0.2, timeout=WAIT_MS)
    if time.monotonic() - second < wait * 0.9:  # (a slow machine: the check says nothing)
        assert panel.body.text() == f"The registry {host} asked to wait 3 s."
    qtbot.waitUntil(lambda: "asked to wait" not in panel.body.text(), timeout=WAIT_MS)
    # (Qt may fire a timer of seconds 5 % early; the first one's came 1 s and more sooner)
    assert time.monotonic() - second >= wait * 0.9
