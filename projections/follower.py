"""Keeps the read models up with the ledger while the service runs.

PostgreSQL: the follower LISTENs on the channel eventsourcing NOTIFYs after each committed
insert, so it catches up as soon as an event is committed (and polls every ``interval`` in
case a notification is lost, e.g. across a reconnection). SQLite has no push subscription in
eventsourcing, so there the follower polls every ``interval`` (0.25 s by default: a filing
shows in the registry well within 1 s). ``wake()`` lets an in-process command skip the wait.

A failing round (database down) is logged and retried; exactly-once comes from the runner,
so a round cut off half-way is simply applied again. A read model that cannot apply an event
does not fail the round: the runner marks it failed, logs it once, and the follower goes on
with the others (projections.failures).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from projections.background import BackgroundLoop
from projections.runner import ProjectionRunner

logger = logging.getLogger("ppl.projection_follower")
MIN_GAP_SECONDS = 0.25  # at most ~4 rounds a second however often NOTIFY wakes the follower

Waiter = Callable[[float], None]


class ListenWaiter:
    """Waits for a PostgreSQL NOTIFY on ``channel`` (or ``timeout``); reconnects on failure."""

    def __init__(self, conninfo: str, channel: str) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._connection: psycopg.Connection[Any] | None = None

    def __call__(self, timeout: float) -> None:
        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(self._conninfo, autocommit=True)
                self._connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            for _ in self._connection.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error:
            logger.warning("LISTEN %s failed; polling instead", self._channel, exc_info=True)
            self.close()
            threading.Event().wait(timeout)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class ProjectionFollower(BackgroundLoop[int]):
    """Runs ``runner.catch_up()`` whenever events may have arrived, until stopped;
    ``run_once`` returns the number of events read (0 if the round failed)."""

    thread_name = "ppl-projection-follower"
    activity = "projection round"

    def __init__(
        self,
        runner: ProjectionRunner,
        interval: float,
        waiter: Waiter | None = None,
        *,
        min_gap: float = MIN_GAP_SECONDS,
    ) -> None:
        super().__init__(interval, 0, logger)
        self.runner = runner
        self.min_gap = min(min_gap, interval) if interval > 0 else min_gap
        self._waiter = waiter
        self._wake = threading.Event()
        self.rounds = 0

    def round(self) -> int:
        read = self.runner.catch_up()
        self.rounds += 1
        return read

    def wake(self) -> None:
        self._wake.set()

    def _wait_for_events(self) -> None:
        if self._wake.is_set():
            self._wake.clear()
            return
        if self._waiter is not None:
            self._waiter(self.interval)
        else:
            self._wake.wait(self.interval)
            self._wake.clear()

    def run(self) -> None:
        while not self.stopping:
            started = time.monotonic()
            self.run_once()
            self._wait_for_events()
            # Under load a NOTIFY arrives per commit; resting until ``min_gap`` has passed since
            # the round began lets commits gather, so one round (a transaction per read model)
            # serves many events instead of one. Latency stays under ``min_gap`` + a round.
            rest = self.min_gap - (time.monotonic() - started)
            if rest > 0:
                self._stop.wait(rest)

    def on_stop(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        if isinstance(self._waiter, ListenWaiter):
            self._waiter.close()
