"""The watchdog that cuts a PostgreSQL call past its deadline (audit.database.deadlines), without a
database: fake connections record the cut. The real cut, through a proxy that swallows every
byte, is tests/api/test_store_down.py."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from api.settings import Settings, SettingsError
from audit.database.deadlines import (
    DEFAULT_DEADLINE_SECONDS,
    DeadlinePassedError,
    Watchdog,
    current_deadline,
    deadline,
    guard_pool,
)


class Cuts:
    def __init__(self) -> None:
        self.cut: list[Any] = []
        self.event = threading.Event()

    def __call__(self, connection: Any) -> None:
        self.cut.append(connection)
        self.event.set()


class FakePool:
    def __init__(self) -> None:
        self.lent = 0
        self.returned: list[Any] = []

    def getconn(self, timeout: float | None = None) -> Any:
        self.lent += 1
        return f"connection-{self.lent}"

    def putconn(self, connection: Any) -> None:
        self.returned.append(connection)


def test_a_connection_returned_in_time_is_never_cut():
    cuts = Cuts()
    watchdog = Watchdog(cuts)
    ticket = watchdog.watch("c", 0.05)
    watchdog.release(ticket)
    assert not cuts.event.wait(0.2)
    assert (cuts.cut, watchdog.cuts) == ([], 0)


def test_a_connection_held_past_its_deadline_is_cut_and_its_request_marked():
    cuts = Cuts()
    watchdog = Watchdog(cuts)
    with deadline(0.05) as scope:
        started = time.monotonic()
        watchdog.watch("slow", 0.05, scope)
        assert cuts.event.wait(2.0)
    assert time.monotonic() - started < 1.0
    assert (cuts.cut, watchdog.cuts, scope.cut) == (["slow"], 1, True)


def test_released_connections_do_not_pile_up_in_the_watchdog():
    watchdog = Watchdog(Cuts())
    for _ in range(10_000):  # long deadlines: none reaches the top of the heap meanwhile
        watchdog.release(watchdog.watch("c", 60.0))
    assert len(watchdog._heap) <= 1024 + 1  # nothing lent: at most the compaction margin


def test_the_earliest_deadline_is_served_first_whatever_the_order_of_watching():
    cuts = Cuts()
    watchdog = Watchdog(cuts)
    watchdog.watch("late", 30.0)
    watchdog.watch("early", 0.05)
    assert cuts.event.wait(2.0)
    assert cuts.cut == ["early"]


def test_after_a_cut_the_requests_further_calls_fail_at_once():
    cuts = Cuts()
    watchdog = Watchdog(cuts)
    pool = FakePool()
    guard_pool(pool, watchdog)
    guard_pool(pool, watchdog)  # guarding twice wraps once
    with deadline(0.05):
        first = pool.getconn()
        assert cuts.event.wait(2.0)
        pool.putconn(first)
        with pytest.raises(DeadlinePassedError):
            pool.getconn()
    assert (pool.lent, pool.returned) == (1, ["connection-1"])
    with deadline(1.0):  # the next request starts afresh
        second = pool.getconn()
        pool.putconn(second)
    assert pool.lent == 2


def test_outside_a_request_the_deadline_is_long_but_finite():
    assert current_deadline() == DEFAULT_DEADLINE_SECONDS
    with deadline(0.5):
        assert current_deadline() == 0.5
    assert current_deadline() == DEFAULT_DEADLINE_SECONDS
    with pytest.raises(ValueError, match="positive"), deadline(0):
        pass


@pytest.mark.parametrize("value", ["0", "0.05", "61", "soon", "nan"])
def test_a_deadline_setting_out_of_range_is_refused(value: str, tmp_path):
    with pytest.raises(SettingsError, match="PPL_DB_DEADLINE"):
        Settings.from_environment({"PPL_DATA_DIR": str(tmp_path), "PPL_DB_DEADLINE": value})


def test_the_deadline_setting_is_read(tmp_path):
    settings = Settings.from_environment({"PPL_DATA_DIR": str(tmp_path), "PPL_DB_DEADLINE": "2.5"})
    assert settings.db_deadline == 2.5
