"""A product's certification in one round: the decision, its explanation, and revocation.

One aggregate per (round year, product), id uuid5 of both, so a round decides each product at
most once: re-running the evaluation skips decided products, and two concurrent runs cannot
both decide one (the store's unique (id, version) lets one creation commit).

The aggregate is created by exactly one of three decision events, each carrying what explains
it without re-running code:

- ``Certified`` / ``NotCertified``: the product was eligible; the event has the inputs (the
  filing's figures and patent counts), the benchmark table id and version the round pinned,
  and per indicator its value, unit, comparison, threshold and whether it passed, combined by
  ``rule`` (domain.benchmarks.RULE_ALL_KNOWN_PASS).
- ``NotEligible``: the product was not evaluated; ``reasons`` lists every rule it failed
  (:class:`Ineligibility`, in that order), each with a sentence.

Afterwards only ``CertificationRevoked`` can happen: an objection against a certified product
was upheld (domain.objection).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

from eventsourcing.domain import event

from domain.base import LedgerAggregate, derived_id
from domain.benchmarks import RULE_ALL_KNOWN_PASS, Assessment, meets_benchmarks
from domain.certification_round import CertificationRound
from domain.errors import ProductNotCertifiedError
from domain.values import UNCLASSIFIED

CERTIFICATION_NAMESPACE: Final = UUID("c7e92a05-4b1d-5f83-a6c0-2d8f1e3b7a49")


def certification_id_for(round_year: int, product_id: UUID | str) -> UUID:
    return derived_id(CERTIFICATION_NAMESPACE, round_year, product_id)


class CertificationStatus(StrEnum):
    CERTIFIED = "certified"
    NOT_CERTIFIED = "not_certified"
    NOT_ELIGIBLE = "not_eligible"
    REVOKED = "revoked"  # was certified; an objection was upheld


class Ineligibility(StrEnum):
    """Why a filing is not evaluated in a round; a ``NotEligible`` lists all that apply."""

    NOT_APPROVED = "not_approved"  # pending review or rejected at evaluation
    APPROVED_AFTER_REVIEW_DEADLINE = "approved_after_review_deadline"
    SUBMITTED_AFTER_FILING_DEADLINE = "submitted_after_filing_deadline"
    DATA_YEAR_OUTDATED = "data_year_outdated"  # must be revised to the round's data year
    DATA_YEAR_NEWER = "data_year_newer"
    UPDATED_AFTER_WINDOW = "updated_after_window"  # revised after the annual update window
    OWNERSHIP_DISPUTE_OPEN = "ownership_dispute_open"
    NOT_OPTED_IN = "not_opted_in"  # the round requires an opt-in
    # Annex rule v1 (audit.offline.annex_rule): states only events under v1 can create, so the
    # decisions recorded before never had them to list.
    UNCLASSIFIED = "unclassified"  # no industry category: no benchmarks apply
    NO_VALID_PATENT = "no_valid_patent"  # every patent lost to an upheld ownership claim


# --- what eligibility reads of a filing --------------------------------------------------------
_SUBMISSIONS: Final = frozenset({"ProductFiled", "ProductRevised"})
_APPROVAL: Final = "FilingApproved"
_REJECTION: Final = "FilingRejected"


@dataclass(frozen=True, slots=True)
class ProductFacts:
    """A filing at one version, as eligibility sees it.

    ``submitted_at`` is when its current data were submitted (filed, or the last revision;
    ``revised`` tells which); ``approved_at`` when those data were approved, ``None`` if they
    are not (yet, or were rejected).
    """

    status: str
    data_year: int
    open_dispute: bool
    submitted_at: datetime
    revised: bool
    approved_at: datetime | None
    category: str = "01"
    valid_patents: int = 1

    @classmethod
    def of_history(cls, product: Any, events: Iterable[Any]) -> ProductFacts:
        """From a ``Product`` and the events it was rebuilt from (their class names, times)."""
        submitted_at: datetime | None = None
        revised = False
        approved_at: datetime | None = None
        for stored in events:
            name = type(stored).__name__
            if name in _SUBMISSIONS:
                submitted_at, revised, approved_at = stored.timestamp, name != "ProductFiled", None
            elif name == _APPROVAL:
                approved_at = stored.timestamp
            elif name == _REJECTION:
                approved_at = None
        if submitted_at is None:
            raise ValueError(f"product {product.id}: its history has no ProductFiled")
        return cls(
            status=product.status.value,
            data_year=product.data_year,
            open_dispute=bool(product.blocking_disputes),
            submitted_at=submitted_at,
            revised=revised,
            approved_at=approved_at,
            category=product.category,
            valid_patents=len(product.valid_patents),
        )


def ineligibility(
    facts: ProductFacts, round_: CertificationRound, *, opted_in: bool
) -> list[dict[str, str]]:
    """Every eligibility rule ``facts`` fail in ``round_``, in :class:`Ineligibility` order.

    Empty: the product is evaluated. Each entry is ``{"reason": code, "detail": sentence}``.
    """
    found: list[dict[str, str]] = []

    def fail(reason: Ineligibility, detail: str) -> None:
        found.append({"reason": reason.value, "detail": detail})

    if facts.status != "approved":
        fail(Ineligibility.NOT_APPROVED, f"the filing is {facts.status}")
    elif facts.approved_at is None or facts.approved_at >= round_.review_closes_at:
        fail(
            Ineligibility.APPROVED_AFTER_REVIEW_DEADLINE,
            f"approved at {facts.approved_at}, after the review deadline {round_.review_deadline}",
        )
    if facts.submitted_at >= round_.filing_closes_at:
        fail(
            Ineligibility.SUBMITTED_AFTER_FILING_DEADLINE,
            f"submitted at {facts.submitted_at}, after the filing deadline "
            f"{round_.filing_deadline}",
        )
    if facts.data_year < round_.data_year:
        fail(
            Ineligibility.DATA_YEAR_OUTDATED,
            f"data year {facts.data_year}: revise it to {round_.data_year} and have it approved",
        )
    elif facts.data_year > round_.data_year:
        fail(
            Ineligibility.DATA_YEAR_NEWER,
            f"data year {facts.data_year}: the round evaluates {round_.data_year}",
        )
    elif facts.revised and facts.submitted_at >= round_.update_closes_at:
        fail(
            Ineligibility.UPDATED_AFTER_WINDOW,
            f"updated to {round_.data_year} at {facts.submitted_at}, after the update window "
            f"ended {round_.update_window_end}",
        )
    if facts.open_dispute:
        fail(Ineligibility.OWNERSHIP_DISPUTE_OPEN, "an ownership dispute is open")
    if round_.opt_in_required and not opted_in:
        fail(Ineligibility.NOT_OPTED_IN, f"round {round_.year} requires an opt-in")
    if facts.category == UNCLASSIFIED:
        fail(Ineligibility.UNCLASSIFIED, "the filing names no industry category to benchmark")
    if facts.valid_patents == 0:
        fail(
            Ineligibility.NO_VALID_PATENT,
            "every declared patent was lost to an upheld ownership claim",
        )
    return found


# --- the decision events -----------------------------------------------------------------------
class _Decision(LedgerAggregate.Created):
    """Fields every decision carries (a base, never stored itself)."""

    round_year: int
    data_year: int  # the round's
    product_id: str
    product_version: int  # the version of the filing the decision read
    filer_uscc: str
    region_code: str  # the filer's (GB/T 2260): districts in the reports
    category: str  # the filing's industry category: which benchmarks apply
    actor: dict[str, Any]


class _Evaluated(_Decision):
    benchmark_table_id: str
    benchmark_version: int
    inputs: dict[str, int | None]
    indicators: list[dict[str, Any]]
    rule: str

    def apply(self, aggregate: Any) -> None:
        aggregate.benchmark_version = self.benchmark_version
        aggregate.indicators = [dict(i) for i in self.indicators]


class ProductCertification(LedgerAggregate):
    """The decision on one product in one round, and its revocation if any."""

    class Certified(_Evaluated):
        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.status = CertificationStatus.CERTIFIED

    class NotCertified(_Evaluated):
        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.status = CertificationStatus.NOT_CERTIFIED

    class NotEligible(_Decision):
        product_status: str
        product_data_year: int
        reasons: list[dict[str, str]]

        def apply(self, aggregate: Any) -> None:
            aggregate.status = CertificationStatus.NOT_ELIGIBLE
            aggregate.reasons = [dict(r) for r in self.reasons]

    def __init__(
        self,
        round_year: int,
        data_year: int,
        product_id: str,
        product_version: int,
        filer_uscc: str,
        region_code: str,
        category: str,
        actor: dict[str, Any],
    ) -> None:
        self.round_year = round_year
        self.data_year = data_year
        self.product_id = UUID(product_id)
        self.product_version = product_version
        self.filer_uscc = filer_uscc
        self.region_code = region_code
        self.category = category
        self.status = CertificationStatus.NOT_ELIGIBLE  # set by the creation event's apply
        self.benchmark_version: int | None = None
        self.indicators: list[dict[str, Any]] = []
        self.reasons: list[dict[str, str]] = []
        self.revoked_by: str | None = None  # the upheld objection
        self.revocation_reason: str | None = None

    def revoke(self, objection_id: str, reason: str, actor: dict[str, Any]) -> None:
        """Revoke a certification after upholding objection ``objection_id``."""
        if self.status is not CertificationStatus.CERTIFIED:
            raise ProductNotCertifiedError(
                f"product {self.product_id} is {self.status.value} in round {self.round_year}",
                product_id=str(self.product_id),
                status=self.status.value,
            )
        self._revoked(objection_id=objection_id, reason=reason, actor=actor)

    @event("CertificationRevoked")
    def _revoked(self, objection_id: str, reason: str, actor: dict[str, Any]) -> None:
        self.status = CertificationStatus.REVOKED
        self.revoked_by = objection_id
        self.revocation_reason = reason


@dataclass(frozen=True, slots=True)
class Subject:
    """The product a decision is about, as the decision records it."""

    round_year: int
    data_year: int
    product_id: UUID
    product_version: int
    filer_uscc: str
    region_code: str
    category: str

    def fields(self) -> dict[str, Any]:
        return {
            "round_year": self.round_year,
            "data_year": self.data_year,
            "product_id": str(self.product_id),
            "product_version": self.product_version,
            "filer_uscc": self.filer_uscc,
            "region_code": self.region_code,
            "category": self.category,
        }


def decide_evaluated(
    subject: Subject,
    *,
    benchmark_table_id: UUID,
    benchmark_version: int,
    inputs: dict[str, int | None],
    assessments: Sequence[Assessment],
    actor: dict[str, Any],
) -> ProductCertification:
    """``Certified`` or ``NotCertified``, by :data:`RULE_ALL_KNOWN_PASS`."""
    event_class = (
        ProductCertification.Certified
        if meets_benchmarks(assessments)
        else ProductCertification.NotCertified
    )
    return ProductCertification._create(
        event_class,
        id=certification_id_for(subject.round_year, subject.product_id),
        **subject.fields(),
        benchmark_table_id=str(benchmark_table_id),
        benchmark_version=benchmark_version,
        inputs=inputs,
        indicators=[a.as_record() for a in assessments],
        rule=RULE_ALL_KNOWN_PASS,
        actor=actor,
    )


def decide_not_eligible(
    subject: Subject,
    *,
    product_status: str,
    product_data_year: int,
    reasons: list[dict[str, str]],
    actor: dict[str, Any],
) -> ProductCertification:
    return ProductCertification._create(
        ProductCertification.NotEligible,
        id=certification_id_for(subject.round_year, subject.product_id),
        **subject.fields(),
        product_status=product_status,
        product_data_year=product_data_year,
        reasons=reasons,
        actor=actor,
    )


DECISION_EVENT_NAMES: Final = ("Certified", "NotCertified", "NotEligible")
