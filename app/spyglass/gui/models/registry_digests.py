"""The look-ups of tags' digests in the registries tree (see
:mod:`spyglass.gui.models.registries`).

Digests are looked up only for the tag rows a view shows (a view asks
:meth:`~spyglass.gui.models.registries.RegistriesModel.data` for a digest or a tooltip),
a handful at a time (:data:`DIGEST_BATCH` tags per job, at most ``max_digest_jobs`` jobs
at once per registry: a registry that hangs holds up its own), the most recently shown
rows first. Stopping a registry's listing, removing it, or reloading, forgetting or
setting aside a repository ends the look-ups of its digests, wanted, waiting or under
way (:meth:`DigestLookups._stop_digests`): their jobs no longer count as the registry's,
and their tags are looked up again once a view shows them. The rows the answers change
are told to views together, at most every :data:`REPAINT_MS`, a signal per run of rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from PySide6.QtCore import QObject, QTimer

from spyglass.core.digest import Digest
from spyglass.gui.models.registry_rows import ALIASES, NAME, RegistryNode, RepositoryNode, TagNode
from spyglass.gui.models.registry_tree import RegistryTree
from spyglass.gui.registry_jobs import DigestAnswer, head_digests
from spyglass.gui.signals import emit
from spyglass.gui.workers import Job, Runner, registry_lane

DIGEST_BATCH: Final = 12
"""Tags one digest job looks up."""
MAX_DIGEST_JOBS: Final = 2
MAX_WANTED: Final = 240
"""Digest requests kept waiting; older ones (rows scrolled past) are dropped."""
DIGEST_DELAY_MS: Final = 40
"""Requests are gathered this long before jobs start (a repaint asks for many rows)."""
REPAINT_MS: Final = 100
"""Rows changed by digests (and signatures) that came meanwhile are told at most this
often (:meth:`DigestLookups._tags_changed`)."""


@dataclass(eq=False)
class _Lookup:
    """One digest job submitted and not answered yet: the tags it looks up, its job."""

    repo: RepositoryNode
    batch: list[TagNode]
    job: Job | None = None


class DigestLookups(RegistryTree):
    """The look-ups of tags' digests: see the module docstring."""

    def __init__(
        self, runner: Runner, parent: QObject | None = None, *,
        max_digest_jobs: int = MAX_DIGEST_JOBS,
    ) -> None:
        super().__init__(runner, parent)
        self._max_digest_jobs = max_digest_jobs
        self._wanted: dict[TagNode, None] = {}
        self._lookups: dict[str, list[_Lookup]] = {}
        """The digest jobs submitted and not answered, per registry host: how many a
        registry has under way is how many are here (a job stopped leaves at once)."""
        self._digest_timer = QTimer(self)
        self._digest_timer.setSingleShot(True)
        self._digest_timer.setInterval(DIGEST_DELAY_MS)
        self._digest_timer.timeout.connect(self._dispatch_digests)
        self._changed_tags: dict[RepositoryNode, set[TagNode] | None] = {}
        """The tags whose rows have changed, per repository, not said yet (None: all)."""
        self._repaint_timer = QTimer(self)
        self._repaint_timer.setSingleShot(True)
        self._repaint_timer.setInterval(REPAINT_MS)
        self._repaint_timer.timeout.connect(self._tell_changes)

    def _want(self, tag: TagNode) -> None:
        if (tag.digest is not None or tag.error is not None or tag.pending
                or self._max_digest_jobs <= 0 or tag.parent.parent.rate_limited):
            return
        self._wanted.pop(tag, None)
        self._wanted[tag] = None
        while len(self._wanted) > MAX_WANTED:
            del self._wanted[next(iter(self._wanted))]
        if not self._digest_timer.isActive():
            self._digest_timer.start()

    def _dispatch_digests(self) -> None:
        lookups = self._lookups
        while self._wanted:
            # the newest tag wanted of a registry that may have another job
            repo = next((t.parent for t in reversed(self._wanted)
                         if len(lookups.get(t.parent.parent.host, ())) < self._max_digest_jobs),
                        None)
            if repo is None:
                return
            batch: list[TagNode] = []
            for tag in reversed(list(self._wanted)):
                if tag.parent is repo:
                    batch.append(tag)
                    if len(batch) >= DIGEST_BATCH:
                        break
            for tag in batch:
                del self._wanted[tag]
            batch = [t for t in batch if self.alive(t) and t.digest is None]
            if not batch or repo.parent.rate_limited:
                continue
            self._submit_digests(repo, batch)

    def _submit_digests(self, repo: RepositoryNode, batch: list[TagNode]) -> None:
        for tag in batch:
            tag.pending = True
        names = [t.name for t in batch]
        connection, name, host = repo.parent.connection, repo.name, repo.parent.host
        lookup = _Lookup(repo, batch)
        self._lookups.setdefault(host, []).append(lookup)
        lookup.job = self._runner.submit(
            lambda cancel: head_digests(connection, name, names, cancel),
            on_done=lambda answers: self._digests_answered(lookup, answers),
            on_error=lambda message: self._digests_failed(lookup, message),
            what=f"looking up digests in {repo.parent.host}/{name}",
            lane=registry_lane(repo.parent.host),
        )

    def _digest_job_ended(self, lookup: _Lookup) -> bool:
        """Count ``lookup`` off its registry's jobs under way; False if it was already
        (stopped: :meth:`_stop_digests`)."""
        host = lookup.repo.parent.host
        lookups = self._lookups.get(host, [])
        if lookup not in lookups:
            return False
        lookups.remove(lookup)
        if not lookups:
            del self._lookups[host]
        return True

    def _stop_digests(self, registry: RegistryNode, repo: RepositoryNode | None = None) -> None:
        """Drop the digest look-ups of ``repo`` (of every repository of ``registry``
        without one): the tags wanted, and the jobs waiting for a thread or under way,
        whose requests are cancelled and which no longer count as the registry's jobs.
        Their tags are no longer pending: they are looked up again once a view shows
        them."""
        def ours(tag: TagNode) -> bool:
            return tag.parent is repo if repo is not None else tag.parent.parent is registry

        for tag in [t for t in self._wanted if ours(t)]:
            del self._wanted[tag]
        stopped = [lookup for lookup in self._lookups.get(registry.host, ())
                   if ours(lookup.batch[0])]
        for lookup in stopped:
            self._digest_job_ended(lookup)
            if lookup.job is not None:
                self._runner.cancel_job(lookup.job)
            for tag in lookup.batch:
                tag.pending = False
        if stopped and self._wanted and not self._digest_timer.isActive():
            self._digest_timer.start()  # the registry's other tags wanted may go now

    def _digests_answered(self, lookup: _Lookup, answers: list[DigestAnswer]) -> None:
        if not self._digest_job_ended(lookup):
            return
        repo, batch = lookup.repo, lookup.batch
        pairs = [(t, a) for t, a in zip(batch, answers, strict=True) if self.alive(t)]
        for tag, _answer in pairs:
            tag.pending = False
        if any(a.rate_limited for _t, a in pairs) and not repo.parent.rate_limited:
            repo.parent.rate_limited = True
            emit(self.message, f"The registry {repo.parent.host} is limiting requests; "
                 "Spyglass stops looking up digests there until it is reloaded.")
        self._apply_digests(repo, [(t, a) for t, a in pairs if not a.rate_limited])
        self._dispatch_digests()

    def _digests_failed(self, lookup: _Lookup, message: str) -> None:
        if not self._digest_job_ended(lookup):
            return
        repo, batch = lookup.repo, lookup.batch
        answers = [DigestAnswer(t.name, None, None, message) for t in batch]
        for tag in batch:
            tag.pending = False
        self._apply_digests(repo, [(t, a) for t, a in zip(batch, answers, strict=True)
                                   if self.alive(t)])
        self._dispatch_digests()

    def _apply_digests(self, repo: RepositoryNode,
                       pairs: Sequence[tuple[TagNode, DigestAnswer]]) -> None:
        if not pairs or not self.alive(repo):
            return
        touched: set[Digest] = set()
        changed: list[TagNode] = []
        for tag, answer in pairs:
            if tag.digest is not None and tag.digest != answer.digest:
                touched.add(tag.digest)
            if answer.digest is None:
                repo.point(tag, None, error=answer.error or "The registry did not say.")
            else:
                repo.point(tag, answer.digest, answer.media_type)
                touched.add(answer.digest)
            changed.append(tag)
        for digest in touched:  # (their aliases changed)
            changed.extend(repo.by_digest.get(digest, ()))
        # the last ones: no alias is "so far" now
        self._tags_changed(repo, None if repo.all_digests_known else changed)

    def _tags_changed(self, repo: RepositoryNode, tags: Iterable[TagNode] | None) -> None:
        """What ``tags`` of ``repo`` say has changed (None: every tag's): views are told
        with the other changes of the next :data:`REPAINT_MS`, a signal per run of rows
        (one signal from the first row changed to the last had every row between repainted,
        at each digest job's answer)."""
        held = self._changed_tags.get(repo, set())
        if held is not None:
            if tags is None:
                self._changed_tags[repo] = None
            else:
                held.update(tags)
                self._changed_tags[repo] = held
        if not self._repaint_timer.isActive():
            self._repaint_timer.start()

    def _tell_changes(self) -> None:
        changed, self._changed_tags = self._changed_tags, {}
        for repo, tags in changed.items():
            if not self.alive(repo):
                continue
            if tags is None:
                runs = [(0, len(repo.children) - 1)] if repo.children else []
            else:
                runs = _runs(sorted(r for r in map(repo.row_of, tags) if r >= 0))
            for first, last in runs:
                emit(self.dataChanged, self.createIndex(first, NAME, repo.id),
                     self.createIndex(last, ALIASES, repo.id))
            emit(self.digestsArrived, repo.parent.host, repo.name)


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """The runs of consecutive numbers in ``rows`` (sorted), as (first, last)."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and row <= runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], max(row, runs[-1][1]))
        else:
            runs.append((row, row))
    return runs
