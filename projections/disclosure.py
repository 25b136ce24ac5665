"""Disclosure control of the published regional statistics (docs/statistics.md).

Why: a filer's sales and exports are confidential, yet a district with one filer published
its sales — that filer's own figures — to anyone (issue #15). National statistics offices
publish counts freely and money figures only for cells no one can read a contributor from:

* **primary suppression** — a cell's money figures are withheld when fewer than
  ``min_filers`` filers contribute to it, or when one filer contributes more than
  ``dominance_bp`` basis points of its sales or of its exports (the dominance rule: the others
  could subtract their own share and learn the largest one's);
* **secondary suppression** — a published total minus its published parts must not give a
  withheld part: where a region's total is published and exactly one of its parts is
  withheld, the smallest other part is withheld too (or, with no other part, the total).

Cells are (level, region, data year): districts, their cities and provinces, each data year
on its own (no total over years is published, so years need no secondary suppression).
Counts (filers, filings) are never withheld: the notices publish them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

BASIS_POINTS: Final = 10_000
DEFAULT_MIN_FILERS: Final = 3
DEFAULT_DOMINANCE_BP: Final = 8_500  # one filer above 85 % of a cell's sales or exports


class Level(StrEnum):
    DISTRICT = "district"
    CITY = "city"
    PROVINCE = "province"


class Suppressed(StrEnum):
    PRIMARY = "primary"  # the cell's own contributors would be exposed
    SECONDARY = "secondary"  # withheld so that a primary one cannot be recovered by subtraction


@dataclass(frozen=True, slots=True)
class Rules:
    """The thresholds of a publication (settings; recorded in each publication event)."""

    min_filers: int = DEFAULT_MIN_FILERS
    dominance_bp: int = DEFAULT_DOMINANCE_BP

    def __post_init__(self) -> None:
        if not 1 <= self.min_filers <= 100:
            raise ValueError(f"min_filers {self.min_filers}: want 1 to 100")
        if not 1 <= self.dominance_bp <= BASIS_POINTS:
            raise ValueError(f"dominance_bp {self.dominance_bp}: want 1 to {BASIS_POINTS}")


@dataclass(frozen=True, slots=True)
class Contribution:
    """One filing's approved figures of one data year, in the district of its filer."""

    region_code: str  # a district (six digits)
    data_year: int
    filer_id: str
    sales_fen: int
    exports_fen: int


@dataclass(slots=True)
class Cell:
    """A published cell: counts always, money figures unless suppressed."""

    level: Level
    region_code: str
    data_year: int
    filings: int = 0  # filings whose figures of that year are approved
    by_filer: dict[str, list[int]] = field(default_factory=dict)  # filer -> [sales, exports]
    suppressed: Suppressed | None = None

    @property
    def filers(self) -> int:
        return len(self.by_filer)

    @property
    def sales_fen(self) -> int:
        return sum(figures[0] for figures in self.by_filer.values())

    @property
    def exports_fen(self) -> int:
        return sum(figures[1] for figures in self.by_filer.values())

    def as_row(self) -> dict[str, object]:
        """The cell as published: money as digit strings, or null when suppressed."""
        shown = self.suppressed is None
        return {
            "level": self.level.value,
            "region_code": self.region_code,
            "data_year": self.data_year,
            "filers": self.filers,
            "filings": self.filings,
            "sales_fen": str(self.sales_fen) if shown else None,
            "exports_fen": str(self.exports_fen) if shown else None,
            "suppressed": None if shown else self.suppressed.value,  # type: ignore[union-attr]
        }


def parent_of(code: str, level: Level) -> tuple[Level, str] | None:
    """The region one level up: a district's city (first four digits), a city's province."""
    if level is Level.DISTRICT:
        return Level.CITY, f"{code[:4]}00"
    if level is Level.CITY:
        return Level.PROVINCE, f"{code[:2]}0000"
    return None


def controlled_cells(contributions: Iterable[Contribution], rules: Rules) -> list[Cell]:
    """Every cell of the contributions, each marked ``suppressed`` where the rules say."""
    cells: dict[tuple[Level, str, int], Cell] = {}
    for item in contributions:
        level: Level | None = Level.DISTRICT
        code = item.region_code
        while level is not None:
            key = (level, code, item.data_year)
            cell = cells.get(key) or cells.setdefault(key, Cell(level, code, item.data_year))
            cell.filings += 1
            figures = cell.by_filer.setdefault(item.filer_id, [0, 0])
            figures[0] += item.sales_fen
            figures[1] += item.exports_fen
            up = parent_of(code, level)
            level, code = (None, code) if up is None else up
    for cell in cells.values():
        if _sensitive(cell, rules):
            cell.suppressed = Suppressed.PRIMARY
    _protect_totals(cells)
    return sorted(cells.values(), key=lambda c: (c.data_year, list(Level).index(c.level),
                                                c.region_code))  # fmt: skip


def _sensitive(cell: Cell, rules: Rules) -> bool:
    if cell.filers < rules.min_filers:
        return True
    for index, total in ((0, cell.sales_fen), (1, cell.exports_fen)):
        largest = max(figures[index] for figures in cell.by_filer.values())
        if total > 0 and largest * BASIS_POINTS > rules.dominance_bp * total:
            return True
    return False


def _protect_totals(cells: Mapping[tuple[Level, str, int], Cell]) -> None:
    """Secondary suppression, repeated until no published total exposes a withheld part."""
    children: dict[tuple[Level, str, int], list[Cell]] = defaultdict(list)
    for cell in cells.values():
        up = parent_of(cell.region_code, cell.level)
        if up is not None:
            children[(up[0], up[1], cell.data_year)].append(cell)
    changed = True
    while changed:
        changed = False
        for key, parts in children.items():
            total = cells[key]
            withheld = [part for part in parts if part.suppressed is not None]
            if total.suppressed is not None or len(withheld) != 1:
                continue
            shown = [part for part in parts if part.suppressed is None]
            if shown:
                min(
                    shown, key=lambda part: (part.sales_fen, part.region_code)
                ).suppressed = Suppressed.SECONDARY
            else:
                total.suppressed = Suppressed.SECONDARY
            changed = True
