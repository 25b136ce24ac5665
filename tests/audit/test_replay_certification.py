"""The offline auditor's certification rules (audit/offline/replay.py, rules B, R, I, D, O).

Honest logs come from the domain: a story through every certification command (both
backends), and the sample's whole 2023 round (SQLite, loaded once). Each decision of an honest
log is recomputed by the auditor from the filing as it was (D2, D3), so a replay that passes
reproduces every decision. Forged logs are built event by event with ``CertForge``, whose
honest decisions are computed with the domain's own functions (cross-checking the auditor's
copies); each forged case names the event the error must name.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, cast
from uuid import UUID, uuid4, uuid5

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.bootstrap import (
    export_audit_bundle,
    open_ledger,
    open_projection_runner,
    open_projection_store,
    open_transparency_log,
)
from api.settings import Settings
from audit.offline import replay_base as replay_module
from audit.offline.errors import InvalidReplayError
from audit.offline.logged_event import LoggedEvent
from audit.offline.replay import replay
from audit.offline.replay_base import CERTIFICATION_TOPICS
from audit.offline.replay_certification import _ineligibility
from audit.offline.verifier import exit_code, verify_bundle
from domain.benchmarks import (
    BENCHMARK_TABLE_ID,
    INDICATORS,
    BenchmarkValues,
    IndicatorInputs,
    assess,
    meets_benchmarks,
)
from domain.certification import (
    ProductCertification,
    ProductFacts,
    certification_id_for,
    ineligibility,
)
from domain.certification_opt_in import opt_in_id_for
from domain.certification_round import RoundCalendar, open_round, round_id_for
from domain.product import ProductStatus
from domain.sample import load_sample
from domain.values import IndustryCategory, RegionCode
from projections import queries
from projections.certification_register import CertificationRegister
from projections.product_registry import ProductRegistry
from projections.store import ProjectionStore
from tests.audit.test_replay import (
    REVIEWER_RECORD,
    A,
    B,
    Forge,
    approved_product,
    as_filer,
    forged_replay,
    logged_events,
)
from tests.domain.certification_factories import (
    CERTIFIER,
    SAMPLE_BENCHMARKS,
    at,
    opened_round,
    product,
)
from tests.domain.factories import REVIEWER, filer_actor, uscc

DOCS = Path(__file__).resolve().parents[2] / "docs" / "certification.md"
CERTIFIER_RECORD = CERTIFIER.as_record()


# --- honest logs from the domain ------------------------------------------------------------------


def every_certification_command(ledger: Any) -> dict[str, UUID]:
    """A story touching every certification command and event topic."""
    opened_round(ledger)  # BenchmarkTableDefined, CertificationRoundOpened
    _, certified = product(ledger, 1)
    _, revoked = product(ledger, 2)
    _, low = product(ledger, 3, sales=1)
    _, pending = product(ledger, 4, approve=False)
    objector, _ = product(ledger, 5, approve=False)
    with at(2023, 9, 1):
        ledger.certification.set_benchmarks(
            CERTIFIER,
            BenchmarkValues(
                {c.value: {"sales_fen": 1, "export_share_bp": 100} for c in IndustryCategory},
                "v2",
            ),
        )  # BenchmarkTableRevised, after which the round still uses v1
    with at(2023, 9, 5):
        ledger.certification.run_certification(CERTIFIER, 2023, benchmark_version=1)
    with at(2023, 9, 10):
        ledger.certification.publish_certified_list(CERTIFIER, 2023, objection_days=7)
        upheld = ledger.certification.file_objection(
            filer_actor(objector), 2023, revoked, "销售额虚报"
        )
        dismissed = ledger.certification.file_objection(REVIEWER, 2023, certified, "专利无效")
    with at(2023, 9, 20):
        ledger.certification.uphold_objection(CERTIFIER, upheld, "属实")
        ledger.certification.dismiss_objection(CERTIFIER, dismissed, "证据不足")
    with at(2024, 1, 2):
        ledger.certification.open_certification_round(CERTIFIER, 2024)
    code, in_2024 = product(ledger, 6, data_year=2023, filed_on=(2024, 3, 1))
    with at(2024, 4, 1):
        ledger.certification.opt_in_to_certification(
            filer_actor(code), 2024, in_2024, filer_valid_patents=4
        )
    return {"certified": certified, "revoked": revoked, "low": low, "pending": pending}


def test_a_log_written_by_every_certification_command_replays(ledger):
    every_certification_command(ledger)
    events = logged_events(ledger)
    assert {e.topic for e in events} >= CERTIFICATION_TOPICS

    summary = replay(events)
    forged_replay(events)  # and the same verdict with the stateless checks done ahead

    statuses = {kind: dict(counts) for kind, counts in summary.statuses.items()}
    assert statuses["certification"] == {
        "certified": 1,
        "revoked": 1,
        "not_certified": 1,
        "not_eligible": 2,
    }
    assert statuses["objection"] == {"dismissed": 1, "upheld": 1}
    assert statuses["certification_round"] == {"opened": 1, "published": 1}
    assert statuses["benchmarks"] == {"revised": 1}
    assert statuses["opt_in"] == {"opted_in": 1}


def _export(ledger, settings, out):
    log = open_transparency_log(ledger, settings)
    try:
        log.sequence()
        export_audit_bundle(ledger, log, settings, out)
    finally:
        log.store.close()
    return out


def test_the_verifier_passes_a_whole_round_and_fails_a_forged_decision(ledger, settings, tmp_path):
    ids = every_certification_command(ledger)
    report = verify_bundle(_export(ledger, settings, tmp_path / "round.bundle"), workers=1)
    assert report.events == ledger.recorder.max_notification_id()

    # An insider with the signing key saves a decision the domain would not make: a 2024
    # certification of a product whose inputs claim ten times its filed sales.
    facts = ledger.certification.get_certification(2023, ids["certified"])
    forged = ProductCertification._create(
        ProductCertification.Certified,
        id=certification_id_for(2024, ids["low"]),
        round_year=2024, data_year=2023, product_id=str(ids["low"]),
        product_version=2, filer_uscc=ledger.get_product(ids["low"]).filer_uscc,
        region_code="310115", category="03", benchmark_table_id=str(BENCHMARK_TABLE_ID),
        benchmark_version=facts.benchmark_version, inputs={}, indicators=facts.indicators,
        rule="all_known_pass", actor=CERTIFIER_RECORD,
    )  # fmt: skip
    ledger.save(forged)
    with pytest.raises(InvalidReplayError) as caught:
        verify_bundle(_export(ledger, settings, tmp_path / "forged.bundle"), workers=1)
    assert exit_code(caught.value) == 15
    assert (caught.value.originator_id, caught.value.version) == (forged.id, 1)


# --- the sample's 2023 round, end to end ----------------------------------------------------------


@dataclass(frozen=True)
class SampleRound:
    report: Any
    products: list[Any]
    filer_regions: dict[str, str]
    decisions: dict[UUID, Any]
    events: tuple[LoggedEvent, ...]
    run: Any
    rerun: Any


@cache
def sample_round(seed: int = 1) -> SampleRound:
    """The sample of ``seed`` on a throwaway SQLite store, its 2023 round opened with the
    sample benchmarks and evaluated after the review deadline (loaded once per test run); the
    report and the decisions as the read models give them."""
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings.from_environment(
            {
                "PPL_DATA_DIR": str(Path(directory) / "data"),
                "PPL_DATABASE_URL": f"sqlite:///{Path(directory) / 'ledger.sqlite3'}",
            }
        )
        ledger = open_ledger(settings)
        store = open_projection_store(settings)
        try:
            load_sample(ledger, seed)
            values = BenchmarkValues.from_json(SAMPLE_BENCHMARKS.read_text(encoding="utf-8"))
            with at(2023, 8, 1):
                ledger.certification.set_benchmarks(CERTIFIER, values)
                ledger.certification.open_certification_round(CERTIFIER, 2023)
            with at(2023, 9, 4):
                first = ledger.certification.run_certification(CERTIFIER, 2023)
            with at(2023, 9, 5):
                second = ledger.certification.run_certification(CERTIFIER, 2023)
            read_models = (CertificationRegister.name, ProductRegistry.name)
            open_projection_runner(ledger, store, read_models).catch_up()
            products = [ledger.get_product(UUID(row["product_id"])) for row in _products(store)]
            return SampleRound(
                report=queries.certification_report(store, 2023),
                products=products,
                filer_regions={
                    p.filer_uscc: ledger.get_filer(p.filer_id).region_code for p in products
                },
                decisions={
                    row["product_id"]: row for row in queries.certification_decisions(store, 2023)
                },
                events=tuple(logged_events(ledger)),
                run=first,
                rerun=second,
            )
        finally:
            store.db.close()
            ledger.close()


def _products(store: ProjectionStore) -> Iterator[dict[str, Any]]:
    """Every filing of the product registry, page by page."""
    after = None
    while True:
        page = queries.products(store, after=after, limit=queries.MAX_PAGE)
        yield from page.rows
        if page.next_cursor is None:
            return
        after = page.next_cursor


def _recount(sample: SampleRound) -> tuple[Counter[Any], Counter[Any]]:
    """Certified products per category and per district, counted from the filings alone.

    Independent of the evaluation code: eligibility as the sample makes it (every approval and
    revision happened before 24 Jul 2023, so an approved filing of 2022 data without an open
    dispute is eligible) and the sample table applied with plain comparisons.
    """
    table = json.loads(SAMPLE_BENCHMARKS.read_text(encoding="utf-8"))["thresholds"]
    by_category: Counter[Any] = Counter()
    by_district: Counter[Any] = Counter()
    for aggregate in sample.products:
        if aggregate.status is ProductStatus.WITHDRAWN:
            continue
        eligible = (
            aggregate.status is ProductStatus.APPROVED
            and aggregate.data_year == 2022
            and not aggregate.open_disputes
        )
        row = table[aggregate.category]
        measured = {
            "sales_fen": aggregate.figures["sales_fen"],
            "profit_fen": aggregate.figures["profit_fen"],
            "ip_spending_fen": aggregate.figures["ip_spending_fen"],
            "valid_patents": len(aggregate.patents),
            "invention_patents": sum(
                p["type"] in ("invention", "pct_invention") for p in aggregate.patents
            ),
        }  # patent_use_share_bp is unknown in 2023 (nobody opted in): skipped
        certified = all(measured[i] >= row[i] for i in measured)
        outcome = "not_eligible" if not eligible else "certified" if certified else "not"
        by_category[aggregate.category, outcome] += 1
        by_district[sample.filer_regions[aggregate.filer_uscc], outcome] += 1
    return by_category, by_district


def test_the_sample_2023_round_counts_match_an_independent_recount():
    sample = sample_round()
    by_category, by_district = _recount(sample)
    for tally in sample.report.by_category:
        counts = (tally.certified, tally.not_certified, tally.not_eligible)
        want = tuple(by_category[tally.key, o] for o in ("certified", "not", "not_eligible"))
        assert counts == want, tally.key
    for tally in sample.report.by_district:
        counts = (tally.certified, tally.not_certified, tally.not_eligible)
        want = tuple(by_district[tally.key, o] for o in ("certified", "not", "not_eligible"))
        assert counts == want, tally.key
    total = sample.report.total
    assert total.certified + total.not_certified == 1_023 - 8  # 8 approved with open disputes
    assert total.certified == len(sample.run.certified) > 0
    assert sample.run.not_eligible_by_reason() == {"not_approved": 171, "ownership_dispute_open": 8}
    assert sample.rerun.already_decided == len(sample.decisions)
    assert (sample.rerun.certified, sample.rerun.not_certified) == ([], [])


def test_the_sample_2023_round_replays_and_every_decision_is_recomputed():
    sample = sample_round()
    summary = replay(sample.events)  # D2, D3: eligibility and indicators recomputed
    certification = dict(summary.statuses["certification"])
    assert certification == {
        "certified": sample.report.total.certified,
        "not_certified": sample.report.total.not_certified,
        "not_eligible": sample.report.total.not_eligible,
    }


def markdown_table(sample: SampleRound) -> str:
    """The tables docs/certification.md shows for seed 1 (checked by the next test)."""
    lines = ["| code | industry category | certified | not certified | not eligible |",
             "|---|---|---:|---:|---:|"]  # fmt: skip
    labels = {c.value: c for c in IndustryCategory}
    for t in sample.report.by_category:
        label = f"{t.name} ({labels[t.key].label})"
        lines.append(
            f"| {t.key} | {label} | {t.certified} | {t.not_certified} | {t.not_eligible} |"
        )
    total = sample.report.total
    lines.append(
        f"| | **total** | **{total.certified}** | **{total.not_certified}** | "
        f"**{total.not_eligible}** |"
    )
    lines += ["", "| code | district | certified | not certified | not eligible |",
              "|---|---|---:|---:|---:|"]  # fmt: skip
    for t in sample.report.by_district:
        assert RegionCode(t.key).name == t.name
        lines.append(
            f"| {t.key} | {t.name} | {t.certified} | {t.not_certified} | {t.not_eligible} |"
        )
    lines.append(
        f"| | **total** | **{total.certified}** | **{total.not_certified}** | "
        f"**{total.not_eligible}** |"
    )
    return "\n".join(lines)


def test_the_documented_sample_table_is_the_ledgers():
    assert markdown_table(sample_round()) in DOCS.read_text(encoding="utf-8")


# --- forged logs ----------------------------------------------------------------------------------

T_EVALUATION = datetime(2023, 9, 5, tzinfo=UTC)
FORGE_THRESHOLDS = {"sales_fen": 10, "invention_patents": 1, "patent_use_share_bp": 5_000}
CREATIONS = {
    "BenchmarkTableDefined",
    "CertificationRoundOpened",
    "CertificationOptedIn",
    "Certified",
    "NotCertified",
    "NotEligible",
    "ObjectionFiled",
}
ADMIN = {"id": "admin", "role": "regional_admin", "scope": "310104"}


def writable(event: LoggedEvent) -> dict[str, Any]:
    """The forged event's state, to change in place (the forge's states are dicts)."""
    return cast("dict[str, Any]", event.state)


class CertForge(Forge):
    """``Forge`` with the certification's events; ``clock`` (if set) stamps what follows."""

    def __init__(self) -> None:
        super().__init__()
        self.clock: datetime | None = None

    def emit(self, aggregate_id, event_name, actor, /, **options):
        event = super().emit(aggregate_id, event_name, actor, **options)
        if event_name in CREATIONS and "originator_topic" not in options.get("drop", ()):
            writable(event)["originator_topic"] = event.topic.rsplit(".", 1)[0]
        if self.clock is not None:
            self.clock += timedelta(seconds=1)
            writable(event)["timestamp"] = self.clock
        return event

    def benchmarks(self, thresholds=None, name="BenchmarkTableDefined", **override):
        rows = thresholds or {c.value: dict(FORGE_THRESHOLDS) for c in IndustryCategory}
        values = BenchmarkValues(rows, "forged")
        fields = {"indicators": values.definitions(), "thresholds": values.threshold_records(),
                  "note": values.note, **override}  # fmt: skip
        return self.emit(BENCHMARK_TABLE_ID, name, CERTIFIER_RECORD, **fields)

    def open_round(self, year=2023, **override):
        fields = {**RoundCalendar.default(year).as_fields(), **override}
        return self.emit(round_id_for(year), "CertificationRoundOpened", CERTIFIER_RECORD, **fields)

    def round_event(self, name, year=2023, **fields):
        return self.emit(round_id_for(year), name, CERTIFIER_RECORD, **fields)

    def start(self, year=2023, version=1):
        return self.round_event(
            "CertificationEvaluationStarted",
            year,
            benchmark_table_id=str(BENCHMARK_TABLE_ID),
            benchmark_version=version,
        )

    def publish(self, certified, year=2023, days=7):
        start = (self.clock or T_EVALUATION) + timedelta(seconds=1)
        return self.round_event(
            "CertifiedListPublished",
            year,
            certified_product_ids=sorted(str(p) for p in certified),
            objection_days=days,
            objection_window_start=start,
            objection_window_end=start + timedelta(days=days),
        )

    def opt_in(self, product_id, code=A, year=2023, count=None, actor=None):
        return self.emit(
            opt_in_id_for(year, product_id),
            "CertificationOptedIn",
            actor or as_filer(code),
            round_year=year,
            product_id=str(product_id),
            filer_uscc=code,
            filer_valid_patents=count,
        )

    def decide(
        self, product_id, code=A, *, year=2023, name=None, thresholds=None, sales=10, patents=2,
        **override,
    ):  # fmt: skip
        """The decision the domain makes on the forged filing (figures and patents as
        ``Forge.file`` writes them, or ``sales`` and ``patents`` inventions), with
        ``override`` applied."""
        inputs = IndicatorInputs.of_product(
            {"sales_fen": sales, "exports_fen": 0, "profit_fen": 1, "ip_spending_fen": 1},
            [{"type": "invention"}] * patents,
            override.pop("count", None),
        )
        row = thresholds or FORGE_THRESHOLDS
        assessed = assess(inputs, row, {i: INDICATORS[i].definition() for i in row})
        fields = {
            "round_year": year, "data_year": year - 1, "product_id": str(product_id),
            "product_version": self.versions[product_id], "filer_uscc": code,
            "region_code": "310115", "category": "03",
            "benchmark_table_id": str(BENCHMARK_TABLE_ID), "benchmark_version": 1,
            "inputs": inputs.as_record(), "indicators": [a.as_record() for a in assessed],
            "rule": "all_known_pass",
        }  # fmt: skip
        event_name = name or ("Certified" if meets_benchmarks(assessed) else "NotCertified")
        return self.emit(
            certification_id_for(year, product_id),
            event_name,
            override.pop("actor", CERTIFIER_RECORD),
            **{**fields, **override},
        )

    def not_eligible(self, product_id, reasons, code=A, year=2023, status="approved", **override):
        fields = {
            "round_year": year, "data_year": year - 1, "product_id": str(product_id),
            "product_version": self.versions[product_id], "filer_uscc": code,
            "region_code": "310115", "category": "03", "product_status": status,
            "product_data_year": 2022,
            "reasons": [{"reason": r, "detail": f"because {r}"} for r in reasons],
        }  # fmt: skip
        return self.emit(
            certification_id_for(year, product_id),
            "NotEligible",
            CERTIFIER_RECORD,
            **{**fields, **override},
        )

    def object(self, product_id, actor=None, year=2023, objection_id=None):
        return self.emit(
            objection_id or uuid4(),
            "ObjectionFiled",
            actor or REVIEWER_RECORD,
            round_year=year,
            product_id=str(product_id),
            certification_id=str(certification_id_for(year, product_id)),
            reason="异议",
        )

    def objection(self, objection_id, name):
        return self.emit(objection_id, name, CERTIFIER_RECORD, reason="决定")

    def revoke(self, product_id, objection_id, year=2023):
        return self.emit(
            certification_id_for(year, product_id),
            "CertificationRevoked",
            CERTIFIER_RECORD,
            objection_id=str(objection_id),
            reason="决定",
        )


