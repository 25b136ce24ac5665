"""Shared helpers for the benchmarks: fresh stores, keys, interleaved rounds and medians.

The machine the figures come from is shared and noisy, so a benchmark compares two variants
measured in the same run, alternating their order round by round, and reports the ratio of
their median rates rather than absolute numbers.
"""

from __future__ import annotations

import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import psycopg
from psycopg import sql

from api.settings import Settings

DEFAULT_POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_admin_dsn() -> str:
    """The maintenance database to create the run's database from (PPL_BENCH_POSTGRES_ADMIN)."""
    return os.environ.get("PPL_BENCH_POSTGRES_ADMIN", DEFAULT_POSTGRES_ADMIN)


def postgres_unreachable_reason(admin_dsn: str) -> str | None:
    """``None`` when PostgreSQL answers at ``admin_dsn``, else why it does not."""
    try:
        psycopg.connect(admin_dsn, connect_timeout=3).close()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


@contextmanager
def postgres_database(admin_dsn: str) -> Iterator[str]:
    """Create the database ``ppl_bench_<pid>``; drop it on exit, even on error.

    Yields its URL (no schema); use :func:`fresh_postgres_schema` for each store.
    """
    name = f"ppl_bench_{os.getpid()}"
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as admin:
        admin.execute(drop)  # a leftover of a killed run with the same pid
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{admin_dsn.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as admin:
            admin.execute(drop)


def fresh_postgres_schema(database_url: str, schema: str) -> str:
    """Create ``schema`` in the database and return a store URL naming it."""
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return f"{database_url}?schema={schema}"


def fresh_sqlite_url(directory: Path, name: str) -> str:
    """A URL naming a new SQLite file in ``directory`` (which must be absolute)."""
    return f"sqlite:///{directory.resolve() / f'{name}.sqlite3'}"


@contextmanager
def store_makers(work_dir: Path) -> Iterator[dict[str, Callable[[str], str]]]:
    """Backend name -> a maker of fresh store URLs (by store name): SQLite files in
    ``work_dir``, and PostgreSQL schemas in a database of the run when PostgreSQL answers
    (else one printed line says why it is left out). The database is dropped on exit."""
    stores: dict[str, Callable[[str], str]] = {
        "sqlite": lambda name: fresh_sqlite_url(work_dir, name)
    }
    admin = postgres_admin_dsn()
    reason = postgres_unreachable_reason(admin)
    if reason is not None:
        print(f"postgres: not reachable at {admin} ({reason}); skipping it")
        yield stores
        return
    with postgres_database(admin) as database:
        stores["postgres"] = lambda name: fresh_postgres_schema(database, f"bench_{name}")
        yield stores


def settings_for(data_dir: Path, database_url: str) -> Settings:
    """Settings of a development ledger whose keys live in ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return Settings.from_environment(
        {"PPL_DATA_DIR": str(data_dir), "PPL_DATABASE_URL": database_url}
    )


def run_threads(threads: int, work: Callable[[int], None]) -> float:
    """Run ``work(thread_index)`` in ``threads`` threads started together; wall seconds.

    The clock starts when every thread is ready and stops when the last one finishes.
    """
    barrier = threading.Barrier(threads + 1)

    def worker(index: int) -> None:
        barrier.wait()
        work(index)

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(worker, index) for index in range(threads)]
        barrier.wait()
        started = time.perf_counter()
        for future in futures:
            future.result()
        return time.perf_counter() - started


def interleaved_rates(
    rounds: int, variants: Sequence[tuple[str, Callable[[int], float]]]
) -> dict[str, list[float]]:
    """Run each variant once per round, alternating the order; per-round rates by name.

    Each callable gets the round number and returns its rate. Round 0 runs the variants in the
    given order, round 1 reversed, and so on, so drift in the machine or the store's size
    does not favour one of them.
    """
    rates: dict[str, list[float]] = {name: [] for name, _ in variants}
    for round_number in range(rounds):
        ordered = variants if round_number % 2 == 0 else list(reversed(variants))
        for name, measure in ordered:
            rates[name].append(measure(round_number))
    return rates


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@dataclass(frozen=True, slots=True)
class MachineInfo:
    cpus: int
    python: str
    packages: str

    def describe(self) -> str:
        return f"{self.cpus} CPUs, Python {self.python}, {self.packages}"


def machine_info() -> MachineInfo:
    packages = ", ".join(
        f"{name} {version(name)}" for name in ("eventsourcing", "cryptography", "psycopg")
    )
    return MachineInfo(os.cpu_count() or 0, platform.python_version(), packages)
