"""The Merkle log's storage beside the events: leaves, subtree nodes, position, checkpoints.

Tables (same database, and on PostgreSQL the same schema, as the events):

* ``ppl_log_leaves``: leaf index → the event it is (notification id, originator id and version)
  and its leaf hash. Dense indices 0, 1, 2, … even where notification ids have gaps.
* ``ppl_log_nodes``: the hash of every perfect subtree, by (level, index)
  (audit.offline.merkle_nodes).
* ``ppl_log_position``: one row — tree size and last integrated notification id. The sequencer
  updates it by compare-and-set **in the same transaction** as the leaves and nodes it adds, so
  a crash loses or duplicates nothing and two sequencers cannot both integrate a batch.
* ``ppl_log_checkpoints``: signed checkpoints, primary key tree size — the log can never store
  two roots for one size.

Server-side code (SQLite and psycopg); the offline verifier never imports it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from audit.database.connections import Database, PostgresDatabase, SqliteDatabase

NodeId = tuple[int, int]
_SQL_NAME = re.compile(r"[a-z_][a-z0-9_]*")  # a table or column name written into a statement


class LogStoreError(Exception):
    """Operational failure of the log store (not an integrity failure)."""


class PositionMovedError(LogStoreError):
    """Another sequencer integrated events first; re-read the position and retry."""


class ConflictingCheckpointError(LogStoreError):
    """A checkpoint for this size with another root exists: the log must never sign both."""

    def __init__(self, tree_size: int) -> None:
        super().__init__(f"checkpoint for tree size {tree_size} exists with another root")
        self.tree_size = tree_size


@dataclass(frozen=True, slots=True)
class LogPosition:
    tree_size: int
    last_notification_id: int


@dataclass(frozen=True, slots=True)
class LeafRecord:
    leaf_index: int
    notification_id: int
    originator_id: UUID
    originator_version: int
    leaf_hash: bytes


@dataclass(frozen=True, slots=True)
class CheckpointRecord:
    tree_size: int
    root: bytes
    signed_note: str
    created_at: str


class LogStore:
    """The log's operations, on the events' database (audit.database.connections: SQLite or
    PostgreSQL)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.int_type = database.int_type
        self.blob_type = database.blob_type

    def _transaction(self, *, write: bool) -> Any:
        """Context manager yielding a cursor inside one transaction."""
        return self.database.transaction(write=write)

    def close(self) -> None:
        self.database.close()

    def _q(self, statement: str) -> str:
        return self.database.q(statement)

    # --- schema -----------------------------------------------------------------------------
    def create_tables(self) -> None:
        big, blob = self.int_type, self.blob_type
        statements = [
            f"CREATE TABLE IF NOT EXISTS ppl_log_position (singleton {big} PRIMARY KEY "
            f"CHECK (singleton = 1), tree_size {big} NOT NULL, "
            f"last_notification_id {big} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS ppl_log_leaves (leaf_index {big} PRIMARY KEY, "
            f"notification_id {big} NOT NULL UNIQUE, originator_id TEXT NOT NULL, "
            f"originator_version {big} NOT NULL, leaf_hash {blob} NOT NULL, "
            "UNIQUE (originator_id, originator_version))",
            f"CREATE TABLE IF NOT EXISTS ppl_log_nodes (level {big} NOT NULL, "
            f"node_index {big} NOT NULL, hash {blob} NOT NULL, PRIMARY KEY (level, node_index))",
            f"CREATE TABLE IF NOT EXISTS ppl_log_checkpoints (tree_size {big} PRIMARY KEY, "
            f"root {blob} NOT NULL, signed_note TEXT NOT NULL, created_at TEXT NOT NULL)",
        ]
        with self.database.schema_transaction() as cursor:
            for statement in statements:
                cursor.execute(statement)
            cursor.execute(
                "INSERT INTO ppl_log_position (singleton, tree_size, last_notification_id) "
                "VALUES (1, 0, 0) ON CONFLICT (singleton) DO NOTHING"
            )

    # --- position and integration -----------------------------------------------------------
    def position(self) -> LogPosition:
        with self.database.autocommit() as cursor:
            cursor.execute("SELECT tree_size, last_notification_id FROM ppl_log_position")
            size, last = cursor.fetchone()
        return LogPosition(int(size), int(last))

    def integrate(
        self,
        expected: LogPosition,
        leaves: Sequence[LeafRecord],
        nodes: Sequence[tuple[NodeId, bytes]],
        new: LogPosition,
    ) -> None:
        """Add leaves and nodes and move the position, atomically, if nobody moved it first.

        Raises:
            PositionMovedError: the stored position is not ``expected`` (nothing is written).
        """
        with self._transaction(write=True) as cursor:
            cursor.execute(
                self._q(
                    "UPDATE ppl_log_position SET tree_size = ?, last_notification_id = ? "
                    "WHERE singleton = 1 AND tree_size = ? AND last_notification_id = ?"
                ),
                (new.tree_size, new.last_notification_id, expected.tree_size,
                 expected.last_notification_id),
            )  # fmt: skip
            if cursor.rowcount != 1:
                raise PositionMovedError(f"log position moved from {expected}")
            self.database.execute_rows(
                cursor,
                "INSERT INTO ppl_log_leaves (leaf_index, notification_id, originator_id, "
                "originator_version, leaf_hash)",
                [
                    (leaf.leaf_index, leaf.notification_id, str(leaf.originator_id),
                     leaf.originator_version, leaf.leaf_hash)
                    for leaf in leaves
                ],
            )  # fmt: skip
            self.database.execute_rows(
                cursor,
                "INSERT INTO ppl_log_nodes (level, node_index, hash)",
                [(level, index, digest) for (level, index), digest in nodes],
            )

    # --- reads ------------------------------------------------------------------------------
    def unlogged_count(self, events_table: str, notification_column: str) -> int:
        """How many stored events come after the log's position (not integrated yet).

        A count over the range of the events' notification-id index after the position, so its
        cost is the backlog's, not the store's: cheap enough for every readiness probe while
        the log keeps up. Two statements, the position first and then the count with it as a
        parameter: PostgreSQL plans that as a small index-only range scan, while the position
        as a sub-select is a value it cannot estimate at planning time, and it launches a
        parallel scan (measured on 500,000 events, 10 after the position: 0.04 ms against
        11 ms, PostgreSQL 15). A sequencer moving the position in between only makes this
        count include the events it integrated meanwhile. The events' table and its
        notification-id column are eventsourcing's (api.bootstrap names them):
        ``stored_events``/``rowid`` on SQLite, ``<app>_events``/``notification_id`` on
        PostgreSQL.

        Raises:
            ValueError: a name that is not a plain lower-case SQL identifier.
        """
        for name in (events_table, notification_column):
            if not _SQL_NAME.fullmatch(name):
                raise ValueError(f"SQL name {name!r}: want a plain lower-case identifier")
        with self.database.autocommit() as cursor:
            cursor.execute("SELECT last_notification_id FROM ppl_log_position")
            (last,) = cursor.fetchone()
            cursor.execute(
                self._q(
                    f"SELECT count(*) FROM {events_table} WHERE {notification_column} > ?"  # noqa: S608 (checked names)
                ),
                (int(last),),
            )
            (count,) = cursor.fetchone()
        return int(count)

    def nodes(self, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
        """Fetch node hashes by id in one query (a proof needs O(log n) of them)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        # OR of (level = ? AND node_index = ?) pairs: both SQLite and PostgreSQL answer it from
        # the primary key. SQLite 3.40 scans the whole table for a row-value IN (VALUES ...),
        # which made proofs linear in the log size (docs/benchmarks.md, "Audit").
        pairs = " OR ".join(["(level = ? AND node_index = ?)"] * len(wanted))
        with self.database.autocommit() as cursor:
            cursor.execute(
                self._q(
                    "SELECT level, node_index, hash FROM ppl_log_nodes "  # noqa: S608 (placeholders)
                    f"WHERE {pairs}"
                ),
                [number for node in wanted for number in node],
            )
            return {(int(level), int(index)): bytes(digest) for level, index, digest in cursor}

    def node_range(self, level: int, start: int, stop: int) -> list[tuple[int, bytes]]:
        """(index, hash) of the stored nodes of ``level`` with start ≤ index < stop, in order.

        One query, a range of the primary key: what a tlog tile needs (audit.log.tiles). Nodes
        not stored (not completed yet) are simply absent; the caller checks what it got.
        """
        rows = self._select(
            "SELECT node_index, hash FROM ppl_log_nodes WHERE level = ? AND node_index >= ? "
            "AND node_index < ? ORDER BY node_index",
            (level, start, stop),
        )
        return [(int(index), bytes(digest)) for index, digest in rows]

    def _select(self, statement: str, parameters: Sequence[Any]) -> list[Any]:
        """The rows of one SELECT (a lone statement: one round trip)."""
        with self.database.autocommit() as cursor:
            cursor.execute(self._q(statement), parameters)
            return list(cursor)

    def _leaf(self, where: str, parameters: Sequence[Any]) -> LeafRecord | None:
        rows = self._select(
            "SELECT leaf_index, notification_id, originator_id, originator_version, "  # noqa: S608 (fixed clauses)
            f"leaf_hash FROM ppl_log_leaves WHERE {where}",
            parameters,
        )
        return _leaf_record(rows[0]) if rows else None

    def leaf(self, leaf_index: int) -> LeafRecord | None:
        return self._leaf("leaf_index = ?", (leaf_index,))

    def leaf_for_event(self, originator_id: UUID, version: int) -> LeafRecord | None:
        return self._leaf(
            "originator_id = ? AND originator_version = ?", (str(originator_id), version)
        )

    def leaves(self, start: int, stop: int) -> list[LeafRecord]:
        """Leaves with start ≤ index < stop, in order."""
        with self.database.autocommit() as cursor:
            cursor.execute(
                self._q(
                    "SELECT leaf_index, notification_id, originator_id, originator_version, "
                    "leaf_hash FROM ppl_log_leaves WHERE leaf_index >= ? AND leaf_index < ? "
                    "ORDER BY leaf_index"
                ),
                (start, stop),
            )
            return [_leaf_record(row) for row in cursor]

    # --- checkpoints ------------------------------------------------------------------------
    def add_checkpoint(self, record: CheckpointRecord) -> None:
        """Store a checkpoint; storing the same root again is a no-op.

        Raises:
            ConflictingCheckpointError: a different root is stored for this size.
        """
        existing = self.checkpoint(record.tree_size)
        if existing is not None:
            if existing.root != record.root:
                raise ConflictingCheckpointError(record.tree_size)
            return
        with self._transaction(write=True) as cursor:
            cursor.execute(
                self._q(
                    "INSERT INTO ppl_log_checkpoints (tree_size, root, signed_note, created_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (tree_size) DO NOTHING"
                ),
                (record.tree_size, record.root, record.signed_note, record.created_at),
            )
        stored = self.checkpoint(record.tree_size)
        if stored is None or stored.root != record.root:
            raise ConflictingCheckpointError(record.tree_size)

    def _checkpoints(self, where: str, parameters: Sequence[Any]) -> list[CheckpointRecord]:
        rows = self._select(
            "SELECT tree_size, root, signed_note, created_at FROM ppl_log_checkpoints "  # noqa: S608 (fixed clauses)
            f"{where}",
            parameters,
        )
        return [
            CheckpointRecord(int(size), bytes(root), str(note), str(created))
            for size, root, note, created in rows
        ]

    def checkpoint(self, tree_size: int) -> CheckpointRecord | None:
        found = self._checkpoints("WHERE tree_size = ?", (tree_size,))
        return found[0] if found else None

    def latest_checkpoint(self) -> CheckpointRecord | None:
        found = self._checkpoints("ORDER BY tree_size DESC LIMIT 1", ())
        return found[0] if found else None

    def checkpoints(self) -> list[CheckpointRecord]:
        return self._checkpoints("ORDER BY tree_size", ())

    def next_checkpoint(self, after: int) -> CheckpointRecord | None:
        """The first checkpoint larger than ``after`` (how long witnessing has lagged)."""
        found = self._checkpoints("WHERE tree_size > ? ORDER BY tree_size LIMIT 1", (after,))
        return found[0] if found else None

    def checkpoints_after(self, after: int, limit: int) -> list[CheckpointRecord]:
        """The first ``limit`` checkpoints larger than ``after``, smallest first."""
        return self._checkpoints(
            "WHERE tree_size > ? ORDER BY tree_size LIMIT ?", (after, max(0, limit))
        )


def _leaf_record(row: Sequence[Any]) -> LeafRecord:
    index, notification_id, originator_id, version, digest = row
    return LeafRecord(
        int(index), int(notification_id), UUID(str(originator_id)), int(version), bytes(digest)
    )


class SqliteLogStore(LogStore):
    """The log tables in the ledger's SQLite file (WAL mode, set by eventsourcing)."""

    def __init__(self, path: str) -> None:
        super().__init__(SqliteDatabase(path))


class PostgresLogStore(LogStore):
    """The log tables in the ledger's PostgreSQL database and schema."""

    def __init__(self, conninfo: str, schema: str | None = None) -> None:
        super().__init__(PostgresDatabase(conninfo, schema))
