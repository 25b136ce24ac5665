"""The offline replay keeps its own copies of the domain's sets and constants (it must not
import domain/: docs/decisions.md). Each copy is tied to its original here, so a domain change
that the replay would miss fails a test (issue #16, part 1)."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import random
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.offline import replay_base as replay
from audit.offline import replay_values as rv
from audit.offline.annex_rule import ORGANISATION_TYPES
from domain import actor, benchmarks, categories, certification, command_inputs, ranges, values
from domain.application import _INSTITUTION_AUTHORITIES
from domain.certification_round import RoundStatus
from domain.declarations import EconomicFigures, PatentRelation
from domain.errors import DomainError
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


# --- the domain's value rules (audit/offline/replay_values.py) -----------------------------------


def test_the_value_rules_constants_are_the_domains():
    assert rv.USCC_ALPHABET == values.USCC_ALPHABET
    assert rv.USCC_WEIGHTS == values._USCC_WEIGHTS
    assert rv.NOT_LEGAL_PERSON_PREFIX == values._USCC_NOT_LEGAL_PERSON_PREFIX
    assert rv.PROVINCE_PREFIXES == values._PROVINCE_PREFIXES
    assert rv.SHANGHAI_CITY_CODE == values.SHANGHAI_CITY_CODE
    assert set(values.SHANGHAI_DISTRICTS) == rv.SHANGHAI_DISTRICTS
    assert rv.PATENT_WEIGHTS == values._PATENT_WEIGHTS
    assert {
        digit: kind.value for kind, digit in values._PATENT_TYPE_DIGITS.items()
    } == rv.PATENT_TYPES_BY_DIGIT
    assert set(rv.PATENT_TYPES_BY_DIGIT.values()) == replay._PATENT_TYPES
    assert (rv.YEAR_MIN, rv.YEAR_MAX) == (ranges.YEAR_MIN, ranges.YEAR_MAX)
    assert (rv.YEAR_MIN, rv.OLD_FORM_LAST_YEAR) == (
        values._OLD_FORM_FIRST_YEAR, values._OLD_FORM_LAST_YEAR,
    )  # fmt: skip
    assert rv.SHA256_HEX.pattern == values._SHA256_HEX_RE.pattern
    assert rv.FINER_CODE.pattern == (
        f"[0-9]{{{categories._FINER_CODE_MIN},{categories._FINER_CODE_MAX}}}"
    )
    assert rv.MONEY_MAX_FEN == ranges.MONEY_MAX_FEN
    assert rv.PATENT_COUNT_MAX == ranges.PATENT_COUNT_MAX
    assert rv.CELL_KEYS == command_inputs._CELL_KEYS
    assert rv.COUNT_KEYS == command_inputs._COUNT_KEYS
    assert rv.TEXT_LIMITS["reason"] == command_inputs.REASON_MAX_LENGTH
    assert tuple(r.value for r in PatentRelation) == replay._RELATIONS
    assert set(ORGANISATION_TYPES) == {k.value for k in categories.FilerKind}


def _recorded(build: Callable[..., object], *args: Any, **kwargs: Any) -> object:
    """What the domain's ``build`` makes of its input, or ``REFUSED``."""
    try:
        return build(*args, **kwargs)
    except DomainError:
        return REFUSED


REFUSED = object()


def test_a_uscc_is_one_the_domain_accepts():
    generator = random.Random(16)  # noqa: S311 (test data)
    alphabet = values.USCC_ALPHABET + "IOSVZa"
    samples = ["", "91310115000000401", "91310115000000401J ", "91310115000000401j"]
    for _ in range(5_000):
        prefix = generator.choice(["91", "92", "12", "51", "9I", "1"])
        body = prefix + "".join(generator.choice(alphabet) for _ in range(17 - len(prefix)))
        if generator.random() < 0.5:  # well formed but for what is drawn
            body = body[:2] + f"{generator.randrange(10**6):06d}" + body[8:]
        check = _recorded(values.uscc_check_char, body)
        check = "0" if check is REFUSED else str(check)
        samples += [body + check, body + generator.choice(alphabet), body, body + check + "0"]
    for sample in samples:
        assert (rv.uscc_misfit(sample) is None) == (
            _recorded(values.Uscc, sample) is not REFUSED
        ), sample


def test_a_region_code_is_one_the_domain_accepts():
    samples = [f"31{n:04d}" for n in range(10_000)]
    samples += [f"{p:02d}{s}" for p in range(100) for s in ("0000", "0100", "0101", "9999")]
    samples += ["", "31011", "3101155", "３１０１１５", "31011a", " 310115"]
    for sample in samples:
        assert (rv.region_code_misfit(sample) is None) == (
            _recorded(values.RegionCode, sample) is not REFUSED
        ), sample


