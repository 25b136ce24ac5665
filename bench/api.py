"""API throughput: product filings over HTTP (real uvicorn, loopback) vs the same in-process.

Question (issue #5): how many filings per second does the HTTP API take, against the same
filings made through the domain application in the same process? Target: filings/s over HTTP
>= 0.5 * in-process, with concurrent clients; p50/p99 latency of both.

Variants, each on a fresh store of its own (same kind: PostgreSQL schemas of one throwaway
database, or SQLite files), all with the run's signing keys:

* **http** (the headline) — the served system as README "Serving" lays it out for load: the
  API process (``api.app.create_app`` under a real uvicorn in a child process: its "auto" loop
  and HTTP parser, uvloop and httptools, dependencies of the project; log level warning) with
  its background intervals 0, beside ``ppl log follow`` and ``ppl projections follow`` as
  processes of their own (default intervals: a sequencing round every 1 s; the projection
  follower on LISTEN/NOTIFY, a round at most every 0.25 s). They all share the machine's cores
  with PostgreSQL and the clients, and their CPU counts as the server's. ``--clients``
  threads (default 4), each with its own keep-alive ``http.client`` connection and a filer
  token of its own, POST ``/v1/products`` on 127.0.0.1 with a fresh ``Idempotency-Key`` each.
  Only 201 counts: any other answer stops the run with the status and body.
* **http, one process** — ``ppl serve`` alone: the same API process with the sequencer and
  the projection follower as its own background threads (default settings). Reported beside
  the headline.
* **http, workers off** (``--workers-off``; ``--breakdown`` uses it too) — the API process
  with both intervals 0 and no followers: what the request path alone costs.
* **in-process** (the baseline) — the same filings (same fields, distinct products) through
  ``ledger.file_product(actor, ...)`` on a ledger opened with ``api.bootstrap.open_ledger``,
  called by as many threads as there are clients, sharing the one application as the API's
  worker threads do. No background workers: the baseline is the domain command alone.

Why a child process for the server: real clients are other processes, so they must not take
the server's GIL; in one process the client threads would slow the server down on the same
interpreter lock. They still share the machine's
2 cores with it (and with PostgreSQL), so the run also reports the CPU per filing of the
serving processes (API and followers, read from ``/proc``: Linux only) and of the client
threads. The clients use the standard library's ``http.client``: a heavier client (httpx2
spent ~0.8 ms per filing here) would take the cores from the server.

Each round, per variant and untimed: a new approved filer per client (registered, verified and
approved in-process on that variant's store) and, over HTTP, a filer token for it
(``api.tokens.TokenStore``); then one filing per client to warm its connection and put its
filer in the application's aggregate cache. Timed: ``filings`` filings spread evenly over the
clients, every one a distinct product (unique name, so a distinct canonical key). After an
``http`` round the run waits until the log sequencer and every read model have caught up with
the store (reported as "drain", not timed), so that the next variant does not share the machine
with the previous one's backlog. Work the followers do after a round ends is in the drain,
not in the round's time: a default round lasts under a second, about one sequencing interval,
so ``--full`` rounds (1,200 filings, several seconds) count more of the background work and
are the stricter figure. The variants alternate their order round by round
(``bench.common.interleaved_rates``); a variant's rate is the median of its per-round rates
(filings per second of wall time), its latencies are pooled over its timed rounds. The last line
is ``ratio: <http median / in-process median> (target 0.5)``.

``--breakdown`` then measures where the server's CPU goes, on a workers-off server: server
CPU per request of ``GET /health`` (the framework alone), of the same with a bearer token and
of ``POST /v1/products``; and, timed alone in this process, each piece the product route runs
(the filing, the read-back of the new filing, the idempotency record, the token lookup, the
body's validation and hash).

Run: ``.venv/bin/python -m bench.api`` (under a minute; ``--full`` for bigger rounds;
``--breakdown`` adds ~10 s).
PostgreSQL (default): a database ``ppl_bench_<pid>`` is created through
``PPL_BENCH_POSTGRES_ADMIN`` (default postgresql://postgres@127.0.0.1:5432/postgres), one schema
per variant, and dropped at the end; ``--sqlite`` uses SQLite files in a temporary directory.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID, uuid4

import orjson
import uvicorn

from api.app import create_app
from api.bootstrap import (
    SignedPatentLedger,
    load_keyring,
    open_database,
    open_ledger,
    open_log_store,
)
from api.command_bodies import FileProduct
from api.idempotency import now, request_hash
from api.receipts import PendingReceipt
from api.settings import Settings
from api.tokens import TokenStore
from audit.log.log_store import LogStore
from bench.common import (
    fresh_postgres_schema,
    fresh_sqlite_url,
    interleaved_rates,
    machine_info,
    median,
    postgres_admin_dsn,
    postgres_database,
    postgres_unreachable_reason,
    run_threads,
)
from domain.actor import Role
from domain.declarations import EconomicFigures, PatentDeclaration
from projections.catalog import models
from projections.store import ProjectionStore
from tests.domain.factories import approved_filer, digest, filer_actor, own_patent, uscc

TARGET = 0.5
PRODUCTS_PATH = "/v1/products"
HEADLINE = "http"
BASELINE = "in-process"
ONE_PROCESS = "http, one process"
WORKERS_OFF = "http, workers off"

# Where the background workers (log sequencer, projection follower) of a served store run.
SEPARATE = "separate"  # `ppl log follow` and `ppl projections follow`, processes of their own
INSIDE = "inside"  # threads of the API process (`ppl serve` alone, the default settings)
OFF = "off"  # nowhere: the request path alone (both intervals 0)
_FOLLOWERS = (("log", "follow"), ("projections", "follow"))
SERVER_START_SECONDS = 60.0
DRAIN_TIMEOUT_SECONDS = 120.0
REQUEST_TIMEOUT_SECONDS = 60.0
PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Sizes:
    rounds: int
    filings: int  # timed filings per round and variant, all clients together


DEFAULT_SIZES = Sizes(rounds=7, filings=240)
FULL_SIZES = Sizes(rounds=9, filings=1200)


class BenchError(Exception):
    """The benchmark cannot go on (a non-201 answer, a server that does not start...)."""


class Connection:
    """One keep-alive HTTP/1.1 connection to the server, with headers sent on every request.

    Why the standard library's ``http.client`` and not ``httpx2``: the clients share the
    machine's two cores with the server and PostgreSQL, so the load generator must be light
    (wrk's reason to exist). ``httpx2`` spent ~0.7-1 ms of CPU per filing here, ``http.client``
    ~0.2 ms; only the client side changes, the server sees the same requests.
    """

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self._connection = http.client.HTTPConnection(
            host, int(port), timeout=REQUEST_TIMEOUT_SECONDS
        )
        self._headers = headers or {}

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Send one request and read the whole answer: (status, body)."""
        self._connection.request(method, path, body, {**self._headers, **(headers or {})})
        response = self._connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# --- the filings -------------------------------------------------------------------------------
# Every filing declares the same fields; only the name differs (so each is a distinct product).
PRODUCT_VARIANTS = ("白色", "黑色")
CATEGORY = "03"
DATA_YEAR = 2022
FIGURES_FEN = {"sales": 10_000_000, "exports": 1_000_000, "profit": 500_000, "ip_spending": 80_000}
PROOF_DIGEST = digest("invoice")


def model_of(name: str) -> str:
    """Each filing's own model ("BT-" and the name's serial): one model shared by every
    filing would make each a near-duplicate candidate (same_model) of all before it."""
    return f"BT-{name.rsplit(' ', 1)[1]}"


def product_name(label: str, client: int, number: int) -> str:
    """A product name whose canonical key (punctuation dropped) is unique in the store."""
    return f"基准测试产品 {label}-{client:02d}-{number:06d}"


def http_body(filer_id: UUID, name: str) -> dict[str, Any]:
    """The JSON body of ``POST /v1/products`` for this filing (api/command_bodies.py)."""
    return {
        "filer_id": str(filer_id),
        "name": name,
        "model": model_of(name),
        "variants": list(PRODUCT_VARIANTS),
        "category": CATEGORY,
        "finer_code": None,
        "patents": [{"number": own_patent(filer_id), "relation": "owner"}],
        "data_year": DATA_YEAR,
        "figures": {f"{field}_fen": fen for field, fen in FIGURES_FEN.items()},
        "proof_digests": [PROOF_DIGEST],
    }


def domain_arguments(filer_id: UUID, name: str) -> dict[str, Any]:
    """The keyword arguments of ``file_product`` for the same filing."""
    return {
        "filer_id": filer_id,
        "name": name,
        "model": model_of(name),
        "variants": list(PRODUCT_VARIANTS),
        "category": CATEGORY,
        "finer_code": None,
        "patents": [PatentDeclaration.parse(own_patent(filer_id), "owner")],
        "data_year": DATA_YEAR,
        "figures": EconomicFigures.of_fen(**FIGURES_FEN),
        "proof_digests": [PROOF_DIGEST],
    }


# --- rounds ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Round:
    filings: int
    seconds: float
    latencies: list[float]  # seconds, one per timed filing
    client_cpu: float  # CPU seconds of this process during the timed part
    server_cpu: float | None  # CPU seconds of the server process, timed part and drain
    drain: float | None  # seconds until the log and read models caught up, after the round

    @property
    def rate(self) -> float:
        return self.filings / self.seconds


@dataclass(slots=True)
class Results:
    rounds: dict[str, list[Round]] = field(default_factory=dict)

    def add(self, name: str, result: Round) -> float:
        self.rounds.setdefault(name, []).append(result)
        return result.rate


class Variant(Protocol):
    name: str

    def run(self, label: str, filings: int) -> Round:
        """Set up new filers (untimed), then make ``filings`` filings over the clients."""

    def close(self) -> None: ...


def _shares(amount: int, clients: int) -> list[int]:
    return [amount // clients + (index < amount % clients) for index in range(clients)]


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Filers:
    """Approved filers, created in-process on one store (untimed), one per client per round."""

    def __init__(self, ledger: SignedPatentLedger, first_serial: int) -> None:
        self.ledger = ledger
        self.next_serial = first_serial

    def create(self, clients: int) -> list[tuple[str, UUID]]:
        filers = []
        for _ in range(clients):
            code = uscc(self.next_serial)
            self.next_serial += 1
            filers.append((code, approved_filer(self.ledger, code)))
        return filers


class InProcess:
    """``file_product`` on a shared ledger application, one thread per client."""

    def __init__(self, name: str, settings: Settings, clients: int, first_serial: int) -> None:
        self.name = name
        self.clients = clients
        self.ledger = open_ledger(settings)
        self.filers = Filers(self.ledger, first_serial)

    def run(self, label: str, filings: int) -> Round:
        filers = self.filers.create(self.clients)
        for client, (code, filer_id) in enumerate(filers):  # warm: filer into the cache
            self.ledger.file_product(
                filer_actor(code),
                **domain_arguments(filer_id, product_name(f"{label}w", client, 0)),
            )
        shares = _shares(filings, self.clients)
        latencies: list[list[float]] = [[] for _ in range(self.clients)]

        def work(client: int) -> None:
            code, filer_id = filers[client]
            actor = filer_actor(code)
            timings = latencies[client]
            for number in range(shares[client]):
                arguments = domain_arguments(filer_id, product_name(label, client, number))
                started = time.perf_counter()
                self.ledger.file_product(actor, **arguments)
                timings.append(time.perf_counter() - started)

        cpu = _process_cpu()
        seconds = run_threads(self.clients, work)
        cpu = _process_cpu() - cpu
        return Round(filings, seconds, [t for ts in latencies for t in ts], cpu, None, None)

    def close(self) -> None:
        self.ledger.close()


# --- the server --------------------------------------------------------------------------------
def serve(port: int) -> None:
    """The child process: the real app under uvicorn on 127.0.0.1:``port``, settings from PPL_*."""
    app = create_app(Settings.from_environment())
    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")).run()


def _server_stack() -> str:
    """What uvicorn's "auto" loop and HTTP settings pick here (as ``ppl serve`` runs it)."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"{loop}, {http}"


_SERVE = "import sys; from bench.api import serve; serve(int(sys.argv[1]))"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Follower:
    """A `ppl log follow` or `ppl projections follow` process, and the file of its output."""

    process: subprocess.Popen[bytes]
    command: str
    output: Path


@dataclass(frozen=True, slots=True)
class Server:
    url: str
    pid: int
    followers: tuple[Follower, ...] = ()  # if the workers run as processes of their own

    def cpu(self) -> float:
        """CPU seconds so far of every process serving the store (API and followers)."""
        pids = (self.pid, *(follower.process.pid for follower in self.followers))
        return sum(_server_cpu(pid) for pid in pids)

    def check(self) -> None:
        """BenchError if a follower process has stopped (the backlog would never drain)."""
        for follower in self.followers:
            if follower.process.poll() is not None:
                tail = follower.output.read_text(errors="replace")[-1500:]
                raise BenchError(
                    f"`ppl {follower.command}` stopped (status {follower.process.returncode}); "
                    f"the end of its output:\n{tail}"
                )


_RUN_PPL = "import sys; from api.cli import main; sys.argv[0] = 'ppl'; main()"


@contextmanager
def served(
    settings: Settings, workers: str, log_dir: Path, extra: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """Serve the store until the block ends: uvicorn in a child process, and its workers.

    ``workers``: SEPARATE starts ``ppl log follow`` and ``ppl projections follow`` beside the
    API process (its own intervals 0), as README "Serving" documents; INSIDE leaves them to the
    API process's background threads (default intervals); OFF runs none. The followers'
    output goes to files in ``log_dir`` (named in the error if they stop early). ``extra``:
    more PPL_* settings for every process (a benchmark's rate limits).
    """
    port = _free_port()
    # Only these PPL_* settings: the server must use the run's keys and defaults, whatever the
    # caller's environment says (a PPL_SIGNING_KEY_FILE there would sign with another key).
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PPL_")}
    environment |= {
        "PPL_DATA_DIR": str(settings.data_dir),
        "PPL_DATABASE_URL": settings.database_url,
        "PPL_ENV": "development",
        **(extra or {}),
    }
    api_environment = environment
    if workers != INSIDE:
        api_environment = environment | {
            "PPL_SEQUENCE_INTERVAL": "0",
            "PPL_PROJECTION_INTERVAL": "0",
        }
    with ExitStack() as stack:
        child = subprocess.Popen(  # noqa: S603 (our own interpreter and code, no shell)
            [sys.executable, "-c", _SERVE, str(port)], env=api_environment, cwd=PROJECT_ROOT
        )
        # uvicorn shuts down gracefully on SIGTERM (lifespan: its worker threads stop)
        stack.callback(_stop, child, signal.SIGTERM)
        followers = []
        if workers == SEPARATE:
            log_dir.mkdir(parents=True, exist_ok=True)
            for command in _FOLLOWERS:
                path = log_dir / f"{'-'.join(command)}.log"
                output = stack.enter_context(path.open("wb"))
                process = subprocess.Popen(  # noqa: S603 (our own interpreter and code)
                    [sys.executable, "-c", _RUN_PPL, *command],  # default --interval
                    env=environment, cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT,
                )  # fmt: skip
                stack.callback(_stop, process, signal.SIGINT)  # the CLI stops on Ctrl-C
                followers.append(Follower(process, " ".join(command), path))
        url = f"http://127.0.0.1:{port}"
        wait_until_up(child, url)
        wait_screening_read_in(url)
        server = Server(url, child.pid, tuple(followers))
        server.check()
        yield server


def _stop(process: subprocess.Popen[bytes], how: signal.Signals) -> None:
    if process.poll() is not None:
        return
    process.send_signal(how)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_up(
    child: subprocess.Popen[bytes],
    url: str,
    output: Path | None = None,
    seconds: float = SERVER_START_SECONDS,
) -> None:
    """Until ``GET /health`` answers 200 at ``url`` (at most ``seconds``); a server that exits
    first is an error (with the tail of its ``output`` file, if it writes one)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            tail = "" if output is None else ":\n" + output.read_text(errors="replace")[-1500:]
            raise BenchError(f"the API server exited with status {child.returncode}{tail}")
        try:
            with Connection(url) as connection:
                if connection.request("GET", "/health")[0] == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise BenchError(f"the API server did not answer at {url} within {seconds} s")


SCREENING_READ_IN_SECONDS = 600.0  # ~34 s at 10^6 events (docs/benchmarks.md, cost curve)


def wait_screening_read_in(url: str, seconds: float = SCREENING_READ_IN_SECONDS) -> None:
    """Until the server has read the stored filings into its screening index (``GET /ready``
    ``screening.read_in``; api/screening_warmup.py), so that read no longer runs beside what
    a benchmark times. A 503 (no read model built yet: a fresh store, where the read is
    instant) is not waited on."""
    deadline = time.monotonic() + seconds
    with Connection(url) as connection:
        while time.monotonic() < deadline:
            status, body = connection.request("GET", "/ready")
            if status != 200 or orjson.loads(body)["screening"]["read_in"]:
                return
            time.sleep(0.1)
    raise BenchError(f"the API server at {url} did not read in its screening index in {seconds} s")


class Backlog:
    """How far the log sequencer and the read models are behind the store's events."""

    def __init__(self, ledger: SignedPatentLedger, settings: Settings) -> None:
        self.ledger = ledger
        self.log: LogStore = open_log_store(settings)
        self.projections = ProjectionStore(open_database(settings))
        self.names = [model.name for model in models(())]

    def caught_up(self) -> bool:
        last = self.ledger.recorder.max_notification_id() or 0
        if self.log.position().last_notification_id < last:
            return False
        for name in self.names:
            generation = self.projections.active_generation(name)
            if generation is None:
                return False
            if self.projections.position(name, generation).notification_id < last:
                return False
        return True

    def wait(self, server: Server) -> float:
        """Seconds until caught up (BenchError after DRAIN_TIMEOUT_SECONDS)."""
        started = time.perf_counter()
        while not self.caught_up():
            server.check()
            if time.perf_counter() - started > DRAIN_TIMEOUT_SECONDS:
                raise BenchError(
                    f"the log or the read models did not catch up in {DRAIN_TIMEOUT_SECONDS} s"
                )
            time.sleep(0.02)
        return time.perf_counter() - started

    def close(self) -> None:
        self.log.close()
        self.projections.db.close()


def _setup_ledger(settings: Settings) -> SignedPatentLedger:
    """A ledger for the untimed setup of a served store (filers, counting events).

    Its connection pool is small: PostgreSQL's connections (100 by default) are shared with the
    servers, whose own ledger pools and per-thread connections need most of them.
    """
    env = settings.eventsourcing_env()
    if settings.is_postgres:
        env |= {"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}
    return SignedPatentLedger(env, load_keyring(settings))


class OverHttp:
    """``POST /v1/products`` from one thread per client, each with a keep-alive connection."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        server: Server,
        clients: int,
        first_serial: int,
        *,
        workers: str,
    ) -> None:
        self.name = name
        self.server = server
        self.clients = clients
        self.ledger = _setup_ledger(settings)
        self.filers = Filers(self.ledger, first_serial)
        self.tokens = TokenStore(open_database(settings))
        self.backlog = Backlog(self.ledger, settings) if workers != OFF else None

    def _client(self, code: str) -> Connection:
        _, token = self.tokens.create(Role.FILER, scope=code, label="bench")
        return Connection(self.server.url, {"Authorization": f"Bearer {token}"})

    def run(self, label: str, filings: int) -> Round:
        filers = self.filers.create(self.clients)
        with ExitStack() as stack:
            clients = [stack.enter_context(self._client(code)) for code, _ in filers]
            for client, (_, filer_id) in enumerate(filers):  # warm: connection, filer cache
                _post(clients[client], http_body(filer_id, product_name(f"{label}w", client, 0)))
            shares = _shares(filings, self.clients)
            latencies: list[list[float]] = [[] for _ in range(self.clients)]

            def work(client: int) -> None:
                _, filer_id = filers[client]
                timings = latencies[client]
                for number in range(shares[client]):
                    body = http_body(filer_id, product_name(label, client, number))
                    started = time.perf_counter()
                    _post(clients[client], body)
                    timings.append(time.perf_counter() - started)

            server_cpu = self.server.cpu()
            client_cpu = _process_cpu()
            seconds = run_threads(self.clients, work)
            client_cpu = _process_cpu() - client_cpu
        drain = self.backlog.wait(self.server) if self.backlog is not None else None
        server_cpu = self.server.cpu() - server_cpu
        pooled = [t for ts in latencies for t in ts]
        return Round(filings, seconds, pooled, client_cpu, server_cpu, drain)

    def close(self) -> None:
        if self.backlog is not None:
            self.backlog.close()
        self.tokens.db.close()
        self.ledger.close()


def _post(client: Connection, body: dict[str, Any]) -> None:
    """One filing; BenchError unless the API answers 201 Created."""
    status, answer = client.request(
        "POST",
        PRODUCTS_PATH,
        orjson.dumps(body),
        {"Content-Type": "application/json", "Idempotency-Key": f"bench-{secrets.token_hex(12)}"},
    )
    if status != 201:
        text = answer[:600].decode(errors="replace")
        raise BenchError(f"POST {PRODUCTS_PATH} answered {status}, want 201: {text}")


# --- measuring and reporting -------------------------------------------------------------------
def measure(variants: Sequence[Variant], sizes: Sizes, clients: int) -> Results:
    """A warm-up round for each variant (discarded), then the interleaved rounds."""
    for variant in variants:
        variant.run("warm", 4 * clients)
        print(f"  warmed up: {variant.name}", flush=True)
    results = Results()

    def timed(variant: Variant) -> tuple[str, Callable[[int], float]]:
        def round_of(number: int) -> float:
            result = variant.run(f"r{number}", sizes.filings)
            print(f"  round {number} {variant.name:<18} {_round_line(result)}", flush=True)
            return results.add(variant.name, result)

        return variant.name, round_of

    interleaved_rates(sizes.rounds, [timed(variant) for variant in variants])
    return results


def _round_line(result: Round) -> str:
    line = (
        f"{result.rate:7.1f} filings/s  p50 {_ms(percentile(result.latencies, 50)):6.2f} ms  "
        f"p99 {_ms(percentile(result.latencies, 99)):7.2f} ms"
    )
    if result.drain is not None:
        line += f"  drain {result.drain:.2f} s"
    return line


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile: the smallest value with ``percent`` % of values at or below it."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def _ms(seconds: float) -> float:
    return seconds * 1000


def print_table(results: Results, clients: int) -> None:
    print()
    print(
        f"{'variant':<18} {'filings/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'server CPU':>10} "
        f"{'client CPU':>10} {'drain s':>7}  per-round filings/s"
    )
    for name, rounds in results.rounds.items():
        latencies = [t for result in rounds for t in result.latencies]
        filings = sum(result.filings for result in rounds)
        server = [r.server_cpu for r in rounds if r.server_cpu is not None]
        drains = [r.drain for r in rounds if r.drain is not None]
        server_text = f"{_ms(sum(server) / filings):7.2f} ms" if server else f"{'-':>10}"
        drain_text = f"{median(drains):7.2f}" if drains else f"{'-':>7}"
        client_cpu = sum(result.client_cpu for result in rounds)
        print(
            f"{name:<18} {median([r.rate for r in rounds]):>9.1f} "
            f"{_ms(percentile(latencies, 50)):>7.2f} {_ms(percentile(latencies, 99)):>7.2f} "
            f"{server_text} {_ms(client_cpu / filings):7.2f} ms {drain_text}  "
            + " ".join(f"{r.rate:.0f}" for r in rounds)
        )
    print(
        f"filings/s: median of per-round rates; {clients} concurrent clients. p50/p99: over all\n"
        "timed filings of the variant. CPU per filing: server = the uvicorn process and the\n"
        "follower processes, until drained; client = this process during the timed part (for\n"
        "in-process: the filings themselves). drain: median wait after an http round until the\n"
        "log sequencer and every read model had caught up."
    )


# --- where the server's CPU goes (--breakdown) ---------------------------------------------------
BREAKDOWN_REQUESTS = 400  # per HTTP measurement, all clients together
BREAKDOWN_CALLS = 200  # per in-process piece, one thread


def _server_cpu_per_request(
    server: Server,
    headers: Sequence[dict[str, str]],
    send: Callable[[Connection, int, int], None],
) -> float:
    """Server CPU seconds per request while one thread per ``headers`` sends its share.

    ``send(connection, client, number)``; number ``BREAKDOWN_REQUESTS`` warms the connection.
    """
    shares = _shares(BREAKDOWN_REQUESTS, len(headers))
    with ExitStack() as stack:
        connections = [stack.enter_context(Connection(server.url, each)) for each in headers]
        for client, connection in enumerate(connections):
            send(connection, client, BREAKDOWN_REQUESTS)

        def work(client: int) -> None:
            for number in range(shares[client]):
                send(connections[client], client, number)

        cpu = _server_cpu(server.pid)
        run_threads(len(headers), work)
        return (_server_cpu(server.pid) - cpu) / BREAKDOWN_REQUESTS


def _thread_cpu(call: Callable[[int], object]) -> float:
    """Median CPU seconds of this thread per ``call(i)``, over BREAKDOWN_CALLS calls."""
    timings = []
    for number in range(BREAKDOWN_CALLS):
        started = time.thread_time()
        call(number)
        timings.append(time.thread_time() - started)
    return median(timings)


def breakdown(variant: OverHttp, clients: int) -> list[tuple[str, float]]:
    """CPU per request of the server's layers (workers off), and of its pieces alone.

    Over HTTP (server CPU from /proc, ``clients`` concurrent clients): GET /health anonymous
    (uvicorn, h11, Starlette, FastAPI and two threadpool hops: the app-wide ``caller``
    dependency and the sync route; no database), the same with a filer's bearer token (adds
    the token lookup), and POST /v1/products. In this process, one thread, CPU per call
    (``time.thread_time``), on the same store: the filing itself and each other piece the
    product route runs.
    """
    filers = variant.filers.create(clients)
    tokens = [variant.tokens.create(Role.FILER, scope=code, label="bench")[1] for code, _ in filers]
    bearers = [{"Authorization": f"Bearer {token}"} for token in tokens]

    def health(connection: Connection, _client: int, _number: int) -> None:
        status, _ = connection.request("GET", "/health")
        if status != 200:
            raise BenchError(f"GET /health answered {status}, want 200")

    def filing(connection: Connection, client: int, number: int) -> None:
        _post(connection, http_body(filers[client][1], product_name("bh", client, number)))

    server = variant.server
    rows = [
        ("GET /health, anonymous", _server_cpu_per_request(server, [{}] * clients, health)),
        ("GET /health, bearer token", _server_cpu_per_request(server, bearers, health)),
        ("POST /v1/products", _server_cpu_per_request(server, bearers, filing)),
    ]
    code, filer_id = filers[0]
    token = tokens[0]
    ledger = variant.ledger
    actor = filer_actor(code)
    filed: list[UUID] = []
    body = orjson.dumps(http_body(filer_id, product_name("bx", 0, 0)))

    def file_one(number: int) -> None:
        arguments = domain_arguments(filer_id, product_name("bi", 0, number))
        filed.append(ledger.file_product(actor, **arguments))

    def file_with_key(number: int) -> None:
        arguments = domain_arguments(filer_id, product_name("bk", 0, number))
        product_id = uuid4()
        receipt = PendingReceipt(
            "bench", f"bench-breakdown-{number:06d}", "0" * 64, now(), product_id
        )
        filed.append(
            ledger.file_product(actor, **arguments, product_id=product_id, receipt=receipt)
        )

    def authenticate(_: int) -> None:
        variant.tokens.authenticate(token)

    def validate(_: int) -> None:
        payload = FileProduct.model_validate(orjson.loads(body)).model_dump(mode="json")
        request_hash("POST", PRODUCTS_PATH, payload)

    return [
        *rows,
        ("  ledger.file_product (the in-process baseline's call)", _thread_cpu(file_one)),
        ("  the same, with its Idempotency-Key record in the save", _thread_cpu(file_with_key)),
        ("  TokenStore.authenticate", _thread_cpu(authenticate)),
        ("  body: parse, validate, dump, request_hash", _thread_cpu(validate)),
    ]


def print_breakdown(rows: Sequence[tuple[str, float]], clients: int) -> None:
    print()
    print(
        f"where the server's CPU goes (server: {BREAKDOWN_REQUESTS} requests from {clients} "
        f"clients, workers off; pieces: median of {BREAKDOWN_CALLS} calls, one thread)"
    )
    for label, seconds in rows:
        where = "in this process" if label.startswith(" ") else "server CPU"
        print(f"  {label:<60} {seconds * 1e6:6.0f} µs  ({where})")


# --- stores ------------------------------------------------------------------------------------
def _settings(data_dir: Path, database_url: str) -> Settings:
    """A development ledger's settings; every store of the run shares ``data_dir``'s keys."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return Settings.from_environment(
        {"PPL_DATA_DIR": str(data_dir), "PPL_DATABASE_URL": database_url}
    )


def run(
    make_url: Callable[[str], str],
    data_dir: Path,
    sizes: Sizes,
    clients: int,
    *,
    workers_off: bool,
    with_breakdown: bool,
) -> tuple[Results, list[tuple[str, float]]]:
    """Start the servers, measure the variants, then the breakdown if asked; stop everything."""
    with ExitStack() as stack:

        def over_http(name: str, store: str, first_serial: int, *, workers: str) -> OverHttp:
            settings = _settings(data_dir, make_url(store))
            logs = data_dir.parent / f"logs-{store}"
            server = stack.enter_context(served(settings, workers, logs))
            variant = OverHttp(name, settings, server, clients, first_serial, workers=workers)
            stack.callback(variant.close)
            return variant

        baseline = InProcess(BASELINE, _settings(data_dir, make_url("inprocess")), clients, 200_000)
        stack.callback(baseline.close)  # and it created the run's keys before any server starts
        variants: list[Variant] = [
            over_http(HEADLINE, "http", 100_000, workers=SEPARATE),
            baseline,
            over_http(ONE_PROCESS, "http_one", 400_000, workers=INSIDE),
        ]
        bare = None
        if workers_off or with_breakdown:
            bare = over_http(WORKERS_OFF, "http_bare", 300_000, workers=OFF)
            if workers_off:
                variants.append(bare)
        results = measure(variants, sizes, clients)
        rows = breakdown(bare, clients) if bare is not None and with_breakdown else []
        return results, rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.api",
        description="Filings per second over HTTP (uvicorn) vs in-process (issue #5).",
    )
    parser.add_argument("--full", action="store_true", help="bigger rounds and more of them")
    parser.add_argument("--rounds", type=int, help="interleaved rounds")
    parser.add_argument("--filings", type=int, help="timed filings per round and variant")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite files instead of PostgreSQL")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="then measure the server's CPU per layer and per piece (about 10 s more)",
    )
    parser.add_argument(
        "--workers-off",
        action="store_true",
        help="also measure HTTP with the background workers off (a third variant and server)",
    )
    args = parser.parse_args(argv)
    sizes = FULL_SIZES if args.full else DEFAULT_SIZES
    rounds = sizes.rounds if args.rounds is None else args.rounds
    filings = sizes.filings if args.filings is None else args.filings
    if rounds < 1 or filings < 1 or args.clients < 1:
        parser.error("--rounds, --filings and --clients: want at least 1")
    sizes = Sizes(rounds, filings)

    started = time.perf_counter()
    packages = ", ".join(
        f"{name} {version(name)}"
        for name in ("fastapi", "starlette", "uvicorn", "httptools", "uvloop")
    )
    print("API throughput: POST /v1/products over HTTP (uvicorn, loopback) vs in-process")
    print(f"machine: {machine_info().describe()}, {packages}")
    print(
        f"mode: {'full' if args.full else 'default'}; {sizes.rounds} interleaved rounds of "
        f"{sizes.filings} filings per variant; {args.clients} concurrent clients; API: one "
        f"uvicorn process ({_server_stack()}); http: with `ppl log follow` and `ppl projections "
        "follow` beside it; one process: its own background threads"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="ppl-bench-") as temporary:
            work_dir = Path(temporary)
            if args.sqlite:
                print("store: sqlite, a fresh file per variant", flush=True)
                results, rows = run(
                    lambda store: fresh_sqlite_url(work_dir, store), work_dir / "data", sizes,
                    args.clients, workers_off=args.workers_off, with_breakdown=args.breakdown,
                )  # fmt: skip
            else:
                admin = postgres_admin_dsn()
                reason = postgres_unreachable_reason(admin)
                if reason is not None:
                    print(f"postgres: not reachable at {admin} ({reason}); try --sqlite")
                    return 1
                with postgres_database(admin) as database:
                    print(
                        f"store: postgres, database {database.rsplit('/', 1)[1]}, a fresh schema "
                        "per variant (dropped at the end)",
                        flush=True,
                    )
                    results, rows = run(
                        lambda store: fresh_postgres_schema(database, f"bench_{store}"),
                        work_dir / "data", sizes, args.clients,
                        workers_off=args.workers_off, with_breakdown=args.breakdown,
                    )  # fmt: skip
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    print_table(results, args.clients)
    if rows:
        print_breakdown(rows, args.clients)
    print(f"elapsed: {time.perf_counter() - started:.0f} s")
    http = median([result.rate for result in results.rounds[HEADLINE]])
    baseline = median([result.rate for result in results.rounds[BASELINE]])
    if WORKERS_OFF in results.rounds:
        bare = median([result.rate for result in results.rounds[WORKERS_OFF]])
        print(f"http with workers off / in-process: {bare / baseline:.3f} (not the headline)")
    one = median([result.rate for result in results.rounds[ONE_PROCESS]])
    print(
        f"http, one process (workers inside) / in-process: {one / baseline:.3f} (not the headline)"
    )
    print(f"http {http:.1f} filings/s / in-process {baseline:.1f} filings/s (medians)")
    print(f"ratio: {http / baseline:.3f} (target {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
