"""Request and response bodies of the command routes (every POST under /v1).

Why the models check so little: the domain is the one place that knows what a valid USCC,
patent number, digest, category or text is, and it answers with a stable code
(``uscc_invalid``, ``patent_number_invalid``...) that clients match on. The models only fix the
*shape* of a request — which fields, of which JSON type, nothing unknown — so a wrong shape is
422 ``request_invalid`` and a wrong value is the domain's own problem type.

The wire's own limits — 64-bit integers, text encodable as UTF-8 — and the domain's narrower
ranges, shown in the schema but judged by the domain (``money_invalid``... naming the field and
the bound), are api.wire's.

``strict=True``: money is integer fen and years are integers, never ``"12.50"`` or ``true``;
ids are UUIDs given as JSON strings (strictness is relaxed for them alone, since JSON has no
UUID type).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    BaseModel,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from api.wire import JsonUuid, Text, ranged, request_examples
from domain.command_inputs import REASON_MAX_LENGTH
from domain.ranges import FEN, YEARS

DECISION_REASON_MAX = REASON_MAX_LENGTH
"""The longest "distinct product" reason the domain accepts (domain.application._reason),
stated in the schema's description; tests/api/test_screening_routes.py ties the two."""


Fen = Annotated[
    int,
    ranged(
        FEN,
        f"Integer fen (1 yuan = 100 fen), {FEN.minimum}..{FEN.maximum}; outside: "
        "422 money_invalid naming the field and the bound.",
    ),
]
WholeYear = Annotated[
    int,
    ranged(
        YEARS,
        f"Calendar year, e.g. 2023, {YEARS.minimum}..{YEARS.maximum}; outside: "
        "422 year_invalid naming the field and the bound.",
    ),
]

_DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
_PATENT = "ZL202110000001.6"
_PRODUCT_ID = "5b0c9d2e-7a43-4c1e-9a55-2d8f61f3c0a1"
_FILER_ID = "0d7d5143-13dc-5821-84d2-47a238e679f7"  # filer_id_for(the example USCC)
_CANDIDATE_ID = "3e9a7c21-8b4d-4f6a-a2c5-9d1e0b7f4a36"
_DECISION: dict[str, JsonValue] = {
    "product_id": _CANDIDATE_ID,
    "reason": "另一型号 (电机功率与壳体不同, 见两份规格书)",
}
_FIGURES: dict[str, JsonValue] = {
    "sales_fen": 1_000_000_000,
    "exports_fen": 100_000_000,
    "profit_fen": 50_000_000,
    "ip_spending_fen": 8_000_000,
}


# --- filers -------------------------------------------------------------------------------------
class ContactBody(BaseModel):
    """The filer's contact person."""

    model_config = request_examples(
        {"name": "张三", "phone": "+86 21 5555 0000", "email": "zs@example.cn"}
    )

    name: Text
    phone: Text
    email: Text


class RegisterFiler(BaseModel):
    """A filer's registration: who it is, and the digests of its proof materials and pledge.

    Documents themselves are kept outside the ledger; only their SHA-256 digests are signed.
    """

    model_config = request_examples(
        {
            "uscc": "91310115MA1K4LXX3E",
            "name": "上海示例科技有限公司",
            "kind": "enterprise",
            "region_code": "310115",
            "contact": {"name": "张三", "phone": "+86 21 5555 0000", "email": "zs@example.cn"},
            "proof_digests": [_DIGEST],
            "pledge_digest": _DIGEST,
        }
    )

    uscc: Text = Field(description="Unified Social Credit Code (18 characters, GB 32100-2015).")
    name: Text
    kind: Text = Field(
        description="enterprise, university_or_institute, new_rnd_institution or "
        "social_organization."
    )
    region_code: Text = Field(description="GB/T 2260 six-digit region code.")
    contact: ContactBody
    proof_digests: list[Text] = Field(description="SHA-256 (hex) of each proof document.")
    pledge_digest: Text = Field(description="SHA-256 (hex) of the signed integrity pledge.")


class VerifyRealName(BaseModel):
    """The outcome of the real-name verification (实名认证), by its reference."""

    model_config = request_examples({"reference": "RN-2024-000123"})

    reference: Text


