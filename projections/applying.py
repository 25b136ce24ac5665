"""One read model's generation as a runner moves it: its position, its row cache, its failure.

Why a module of its own: the runner (projections.runner) decides which events go to which
models and commits a round's models together; this is what happens to one model — apply
events to its rows, commit them with its position, forget what was not committed — and, when
the model cannot apply or store some event, which event that is (``advance_until_failure``),
with every event before it committed, so the failure mark names it and the position stands
just before it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from projections.failures import (
    STORE_UNAVAILABLE,
    EventFailedError,
    ProjectionFailure,
    store_unavailable,
)
from projections.feed import FeedEvent
from projections.model import ReadModel
from projections.rows import Rows
from projections.store import Commit, Position, PositionMovedError, ProjectionStore

logger = logging.getLogger("projections.runner")


@dataclass
class Applying:
    """One model's generation, the position it has committed, and its row cache."""

    model: ReadModel
    position: Position
    rows: Rows
    pending: int = 0  # events applied since the last commit
    last_id: int = 0  # notification id of the last event applied
    failure: ProjectionFailure | None = None  # marked failed: no longer followed

    @property
    def applied_upto(self) -> int:
        return max(self.last_id, self.position.notification_id)

    def apply(self, events: Iterable[FeedEvent]) -> None:
        """Apply the events not applied yet, in order.

        Raises:
            EventFailedError: a handler raised on an event (the rows may hold part of it:
                ``reload`` before using them again).
            STORE_UNAVAILABLE: loading a row failed; the store did not answer.
        """
        # The loop runs for every event and model (most events have no handler in a model), so
        # it keeps its state in locals: ``upto`` is ``applied_upto``, which becomes the id of
        # each event applied (only an event past it is applied); stored back even on a raise.
        apply, rows, upto = self.model.apply, self.rows, self.applied_upto
        last_id, applied = self.last_id, 0
        try:
            for event in events:
                notification_id = event.notification_id
                if notification_id <= upto:
                    continue  # already applied by this generation
                try:
                    apply(event, rows)
                except STORE_UNAVAILABLE:
                    raise
                except Exception as error:
                    raise EventFailedError(event, error) from error
                applied += 1
                last_id = upto = notification_id
        finally:
            self.pending += applied
            self.last_id = last_id

    def prepared(self) -> Commit:
        """What committing the events applied since the last commit writes."""
        new = Position(self.position.generation, self.last_id, self.position.events + self.pending)
        return Commit(self.model.name, self.position, new, self.rows.changes())

    def committed(self, commit: Commit) -> None:
        self.rows.flushed()
        self.position, self.pending = commit.new_position, 0

    def forget(self) -> None:
        """Forget what was applied but not committed, and the cache (no database needed)."""
        self.rows.discard()
        self.pending, self.last_id = 0, 0

    def reload(self, store: ProjectionStore) -> None:
        """``forget``, then re-read the position."""
        self.forget()
        self.position = store.position(self.model.name, self.position.generation)
        if self.position.notification_id == 0 and self.position.events == 0:
            self.rows.complete = True  # nothing was ever committed: its tables are empty

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


def advance_until_failure(
    store: ProjectionStore, state: Applying, events: Sequence[FeedEvent]
) -> tuple[FeedEvent, Exception] | None:
    """Apply and commit ``events`` as far as they go: the first event the model cannot apply
    or store, and the error (None when every event went in).

    Starts from the committed position (what was applied but not committed is forgotten).
    Each try applies a run of events and commits it in one transaction; a failed try is rolled
    back and the run shortened — to the events before the failing one when a handler named it,
    else (the write failed: which event made a row the store cannot hold is unknown) to half —
    so finding the event takes O(log n) transactions, and every event before it is committed.

    Raises:
        PositionMovedError: another runner moved the model first (the state is reloaded).
        STORE_UNAVAILABLE: the store did not answer (nothing is marked; retry later).
    """
    state.reload(store)
    todo = [event for event in events if event.notification_id > state.applied_upto]
    while todo:
        size = len(todo)
        while (error := _try(store, state, todo[:size])) is not None:
            index = _failing_index(todo, error)
            if size == 1 or index == 0:
                return todo[0], error  # from the committed state, the first event fails
            size = index if index is not None else size // 2
        todo = todo[size:]
    return None


def _try(store: ProjectionStore, state: Applying, run: Sequence[FeedEvent]) -> Exception | None:
    """Apply ``run`` and commit it: None, or the error (the state then reloaded)."""
    try:
        state.apply(run)
        state.commit(store)
    except PositionMovedError:
        raise
    except Exception as error:
        if store_unavailable(error):
            state.forget()
            raise
        state.reload(store)
        return error
    return None


def _failing_index(run: Sequence[FeedEvent], error: Exception) -> int | None:
    """Where in ``run`` the event a handler failed on is (None for a failed write)."""
    if not isinstance(error, EventFailedError):
        return None
    failed = error.event.notification_id
    return next((i for i, event in enumerate(run) if event.notification_id == failed), None)
