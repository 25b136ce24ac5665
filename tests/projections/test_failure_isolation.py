"""A read model that cannot apply an event stops there, marked, and alone; a rebuild recovers it.

Both ways a real read model fails are injected (tests/projections/faults.py): its handler
raises, or its rows hold an integer the store cannot (SQLite INTEGER, PostgreSQL BIGINT), which
fails only at commit.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest

from api.bootstrap import (
    SignedPatentLedger,
    open_projection_runner,
    open_projection_store,
    open_transparency_log,
    rebuild_feed,
)
from api.settings import Settings
from projections import queries
from projections.audit_trail import AuditTrail
from projections.catalog import NAMES, models
from projections.failures import (
    ERROR_LIMIT,
    ProjectionFailure,
    RebuildFailedError,
    describe_error,
    store_unavailable,
)
from projections.filer_registry import FilerRegistry
from projections.runner import ProjectionRunner, rebuild
from projections.store import Position, PositionMovedError, ProjectionStore, physical_name
from tests.domain.factories import approved_filer, file, uscc
from tests.projections.faults import OVERFLOW, RAISE, FakeFault
from tests.projections.test_exactly_once import (
    digests,
    event_count,
    make_history,
    reference_digests,
)

AT = 10  # the event the fault is injected at: in the middle of make_history's ~30


@pytest.fixture
def store(settings: Settings) -> Iterator[ProjectionStore]:
    opened = open_projection_store(settings)
    yield opened
    opened.db.close()


def _event(ledger: SignedPatentLedger, notification_id: int) -> Any:
    (notification,) = ledger.recorder.select_notifications(start=notification_id, limit=1)
    return notification


def _rebuild(ledger: SignedPatentLedger, settings: Settings, store: ProjectionStore,
             *names: str) -> Any:  # fmt: skip
    log = open_transparency_log(ledger, settings)
    try:
        log.sequence()
        return rebuild(store, models(names), rebuild_feed(ledger, log))
    finally:
        log.store.close()


def _applied(runner: ProjectionRunner) -> dict[str, int]:
    return {name: p.notification_id for name, p in runner.positions().items()}


def _new_product(ledger: SignedPatentLedger, serial: int) -> UUID:
    code = uscc(serial)
    return file(ledger, code, approved_filer(ledger, code), model=f"NEW-{serial}")


@pytest.mark.parametrize("kind", [RAISE, OVERFLOW])
def test_a_read_model_that_cannot_apply_an_event_is_marked_there_and_the_others_go_on(
    ledger, store, monkeypatch, caplog, kind
):
    make_history(ledger, filers=2)
    fault = FakeFault(monkeypatch, AuditTrail, at=AT, kind=kind).install()
    runner = open_projection_runner(ledger, store)
    runner.batch = 7  # the fault falls inside the second batch
    with caplog.at_level(logging.ERROR, logger="projections.runner"):
        runner.catch_up()
        runner.catch_up()  # a failed model is not retried: nothing more is logged
    total = event_count(ledger)
    failure = store.failures()["audit_trail"]
    stored = _event(ledger, AT)
    assert (failure.notification_id, failure.originator_id, failure.version, failure.topic) == (
        AT, str(stored.originator_id), stored.originator_version, stored.topic,
    )  # fmt: skip
    if kind == RAISE:
        assert failure.error == f"RuntimeError: {FakeFault.MESSAGE} at {AT}"
    elif store.db.is_postgres:
        assert failure.error.startswith("NumericValueOutOfRange: bigint out of range")
    else:
        assert failure.error == "OverflowError: Python int too large to convert to SQLite INTEGER"
    applied = _applied(runner)
    assert applied["audit_trail"] == AT - 1  # every event before it committed, none after
    assert runner.positions()["audit_trail"].events == AT - 1
    assert {name: n for name, n in applied.items() if name != "audit_trail"} == {
        name: total for name in NAMES if name != "audit_trail"
    }
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert f"read model audit_trail failed at event {AT}" in errors[0].getMessage()
    assert errors[0].exc_info is not None  # one traceback, for whoever fixes the handler
    assert set(fault.met) == {AT}

    # The others keep serving new data; the failed model stays where it stopped.
    product_id = _new_product(ledger, 90)
    runner.catch_up()
    assert queries.product(store, product_id) is not None
    assert _applied(runner)["product_registry"] == event_count(ledger)
    assert _applied(runner)["audit_trail"] == AT - 1
    assert queries.audit_trail_of(store, product_id, lambda *_: None) == []  # stale, not gone


def test_a_fresh_runner_leaves_a_failed_model_alone(ledger, settings, store, monkeypatch, caplog):
    make_history(ledger, filers=2)
    FakeFault(monkeypatch, FilerRegistry, at=AT).install()
    open_projection_runner(ledger, store).catch_up()
    marked = store.failures()["filer_registry"]
    restarted = open_projection_store(settings)  # a new process, with the fault still there
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="projections.runner"):
        runner = open_projection_runner(ledger, restarted)
        runner.catch_up()
    assert caplog.records == []  # the mark is read, the event is not tried again
    assert runner.failures() == {"filer_registry": marked}
    assert _applied(runner)["filer_registry"] == AT - 1
    restarted.db.close()


def test_a_second_runner_meeting_the_same_event_keeps_the_first_mark(
    ledger, settings, store, monkeypatch
):
    make_history(ledger, filers=2)
    FakeFault(monkeypatch, FilerRegistry, at=AT).install()
    # Both runners built their view before either met the event.
    first = open_projection_runner(ledger, store)
    other_store = open_projection_store(settings)
    second = open_projection_runner(ledger, other_store)
    second.positions()
    first.catch_up()
    marked = store.failures()["filer_registry"]
    second.catch_up()
    assert second.failures() == {"filer_registry": marked}  # the first mark stands
    assert _applied(second)["filer_registry"] == AT - 1
    assert all(n == event_count(ledger) for name, n in _applied(second).items()
               if name != "filer_registry")  # fmt: skip
    other_store.db.close()


@pytest.mark.parametrize("kind", [RAISE, OVERFLOW])
def test_rebuild_after_the_fix_recovers_the_model_to_the_head(
    ledger, settings, store, monkeypatch, kind
):
    make_history(ledger, filers=2)
    fault = FakeFault(monkeypatch, AuditTrail, at=AT, kind=kind).install()
    runner = open_projection_runner(ledger, store)
    runner.catch_up()
    failed_generation = store.failures()["audit_trail"].generation
    fault.remove()
    runner.catch_up()
    assert _applied(runner)["audit_trail"] == AT - 1  # fixed code alone does not resume it
    result = _rebuild(ledger, settings, store, "audit_trail")
    assert result.generations == {"audit_trail": failed_generation + 1}
    assert store.failures() == {}
    assert store.failure("audit_trail", failed_generation) is None  # the mark is cleared
    _new_product(ledger, 91)
    runner.catch_up()  # the follower picks up the new generation and goes on
    total = event_count(ledger)
    assert _applied(runner) == dict.fromkeys(NAMES, total)
    assert digests(store) == reference_digests(ledger, settings)


@pytest.mark.parametrize("kind", [RAISE, OVERFLOW])
def test_rebuild_with_the_fault_still_there_names_the_event_and_keeps_the_mark(
    ledger, settings, store, monkeypatch, kind
):
    make_history(ledger, filers=2)
    FakeFault(monkeypatch, AuditTrail, at=AT, kind=kind).install()
    runner = open_projection_runner(ledger, store)
    runner.catch_up()
    marked = store.failures()["audit_trail"]
    served = {name: store.require_generation(name) for name in NAMES}
    with pytest.raises(RebuildFailedError) as caught:
        _rebuild(ledger, settings, store, "audit_trail", "filer_registry")
    (failure,) = caught.value.failures
    assert (failure.projection, failure.notification_id) == ("audit_trail", AT)
    assert failure.originator_id == marked.originator_id
    assert failure.error == marked.error
    assert f"read model audit_trail failed at event {AT} (" in str(caught.value)
    # The other model of the same rebuild switched over; the failed one did not, and its
    # abandoned tables are gone.
    assert caught.value.switched == {"filer_registry": served["filer_registry"] + 1}
    assert store.require_generation("audit_trail") == served["audit_trail"]
    assert store.generations("audit_trail") == [served["audit_trail"]]
    assert store.failures() == {"audit_trail": marked}
    assert _applied(runner)["audit_trail"] == AT - 1


def test_a_rebuild_in_slices_finds_the_event_too(ledger, settings, store, monkeypatch):
    make_history(ledger, filers=2)
    FakeFault(monkeypatch, AuditTrail, at=AT, kind=OVERFLOW).install()
    log = open_transparency_log(ledger, settings)
    log.sequence()
    with pytest.raises(RebuildFailedError) as caught:
        rebuild(store, models(), rebuild_feed(ledger, log), batch=4, flush_every=4)
    log.store.close()
    assert [(f.projection, f.notification_id) for f in caught.value.failures] == [
        ("audit_trail", AT)
    ]
    assert set(caught.value.switched) == set(NAMES) - {"audit_trail"}
    assert store.active_generation("audit_trail") is None  # never built: nothing served


def test_the_store_not_answering_marks_no_model(ledger, store, monkeypatch):
    make_history(ledger, filers=2)
    runner = open_projection_runner(ledger, store)
    runner.batch, runner.cache_bytes = 7, 0  # rows are loaded from the store, not cached
    runner.catch_up(limit=1)
    outage = psycopg.OperationalError if store.db.is_postgres else sqlite3.OperationalError
    real_commit = ProjectionStore.commit_together

    def down(self: ProjectionStore, *args: Any, **kwargs: Any) -> None:
        raise outage("connection lost")

    monkeypatch.setattr(ProjectionStore, "commit_together", down)
    with pytest.raises(outage):
        runner.catch_up()
    monkeypatch.setattr(ProjectionStore, "commit_together", real_commit)
    real_load = ProjectionStore.load

    def load_down(self: ProjectionStore, *args: Any, **kwargs: Any) -> Any:
        raise outage("connection lost")

    monkeypatch.setattr(ProjectionStore, "load", load_down)
    make_history_more = _new_product(ledger, 92)
    with pytest.raises(outage):
        runner.catch_up()
    monkeypatch.setattr(ProjectionStore, "load", real_load)
    assert store.failures() == {}
    runner.catch_up()  # back: every model catches up from where it stood
    assert _applied(runner) == dict.fromkeys(NAMES, event_count(ledger))
    assert queries.product(store, make_history_more) is not None


def test_a_write_error_that_does_not_come_back_marks_nothing(ledger, settings, store, monkeypatch):
    make_history(ledger, filers=2)
    runner = open_projection_runner(ledger, store)
    real_commit = ProjectionStore.commit_together
    calls = {"n": 0}

    def once(self: ProjectionStore, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("a write error seen once")
        real_commit(self, *args, **kwargs)

    monkeypatch.setattr(ProjectionStore, "commit_together", once)
    runner.catch_up()
    assert store.failures() == {}
    assert _applied(runner) == dict.fromkeys(NAMES, event_count(ledger))
    assert digests(store) == reference_digests(ledger, settings)


def test_a_stale_runner_cannot_mark_a_model(ledger, store):
    make_history(ledger, filers=2)
    runner = open_projection_runner(ledger, store)
    runner.catch_up()
    generation = store.require_generation("audit_trail")
    stale = Position(generation, AT - 1, AT - 1)  # the model has moved on since
    failure = ProjectionFailure("audit_trail", generation, AT, "x", 1, "t", "E: m", "now")
    with pytest.raises(PositionMovedError):
        store.mark_failed(failure, stale)
    assert store.failures() == {}


def test_the_recorded_error_is_one_bounded_line():
    long = ValueError(
        "bigint out of range\nCONTEXT:  COPY ..., column sales_fen: 9223372036854775808"
    )
    assert describe_error(long) == "ValueError: bigint out of range"  # no row values
    assert describe_error(KeyError()) == "KeyError"
    text = describe_error(RuntimeError("x" * 2 * ERROR_LIMIT))
    assert len(text) == ERROR_LIMIT
    assert text.endswith("…")


def test_tables_built_by_an_older_release_mark_the_model_failed_until_a_rebuild(
    ledger, settings, store
):
    """A release that changes a read model's tables (regional_stats gained ``approved``):
    the old generation's table lacks the column. That is no outage to retry for ever (SQLite
    says OperationalError for both): the model is marked, the others go on, a rebuild heals."""
    make_history(ledger, filers=2)
    runner = open_projection_runner(ledger, store)
    runner.catch_up()
    generation = store.require_generation("regional_stats")
    table = physical_name("regional_stats", "product_states", generation)
    with store.db.schema_transaction() as cursor:
        cursor.execute(f"ALTER TABLE {table} DROP COLUMN approved")  # as an older release built it
    _new_product(ledger, 92)
    runner.catch_up()
    failure = store.failures()["regional_stats"]
    assert "approved" in failure.error
    assert _applied(runner)["product_registry"] == event_count(ledger)
    _rebuild(ledger, settings, store, "regional_stats")
    runner.catch_up()
    assert store.failures() == {}
    assert _applied(runner) == dict.fromkeys(NAMES, event_count(ledger))
    assert digests(store) == reference_digests(ledger, settings)


@pytest.mark.parametrize(
    ("message", "outage"),
    [
        ("table ppl_regional_stats_product_states_g1 has no column named approved", False),
        ("no such column: approved", False),
        ("database is locked", True),
        ("disk I/O error", True),
    ],
)
def test_a_sqlite_schema_mismatch_is_no_outage(message, outage):
    assert store_unavailable(sqlite3.OperationalError(message)) is outage
