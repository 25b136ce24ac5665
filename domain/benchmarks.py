"""Certification benchmarks (评价基准): the indicators, how each is computed, and the table.

Why data, not code: the evaluation method (T/PPAC 402-2022) leaves the numbers to the platform,
per industry field, and they change from year to year. The certifier sets them as signed events
of one ``BenchmarkTable`` aggregate; each set is a new version holding the *whole* table (every
category 01-07, per indicator a threshold) and the definition of every indicator it uses, so a
decision event that names (table id, version) can be explained from the log alone.

Indicators are computed from a filing's own data (:class:`IndicatorInputs`), in integers only:
money in fen, counts, and shares in basis points (1 bp = 0.01 %), always rounded *down*, so a
product never passes a threshold by rounding. An indicator whose input is missing is
*unknown* (``None``), never 0. A new indicator is a new row of :data:`INDICATORS` and a new
table version that uses it: a round evaluates against the table version it pinned when its
evaluation started, so old rounds' decisions never change (and replay the same).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final
from uuid import UUID

from eventsourcing.domain import event

from domain.base import LedgerAggregate, derived_id
from domain.errors import BenchmarksInvalidError
from domain.ranges import BASIS_POINTS, FEN, PATENT_COUNT, SHARE_BP, Range
from domain.values import IndustryCategory, clean_text

BENCHMARK_NAMESPACE: Final = UUID("3e0c6f0a-8d1b-5a52-9f7e-6b2a4c1d9e83")
BENCHMARK_TABLE_ID: Final = derived_id(BENCHMARK_NAMESPACE, "benchmark-table")
"""The one benchmark table: its versions are the aggregate's versions."""

_INVENTION_TYPES: Final = frozenset({"invention", "pct_invention"})


class Unit(StrEnum):
    FEN = "fen"  # money, integer 0.01 CNY
    COUNT = "count"
    BASIS_POINTS = "bp"  # a share: 10000 = 100 %


THRESHOLD_RANGES: Final[Mapping[Unit, Range]] = MappingProxyType(
    {Unit.FEN: FEN, Unit.COUNT: PATENT_COUNT, Unit.BASIS_POINTS: SHARE_BP}
)
"""A threshold's range by its indicator's unit: one above every value an input may state
would certify nothing (domain.ranges, docs/api.md "Ranges")."""


class Comparison(StrEnum):
    """How a value meets its threshold."""

    AT_LEAST = "at_least"  # value >= threshold
    AT_MOST = "at_most"  # value <= threshold

    def passes(self, value: int, threshold: int) -> bool:
        return value >= threshold if self is Comparison.AT_LEAST else value <= threshold


@dataclass(frozen=True, slots=True)
class IndicatorInputs:
    """The filing data the indicators are computed from, as a decision event records it.

    ``filer_valid_patents`` is the number of valid patents the filer holds (owned or licensed),
    declared when opting in to the round; ``None`` when it was not declared.
    """

    sales_fen: int
    exports_fen: int
    profit_fen: int
    ip_spending_fen: int
    patents: int
    invention_patents: int
    filer_valid_patents: int | None

    @classmethod
    def of_product(
        cls,
        figures: Mapping[str, int],
        patents: Sequence[Mapping[str, Any]],
        filer_valid_patents: int | None,
    ) -> IndicatorInputs:
        """From a product's ``figures`` and declared ``patents`` (their event records)."""
        return cls(
            sales_fen=figures["sales_fen"],
            exports_fen=figures["exports_fen"],
            profit_fen=figures["profit_fen"],
            ip_spending_fen=figures["ip_spending_fen"],
            patents=len(patents),
            invention_patents=sum(1 for p in patents if p.get("type") in _INVENTION_TYPES),
            filer_valid_patents=filer_valid_patents,
        )

    def as_record(self) -> dict[str, int | None]:
        return {
            "sales_fen": self.sales_fen,
            "exports_fen": self.exports_fen,
            "profit_fen": self.profit_fen,
            "ip_spending_fen": self.ip_spending_fen,
            "patents": self.patents,
            "invention_patents": self.invention_patents,
            "filer_valid_patents": self.filer_valid_patents,
        }


