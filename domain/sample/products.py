"""The filings' part of the plan: the products, their figures, and the story of each filing.

The counted filings match the published table district by district, and their sales and exports
add up to the published totals exactly; the other filings get figures drawn freely.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from uuid import UUID

from domain.actor import Actor
from domain.application import PatentLedger
from domain.declarations import EconomicFigures, PatentDeclaration
from domain.product import DisputeOutcome
from domain.sample.catalogue import (
    CLAIMANT_WORDS,
    DISPUTE_CLAIM,
    DISPUTE_ENDINGS,
    DISTINCT_PRODUCT_REASON,
    PRODUCT_REJECTIONS,
    REFILING_REASON,
    REVIEWERS,
    TEMPLATES,
    UPHELD_NOTE,
    UPHELD_REJECTION,
    WITHDRAWALS,
)
from domain.sample.districts import (
    SHANGHAI_2023_BY_DISTRICT,
    TARGET_EXPORTS_FEN,
    TARGET_SALES_FEN,
)
from domain.sample.fates import NOISE_PRODUCTS, SPECIAL_COUNTED, STORIES, Fate
from domain.sample.figures import allocate, allocate_capped, scaled
from domain.sample.identities import (
    PRODUCT_SLOTS,
    document_digest,
    model_designation,
    sample_id,
    slot_of,
)
from domain.sample.plan import PlannedFiler, PlannedProduct, PlannerBase
from domain.sample.working_time import DAY, END, chain
from domain.values import (
    FilerKind,
    FilingNumberRule,
    IndustryCategory,
    filing_number_rule_in_force,
)


class ProductPlanner(PlannerBase):
    """Draws the filings and their figures, then schedules each filing's story."""

    def plan_products(self) -> None:
        rng = self.rng
        counted: list[PlannedProduct] = []
        for code, _, _, product_total in SHANGHAI_2023_BY_DISTRICT:
            filers = [f for f in self.filers if f.region_code == code and f.approved]
            owners = list(filers)
            # Every approved filer has one; the rest go to a few prolific filers (heavy tail).
            weights = [rng.paretovariate(2.0) for _ in filers]
            owners += rng.choices(filers, weights=weights, k=product_total - len(filers))
            counted.extend(self._product(owner, Fate.APPROVED) for owner in owners)
        for fate, count in SPECIAL_COUNTED.items():
            pool = [p for p in counted if p.fate is Fate.APPROVED]
            if fate is Fate.REVISED_REAPPROVED:  # first filed on 2021 data: early filers
                pool.sort(key=lambda p: p.filer.approved_at)
                pool = pool[: len(pool) // 2]
            for product in rng.sample(pool, count):
                product.fate = fate
        self._allocate_figures(counted)
        approved_filers = [f for f in self.filers if f.approved]
        noise: list[PlannedProduct] = []
        for fate, count in NOISE_PRODUCTS.items():
            for owner in rng.choices(
                approved_filers, weights=[f.product_count for f in approved_filers], k=count
            ):
                noise.append(self._product(owner, fate))
        for product in noise:
            product.figures = self._free_figures()
        for product in [p for p in counted if p.fate is Fate.REFILED]:
            # The faulty first filing of the same product: figures entered in thousands of yuan.
            first = self._product(product.filer, Fate.WITHDRAWN_FOR_REFILING, like=product)
            first.figures = scaled(product.figures, 1)
            first.refiled_as = product
            noise.append(first)
        for product in [*counted, *noise]:
            if product.fate in (Fate.REVISED_REAPPROVED, Fate.REVISED_PENDING):
                product.earlier_figures = scaled(product.figures, rng.randint(650, 1_050))

    def _product(
        self, filer: PlannedFiler, fate: Fate, *, like: PlannedProduct | None = None
    ) -> PlannedProduct:
        rng = self.rng
        index = len(self.products)
        filer.product_count += 1
        if like is not None:
            category, name, model, variants = like.category, like.name, like.model, like.variants
            patents = like.patents
        else:
            category = filer.category if rng.random() < 0.85 else rng.choice(list(IndustryCategory))
            template = rng.choice(TEMPLATES[category])
            name = template.name
            model = model_designation(template.initials, slot_of(self.seed, index, PRODUCT_SLOTS))
            count = rng.randint(1, min(3, len(template.variants)))
            chosen = set(rng.sample(template.variants, count))
            variants = tuple(v for v in template.variants if v in chosen)  # one model, many
            patents = self._declarations(filer)
        product = PlannedProduct(
            index=index,
            product_id=sample_id(f"filing:{self.seed}:{index}"),
            filer=filer,
            fate=fate,
            category=category,
            name=name,
            model=model,
            variants=variants,
            patents=patents,
        )
        self.products.append(product)
        return product

    def _declarations(self, filer: PlannedFiler) -> tuple[PatentDeclaration, ...]:
        """1-4 of the filer's own patents, sometimes a licensed one (with its licence record)."""
        rng = self.rng
        while len(filer.patents) < 2 + filer.product_count * 2:
            filer.patents.append(self._patent())
        own = rng.sample(filer.patents, rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0])
        declarations = [PatentDeclaration.parse("ZL" + number, "owner") for number in own]
        if rng.random() < 0.15 or filer.kind is FilerKind.social_organization:
            number = self._patent()
            reference = f"X{rng.randint(2018, 2022)}31{rng.randint(0, 99_999_999):08d}"
            declarations.append(PatentDeclaration.parse("ZL" + number, "licensee", reference))
        return tuple(declarations)

    def _allocate_figures(self, counted: list[PlannedProduct]) -> None:
        """Give the counted products sales and exports that add up to the published totals."""
        rng = self.rng
        sales = allocate(
            TARGET_SALES_FEN, [int(rng.lognormvariate(0, 1.4) * 1_000_000) + 1 for _ in counted]
        )
        shares = [0 if rng.random() < 0.55 else rng.randint(30, 750) for _ in counted]
        exports = allocate_capped(
            TARGET_EXPORTS_FEN, [s * share for s, share in zip(sales, shares, strict=True)], sales
        )
        for product, sale, export in zip(counted, sales, exports, strict=True):
            product.figures = self._figures(sale, export)

    def _free_figures(self) -> EconomicFigures:
        mean = TARGET_SALES_FEN // 1_023
        sale = int(self.rng.lognormvariate(math.log(mean) - 1.4**2 / 2, 1.4))
        share = 0 if self.rng.random() < 0.55 else self.rng.randint(30, 750)
        return self._figures(sale, sale * share // 1_000)

    def _figures(self, sales: int, exports: int) -> EconomicFigures:
        return EconomicFigures.of_fen(
            sales=sales,
            exports=exports,
            profit=sales * self.rng.randint(40, 220) // 1_000,
            ip_spending=sales * self.rng.randint(8, 60) // 1_000,
        )

    def schedule_products(self) -> None:
        for product in self.products:
            if product.fate is Fate.REFILED:
                continue  # scheduled after the withdrawal of its first filing
            if product.refiled_as is None:
                self._schedule_product(product, self._product_start(product))
            else:
                start = self._product_start(product)
                withdrawn = self._schedule_product(product, start, end=END - 3 * DAY)
                self._schedule_product(product.refiled_as, withdrawn + self._days(20, 200))

    def _product_start(self, product: PlannedProduct) -> int:
        after = product.filer.approved_at + 600
        if product.fate in (Fate.PENDING, Fate.DISPUTE_OPEN_PENDING):
            return max(after, END - self._days(100, 1200))
        if product.fate in (Fate.REVISED_REAPPROVED, Fate.REVISED_PENDING):
            return min(after + self._days(0, 1000), END - 4 * DAY)
        return min(after + self._days(0, 4000), END - 4 * DAY)

    def _schedule_product(self, product: PlannedProduct, start: int, end: int = END) -> int:
        """Add the filing's story to the timeline; returns the time of its last step."""
        story = self._story(product.fate)
        times = chain(start, [gap for _, gap in story], end)
        product.filed_at = times[0]
        self._add(times[0], product.product_id, 1, lambda ledger: self._file(ledger, product))
        version, numbered = 1, filing_number_rule_in_force() is FilingNumberRule.NONE
        for (command, _), at in zip(story, times[1:], strict=True):
            version += 1
            if command == "approve" and not numbered:  # and its FilingNumberAssigned
                version, numbered = version + 1, True
            self._add(at, product.product_id, version, self._product_command(product, command))
        return times[-1]

    def _story(self, fate: Fate) -> list[tuple[str, int]]:
        """The commands after the filing, each with its delay in working seconds."""
        return [(command, self._days(low, high)) for command, low, high in STORIES[fate]]

    def _file(self, ledger: PatentLedger, product: PlannedProduct) -> None:
        revised = product.earlier_figures is not None
        figures = product.earlier_figures if revised else product.figures
        if figures is None:
            raise ValueError(f"sample filing {product.index} has no figures")
        ledger.file_product(
            product.filer.actor,
            filer_id=product.filer.id,
            name=product.name,
            model=product.model,
            variants=list(product.variants),
            category=product.category.value,
            finer_code=None,  # the official finer codes are not carried; top categories suffice
            patents=list(product.patents),
            data_year=2021 if revised else 2022,
            figures=figures,
            proof_digests=[
                document_digest(self.seed, product.product_id, "sales-invoices"),
                document_digest(self.seed, product.product_id, "patent-certificates"),
            ],
            product_id=product.product_id,
        )

    def _product_command(
        self, product: PlannedProduct, command: str
    ) -> Callable[[PatentLedger], object]:
        """The command ``command`` of the filing's story, with its inputs drawn now."""
        rng = self.rng
        reviewer = rng.choice(REVIEWERS)
        pid = product.product_id
        dispute_id = sample_id(f"dispute:{self.seed}:{product.index}").hex
        if command == "approve":
            return lambda ledger: _approve(ledger, reviewer, pid)
        if command == "reject":
            reason = (
                UPHELD_REJECTION
                if product.fate is Fate.DISPUTE_UPHELD
                else rng.choice(PRODUCT_REJECTIONS)
            )
            return lambda ledger: ledger.reject_product(reviewer, pid, reason)
        if command == "revise":
            return self._revision(product)
        if command == "dispute":
            self.disputes += 1
            disputed = [rng.choice(product.patents).number.value]
            claimant = "上海" + self._brand() + rng.choice(CLAIMANT_WORDS) + "科技有限公司"
            return lambda ledger: ledger.raise_dispute(
                reviewer,
                pid,
                patent_numbers=disputed,
                claimant=claimant,
                description=DISPUTE_CLAIM,
                evidence_digests=[hashlib.sha256(dispute_id.encode()).hexdigest()],
                dispute_id=dispute_id,
            )
        if command in ("settle", "uphold"):
            outcome, note = (
                (DisputeOutcome.CLAIM_UPHELD, UPHELD_NOTE)
                if command == "uphold"
                else rng.choice(DISPUTE_ENDINGS)
            )
            return lambda ledger: ledger.resolve_dispute(
                reviewer, pid, dispute_id, outcome.value, note
            )
        if command == "withdraw":
            reason = REFILING_REASON if product.refiled_as else rng.choice(WITHDRAWALS)
            return lambda ledger: ledger.withdraw_product(product.filer.actor, pid, reason)
        raise ValueError(f"unknown sample command {command!r}")

    def _revision(self, product: PlannedProduct) -> Callable[[PatentLedger], object]:
        """The annual update: data year 2021 -> 2022, sometimes with a newly granted patent."""
        patents = list(product.patents)
        if self.rng.random() < 0.3:
            patents.append(PatentDeclaration.parse(self._patent(min_year=2021), "owner"))
        figures = product.figures
        if figures is None:
            raise ValueError(f"sample filing {product.index} has no figures")
        digest = document_digest(self.seed, product.product_id, "sales-invoices", 2022)

        def run(ledger: PatentLedger) -> None:
            ledger.revise_product(
                product.filer.actor,
                product.product_id,
                data_year=2022,
                figures=figures,
                patents=patents,
                proof_digests=[digest],
            )

        return run


def _approve(ledger: PatentLedger, reviewer: Actor, product_id: UUID) -> int:
    """Approve as a reviewer who checked each open near-duplicate candidate: the sample's
    approved filings are distinct products by construction (their models are unique)."""
    decisions = {
        str(candidate.product_id): DISTINCT_PRODUCT_REASON
        for candidate in ledger.screening_of(product_id).open
    }
    return ledger.approve_product(reviewer, product_id, distinct=decisions)