def evaluating(forge: CertForge) -> UUID:
    """Benchmarks, round 2023 opened, filer A's product approved, evaluation started."""
    forge.benchmarks()
    forge.open_round()
    product_id = approved_product(forge)
    forge.clock = T_EVALUATION
    forge.start()
    return product_id


def published_round(forge: CertForge) -> tuple[UUID, UUID]:
    """A's product certified, B's (sales 5 fen) not, list published: their ids."""
    forge.benchmarks()
    forge.open_round()
    certified = approved_product(forge)
    forge.approved(B)
    filed = forge.file(B, model="TV-200")
    writable(filed)["figures"] = {**filed.state["figures"], "sales_fen": 5}
    forge.reserve(filed)
    other = filed.originator_id
    forge.product(other, "FilingApproved")
    forge.clock = T_EVALUATION
    forge.start()
    forge.decide(certified)
    forge.decide(other, B, sales=5)
    forge.publish([certified])
    return certified, other


def honest_certification_log() -> list[LoggedEvent]:
    forge = CertForge()
    certified, _ = published_round(forge)
    upheld = uuid4()
    forge.object(certified, objection_id=upheld)
    dismissed = forge.object(certified, actor=as_filer(B)).originator_id
    forge.objection(upheld, "ObjectionUpheld")
    forge.revoke(certified, upheld)
    forge.objection(dismissed, "ObjectionDismissed")
    forge.clock = None
    forge.benchmarks(name="BenchmarkTableRevised")
    return forge.events


