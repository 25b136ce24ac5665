"""Ids over HTTP: a derived kind of id is 422 ``id_not_allowed``; a squat 409 ``id_conflict``.

Every place a client may choose an aggregate id (``filing_id`` on ``POST /v1/products``,
``objection_id`` on ``POST /v1/certification/rounds/{year}/objections``) refuses a name-based
(version 3 or 5), nil or max UUID, storing nothing. A derived id squatted before that guard
(forged here straight into the store) answers 409 with a stable problem type, never 500; the
holder's kind is named to platform roles only.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_DNS, UUID, uuid3, uuid4

import pytest

from domain.actor import Role
from domain.certification_round import round_id_for
from domain.filer import filer_id_for
from tests.api.test_commands import approved_filer, filer_body, product_body
from tests.domain.factories import uscc
from tests.domain.test_ids import SQUATTER, squat

DERIVED_KINDS = [
    ("a future round's id", round_id_for(2031)),
    ("a filer's id", filer_id_for(uscc(299))),
    ("a name-based MD5 id", uuid3(NAMESPACE_DNS, "example.cn")),
    ("the nil UUID", UUID(int=0)),
    ("the max UUID", UUID(int=(1 << 128) - 1)),
]


def _stored(api: Any) -> int:
    return int(api.state.ledger.recorder.max_notification_id() or 0)


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.json()
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert (body["type"], body["code"], body["status"]) == (f"/problems/{code}", code, status)
    return body


@pytest.mark.parametrize(("desc", "chosen"), DERIVED_KINDS, ids=[c[0] for c in DERIVED_KINDS])
def test_a_filing_id_of_a_derived_kind_is_422_and_stores_nothing(api, desc, chosen):
    code = uscc(601)
    filer_id = approved_filer(api, code)
    before = _stored(api)

    response = api.post(
        "/v1/products", product_body(filer_id, filing_id=str(chosen)), Role.FILER, code
    )

    body = _problem(response, 422, "id_not_allowed")
    assert body["details"] == {"field": "filing_id", "id": str(chosen)}
    assert _stored(api) == before
    chosen_well = str(uuid4())
    filed = api.post(
        "/v1/products", product_body(filer_id, filing_id=chosen_well), Role.FILER, code
    )
    assert (filed.status_code, filed.json()["product_id"]) == (201, chosen_well)


@pytest.mark.parametrize(("desc", "chosen"), DERIVED_KINDS, ids=[c[0] for c in DERIVED_KINDS])
def test_an_objection_id_of_a_derived_kind_is_422_and_stores_nothing(api, desc, chosen):
    before = _stored(api)

    response = api.post(
        "/v1/certification/rounds/2023/objections",
        {"product_id": str(uuid4()), "reason": "专利已失效", "objection_id": str(chosen)},
        Role.REVIEWER,
    )

    body = _problem(response, 422, "id_not_allowed")
    assert body["details"]["field"] == "objection_id"
    assert _stored(api) == before


def test_the_id_problem_types_resolve(api):
    assert api.client.get("/problems/id_not_allowed").json()["status"] == 422
    assert api.client.get("/problems/id_conflict").json()["status"] == 409


def test_opening_a_round_whose_id_is_squatted_is_a_409_naming_the_holder(api):
    ledger = api.state.ledger
    squat(ledger, round_id_for(2025), _squatter(api))
    before = _stored(api)

    response = api.post("/v1/certification/rounds", {"year": 2025}, Role.CERTIFIER)

    body = _problem(response, 409, "id_conflict")
    assert body["details"] == {
        "id": str(round_id_for(2025)),
        "wanted": "certification_round",
        "held_by": "product",
    }
    assert _stored(api) == before


def test_registering_a_filer_whose_id_is_squatted_is_a_409_that_names_no_holder(api):
    code = uscc(602)
    squat(api.state.ledger, filer_id_for(code), _squatter(api))
    before = _stored(api)

    response = api.post("/v1/filers", filer_body(code), Role.FILER, code)

    body = _problem(response, 409, "id_conflict")
    assert body["details"] == {"id": str(filer_id_for(code)), "wanted": "filer"}
    assert "product" not in body["detail"]
    assert _stored(api) == before


def _squatter(api: Any) -> UUID:
    return UUID(approved_filer(api, SQUATTER))
