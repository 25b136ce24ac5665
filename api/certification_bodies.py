"""Request and response bodies of the certification routes (``/v1/certification``).

As in api.command_bodies, request models fix only the *shape* (fields, JSON types, nothing
unknown, 64-bit integers, encodable text); the domain judges the values and answers with its
own codes (``year_invalid``, ``date_invalid``, ``certification_dates_invalid``,
``benchmarks_invalid``, ``patent_count_invalid``...). Its ranges (domain.ranges) are shown in
the schema as ``minimum``/``maximum`` from the same constants. Response models are the read
models' rows as the access policy (api.access) lets each caller see them: fields a caller may
not see are left out, not null.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, JsonValue

from api.wire import Integer, JsonUuid, Text, ranged, request_examples, response_examples
from domain.benchmarks import THRESHOLD_RANGES, Unit
from domain.certification import CertificationStatus
from domain.certification_round import RoundStatus
from domain.objection import ObjectionStatus
from domain.ranges import OBJECTION_DAYS, PATENT_COUNT, ROUND_YEARS, Range

_THRESHOLD = Range(0, max(bounds.maximum for bounds in THRESHOLD_RANGES.values()))
Threshold = Annotated[
    int,
    ranged(
        _THRESHOLD,
        "By the indicator's unit: "
        + ", ".join(f"{unit} 0..{THRESHOLD_RANGES[unit].maximum}" for unit in Unit)
        + "; outside: 422 benchmarks_invalid naming the field and the bound",
    ),
]
RoundYear = Annotated[
    int,
    ranged(
        ROUND_YEARS,
        f"{ROUND_YEARS.minimum}..{ROUND_YEARS.maximum}; outside: 422 year_invalid",
    ),
]
ObjectionDays = Annotated[
    int,
    ranged(
        OBJECTION_DAYS,
        f"{OBJECTION_DAYS.minimum}..{OBJECTION_DAYS.maximum}; outside: 422 "
        "certification_dates_invalid",
    ),
]
PatentCount = Annotated[
    int,
    ranged(
        PATENT_COUNT,
        f"At least the patents the product declares, at most {PATENT_COUNT.maximum}; outside: "
        "422 patent_count_invalid",
    ),
]

_PRODUCT_ID = "5b0c9d2e-7a43-4c1e-9a55-2d8f61f3c0a1"
_OBJECTION_ID = "8c3e1f40-2b7d-4e59-a1c6-0f9d2e7b5a31"
_CERTIFICATION_ID = "9f42324d-a0e1-5a87-9107-2a1ef95e8c69"
_TABLE_ID = "cf15d3ed-3d5c-520f-98d1-4ebc769fe019"
_ROUND_ID = "de1cf9db-2b1f-5743-a7a2-0461171e0aa2"  # round_id_for(2023)
_OPT_IN_ID = "2e6a9d41-7c3b-5f18-9e2d-4b8c1a0f6e73"
_THRESHOLDS: dict[str, JsonValue] = {
    category: {"sales_fen": 3_000_000_000, "invention_patents": 1, "profit_fen": 200_000_000}
    for category in ("01", "02", "03", "04", "05", "06", "07")
}


# --- commands -----------------------------------------------------------------------------------
class SetBenchmarks(BaseModel):
    """The whole benchmark table (评价基准) as its next version: per industry category 01-07,
    each indicator's threshold (integers: fen, counts, basis points)."""

    model_config = request_examples({"note": "2023 thresholds", "thresholds": _THRESHOLDS})

    thresholds: dict[Text, dict[Text, Threshold]] = Field(
        description="category → indicator → threshold; indicators: sales_fen, "
        "export_share_bp, valid_patents, invention_patents, patent_use_share_bp, profit_fen, "
        "ip_spending_fen (docs/certification.md)"
    )
    note: Text = ""