def test_a_forged_certification_log_of_honest_shape_replays():
    forged_replay(honest_certification_log())


def test_ineligible_and_opted_in_decisions_of_honest_shape_replay():
    forge = CertForge()
    forge.benchmarks()
    forge.open_round(2024)
    product_id = approved_product(forge)  # filed in March 2023 with 2022 data
    forge.revise(product_id, A, 2023)
    forge.product(product_id, "FilingApproved")
    forge.opt_in(product_id, year=2024, count=2)
    forge.approved(B)
    silent = forge.filed(B, model="TV-9")
    forge.clock = datetime(2024, 10, 8, tzinfo=UTC)
    forge.start(2024)
    forge.decide(product_id, year=2024, count=2, patents=1)
    forge.not_eligible(silent, ["not_approved", "data_year_outdated", "not_opted_in"],
                       code=B, year=2024, status="pending_review")  # fmt: skip
    forged_replay(forge.events)


# Each case builds a log with ``CertForge`` and returns the event the error must name.


def _decision_before_evaluation(forge):
    forge.benchmarks()
    forge.open_round()
    return forge.decide(approved_product(forge))


def _decision_after_publication(forge):
    published_round(forge)
    code = uscc(300)
    forge.approved(code)
    late = forge.filed(code, model="TV-300")
    forge.product(late, "FilingApproved")
    return forge.decide(late, code)


