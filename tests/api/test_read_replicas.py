"""Reads on PostgreSQL streaming replicas (api.read_routing, docs/read-replicas.md).

With a real hot standby made by ``pg_basebackup`` (tests/replica_cluster.py): reads go to the
replica and say so; the replica's lag is visible (in ``PPL-Position`` and in ``/ready``);
read-your-writes holds with ``PPL-Min-Position``, through a lagging replica too; with the
replica stopped, every read is answered by the primary, never a 5xx, and reads return to the
replica once it is back. Without replicas (SQLite and the run's PostgreSQL) every read still
says its position and source, and a bad ``PPL-Min-Position`` is a 422 that changes nothing.
With CI=true, PostgreSQL's server binaries missing is a failure, never a skip.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api import read_routing
from api.app import create_app
from api.read_routing import MIN_POSITION_HEADER, POSITION_HEADER, READ_FROM_HEADER
from domain.actor import Role
from tests.api.conftest import Api, api_settings
from tests.api.test_commands import approved_filer, product_body
from tests.domain.factories import uscc
from tests.replica_cluster import ClusterUnavailableError, ReplicaPair, replica_pair

READS = (  # one read of each kind the router serves (models, log, index, tiles)
    "/v1/products",
    "/v1/statistics/regions",
    "/v1/log/checkpoint",
    "/v1/index",
    "/tlog/checkpoint",
)


def _read(api: Api, path: str, **headers: str) -> Any:
    return api.client.get(path, headers=api.headers(Role.REVIEWER, **headers))


def _position(response: Any) -> int:
    return int(response.headers[POSITION_HEADER])


# --- without replicas: every store ----------------------------------------------------------
def test_every_read_says_its_position_and_source_and_a_write_its_own(api):
    code = uscc(801)
    filer_id = approved_filer(api, code)
    filed = api.post("/v1/products", _product(filer_id, "RR-1"), Role.FILER, code)
    assert filed.status_code == 201
    written = _position(filed)
    assert written > 0
    before = _read(api, "/v1/products")
    assert before.headers[READ_FROM_HEADER] == "primary"
    assert _position(before) < written  # the read models have not applied it yet
    api.settle()
    for path in READS:
        response = _read(api, path, ppl_min_position=str(written))
        assert response.status_code == 200, (path, response.text)
        assert response.headers[READ_FROM_HEADER] == "primary", path
        assert _position(response) >= written, path
    again = api.post(  # the same request again: its answer replayed, with a position after it
        "/v1/products", _product(filer_id, "RR-1"), Role.FILER, code,
        idempotency_key=filed.request.headers["idempotency-key"],
    )  # fmt: skip
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _position(again) >= written


@pytest.mark.parametrize(
    "value",
    ["abc", "-1", "+5", "1.5", "0x10", "1 2", "", "9" * 20, "9223372036854775808"],
    ids=repr,
)
def test_a_min_position_that_is_no_notification_id_is_a_422(api, value):
    response = _read(api, "/v1/products", **{"ppl_min_position": value})
    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith("/problems/position_invalid")
    assert MIN_POSITION_HEADER in response.json()["detail"]


def test_a_min_position_no_source_reaches_is_answered_by_the_primary_saying_where_it_stands(api):
    api.settle()
    response = _read(api, "/v1/products", ppl_min_position=str(2**62))
    assert response.status_code == 200
    assert response.headers[READ_FROM_HEADER] == "primary"
    assert _position(response) < 2**62


# --- with a streaming replica ---------------------------------------------------------------
@pytest.fixture(scope="module")
def pair() -> Iterator[ReplicaPair]:
    try:
        with replica_pair() as started:
            yield started
    except ClusterUnavailableError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no PostgreSQL server binaries to start a replica: {exc}")
        pytest.skip(f"no PostgreSQL server binaries to start a replica: {exc}")


@pytest.fixture(scope="module")
def pair_database(pair: ReplicaPair) -> str:
    name = f"ppl_replica_{secrets.token_hex(3)}"
    with psycopg.connect(pair.primary_url(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


@pytest.fixture
def replicated(
    pair: ReplicaPair, pair_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Api]:
    """The app on the pair's primary, reading from its standby (a schema of its own)."""
    if not pair.standby_running():
        pair.start_standby()
    pair.resume_replay_if_paused()
    monkeypatch.setattr(read_routing, "DOWN_SECONDS", 0.5)
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(pair.primary_url(pair_database), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    settings = api_settings(
        f"{pair.primary_url(pair_database)}?schema={schema}",
        tmp_path,
        PPL_READ_REPLICAS=pair.url(pair.standby_port, ""),  # the primary's database, schema
        PPL_READ_WAIT="0.3",
    )
    with TestClient(create_app(settings)) as client:
        api = Api(client, settings)
        code = uscc(802)
        api.filer_id = approved_filer(api, code)  # type: ignore[attr-defined]
        api.code = code  # type: ignore[attr-defined]
        api.settle()
        pair.wait_caught_up()
        yield api


def _product(filer_id: str, model: str) -> dict[str, Any]:
    return product_body(filer_id, name=f"复制读取产品{model}", model=model)


def _file(api: Any, model: str) -> tuple[str, int]:
    filed = api.post("/v1/products", _product(api.filer_id, model), Role.FILER, api.code)
    assert filed.status_code == 201, filed.text
    return filed.json()["product_id"], _position(filed)


@pytest.mark.postgres
def test_reads_go_to_the_replica_and_its_lag_is_visible(replicated, pair):
    api = replicated
    for path in READS:
        response = _read(api, path)
        assert response.status_code == 200, (path, response.text)
        assert response.headers[READ_FROM_HEADER] == "replica-1", path
    pair.pause_replay()
    try:
        product_id, written = _file(api, "LAG-1")
        api.settle()  # the primary's log and read models have it
        lagging = _read(api, f"/v1/products/{product_id}")
        assert lagging.headers[READ_FROM_HEADER] == "replica-1"
        assert lagging.status_code == 404  # the replica has not replayed the filing
        assert _position(lagging) < written  # and says how far it is
        ready = api.client.get("/ready", headers=api.headers(Role.AUDITOR)).json()
        (replica,) = ready["replicas"]
        assert replica["name"] == "replica-1"
        assert replica["up"] is True
        assert replica["models_lag"] > 0
        assert replica["log_lag"] > 0
    finally:
        pair.resume_replay()
    pair.wait_caught_up()
    caught_up = _read(api, f"/v1/products/{product_id}", ppl_min_position=str(written))
    assert caught_up.status_code == 200
    assert caught_up.headers[READ_FROM_HEADER] == "replica-1"
    assert _position(caught_up) >= written
    ready = api.client.get("/ready", headers=api.headers(Role.AUDITOR)).json()
    assert ready["replicas"][0]["models_lag"] == 0


@pytest.mark.postgres
def test_read_your_writes_holds_through_a_lagging_replica(replicated, pair):
    api = replicated
    pair.pause_replay()
    try:
        product_id, written = _file(api, "RYW-1")
        api.settle()
        started = time.monotonic()
        mine = _read(api, f"/v1/products/{product_id}", ppl_min_position=str(written))
        waited = time.monotonic() - started
        assert mine.status_code == 200, mine.text  # never the replica's stale 404
        assert mine.headers[READ_FROM_HEADER] == "primary"
        assert _position(mine) >= written
        assert waited >= 0.3  # PPL_READ_WAIT: the replica was given its chance first
    finally:
        pair.resume_replay()
    sources = set()
    for number in range(5):  # replaying again: each write is read back at once, wherever
        product_id, written = _file(api, f"RYW-{number + 2}")
        api.settle()
        mine = _read(api, f"/v1/products/{product_id}", ppl_min_position=str(written))
        assert mine.status_code == 200, mine.text
        assert _position(mine) >= written
        sources.add(mine.headers[READ_FROM_HEADER])
        pair.wait_caught_up()  # and from the replica once it has replayed the write
        replayed = _read(api, f"/v1/products/{product_id}", ppl_min_position=str(written))
        assert replayed.status_code == 200
        assert replayed.headers[READ_FROM_HEADER] == "replica-1"
    assert sources <= {"primary", "replica-1"}


@pytest.mark.postgres
def test_with_the_replica_stopped_reads_fall_back_to_the_primary_with_no_5xx(replicated, pair):
    api = replicated
    product_id, _ = _file(api, "DOWN-1")
    api.settle()
    pair.wait_caught_up()
    pair.stop_standby()
    try:
        paths = [*READS, f"/v1/products/{product_id}", f"/v1/products/{product_id}/trail"]
        for _ in range(2):  # the first finds it down, the next skip it
            for path in paths:
                response = _read(api, path)
                assert response.status_code == 200, (path, response.text)
                assert response.headers[READ_FROM_HEADER] == "primary", path
        ready = api.client.get("/ready", headers=api.headers(Role.AUDITOR))
        assert ready.status_code == 200
        assert ready.json()["replicas"][0]["up"] is False
        filed = api.post("/v1/products", _product(api.filer_id, "DOWN-2"), Role.FILER, api.code)
        assert filed.status_code == 201  # writes never used it
    finally:
        pair.start_standby()
    pair.wait_caught_up()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # skipped for DOWN_SECONDS, then asked again
        if _read(api, "/v1/products").headers[READ_FROM_HEADER] == "replica-1":
            break
        time.sleep(0.1)
    else:
        pytest.fail("reads did not return to the replica once it was back")


def test_the_openapi_document_names_the_position_headers_of_reads(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/products", "/v1/log/checkpoint", "/tlog/checkpoint"):
        headers = paths[path]["get"]["responses"]["200"]["headers"]
        assert set(headers) >= {POSITION_HEADER, READ_FROM_HEADER}, path
    assert "headers" not in paths["/v1/products"]["post"]["responses"].get("201", {})
