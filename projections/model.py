"""What a read model is: a name, its tables, and a handler per domain event class.

Why a class per model and a table of handlers: each read model is its own module with its own
tables; the runner needs only ``name``, ``tables`` and ``apply``. Handlers get the event and
the unit of work (projections.rows) and must be deterministic functions of the events — no
clock, no randomness, no reads outside ``rows`` — so that two rebuilds of one log give
identical rows and digests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from audit.offline.canonical import format_timestamp
from projections.feed import FeedEvent
from projections.rows import Rows
from projections.schema import Row, Table

Handler = Callable[[FeedEvent, Rows], None]


class ReadModel:
    """Base of the read models; subclasses set ``name``, ``tables`` and ``handlers``."""

    name: ClassVar[str]
    tables: ClassVar[tuple[Table, ...]]

    def __init__(self) -> None:
        self._handlers: Mapping[type, Handler] = self.handlers()
        self._by_name = {table.name: table for table in self.tables}

    def handlers(self) -> Mapping[type, Handler]:
        raise NotImplementedError

    def table(self, name: str) -> Table:
        return self._by_name[name]

    @property
    def table_map(self) -> Mapping[str, Table]:
        return self._by_name

    def apply(self, event: FeedEvent, rows: Rows) -> None:
        handler = self._handlers.get(type(event.event))
        if handler is not None:
            handler(event, rows)


def stamp(moment: datetime) -> str:
    """A timestamp as stored in read models: the canonical UTC spelling of
    audit.offline.canonical."""
    return format_timestamp(moment)


def existing_row(e: FeedEvent, rows: Rows, table: str, key: str, what: str) -> Row:
    """The row of ``table`` at ``key``, which an earlier event of the log created.

    Read models follow a verified log, where every aggregate an event names was created
    before it: a missing row is a bug in a handler, so it fails the event, named, rather than
    write a half row.

    Raises:
        LookupError: there is no such row; names the event and the ``what`` (filer, product,
            round...) it did not find.
    """
    found = rows.get(table, key)
    if found is None:
        raise LookupError(f"{e.topic} v{e.version}: unknown {what} {key}")
    return found


def field(event: FeedEvent, name: str) -> Any:
    return getattr(event.event, name)


def when_returned_to_review(handler: Handler) -> Handler:
    """Apply ``handler`` to an OwnershipDisputeResolved only when it sent its filing back to
    review (annex rule v1: no valid patent left); other resolutions change no status."""

    def handle(e: FeedEvent, rows: Rows) -> None:
        if e.event.returned_to_review:
            handler(e, rows)

    return handle
