"""Benchmarks: indicators in integers (fen, counts, basis points rounded down), the combining
rule, the table's validation, and its versions in the store."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.benchmarks import (
    BENCHMARK_TABLE_ID,
    INDICATORS,
    Assessment,
    BenchmarkValues,
    Comparison,
    IndicatorInputs,
    assess,
    meets_benchmarks,
    share_bp,
)
from domain.errors import ActorNotPermittedError, BenchmarksInvalidError, BenchmarksNotFoundError
from domain.values import IndustryCategory
from tests.domain.certification_factories import BENCHMARKS, CERTIFIER, SAMPLE_BENCHMARKS, at
from tests.domain.factories import REVIEWER

CATEGORIES = [c.value for c in IndustryCategory]


def inputs(**override):
    fields = {
        "sales_fen": 10_000,
        "exports_fen": 3_333,
        "profit_fen": 900,
        "ip_spending_fen": 120,
        "patents": 3,
        "invention_patents": 1,
        "filer_valid_patents": None,
    }
    return IndicatorInputs(**{**fields, **override})


# --- indicators -----------------------------------------------------------------------------------


def test_shares_are_basis_points_rounded_down_and_unknown_without_a_whole():
    assert share_bp(1, 3) == 3_333  # 33.33 %, never rounded up to 3334
    assert share_bp(2, 3) == 6_666
    assert share_bp(0, 5) == 0
    assert share_bp(5, 5) == 10_000
    assert share_bp(7, 5) == 10_000  # capped: a share is at most 100 %
    assert share_bp(3, 0) is None
    assert share_bp(3, None) is None


@given(st.integers(0, 10**15), st.integers(1, 10**15))
def test_a_share_never_exceeds_the_exact_ratio(part, whole):
    share = share_bp(part, whole)
    assert share is not None
    assert share <= 10_000
    assert share * whole <= part * 10_000 < (share + 1) * whole or share == 10_000


def test_each_indicator_reads_the_filing_data_it_documents():
    values = {i.id: i.compute(inputs()) for i in INDICATORS.values()}
    assert values == {
        "sales_fen": 10_000,
        "export_share_bp": 3_333,
        "valid_patents": 3,
        "invention_patents": 1,
        "patent_use_share_bp": None,  # the filer's patent count was not declared
        "profit_fen": 900,
        "ip_spending_fen": 120,
    }
    assert INDICATORS["patent_use_share_bp"].compute(inputs(filer_valid_patents=4)) == 7_500
    assert INDICATORS["export_share_bp"].compute(inputs(sales_fen=0, exports_fen=0)) is None
    assert all(
        i.formula and i.definition()["unit"] in ("fen", "count", "bp") for i in INDICATORS.values()
    )


def test_inputs_count_inventions_and_pct_inventions():
    patents = [{"type": t} for t in ("invention", "utility_model", "pct_invention", "design")]
    figures = {"sales_fen": 5, "exports_fen": 1, "profit_fen": 2, "ip_spending_fen": 3}
    made = IndicatorInputs.of_product(figures, patents, 9)
    assert (made.patents, made.invention_patents, made.filer_valid_patents) == (4, 2, 9)
    assert made.as_record()["sales_fen"] == 5


# --- the combining rule ---------------------------------------------------------------------------


def test_every_known_indicator_must_pass_and_unknown_ones_are_skipped():
    definitions = {i: INDICATORS[i].definition() for i in INDICATORS}
    thresholds = {"sales_fen": 10_000, "patent_use_share_bp": 9_000, "valid_patents": 4}
    assessed = assess(inputs(), thresholds, definitions)
    assert [(a.indicator, a.value, a.passed) for a in assessed] == [
        ("patent_use_share_bp", None, None),
        ("sales_fen", 10_000, True),  # at least: equal passes
        ("valid_patents", 3, False),
    ]
    assert not meets_benchmarks(assessed)
    assert meets_benchmarks(assess(inputs(), {"sales_fen": 1, "valid_patents": 3}, definitions))


def test_no_known_indicator_is_not_certified():
    unknown = Assessment("patent_use_share_bp", "bp", "at_least", None, 1, None)
    assert not meets_benchmarks([unknown])
    assert not meets_benchmarks([])


def test_an_at_most_comparison_passes_at_or_below_its_threshold():
    assert Comparison.AT_MOST.passes(5, 5)
    assert not Comparison.AT_MOST.passes(6, 5)
    definitions = {"profit_fen": {"unit": "fen", "comparison": "at_most", "formula": "x"}}
    (assessed,) = assess(inputs(), {"profit_fen": 899}, definitions)
    assert (assessed.comparison, assessed.passed) == ("at_most", False)


# --- the table ------------------------------------------------------------------------------------


def table(**rows):
    thresholds = {c: {"sales_fen": 1} for c in CATEGORIES}
    thresholds.update(rows)
    return thresholds


@pytest.mark.parametrize(
    ("desc", "thresholds", "want"),
    [
        ("a category missing", {c: {"sales_fen": 1} for c in CATEGORIES[:-1]}, "missing ['07']"),
        ("an unknown category", {**table(), "08": {"sales_fen": 1}}, "unknown ['08']"),
        ("an empty category", table(**{"03": {}}), "category 03 has no threshold"),
        ("an unknown indicator", table(**{"01": {"patent_value": 1}}), "unknown indicator"),
        ("a negative threshold", table(**{"01": {"sales_fen": -1}}), "want 0..10"),
        ("a share above 100 %", table(**{"01": {"export_share_bp": 10_001}}), "0..10000"),
        ("a boolean", table(**{"01": {"valid_patents": True}}), "want an integer"),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_an_incomplete_or_malformed_table_is_refused(desc, thresholds, want):
    with pytest.raises(BenchmarksInvalidError, match=want.replace("[", r"\[").replace("]", r"\]")):
        BenchmarkValues(thresholds, "")


def test_the_sample_file_is_a_complete_table_of_integers():
    values = BenchmarkValues.from_json(SAMPLE_BENCHMARKS.read_text(encoding="utf-8"))
    assert sorted(values.thresholds) == CATEGORIES
    assert values.note.startswith("Sample benchmarks")
    assert set(values.definitions()) == set(values.indicator_ids())


@pytest.mark.parametrize(
    "text",
    [
        '{"thresholds": {"01": {"sales_fen": 1.5}}}',
        '{"thresholds": {"01": {"sales_fen": 1e3}}}',
        '{"thresholds": {"01": {"sales_fen": NaN}}}',
        '{"thresholds": []}',
        '{"note": 5, "thresholds": {}}',
        "not json",
    ],
)
def test_a_benchmark_file_with_floats_or_another_shape_is_refused(text):
    with pytest.raises(BenchmarksInvalidError):
        BenchmarkValues.from_json(text)


# --- versions in the store ------------------------------------------------------------------------


def test_each_set_is_a_new_version_and_an_unchanged_table_adds_none(ledger):
    with pytest.raises(BenchmarksNotFoundError):
        ledger.certification.get_benchmarks()
    with at(2023, 1, 2):
        assert ledger.certification.set_benchmarks(CERTIFIER, BENCHMARKS) == 1
        assert ledger.certification.set_benchmarks(CERTIFIER, BENCHMARKS) == 1
        changed = BenchmarkValues(
            {c: {**row, "profit_fen": 7} for c, row in BENCHMARKS.thresholds.items()}, "v2"
        )
        assert ledger.certification.set_benchmarks(CERTIFIER, changed) == 2
    latest, first = ledger.certification.get_benchmarks(), ledger.certification.get_benchmarks(1)
    assert (latest.id, latest.version, first.version) == (BENCHMARK_TABLE_ID, 2, 1)
    assert "profit_fen" in latest.indicators
    assert "profit_fen" not in first.indicators
    assert latest.indicators["profit_fen"] == INDICATORS["profit_fen"].definition()
    with pytest.raises(BenchmarksNotFoundError):
        ledger.certification.get_benchmarks(3)
    events = list(ledger.repository.event_store.get(BENCHMARK_TABLE_ID))
    assert [type(e).__name__ for e in events] == ["BenchmarkTableDefined", "BenchmarkTableRevised"]
    assert json.dumps(events[1].thresholds)  # plain JSON: integers only


def test_only_the_certifier_sets_benchmarks(ledger):
    with pytest.raises(ActorNotPermittedError):
        ledger.certification.set_benchmarks(REVIEWER, BENCHMARKS)
