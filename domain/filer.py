"""Filer (备案主体): an independent legal entity that may file patent products once approved."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import LedgerAggregate, derived_id
from domain.errors import (
    FilerAlreadyVerifiedError,
    FilerNotApprovedError,
    FilerNotPendingReviewError,
    FilerNotVerifiedError,
    KindUsccMismatchError,
    RegionMoveNotNeededError,
    RegionUsccMismatchError,
)
from domain.values import AnnexRule, kind_misfit, region_misfit, uscc_region

FILER_NAMESPACE = UUID("0d8e3b8c-4a51-5f0e-9a43-3c1f6e2b7d90")


def filer_id_for(uscc: str) -> UUID:
    """Deterministic id: one filer per USCC, enforced by the store's unique (id, version)."""
    return derived_id(FILER_NAMESPACE, uscc)


def check_kind(kind: str, uscc: str) -> None:
    """Annex rule v1: the kind fits the USCC's organisation type (audit.offline.annex_rule)."""
    misfit = kind_misfit(kind, uscc)
    if misfit is not None:
        raise KindUsccMismatchError(
            f"filer {uscc}: {misfit}", field="kind", kind=kind, organisation_type=uscc[:2]
        )


@dataclass(frozen=True, slots=True)
class FilerCorrections:
    """What a resubmission corrects (annex rule v1); ``None``: unchanged."""

    name: str | None = None
    kind: str | None = None
    region_code: str | None = None
    contact: dict[str, str] | None = None


class FilerStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class Filer(LedgerAggregate):
    """Registration, real-name verification and the platform's review of a filer."""

    class FilerRegistered(LedgerAggregate.Created):
        """A registration. Version 2 added ``annex_rule``: under annex rule v1 the kind fits
        the USCC's organisation type (audit.offline.annex_rule); a version-1 event is rule 0."""

        class_version = 2
        uscc: str
        name: str
        kind: str
        region_code: str
        contact: dict[str, str]
        proof_digests: list[str]
        pledge_digest: str
        actor: dict[str, Any]
        annex_rule: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["annex_rule"] = int(AnnexRule.NONE)

    class FilerApproved(LedgerAggregate.Event):
        """An approval. Version 2 added ``annex_rule``: under v1 the filer's region is its
        USCC's, or a reviewer confirmed the move first."""

        class_version = 2
        actor: dict[str, Any]
        annex_rule: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["annex_rule"] = int(AnnexRule.NONE)

    class FilerResubmitted(LedgerAggregate.Event):
        """A resubmission. Version 2 added ``annex_rule`` and the corrections it may carry
        (``name``, ``kind``, ``region_code``, ``contact``; null: unchanged)."""

        class_version = 2
        proof_digests: list[str]
        pledge_digest: str
        actor: dict[str, Any]
        annex_rule: int
        name: str | None
        kind: str | None
        region_code: str | None
        contact: dict[str, str] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["annex_rule"] = int(AnnexRule.NONE)
            state.update(name=None, kind=None, region_code=None, contact=None)

    @staticmethod
    def create_id(uscc: str, **_: Any) -> UUID:
        return filer_id_for(uscc)

    @event(FilerRegistered)
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
        annex_rule: int = int(AnnexRule.NONE),
    ) -> None:
        self.confirmed_region: str | None = None  # a move a reviewer confirmed (annex v1)
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

    def region_misfit(self) -> str | None:
        """Why the filer's region is not its USCC's; ``None`` if it is or a move was confirmed."""
        if self.confirmed_region == self.region_code:
            return None
        return region_misfit(self.region_code, self.uscc)

    def approve(self, actor: dict[str, Any], *, annex_rule: AnnexRule) -> None:
        self.check_pending_review()
        if not self.real_name_verified:
            raise FilerNotVerifiedError(f"filer {self.uscc} has not passed real-name verification")
        if annex_rule is not AnnexRule.NONE:
            misfit = self.region_misfit()
            if misfit is not None:
                raise RegionUsccMismatchError(
                    f"filer {self.uscc}: {misfit}",
                    region_code=self.region_code,
                    uscc_region=uscc_region(self.uscc),
                )
        self._approved(actor=actor, annex_rule=int(annex_rule))

    @event(FilerApproved)
    def _approved(self, actor: dict[str, Any], annex_rule: int) -> None:
        self.status = FilerStatus.APPROVED
        self.rejection_reason = None

    def reject(self, reason: str, actor: dict[str, Any]) -> None:
        self.check_pending_review()
        self.check_reason(reason, "a rejection")
        self._rejected(reason=reason, actor=actor)

    @event("FilerRejected")
    def _rejected(self, reason: str, actor: dict[str, Any]) -> None:
        self.status = FilerStatus.REJECTED
        self.rejection_reason = reason

    def resubmit(
        self,
        proof_digests: list[str],
        pledge_digest: str,
        actor: dict[str, Any],
        *,
        annex_rule: AnnexRule,
        corrections: FilerCorrections,
    ) -> None:
        """A rejected filer sends new proof materials and goes back to review; from annex
        rule v1 it may correct its name, kind, region and contact on the way."""
        if self.status is not FilerStatus.REJECTED:
            raise FilerNotPendingReviewError(
                f"filer {self.uscc} is {self.status.value}: only a rejected filer resubmits",
                status=self.status.value,
            )
        if annex_rule is AnnexRule.NONE and corrections != FilerCorrections():
            raise ValueError("corrections need annex rule v1")
        if annex_rule is not AnnexRule.NONE:
            check_kind(corrections.kind or self.kind, self.uscc)
        self._resubmitted(
            proof_digests=proof_digests,
            pledge_digest=pledge_digest,
            actor=actor,
            annex_rule=int(annex_rule),
            name=corrections.name,
            kind=corrections.kind,
            region_code=corrections.region_code,
            contact=corrections.contact,
        )

    @event(FilerResubmitted)
    def _resubmitted(
        self,
        proof_digests: list[str],
        pledge_digest: str,
        actor: dict[str, Any],
        annex_rule: int,
        name: str | None,
        kind: str | None,
        region_code: str | None,
        contact: dict[str, str] | None,
    ) -> None:
        self.proof_digests = list(proof_digests)
        self.pledge_digest = pledge_digest
        self.status = FilerStatus.PENDING_REVIEW
        if name is not None:
            self.name = name
        if kind is not None:
            self.kind = kind
        if region_code is not None:
            self.region_code = region_code
        if contact is not None:
            self.contact = dict(contact)

    # --- a move a reviewer confirms (annex rule v1) ------------------------------------------
    def confirm_move(self, reason: str, actor: dict[str, Any]) -> None:
        """Record that the filer moved from its USCC's region to its registered one."""
        self.check_pending_review()
        if region_misfit(self.region_code, self.uscc) is None:
            raise RegionMoveNotNeededError(
                f"filer {self.uscc}: region {self.region_code} is its USCC's; no move to confirm",
                region_code=self.region_code,
            )
        self.check_reason(reason, "a move confirmation")
        self._move_confirmed(
            region_code=self.region_code,
            uscc_region=uscc_region(self.uscc),
            reason=reason,
            actor=actor,
        )

    @event("FilerRegionMoveConfirmed")
    def _move_confirmed(
        self, region_code: str, uscc_region: str, reason: str, actor: dict[str, Any]
    ) -> None:
        self.confirmed_region = region_code

    # --- rules used by other aggregates -------------------------------------------------------
    def check_may_file(self) -> None:
        """Only approved filers may file products."""
        if self.status is not FilerStatus.APPROVED:
            raise FilerNotApprovedError(
                f"filer {self.uscc} is {self.status.value}: only approved filers may file",
                filer_id=str(self.id),
                status=self.status.value,
            )
