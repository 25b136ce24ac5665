"""Response bodies of the read routes (registries, trails, dispute checks, statistics).

Why models for what are plain read-model rows: they are the API's contract in OpenAPI (with
examples), and FastAPI checks every response against them, so a read model that drops or
renames a column fails a test instead of silently changing the API. Nested structures the
domain owns (patent declarations, disputes, certifications, event details) stay open
dictionaries: their shape is the domain's, documented there.

Confidential fields of a filing (access.CONFIDENTIAL_PRODUCT_FIELDS) are optional here and
the product routes serialise with ``exclude_unset``: a caller who may not see them gets no
key at all, not a null.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.wire import response_examples
from domain.filer import FilerStatus
from domain.product import ProductStatus
from domain.values import Reason as ScreeningReason
from projections.queries import ConversionGrouping, Level

_PATENT_EXAMPLE = {
    "number": "202110000001.6",
    "type": "invention",
    "relation": "owner",
    "licence_reference": None,
}

PRODUCT_EXAMPLE: dict[str, Any] = {
    "product_id": "0b6f3f1e-2f5b-4a8e-9a51-3f2d1c9e7a10",
    "filer_uscc": "91310115000000001U",
    "filer_name": "上海测试科技有限公司0001",
    "region_code": "310115",
    "name": "智能温控阀",
    "model": "TV-100",
    "variants": ["白色", "黑色"],
    "category": "03",
    "finer_code": None,
    "status": "approved",
    "filing_number": "2023-310115-00001",
    "data_year": 2022,
    "patents": [_PATENT_EXAMPLE],
    "certifications": [],
    "filed_at": "2023-03-01T09:30:00.000000+00:00",
    "updated_at": "2023-03-08T14:02:11.000000+00:00",
    "version": 2,
}


def _example(model: type[BaseModel]) -> Any:
    """The first example a model documents (for the examples of the models that hold it)."""
    extra = model.model_config.get("json_schema_extra")
    if not isinstance(extra, dict):
        raise TypeError(f"{model.__name__} documents no examples")
    examples: list[Any] = extra["examples"]  # type: ignore[assignment]
    return examples[0]


class ProductView(BaseModel):
    """A filing as this caller may see it: public fields always, figures and review notes
    only for its filer, platform roles and its region's administrator."""

    model_config = response_examples(
        PRODUCT_EXAMPLE,
        {**PRODUCT_EXAMPLE, "sales_fen": 10_000_000, "exports_fen": 1_000_000,
         "profit_fen": 500_000, "ip_spending_fen": 80_000, "open_disputes": {},
         "resolved_disputes": {}, "rejection_reason": None, "withdrawal_reason": None,
         "filer_id": "5d1c…", "canonical_key": "智能温控阀|tv100", "patents_version": 1},
    )  # fmt: skip

    product_id: str
    filer_uscc: str
    filer_name: str | None
    region_code: str | None
    name: str
    model: str
    variants: list[str]
    category: str
    finer_code: str | None
    status: ProductStatus
    data_year: int
    patents: list[dict[str, Any]]
    certifications: list[dict[str, Any]]
    filed_at: str
    updated_at: str
    version: int = Field(description="Aggregate version; the ETag, and what If-Match names")
    filing_number: str | None = Field(
        default=None,
        description="The filing number (备案号) YYYY-RRRRRR-NNNNN, assigned at the first "
        "approval and never reused (docs/filing-numbers.md); null before, or for a filing "
        "approved before filing numbers and not migrated yet. Public: certificates print it",
    )
    update_under_review: bool = Field(
        default=False,
        description="Approved before, and its annual update is under review. The public then "
        "sees the version last approved (status approved, its data year and patents); callers "
        "who see the figures see the update, and the approved version in `approved_version`",
    )
    # Confidential: present only for callers who see them.
    approved_version: dict[str, Any] | None = Field(
        default=None,
        description="The filing as last approved: data_year, figures (fen), patents, the "
        "approval's version and time (null until approved)",
    )
    sales_fen: int | None = None
    exports_fen: int | None = None
    profit_fen: int | None = None
    ip_spending_fen: int | None = None
    open_disputes: dict[str, dict[str, Any]] | None = None
    resolved_disputes: dict[str, dict[str, Any]] | None = None
    rejection_reason: str | None = None
    withdrawal_reason: str | None = None
    filer_id: str | None = None
    canonical_key: str | None = None
    patents_version: int | None = None


