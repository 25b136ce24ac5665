"""A request's Idempotency-Key record, written in the same transaction as its command's events.

Why in the same transaction: a record written on its own, before or after the save, costs a
commit of its own on every POST (a third of the database work of a filing, measured in
docs/benchmarks.md "API"), and a process that dies between the save and the record leaves the
key "in progress" for ever. Written with the events, the record is there exactly when they are:
a retry finds the first response even after a crash, and the key costs no round trip.

How, without the domain knowing: eventsourcing hands every save to its recorder's
``insert_events``, inside one database transaction (the same hook carries a process
application's tracking record). The request arms a ``PendingReceipt`` in a context variable
before its command runs; the recorders below add the receipt's row to the first save that runs
in that context, and the transaction commits both or neither. A key another request already
holds makes that save fail as a whole (the row's primary key), so a retry never writes twice.
Threads that run no request (the sequencer, the projection follower) see no receipt.

The row carries the response when the request can say it at save time: a command on one record
whose response follows from that record's version (``Answer``). Otherwise the row is the claim
(no response yet) and api.writes records the response once the command returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from eventsourcing.utils import get_topic
from psycopg import Cursor, sql
from psycopg.rows import DictRow

from api.idempotency import INSERT_RECORD, RECORD_COLUMNS, Outcome, record_row
from audit.signing_mapper import as_uuid

_PENDING: ContextVar[PendingReceipt | None] = ContextVar("ppl_pending_receipt", default=None)


class Answer(Protocol):
    """How the response follows from the version of one record after the command.

    ``api.writes.OnRecord`` is one: the receipt renders the command's own response.
    """

    @property
    def record_id(self) -> UUID: ...

    @property
    def respond(self) -> Callable[[int], Outcome]: ...


@dataclass(slots=True)
class PendingReceipt:
    """The Idempotency-Key record of one request, until its command's first save writes it."""

    principal: str
    key: str
    request_hash: str
    created_at: str
    answer: Answer | None = None
    attempted: bool = False  # a save tried to write the row (it may have failed on the key)
    written: bool = False  # the row is stored, with the events of that save
    outcome: Outcome | None = None  # the response stored in the row, if it had one
    _rendered: Outcome | None = None  # the response in the row being saved

    def row(self, stored_events: Sequence[StoredEvent]) -> tuple[Any, ...]:
        """The row for a save of ``stored_events``: with the response if it follows from them."""
        self.attempted = True
        self._rendered = None
        if self.answer is not None:
            wanted = self.answer.record_id
            versions = [e.originator_version for e in stored_events
                        if as_uuid(e.originator_id) == wanted]  # fmt: skip
            if versions:
                self._rendered = self.answer.respond(max(versions))
        return record_row(self.principal, self.key, self.request_hash, self._rendered,
                          self.created_at)  # fmt: skip

    def saved(self) -> None:
        """The save that carried ``row()`` committed: the record (and its response) is stored."""
        self.written = True
        self.outcome = self._rendered


@contextmanager
def pending(receipt: PendingReceipt) -> Iterator[PendingReceipt]:
    """Arm ``receipt`` for the saves that run in this context until the block ends."""
    token = _PENDING.set(receipt)
    try:
        yield receipt
    finally:
        _PENDING.reset(token)


def _unwritten() -> PendingReceipt | None:
    receipt = _PENDING.get()
    return None if receipt is None or receipt.written else receipt


def _with_receipt(
    insert: Callable[..., Sequence[int] | None],
    stored_events: Sequence[StoredEvent],
    kwargs: dict[str, Any],
) -> Sequence[int] | None:
    """``insert`` (a recorder's ``insert_events``) with the pending receipt's row, if any."""
    receipt = _unwritten()
    if receipt is None or not stored_events:
        return insert(stored_events, **kwargs)
    ids = insert(stored_events, receipt=receipt.row(stored_events), **kwargs)
    receipt.saved()
    return ids


class PostgresReceiptRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL recorder, adding a pending receipt's row to the save."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return _with_receipt(super().insert_events, stored_events, kwargs)

    @cached_property
    def _insert_receipt(self) -> sql.Composed:
        return sql.SQL("INSERT INTO {}.ppl_api_idempotency ({}) VALUES ({})").format(
            sql.Identifier(self.datastore.schema),
            sql.SQL(RECORD_COLUMNS),
            sql.SQL(", ").join(sql.Placeholder() * len(RECORD_COLUMNS.split(","))),
        )

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        row = kwargs.get("receipt")
        if row is not None:  # pipelined with the events' statements: no round trip of its own
            curs.execute(self._insert_receipt, row)
        super()._insert_events(curs, stored_events, **kwargs)


class SqliteReceiptRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite recorder, adding a pending receipt's row to the save."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return _with_receipt(super().insert_events, stored_events, kwargs)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        row = kwargs.get("receipt")
        if row is not None:
            c.execute(INSERT_RECORD, row)
        return super()._insert_events(c, stored_events, **kwargs)


def recorder_topic(persistence_module: str) -> str | None:
    """eventsourcing's ``APPLICATION_RECORDER_TOPIC`` for a store (None: its default)."""
    recorders = {
        "eventsourcing.postgres": PostgresReceiptRecorder,
        "eventsourcing.sqlite": SqliteReceiptRecorder,
    }
    recorder = recorders.get(persistence_module)
    return None if recorder is None else get_topic(recorder)