def _inflated_sales(forge):
    product_id = evaluating(forge)
    event = forge.decide(product_id)
    event.state["inputs"]["sales_fen"] = 10_000
    event.state["indicators"][2]["value"] = 10_000
    return event


def _value_off_its_formula(forge):
    product_id = evaluating(forge)
    event = forge.decide(product_id)
    event.state["indicators"][0]["value"] = 3  # invention_patents: the inputs say 2
    return event


def _certified_against_the_rule(forge):
    return forge.decide(evaluating(forge), name="NotCertified")


def _threshold_not_the_tables(forge):
    product_id = evaluating(forge)
    return forge.decide(product_id, thresholds={**FORGE_THRESHOLDS, "sales_fen": 9})


def _certified_with_an_open_dispute(forge):
    product_id = evaluating(forge)
    forge.dispute(product_id)
    return forge.decide(product_id)


def _certified_though_approved_late(forge):
    forge.benchmarks()
    forge.open_round()
    forge.approved(A)
    product_id = forge.filed(A)
    forge.clock = datetime(2023, 9, 2, tzinfo=UTC)
    forge.product(product_id, "FilingApproved")
    forge.clock = T_EVALUATION
    forge.start()
    return forge.decide(product_id)


def _wrong_reasons(forge):
    return forge.not_eligible(evaluating(forge), ["not_approved"])


