"""Certification in the read models, on SQLite and on PostgreSQL.

A 2023 round over four filings, run through the domain with the clock set in 2023: the product
registry's ``certifications`` history, the audit trail's certification rows, the certification
register's tables, the dispute check's citations, and that catching up in slices gives the
digests of a clean rebuild.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

from api.bootstrap import open_projection_runner, open_projection_store
from audit.offline.log_leaf import log_leaf_hash
from domain.certification import certification_id_for
from domain.certification_opt_in import opt_in_id_for
from domain.certification_round import round_id_for
from domain.values import IndustryCategory
from projections import queries
from projections.catalog import models
from projections.certification_register import (
    BENCHMARKS,
    DECISIONS,
    OBJECTIONS,
    OPT_INS,
    ROUNDS,
    CertificationRegister,
)
from projections.dispute_check import dispute_check
from projections.feed import CheckpointVerifiedFeed
from projections.runner import rebuild
from projections.store import ProjectionStore
from tests.domain.certification_factories import (
    CERTIFIER,
    THRESHOLDS,
    at,
    opened_round,
    product,
)
from tests.domain.factories import EVIDENCE, REVIEWER, filer_actor, patent

XUHUI = "310104"
REGISTER = CertificationRegister.name


@pytest.fixture
def store(settings) -> Iterator[ProjectionStore]:
    opened = open_projection_store(settings)
    yield opened
    opened.db.close()


@dataclass
class Products:
    certified: tuple[str, UUID]
    low: tuple[str, UUID]
    disputed: tuple[str, UUID]
    pending: tuple[str, UUID]


def _products(ledger) -> Products:
    made = Products(
        certified=product(ledger, 1),
        low=product(ledger, 2, sales=1, region=XUHUI),
        disputed=product(ledger, 3),
        pending=product(ledger, 4, approve=False),
    )
    with at(2023, 4, 1):
        ledger.raise_dispute(REVIEWER, made.disputed[1], patent_numbers=[patent(30)],
                             claimant="某所", evidence_digests=EVIDENCE, description="权属存疑",
                             dispute_id="d-1")  # fmt: skip
    return made


def _caught_up(ledger, store: ProjectionStore) -> ProjectionStore:
    open_projection_runner(ledger, store).catch_up()
    return store


def _evaluate(ledger) -> None:
    opened_round(ledger)
    with at(2023, 9, 5):
        ledger.certification.run_certification(CERTIFIER, 2023)


def _publish_and_object(ledger, products: Products) -> tuple[UUID, UUID]:
    """Publish; the Xuhui filer and a reviewer object; the first is upheld, the second not."""
    with at(2023, 9, 10):
        ledger.certification.publish_certified_list(CERTIFIER, 2023, objection_days=5)
        upheld = ledger.certification.file_objection(
            filer_actor(products.low[0]), 2023, products.certified[1], "销售额虚报"
        )
        dismissed = ledger.certification.file_objection(
            REVIEWER, 2023, products.certified[1], "专利无效"
        )
    with at(2023, 9, 20):
        ledger.certification.uphold_objection(CERTIFIER, upheld, "属实")
        ledger.certification.dismiss_objection(CERTIFIER, dismissed, "证据不足")
    return upheld, dismissed


def _entry(store: ProjectionStore, product_id: UUID) -> dict[str, Any]:
    row = queries.product(store, product_id)
    assert row is not None
    (entry,) = row["certifications"]
    return dict(entry)


def _notification(ledger, aggregate_id: UUID, version: int) -> int:
    for notification in ledger.recorder.select_notifications(start=1, limit=10_000):
        if (UUID(str(notification.originator_id)), notification.originator_version) == (
            aggregate_id, version,
        ):  # fmt: skip
            return int(notification.id)
    raise LookupError((aggregate_id, version))


# --- product registry ----------------------------------------------------------------------------
def test_registry_history_follows_decision_publication_objections_and_revocation(ledger, store):
    products = _products(ledger)
    _evaluate(ledger)
    _caught_up(ledger, store)
    certified = products.certified[1]
    decision_id = certification_id_for(2023, certified)
    entry = _entry(store, certified)
    assert entry == {
        "year": 2023, "data_year": 2022, "status": "certified", "reasons": [],
        "benchmark_table_id": entry["benchmark_table_id"], "benchmark_version": 1,
        "certification_id": str(decision_id), "version": 1,
        "notification_id": _notification(ledger, decision_id, 1),
        "decided_at": "2023-09-05T04:00:00.000000Z", "product_version": 3,
        "published": False, "published_at": None, "revocation_reason": None,
        "revoked_by_objection": None, "revoked_version": None, "revoked_notification_id": None,
        "revoked_at": None, "objections": [],
    }  # fmt: skip
    assert (queries.product(store, certified) or {})["version"] == 3  # the filing's ETag stays
    low = _entry(store, products.low[1])
    assert (low["status"], low["benchmark_version"]) == ("not_certified", 1)
    disputed = _entry(store, products.disputed[1])
    assert (disputed["status"], disputed["benchmark_version"]) == ("not_eligible", None)
    assert [r["reason"] for r in disputed["reasons"]] == ["ownership_dispute_open"]
    assert [r["reason"] for r in _entry(store, products.pending[1])["reasons"]] == ["not_approved"]

    upheld, dismissed = _publish_and_object(ledger, products)
    entry = _entry(_caught_up(ledger, store), certified)
    assert (entry["status"], entry["published"], entry["published_at"]) == (
        "revoked", True, "2023-09-10T04:00:00.000000Z",
    )  # fmt: skip
    assert (entry["revocation_reason"], entry["revoked_by_objection"]) == ("属实", str(upheld))
    assert (entry["revoked_version"], entry["revoked_notification_id"]) == (
        2, _notification(ledger, decision_id, 2),
    )  # fmt: skip
    assert [
        (o["objection_id"], o["status"], o["objector_role"], o["decision_reason"], o["version"])
        for o in entry["objections"]
    ] == [
        (str(upheld), "upheld", "filer", "属实", 1),
        (str(dismissed), "dismissed", "reviewer", "证据不足", 1),
    ]
    assert _entry(store, products.low[1])["published"] is False  # not on the list


def test_dispute_check_cites_each_decision_and_the_disputes_open_then(ledger, store):
    products = _products(ledger)
    _evaluate(ledger)
    _caught_up(ledger, store)
    disputed = products.disputed[1]
    decision_id = str(certification_id_for(2023, disputed))
    leaves = {(decision_id, 1): 40}
    check = dispute_check(store, disputed, leaf_index=lambda i, v: leaves.get((str(i), v)))
    (certification,) = check.certifications
    assert certification["open_disputes"] == ["d-1"]
    assert certification["decided_by"] == {
        "aggregate_id": decision_id, "version": 1, "leaf_index": 40,
    }  # fmt: skip
    assert "revoked_by" not in certification


# --- audit trail ---------------------------------------------------------------------------------
def test_trail_records_certification_events_under_the_product(ledger, store):
    products = _products(ledger)
    _evaluate(ledger)
    _publish_and_object(ledger, products)
    trail = queries.audit_trail_of(_caught_up(ledger, store), products.certified[1])
    # Rows of other aggregates' events, recorded under the product.
    certification = [row for row in trail if row["originator_id"] != str(products.certified[1])]
    assert [row["event_type"] for row in certification] == [
        "ProductKeyReserved", "ProductKeyReserved", "Certified", "CertifiedListPublished",
        "ObjectionFiled", "ObjectionFiled", "ObjectionUpheld", "CertificationRevoked",
        "ObjectionDismissed",
    ]  # fmt: skip
    assert [row["details"]["key_rule"] for row in certification[:2]] == [1, 2]
    certification = certification[1:]
    published = certification[2]
    assert published["originator_id"] == str(round_id_for(2023))
    assert published["details"] == {
        "objection_days": 5,
        "objection_window_start": "2023-09-10T04:00:00.000000Z",
        "objection_window_end": "2023-09-15T04:00:00.000000Z",
    }
    revoked = certification[6]
    assert (revoked["actor_role"], revoked["details"]["reason"]) == ("certifier", "属实")
    stored = {
        (str(n.originator_id), n.originator_version): n
        for n in ledger.recorder.select_notifications(start=1, limit=10_000)
    }
    for row in certification:
        n = stored[(row["originator_id"], row["version"])]
        assert row["notification_id"] == n.id
        leaf = log_leaf_hash(UUID(row["originator_id"]), n.originator_version, n.topic, n.state)
        assert row["event_hash"] == leaf.hex()
    # Products not on the published list carry their decision, not the publication.
    low = queries.audit_trail_of(store, products.low[1])
    assert [row["event_type"] for row in low][-1] == "NotCertified"


def test_an_opt_in_appears_in_the_trail_and_the_register(ledger, store):
    code, product_id = product(ledger, 1, data_year=2023, filed_on=(2024, 3, 1))
    opened_round(ledger, 2024)
    with at(2024, 4, 1):
        ledger.certification.opt_in_to_certification(
            filer_actor(code), 2024, product_id, filer_valid_patents=4
        )
    _caught_up(ledger, store)
    assert queries.audit_trail_of(store, product_id)[-1]["event_type"] == "CertificationOptedIn"
    (opt_in,) = store.select(REGISTER, OPT_INS)
    assert opt_in == {
        "opt_in_id": str(opt_in_id_for(2024, product_id)), "round_year": 2024,
        "product_id": str(product_id), "filer_uscc": code, "filer_valid_patents": 4,
        "opted_in_at": "2024-04-01T04:00:00.000000Z", "actor_id": f"user-{code}",
        "notification_id": opt_in["notification_id"],
    }  # fmt: skip
    (round_,) = queries.certification_rounds(store)
    assert (round_["year"], round_["opt_in_required"], round_["status"]) == (2024, 1, "opened")


# --- certification register ----------------------------------------------------------------------
def test_register_holds_the_round_its_decisions_objections_and_benchmarks(ledger, store):
    products = _products(ledger)
    _evaluate(ledger)
    upheld, dismissed = _publish_and_object(ledger, products)
    _caught_up(ledger, store)

    (round_,) = store.select(REGISTER, ROUNDS)
    assert round_ == {
        "round_id": str(round_id_for(2023)), "year": 2023, "data_year": 2022,
        "filing_deadline": "2023-08-15", "review_deadline": "2023-08-31", "opt_in_required": 0,
        "update_window_start": "2023-01-01", "update_window_end": "2023-08-15",
        "status": "published", "benchmark_table_id": round_["benchmark_table_id"],
        "benchmark_version": 1, "opened_at": "2023-01-02T04:00:00.000000Z",
        "evaluation_started_at": "2023-09-05T04:00:00.000000Z",
        "published_at": "2023-09-10T04:00:00.000000Z", "objection_days": 5,
        "objection_window_start": "2023-09-10T04:00:00.000000Z",
        "objection_window_end": "2023-09-15T04:00:00.000000Z", "published_certified": 1,
        "certified": 0, "not_certified": 1, "not_eligible": 2, "revoked": 1, "objections": 2,
        "version": 3,
    }  # fmt: skip

    decisions = {row["product_id"]: row for row in store.select(REGISTER, DECISIONS)}
    revoked = decisions[str(products.certified[1])]
    assert (revoked["status"], revoked["published"], revoked["revocation_reason"]) == (
        "revoked", 1, "属实",
    )  # fmt: skip
    assert (revoked["version"], revoked["revoked_by_objection"]) == (2, str(upheld))
    assert revoked["inputs"]["sales_fen"] == 10_000_000
    assert {i["indicator"]: i["passed"] for i in revoked["indicators"]} == {
        "invention_patents": True, "patent_use_share_bp": None, "sales_fen": True,
    }  # fmt: skip
    low = decisions[str(products.low[1])]
    assert (low["status"], low["region_code"], low["published"]) == ("not_certified", XUHUI, 0)
    pending = decisions[str(products.pending[1])]
    assert (pending["product_status"], pending["inputs"], pending["indicators"]) == (
        "pending_review", None, None,
    )  # fmt: skip

    objections = {row["objection_id"]: row for row in store.select(REGISTER, OBJECTIONS)}
    first = objections[str(upheld)]
    assert (first["objector_role"], first["objector_scope"], first["status"]) == (
        "filer", products.low[0], "upheld",
    )  # fmt: skip
    assert (first["filer_uscc"], first["region_code"]) == (products.certified[0], "310115")
    assert (first["decision_reason"], first["decided_by"], first["version"]) == (
        "属实", CERTIFIER.id, 2,
    )  # fmt: skip
    assert objections[str(dismissed)]["status"] == "dismissed"
    report = queries.certification_report(store, 2023)
    assert report is not None
    assert (report.total.certified, report.total.revoked) == (0, 1)  # revoked is not certified

    (table,) = store.select(REGISTER, BENCHMARKS)
    assert (table["version"], table["thresholds"]["03"]) == (1, THRESHOLDS)
    assert table["indicators"]["sales_fen"]["unit"] == "fen"


def test_register_queries_filter_and_page(ledger, store):
    products = _products(ledger)
    second = product(ledger, 5, region=XUHUI)
    _evaluate(ledger)
    _caught_up(ledger, store)
    assert queries.certified_products(store, 2023).rows == []  # not published yet
    unpublished = queries.certified_products(store, 2023, published_only=False, limit=1)
    assert unpublished.next_cursor is not None
    rest = queries.certified_products(
        store, 2023, published_only=False, after=unpublished.next_cursor
    )
    assert sorted(r["product_id"] for r in [*unpublished.rows, *rest.rows]) == sorted(
        [str(products.certified[1]), str(second[1])]
    )
    assert rest.rows[0]["name"] == "智能温控阀"
    xuhui = queries.certified_products(store, 2023, published_only=False, region=XUHUI)
    assert [r["product_id"] for r in xuhui.rows] == [str(second[1])]
    disputed = queries.ineligible_products(store, 2023, reason="ownership_dispute_open")
    assert [r["product_id"] for r in disputed.rows] == [str(products.disputed[1])]
    assert queries.ineligible_products(store, 2023, reason="not_opted_in").rows == []
    by_filer = queries.ineligible_products(store, 2023, filer_uscc=products.pending[0])
    assert [r["product_id"] for r in by_filer.rows] == [str(products.pending[1])]
    low = queries.certification_decision(store, 2023, products.low[1])
    assert low is not None
    assert (low["status"], low["model"]) == ("not_certified", "M-2")
    assert queries.certification_decision(store, 2024, products.low[1]) is None


# --- the reports (``ppl certify decisions``, ``reminders``, ``report``) ---------------------------
def test_reminders_list_who_must_update_to_the_rounds_data_year(ledger, store):
    opened_round(ledger)
    code, outdated = product(ledger, 1, data_year=2021)
    product(ledger, 2)  # up to date
    gone_code, gone = product(ledger, 3, data_year=2021)
    with at(2023, 4, 1):
        ledger.withdraw_product(filer_actor(gone_code), gone, "退市")
    (reminder,) = queries.certification_reminders(_caught_up(ledger, store), 2023) or []
    assert (reminder.filer_uscc, reminder.product_id, reminder.data_year) == (code, outdated, 2021)
    assert (reminder.wanted_data_year, reminder.update_window_end) == (2022, "2023-08-15")
    assert reminder.filer_name.startswith("上海测试科技有限公司")
    assert queries.certification_reminders(store, 2024) is None  # no such round


def test_the_report_counts_decisions_per_category_and_district(ledger, store):
    opened_round(ledger)
    filed = [
        product(ledger, 1, category="01", region="310115")[1],
        product(ledger, 2, category="01", region="310104")[1],
        product(ledger, 3, category="05", region="310104", sales=1)[1],
        product(ledger, 4, category="05", region="310104", approve=False)[1],
    ]
    with at(2023, 9, 5):
        ledger.certification.run_certification(CERTIFIER, 2023)
    report = queries.certification_report(_caught_up(ledger, store), 2023)
    assert report is not None
    by_category = {
        t.key: (t.certified, t.not_certified, t.not_eligible) for t in report.by_category
    }
    assert by_category["01"] == (2, 0, 0)
    assert by_category["05"] == (0, 1, 1)
    assert by_category["03"] == (0, 0, 0)
    assert [c.key for c in report.by_category] == [c.value for c in IndustryCategory]
    by_district = {t.key: (t.name, t.certified, t.not_certified) for t in report.by_district}
    assert by_district == {"310104": ("徐汇区", 1, 1), "310115": ("浦东新区", 1, 0)}
    total = report.total
    assert (total.certified, total.not_certified, total.not_eligible) == (2, 1, 1)
    assert queries.certification_report(store, 2024) is None  # no such round

    decisions = queries.certification_decisions(store, 2023)
    assert [row["product_id"] for row in decisions] == [str(p) for p in filed]  # as filed
    (ineligible,) = queries.certification_decisions(store, 2023, status="not_eligible")
    assert (ineligible["product_id"], ineligible["reasons"][0]["reason"]) == (
        str(filed[3]), "not_approved",
    )  # fmt: skip


# --- incremental catch-up equals a rebuild -------------------------------------------------------
def _digests(store: ProjectionStore) -> dict[str, str]:
    return {
        m.name: store.digest(m.name, m.tables, store.require_generation(m.name)) for m in models()
    }


def test_catching_up_through_a_round_gives_the_digests_of_a_rebuild(ledger, store):
    runner = open_projection_runner(ledger, store)
    products = _products(ledger)
    runner.catch_up()
    _evaluate(ledger)
    runner.catch_up()  # the warm runner: decisions applied to cached rows
    decided = _digests(store)
    _publish_and_object(ledger, products)
    open_projection_runner(ledger, store).catch_up()  # a new runner: rows loaded from the store
    incremental = _digests(store)
    changed = {name for name in incremental if incremental[name] != decided[name]}
    assert changed == {"product_registry", "audit_trail", "certification_register"}

    def read(start: int, limit: int) -> Any:
        return ledger.recorder.select_notifications(start=start, limit=limit)

    rebuild(store, models(), CheckpointVerifiedFeed(read, ledger.mapper, None))
    assert _digests(store) == incremental
