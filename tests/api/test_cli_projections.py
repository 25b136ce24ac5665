"""``ppl projections``, ``stats``, ``registry`` and ``dispute-check`` on a real store."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest
from typer.testing import CliRunner, Result

from api.cli import app
from domain.actor import Actor, Role
from domain.declarations import PatentDeclaration
from projections.catalog import NAMES
from tests.domain.factories import (
    REVIEWER,
    approve_as_distinct,
    approved_filer,
    file,
    patent,
    uscc,
)

runner = CliRunner()
DIGEST_LINE = re.compile(r"(?P<name>[a-z_]+) (?P<digest>[0-9a-f]{64})")
UNIVERSITY = uscc(500, prefix="12", region="310110")


def _run(*arguments: str) -> Result:
    return runner.invoke(app, list(arguments), catch_exceptions=False)


def _ok(*arguments: str) -> str:
    result = _run(*arguments)
    assert result.exit_code == 0, result.stderr
    return result.stdout


@dataclass(frozen=True)
class Filed:
    a: str  # USCC of the filer in 浦东新区
    b: str  # USCC of the filer in 徐汇区
    approved: UUID  # a's product, approved: events 4-7
    pending: UUID  # b's product, filed as events 11-13, one edit away from ``approved``


@pytest.fixture
def filed(ledger, cli_env) -> Filed:
    """17 events: two approved filers, two filings sharing a patent, one conversion report."""
    a, b = uscc(80), uscc(81, region="310104")
    a_id = approved_filer(ledger, a)  # 1-3
    approved = file(ledger, a, a_id, model="TV-100")  # 4-6 (the filing, its v1 and v2 keys)
    ledger.approve_product(REVIEWER, approved)  # 7-9 (approval, filing number, its series)
    b_id = approved_filer(ledger, b, region="310104")  # 10-12
    pending = file(
        ledger, b, b_id, model="TV-101", patents=[PatentDeclaration.parse(patent(1), "owner")]
    )  # 13-15
    ledger.report_conversion(
        Actor(id="tto", role=Role.INSTITUTION, scope=UNIVERSITY),
        institution_uscc=UNIVERSITY, patent_number=patent(7), category="assigned",
        counterparty="上海某某制造有限公司", occurred_on="2023-05-04", amount_fen=2_000_000,
    )  # fmt: skip  # 16-17
    return Filed(a, b, approved, pending)


def _digests() -> dict[str, str]:
    lines = _ok("projections", "digest").splitlines()
    matches = [DIGEST_LINE.fullmatch(line) for line in lines]
    assert all(matches), lines
    return {m["name"]: m["digest"] for m in matches if m}


def _fails(code: int, *arguments: str) -> str:
    result = _run(*arguments)
    assert result.exit_code == code, (result.stdout, result.stderr)
    last = result.stderr.splitlines()[-1]  # as-of answers first say what they replayed
    assert last.startswith("error: "), result.stderr
    return last


# --- ppl projections -----------------------------------------------------------------------------
def test_digest_is_one_line_per_projection_and_the_same_after_a_rebuild(ledger, filed):
    assert "not built yet" in _fails(2, "projections", "digest")
    unbuilt = json.loads(_ok("projections", "status"))
    assert unbuilt == {name: {"state": "not_built", "generation": None} for name in NAMES}

    _ok("registry", "products")  # a reading command catches every projection up first
    served = _digests()
    assert list(served) == list(NAMES)
    status = json.loads(_ok("projections", "status"))
    assert status["audit_trail"] == {
        "state": "following", "generation": 1, "notification_id": 17, "events": 17, "behind": 0,
    }  # fmt: skip

    _ok("log", "sequence")  # a checkpoint of 17 events
    approve_as_distinct(ledger, filed.pending)  # 18-20 (the shared patent: a candidate)
    rebuilt = _ok("projections", "rebuild").splitlines()
    assert rebuilt[:-1] == [f"{name}: generation 2" for name in NAMES]
    assert re.fullmatch(
        r"20 events in [0-9.]+ s \(17 trusted by the signed checkpoint's root, 3 by signature\)",
        rebuilt[-1],
    )
    after = _digests()
    assert after != served  # the approval changed the registries
    unchanged = {name for name in NAMES if after[name] == served[name]}
    assert unchanged == {"conversion_stats", "certification_register", "published_stats"}
    again = json.loads(_ok("projections", "status"))
    assert {doc["generation"] for doc in again.values()} == {2}
    assert {doc["behind"] for doc in again.values()} == {0}

    _ok("projections", "rebuild", "product_registry")
    assert _digests() == after
    only = _ok("projections", "digest", "product_registry").splitlines()
    assert only == [f"product_registry {after['product_registry']}"]


def test_unknown_projection_names_exit_2(filed):
    assert "unknown projection nope" in _fails(2, "projections", "digest", "nope")
    assert "unknown projection nope" in _fails(2, "projections", "rebuild", "audit_trail", "nope")


def test_status_counts_how_far_each_projection_is_behind(ledger, filed):
    _ok("registry", "products")
    approve_as_distinct(ledger, filed.pending)
    status = json.loads(_ok("projections", "status"))
    assert {doc["behind"] for doc in status.values()} == {3}  # approval, number, series
    assert {doc["notification_id"] for doc in status.values()} == {17}


# --- ppl stats -----------------------------------------------------------------------------------
def test_region_statistics_as_csv_json_and_table(filed):
    rows = list(csv.DictReader(io.StringIO(_ok("stats", "regions", "--format", "csv"))))
    assert [
        (r["region_code"], r["name"], r["filers"], r["products"], r["pending"]) for r in rows
    ] == [
        ("310104", "徐汇区", "1", "0", "1"),
        ("310115", "浦东新区", "1", "1", "0"),
    ]
    assert rows[0]["data_years"] == ""  # no approved product: no figures
    assert (rows[1]["data_years"], rows[1]["sales_fen"]) == ("2022", "10000000")

    document = json.loads(_ok("stats", "regions", "--format", "json", "--level", "city"))
    assert document == [
        {"region_code": "310100", "name": "上海市", "filers": 2, "products": 1, "pending": 1,
         "rejected": 0, "withdrawn": 0, "data_year": 2022, "data_years": [2022],
         "figures_products": 1, "sales_fen": 10_000_000, "exports_fen": 1_000_000},
    ]  # fmt: skip
    of_2023 = json.loads(_ok("stats", "regions", "--format", "json", "--data-year", "2023"))
    assert [(r["data_year"], r["figures_products"], r["sales_fen"]) for r in of_2023] == [
        (2023, 0, 0),
        (2023, 0, 0),
    ]
    one = json.loads(_ok("stats", "regions", "--format", "json", "--prefix", "310115"))
    assert [r["region_code"] for r in one] == ["310115"]
    assert json.loads(_ok("stats", "regions", "--format", "json", "--prefix", "32")) == []

    table = _ok("stats", "regions").splitlines()
    assert table[0].split() == [
        "region_code", "name", "filers", "products", "pending", "rejected", "withdrawn",
        "data_years", "figures_products", "sales_fen", "exports_fen",
    ]  # fmt: skip
    assert table[2].split() == ["310115", "浦东新区", "1", "1", "0", "0", "0", "2022", "1",
                                "10000000", "1000000"]  # fmt: skip
    assert len(table) == 3


@pytest.mark.parametrize("prefix", ["3x", "3101150", "上海"])
def test_a_bad_region_prefix_exits_2(filed, prefix):
    assert "region prefix" in _fails(2, "stats", "regions", "--prefix", prefix)


def test_conversion_statistics_by_category_and_institution(filed):
    rows = list(csv.DictReader(io.StringIO(_ok("stats", "conversions", "--format", "csv"))))
    assert rows == [
        {"category": "assigned", "reports": "1", "patents": "1", "amount_fen": "2000000"}
    ]
    by = json.loads(_ok("stats", "conversions", "--by", "institution", "--format", "json"))
    assert by == [
        {"institution_uscc": UNIVERSITY, "category": "assigned", "reports": 1, "patents": 1,
         "amount_fen": 2_000_000},
    ]  # fmt: skip
    region = _ok("stats", "conversions", "--by", "region").splitlines()
    assert region[0].split() == ["region_code", "category", "reports", "patents", "amount_fen"]
    assert region[1].split() == ["310110", "assigned", "1", "1", "2000000"]


# --- ppl registry --------------------------------------------------------------------------------
def test_registry_shows_a_product_a_page_of_products_and_a_trail(filed):
    shown = json.loads(_ok("registry", "product", str(filed.approved)))
    assert (shown["status"], shown["filer_uscc"], shown["model"]) == ("approved", filed.a, "TV-100")
    assert "no product" in _fails(4, "registry", "product", str(uuid4()))

    listed = list(csv.DictReader(io.StringIO(_ok("registry", "products", "--format", "csv"))))
    assert list(listed[0]) == [
        "product_id", "filer_uscc", "region_code", "status", "data_year", "name", "model",
    ]  # fmt: skip
    assert sorted(r["product_id"] for r in listed) == sorted(
        [str(filed.approved), str(filed.pending)]
    )
    mine = json.loads(_ok("registry", "products", "--format", "json", "--filer", filed.a))
    assert [r["product_id"] for r in mine] == [str(filed.approved)]
    xuhui = json.loads(_ok("registry", "products", "--format", "json", "--region", "310104"))
    assert [r["product_id"] for r in xuhui] == [str(filed.pending)]
    approved = json.loads(_ok("registry", "products", "--format", "json", "--status", "approved"))
    assert [r["product_id"] for r in approved] == [str(filed.approved)]

    first = _run("registry", "products", "--format", "json", "--limit", "1")
    assert first.exit_code == 0
    (row,) = json.loads(first.stdout)
    assert first.stderr.strip() == f"next page: --after {row['product_id']}"
    rest = _run("registry", "products", "--format", "json", "--after", row["product_id"])
    assert [r["product_id"] for r in json.loads(rest.stdout)] == sorted(
        [str(filed.approved), str(filed.pending)]
    )[1:]
    assert rest.stderr == ""
    assert "limit 0" in _fails(2, "registry", "products", "--limit", "0")
    assert "limit 501" in _fails(2, "registry", "products", "--limit", "501")
    assert "region prefix" in _fails(2, "registry", "products", "--region", "3x")


def test_trail_cites_leaf_indexes_once_the_log_has_integrated_the_events(ledger, filed):
    before = json.loads(_ok("registry", "trail", str(filed.approved)))
    assert [(r["event_type"], r["leaf_index"]) for r in before] == [
        ("ProductFiled", None), ("ProductKeyReserved", None), ("ProductKeyReserved", None),
        ("FilingApproved", None), ("FilingNumberAssigned", None),
    ]  # fmt: skip
    _ok("log", "sequence")
    ledger.withdraw_product(REVIEWER, filed.approved, "专利失效")  # 18, not integrated yet
    trail = json.loads(_ok("registry", "trail", str(filed.approved)))
    assert [(r["notification_id"], r["leaf_index"]) for r in trail] == [
        (4, 3), (5, 4), (6, 5), (7, 6), (8, 7), (18, None),
    ]  # fmt: skip
    assert [r["actor_id"] for r in trail] == [
        f"user-{filed.a}", f"user-{filed.a}", f"user-{filed.a}", "reviewer-1",
        "system:filing-numbers", "reviewer-1",
    ]  # fmt: skip
    assert all(re.fullmatch(r"[0-9a-f]{64}", r["event_hash"]) for r in trail)
    assert "no events" in _fails(4, "registry", "trail", str(uuid4()))


# --- ppl dispute-check ---------------------------------------------------------------------------
def test_dispute_check_names_the_shared_patent_and_the_near_duplicate(filed):
    _ok("log", "sequence")
    check = json.loads(_ok("dispute-check", str(filed.approved)))
    assert check["product"]["product_id"] == str(filed.approved)
    assert [
        (s["patent_number"], s["product_id"], s["filer_uscc"], s["declared_by"])
        for s in check["shared_patents"]
    ] == [
        ("202110000001.6", str(filed.pending), filed.b,
         {"aggregate_id": str(filed.pending), "version": 1, "leaf_index": 12}),
    ]  # fmt: skip
    assert [(s["product_id"], s["distance"]) for s in check["similar_filings"]] == [
        (str(filed.pending), 1)
    ]
    assert [r["leaf_index"] for r in check["timeline"]] == [3, 4, 5, 6, 7]  # 7: its number
    exact = json.loads(_ok("dispute-check", str(filed.approved), "--max-distance", "0"))
    assert exact["similar_filings"] == []
    assert "no product" in _fails(4, "dispute-check", str(uuid4()))
    assert "max distance 11" in _fails(
        2, "dispute-check", str(filed.approved), "--max-distance", "11"
    )


# --- answering as of an earlier point ------------------------------------------------------------
def test_tree_size_answers_from_the_logs_prefix(filed):
    assert "no product" in _fails(4, "registry", "product", str(filed.approved), "--tree-size", "3")
    early = _run("registry", "product", str(filed.approved), "--tree-size", "5")
    assert early.exit_code == 0, early.stderr
    assert json.loads(early.stdout)["status"] == "pending_review"
    assert early.stderr.startswith("as of tree size 5: 5 events replayed")
    assert json.loads(_ok("registry", "product", str(filed.approved)))["status"] == "approved"
    assert "no product" in _fails(4, "registry", "product", str(filed.pending), "--tree-size", "9")

    regions = json.loads(
        _ok("stats", "regions", "--format", "json", "--tree-size", "7")
    )  # before the second filer registered
    assert [(r["region_code"], r["filers"], r["products"]) for r in regions] == [("310115", 1, 1)]
    assert json.loads(_ok("stats", "conversions", "--format", "json", "--tree-size", "11")) == []
    listed = json.loads(_ok("registry", "products", "--format", "json", "--tree-size", "7"))
    assert [r["product_id"] for r in listed] == [str(filed.approved)]


def test_as_of_a_date_before_the_first_event_shows_nothing(filed):
    assert "no product" in _fails(
        4, "registry", "product", str(filed.approved), "--as-of", "2000-01-01"
    )
    now = json.loads(_ok("stats", "regions", "--format", "json", "--as-of", "2999-01-01T00:00:00Z"))
    assert now == json.loads(_ok("stats", "regions", "--format", "json"))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--as-of", "2023-06-30T12:00:00"), "give a zone"),
        (("--as-of", "yesterday"), "want an ISO-8601 time"),
        (("--tree-size", "18"), "the log has only 17 events"),
        (("--tree-size", "-1"), "want ≥ 0"),
        (("--tree-size", "3", "--as-of", "2023-06-30"), "not both"),
    ],
)
def test_an_as_of_point_the_log_cannot_answer_exits_2(filed, arguments, message):
    assert message in _fails(2, "stats", "regions", *arguments)


def test_as_of_a_moment_includes_the_events_stamped_at_that_moment(filed):
    trail = json.loads(_ok("registry", "trail", str(filed.approved)))
    approved_at = trail[3]["timestamp"]  # the approval, event 7
    at = _run("registry", "product", str(filed.approved), "--as-of", approved_at)
    assert at.exit_code == 0, at.stderr
    assert json.loads(at.stdout)["status"] == "approved"
    assert at.stderr.startswith(f"as of {approved_at}: 7 events replayed")
    moment = datetime.fromisoformat(approved_at.replace("Z", "+00:00"))
    just_before = (moment - timedelta(microseconds=1)).isoformat()
    before = _run("registry", "product", str(filed.approved), "--as-of", just_before)
    assert before.exit_code == 0, before.stderr
    assert json.loads(before.stdout)["status"] == "pending_review"
    assert "6 events replayed" in before.stderr
