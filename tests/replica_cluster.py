"""A real PostgreSQL streaming replica for the read-replica tests: a throwaway primary cluster
and a hot standby made from it with ``pg_basebackup``, each on a free port of 127.0.0.1.

Why a primary of its own and not the run's (127.0.0.1:5432): a replica needs a primary that
accepts replication connections (``wal_level``, ``pg_hba.conf`` replication lines), which the
machine's cluster need not; and the tests stop, pause and restart the standby, which must not
touch other tests' databases. The binaries are PostgreSQL's own (``initdb``, ``pg_ctl``,
``pg_basebackup``), found under /usr/lib/postgresql/*/bin or on PATH; run as the ``postgres``
user when the tests run as root (``initdb`` refuses root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg

START_SECONDS = 60


class ClusterUnavailableError(RuntimeError):
    """PostgreSQL's server binaries are not installed here."""


def server_binaries() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``pg_basebackup``.

    Raises:
        ClusterUnavailableError: none is installed.
    """
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for directory in candidates:
        if all((directory / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup")):
            return directory
    raise ClusterUnavailableError("initdb, pg_ctl and pg_basebackup are not installed")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ReplicaPair:
    """A running primary and its streaming standby."""

    binaries: Path
    root: Path
    primary_port: int
    standby_port: int

    def url(self, port: int, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    def primary_url(self, database: str = "postgres") -> str:
        return self.url(self.primary_port, database)

    def standby_url(self, database: str = "postgres") -> str:
        return self.url(self.standby_port, database)

    def _run(self, *command: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(  # noqa: S603 (PostgreSQL's own binaries, no shell)
            [*as_postgres, *command], check=True, capture_output=True, timeout=START_SECONDS
        )

    def _pg_ctl(self, data: str, *arguments: str) -> None:
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.root / data), *arguments)

    def start_standby(self) -> None:
        self._pg_ctl("standby", "-l", str(self.root / "standby.log"), "-w", "start")

    def stop_standby(self) -> None:
        self._pg_ctl("standby", "-m", "fast", "-w", "stop")

    def standby_running(self) -> bool:
        try:
            psycopg.connect(self.standby_url(), connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def pause_replay(self) -> None:
        """The standby stops applying the primary's WAL (it still receives it)."""
        with psycopg.connect(self.standby_url(), autocommit=True) as connection:
            connection.execute("SELECT pg_wal_replay_pause()")

    def resume_replay_if_paused(self) -> None:
        with psycopg.connect(self.standby_url(), autocommit=True) as connection:
            row = connection.execute("SELECT pg_is_wal_replay_paused()").fetchone()
            if row is not None and row[0]:
                connection.execute("SELECT pg_wal_replay_resume()")

    def resume_replay(self) -> None:
        with psycopg.connect(self.standby_url(), autocommit=True) as connection:
            connection.execute("SELECT pg_wal_replay_resume()")

    def wait_caught_up(self, timeout: float = 30.0) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        with psycopg.connect(self.primary_url(), autocommit=True) as primary:
            row = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        target = row[0]
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.standby_url(), autocommit=True) as standby:
            while time.monotonic() < deadline:
                done = standby.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
                ).fetchone()
                if done is not None and done[0]:
                    return
                time.sleep(0.02)
        raise TimeoutError(f"the standby did not replay up to {target} in {timeout} s")

    def stop(self) -> None:
        for data in ("standby", "primary"):
            if (self.root / data / "postmaster.pid").exists():
                with suppress(subprocess.CalledProcessError):
                    self._pg_ctl(data, "-m", "immediate", "-w", "stop")


@contextmanager
def replica_pair() -> Iterator[ReplicaPair]:
    """Start a primary and a streaming standby; stop both and delete them afterwards.

    Raises:
        ClusterUnavailableError: PostgreSQL's server binaries are not installed.
        subprocess.CalledProcessError: a step failed (its output is in the error).
    """
    binaries = server_binaries()
    root = Path(tempfile.mkdtemp(prefix="ppl-replica-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    pair = ReplicaPair(binaries, root, _free_port(), _free_port())
    try:
        pair._run(  # trust on 127.0.0.1, replication included (initdb's pg_hba.conf)
            str(binaries / "initdb"), "-D", str(root / "primary"), "-A", "trust", "-U", "postgres"
        )
        _configure(root / "primary", pair.primary_port, root)
        pair._pg_ctl("primary", "-l", str(root / "primary.log"), "-w", "start")
        pair._run(
            str(binaries / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(pair.primary_port),
            "-U", "postgres", "-D", str(root / "standby"), "-R", "-X", "stream",
        )  # fmt: skip
        _configure(root / "standby", pair.standby_port, root)
        pair.start_standby()
        yield pair
    finally:
        pair.stop()
        shutil.rmtree(root, ignore_errors=True)


def _configure(data: Path, port: int, sockets: Path) -> None:
    """Port, loopback only, a socket directory of the pair's own, hot standby; no fsync (a
    throwaway cluster). Commits stay synchronous: WAL reaches the standby as each commits."""
    settings = (
        f"\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{sockets}'\n"
        "hot_standby = on\nwal_level = replica\nmax_wal_senders = 4\nfsync = off\n"
        "full_page_writes = off\nmax_connections = 60\n"
    )
    with (data / "postgresql.auto.conf").open("a", encoding="utf-8") as conf:
        conf.write(settings)
