"""Abuse limits (issue #15, part 4): 429 with Retry-After per token and per address, then
success after waiting; 431 for oversized headers; as-of parameters refused before a replay."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.rate_limits import EXPENSIVE, WRITE, classify
from api.settings import SettingsError
from domain.actor import Role
from tests.api.conftest import Api, api_settings
from tests.api.test_commands import approved_filer, filed_product
from tests.domain.factories import uscc


@pytest.fixture
def tight(database_url: str, tmp_path: Path) -> Iterator[Api]:
    limits = {
        "PPL_RATE_EXPENSIVE_PER_TOKEN": "2/5second", "PPL_RATE_EXPENSIVE_PER_ADDRESS": "4/5second",
        "PPL_RATE_WRITES_PER_TOKEN": "3/minute", "PPL_RATE_WRITES_PER_ADDRESS": "100/minute",
    }  # fmt: skip
    settings = api_settings(database_url, tmp_path, **limits)
    with TestClient(create_app(settings)) as client:
        yield Api(client, settings)


def _limited(response: Any, most: int) -> int:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limited"
    wait = int(response.headers["retry-after"])
    assert 1 <= wait <= most
    return wait


def test_expensive_reads_are_limited_per_token_then_served_after_retry_after(tight):
    code = uscc(1)
    product_id = filed_product(tight, code, approved_filer(tight, code))
    tight.settle()
    path = f"/v1/products/{product_id}/dispute-check"
    reviewer = tight.headers(Role.REVIEWER)
    assert [tight.client.get(path, headers=reviewer).status_code for _ in range(2)] == [200, 200]
    wait = _limited(tight.client.get(path, headers=reviewer), 5)
    auditor = tight.headers(Role.AUDITOR)  # another token: its own allowance
    assert tight.client.get(path, headers=auditor).status_code == 200
    assert tight.client.get("/v1/products", headers=reviewer).status_code == 200  # not limited
    time.sleep(wait)
    assert tight.client.get(path, headers=reviewer).status_code == 200


def test_an_address_is_limited_whatever_tokens_it_makes_up(tight):
    made_up = [f"Bearer ppl_{n:016x}_{'x' * 43}" for n in range(5)]
    statuses = [
        tight.client.get("/v1/audit/bundle", headers={"Authorization": token}).status_code
        for token in made_up
    ]
    assert statuses[:4] == [401] * 4  # counted, then refused as unknown tokens
    assert statuses[4] == 429


def test_writes_are_limited_per_token(tight):
    code = uscc(2)
    filer_id = approved_filer(tight, code)  # the filer's token registered it: 1 write
    answers = [
        tight.post("/v1/products", {"filer_id": filer_id}, Role.FILER, code).status_code
        for _ in range(2)
    ]
    assert answers == [422] * 2  # incomplete bodies: refused by the route, still counted
    _limited(tight.post("/v1/products", {"filer_id": filer_id}, Role.FILER, code), 60)


def test_oversized_headers_are_431_before_anything_runs(api):
    response = api.client.get("/health", headers={"X-Padding": "x" * 20_000})
    assert response.status_code == 431
    assert response.json()["code"] == "headers_too_large"
    assert api.client.get("/health", headers={"X-Padding": "x" * 8_000}).status_code == 200


def test_a_tree_size_beyond_the_log_is_refused_before_any_replay(api):
    started = time.monotonic()
    response = api.client.get(
        "/v1/statistics/regions",
        params={"tree_size": 99_999_999},
        headers=api.headers(Role.REVIEWER),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "query_invalid"
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(("method", "path", "query", "kind"), [
    ("POST", "/v1/products", b"", WRITE),
    ("GET", "/v1/statistics/regions", b"tree_size=5", EXPENSIVE),
    ("GET", "/v1/statistics/regions", b"level=city&as_of=2023-06-30", EXPENSIVE),
    ("GET", "/v1/products/x/dispute-check", b"", EXPENSIVE),
    ("GET", "/v1/audit/bundle", b"", EXPENSIVE),
    ("GET", "/v1/log/proofs/inclusion/event/x/1", b"", EXPENSIVE),
    ("GET", "/v1/products", b"", None),
    ("GET", "/v1/statistics/regions", b"data_year=2022", None),
    ("GET", "/v1/products/x/trail", b"", None),
])  # fmt: skip
def test_requests_are_classified(method, path, query, kind):
    assert classify({"method": method, "path": path, "query_string": query}) == kind


@pytest.mark.parametrize("env", [
    {"PPL_RATE_WRITES_PER_TOKEN": "lots"}, {"PPL_RATE_EXPENSIVE_PER_ADDRESS": "5/fortnight"},
    {"PPL_API_MAX_HEADERS": "100"},
])  # fmt: skip
def test_unreadable_limits_are_settings_errors(env, tmp_path):
    with pytest.raises(SettingsError):
        api_settings("sqlite:///" + str(tmp_path / "x.sqlite3"), tmp_path, **env)