def _missing_reason(forge):
    forge.benchmarks()
    forge.open_round()
    forge.approved(A)
    product_id = forge.filed(A)
    forge.clock = T_EVALUATION
    forge.start()
    return forge.not_eligible(product_id, ["ownership_dispute_open"], status="pending_review")


def _decided_by_a_reviewer(forge):
    return forge.decide(evaluating(forge), actor=REVIEWER_RECORD)


def _evaluation_before_the_review_deadline(forge):
    forge.benchmarks()
    forge.open_round()
    forge.clock = datetime(2023, 8, 31, 15, 59, tzinfo=UTC)  # 23:59 in Beijing
    return forge.start()


def _evaluation_on_a_missing_version(forge):
    forge.benchmarks()
    forge.open_round()
    forge.clock = T_EVALUATION
    return forge.start(version=2)


def _list_missing_a_certified_product(forge):
    product_id = evaluating(forge)
    forge.decide(product_id)
    return forge.publish([])


def _list_with_a_window_of_its_own(forge):
    product_id = evaluating(forge)
    forge.decide(product_id)
    event = forge.publish([product_id])
    event.state["objection_window_end"] += timedelta(days=1)
    return event


def _objection_after_the_window(forge):
    certified, _ = published_round(forge)
    forge.clock += timedelta(days=8)
    return forge.object(certified)


