"""Refused duplicates: attempts to file an already filed product again, spelled differently.

Their steps name no aggregate version: the product key index refuses each attempt on every
load, so re-running one is harmless.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from uuid import UUID

from domain.application import PatentLedger
from domain.declarations import PatentDeclaration
from domain.errors import DuplicateProductError
from domain.sample.catalogue import NEAR_DUPLICATE_REJECTION, REVIEWERS, TEMPLATES
from domain.sample.fates import DUPLICATE_ATTEMPTS, NEAR_DUPLICATES, Fate
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
            product_id = sample_id(f"duplicate:{self.seed}:{n}")
            self._add(at, None, 0, self._duplicate(target, attempter, spelling, product_id))
            self.duplicates += 1

    def schedule_near_duplicates(self) -> None:
        """Filings of another filer's model under another name, each by a filer with patents.

        What a product key cannot decide: screening makes the earlier filing a candidate
        (``same_model``). Half are rejected as duplicates of it, half stay pending with the
        candidate open. Drawn from a generator of their own, so the draws of the rest of the
        plan (and so every older sample) stay as they were.
        """
        rng = random.Random(f"near-duplicates:{self.seed}")
        targets = [
            p for p in self.products if p.fate is Fate.APPROVED and p.filed_at < END - 40 * DAY
        ]
        filers = [
            f for f in self.filers if f.approved and f.patents and f.approved_at < END - 30 * DAY
        ]
        for n, target in enumerate(rng.sample(targets, NEAR_DUPLICATES)):
            filer = rng.choice([f for f in filers if f is not target.filer])
            names = [t.name for t in TEMPLATES[target.category] if t.name != target.name]
            rejected = n % 2 == 0
            product = PlannedProduct(
                index=len(self.products),
                product_id=sample_id(f"near-duplicate:{self.seed}:{n}"),
                filer=filer,
                fate=Fate.NEAR_DUPLICATE_REJECTED if rejected else Fate.NEAR_DUPLICATE_PENDING,
                category=target.category,
                name=rng.choice(names),
                model=target.model,
                variants=target.variants,
                patents=(PatentDeclaration.parse("ZL" + filer.patents[0], "owner"),),
                figures=target.figures,
                duplicate_of=target,
            )
            self.products.append(product)
            start = max(target.filed_at, filer.approved_at) + 600
            gap = rng.randint(DAY, 20 * DAY)
            filed_at, reviewed_at = chain(start, [gap], END)
            product.filed_at = filed_at
            self._add(filed_at, product.product_id, 1, self._near_duplicate(product))
            if rejected:
                self._add(
                    reviewed_at, product.product_id, 2, _duplicate_rejection(rng, product, target)
                )

    def _near_duplicate(self, product: PlannedProduct) -> Callable[[PatentLedger], object]:
        return lambda ledger: self._file(ledger, product)

    def _duplicate(
        self, target: PlannedProduct, attempter: PlannedFiler, model: str, product_id: UUID
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
                    proof_digests=[document_digest(seed, product_id, "sales-invoices")],
                    product_id=product_id,
                )
            except DuplicateProductError:
                return
            raise RuntimeError(f"sample duplicate {product_id} was accepted: the plan is wrong")

        return run


def _duplicate_rejection(
    rng: random.Random, product: PlannedProduct, target: PlannedProduct
) -> Callable[[PatentLedger], object]:
    """A reviewer rejects ``product`` as a duplicate of ``target``."""
    reviewer = rng.choice(REVIEWERS)
    return lambda ledger: ledger.reject_product(
        reviewer, product.product_id, NEAR_DUPLICATE_REJECTION, duplicate_of=target.product_id
    )


def _full_width(text: str) -> str:
    """ASCII letters, digits and ``-`` as their full-width forms (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
