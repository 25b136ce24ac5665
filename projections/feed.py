"""Where the read models get their events: the ledger's notification log, checked.

Two ways to trust an event, both fail-closed:

* **Signature** (``EventFeed``): every event goes through the ledger's mapper, which verifies
  its Ed25519 save signature on the stored bytes before decoding and upcasting it. Used by the
  continuous follower, whose events are new and not yet under a checkpoint.
* **Signed checkpoint** (``CheckpointVerifiedFeed``): a rebuild reads the whole log from the
  first event. Up to the size of the latest checkpoint it recomputes each event's log-leaf hash
  from the stored bytes and folds them into the RFC 6962 root, which must equal the root the
  log signed (the sequencer verified each event's signature before it became a leaf); past
  it, signatures as above. A mismatch raises ``CheckpointRootError`` naming the checkpoint,
  and the rebuild never switches over. This keeps a rebuild off the Ed25519 verify rate
  (docs/benchmarks.md, "Projections").

Either way every event carries its log-leaf hash: the audit trail shows it, and an inclusion
proof for it proves the signed event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification, StoredEvent

from audit.offline.canonical import format_timestamp
from audit.offline.checkpoint import Checkpoint
from audit.offline.errors import CheckpointRootError, LogRollbackError
from audit.offline.event_signature import parse_envelope
from audit.offline.log_leaf import log_leaf_hash
from audit.offline.rfc6962 import node_hash
from audit.signing.signing_mapper import SigningMapper, as_uuid

ReadNotifications = Callable[[int, int], Sequence[Notification]]
"""(start notification id, limit) → notifications with id ≥ start, in order."""


class ReadAhead:
    """A ``ReadNotifications`` that fetches the next batch in a thread while this one is used.

    Why: a rebuild reads the log in order from the start, and while its thread decodes and
    applies one batch, the store could already be answering the next query (PostgreSQL on the
    other core; the driver waits without the GIL). After a full batch it starts the read of the
    batch that follows; a call for exactly that batch takes the result (or raises the error the
    read raised there), any other call reads directly. The log only grows, so a batch read a
    little early holds the same events (or fewer new ones) as one read on demand.
    """

    def __init__(self, read: ReadNotifications) -> None:
        self._read = read
        self._ahead: _Ahead | None = None

    def __call__(self, start: int, limit: int) -> Sequence[Notification]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.key == (start, limit):
            batch = ahead.result()
        else:
            if ahead is not None:
                ahead.wait()  # one read in flight at a time; its result is not this one
            batch = self._read(start, limit)
        if batch and len(batch) == limit:
            self._ahead = _Ahead(self._read, batch[-1].id + 1, limit)
        return batch


class _Ahead:
    """One read running in a daemon thread: its result, or the exception it raised."""

    def __init__(self, read: ReadNotifications, start: int, limit: int) -> None:
        self.key = (start, limit)
        self._batch: Sequence[Notification] = ()
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(read, start, limit), name="ppl-read-ahead", daemon=True
        )
        self._thread.start()

    def _run(self, read: ReadNotifications, start: int, limit: int) -> None:
        try:
            self._batch = read(start, limit)
        except BaseException as error:  # noqa: BLE001 (re-raised in the caller's thread)
            self._error = error

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> Sequence[Notification]:
        """The batch, or the read's own exception, raised here as the caller's read would."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._batch


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One decoded ledger event and where it sits in the notification log."""

    notification_id: int
    originator_id: UUID
    version: int
    topic: str
    event: Any  # the domain event object (after upcasting)
    leaf_hash: bytes  # RFC 6962 hash of its log leaf (audit.offline.log_leaf)
    stamped: str  # its timestamp in the canonical spelling, formatted once for every handler

    @property
    def timestamp(self) -> datetime:
        stamp: datetime = self.event.timestamp
        return stamp

    @property
    def actor(self) -> dict[str, Any]:
        actor: dict[str, Any] = getattr(self.event, "actor", {}) or {}
        return actor


class EventFeed:
    """Reads and decodes notifications; every event's signature is verified by the mapper."""

    def __init__(self, read: ReadNotifications, mapper: Mapper[UUID]) -> None:
        self._read = read
        self._mapper = mapper

    def read(self, after: int, limit: int) -> list[FeedEvent]:
        """Up to ``limit`` events with notification id > ``after``, in order."""
        decode = (
            self._mapper.batch_reader()  # each save's signature checked once, not per event
            if isinstance(self._mapper, SigningMapper)
            else self._mapper.to_domain_event
        )
        return [_feed_event(n, decode(n)) for n in self._read(after + 1, limit)]

    def rewound(self) -> EventFeed:
        """The same log, readable from any point, each event verified by its signature.

        For a rebuild that must go back over events it has read (to find which one a read
        model cannot store, projections.runner), where this feed reads only forwards.
        """
        return EventFeed(self._read, self._mapper)

    def _verified(self, notification: Notification) -> FeedEvent:
        return _feed_event(notification, self._mapper.to_domain_event(notification))