class BenchmarksWritten(BaseModel):
    model_config = response_examples({"version": 2})

    version: int = Field(description="The table version in force (unchanged if it was the same)")


class OpenRound(BaseModel):
    """Open the round of ``year`` (data year = year - 1); unset dates take the notices'
    defaults (2023: filed by 15 Aug, reviewed by 31 Aug, no opt-in; from 2024 opt-in)."""

    model_config = request_examples(
        {"year": 2023},
        {"year": 2025, "review_deadline": "2025-09-30", "opt_in_required": True},
    )

    year: RoundYear
    filing_deadline: Text | None = Field(default=None, description="YYYY-MM-DD, Beijing time")
    review_deadline: Text | None = Field(default=None, description="YYYY-MM-DD")
    opt_in_required: bool | None = None
    update_window_start: Text | None = Field(default=None, description="YYYY-MM-DD")
    update_window_end: Text | None = Field(default=None, description="YYYY-MM-DD")


class RoundWritten(BaseModel):
    model_config = response_examples({"year": 2023, "round_id": _ROUND_ID, "version": 1})

    year: int
    round_id: UUID
    version: int


class RunEvaluation(BaseModel):
    """Optional: the benchmark version the first run pins (default: the latest)."""

    model_config = request_examples({}, {"benchmark_version": 1})

    benchmark_version: Integer | None = None


class EvaluationReport(BaseModel):
    """What one run decided; filings decided by an earlier run count as already_decided."""

    model_config = response_examples(
        {"year": 2023, "benchmark_version": 1, "certified": 447, "not_certified": 568,
         "not_eligible": 173, "not_eligible_by_reason": {"not_approved": 165,
         "ownership_dispute_open": 8}, "already_decided": 0, "withdrawn": 34}
    )  # fmt: skip

    year: int
    benchmark_version: int
    certified: int
    not_certified: int
    not_eligible: int
    not_eligible_by_reason: dict[str, int] = Field(description="Each counted under its first")
    already_decided: int
    withdrawn: int = Field(description="Withdrawn filings are not considered")


class PublishList(BaseModel):
    """Publish the certified list (公示); objections are taken for ``objection_days`` days."""

    model_config = request_examples({"objection_days": 7})

    objection_days: ObjectionDays = 7


class ListPublished(BaseModel):
    model_config = response_examples(
        {"year": 2023, "version": 3, "published_certified": 447,
         "objection_window_start": "2023-09-10T02:00:00.000000Z",
         "objection_window_end": "2023-09-17T02:00:00.000000Z"}
    )  # fmt: skip

    year: int
    version: int
    published_certified: int
    objection_window_start: str
    objection_window_end: str


class OptIn(BaseModel):
    """The filer asks for its product to be evaluated in the round (required from 2024);
    ``filer_valid_patents`` (at least the patents the product declares) makes the
    patent-use share known."""

    model_config = request_examples(
        {"product_id": _PRODUCT_ID}, {"product_id": _PRODUCT_ID, "filer_valid_patents": 12}
    )

    product_id: JsonUuid
    filer_valid_patents: PatentCount | None = None


class OptedIn(BaseModel):
    model_config = response_examples(
        {"year": 2024, "product_id": _PRODUCT_ID, "opt_in_id": _OPT_IN_ID, "version": 1}
    )

    year: int
    product_id: UUID
    opt_in_id: UUID
    version: int


class FileObjection(BaseModel):
    """An objection (异议) against a product on the published list, during its window."""

    model_config = request_examples(
        {"product_id": _PRODUCT_ID, "reason": "销售额与发票不符"},
        {"product_id": _PRODUCT_ID, "reason": "专利已失效", "objection_id": _OBJECTION_ID},
    )

    product_id: JsonUuid
    reason: Text
    objection_id: JsonUuid | None = Field(
        default=None,
        description=(
            "Client-chosen id: a random UUID (e.g. version 4); a name-based (version 3 or 5), "
            "nil or max UUID is 422 id_not_allowed, a used one 409 objection_id_taken"
        ),
    )