def test_a_patent_number_is_one_the_domain_accepts_of_its_type():
    generator = random.Random(17)  # noqa: S311 (test data)
    samples = ["", "202110182616.5", "ZL202110182616.5", "202110182616", "99113861.9"]
    for _ in range(3_000):
        digits = "".join(generator.choice("0123456789") for _ in range(generator.choice([8, 12])))
        if generator.random() < 0.5 and len(digits) == 12:  # a year of the patent law's time
            digits = f"{generator.randrange(1980, 2110)}" + digits[4:]
        samples += [f"{digits}.{check}" for check in "0123456789X"]
        samples += [f"{digits[:-1]}.{digits[-1]}", f"{digits}{digits[-1]}"]
    for sample in samples:
        accepted = _recorded(values.PatentNumber, sample) is not REFUSED
        assert (rv.patent_misfit(sample) is None) == accepted, sample
        if accepted:
            assert rv.patent_type(sample) == values.PatentNumber(sample).patent_type.value


def test_clean_text_is_the_domains():
    """Every code point the replay refuses inside text is one ``clean_text`` refuses, and the
    other way round; on random text (NFC: the replay does not re-check it) the replay accepts
    exactly what ``clean_text`` records unchanged."""
    every = "".join(map(chr, range(0x110000)))
    refused = {match[0] for match in rv._NOT_SHOWN.finditer(every)}
    domain_refused = {
        char for char in every
        if unicodedata.category(char) in ("Cc", "Cs") or char in values._BIDI_CONTROLS
    }  # fmt: skip
    assert refused == domain_refused
    generator = random.Random(18)  # noqa: S311 (test data)
    alphabet = "a名 \u3000\t\n\u202e\u0085\x7f\ud800."
    for _ in range(20_000):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randrange(0, 7)))
        limit = generator.randrange(1, 6)
        recorded = _recorded(values.clean_text, text, field="x", max_length=limit) == text
        assert (rv.text_misfit(text, limit) is None) == recorded, (text, limit)


def test_the_text_limits_are_the_domains():
    """Every ``clean_text`` call of the domain (its field and ``max_length``, read from the
    source) is a limit the replay checks, or one it says why it does not read."""
    not_read = {
        "licence_reference": "a PatentDeclaration built without parse() is not cleaned",
        "contact.name": "a Contact built without parse() is not cleaned: the replay reads none",
        "contact.phone": "as contact.name",
        "contact.email": "as contact.name",
    }
    found: dict[str, set[int]] = {}
    for path in sorted(Path(values.__file__).parent.glob("*.py")):
        module = importlib.import_module(f"domain.{path.stem}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "clean_text"):
                continue
            arguments = {keyword.arg: keyword.value for keyword in node.keywords}
            field = ast.literal_eval(arguments["field"])
            limit = arguments["max_length"]
            found.setdefault(field, set()).add(
                getattr(module, limit.id)
                if isinstance(limit, ast.Name)
                else ast.literal_eval(limit)
            )
    assert set(found) == set(rv.TEXT_LIMITS) | set(not_read)
    for field, limits in found.items():
        if field in rv.TEXT_LIMITS:
            assert limits == {rv.TEXT_LIMITS[field]}, field


def test_a_finer_code_is_one_the_domain_accepts():
    generator = random.Random(19)  # noqa: S311 (test data)
    for _ in range(5_000):
        category = generator.choice(sorted(replay._CATEGORIES))
        finer = "".join(generator.choice("0123456789０a") for _ in range(generator.randrange(9)))
        if generator.random() < 0.5:
            finer = category + finer
        parsed = _recorded(categories.parse_industry, category, finer)
        recorded = parsed is not REFUSED and parsed[1] == finer  # type: ignore[index]
        assert (rv.finer_code_misfit(finer, category) is None) == recorded, (category, finer)
    assert rv.finer_code_misfit(None, "03") is None


CELL = {
    "level": "district", "region_code": "310115", "data_year": 2023, "filers": 3, "filings": 4,
    "sales_fen": "30000000", "exports_fen": "3000000", "suppressed": None,
}  # fmt: skip
COUNT = {
    "level": "district", "region_code": "310115", "filers": 3, "products": 4, "pending": 1,
    "rejected": 0, "withdrawn": 0,
}  # fmt: skip
ODD: tuple[object, ...] = (
    None, -1, 0, 7, True, "", "12", "1.5", "primary", "secondary", "city", "province", "31011",
    "３１０１１５", [], {},
)  # fmt: skip


@pytest.mark.parametrize(
    ("misfit", "record", "domain_check"),
    [
        (rv.cell_misfit, CELL, command_inputs.published_cell),
        (rv.count_misfit, COUNT, command_inputs.published_count),
    ],
    ids=["cell", "count"],
)
def test_a_published_cell_is_one_the_domain_accepts(
    misfit: Callable[[object], str | None],
    record: dict[str, Any],
    domain_check: Callable[[Any], object],
) -> None:
    samples: list[dict[str, Any]] = [record, {**record, "extra": 1}]
    samples += [{k: v for k, v in record.items() if k != key} for key in record]
    samples += [{**record, key: value} for key in record for value in ODD]
    samples += [
        {**record, "sales_fen": None, "exports_fen": None, "suppressed": suppressed}
        for suppressed in (None, "primary", "secondary", "other")
    ]
    for sample in samples:
        assert (misfit(sample) is None) == (_recorded(domain_check, sample) is not REFUSED), sample
