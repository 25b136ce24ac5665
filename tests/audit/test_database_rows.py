"""``Database.execute_rows``: many rows per statement, the same rows on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from api.bootstrap import open_database
from api.settings import Settings
from audit.database import connections as database


def test_rows_are_written_whole_across_statements_and_upserted(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "MAX_PARAMETERS", 7)  # 3 columns: 2 rows per statement
    db = open_database(settings)
    try:
        with db.schema_transaction() as cursor:
            cursor.execute("CREATE TABLE rows_test (k INTEGER PRIMARY KEY, a TEXT, b TEXT)")
        # Placeholder-like text must arrive as text: a PostgreSQL statement is sent unparsed.
        rows = [(k, f"{k}% ?, $1 %s", None if k % 2 else "x") for k in range(1, 6)]
        upsert = "ON CONFLICT (k) DO UPDATE SET a = EXCLUDED.a, b = EXCLUDED.b"
        with db.transaction(write=True) as cursor:
            db.execute_rows(cursor, "INSERT INTO rows_test (k, a, b)", rows, upsert)
            db.execute_rows(cursor, "INSERT INTO rows_test (k, a, b)", [(5, "five", "5")], upsert)
            db.execute_rows(cursor, "INSERT INTO rows_test (k, a, b)", [], upsert)
        with db.transaction(write=False) as cursor:
            cursor.execute("SELECT k, a, b FROM rows_test ORDER BY k")
            stored = [tuple(row) for row in cursor.fetchall()]
        assert stored == [*rows[:4], (5, "five", "5")]
    finally:
        db.close()