class DecideObjection(BaseModel):
    """Why the certifier upholds (the certification is revoked with this reason) or dismisses
    the objection."""

    model_config = request_examples({"reason": "经核查销售额虚报属实"})

    reason: Text


class ObjectionWritten(BaseModel):
    model_config = response_examples(
        {"objection_id": _OBJECTION_ID, "year": 2023, "product_id": _PRODUCT_ID,
         "status": "open", "version": 1}
    )  # fmt: skip

    objection_id: UUID
    year: int
    product_id: UUID
    status: ObjectionStatus
    version: int


# --- reads --------------------------------------------------------------------------------------
class BenchmarkTableView(BaseModel):
    model_config = response_examples(
        {"version": 1, "table_id": _TABLE_ID, "note": "2023 thresholds",
         "indicators": {"sales_fen": {"unit": "fen", "comparison": "at_least",
                                      "formula": "sales_fen: the product's sales"}},
         "thresholds": {"01": {"sales_fen": 3_000_000_000}},
         "set_at": "2023-01-02T04:00:00.000000Z", "notification_id": 18}
    )  # fmt: skip

    version: int
    table_id: str
    indicators: dict[str, dict[str, str]]
    thresholds: dict[str, dict[str, int]]
    note: str
    set_at: str
    notification_id: int


ROUND_EXAMPLE: dict[str, Any] = {
    "year": 2023, "round_id": _ROUND_ID, "data_year": 2022, "status": "published",
    "filing_deadline": "2023-08-15", "review_deadline": "2023-08-31", "opt_in_required": False,
    "update_window_start": "2023-01-01", "update_window_end": "2023-08-15",
    "benchmark_table_id": _TABLE_ID, "benchmark_version": 1,
    "opened_at": "2023-01-02T04:00:00.000000Z",
    "evaluation_started_at": "2023-09-05T04:00:00.000000Z",
    "published_at": "2023-09-10T04:00:00.000000Z", "objection_days": 7,
    "objection_window_start": "2023-09-10T04:00:00.000000Z",
    "objection_window_end": "2023-09-17T04:00:00.000000Z", "published_certified": 447,
    "certified": 446, "not_certified": 568, "not_eligible": 173, "revoked": 1,
    "objections": 2, "version": 3,
}  # fmt: skip


class RoundView(BaseModel):
    """A round: calendar, status, pinned benchmark version, publication and objection window.
    Decision counts are shown to the platform roles at once, to everyone once published."""

    model_config = response_examples(ROUND_EXAMPLE)

    year: int
    round_id: str
    data_year: int
    status: RoundStatus
    filing_deadline: str
    review_deadline: str
    opt_in_required: bool
    update_window_start: str
    update_window_end: str
    benchmark_table_id: str | None
    benchmark_version: int | None
    opened_at: str
    evaluation_started_at: str | None
    published_at: str | None
    objection_days: int | None
    objection_window_start: str | None
    objection_window_end: str | None
    published_certified: int | None = Field(description="Products on the published list")
    version: int = Field(description="The round's version (its ETag)")
    certified: int | None = Field(default=None, description="Certified now (not revoked)")
    not_certified: int | None = None
    not_eligible: int | None = None
    revoked: int | None = None
    objections: int | None = None


class RoundList(BaseModel):
    model_config = response_examples({"items": [ROUND_EXAMPLE]})

    items: list[RoundView] = Field(description="By year")


DECISION_EXAMPLE: dict[str, Any] = {
    "product_id": _PRODUCT_ID, "name": "智能温控阀", "model": "TV-100",
    "filer_uscc": "91310115000000001U", "filer_name": "上海测试科技有限公司0001",
    "region_code": "310115", "category": "03", "finer_code": None, "round_year": 2023,
    "data_year": 2022, "status": "certified", "published": True,
    "benchmark_table_id": _TABLE_ID, "benchmark_version": 1,
    "certification_id": _CERTIFICATION_ID, "version": 1,
    "decided_at": "2023-09-05T04:00:00.000000Z", "revoked_at": None,
}  # fmt: skip


