"""Every error is an RFC 9457 problem with a stable, resolvable type; limits hold before routes."""

from __future__ import annotations

import pytest

from api.problems import API_PROBLEMS, PROBLEM_JSON, domain_codes
from domain.errors import DomainError


def _is_problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["type"] == f"/problems/{code}"
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]
    assert body["detail"]
    return body


def test_every_problem_type_resolves_to_its_status(api):
    codes = {**API_PROBLEMS, **domain_codes()}
    assert "duplicate_product" in codes
    assert "version_mismatch" in codes
    for code, (status, _) in codes.items():
        described = api.client.get(f"/problems/{code}")
        assert described.status_code == 200, code
        assert described.json()["status"] == status
    _is_problem(api.client.get("/problems/no_such_thing"), 404, "not_found")


def test_each_domain_code_is_unique_across_the_error_family():
    seen: dict[str, str] = {}
    pending = [DomainError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        assert seen.setdefault(cls.code, cls.__name__) == cls.__name__, cls.code


def test_unknown_paths_and_methods_are_problems(api):
    _is_problem(api.client.get("/v1/no-such-thing"), 404, "not_found")
    _is_problem(api.client.delete("/health"), 405, "method_not_allowed")


def test_a_bad_bearer_token_is_refused_even_on_public_routes(api):
    for header in ("Bearer ppl_0000000000000000_" + "A" * 43, "Basic dXNlcjpwYXNz", "Bearer "):
        response = api.client.get("/v1/keys", headers={"Authorization": header})
        _is_problem(response, 401, "token_invalid")
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert api.client.get("/v1/keys").status_code == 200


def test_an_oversize_body_is_refused_before_any_route_with_or_without_content_length(api):
    limit = api.settings.max_body_bytes
    big = b'{"name": "' + b"x" * limit + b'"}'
    headers = {"content-type": "application/json", **api.headers("reviewer")}
    body = _is_problem(api.client.post("/v1/filers", content=big, headers=headers), 413,
                       "body_too_large")  # fmt: skip
    assert f"{limit:,}" in body["detail"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(limit // 4096 + 2):
            yield b"x" * 4096

    chunked = api.client.post("/v1/filers", content=chunks(), headers=headers)
    _is_problem(chunked, 413, "body_too_large")


@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_post_body_that_is_not_json_is_unsupported(api, media):
    headers = {**api.headers("reviewer"), "Idempotency-Key": "key-00000001"}
    if media:
        headers["content-type"] = media
    response = api.client.post("/v1/filers", content=b"uscc=1", headers=headers)
    _is_problem(response, 415, "unsupported_media_type")


def test_a_body_that_is_not_json_is_a_400(api):
    headers = {"content-type": "application/json", "Idempotency-Key": "key-00000002",
               **api.headers("reviewer")}  # fmt: skip
    _is_problem(api.client.post("/v1/filers", content=b"{not json", headers=headers), 400,
                "body_not_json")  # fmt: skip


def test_a_405_names_every_method_the_path_serves(api):
    response = api.client.delete("/v1/products")
    _is_problem(response, 405, "method_not_allowed")
    assert {"GET", "POST"} <= set(response.headers["allow"].replace(" ", "").split(","))


def test_a_body_that_is_not_utf8_is_a_400(api):
    headers = {"content-type": "application/json", "Idempotency-Key": "key-00000003",
               **api.headers("reviewer")}  # fmt: skip
    before = api.state.ledger.recorder.max_notification_id()
    response = api.client.post("/v1/filers", content=b'{"uscc": "\xff\xfe"}', headers=headers)
    _is_problem(response, 400, "body_not_json")
    assert api.state.ledger.recorder.max_notification_id() == before


def test_a_tampered_event_is_a_500_that_names_it_and_stores_nothing(api):
    from api.bootstrap import open_ledger
    from tests.domain.factories import approved_filer, file, uscc
    from tests.domain.test_tamper import _rewrite_state

    other = open_ledger(api.settings)  # the app's own ledger has not cached these aggregates
    try:
        code = uscc(40)
        product_id = file(other, code, approved_filer(other, code))
    finally:
        other.close()

    def flip(state: bytes) -> bytes:
        return state[:-3] + bytes([state[-3] ^ 1]) + state[-2:]

    _rewrite_state(api.settings, product_id, 1, flip)
    before = api.state.ledger.recorder.max_notification_id()
    response = api.post(f"/v1/products/{product_id}/approval", None, "reviewer")
    body = _is_problem(response, 500, "ledger_integrity_failure")
    assert str(product_id) in body["detail"]
    assert api.state.ledger.recorder.max_notification_id() == before
