"""The published figures the sample reproduces: Shanghai's 2023 filers and products by district.

The table is embedded so that loading needs no file; tests/domain/test_sample.py checks it
against shanghai_2023_by_district.csv, and the plan is drawn to match it exactly.
"""

from __future__ import annotations

from typing import Final

SHANGHAI_2023_BY_DISTRICT: Final[tuple[tuple[str, str, int, int], ...]] = (
    # (region code, district, approved filers, successfully filed products), in the CSV's order
    ("310115", "浦东新区", 133, 272),
    ("310112", "闵行区", 59, 93),
    ("310117", "松江区", 39, 76),
    ("310114", "嘉定区", 38, 77),
    ("310116", "金山区", 32, 196),
    ("310104", "徐汇区", 28, 37),
    ("310118", "青浦区", 25, 51),
    ("310120", "奉贤区", 22, 97),
    ("310151", "崇明区", 15, 26),
    ("310113", "宝山区", 14, 16),
    ("310110", "杨浦区", 11, 22),
    ("310107", "普陀区", 10, 19),
    ("310106", "静安区", 8, 17),
    ("310101", "黄浦区", 4, 17),
    ("310105", "长宁区", 4, 6),
    ("310109", "虹口区", 1, 1),
)
"""Shanghai, 24 Jul 2023, per district (shanghai_2023_by_district.csv, kept outside the repo).

The products add up to 1,023 although the notice's text says 975: the sample follows the table,
the figure an auditor can recount.
"""

TARGET_SALES_FEN: Final = 15_123_000_000_000
"""Last year's sales of the successfully filed products: 151.23 billion CNY, hit exactly."""

TARGET_EXPORTS_FEN: Final = 2_575_000_000_000
"""Their exports: 25.75 billion CNY, hit exactly."""


def district_targets() -> dict[str, tuple[int, int]]:
    """Region code -> (approved filers, successfully filed products) the sample reproduces."""
    return {code: (filers, products) for code, _, filers, products in SHANGHAI_2023_BY_DISTRICT}