class ProductPage(BaseModel):
    """One page of the registry, in product id order."""

    model_config = response_examples(
        {"items": [_example(ProductView)], "next_cursor": "AAECAwQFBgcICQoLDA0ODw"}
    )

    items: list[ProductView]
    next_cursor: str | None = Field(
        description="Pass as ``cursor`` for the next page; null on the last page"
    )


FILER_EXAMPLE: dict[str, Any] = {
    "filer_id": "5d1c2a4e-8f0b-4c1d-9e3a-7b6f5a4d3c21",
    "uscc": "91310115000000001U",
    "name": "上海测试科技有限公司0001",
    "kind": "enterprise",
    "region_code": "310115",
    "status": "approved",
    "real_name_verified": True,
    "rejection_reason": None,
    "registered_at": "2023-02-20T08:00:00.000000+00:00",
    "updated_at": "2023-02-21T10:15:00.000000+00:00",
    "version": 3,
    "products_filed": 2,
    "products_pending": 1,
    "products_approved": 1,
    "products_rejected": 0,
    "products_withdrawn": 0,
}


class FilerView(BaseModel):
    """A filer's record (备案单位) with its product counts by status."""

    model_config = response_examples(FILER_EXAMPLE)

    filer_id: str
    uscc: str
    name: str
    kind: str
    region_code: str
    status: FilerStatus
    real_name_verified: bool
    rejection_reason: str | None
    registered_at: str
    updated_at: str
    version: int
    products_filed: int
    products_pending: int
    products_approved: int
    products_rejected: int
    products_withdrawn: int


class FilerPage(BaseModel):
    model_config = response_examples({"items": [FILER_EXAMPLE], "next_cursor": None})

    items: list[FilerView]
    next_cursor: str | None = Field(
        description="Pass as ``cursor`` for the next page; null on the last page"
    )


class TrailEvent(BaseModel):
    """One event of a filing, with who did it, when, and where it sits in the Merkle log."""

    model_config = response_examples(
        {
            "product_id": "0b6f3f1e-2f5b-4a8e-9a51-3f2d1c9e7a10",
            "notification_id": 6,
            "originator_id": "0b6f3f1e-2f5b-4a8e-9a51-3f2d1c9e7a10",
            "version": 2,
            "event_type": "FilingApproved",
            "actor_id": "token:3f2a9c0d1b7e4a56",
            "actor_role": "reviewer",
            "actor_scope": None,
            "timestamp": "2023-03-08T14:02:11.000000+00:00",
            "event_hash": "9f2c…(64 hex digits)",
            "details": {},
            "leaf_index": 5,
        }
    )

    product_id: str
    notification_id: int
    originator_id: str
    version: int
    event_type: str
    actor_id: str | None
    actor_role: str | None
    actor_scope: str | None
    timestamp: str
    event_hash: str = Field(description="RFC 6962 leaf hash of the signed stored event (hex)")
    details: dict[str, Any] = Field(description="The event's own fields")
    leaf_index: int | None = Field(
        description="Index in the Merkle log; null until the sequencer integrates the event"
    )


class Trail(BaseModel):
    model_config = response_examples(
        {"product_id": _example(TrailEvent)["product_id"], "events": [_example(TrailEvent)]}
    )

    product_id: str
    events: list[TrailEvent] = Field(description="In log order")


class Citation(BaseModel):
    """The event a statement rests on: prove it with an inclusion proof of ``leaf_index``."""

    aggregate_id: str
    version: int
    leaf_index: int | None


class SharedPatent(BaseModel):
    patent_number: str
    product_id: str
    filer_uscc: str
    filer_name: str | None
    status: str | None
    filed_at: str | None
    declared_by: Citation


