"""The annual certification: rounds, eligibility, decisions and their explanation, idempotent
re-runs, pinned benchmarks, publication and objections (the reminders and the report are read
from the read models: tests/projections/test_certification_projections.py).

Every test runs on SQLite and PostgreSQL (the ``ledger`` fixture). Products are filed "in
2023" (tests/domain/certification_factories.py) and the evaluation runs after the 2023
review deadline (31 Aug, Beijing time).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from domain.actor import Actor, Role
from domain.benchmarks import BenchmarkValues
from domain.certification import CertificationStatus, ProductCertification, certification_id_for
from domain.declarations import PatentDeclaration
from domain.errors import (
    ActorNotPermittedError,
    AlreadyOptedInError,
    CertificationDatesInvalidError,
    CertificationNotFoundError,
    CertificationRoundExistsError,
    CertificationRoundStateError,
    EvaluationTooEarlyError,
    ObjectionNotFoundError,
    ObjectionNotOpenError,
    ObjectionWindowClosedError,
    OptInClosedError,
    PatentCountInvalidError,
    ProductNotCertifiedError,
    ProductNotOwnedError,
    YearInvalidError,
)
from tests.domain.certification_factories import (
    AFTER_REVIEW,
    BENCHMARKS,
    CERTIFIER,
    THRESHOLDS,
    at,
    figures,
    opened_round,
    product,
)
from tests.domain.factories import EVIDENCE, REVIEWER, digest, filer_actor, patent

AUDITOR = Actor(id="auditor-1", role=Role.AUDITOR)


def run(ledger, year=2023, when=AFTER_REVIEW, **options):
    with at(*when):
        return ledger.certification.run_certification(CERTIFIER, year, **options)


def decision(ledger, product_id, year=2023):
    return ledger.certification.get_certification(year, product_id)


def reasons(ledger, product_id, year=2023):
    return [r["reason"] for r in decision(ledger, product_id, year).reasons]


def decision_event(ledger, product_id, year=2023):
    (event,) = ledger.repository.event_store.get(certification_id_for(year, product_id), lte=1)
    return event


# --- rounds ---------------------------------------------------------------------------------------


def test_rounds_open_with_the_notices_calendar(ledger):
    with at(2023, 1, 2):
        ledger.certification.open_certification_round(CERTIFIER, 2023)
        ledger.certification.open_certification_round(CERTIFIER, 2024)
    first, second = ledger.certification.get_round(2023), ledger.certification.get_round(2024)
    assert (first.data_year, first.filing_deadline, first.review_deadline) == (
        2022,
        "2023-08-15",
        "2023-08-31",
    )
    assert first.opt_in_required is False
    assert (second.data_year, second.review_deadline, second.opt_in_required) == (
        2023,
        "2024-09-30",
        True,
    )
    assert (second.update_window_start, second.update_window_end) == ("2024-01-01", "2024-03-31")
    assert first.status.value == "opened"


def test_a_round_is_opened_once_by_the_certifier_in_a_certified_year(ledger):
    with at(2023, 1, 2):
        ledger.certification.open_certification_round(CERTIFIER, 2023)
        with pytest.raises(CertificationRoundExistsError):
            ledger.certification.open_certification_round(CERTIFIER, 2023)
        with pytest.raises(YearInvalidError):
            ledger.certification.open_certification_round(CERTIFIER, 2022)
        with pytest.raises(ActorNotPermittedError):
            ledger.certification.open_certification_round(REVIEWER, 2025)
        with pytest.raises(CertificationDatesInvalidError):
            ledger.certification.open_certification_round(
                CERTIFIER, 2025, filing_deadline="2025-10-01", review_deadline="2025-09-30"
            )


def test_evaluation_waits_for_the_review_deadline_beijing_time(ledger):
    opened_round(ledger)
    product(ledger, 1)
    # 31 Aug 2023 23:59 in Beijing is 15:59 UTC: still before the deadline has passed.
    with pytest.raises(EvaluationTooEarlyError):
        run(ledger, when=(2023, 8, 31, 15))
    assert ledger.certification.get_round(2023).status.value == "opened"
    report = run(ledger, when=(2023, 8, 31, 16))
    assert len(report.certified) == 1
    assert ledger.certification.get_round(2023).benchmark_version == 1


def test_only_the_certifier_runs_the_evaluation(ledger):
    opened_round(ledger)
    with at(*AFTER_REVIEW), pytest.raises(ActorNotPermittedError):
        ledger.certification.run_certification(REVIEWER, 2023)


# --- eligibility, one rule at a time --------------------------------------------------------------


def test_a_product_approved_in_time_with_the_rounds_data_year_is_evaluated(ledger):
    opened_round(ledger)
    _, product_id = product(ledger, 1)
    report = run(ledger)
    assert report.certified == [product_id]
    assert decision(ledger, product_id).status is CertificationStatus.CERTIFIED


@pytest.mark.parametrize("review", ["pending", "rejected"])
def test_a_filing_not_approved_is_not_eligible(ledger, review):
    opened_round(ledger)
    _, product_id = product(ledger, 1, approve=False)
    if review == "rejected":
        with at(2023, 3, 2):
            ledger.reject_product(REVIEWER, product_id, "材料不全")
    report = run(ledger)
    assert report.not_eligible_by_reason() == {"not_approved": 1}
    assert reasons(ledger, product_id) == ["not_approved"]
    event = decision_event(ledger, product_id)
    assert type(event).__name__ == "NotEligible"
    assert event.product_status == ("pending_review" if review == "pending" else "rejected")
    assert event.reasons[0]["detail"] == f"the filing is {event.product_status}"


def test_an_approval_after_the_review_deadline_does_not_count(ledger):
    opened_round(ledger)
    _, product_id = product(ledger, 1, filed_on=(2023, 8, 10), approved_on=(2023, 9, 1))
    run(ledger)
    assert reasons(ledger, product_id) == ["approved_after_review_deadline"]


def test_a_filing_submitted_after_the_filing_deadline_is_not_eligible(ledger):
    opened_round(ledger)
    _, product_id = product(ledger, 1, filed_on=(2023, 8, 20), approved_on=(2023, 8, 25))
    run(ledger)
    assert reasons(ledger, product_id) == ["submitted_after_filing_deadline"]


def test_older_data_must_be_revised_and_reapproved(ledger):
    opened_round(ledger)
    _, outdated = product(ledger, 1, data_year=2021)
    _, revised_pending = product(ledger, 2, data_year=2021)
    _, revised_approved = product(ledger, 3, data_year=2021)
    with at(2023, 3, 10):
        for serial, product_id in ((2, revised_pending), (3, revised_approved)):
            ledger.revise_product(
                filer_actor(ledger.get_product(product_id).filer_uscc),
                product_id,
                data_year=2022,
                figures=figures(),
                patents=_declarations(serial),
                proof_digests=[digest("2022 invoices")],
            )
        ledger.approve_product(REVIEWER, revised_approved)
    run(ledger)
    assert reasons(ledger, outdated) == ["data_year_outdated"]
    assert reasons(ledger, revised_pending) == ["not_approved"]
    assert decision(ledger, revised_approved).status is CertificationStatus.CERTIFIED


def _declarations(serial):
    return [PatentDeclaration.parse(patent(serial * 10), "owner")]


def test_data_of_a_newer_year_are_not_the_rounds(ledger):
    opened_round(ledger)
    _, product_id = product(ledger, 1, data_year=2023)
    run(ledger)
    assert reasons(ledger, product_id) == ["data_year_newer"]


def test_an_update_after_the_annual_update_window_does_not_count(ledger):
    opened_round(ledger, update_window_end="2023-03-31")
    _, late = product(ledger, 1, data_year=2021)
    _, on_time = product(ledger, 2, data_year=2021)
    for product_id, serial, day in ((late, 1, (2023, 4, 3)), (on_time, 2, (2023, 3, 30))):
        with at(*day):
            ledger.revise_product(
                filer_actor(ledger.get_product(product_id).filer_uscc),
                product_id,
                data_year=2022,
                figures=figures(),
                patents=_declarations(serial),
                proof_digests=[digest("2022 invoices")],
            )
            ledger.approve_product(REVIEWER, product_id)
    run(ledger)
    assert reasons(ledger, late) == ["updated_after_window"]
    assert decision(ledger, on_time).status is CertificationStatus.CERTIFIED


def test_an_open_ownership_dispute_makes_a_product_not_eligible(ledger):
    opened_round(ledger)
    _, disputed = product(ledger, 1)
    _, settled = product(ledger, 2)
    with at(2023, 4, 1):
        for product_id, serial in ((disputed, 1), (settled, 2)):
            ledger.raise_dispute(
                REVIEWER,
                product_id,
                patent_numbers=[patent(serial * 10)],
                claimant="某公司",
                evidence_digests=EVIDENCE,
                description="权属争议",
                dispute_id=f"d{serial}",
            )
        ledger.resolve_dispute(REVIEWER, settled, "d2", "settled", "和解")
    run(ledger)
    assert reasons(ledger, disputed) == ["ownership_dispute_open"]
    assert decision(ledger, settled).status is CertificationStatus.CERTIFIED


def test_from_2024_only_products_opted_in_are_evaluated(ledger):
    opened_round(ledger, 2024)
    code, opted = product(ledger, 1, data_year=2023, filed_on=(2024, 3, 1))
    _, silent = product(ledger, 2, data_year=2023, filed_on=(2024, 3, 1))
    with at(2024, 4, 1):
        ledger.certification.opt_in_to_certification(filer_actor(code), 2024, opted)
        with pytest.raises(AlreadyOptedInError):
            ledger.certification.opt_in_to_certification(filer_actor(code), 2024, opted)
    run(ledger, 2024, when=(2024, 10, 8))
    assert decision(ledger, opted, 2024).status is CertificationStatus.CERTIFIED
    assert reasons(ledger, silent, 2024) == ["not_opted_in"]


def test_opt_in_is_the_filers_own_until_the_filing_deadline(ledger):
    opened_round(ledger, 2024)
    code, product_id = product(ledger, 1, data_year=2023, filed_on=(2024, 3, 1))
    other, _ = product(ledger, 2, data_year=2023, filed_on=(2024, 3, 1))
    with at(2024, 4, 1):
        with pytest.raises(ProductNotOwnedError):
            ledger.certification.opt_in_to_certification(filer_actor(other), 2024, product_id)
        with pytest.raises(PatentCountInvalidError):  # fewer than the product declares
            ledger.certification.opt_in_to_certification(
                filer_actor(code), 2024, product_id, filer_valid_patents=1
            )
    with at(2024, 9, 15, 16), pytest.raises(OptInClosedError):  # 16 Sep 00:00 Beijing
        ledger.certification.opt_in_to_certification(filer_actor(code), 2024, product_id)


def test_withdrawn_filings_are_not_considered(ledger):
    opened_round(ledger)
    code, product_id = product(ledger, 1)
    with at(2023, 5, 1):
        ledger.withdraw_product(filer_actor(code), product_id, "产品退市")
    report = run(ledger)
    assert report.withdrawn == 1
    with pytest.raises(CertificationNotFoundError):
        decision(ledger, product_id)


def test_every_failed_rule_is_listed_in_order(ledger):
    opened_round(ledger, 2024)
    _, product_id = product(ledger, 1, approve=False, data_year=2021, filed_on=(2024, 9, 20))
    run(ledger, 2024, when=(2024, 10, 8))
    assert reasons(ledger, product_id, 2024) == [
        "not_approved",
        "submitted_after_filing_deadline",
        "data_year_outdated",
        "not_opted_in",
    ]


# --- the explanation carried by the decision events -----------------------------------------------


def test_a_certified_event_carries_every_indicator_its_threshold_and_the_version(ledger):
    opened_round(ledger)
    code, product_id = product(ledger, 1, sales=12_345_678, kinds="121", category="05")
    run(ledger)
    event = decision_event(ledger, product_id)
    assert type(event).__name__ == "Certified"
    assert (event.round_year, event.data_year, event.product_id) == (2023, 2022, str(product_id))
    assert (event.filer_uscc, event.region_code, event.category) == (code, "310115", "05")
    assert (event.benchmark_version, event.rule) == (1, "all_known_pass")
    assert event.product_version == ledger.get_product(product_id).version
    assert event.inputs == {
        "sales_fen": 12_345_678,
        "exports_fen": 1_234_567,
        "profit_fen": 1_234_567,
        "ip_spending_fen": 246_913,
        "patents": 3,
        "invention_patents": 2,
        "filer_valid_patents": None,
    }
    assert event.indicators == [
        {"indicator": "invention_patents", "unit": "count", "comparison": "at_least",
         "value": 2, "threshold": 1, "passed": True},
        {"indicator": "patent_use_share_bp", "unit": "bp", "comparison": "at_least",
         "value": None, "threshold": 5_000, "passed": None},  # unknown: skipped
        {"indicator": "sales_fen", "unit": "fen", "comparison": "at_least",
         "value": 12_345_678, "threshold": 5_000_000, "passed": True},
    ]  # fmt: skip
    assert event.actor == CERTIFIER.as_record()


def test_one_known_indicator_below_its_threshold_is_not_certified(ledger):
    opened_round(ledger)
    _, low_sales = product(ledger, 1, sales=4_999_999)
    _, no_invention = product(ledger, 2, kinds="23")
    run(ledger)
    for product_id, failing in ((low_sales, "sales_fen"), (no_invention, "invention_patents")):
        event = decision_event(ledger, product_id)
        assert type(event).__name__ == "NotCertified"
        assert [i["indicator"] for i in event.indicators if i["passed"] is False] == [failing]


def test_an_opt_in_declaring_the_filers_patents_makes_the_use_share_known(ledger):
    opened_round(ledger, 2024)
    code, product_id = product(ledger, 1, data_year=2023, filed_on=(2024, 3, 1), kinds="12")
    code2, other = product(ledger, 2, data_year=2023, filed_on=(2024, 3, 1), kinds="12")
    with at(2024, 4, 1):
        ledger.certification.opt_in_to_certification(
            filer_actor(code), 2024, product_id, filer_valid_patents=3
        )
        ledger.certification.opt_in_to_certification(
            filer_actor(code2), 2024, other, filer_valid_patents=5
        )
    run(ledger, 2024, when=(2024, 10, 8))
    shares = {}
    for pid in (product_id, other):
        event = decision_event(ledger, pid, 2024)
        share = next(i for i in event.indicators if i["indicator"] == "patent_use_share_bp")
        shares[pid] = (type(event).__name__, share["value"], share["passed"])
    # 2 of 3 patents: 6666 bp (rounded down) passes 5000; 2 of 5: 4000 bp fails.
    assert shares == {product_id: ("Certified", 6_666, True), other: ("NotCertified", 4_000, False)}


# --- re-runs, pinned benchmarks, concurrency ------------------------------------------------------


def test_rerunning_the_evaluation_decides_nothing_twice(ledger):
    opened_round(ledger)
    for serial in (1, 2, 3):
        product(ledger, serial, approve=serial != 3)
    first = run(ledger)
    events = ledger.recorder.max_notification_id()
    second = run(ledger, when=(2023, 9, 20))
    assert (len(first.certified), len(first.not_eligible)) == (2, 1)
    assert (second.certified, second.not_certified, second.not_eligible) == ([], [], [])
    assert second.already_decided == 3
    assert ledger.recorder.max_notification_id() == events


def test_a_later_filing_is_decided_by_a_later_run_on_the_pinned_benchmarks(ledger):
    opened_round(ledger)
    product(ledger, 1)
    run(ledger)
    raised = {c: {**THRESHOLDS, "sales_fen": 50_000_000, "export_share_bp": 500}
              for c in BENCHMARKS.thresholds}  # fmt: skip
    with at(2023, 9, 6):
        assert (
            ledger.certification.set_benchmarks(CERTIFIER, BenchmarkValues(raised, "2024 table"))
            == 2
        )
        assert (
            ledger.certification.set_benchmarks(CERTIFIER, BenchmarkValues(raised, "2024 table"))
            == 2
        )
    # A filing approved in time but stored only now (e.g. loaded late) is decided on v1.
    _, later = product(ledger, 2)
    report = run(ledger, when=(2023, 9, 8))
    assert report.already_decided == 1
    assert report.certified == [later]  # 10M fen: passes v1's 5M, not v2's 50M
    assert decision_event(ledger, later).benchmark_version == 1
    with pytest.raises(CertificationRoundStateError):
        run(ledger, benchmark_version=2)
    assert ledger.certification.get_benchmarks(1).thresholds["03"] == THRESHOLDS
    assert "export_share_bp" in ledger.certification.get_benchmarks().indicators
    # A round opened later pins the new version and evaluates the new indicator.
    with at(2024, 1, 2):
        ledger.certification.open_certification_round(CERTIFIER, 2024, opt_in_required=False)
    _, in_2024 = product(ledger, 3, data_year=2023, filed_on=(2024, 3, 1))
    run(ledger, 2024, when=(2024, 10, 8))
    event = decision_event(ledger, in_2024, 2024)
    assert event.benchmark_version == 2
    assert [i["indicator"] for i in event.indicators][:1] == ["export_share_bp"]


def test_concurrent_runs_decide_each_product_exactly_once(make_ledger):
    setup = make_ledger()
    opened_round(setup)
    products = [product(setup, serial)[1] for serial in range(1, 9)]
    ledgers = [make_ledger() for _ in range(4)]
    barrier = threading.Barrier(len(ledgers))

    def attempt(ledger):
        barrier.wait()
        return run(ledger)

    with ThreadPoolExecutor(len(ledgers)) as pool:
        reports = list(pool.map(attempt, ledgers))

    certified = [pid for report in reports for pid in report.certified]
    assert sorted(certified) == sorted(products)  # each decided by exactly one run
    assert all(len(r.certified) + r.already_decided == len(products) for r in reports)
    for product_id in products:
        stored = setup.repository.event_store.get(certification_id_for(2023, product_id))
        assert len(list(stored)) == 1


# --- publication and objections -------------------------------------------------------------------


def published(ledger, *serials_certified, days=7):
    """A round with products certified (serials given) and one not certified (serial 9)."""
    opened_round(ledger)
    ids = [product(ledger, serial)[1] for serial in serials_certified]
    low = product(ledger, 9, sales=1)[1]
    run(ledger)
    with at(2023, 9, 10):
        ledger.certification.publish_certified_list(CERTIFIER, 2023, objection_days=days)
    return ids, low


def test_publication_needs_a_complete_evaluation_and_closes_it(ledger):
    opened_round(ledger)
    _, first = product(ledger, 1)
    with at(2023, 9, 10), pytest.raises(CertificationRoundStateError):  # not evaluated yet
        ledger.certification.publish_certified_list(CERTIFIER, 2023, objection_days=7)
    run(ledger)
    _, late = product(ledger, 2, approve=False, filed_on=(2023, 9, 6))
    with at(2023, 9, 10), pytest.raises(CertificationRoundStateError, match="not decided"):
        ledger.certification.publish_certified_list(CERTIFIER, 2023, objection_days=7)
    run(ledger, when=(2023, 9, 10))
    with at(2023, 9, 10):
        ledger.certification.publish_certified_list(CERTIFIER, 2023, objection_days=7)
    round_ = ledger.certification.get_round(2023)
    assert round_.certified_product_ids == [str(first)]
    assert round_.objection_window_end == datetime(2023, 9, 17, 4, tzinfo=UTC)
    with pytest.raises(CertificationRoundStateError):
        run(ledger, when=(2023, 9, 11))
    assert reasons(ledger, late) == ["not_approved", "submitted_after_filing_deadline"]


def test_an_upheld_objection_revokes_the_certification_with_its_reason(ledger):
    (certified,), _ = published(ledger, 1)
    objector = filer_actor(ledger.get_product(product(ledger, 5)[1]).filer_uscc)
    with at(2023, 9, 12):
        objection_id = ledger.certification.file_objection(
            objector, 2023, certified, "销售额与发票不符"
        )
    with at(2023, 9, 20):
        ledger.certification.uphold_objection(
            CERTIFIER, objection_id, "核实：销售额虚报", year=2023
        )
    certification = decision(ledger, certified)
    assert certification.status is CertificationStatus.REVOKED
    assert (certification.revoked_by, certification.revocation_reason) == (
        str(objection_id),
        "核实：销售额虚报",
    )
    objection = ledger.certification.get_objection(objection_id)
    assert (objection.status.value, objection.reason, objection.objector) == (
        "upheld",
        "销售额与发票不符",
        objector.as_record(),
    )
    names = [type(e).__name__ for e in ledger.repository.event_store.get(certification.id)]
    assert names == ["Certified", "CertificationRevoked"]
    with at(2023, 9, 21), pytest.raises(ObjectionNotOpenError):
        ledger.certification.dismiss_objection(CERTIFIER, objection_id, "迟到的驳回")


def test_a_dismissed_objection_leaves_the_certification_standing(ledger):
    (certified,), _ = published(ledger, 1)
    with at(2023, 9, 12):
        objection_id = ledger.certification.file_objection(
            REVIEWER, 2023, certified, "专利可能无效"
        )
    with at(2023, 9, 20):
        ledger.certification.dismiss_objection(CERTIFIER, objection_id, "证据不足", year=2023)
        with pytest.raises(ObjectionNotOpenError):
            ledger.certification.uphold_objection(CERTIFIER, objection_id, "再议")
    assert decision(ledger, certified).status is CertificationStatus.CERTIFIED
    assert ledger.certification.get_objection(objection_id).decision_reason == "证据不足"


def test_objections_are_taken_only_in_the_window_against_certified_products(ledger):
    (certified,), low = published(ledger, 1, days=5)
    with at(2023, 9, 12):
        with pytest.raises(ProductNotCertifiedError):
            ledger.certification.file_objection(REVIEWER, 2023, low, "不应认定")
        with pytest.raises(ActorNotPermittedError):  # a filer against its own product
            ledger.certification.file_objection(
                filer_actor(decision(ledger, certified).filer_uscc), 2023, certified, "x"
            )
        with pytest.raises(ActorNotPermittedError):  # the auditor only reads
            ledger.certification.file_objection(AUDITOR, 2023, certified, "x")
        with pytest.raises(CertificationNotFoundError):  # outside its region it sees nothing
            ledger.certification.file_objection(
                Actor(id="admin", role=Role.REGIONAL_ADMIN, scope="310104"), 2023, certified, "x"
            )
        objection_id = ledger.certification.file_objection(
            Actor(id="admin", role=Role.REGIONAL_ADMIN, scope="310115"), 2023, certified, "核查"
        )
    with at(2023, 9, 15, 4), pytest.raises(ObjectionWindowClosedError):
        ledger.certification.file_objection(REVIEWER, 2023, certified, "过期")
    with pytest.raises(ObjectionNotFoundError):
        ledger.certification.dismiss_objection(CERTIFIER, objection_id, "x", year=2024)
    with pytest.raises(ObjectionNotFoundError):
        ledger.certification.dismiss_objection(CERTIFIER, uuid4(), "x")


def test_after_a_revocation_other_objections_can_only_be_dismissed(ledger):
    (certified,), _ = published(ledger, 1)
    with at(2023, 9, 12):
        first = ledger.certification.file_objection(REVIEWER, 2023, certified, "一")
        second = ledger.certification.file_objection(REVIEWER, 2023, certified, "二")
    with at(2023, 9, 20):
        ledger.certification.uphold_objection(CERTIFIER, first, "属实")
        with pytest.raises(ProductNotCertifiedError):
            ledger.certification.uphold_objection(CERTIFIER, second, "属实")
        ledger.certification.dismiss_objection(CERTIFIER, second, "已撤销认定")
        with pytest.raises(ProductNotCertifiedError):
            ledger.certification.file_objection(REVIEWER, 2023, certified, "三")
    assert ledger.certification.get_objection(second).status.value == "dismissed"


# --- replaying the log reproduces every decision --------------------------------------------------


def test_rebuilding_from_the_log_without_its_decisions_reproduces_them(ledger, settings, tmp_path):
    """Copy every event but the decisions into a fresh store, run again, compare."""
    from dataclasses import replace

    from api.bootstrap import open_ledger

    opened_round(ledger)
    product(ledger, 1)
    product(ledger, 2, sales=1)
    product(ledger, 3, approve=False)
    _, disputed = product(ledger, 4)
    with at(2023, 4, 1):
        ledger.raise_dispute(
            REVIEWER,
            disputed,
            patent_numbers=[patent(40)],
            claimant="甲",
            evidence_digests=EVIDENCE,
            description="争议",
        )
    run(ledger)
    decision_topics = {
        f"{ProductCertification.__module__}:{cls.__qualname__}"
        for cls in (
            ProductCertification.Certified,
            ProductCertification.NotCertified,
            ProductCertification.NotEligible,
        )
    }

    def decided(app):
        found = app.recorder.select_notifications(
            start=1, limit=10_000, topics=sorted(decision_topics)
        )
        return sorted(UUID(str(n.originator_id)) for n in found)

    originals = decided(ledger)
    assert len(originals) == 4
    copy = open_ledger(replace(settings, database_url=f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}"))
    try:
        for notification in ledger.recorder.select_notifications(start=1, limit=10_000):
            if notification.topic not in decision_topics:
                copy.recorder.insert_events([notification])
        run(copy, when=(2024, 1, 1))  # a later moment: decisions do not depend on it
        assert decided(copy) == originals
        for certification_id in originals:
            (was,) = ledger.repository.event_store.get(certification_id)
            (now,) = copy.repository.event_store.get(certification_id)
            assert type(now) is type(was)
            skip = {"timestamp"}
            assert {k: v for k, v in vars(now).items() if k not in skip} == {
                k: v for k, v in vars(was).items() if k not in skip
            }, certification_id
    finally:
        copy.close()