class DecisionView(BaseModel):
    """A product's decision in a round. The explanation (inputs, indicators, reasons) only for
    its filer, its regional admin and the platform roles."""

    model_config = response_examples(
        DECISION_EXAMPLE,
        {**DECISION_EXAMPLE, "status": "not_eligible", "published": False,
         "benchmark_table_id": None, "benchmark_version": None, "product_version": 1,
         "product_status": "pending_review", "product_data_year": 2022, "rule": None,
         "inputs": None, "indicators": None,
         "reasons": [{"reason": "not_approved", "detail": "the filing is pending_review"}],
         "revoked_by_objection": None, "revocation_reason": None, "notification_id": 23},
    )  # fmt: skip

    product_id: str
    name: str | None
    model: str | None
    filer_uscc: str
    filer_name: str | None
    region_code: str
    category: str
    finer_code: str | None
    round_year: int
    data_year: int
    status: CertificationStatus
    published: bool = Field(description="On the round's published certified list")
    benchmark_table_id: str | None
    benchmark_version: int | None
    certification_id: str
    version: int
    decided_at: str
    revoked_at: str | None
    # Confidential: present only for callers who see the product's figures.
    product_version: int | None = None
    product_status: str | None = None
    product_data_year: int | None = None
    rule: str | None = None
    inputs: dict[str, int | None] | None = None
    indicators: list[dict[str, Any]] | None = None
    reasons: list[dict[str, str]] | None = None
    revoked_by_objection: str | None = None
    revocation_reason: str | None = None
    notification_id: int | None = None


class DecisionPage(BaseModel):
    model_config = response_examples(
        {"items": [DECISION_EXAMPLE], "next_cursor": "AAECAwQFBgcICQoLDA0ODw"}
    )

    items: list[DecisionView]
    next_cursor: str | None = Field(
        description="Pass as ``cursor`` for the next page; null on the last page"
    )


OBJECTION_EXAMPLE: dict[str, Any] = {
    "objection_id": _OBJECTION_ID, "round_year": 2023, "product_id": _PRODUCT_ID,
    "certification_id": _CERTIFICATION_ID, "filer_uscc": "91310115000000001U",
    "region_code": "310115", "reason": "销售额与发票不符", "objector_role": "filer",
    "status": "open", "filed_at": "2023-09-11T02:00:00.000000Z", "decision_reason": None,
    "decided_at": None, "version": 1, "notification_id": 1250,
}  # fmt: skip


class ObjectionView(BaseModel):
    """An objection; who filed and decided it (ids, scope) only for the platform roles."""

    model_config = response_examples(
        OBJECTION_EXAMPLE,
        {**OBJECTION_EXAMPLE, "objector_id": "token:3f2a9c0d1b7e4a56",
         "objector_scope": "91310104000000002Y", "decided_by": None},
    )  # fmt: skip

    objection_id: str
    round_year: int
    product_id: str
    certification_id: str
    filer_uscc: str = Field(description="The objected product's filer")
    region_code: str
    reason: str
    objector_role: str
    status: ObjectionStatus
    filed_at: str
    decision_reason: str | None
    decided_at: str | None
    version: int = Field(description="The objection's version (its ETag)")
    notification_id: int = Field(description="Of the ObjectionFiled event")
    objector_id: str | None = None
    objector_scope: str | None = None
    decided_by: str | None = None


class ObjectionPage(BaseModel):
    model_config = response_examples({"items": [OBJECTION_EXAMPLE], "next_cursor": None})

    items: list[ObjectionView]
    next_cursor: str | None = Field(
        description="Pass as ``cursor`` for the next page; null on the last page"
    )
