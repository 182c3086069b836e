"""The filter of a registry's and a repository's page over many rows: the same rows as a
plain search finds, little Python per row, and one pass once the typing pauses."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.qtbot import QtBot

from spyglass.core.settings import RegistrySettings
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.places import LoadState
from spyglass.gui.models.registries import RegistriesModel
from spyglass.gui.models.registry_filter import ChildFilterModel
from spyglass.gui.views import registry_pages
from spyglass.gui.workers import Runner
from tests.gui.guitools import WAIT_MS, wait_tags
from tests.gui.test_registry_models import HOST, FakeClient, FakeConnection

pytestmark = pytest.mark.gui

TAGS = [f"tag-{n}" for n in range(20_000)]


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[Runner]:
    runner = Runner()
    yield runner
    runner.shutdown()


def big_model(runner: Runner) -> tuple[RegistriesModel, QModelIndex, QModelIndex]:
    """A registry of 1,001 repositories, one of them ``big/tags`` with 20,000 tags."""
    model = RegistriesModel(runner, max_digest_jobs=0)
    registry = model.add_registry(RegistrySettings(HOST),
                                  FakeConnection(FakeClient()))  # type: ignore[arg-type]
    model.feed_repositories(registry, [f"seed/repo-{n:05d}" for n in range(1000)]
                            + ["big/tags"], done=True)
    repo = model.repository_index(HOST, "big/tags")
    model.feed_tags(repo, TAGS, done=True)
    return model, registry, repo


def shown(proxy: ChildFilterModel) -> list[str]:
    root = proxy.root_index()
    return [proxy.index(r, 0, root).data() for r in range(proxy.rowCount(root))]


class _Profile:
    """Counts the Python calls and the calls of built-in functions made while it runs."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __enter__(self) -> _Profile:
        sys.setprofile(self._event)
        return self

    def __exit__(self, *_exc: object) -> None:
        sys.setprofile(None)

    def _event(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            self.calls[frame.f_code.co_name] += 1
        elif event == "c_call":
            self.calls[getattr(arg, "__name__", "?")] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def test_each_filter_text_costs_a_look_up_per_row(qtbot: QtBot, runner: Runner) -> None:
    """Qt asks of all 21,001 rows mapped (the tags, and the repositories beside theirs)
    each time the text changes: each answer was six calls of Python (a name case-folded
    each time), 50 ms a key; it is a look-up now, the names folded once."""
    model, _registry, repo = big_model(runner)
    proxy = ChildFilterModel()
    proxy.setSourceModel(model)
    proxy.set_root(repo)
    assert len(shown(proxy)) == 20_000
    rows = 20_000 + 1_001
    for text in ("t", "tag-1", "tag-19", "tag-199", "tag-1999", "ag-19", "", "x", "TAG-7"):
        with _Profile() as profile:
            proxy.set_filter_text(text)
        got = shown(proxy)
        needle = text.casefold()
        assert got == [t for t in TAGS if needle in t], text
        asked = profile.calls["filterAcceptsRow"]
        assert asked <= rows + 10, text  # (Qt asks of each row once)
        assert profile.calls["casefold"] <= 1, text  # (the names were folded before)
        # per row: the call and a len() at most, and a few calls for the whole pass
        assert profile.total <= 2 * asked + len(got) + 50, (text, profile.calls.most_common(5))


def test_a_filter_narrowed_and_widened_shows_what_a_fresh_one_does(
        qtbot: QtBot, runner: Runner) -> None:
    model, registry, repo = big_model(runner)
    proxy = ChildFilterModel()
    proxy.setSourceModel(model)
    proxy.set_root(repo)
    for text in ("1", "19", "199", "99", "9", "tag-9", "tag-9 ", "TAG-99", ""):
        proxy.set_filter_text(text)
        fresh = ChildFilterModel()
        fresh.setSourceModel(model)
        fresh.set_root(repo)
        fresh.set_filter_text(text)
        assert shown(proxy) == shown(fresh), text
    # rows coming while filtered are filtered as they come, where they go
    proxy.set_filter_text("tag-2000")
    model.feed_tags(repo, ["tag-20000", "a-tag-20001", "tag-19999x"], done=True)
    every = [model.index(r, 0, repo).data() for r in range(model.rowCount(repo))]
    assert shown(proxy) == [t for t in every if "tag-2000" in t]
    assert sorted(shown(proxy)) == ["a-tag-20001", "tag-2000", "tag-20000"]
    # the registry's page: its repositories, the rows above them left alone
    proxy.set_root(registry)
    proxy.set_filter_text("repo-0031")
    assert shown(proxy) == [f"seed/repo-0031{n}" for n in range(10)]
    assert proxy.rowCount() == 1  # (the registry's own row, outside the root, shows)


def test_typing_over_many_tags_filters_once_the_typing_pauses(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    """In the window: each key typed over 20,000 tags held it 60-360 ms; the filter now
    waits for a pause in the typing, then makes one pass. The count and the tag selected
    are as before; Enter applies what was typed at once."""
    model = window.registries.model
    model.add_registry(RegistrySettings(HOST, repositories=["big/tags"]),
                       FakeConnection(FakeClient()))  # type: ignore[arg-type]
    repo = model.repository_index(HOST, "big/tags")
    window.registries.tree.setCurrentIndex(repo)
    # listed empty (the listing is only asked for here: the runner is idle until it starts)
    assert wait_tags(qtbot, window, HOST, "big/tags") == []
    assert model.node(repo).state is LoadState.LOADED
    qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)  # (the rest too)
    model.feed_tags(repo, TAGS, done=True)
    page = window.registries.repository_page
    assert page.count.text() == "20,000 tags"
    page.select_tag(model.tag_index(HOST, "big/tags", "tag-1999"))
    passes: list[str] = []
    apply = ChildFilterModel.set_filter_text

    def counted(proxy: ChildFilterModel, text: str) -> None:
        passes.append(text)
        apply(proxy, text)

    monkeypatch.setattr(ChildFilterModel, "set_filter_text", counted)
    qtbot.keyClicks(page.filter, "tag-1999")
    assert passes == [] and page.filtering.pending  # nothing yet, while keys come
    assert page.count.text() == "20,000 tags"
    qtbot.waitUntil(lambda: page.count.text() == "11 of 20,000 tags", timeout=WAIT_MS)
    assert passes == ["tag-1999"]
    assert page.tag_texts() == [t for t in TAGS if "tag-1999" in t]
    current = page.current_tag()
    assert current.isValid() and model.data(current) == "tag-1999"
    # cleared: every tag again at once (nothing to wait for), the tag still selected
    page.filter.clear()
    assert passes[-1] == "" and page.count.text() == "20,000 tags"
    assert model.data(page.current_tag()) == "tag-1999"
    # Enter does not wait for the pause: it opens the first tag that matches
    opened: list[str] = []
    page.tagActivated.connect(lambda index: opened.append(model.data(index)))
    qtbot.keyClicks(page.filter, "tag-1998")
    page.table.selectionModel().clear()  # (no tag highlighted: the first is opened)
    qtbot.keyClick(page.filter, Qt.Key.Key_Return)
    assert opened == ["tag-1998"] and page.count.text() == "11 of 20,000 tags"
    assert not page.filtering.pending


def test_a_few_rows_are_filtered_as_each_key_is_typed(qtbot: QtBot,
                                                     window: MainWindow) -> None:
    assert registry_pages.FILTER_AT_ONCE > 300
    model = window.registries.model
    names = [f"team/app-{n:03d}" for n in range(300)]
    index = model.add_registry(RegistrySettings(HOST),
                               FakeConnection(FakeClient(names)))  # type: ignore[arg-type]
    window.registries.tree.setCurrentIndex(index)
    page = window.registries.registry_page
    qtbot.waitUntil(lambda: model.rowCount(index) == 300 and window.runner.active == 0,
                    timeout=WAIT_MS)
    qtbot.keyClicks(page.filter, "app-2")
    assert not page.filtering.pending
    assert page.count.text() == "100 of 300 repositories"
