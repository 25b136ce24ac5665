"""The auditor's rebuild of the product index, checked against every signed index note.

``ppl audit verify`` (audit.offline.verifier) feeds each event of the bundle, in log order, to
an ``IndexRebuild``; at each checkpoint with an index note it compares the maps' roots and
entry counts with the note's. The maps are kept as one ``MemoryMap`` each
(audit.offline.map_memory: the trie of audit.offline.map_tree, in plain lists, without
proofs), so a checkpoint costs O(depth) hashes per entry changed since the previous one, not a
rebuild of the whole map.

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
from audit.offline.map_memory import MemoryMap
from audit.offline.product_index import (
    MAPS,
    PRODUCT_TOPICS,
    RESERVATION_TOPICS,
    IndexBuilder,
    IndexedEvent,
)
from audit.offline.sparse_map import map_path, map_root_of_digests, value_digest

_READ = (
    "name", "model", "canonical_key", "filer_uscc", "data_year", "filing_number",
    "removed_patents", "returned_to_review", "product_id", "key_rule",
)  # fmt: skip


def index_fields(topic: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the index reads of an event (``None``: an event the index ignores)."""
    if topic not in PRODUCT_TOPICS and topic not in RESERVATION_TOPICS:
        return None
    fields = {name: state[name] for name in _READ if name in state}
    if isinstance(fields.get("product_id"), UUID):  # as the builder names filings: text
        fields["product_id"] = str(fields["product_id"])
    patents = state.get("patents")
    if isinstance(patents, list):
        fields["patents"] = [
            {"number": p.get("number")} if isinstance(p, Mapping) else p for p in patents
        ]
    elif "patents" in state:
        fields["patents"] = patents
    return fields


@dataclass
class IndexRebuild:
    """The index rebuilt event by event, with each map's root on demand."""

    builder: IndexBuilder = field(default_factory=IndexBuilder)
    trees: dict[bytes, MemoryMap] = field(
        default_factory=lambda: {map_id: MemoryMap() for map_id in MAPS}
    )

    def apply(self, event: LoggedEvent) -> None:
        self.builder.apply(event)

    def apply_indexed(self, event: IndexedEvent) -> None:
        self.builder.apply_indexed(event)

    def heads(self) -> dict[bytes, MapHead]:
        """Each map's entry count and root after the events applied so far."""
        batches: dict[bytes, dict[bytes, bytes]] = {map_id: {} for map_id in MAPS}
        for map_id, key in self.builder.take_changed(ordered=False):
            path = map_path(map_id, key)
            batches[map_id][path] = value_digest(self.builder.value(map_id, key))
        for map_id, batch in batches.items():
            self.trees[map_id].put_many(batch)
        trees = self.trees
        return {map_id: MapHead(len(trees[map_id]), trees[map_id].root()) for map_id in MAPS}

    def check(self, note: IndexNote) -> None:
        """The note's roots and counts are the rebuilt ones (at the note's tree size: the
        caller applied exactly the events before it).

        Raises:
            IndexRootError: a root differs (the first map in order).
            IndexNoteError: a count differs with the same root.
        """
        check_heads(note, self.heads())


def check_heads(note: IndexNote, heads: Mapping[bytes, MapHead]) -> None:
    """The note's roots and counts are ``heads``, the rebuilt ones.

    Raises:
        IndexRootError: a root differs (the first map in order).
        IndexNoteError: a count differs with the same root.
    """
    for map_id, head in heads.items():
        committed = note.head(map_id)
        if committed.root != head.root:
            raise IndexRootError(note.tree_size, map_id.decode("ascii"), committed.root, head.root)
        if committed.entries != head.entries:
            raise IndexNoteError(
                f"it counts {committed.entries} {map_id.decode('ascii')} entries, the log "
                f"gives {head.entries}",
                note.tree_size,
            )


