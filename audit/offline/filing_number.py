"""Filing number rule v1 (备案号): the human number an approved product carries for good.

Why here: the ledger issues the numbers and the offline auditor re-checks every one of them,
so the format, the series a number belongs to and the series' id are written once, standard
library only, and both import this module (like ``audit.offline.product_key``;
docs/filing-numbers.md).

A number is ``YYYY-RRRRRR-NNNNN``: YYYY the year of the product's first approval in China
Standard Time (UTC+8), RRRRRR the filer's 6-digit region code at that approval, NNNNN the
sequence within (year, region), from 00001. The sequence is zero-padded to five digits and
widens past 99999 (100000, 100001, ...): numbers order by (year, region, sequence as an
integer), never by their text. The number is issued by the series aggregate of (year,
region), whose id ``series_id`` derives from the pair, in the same save as the approval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import IntEnum
from typing import Final
from uuid import UUID, uuid5


class FilingNumberRule(IntEnum):
    """A filing number rule version. ``NONE``: approvals recorded before numbers existed."""

    NONE = 0
    V1 = 1


CURRENT_FILING_NUMBER_RULE: Final = FilingNumberRule.V1
FILING_NUMBER_NAMESPACE: Final = UUID("b3d4f1a2-6c0e-5e7b-8a9d-4f2c1e0b7d63")
"""The namespace of the series ids: uuid5 of ``YYYY-RRRRRR`` in it (``series_id``)."""
CHINA_STANDARD_TIME: Final = timezone(timedelta(hours=8))
SEQUENCE_DIGITS: Final = 5
FILING_NUMBER: Final = re.compile(r"([0-9]{4})-([0-9]{6})-([0-9]{5}|[1-9][0-9]{5,})")
"""The shape of a number; ``parse_filing_number`` also refuses sequence 0."""


@dataclass(frozen=True, slots=True, order=True)
class FilingNumber:
    """One number, parsed: it sorts as numbers do (year, region, then the sequence)."""

    year: int
    region_code: str
    sequence: int

    @property
    def text(self) -> str:
        return format_filing_number(self.year, self.region_code, self.sequence)

    @property
    def series(self) -> str:
        return series_key(self.year, self.region_code)


def format_filing_number(year: int, region_code: str, sequence: int) -> str:
    """The number's one spelling: the sequence zero-padded to five digits, wider past 99999.

    Raises:
        ValueError: a year outside 1000-9999, a region code that is not 6 ASCII digits, or a
            sequence below 1 (programming errors: the ledger computes all three).
    """
    if not 1000 <= year <= 9999:
        raise ValueError(f"year {year}: want 4 digits")
    if not (len(region_code) == 6 and region_code.isascii() and region_code.isdigit()):
        raise ValueError(f"region code {region_code!r}: want 6 digits")
    if sequence < 1:
        raise ValueError(f"sequence {sequence}: want 1 or more")
    return f"{year:04d}-{region_code}-{sequence:0{SEQUENCE_DIGITS}d}"


def filing_number_misfit(text: str) -> str | None:
    """Why ``text`` is not a well-formed filing number, or ``None`` when it is one."""
    match = FILING_NUMBER.fullmatch(text) if text.isascii() else None
    if match is None:
        return f"got {text!r}, want YYYY-RRRRRR-NNNNN (five or more sequence digits)"
    if int(match.group(3)) < 1:
        return f"got {text!r}: the sequence starts at 00001"
    return None


def parse_filing_number(text: str) -> FilingNumber:
    """A number's year, region code and sequence.

    Raises:
        ValueError: ``text`` is not a well-formed number (``filing_number_misfit``).
    """
    misfit = filing_number_misfit(text)
    if misfit is not None:
        raise ValueError(misfit)
    year, region_code, sequence = text.split("-")
    return FilingNumber(int(year), region_code, int(sequence))


def approval_year(approved_at: datetime) -> int:
    """The year of an approval instant in China Standard Time (UTC+8): 31 Dec 16:00 UTC is
    already the next year."""
    return approved_at.astimezone(CHINA_STANDARD_TIME).year


def series_key(year: int, region_code: str) -> str:
    """``YYYY-RRRRRR``: the (year, region) whose series issues the number."""
    return f"{year:04d}-{region_code}"


def series_id(year: int, region_code: str) -> UUID:
    """The id of the series aggregate of (year, region): uuid5 of ``series_key``. Derived so
    that two approvals racing for one series write one aggregate, and the store's unique
    (id, version) lets only one of them take each sequence."""
    return uuid5(FILING_NUMBER_NAMESPACE, series_key(year, region_code))
