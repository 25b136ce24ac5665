"""Certification register: the annual rounds, every decision, objections, opt-ins, benchmarks.

What the certified list, the ineligible list and the objections of a round are read from
(projections.queries, the ``/v1/certification`` routes). Tables:

* ``rounds`` — one row per round (key: the round's id): year, data year, deadlines, update
  window, opt-in required, status (opened / evaluating / published), the pinned benchmark table
  and version, when it was opened, its evaluation started and its list published, the
  objection window, how many products the published list holds, counts of decisions by
  status (``certified`` excludes revoked ones, as projections.queries.Tally) and of
  objections, and the round aggregate's version.
* ``decisions`` — one row per (round, product) decided (key: the decision's id, uuid5 of
  both): status, the product's filer, district and category, the filing version read, the
  benchmark version, ``inputs`` and ``indicators`` (value, threshold, passed) of an evaluated
  product, ``reasons`` of an ineligible one, whether it is on the published list, its
  revocation (reason, objection, time), the decision event's version and notification id.
* ``objections`` — one row per objection: round, product (with its filer and district, from
  the decision), reason, who filed it (actor id, role, scope), status (open / dismissed /
  upheld), the certifier's reason and time, version, the filing event's notification id.
* ``opt_ins`` — one row per (round, product) opted in: filer, its declared valid patents.
* ``benchmarks`` — one row per version of the benchmark table: indicators, thresholds, note.

Deterministic like every read model: rows are functions of the events alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.certification import CertificationStatus, certification_id_for
from domain.certification_round import RoundStatus, round_id_for
from domain.objection import ObjectionStatus
from projections import events
from projections.feed import FeedEvent
from projections.model import Handler, ReadModel, existing_row, stamp
from projections.rows import Rows
from projections.schema import Table, integer, json_column, text

ROUNDS = Table(
    "rounds",
    (
        text("round_id"), integer("year"), integer("data_year"), text("filing_deadline"),
        text("review_deadline"), integer("opt_in_required"), text("update_window_start"),
        text("update_window_end"), text("status"), text("benchmark_table_id"),
        integer("benchmark_version"), text("opened_at"), text("evaluation_started_at"),
        text("published_at"), integer("objection_days"), text("objection_window_start"),
        text("objection_window_end"), integer("published_certified"), integer("certified"),
        integer("not_certified"), integer("not_eligible"), integer("revoked"),
        integer("objections"), integer("version"),
    ),
    key=("round_id",),
    indexes=(("year",),),
)  # fmt: skip
DECISIONS = Table(
    "decisions",
    (
        text("certification_id"), integer("round_year"), text("product_id"), text("status"),
        text("filer_uscc"), text("region_code"), text("category"), integer("data_year"),
        integer("product_version"), text("product_status"), integer("product_data_year"),
        text("benchmark_table_id"), integer("benchmark_version"), text("rule"),
        json_column("inputs"), json_column("indicators"), json_column("reasons"),
        integer("published"), text("revoked_by_objection"), text("revocation_reason"),
        text("revoked_at"), text("decided_at"), text("actor_id"), integer("version"),
        integer("notification_id"),
    ),
    key=("certification_id",),
    indexes=(("round_year", "status", "product_id"), ("product_id",)),
)  # fmt: skip
OBJECTIONS = Table(
    "objections",
    (
        text("objection_id"), integer("round_year"), text("product_id"),
        text("certification_id"), text("filer_uscc"), text("region_code"), text("reason"),
        text("objector_id"), text("objector_role"), text("objector_scope"), text("status"),
        text("filed_at"), text("decision_reason"), text("decided_at"), text("decided_by"),
        integer("version"), integer("notification_id"),
    ),
    key=("objection_id",),
    indexes=(("round_year", "objection_id"), ("product_id",)),
)  # fmt: skip
OPT_INS = Table(
    "opt_ins",
    (
        text("opt_in_id"), integer("round_year"), text("product_id"), text("filer_uscc"),
        integer("filer_valid_patents"), text("opted_in_at"), text("actor_id"),
        integer("notification_id"),
    ),
    key=("opt_in_id",),
    indexes=(("round_year", "product_id"),),
)  # fmt: skip
BENCHMARKS = Table(
    "benchmarks",
    (
        integer("version"), text("table_id"), json_column("indicators"),
        json_column("thresholds"), text("note"), text("set_at"), text("actor_id"),
        integer("notification_id"),
    ),
    key=("version",),
)  # fmt: skip

_COUNTED = {
    CertificationStatus.CERTIFIED.value: "certified",
    CertificationStatus.NOT_CERTIFIED.value: "not_certified",
    CertificationStatus.NOT_ELIGIBLE.value: "not_eligible",
    CertificationStatus.REVOKED.value: "revoked",
}


class CertificationRegister(ReadModel):
    name = "certification_register"
    tables = (ROUNDS, DECISIONS, OBJECTIONS, OPT_INS, BENCHMARKS)

    def handlers(self) -> Mapping[type, Handler]:
        return {
            events.BENCHMARKS_DEFINED: _benchmarks,
            events.BENCHMARKS_REVISED: _benchmarks,
            events.ROUND_OPENED: _round_opened,
            events.EVALUATION_STARTED: _evaluation_started,
            events.CERTIFIED_LIST_PUBLISHED: _published,
            events.OPTED_IN: _opted_in,
            events.CERTIFIED: _decided(CertificationStatus.CERTIFIED),
            events.NOT_CERTIFIED: _decided(CertificationStatus.NOT_CERTIFIED),
            events.NOT_ELIGIBLE: _decided(CertificationStatus.NOT_ELIGIBLE),
            events.CERTIFICATION_REVOKED: _revoked,
            events.OBJECTION_FILED: _objection_filed,
            events.OBJECTION_DISMISSED: _objection_decided(ObjectionStatus.DISMISSED),
            events.OBJECTION_UPHELD: _objection_decided(ObjectionStatus.UPHELD),
        }


# --- benchmarks ---------------------------------------------------------------------------------
def _benchmarks(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    rows.put(
        "benchmarks",
        {
            "version": e.version,
            "table_id": str(e.originator_id),
            "indicators": event.indicators,
            "thresholds": event.thresholds,
            "note": event.note,
            "set_at": e.stamped,
            "actor_id": e.actor.get("id"),
            "notification_id": e.notification_id,
        },
    )


# --- rounds -------------------------------------------------------------------------------------
def _round_opened(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    rows.put(
        "rounds",
        {
            "round_id": str(e.originator_id),
            "year": event.year,
            "data_year": event.data_year,
            "filing_deadline": event.filing_deadline,
            "review_deadline": event.review_deadline,
            "opt_in_required": int(bool(event.opt_in_required)),
            "update_window_start": event.update_window_start,
            "update_window_end": event.update_window_end,
            "status": RoundStatus.OPENED.value,
            "benchmark_table_id": None,
            "benchmark_version": None,
            "opened_at": e.stamped,
            "evaluation_started_at": None,
            "published_at": None,
            "objection_days": None,
            "objection_window_start": None,
            "objection_window_end": None,
            "published_certified": None,
            **dict.fromkeys((*_COUNTED.values(), "objections"), 0),
            "version": e.version,
        },
    )


def _evaluation_started(e: FeedEvent, rows: Rows) -> None:
    round_ = existing_row(e, rows, "rounds", str(e.originator_id), "round")
    round_.update(
        status=RoundStatus.EVALUATING.value,
        benchmark_table_id=str(e.event.benchmark_table_id),
        benchmark_version=e.event.benchmark_version,
        evaluation_started_at=e.stamped,
        version=e.version,
    )
    rows.put("rounds", round_)


def _published(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    round_ = existing_row(e, rows, "rounds", str(e.originator_id), "round")
    listed = [str(product_id) for product_id in event.certified_product_ids]
    round_.update(
        status=RoundStatus.PUBLISHED.value,
        published_at=e.stamped,
        objection_days=event.objection_days,
        objection_window_start=stamp(event.objection_window_start),
        objection_window_end=stamp(event.objection_window_end),
        published_certified=len(listed),
        version=e.version,
    )
    rows.put("rounds", round_)
    for product_id in listed:
        decision_id = str(certification_id_for(round_["year"], product_id))
        decision = existing_row(e, rows, "decisions", decision_id, "decision")
        decision["published"] = 1
        rows.put("decisions", decision)


def _count(e: FeedEvent, rows: Rows, year: int, column: str, by: int) -> None:
    round_ = existing_row(e, rows, "rounds", str(round_id_for(year)), "round")
    round_[column] += by
    rows.put("rounds", round_)


# --- opt-ins ------------------------------------------------------------------------------------
def _opted_in(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    rows.put(
        "opt_ins",
        {
            "opt_in_id": str(e.originator_id),
            "round_year": event.round_year,
            "product_id": str(event.product_id),
            "filer_uscc": event.filer_uscc,
            "filer_valid_patents": event.filer_valid_patents,
            "opted_in_at": e.stamped,
            "actor_id": e.actor.get("id"),
            "notification_id": e.notification_id,
        },
    )


# --- decisions ----------------------------------------------------------------------------------
def _decided(status: CertificationStatus) -> Handler:
    def handler(e: FeedEvent, rows: Rows) -> None:
        event = e.event
        evaluated = status is not CertificationStatus.NOT_ELIGIBLE
        rows.put(
            "decisions",
            {
                "certification_id": str(e.originator_id),
                "round_year": event.round_year,
                "product_id": str(event.product_id),
                "status": status.value,
                "filer_uscc": event.filer_uscc,
                "region_code": event.region_code,
                "category": event.category,
                "data_year": event.data_year,
                "product_version": event.product_version,
                "product_status": None if evaluated else event.product_status,
                "product_data_year": None if evaluated else event.product_data_year,
                "benchmark_table_id": str(event.benchmark_table_id) if evaluated else None,
                "benchmark_version": event.benchmark_version if evaluated else None,
                "rule": event.rule if evaluated else None,
                "inputs": dict(event.inputs) if evaluated else None,
                "indicators": [dict(i) for i in event.indicators] if evaluated else None,
                "reasons": [] if evaluated else [dict(r) for r in event.reasons],
                "published": 0,
                "revoked_by_objection": None,
                "revocation_reason": None,
                "revoked_at": None,
                "decided_at": e.stamped,
                "actor_id": e.actor.get("id"),
                "version": e.version,
                "notification_id": e.notification_id,
            },
        )
        _count(e, rows, event.round_year, _COUNTED[status.value], 1)

    return handler


def _revoked(e: FeedEvent, rows: Rows) -> None:
    decision = existing_row(e, rows, "decisions", str(e.originator_id), "decision")
    _count(e, rows, decision["round_year"], _COUNTED[decision["status"]], -1)
    decision.update(
        status=CertificationStatus.REVOKED.value,
        revoked_by_objection=str(e.event.objection_id),
        revocation_reason=e.event.reason,
        revoked_at=e.stamped,
        version=e.version,
    )
    rows.put("decisions", decision)
    _count(e, rows, decision["round_year"], _COUNTED[decision["status"]], 1)


# --- objections ---------------------------------------------------------------------------------
def _objection_filed(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    decision = existing_row(e, rows, "decisions", str(event.certification_id), "decision")
    actor = e.actor
    rows.put(
        "objections",
        {
            "objection_id": str(e.originator_id),
            "round_year": event.round_year,
            "product_id": str(event.product_id),
            "certification_id": str(event.certification_id),
            "filer_uscc": decision["filer_uscc"],
            "region_code": decision["region_code"],
            "reason": event.reason,
            "objector_id": actor.get("id"),
            "objector_role": actor.get("role"),
            "objector_scope": actor.get("scope"),
            "status": ObjectionStatus.OPEN.value,
            "filed_at": e.stamped,
            "decision_reason": None,
            "decided_at": None,
            "decided_by": None,
            "version": e.version,
            "notification_id": e.notification_id,
        },
    )
    _count(e, rows, event.round_year, "objections", 1)


def _objection_decided(status: ObjectionStatus) -> Handler:
    def handler(e: FeedEvent, rows: Rows) -> None:
        objection = existing_row(e, rows, "objections", str(e.originator_id), "objection")
        objection.update(
            status=status.value,
            decision_reason=e.event.reason,
            decided_at=e.stamped,
            decided_by=e.actor.get("id"),
            version=e.version,
        )
        rows.put("objections", objection)

    return handler
