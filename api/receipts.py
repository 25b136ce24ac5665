"""A request's Idempotency-Key record, written in the same transaction as its command's events.

Why in the same transaction: a record written on its own, before or after the save, costs a
commit of its own on every POST (a third of the database work of a filing, measured in
docs/benchmarks.md "API"), and a process that dies between the save and the record leaves the
key "in progress" for ever. Written with the events, the record is there exactly when they are:
a retry finds the first response even after a crash, and the key costs no round trip.

How: eventsourcing forwards ``save``'s keyword arguments to its recorder's ``insert_events``,
which runs inside one database transaction (the same hook carries a process application's
tracking record). api.writes hands the request's ``PendingReceipt`` to the command, the
command to every ``save`` it makes (``save(..., receipt=receipt)``, domain.application.Receipt),
and the recorders below add the receipt's row to the first of those saves that stores events:
the transaction commits both or neither. A key another request already holds makes that save
fail as a whole (the row's primary key), so a retry never writes twice. Nothing travels by
context: a save without ``receipt`` (the sequencer, the projection follower, a CLI command)
writes no row.

The row says how to answer without rendering anything inside the transaction: for a command on
one record whose response follows from that record's version (``answer_id``), the version the
save leaves it at; api.writes renders the response from it after the commit (and so does every
retry). Otherwise the row is the claim (no response yet) and api.writes records the response
once the command returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from eventsourcing.utils import get_topic
from psycopg import Cursor, sql
from psycopg.rows import DictRow

from api.idempotency import INSERT_RECORD, RECORD_COLUMNS, Answered, record_row
from audit.signing.signing_mapper import as_uuid


@dataclass(slots=True)
class PendingReceipt:
    """The Idempotency-Key record of one request, until its command's first save writes it."""

    principal: str
    key: str
    request_hash: str
    created_at: str
    answer_id: UUID | None = None  # the record whose version after the command answers it
    attempted: bool = False  # a save tried to write the row (it may have failed on the key)
    written: bool = False  # the row is stored, with the events of that save
    answer: Answered | None = None  # the answer stored in the row, if it had one
    _saving: Answered | None = None  # the answer in the row being saved
    position: int | None = None  # notification id of the last event its saves stored

    def stored(self, notification_ids: Sequence[int] | None) -> None:
        """A save carrying this receipt committed these events (PPL-Position of the answer,
        api.read_routing: a client reads its own write from a replica that has reached it)."""
        if notification_ids:
            self.position = max(self.position or 0, *notification_ids)

    def row(self, stored_events: Sequence[StoredEvent]) -> tuple[Any, ...]:
        """The row for a save of ``stored_events``: with the answering record's version if
        the save changes that record, else the claim."""
        self.attempted = True
        self._saving = None
        if self.answer_id is not None:
            versions = [e.originator_version for e in stored_events
                        if as_uuid(e.originator_id) == self.answer_id]  # fmt: skip
            if versions:
                self._saving = Answered(self.answer_id, max(versions))
        return record_row(self.principal, self.key, self.request_hash, None, self.created_at,
                          self._saving)  # fmt: skip

    def saved(self) -> None:
        """The save that carried ``row()`` committed: the record (and its answer) is stored."""
        self.written = True
        self.answer = self._saving


def _with_receipt(
    insert: Callable[..., Sequence[int] | None],
    stored_events: Sequence[StoredEvent],
    kwargs: dict[str, Any],
) -> Sequence[int] | None:
    """``insert`` (a recorder's ``insert_events``) with the row of the save's receipt, if any
    and not written yet."""
    receipt = kwargs.pop("receipt", None)
    if not isinstance(receipt, PendingReceipt):
        return insert(stored_events, **kwargs)
    if receipt.written or not stored_events:
        ids = insert(stored_events, **kwargs)
    else:
        ids = insert(stored_events, receipt_row=receipt.row(stored_events), **kwargs)
        receipt.saved()
    receipt.stored(ids)
    return ids


RETRY_WAITS = (0.05, 0.2)
"""Seconds between the tries of a PostgreSQL call that failed to reach the database: three
tries within about half a second (each waits at most 0.1 s for a pooled connection,
api.bootstrap.EVENT_POOL_WAIT_SECONDS), where eventsourcing's own decorator makes ten, 0.2 s
apart: 2.6-2.8 s before a refused connection became a 503 (issue #14)."""


def _briefly(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` without eventsourcing's ``retry`` decorator, retried ``RETRY_WAITS`` instead.

    One retry is worth keeping: after a database restart, the first use of a pooled
    connection fails and the pool replaces it.
    """
    inner: Callable[..., Any] = method.__wrapped__  # type: ignore[attr-defined]

    def call(*args: Any, **kwargs: Any) -> Any:
        for wait in RETRY_WAITS:
            try:
                return inner(*args, **kwargs)
            except (InterfaceError, OperationalError):
                time.sleep(wait)
        return inner(*args, **kwargs)

    return call


class PostgresReceiptRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL recorder, adding a pending receipt's row to the save, with
    short retries (``RETRY_WAITS``) so an outage is a quick 503."""

    _insert_briefly = _briefly(PostgresApplicationRecorder.insert_events)
    select_events = _briefly(PostgresApplicationRecorder.select_events)
    select_notifications = _briefly(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _briefly(PostgresApplicationRecorder.max_notification_id)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        def insert(events: Sequence[StoredEvent], **options: Any) -> Sequence[int] | None:
            found: Sequence[int] | None = self._insert_briefly(events, **options)
            return found

        return _with_receipt(insert, stored_events, kwargs)

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
        row = kwargs.get("receipt_row")
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
        row = kwargs.get("receipt_row")
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
