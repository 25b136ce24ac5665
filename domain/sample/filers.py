"""The filers' part of the plan: who registers, and the story of each registration.

The approved filers match the published table district by district; the others are still in
review, rejected, or resubmitted after a rejection. A few kinds of institution file too.
"""

from __future__ import annotations

from collections.abc import Callable

from domain.application import PatentLedger
from domain.declarations import Contact
from domain.sample.catalogue import (
    CATEGORY_WEIGHTS,
    FILER_REJECTIONS,
    INSTITUTION_PATTERNS,
    LEGAL_FORM_WEIGHTS,
    LEGAL_FORMS,
    REAL_NAME_SERVICE,
    REVIEWERS,
    TRADE_WORDS,
)
from domain.sample.districts import SHANGHAI_2023_BY_DISTRICT
from domain.sample.fates import (
    APPROVED_FILER_FATES,
    FILERS_APPROVED_AFTER_REJECTION,
    INSTITUTION_KINDS,
    NOISE_FILERS,
    FilerFate,
)
from domain.sample.identities import (
    FILER_SLOTS,
    USCC_PREFIX,
    document_digest,
    organisation_code,
    slot_of,
    uscc_of,
)
from domain.sample.plan import PlannedFiler, PlannerBase
from domain.sample.working_time import DAY, END, chain
from domain.values import LEGACY_REGION_CODES, FilerKind, IndustryCategory