def share_bp(part: int, whole: int | None) -> int | None:
    """``part / whole`` in basis points, rounded down, at most 10000; ``None`` if unknown.

    Unknown when ``whole`` is ``None`` or 0 (a share of nothing is undefined, not 0 %).
    """
    if not whole:
        return None
    return min(BASIS_POINTS, part * BASIS_POINTS // whole)


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator: its id, unit, how it meets a threshold, and its formula (in words)."""

    id: str
    unit: Unit
    comparison: Comparison
    formula: str
    compute: Callable[[IndicatorInputs], int | None]

    def definition(self) -> dict[str, str]:
        """The form a table version records, so a decision is explained without this code."""
        return {
            "unit": self.unit.value,
            "comparison": self.comparison.value,
            "formula": self.formula,
        }


INDICATORS: Final[Mapping[str, Indicator]] = MappingProxyType(
    {
        indicator.id: indicator
        for indicator in (
            Indicator(
                "sales_fen",
                Unit.FEN,
                Comparison.AT_LEAST,
                "sales_fen: the product's sales in the data year, as filed",
                lambda i: i.sales_fen,
            ),
            Indicator(
                "export_share_bp",
                Unit.BASIS_POINTS,
                Comparison.AT_LEAST,
                "exports_fen * 10000 // sales_fen (rounded down); unknown when sales_fen is 0",
                lambda i: share_bp(i.exports_fen, i.sales_fen),
            ),
            Indicator(
                "valid_patents",
                Unit.COUNT,
                Comparison.AT_LEAST,
                "patents: how many patents the filing declares (each valid when declared)",
                lambda i: i.patents,
            ),
            Indicator(
                "invention_patents",
                Unit.COUNT,
                Comparison.AT_LEAST,
                "invention_patents: declared patents of type invention or pct_invention",
                lambda i: i.invention_patents,
            ),
            Indicator(
                "patent_use_share_bp",
                Unit.BASIS_POINTS,
                Comparison.AT_LEAST,
                "min(10000, patents * 10000 // filer_valid_patents) (rounded down); unknown "
                "unless the filer declared filer_valid_patents (> 0) when opting in",
                lambda i: share_bp(i.patents, i.filer_valid_patents),
            ),
            Indicator(
                "profit_fen",
                Unit.FEN,
                Comparison.AT_LEAST,
                "profit_fen: the product's profit in the data year, as filed",
                lambda i: i.profit_fen,
            ),
            Indicator(
                "ip_spending_fen",
                Unit.FEN,
                Comparison.AT_LEAST,
                "ip_spending_fen: the filer's IP spending on the product in the data year",
                lambda i: i.ip_spending_fen,
            ),
        )
    }
)
"""Every indicator the ledger can compute, by id. Append only: ids are never reused."""

RULE_ALL_KNOWN_PASS: Final = "all_known_pass"  # noqa: S105 (a rule's name, not a password)
"""The combining rule: certified iff at least one indicator is known and every known one
passes; unknown indicators (value null) are skipped (passed null)."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """One indicator of one product against its threshold, as a decision event records it."""

    indicator: str
    unit: str
    comparison: str
    value: int | None
    threshold: int
    passed: bool | None  # None: the value is unknown, the indicator is skipped

    def as_record(self) -> dict[str, Any]:
        return {
            "indicator": self.indicator,
            "unit": self.unit,
            "comparison": self.comparison,
            "value": self.value,
            "threshold": self.threshold,
            "passed": self.passed,
        }


def assess(
    inputs: IndicatorInputs,
    thresholds: Mapping[str, int],
    definitions: Mapping[str, Mapping[str, str]],
) -> list[Assessment]:
    """Each indicator of ``thresholds`` (one category of a table version), sorted by id.

    ``definitions`` are the table version's recorded definitions: the comparison is the one
    the table was set with.
    """
    assessments = []
    for indicator_id in sorted(thresholds):
        definition = definitions[indicator_id]
        comparison = Comparison(definition["comparison"])
        value = INDICATORS[indicator_id].compute(inputs)
        threshold = thresholds[indicator_id]
        assessments.append(
            Assessment(
                indicator=indicator_id,
                unit=definition["unit"],
                comparison=comparison.value,
                value=value,
                threshold=threshold,
                passed=None if value is None else comparison.passes(value, threshold),
            )
        )
    return assessments


def meets_benchmarks(assessments: Sequence[Assessment]) -> bool:
    """:data:`RULE_ALL_KNOWN_PASS`."""
    known = [a.passed for a in assessments if a.passed is not None]
    return bool(known) and all(known)


# --- the table ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BenchmarkValues:
    """A whole table as set: thresholds per category per indicator, and a note.

    Raises:
        BenchmarksInvalidError: a category of 01-07 is missing or has no threshold, a category
            or indicator is unknown, or a threshold is not an integer in its unit's range
            (:data:`THRESHOLD_RANGES`: fen as any figure, counts as a filer's patents, shares
            0..10000); ``details`` name the ``field`` (``thresholds.<category>.<indicator>``),
            the ``indicator`` and the bounds.
    """

    thresholds: Mapping[str, Mapping[str, int]]
    note: str

    def __post_init__(self) -> None:
        categories = {category.value for category in IndustryCategory}
        given = set(self.thresholds)
        if given != categories:
            raise BenchmarksInvalidError(
                "a benchmark table sets every category: "
                f"missing {sorted(categories - given)}, unknown {sorted(given - categories)}",
            )
        for category, row in sorted(self.thresholds.items()):
            if not row:
                raise BenchmarksInvalidError(f"category {category} has no threshold")
            for indicator_id, threshold in sorted(row.items()):
                indicator = INDICATORS.get(indicator_id)
                if indicator is None:
                    raise BenchmarksInvalidError(
                        f"category {category}: unknown indicator {indicator_id!r}, want one of "
                        + ", ".join(INDICATORS),
                        indicator=indicator_id,
                    )
                THRESHOLD_RANGES[indicator.unit].check(
                    threshold,
                    field=f"thresholds.{category}.{indicator_id}",
                    error=BenchmarksInvalidError,
                    indicator=indicator_id,
                )

    @classmethod
    def from_json(cls, text: str) -> BenchmarkValues:
        """Read ``{"note": ..., "thresholds": {"01": {"sales_fen": 100, ...}, ...}}``.

        Raises:
            BenchmarksInvalidError: not that shape, or a number that is not an integer.
        """
        try:
            document = json.loads(text, parse_float=_refuse_float, parse_constant=_refuse_float)
        except (ValueError, TypeError) as exc:
            raise BenchmarksInvalidError(f"benchmark file is not valid JSON: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("thresholds"), dict):
            raise BenchmarksInvalidError('want an object with "thresholds" (and "note")')
        rows = document["thresholds"]
        if not all(isinstance(row, dict) for row in rows.values()):
            raise BenchmarksInvalidError("each category's thresholds are an object")
        note = document.get("note", "")
        if not isinstance(note, str):
            raise BenchmarksInvalidError('"note" is text')
        return cls(
            {str(category): dict(row) for category, row in rows.items()},
            clean_text(note, field="note", max_length=2000) if note.strip() else "",
        )

    def indicator_ids(self) -> list[str]:
        return sorted({indicator for row in self.thresholds.values() for indicator in row})

    def definitions(self) -> dict[str, dict[str, str]]:
        """The definition of every indicator the table uses, as recorded with it."""
        return {indicator: INDICATORS[indicator].definition() for indicator in self.indicator_ids()}

    def threshold_records(self) -> dict[str, dict[str, int]]:
        return {category: dict(row) for category, row in sorted(self.thresholds.items())}


def _refuse_float(text: str) -> int:
    raise BenchmarksInvalidError(f"threshold {text}: want an integer (fen, count or bp)")


class BenchmarkTable(LedgerAggregate):
    """The benchmark table; version N of the aggregate is version N of the table."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return BENCHMARK_TABLE_ID

    @event("BenchmarkTableDefined")
    def __init__(
        self,
        indicators: dict[str, dict[str, str]],
        thresholds: dict[str, dict[str, int]],
        note: str,
        actor: dict[str, Any],
    ) -> None:
        self.indicators = indicators
        self.thresholds = thresholds
        self.note = note

    def holds(self, values: BenchmarkValues) -> bool:
        """Whether this version already is ``values`` (setting it again records nothing)."""
        return (
            self.thresholds == values.threshold_records()
            and self.indicators == values.definitions()
            and self.note == values.note
        )

    def revise(self, values: BenchmarkValues, actor: dict[str, Any]) -> None:
        self._revised(
            indicators=values.definitions(),
            thresholds=values.threshold_records(),
            note=values.note,
            actor=actor,
        )

    @event("BenchmarkTableRevised")
    def _revised(
        self,
        indicators: dict[str, dict[str, str]],
        thresholds: dict[str, dict[str, int]],
        note: str,
        actor: dict[str, Any],
    ) -> None:
        self.indicators = indicators
        self.thresholds = thresholds
        self.note = note


def define_benchmarks(values: BenchmarkValues, actor: dict[str, Any]) -> BenchmarkTable:
    """Version 1 of the table."""
    return BenchmarkTable(
        indicators=values.definitions(),
        thresholds=values.threshold_records(),
        note=values.note,
        actor=actor,
    )