def _objection_before_publication(forge):
    certified = evaluating(forge)
    forge.decide(certified)
    return forge.object(certified)


def _objection_against_a_product_not_certified(forge):
    _, other = published_round(forge)
    return forge.object(other)


def _filer_objecting_to_its_own_product(forge):
    certified, _ = published_round(forge)
    return forge.object(certified, actor=as_filer(A))


def _admin_objecting_outside_its_region(forge):
    certified, _ = published_round(forge)
    return forge.object(certified, actor=ADMIN)


def _objection_by_the_certifier(forge):
    certified, _ = published_round(forge)
    return forge.object(certified, actor=CERTIFIER_RECORD)


def _upheld_without_revocation(forge):
    certified, _ = published_round(forge)
    objection = forge.object(certified).originator_id
    upheld = forge.objection(objection, "ObjectionUpheld")
    forge.objection(forge.object(certified).originator_id, "ObjectionDismissed")
    return upheld


def _log_ending_after_an_upheld_objection(forge):
    certified, _ = published_round(forge)
    return forge.objection(forge.object(certified).originator_id, "ObjectionUpheld")


def _revocation_without_an_upheld_objection(forge):
    certified, _ = published_round(forge)
    return forge.revoke(certified, forge.object(certified).originator_id)


def _revocation_naming_another_objection(forge):
    certified, _ = published_round(forge)
    first = forge.object(certified).originator_id
    second = forge.object(certified).originator_id
    forge.objection(first, "ObjectionUpheld")
    return forge.revoke(certified, second)


def _dismissal_of_an_upheld_objection(forge):
    certified, _ = published_round(forge)
    objection = forge.object(certified).originator_id
    forge.objection(objection, "ObjectionUpheld")
    forge.revoke(certified, objection)
    return forge.objection(objection, "ObjectionDismissed")


def _opt_in_after_the_filing_deadline(forge):
    forge.benchmarks()
    forge.open_round(2024)
    product_id = approved_product(forge)
    forge.clock = datetime(2024, 9, 15, 16, tzinfo=UTC)  # 16 Sep 00:00 Beijing
    return forge.opt_in(product_id, year=2024)


def _opt_in_by_another_filer(forge):
    forge.benchmarks()
    forge.open_round(2024)
    product_id = approved_product(forge)
    forge.approved(B)
    return forge.opt_in(product_id, code=B, year=2024)


def _opt_in_counting_fewer_patents_than_declared(forge):
    forge.benchmarks()
    forge.open_round(2024)
    return forge.opt_in(approved_product(forge), year=2024, count=1)


def _certified_in_2024_without_opt_in(forge):
    forge.benchmarks()
    forge.open_round(2024)
    product_id = approved_product(forge)
    forge.revise(product_id, A, 2023)
    forge.product(product_id, "FilingApproved")
    forge.clock = datetime(2024, 10, 8, tzinfo=UTC)
    forge.start(2024)
    return forge.decide(product_id, year=2024, patents=1)


def _decision_with_an_invented_opt_in_count(forge):
    return forge.decide(evaluating(forge), count=4)


def _benchmarks_with_an_unknown_indicator(forge):
    rows = {c.value: dict(FORGE_THRESHOLDS) for c in IndustryCategory}
    event = forge.benchmarks(rows)
    event.state["thresholds"]["05"]["market_share_bp"] = 1
    return event


def _benchmarks_missing_a_category(forge):
    event = forge.benchmarks()
    del event.state["thresholds"]["07"]
    return event


def _benchmarks_with_another_comparison(forge):
    event = forge.benchmarks()
    event.state["indicators"]["sales_fen"]["comparison"] = "at_most"
    return event


def _round_with_the_wrong_data_year(forge):
    return forge.open_round(data_year=2023)


def _round_with_deadlines_out_of_order(forge):
    return forge.open_round(filing_deadline="2023-09-01")


def _round_under_a_forged_id(forge):
    return forge.emit(
        uuid4(), "CertificationRoundOpened", CERTIFIER_RECORD,
        **RoundCalendar.default(2023).as_fields(),
    )  # fmt: skip