@dataclass
class InMemoryIndex:
    """The index rebuilt from events at once: every entry valued after the events, each map's
    root from all the digests by audit.offline.sparse_map's one-pass fold — the cheapest way to
    the roots of one tree size (``ppl audit verify --index-checkpoints latest``). The builder
    keeps no record of changes: every entry is valued again when roots are asked for after
    more events (in the order the entries were made, near each other in memory)."""

    builder: IndexBuilder = field(default_factory=lambda: IndexBuilder(tracking=False))
    digests: dict[bytes, dict[bytes, bytes]] = field(
        default_factory=lambda: {map_id: {} for map_id in MAPS}
    )
    _settled: bool = field(default=True, init=False, repr=False)

    def apply(self, event: LoggedEvent) -> None:
        self._settled = False
        self.builder.apply(event)

    def apply_indexed(self, event: IndexedEvent) -> None:
        self._settled = False
        self.builder.apply_indexed(event)

    def roots(self) -> dict[bytes, bytes]:
        """Each map's root now."""
        self.settle()
        return {map_id: map_root_of_digests(self.digests[map_id]) for map_id in MAPS}

    def heads(self) -> dict[bytes, MapHead]:
        """Each map's entry count and root now."""
        roots = self.roots()
        return {map_id: MapHead(len(self.digests[map_id]), roots[map_id]) for map_id in MAPS}

    def settle(self) -> None:
        """The value digest of every entry (once per batch of events applied)."""
        if self._settled:
            return
        for map_id in MAPS:
            self.digests[map_id] = {
                path: value_digest(value) for _, path, value in self.builder.entries(map_id)
            }
        self._settled = True

    def sizes(self) -> dict[bytes, int]:
        self.settle()
        return {map_id: len(self.digests[map_id]) for map_id in MAPS}


class IndexCheck:
    """The verifier's step (7): the rebuild fed event by event, checked at each checkpoint
    with an index note; the first misstatement is kept and raised at the end (``finish``),
    after the log's own checks, which say more when they fail.

    ``every`` false: only the latest note is checked, by one rebuild at its size
    (``InMemoryIndex``, once the log's own checks are done) — a quick check of a long log;
    the notes before it are named as unchecked (``warnings``).
    """

    def __init__(
        self,
        notes: Mapping[int, IndexNote],
        failure: VerificationError | None = None,
        *,
        every: bool = True,
    ) -> None:
        self.notes = dict(notes)
        self.every = every
        self.failure = failure
        self.rebuild: IndexRebuild | InMemoryIndex | None = None
        if notes and failure is None:
            self.rebuild = IndexRebuild() if every else InMemoryIndex()
        self._pending: IndexNote | None = None  # latest only: the note to check at the end

    def warnings(self, checkpoints: Iterable[int]) -> list[str]:
        """What the bundle leaves unchecked: no index at all, checkpoints after the latest
        index note (the log had not indexed them yet when it was exported), and — latest
        only — the notes before the latest."""
        if not self.notes:
            return ["no product index notes in the bundle: the index is unchecked"]
        found: list[str] = []
        earlier = sorted(self.notes)[:-1]
        if not self.every and earlier:
            found.append(
                f"index notes of {len(earlier)} earlier checkpoints ({earlier[0]}..{earlier[-1]}) "
                "not re-checked (--index-checkpoints latest)"
            )
        later = sorted(s for s in checkpoints if s > max(self.notes))
        if later:
            found.append(
                f"checkpoints {later[0]}..{later[-1]} have no index note yet (not checked)"
            )
        return found

    def event(
        self,
        leaf_index: int,
        originator_id: str,
        version: int,
        topic: str,
        facts: dict[str, Any] | None,
    ) -> None:
        """Apply the event at ``leaf_index`` (its ``index_fields``), then check the note of
        the tree it completes, if any (latest only: keep the latest note for ``finish``)."""
        if self.rebuild is None or self._pending is not None:
            return
        if facts is not None:  # the id as the workers give it: canonical text
            self.rebuild.apply_indexed(
                IndexedEvent(leaf_index, originator_id, version, topic, facts)
            )
        size = leaf_index + 1
        if self.failure is not None or size not in self.notes:
            return
        if isinstance(self.rebuild, InMemoryIndex):
            if size == max(self.notes):
                self._pending = self.notes[size]
            return
        try:
            self.rebuild.check(self.notes[size])
        except (IndexRootError, IndexNoteError) as exc:
            self.failure = exc

    def finish(self) -> list[int]:
        """The sizes checked. Raises: the first failure (IndexRootError, IndexNoteError)."""
        if self.failure is None and self._pending is not None:
            assert isinstance(self.rebuild, InMemoryIndex)  # noqa: S101 (only it defers)
            check_heads(self._pending, self.rebuild.heads())
        if self.failure is not None:
            raise self.failure
        if not self.every:
            return [self._pending.tree_size] if self._pending is not None else []
        return sorted(self.notes)