class CheckpointVerifiedFeed(EventFeed):
    """Reads the log from its first event; the prefix under ``checkpoint`` is checked by root.

    Must be read in order from the start (``after`` = the last id it returned).
    """

    def __init__(
        self, read: ReadNotifications, mapper: Mapper[UUID], checkpoint: Checkpoint | None
    ) -> None:
        super().__init__(read, mapper)
        self.checkpoint = checkpoint
        self.covered = checkpoint.size if checkpoint is not None else 0
        self._leaves = 0
        self._last_id = 0
        self._frontier: list[tuple[int, bytes]] = []  # (height, root) of perfect subtrees
        self.root_verified = self.covered == 0

    @property
    def leaves_read(self) -> int:
        return self._leaves

    def read(self, after: int, limit: int) -> list[FeedEvent]:
        if after != self._last_id:
            raise ValueError(f"read after {after}: this feed is at {self._last_id}")
        events: list[FeedEvent] = []
        for notification in self._read(after + 1, limit):
            if self._leaves < self.covered:
                event = self._under_checkpoint(notification)
            else:
                event = self._verified(notification)
            self._leaves += 1
            self._last_id = notification.id
            events.append(event)
        return events

    def _under_checkpoint(self, notification: Notification) -> FeedEvent:
        originator_id = as_uuid(notification.originator_id)
        state = bytes(notification.state)
        try:
            envelope = parse_envelope(originator_id, notification.originator_version, state)
            decoded = Mapper.to_domain_event(
                self._mapper,
                StoredEvent(
                    originator_id=notification.originator_id,
                    originator_version=notification.originator_version,
                    topic=notification.topic,
                    state=envelope.state,
                ),
            )
        except Exception:
            # Bytes the log signed always decode: check the signature, which names the event
            # (EventTamperedError...), rather than report a bare decoding failure.
            self._mapper.to_domain_event(notification)
            raise
        event = _feed_event(notification, decoded)
        self._fold(event.leaf_hash)
        return event

    def _fold(self, leaf: bytes) -> None:
        """Add a leaf to the compact range; at the checkpoint's size, compare the roots."""
        height, node = 0, leaf
        while self._frontier and self._frontier[-1][0] == height:
            _, left = self._frontier.pop()
            node = node_hash(left, node)
            height += 1
        self._frontier.append((height, node))
        if self._leaves + 1 == self.covered and self.checkpoint is not None:
            root = self._frontier[-1][1]
            for _, left in reversed(self._frontier[:-1]):
                root = node_hash(left, root)
            if root != self.checkpoint.root:
                raise CheckpointRootError(self.checkpoint.size, self.checkpoint.root, root)
            self.root_verified = True

    def finish(self) -> None:
        """Raise unless every event under the checkpoint was read and the root matched."""
        if self.checkpoint is not None and not self.root_verified:
            raise LogRollbackError(
                self.checkpoint.size,
                f"signed for {self.checkpoint.size} events, but the store holds {self._leaves}",
            )


def _feed_event(notification: Notification, event: Any) -> FeedEvent:
    originator_id = as_uuid(notification.originator_id)
    return FeedEvent(
        notification_id=notification.id,
        originator_id=originator_id,
        version=notification.originator_version,
        topic=notification.topic,
        event=event,
        leaf_hash=log_leaf_hash(
            originator_id, notification.originator_version, notification.topic, notification.state
        ),
        stamped=format_timestamp(event.timestamp),
    )