class SimilarFiling(BaseModel):
    product_id: str
    canonical_key: str = Field(description="Its product key under ``key_rule``")
    key_rule: int = Field(
        description="The key rule compared under: 2, or 1 for a filing v2 cannot key"
    )
    distance: int = Field(description="Levenshtein distance between the two filings' keys")
    filer_uscc: str | None
    status: str | None
    filed_at: str | None
    filed_by: Citation


class DisputeCheckReport(BaseModel):
    """Everything a reviewer weighs in an ownership dispute over one filing.

    ``shared_patents`` and ``similar_filings`` list only filings the caller may see.
    """

    model_config = response_examples(
        {
            "product": _example(ProductView),
            "timeline": [_example(TrailEvent)],
            "shared_patents": [],
            "similar_filings": [],
            "disputes": [],
            "certifications": [],
        }
    )

    product: dict[str, Any]
    timeline: list[TrailEvent]
    shared_patents: list[SharedPatent]
    similar_filings: list[SimilarFiling]
    disputes: list[dict[str, Any]]
    certifications: list[dict[str, Any]]


class AsOfAnswer(BaseModel):
    """Which prefix of the log an as-of answer was replayed from."""

    tree_size: int = Field(description="Events replayed: the log's first N")
    checkpoint_size: int = Field(description="Of which trusted through a signed checkpoint")
    last_timestamp: str | None = Field(description="Time of the last replayed event")


class RegionRow(BaseModel):
    model_config = response_examples({
                    "region_code": "310115", "name": "浦东新区", "filers": 12, "products": 30,
                    "pending": 4, "rejected": 1, "withdrawn": 0, "data_year": 2022,
                    "data_years": [2022], "figures_products": 31,
                    "sales_fen": 1_234_500_000, "exports_fen": 120_000_000,
                })  # fmt: skip

    region_code: str
    name: str | None
    filers: int = Field(description="Approved filers (备案单位)")
    products: int = Field(description="Approved, not withdrawn filings (备案产品)")
    pending: int
    rejected: int
    withdrawn: int
    data_year: int | None = Field(
        description="The data year of the figures: the one asked for, or the only year of "
        "the filings' latest approved figures; null when they come from several years"
    )
    data_years: list[int] = Field(description="The data years the figures come from")
    figures_products: int = Field(
        description="Filings whose figures are summed: approved for that data year (or, by "
        "default, with approved figures), not withdrawn; a filing whose update is under "
        "review counts with its last approved figures"
    )
    sales_fen: int | str | None = Field(
        description="Sales summed over those filings, in fen: a number up to 2^63 - 1, "
        "beyond that a string of decimal digits (the sum is exact); null where a publication "
        "withholds it"
    )
    exports_fen: int | str | None = Field(
        description="Exports summed over those filings, in fen (a string past 2^63 - 1; null "
        "where withheld)"
    )
    suppressed: str | None = Field(
        default=None,
        description="In a publication: primary (the cell would expose a filer) or secondary "
        "(withheld so that a primary one cannot be subtracted out); null: published",
    )


class RegionStatisticsBody(BaseModel):
    model_config = response_examples(
        {
            "prefix": "3101",
            "level": "district",
            "data_year": None,
            "as_of": None,
            "regions": [_example(RegionRow)],
        }
    )

    prefix: str = Field(description="Region code prefix answered ('' = everywhere)")
    level: Level
    data_year: int | None = Field(description="The data year asked for; null: latest figures")
    as_of: AsOfAnswer | None = Field(description="Null: the read models now")
    period: str | None = Field(
        default=None, description="The publication answered (YYYY-MM); null: live figures"
    )
    published: dict[str, Any] | None = Field(
        default=None,
        description="The publication's log size, time and disclosure rules (publications only)",
    )
    regions: list[RegionRow]


class ConversionRow(BaseModel):
    model_config = response_examples(
        {"category": "assigned", "reports": 2, "patents": 2, "amount_fen": 6_000_000}
    )

    category: str
    institution_uscc: str | None = None
    region_code: str | None = None
    reports: int
    patents: int = Field(description="Distinct patents with a report in this group")
    amount_fen: int | str | None = Field(
        description="Amounts summed, in fen: a number up to 2^63 - 1, beyond that a string "
        "of decimal digits (the sum is exact); null to callers who may not see amounts"
    )


