"""The annual certification over HTTP, on SQLite and PostgreSQL.

The filings are made on the ledger directly with the clock "in 2023" (deadlines are in the
past for a clock the API cannot set); the round is then opened, evaluated, published and
objected to through the API, at the real time — after 2023's review deadline, and inside an
objection window that opens now. What each caller sees of the result is read back through the
API: the certified list (public once published, without figures), the ineligible list, a
decision explained, objections, and the product registry's certification history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from domain.actor import Role
from domain.values import IndustryCategory
from tests.api.test_commands import assert_written
from tests.domain.certification_factories import CERTIFIER, THRESHOLDS, at, product
from tests.domain.factories import filer_actor, uscc

PROBLEM_JSON = "application/problem+json"
XUHUI = "310104"
BENCHMARKS = {"note": "API test", "thresholds": {c.value: THRESHOLDS for c in IndustryCategory}}
NEXT_YEAR = datetime.now(tz=UTC).year + 1  # a round whose filing deadline is still ahead


@dataclass
class Round:
    """Round 2023 opened through the API over five filings made in 2023."""

    certified: tuple[str, str]  # (filer USCC, product id): meets the benchmarks (Pudong)
    other: tuple[str, str]  # a second certified one (Xuhui)
    low: tuple[str, str]  # evaluated, sales too low (Xuhui)
    pending: tuple[str, str]  # never approved
    outdated: tuple[str, str]  # data year 2021


def _ids(pair: tuple[str, Any]) -> tuple[str, str]:
    return pair[0], str(pair[1])


@pytest.fixture
def round_2023(api: Any) -> Round:
    ledger = api.state.ledger
    made = Round(
        certified=_ids(product(ledger, 1)),
        other=_ids(product(ledger, 5, region=XUHUI)),
        low=_ids(product(ledger, 2, sales=1, region=XUHUI)),
        pending=_ids(product(ledger, 3, approve=False)),
        outdated=_ids(product(ledger, 4, data_year=2021)),
    )
    assert_written(api.post("/v1/certification/benchmarks", BENCHMARKS, Role.CERTIFIER), 200, 1)
    opened = api.post("/v1/certification/rounds", {"year": 2023}, Role.CERTIFIER)
    assert_written(opened, 201, 1)
    assert opened.headers["location"] == "/v1/certification/rounds/2023"
    return made


def _get(api: Any, path: str, role: Role | None = None, scope: str | None = None, **query: Any):
    return api.client.get(path, params=query or None, headers=api.headers(role, scope))


def _items(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.json()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _evaluated_and_published(api: Any) -> None:
    ran = api.post("/v1/certification/rounds/2023/evaluation", None, Role.CERTIFIER)
    assert ran.status_code == 200, ran.json()
    published = api.post(
        "/v1/certification/rounds/2023/publication", {"objection_days": 5}, Role.CERTIFIER
    )
    assert published.status_code == 200, published.json()
    api.settle()


def test_a_round_is_evaluated_and_its_certified_list_published_through_the_api(api, round_2023):
    ran = api.post("/v1/certification/rounds/2023/evaluation", {}, Role.CERTIFIER)
    assert ran.status_code == 200, ran.json()
    assert ran.json() == {
        "year": 2023, "benchmark_version": 1, "certified": 2, "not_certified": 1,
        "not_eligible": 2, "not_eligible_by_reason": {"data_year_outdated": 1, "not_approved": 1},
        "already_decided": 0, "withdrawn": 0,
    }  # fmt: skip
    again = api.post("/v1/certification/rounds/2023/evaluation", None, Role.CERTIFIER).json()
    assert (again["certified"], again["already_decided"]) == (0, 5)
    api.settle()

    # Before publication the list is the certifier's alone (with the explanation).
    assert _items(_get(api, "/v1/certification/rounds/2023/certified")) == []
    internal = _items(_get(api, "/v1/certification/rounds/2023/certified", Role.CERTIFIER))
    assert {i["product_id"] for i in internal} == {round_2023.certified[1], round_2023.other[1]}
    assert {i["published"] for i in internal} == {False}
    assert [i["indicator"] for i in internal[0]["indicators"]] == sorted(THRESHOLDS)
    assert "certified" not in _get(api, "/v1/certification/rounds/2023").json()

    published = api.post(
        "/v1/certification/rounds/2023/publication", {"objection_days": 5}, Role.CERTIFIER
    )
    body = assert_written(published, 200, 3)
    assert body["published_certified"] == 2
    api.settle()

    # Anyone sees the published list: public fields, no figures; a page at a time.
    first = _get(api, "/v1/certification/rounds/2023/certified", limit=1).json()
    second = _get(api, "/v1/certification/rounds/2023/certified", limit=1,
                  cursor=first["next_cursor"]).json()  # fmt: skip
    assert second["next_cursor"] is None
    listed = [*first["items"], *second["items"]]
    assert sorted(i["product_id"] for i in listed) == sorted(
        [round_2023.certified[1], round_2023.other[1]]
    )
    for item in listed:
        assert not {"inputs", "indicators", "reasons", "product_version"} & set(item)
        assert (item["name"], item["status"]) == ("智能温控阀", "certified")
        assert item["published"] is True
    xuhui = _items(_get(api, "/v1/certification/rounds/2023/certified", region=XUHUI))
    assert [i["product_id"] for i in xuhui] == [round_2023.other[1]]
    round_ = _get(api, "/v1/certification/rounds/2023").json()
    assert (round_["status"], round_["published_certified"], round_["certified"]) == (
        "published", 2, 2,
    )  # fmt: skip


def test_an_upheld_objection_revokes_a_certification_through_the_api(api, round_2023):
    _evaluated_and_published(api)
    # Objections during the window: another filer, a reviewer.
    code, certified = round_2023.certified
    objector = round_2023.low[0]
    filed = api.post("/v1/certification/rounds/2023/objections",
                     {"product_id": certified, "reason": "虚报"}, Role.FILER, objector)  # fmt: skip
    objection = assert_written(filed, 201, 1)["objection_id"]
    assert filed.headers["location"] == f"/v1/certification/rounds/2023/objections/{objection}"
    second_objection = api.post("/v1/certification/rounds/2023/objections",
                                {"product_id": certified, "reason": "专利无效"},
                                Role.REVIEWER).json()["objection_id"]  # fmt: skip
    api.settle()
    as_objector = _get(api, f"/v1/certification/rounds/2023/objections/{objection}",
                       Role.FILER, objector)  # fmt: skip
    assert as_objector.status_code == 200
    assert as_objector.headers["etag"] == '"1"'
    assert "objector_id" not in as_objector.json()
    as_certifier = _get(api, f"/v1/certification/rounds/2023/objections/{objection}",
                        Role.CERTIFIER).json()  # fmt: skip
    assert (as_certifier["objector_role"], as_certifier["objector_scope"]) == ("filer", objector)
    own = _items(_get(api, "/v1/certification/rounds/2023/objections", Role.FILER, code))
    assert {o["objection_id"] for o in own} == {objection, second_objection}  # against its own
    assert _items(_get(api, "/v1/certification/rounds/2023/objections", Role.FILER,
                       round_2023.outdated[0])) == []  # fmt: skip

    # The certifier upholds one (If-Match: the objection's version) and dismisses the other.
    path = f"/v1/certification/rounds/2023/objections/{objection}"
    stale = api.post(f"{path}/upholding", {"reason": "属实"}, Role.CERTIFIER, if_match='"7"')
    assert (stale.status_code, stale.json()["code"]) == (412, "version_mismatch")
    upheld = api.post(f"{path}/upholding", {"reason": "属实"}, Role.CERTIFIER, if_match='"1"')
    assert assert_written(upheld, 200, 2)["status"] == "upheld"
    dismissed = api.post(f"/v1/certification/rounds/2023/objections/{second_objection}/dismissal",
                         {"reason": "证据不足"}, Role.CERTIFIER)  # fmt: skip
    assert assert_written(dismissed, 200, 2)["status"] == "dismissed"
    api.settle()

    # The revoked product leaves the list; its history shows why, to those who may see it.
    after = _items(_get(api, "/v1/certification/rounds/2023/certified"))
    assert [i["product_id"] for i in after] == [round_2023.other[1]]
    public = _get(api, f"/v1/products/{certified}").json()["certifications"]
    assert [(c["year"], c["status"], c["published"]) for c in public] == [(2023, "revoked", True)]
    assert not {"revocation_reason", "objections", "reasons"} & set(public[0])
    (history,) = _get(api, f"/v1/products/{certified}", Role.FILER, code).json()["certifications"]
    assert (history["status"], history["revocation_reason"]) == ("revoked", "属实")
    assert [(o["objection_id"], o["status"]) for o in history["objections"]] == [
        (objection, "upheld"), (second_objection, "dismissed"),
    ]  # fmt: skip
    counts = _get(api, "/v1/certification/rounds/2023").json()
    assert (counts["certified"], counts["revoked"], counts["objections"]) == (1, 1, 2)

    trail = _get(api, f"/v1/products/{certified}/trail", Role.REVIEWER).json()["events"]
    assert [e["event_type"] for e in trail][-7:] == [
        "Certified", "CertifiedListPublished", "ObjectionFiled", "ObjectionFiled",
        "ObjectionUpheld", "CertificationRevoked", "ObjectionDismissed",
    ]  # fmt: skip
    assert all(e["leaf_index"] is not None for e in trail)


def test_a_decision_is_explained_to_those_who_see_the_figures(api, round_2023):
    _evaluated_and_published(api)
    code, low = round_2023.low
    path = f"/v1/certification/rounds/2023/products/{low}"
    assert _get(api, path).status_code == 404  # not certified: not published, not public
    assert _get(api, path, Role.FILER, round_2023.certified[0]).status_code == 404
    explained = _get(api, path, Role.FILER, code).json()
    assert explained["status"] == "not_certified"
    assert explained["inputs"]["sales_fen"] == 1
    assert [(i["indicator"], i["passed"]) for i in explained["indicators"]] == [
        ("invention_patents", True), ("patent_use_share_bp", None), ("sales_fen", False),
    ]  # fmt: skip
    assert _get(api, path, Role.REGIONAL_ADMIN, XUHUI).json()["indicators"]
    assert _get(api, path, Role.REGIONAL_ADMIN, "310115").status_code == 404

    certified = f"/v1/certification/rounds/2023/products/{round_2023.certified[1]}"
    public = _get(api, certified).json()
    assert (public["status"], public["published"]) == ("certified", True)
    assert "indicators" not in public


def test_the_ineligible_list_shows_each_caller_what_it_may_see(api, round_2023):
    _evaluated_and_published(api)
    path = "/v1/certification/rounds/2023/ineligible"
    everything = _items(_get(api, path, Role.REVIEWER))
    assert {i["product_id"]: [r["reason"] for r in i["reasons"]] for i in everything} == {
        round_2023.pending[1]: ["not_approved"],
        round_2023.outdated[1]: ["data_year_outdated"],
    }
    assert [i["product_id"] for i in _items(_get(api, path, Role.AUDITOR, reason="not_approved"))
            ] == [round_2023.pending[1]]  # fmt: skip
    code, pending = round_2023.pending
    assert [i["product_id"] for i in _items(_get(api, path, Role.FILER, code))] == [pending]
    assert _items(_get(api, path, Role.FILER, code, filer_uscc=round_2023.outdated[0])) == []
    assert _items(_get(api, path, Role.REGIONAL_ADMIN, XUHUI)) == []
    assert len(_items(_get(api, path, Role.REGIONAL_ADMIN, "310115"))) == 2
    assert _get(api, path, Role.REGIONAL_ADMIN, "310115", region=XUHUI).status_code == 403
    assert _get(api, path).status_code == 401
    assert _get(api, path, Role.INSTITUTION, uscc(7, prefix="12")).status_code == 403
    assert _get(api, "/v1/certification/rounds/2031/ineligible", Role.REVIEWER).status_code == 404


def test_a_filer_opts_in_to_next_years_round_once(api, round_2023):
    opened = api.post("/v1/certification/rounds", {"year": NEXT_YEAR}, Role.CERTIFIER)
    assert_written(opened, 201, 1)
    code, product_id = round_2023.certified
    path = f"/v1/certification/rounds/{NEXT_YEAR}/opt-ins"
    body = {"product_id": product_id, "filer_valid_patents": 4}
    opted = assert_written(api.post(path, body, Role.FILER, code), 201, 1)
    assert (opted["year"], opted["product_id"]) == (NEXT_YEAR, product_id)
    twice = api.post(path, {"product_id": product_id}, Role.FILER, code)
    assert (twice.status_code, twice.json()["code"]) == (409, "already_opted_in")
    other = api.post(path, {"product_id": round_2023.other[1]}, Role.FILER, code)
    assert (other.status_code, other.json()["code"]) == (403, "product_not_owned")
    hidden = api.post(path, {"product_id": round_2023.pending[1]}, Role.FILER, code)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "product_not_found")
    too_few = api.post(path, {"product_id": round_2023.other[1], "filer_valid_patents": 1},
                       Role.FILER, round_2023.other[0])  # fmt: skip
    assert (too_few.status_code, too_few.json()["code"]) == (422, "patent_count_invalid")
    early = api.post(f"/v1/certification/rounds/{NEXT_YEAR}/evaluation", None, Role.CERTIFIER)
    assert (early.status_code, early.json()["code"]) == (409, "evaluation_too_early")
    api.settle()
    rounds = _items(_get(api, "/v1/certification/rounds"))
    assert [(r["year"], r["opt_in_required"]) for r in rounds] == [
        (2023, False), (NEXT_YEAR, True),
    ]  # fmt: skip


def _refused(api, path, body, role, scope=None, **headers) -> tuple[int, str]:
    """A refused command: its status and code, having stored nothing."""
    before = api.state.ledger.recorder.max_notification_id()
    response = api.post(path, body, role, scope, **headers)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.text
    assert api.state.ledger.recorder.max_notification_id() == before
    return response.status_code, response.json()["code"]


def test_refused_certification_commands_store_nothing(api, round_2023):
    rounds, certify = "/v1/certification/rounds", Role.CERTIFIER
    assert _refused(api, rounds, {"year": 2022}, certify) == (422, "year_invalid")
    assert _refused(api, rounds, {"year": 2023}, certify) == (409, "certification_round_exists")
    assert _refused(api, rounds, {"year": 2026, "review_deadline": "2026-02-30"}, certify) == (
        422, "date_invalid",
    )  # fmt: skip
    assert _refused(api, rounds, {"year": 2026, "filing_deadline": "2026-10-01"}, certify) == (
        422, "certification_dates_invalid",
    )  # fmt: skip
    assert _refused(api, rounds, {"year": 2026}, Role.REVIEWER) == (403, "forbidden")
    assert _refused(api, rounds, {"year": 2026}, None) == (401, "not_authenticated")
    assert _refused(api, f"{rounds}/1999/evaluation", None, certify) == (422, "request_invalid")
    assert _refused(api, f"{rounds}/2030/evaluation", None, certify) == (
        404, "certification_round_not_found",
    )  # fmt: skip
    assert _refused(api, f"{rounds}/2023/publication", None, certify) == (
        409, "certification_round_state",
    )  # fmt: skip
    missing = {"note": "", "thresholds": {"01": THRESHOLDS}}
    benchmarks = "/v1/certification/benchmarks"
    assert _refused(api, benchmarks, missing, certify) == (422, "benchmarks_invalid")
    fractional = {"thresholds": {c.value: {"sales_fen": 1.5} for c in IndustryCategory}}
    assert _refused(api, benchmarks, fractional, certify) == (422, "request_invalid")
    assert _refused(api, benchmarks, BENCHMARKS, certify, if_match='"3"') == (
        412, "version_mismatch",
    )  # fmt: skip

    ran = api.post(f"{rounds}/2023/evaluation", None, certify)
    assert ran.status_code == 200
    assert _refused(api, f"{rounds}/2023/publication", {"objection_days": 0}, certify) == (
        422, "certification_dates_invalid",
    )  # fmt: skip
    code, certified = round_2023.certified
    objection = {"product_id": certified, "reason": "虚报"}
    assert _refused(api, f"{rounds}/2023/objections", objection, Role.FILER, code) == (
        403, "actor_not_permitted",  # its own product
    )  # fmt: skip
    # Not published yet: a filer learns nothing of the decision; a reviewer sees its status.
    other = round_2023.low[0]
    assert _refused(api, f"{rounds}/2023/objections", objection, Role.FILER, other) == (
        404, "certification_not_found",
    )  # fmt: skip
    assert _refused(api, f"{rounds}/2023/objections", objection, Role.REVIEWER) == (
        409, "product_not_certified",
    )  # fmt: skip
    assert _refused(api, f"{rounds}/2023/objections", objection, certify) == (403, "forbidden")
    unknown = f"{rounds}/2023/objections/{uuid4()}/upholding"
    assert _refused(api, unknown, {"reason": "x"}, certify) == (404, "objection_not_found")


def test_objections_after_the_window_are_refused(api, round_2023):
    ledger = api.state.ledger
    with at(2023, 9, 5):
        ledger.certification.run_certification(CERTIFIER, 2023)
    with at(2023, 9, 10):
        ledger.certification.publish_certified_list(CERTIFIER, 2023, objection_days=5)
        objection_id = ledger.certification.file_objection(
            filer_actor(round_2023.low[0]), 2023, round_2023.certified[1], "虚报"
        )
    late = {"product_id": round_2023.certified[1], "reason": "专利无效"}
    assert _refused(api, "/v1/certification/rounds/2023/objections", late, Role.REVIEWER) == (
        409, "objection_window_closed",
    )  # fmt: skip
    # Decided after the window, as the domain allows; in another round's path it is not found.
    wrong_round = f"/v1/certification/rounds/2024/objections/{objection_id}/dismissal"
    assert _refused(api, wrong_round, {"reason": "x"}, Role.CERTIFIER) == (
        404, "objection_not_found",
    )  # fmt: skip
    path = f"/v1/certification/rounds/2023/objections/{objection_id}/dismissal"
    assert_written(api.post(path, {"reason": "证据不足"}, Role.CERTIFIER), 200, 2)
    assert _refused(api, path, {"reason": "again"}, Role.CERTIFIER) == (409, "objection_not_open")
