"""Applying events to read models exactly once: catch up, follow, rebuild.

Why one runner for every model: the rules of exactly-once live here, once. A model's rows and
its position move together (``ProjectionStore.commit``), so after a crash the events of the
lost batch are applied again from the unchanged position, and never twice. Each model keeps
a cache of the rows it has written (projections.rows); a failed compare-and-set (another runner
moved first, or a rebuild switched generations) drops the cache, which is then reloaded.

* ``catch_up`` — apply every new event to the active generation of each model (creating and
  activating an empty generation for a model never built). Used by the follower and by
  ``ppl projections follow``.
* ``rebuild`` — build new generations from the first event through a
  ``CheckpointVerifiedFeed``, write them once at the end (one ``COPY`` per table on PostgreSQL;
  ``flush_every`` writes in slices instead), and switch over only when complete and the
  checkpoint root matched. The served generation answers meanwhile.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from projections.feed import CheckpointVerifiedFeed, EventFeed, FeedEvent
from projections.model import ReadModel
from projections.rows import Rows
from projections.schema import Key, Row, Table
from projections.store import Commit, Position, PositionMovedError, ProjectionStore

logger = logging.getLogger(__name__)

BATCH = 500
CACHE_LIMIT = 200_000  # rows a follower keeps between batches before it forgets them
Progress = Callable[[int], None]


@dataclass
class _Applying:
    """One model's generation, the position it has committed, and its row cache."""

    model: ReadModel
    position: Position
    rows: Rows
    pending: int = 0  # events applied since the last commit
    last_id: int = 0  # notification id of the last event applied

    @property
    def applied_upto(self) -> int:
        return max(self.last_id, self.position.notification_id)

    def apply(self, events: Iterable[FeedEvent]) -> None:
        for event in events:
            if event.notification_id <= self.applied_upto:
                continue  # already applied by this generation
            self.model.apply(event, self.rows)
            self.pending += 1
            self.last_id = event.notification_id

    def prepared(self) -> Commit:
        """What committing the events applied since the last commit writes."""
        new = Position(self.position.generation, self.last_id, self.position.events + self.pending)
        return Commit(self.model.name, self.position, new, self.rows.changes())

    def committed(self, commit: Commit) -> None:
        self.rows.flushed()
        self.position, self.pending = commit.new_position, 0

    def reload(self, store: ProjectionStore) -> None:
        """Forget what was applied but not committed (and the cache); re-read the position."""
        self.rows.discard()
        self.position = store.position(self.model.name, self.position.generation)
        self.pending, self.last_id = 0, 0

    def commit(self, store: ProjectionStore) -> None:
        """Write the rows and the position; on a lost race, forget the batch and re-read."""
        if self.pending == 0:
            return
        commit = self.prepared()
        try:
            store.commit(commit.projection, commit.expected, commit.new_position, commit.changes)
        except PositionMovedError:
            logger.info("projection %s: another runner moved first; reloading", self.model.name)
            self.reload(store)
            raise
        self.committed(commit)


def _loader(
    store: ProjectionStore, name: str, generation: int
) -> Callable[[Table, Key], Row | None]:
    return lambda table, key: store.load(name, generation, table, key)


