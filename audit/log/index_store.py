"""The product index's storage beside the log (issue #19, docs/product-index.md).

Tables (the events' database, like audit.log.log_store):

* ``ppl_index_position``: one row — the tree size the index has reached. Moved by
  compare-and-set in the same transaction as everything below, so a crash loses nothing and
  two indexers cannot both index one checkpoint.
* ``ppl_index_state``: what the builder (audit.offline.product_index) knows, one JSON row per
  filing, product key, patent and reservation.
* ``ppl_index_entries``: each map's entries (path → key and value bytes) at that size: what a
  lookup returns.
* ``ppl_index_nodes``: each map's two-sided nodes (audit.offline.map_tree), by node key;
  ``ppl_index_tops``: each map's top subtree and number of entries.
* ``ppl_index_notes``: the signed index note of every indexed checkpoint (primary key its tree
  size: one set of roots per size, ever).

Server-side code (SQLite and psycopg); the offline verifier never imports it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from audit.database.connections import Database
from audit.log.log_store import PositionMovedError
from audit.offline.map_tree import Child, Node

_NODE_KIND, _LEAF_KIND = 0, 1
CHUNK = 2000  # keys per IN (…) list: far below SQLite's and PostgreSQL's parameter limits


def encode_child(child: Child) -> bytes:
    """kind (1) || depth (2, big-endian) || path (32) || hash (32) [|| digest (32), a leaf]."""
    kind = _NODE_KIND if child.digest is None else _LEAF_KIND
    head = bytes([kind]) + child.depth.to_bytes(2, "big") + child.path + child.hash
    return head if child.digest is None else head + child.digest


def decode_child(data: bytes, offset: int = 0) -> tuple[Child, int]:
    """A child at ``offset`` and the offset after it."""
    kind = data[offset]
    depth = int.from_bytes(data[offset + 1 : offset + 3], "big")
    path = bytes(data[offset + 3 : offset + 35])
    digest_hash = bytes(data[offset + 35 : offset + 67])
    if kind == _LEAF_KIND:
        return Child(depth, path, digest_hash, bytes(data[offset + 67 : offset + 99])), offset + 99
    return Child(depth, path, digest_hash, None), offset + 67


def encode_node(node: Node) -> bytes:
    return node.depth.to_bytes(2, "big") + encode_child(node.left) + encode_child(node.right)


def decode_node(data: bytes) -> Node:
    left, offset = decode_child(data, 2)
    right, _ = decode_child(data, offset)
    return Node(int.from_bytes(data[:2], "big"), left, right)


@dataclass(frozen=True, slots=True)
class MapTop:
    """A map's top subtree (``None``: the map is empty) and how many entries it holds."""

    top: Child | None
    entries: int


@dataclass(frozen=True, slots=True)
class LatestIndex:
    """The latest index note, the signed note of its checkpoint (None: not stored — damage)
    and the maps' tops."""

    tree_size: int
    signed_note: str
    checkpoint_note: str | None
    tops: dict[str, MapTop]


@dataclass(frozen=True, slots=True)
class IndexedEntry:
    key: bytes
    value: bytes


@dataclass
class IndexBatch:
    """Everything one checkpoint's indexing writes, in one transaction."""

    tree_size: int
    signed_note: str
    states: list[tuple[str, str, str]]  # kind, id, JSON
    entries: list[tuple[str, bytes, bytes, bytes]]  # map id, path, key, value
    nodes: list[tuple[str, bytes, Node]]  # map id, node key, node
    tops: dict[str, MapTop]


