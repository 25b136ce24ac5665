"""``Idempotency-Key`` on every POST: a retried request returns the first response, writes nothing.

Why a table and not a cache: a client retries after a timeout, possibly against another process
of the service; the first response must be found wherever it was made. Keys are per token (two
callers may pick the same key). The record holds a hash of the request (method, path and the
validated body in canonical JSON, so spacing or key order do not matter) and the status, body
and headers of the first response. A key with a different request → 422
``idempotency_key_reused``; while the first request still runs → 409
``idempotency_key_in_progress``.

Who writes the record: a command that saves events writes it in the same transaction as its
first save (api.receipts), so the record exists exactly when the events do. A command on one
record stores the record's version after it (``answer_version``): its response follows from
that version, and is rendered from it after the commit, the first time and on every retry
(``Answered``). A request whose command saved nothing — a refusal (the retry gets the same
refusal) or a command with nothing to change — records its response here afterwards
(``record``), unless another request took the key meanwhile, whose record it then answers with.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from audit.database.connections import Database

KEY_PATTERN = re.compile(r"[\x21-\x7e]{8,200}")  # printable ASCII, no spaces

Outcome = tuple[int, dict[str, Any], dict[str, str]]
"""(HTTP status, JSON body, extra headers such as Location and ETag)."""

RECORD_COLUMNS = (
    "principal, idem_key, request_hash, status, body, headers, created_at, "
    "answer_id, answer_version"
)
"""The columns of ``record_row``, in its order (api.receipts inserts the same row)."""
INSERT_RECORD = (
    "INSERT INTO ppl_api_idempotency (principal, idem_key, request_hash, status, body, headers, "
    "created_at, answer_id, answer_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
"""``record_row``'s statement (SQLite spelling; ``Database.q`` for others)."""


def record_row(
    principal: str,
    key: str,
    digest: str,
    outcome: Outcome | None,
    created_at: str,
    answer: Answered | None = None,
) -> tuple[Any, ...]:
    """A row of ``ppl_api_idempotency``: a key's response, the record (and its version) that
    answers it, or its claim (neither)."""
    if outcome is None:
        if answer is None:
            return (principal, key, digest, None, None, None, created_at, None, None)
        return (principal, key, digest, None, None, None, created_at, str(answer.record_id),
                answer.version)  # fmt: skip
    status, body, headers = outcome
    return (principal, key, digest, status, orjson.dumps(body).decode(),
            orjson.dumps(headers).decode(), created_at, None, None)  # fmt: skip


def now() -> str:
    """When a record is made (UTC ISO-8601): kept to let an operator purge old keys."""
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True, slots=True)
class Recorded:
    """The response first given to a request with this key."""

    status: int
    body: Any
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class Answered:
    """The first request with this key saved a command on ``record_id``, which stood at
    ``version`` after it: its response is the route's, rendered from those two."""

    record_id: UUID
    version: int


class KeyReusedError(Exception):
    pass


class KeyInProgressError(Exception):
    pass


def request_hash(method: str, path: str, body: Any) -> str:
    payload = orjson.dumps([method, path, body], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).hexdigest()


class IdempotencyStore:
    """The ``ppl_api_idempotency`` table in the ledger's database."""

    def __init__(self, database: Database) -> None:
        self.db = database
        with self.db.schema_transaction() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS ppl_api_idempotency ("
                "principal TEXT NOT NULL, idem_key TEXT NOT NULL, request_hash TEXT NOT NULL, "
                "status INTEGER, body TEXT, headers TEXT, created_at TEXT NOT NULL, "
                "answer_id TEXT, answer_version BIGINT, PRIMARY KEY (principal, idem_key))"
            )
            _add_answer_version(cursor, postgres=self.db.is_postgres)

    def first(self, principal: str, key: str, digest: str) -> Recorded | Answered | None:
        """The first response to this request under ``key`` (or the version it follows
        from), or None if the key is free.

        Raises:
            KeyReusedError: the key was used for a different request.
            KeyInProgressError: the first request with this key has not finished.
        """
        with self.db.autocommit() as cursor:
            cursor.execute(
                self.db.q(
                    "SELECT request_hash, status, body, headers, answer_id, answer_version "
                    "FROM ppl_api_idempotency "
                    "WHERE principal = ? AND idem_key = ?"
                ),
                (principal, key),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        if row[0] != digest:
            raise KeyReusedError(key)
        if row[5] is not None:
            return Answered(UUID(row[4]), int(row[5]))
        if row[1] is None:
            raise KeyInProgressError(key)
        return Recorded(int(row[1]), orjson.loads(row[2]), orjson.loads(row[3]))

    def record(
        self, principal: str, key: str, digest: str, outcome: Outcome
    ) -> Recorded | Answered | None:
        """Record the response of a request that saved nothing; None once recorded.

        If another request holds the key already, nothing is written and its record is the
        answer: the first response (``Recorded``), or KeyReusedError / KeyInProgressError as in
        ``first``.
        """
        # One statement, atomic on its own: the usual case is one round trip.
        with self.db.autocommit() as cursor:
            cursor.execute(
                self.db.q(
                    INSERT_RECORD + " ON CONFLICT (principal, idem_key) DO NOTHING RETURNING 1"
                ),
                record_row(principal, key, digest, outcome, now()),
            )
            if cursor.fetchone() is not None:
                return None
        recorded = self.first(principal, key, digest)
        if recorded is None:  # released between our insert and our read: the caller may retry
            raise KeyInProgressError(key)
        return recorded

    def finish(self, principal: str, key: str, outcome: Outcome) -> None:
        """Add the response to the claim that the command's first save wrote."""
        status, body, headers = outcome
        with self.db.autocommit() as cursor:
            cursor.execute(
                self.db.q(
                    "UPDATE ppl_api_idempotency SET status = ?, body = ?, headers = ? "
                    "WHERE principal = ? AND idem_key = ? AND status IS NULL"
                ),
                (status, orjson.dumps(body).decode(), orjson.dumps(headers).decode(),
                 principal, key),
            )  # fmt: skip

    def release(self, principal: str, key: str) -> None:
        """Forget an unfinished claim (the request failed for a reason not the client's).

        The events of the saves before the failure stay; the retry runs the command again,
        which must then find nothing left to do (as a certification round's evaluation does).
        """
        with self.db.autocommit() as cursor:
            cursor.execute(
                self.db.q(
                    "DELETE FROM ppl_api_idempotency "
                    "WHERE principal = ? AND idem_key = ? AND status IS NULL"
                ),
                (principal, key),
            )


def _add_answer_version(cursor: Any, *, postgres: bool) -> None:
    """Add the answer's columns to a table made by an earlier release (its rows keep their
    responses; NULL there means none).

    Only the missing ones: on PostgreSQL even ``ADD COLUMN IF NOT EXISTS`` takes the table's
    exclusive lock, which every process start would otherwise take.
    """
    if postgres:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'ppl_api_idempotency'"
        )
        present = {row[0] for row in cursor.fetchall()}
    else:
        cursor.execute("PRAGMA table_info(ppl_api_idempotency)")
        present = {row[1] for row in cursor.fetchall()}
    for name, kind in (("answer_id", "TEXT"), ("answer_version", "BIGINT")):
        if name not in present:
            cursor.execute(f"ALTER TABLE ppl_api_idempotency ADD COLUMN {name} {kind}")
