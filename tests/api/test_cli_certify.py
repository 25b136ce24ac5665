"""`ppl certify` against a real store (both backends), the clock set "in 2023"."""

from __future__ import annotations

import csv
import io
import json
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.settings import get_settings
from domain.values import IndustryCategory
from tests.domain.certification_factories import THRESHOLDS, at, product

runner = CliRunner()


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("PPL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PPL_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def benchmark_file(tmp_path):
    path = tmp_path / "benchmarks.json"
    thresholds = {c.value: THRESHOLDS for c in IndustryCategory}
    path.write_text(json.dumps({"note": "CLI test", "thresholds": thresholds}), encoding="utf-8")
    return path


def opt_in_actor(ledger, opt_in_id):
    (event,) = ledger.repository.event_store.get(opt_in_id)
    return {"role": event.actor["role"], "scope": event.actor["scope"]}


def _counts(output):
    """The outcome table ``ppl certify run`` prints, as {outcome: count}."""
    rows = [line.rsplit(None, 1) for line in output.splitlines()[2:] if "\t" not in line]
    return {outcome.strip(): count for outcome, count in rows}


def _run(*arguments):
    return runner.invoke(app, [str(a) for a in arguments], catch_exceptions=False)


def _evaluated(ledger, benchmark_file):
    """Four filings, benchmarks set, round 2023 opened: returns the ids and the run's output."""
    ids = {
        "certified": product(ledger, 1),
        "low": product(ledger, 2, sales=1),
        "pending": product(ledger, 3, approve=False),
        "outdated": product(ledger, 4, data_year=2021),
    }
    with at(2023, 1, 2):
        assert "version 1 in force" in _run("certify", "benchmarks", "set", benchmark_file).stdout
        opened = _run("certify", "open", "2023")
    assert opened.exit_code == 0
    assert json.loads(opened.stdout)["review_deadline"] == "2023-08-31"
    return ids


def test_open_run_explain_and_report_through_the_command_line(ledger, cli_env, benchmark_file):
    ids = _evaluated(ledger, benchmark_file)
    shown = _run("certify", "benchmarks", "show", "--format", "json")
    assert json.loads(shown.stdout)["thresholds"]["03"] == THRESHOLDS
    reminders = _run("certify", "reminders", "2023", "--format", "json")
    assert [r["filer_uscc"] for r in json.loads(reminders.stdout)] == [ids["outdated"][0]]

    with at(2023, 9, 5):
        first = _run("certify", "run", "2023", "--list-ineligible")
        again = _run("certify", "run", "2023")
    assert first.exit_code == 0, first.output
    lines = _counts(first.stdout)
    assert (lines["certified"], lines["not_certified"], lines["not_eligible"]) == ("1", "1", "2")
    assert (lines["not_approved"], lines["data_year_outdated"]) == ("1", "1")
    assert f"{ids['pending'][1]}\tthe filing is pending_review" in first.stdout
    again_lines = _counts(again.stdout)
    assert (again_lines["certified"], again_lines["already_decided"]) == ("0", "4")

    ineligible = _run("certify", "decisions", "2023", "--status", "not_eligible", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(ineligible.stdout)))
    assert {r["reasons"] for r in rows} == {"not_approved", "data_year_outdated"}

    explained = json.loads(_run("certify", "show", "2023", ids["low"][1]).stdout)
    assert explained["status"] == "not_certified"
    assert [i["passed"] for i in explained["indicators"]] == [True, None, False]

    report = json.loads(_run("certify", "report", "2023", "--format", "json").stdout)
    assert report["total"] == {"key": "total", "name": "合计", "certified": 1,
                               "not_certified": 1, "revoked": 0, "not_eligible": 2}  # fmt: skip
    table = _run("certify", "report", "2023").stdout
    assert "round 2023: by district" in table
    assert "浦东新区" in table
    grouped = list(
        csv.DictReader(io.StringIO(_run("certify", "report", "2023", "--format", "csv").stdout))
    )
    assert {r["group"] for r in grouped} == {"category", "district", "total"}


