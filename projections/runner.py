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

Failure isolation (projections.failures): a model that cannot apply an event — its handler
raises, or its rows cannot be stored — is committed up to the event before, marked failed at
that event, logged once, and no longer followed; every other model goes on. A rebuild that
meets such an event switches the other models over and raises ``RebuildFailedError`` naming it.
The store not answering is never a model's failure: the round fails and is retried.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from projections.applying import Applying, advance_until_failure
from projections.failures import (
    STORE_UNAVAILABLE,
    EventFailedError,
    ProjectionFailure,
    RebuildFailedError,
    store_unavailable,
)
from projections.feed import CheckpointVerifiedFeed, EventFeed, FeedEvent
from projections.model import ReadModel, stamp
from projections.rows import Rows
from projections.schema import Key, Row, Table
from projections.store import Position, PositionMovedError, ProjectionStore

logger = logging.getLogger(__name__)

BATCH = 500
CACHE_BYTES = 8 * 2**20
"""About how much memory of rows each read model of a follower keeps between batches; past
it, the oldest are forgotten (``Rows.trim``) and loaded again when an event needs them. A
bound on the rows' size, not their number: issue #14 measured 8.5 KB per filing under a
200,000-row bound, with no plateau."""
Progress = Callable[[int], None]
WRITERS = 2
"""Read models a rebuild writes out at once (one thread and connection each): the machines
measured have two cores, one for Python, one for the database (docs/benchmarks.md)."""


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
        cache_bytes: int = CACHE_BYTES,
    ) -> None:
        self.store = store
        self.models = list(models)
        self.feed = feed
        self.batch = batch
        self.cache_bytes = cache_bytes
        self._states: dict[str, Applying] = {}

    # --- following --------------------------------------------------------------------------
    def _state(self, model: ReadModel, generation: int | None) -> Applying:
        """The model at its active generation ``generation`` (created empty if None)."""
        fresh = generation is None
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
            failure = None if fresh else self.store.failure(model.name, generation)
            state = Applying(model, position, rows, failure=failure)
            self._states[model.name] = state
        return state

    def catch_up(self, *, limit: int | None = None) -> int:
        """Apply every event not yet applied; returns how many events were read.

        Read models marked failed are left where they stopped (``failures``).
        """
        read = 0
        while limit is None or read < limit:
            states = [state for state in self._states_now() if state.failure is None]
            if not states:
                return read
            after = min(state.position.notification_id for state in states)
            events = self.feed.read(after, self.batch)
            if not events:
                return read
            read += len(events)
            self._apply_and_commit(states, events)
        return read

    def _states_now(self) -> list[Applying]:
        generations = self.store.active_generations()
        return [self._state(model, generations.get(model.name)) for model in self.models]

    def _apply_and_commit(self, states: Sequence[Applying], events: Sequence[FeedEvent]) -> None:
        """Apply ``events`` to every model, then commit them all in one transaction.

        A model that cannot apply an event (its handler raises), or whose rows the store
        refuses (the round's transaction then rolls back), is taken out of the round and moved
        on alone up to that event, then marked failed there (``_isolate``); the others commit.
        The store not answering fails the round, once the others have committed.
        """
        outage: Exception | None = None
        ready: list[Applying] = []
        suspects: list[Applying] = []
        for state in states:
            try:
                state.apply(events)
            except EventFailedError:
                suspects.append(state)
                continue
            except STORE_UNAVAILABLE as error:  # loading a row
                logger.warning("projection %s: store unavailable: %s", state.model.name, error)
                state.forget()
                outage = outage or error
                continue
            if state.pending:
                ready.append(state)
        suspects.extend(self._commit_round(ready))
        for state in suspects:
            self._isolate(state, events)
        if outage is not None:
            raise outage

    def _commit_round(self, ready: Sequence[Applying]) -> Sequence[Applying]:
        """Commit every model of the round in one transaction; the models to isolate if the
        store refused some row (none were written then).

        A lost race (PositionMovedError: another runner, or a rebuild switching generations)
        rolls the whole transaction back; every model then reloads and re-reads from its
        position.
        """
        commits = [state.prepared() for state in ready]
        try:
            self.store.commit_together(commits)
        except PositionMovedError:
            logger.info("projections: another runner moved first; reloading")
            for state in ready:
                state.reload(self.store)
        except Exception as error:
            if store_unavailable(error):
                raise
            # Some model's rows cannot be stored (say an integer beyond 64 bits) and the round
            # rolled back: each model goes on alone, and the one that cannot is found.
            return ready
        else:
            for state, commit in zip(ready, commits, strict=True):
                state.committed(commit)
                state.rows.trim(self.cache_bytes)
        return ()

    def _isolate(self, state: Applying, events: Sequence[FeedEvent]) -> None:
        """Move one model on alone through ``events``; mark it failed at the first it cannot
        apply or store (logged once, with the traceback)."""
        try:
            found = advance_until_failure(self.store, state, events)
            if found is None:  # every event went in alone: nothing to mark
                return
            event, error = found
            failure = self.store.mark_failed(_failure(state, event, error), state.position)
        except PositionMovedError:
            logger.info("projection %s: another runner moved first; reloading", state.model.name)
            return
        state.failure = failure
        logger.error(
            "%s. Its rows stay as of event %d; the other read models go on. Fix the cause, then "
            "run `ppl projections rebuild %s`",
            failure.describe(), state.position.notification_id, state.model.name,
            exc_info=error,
        )  # fmt: skip

    def positions(self) -> dict[str, Position]:
        states = self._states_now()
        return {state.model.name: self.store.position(state.model.name, state.position.generation)
                for state in states}  # fmt: skip

    def failures(self) -> dict[str, ProjectionFailure]:
        """The models this runner follows that are marked failed (as the store says now)."""
        names = {model.name for model in self.models}
        return {name: f for name, f in self.store.failures().items() if name in names}


