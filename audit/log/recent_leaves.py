"""The leaves a sequencer has just integrated, with the stored events they name.

The product index (audit.log.product_index_log) reads, right after each sequencing round, the
very leaves and events the sequencer read and wrote a moment before: on SQLite that second read
was a tenth of the index's cost per filing. The sequencer hands them over here once its
transaction has committed (a leaf is then what the log holds, and a stored event never
changes); the index takes a span only if every leaf of it is here, and reads the store
otherwise. Bounded: the oldest leaves go first.

Server-side code; the offline verifier never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice

from eventsourcing.persistence import Notification

from audit.log.log_store import LeafRecord

KEEP = 4000  # leaves kept: a few sequencing batches


class RecentLeaves:
    """Integrated leaves by index, with their events (insertion order: oldest first)."""

    def __init__(self, keep: int = KEEP) -> None:
        if keep < 1:
            raise ValueError(f"keep {keep} leaves: want at least 1")
        self.keep = keep
        self._by_index: dict[int, tuple[LeafRecord, Notification]] = {}

    def add(self, leaves: Sequence[LeafRecord], events: Sequence[Notification]) -> None:
        """Keep a committed batch: ``leaves`` and the events they name, in the same order.

        Raises:
            ValueError: the two do not pair up (a leaf must name its own event).
        """
        if len(leaves) != len(events) or any(
            leaf.notification_id != event.id for leaf, event in zip(leaves, events, strict=True)
        ):
            raise ValueError("each leaf must come with the stored event it names")
        for leaf, event in zip(leaves, events, strict=True):
            self._by_index[leaf.leaf_index] = (leaf, event)
        excess = len(self._by_index) - self.keep
        if excess > 0:
            for index in list(islice(self._by_index, excess)):
                del self._by_index[index]

    def span(self, start: int, stop: int) -> list[tuple[LeafRecord, Notification]] | None:
        """Every leaf start ≤ index < stop with its event, or None if any of them is not here
        (the caller reads the store)."""
        found = []
        for index in range(start, stop):
            pair = self._by_index.get(index)
            if pair is None:
                return None
            found.append(pair)
        return found
