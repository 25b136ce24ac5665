"""A read model that cannot apply an event: what is recorded, and which errors count.

Why a record of its own: one event that a read model's handler cannot apply (a bug, or a
value its tables cannot hold, e.g. an integer beyond 64 bits) must stop *that* read model at
that event — its rows are then wrong from there on — and nothing else. Retrying is pointless
(handlers are deterministic functions of the events, so the same event fails the same way),
and hiding it is worse: the model's answers stop at that event while the service looks
healthy. So the runner marks the model's generation **failed** once, in the store, with the
event and the error; the follower skips it, ``/ready`` and ``ppl projections status`` report
it, and ``ppl projections rebuild NAME`` (after the fix) replaces it (docs/projections.md,
"Failure isolation and recovery").

What is *not* the event's fault: the database not answering. Those errors (``STORE_UNAVAILABLE``)
fail the round, which is retried from the unchanged positions, and never mark a model.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import psycopg
import psycopg_pool

from projections.feed import FeedEvent

ERROR_LIMIT = 500  # characters of "Type: message" kept; tracebacks go to the log, once

STORE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sqlite3.OperationalError,  # locked, I/O error, no such table (a generation dropped meanwhile)
    psycopg.OperationalError,  # connection lost, serialization failure, deadlock
    psycopg.InterfaceError,
    psycopg_pool.PoolTimeout,
)
"""Errors that say the store did not answer, not that an event cannot be applied."""


_SQLITE_SCHEMA_MISMATCH = ("has no column named", "no such column")
"""SQLite reports a table whose columns differ from the read model's (tables built by an
older release, before a rebuild) as an OperationalError too; that is no outage but a read
model that cannot apply its events: marked failed, so a rebuild is asked for, never retried
for ever. (PostgreSQL reports it as UndefinedColumn, a ProgrammingError, which is not here.)"""


def store_unavailable(error: BaseException) -> bool:
    if isinstance(error, sqlite3.OperationalError) and any(
        words in str(error) for words in _SQLITE_SCHEMA_MISMATCH
    ):
        return False
    return isinstance(error, STORE_UNAVAILABLE)


class EventFailedError(Exception):
    """A read model's handler raised while applying ``event`` (the handler's error is ``error``)."""

    def __init__(self, event: FeedEvent, error: Exception) -> None:
        super().__init__(f"event {event.notification_id}: {describe_error(error)}")
        self.event = event
        self.error = error


def describe_error(error: BaseException) -> str:
    """``Type: message`` on one line, at most ``ERROR_LIMIT`` characters.

    One line because a driver's message may carry CONTEXT/DETAIL lines quoting the row's values
    (confidential figures); bounded because it is stored and served.
    """
    if isinstance(error, EventFailedError):
        error = error.error
    lines = str(error).strip().splitlines()
    first = " ".join(lines[0].split()) if lines else ""
    text = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"


@dataclass(frozen=True, slots=True)
class ProjectionFailure:
    """A read model's generation stopped at an event it could not apply.

    Its position stays at the event before ``notification_id``; its rows are as they were then.
    """

    projection: str
    generation: int
    notification_id: int
    originator_id: str
    version: int
    topic: str
    error: str  # describe_error: "Type: message", bounded
    failed_at: str  # when it was marked (UTC, ISO 8601): operational, not part of any digest

    @classmethod
    def of(
        cls, projection: str, generation: int, event: FeedEvent, error: BaseException, at: str
    ) -> ProjectionFailure:
        return cls(
            projection, generation, event.notification_id, str(event.originator_id),
            event.version, event.topic, describe_error(error), at,
        )  # fmt: skip

    def describe(self) -> str:
        """One line naming the read model, the event and the error (logs, the CLI)."""
        return (
            f"read model {self.projection} failed at event {self.notification_id} "
            f"({self.topic}, aggregate {self.originator_id} version {self.version}): {self.error}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.projection,
            "generation": self.generation,
            "notification_id": self.notification_id,
            "originator_id": self.originator_id,
            "version": self.version,
            "topic": self.topic,
            "error": self.error,
            "failed_at": self.failed_at,
        }


class RebuildFailedError(Exception):
    """A rebuild could not apply an event to some read models; those were not switched on.

    ``switched`` names the generations that were switched on (the other models of the same
    rebuild); ``failures`` the models that stopped, each at its first event that failed.
    """

    def __init__(self, switched: dict[str, int], failures: list[ProjectionFailure]) -> None:
        super().__init__("; ".join(failure.describe() for failure in failures))
        self.switched = switched
        self.failures = failures
