"""Refused duplicates: attempts to file an already filed product again, spelled differently.

Their steps name no aggregate version: the product key index refuses each attempt on every
load, so re-running one is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from domain.application import PatentLedger
from domain.errors import DuplicateProductError
from domain.sample.fates import DUPLICATE_ATTEMPTS, Fate
from domain.sample.identities import document_digest, sample_id
from domain.sample.plan import PlannedFiler, PlannedProduct
from domain.sample.products import ProductPlanner
from domain.sample.working_time import DAY, END, chain


class DuplicatePlanner(ProductPlanner):
    """Schedules the refused duplicates, drawing their patents and figures like filings'."""

    def schedule_duplicates(self) -> None:
        """Attempts to file an already filed product again, spelled differently; all refused."""
        rng = self.rng
        targets = [
            p for p in self.products if p.fate is Fate.APPROVED and p.filed_at < END - 20 * DAY
        ]
        approved_filers = [f for f in self.filers if f.approved]
        for n, target in enumerate(rng.sample(targets, DUPLICATE_ATTEMPTS)):
            attempter = target.filer if n % 3 == 0 else rng.choice(approved_filers)
            spelling = (
                target.model.lower().replace("-", " "),
                _full_width(target.model),
                target.model.replace("-", ""),
            )[n % 3]
            start = max(target.filed_at, attempter.approved_at)
            at = chain(start, [self._days(50, 1500)], END)[1]
            filing_id = sample_id(f"duplicate:{self.seed}:{n}")
            self._add(at, None, 0, self._duplicate(target, attempter, spelling, filing_id))
            self.duplicates += 1

    def _duplicate(
        self, target: PlannedProduct, attempter: PlannedFiler, model: str, filing_id: UUID
    ) -> Callable[[PatentLedger], object]:
        seed = self.seed
        figures = self._free_figures()
        patents = self._declarations(attempter)

        def run(ledger: PatentLedger) -> None:
            try:
                ledger.file_product(
                    attempter.actor,
                    filer_id=attempter.id,
                    name=target.name,
                    model=model,
                    variants=list(target.variants),
                    category=target.category.value,
                    finer_code=None,
                    patents=list(patents),
                    data_year=2022,
                    figures=figures,
                    proof_digests=[document_digest(seed, filing_id, "sales-invoices")],
                    filing_id=filing_id,
                )
            except DuplicateProductError:
                return
            raise RuntimeError(f"sample duplicate {filing_id} was accepted: the plan is wrong")

        return run


def _full_width(text: str) -> str:
    """ASCII letters, digits and ``-`` as their full-width forms (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
