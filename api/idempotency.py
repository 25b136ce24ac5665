"""``Idempotency-Key`` on every POST: a retried request returns the first response, writes nothing.

Why a table and not a cache: a client retries after a timeout, possibly against another process
of the service; the first response must be found wherever it was made. Keys are per token (two
callers may pick the same key). The record holds a hash of the request (method, path and the
validated body in canonical JSON, so spacing or key order do not matter) and, once done, the
status and body of the response. A key with a different request → 422
``idempotency_key_reused``; while the first request still runs → 409
``idempotency_key_in_progress``.

Responses that the domain refused (4xx) are recorded too: the retry gets the same refusal.
When the request fails for a reason that is not the client's (store down, internal error), the
key is released so the retry can run. If the process dies between the command's save and the
record (a narrow window), the key stays "in progress": docs/api.md says to re-read and use a new
key.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from audit.database import Database

KEY_PATTERN = re.compile(r"[\x21-\x7e]{8,200}")  # printable ASCII, no spaces


@dataclass(frozen=True, slots=True)
class Recorded:
    """The response first given to a request with this key."""

    status: int
    body: Any
    headers: dict[str, str]


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
                "PRIMARY KEY (principal, idem_key))"
            )

    def begin(self, principal: str, key: str, digest: str) -> Recorded | None:
        """Claim ``key`` for this request (None), or return the first response to it.

        Raises:
            KeyReusedError: the key was used for a different request.
            KeyInProgressError: the first request with this key has not finished.
        """
        now = datetime.now(UTC).isoformat()
        # Lone statements, each atomic on its own: the claim is one round trip (no BEGIN or
        # COMMIT around it), and a key already taken costs a second to read its record.
        with self.db.autocommit() as cursor:
            cursor.execute(
                self.db.q(
                    "INSERT INTO ppl_api_idempotency (principal, idem_key, request_hash, "
                    "created_at) VALUES (?, ?, ?, ?) ON CONFLICT (principal, idem_key) DO NOTHING "
                    "RETURNING 1"
                ),
                (principal, key, digest, now),
            )
            if cursor.fetchone() is not None:
                return None
            cursor.execute(
                self.db.q(
                    "SELECT request_hash, status, body, headers FROM ppl_api_idempotency "
                    "WHERE principal = ? AND idem_key = ?"
                ),
                (principal, key),
            )
            row = cursor.fetchone()
        if row is None:  # released between our insert and select: the caller may retry
            raise KeyInProgressError(key)
        if row[0] != digest:
            raise KeyReusedError(key)
        if row[1] is None:
            raise KeyInProgressError(key)
        return Recorded(int(row[1]), orjson.loads(row[2]), orjson.loads(row[3]))

    def finish(
        self, principal: str, key: str, status: int, body: Any, headers: dict[str, str]
    ) -> None:
        with self.db.autocommit() as cursor:
            cursor.execute(
                self.db.q(
                    "UPDATE ppl_api_idempotency SET status = ?, body = ?, headers = ? "
                    "WHERE principal = ? AND idem_key = ?"
                ),
                (status, orjson.dumps(body).decode(), orjson.dumps(headers).decode(),
                 principal, key),
            )  # fmt: skip

    def release(self, principal: str, key: str) -> None:
        """Forget an unfinished claim (the request failed for a reason not the client's)."""
        with self.db.autocommit() as cursor:
            cursor.execute(
                self.db.q(
                    "DELETE FROM ppl_api_idempotency "
                    "WHERE principal = ? AND idem_key = ? AND status IS NULL"
                ),
                (principal, key),
            )
