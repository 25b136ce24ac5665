"""Server-side tables beside the events: the ledger's SQLite file, its PostgreSQL schema, or memory.

Why a module of its own: the Merkle log's store (audit.log_store) and the read models
(projections/) run the same SQL on three stores — the ledger's SQLite file (embedded default),
its PostgreSQL database and schema (the real store), and a private in-memory SQLite database
(as-of queries replay a prefix of the log without touching the served tables). Only
placeholders and a few column types differ between dialects; the connection and transaction
plumbing is written once, here. The offline verifier never imports it.
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql


class Database(ABC):
    """A transactional connection to the store that holds the events' side tables."""

    placeholder = "?"
    int_type = "INTEGER"
    blob_type = "BLOB"
    is_postgres = False

    @abstractmethod
    def transaction(self, *, write: bool) -> Any:
        """Context manager yielding a DB-API cursor inside one transaction."""

    @abstractmethod
    def close(self) -> None: ...

    def q(self, statement: str) -> str:
        """``statement`` with ``?`` placeholders in this dialect's spelling."""
        return statement.replace("?", self.placeholder)


class SqliteDatabase(Database):
    """Tables in a SQLite file (the ledger's own, WAL mode) or in memory (``":memory:"``)."""

    def __init__(self, path: str) -> None:
        self._connection = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=30
        )
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[sqlite3.Cursor]:
        # BEGIN IMMEDIATE takes the write lock up front: two writers serialize instead of
        # failing at commit, and the compare-and-set on the position then decides.
        with self._lock:
            cursor = self._connection.cursor()
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def close(self) -> None:
        self._connection.close()


class PostgresDatabase(Database):
    """Tables in the ledger's PostgreSQL database, in its schema; one connection per thread."""

    placeholder = "%s"
    int_type = "BIGINT"
    blob_type = "BYTEA"
    is_postgres = True

    def __init__(self, conninfo: str, schema: str | None = None) -> None:
        self._conninfo = conninfo
        self._schema = schema
        self._local = threading.local()
        self._connections: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()

    def _connection(self) -> psycopg.Connection[Any]:
        connection: psycopg.Connection[Any] | None = getattr(self._local, "connection", None)
        if connection is None or connection.closed or connection.broken:
            connection = psycopg.connect(self._conninfo, autocommit=True)
            if self._schema:
                connection.execute(
                    sql.SQL("SET search_path TO {}").format(sql.Identifier(self._schema))
                )
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[psycopg.Cursor[Any]]:
        connection = self._connection()
        with connection.transaction(), connection.cursor() as cursor:
            yield cursor

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()


def memory_database() -> SqliteDatabase:
    """A private, empty in-memory database (as-of replays, tests)."""
    return SqliteDatabase(":memory:")
