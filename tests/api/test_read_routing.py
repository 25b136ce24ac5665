"""The read router's choices (api.read_routing), with sources that need no database, and the
settings that configure it (PPL_READ_REPLICAS, PPL_READ_WAIT)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import psycopg
import pytest

from api.read_routing import (
    DOWN_SECONDS,
    POLL_SECONDS,
    POSITION_TTL,
    ReadKind,
    ReadRouter,
    ReadSource,
)
from api.settings import Settings, SettingsError


@dataclass
class FakeSource:
    """A source whose positions are set by the test; ``failing`` raises as a dead replica."""

    name: str
    models: int = 0
    log: int = 0
    failing: bool = False
    down_until: float = 0.0
    asked: list[ReadKind] = field(default_factory=list)

    def position(self, kind: ReadKind) -> int:
        self.asked.append(kind)
        if self.failing:
            raise psycopg.OperationalError("connection refused")
        return self.models if kind is ReadKind.MODELS else self.log


@dataclass
class Clock:
    now: float = 100.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def router(
    primary: FakeSource, *replicas: FakeSource, wait: float = 0.5
) -> tuple[ReadRouter, Clock]:
    clock = Clock()
    found = ReadRouter(
        cast(ReadSource, primary),
        [cast(ReadSource, r) for r in replicas],
        wait=wait,
        clock=clock,
        sleep=clock.sleep,
    )
    return found, clock


def test_without_replicas_the_primary_answers_with_its_position():
    primary = FakeSource("primary", models=7, log=9)
    chosen = router(primary)[0].choose(ReadKind.LOG, None)
    assert chosen.source is cast(Any, primary)
    assert chosen.positions == {ReadKind.LOG: 9}
    assert dict(chosen.headers()) == {b"ppl-position": b"9", b"ppl-read-from": b"primary"}


def test_replicas_answer_in_turn_and_never_wait_without_a_min_position():
    primary = FakeSource("primary", models=50)
    one, two = FakeSource("replica-1", models=3), FakeSource("replica-2", models=4)
    reads, clock = router(primary, one, two)
    names = [reads.choose(ReadKind.MODELS, None).source.name for _ in range(4)]
    assert names == ["replica-1", "replica-2", "replica-1", "replica-2"]
    assert clock.slept == []
    assert primary.asked == []


def test_a_min_position_waits_for_a_replica_to_reach_it_then_takes_it():
    primary = FakeSource("primary", models=50)
    replica = FakeSource("replica-1", models=40)
    reads, clock = router(primary, replica)
    real_sleep = clock.sleep

    def replaying(seconds: float) -> None:
        real_sleep(seconds)
        if len(clock.slept) == 3:
            replica.models = 45  # it replays the write meanwhile

    reads.sleep = replaying
    chosen = reads.choose(ReadKind.MODELS, 45)
    assert chosen.source.name == "replica-1"
    assert chosen.positions == {ReadKind.MODELS: 45}
    assert clock.slept == [POLL_SECONDS] * 3


def test_a_min_position_no_replica_reaches_in_time_goes_to_the_primary():
    primary = FakeSource("primary", models=50)
    replica = FakeSource("replica-1", models=40)
    reads, clock = router(primary, replica, wait=0.1)
    chosen = reads.choose(ReadKind.MODELS, 45)
    assert chosen.source.name == "primary"
    assert 0.1 <= sum(clock.slept) < 0.1 + 2 * POLL_SECONDS


def test_a_replica_that_fails_is_skipped_for_a_while_then_asked_again():
    primary = FakeSource("primary", log=5)
    dead, alive = FakeSource("replica-1", failing=True), FakeSource("replica-2", log=5)
    reads, clock = router(primary, dead, alive)
    assert reads.choose(ReadKind.LOG, None).source.name == "replica-2"
    assert dead.down_until == clock.now + DOWN_SECONDS
    dead.asked.clear()
    for _ in range(4):
        assert reads.choose(ReadKind.LOG, None).source.name == "replica-2"
    assert dead.asked == []  # not asked while down
    clock.now += DOWN_SECONDS
    dead.failing = False
    names = {reads.choose(ReadKind.LOG, None).source.name for _ in range(2)}
    assert names == {"replica-1", "replica-2"}


def test_every_replica_down_means_the_primary_at_once_even_with_a_min_position():
    primary = FakeSource("primary", models=9)
    reads, clock = router(primary, FakeSource("replica-1", failing=True), wait=5)
    chosen = reads.choose(ReadKind.MODELS, 9)
    assert chosen.source.name == "primary"
    assert clock.slept == []  # no replica left to wait for


def test_states_show_each_replicas_lag_and_a_dead_one_as_down():
    primary = FakeSource("primary", models=100, log=120)
    reads, _ = router(
        primary, FakeSource("replica-1", models=90, log=120), FakeSource("replica-2", failing=True)
    )
    first, second = reads.states()
    assert (first.up, first.models_lag, first.log_lag) == (True, 10, 0)
    assert (second.up, second.models_position, second.models_lag) == (False, None, None)


def test_a_position_read_serves_later_reads_briefly_unless_more_is_asked():
    """Positions only grow, so one read a moment ago is a sound lower bound (POSITION_TTL);
    a read asking for more than it reads afresh."""
    primary = FakeSource("primary", models=10)
    reads, clock = router(primary)
    assert reads.choose(ReadKind.MODELS, None).positions[ReadKind.MODELS] == 10
    primary.models = 12
    assert reads.choose(ReadKind.MODELS, None).positions[ReadKind.MODELS] == 10  # kept
    assert reads.choose(ReadKind.MODELS, 11).positions[ReadKind.MODELS] == 12  # asked more
    primary.models = 15
    clock.now += 2 * POSITION_TTL
    assert reads.choose(ReadKind.MODELS, None).positions[ReadKind.MODELS] == 15  # expired
    assert primary.asked == [ReadKind.MODELS] * 3


# --- settings ---------------------------------------------------------------------------
def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_environment({"PPL_DATA_DIR": str(tmp_path), **env})


PRIMARY = "postgresql://app@db-primary:5432/ppl?schema=s1"


def test_replicas_take_the_primarys_database_and_schema(tmp_path):
    settings = _settings(
        tmp_path,
        PPL_DATABASE_URL=PRIMARY,
        PPL_READ_REPLICAS="postgresql://app@db-r1:5433, postgresql://app@db-r2/ppl",
        PPL_READ_WAIT="1.5",
    )
    assert settings.read_replicas == ("postgresql://app@db-r1:5433", "postgresql://app@db-r2/ppl")
    assert settings.read_wait == 1.5
    conninfo, schema = settings.replica_location(settings.read_replicas[0])
    assert schema == "s1"
    assert "host=db-r1" in conninfo
    assert "port=5433" in conninfo
    assert "dbname=ppl" in conninfo


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PPL_READ_REPLICAS": "postgresql://r1/ppl"}, "needs a PostgreSQL"),
        (
            {"PPL_DATABASE_URL": PRIMARY, "PPL_READ_REPLICAS": "sqlite:///x.db"},
            "replica 1 is not",
        ),
        (
            {"PPL_DATABASE_URL": PRIMARY, "PPL_READ_REPLICAS": "postgresql:///ppl"},
            "replica 1 is not",
        ),
        (
            {"PPL_DATABASE_URL": PRIMARY, "PPL_READ_REPLICAS": "postgresql://r1/ppl?schema=s2"},
            "schema 's2'",
        ),
        (
            {"PPL_DATABASE_URL": PRIMARY, "PPL_READ_REPLICAS": "postgresql://r1,postgresql://r1"},
            "named twice",
        ),
        ({"PPL_DATABASE_URL": PRIMARY, "PPL_READ_WAIT": "6"}, "PPL_READ_WAIT"),
        ({"PPL_DATABASE_URL": PRIMARY, "PPL_READ_WAIT": "-1"}, "PPL_READ_WAIT"),
    ],
)
def test_bad_replica_settings_are_refused_by_name(tmp_path, env, message):
    with pytest.raises(SettingsError, match=message):
        _settings(tmp_path, **env)