def _decision_under_a_forged_id(forge):
    product_id = evaluating(forge)
    event = forge.decide(product_id)
    forged = LoggedEvent(event.leaf_index, uuid4(), 1, event.topic, event.state)
    forge.events[-1] = forged
    return forged


def _decision_on_a_version_not_reached(forge):
    product_id = evaluating(forge)
    return forge.decide(product_id, product_version=9)


def _decision_pinned_to_another_version(forge):
    product_id = evaluating(forge)
    forge.clock, clock = None, forge.clock
    forge.benchmarks(name="BenchmarkTableRevised")
    forge.clock = clock
    return forge.decide(product_id, benchmark_version=2)


def _decision_in_another_district(forge):
    return forge.decide(evaluating(forge), region_code="310104")


def _decision_on_a_withdrawn_filing(forge):
    product_id = evaluating(forge)
    forge.withdraw(product_id, A)
    return forge.decide(product_id)


CASES: list[tuple[str, Callable[[CertForge], LoggedEvent], str]] = [
    ("decision before the evaluation", _decision_before_evaluation, "want evaluating"),
    ("decision after publication", _decision_after_publication, "is published: want evaluating"),
    ("inflated sales", _inflated_sales, "inputs"),
    ("value off its formula", _value_off_its_formula, "its formula gives 2"),
    ("outcome against the rule", _certified_against_the_rule, "want Certified"),
    ("threshold not the table's", _threshold_not_the_tables, "benchmark version 1 sets"),
    ("certified with an open dispute", _certified_with_an_open_dispute, "ownership_dispute_open"),
    ("certified though approved late", _certified_though_approved_late, "approved_after_review"),
    ("wrong reasons", _wrong_reasons, "fails []"),
    ("a reason missing", _missing_reason, "fails ['not_approved']"),
    ("decided by a reviewer", _decided_by_a_reviewer, "want one of certifier"),
    ("evaluation before the deadline", _evaluation_before_the_review_deadline, "review deadline"),
    ("evaluation on a missing version", _evaluation_on_a_missing_version, "has 1 version"),
    ("list missing a certified product", _list_missing_a_certified_product, "missing ["),
    ("list with its own window", _list_with_a_window_of_its_own, "want 7 days after"),
    ("objection after the window", _objection_after_the_window, "objection window is"),
    ("objection before publication", _objection_before_publication, "want published"),
    ("objection against not certified", _objection_against_a_product_not_certified,
     "want a certified product"),
    ("filer objecting to its own product", _filer_objecting_to_its_own_product, "its own product"),
    ("admin outside its region", _admin_objecting_outside_its_region, "objects to a product of"),
    ("objection by the certifier", _objection_by_the_certifier, "want one of filer"),
    ("upheld without revocation", _upheld_without_revocation, "is not followed by"),
    ("log ending after an upheld objection", _log_ending_after_an_upheld_objection,
     "the log ends"),
    ("revocation without upheld objection", _revocation_without_an_upheld_objection,
     "saved with the ObjectionUpheld"),
    ("revocation naming another objection", _revocation_naming_another_objection,
     "the objection upheld just before"),
    ("dismissal of an upheld objection", _dismissal_of_an_upheld_objection, "is upheld"),
    ("opt-in after the filing deadline", _opt_in_after_the_filing_deadline, "took opt-ins until"),
    ("opt-in by another filer", _opt_in_by_another_filer, "was filed by"),
    ("opt-in counting fewer patents", _opt_in_counting_fewer_patents_than_declared,
     "the product declares 2"),
    ("2024 certification without opt-in", _certified_in_2024_without_opt_in, "not_opted_in"),
    ("invented opt-in count", _decision_with_an_invented_opt_in_count, "inputs"),
    ("unknown indicator", _benchmarks_with_an_unknown_indicator, "is not defined"),
    ("category missing", _benchmarks_missing_a_category, "thresholds for"),
    ("another comparison", _benchmarks_with_another_comparison, "want fen at_least"),
    ("wrong data year", _round_with_the_wrong_data_year, "data_year 2023: want 2022"),
    ("deadlines out of order", _round_with_deadlines_out_of_order, "want update_window_start"),
    ("round under a forged id", _round_under_a_forged_id, "uuid5 of year 2023"),
    ("decision under a forged id", _decision_under_a_forged_id, "uuid5 of round_year"),
    ("version not reached", _decision_on_a_version_not_reached, "the filing is at v"),
    ("pinned version ignored", _decision_pinned_to_another_version, "the round pinned 1"),
    ("another district", _decision_in_another_district, "the filer's is 310115"),
    ("withdrawn filing", _decision_on_a_withdrawn_filing, "withdrawn at v"),
]  # fmt: skip


