"""Lookups in the product index with their proofs, against the latest index note (issue #19).

A lookup reads, in one statement (``IndexStore.lookup_rows``: one snapshot, one round trip),
the latest signed index note, its checkpoint with the stored cosignatures, each map's top, the
nodes along the key's path (audit.offline.map_tree) and the entry's value; it then **verifies
its own answer** against the note's root (audit.offline.sparse_map) before returning it. A walk
deeper than the read ahead fetches the rest in a later read, which the indexer may have moved
past: the proof then fails against the note read first, and the lookup starts again (a few
times, then ``IndexBusyError``). A proof that still fails on a quiet store means damaged rows:
``IndexIntegrityError``, never an answer.

Proofs are served for the latest indexed checkpoint only: the node rows are the maps' current
state, not their history (docs/product-index.md, "Lookups").

Server-side code; the offline verifier never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from audit.log.index_store import IndexedEntry, IndexStore, MapTop, Walk
from audit.offline.errors import MapProofError
from audit.offline.index_note import IndexNote, parse_index_note
from audit.offline.map_tree import MapStorageError, MapTree, Node, node_key
from audit.offline.note import split_note
from audit.offline.product_index import FilingState, registry_row, row_digest
from audit.offline.sparse_map import (
    PATH_BITS,
    MapProof,
    TerminalKind,
    map_path,
    verify_absence,
    verify_presence,
)

ATTEMPTS = 4
DEPTH_GUESS = 100_000  # entries assumed before the first read: a read ahead of 23 nodes


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
    cosigned: bool = False  # checkpoint_note is as the log serves it: with its cosignatures


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
    """Answers lookups from the index tables.

    ``cosignatures``: whether the log keeps a witness store (its cosignature lines of the
    checkpoint are then read with it); ``None``: not known, and the checkpoint is left as
    signed (``IndexSnapshot.cosigned`` false). One reader serves many requests: it remembers
    how many entries each map held at the last read, to choose how deep to read ahead along a
    path in the one read.
    """

    def __init__(self, store: IndexStore, *, cosignatures: bool | None = None) -> None:
        self.store = store
        self.cosignatures = cosignatures
        self._entries: dict[str, int] = {}

    def latest(self) -> IndexSnapshot:
        """Raises: IndexNotAvailableError: nothing indexed yet."""
        return self.lookup([])[0]

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
            walks = [self._walk(map_id, key) for map_id, key in keys]
            found = self.store.lookup_rows(walks, bool(self.cosignatures))
            if found is None:
                raise IndexNotAvailableError("no checkpoint has been indexed yet")
            latest = found.latest
            self._entries = {name: top.entries for name, top in latest.tops.items()}
            checkpoint = latest.checkpoint_note
            if checkpoint is not None and self.cosignatures:
                checkpoint += "".join(found.cosignature_lines)
            note = parse_index_note(split_note(latest.signed_note)[0])
            snapshot = IndexSnapshot(
                latest.tree_size,
                latest.signed_note,
                note,
                checkpoint,
                self.cosignatures is not None,
            )
            sizes.add(latest.tree_size)
            try:
                # one statement read it all, so it agrees; only nodes deeper than the read
                # ahead come from a later read, which the indexer may have moved past
                return snapshot, [
                    self._one(snapshot, latest.tops, key, walk, found.nodes[walk.map_id], entry)
                    for (_, key), walk, entry in zip(keys, walks, found.entries, strict=True)
                ]
            except (MapProofError, MapStorageError) as exc:
                failure = exc
        if len(sizes) == 1 and len(sizes | {self.latest().tree_size}) == 1:
            raise IndexIntegrityError(f"index at tree size {min(sizes)}: {failure}")
        raise IndexBusyError("the index kept moving while it was read; retry")

    def _walk(self, map_id: bytes, key: bytes) -> Walk:
        """The nodes a walk to the key likely meets (audit.offline.map_tree), by the size the
        map had at the last read."""
        name = map_id.decode("ascii")
        path = map_path(map_id, key)
        depth = likely_depth(self._entries.get(name, DEPTH_GUESS))
        return Walk(name, [node_key(path, d) for d in range(depth)], path)

    def _one(
        self,
        snapshot: IndexSnapshot,
        tops: dict[str, MapTop],
        key: bytes,
        walk: Walk,
        nodes: dict[bytes, Node],
        entry: IndexedEntry | None,
    ) -> IndexLookup:
        """One key's proof, built from the nodes read (deeper ones, if any, fetched as the
        walk meets them) and verified against the note's root before it is returned."""
        map_id = walk.map_id.encode("ascii")
        source = _Preloaded(nodes, set(walk.node_keys), self.store, walk.map_id)
        tree = MapTree(tops.get(walk.map_id, MapTop(None, 0)).top, source)
        path = walk.path
        proof = tree.prove(path)
        root = snapshot.note.head(map_id).root
        if proof.terminal is not TerminalKind.KEY_LEAF:  # the walk ended short of the key
            verify_absence(root, path, proof)
            return IndexLookup(map_id, key, path, None, proof)
        if entry is None:
            raise MapStorageError(
                node_key(path, PATH_BITS), "the map has a leaf at this path but no entry row"
            )
        verify_presence(root, path, entry.value, proof)
        return IndexLookup(map_id, key, path, entry.value, proof)

    def rows(
        self, values: Sequence[dict[str, Any]], product_ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """The committed registry rows of some filings named in product-key values (one read;
        each checked against the row digest a value gives it: a filing whose row has moved on
        since is left out)."""
        digests: dict[str, set[str]] = {}
        for value in values:
            for filing in value.get("filings", []):
                digests.setdefault(filing["product_id"], set()).add(filing["row"])
        found = self.store.states("filing", product_ids)
        rows: dict[str, dict[str, Any]] = {}
        for product_id, state in found.items():
            row = registry_row(FilingState.from_json(state))
            if row_digest(row) in digests.get(product_id, set()):
                rows[product_id] = row
        return rows