class ConversionStatisticsBody(BaseModel):
    model_config = response_examples(
        {"by": "category", "as_of": None, "rows": [_example(ConversionRow)]}
    )

    by: ConversionGrouping
    as_of: AsOfAnswer | None = Field(description="Null: the read models now")
    rows: list[ConversionRow]


class KeyGroupFiling(BaseModel):
    """One filing of a key group, as filed, with its status now."""

    product_id: str
    filer_uscc: str
    name: str
    model: str
    v1_key: str = Field(description="Its key under key rule v1 (the group spans two or more)")
    status: str
    holds_key: bool = Field(description="Whether it holds the group's key reservation now")


class KeyGroup(BaseModel):
    """Filings one key names under a newer key rule while an older rule kept them apart."""

    canonical_key: str
    filings: list[KeyGroupFiling] = Field(description="In the order filed")


class KeyGroupReport(BaseModel):
    """The groups of filings a reviewer decides (docs/never-filed-twice.md, the migration)."""

    model_config = response_examples({
                    "key_rule": 2,
                    "groups": [
                        {
                            "canonical_key": "精密行星减速器\u001fpx44o8",
                            "filings": [
                                {
                                    "product_id": "5b0c9d2e-1f3a-4c5d-8e9f-0a1b2c3d4e5f",
                                    "filer_uscc": "91310115688774070B",
                                    "name": "精密行星减速器", "model": "PX-4408",
                                    "v1_key": "精密行星减速器\u001fpx4408",
                                    "status": "approved", "holds_key": True,
                                },
                                {
                                    "product_id": "7d1e0f3b-2a4c-4e6d-9f0a-1b2c3d4e5f60",
                                    "filer_uscc": "91310115MA1HA5651R",
                                    "name": "精密行星减速器", "model": "\u0420\u0425-4408",
                                    "v1_key": "精密行星减速器\u001f\u0440\u04454408",
                                    "status": "pending_review", "holds_key": False,
                                },  # Cyrillic U+0420 and U+0425: v1 kept them apart
                            ],
                        }
                    ],
                })  # fmt: skip

    key_rule: int
    groups: list[KeyGroup]


class ScreeningCandidateView(BaseModel):
    """One near-duplicate candidate of a filing: why, and the reviewer's decision on it."""

    product_id: str = Field(description="An earlier filing (GET /v1/products/{product_id})")
    reasons: list[ScreeningReason] = Field(
        description="Why it is a candidate (docs/never-filed-twice.md, screening rule v1)"
    )
    decision: Literal["distinct", "open"] = Field(
        description="distinct: a reviewer recorded it as another product; open: no decision yet"
    )
    reason: str | None = Field(description="The reviewer's reason for distinct; null while open")


class ScreeningReport(BaseModel):
    """What a reviewer must decide before approving a filing (audit.offline.screening)."""

    model_config = response_examples(
        {
            "product_id": "7d1e0f3b-2a4c-4e6d-9f0a-1b2c3d4e5f60",
            "screening_rule": 1,
            "candidates": [
                {
                    "product_id": "5b0c9d2e-1f3a-4c5d-8e9f-0a1b2c3d4e5f",
                    "reasons": ["same_model"],
                    "decision": "distinct",
                    "reason": "另一型号 (电机功率与壳体不同, 见两份规格书)",
                },
                {
                    "product_id": "0b6f3f1e-2f5b-4a8e-9a51-3f2d1c9e7a10",
                    "reasons": ["shared_patent", "variant_words"],
                    "decision": "open",
                    "reason": None,
                },
            ],
            "duplicate_of": None,
            "open": 1,
        }
    )

    product_id: str
    screening_rule: int = Field(
        description="The screening rule in force: approval is judged by it (1 = rule v1)"
    )
    candidates: list[ScreeningCandidateView] = Field(description="In product id order")
    duplicate_of: str | None = Field(
        description="The filing a rejection named this one a duplicate of; else null"
    )
    open: int = Field(description="Candidates without a decision: approval needs 0")