class ProjectionRunner:
    """Keeps a set of read models up to date with the ledger, exactly once."""

    def __init__(
        self,
        store: ProjectionStore,
        models: Sequence[ReadModel],
        feed: EventFeed,
        *,
        batch: int = BATCH,
        cache_limit: int = CACHE_LIMIT,
    ) -> None:
        self.store = store
        self.models = list(models)
        self.feed = feed
        self.batch = batch
        self.cache_limit = cache_limit
        self._states: dict[str, _Applying] = {}

    # --- following --------------------------------------------------------------------------
    def _state(self, model: ReadModel, generation: int | None) -> _Applying:
        """The model at its active generation ``generation`` (created empty if None)."""
        if generation is None:
            generation = self.store.create_generation(model.name, model.tables)
            self.store.activate(model.name, generation, Position(generation, 0, 0))
        state = self._states.get(model.name)
        if state is None or state.position.generation != generation:
            position = self.store.position(model.name, generation)
            rows = Rows(
                model.table_map,
                _loader(self.store, model.name, generation),
                complete=position.notification_id == 0,
            )
            state = _Applying(model, position, rows)
            self._states[model.name] = state
        return state

    def catch_up(self, *, limit: int | None = None) -> int:
        """Apply every event not yet applied; returns how many events were read."""
        read = 0
        while limit is None or read < limit:
            states = self._states_now()
            after = min(state.position.notification_id for state in states)
            events = self.feed.read(after, self.batch)
            if not events:
                return read
            read += len(events)
            self._apply_and_commit(states, events)
        return read

    def _states_now(self) -> list[_Applying]:
        generations = self.store.active_generations()
        return [self._state(model, generations.get(model.name)) for model in self.models]

    def _apply_and_commit(self, states: Sequence[_Applying], events: Sequence[FeedEvent]) -> None:
        """Apply ``events`` to every model, then commit them all in one transaction.

        A model whose handler fails is left out (and reloaded: it retries from its stored
        position next round) so that one broken read model does not hold the others back; the
        first such error is raised once the others have committed. A lost race
        (PositionMovedError: another runner, or a rebuild switching generations) rolls the
        whole transaction back; every model then reloads and re-reads from its position.
        """
        failure: Exception | None = None
        ready: list[_Applying] = []
        for state in states:
            try:
                state.apply(events)
            except Exception as error:
                logger.exception("projection %s: applying failed", state.model.name)
                state.reload(self.store)
                failure = failure or error
                continue
            if state.pending:
                ready.append(state)
        commits = [state.prepared() for state in ready]
        try:
            self.store.commit_together(commits)
        except PositionMovedError:
            logger.info("projections: another runner moved first; reloading")
            for state in ready:
                state.reload(self.store)
        else:
            for state, commit in zip(ready, commits, strict=True):
                state.committed(commit)
                if state.rows.size() > self.cache_limit:
                    state.rows.discard()
        if failure is not None:
            raise failure

    def positions(self) -> dict[str, Position]:
        states = self._states_now()
        return {state.model.name: self.store.position(state.model.name, state.position.generation)
                for state in states}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RebuildResult:
    generations: dict[str, int]
    events: int
    checkpoint_size: int  # events trusted through the signed checkpoint's root
    signature_checked: int  # events after it, each checked by its signature


def rebuild(
    store: ProjectionStore,
    models: Sequence[ReadModel],
    feed: CheckpointVerifiedFeed,
    *,
    batch: int = 2000,
    flush_every: int | None = None,
    progress: Progress | None = None,
) -> RebuildResult:
    """Build fresh generations of ``models`` from the first event, then switch over.

    If anything fails (an integrity error, a crash), the new generations are never activated:
    the served ones stay as they were, and the next rebuild drops the abandoned tables.

    Rows are written once, at the end, by default: a rebuild holds every row in its cache anyway
    (its tables start empty, so nothing is ever loaded back), and one bulk write into empty
    tables is cheaper than slices that turn later writes into upserts (docs/benchmarks.md).
    ``flush_every`` bounds the rows pending in one transaction instead.
    """
    states: list[_Applying] = []
    for model in models:
        _drop_abandoned(store, model)
        generation = store.create_generation(model.name, model.tables)
        rows = Rows(model.table_map, _loader(store, model.name, generation), complete=True)
        states.append(_Applying(model, Position(generation, 0, 0), rows))
    # The cyclic garbage collector would otherwise rescan the ever-growing row cache, which
    # holds no reference cycles, many times over (10-23 µs per event, docs/benchmarks.md).
    collecting = gc.isenabled()
    gc.disable()
    try:
        total = _replay_into(states, store, feed, batch, flush_every, progress)
    finally:
        if collecting:
            gc.enable()
    feed.finish()  # every event under the checkpoint read and its root matched
    for state in states:
        state.commit(store)
        store.activate(state.model.name, state.position.generation, state.position)
    return RebuildResult(
        {s.model.name: s.position.generation for s in states},
        total,
        feed.covered,
        total - feed.covered,
    )


def _replay_into(
    states: Sequence[_Applying],
    store: ProjectionStore,
    feed: CheckpointVerifiedFeed,
    batch: int,
    flush_every: int | None,
    progress: Progress | None,
) -> int:
    after, since_flush, total = 0, 0, 0
    while events := feed.read(after, batch):
        for state in states:
            state.apply(events)
        after = events[-1].notification_id
        total += len(events)
        since_flush += len(events)
        if flush_every is not None and since_flush >= flush_every:
            for state in states:
                state.commit(store)
            since_flush = 0
        if progress is not None:
            progress(total)
    return total


def _drop_abandoned(store: ProjectionStore, model: ReadModel) -> None:
    """Drop generations newer than the active one: rebuilds that never switched over."""
    active = store.active_generation(model.name) or 0
    for generation in store.generations(model.name):
        if generation > active:
            store.drop_generation(model.name, generation, [t.name for t in model.tables])
