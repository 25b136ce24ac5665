"""Exactly-once: crashes between and inside batches, racing runners, a refused rebuild, latency."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.bootstrap import (
    SignedPatentLedger,
    open_projection_runner,
    open_projection_store,
    open_transparency_log,
    rebuild_feed,
)
from api.settings import Settings
from audit.database.connections import memory_database
from audit.offline.errors import CheckpointRootError, EventTamperedError
from domain.declarations import PatentDeclaration
from projections.catalog import models
from projections.feed import CheckpointVerifiedFeed
from projections.rows import Rows
from projections.runner import rebuild
from projections.store import ProjectionStore, physical_name
from tests.domain.factories import REVIEWER, approved_filer, file, patent, uscc
from tests.domain.test_tamper import _rewrite_state


class Crash(BaseException):
    """The process dying mid-run: nothing in the runner handles it (a BaseException)."""


def make_history(ledger: SignedPatentLedger, filers: int = 6) -> list[UUID]:
    """A few approved filers with two filings each, one of them approved: ~50 events."""
    products = []
    for serial in range(filers):
        code = uscc(serial + 1, region="310112" if serial % 2 else "310115")
        filer_id = approved_filer(ledger, code)
        for model in range(2):
            product_id = _file(ledger, code, filer_id, serial, model)
            products.append(product_id)
            if model == 0:
                ledger.approve_product(REVIEWER, product_id)
    return products


def _file(ledger: SignedPatentLedger, code: str, filer_id: UUID, serial: int, model: int) -> UUID:
    number = patent(serial * 10 + model + 1)
    return file(
        ledger, code, filer_id, model=f"M-{serial}-{model}",
        patents=[PatentDeclaration.parse(number, "owner")],
    )  # fmt: skip


@pytest.fixture
def store(settings: Settings) -> Iterator[ProjectionStore]:
    opened = open_projection_store(settings)
    yield opened
    opened.db.close()


def digests(store: ProjectionStore) -> dict[str, str]:
    return {
        m.name: store.digest(m.name, m.tables, store.require_generation(m.name)) for m in models()
    }


def reference_digests(ledger: SignedPatentLedger, settings: Settings) -> dict[str, str]:
    """Digests of a clean rebuild into a separate store (an in-memory one)."""
    reference = ProjectionStore(memory_database())

    def read(start: int, limit: int) -> Any:
        return ledger.recorder.select_notifications(start=start, limit=limit)

    rebuild(reference, models(), CheckpointVerifiedFeed(read, ledger.mapper, None))
    return digests(reference)


def event_count(ledger: SignedPatentLedger) -> int:
    return len(ledger.recorder.select_notifications(start=1, limit=10_000))


def test_crash_between_batches_applies_every_event_once(ledger, settings, store, monkeypatch):
    make_history(ledger)
    runner = open_projection_runner(ledger, store)
    runner.batch = 7
    commits = {"n": 0}
    real_commit = ProjectionStore.commit_together

    def crashing_commit(self: ProjectionStore, *args: Any, **kwargs: Any) -> None:
        commits["n"] += 1
        if commits["n"] == 3:  # mid-run: the process dies before this batch commits
            raise Crash("power cut")
        real_commit(self, *args, **kwargs)

    monkeypatch.setattr(ProjectionStore, "commit_together", crashing_commit)
    with pytest.raises(Crash, match="power cut"):
        runner.catch_up()
    monkeypatch.setattr(ProjectionStore, "commit_together", real_commit)
    partial = {m.name: store.position(m.name, store.require_generation(m.name)) for m in models()}
    assert 0 < min(p.events for p in partial.values()) < event_count(ledger)

    restarted = open_projection_runner(ledger, open_projection_store(settings))  # a new process
    restarted.batch = 7
    restarted.catch_up()
    total = event_count(ledger)
    for name, position in restarted.positions().items():
        assert (name, position.events) == (name, total)  # each event applied exactly once
    assert digests(store) == reference_digests(ledger, settings)
    restarted.store.db.close()


def test_crash_inside_a_commit_rolls_the_whole_batch_back(ledger, settings, store, monkeypatch):
    make_history(ledger, filers=3)
    real_changes = Rows.changes

    def failing_changes(self: Rows) -> Iterator[Any]:
        changes = real_changes(self)
        yield next(changes)  # written inside the transaction, after the position moved
        raise Crash("disk full")

    monkeypatch.setattr(Rows, "changes", failing_changes)
    runner = open_projection_runner(ledger, store)
    with pytest.raises(Crash, match="disk full"):
        runner.catch_up()
    name = "product_registry"
    assert store.position(name, store.require_generation(name)).events == 0  # rolled back
    monkeypatch.setattr(Rows, "changes", real_changes)
    open_projection_runner(ledger, store).catch_up()
    assert digests(store) == reference_digests(ledger, settings)


def test_a_round_commits_every_model_in_one_transaction(ledger, settings, store, monkeypatch):
    make_history(ledger, filers=2)
    runner = open_projection_runner(ledger, store)
    runner.catch_up()
    transactions = {"n": 0}
    real_transaction = type(store.db).transaction

    def counting(self: Any, *, write: bool) -> Any:
        transactions["n"] += write
        return real_transaction(self, write=write)

    monkeypatch.setattr(type(store.db), "transaction", counting)
    make_history_more = approved_filer(ledger, uscc(90, region="310115"))
    _file(ledger, uscc(90, region="310115"), make_history_more, 90, 0)
    runner.catch_up()
    assert transactions["n"] == 1  # six read models, one write transaction
    monkeypatch.undo()
    assert digests(store) == reference_digests(ledger, settings)


def test_a_lost_race_on_one_model_writes_no_model(ledger, settings, store, caplog):
    make_history(ledger, filers=2)
    runner = open_projection_runner(ledger, store)
    runner.batch = 5
    runner.catch_up(limit=1)
    before = runner.positions()
    # Another runner moves one model on alone: this runner's combined commit must fail whole.
    other = open_projection_runner(ledger, open_projection_store(settings))
    other.models = [m for m in other.models if m.name == "audit_trail"]
    other.catch_up()
    with caplog.at_level("INFO", logger="projections.runner"):
        runner.catch_up()  # loses the race once, reloads every model, then catches up
    assert "another runner moved first" in caplog.text
    after = runner.positions()
    total = event_count(ledger)
    assert all(position.events == total for position in after.values())
    assert all(before[name].events == 5 for name in before)
    assert digests(store) == reference_digests(ledger, settings)
    other.store.db.close()


def test_a_failing_read_model_does_not_hold_the_others_back(ledger, settings, store, monkeypatch):
    make_history(ledger, filers=2)
    runner = open_projection_runner(ledger, store)
    broken = next(m for m in runner.models if m.name == "regional_stats")
    real_apply = type(broken).apply

    def failing(self: Any, event: Any, rows: Any) -> None:
        if self is broken:
            raise RuntimeError("handler bug")
        real_apply(self, event, rows)

    monkeypatch.setattr(type(broken), "apply", failing)
    runner.catch_up()  # no error: the broken model is marked failed at its first event
    positions = runner.positions()
    total = event_count(ledger)
    assert positions["regional_stats"].events == 0
    assert store.failures()["regional_stats"].notification_id == 1
    assert {name: p.events for name, p in positions.items() if name != "regional_stats"} == {
        m.name: total for m in models() if m.name != "regional_stats"
    }
    monkeypatch.undo()
    runner.catch_up()  # fixed, but a failed model stays where it stopped until rebuilt
    assert runner.positions()["regional_stats"].events == 0
    log = open_transparency_log(ledger, settings)
    rebuild(store, models(["regional_stats"]), rebuild_feed(ledger, log))
    log.store.close()
    runner.catch_up()  # (tests/projections/test_failure_isolation.py: the rest of the story)
    assert all(p.events == total for p in runner.positions().values())
    assert store.failures() == {}
    assert digests(store) == reference_digests(ledger, settings)


def test_racing_runners_apply_each_event_once(ledger, settings, store):
    make_history(ledger)
    runners = [open_projection_runner(ledger, open_projection_store(settings)) for _ in range(3)]
    for runner in runners:
        runner.batch = 5
    store.db.close()
    first = open_projection_store(settings)
    open_projection_runner(ledger, first).catch_up(limit=1)  # generations exist before the race
    errors: list[BaseException] = []

    def run(runner: Any) -> None:
        try:
            runner.catch_up()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    total = event_count(ledger)
    for name, position in runners[0].positions().items():
        assert (name, position.events) == (name, total)
    assert digests(first) == reference_digests(ledger, settings)
    for runner in runners:
        runner.store.db.close()
    first.db.close()


def test_rebuild_refuses_a_log_that_does_not_match_its_checkpoint(ledger, settings, store):
    products = make_history(ledger, filers=2)
    log = open_transparency_log(ledger, settings)
    log.sequence()
    open_projection_runner(ledger, store).catch_up()
    served = digests(store)
    generations = {m.name: store.require_generation(m.name) for m in models()}
    # The model of a filing changed after signing: still valid JSON, but the leaf no longer
    # hashes to the signed root.
    _rewrite_state(settings, products[0], 1, lambda state: state.replace(b"M-0-0", b"M-0-9"))
    with pytest.raises(CheckpointRootError) as caught:
        rebuild(store, models(), rebuild_feed(ledger, log))
    assert caught.value.tree_size == log.size()
    assert {m.name: store.require_generation(m.name) for m in models()} == generations
    assert digests(store) == served
    log.store.close()


def test_a_new_filing_shows_in_the_served_registry_within_a_second(ledger, settings):
    from domain.actor import Role

    code = uscc(77)
    filer_id = approved_filer(ledger, code)
    with TestClient(create_app(settings)) as client:
        # A pending filing is visible only to its filer and the platform: read as a reviewer.
        _, token = client.app.state.tokens.create(Role.REVIEWER)  # type: ignore[attr-defined]
        reviewer = {"Authorization": f"Bearer {token}"}
        time.sleep(0.5)  # the follower has caught up with the history
        product_id = _file(ledger, code, filer_id, 7, 7)
        returned = time.monotonic()
        while True:
            response = client.get(f"/v1/products/{product_id}", headers=reviewer)
            if response.status_code == 200 or time.monotonic() - returned > 5:
                break
            time.sleep(0.02)
        elapsed = time.monotonic() - returned
        anonymous = client.get(f"/v1/products/{product_id}")
    assert response.status_code == 200
    assert response.json()["status"] == "pending_review"
    assert response.json()["sales_fen"] == 10_000_000  # the reviewer sees the figures
    assert anonymous.status_code == 404  # not approved: not public
    assert elapsed < 1.0


def test_rebuild_names_an_undecodable_event_under_the_checkpoint(ledger, settings, store):
    products = make_history(ledger, filers=2)
    log = open_transparency_log(ledger, settings)
    log.sequence()
    _rewrite_state(settings, products[1], 1, lambda state: state[:-3] + b"X" + state[-2:])
    with pytest.raises(EventTamperedError) as caught:
        rebuild(store, models(), rebuild_feed(ledger, log))
    assert (caught.value.originator_id, caught.value.version) == (products[1], 1)
    assert store.active_generation("product_registry") is None  # nothing was switched on
    log.store.close()


def test_a_rebuild_gathers_planner_statistics_before_it_switches_in(ledger, settings, store):
    """A rebuilt generation is analysed before it serves (ProjectionStore.analyze): without it
    the planner guessed over the fresh tables (searches 25.9 ms instead of 2.1 ms)."""
    make_history(ledger)
    log = open_transparency_log(ledger, settings)
    try:
        result = rebuild(store, models(["product_registry"]), rebuild_feed(ledger, log))
    finally:
        log.store.close()
    generation = result.generations["product_registry"]
    table = physical_name("product_registry", "products", generation)
    with store.db.autocommit() as cursor:
        if store.db.is_postgres:
            cursor.execute(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                "WHERE relname = %s AND schemaname = current_schema()",
                (table,),
            )
            (analysed,) = cursor.fetchone()
            assert analysed
            cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = %s", (table,))
            assert cursor.fetchone()[0] > 0  # column statistics the planner reads
        else:
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = ?", (table,))
            stats = cursor.fetchall()
            assert stats, "no sqlite_stat1 row for the rebuilt table"
            assert int(stats[0][0].split()[0]) > 0  # its row count