class FilerPlanner(PlannerBase):
    """Draws the filers, then schedules each one's registration story."""

    def plan_filers(self) -> None:
        rng = self.rng
        fates: list[tuple[str, FilerFate]] = []
        for code, _, approved, _ in SHANGHAI_2023_BY_DISTRICT:
            fates.extend((code, FilerFate.APPROVED) for _ in range(approved))
        weights = [approved for _, _, approved, _ in SHANGHAI_2023_BY_DISTRICT]
        codes = [code for code, _, _, _ in SHANGHAI_2023_BY_DISTRICT]
        for fate, count in NOISE_FILERS.items():
            fates.extend((code, fate) for code in rng.choices(codes, weights=weights, k=count))
        approved_slots = [i for i, (_, fate) in enumerate(fates) if fate is FilerFate.APPROVED]
        for i in rng.sample(approved_slots, FILERS_APPROVED_AFTER_REJECTION):
            fates[i] = (fates[i][0], FilerFate.APPROVED_AFTER_REJECTION)
        kinds = [FilerKind.enterprise] * len(fates)
        institution_kinds = [kind for kind, n in INSTITUTION_KINDS.items() for _ in range(n)]
        approved_indices = [i for i, (_, fate) in enumerate(fates) if fate in APPROVED_FILER_FATES]
        for i, kind in zip(
            rng.sample(approved_indices, len(institution_kinds)), institution_kinds, strict=True
        ):
            kinds[i] = kind
        for index, ((region_code, fate), kind) in enumerate(zip(fates, kinds, strict=True)):
            self.filers.append(self._filer(index, region_code, fate, kind))

    def _filer(
        self, index: int, region_code: str, fate: FilerFate, kind: FilerKind
    ) -> PlannedFiler:
        rng = self.rng
        if kind is FilerKind.enterprise:
            category = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[
                0
            ]
            name = self._unique_name(
                lambda: (
                    "上海"
                    + self._brand()
                    + rng.choice(TRADE_WORDS[category])
                    + rng.choices(LEGAL_FORMS, weights=LEGAL_FORM_WEIGHTS)[0]
                )
            )
        else:
            category = (
                IndustryCategory.rnd_design_and_technical_services
                if kind is FilerKind.social_organization
                else rng.choice(list(IndustryCategory))
            )
            patterns = INSTITUTION_PATTERNS[kind]
            name = self._unique_name(lambda: rng.choice(patterns).format(b=self._brand()))
        # Some older filers still carry a retired district code inside their USCC (registered
        # under the current one), and those have pre-2015 organisation codes.
        legacy = next((old for old, new in LEGACY_REGION_CODES.items() if new == region_code), None)
        region_part = legacy if legacy is not None and rng.random() < 0.3 else region_code
        old_form = region_part != region_code or rng.random() < 0.45
        code = organisation_code(slot_of(self.seed, index, FILER_SLOTS), legacy=old_form)
        uscc = uscc_of(USCC_PREFIX[kind], region_part, code)
        phone = (
            f"+86 21 {rng.randint(5000, 6999)} {rng.randint(0, 9999):04d}"
            if rng.random() < 0.6
            else f"+86 1{rng.choice('3589')}{rng.randint(0, 9)} {rng.randint(0, 9999):04d} "
            f"{rng.randint(0, 9999):04d}"
        )
        contact = Contact.parse(self._person(), phone, f"ipr.{code[:8].lower()}@example.com")
        return PlannedFiler(index, uscc, name, kind, region_code, category, fate, contact)

    def schedule_filers(self) -> None:
        for filer in self.filers:
            self._schedule_filer(filer)

    def _schedule_filer(self, filer: PlannedFiler) -> None:
        rng = self.rng
        fate = filer.fate
        verify = ("verify", self._days(1, 100))
        review = self._days(50, 600)
        gaps: list[tuple[str, int]]
        if fate is FilerFate.APPROVED:
            start, gaps = rng.randint(0, END - 45 * DAY), [verify, ("approve", review)]
        elif fate is FilerFate.APPROVED_AFTER_REJECTION:
            start = rng.randint(0, END - 60 * DAY)
            gaps = [
                verify,
                ("reject", review),
                ("resubmit", self._days(200, 2000)),
                ("approve", self._days(50, 500)),
            ]
        elif fate is FilerFate.PENDING_UNVERIFIED:
            start, gaps = END - self._days(20, 1000), []
        elif fate is FilerFate.PENDING_VERIFIED:
            start, gaps = END - self._days(100, 1500), [verify]
        elif fate is FilerFate.REJECTED:
            start = rng.randint(0, END - 20 * DAY)
            gaps = [verify, ("reject", review)] if rng.random() < 0.5 else [("reject", review)]
        else:  # RESUBMITTED_PENDING
            start = rng.randint(END // 2, END - 30 * DAY)
            gaps = [verify, ("reject", review), ("resubmit", self._days(200, 2000))]
        end = END - 5 * DAY if filer.approved else END
        times = chain(start, [gap for _, gap in gaps], end)
        self._add(times[0], filer.id, 1, lambda ledger: self._register(ledger, filer))
        for version, ((command, _), at) in enumerate(zip(gaps, times[1:], strict=True), start=2):
            self._add(at, filer.id, version, self._filer_command(filer, command))
        filer.approved_at = times[-1]

    def _register(self, ledger: PatentLedger, filer: PlannedFiler) -> None:
        ledger.register_filer(
            filer.actor,
            uscc=filer.uscc,
            name=filer.name,
            kind=filer.kind.value,
            region_code=filer.region_code,
            contact=filer.contact,
            proof_digests=[
                document_digest(self.seed, filer.uscc, "business-licence"),
                document_digest(self.seed, filer.uscc, "legal-representative-id"),
            ],
            pledge_digest=document_digest(self.seed, filer.uscc, "integrity-pledge"),
        )

    def _filer_command(self, filer: PlannedFiler, command: str) -> Callable[[PatentLedger], object]:
        """The command ``command`` of the filer's story, with its inputs drawn now."""
        reviewer = self.rng.choice(REVIEWERS)
        if command == "verify":
            reference = f"RN-{filer.uscc}"
            return lambda ledger: ledger.verify_filer_real_name(
                REAL_NAME_SERVICE, filer.id, reference
            )
        if command == "approve":
            return lambda ledger: ledger.approve_filer(reviewer, filer.id)
        if command == "reject":
            reason = self.rng.choice(FILER_REJECTIONS)
            return lambda ledger: ledger.reject_filer(reviewer, filer.id, reason)
        if command == "resubmit":
            proofs = [document_digest(self.seed, filer.uscc, "business-licence", 2)]
            pledge = document_digest(self.seed, filer.uscc, "integrity-pledge", 2)
            return lambda ledger: ledger.resubmit_filer(filer.actor, filer.id, proofs, pledge)
        raise ValueError(f"unknown sample command {command!r}")
