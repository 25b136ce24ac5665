"""PostgreSQL goes away and comes back: the service answers 503 meanwhile, then recovers alone.

A small TCP proxy sits between the app and PostgreSQL. Cutting it closes every connection the
app holds (its pools, its per-thread connections) and refuses new ones, as a database restart or
a network partition with resets does. Every request must then get a quick 503
``store_unavailable`` problem with Retry-After — never a 500, never a hang — and once the proxy
is back the same requests must succeed without restarting the app.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from api.log_follower import LogFollower
from audit.database.deadlines import WATCHDOG
from tests.api.conftest import Api, api_settings
from tests.domain.factories import approved_filer, digest, file, uscc

pytestmark = pytest.mark.postgres

PROBLEM = "application/problem+json"
# seconds: the most a request may take while the database is away. A call is tried three
# times, 0.05 s and 0.2 s apart (api.receipts.RETRY_WAITS), each try waiting at most
# EVENT_POOL_WAIT_SECONDS (0.1 s) for a pooled connection: ~0.6 s, where eventsourcing's own ten
# tries 0.2 s apart took up to ~3.1 s (2.6-2.8 s measured in issue #14).
FAST = 1.5
HUNG = 20.0  # seconds: a request still running after this is reported as hung
RECOVERY = 10.0  # seconds: the most the service may take to answer again once the database is back


class CuttableProxy:
    """Forwards TCP connections to ``target`` until cut; restores on the same port.

    ``freeze`` is the other failure: a partition that keeps sockets open. The proxy goes on
    accepting connections and reading (so its kernel acknowledges every byte) but forwards
    nothing, in either direction, until ``thaw``; connections made or used meanwhile are then
    closed (their bytes were lost), as a partition's survivors would be.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._frozen = threading.Event()
        self._lost: set[socket.socket] = set()  # sockets whose bytes the freeze swallowed

    def freeze(self) -> None:
        """Stop forwarding, keep every socket open, keep accepting: a silent partition."""
        self._frozen.set()

    def thaw(self) -> None:
        """Forward again; the connections the freeze broke are closed."""
        with self._lock:
            lost, self._lost = list(self._lost), set()
        self._drop(*lost)
        self._frozen.clear()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._frozen.is_set():  # accepted, never answered
                with self._lock:
                    self._lost.add(client)
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    upstream.close()
                    return
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if self._frozen.is_set():
                    with self._lock:
                        self._lost |= {source, sink}
                    continue  # swallowed: read (acknowledged) but never forwarded
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source, sink)

    def _swallow(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while client.recv(65536):
                pass
        self._drop(client)

    def _drop(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with self._lock:
                self._sockets.discard(sock)

    def cut(self) -> None:
        """Refuse new connections and reset every open one."""
        with self._lock:
            listener, self._listener = self._listener, None
            doomed = list(self._sockets)
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._acceptor is not None:
            self._acceptor.join()  # the port is free again once the acceptor has left accept()
        self._drop(*doomed)

    def restore(self) -> None:
        self.start()


@pytest.fixture
def proxy(postgres_database: str) -> Iterator[CuttableProxy]:
    server = urlsplit(postgres_database)
    proxy = CuttableProxy((server.hostname or "127.0.0.1", server.port or 5432))
    proxy.start()
    yield proxy
    proxy.cut()


@pytest.fixture
def proxied_url(postgres_database: str, proxy: CuttableProxy) -> str:
    """A fresh schema of the run's database, reached through the proxy."""
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = urlsplit(postgres_database)
    netloc = f"{url.username or 'postgres'}@127.0.0.1:{proxy.port}"
    return urlunsplit((url.scheme, netloc, url.path, f"schema={schema}", ""))


@pytest.fixture
def api(proxied_url: str, tmp_path: Path) -> Iterator[Api]:
    settings = api_settings(proxied_url, tmp_path, PPL_DB_DEADLINE="1")  # what is tested
    with TestClient(create_app(settings)) as client:
        yield Api(client, settings)


def _get(api: Api, path: str, role: str | None) -> tuple[Any, float]:
    """GET with a stopwatch; fails (instead of hanging the run) past ``HUNG`` seconds."""
    return _timed(lambda: api.client.get(path, headers=api.headers(role)), path)


def _timed(request: Callable[[], Any], what: str) -> tuple[Any, float]:
    pool = ThreadPoolExecutor(max_workers=1)
    started = time.monotonic()
    try:
        response = pool.submit(request).result(timeout=HUNG)
    except FutureTimeout:
        pytest.fail(f"{what} hung for more than {HUNG} s")
    finally:
        pool.shutdown(wait=False)
    return response, time.monotonic() - started


def _typical(timings: dict[str, list[float]]) -> float:
    """The slowest of the medians of each request's tries.

    Why the median: the machine is shared, and one try of three once took 5.1 s in CI (the
    other two 0.26 s) where it never exceeded 0.9 s here, even under load; the behaviour
    these tests guard against (eventsourcing's ten tries: 2.6-2.8 s) is slow on every try, so
    the median still catches it, and ``_timed`` still fails any try past ``HUNG``.
    """
    return max(statistics.median(tries) for tries in timings.values())


def _register(api: Api, key: str) -> Any:
    """A write: a reviewer registers a filer (POST /v1/filers), under Idempotency-Key ``key``."""
    body = {
        "uscc": uscc(77), "name": "上海断网测试有限公司", "kind": "enterprise",
        "region_code": "310115",
        "contact": {"name": "张三", "phone": "+86 21 5555 0000", "email": "zs@example.cn"},
        "proof_digests": [digest("licence")], "pledge_digest": digest("pledge"),
    }  # fmt: skip
    return api.client.post(
        "/v1/filers", json=body, headers=api.headers("reviewer", idempotency_key=key)
    )


def _assert_store_unavailable(response: Any, what: str) -> None:
    assert response.status_code == 503, (what, response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "2"
    assert response.json()["code"] == "store_unavailable"


def _until_ok(request: Callable[[], Any], what: str) -> tuple[Any, float]:
    """The first success of ``request`` (503 meanwhile) and how long it took, at most
    ``RECOVERY`` seconds."""
    started = time.monotonic()
    while True:
        response, _ = _timed(request, what)
        if response.status_code < 300:
            return response, round(time.monotonic() - started, 3)
        _assert_store_unavailable(response, what)
        assert time.monotonic() - started < RECOVERY, f"{what} did not recover"
        time.sleep(0.1)


def _filed(api: Api) -> UUID:
    ledger = api.state.ledger
    filer_id = approved_filer(ledger, uscc(1))
    product_id = file(ledger, uscc(1), filer_id)
    api.settle()
    api.headers("reviewer"), api.headers("auditor")  # issue the tokens while the store is up
    return product_id


def test_outage_is_a_quick_503_problem_and_the_service_recovers_alone(api, proxy):
    product_id = _filed(api)
    reads = {
        "/v1/log/checkpoint": None,  # the log's tables
        "/v1/log/proofs/inclusion?leaf_index=3": None,
        "/v1/log/checkpoints": "auditor",  # the token table first
        f"/v1/log/proofs/inclusion/event/{product_id}/1": "reviewer",  # tokens, events, log
    }
    for path, role in reads.items():
        assert _get(api, path, role)[0].status_code == 200, path

    proxy.cut()
    for _ in range(3):  # first on the reset connections, then on refused reconnections
        for path, role in reads.items():
            response, elapsed = _get(api, path, role)
            _assert_store_unavailable(response, path)
            assert elapsed < FAST, (path, elapsed)
        response, elapsed = _timed(lambda: _register(api, "outage-write-1"), "POST")
        _assert_store_unavailable(response, "POST /v1/filers")
        assert elapsed < FAST, ("POST /v1/filers", elapsed)
    assert api.client.get("/health").status_code == 200  # liveness never asks the database

    proxy.restore()
    recovered: dict[str, float] = {}
    for path, role in reads.items():
        headers = api.headers(role)
        _, recovered[path] = _until_ok(lambda p=path, h=headers: api.client.get(p, headers=h), path)
    # The write refused during the outage runs now under the same key: nothing was kept.
    written, recovered["POST"] = _until_ok(lambda: _register(api, "outage-write-1"), "POST")
    assert written.status_code == 201, written.text
    assert "idempotent-replayed" not in written.headers
    # The log follower's writes work again (a round on a connection the outage broke fails,
    # is logged, and the next round reconnects).
    follower = LogFollower(api.state.log, interval=0.1)
    rounds = [follower.run_once() for _ in range(2)]
    assert rounds[-1] == 7, rounds  # 6 events filed before the outage, 1 written after
    print(f"recovered after (s): {recovered}")  # noqa: T201 (shown with -s)


def test_event_store_outage_is_a_quick_503_problem(api, proxy):
    _filed(api)
    assert api.client.get("/ready").status_code == 200

    proxy.cut()
    for _ in range(3):
        response, elapsed = _get(api, "/ready", None)
        _assert_store_unavailable(response, "/ready")
        assert elapsed < FAST, elapsed
    proxy.restore()
    assert _until_ok(lambda: api.client.get("/ready"), "/ready")[1] < FAST


def test_database_restart_while_idle_costs_each_client_at_most_a_quick_retry(api, proxy):
    # Policy of audit.database.connections.PostgresDatabase: a pooled connection the restart broke
    # fails
    # its next use (503, Retry-After) and is replaced; nothing stays broken.
    _filed(api)
    paths = ["/ready", "/v1/log/checkpoint", "/v1/log/proofs/inclusion?leaf_index=0"]
    headers = api.headers("reviewer")

    def get(path: str) -> tuple[Any, float]:
        return _timed(lambda: api.client.get(path, headers=headers), path)

    with ThreadPoolExecutor(max_workers=16) as pool:  # many worker threads and connections
        assert {r.status_code for r, _ in pool.map(get, paths * 8)} == {200}
    proxy.cut()
    proxy.restore()
    failed = []
    for _ in range(5):
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(get, paths * 8))
        for response, elapsed in answers:
            if response.status_code != 200:
                _assert_store_unavailable(response, "after the restart")
                assert elapsed < FAST, elapsed
                failed.append(response.json()["instance"])
        if all(response.status_code == 200 for response, _ in answers):
            break
    else:
        pytest.fail(f"still failing after 5 rounds: {failed}")
    print(f"{len(failed)} requests failed once after the restart")  # noqa: T201 (shown with -s)


def test_liveness_answers_at_once_while_every_worker_waits_for_the_database(api, proxy):
    _filed(api)
    proxy.cut()
    pool = ThreadPoolExecutor(max_workers=50)  # more than the 40 worker threads
    try:
        waiting = [pool.submit(api.client.get, "/v1/log/checkpoint") for _ in range(50)]
        time.sleep(0.3)
        response, elapsed = _timed(lambda: api.client.get("/health"), "/health")
        assert response.status_code == 200
        assert elapsed < 0.5, elapsed
        for future in waiting:
            _assert_store_unavailable(future.result(timeout=HUNG), "/v1/log/checkpoint")
    finally:
        pool.shutdown(wait=False)


# --- a partition that keeps sockets open -------------------------------------------------------
PARTITION_FAST = 2.0  # seconds: the deadline (PPL_DB_DEADLINE, 1 s) and the answer's way back


def test_a_silent_partition_is_a_503_within_about_a_second_and_the_service_recovers(api, proxy):
    """The database stops answering but its sockets stay open (issue #14: requests hung for
    the whole partition). Every request touching it answers 503 within about the deadline,
    reads, writes and /ready alike; none hangs; after the partition the same requests work."""
    product_id = _filed(api)
    reads = {
        "/ready": None,
        "/v1/log/checkpoint": None,
        f"/v1/log/proofs/inclusion/event/{product_id}/1": "reviewer",
        f"/v1/products/{product_id}": "reviewer",
    }
    for path, role in reads.items():
        assert _get(api, path, role)[0].status_code == 200, path
    cuts_before = WATCHDOG.cuts

    proxy.freeze()
    timings: dict[str, list[float]] = {}
    for _ in range(3):  # on pooled connections that hang, then on connections never answered
        for path, role in reads.items():
            response, elapsed = _get(api, path, role)
            _assert_store_unavailable(response, path)
            timings.setdefault(path, []).append(round(elapsed, 3))
        response, elapsed = _timed(lambda: _register(api, "partition-write-1"), "POST")
        _assert_store_unavailable(response, "POST /v1/filers")
        timings.setdefault("POST", []).append(round(elapsed, 3))
    assert _typical(timings) < PARTITION_FAST, timings
    assert WATCHDOG.cuts > cuts_before  # the hung calls were cut, not left to time out
    assert api.client.get("/health").status_code == 200

    proxy.thaw()
    for path, role in reads.items():
        headers = api.headers(role)
        _until_ok(lambda p=path, h=headers: api.client.get(p, headers=h), path)
    written, _ = _until_ok(lambda: _register(api, "partition-write-1"), "POST")
    assert written.status_code == 201, written.text  # the write refused meanwhile kept nothing
    print(f"answers during the partition (s): {timings}")  # noqa: T201 (shown with -s)


def test_refused_connections_are_a_503_within_about_a_second(api, proxy):
    """The database refuses connections: /ready and writes answered 503 after 2.6-2.8 s
    (eventsourcing's 10 tries, 0.2 s apart); now within about a second."""
    _filed(api)
    proxy.cut()
    timings: dict[str, list[float]] = {}
    for _ in range(3):
        for what, request in (
            ("/ready", lambda: api.client.get("/ready")),
            ("POST", lambda: _register(api, "refused-write-1")),
        ):
            response, elapsed = _timed(request, what)
            _assert_store_unavailable(response, what)
            timings.setdefault(what, []).append(round(elapsed, 3))
    assert _typical(timings) < FAST, timings
    print(f"answers while refused (s): {timings}")  # noqa: T201 (shown with -s)
    proxy.restore()
    assert _until_ok(lambda: api.client.get("/ready"), "/ready")[0].status_code == 200
