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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from audit.database.connections import Database
from audit.log.log_store import PositionMovedError
from audit.offline.map_tree import Child, Node

_NODE_KIND, _LEAF_KIND = 0, 1
CHUNK = 2000  # keys per IN (…) list: far below SQLite's and PostgreSQL's parameter limits
MAX_WALKS = 100  # lookups read in one statement (IndexStore.lookup_rows)


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


@dataclass(frozen=True, slots=True)
class Walk:
    """What one lookup reads of a map: the nodes at ``node_keys`` and the entry at ``path``."""

    map_id: str
    node_keys: Sequence[bytes]
    path: bytes


@dataclass(frozen=True, slots=True)
class LookupRows:
    """One consistent read for lookups (``IndexStore.lookup_rows``): the latest index note,
    its checkpoint with the stored cosignature lines of it, the maps' tops and, per walk, the
    nodes found and the entry (None: no entry at the path)."""

    latest: LatestIndex
    cosignature_lines: list[str]
    nodes: dict[str, dict[bytes, Node]]
    entries: list[IndexedEntry | None]


@dataclass
class IndexBatch:
    """Everything one indexing pass writes, in one transaction: the signed note of the last
    checkpoint it indexed (``tree_size``) and of those before it in the pass (``earlier``),
    and the maps' state, entries, nodes and tops as they stand at ``tree_size``."""

    tree_size: int
    signed_note: str
    states: list[tuple[str, str, str]]  # kind, id, JSON
    entries: list[tuple[str, bytes, bytes, bytes]]  # map id, path, key, value
    nodes: list[tuple[str, bytes, Node]]  # map id, node key, node
    tops: dict[str, MapTop]
    earlier: list[tuple[int, str]] = field(default_factory=list)  # (tree size, signed note)


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
            found.update({str(i): orjson.loads(state) for i, state in rows})
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

    def nodes_above(self, map_id: str, depth: int) -> dict[bytes, Node]:
        """Every stored node of one map at a depth below ``depth`` (one range read: a node key
        starts with its depth, two bytes big-endian, and keys compare byte by byte)."""
        rows = self._select(
            "SELECT node_key, node FROM ppl_index_nodes WHERE map_id = ? AND node_key < ?",
            [map_id, depth.to_bytes(2, "big")],
        )
        return {bytes(key): decode_node(bytes(node)) for key, node in rows}

    def lookup_rows(self, walks: Sequence[Walk], cosignatures: bool) -> LookupRows | None:
        """Everything lookups answer from, in **one statement**: the latest index note, its
        checkpoint's signed note and (``cosignatures``: the log keeps a witness store) the
        stored cosignature lines of that checkpoint by witness, the maps' tops, and each
        walk's nodes and entry. One statement reads one snapshot (a PostgreSQL statement, a
        SQLite read), so the parts agree with each other whatever the indexer commits
        meanwhile — and a lookup is one round trip. None before the first note (the lines
        of cosignatures sorted by witness in code-point order, as ``WitnessStore`` gives them).

        Raises:
            ValueError: more than ``MAX_WALKS`` walks (a statement of 2 + 2 per walk SELECTs
                stays under SQLite's 500 terms of a compound SELECT).
        """
        if len(walks) > MAX_WALKS:
            raise ValueError(f"{len(walks)} lookups in one read: at most {MAX_WALKS}")
        # typed NULLs: PostgreSQL types each UNION column from its first branches
        text, blob = "CAST(NULL AS TEXT)", f"CAST(NULL AS {self.database.blob_type})"
        parts = [
            "WITH n AS (SELECT tree_size, signed_note FROM ppl_index_notes "  # noqa: S608 (types)
            "ORDER BY tree_size DESC LIMIT 1) "
            f"SELECT 0, n.tree_size, n.signed_note, c.signed_note, c.root, {blob} "
            "FROM n LEFT JOIN ppl_log_checkpoints c ON c.tree_size = n.tree_size",
            f"SELECT 1, entries, map_id, {text}, top, {blob} FROM ppl_index_tops",  # noqa: S608 (types)
        ]
        parameters: list[Any] = []
        for number, walk in enumerate(walks):
            if walk.node_keys:
                marks = ", ".join("?" * len(walk.node_keys))
                parts.append(
                    f"SELECT 2, 0, map_id, {text}, node_key, node FROM ppl_index_nodes "  # noqa: S608 (placeholders)
                    f"WHERE map_id = ? AND node_key IN ({marks})"
                )
                parameters += [walk.map_id, *walk.node_keys]
            parts.append(
                f"SELECT 3, {number}, map_id, {text}, map_key, value FROM ppl_index_entries "  # noqa: S608 (an int)
                "WHERE map_id = ? AND path = ?"
            )
            parameters += [walk.map_id, walk.path]
        if cosignatures:
            parts.append(
                f"SELECT 4, 0, s.witness, s.line, {blob}, {blob} FROM n "  # noqa: S608 (types)
                "JOIN ppl_log_checkpoints c ON c.tree_size = n.tree_size "
                "JOIN ppl_log_cosignatures s ON s.tree_size = c.tree_size AND s.root = c.root"
            )
        rows = self._select(" UNION ALL ".join(parts), parameters)
        heads = [row for row in rows if int(row[0]) == 0]
        if not heads:
            return None
        _, size, signed, checkpoint, _, _ = heads[0]
        tops: dict[str, MapTop] = {}
        nodes: dict[str, dict[bytes, Node]] = {walk.map_id: {} for walk in walks}
        entries: list[IndexedEntry | None] = [None] * len(walks)
        lines: list[tuple[str, str]] = []
        for row_kind, number, text, line, first, second in rows:
            kind = int(row_kind)
            if kind == 1:
                top = None if first is None else decode_child(bytes(first))[0]
                tops[str(text)] = MapTop(top, int(number))
            elif kind == 2:
                nodes[str(text)][bytes(first)] = decode_node(bytes(second))
            elif kind == 3:
                entries[int(number)] = IndexedEntry(bytes(first), bytes(second))
            elif kind == 4:
                lines.append((str(text), str(line)))
        latest = LatestIndex(
            int(size), str(signed), None if checkpoint is None else str(checkpoint), tops
        )
        return LookupRows(latest, [line for _, line in sorted(lines)], nodes, entries)

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
            database.execute_rows(
                cursor,
                "INSERT INTO ppl_index_notes (tree_size, signed_note)",
                [*batch.earlier, (batch.tree_size, batch.signed_note)],
            )


def dumps(state: Mapping[str, Any]) -> str:
    """A state row's JSON (sorted keys: rows compare equal when states do). orjson: the
    indexer writes a few rows per filing, and the standard encoder was a tenth of its time;
    the rows are the server's working state, never signed or hashed."""
    return orjson.dumps(state, option=orjson.OPT_SORT_KEYS).decode()
