"""The offline replay keeps its own copies of the domain's sets and constants (it must not
import domain/: docs/decisions.md). Each copy is tied to its original here, so a domain change
that the replay would miss fails a test (issue #16, part 1)."""

from __future__ import annotations

import dataclasses
import importlib
import random
from typing import Any

import pytest

from audit.offline import replay_base as replay
from domain import actor, benchmarks, certification, ranges, values
from domain.application import _INSTITUTION_AUTHORITIES
from domain.certification_round import RoundStatus
from domain.declarations import EconomicFigures
from domain.filer import FilerStatus
from domain.objection import ObjectionStatus
from domain.product import DisputeOutcome, ProductStatus


def test_the_sets_of_values_are_the_domains():
    assert {o.value for o in DisputeOutcome} == replay._DISPUTE_OUTCOMES
    assert {c.value for c in values.ConversionCategory} == replay._CONVERSION_CATEGORIES
    assert {t.value for t in values.PatentType} == replay._PATENT_TYPES
    assert {
        values.PatentType.invention.value, values.PatentType.pct_invention.value,
    } == replay._INVENTION_TYPES  # fmt: skip
    assert {c.value for c in values.IndustryCategory} == replay._CATEGORIES
    assert replay._INSTITUTION_AUTHORITIES == _INSTITUTION_AUTHORITIES
    assert tuple(i.value for i in certification.Ineligibility) == replay._INELIGIBILITY


def test_the_roles_and_statuses_are_the_domains():
    roles = {r.value for r in actor.Role}
    assert {replay._FILER_ROLE, replay._REVIEWER, replay._SYSTEM, replay._INSTITUTION,
            replay._CERTIFIER, replay._REGIONAL_ADMIN} <= roles  # fmt: skip
    assert {replay.PENDING_REVIEW, replay.APPROVED, replay.REJECTED} == {
        s.value for s in FilerStatus
    }
    assert {replay.PENDING_REVIEW, replay.APPROVED, replay.REJECTED, replay.WITHDRAWN} == {
        s.value for s in ProductStatus
    }
    assert {replay.ROUND_OPENED_STATUS, replay.EVALUATING, replay.PUBLISHED} == {
        s.value for s in RoundStatus
    }
    assert {replay.CERTIFIED_STATUS, replay.NOT_CERTIFIED_STATUS, replay.NOT_ELIGIBLE_STATUS,
            replay.REVOKED} == {s.value for s in certification.CertificationStatus}  # fmt: skip
    assert {replay.OBJECTION_OPEN, replay.DISMISSED, replay.UPHELD} == {
        s.value for s in ObjectionStatus
    }


def test_the_numbers_are_the_domains():
    assert replay._FIRST_ROUND_YEAR == ranges.FIRST_ROUND_YEAR
    assert replay._OBJECTION_DAYS_MAX == ranges.OBJECTION_DAYS_MAX
    assert replay._BASIS_POINTS == ranges.BASIS_POINTS
    assert replay._INT64_MAX == ranges.INT64_MAX
    assert replay._RULE == benchmarks.RULE_ALL_KNOWN_PASS
    figures = EconomicFigures.of_fen(sales=2, exports=1, profit=0, ip_spending=0).as_record()
    assert tuple(figures) == replay._FIGURES
    fields = [f.name for f in dataclasses.fields(benchmarks.IndicatorInputs)]
    assert list(replay._INPUTS) == fields


def test_the_indicators_are_the_domains_units_comparisons_and_formulas():
    assert set(replay._INDICATORS) == set(benchmarks.INDICATORS)
    generator = random.Random(14)  # noqa: S311 (test data)
    for _ in range(500):
        valid: int | None = generator.choice([None, 0, generator.randrange(1, 10**6)])
        sales = generator.randrange(0, 10**15)
        data: dict[str, Any] = {
            "sales_fen": sales, "exports_fen": generator.randrange(0, sales + 1),
            "profit_fen": generator.randrange(0, 10**15),
            "ip_spending_fen": generator.randrange(0, 10**15),
            "patents": generator.randrange(0, 10**6),
            "invention_patents": generator.randrange(0, 10**6),
            "filer_valid_patents": valid,
        }  # fmt: skip
        domain_inputs = benchmarks.IndicatorInputs(**data)
        replay_inputs = replay._Inputs(**data)
        for indicator_id, indicator in benchmarks.INDICATORS.items():
            unit, comparison, formula = replay._INDICATORS[indicator_id]
            assert (unit, comparison) == (indicator.unit.value, indicator.comparison.value)
            assert formula(replay_inputs) == indicator.compute(domain_inputs), indicator_id


@pytest.mark.parametrize(
    ("name", "domain_value"),
    [
        ("FILER_NAMESPACE", "domain.filer"),
        ("CONVERSION_NAMESPACE", "domain.conversion"),
        ("BENCHMARK_NAMESPACE", "domain.benchmarks"),
        ("ROUND_NAMESPACE", "domain.certification_round"),
        ("OPT_IN_NAMESPACE", "domain.certification_opt_in"),
        ("CERTIFICATION_NAMESPACE", "domain.certification"),
        ("PUBLICATION_NAMESPACE", "domain.statistics_publication"),
    ],
)
def test_the_namespaces_are_the_domains(name, domain_value):
    assert getattr(replay, name) == getattr(importlib.import_module(domain_value), name)