def test_publish_object_decide_and_verify_through_the_command_line(ledger, cli_env, benchmark_file):
    ids = _evaluated(ledger, benchmark_file)
    code, certified = ids["certified"]
    objector = ids["outdated"][0]
    with at(2023, 9, 5):
        assert _run("certify", "run", "2023").exit_code == 0
    with at(2023, 9, 10):
        published = _run("certify", "publish", "2023", "--objection-days", "5")
        assert "1 certified products published" in published.stdout
        objected = _run("certify", "object", "2023", certified, "--reason", "销售额虚报",
                        "--role", "filer", "--scope", objector)  # fmt: skip
        assert objected.exit_code == 0, objected.output
        second = _run("certify", "object", "2023", certified, "--reason", "专利无效").stdout
    objection_id = objected.stdout.strip()
    with at(2023, 9, 20):
        assert _run("certify", "uphold", "2023", objection_id, "--reason", "属实").exit_code == 0
        assert (
            _run("certify", "dismiss", "2023", second.strip(), "--reason", "已撤销").exit_code == 0
        )
    revoked = json.loads(_run("certify", "show", "2023", certified).stdout)
    assert (revoked["status"], revoked["revoked_by_objection"]) == ("revoked", objection_id)
    assert (revoked["revocation_reason"], revoked["filer_uscc"]) == ("属实", code)
    assert json.loads(_run("certify", "round", "2023").stdout)["status"] == "published"

    # The offline verifier passes on the whole log, round included.
    assert _run("log", "sequence").exit_code == 0
    bundle = benchmark_file.with_name("round.bundle")
    assert _run("audit", "export", "--out", bundle).exit_code == 0
    verified = _run("audit", "verify", bundle, "--workers", "1")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.startswith("OK:")


@pytest.mark.parametrize(
    ("arguments", "want_exit", "want"),
    [
        (("certify", "open", "2022"), 2, "[year_invalid]"),
        (("certify", "open", "2025", "--review-deadline", "2025-02-30"), 2, "[date_invalid]"),
        (("certify", "round", "2030"), 4, "[certification_round_not_found]"),
        (("certify", "show", "2023", str(uuid4())), 4, "[certification_not_found]"),
        (("certify", "benchmarks", "show"), 4, "[benchmarks_not_found]"),
        (("certify", "run", "2031"), 4, "[certification_round_not_found]"),
        (("certify", "uphold", "2023", str(uuid4()), "--reason", "x"), 4, "[objection_not_found]"),
    ],
)
def test_refused_commands_print_their_code_and_exit_non_zero(ledger, cli_env, arguments,
                                                            want_exit, want):  # fmt: skip
    result = _run(*arguments)
    assert result.exit_code == want_exit
    assert want in result.stderr


def test_evaluation_before_the_review_deadline_is_refused(ledger, cli_env, benchmark_file):
    with at(2023, 1, 2):
        _run("certify", "benchmarks", "set", benchmark_file)
        _run("certify", "open", "2023")
    with at(2023, 8, 20):
        refused = _run("certify", "run", "2023")
    assert refused.exit_code == 2
    assert "[evaluation_too_early]" in refused.stderr


def test_opt_in_acts_for_the_products_filer(ledger, cli_env, benchmark_file):
    code, product_id = product(ledger, 1, data_year=2023, filed_on=(2024, 3, 1))
    with at(2024, 1, 2):
        _run("certify", "benchmarks", "set", benchmark_file)
        _run("certify", "open", "2024")
    with at(2024, 4, 1):
        opted = _run("certify", "opt-in", "2024", product_id, "--filer-valid-patents", "4")
        twice = _run("certify", "opt-in", "2024", product_id)
    assert opted.exit_code == 0, opted.output
    assert twice.exit_code == 2
    assert "[already_opted_in]" in twice.stderr
    opt_in = ledger.certification.get_opt_in(2024, product_id)
    assert (opt_in.filer_uscc, opt_in.filer_valid_patents) == (code, 4)
    assert opt_in_actor(ledger, opt_in.id) == {"role": "filer", "scope": code}
