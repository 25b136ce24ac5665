"""The sequencer: integrates stored events, in notification order, into the Merkle log.

Each batch: read the position; read the next notifications; verify each event's signature
(an unverifiable event must never become an official leaf); hash each into a leaf with a dense
index; compute the perfect-subtree nodes it completes from the log's right border (O(log n)
node reads per batch); then write leaves, nodes and the new position in one transaction with a
compare-and-set on the position (audit.log.log_store). A crash mid-batch writes nothing; a second
sequencer racing this one loses the compare-and-set and retries from the new position.

Notification ids may have gaps (PostgreSQL sequences skip on rollback); leaf indices never do.
Ordering relies on eventsourcing's table lock on insert (never enable
POSTGRES_ENABLE_DB_FUNCTIONS): ids commit in order, so no event commits "behind" the position.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventsourcing.persistence import Notification

from audit.log.log_store import LeafRecord, LogPosition, LogStore, NodeId, PositionMovedError
from audit.log.recent_leaves import RecentLeaves
from audit.offline.event_signature import EventVerifier, event_identity
from audit.offline.log_leaf import identified_log_leaf_hash
from audit.offline.merkle_nodes import append_leaf, range_nodes
from audit.signing.signing_mapper import as_uuid

ReadNotifications = Callable[[int, int], Sequence[Notification]]


@dataclass
class Sequencer:
    """Moves events from the event store into the log, exactly once."""

    store: LogStore
    read_notifications: ReadNotifications
    trusted_keys: Callable[[], Mapping[str, Ed25519PublicKey]]
    batch_size: int = 1000
    recent: RecentLeaves | None = None  # committed batches handed to the product index

    def integrate_batch(self) -> int:
        """Integrate up to ``batch_size`` new events; returns how many leaves were added.

        Raises:
            audit.offline.errors.VerificationError: an event's signature does not verify (nothing of
                the batch is integrated; the error names the event).
        """
        position = self.store.position()
        notifications = self.read_notifications(position.last_notification_id + 1, self.batch_size)
        if not notifications:
            return 0
        # One verifier per batch: each key parsed once, each save's signature checked once
        # for all its events (a filing's save holds two), the same errors as verify_event.
        verifier = EventVerifier(self.trusted_keys())
        work: dict[NodeId, bytes] = self.store.nodes(range_nodes(0, position.tree_size))
        leaves: list[LeafRecord] = []
        nodes: list[tuple[NodeId, bytes]] = []
        for offset, notification in enumerate(notifications):
            originator_id = as_uuid(notification.originator_id)
            version = notification.originator_version
            identity = event_identity(originator_id.bytes, version, notification.topic)
            verifier.verify(identity, notification.state)
            index = position.tree_size + offset
            digest = identified_log_leaf_hash(identity, notification.state)
            nodes += append_leaf(work, index, digest)
            leaves.append(LeafRecord(index, notification.id, originator_id, version, digest))
        new = LogPosition(position.tree_size + len(leaves), notifications[-1].id)
        self.store.integrate(position, leaves, nodes, new)
        if self.recent is not None:  # committed: what the log now holds
            self.recent.add(leaves, notifications)
        return len(leaves)

    def catch_up(self, *, max_retries: int = 5) -> int:
        """Integrate until no event is left; returns the number of leaves added."""
        added = 0
        retries = 0
        while True:
            try:
                count = self.integrate_batch()
            except PositionMovedError:
                retries += 1
                if retries > max_retries:
                    raise
                continue
            if count == 0:
                return added
            added += count