def _failure(state: Applying, event: FeedEvent, error: Exception) -> ProjectionFailure:
    at = stamp(datetime.now(UTC))
    return ProjectionFailure.of(state.model.name, state.position.generation, event, error, at)


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

    A model that cannot apply or store some event is not switched over (its new tables are
    dropped; the served generation, and its failure mark if any, stay); the others are.

    Raises:
        RebuildFailedError: some models stopped at an event; names each event and error.
    """
    # Each model's new tables are made in a transaction of its own that waits mostly on the
    # database (DDL, a WAL flush): two at a time, as the writes at the end.
    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="ppl-rebuild-ddl") as pool:
        made = [pool.submit(_fresh_generation, store, model) for model in models]
        generations = [creating.result() for creating in made]
    states: list[Applying] = []
    for model, generation in zip(models, generations, strict=True):
        rows = Rows(model.table_map, _loader(store, model.name, generation), complete=True)
        states.append(Applying(model, Position(generation, 0, 0), rows))
    # The cyclic garbage collector would otherwise rescan the ever-growing row cache, which
    # holds no reference cycles, many times over (10-23 µs per event, docs/benchmarks.md).
    collecting = gc.isenabled()
    gc.disable()
    try:
        replay = _Replay(store, feed, batch)
        total = replay.run(states, flush_every, progress)
    finally:
        if collecting:
            gc.enable()
    built = [state for state in states if state.failure is None]
    if built:
        feed.finish()  # every event under the checkpoint read and its root matched
    # Two models are written at a time, each then analysed (planned on real figures from the
    # first read, ProjectionStore.analyze), on connections of their own: while one thread
    # encodes rows, the database takes the other's COPY or ANALYZE on the other core. Every
    # write has finished, or raised here in model order, before anything is switched over.
    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="ppl-rebuild-write") as pool:
        writes = [pool.submit(_write_out, replay, state) for state in built]
        for write in writes:
            write.result()
    switched: dict[str, int] = {}
    for state in states:
        if state.failure is None:
            store.activate(state.model.name, state.position.generation, state.position)
            switched[state.model.name] = state.position.generation
        else:
            names = [table.name for table in state.model.tables]
            store.drop_generation(state.model.name, state.position.generation, names)
    failures = [state.failure for state in states if state.failure is not None]
    if failures:
        raise RebuildFailedError(switched, failures)
    return RebuildResult(switched, total, feed.covered, total - feed.covered)


def _fresh_generation(store: ProjectionStore, model: ReadModel) -> int:
    """Drop ``model``'s abandoned generations, then create an empty one (not active yet)."""
    _drop_abandoned(store, model)
    return store.create_generation(model.name, model.tables)


def _write_out(replay: _Replay, state: Applying) -> None:
    """Commit one rebuilt model's rows, then gather its tables' statistics."""
    replay.commit(state)
    tables = [table.name for table in state.model.tables]
    replay.store.analyze(state.model.name, state.position.generation, tables)


class _Replay:
    """A rebuild's pass over the log, and how it finds the event a model cannot take."""

    def __init__(self, store: ProjectionStore, feed: CheckpointVerifiedFeed, batch: int) -> None:
        self.store = store
        self.feed = feed
        self.batch = batch
        self.after = 0  # the last event read

    def run(
        self, states: Sequence[Applying], flush_every: int | None, progress: Progress | None
    ) -> int:
        since_flush, total = 0, 0
        live = list(states)
        while live and (events := self.feed.read(self.after, self.batch)):
            for state in list(live):
                try:
                    state.apply(events)
                except EventFailedError as error:
                    state.failure = _failure(state, error.event, error)
                    live.remove(state)
            self.after = events[-1].notification_id
            total += len(events)
            since_flush += len(events)
            if flush_every is not None and since_flush >= flush_every:
                for state in list(live):
                    if not self.commit(state):
                        live.remove(state)
                since_flush = 0
            if progress is not None:
                progress(total)
        return total

    def commit(self, state: Applying) -> bool:
        """Commit what ``state`` applied; False (and ``state.failure`` set) if the store refused
        its rows, at the first event whose rows it refuses."""
        try:
            state.commit(self.store)
        except PositionMovedError:
            raise
        except Exception as error:
            if store_unavailable(error):
                raise
            found = self._locate(state)
            if found is not None:
                state.failure = _failure(state, *found)
                return False
        return True

    def _locate(self, state: Applying) -> tuple[FeedEvent, Exception] | None:
        """Re-read the events since ``state``'s committed position (each by its signature)
        and commit them as far as they go, up to the last event the replay read."""
        rewound = self.feed.rewound()
        while state.position.notification_id < self.after:
            events = [
                event
                for event in rewound.read(state.position.notification_id, self.batch)
                if event.notification_id <= self.after
            ]
            if not events:
                return None
            found = advance_until_failure(self.store, state, events)
            if found is not None:
                return found
        return None


def _drop_abandoned(store: ProjectionStore, model: ReadModel) -> None:
    """Drop generations newer than the active one: rebuilds that never switched over."""
    active = store.active_generation(model.name) or 0
    for generation in store.generations(model.name):
        if generation > active:
            store.drop_generation(model.name, generation, [t.name for t in model.tables])
