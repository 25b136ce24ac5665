"""What a statistics publication holds, computed from the served read models.

Why here: the domain records a publication (domain.statistics_publication) but reads no read
model; the figures come from ``regional_stats`` (each filing's approved figures per data
year, in its filer's district) and ``product_registry`` (which filer a filing is), and the
disclosure rules (projections.disclosure) decide which money cells are published.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from projections import product_registry as registry
from projections import regional_stats as regional
from projections.disclosure import Contribution, Level, Rules, controlled_cells, parent_of
from projections.store import ProjectionStore

_COUNTS = ("filers", "products", "pending", "rejected", "withdrawn")


def publication_tables(
    store: ProjectionStore, rules: Rules
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(counts per region and level, disclosure-controlled cells), as a publication holds."""
    filer_of = {
        row["product_id"]: row["filer_id"]
        for row in store.select(
            registry.ProductRegistry.name, registry.PRODUCTS.only("product_id", "filer_id")
        )
    }
    contributions = [
        Contribution(row["region_code"], int(year), filer_of[row["product_id"]], *figures)
        for row in store.select(regional.RegionalStatistics.name, regional.PRODUCT_STATES)
        for year, figures in row["approved"].items()
    ]
    cells = [cell.as_row() for cell in controlled_cells(contributions, rules)]
    totals: dict[tuple[Level, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(_COUNTS, 0))
    for row in store.select(regional.RegionalStatistics.name, regional.REGIONS):
        level: Level | None = Level.DISTRICT
        code = row["region_code"]
        while level is not None:
            for name in _COUNTS:
                totals[(level, code)][name] += row[name]
            up = parent_of(code, level)
            level, code = (None, code) if up is None else up
    counts = [
        {"level": level.value, "region_code": code, **values}
        for (level, code), values in sorted(totals.items(), key=lambda item: (
            list(Level).index(item[0][0]), item[0][1]))
    ]  # fmt: skip
    return counts, cells
