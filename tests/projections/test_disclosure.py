"""Disclosure control of published statistics (projections.disclosure), without a store."""

from __future__ import annotations

import random

import pytest

from projections.disclosure import Contribution, Level, Rules, Suppressed, controlled_cells

DEFAULT_RULES = Rules()


def _cells(
    *items: tuple[str, str, int], rules: Rules = DEFAULT_RULES
) -> dict[tuple[str, str], str | None]:
    """(district, filer, sales) → {(level, region): suppressed kind or None} for 2022."""
    found = controlled_cells(
        [Contribution(region, 2022, filer, sales, sales // 10) for region, filer, sales in items],
        rules,
    )
    return {(c.level.value, c.region_code): None if c.suppressed is None else c.suppressed.value
            for c in found}  # fmt: skip


def test_fewer_than_three_filers_is_primary_and_its_sibling_secondary():
    cells = _cells(
        ("310109", "a", 100),  # 虹口: one filer
        ("310115", "b", 100), ("310115", "c", 100), ("310115", "d", 100),
        ("310104", "e", 500), ("310104", "f", 500), ("310104", "g", 500),
    )  # fmt: skip
    assert cells[("district", "310109")] == Suppressed.PRIMARY
    # 310100 = 虹口 + 浦东 + 徐汇 is published: the smaller other district is withheld too
    assert cells[("district", "310115")] == Suppressed.SECONDARY
    assert cells[("district", "310104")] is None
    assert cells[("city", "310100")] is None
    assert cells[("province", "310000")] is None


def test_one_dominant_filer_is_primary_whatever_the_count():
    cells = _cells(
        ("310115", "big", 9_000), ("310115", "s1", 400), ("310115", "s2", 300),
        ("310104", "e", 500), ("310104", "f", 500), ("310104", "g", 500),
        ("310110", "h", 500), ("310110", "i", 500), ("310110", "j", 500),
    )  # fmt: skip
    assert cells[("district", "310115")] == Suppressed.PRIMARY  # 9,000 of 9,700 > 85 %
    assert sum(kind is not None for key, kind in cells.items() if key[0] == "district") == 2
    relaxed = _cells(("310115", "big", 9_000), ("310115", "s1", 400), ("310115", "s2", 300),
                     rules=Rules(min_filers=3, dominance_bp=9_500))  # fmt: skip
    assert relaxed[("district", "310115")] is None


def test_a_total_with_a_single_withheld_part_and_nothing_else_is_withheld():
    cells = _cells(("320102", "a", 100), ("320102", "b", 100))  # two filers, one district
    assert cells[("district", "320102")] == Suppressed.PRIMARY
    assert cells[("city", "320100")] is not None  # same contributors: primary itself
    assert cells[("province", "320000")] is not None


def test_secondary_suppression_reaches_up_the_levels():
    # Two cities of one province; one city withheld (one district with 2 filers) → the other
    # city must go too, else province - city B = city A.
    cells = _cells(
        ("320102", "a", 100), ("320102", "b", 100),
        ("320202", "c", 100), ("320202", "d", 100), ("320202", "e", 100),
        ("320203", "f", 100), ("320203", "g", 100), ("320203", "h", 100),
    )  # fmt: skip
    assert cells[("city", "320100")] == Suppressed.PRIMARY
    assert cells[("city", "320200")] == Suppressed.SECONDARY
    assert cells[("province", "320000")] is None


def test_every_published_total_leaves_no_single_withheld_part():
    generator = random.Random(7)  # noqa: S311 (test data, not secrets)
    items = [
        (f"3101{generator.choice(['01', '04', '05', '06', '09', '15'])}",
         f"f{generator.randrange(40)}", generator.randrange(1, 10_000))
        for _ in range(120)
    ]  # fmt: skip
    found = controlled_cells([Contribution(r, 2022, f, s, 0) for r, f, s in items], Rules())
    districts = [c for c in found if c.level is Level.DISTRICT]
    (city,) = [c for c in found if c.level is Level.CITY]
    if city.suppressed is None:
        assert sum(c.suppressed is not None for c in districts) != 1


@pytest.mark.parametrize(("min_filers", "dominance_bp"), [(0, 8500), (3, 0), (3, 10_001)])
def test_rules_out_of_range_are_refused(min_filers, dominance_bp):
    with pytest.raises(ValueError, match="want"):
        Rules(min_filers=min_filers, dominance_bp=dominance_bp)
