"""Registries and statistics as of a point in the past, by replaying a prefix of the log.

A point is a tree size (the first N events of the log — the events a checkpoint of size N
signs) or a moment: the longest prefix of the log whose events all happened at or before it.
Log order is the order of record, so a prefix is a state the ledger really was in; filtering
by timestamp instead could mix states that never coexisted.

The replay runs every requested read model into a private in-memory SQLite database, with the
same handlers and the same queries (projections.queries) as the served tables, and with the
same integrity checks as a rebuild: events under the largest signed checkpoint within the
prefix are trusted by recomputing its root, the rest by signature. For a moment, a first pass
reads only the timestamps to find the prefix; the replay then checks the event after the
prefix by signature too, so a forged later timestamp cannot shorten the answer.

Cost: O(N) — every event of the prefix is read, decoded and applied, at the rebuild rate
(docs/benchmarks.md, "Projections"); nothing is cached between queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper

from audit.database.connections import memory_database
from audit.offline.canonical import format_timestamp
from audit.offline.checkpoint import Checkpoint
from audit.offline.event_signature import parse_envelope
from audit.signing.signing_mapper import as_uuid
from projections.catalog import models
from projections.feed import CheckpointVerifiedFeed, FeedEvent, ReadNotifications
from projections.runner import rebuild
from projections.store import ProjectionStore

BATCH = 2000


class AsOfError(ValueError):
    """An as-of point the log cannot answer (beyond its end, before its start...)."""


@dataclass(frozen=True, slots=True)
class AsOf:
    """Exactly one of ``tree_size`` and ``moment``."""

    tree_size: int | None = None
    moment: datetime | None = None

    def __post_init__(self) -> None:
        if (self.tree_size is None) == (self.moment is None):
            raise AsOfError("give a tree size or a moment, not both")
        if self.tree_size is not None and self.tree_size < 0:
            raise AsOfError(f"tree size {self.tree_size}: want ≥ 0")
        if self.moment is not None and self.moment.tzinfo is None:
            raise AsOfError("a moment needs a time zone (e.g. 2023-06-30T23:59:59Z)")

    def describe(self) -> str:
        if self.moment is not None:
            return format_timestamp(self.moment)
        return f"tree size {self.tree_size}"


@dataclass(frozen=True, slots=True)
class AsOfState:
    store: ProjectionStore  # in memory; query it with projections.queries
    tree_size: int  # events in the prefix
    checkpoint_size: int  # of which trusted through a signed checkpoint's root
    last_timestamp: str | None


class _PrefixFeed(CheckpointVerifiedFeed):
    """A checkpoint-verified feed that ends after ``size`` events."""

    def __init__(
        self,
        read: ReadNotifications,
        mapper: Mapper[UUID],
        checkpoint: Checkpoint | None,
        size: int,
    ) -> None:
        super().__init__(read, mapper, checkpoint)
        self.size = size
        self.last: FeedEvent | None = None

    def read(self, after: int, limit: int) -> list[FeedEvent]:
        left = self.size - self.leaves_read
        if left <= 0:
            return []
        events = super().read(after, min(limit, left))
        if events:
            self.last = events[-1]
        return events


def _state_timestamp(notification: Any) -> str:
    """The timestamp written in a stored event (unverified: it only picks the prefix)."""
    originator_id = notification.originator_id
    envelope = parse_envelope(
        as_uuid(originator_id),
        notification.originator_version,
        bytes(notification.state),
    )
    stamp = orjson.loads(envelope.state)["timestamp"]
    return str(stamp["_data_"] if isinstance(stamp, dict) else stamp)


def _prefix_for_moment(read: ReadNotifications, moment: datetime) -> int:
    limit, size, start = format_timestamp(moment), 0, 1
    while batch := read(start, BATCH):
        for notification in batch:
            if _state_timestamp(notification) > limit:  # one spelling: text order is time order
                return size
            size += 1
        start = batch[-1].id + 1
    return size


def replay_as_of(
    point: AsOf,
    read: ReadNotifications,
    mapper: Mapper[UUID],
    checkpoints: Sequence[Checkpoint],
    names: Sequence[str] = (),
) -> AsOfState:
    """Replay the log's prefix at ``point`` into memory; ``checkpoints`` must be verified.

    Raises:
        AsOfError: the tree size is beyond the log.
        audit.offline.errors.VerificationError: an event or a checkpoint root does not verify.
    """
    size = (
        point.tree_size if point.tree_size is not None else _prefix_for_moment(read, point.moment)  # type: ignore[arg-type]
    )
    usable = [c for c in checkpoints if c.size <= size]
    checkpoint = max(usable, key=lambda c: c.size) if usable else None
    feed = _PrefixFeed(read, mapper, checkpoint, size)
    store = ProjectionStore(memory_database())
    result = rebuild(store, models(names), feed, batch=BATCH)
    if result.events != size:
        raise AsOfError(f"tree size {size}: the log has only {result.events} events")
    if point.moment is not None:
        _check_next_is_later(read, mapper, feed, point.moment)
    last = feed.last
    return AsOfState(
        store, size, feed.covered, None if last is None else format_timestamp(last.timestamp)
    )


def _check_next_is_later(
    read: ReadNotifications, mapper: Mapper[UUID], feed: _PrefixFeed, moment: datetime
) -> None:
    """The first event after the prefix, verified by signature, is after ``moment``."""
    after = feed.last.notification_id if feed.last is not None else 0
    following = read(after + 1, 1)
    if not following:
        return
    event: Any = mapper.to_domain_event(following[0])
    if event.timestamp <= moment:
        raise AsOfError("the log's timestamps changed while reading: try again")