class ResubmitFiler(BaseModel):
    """A rejected filer's new proof materials, and the corrections it makes (each optional;
    absent or null: unchanged); the filer goes back to review."""

    model_config = request_examples(
        {"proof_digests": [_DIGEST], "pledge_digest": _DIGEST, "region_code": "310115"}
    )

    proof_digests: list[Text]
    pledge_digest: Text
    name: Text | None = None
    kind: Text | None = Field(
        default=None, description="Must fit the USCC's organisation type (422 otherwise)."
    )
    region_code: Text | None = Field(
        default=None,
        description="GB/T 2260 code; one that is not the USCC's needs a confirmed move before "
        "approval.",
    )
    contact: ContactBody | None = None


class Reason(BaseModel):
    """Why a record is rejected or withdrawn; it is signed into the event."""

    model_config = request_examples({"reason": "proof of sales does not cover the data year"})

    reason: Text


class FilerWritten(BaseModel):
    """The filer record a command created or changed, at its new version (also the ETag)."""

    model_config = request_examples({"filer_id": _FILER_ID, "version": 2})

    filer_id: UUID
    version: int


# --- product filings ----------------------------------------------------------------------------
class PatentBody(BaseModel):
    """One declared patent; a licensee cites its licence."""

    model_config = request_examples(
        {"number": _PATENT, "relation": "owner"},
        {"number": "ZL202120000002.6", "relation": "licensee", "licence_reference": "LIC-7"},
    )

    number: Text = Field(description="CNIPA application number with its check character.")
    relation: Text = Field(description="owner or licensee.")
    licence_reference: Text | None = None


class FiguresBody(BaseModel):
    """The product's economic figures for its data year, in integer fen."""

    model_config = request_examples(_FIGURES)

    sales_fen: Fen
    exports_fen: Fen
    profit_fen: Fen
    ip_spending_fen: Fen


class FileProduct(BaseModel):
    """A product filing (备案) by an approved filer: one model or variety is one product."""

    model_config = request_examples(
        {
            "filer_id": _FILER_ID,
            "name": "智能温控阀",
            "model": "TV-100",
            "variants": ["白色", "黑色"],
            "category": "03",
            "finer_code": None,
            "patents": [{"number": _PATENT, "relation": "owner"}],
            "data_year": 2023,
            "figures": _FIGURES,
            "proof_digests": [_DIGEST],
        }
    )

    filer_id: JsonUuid
    name: Text
    model: Text = Field(description="Model or variety; empty if the product has none.")
    variants: list[Text] = Field(
        default_factory=list, description="Colours, sizes or configurations of the same model."
    )
    category: Text = Field(
        description="Top industry category, 01 to 07, or unclassified (any industry may file; "
        "an unclassified filing is not certified)."
    )
    finer_code: Text | None = Field(default=None, description="3-6 digits under the category.")
    patents: list[PatentBody]
    data_year: WholeYear
    figures: FiguresBody
    proof_digests: list[Text]
    filing_id: JsonUuid | None = Field(
        default=None,
        description=(
            "Optional id of the product, chosen by the client (the field keeps its old name: "
            "docs/names.md): a random UUID (e.g. version 4). A name-based "
            "(version 3 or 5), nil or max UUID is 422 id_not_allowed; a used one is 409 "
            "filing_id_taken."
        ),
    )


class ReviseProduct(BaseModel):
    """The annual update: figures for a strictly newer data year; the filing is reviewed again."""

    model_config = request_examples(
        {
            "data_year": 2024,
            "figures": _FIGURES,
            "patents": [{"number": _PATENT, "relation": "owner"}],
            "proof_digests": [_DIGEST],
        }
    )

    data_year: WholeYear
    figures: FiguresBody
    patents: list[PatentBody]
    proof_digests: list[Text]
    category: Text | None = Field(
        default=None,
        description="A new category (01 to 07 or unclassified); absent or null: unchanged.",
    )
    finer_code: Text | None = Field(default=None, description="3-6 digits under the category.")


class DistinctDecision(BaseModel):
    """A reviewer's "distinct product" decision on one near-duplicate candidate of a filing."""

    model_config = request_examples(_DECISION)

    product_id: JsonUuid = Field(
        description="A candidate listed by GET /v1/products/{product_id}/screening; any other "
        "filing is 422 not_a_candidate."
    )
    reason: Text = Field(
        description="Why it is another product; signed into the approval. Not blank (422 "
        f"reason_required), at most {DECISION_REASON_MAX} characters, no control characters "
        "(422 text_invalid)."
    )


