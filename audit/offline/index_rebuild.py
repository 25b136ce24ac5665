"""The auditor's rebuild of the product index, checked against every signed index note.

``ppl audit verify`` (audit.offline.verifier) feeds each event of the bundle, in log order, to
an ``IndexRebuild``; at each checkpoint with an index note it compares the maps' roots and
entry counts with the note's. The maps are kept as one in-memory ``MapTree`` each
(audit.offline.map_tree), so a checkpoint costs O(depth) hashes per entry changed since the
previous one, not a rebuild of the whole map.

``index_fields`` cuts an event's state down to the fields the builder reads (the verifier's
workers send only those across processes). Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from audit.offline.errors import IndexNoteError, IndexRootError, VerificationError
from audit.offline.index_note import IndexNote, MapHead
from audit.offline.logged_event import LoggedEvent
from audit.offline.map_tree import MapTree, Node
from audit.offline.product_index import (
    MAPS,
    PRODUCT_TOPICS,
    RESERVATION_TOPICS,
    IndexBuilder,
)
from audit.offline.sparse_map import map_path, value_digest

_READ = (
    "name", "model", "canonical_key", "filer_uscc", "data_year", "filing_number",
    "removed_patents", "returned_to_review", "product_id", "key_rule",
)  # fmt: skip


def index_fields(topic: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the index reads of an event (``None``: an event the index ignores)."""
    if topic not in PRODUCT_TOPICS and topic not in RESERVATION_TOPICS:
        return None
    fields = {name: state[name] for name in _READ if name in state}
    patents = state.get("patents")
    if isinstance(patents, list):
        fields["patents"] = [
            {"number": p.get("number")} if isinstance(p, Mapping) else p for p in patents
        ]
    elif "patents" in state:
        fields["patents"] = patents
    return fields


class _NoNodes:
    """An empty node source: the rebuild's trees hold every node in their own cache."""

    def nodes(self, keys: object) -> dict[bytes, Node]:
        return {}


@dataclass
class IndexRebuild:
    """The index rebuilt event by event, with each map's root on demand."""

    builder: IndexBuilder = field(default_factory=IndexBuilder)
    trees: dict[bytes, MapTree] = field(
        default_factory=lambda: {map_id: MapTree(None, _NoNodes()) for map_id in MAPS}
    )
    counts: dict[bytes, int] = field(default_factory=lambda: dict.fromkeys(MAPS, 0))

    def apply(self, event: LoggedEvent) -> None:
        self.builder.apply(event)

    def heads(self) -> dict[bytes, MapHead]:
        """Each map's entry count and root after the events applied so far."""
        batches: dict[bytes, dict[bytes, bytes]] = {map_id: {} for map_id in MAPS}
        for map_id, key in self.builder.take_changed():
            path = map_path(map_id, key)
            if self.trees[map_id].get(path) is None:
                self.counts[map_id] += 1
            batches[map_id][path] = value_digest(self.builder.value(map_id, key))
        for map_id, batch in batches.items():
            self.trees[map_id].put_many(batch)
            self.trees[map_id].take_changed()  # the cache is the store
        return {map_id: MapHead(self.counts[map_id], self.trees[map_id].root()) for map_id in MAPS}

    def check(self, note: IndexNote) -> None:
        """The note's roots and counts are the rebuilt ones (at the note's tree size: the
        caller applied exactly the events before it).

        Raises:
            IndexRootError: a root differs (the first map in order).
            IndexNoteError: a count differs with the same root.
        """
        for map_id, head in self.heads().items():
            committed = note.head(map_id)
            if committed.root != head.root:
                raise IndexRootError(
                    note.tree_size, map_id.decode("ascii"), committed.root, head.root
                )
            if committed.entries != head.entries:
                raise IndexNoteError(
                    f"it counts {committed.entries} {map_id.decode('ascii')} entries, the log "
                    f"gives {head.entries}",
                    note.tree_size,
                )


class IndexCheck:
    """The verifier's step (7): the rebuild fed event by event, checked at each checkpoint
    with an index note; the first misstatement is kept and raised at the end (``finish``),
    after the log's own checks, which say more when they fail."""

    def __init__(
        self, notes: Mapping[int, IndexNote], failure: VerificationError | None = None
    ) -> None:
        self.notes = dict(notes)
        self.rebuild = IndexRebuild() if notes and failure is None else None
        self.failure = failure

    def warnings(self, checkpoints: Iterable[int]) -> list[str]:
        """What the bundle leaves unchecked: no index at all, or checkpoints after the
        latest index note (the log had not indexed them yet when it was exported)."""
        if not self.notes:
            return ["no product index notes in the bundle: the index is unchecked"]
        later = sorted(s for s in checkpoints if s > max(self.notes))
        if not later:
            return []
        return [f"checkpoints {later[0]}..{later[-1]} have no index note yet (not checked)"]

    def event(
        self,
        leaf_index: int,
        originator_id: str,
        version: int,
        topic: str,
        facts: dict[str, Any] | None,
    ) -> None:
        """Apply the event at ``leaf_index`` (its ``index_fields``), then check the note of
        the tree it completes, if any."""
        if self.rebuild is None:
            return
        if facts is not None:
            self.rebuild.apply(LoggedEvent(leaf_index, UUID(originator_id), version, topic, facts))
        size = leaf_index + 1
        if self.failure is not None or size not in self.notes:
            return
        try:
            self.rebuild.check(self.notes[size])
        except (IndexRootError, IndexNoteError) as exc:
            self.failure = exc

    def finish(self) -> list[int]:
        """The sizes checked. Raises: the first failure (IndexRootError, IndexNoteError)."""
        if self.failure is not None:
            raise self.failure
        return sorted(self.notes)
