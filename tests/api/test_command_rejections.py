"""Every way a command can be refused over HTTP: a problem document, never a 500, nothing stored.

"Nothing stored" is checked on the event store itself: the highest notification id does not
move. Tests that need a record to act on build it through the API (tests/api/test_commands.py).
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

from domain.actor import Role
from tests.api.test_commands import (
    INSTITUTION_USCC,
    approved_filer,
    conversion_body,
    filed_product,
    filer_body,
    product_body,
)
from tests.domain.factories import EVIDENCE, digest, patent, uscc

PROBLEM_JSON = "application/problem+json"


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if code is not None:
        assert (body["code"], body["type"]) == (code, f"/problems/{code}"), body
    return body


def stored(api: Any) -> int:
    """How many events the store holds (the last notification id)."""
    return int(api.state.ledger.recorder.max_notification_id() or 0)


def raw_post(api: Any, path: str, content: bytes, role: Role, scope: str | None = None,
             content_type: str = "application/json") -> Any:  # fmt: skip
    headers = api.headers(role, scope, idempotency_key=uuid4().hex, content_type=content_type)
    return api.client.post(path, content=content, headers=headers)


# --- bodies -------------------------------------------------------------------------------------
def test_a_body_that_is_not_json_is_400_and_stores_nothing(api):
    before = stored(api)
    truncated = raw_post(api, "/v1/filers", b'{"uscc": ', Role.REVIEWER)
    assert_problem(truncated, 400, "body_not_json")
    # Bodies json.loads cannot even start on: bytes that are not UTF-8, nesting past the
    # parser's recursion limit. FastAPI answers 400 for these (see the report on problems.py).
    assert_problem(raw_post(api, "/v1/filers", b'{"uscc": "\xff"}', Role.REVIEWER), 400)
    assert_problem(raw_post(api, "/v1/filers", b"[" * 5000 + b"]" * 5000, Role.REVIEWER), 400)
    assert stored(api) == before


def test_a_body_of_the_wrong_shape_is_422_request_invalid_and_stores_nothing(api):
    code = uscc(1)
    filer_id = approved_filer(api, code)
    valid = product_body(filer_id)
    figures = valid["figures"]
    wrong: list[tuple[str, dict[str, Any]]] = [  # (the field named in the problem, the body)
        ("data_year", {**valid, "data_year": "2023"}),  # a string for an integer
        ("data_year", {**valid, "data_year": 2023.0}),  # a float for an integer
        ("sales_fen", {**valid, "figures": {**figures, "sales_fen": True}}),
        ("sales_fen", {**valid, "figures": {**figures, "sales_fen": "100.50"}}),
        ("profit_fen", {**valid, "figures": {**figures, "profit_fen": 2**64}}),  # over 64 bits
        ("name", {**valid, "name": 42}),
        ("patents", {**valid, "patents": {"number": patent(1), "relation": "owner"}}),
        ("filer_id", {**valid, "filer_id": "not-a-uuid"}),
        ("colour", {**valid, "colour": "red"}),  # an unknown field
        ("bonus_fen", {**valid, "figures": {**figures, "bonus_fen": 1}}),  # unknown, nested
        ("figures", {k: v for k, v in valid.items() if k != "figures"}),  # a missing field
        ("number", {**valid, "patents": [{"relation": "owner"}]}),  # missing, nested
        ("model", {**valid, "model": "TV-\ud800"}),  # a lone surrogate cannot be stored
    ]
    before = stored(api)
    for field, body in wrong:
        # json.dumps writes the surrogate as the escape \ud800, as a client would send it.
        response = raw_post(api, "/v1/products", json.dumps(body).encode(), Role.FILER, code)
        problem = assert_problem(response, 422, "request_invalid")
        locations = [failure["location"] for failure in problem["errors"]]
        assert any(field in location for location in locations), (field, locations)
    for not_an_object in ([valid], "a string", None):
        assert_problem(
            api.post("/v1/products", not_an_object, Role.FILER, code), 422, "request_invalid"
        )
    assert stored(api) == before
    filed_product(api, code, filer_id)  # the valid body itself is accepted
    assert stored(api) > before


def test_oversize_and_non_json_bodies_are_refused_before_any_route(api):
    code = uscc(2)
    filer_id = approved_filer(api, code)
    before = stored(api)
    padded = product_body(filer_id, variants=["x" * 1000] * 66)
    too_large = api.post("/v1/products", padded, Role.FILER, code)
    assert_problem(too_large, 413, "body_too_large")
    assert str(api.settings.max_body_bytes) in too_large.json()["detail"].replace(",", "")
    for media in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        response = raw_post(api, "/v1/filers", b'{"uscc": "x"}', Role.REVIEWER, content_type=media)
        assert_problem(response, 415, "unsupported_media_type")
    assert stored(api) == before


def test_a_path_id_that_is_not_a_uuid_is_422_request_invalid(api):
    before = stored(api)
    for path in ("/v1/filers/123/approval", "/v1/products/not-a-uuid/approval",
                 f"/v1/products/{uuid4()}x/withdrawal"):  # fmt: skip
        body = assert_problem(
            api.post(path, {"reason": "r"}, Role.REVIEWER), 422, "request_invalid"
        )
        assert body["errors"][0]["location"][0] == "path"
    assert stored(api) == before


def test_a_wrong_check_character_is_refused_with_the_domain_code(api):
    code = uscc(3)
    filer_id = approved_filer(api, code)
    before = stored(api)
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")
    refused = api.post("/v1/filers", filer_body(typo), Role.REVIEWER)
    assert assert_problem(refused, 422, "uscc_invalid")["details"]["value"] == typo

    bad_patent = patent(1)[:-1] + ("0" if patent(1)[-1] != "0" else "1")
    declared = [{"number": bad_patent, "relation": "owner"}]
    filing = api.post("/v1/products", product_body(filer_id, patents=declared), Role.FILER, code)
    assert_problem(filing, 422, "patent_number_invalid")
    report = api.post(
        "/v1/conversions",
        conversion_body(patent_number=bad_patent),
        Role.INSTITUTION,
        INSTITUTION_USCC,
    )
    assert_problem(report, 422, "patent_number_invalid")
    assert stored(api) == before


def test_the_same_product_filed_twice_is_409_duplicate_product(api):
    first, second = uscc(4), uscc(5)
    first_id, second_id = approved_filer(api, first), approved_filer(api, second)
    product_id = filed_product(api, first, first_id)
    before = stored(api)
    again = product_body(second_id, name=" 智能温控阀 ", model="tv-100")  # same, once normalised
    refused = api.post("/v1/products", again, Role.FILER, second)
    problem = assert_problem(refused, 409, "duplicate_product")
    assert problem["details"]["existing_product_id"] == product_id
    assert stored(api) == before


# --- Idempotency-Key ----------------------------------------------------------------------------
def test_every_post_needs_a_usable_idempotency_key(api):
    before = stored(api)
    without = api.client.post(
        "/v1/filers", json=filer_body(uscc(6)), headers=api.headers("reviewer")
    )
    assert_problem(without, 422, "idempotency_key_invalid")
    for key in ("short", "has space in it", "x" * 201):
        response = api.post("/v1/filers", filer_body(uscc(6)), Role.REVIEWER, idempotency_key=key)
        assert_problem(response, 422, "idempotency_key_invalid")
    assert stored(api) == before


def test_a_retry_with_the_same_key_replays_the_first_response_and_writes_nothing(api):
    code = uscc(7)
    headers = api.headers(Role.REVIEWER, idempotency_key="register-7-once")
    first = api.client.post("/v1/filers", json=filer_body(code), headers=headers)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    after_first = stored(api)

    # The same request, spelled differently (key order, spacing): the same request.
    spelled = b"  " + json.dumps(dict(reversed(filer_body(code).items()))).encode()
    retry = api.client.post(
        "/v1/filers", content=spelled, headers={**headers, "Content-Type": "application/json"}
    )
    assert (retry.status_code, retry.json()) == (201, first.json())
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["etag"] == first.headers["etag"]
    assert retry.headers["location"] == first.headers["location"]
    assert stored(api) == after_first

    other = api.client.post("/v1/filers", json=filer_body(uscc(8)), headers=headers)
    assert_problem(other, 422, "idempotency_key_reused")
    assert stored(api) == after_first
    # Keys belong to a token: another caller's identical key is another request.
    mine = api.post("/v1/filers", filer_body(uscc(8)), Role.FILER, uscc(8),
                    idempotency_key="register-7-once")  # fmt: skip
    assert mine.status_code == 201
    assert "idempotent-replayed" not in mine.headers


def test_a_refusal_replayed_under_its_key_stays_the_same_refusal(api):
    code = uscc(9)
    filer_id = api.post("/v1/filers", filer_body(code), Role.FILER, code).json()["filer_id"]
    approval = f"/v1/filers/{filer_id}/approval"
    refused = api.post(approval, None, Role.REVIEWER, idempotency_key="approve-9-first")
    problem = assert_problem(refused, 409, "filer_not_verified")
    verified = api.post(
        f"/v1/filers/{filer_id}/real-name-verification", {"reference": "RN-9"}, Role.REVIEWER
    )
    assert verified.status_code == 200
    before = stored(api)

    replayed = api.post(approval, None, Role.REVIEWER, idempotency_key="approve-9-first")
    assert assert_problem(replayed, 409, "filer_not_verified") == problem
    assert replayed.headers["idempotent-replayed"] == "true"
    assert stored(api) == before
    assert api.state.ledger.get_filer(UUID(filer_id)).status == "pending_review"
    assert api.post(approval, None, Role.REVIEWER).status_code == 200  # a new key runs it


# --- If-Match -----------------------------------------------------------------------------------
def test_if_match_runs_a_command_only_on_the_version_the_caller_read(api):
    code = uscc(10)
    filer_id = approved_filer(api, code)
    product_id = filed_product(api, code, filer_id)
    approval = f"/v1/products/{product_id}/approval"
    before = stored(api)

    stale = api.post(approval, None, Role.REVIEWER, if_match='"7"')
    problem = assert_problem(stale, 412, "version_mismatch")
    assert (problem["details"]["current_version"], problem["details"]["expected_version"]) == (1, 7)
    assert stored(api) == before

    for malformed in ("one", '"1", "2"', "*"):
        response = api.post(approval, None, Role.REVIEWER, if_match=malformed,
                            idempotency_key="approve-10-key")  # fmt: skip
        assert_problem(response, 422, "if_match_invalid")
    assert stored(api) == before
    # A malformed If-Match is refused before the key is claimed: the key is still free.
    current = api.post(approval, None, Role.REVIEWER, if_match='W/"1"',
                       idempotency_key="approve-10-key")  # fmt: skip
    assert (current.status_code, current.headers["etag"]) == (200, '"3"')  # and numbered
    withdrawal = f"/v1/products/{product_id}/withdrawal"
    stale_again = api.post(withdrawal, {"reason": "r"}, Role.FILER, code, if_match='"1"')
    assert_problem(stale_again, 412, "version_mismatch")
    assert api.state.ledger.get_product(UUID(product_id)).status == "approved"


# --- who may write ------------------------------------------------------------------------------
def command_routes(filer_id: str, product_id: str) -> dict[str, frozenset[Role]]:
    """Every command route and the token roles that may call it."""
    filer, product = f"/v1/filers/{filer_id}", f"/v1/products/{product_id}"
    reviewer, filer_role = frozenset({Role.REVIEWER}), frozenset({Role.FILER})
    both = frozenset({Role.FILER, Role.REVIEWER})
    return {
        "/v1/filers": both,
        f"{filer}/real-name-verification": reviewer,
        f"{filer}/approval": reviewer,
        f"{filer}/rejection": reviewer,
        f"{filer}/resubmission": filer_role,
        "/v1/products": filer_role,
        f"{product}/approval": reviewer,
        f"{product}/rejection": reviewer,
        f"{product}/revisions": filer_role,
        f"{product}/withdrawal": both,
        f"{product}/disputes": both,
        f"{product}/disputes/some-dispute/resolution": reviewer,
        "/v1/conversions": frozenset({Role.INSTITUTION}),
    }


SCOPES = {Role.FILER: uscc(50), Role.INSTITUTION: INSTITUTION_USCC, Role.REGIONAL_ADMIN: "31",
          Role.REVIEWER: None, Role.CERTIFIER: None, Role.AUDITOR: None}  # fmt: skip


def test_only_the_writing_roles_may_call_each_command(api):
    code = uscc(11)
    filer_id = approved_filer(api, code)
    routes = command_routes(filer_id, filed_product(api, code, filer_id))
    before = stored(api)
    for path, allowed in routes.items():
        anonymous = api.post(path, {}, None)
        assert_problem(anonymous, 401, "not_authenticated")
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        for role, scope in SCOPES.items():
            if role not in allowed:
                assert_problem(api.post(path, {}, role, scope), 403, "forbidden")
    assert stored(api) == before


def test_a_filer_acts_only_for_itself(api):
    owner, other = uscc(12), uscc(13)
    owner_id, other_id = approved_filer(api, owner), approved_filer(api, other)
    product = f"/v1/products/{filed_product(api, owner, owner_id)}"
    before = stored(api)
    revision = {"data_year": 2023, "figures": product_body(owner_id)["figures"],
                "patents": [{"number": patent(1), "relation": "owner"}],
                "proof_digests": [digest("invoice 2023")]}  # fmt: skip
    claim = {
        "patent_numbers": [patent(1)],
        "claimant": "某某公司",
        "description": "ours",
        "evidence_digests": EVIDENCE,
    }
    acts = ((f"{product}/revisions", revision), (f"{product}/withdrawal", {"reason": "x"}),
            (f"{product}/disputes", claim))  # fmt: skip
    # Pending: the other filer may not see it, so it is not there (404, as a read would say).
    for path, body in acts:
        assert_problem(api.post(path, body, Role.FILER, other), 404, "product_not_found")
    approved = api.post(f"{product}/approval", {}, Role.REVIEWER)
    assert approved.status_code == 200
    before = stored(api)
    # Approved: public, so visible; still not the other filer's to change (403).
    for path, body in acts[:2]:
        assert_problem(api.post(path, body, Role.FILER, other), 403, "product_not_owned")
    as_other = (
        ("/v1/filers", filer_body(uscc(14))),
        ("/v1/products", product_body(owner_id, name="另一个产品")),
        (f"/v1/filers/{owner_id}/resubmission",
         {"proof_digests": [digest("p")], "pledge_digest": digest("p")}),
    )  # fmt: skip
    for path, body in as_other:
        assert_problem(api.post(path, body, Role.FILER, other), 403, "actor_not_permitted")
    report = api.post("/v1/conversions", conversion_body(), Role.INSTITUTION, uscc(15, prefix="12"))
    assert_problem(report, 403, "actor_not_permitted")
    assert stored(api) == before
    assert other_id != owner_id


def test_a_revoked_or_malformed_token_is_401(api):
    code = uscc(16)
    headers = api.headers(Role.FILER, code, idempotency_key="revoked-16-key")
    token_id = headers["Authorization"].split("_")[1]
    api.state.tokens.revoke(token_id)
    before = stored(api)
    revoked = api.client.post("/v1/filers", json=filer_body(code), headers=headers)
    assert_problem(revoked, 401, "token_invalid")
    assert revoked.headers["www-authenticate"].startswith("Bearer")
    for authorization in ("Bearer ppl_nonsense", "Basic dXNlcjpwYXNz", "Bearer "):
        response = api.client.post(
            "/v1/filers",
            json=filer_body(code),
            headers={"Authorization": authorization, "Idempotency-Key": "malformed-16"},
        )
        assert_problem(response, 401, "token_invalid")
    assert stored(api) == before
