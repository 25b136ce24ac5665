"""A read model that cannot apply an event, seen from outside: ``/ready``, reads, the CLI.

The fault is injected into one read model (tests/projections/faults.py); the others must keep
serving new filings, ``/ready`` must say which model stopped where (200 ``degraded``), and
``ppl projections status`` / ``rebuild`` must show it and recover it once the fault is gone.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from api.app import create_app
from api.cli import app as cli
from domain.actor import Role
from projections.audit_trail import AuditTrail
from projections.catalog import NAMES
from projections.regional_stats import RegionalStatistics
from tests.api.conftest import api_settings
from tests.api.test_commands import approved_filer, filed_product
from tests.domain import factories
from tests.projections.faults import OVERFLOW, FakeFault

AT = 5  # the fault's event: a key reservation of the first filing (events 4-6)
runner = CliRunner()


def _stored(ledger: Any, notification_id: int) -> Any:
    (notification,) = ledger.recorder.select_notifications(start=notification_id, limit=1)
    return notification


def _run(*arguments: str) -> Result:
    return runner.invoke(cli, list(arguments), catch_exceptions=False)


def _status() -> tuple[int, dict[str, Any]]:
    result = _run("projections", "status")
    return result.exit_code, json.loads(result.stdout)


# --- the API -------------------------------------------------------------------------------------
def test_ready_reports_a_failed_read_model_as_degraded_and_the_others_serve_new_filings(
    api, monkeypatch
):
    code = factories.uscc(1)
    filer_id = approved_filer(api, code)  # events 1-3
    first = filed_product(api, code, filer_id, model="A-1")  # 4-6
    FakeFault(monkeypatch, AuditTrail, at=AT, kind=OVERFLOW).install()
    api.settle()

    anonymous = api.client.get("/ready")
    assert anonymous.status_code == 200
    ready = anonymous.json()
    assert ready["status"] == "degraded"
    assert ready["projections"]["audit_trail"] == AT - 1
    assert all(ready["projections"][n] == 6 for n in NAMES if n != "audit_trail")
    stored = _stored(api.state.ledger, AT)
    (entry,) = ready["degraded"]
    overflow = "NumericValueOutOfRange" if api.settings.is_postgres else "OverflowError"
    assert {k: v for k, v in entry.items() if k != "failed_at"} == {
        "name": "audit_trail", "notification_id": AT, "originator_id": None,
        "version": stored.originator_version, "topic": stored.topic, "error": overflow,
    }  # fmt: skip
    platform = api.client.get("/ready", headers=api.headers(Role.AUDITOR)).json()["degraded"][0]
    assert platform["originator_id"] == str(stored.originator_id)
    assert platform["error"].startswith(f"{overflow}: ")

    # Writes work, and the healthy read models serve them.
    second = filed_product(api, code, filer_id, model="B-2")
    api.settle()
    shown = api.client.get(f"/v1/products/{second}", headers=api.headers(Role.REVIEWER))
    assert shown.status_code == 200
    assert shown.json()["model"] == "B-2"
    # The failed model still answers, as of the event before the one it could not apply.
    trail = api.client.get(f"/v1/products/{first}/trail", headers=api.headers(Role.REVIEWER))
    assert trail.status_code == 200
    assert len(trail.json()["events"]) == 1  # the filing; its key reservations came after
    assert api.client.get("/ready").json()["degraded"][0]["notification_id"] == AT


def test_ready_is_ready_with_no_failed_read_model(api):
    approved_filer(api, factories.uscc(2))
    api.settle()
    ready = api.client.get("/ready").json()
    assert (ready["status"], ready["degraded"]) == ("ready", [])


def test_the_follower_isolates_the_failure_logs_it_once_and_serves_new_filings(
    ledger, database_url, tmp_path: Path, monkeypatch, caplog
):
    code = factories.uscc(3)
    filer_id = factories.approved_filer(ledger, code)
    factories.file(ledger, code, filer_id, model="A-1")
    FakeFault(monkeypatch, RegionalStatistics, at=AT).install()
    settings = api_settings(database_url, tmp_path, PPL_PROJECTION_INTERVAL="0.05")
    with caplog.at_level(logging.INFO), TestClient(create_app(settings)) as client:
        _, token = client.app.state.tokens.create(Role.REVIEWER)  # type: ignore[attr-defined]
        reviewer = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 10
        while (ready := client.get("/ready")).status_code != 200 or not ready.json()["degraded"]:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.05)
        product_id = factories.file(ledger, code, filer_id, model="B-2")
        returned = time.monotonic()
        while client.get(f"/v1/products/{product_id}", headers=reviewer).status_code != 200:
            assert time.monotonic() - returned < 1.0, "the new filing is not served"
            time.sleep(0.02)
        time.sleep(0.5)  # ten more rounds of the follower
        ready = client.get("/ready").json()
    assert ready["status"] == "degraded"
    assert [d["name"] for d in ready["degraded"]] == ["regional_stats"]
    assert ready["projections"]["regional_stats"] == AT - 1
    assert ready["projections"]["product_registry"] == ready["events"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["projections.runner"], [r.getMessage() for r in errors]
    assert "read model regional_stats failed at event 5" in errors[0].getMessage()


# --- the command line ----------------------------------------------------------------------------
def test_status_shows_the_failure_and_rebuild_recovers_once_the_fault_is_gone(
    ledger, cli_env, monkeypatch
):
    code = factories.uscc(4)
    filer_id = factories.approved_filer(ledger, code)
    product_id = factories.file(ledger, code, filer_id, model="A-1")
    fault = FakeFault(monkeypatch, AuditTrail, at=AT).install()

    trail = _run("registry", "trail", str(product_id))  # catches up: the model fails at AT
    assert trail.exit_code == 0
    assert json.loads(trail.stdout)[0]["version"] == 1  # stale, but answered
    assert "warning: read model audit_trail failed at event 5" in trail.stderr
    assert "ppl projections rebuild audit_trail" in trail.stderr

    code_, status = _status()
    stored = _stored(ledger, AT)
    assert code_ == 3
    assert status["audit_trail"]["state"] == "failed"
    assert status["audit_trail"]["notification_id"] == AT - 1
    failed = status["audit_trail"]["failed"]
    assert (failed["notification_id"], failed["originator_id"], failed["version"]) == (
        AT, str(stored.originator_id), stored.originator_version,
    )  # fmt: skip
    assert failed["topic"] == stored.topic
    assert failed["error"] == f"RuntimeError: {FakeFault.MESSAGE} at {AT}"
    assert all(
        (status[n]["state"], status[n]["behind"]) == ("following", 0)
        for n in NAMES if n != "audit_trail"
    )  # fmt: skip

    # Rebuilding with the fault still there: refused cleanly, the event named, still failed.
    refused = _run("projections", "rebuild", "audit_trail")
    assert refused.exit_code == 3
    assert "Traceback" not in refused.stderr + refused.stdout
    (line,) = [ln for ln in refused.stderr.splitlines() if ln.startswith("error: ")]
    assert line.startswith(f"error: rebuild of audit_trail failed at event {AT} ({stored.topic}")
    assert f"still failed at event {AT}" in line
    assert _status()[1]["audit_trail"]["failed"] == failed

    fault.remove()  # the fix is deployed
    rebuilt = _run("projections", "rebuild", "audit_trail")
    assert rebuilt.exit_code == 0, rebuilt.stderr
    code_, status = _status()
    assert code_ == 0
    assert all((status[n]["state"], status[n]["behind"]) == ("following", 0) for n in NAMES)
    assert "failed" not in status["audit_trail"]
    again = _run("registry", "trail", str(product_id))
    assert "warning" not in again.stderr
    assert len(json.loads(again.stdout)) == 3  # the filing and its two key reservations


def test_an_as_of_answer_names_the_event_a_model_cannot_apply(ledger, cli_env, monkeypatch):
    code = factories.uscc(6)
    factories.file(ledger, code, factories.approved_filer(ledger, code), model="A-1")
    FakeFault(monkeypatch, RegionalStatistics, at=AT).install()
    result = _run("stats", "regions", "--tree-size", "6")
    assert result.exit_code == 3
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        f"error: read model regional_stats failed at event {AT} ("
    )


def test_an_as_of_answer_through_the_api_is_a_500_problem_naming_the_event(
    api, monkeypatch, caplog
):
    code = factories.uscc(7)
    filed_product(api, code, approved_filer(api, code))
    FakeFault(monkeypatch, RegionalStatistics, at=AT).install()
    client = TestClient(api.client.app, raise_server_exceptions=False)  # the app already runs
    with caplog.at_level(logging.ERROR):
        response = client.get(
            "/v1/statistics/regions?tree_size=6", headers=api.headers(Role.REVIEWER)
        )
    problem = response.json()
    assert (response.status_code, problem["code"]) == (500, "read_model_failed")
    assert response.headers["content-type"].startswith("application/problem+json")
    (stored,) = api.state.ledger.recorder.select_notifications(start=AT, limit=1)
    assert problem["failures"] == [
        {"name": "regional_stats", "notification_id": AT, "topic": stored.topic}
    ]
    assert str(stored.originator_id) not in response.text  # ids and errors stay in the log
    assert f"read model regional_stats cannot apply event {AT}" in problem["detail"]
    assert f"read model regional_stats failed at event {AT} (" in caplog.text
