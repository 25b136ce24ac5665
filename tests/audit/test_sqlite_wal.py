"""A fresh ledger file is switched to WAL once, however many processes open it together."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from audit.database.connections import SqliteDatabase, sqlite_wal


def _mode(path: str) -> str:
    connection = sqlite3.connect(path)
    try:
        return str(connection.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        connection.close()


def test_the_switch_waits_for_a_writer_that_holds_the_file(tmp_path):
    path = str(tmp_path / "ledger.db")
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.execute("BEGIN EXCLUSIVE")  # the file to itself, in its rollback journal mode
    writer.execute("INSERT INTO t VALUES (1)")
    threading.Timer(0.3, lambda: writer.execute("COMMIT")).start()
    started = time.monotonic()
    sqlite_wal(path)
    assert time.monotonic() - started >= 0.25  # it waited, instead of "database is locked"
    writer.close()
    assert _mode(path) == "wal"


def test_a_switch_refused_at_once_is_tried_again(tmp_path, monkeypatch):
    """SQLite may refuse the switch at once while another connection holds the file."""
    path = str(tmp_path / "ledger.db")
    refusals = [sqlite3.OperationalError("database is locked")] * 3
    connect = sqlite3.connect

    class Busy:
        def __init__(self, connection: sqlite3.Connection) -> None:
            self.connection = connection

        def execute(self, statement: str) -> sqlite3.Cursor:
            if refusals:
                raise refusals.pop()
            return self.connection.execute(statement)

        def close(self) -> None:
            self.connection.close()

    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: Busy(connect(*a, **k)))
    sqlite_wal(path)
    assert refusals == []
    monkeypatch.undo()
    assert _mode(path) == "wal"


def test_many_opening_a_fresh_file_together_all_open_it(tmp_path):
    path = str(tmp_path / "ledger.db")
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []
    opened: list[SqliteDatabase] = []

    def open_it() -> None:
        try:
            barrier.wait()
            tables = SqliteDatabase(path)
            opened.append(tables)
            with tables.transaction(write=True) as cursor:
                cursor.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for tables in opened:
        tables.close()
    assert errors == []
    assert _mode(path) == "wal"


def test_other_errors_are_not_waited_out(tmp_path):
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        sqlite_wal(str(tmp_path / "missing" / "ledger.db"))
    assert time.monotonic() - started < 5


def test_a_memory_database_has_no_journal_to_switch(tmp_path):
    sqlite_wal(":memory:")
    sqlite_wal("file:ledger?mode=memory&cache=shared")
    assert list(tmp_path.iterdir()) == []