class IndexStore:
    """The index tables on the events' database (SQLite or PostgreSQL)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def _q(self, statement: str) -> str:
        return self.database.q(statement)

    def _select(self, statement: str, parameters: Sequence[Any]) -> list[Any]:
        with self.database.autocommit() as cursor:
            cursor.execute(self._q(statement), parameters)
            return list(cursor)

    def create_tables(self) -> None:
        big, blob = self.database.int_type, self.database.blob_type
        statements = [
            f"CREATE TABLE IF NOT EXISTS ppl_index_position (singleton {big} PRIMARY KEY "
            f"CHECK (singleton = 1), tree_size {big} NOT NULL)",
            "CREATE TABLE IF NOT EXISTS ppl_index_state (kind TEXT NOT NULL, id TEXT NOT NULL, "
            "state TEXT NOT NULL, PRIMARY KEY (kind, id))",
            f"CREATE TABLE IF NOT EXISTS ppl_index_entries (map_id TEXT NOT NULL, "
            f"path {blob} NOT NULL, map_key {blob} NOT NULL, value {blob} NOT NULL, "
            "PRIMARY KEY (map_id, path))",
            f"CREATE TABLE IF NOT EXISTS ppl_index_nodes (map_id TEXT NOT NULL, "
            f"node_key {blob} NOT NULL, node {blob} NOT NULL, PRIMARY KEY (map_id, node_key))",
            f"CREATE TABLE IF NOT EXISTS ppl_index_tops (map_id TEXT PRIMARY KEY, top {blob}, "
            f"entries {big} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS ppl_index_notes (tree_size {big} PRIMARY KEY, "
            "signed_note TEXT NOT NULL)",
        ]
        with self.database.schema_transaction() as cursor:
            for statement in statements:
                cursor.execute(statement)
            cursor.execute(
                "INSERT INTO ppl_index_position (singleton, tree_size) VALUES (1, 0) "
                "ON CONFLICT (singleton) DO NOTHING"
            )

    # --- reads ----------------------------------------------------------------------------
    def position(self) -> int:
        (row,) = self._select("SELECT tree_size FROM ppl_index_position", ())
        return int(row[0])

    def states(self, kind: str, ids: Iterable[str]) -> dict[str, Any]:
        """The builder's JSON state of each id of ``kind`` that has one (one query)."""
        wanted = sorted(set(ids))
        found: dict[str, Any] = {}
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = self._select(
                f"SELECT id, state FROM ppl_index_state WHERE kind = ? AND id IN ({marks})",  # noqa: S608 (placeholders)
                [kind, *chunk],
            )
            found.update({str(i): json.loads(state) for i, state in rows})
        return found

    def tops(self) -> dict[str, MapTop]:
        rows = self._select("SELECT map_id, top, entries FROM ppl_index_tops", ())
        return {
            str(map_id): MapTop(None if top is None else decode_child(bytes(top))[0], int(n))
            for map_id, top, n in rows
        }

    def nodes(self, map_id: str, keys: Sequence[bytes]) -> dict[bytes, Node]:
        """The stored nodes among ``keys`` of one map (one query)."""
        found: dict[bytes, Node] = {}
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = self._select(
                "SELECT node_key, node FROM ppl_index_nodes "  # noqa: S608 (placeholders)
                f"WHERE map_id = ? AND node_key IN ({marks})",
                [map_id, *chunk],
            )
            found.update((bytes(key), decode_node(bytes(node))) for key, node in rows)
        return found

    def latest_with_tops(self) -> LatestIndex | None:
        """The latest index note, its checkpoint's signed note and every map's top, in one
        round trip (a lookup's first read); None before the first note. The tops may be of a
        newer note if the indexer commits in between; a lookup's proof then fails against the
        note's root and it reads again (audit.log.index_lookup)."""
        rows = self._select(
            "SELECT n.tree_size, n.signed_note, c.signed_note, t.map_id, t.top, t.entries FROM "
            "(SELECT tree_size, signed_note FROM ppl_index_notes ORDER BY tree_size DESC "
            "LIMIT 1) n LEFT JOIN ppl_log_checkpoints c ON c.tree_size = n.tree_size "
            "LEFT JOIN ppl_index_tops t ON 1 = 1",
            (),
        )
        if not rows:
            return None
        tops = {
            str(map_id): MapTop(None if top is None else decode_child(bytes(top))[0], int(n))
            for _, _, _, map_id, top, n in rows
            if map_id is not None
        }
        checkpoint = None if rows[0][2] is None else str(rows[0][2])
        return LatestIndex(int(rows[0][0]), str(rows[0][1]), checkpoint, tops)

    def walk_rows(
        self, map_id: str, keys: Sequence[bytes], path: bytes
    ) -> tuple[dict[bytes, Node], IndexedEntry | None]:
        """The stored nodes among ``keys`` and the entry at ``path``, in one round trip (a
        lookup's second read)."""
        marks = ", ".join("?" * len(keys)) or "NULL"
        rows = self._select(
            "SELECT 0, node_key, node, NULL FROM ppl_index_nodes "  # noqa: S608 (placeholders)
            f"WHERE map_id = ? AND node_key IN ({marks}) "
            "UNION ALL SELECT 1, path, value, map_key FROM ppl_index_entries "
            "WHERE map_id = ? AND path = ?",
            [map_id, *keys, map_id, path],
        )
        nodes: dict[bytes, Node] = {}
        entry: IndexedEntry | None = None
        for kind, key, data, map_key in rows:
            if int(kind) == 0:
                nodes[bytes(key)] = decode_node(bytes(data))
            else:
                entry = IndexedEntry(bytes(map_key), bytes(data))
        return nodes, entry

    def note(self, tree_size: int) -> str | None:
        rows = self._select(
            "SELECT signed_note FROM ppl_index_notes WHERE tree_size = ?", (tree_size,)
        )
        return str(rows[0][0]) if rows else None

    def latest_note(self) -> tuple[int, str] | None:
        rows = self._select(
            "SELECT tree_size, signed_note FROM ppl_index_notes ORDER BY tree_size DESC LIMIT 1",
            (),
        )
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def notes(self, upto: int) -> dict[int, str]:
        """Every index note up to a tree size (an audit bundle's)."""
        rows = self._select(
            "SELECT tree_size, signed_note FROM ppl_index_notes WHERE tree_size <= ? "
            "ORDER BY tree_size",
            (upto,),
        )
        return {int(size): str(note) for size, note in rows}

    # --- the one write --------------------------------------------------------------------
    def commit(self, expected: int, batch: IndexBatch) -> None:
        """Write one checkpoint's indexing and move the position, if nobody moved it first.

        Raises:
            PositionMovedError: the stored position is not ``expected`` (nothing is written).
        """
        database = self.database
        with database.transaction(write=True) as cursor:
            cursor.execute(
                self._q(
                    "UPDATE ppl_index_position SET tree_size = ? "
                    "WHERE singleton = 1 AND tree_size = ?"
                ),
                (batch.tree_size, expected),
            )
            if cursor.rowcount != 1:
                raise PositionMovedError(f"index position moved from {expected}")
            database.execute_rows(
                cursor,
                "INSERT INTO ppl_index_state (kind, id, state)",
                batch.states,
                "ON CONFLICT (kind, id) DO UPDATE SET state = excluded.state",
            )
            database.execute_rows(
                cursor,
                "INSERT INTO ppl_index_entries (map_id, path, map_key, value)",
                batch.entries,
                "ON CONFLICT (map_id, path) DO UPDATE SET value = excluded.value",
            )
            database.execute_rows(
                cursor,
                "INSERT INTO ppl_index_nodes (map_id, node_key, node)",
                [(m, key, encode_node(node)) for m, key, node in batch.nodes],
                "ON CONFLICT (map_id, node_key) DO UPDATE SET node = excluded.node",
            )
            database.execute_rows(
                cursor,
                "INSERT INTO ppl_index_tops (map_id, top, entries)",
                [
                    (m, None if t.top is None else encode_child(t.top), t.entries)
                    for m, t in sorted(batch.tops.items())
                ],
                "ON CONFLICT (map_id) DO UPDATE SET top = excluded.top, entries = excluded.entries",
            )
            cursor.execute(
                self._q("INSERT INTO ppl_index_notes (tree_size, signed_note) VALUES (?, ?)"),
                (batch.tree_size, batch.signed_note),
            )


def dumps(state: Mapping[str, Any]) -> str:
    """A state row's JSON (sorted keys: rows compare equal when states do)."""
    return json.dumps(state, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
