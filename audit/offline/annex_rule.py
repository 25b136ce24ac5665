"""The 2022 notice's annex 1 (《专利产品备案条件及流程》) as rules: annex rule v1.

Why here: the ledger refuses a command that breaks a condition, and the offline auditor
re-checks every event recorded under the rule. Like ``audit.offline.screening`` this is a
standard-library leaf shared by ``domain`` and the auditor, so each condition exists once
(docs/annex-rules.md).

Annex rule v1 (events recorded under ``annex_rule`` 1; ``NONE``, 0, is the rule of events
recorded before it, judged as they were then):

- A filing may be *unclassified* ("不受产业分类限制"): ``UNCLASSIFIED`` instead of a category
  01-07. A certification decision needs a category (NotEligible reason ``unclassified``).
- The filing's sales in its data year are above zero ("已取得良好的市场收益").
- The data year is not after the year the event is recorded in (Beijing time).
- The filer's kind fits the organisation type of its USCC (``ORGANISATION_TYPES``).
- The filer's region is consistent with the region code inside its USCC (``region_misfit``),
  unless a reviewer confirmed a move (FilerRegionMoveConfirmed).
- An upheld ownership claim removes the claimed patents from the filing's valid patents; a
  filing with no valid patent left returns to review and cannot be approved or certified.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from enum import IntEnum
from types import MappingProxyType
from typing import Final


class AnnexRule(IntEnum):
    """An annex rule version; an event is judged by the version it was recorded under."""

    NONE = 0
    V1 = 1


CURRENT_ANNEX_RULE: Final = AnnexRule.V1

UNCLASSIFIED: Final = "unclassified"
"""The category of a filing that names no industry field (allowed from annex rule v1)."""

BEIJING: Final = timezone(timedelta(hours=8))

ORGANISATION_TYPES: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        # 91 企业 (companies), 93 农民专业合作社 (farmers' cooperatives). 92 个体工商户 is no
        # legal person and never registers (domain.values.Uscc).
        "enterprise": frozenset({"91", "93"}),
        # 12 事业单位 (public universities and institutes), 52 民办非企业单位 / 社会服务机构
        # (private universities and institutes).
        "university_or_institute": frozenset({"12", "52"}),
        # 新型研发机构 are set up as public institutions, social service organisations or
        # companies.
        "new_rnd_institution": frozenset({"12", "52", "91"}),
        # 51 社会团体, 52 社会服务机构, 53 基金会.
        "social_organization": frozenset({"51", "52", "53"}),
    }
)
"""Filer kind -> the USCC organisation types (its first two characters) it may have."""

LEGACY_REGION_CODES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "310103": "310101",  # 卢湾区 merged into 黄浦区 (2011)
        "310108": "310106",  # 闸北区 merged into 静安区 (2015)
        "310119": "310115",  # 南汇区 merged into 浦东新区 (2009)
        "310230": "310151",  # 崇明县 became 崇明区 (2016)
    }
)
"""Retired GB/T 2260 codes still printed inside older USCCs, mapped to their successor.

Pinned with annex rule v1: a code added here changes what v1 accepts, so a longer table is a
new rule version. A code missing here is a move for a reviewer to confirm, never a silent pass.
"""


def kind_misfit(kind: str, uscc: str) -> str | None:
    """Why filer ``kind`` does not fit ``uscc``'s organisation type; ``None`` if it does."""
    allowed = ORGANISATION_TYPES.get(kind)
    if allowed is None:
        return f"unknown filer kind {kind!r}"
    organisation_type = uscc[:2]
    if organisation_type in allowed:
        return None
    return (
        f"a {kind} has a USCC of organisation type {' or '.join(sorted(allowed))}: "
        f"got {organisation_type!r} in {uscc}"
    )


def uscc_region(uscc: str) -> str:
    """The region code inside ``uscc`` (characters 3-8), retired codes mapped forward."""
    code = uscc[2:8]
    return LEGACY_REGION_CODES.get(code, code)


def _area(code: str) -> str:
    """The digits that name a code's area: 31 for 310000, 3101 for 310100, else all six."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def region_misfit(region_code: str, uscc: str) -> str | None:
    """Why ``region_code`` is not consistent with ``uscc``'s region; ``None`` if it is.

    Consistent: the same code after the legacy mapping, or one inside the other (a USCC
    issued by the city's or province's authority, a filer registered under its city).
    """
    registered = uscc_region(uscc)
    if _area(registered) == _area(region_code):
        return None
    if region_code.startswith(_area(registered)) or registered.startswith(_area(region_code)):
        return None
    return (
        f"region {region_code} is not the USCC's region {registered}"
        + (f" (printed {uscc[2:8]})" if registered != uscc[2:8] else "")
        + ": a reviewer confirms a move, or the filer corrects its region"
    )


def data_year_misfit(data_year: int, recorded_at: datetime) -> str | None:
    """Why ``data_year`` is too late for an event recorded at ``recorded_at``; else ``None``."""
    current_year = recorded_at.astimezone(BEIJING).year
    if data_year <= current_year:
        return None
    return f"data year {data_year} is after the current year {current_year}"


def sales_misfit(sales_fen: int) -> str | None:
    """Why ``sales_fen`` shows no market returns; ``None`` if above zero."""
    if sales_fen > 0:
        return None
    return f"sales of {sales_fen} fen in the data year: want above zero (已取得良好的市场收益)"
