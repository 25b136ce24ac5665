"""Patent product (专利产品, as filed: 备案产品): one model or variety of a product, filed once.

Lifecycle: filed (pending review) → approved / rejected → revised to a newer data year
(back to pending review) → withdrawn. Ownership disputes are raised and resolved on the
product; while one is open the product cannot be approved and is not eligible for certification.
The record is called "product" everywhere; "filing" names the act (docs/names.md).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import LedgerAggregate
from domain.errors import (
    CandidatesOpenError,
    DataYearNotNewerError,
    DisputeAlreadyOpenError,
    DisputeLimitError,
    DisputeNotFoundError,
    DisputeNotPendingError,
    DisputeOpenError,
    EvidenceRequiredError,
    FilingNumberNotAllowedError,
    NotACandidateError,
    NoValidPatentLeftError,
    ProductNotPendingReviewError,
    ProductWithdrawnError,
    ReasonRequiredError,
    RevisionNotAllowedError,
)
from domain.values import AnnexRule, DisputeRule, ScreeningRule, accepted_on_raising


class ProductStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class DisputeOutcome(StrEnum):
    CLAIM_DISMISSED = "claim_dismissed"
    CLAIM_UPHELD = "claim_upheld"
    SETTLED = "settled"


class Product(LedgerAggregate):
    """A filed patent product and its review, revision, dispute and withdrawal history."""

    class ProductFiled(LedgerAggregate.Created):
        """The filing, as filed. Version 2 added the near-duplicate screening at filing:
        ``screening_rule`` and the ``candidates`` found then ([{product_id, reasons}]); a
        version-1 event was recorded before screening (rule 0, none recorded)."""

        class_version = 3
        filer_id: str
        filer_uscc: str
        name: str
        model: str
        variants: list[str]
        category: str
        finer_code: str | None
        patents: list[dict[str, Any]]
        data_year: int
        figures: dict[str, int]
        proof_digests: list[str]
        canonical_key: str
        actor: dict[str, Any]
        screening_rule: int
        candidates: list[dict[str, Any]]
        annex_rule: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["screening_rule"] = int(ScreeningRule.NONE)
            state["candidates"] = []

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Version 3 added ``annex_rule`` (audit.offline.annex_rule); before it: rule 0."""
            state["annex_rule"] = int(AnnexRule.NONE)

    class FilingApproved(LedgerAggregate.Event):
        """An approval. Version 2 added ``screening_rule`` and ``distinct``: the reviewer's
        "distinct product" decisions ([{product_id, reason}]) on the filing's open candidates."""

        class_version = 2
        actor: dict[str, Any]
        screening_rule: int
        distinct: list[dict[str, str]]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["screening_rule"] = int(ScreeningRule.NONE)
            state["distinct"] = []

        def mutate(self, aggregate: Any) -> Any:
            """Also keep when the product was first approved: its filing number's year is
            that instant's (docs/filing-numbers.md), and a decorated method does not see its
            event's timestamp."""
            mutated: Any = super().mutate(aggregate)
            if mutated.first_approved_at is None:
                mutated.first_approved_at = self.timestamp
            return mutated

    class FilingNumberAssigned(LedgerAggregate.Event):
        """The product's filing number (filing number rule v1), issued by the series of its
        first approval's year and region in the same save (domain.filing_number). Recorded
        with the first approval under the rule, or by the migration for a product approved
        before it; never changed afterwards."""

        filing_number: str
        filing_number_rule: int
        actor: dict[str, Any]

    class FilingRejected(LedgerAggregate.Event):
        """A rejection. Version 2 added ``duplicate_of``: the filing this one duplicates, when
        the reviewer rejects it as a duplicate (else ``None``)."""

        class_version = 2
        reason: str
        actor: dict[str, Any]
        duplicate_of: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["duplicate_of"] = None

    class ProductRevised(LedgerAggregate.Event):
        """An annual revision. Version 2 added ``annex_rule`` and the classification it may
        carry: ``category`` and ``finer_code`` (null category: unchanged)."""

        class_version = 2
        data_year: int
        figures: dict[str, int]
        patents: list[dict[str, Any]]
        proof_digests: list[str]
        actor: dict[str, Any]
        annex_rule: int
        category: str | None
        finer_code: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["annex_rule"] = int(AnnexRule.NONE)
            state["category"] = None
            state["finer_code"] = None

    class OwnershipDisputeRaised(LedgerAggregate.Event):
        """A dispute over some of the filing's patents. Version 2 added ``dispute_rule``,
        ``evidence_digests`` and ``accepted`` (audit.offline.dispute_rule): under rule v1 a claim
        blocks only once accepted; a version-1 event is rule 0 and blocked at once."""

        class_version = 2
        dispute_id: str
        patent_numbers: list[str]
        claimant: str
        description: str
        actor: dict[str, Any]
        dispute_rule: int
        evidence_digests: list[str]
        accepted: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["dispute_rule"] = int(DisputeRule.NONE)
            state["evidence_digests"] = []
            state["accepted"] = True

    class OwnershipDisputeResolved(LedgerAggregate.Event):
        """A dispute's resolution. Version 2 added ``annex_rule`` and what an upheld claim
        does under annex rule v1: ``removed_patents`` (the claimed patents that leave the
        filing's valid patents) and ``returned_to_review`` (an approved filing left with no
        valid patent goes back to review)."""

        class_version = 2
        dispute_id: str
        outcome: str
        note: str
        actor: dict[str, Any]
        annex_rule: int
        removed_patents: list[str]
        returned_to_review: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["annex_rule"] = int(AnnexRule.NONE)
            state["removed_patents"] = []
            state["returned_to_review"] = False

    @event(ProductFiled)
    def __init__(
        self,
        filer_id: str,
        filer_uscc: str,
        name: str,
        model: str,
        variants: list[str],
        category: str,
        finer_code: str | None,
        patents: list[dict[str, Any]],
        data_year: int,
        figures: dict[str, int],
        proof_digests: list[str],
        canonical_key: str,
        actor: dict[str, Any],
        screening_rule: int = int(ScreeningRule.NONE),
        candidates: list[dict[str, Any]] | None = None,
        annex_rule: int = int(AnnexRule.NONE),
    ) -> None:
        self.filer_id = UUID(filer_id)
        self.filer_uscc = filer_uscc
        self.name = name
        self.model = model
        self.variants = list(variants)
        self.category = category
        self.finer_code = finer_code
        self.patents = [dict(patent) for patent in patents]
        self.data_year = data_year
        self.figures = dict(figures)
        self.proof_digests = list(proof_digests)
        self.canonical_key = canonical_key
        self.status = ProductStatus.PENDING_REVIEW
        self.rejection_reason: str | None = None
        self.withdrawal_reason: str | None = None
        self.open_disputes: dict[str, dict[str, Any]] = {}
        self.resolved_disputes: dict[str, dict[str, Any]] = {}
        self.screening_candidates = [dict(c) for c in candidates or ()]
        self.distinct_from: dict[str, str] = {}  # candidate id -> the reviewer's reason
        self.duplicate_of: str | None = None
        self.removed_patents: set[str] = set()  # lost to upheld ownership claims (annex v1)
        self.first_approved_at: datetime | None = None  # set by FilingApproved.mutate
        self.filing_number: str | None = None

    # --- guards -----------------------------------------------------------------------------
    def check_not_withdrawn(self) -> None:
        if self.status is ProductStatus.WITHDRAWN:
            raise ProductWithdrawnError(f"product {self.id} was withdrawn", product_id=str(self.id))

    def check_pending_review(self) -> None:
        self.check_not_withdrawn()
        if self.status is not ProductStatus.PENDING_REVIEW:
            raise ProductNotPendingReviewError(
                f"product {self.id} is {self.status.value}: want pending_review",
                status=self.status.value,
            )

    @property
    def has_open_dispute(self) -> bool:
        return bool(self.open_disputes)

    @property
    def blocking_disputes(self) -> list[str]:
        """The open disputes that block approval and certification: the accepted ones
        (every dispute recorded before dispute rule v1 is)."""
        return sorted(d for d, dispute in self.open_disputes.items() if dispute["accepted"])

    @property
    def valid_patents(self) -> list[dict[str, Any]]:
        """The declared patents not lost to an upheld ownership claim (annex rule v1)."""
        return [p for p in self.patents if p["number"] not in self.removed_patents]

    def check_has_valid_patent(self) -> None:
        if not self.valid_patents:
            raise NoValidPatentLeftError(
                f"product {self.id}: every declared patent was lost to an upheld ownership "
                "claim; revise it with a valid patent or withdraw it",
                removed_patents=sorted(self.removed_patents),
            )

    # --- review -----------------------------------------------------------------------------
    def approve(
        self,
        actor: dict[str, Any],
        *,
        screening_rule: ScreeningRule,
        candidates: dict[str, tuple[str, ...]],
        distinct: dict[str, str],
    ) -> None:
        """Approve, with a "distinct product" decision per candidate not decided before.

        ``candidates`` is C(F) under ``screening_rule`` (computed by the application from the
        log); ``distinct`` maps candidate ids to the reviewer's reasons. A decision recorded on
        an earlier approval of this filing stands: a candidate is decided once.
        """
        self.check_pending_review()
        self.check_has_valid_patent()
        if self.blocking_disputes:
            raise DisputeOpenError(
                f"product {self.id} has an open ownership dispute",
                disputes=self.blocking_disputes,
            )
        for candidate_id, reason in distinct.items():
            if candidate_id not in candidates:
                raise NotACandidateError(
                    f"product {candidate_id} is not a near-duplicate candidate of {self.id}",
                    product_id=candidate_id,
                    candidates=sorted(candidates),
                )
            if not reason.strip():
                raise ReasonRequiredError(
                    f"the distinct-product decision on {candidate_id} needs a reason",
                    product_id=candidate_id,
                )
        still_open = [
            {"product_id": candidate_id, "reasons": list(reasons)}
            for candidate_id, reasons in sorted(candidates.items())
            if candidate_id not in self.distinct_from and candidate_id not in distinct
        ]
        if still_open:
            raise CandidatesOpenError(
                f"product {self.id} has {len(still_open)} near-duplicate candidate(s) with no "
                "decision: record each as a distinct product with a reason, or reject the "
                "filing as a duplicate",
                candidates=still_open,
            )
        self._approved(
            actor=actor,
            screening_rule=int(screening_rule),
            distinct=[
                {"product_id": candidate_id, "reason": distinct[candidate_id]}
                for candidate_id in sorted(distinct)
            ],
        )

    @event(FilingApproved)
    def _approved(
        self, actor: dict[str, Any], screening_rule: int, distinct: list[dict[str, str]]
    ) -> None:
        self.status = ProductStatus.APPROVED
        self.rejection_reason = None
        for decision in distinct:
            self.distinct_from[decision["product_id"]] = decision["reason"]

    def reject(
        self, reason: str, actor: dict[str, Any], *, duplicate_of: str | None = None
    ) -> None:
        self.check_pending_review()
        self.check_reason(reason, "a rejection")
        self._rejected(reason=reason, actor=actor, duplicate_of=duplicate_of)

    def assign_filing_number(self, filing_number: str, rule: int, actor: dict[str, Any]) -> None:
        """Record the product's filing number: once, on an approved product not withdrawn.

        Raises:
            ProductWithdrawnError: the product was withdrawn.
            FilingNumberNotAllowedError: it was never approved, or has its number already.
        """
        self.check_not_withdrawn()
        if self.first_approved_at is None:
            raise FilingNumberNotAllowedError(
                f"product {self.id} was never approved: only an approved product is numbered",
                product_id=str(self.id),
            )
        if self.filing_number is not None:
            raise FilingNumberNotAllowedError(
                f"product {self.id} has filing number {self.filing_number} already",
                product_id=str(self.id),
                filing_number=self.filing_number,
            )
        self._numbered(filing_number=filing_number, filing_number_rule=rule, actor=actor)

    @event(FilingNumberAssigned)
    def _numbered(self, filing_number: str, filing_number_rule: int, actor: dict[str, Any]) -> None:
        self.filing_number = filing_number

    @event(FilingRejected)
    def _rejected(self, reason: str, actor: dict[str, Any], duplicate_of: str | None) -> None:
        self.status = ProductStatus.REJECTED
        self.rejection_reason = reason
        self.duplicate_of = duplicate_of

    # --- annual revision ----------------------------------------------------------------------
    def revise(
        self,
        data_year: int,
        figures: dict[str, int],
        patents: list[dict[str, Any]],
        proof_digests: list[str],
        actor: dict[str, Any],
        *,
        annex_rule: AnnexRule = AnnexRule.NONE,
        category: tuple[str, str | None] | None = None,
    ) -> None:
        """Move the filing to a strictly newer data year; it goes back to review.

        ``category``: (category, finer code) replacing the filing's (annex rule v1), or
        ``None`` to keep it. Patents lost to an upheld claim stay lost: a revision needs a
        valid patent besides them.
        """
        self.check_not_withdrawn()
        if self.status is ProductStatus.PENDING_REVIEW:
            raise RevisionNotAllowedError(
                f"product {self.id} is pending review: revise it after the review decision"
            )
        if data_year <= self.data_year:
            raise DataYearNotNewerError(
                f"data year {data_year}: want a year after {self.data_year}",
                current_data_year=self.data_year,
            )
        if not [p for p in patents if p["number"] not in self.removed_patents]:
            raise NoValidPatentLeftError(
                f"product {self.id}: the revision declares only patents lost to upheld "
                "ownership claims",
                removed_patents=sorted(self.removed_patents),
            )
        self._revised(
            data_year=data_year,
            figures=figures,
            patents=patents,
            proof_digests=proof_digests,
            actor=actor,
            annex_rule=int(annex_rule),
            category=None if category is None else category[0],
            finer_code=None if category is None else category[1],
        )

    @event(ProductRevised)
    def _revised(
        self,
        data_year: int,
        figures: dict[str, int],
        patents: list[dict[str, Any]],
        proof_digests: list[str],
        actor: dict[str, Any],
        annex_rule: int,
        category: str | None,
        finer_code: str | None,
    ) -> None:
        if category is not None:
            self.category = category
            self.finer_code = finer_code
        self.data_year = data_year
        self.figures = dict(figures)
        self.patents = [dict(patent) for patent in patents]
        self.proof_digests = list(proof_digests)
        self.status = ProductStatus.PENDING_REVIEW
        self.rejection_reason = None

    # --- withdrawal -------------------------------------------------------------------------
    def withdraw(self, reason: str, actor: dict[str, Any]) -> None:
        self.check_not_withdrawn()
        self.check_reason(reason, "a withdrawal")
        self._withdrawn(reason=reason, actor=actor)

    @event("ProductWithdrawn")
    def _withdrawn(self, reason: str, actor: dict[str, Any]) -> None:
        self.status = ProductStatus.WITHDRAWN
        self.withdrawal_reason = reason

    # --- ownership disputes (权属纠纷) ----------------------------------------------------------
    def raise_dispute(
        self,
        dispute_id: str,
        patent_numbers: list[str],
        claimant: str,
        description: str,
        actor: dict[str, Any],
        *,
        dispute_rule: DisputeRule = DisputeRule.NONE,
        evidence_digests: list[str] | None = None,
    ) -> None:
        self.check_not_withdrawn()
        evidence = list(evidence_digests or ())
        if dispute_rule is not DisputeRule.NONE:
            if not evidence:
                raise EvidenceRequiredError(
                    "an ownership dispute needs the digest of its evidence", field="evidence"
                )
            scope = actor.get("scope")
            if actor.get("role") == "filer":
                for open_id, dispute in self.open_disputes.items():
                    if dispute.get("claimant_scope") == scope:
                        raise DisputeLimitError(
                            f"filer {scope} already has open dispute {open_id} on {self.id}",
                            dispute_id=open_id,
                        )
        if dispute_id in self.open_disputes or dispute_id in self.resolved_disputes:
            raise DisputeAlreadyOpenError(f"dispute {dispute_id} already exists on {self.id}")
        for patent_number in patent_numbers:
            for open_id, dispute in self.open_disputes.items():
                if patent_number in dispute["patent_numbers"]:
                    raise DisputeAlreadyOpenError(
                        f"patent {patent_number} already has open dispute {open_id}",
                        dispute_id=open_id,
                    )
        self._dispute_raised(
            dispute_id=dispute_id,
            patent_numbers=patent_numbers,
            claimant=claimant,
            description=description,
            actor=actor,
            dispute_rule=int(dispute_rule),
            evidence_digests=evidence,
            accepted=accepted_on_raising(int(dispute_rule), str(actor.get("role"))),
        )

    @event(OwnershipDisputeRaised)
    def _dispute_raised(
        self,
        dispute_id: str,
        patent_numbers: list[str],
        claimant: str,
        description: str,
        actor: dict[str, Any],
        dispute_rule: int,
        evidence_digests: list[str],
        accepted: bool,
    ) -> None:
        self.open_disputes[dispute_id] = {
            "patent_numbers": list(patent_numbers),
            "claimant": claimant,
            "description": description,
            "accepted": accepted,
            "claimant_scope": actor.get("scope") if actor.get("role") == "filer" else None,
        }

    def accept_dispute(self, dispute_id: str, actor: dict[str, Any]) -> None:
        """A reviewer accepts a claim for examination: from now on it blocks (rule v1)."""
        dispute = self.open_disputes.get(dispute_id)
        if dispute is None or dispute["accepted"]:
            raise DisputeNotPendingError(
                f"dispute {dispute_id} on {self.id} is not an open claim awaiting acceptance",
                dispute_id=dispute_id,
            )
        self._dispute_accepted(dispute_id=dispute_id, actor=actor)

    @event("OwnershipDisputeAccepted")
    def _dispute_accepted(self, dispute_id: str, actor: dict[str, Any]) -> None:
        self.open_disputes[dispute_id]["accepted"] = True

    def resolve_dispute(
        self,
        dispute_id: str,
        outcome: str,
        note: str,
        actor: dict[str, Any],
        *,
        annex_rule: AnnexRule = AnnexRule.NONE,
    ) -> None:
        """Resolve an open dispute. Under annex rule v1 an upheld claim removes the claimed
        patents from the valid ones, and an approved filing left with none returns to review."""
        if dispute_id not in self.open_disputes:
            raise DisputeNotFoundError(f"no open dispute {dispute_id} on product {self.id}")
        removed: list[str] = []
        returned = False
        if annex_rule is not AnnexRule.NONE and outcome == DisputeOutcome.CLAIM_UPHELD:
            valid = {p["number"] for p in self.valid_patents}
            removed = sorted(valid & set(self.open_disputes[dispute_id]["patent_numbers"]))
            returned = self.status is ProductStatus.APPROVED and not valid - set(removed)
        self._dispute_resolved(
            dispute_id=dispute_id,
            outcome=outcome,
            note=note,
            actor=actor,
            annex_rule=int(annex_rule),
            removed_patents=removed,
            returned_to_review=returned,
        )

    @event(OwnershipDisputeResolved)
    def _dispute_resolved(
        self,
        dispute_id: str,
        outcome: str,
        note: str,
        actor: dict[str, Any],
        annex_rule: int,
        removed_patents: list[str],
        returned_to_review: bool,
    ) -> None:
        dispute = self.open_disputes.pop(dispute_id)
        self.resolved_disputes[dispute_id] = {**dispute, "outcome": outcome, "note": note}
        self.removed_patents.update(removed_patents)
        if returned_to_review:
            self.status = ProductStatus.PENDING_REVIEW


def new_product(product_id: UUID, **fields: Any) -> Product:
    """Create a product under a given id (client-chosen or deterministic for sample data).

    Without screening or annex fields the product is recorded as before them (rule 0, no
    candidates): ``file_product`` always gives them; tests and benches that build raw
    products need not.
    """
    fields.setdefault("screening_rule", int(ScreeningRule.NONE))
    fields.setdefault("candidates", [])
    fields.setdefault("annex_rule", int(AnnexRule.NONE))
    return Product._create(Product.ProductFiled, id=product_id, **fields)
