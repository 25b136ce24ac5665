"""What a plan is made of: planned filers, filings and steps, and the draws all parts share.

:class:`PlannerBase` holds the state of one seed's plan (its random generator, the planned
filers and filings, the timeline of steps) and the small draws every part uses. The parts
(filers, products, duplicates, conversions) extend it, each in its own module, and
:class:`domain.sample.planner.Planner` combines them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple
from uuid import UUID

from domain.actor import Actor, Role
from domain.application import PatentLedger
from domain.declarations import Contact, EconomicFigures, PatentDeclaration
from domain.filer import filer_id_for
from domain.sample.catalogue import BRAND_CHARS, GIVEN_CHARS, SURNAMES
from domain.sample.fates import APPROVED_FILER_FATES, Fate, FilerFate
from domain.sample.working_time import DAY
from domain.values import FilerKind, IndustryCategory, patent_check_char


@dataclass(slots=True)
class PlannedFiler:
    """A planned filer; ``approved_at`` is when its story ends (its approval, if approved)."""

    index: int
    uscc: str
    name: str
    kind: FilerKind
    region_code: str
    category: IndustryCategory
    fate: FilerFate
    contact: Contact
    patents: list[str] = field(default_factory=list)
    approved_at: int = 0
    product_count: int = 0

    @property
    def id(self) -> UUID:
        return filer_id_for(self.uscc)

    @property
    def actor(self) -> Actor:
        return Actor(id=f"user-{self.uscc}", role=Role.FILER, scope=self.uscc)

    @property
    def approved(self) -> bool:
        return self.fate in APPROVED_FILER_FATES


@dataclass(slots=True)
class PlannedProduct:
    """A planned filing; ``figures`` are its final (data year 2022) figures."""

    index: int
    product_id: UUID
    filer: PlannedFiler
    fate: Fate
    category: IndustryCategory
    name: str
    model: str
    variants: tuple[str, ...]
    patents: tuple[PatentDeclaration, ...]
    figures: EconomicFigures | None = None
    earlier_figures: EconomicFigures | None = None  # data year 2021, for revised filings
    refiled_as: PlannedProduct | None = None  # the new filing that replaced this withdrawn one
    duplicate_of: PlannedProduct | None = None  # the filing this near-duplicate copies
    filed_at: int = 0


class Step(NamedTuple):
    """One command at one time; ``version`` is what it brings ``aggregate_id`` to."""

    at: int
    seq: int
    aggregate_id: UUID | None  # None: a refused attempt, re-run harmlessly on every load
    version: int
    run: Callable[[PatentLedger], object]


class PlannerBase:
    """The state of one seed's plan, and the draws every part of it shares."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.filers: list[PlannedFiler] = []
        self.products: list[PlannedProduct] = []
        self.steps: list[Step] = []
        self.used_names: set[str] = set()
        self.used_patents: set[str] = set()
        self.duplicates = 0
        self.disputes = 0
        self.conversion_records = 0
        self.conversion_reports = 0

    # --- helpers ----------------------------------------------------------------------------
    def _days(self, low: int, high: int) -> int:
        """A random span between ``low`` and ``high`` hundredths of a working day."""
        return self.rng.randint(low * DAY // 100, high * DAY // 100)

    def _add(
        self,
        at: int,
        aggregate_id: UUID | None,
        version: int,
        run: Callable[[PatentLedger], object],
    ) -> None:
        self.steps.append(Step(at, len(self.steps), aggregate_id, version, run))

    def _brand(self) -> str:
        return "".join(self.rng.sample(BRAND_CHARS, 2))

    def _unique_name(self, make: Callable[[], str]) -> str:
        while True:
            name = make()
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def _person(self) -> str:
        given = "".join(self.rng.choices(GIVEN_CHARS, k=self.rng.choice((1, 2))))
        return self.rng.choice(SURNAMES) + given

    def _patent(self, *, min_year: int = 2012) -> str:
        """A new patent number of this sample, with a valid check digit."""
        kind = self.rng.choices("1238", weights=(45, 40, 12, 3))[0]
        first_year = {"1": min_year, "2": max(min_year, 2015), "3": 2016, "8": 2016}[kind]
        while True:
            year = self.rng.randint(first_year, 2022)
            digits = f"{year}{kind}{self.rng.randint(0, 1_999_999):07d}"
            number = f"{digits}.{patent_check_char(digits)}"
            if number not in self.used_patents:
                self.used_patents.add(number)
                return number
