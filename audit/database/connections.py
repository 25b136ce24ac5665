"""Server-side tables beside the events: the ledger's SQLite file, its PostgreSQL schema, or memory.

Why a module of its own: the Merkle log's store (audit.log.log_store) and the read models
(projections/) run the same SQL on three stores — the ledger's SQLite file (embedded default),
its PostgreSQL database and schema (the real store), and a private in-memory SQLite database
(as-of queries replay a prefix of the log without touching the served tables). Only
placeholders and a few column types differ between dialects; the connection and transaction
plumbing is written once, here. The offline verifier never imports it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from audit.database.deadlines import KEEPALIVES, guard_pool
from audit.database.private_files import create_private_file

POOL_MAX_SIZE = 8  # connections per pool: each transaction holds one only while it runs
POOL_TIMEOUT_SECONDS = 1.0  # waiting longer for a connection is an outage: 503, retry
RECONNECT_SECONDS = 2.0  # give up a reconnect attempt soon; the next request tries again
PING_AFTER_IDLE_SECONDS = 1.0  # a connection idle this long is pinged before it is lent
CONNECT_TIMEOUT_SECONDS = 3
IDLE_IN_TRANSACTION_MS = 10_000  # the server ends a transaction its client left this long
MAX_PARAMETERS = 30_000  # per multi-row statement: under SQLite's 32,766 and PostgreSQL's 65,535
SCHEMA_LOCK = 7_310_115_001  # PostgreSQL advisory lock: one process at a time changes tables


class Database(ABC):
    """A transactional connection to the store that holds the events' side tables."""

    placeholder = "?"
    int_type = "INTEGER"
    blob_type = "BLOB"
    is_postgres = False

    @abstractmethod
    def transaction(self, *, write: bool) -> Any:
        """Context manager yielding a DB-API cursor inside one transaction."""

    def schema_transaction(self) -> Any:
        """A write transaction that creates or drops tables, one process at a time.

        Why: PostgreSQL lets two sessions race on ``CREATE TABLE IF NOT EXISTS`` (one fails on
        the catalog's unique index, "pg_type_typname_nsp_index", or with "tuple concurrently
        updated"): ``ppl serve`` workers and the ``ppl`` followers started together on a fresh
        store crashed that way. PostgreSQL serializes on an advisory lock (``SCHEMA_LOCK``);
        SQLite's write transactions are serialized already.
        """
        return self.transaction(write=True)

    @abstractmethod
    def autocommit(self) -> Any:
        """Context manager yielding a cursor whose every statement commits on its own.

        Why beside ``transaction``: a lone statement (claim a key, look up a token) needs no
        BEGIN and COMMIT around it; on PostgreSQL that is one round trip instead of three, on
        the path of every API request (docs/benchmarks.md "API").
        """

    @abstractmethod
    def close(self) -> None: ...

    def q(self, statement: str) -> str:
        """``statement`` with ``?`` placeholders in this dialect's spelling."""
        return statement.replace("?", self.placeholder)

    def execute_rows(
        self, cursor: Any, head: str, rows: Sequence[Sequence[Any]], tail: str = ""
    ) -> None:
        """Run ``head VALUES (..), (..), .. tail`` over ``rows``, many rows per statement.

        Why not ``executemany``: it runs one statement per row (pipelined on PostgreSQL, but
        each still parsed, planned and executed on its own); a batch of a few dozen rows costs
        far less as one statement (docs/benchmarks.md "API"). Rows are sliced so that no
        statement has more than ``MAX_PARAMETERS`` placeholders.
        """
        if not rows:
            return
        width = len(rows[0])
        row = f"({', '.join([self.placeholder] * width)})"
        per_statement = max(1, MAX_PARAMETERS // width)
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values = [value for each in chunk for value in each]
            cursor.execute(f"{head} VALUES {', '.join([row] * len(chunk))} {tail}", values)


@lru_cache(maxsize=512)
def _numbered_rows(width: int, count: int) -> str:
    """``($1, $2), ($3, $4)`` for ``count`` rows of ``width`` values (PostgreSQL's spelling)."""
    numbers = iter(range(1, width * count + 1))
    return ", ".join(
        "(" + ", ".join(f"${next(numbers)}" for _ in range(width)) + ")" for _ in range(count)
    )


WAL_SWITCH_SECONDS = 30.0  # as long as a write may wait for SQLite's lock (SQLITE_LOCK_TIMEOUT)
WAL_RETRY_SECONDS = 0.02


def sqlite_wal(path: str) -> None:
    """Put the SQLite file at ``path`` in WAL mode, waiting for others that hold it.

    Why: switching a file to WAL needs it to oneself, and SQLite may refuse the switch at once
    when the file is busy ("database is locked"), without waiting its timeout. eventsourcing
    switches the file as each of its pooled connections opens; processes started together on
    a fresh ledger file (``ppl serve`` and its ``ppl`` followers) lost that race. Switched here
    first, retrying while the file is busy, it is in WAL mode (the mode is kept in the file)
    before eventsourcing looks.
    """
    if ":memory:" in path or "mode=memory" in path:
        return  # as eventsourcing: a memory database has no journal file
    create_private_file(Path(path))  # 0600: its -wal and -shm files take its mode
    deadline = time.monotonic() + WAL_SWITCH_SECONDS
    while True:
        connection = sqlite3.connect(path, isolation_level=None, timeout=WAL_SWITCH_SECONDS)
        try:
            mode = str(connection.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(WAL_RETRY_SECONDS)
            continue
        finally:
            connection.close()
        if mode.lower() != "wal":
            raise sqlite3.OperationalError(f"{path}: journal mode stays {mode!r}, want WAL")
        return


class SqliteDatabase(Database):
    """Tables in a SQLite file (the ledger's own, WAL mode) or in memory (``":memory:"``)."""

    def __init__(self, path: str) -> None:
        sqlite_wal(path)
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

    @contextmanager
    def autocommit(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:  # isolation_level=None: a statement outside BEGIN commits by itself
            yield self._connection.cursor()

    def close(self) -> None:
        self._connection.close()


class PostgresDatabase(Database):
    """Tables in the ledger's PostgreSQL database, in its schema, through a small pool.

    Why a pool and not a connection per thread: a web server runs requests on a pool of up to
    40 threads, and several of these objects live in one process (log store, read models, the
    API's side tables); a connection per thread and object would exceed PostgreSQL's
    ``max_connections`` (100 by default) under load, and idle threads that exit would leak
    theirs. The pool hands each transaction a connection; one that sat idle is pinged before it
    is lent (``_lend``) and replaced if it died, and a broken one is discarded when returned.
    Waits are short (``POOL_TIMEOUT_SECONDS``, ``RECONNECT_SECONDS``): while the database is
    down a request fails within about a second (the API answers 503 with Retry-After), and the
    first request after it returns reconnects (tests/api/test_store_down.py).
    """

    placeholder = "%s"
    int_type = "BIGINT"
    blob_type = "BYTEA"
    is_postgres = True

    def execute_rows(
        self, cursor: Any, head: str, rows: Sequence[Sequence[Any]], tail: str = ""
    ) -> None:
        """As ``Database.execute_rows``, in PostgreSQL's own ``$n`` placeholders, sent as is.

        Why: psycopg turns ``%s`` placeholders into ``$n`` by parsing the query text on every
        call, and remembers the result only for queries of at most 4 kB; a multi-row statement
        is longer, and that parsing took 40 % of the projection follower's CPU (py-spy,
        docs/benchmarks.md "API"). A ``RawCursor`` on the same connection (and transaction)
        sends the text unparsed.
        """
        if not rows:
            return
        raw = psycopg.RawCursor(cursor.connection)
        width = len(rows[0])
        per_statement = max(1, MAX_PARAMETERS // width)
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values = [value for each in chunk for value in each]
            raw.execute(f"{head} VALUES {_numbered_rows(width, len(chunk))} {tail}", values)

    def __init__(
        self,
        conninfo: str,
        schema: str | None = None,
        *,
        max_size: int = POOL_MAX_SIZE,
        timeout: float = POOL_TIMEOUT_SECONDS,
        name: str = "ppl-side-tables",
    ) -> None:
        """``timeout``: how long a call waits for a pooled connection (a read replica's pool
        waits less: the primary can answer instead, api.read_routing)."""
        self._schema = schema
        self._max_size = max_size
        self._returned_at: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = (
            weakref.WeakKeyDictionary()
        )
        self._pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            kwargs={
                "autocommit": True,
                "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                **KEEPALIVES,
            },
            configure=self._configure,
            reconnect_timeout=RECONNECT_SECONDS,
            timeout=timeout,
            open=False,
            name=name,
        )
        guard_pool(self._pool)  # a call past its deadline is cut (audit.database.deadlines)
        self._pool.open(wait=False)

    def _configure(self, connection: psycopg.Connection[Any]) -> None:
        # A client cut off mid-transaction must not hold its locks for long
        # (audit.database.deadlines).
        connection.execute(f"SET idle_in_transaction_session_timeout = {IDLE_IN_TRANSACTION_MS}")
        if self._schema:
            connection.execute(
                sql.SQL("SET search_path TO {}").format(sql.Identifier(self._schema))
            )
        self._returned_at[connection] = time.monotonic()

    def _lend(self) -> psycopg.Connection[Any]:
        """A pooled connection, pinged first if it sat idle (it may have died meanwhile).

        Busy connections skip the ping, so steady load pays nothing; after a database restart
        the stale idle ones are found and replaced here instead of failing a request. (The
        pool's own ``check=`` sleeps until its deadline when two stale ones come in a row.)
        """
        for _ in range(self._max_size):
            connection = self._pool.getconn()
            if time.monotonic() - self._returned_at.get(connection, 0.0) < PING_AFTER_IDLE_SECONDS:
                return connection
            try:
                connection.execute("")  # one round trip; a dropped connection fails here
            except psycopg.OperationalError:
                self._pool.putconn(connection)  # broken: the pool discards it and reconnects
                continue
            return connection
        return self._pool.getconn()

    @contextmanager
    def _borrowed(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection from ``_lend`` (autocommit mode), returned to the pool afterwards."""
        connection = self._lend()
        try:
            yield connection
        finally:
            self._returned_at[connection] = time.monotonic()
            self._pool.putconn(connection)

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[psycopg.Cursor[Any]]:
        with (
            self._borrowed() as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            yield cursor

    @contextmanager
    def schema_transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        with self.transaction(write=True) as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            yield cursor

    @contextmanager
    def autocommit(self) -> Iterator[psycopg.Cursor[Any]]:
        with self._borrowed() as connection, connection.cursor() as cursor:
            yield cursor

    def close(self) -> None:
        self._pool.close()


@contextmanager
def postgres_schema_lock(conninfo: str) -> Iterator[None]:
    """Hold ``SCHEMA_LOCK`` on a connection of its own while the block runs.

    For table creation that is not ours to wrap in ``schema_transaction``: eventsourcing's
    ``create_table`` when the ledger opens (api.bootstrap.open_ledger).
    """
    timeout = CONNECT_TIMEOUT_SECONDS
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=timeout) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def memory_database() -> SqliteDatabase:
    """A private, empty in-memory database (as-of replays, tests)."""
    return SqliteDatabase(":memory:")
