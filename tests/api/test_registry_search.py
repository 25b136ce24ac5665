"""``GET /v1/products?q=…&patent=…&filing_number=…``: the registry's search (issue #17), and the
filing number a filing shows (docs/filing-numbers.md). On SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

from domain.actor import Role
from domain.declarations import PatentDeclaration
from domain.values import PatentNumber
from projections import queries
from tests.domain.factories import (
    REVIEWER,
    approve_as_distinct,
    approved_filer,
    file,
    patent,
    uscc,
)

A = uscc(11)  # 浦东新区
B = uscc(12, region="310104")  # 徐汇区


@dataclass(frozen=True)
class Shelf:
    percent: UUID  # 精密阀门 50%型, model X-A_1, patent 21
    five_hundred: UUID  # 精密阀门 500型, model X-AB1, patent 22
    latin: UUID  # Smart Valve TV-100 of B, patent 23
    pending: UUID  # 待审产品 of B, not approved, patent 24


def _patents(serial: int) -> list[PatentDeclaration]:
    return [PatentDeclaration.parse(patent(serial), "owner")]


@pytest.fixture
def shelf(api) -> Shelf:
    ledger = api.state.ledger
    a = approved_filer(ledger, A)
    b = approved_filer(ledger, B, region="310104")
    percent = file(ledger, A, a, name="精密阀门 50%型", model="X-A_1", patents=_patents(21))
    hundred = file(ledger, A, a, name="精密阀门 500型", model="X-AB1", patents=_patents(22))
    latin = file(ledger, B, b, name="Smart Valve", model="TV-100", patents=_patents(23))
    pending = file(ledger, B, b, name="待审产品", model="P-1", patents=_patents(24))
    for product_id in (percent, hundred, latin):
        approve_as_distinct(ledger, product_id)
    api.settle()
    return Shelf(percent, hundred, latin, pending)


def _ids(api, headers: dict[str, str] | None = None, **params: Any) -> set[UUID]:
    response = api.client.get("/v1/products", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    return {UUID(item["product_id"]) for item in response.json()["items"]}


def test_q_finds_a_name_a_model_or_a_filer_name_in_any_case(api, shelf):
    assert _ids(api, q="精密阀门") == {shelf.percent, shelf.five_hundred}
    assert _ids(api, q="smart VALVE") == {shelf.latin}
    assert _ids(api, q="tv-1") == {shelf.latin}  # a model, another case
    assert _ids(api, q="  tv-100  ") == {shelf.latin}  # trimmed
    assert _ids(api, q=f"科技有限公司{B[-4:]}") == {shelf.latin}  # the filer's name
    assert _ids(api, q="没有这个") == set()


def test_percent_and_underscore_in_q_are_literal(api, shelf):
    assert _ids(api, q="50%") == {shelf.percent}  # not "500型": % is no wildcard
    assert _ids(api, q="a_1") == {shelf.percent}  # not "X-AB1": _ is no wildcard
    assert _ids(api, q="%") == {shelf.percent}
    assert _ids(api, q="_") == {shelf.percent}
    assert _ids(api, q="\\") == set()


def test_q_equal_to_a_uscc_a_patent_or_a_filing_number_finds_its_filings(api, shelf):
    assert _ids(api, q=B.lower()) == {shelf.latin}  # the pending one is not public
    assert _ids(api, q=patent(21)) == {shelf.percent}  # ZL prefix and dot: any spelling
    assert _ids(api, q=PatentNumber.parse(patent(22)).value) == {shelf.five_hundred}
    number = api.state.ledger.get_product(shelf.latin).filing_number
    assert _ids(api, q=number) == {shelf.latin}


def test_patent_and_filing_number_filter_exactly(api, shelf):
    assert _ids(api, patent=patent(23)) == {shelf.latin}
    assert _ids(api, patent=patent(99)) == set()  # a patent no filing declares
    number = api.state.ledger.get_product(shelf.percent).filing_number
    assert _ids(api, filing_number=number) == {shelf.percent}
    assert _ids(api, filing_number=number, q="Smart") == set()  # filters narrow each other
    assert _ids(api, filing_number="2099-310115-00001") == set()


def test_search_never_shows_more_than_the_caller_sees(api, shelf):
    assert _ids(api, q="待审") == set()  # anonymous: approved filings only
    assert _ids(api, api.headers(Role.FILER, A), q="待审") == set()  # another filer's
    assert _ids(api, api.headers(Role.FILER, B), q="待审") == {shelf.pending}  # its own
    assert _ids(api, api.headers(Role.REGIONAL_ADMIN, "310104"), q="待审") == {shelf.pending}
    assert _ids(api, api.headers(Role.REGIONAL_ADMIN, "310115"), q="待审") == set()
    assert _ids(api, api.headers("reviewer"), q=patent(24)) == {shelf.pending}
    assert _ids(api, patent=patent(24)) == set()


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"q": "   "}, "query_invalid"),  # empty after trimming
        ({"q": "阀" * 101}, "query_invalid"),
        ({"q": ""}, "request_invalid"),  # the OpenAPI minimum
        ({"patent": "ZL202310123456.7"}, "query_invalid"),  # a wrong check digit
        ({"filing_number": "2023-310115-0001"}, "request_invalid"),  # the pattern
        ({"filing_number": "2023-310115-000001"}, "request_invalid"),  # a zero past 5 digits
    ],
)
def test_a_search_that_cannot_be_answered_is_a_422_problem(api, shelf, params, code):
    response = api.client.get("/v1/products", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def test_a_q_of_100_characters_is_answered(api, shelf):
    assert _ids(api, q="阀" * 100) == set()


def test_a_filing_shows_its_filing_number_to_everyone(api, shelf):
    ledger = api.state.ledger
    number = ledger.get_product(shelf.percent).filing_number
    assert number is not None
    assert number.endswith("-310115-00001")
    public = api.client.get(f"/v1/products/{shelf.percent}").json()
    assert public["filing_number"] == number
    listed = api.client.get("/v1/products", params={"q": "50%"}).json()["items"]
    assert [item["filing_number"] for item in listed] == [number]
    pending = api.client.get(f"/v1/products/{shelf.pending}", headers=api.headers("reviewer"))
    assert pending.json()["filing_number"] is None
    found = queries.product_by_filing_number(api.state.projections, number)
    assert found is not None
    assert found["product_id"] == str(shelf.percent)
    assert queries.product_by_filing_number(api.state.projections, "2099-310115-00001") is None


def test_the_openapi_document_describes_the_search(api):
    document = api.client.get("/openapi.json").json()
    parameters = {p["name"]: p for p in document["paths"]["/v1/products"]["get"]["parameters"]}
    assert {"q", "patent", "filing_number"} <= set(parameters)
    assert "%" in parameters["q"]["description"]
    assert parameters["filing_number"]["schema"]["anyOf"][0]["pattern"].startswith("^[0-9]{4}")
    view = document["components"]["schemas"]["ProductView"]["properties"]
    assert "filing_number" in view


def test_an_approval_by_the_api_reviewer_is_numbered(api, shelf):
    ledger = api.state.ledger
    ledger.approve_product(REVIEWER, shelf.pending)
    api.settle()
    number = ledger.get_product(shelf.pending).filing_number
    assert number is not None
    assert number.endswith("-310104-00002")
    assert _ids(api, filing_number=number) == {shelf.pending}
