"""Witness cosignatures and each witness's state, beside the log's tables.

Tables (the events' database and, on PostgreSQL, schema):

* ``ppl_log_cosignatures``: one verified cosignature line per (checkpoint tree size, witness),
  with the root it cosigned;
  the line is served after the log's own signature wherever the checkpoint goes. A
  cosignature is only ever added, never replaced: a witness cosigns a checkpoint once.
* ``ppl_log_witnessed``: per witness policy (its fingerprint), the largest checkpoint size its
  quorum was met at — raised as cosignatures arrive, so finding the published checkpoint is
  one read, not a scan of the history on every request;
* ``ppl_log_witness_state``: per witness (``name+keyid``): the size it is known to hold (what
  the next ``add-checkpoint`` sends as ``old``), the largest size it cosigned and when, and the
  back-off after failures (count, next attempt, last error) — what ``ppl log witnesses`` and
  ``/ready`` report.

Server-side code; the offline verifier never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from audit.database.connections import Database


@dataclass(frozen=True, slots=True)
class StoredCosignature:
    tree_size: int
    witness: str  # name+keyid
    line: str  # "— <name> <base64>\n"
    timestamp: int  # the witness's POSIX time in the cosignature
    received_at: str
    root: bytes  # the root it cosigned: a line is only ever served with that root


@dataclass(frozen=True, slots=True)
class WitnessState:
    witness: str
    known_size: int = 0  # the witness's latest cosigned size, as far as the log knows
    cosigned_size: int = 0  # the largest checkpoint it cosigned for this log
    cosigned_at: str | None = None  # when that cosignature arrived (UTC ISO-8601)
    failures: int = 0  # consecutive failed submissions
    next_attempt: str | None = None  # no submission before this time (back-off)
    last_error: str | None = None
    last_attempt: str | None = None


_STATE_COLUMNS = (
    "witness, known_size, cosigned_size, cosigned_at, failures, next_attempt, last_error, "
    "last_attempt"
)


class WitnessStore:
    """Cosignatures and witness states on the events' database (SQLite or PostgreSQL)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def create_tables(self) -> None:
        big, blob = self.database.int_type, self.database.blob_type
        with self.database.schema_transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS ppl_log_cosignatures (tree_size {big} NOT NULL, "
                f"witness TEXT NOT NULL, line TEXT NOT NULL, cosigned_at {big} NOT NULL, "
                f"received_at TEXT NOT NULL, root {blob} NOT NULL, "
                "PRIMARY KEY (tree_size, witness))"
            )
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS ppl_log_witnessed (policy TEXT PRIMARY KEY, "
                f"tree_size {big} NOT NULL)"
            )
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS ppl_log_witness_state (witness TEXT PRIMARY KEY, "
                f"known_size {big} NOT NULL, cosigned_size {big} NOT NULL, cosigned_at TEXT, "
                f"failures {big} NOT NULL, next_attempt TEXT, last_error TEXT, last_attempt TEXT)"
            )

    def _select(self, statement: str, parameters: Sequence[Any]) -> list[Any]:
        with self.database.autocommit() as cursor:
            cursor.execute(self.database.q(statement), parameters)
            return list(cursor)

    # --- cosignatures ---------------------------------------------------------------------------
    def add_cosignature(self, cosignature: StoredCosignature) -> None:
        """Keep a verified cosignature; a second one by the same witness for a size is ignored."""
        with self.database.transaction(write=True) as cursor:
            cursor.execute(
                self.database.q(
                    "INSERT INTO ppl_log_cosignatures (tree_size, witness, line, cosigned_at, "
                    "received_at, root) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (tree_size, witness) DO NOTHING"
                ),
                (cosignature.tree_size, cosignature.witness, cosignature.line,
                 cosignature.timestamp, cosignature.received_at, cosignature.root),
            )  # fmt: skip

    def cosignatures(self, tree_size: int, root: bytes) -> list[StoredCosignature]:
        """The cosignatures of one checkpoint (its size *and* root), by witness name in
        code-point order (sorted here: a PostgreSQL ``ORDER BY`` follows the database's
        collation, and every reader of these lines — the product index's lookups too — must
        put them in one order, so a checkpoint is served as the same bytes everywhere)."""
        rows = self._select(
            "SELECT tree_size, witness, line, cosigned_at, received_at, root "
            "FROM ppl_log_cosignatures WHERE tree_size = ? AND root = ?",
            (tree_size, root),
        )
        return sorted((_cosignature(row) for row in rows), key=lambda c: c.witness)

    def cosignatures_upto(self, tree_size: int) -> dict[tuple[int, bytes], list[StoredCosignature]]:
        """Every cosignature of checkpoints up to ``tree_size``, by (size, root): an audit
        bundle's checkpoints in one read."""
        rows = self._select(
            "SELECT tree_size, witness, line, cosigned_at, received_at, root "
            "FROM ppl_log_cosignatures WHERE tree_size <= ?",
            (tree_size,),
        )
        found: dict[tuple[int, bytes], list[StoredCosignature]] = {}
        for cosignature in sorted(
            (_cosignature(row) for row in rows), key=lambda c: (c.tree_size, c.witness)
        ):  # by witness in code-point order, as ``cosignatures``
            found.setdefault((cosignature.tree_size, cosignature.root), []).append(cosignature)
        return found

    # --- the witnessed checkpoint, per policy ---------------------------------------------------
    def witnessed_size(self, policy: str) -> int | None:
        """The largest size the policy ``policy`` (its fingerprint) was met at, if known."""
        rows = self._select("SELECT tree_size FROM ppl_log_witnessed WHERE policy = ?", (policy,))
        return int(rows[0][0]) if rows else None

    def raise_witnessed(self, policy: str, tree_size: int) -> None:
        """Record that ``policy`` was met at ``tree_size``; the stored size never goes down."""
        with self.database.transaction(write=True) as cursor:
            cursor.execute(
                self.database.q(
                    "INSERT INTO ppl_log_witnessed (policy, tree_size) VALUES (?, ?) "
                    "ON CONFLICT (policy) DO UPDATE SET tree_size = CASE WHEN "
                    "excluded.tree_size > ppl_log_witnessed.tree_size THEN excluded.tree_size "
                    "ELSE ppl_log_witnessed.tree_size END"
                ),
                (policy, tree_size),
            )

    def cosigned_below(self, below: int | None, limit: int = 1000) -> list[tuple[int, bytes, str]]:
        """(tree size, root, witness) of up to ``limit`` cosignatures of sizes under ``below``
        (all sizes when None), largest size first: a page of the history, newest first."""
        where, parameters = ("WHERE tree_size < ? ", (below, limit)) if below else ("", (limit,))
        rows = self._select(
            "SELECT tree_size, root, witness FROM ppl_log_cosignatures "  # noqa: S608 (fixed clauses)
            f"{where}ORDER BY tree_size DESC, witness LIMIT ?",
            parameters,
        )
        return [(int(size), bytes(root), str(witness)) for size, root, witness in rows]

    # --- witness states -------------------------------------------------------------------------
    def state(self, witness: str) -> WitnessState:
        rows = self._select(
            f"SELECT {_STATE_COLUMNS} FROM ppl_log_witness_state WHERE witness = ?",  # noqa: S608 (fixed columns)
            (witness,),
        )
        return _state(rows[0]) if rows else WitnessState(witness)

    def states(self) -> dict[str, WitnessState]:
        rows = self._select(f"SELECT {_STATE_COLUMNS} FROM ppl_log_witness_state", ())  # noqa: S608 (fixed columns)
        return {state.witness: state for state in map(_state, rows)}

    def save_state(self, state: WitnessState) -> None:
        """Write a witness's state. ``cosigned_size`` never goes down: two servers witnessing
        at once may finish in either order."""
        with self.database.transaction(write=True) as cursor:
            cursor.execute(
                self.database.q(
                    f"INSERT INTO ppl_log_witness_state ({_STATE_COLUMNS}) "  # noqa: S608 (fixed columns)
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (witness) DO UPDATE SET "
                    "known_size = excluded.known_size, "
                    "cosigned_at = CASE WHEN excluded.cosigned_size >= "
                    "ppl_log_witness_state.cosigned_size THEN excluded.cosigned_at "
                    "ELSE ppl_log_witness_state.cosigned_at END, "
                    "cosigned_size = CASE WHEN excluded.cosigned_size >= "
                    "ppl_log_witness_state.cosigned_size THEN excluded.cosigned_size "
                    "ELSE ppl_log_witness_state.cosigned_size END, "
                    "failures = excluded.failures, next_attempt = excluded.next_attempt, "
                    "last_error = excluded.last_error, last_attempt = excluded.last_attempt"
                ),
                (state.witness, state.known_size, state.cosigned_size, state.cosigned_at,
                 state.failures, state.next_attempt, state.last_error, state.last_attempt),
            )  # fmt: skip


def _cosignature(row: Sequence[Any]) -> StoredCosignature:
    size, witness, line, timestamp, received, root = row
    return StoredCosignature(
        int(size), str(witness), str(line), int(timestamp), str(received), bytes(root)
    )


def _state(row: Sequence[Any]) -> WitnessState:
    witness, known, cosigned, cosigned_at, failures, next_attempt, error, attempt = row
    return WitnessState(
        str(witness), int(known), int(cosigned), cosigned_at, int(failures), next_attempt,
        error, attempt,
    )  # fmt: skip
