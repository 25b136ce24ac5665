"""Filer (备案主体): an independent legal entity that may file patent products once approved."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.base import LedgerAggregate
from domain.errors import (
    FilerAlreadyVerifiedError,
    FilerNotApprovedError,
    FilerNotPendingReviewError,
    FilerNotVerifiedError,
    ReasonRequiredError,
)

FILER_NAMESPACE = UUID("0d8e3b8c-4a51-5f0e-9a43-3c1f6e2b7d90")


def filer_id_for(uscc: str) -> UUID:
    """Deterministic id: one filer per USCC, enforced by the store's unique (id, version)."""
    return uuid5(FILER_NAMESPACE, uscc)


class FilerStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class Filer(LedgerAggregate):
    """Registration, real-name verification and the platform's review of a filer."""

    @staticmethod
    def create_id(uscc: str, **_: Any) -> UUID:
        return filer_id_for(uscc)

    @event("FilerRegistered")
    def __init__(
        self,
        uscc: str,
        name: str,
        kind: str,
        region_code: str,
        contact: dict[str, str],
        proof_digests: list[str],
        pledge_digest: str,
        actor: dict[str, Any],
    ) -> None:
        self.uscc = uscc
        self.name = name
        self.kind = kind
        self.region_code = region_code
        self.contact = contact
        self.proof_digests = list(proof_digests)
        self.pledge_digest = pledge_digest
        self.status = FilerStatus.PENDING_REVIEW
        self.real_name_verified = False
        self.rejection_reason: str | None = None

    # --- real-name verification -------------------------------------------------------------
    def check_can_verify(self) -> None:
        if self.real_name_verified:
            raise FilerAlreadyVerifiedError(f"filer {self.uscc} is already verified")

    def verify_real_name(self, reference: str, actor: dict[str, Any]) -> None:
        self.check_can_verify()
        self._real_name_verified(reference=reference, actor=actor)

    @event("FilerRealNameVerified")
    def _real_name_verified(self, reference: str, actor: dict[str, Any]) -> None:
        self.real_name_verified = True

    # --- review ------------------------------------------------------------------------------
    def check_pending_review(self) -> None:
        if self.status is not FilerStatus.PENDING_REVIEW:
            raise FilerNotPendingReviewError(
                f"filer {self.uscc} is {self.status.value}: want pending_review",
                status=self.status.value,
            )

    def approve(self, actor: dict[str, Any]) -> None:
        self.check_pending_review()
        if not self.real_name_verified:
            raise FilerNotVerifiedError(f"filer {self.uscc} has not passed real-name verification")
        self._approved(actor=actor)

    @event("FilerApproved")
    def _approved(self, actor: dict[str, Any]) -> None:
        self.status = FilerStatus.APPROVED
        self.rejection_reason = None

    def reject(self, reason: str, actor: dict[str, Any]) -> None:
        self.check_pending_review()
        if not reason:
            raise ReasonRequiredError("a rejection needs a reason")
        self._rejected(reason=reason, actor=actor)

    @event("FilerRejected")
    def _rejected(self, reason: str, actor: dict[str, Any]) -> None:
        self.status = FilerStatus.REJECTED
        self.rejection_reason = reason

    def resubmit(self, proof_digests: list[str], pledge_digest: str, actor: dict[str, Any]) -> None:
        """A rejected filer sends new proof materials and goes back to review."""
        if self.status is not FilerStatus.REJECTED:
            raise FilerNotPendingReviewError(
                f"filer {self.uscc} is {self.status.value}: only a rejected filer resubmits",
                status=self.status.value,
            )
        self._resubmitted(proof_digests=proof_digests, pledge_digest=pledge_digest, actor=actor)

    @event("FilerResubmitted")
    def _resubmitted(
        self, proof_digests: list[str], pledge_digest: str, actor: dict[str, Any]
    ) -> None:
        self.proof_digests = list(proof_digests)
        self.pledge_digest = pledge_digest
        self.status = FilerStatus.PENDING_REVIEW

    # --- rules used by other aggregates -------------------------------------------------------
    def check_may_file(self) -> None:
        """Only approved filers may file products."""
        if self.status is not FilerStatus.APPROVED:
            raise FilerNotApprovedError(
                f"filer {self.uscc} is {self.status.value}: only approved filers may file",
                filer_id=str(self.id),
                status=self.status.value,
            )
