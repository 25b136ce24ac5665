"""The range of every amount and count a command accepts, in one place.

Why bounds at all: the ledger signs what it accepts for ever, and every read model keeps its
figures in signed 64-bit columns (SQLite ``INTEGER``, PostgreSQL ``bigint``; sums of amounts
are arbitrary-precision, ``projections.schema.amount_sum``). A figure of 2**63 - 1 fen was once
accepted and then stalled every read model on the first sum (issue #14). So each number is
refused *where the command enters* — the value objects and
commands of the domain, which the API, the ``ppl`` command line and the sample loader all go
through — with a typed error whose ``details`` name the field and the bound:
``{"field": "figures.sales_fen", "minimum": 0, "maximum": 1000000000000000}``.

The bounds are command rules; the offline replay (audit/offline/replay.py) holds an event to
the bounds of its time: a filing's figures and patent count to these under annex rule v1 (the
rule in force when they were recorded), an event signed before to the signed 64-bit range, and
a conversion report's amount always to that range (honest reports of 2^63 - 1 fen exist, and
the event carries no rule version). docs/api.md ("Ranges") lists every bound with its reason
and the arithmetic showing why the read models' numbers are exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from domain.errors import InvalidValueError

__all__ = [
    "BASIS_POINTS",
    "COMMAND_RANGES",
    "DECLARED_PATENTS",
    "FEN",
    "FIRST_ROUND_YEAR",
    "INT64_MAX",
    "MONEY_MAX_FEN",
    "OBJECTION_DAYS",
    "OBJECTION_DAYS_MAX",
    "PATENT_COUNT",
    "PATENT_COUNT_MAX",
    "ROUND_YEARS",
    "SHARE_BP",
    "SUM_HEADROOM",
    "YEARS",
    "YEAR_MAX",
    "YEAR_MIN",
    "Range",
]

INT64_MAX: Final = 2**63 - 1
"""The largest value of a read model's integer column (and of the canonical encoding)."""

MONEY_MAX_FEN: Final = 10**15
"""The largest amount one figure may state: 10**13 yuan (ten trillion CNY).

Far above any real product-year: Shanghai's whole 2023 GDP was about 4.7 * 10**12 yuan and the
largest company in the world has annual revenue of about 5 * 10**12 yuan; the sample's 1,023
successfully filed products together sell 1.5 * 10**11 yuan. Anything above is a typo (a yuan
amount sent as fen, a stray digit) or an attempt to break the statistics.
"""

SUM_HEADROOM: Final = INT64_MAX // MONEY_MAX_FEN
"""How many amounts at the ceiling a 64-bit sum would hold: 9,223 (9,223 * 10**15 < 2**63);
nothing bounds a row's terms, so the read models' sums are arbitrary-precision instead."""

PATENT_COUNT_MAX: Final = 1_000_000
"""The largest number of valid patents one filer may declare (the largest holders in the world
hold a few hundred thousand) and one filing may list; also the ceiling of the count thresholds
of a benchmark table."""

YEAR_MIN: Final = 1985
"""The Chinese patent law took effect in 1985: nothing in this domain predates it."""
YEAR_MAX: Final = 2100
FIRST_ROUND_YEAR: Final = 2023
"""Certification is annual from 2023."""
OBJECTION_DAYS_MAX: Final = 90
BASIS_POINTS: Final = 10_000
"""100 %: shares are integer basis points, never above the whole."""


@dataclass(frozen=True, slots=True)
class Range:
    """An inclusive range of integers a command input must lie in.

    ``unit`` is for the message (``fen``, ``days``...). ``bool`` is refused although it is an
    ``int`` subclass: ``true`` is never an amount or a count.
    """

    minimum: int
    maximum: int
    unit: str = ""

    def __post_init__(self) -> None:
        if self.minimum > self.maximum:
            raise ValueError(f"empty range: got {self.minimum}..{self.maximum}, want min <= max")

    def check(
        self, value: object, *, field: str, error: type[InvalidValueError], **details: Any
    ) -> int:
        """Return ``value`` if it is an integer in range.

        Raises:
            error: ``value`` is not an ``int`` (or is a ``bool``), or lies outside the range;
                ``details`` carry ``field`` and, for a range refusal, ``minimum`` and
                ``maximum`` (plus the ``details`` given, e.g. the indicator).
        """
        if isinstance(value, bool) or not isinstance(value, int):
            raise error(
                f"{field} must be an integer: got {type(value).__name__} {value!r}, "
                "want an integer",
                field=field,
                value=repr(value),
                **details,
            )
        if not self.minimum <= value <= self.maximum:
            unit = f" {self.unit}" if self.unit else ""
            raise error(
                f"{field} out of range: got {value}{unit}, "
                f"want {self.minimum}..{self.maximum}{unit}",
                field=field,
                minimum=self.minimum,
                maximum=self.maximum,
                **details,
            )
        return value

    def at_least(self, minimum: int) -> Range:
        """The same range starting at ``minimum`` (e.g. the patents a product declares)."""
        return Range(max(self.minimum, minimum), self.maximum, self.unit)


FEN: Final = Range(0, MONEY_MAX_FEN, "fen")
YEARS: Final = Range(YEAR_MIN, YEAR_MAX)
ROUND_YEARS: Final = Range(FIRST_ROUND_YEAR, YEAR_MAX)
OBJECTION_DAYS: Final = Range(1, OBJECTION_DAYS_MAX, "days")
PATENT_COUNT: Final = Range(0, PATENT_COUNT_MAX, "patents")
DECLARED_PATENTS: Final = Range(1, PATENT_COUNT_MAX, "patents")
SHARE_BP: Final = Range(0, BASIS_POINTS, "bp")

COMMAND_RANGES: Final[Mapping[str, Range]] = MappingProxyType(
    {
        "figures.sales_fen": FEN,
        "figures.exports_fen": FEN,
        "figures.profit_fen": FEN,
        "figures.ip_spending_fen": FEN,
        "amount_fen": FEN,
        "data_year": YEARS,
        "year": ROUND_YEARS,
        "objection_days": OBJECTION_DAYS,
        "patents": DECLARED_PATENTS,
        "filer_valid_patents": PATENT_COUNT,
        "thresholds.<category>.<fen indicator>": FEN,
        "thresholds.<category>.<count indicator>": PATENT_COUNT,
        "thresholds.<category>.<bp indicator>": SHARE_BP,
    }
)
"""Every bounded command input by the name docs/api.md ("Ranges") lists it under; a test ties
the table there to this mapping. ``patents`` is how many a filing declares;
``filer_valid_patents`` starts at that number; a threshold's range is its indicator's unit."""
