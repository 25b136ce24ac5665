"""Bounded values over HTTP (docs/api.md, "Ranges"), on SQLite and on PostgreSQL.

For each bounded input: the bound is accepted, one past it is 422 with the domain's code and
``details`` naming the field and the bound, and nothing is stored. The incident of issue #14 (two
conversion reports of 2**63 - 1 fen, which stalled the read models) is refused at the command;
sums at the ceiling come out of the read models exactly; the OpenAPI document shows each range
from the domain's constants.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from api.routes.conversion_commands import AMOUNT_OUT_OF_RANGE
from domain.actor import Role
from domain.benchmarks import THRESHOLD_RANGES, Unit
from domain.ranges import (
    FEN,
    INT64_MAX,
    MONEY_MAX_FEN,
    OBJECTION_DAYS,
    PATENT_COUNT_MAX,
    ROUND_YEARS,
    SUM_HEADROOM,
    YEARS,
    Range,
)
from domain.values import BEIJING, IndustryCategory
from tests.api.test_command_rejections import assert_problem, raw_post, stored
from tests.api.test_commands import (
    INSTITUTION_USCC,
    approved_filer,
    conversion_body,
    filed_product,
    product_body,
)
from tests.api.test_openapi import _document
from tests.domain.certification_factories import product
from tests.domain.factories import patent, uscc

MAX = MONEY_MAX_FEN
FIGURES = ("sales_fen", "exports_fen", "profit_fen", "ip_spending_fen")
AT_CEILING = dict.fromkeys(FIGURES, MAX)
NEXT_YEAR = datetime.now(tz=UTC).year + 1


def _out_of_range(
    api: Any, path: str, body: Any, role: Role, scope: str | None, code: str,
    field: str, bounds: tuple[int, int],
) -> dict[str, Any]:  # fmt: skip
    """``body`` is refused: 422 ``code`` naming ``field`` and ``bounds``; nothing stored."""
    before = stored(api)
    problem = assert_problem(api.post(path, body, role, scope), 422, code)
    details = problem["details"]
    assert (details["field"], details["minimum"], details["maximum"]) == (field, *bounds), problem
    assert stored(api) == before
    return problem


# --- product filings ----------------------------------------------------------------------------
def test_each_figure_and_the_data_year_are_accepted_at_their_bounds_and_refused_past_them(api):
    code = uscc(1)
    filer_id = approved_filer(api, code)
    for figure in FIGURES:
        for past in (MAX + 1, -1, INT64_MAX):
            body = product_body(filer_id, figures={**AT_CEILING, figure: past})
            _out_of_range(api, "/v1/products", body, Role.FILER, code, "money_invalid",
                          f"figures.{figure}", (FEN.minimum, FEN.maximum))  # fmt: skip
    for year in (YEARS.minimum - 1, YEARS.maximum + 1):
        body = product_body(filer_id, data_year=year)
        _out_of_range(api, "/v1/products", body, Role.FILER, code, "year_invalid",
                      "data_year", (YEARS.minimum, YEARS.maximum))  # fmt: skip
    low = filed_product(api, code, filer_id, figures=AT_CEILING, data_year=YEARS.minimum,
                        name="最早产品", model="Y-1985", patents=[_owned(1)])  # fmt: skip
    # Annex rule v1 narrows the floor of sales and the ceiling of the data year inside these
    # ranges: sales above zero, a data year not after the current one (docs/annex-rules.md).
    this_year = datetime.now(BEIJING).year
    lowest = {**dict.fromkeys(FIGURES, 0), "sales_fen": 1}
    filed_product(api, code, filer_id, figures=lowest, name="最晚产品", data_year=this_year,
                  model="Y-NOW", patents=[_owned(2)])  # fmt: skip
    before = stored(api)
    zero = api.post("/v1/products", product_body(filer_id, figures=dict.fromkeys(FIGURES, 0),
                    model="Y-0", patents=[_owned(3)]), Role.FILER, code)  # fmt: skip
    assert zero.json()["code"] == "no_market_returns"
    late = api.post("/v1/products", product_body(filer_id, data_year=YEARS.maximum,
                    model="Y-2100", patents=[_owned(4)]), Role.FILER, code)  # fmt: skip
    assert late.json()["code"] == "data_year_in_future"
    assert stored(api) == before
    row = api.state.ledger.get_product(UUID(low))
    assert (row.figures, row.data_year) == (AT_CEILING, YEARS.minimum)


def _owned(serial: int) -> dict[str, str]:
    return {"number": patent(serial), "relation": "owner"}


def test_a_revision_past_the_ceiling_is_refused_and_one_at_it_accepted(api):
    code = uscc(2)
    filer_id = approved_filer(api, code)
    product_id = filed_product(api, code, filer_id)
    assert api.post(f"/v1/products/{product_id}/approval", None, Role.REVIEWER).status_code == 200
    path = f"/v1/products/{product_id}/revisions"
    revision = {"data_year": 2023, "patents": [_owned(1)], "proof_digests": ["a" * 64]}
    body = {**revision, "figures": {**AT_CEILING, "ip_spending_fen": MAX + 1}}
    _out_of_range(api, path, body, Role.FILER, code, "money_invalid",
                  "figures.ip_spending_fen", (0, MAX))  # fmt: skip
    revised = api.post(path, {**revision, "figures": AT_CEILING}, Role.FILER, code)
    assert revised.status_code == 200, revised.json()
    assert api.state.ledger.get_product(UUID(product_id)).figures == AT_CEILING


# --- conversions: the incident ------------------------------------------------------------------
def test_the_overflowing_conversion_amounts_of_issue_14_are_refused_at_the_command(api):
    path, role = "/v1/conversions", Role.INSTITUTION
    for _ in range(2):  # the incident: two reports of 2**63 - 1 fen, both once accepted
        body = conversion_body(amount_fen=INT64_MAX)
        problem = _out_of_range(api, path, body, role, INSTITUTION_USCC, "money_invalid",
                                "amount_fen", (0, MAX))  # fmt: skip
        assert problem == AMOUNT_OUT_OF_RANGE  # the OpenAPI example is the API's answer
    for past in (MAX + 1, -1):
        _out_of_range(api, path, conversion_body(amount_fen=past), role, INSTITUTION_USCC,
                      "money_invalid", "amount_fen", (0, MAX))  # fmt: skip
    for _ in range(3):
        reported = api.post(path, conversion_body(amount_fen=MAX), role, INSTITUTION_USCC)
        assert reported.status_code == 201, reported.json()
    assert (
        api.post(path, conversion_body(amount_fen=None), role, INSTITUTION_USCC).status_code == 201
    )
    api.settle()  # the read models apply every report: the sums are exact
    live = api.headers(Role.AUDITOR)  # amounts are confidential: a platform role reads them
    for by in ("category", "institution", "region"):
        answer = api.client.get("/v1/statistics/conversions", params={"by": by}, headers=live)
        assert answer.status_code == 200, answer.json()
        assert [(r["reports"], r["amount_fen"]) for r in answer.json()["rows"]] == [(4, 3 * MAX)]


# --- sums of figures in the read models ---------------------------------------------------------
def test_figures_at_the_ceiling_sum_exactly_in_the_regional_statistics(api):
    products = 3
    for serial in range(1, products + 1):
        code = uscc(10 + serial)
        filer_id = approved_filer(api, code)
        product_id = filed_product(
            api, code, filer_id, name=f"上限产品{serial}", model=f"MAX-{serial}",
            patents=[_owned(100 + serial)], figures=AT_CEILING,
        )  # fmt: skip
        approved = api.post(f"/v1/products/{product_id}/approval", None, Role.REVIEWER)
        assert approved.status_code == 200, approved.json()
    api.settle()
    live = api.headers(Role.REVIEWER)
    for params in ({}, {"data_year": 2022}, {"level": "province"}):
        answer = api.client.get("/v1/statistics/regions", params=params, headers=live)
        assert answer.status_code == 200, answer.json()
        (region,) = answer.json()["regions"]
        assert (region["products"], region["sales_fen"], region["exports_fen"]) == (
            products, products * MAX, products * MAX,
        ), params  # fmt: skip


def test_sums_past_64_bits_stay_exact_and_are_rendered_as_digits(api, monkeypatch):
    """The sums of amounts are arbitrary-precision columns (PostgreSQL NUMERIC, SQLite TEXT):
    with the ranges lifted, amounts of 2^63 - 1 fen sum exactly past 2^64, and the API renders
    such a sum as a string of digits (docs/api.md "Ranges"). SUM_HEADROOM amounts at the
    ceiling were all a 64-bit column could hold."""
    assert (SUM_HEADROOM + 1) * MAX > INT64_MAX  # what a 64-bit column could not hold
    monkeypatch.setattr("domain.values.FEN", Range(0, INT64_MAX, "fen"))
    path, role = "/v1/conversions", Role.INSTITUTION
    for _ in range(3):
        reported = api.post(path, conversion_body(amount_fen=INT64_MAX), role, INSTITUTION_USCC)
        assert reported.status_code == 201, reported.json()
    huge = {"sales_fen": INT64_MAX, "exports_fen": INT64_MAX, "profit_fen": 0,
            "ip_spending_fen": 0}  # fmt: skip
    for serial in (1, 2):
        code = uscc(40 + serial)
        filer_id = approved_filer(api, code)
        product_id = filed_product(api, code, filer_id, model=f"HUGE-{serial}", figures=huge,
                                   patents=[_owned(400 + serial)])  # fmt: skip
        assert (
            api.post(f"/v1/products/{product_id}/approval", None, Role.REVIEWER).status_code == 200
        )
    api.settle()
    assert api.state.projections.failures() == {}  # no read model stopped
    live = api.headers(Role.REVIEWER)
    for by in ("category", "institution", "region"):
        rows = api.client.get("/v1/statistics/conversions", params={"by": by}, headers=live).json()[
            "rows"
        ]
        assert [row["amount_fen"] for row in rows] == [str(3 * INT64_MAX)]
    (region,) = api.client.get("/v1/statistics/regions", headers=live).json()["regions"]
    assert (region["sales_fen"], region["exports_fen"]) == (str(2 * INT64_MAX),) * 2
    assert region["figures_products"] == 2


# --- JSON numbers that are not integers ---------------------------------------------------------
@pytest.mark.parametrize("number", ["1.0", "1e3", "1E3", "1000.0"])
def test_a_json_number_with_a_fraction_or_an_exponent_is_request_invalid(api, number):
    code = uscc(3)
    filer_id = approved_filer(api, code)
    before = stored(api)
    bodies = (
        ("/v1/conversions", Role.INSTITUTION, INSTITUTION_USCC,
         f'{{"institution_uscc": "{INSTITUTION_USCC}", "patent_number": "{patent(9)}", '
         f'"category": "assigned", "counterparty": "x", "occurred_on": "2024-03-15", '
         f'"amount_fen": {number}}}'),
        ("/v1/products", Role.FILER, code, _product_json(filer_id, sales=number)),
        ("/v1/products", Role.FILER, code, _product_json(filer_id, year=number)),
    )  # fmt: skip
    for path, role, scope, text in bodies:
        response = raw_post(api, path, text.encode(), role, scope)
        assert assert_problem(response, 422, "request_invalid")["errors"], text
    assert stored(api) == before


def _product_json(filer_id: str, *, sales: str = "100", year: str = "2022") -> str:
    return (
        f'{{"filer_id": "{filer_id}", "name": "n", "model": "m", "category": "03", '
        f'"patents": [{{"number": "{patent(1)}", "relation": "owner"}}], "data_year": {year}, '
        f'"figures": {{"sales_fen": {sales}, "exports_fen": 0, "profit_fen": 0, '
        f'"ip_spending_fen": 0}}, "proof_digests": []}}'
    )


# --- certification ------------------------------------------------------------------------------
def _benchmarks(**row: int) -> dict[str, Any]:
    return {"note": "", "thresholds": {category.value: row for category in IndustryCategory}}


def test_thresholds_and_the_round_year_are_accepted_at_their_bounds_and_refused_past_them(api):
    path, certify = "/v1/certification/benchmarks", Role.CERTIFIER
    ceilings = {"sales_fen": MAX, "valid_patents": PATENT_COUNT_MAX, "export_share_bp": 10_000}
    assert {THRESHOLD_RANGES[u].maximum for u in Unit} == set(ceilings.values())
    for indicator, ceiling in ceilings.items():
        body = _benchmarks(**{**ceilings, indicator: ceiling + 1})
        problem = _out_of_range(api, path, body, certify, None, "benchmarks_invalid",
                                f"thresholds.01.{indicator}", (0, ceiling))  # fmt: skip
        assert problem["details"]["indicator"] == indicator
    assert api.post(path, _benchmarks(**ceilings), certify).status_code == 200

    rounds = "/v1/certification/rounds"
    for year in (ROUND_YEARS.minimum - 1, ROUND_YEARS.maximum + 1):
        _out_of_range(api, rounds, {"year": year}, certify, None, "year_invalid", "year",
                      (ROUND_YEARS.minimum, ROUND_YEARS.maximum))  # fmt: skip
    assert api.post(rounds, {"year": ROUND_YEARS.maximum}, certify).status_code == 201


def test_objection_days_and_filer_valid_patents_are_bounded(api):
    ledger, certify = api.state.ledger, Role.CERTIFIER
    code, product_id = product(ledger, 1)  # declares 2 patents, approved in 2023
    assert (
        api.post("/v1/certification/benchmarks", _benchmarks(sales_fen=1), certify).status_code
        == 200
    )
    rounds = "/v1/certification/rounds"
    assert api.post(rounds, {"year": 2023}, certify).status_code == 201
    assert api.post(f"{rounds}/2023/evaluation", None, certify).status_code == 200
    publication = f"{rounds}/2023/publication"
    bounds = (OBJECTION_DAYS.minimum, OBJECTION_DAYS.maximum)
    for days in (bounds[0] - 1, bounds[1] + 1):
        _out_of_range(api, publication, {"objection_days": days}, certify, None,
                      "certification_dates_invalid", "objection_days", bounds)  # fmt: skip
    raw = raw_post(api, publication, b'{"objection_days": 7.0}', certify)
    assert_problem(raw, 422, "request_invalid")
    published = api.post(publication, {"objection_days": bounds[1]}, certify)
    assert published.status_code == 200, published.json()

    assert api.post(rounds, {"year": NEXT_YEAR}, certify).status_code == 201
    opt_ins = f"{rounds}/{NEXT_YEAR}/opt-ins"
    for count in (1, PATENT_COUNT_MAX + 1):  # below the 2 patents declared, above the ceiling
        body = {"product_id": str(product_id), "filer_valid_patents": count}
        _out_of_range(api, opt_ins, body, Role.FILER, code, "patent_count_invalid",
                      "filer_valid_patents", (2, PATENT_COUNT_MAX))  # fmt: skip
    floating = f'{{"product_id": "{product_id}", "filer_valid_patents": 1e3}}'.encode()
    assert_problem(raw_post(api, opt_ins, floating, Role.FILER, code), 422, "request_invalid")
    body = {"product_id": str(product_id), "filer_valid_patents": PATENT_COUNT_MAX}
    assert api.post(opt_ins, body, Role.FILER, code).status_code == 201


# --- the OpenAPI document -----------------------------------------------------------------------
def test_the_openapi_document_shows_each_range_from_the_domains_constants():
    schemas = _document()["components"]["schemas"]

    def bounds(model: str, field: str) -> tuple[int, int]:
        schema = schemas[model]["properties"][field]
        schema = next((s for s in schema.get("anyOf", []) if s.get("type") == "integer"), schema)
        assert "exclusiveMaximum" not in schema
        return schema["minimum"], schema["maximum"]

    fen = (FEN.minimum, FEN.maximum)
    assert {bounds("FiguresBody", figure) for figure in FIGURES} == {fen}
    assert bounds("ReportConversion", "amount_fen") == fen
    assert bounds("FileProduct", "data_year") == (YEARS.minimum, YEARS.maximum)
    assert bounds("ReviseProduct", "data_year") == (YEARS.minimum, YEARS.maximum)
    assert bounds("OpenRound", "year") == (ROUND_YEARS.minimum, ROUND_YEARS.maximum)
    assert bounds("PublishList", "objection_days") == (
        OBJECTION_DAYS.minimum,
        OBJECTION_DAYS.maximum,
    )
    assert bounds("OptIn", "filer_valid_patents") == (0, PATENT_COUNT_MAX)
    threshold = schemas["SetBenchmarks"]["properties"]["thresholds"]["additionalProperties"]
    assert threshold["additionalProperties"]["maximum"] == max(
        THRESHOLD_RANGES[unit].maximum for unit in Unit
    )