class ApproveProduct(BaseModel):
    """An approval's "distinct product" decisions; a filing without candidates needs none.

    The body is optional: no body, ``{}`` and ``{"distinct": []}`` are one request (also for
    ``Idempotency-Key``). Each open candidate needs a decision (409 candidates_open lists
    them); a candidate decided on an earlier approval of the filing stays decided.
    """

    model_config = request_examples({"distinct": [_DECISION]}, {})

    distinct: list[DistinctDecision] = Field(
        default_factory=list,
        description="One decision per candidate, each candidate at most once.",
    )

    @field_validator("distinct")
    @classmethod
    def _one_decision_per_candidate(
        cls, decisions: list[DistinctDecision]
    ) -> list[DistinctDecision]:
        seen: set[UUID] = set()
        for decision in decisions:
            if decision.product_id in seen:
                raise ValueError(f"product_id {decision.product_id} is decided twice")
            seen.add(decision.product_id)
        return decisions


class RejectProduct(BaseModel):
    """Why a filing is rejected and, if it is a near-duplicate, which filing it duplicates."""

    model_config = request_examples(
        {"reason": "proof of sales does not cover the data year"},
        {"reason": "与已备案产品为同一产品, 仅颜色不同", "duplicate_of": _CANDIDATE_ID},
    )

    reason: Text
    duplicate_of: JsonUuid | None = Field(
        default=None,
        description="The filing this one duplicates: another filing of the ledger (422 "
        "duplicate_of_invalid for the filing itself or an unknown id).",
    )

    @model_serializer(mode="wrap")
    def _absent_when_none(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave out a ``duplicate_of`` that is not given: a plain rejection hashes (for
        Idempotency-Key) as it did before the field existed, and as ``null`` does."""
        dumped: dict[str, Any] = handler(self)
        if self.duplicate_of is None:
            dumped.pop("duplicate_of", None)
        return dumped


class RaiseDispute(BaseModel):
    """An ownership dispute (权属纠纷) over some of the patents the product declares."""

    model_config = request_examples(
        {
            "patent_numbers": [_PATENT],
            "claimant": "某某大学",
            "description": "the claimant says the patent was assigned to it in 2022",
            "evidence_digests": [_DIGEST],
        }
    )

    patent_numbers: list[Text]
    claimant: Text
    description: Text
    evidence_digests: list[Text] = Field(
        default_factory=list,
        description="SHA-256 (hex) of each piece of evidence: at least one (422 "
        "evidence_required). A filer's claim blocks the filing only once a reviewer accepts it.",
    )
    dispute_id: Text | None = Field(
        default=None, description="Optional id chosen by the client (at most 64 characters)."
    )


class ResolveDispute(BaseModel):
    """How an open dispute ended."""

    model_config = request_examples(
        {"outcome": "claim_dismissed", "note": "court ruling (2024)沪73"}
    )

    outcome: Text = Field(description="claim_dismissed, claim_upheld or settled.")
    note: Text


class ProductWritten(BaseModel):
    """The filing a command created or changed, at its new version (also the ETag)."""

    model_config = request_examples({"product_id": _PRODUCT_ID, "version": 3})

    product_id: UUID
    version: int


class DisputeRaised(BaseModel):
    """The dispute's id (to resolve it later) and the filing's new version."""

    model_config = request_examples(
        {"product_id": _PRODUCT_ID, "dispute_id": "4c1e9a552d8f", "version": 4}
    )

    product_id: UUID
    dispute_id: str
    version: int


# --- conversion feedback ------------------------------------------------------------------------
class ReportConversion(BaseModel):
    """What became of one of an institution's stock patents (存量专利盘活 feedback)."""

    model_config = request_examples(
        {
            "institution_uscc": "123100004250061179",
            "patent_number": _PATENT,
            "category": "ordinary_licence",
            "counterparty": "上海示例科技有限公司",
            "occurred_on": "2024-03-15",
            "amount_fen": 50_000_000,
        }
    )

    institution_uscc: Text = Field(description="The reporting institution's USCC (its token's).")
    patent_number: Text
    category: Text = Field(
        description="assigned, equity_contribution, open_licence, ..., or the category's "
        "Chinese label (已转让, 已作价入股, ...; docs/api.md); the value is recorded"
    )
    counterparty: Text
    occurred_on: Text = Field(description="YYYY-MM-DD.")
    amount_fen: Fen | None = None


class ConversionReported(BaseModel):
    """The patent's conversion record (one per institution and patent) at its new version."""

    model_config = request_examples(
        {"record_id": "8d3a2f10-55b1-5c7e-9b0e-0f4c2a9d6e37", "version": 2}
    )

    record_id: UUID
    version: int
