"""Lookups in the product index with their proofs, against the latest index note (issue #19).

A lookup reads the latest signed index note, each map's top and the nodes along the key's path
(audit.offline.map_tree), and the entry's value; it then **verifies its own answer** against the
note's root (audit.offline.sparse_map) before returning it. The indexer may commit a newer
checkpoint between those reads: the proof then fails against the note read first, and the
lookup starts again (a few times, then ``IndexBusyError``). A proof that still fails on a
quiet store means damaged rows: ``IndexIntegrityError``, never an answer.

Proofs are served for the latest indexed checkpoint only: the node rows are the maps' current
state, not their history (docs/product-index.md, "Lookups").

Server-side code; the offline verifier never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from audit.log.index_store import IndexStore, MapTop
from audit.offline.errors import MapProofError
from audit.offline.index_note import IndexNote, parse_index_note
from audit.offline.map_tree import MapStorageError, MapTree, Node, node_key
from audit.offline.note import split_note
from audit.offline.product_index import FilingState, registry_row, row_digest
from audit.offline.sparse_map import (
    PATH_BITS,
    MapProof,
    map_path,
    verify_absence,
    verify_presence,
)

ATTEMPTS = 4


class IndexNotAvailableError(LookupError):
    """No checkpoint has been indexed yet."""


class IndexBusyError(RuntimeError):
    """The index moved under every attempt to read one consistent answer."""


class IndexIntegrityError(RuntimeError):
    """The stored index does not prove what its signed note says (damaged rows)."""


@dataclass(frozen=True, slots=True)
class IndexSnapshot:
    """The latest index note: its tree size, signed text and parsed roots."""

    tree_size: int
    signed_note: str
    note: IndexNote
    checkpoint_note: str | None = None  # the checkpoint's signed note, when read with it


@dataclass(frozen=True, slots=True)
class IndexLookup:
    """One key's answer: its value bytes (``None``: absent) and the proof against the note."""

    map_id: bytes
    key: bytes
    path: bytes
    value: bytes | None
    proof: MapProof


@dataclass(frozen=True, slots=True)
class _Preloaded:
    """Nodes read ahead with the entry (``asked``: the keys that read covered); a key outside
    it goes to the store."""

    found: dict[bytes, Node]
    asked: set[bytes]
    store: IndexStore
    map_id: str

    def nodes(self, keys: Sequence[bytes]) -> dict[bytes, Node]:
        """The walk asks for the node it needs first, then the keys below it (a read-ahead
        window): when the read covered the one needed, that read answers."""
        nodes = {key: self.found[key] for key in keys if key in self.found}
        if keys and keys[0] not in self.asked:
            missing = [key for key in keys if key not in self.asked]
            nodes.update(self.store.nodes(self.map_id, missing))
        return nodes


def likely_depth(entries: int) -> int:
    """How deep to read ahead along a path: a walk through n random paths meets about
    log2(n) two-sided nodes, rarely a few more; deeper ones are fetched when met."""
    return min(64, max(1, entries).bit_length() + 6)


class IndexReader:
    """Answers lookups from the index tables."""

    def __init__(self, store: IndexStore) -> None:
        self.store = store

    def latest(self) -> IndexSnapshot:
        """Raises: IndexNotAvailableError: nothing indexed yet."""
        found = self.store.latest_note()
        if found is None:
            raise IndexNotAvailableError("no checkpoint has been indexed yet")
        size, signed = found
        return IndexSnapshot(size, signed, parse_index_note(split_note(signed)[0]))

    def lookup(
        self, keys: Sequence[tuple[bytes, bytes]]
    ) -> tuple[IndexSnapshot, list[IndexLookup]]:
        """Each (map id, key)'s value and proof, all against one index note.

        Raises:
            IndexNotAvailableError: nothing indexed yet.
            IndexBusyError: the index moved during every attempt.
            IndexIntegrityError: the rows do not prove the note's roots.
        """
        sizes: set[int] = set()
        failure: Exception | None = None
        for _ in range(ATTEMPTS):
            found = self.store.latest_with_tops()
            if found is None:
                raise IndexNotAvailableError("no checkpoint has been indexed yet")
            size, signed, tops = found.tree_size, found.signed_note, found.tops
            note = parse_index_note(split_note(signed)[0])
            snapshot = IndexSnapshot(size, signed, note, found.checkpoint_note)
            sizes.add(size)
            try:
                # a proof that verifies against this note's root is this note's answer, even if
                # the indexer has committed a newer one since
                return snapshot, [self._one(snapshot, tops, m, key) for m, key in keys]
            except (MapProofError, MapStorageError) as exc:
                failure = exc
        if len(sizes) == 1 and len(sizes | {self.latest().tree_size}) == 1:
            raise IndexIntegrityError(f"index at tree size {min(sizes)}: {failure}")
        raise IndexBusyError("the index kept moving while it was read; retry")

    def _one(
        self, snapshot: IndexSnapshot, tops: dict[str, MapTop], map_id: bytes, key: bytes
    ) -> IndexLookup:
        """One key: the nodes its walk likely meets and its entry in one read (deeper nodes,
        if any, fetched as the walk meets them), the proof built and verified."""
        name = map_id.decode("ascii")
        top = tops.get(name, MapTop(None, 0))
        path = map_path(map_id, key)
        depth = likely_depth(top.entries)
        nodes, entry = self.store.walk_rows(name, [node_key(path, d) for d in range(depth)], path)
        source = _Preloaded(nodes, {node_key(path, d) for d in range(depth)}, self.store, name)
        tree = MapTree(top.top, source)
        proof = tree.prove(path)
        root = snapshot.note.head(map_id).root
        if tree.get(path) is None:
            verify_absence(root, path, proof)
            return IndexLookup(map_id, key, path, None, proof)
        if entry is None:
            raise MapStorageError(
                node_key(path, PATH_BITS), "the map has a leaf at this path but no entry row"
            )
        verify_presence(root, path, entry.value, proof)
        return IndexLookup(map_id, key, path, entry.value, proof)

    def rows(self, value: dict[str, Any], product_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The committed registry rows of some filings of a product-key value (each checked
        against the value's digest; a filing whose row has moved on is left out)."""
        digests = {f["product_id"]: f["row"] for f in value.get("filings", [])}
        found = self.store.states("filing", product_ids)
        rows: dict[str, dict[str, Any]] = {}
        for product_id, state in found.items():
            row = registry_row(FilingState.from_json(state))
            if digests.get(product_id) == row_digest(row):
                rows[product_id] = row
        return rows