@pytest.mark.parametrize(("desc", "build", "want_error"), CASES, ids=[c[0] for c in CASES])
def test_forged_certification_log_fails_naming_the_event(desc, build, want_error):
    forge = CertForge()
    bad = build(forge)

    with pytest.raises(InvalidReplayError) as caught:
        forged_replay(forge.events)

    error = caught.value
    assert (error.originator_id, error.version, error.leaf_index) == (
        bad.originator_id,
        bad.version,
        bad.leaf_index,
    ), (desc, error)
    assert want_error in error.reason, (desc, error.reason)


ODD_VALUES = [None, 0, -1, True, "", "x", [], ["x"], {}, {"id": 1}, 2.5, b"x"]


def test_odd_certification_values_fail_as_replay_errors_never_crash():
    honest = honest_certification_log()
    forged_replay(honest)
    tried = 0
    for position, event in enumerate(honest):
        if event.topic not in CERTIFICATION_TOPICS:
            continue
        for key in event.state:
            variants: list[dict[str, Any]] = [{k: v for k, v in event.state.items() if k != key}]
            variants += [{**event.state, key: value} for value in ODD_VALUES]
            if isinstance(event.state[key], dict | list):
                variants += _nested_variants(dict(event.state), key)
            for state in variants:
                forged = LoggedEvent(
                    event.leaf_index, event.originator_id, event.version, event.topic, state
                )
                tried += 1
                with contextlib.suppress(InvalidReplayError):
                    forged_replay([*honest[:position], forged, *honest[position + 1 :]])
    assert tried > 1_000


def _nested_variants(state: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The first entry of ``state[key]`` (an object or a list of objects) made odd."""
    value = state[key]
    found = []
    if isinstance(value, dict):
        first = next(iter(value))
        found += [{**state, key: {**value, first: odd}} for odd in ODD_VALUES]
    elif value and isinstance(value[0], dict):
        for inner in value[0]:
            found += [{**state, key: [{**value[0], inner: odd}, *value[1:]]} for odd in ODD_VALUES]
    return found


# --- the auditor's copies are the domain's --------------------------------------------------------


def test_the_copied_namespaces_and_indicators_are_the_domains():
    product_id = uuid4()
    assert uuid5(replay_module.ROUND_NAMESPACE, "2023") == round_id_for(2023)
    assert uuid5(replay_module.OPT_IN_NAMESPACE, f"2024\x1f{product_id}") == opt_in_id_for(
        2024, product_id
    )
    assert uuid5(
        replay_module.CERTIFICATION_NAMESPACE, f"2023\x1f{product_id}"
    ) == certification_id_for(2023, product_id)
    assert replay_module.BENCHMARK_TABLE_ID == BENCHMARK_TABLE_ID
    copied = {
        i: (unit, comparison) for i, (unit, comparison, _) in replay_module._INDICATORS.items()
    }
    assert copied == {i.id: (i.unit.value, i.comparison.value) for i in INDICATORS.values()}


counts = st.integers(0, 10**15)


@given(counts, counts, counts, counts, st.integers(0, 50), st.integers(0, 50),
       st.none() | st.integers(0, 60))  # fmt: skip
def test_the_auditors_formulas_compute_what_the_domains_do(
    sales, exports, profit, ip_spending, patents, inventions, valid
):
    domain_inputs = IndicatorInputs(sales, exports, profit, ip_spending, patents, inventions, valid)
    audit_inputs = replay_module._Inputs(
        sales, exports, profit, ip_spending, patents, inventions, valid
    )
    for indicator in INDICATORS.values():
        assert replay_module._INDICATORS[indicator.id][2](audit_inputs) == indicator.compute(
            domain_inputs
        )


# hypothesis wants naive bounds, then attaches the time zone
EARLIEST, LATEST = datetime(2023, 1, 1), datetime(2024, 12, 31)  # noqa: DTZ001
moments = st.datetimes(EARLIEST, LATEST, timezones=st.just(UTC))


@given(
    st.sampled_from(["approved", "pending_review", "rejected"]),
    st.integers(2020, 2024),
    st.booleans(),
    moments,
    st.booleans(),
    st.none() | moments,
    st.booleans(),
    st.sampled_from([2023, 2024]),
)
def test_the_auditors_eligibility_is_the_domains(
    status, data_year, dispute, submitted_at, revised, approved_at, opted_in, year
):
    round_ = open_round(RoundCalendar.default(year), CERTIFIER_RECORD)
    facts = ProductFacts(status, data_year, dispute, submitted_at, revised, approved_at)
    domain = [r["reason"] for r in ineligibility(facts, round_, opted_in=opted_in)]
    audit_round = replay_module._Round(
        year, year - 1, round_.filing_closes_at, round_.review_closes_at,
        round_.update_closes_at, round_.opt_in_required,
    )  # fmt: skip
    audit_facts = replay_module._Facts(
        status, data_year, "03", (0, 0, 0, 0), 1, 0, submitted_at, revised, approved_at, dispute
    )
    assert list(_ineligibility(audit_facts, audit_round, opted_in=opted_in)) == domain
