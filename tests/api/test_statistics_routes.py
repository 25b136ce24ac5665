"""``GET /v1/statistics/regions`` and ``/conversions``: the queries' answers, now and as of."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from domain.actor import Actor, Role
from domain.declarations import PatentDeclaration
from projections import queries
from projections.queries import ConversionGrouping, Level
from tests.domain.factories import REVIEWER, approved_filer, figures, file, patent, uscc

A = uscc(1)  # 浦东新区
B = uscc(2, region="310104")  # 徐汇区
C = uscc(3, region="320102")  # 江苏省南京市
UNIVERSITY = uscc(500, prefix="12", region="310110")  # 杨浦区
INSTITUTE = uscc(501, prefix="12", region="310104")
PROBLEM_JSON = "application/problem+json"
BAD_CHECK = UNIVERSITY[:-1] + ("0" if UNIVERSITY[-1] != "0" else "1")  # wrong check character


@dataclass(frozen=True)
class History:
    filed: int  # events once every filing is made (all pending), signed by a checkpoint
    total: int  # events in the end


def _report(ledger, code: str, serial: int, category: str, amount_fen: int) -> None:
    ledger.report_conversion(
        Actor(id=f"tto-{code}", role=Role.INSTITUTION, scope=code),
        institution_uscc=code, patent_number=patent(serial), category=category,
        counterparty="上海某某制造有限公司", occurred_on="2023-05-04", amount_fen=amount_fen,
    )  # fmt: skip


@pytest.fixture
def history(api) -> History:
    """Three filers in two provinces, five filings, three conversion reports."""
    ledger = api.state.ledger

    def one(code: str, filer_id, model: str, serial: int, **override: object):
        declared = [PatentDeclaration.parse(patent(serial), "owner")]
        return file(ledger, code, filer_id, model=model, patents=declared, **override)

    a_id = approved_filer(ledger, A)
    a1 = one(A, a_id, "A-1", 1)
    one(A, a_id, "A-2", 2)
    b_id = approved_filer(ledger, B, region="310104")
    b1 = one(B, b_id, "B-1", 3, data_year=2023, figures=figures(sales=30_000_000, exports=0))
    b2 = one(B, b_id, "B-2", 4)
    c_id = approved_filer(ledger, C, region="320102")
    c1 = one(C, c_id, "C-1", 5)
    api.settle()
    filed = ledger.recorder.max_notification_id()
    for product_id in (a1, b1, c1):
        ledger.approve_product(REVIEWER, product_id)
    ledger.reject_product(REVIEWER, b2, "证明材料不全")
    _report(ledger, UNIVERSITY, 7, "ordinary_licence", 5_000_000)
    _report(ledger, UNIVERSITY, 7, "assigned", 2_000_000)
    _report(ledger, INSTITUTE, 9, "assigned", 4_000_000)
    api.settle()
    return History(filed, ledger.recorder.max_notification_id())


def _ok(response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _problem(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def _regions(api, prefix: str = "", level: Level = Level.DISTRICT) -> list[dict[str, Any]]:
    rows = queries.region_statistics(api.state.projections, prefix=prefix, level=level)
    return [row.as_row() for row in rows]


# --- regions --------------------------------------------------------------------------------
def test_live_region_statistics_are_the_platforms_and_equal_the_queries(api, history):
    live = api.headers(Role.REVIEWER)
    body = _ok(api.client.get("/v1/statistics/regions", headers=live))
    assert (body["prefix"], body["level"], body["data_year"], body["as_of"]) == (
        "", "district", None, None,
    )  # fmt: skip
    assert body["regions"] == _regions(api)
    by_code = {row["region_code"]: row for row in body["regions"]}
    assert by_code["310115"] == {
        "region_code": "310115", "name": "浦东新区", "filers": 1, "products": 1, "pending": 1,
        "rejected": 0, "withdrawn": 0, "data_year": 2022, "data_years": [2022],
        "figures_products": 1, "sales_fen": 10_000_000, "exports_fen": 1_000_000,
    }  # fmt: skip
    assert (by_code["310104"]["rejected"], by_code["310104"]["data_year"]) == (1, 2023)
    assert by_code["310104"]["sales_fen"] == 30_000_000

    for prefix, level in (("31", Level.DISTRICT), ("3101", Level.CITY), ("", Level.PROVINCE)):
        params = {"prefix": prefix, "level": level.value} if prefix else {"level": level.value}
        answer = _ok(api.client.get("/v1/statistics/regions", headers=live, params=params))
        assert answer["regions"] == _regions(api, prefix, level), (prefix, level)
    provinces = _ok(
        api.client.get("/v1/statistics/regions", headers=live, params={"level": "province"})
    )
    assert [(r["region_code"], r["filers"], r["products"]) for r in provinces["regions"]] == [
        ("310000", 2, 2),
        ("320000", 1, 1),
    ]


def test_region_statistics_of_one_data_year_and_refused_years(api, history):
    live = api.headers(Role.REVIEWER)
    for year in (2022, 2023):
        body = _ok(
            api.client.get("/v1/statistics/regions", headers=live, params={"data_year": year})
        )
        assert body["data_year"] == year
        want = queries.region_statistics(api.state.projections, data_year=year)
        assert body["regions"] == [row.as_row() for row in want]
        assert {row["data_year"] for row in body["regions"]} == {year}
    before = _ok(api.client.get("/v1/statistics/regions", headers=live))
    for bad in ("1984", "10000", "2022.0", "latest", ""):
        _problem(
            api.client.get("/v1/statistics/regions", headers=live, params={"data_year": bad}),
            422,
            "request_invalid",
        )
    assert _ok(api.client.get("/v1/statistics/regions", headers=live)) == before


def test_a_regional_admin_reads_the_statistics_of_its_region_only(api, history):
    xuhui = api.headers(Role.REGIONAL_ADMIN, "310104")
    body = _ok(api.client.get("/v1/statistics/regions", headers=xuhui))
    assert body["prefix"] == "310104"
    assert body["regions"] == _regions(api, "310104")
    assert [row["region_code"] for row in body["regions"]] == ["310104"]
    city = _ok(api.client.get("/v1/statistics/regions", headers=xuhui, params={"level": "city"}))
    assert [(r["region_code"], r["filers"]) for r in city["regions"]] == [("310100", 1)]
    for outside in ("310115", "31", "32"):  # outside its region: what the public reads
        public = api.client.get("/v1/statistics/regions", params={"prefix": outside})
        mine = api.client.get("/v1/statistics/regions", headers=xuhui, params={"prefix": outside})
        assert (mine.status_code, mine.json()) == (public.status_code, public.json())
        assert mine.status_code == 404  # nothing published yet


def test_as_of_answers_replay_a_prefix_of_the_log_for_token_holders(api, history):
    path = "/v1/statistics/regions"
    reviewer = api.headers(Role.REVIEWER)
    for params in ({"tree_size": history.filed}, {"as_of": "2999-12-31"}):
        problem = _problem(api.client.get(path, params=params), 401, "not_authenticated")
        assert "token" in problem["detail"]

    before = _ok(api.client.get(path, headers=reviewer, params={"tree_size": history.filed}))
    assert before["as_of"]["tree_size"] == history.filed
    assert before["as_of"]["checkpoint_size"] == history.filed  # the first settle signed it
    by_code = {row["region_code"]: row for row in before["regions"]}
    assert (by_code["310115"]["products"], by_code["310115"]["pending"]) == (0, 2)
    assert (by_code["310104"]["rejected"], by_code["310104"]["sales_fen"]) == (0, 0)

    now = _ok(api.client.get(path, headers=reviewer, params={"as_of": "2999-12-31"}))
    assert now["as_of"]["tree_size"] == history.total
    assert now["regions"] == _regions(api)
    zoned = _ok(api.client.get(path, headers=reviewer, params={"as_of": "2999-12-31T00:00:00Z"}))
    assert zoned["regions"] == now["regions"]
    empty = _ok(api.client.get(path, headers=reviewer, params={"as_of": "2000-01-01"}))
    assert (empty["as_of"]["tree_size"], empty["regions"]) == (0, [])

    xuhui = api.headers(Role.REGIONAL_ADMIN, "310104")
    confined = _ok(api.client.get(path, headers=xuhui, params={"tree_size": history.filed}))
    assert [row["region_code"] for row in confined["regions"]] == ["310104"]

    for params in (
        {"tree_size": history.total + 1},  # beyond the log
        {"tree_size": 3, "as_of": "2999-12-31"},  # both
    ):
        _problem(api.client.get(path, headers=reviewer, params=params), 422, "query_invalid")
    for params in ({"as_of": "yesterday"}, {"as_of": "2023-06-30T12:00:00"}, {"as_of": "0"}):
        _problem(api.client.get(path, headers=reviewer, params=params), 422, "request_invalid")
    extreme = {"as_of": "9999-12-31T23:59:59-14:00"}  # after every event, beyond UTC's range
    assert _ok(api.client.get(path, headers=reviewer, params=extreme))["regions"] == now["regions"]
    earliest = {"as_of": "0001-01-01T00:00:00+14:00"}
    assert _ok(api.client.get(path, headers=reviewer, params=earliest))["regions"] == []


def test_bad_statistics_parameters_are_422_problems(api, history):
    cases = [
        ("/v1/statistics/regions", {"prefix": "3x"}, "request_invalid"),
        ("/v1/statistics/regions", {"prefix": "3101150"}, "request_invalid"),
        ("/v1/statistics/regions", {"level": "county"}, "request_invalid"),
        ("/v1/statistics/regions", {"tree_size": -1}, "request_invalid"),
        ("/v1/statistics/conversions", {"by": "year"}, "request_invalid"),
        ("/v1/statistics/conversions", {"by": "region", "region": "x"}, "request_invalid"),
        ("/v1/statistics/conversions", {"institution_uscc": "12"}, "request_invalid"),
        (
            "/v1/statistics/conversions",
            {"institution_uscc": UNIVERSITY[:-1] + "0"},
            "query_invalid",
        ),
        ("/v1/statistics/conversions", {"institution_uscc": UNIVERSITY}, "query_invalid"),
        ("/v1/statistics/conversions", {"by": "institution", "region": "31"}, "query_invalid"),
    ]
    for path, params, code in cases:
        _problem(api.client.get(path, params=params), 422, code)


# --- conversions ----------------------------------------------------------------------------
def test_conversion_statistics_are_public_and_their_amounts_are_not(api, history):
    store = api.state.projections
    auditor = api.headers(Role.AUDITOR)
    for by in ConversionGrouping:
        body = _ok(api.client.get("/v1/statistics/conversions", params={"by": by.value}))
        assert (body["by"], body["as_of"]) == (by.value, None)
        want = queries.conversion_statistics(store, by=by)
        assert body["rows"] == [{**row, "amount_fen": None} for row in want], by
        seen = _ok(api.client.get("/v1/statistics/conversions", params={"by": by.value},
                                  headers=auditor))  # fmt: skip
        assert seen["rows"] == want, by
    own = _ok(api.client.get(
        "/v1/statistics/conversions", params={"by": "institution"},
        headers=api.headers(Role.INSTITUTION, UNIVERSITY),
    ))["rows"]  # fmt: skip
    assert {row["institution_uscc"] for row in own if row["amount_fen"] is not None} == {UNIVERSITY}
    rows = _ok(api.client.get("/v1/statistics/conversions", headers=auditor))["rows"]
    assert [(r["category"], r["reports"], r["patents"], r["amount_fen"]) for r in rows] == [
        ("assigned", 2, 2, 6_000_000),
        ("ordinary_licence", 1, 1, 5_000_000),
    ]  # fmt: skip
    one = _ok(
        api.client.get(
            "/v1/statistics/conversions",
            params={"by": "institution", "institution_uscc": UNIVERSITY.lower()},
            headers=auditor,
        )
    )
    assert {row["institution_uscc"] for row in one["rows"]} == {UNIVERSITY}
    assert one["rows"] == queries.conversion_statistics(
        store, by=ConversionGrouping.INSTITUTION, institution_uscc=UNIVERSITY
    )
    xuhui = _ok(
        api.client.get(
            "/v1/statistics/conversions",
            params={"by": "region", "region": "310104"},
            headers=auditor,
        )
    )
    assert [(r["region_code"], r["category"], r["amount_fen"]) for r in xuhui["rows"]] == [
        ("310104", "assigned", 4_000_000)
    ]
    replayed = _ok(
        api.client.get(
            "/v1/statistics/conversions",
            headers=api.headers(Role.AUDITOR),
            params={"tree_size": history.filed},
        )
    )
    assert (replayed["as_of"]["tree_size"], replayed["rows"]) == (history.filed, [])


def test_a_regional_admin_reads_conversions_of_its_region_only(api, history):
    xuhui = api.headers(Role.REGIONAL_ADMIN, "310104")
    path = "/v1/statistics/conversions"
    _problem(api.client.get(path, headers=xuhui), 403, "forbidden")  # by=category spans regions
    by_region = _ok(api.client.get(path, headers=xuhui, params={"by": "region"}))
    assert [(r["region_code"], r["reports"]) for r in by_region["rows"]] == [("310104", 1)]
    _problem(
        api.client.get(path, headers=xuhui, params={"by": "region", "region": "310110"}),
        403, "forbidden",
    )  # fmt: skip
    by_institution = _ok(api.client.get(path, headers=xuhui, params={"by": "institution"}))
    assert [r["institution_uscc"] for r in by_institution["rows"]] == [INSTITUTE]
    _problem(
        api.client.get(
            path, headers=xuhui, params={"by": "institution", "institution_uscc": UNIVERSITY}
        ),
        403, "forbidden",
    )  # fmt: skip
    shanghai = api.headers(Role.REGIONAL_ADMIN, "31")
    everything = _ok(api.client.get(path, headers=shanghai, params={"by": "institution"}))
    assert {r["institution_uscc"] for r in everything["rows"]} == {UNIVERSITY, INSTITUTE}


def test_the_statistics_routes_are_documented_in_openapi(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/statistics/regions", "/v1/statistics/conversions"):
        operation = paths[path]["get"]
        assert operation["summary"]
        assert {"200", "401", "403", "422", "503"} <= set(operation["responses"])
        names = {parameter["name"] for parameter in operation["parameters"]}
        assert {"tree_size", "as_of"} <= names


def test_an_institution_under_a_retired_code_counts_in_its_districts_region(api):
    """A USCC printed with 卢湾区's retired 310103 is 黄浦区 (310101): its admin sees it."""
    luwan = uscc(61, prefix="12", region="310103")
    _report(api.state.ledger, luwan, 61, "assigned", 1_000_000)
    api.settle()
    huangpu = api.headers(Role.REGIONAL_ADMIN, "310101")
    wanted = {"by": "institution", "institution_uscc": luwan}
    answer = _ok(api.client.get("/v1/statistics/conversions", headers=huangpu, params=wanted))
    assert [(r["institution_uscc"], r["amount_fen"]) for r in answer["rows"]] == [
        (luwan, 1_000_000)
    ]
    elsewhere = api.headers(Role.REGIONAL_ADMIN, "310104")
    refused = api.client.get("/v1/statistics/conversions", headers=elsewhere, params=wanted)
    _problem(refused, 403, "forbidden")
