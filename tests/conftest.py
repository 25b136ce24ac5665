"""Shared fixtures: every store-backed test runs on SQLite and on a real PostgreSQL.

PostgreSQL: one fresh database per test run (``ppl_test_<pid>_<random>``; one per pytest-xdist
worker), dropped at the end; each test gets its own schema inside it, dropped after the test so
the catalog stays small (a run would otherwise leave ~200,000 relations behind). The database
commits without waiting for its WAL flush (``synchronous_commit = off``): it is thrown away,
and the suite spent its time waiting on fsync. PostgreSQL not answering is a failure, never a skip:
the test command (scripts/test) starts the server first.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from api.bootstrap import SignedPatentLedger, open_ledger
from api.settings import Settings

PG_ADMIN_DSN = os.environ.get(
    "PPL_TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """Create this run's database; drop it afterwards. Returns its URL without a schema."""
    name = f"ppl_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not answering at {PG_ADMIN_DSN} ({exc}); run the tests with "
            "scripts/test, which starts it. PostgreSQL tests are never skipped.",
            pytrace=False,
        )
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        admin.execute(
            sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name))
        )
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


SCHEMA_DROP_LOCK_TIMEOUT = "2s"  # a connection a test leaked still holds a lock: leave it


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL naming an empty store of the test's backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
        return
    base = request.getfixturevalue("postgres_database")
    name = f"t_{secrets.token_hex(6)}"
    schema = sql.Identifier(name)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
    yield f"{base}?schema={name}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(SCHEMA_DROP_LOCK_TIMEOUT)))
        with suppress(psycopg.errors.LockNotAvailable):
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.from_environment(
        {
            "PPL_DATA_DIR": str(tmp_path / "data"),
            "PPL_DATABASE_URL": database_url,
            "PPL_STATS_PUBLISH": "off",
        }
    )


@pytest.fixture
def make_ledger(settings: Settings) -> Iterator[Callable[[], SignedPatentLedger]]:
    """Open (possibly several) ledger applications on the test's store; all closed after."""
    opened: list[SignedPatentLedger] = []

    def make() -> SignedPatentLedger:
        ledger = open_ledger(settings)
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        ledger.close()


@pytest.fixture
def ledger(make_ledger: Callable[[], SignedPatentLedger]) -> SignedPatentLedger:
    return make_ledger()
