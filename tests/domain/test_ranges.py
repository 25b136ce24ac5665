"""The ranges of command inputs (domain.ranges): each bound is accepted and one past it refused
with the field and the bound named; the arithmetic behind docs/api.md ("Ranges"); and the
table there tied to the constants."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domain.actor import Actor, Role
from domain.benchmarks import THRESHOLD_RANGES, BenchmarkValues, Unit
from domain.declarations import EconomicFigures, PatentDeclaration
from domain.errors import (
    BenchmarksInvalidError,
    InvalidValueError,
    MoneyInvalidError,
    PatentCountInvalidError,
    YearInvalidError,
)
from domain.ranges import (
    COMMAND_RANGES,
    FEN,
    INT64_MAX,
    MONEY_MAX_FEN,
    PATENT_COUNT_MAX,
    SUM_HEADROOM,
    YEARS,
    Range,
)
from domain.values import IndustryCategory, Money, Year
from tests.domain.factories import approved_filer, file, patent, uscc

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
INSTITUTION = uscc(7, prefix="12")


def _details(excinfo: pytest.ExceptionInfo[InvalidValueError]) -> dict[str, object]:
    return excinfo.value.details


# --- the arithmetic -----------------------------------------------------------------------------
def test_the_sum_headroom_is_the_most_ceiling_amounts_a_64_bit_sum_holds():
    # python3 -c "print((2**63 - 1) // 10**15)"  → 9223
    assert SUM_HEADROOM == 9_223
    assert SUM_HEADROOM * MONEY_MAX_FEN <= INT64_MAX < (SUM_HEADROOM + 1) * MONEY_MAX_FEN
    assert INT64_MAX == 9_223_372_036_854_775_807


def test_every_single_value_a_command_accepts_fits_a_64_bit_column():
    for name, bounds in COMMAND_RANGES.items():
        assert -INT64_MAX - 1 <= bounds.minimum <= bounds.maximum <= INT64_MAX, name


# --- the value objects --------------------------------------------------------------------------
def test_money_names_the_field_and_the_bound():
    assert Money.of(MONEY_MAX_FEN, field="amount_fen").fen == MONEY_MAX_FEN
    assert Money.of(0, field="amount_fen").fen == 0
    for refused in (MONEY_MAX_FEN + 1, -1, 2**63 - 1):
        with pytest.raises(MoneyInvalidError) as excinfo:
            Money.of(refused, field="amount_fen")
        assert _details(excinfo) == {"field": "amount_fen", "minimum": 0, "maximum": MONEY_MAX_FEN}
    for not_an_integer in (1.0, 1e3, True, "1000", None):
        with pytest.raises(MoneyInvalidError) as excinfo:
            Money.of(not_an_integer, field="amount_fen")
        assert _details(excinfo)["field"] == "amount_fen"


@pytest.mark.parametrize("figure", ["sales", "exports", "profit", "ip_spending"])
def test_each_figure_is_refused_one_past_the_ceiling_by_its_name(figure):
    at_ceiling = dict.fromkeys(("sales", "exports", "profit", "ip_spending"), MONEY_MAX_FEN)
    accepted = EconomicFigures.of_fen(**at_ceiling)
    assert accepted.as_record()[f"{figure}_fen"] == MONEY_MAX_FEN
    with pytest.raises(MoneyInvalidError) as excinfo:
        EconomicFigures.of_fen(**{**at_ceiling, figure: MONEY_MAX_FEN + 1})
    assert _details(excinfo) == {
        "field": f"figures.{figure}_fen", "minimum": 0, "maximum": MONEY_MAX_FEN,
    }  # fmt: skip


def test_a_year_names_the_field_and_the_bound():
    assert Year.of(YEARS.minimum, field="data_year").value == 1985
    assert Year.of(YEARS.maximum, field="data_year").value == 2100
    for refused in (1984, 2101):
        with pytest.raises(YearInvalidError) as excinfo:
            Year.of(refused, field="data_year")
        assert _details(excinfo) == {"field": "data_year", "minimum": 1985, "maximum": 2100}


@pytest.mark.parametrize(
    ("indicator", "unit"),
    [
        ("sales_fen", Unit.FEN),
        ("valid_patents", Unit.COUNT),
        ("export_share_bp", Unit.BASIS_POINTS),
    ],
)
def test_a_threshold_is_bounded_by_its_units_range(indicator, unit):
    ceiling = THRESHOLD_RANGES[unit].maximum
    rows = {category.value: {indicator: ceiling} for category in IndustryCategory}
    assert BenchmarkValues(rows, "").thresholds["01"][indicator] == ceiling
    with pytest.raises(BenchmarksInvalidError) as excinfo:
        BenchmarkValues({**rows, "02": {indicator: ceiling + 1}}, "")
    assert _details(excinfo) == {
        "field": f"thresholds.02.{indicator}", "minimum": 0, "maximum": ceiling,
        "indicator": indicator,
    }  # fmt: skip


def test_a_threshold_in_a_benchmark_file_must_be_an_integer():
    for number in ("1.0", "1e3", "1E3"):
        rows = ", ".join(f'"{c.value}": {{"sales_fen": {number}}}' for c in IndustryCategory)
        with pytest.raises(BenchmarksInvalidError, match="want an integer"):
            BenchmarkValues.from_json(f'{{"thresholds": {{{rows}}}}}')


def test_a_range_refuses_bools_and_an_empty_range():
    with pytest.raises(MoneyInvalidError, match="must be an integer"):
        FEN.check(True, field="amount_fen", error=MoneyInvalidError)
    with pytest.raises(ValueError, match="empty range"):
        Range(2, 1)


# --- the commands (as the CLI and the sample loader call them), on both stores ---------------
def test_a_conversion_amount_past_the_ceiling_is_refused_and_stores_nothing(ledger):
    actor = Actor(id=f"tto-{INSTITUTION}", role=Role.INSTITUTION, scope=INSTITUTION)
    arguments = {
        "institution_uscc": INSTITUTION, "patent_number": patent(9), "category": "assigned",
        "counterparty": "上海示例科技有限公司", "occurred_on": "2024-03-15",
    }  # fmt: skip
    before = ledger.recorder.max_notification_id() or 0
    for refused in (MONEY_MAX_FEN + 1, 2**63 - 1):
        with pytest.raises(MoneyInvalidError) as excinfo:
            ledger.report_conversion(actor, **arguments, amount_fen=refused)
        assert _details(excinfo)["field"] == "amount_fen"
    assert (ledger.recorder.max_notification_id() or 0) == before
    ledger.report_conversion(actor, **arguments, amount_fen=MONEY_MAX_FEN)
    assert (ledger.recorder.max_notification_id() or 0) > before


def test_a_filing_declaring_more_patents_than_the_ceiling_is_refused(ledger):
    code = uscc(1)
    filer_id = approved_filer(ledger, code)
    before = ledger.recorder.max_notification_id() or 0
    one = PatentDeclaration.parse(patent(1), "owner")
    with pytest.raises(PatentCountInvalidError) as excinfo:
        file(ledger, code, filer_id, patents=[one] * (PATENT_COUNT_MAX + 1))
    assert _details(excinfo) == {"field": "patents", "minimum": 1, "maximum": PATENT_COUNT_MAX}
    assert (ledger.recorder.max_notification_id() or 0) == before


# --- docs/api.md ----------------------------------------------------------------------------
def _documented_ranges() -> dict[str, tuple[str, str]]:
    """The rows of the table under "## Ranges": first code span → (minimum, maximum) cells."""
    text = API_DOC.read_text(encoding="utf-8")
    section = text.split("\n## Ranges\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        found = re.match(r"`([^`]+)`", cells[0]) if len(cells) >= 3 else None
        if found:
            rows[found[1]] = (cells[1], cells[2])
    return rows


def test_the_ranges_table_of_the_api_reference_states_the_domains_bounds():
    documented = _documented_ranges()
    assert set(documented) == set(COMMAND_RANGES)
    for name, (minimum, maximum) in documented.items():
        bounds = COMMAND_RANGES[name]
        assert int(maximum.replace(",", "")) == bounds.maximum, name
        if name == "filer_valid_patents":  # from the patents the product declares
            assert minimum == "declared patents"
        else:
            assert int(minimum.replace(",", "")) == bounds.minimum, name
