"""Read throughput: a read mix over HTTP (uvicorn, Granian) vs the same reads in-process.

Question (issue #20, part 1): how many reads per second does the API serve, at rising
concurrency, against the same reads made in-process — where does throughput stop rising (the
knee), what is the p99 there (target < 50 ms), and is Granian a better server than uvicorn for
this mix? Target: HTTP requests/s >= 0.5 x in-process requests/s.

**The data** is the sample as bench/projections.py and bench/pages.py use it: bench/audit.py's
cached signed SQLite store of sample seeds (``bench.audit.DEFAULT_CACHE``, built on first use;
the ``--full`` cache takes many minutes), its first N events (default: the seeds of >= 25,000
events; ``--full``: >= 200,000) copied byte for byte into a throwaway PostgreSQL database with
the Merkle log up to the latest checkpoint. Before anything is timed: every read model is
rebuilt (``ppl projections rebuild``), the regional statistics of one month are published
(``ppl stats publish``, so the public statistics routes have a publication) and the read models
caught up with it, the log sequenced and the product index built (``TransparencyLog.sequence``),
and the database vacuumed and analysed — a rebuild's new tables have no planner statistics
until then, and a registry search on them took ~12x as long (docs/benchmarks.md "Reads").
Nothing is written while the clock runs.

**The mix** (weights in ``MIX``, drawn with a seeded RNG, the same requests for every variant
of a round and concurrency): product pages ``GET /v1/products/{id}`` (anonymous); registry
searches ``GET /v1/products?q=<2-4 characters of a name>&limit=20`` and listings by district,
category and status (anonymous); ``GET /v1/filers?limit=20`` (a district's regional admin);
the published statistics ``GET /v1/statistics/regions`` (district, city or one district) and
``/v1/statistics/conversions`` (by category or region; anonymous); trails
``GET /v1/products/{id}/trail`` (the regional admin of the filing's district); inclusion proofs
by event ``GET /v1/log/proofs/inclusion/event/{id}/{version}`` (an auditor) and by
``leaf_index`` (anonymous); consistency proofs ``GET /v1/log/proofs/consistency?first=M`` from
an older checkpoint's size; the checkpoint (``/v1/log/checkpoint`` or ``/tlog/checkpoint``);
hash tiles ``/tlog/tile/...`` (mostly full level-0 tiles, else the partial and upper tiles of
the checkpoint). Ids are real: approved filings read from the registry, leaves from the log.
Every answer must be 200; anything else stops the run with its status and body.

**Variants**, each measured at 1, 2, 4, 8 and 16 concurrent clients:

* **uvicorn** — ``api.app.create_app`` in a child process (``python -m uvicorn --factory``:
  uvloop, httptools, access log off, log level warning), background loops off
  (``PPL_SEQUENCE_INTERVAL=0``, ``PPL_PROJECTION_INTERVAL=0``, ``PPL_STATS_PUBLISH=off``), the
  expensive-read rate limit raised out of the way (event proofs are in that class). What
  ``ppl serve`` runs, minus its access log.
* **granian** — the same app and settings under Granian (``python -m granian --interface asgi
  --factory``: one worker process, one runtime thread, uvloop, HTTP/1, access log off), as
  fairly as the two servers' options allow; sync routes run in the same anyio thread pool.
  Granian is not a dependency of the project: ``.venv/bin/pip install granian==2.8.9`` (without
  it the run says so and measures uvicorn alone).
* **in-process** (the baseline) — the same app built and started in this process (its lifespan
  opens the stores with api.bootstrap, as a server's does; ``fastapi.testclient.TestClient``
  only runs the lifespan, no request goes through it), and each request replaced by what
  FastAPI would call for it: the route's dependencies (``api.deps.read_models``,
  ``merkle_log``, the statistics' ``answering``, the trail's leaf lookup) and the route function
  itself (``registry.get_product``, ``list_products``, ``list_filers``, ``product_trail``,
  ``statistics.region_statistics``, ``conversion_statistics``, ``ledger.event_inclusion_proof``,
  ``inclusion_proof``, ``consistency_proof``, ``checkpoint``, ``tiles.checkpoint``,
  ``tiles.hash_tile``) — the projections queries, the TransparencyLog proofs and the tile reader
  on the same database. Left out: the socket, HTTP parsing, middleware, token lookup (callers
  are given as principals), parameter validation and the response model's validation and JSON
  rendering — what the HTTP variants add.

HTTP clients are threads of this process, each with its own keep-alive ``http.client``
connection (``bench.api.Connection``: a heavier client would take the 2 cores from the
server), opened and warmed (``GET /health``) before the clock starts. In-process, as many
threads call the route functions. Both servers run during the whole measurement; idle, they
cost nothing. Each round measures every (concurrency, variant) once on ``requests`` requests,
the order reversed round by round (``bench.common.interleaved_rates``); a rate is the median of
the rounds, latencies are pooled over the rounds. Server CPU per request is read from ``/proc``
(the server's process tree: Granian's worker is a child process); client CPU is this process's.

**Figures**: requests/s per variant and concurrency; p50/p99 overall and per endpoint, at the
lowest concurrency and at each variant's knee; server and client CPU per request; the knee =
the lowest concurrency after which doubling the clients gains less than 10 % (the highest
measured if it never stops rising); the p99 at the knee (target < 50 ms). The **ratio** is
HTTP (uvicorn: what ``ppl serve`` runs) requests/s ÷ in-process requests/s, each at its **best
concurrency** (its highest median rate): the question is how much of the reads' in-process
capacity the server delivers, and the two saturate at different concurrencies (in-process
threads queue on the GIL and PostgreSQL with no socket in between), so comparing at one
concurrency would measure one of them off its peak. The ratio at uvicorn's knee and Granian's
ratio are printed above it. Then, in this thread, each endpoint's in-process wall and CPU time
(what is Python, what is waiting on PostgreSQL); ``--profile`` adds a cProfile of the
in-process mix.

Run: ``.venv/bin/python -m bench.reads`` (about 35 s once the audit cache exists) or
``--full`` (the >= 200,000-event sample, rounds of 800 requests: about 6 minutes, 2.5 of them
preparing the data); ``--clients 2,8,16 --rounds 7`` compares the servers more closely.
PostgreSQL: a database ``ppl_bench_<pid>`` is created through ``PPL_BENCH_POSTGRES_ADMIN``
(default postgresql://postgres@127.0.0.1:5432/postgres) and dropped at the end. The last line
is ``ratio: <uvicorn requests/s / in-process requests/s, best concurrency of each> (target
0.5)``.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import itertools
import os
import pstats
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Final, Protocol
from urllib.parse import urlencode
from uuid import UUID

import psycopg
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from api import deps
from api.app import create_app
from api.bootstrap import open_database, open_projection_runner
from api.problems import ApiProblemError
from api.publishing import publish_period
from api.routes import ledger as ledger_routes
from api.routes import registry, statistics
from api.routes import tiles as tile_routes
from api.settings import Settings
from api.tokens import ANONYMOUS, Principal, TokenStore
from audit.log.tiles import TilePath, format_tile_path
from bench.api import Connection, percentile, wait_screening_read_in, wait_until_up
from bench.audit import DEFAULT_CACHE, DEFAULT_EVENTS, FULL_EVENTS, ensure_bundle
from bench.common import (
    interleaved_rates,
    machine_info,
    median,
    postgres_admin_dsn,
    postgres_database,
    postgres_unreachable_reason,
    run_threads,
)
from bench.projections import SAMPLE_STORE, Bench, copy_log, open_bench, run_rebuild
from domain.actor import Role
from domain.categories import IndustryCategory
from domain.product import ProductStatus
from projections import queries
from projections.conversion_stats import ConversionStatistics
from projections.queries import ConversionGrouping, Level
from projections.regional_stats import RegionalStatistics

TARGET: Final = 0.5
TARGET_P99_MS: Final = 50.0
KNEE_GAIN: Final = 0.10  # doubling the clients gains less than this: the knee
LEVELS: Final = (1, 2, 4, 8, 16)
PAGE: Final = 20  # the page size of the searches and listings
PERIOD: Final = "2023-12"  # the month published before the run (the sample's year)
UNLIMITED: Final = "100000000/minute"  # the expensive-read rate limit, out of the way
CATALOGUE_PAGE: Final = 200
WARM_UP: Final = 100  # requests per variant before the timed rounds (discarded)
SERVER_START_SECONDS: Final = 60.0
PROJECT_ROOT: Final = Path(__file__).resolve().parents[1]
UVICORN: Final = "uvicorn"
GRANIAN: Final = "granian"
IN_PROCESS: Final = "in-process"


class BenchError(RuntimeError):
    """The run cannot go on: a non-200 answer, a server that does not start..."""


@dataclass(frozen=True, slots=True)
class Sizes:
    rounds: int
    requests: int  # per round, variant and concurrency
    log_events: int  # at least this many events (a seed boundary of the cached store)
    catalogue: int  # approved filings read to draw the requests from
    leaves: int  # log leaves read to draw the event proofs from


DEFAULT_SIZES = Sizes(3, 100, DEFAULT_EVENTS, 1_000, 500)
FULL_SIZES = Sizes(5, 800, FULL_EVENTS, 4_000, 2_000)


# --- the data -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Listing:
    product_id: str
    name: str
    region_code: str
    category: str


@dataclass(frozen=True, slots=True)
class Leaf:
    index: int
    originator_id: UUID
    version: int


@dataclass(frozen=True, slots=True)
class Catalogue:
    """What the requests are drawn from: real ids of the store."""

    listings: list[Listing]
    regions: list[str]  # districts of the listings
    leaves: list[Leaf]  # a random sample of the log's leaves
    tree_size: int  # the published checkpoint's
    older_sizes: list[int]  # every older checkpoint's size
    full_tiles: list[str]  # level-0 full tiles, paths below /tlog/tile/
    edge_tiles: list[str]  # partial tiles and upper levels: what a client refreshes


def tile_locations(size: int) -> tuple[list[str], list[str]]:
    """(full level-0 tiles, every other tile) of a tree of ``size`` leaves, paths below
    ``/tlog/tile/``: at level L a tile holds hashes of 256^L leaves, the last one partial."""
    full = [TilePath(0, index) for index in range(size // 256)]
    edge: list[TilePath] = []
    level = 0
    while hashes := size // 256**level:
        complete, width = divmod(hashes, 256)
        if level:
            edge += [TilePath(level, index) for index in range(complete)]
        if width:
            edge.append(TilePath(level, complete, width))
        level += 1
    return (
        [format_tile_path(tile).removeprefix("tile/") for tile in full],
        [format_tile_path(tile).removeprefix("tile/") for tile in edge],
    )


def read_catalogue(bench: Bench, sizes: Sizes, seed: int) -> Catalogue:
    """Approved filings in product id order (uuids: a random sample), random leaves, the
    checkpoints and the tiles of the published checkpoint."""
    listings: list[Listing] = []
    after: str | None = None
    while len(listings) < sizes.catalogue:
        page = queries.products(
            bench.store, listed_status=ProductStatus.APPROVED.value, after=after,
            limit=CATALOGUE_PAGE,
        )  # fmt: skip
        listings += [
            Listing(row["product_id"], row["name"], row["region_code"], row["category"])
            for row in page.rows
        ]
        after = page.next_cursor
        if after is None:
            break
    if not listings:
        raise BenchError("the registry holds no approved filing")
    published = bench.log.published()
    if published is None:
        raise BenchError("the log has no checkpoint")
    size = published.tree_size
    rng = random.Random(f"{seed}-leaves")
    leaves = []
    for index in rng.sample(range(size), min(sizes.leaves, size)):
        leaf = bench.log.store.leaf(index)
        if leaf is None:
            raise BenchError(f"leaf {index} is not in the log of {size}")
        leaves.append(Leaf(index, UUID(str(leaf.originator_id)), leaf.originator_version))
    older = [r.tree_size for r in bench.log.store.checkpoints() if r.tree_size < size]
    full, edge = tile_locations(size)
    return Catalogue(
        listings[: sizes.catalogue],
        sorted({listing.region_code for listing in listings}),
        leaves,
        size,
        older,
        full,
        edge,
    )


# --- callers and requests -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Caller:
    name: str  # "anonymous", "auditor", "admin 310115"
    principal: Principal
    token: str | None = None

    def headers(self) -> dict[str, str]:
        return {} if self.token is None else {"Authorization": f"Bearer {self.token}"}


class Reads:
    """The in-process side: what FastAPI calls for each request, without FastAPI.

    The app is started in this process (its lifespan opens the stores, as a server's does);
    each call resolves the route's dependencies by calling them, as FastAPI would, on a
    request scope of the app, then calls the route function.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._regions_answer = statistics.answering(RegionalStatistics.name)
        self._conversions_answer = statistics.answering(ConversionStatistics.name)

    def request(self, path: str) -> Request:
        scope = {
            "type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
            "query_string": b"", "headers": [], "app": self.app, "scheme": "http",
            "server": ("bench", 80), "client": ("127.0.0.1", 1), "root_path": "", "state": {},
        }  # fmt: skip
        return Request(scope)

    def product(self, principal: Principal, product_id: UUID) -> object:
        request = self.request("/v1/products/x")
        store = deps.read_models(request)
        return registry.get_product(product_id, principal, store, Response())

    def products(
        self,
        principal: Principal,
        *,
        q: str | None = None,
        region: str | None = None,
        category: str | None = None,
        status: str | None = None,
    ) -> object:
        store = deps.read_models(self.request("/v1/products"))
        return registry.list_products(
            principal, store, status=None if status is None else ProductStatus(status),
            filer_uscc=None, region=region,
            category=None if category is None else IndustryCategory(category), data_year=None,
            q=q, patent=None, filing_number=None, limit=PAGE, cursor=None,
        )  # fmt: skip

    def filers(self, principal: Principal) -> object:
        store = deps.read_models(self.request("/v1/filers"))
        return registry.list_filers(
            principal, store, status=None, uscc=None, region=None, limit=PAGE, cursor=None
        )

    def regions(self, principal: Principal, prefix: str | None, level: Level) -> object:
        request = self.request("/v1/statistics/regions")
        with _resolved(self._regions_answer(request, principal, None, None)) as answer:
            return statistics.region_statistics(
                principal, answer, prefix=prefix, level=level, data_year=None, period=None
            )

    def conversions(self, principal: Principal, by: ConversionGrouping) -> object:
        request = self.request("/v1/statistics/conversions")
        with _resolved(self._conversions_answer(request, principal, None, None)) as answer:
            return statistics.conversion_statistics(
                principal, answer, by=by, institution_uscc=None, region=None
            )

    def trail(self, principal: Principal, product_id: UUID) -> object:
        request = self.request("/v1/products/x/trail")
        store = deps.read_models(request)
        return registry.product_trail(
            product_id, principal, store, registry.leaf_lookup_of(request)
        )

    def event_proof(self, principal: Principal, leaf: Leaf) -> object:
        return ledger_routes.event_inclusion_proof(
            self.request("/v1/log/proofs/inclusion/event/x/1"), principal,
            leaf.originator_id, leaf.version, None,
        )  # fmt: skip

    def leaf_proof(self, leaf_index: int) -> object:
        return ledger_routes.inclusion_proof(
            self.request("/v1/log/proofs/inclusion"), leaf_index, None
        )

    def consistency(self, first: int) -> object:
        return ledger_routes.consistency_proof(
            self.request("/v1/log/proofs/consistency"), first, None
        )

    def checkpoint(self, *, tiled: bool) -> object:
        if tiled:
            return tile_routes.checkpoint(self.request("/tlog/checkpoint"))
        return ledger_routes.checkpoint(self.request("/v1/log/checkpoint"), None)

    def tile(self, location: str) -> object:
        return tile_routes.hash_tile(self.request(f"/tlog/tile/{location}"), location)


@contextmanager
def _resolved(dependency: Iterator[statistics.Answering]) -> Iterator[statistics.Answering]:
    """A generator dependency as FastAPI resolves it: its value, then run to its end (its
    clean-up) after the route."""
    answer = next(dependency)
    try:
        yield answer
    finally:
        for _ in dependency:
            pass


@dataclass(frozen=True, slots=True)
class Probe:
    """One read: its endpoint (the row of the figures), its HTTP path and caller, and the
    same read in-process."""

    endpoint: str
    path: str
    caller: Caller
    call: Callable[[Reads], object]


PRODUCT: Final = "product page"
SEARCH: Final = "search q="
LISTING: Final = "listing filters"
FILERS: Final = "filers"
REGIONS: Final = "stats regions"
CONVERSIONS: Final = "stats conversions"
TRAIL: Final = "trail"
EVENT_PROOF: Final = "proof by event"
LEAF_PROOF: Final = "proof by leaf"
CONSISTENCY: Final = "consistency proof"
CHECKPOINT: Final = "checkpoint"
TILE: Final = "hash tile"

MIX: Final = (  # (endpoint, weight in 100)
    (PRODUCT, 22),
    (SEARCH, 8),
    (LISTING, 10),
    (FILERS, 5),
    (REGIONS, 6),
    (CONVERSIONS, 4),
    (TRAIL, 10),
    (EVENT_PROOF, 8),
    (LEAF_PROOF, 8),
    (CONSISTENCY, 5),
    (CHECKPOINT, 6),
    (TILE, 8),
)
ENDPOINTS: Final = tuple(name for name, _ in MIX)


def _path(base: str, parameters: Mapping[str, str]) -> str:
    return f"{base}?{urlencode(parameters)}" if parameters else base


class Planner:
    """Draws the requests of the mix from the catalogue."""

    def __init__(self, catalogue: Catalogue, auditor: Caller, admins: Mapping[str, Caller]) -> None:
        self.catalogue = catalogue
        self.auditor = auditor
        self.admins = admins
        self.anonymous = Caller("anonymous", ANONYMOUS)
        self.draws = {
            PRODUCT: self.product, SEARCH: self.search, LISTING: self.listing,
            FILERS: self.filers, REGIONS: self.regions, CONVERSIONS: self.conversions,
            TRAIL: self.trail, EVENT_PROOF: self.event_proof, LEAF_PROOF: self.leaf_proof,
            CONSISTENCY: self.consistency, CHECKPOINT: self.checkpoint, TILE: self.tile,
        }  # fmt: skip
        self.names = [name for name, _ in MIX]
        self.weights = [weight for _, weight in MIX]

    def probes(self, rng: random.Random, count: int) -> list[Probe]:
        endpoints = rng.choices(self.names, self.weights, k=count)
        return [self.draws[endpoint](rng) for endpoint in endpoints]

    def product(self, rng: random.Random) -> Probe:
        product_id = rng.choice(self.catalogue.listings).product_id
        caller = self.anonymous
        return Probe(
            PRODUCT,
            f"/v1/products/{product_id}",
            caller,
            lambda reads: reads.product(caller.principal, UUID(product_id)),
        )

    def search(self, rng: random.Random) -> Probe:
        name = rng.choice(self.catalogue.listings).name
        length = min(len(name), rng.randint(2, 4))
        start = rng.randint(0, len(name) - length)
        q = name[start : start + length]
        caller = self.anonymous
        return Probe(
            SEARCH,
            _path("/v1/products", {"q": q, "limit": str(PAGE)}),
            caller,
            lambda reads: reads.products(caller.principal, q=q),
        )

    def listing(self, rng: random.Random) -> Probe:
        listing = rng.choice(self.catalogue.listings)
        region = listing.region_code if rng.random() < 0.7 else None
        category = listing.category if rng.random() < 0.5 else None
        status = ProductStatus.APPROVED.value if rng.random() < 0.3 else None
        if region is None and category is None and status is None:
            region = listing.region_code
        parameters = {"region": region, "category": category, "status": status}
        shown = {name: value for name, value in parameters.items() if value is not None}
        caller = self.anonymous
        return Probe(
            LISTING,
            _path("/v1/products", {**shown, "limit": str(PAGE)}),
            caller,
            lambda reads: reads.products(
                caller.principal, region=region, category=category, status=status
            ),
        )

    def filers(self, rng: random.Random) -> Probe:
        caller = self.admins[rng.choice(self.catalogue.regions)]
        return Probe(
            FILERS,
            _path("/v1/filers", {"limit": str(PAGE)}),
            caller,
            lambda reads: reads.filers(caller.principal),
        )

    def regions(self, rng: random.Random) -> Probe:
        draw = rng.random()
        prefix = rng.choice(self.catalogue.regions) if draw < 0.2 else None
        level = Level.CITY if 0.2 <= draw < 0.4 else Level.DISTRICT
        parameters = {"prefix": prefix} if prefix is not None else {}
        if level is not Level.DISTRICT:
            parameters["level"] = level.value
        caller = self.anonymous
        return Probe(
            REGIONS,
            _path("/v1/statistics/regions", parameters),
            caller,
            lambda reads: reads.regions(caller.principal, prefix, level),
        )

    def conversions(self, rng: random.Random) -> Probe:
        by = ConversionGrouping.REGION if rng.random() < 0.3 else ConversionGrouping.CATEGORY
        caller = self.anonymous
        return Probe(
            CONVERSIONS,
            _path("/v1/statistics/conversions", {"by": by.value}),
            caller,
            lambda reads: reads.conversions(caller.principal, by),
        )

    def trail(self, rng: random.Random) -> Probe:
        listing = rng.choice(self.catalogue.listings)
        caller = self.admins[listing.region_code]
        return Probe(
            TRAIL,
            f"/v1/products/{listing.product_id}/trail",
            caller,
            lambda reads: reads.trail(caller.principal, UUID(listing.product_id)),
        )

    def event_proof(self, rng: random.Random) -> Probe:
        leaf = rng.choice(self.catalogue.leaves)
        caller = self.auditor
        return Probe(
            EVENT_PROOF,
            f"/v1/log/proofs/inclusion/event/{leaf.originator_id}/{leaf.version}",
            caller,
            lambda reads: reads.event_proof(caller.principal, leaf),
        )

    def leaf_proof(self, rng: random.Random) -> Probe:
        index = rng.randrange(self.catalogue.tree_size)
        return Probe(
            LEAF_PROOF,
            _path("/v1/log/proofs/inclusion", {"leaf_index": str(index)}),
            self.anonymous,
            lambda reads: reads.leaf_proof(index),
        )

    def consistency(self, rng: random.Random) -> Probe:
        first = rng.choice(self.catalogue.older_sizes or [self.catalogue.tree_size])
        return Probe(
            CONSISTENCY,
            _path("/v1/log/proofs/consistency", {"first": str(first)}),
            self.anonymous,
            lambda reads: reads.consistency(first),
        )

    def checkpoint(self, rng: random.Random) -> Probe:
        tiled = rng.random() < 0.5
        return Probe(
            CHECKPOINT,
            "/tlog/checkpoint" if tiled else "/v1/log/checkpoint",
            self.anonymous,
            lambda reads: reads.checkpoint(tiled=tiled),
        )

    def tile(self, rng: random.Random) -> Probe:
        catalogue = self.catalogue
        tiles = catalogue.full_tiles if rng.random() < 0.8 else catalogue.edge_tiles
        location = rng.choice(tiles or catalogue.edge_tiles)
        return Probe(
            TILE, f"/tlog/tile/{location}", self.anonymous, lambda reads: reads.tile(location)
        )


# --- the servers --------------------------------------------------------------------------------
def served_app() -> FastAPI:
    """The app a server child process serves (``--factory``), settings from PPL_*."""
    return create_app(Settings.from_environment())


def server_environment(settings: Settings) -> dict[str, str]:
    """The PPL_* settings of every variant: the run's store and keys, no background loops,
    no monthly publication, the expensive-read rate limit out of the way."""
    return {
        "PPL_DATA_DIR": str(settings.data_dir),
        "PPL_DATABASE_URL": settings.database_url,
        "PPL_ENV": "development",
        "PPL_SEQUENCE_INTERVAL": "0",
        "PPL_PROJECTION_INTERVAL": "0",
        "PPL_STATS_PUBLISH": "off",
        "PPL_RATE_EXPENSIVE_PER_TOKEN": UNLIMITED,
        "PPL_RATE_EXPENSIVE_PER_ADDRESS": UNLIMITED,
    }


def server_command(server: str, port: int) -> list[str]:
    """The child process of ``server``: one process (Granian: one worker), uvloop, no access
    log, warnings only."""
    common = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    app = "bench.reads:served_app"
    if server == UVICORN:
        return [
            sys.executable, "-m", "uvicorn", app, "--factory", *common, "--loop", "uvloop",
            "--http", "httptools", "--no-access-log",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "granian", app, "--factory", "--interface", "asgi", *common,
        "--workers", "1", "--runtime-threads", "1", "--loop", "uvloop", "--http", "1",
        "--no-access-log",
    ]  # fmt: skip


def server_versions() -> str:
    names = ["fastapi", "starlette", "uvicorn", "uvloop", "httptools"]
    if granian_installed():
        names.append("granian")
    return ", ".join(f"{name} {version(name)}" for name in names)


def granian_installed() -> bool:
    return importlib.util.find_spec("granian") is not None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process (Linux /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:  # it ended meanwhile
                continue
            parents[int(entry.name)] = int(fields[1])
    return parents


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    parents = _parents()
    tree, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def tree_cpu(pids: Sequence[int]) -> float:
    """CPU seconds (user + system, all threads) of these processes so far (Linux /proc)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    url: str
    pids: tuple[int, ...]  # the process tree, once up

    def cpu(self) -> float:
        return tree_cpu(self.pids)


@contextmanager
def served(server: str, settings: Settings, log_dir: Path) -> Iterator[Server]:
    """``server`` serving the store in a child process until the block ends."""
    port = _free_port()
    # Only these PPL_* settings: the server must use the run's keys and store, whatever the
    # caller's environment says.
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PPL_")}
    environment |= server_environment(settings)
    log_dir.mkdir(parents=True, exist_ok=True)
    output_path = log_dir / f"{server}.log"
    with ExitStack() as stack:
        output = stack.enter_context(output_path.open("wb"))
        child = subprocess.Popen(  # noqa: S603 (our own interpreter and code, no shell)
            server_command(server, port), env=environment, cwd=PROJECT_ROOT, stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        stack.callback(_stop, child)
        url = f"http://127.0.0.1:{port}"
        wait_until_up(child, url, output_path, SERVER_START_SECONDS)
        wait_screening_read_in(url)  # not beside the measured reads
        yield Server(server, url, tuple(process_tree(child.pid)))


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (both servers shut down gracefully: lifespan, workers), then SIGKILL."""
    if process.poll() is not None:
        return
    tree = process_tree(process.pid)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        for pid in reversed(tree):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()


# --- measuring ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Measurement:
    requests: int
    seconds: float
    latencies: list[tuple[str, float]]  # (endpoint, seconds) per request
    client_cpu: float  # CPU seconds of this process while the clock ran
    server_cpu: float | None  # CPU seconds of the server's process tree, over HTTP

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


class Variant(Protocol):
    name: str

    def run(self, probes: Sequence[Probe], clients: int) -> Measurement:
        """``probes`` spread over ``clients`` concurrent clients; the clock runs only while
        they are answered."""


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_clients(
    clients: int, probes: Sequence[Probe], one: Callable[[int, Probe], None]
) -> tuple[float, list[tuple[str, float]]]:
    """``one(client, probe)`` for every probe, client i taking probes i, i + clients, ...;
    all clients start together. (wall seconds, (endpoint, seconds) per probe)."""
    shares = [probes[client::clients] for client in range(clients)]
    timings: list[list[tuple[str, float]]] = [[] for _ in range(clients)]

    def work(client: int) -> None:
        spent = timings[client]
        for probe in shares[client]:
            started = time.perf_counter()
            one(client, probe)
            spent.append((probe.endpoint, time.perf_counter() - started))

    seconds = run_threads(clients, work)
    return seconds, [timing for each in timings for timing in each]


class OverHttp:
    """The probes' HTTP requests, one keep-alive connection per client."""

    def __init__(self, server: Server) -> None:
        self.name = server.name
        self.server = server

    def run(self, probes: Sequence[Probe], clients: int) -> Measurement:
        with ExitStack() as stack:
            connections = [stack.enter_context(Connection(self.server.url)) for _ in range(clients)]
            for connection in connections:  # connected and warm before the clock starts
                _expect_ok(connection, "/health", {})

            def one(client: int, probe: Probe) -> None:
                _expect_ok(connections[client], probe.path, probe.caller.headers())

            server_cpu, client_cpu = self.server.cpu(), _process_cpu()
            seconds, latencies = run_clients(clients, probes, one)
            client_cpu = _process_cpu() - client_cpu
            server_cpu = self.server.cpu() - server_cpu
        return Measurement(len(probes), seconds, latencies, client_cpu, server_cpu)


def _expect_ok(connection: Connection, path: str, headers: dict[str, str]) -> None:
    status, body = connection.request("GET", path, headers=headers)
    if status != 200:
        text = body[:600].decode(errors="replace")
        raise BenchError(f"GET {path} answered {status}, want 200: {text}")


class InProcess:
    """The probes' route functions, called by one thread per client."""

    name = IN_PROCESS

    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    def run(self, probes: Sequence[Probe], clients: int) -> Measurement:
        def one(_: int, probe: Probe) -> None:
            call(self.reads, probe)

        cpu = _process_cpu()
        seconds, latencies = run_clients(clients, probes, one)
        return Measurement(len(probes), seconds, latencies, _process_cpu() - cpu, None)


def call(reads: Reads, probe: Probe) -> object:
    """The probe's read in-process; a problem the route raises (its non-200) stops the run."""
    try:
        return probe.call(reads)
    except ApiProblemError as exc:
        raise BenchError(f"in-process {probe.path}: {exc.status} {exc.code}: {exc}") from exc
    except ValueError as exc:  # QueryError, ProofRequestError: the routes' 422
        raise BenchError(f"in-process {probe.path}: {type(exc).__name__}: {exc}") from exc


@dataclass
class Results:
    """Measurements by (variant, clients), one per round."""

    measured: dict[tuple[str, int], list[Measurement]] = field(default_factory=dict)

    def add(self, name: str, clients: int, measurement: Measurement) -> float:
        self.measured.setdefault((name, clients), []).append(measurement)
        return measurement.rate

    def rate(self, name: str, clients: int) -> float:
        return median([m.rate for m in self.measured[(name, clients)]])

    def latencies(self, name: str, clients: int, endpoint: str | None = None) -> list[float]:
        return [
            seconds
            for measurement in self.measured[(name, clients)]
            for which, seconds in measurement.latencies
            if endpoint in (None, which)
        ]

    def rates(self, name: str, levels: Sequence[int]) -> dict[int, float]:
        return {clients: self.rate(name, clients) for clients in levels}


def knee(rates: Mapping[int, float]) -> int:
    """The lowest concurrency after which doubling the clients gains less than KNEE_GAIN (the
    highest measured if throughput never stops rising)."""
    levels = sorted(rates)
    for lower, higher in itertools.pairwise(levels):
        if rates[higher] < rates[lower] * (1 + KNEE_GAIN):
            return lower
    return levels[-1]


def best(rates: Mapping[int, float]) -> int:
    """The concurrency of the highest median rate."""
    return max(rates, key=lambda clients: rates[clients])


def measure(
    variants: Sequence[Variant], planner: Planner, sizes: Sizes, levels: Sequence[int], seed: int
) -> Results:
    """A warm-up for each variant (discarded), then the interleaved rounds: every variant at
    every concurrency once per round, on the same requests."""
    for variant in variants:
        variant.run(planner.probes(random.Random(f"{seed}-warm"), WARM_UP), 2)
        print(f"  warmed up: {variant.name}", flush=True)
    results = Results()

    def entry(variant: Variant, clients: int) -> tuple[str, Callable[[int], float]]:
        def round_of(number: int) -> float:
            probes = planner.probes(random.Random(f"{seed}-{number}-{clients}"), sizes.requests)
            measurement = variant.run(probes, clients)
            all_latencies = [seconds for _, seconds in measurement.latencies]
            server = (
                f"  server {measurement.server_cpu / measurement.requests * 1e3:5.2f} ms/req"
                if measurement.server_cpu is not None
                else ""
            )
            print(
                f"  round {number} {variant.name:<10} x{clients:<3} {measurement.rate:7.0f} req/s"
                f"  p50 {_ms(percentile(all_latencies, 50)):6.2f} ms"
                f"  p99 {_ms(percentile(all_latencies, 99)):7.2f} ms{server}",
                flush=True,
            )
            return results.add(variant.name, clients, measurement)

        return f"{variant.name} x{clients}", round_of

    interleaved_rates(
        sizes.rounds, [entry(variant, clients) for clients in levels for variant in variants]
    )
    return results


# --- where the time goes, in this thread -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Spent:
    wall: list[float]  # seconds per call
    cpu: list[float]  # this thread's CPU seconds per call


def time_endpoints(reads: Reads, probes: Sequence[Probe]) -> dict[str, Spent]:
    """Each probe's in-process read in this thread: wall and CPU time, by endpoint."""
    spent: dict[str, Spent] = {}
    for probe in probes:
        wall, cpu = time.perf_counter(), time.thread_time()
        call(reads, probe)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        entry = spent.setdefault(probe.endpoint, Spent([], []))
        entry.wall.append(wall)
        entry.cpu.append(cpu)
    return spent


def profile_reads(reads: Reads, probes: Sequence[Probe], top: int = 30) -> str:
    """cProfile of the in-process mix in this thread (own time, the top lines)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for probe in probes:
        call(reads, probe)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# --- the run ------------------------------------------------------------------------------------
@contextmanager
def prepared_sample(database: str, cache: Path, log_events: int) -> Iterator[tuple[Bench, str]]:
    """The sample on PostgreSQL, ready to read: read models rebuilt, a month published and
    applied, the log sequenced and indexed, the database analysed. Yields the bench's
    ledger, log and read models, and a line describing the data."""
    bundle = ensure_bundle(cache, log_events)  # the events of its seeds are in the store
    sample = cache / SAMPLE_STORE
    with open_bench(database, sample / "data" / "keys") as bench:
        conninfo = bench.settings.postgres_location()[0]
        copied = copy_log(sample / "ledger.sqlite3", conninfo, bench.events_table, bundle.events, 0)
        _, rebuilt = run_rebuild(bench)
        started = time.perf_counter()
        publish_period(bench.ledger, bench.store, PERIOD, bench.settings.disclosure)
        open_projection_runner(bench.ledger, bench.store).catch_up()
        published = time.perf_counter() - started
        started = time.perf_counter()
        bench.log.sequence()
        indexed = time.perf_counter() - started
        with psycopg.connect(database, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
            found = connection.execute("SHOW server_version").fetchone()
        described = (
            f"{copied.events:,} events (sample seeds 0-{bundle.seeds - 1}) on PostgreSQL "
            f"{found[0] if found else '?'}: copied in {copied.seconds:.1f} s, read models "
            f"rebuilt in {rebuilt:.1f} s, {PERIOD} published in {published:.1f} s, log "
            f"sequenced and indexed in {indexed:.1f} s (tree size {bench.log.size():,})"
        )
        yield bench, described


def make_callers(bench: Bench, regions: Sequence[str]) -> tuple[Caller, dict[str, Caller]]:
    """An auditor, and a regional admin per district: tokens in the store, and their
    principals for the in-process calls."""
    tokens = TokenStore(open_database(bench.settings))
    try:

        def caller(name: str, role: Role, scope: str | None) -> Caller:
            _, token = tokens.create(role, scope, label="bench.reads")
            principal = tokens.authenticate(token)
            if principal is None:
                raise BenchError(f"the {name} token does not authenticate")
            return Caller(name, principal, token)

        auditor = caller("auditor", Role.AUDITOR, None)
        admins = {code: caller(f"admin {code}", Role.REGIONAL_ADMIN, code) for code in regions}
    finally:
        tokens.db.close()
    return auditor, admins


@dataclass(frozen=True, slots=True)
class Run:
    results: Results
    variants: list[str]
    spent: dict[str, Spent]
    profile: str | None


def run(
    database: str, cache: Path, sizes: Sizes, levels: Sequence[int], seed: int, *, profile: bool
) -> Run:
    with ExitStack() as stack:
        bench, described = stack.enter_context(prepared_sample(database, cache, sizes.log_events))
        print(f"data: {described}", flush=True)
        catalogue = read_catalogue(bench, sizes, seed)
        auditor, admins = make_callers(bench, catalogue.regions)
        planner = Planner(catalogue, auditor, admins)
        print(
            f"requests drawn from {len(catalogue.listings):,} approved filings in "
            f"{len(catalogue.regions)} districts, {len(catalogue.leaves):,} leaves, "
            f"{len(catalogue.older_sizes)} older checkpoints, {len(catalogue.full_tiles)} full "
            f"and {len(catalogue.edge_tiles)} other tiles",
            flush=True,
        )
        settings = Settings.from_environment(server_environment(bench.settings))
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ppl-bench-reads-")))
        servers = [UVICORN, GRANIAN] if granian_installed() else [UVICORN]
        if GRANIAN not in servers:
            print("granian: not installed (.venv/bin/pip install granian==2.8.9); uvicorn only")
        variants: list[Variant] = [
            OverHttp(stack.enter_context(served(server, settings, logs))) for server in servers
        ]
        client = stack.enter_context(TestClient(create_app(settings)))  # runs the lifespan
        if not isinstance(client.app, FastAPI):
            raise BenchError(f"the test client holds {type(client.app).__name__}, not the app")
        reads = Reads(client.app)
        variants.append(InProcess(reads))
        results = measure(variants, planner, sizes, levels, seed)
        probes = planner.probes(random.Random(f"{seed}-split"), sizes.requests * 2)
        spent = time_endpoints(reads, probes)
        profiled = profile_reads(reads, probes) if profile else None
        return Run(results, [variant.name for variant in variants], spent, profiled)


# --- output -------------------------------------------------------------------------------------
def _ms(seconds: float) -> float:
    return seconds * 1e3


def _p50_p99(values: Sequence[float]) -> str:
    if not values:
        return f"{'-':>15}"
    return f"{_ms(percentile(values, 50)):6.2f} /{_ms(percentile(values, 99)):7.2f}"


def print_rates(run_: Run, levels: Sequence[int]) -> None:
    results = run_.results
    print()
    print("requests/s (median of rounds) and latency p50 / p99 ms over every request, by clients")
    header = f"{'clients':>7}"
    for name in run_.variants:
        header += f"  {name + ' req/s':>18} {'p50 / p99 ms':>15}"
    print(header)
    for clients in levels:
        line = f"{clients:>7}"
        for name in run_.variants:
            line += (
                f"  {results.rate(name, clients):>18,.0f} "
                f"{_p50_p99(results.latencies(name, clients))}"
            )
        print(line)
    print("per round (req/s):")
    for name in run_.variants:
        for clients in levels:
            rates = " ".join(f"{m.rate:.0f}" for m in results.measured[(name, clients)])
            print(f"  {name:<10} x{clients:<3} {rates}")
    print("CPU per request (ms): server = its process tree (/proc) + client = this process")
    for name in run_.variants:
        cells = []
        for clients in levels:
            server = _cpu_per_request(results, name, clients, server=True)
            shown = "" if server is None else f"{_ms(server):.2f} + "
            client = _cpu_per_request(results, name, clients, server=False) or 0.0
            cells.append(f"x{clients} {shown}{_ms(client):.2f}")
        print(f"  {name:<10} " + "   ".join(cells))
    print("server CPU per request beyond the reads' own (server - in-process CPU), ms:")
    for name in run_.variants[:-1]:
        cells = []
        for clients in levels:
            server = _cpu_per_request(results, name, clients, server=True) or 0.0
            own = _cpu_per_request(results, IN_PROCESS, clients, server=False) or 0.0
            cells.append(f"x{clients} {_ms(server - own):.2f}")
        print(f"  {name:<10} " + "   ".join(cells))


def _cpu_per_request(results: Results, name: str, clients: int, *, server: bool) -> float | None:
    """CPU seconds per request of the server (None in-process) or of this process."""
    measured = results.measured[(name, clients)]
    requests = sum(m.requests for m in measured)
    if not server:
        return sum(m.client_cpu for m in measured) / requests
    spent = [m.server_cpu for m in measured if m.server_cpu is not None]
    return sum(spent) / requests if spent else None


def print_knees(run_: Run, levels: Sequence[int]) -> dict[str, int]:
    results = run_.results
    knees = {name: knee(results.rates(name, levels)) for name in run_.variants}
    print()
    for name in run_.variants:
        at = knees[name]
        p99 = _ms(percentile(results.latencies(name, at), 99))
        verdict = "met" if p99 < TARGET_P99_MS else "NOT met"
        print(
            f"knee {name:<10} x{at:<3} {results.rate(name, at):7,.0f} req/s, p99 {p99:6.2f} ms "
            f"(target < {TARGET_P99_MS:.0f} ms: {verdict}); "
            f"highest rate at x{best(results.rates(name, levels))}"
        )
    return knees


def print_endpoints(run_: Run, knees: Mapping[str, int], levels: Sequence[int]) -> None:
    results = run_.results
    for title, at in (
        (f"{levels[0]} client(s)", dict.fromkeys(run_.variants, levels[0])),
        ("at each variant's knee", knees),
    ):
        print()
        print(f"per endpoint, p50 / p99 ms, {title} (n: requests of the first variant)")
        header = f"{'endpoint':<18} {'n':>5}"
        for name in run_.variants:
            header += f"  {name + ' x' + str(at[name]):>17}"
        print(header)
        for endpoint in ENDPOINTS:
            count = len(results.latencies(run_.variants[0], at[run_.variants[0]], endpoint))
            line = f"{endpoint:<18} {count:>5}"
            for name in run_.variants:
                line += f"  {_p50_p99(results.latencies(name, at[name], endpoint)):>17}"
            print(line)


def print_spent(spent: Mapping[str, Spent]) -> None:
    print()
    print(
        "in-process, one thread: median wall and CPU ms per read (CPU: this thread's; the "
        "rest is waiting, mostly on PostgreSQL)"
    )
    print(f"{'endpoint':<18} {'n':>5} {'wall':>7} {'CPU':>7} {'CPU share':>9}")
    for endpoint in ENDPOINTS:
        if endpoint in spent:
            entry = spent[endpoint]
            wall, cpu = median(entry.wall), median(entry.cpu)
            print(
                f"{endpoint:<18} {len(entry.wall):>5} {_ms(wall):7.2f} {_ms(cpu):7.2f} "
                f"{cpu / wall if wall else 0:9.0%}"
            )


def print_ratios(run_: Run, knees: Mapping[str, int], levels: Sequence[int]) -> float:
    """Print each server against the baseline and against each other; return the ratio:
    uvicorn's requests/s over in-process requests/s, each at its best concurrency."""
    results = run_.results
    baseline_rates = results.rates(IN_PROCESS, levels)
    baseline = baseline_rates[best(baseline_rates)]
    for name in run_.variants[:-1]:
        rates = results.rates(name, levels)
        at = knees[name]
        print(
            f"{name} / in-process: {rates[best(rates)] / baseline:.3f} at the best concurrency "
            f"of each (x{best(rates)} / x{best(baseline_rates)}); "
            f"{rates[at] / baseline_rates[at]:.3f} at {name}'s knee (x{at})"
        )
    uvicorn = results.rates(UVICORN, levels)
    http = uvicorn[best(uvicorn)]
    if GRANIAN in run_.variants:
        granian = results.rates(GRANIAN, levels)
        gain = granian[best(granian)] / http
        verdict = "no clear winner: within 10 %, the machine's noise"
        if abs(gain - 1) > KNEE_GAIN:
            verdict = f"{GRANIAN if gain > 1 else UVICORN} serves more"
        print(f"granian / uvicorn (best of each): {gain:.3f}: {verdict}")
    print(f"uvicorn {http:,.0f} req/s / in-process {baseline:,.0f} req/s (best of each)")
    return http / baseline


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reads",
        description="A read mix over HTTP (uvicorn, Granian) vs in-process (issue #20).",
    )
    parser.add_argument("--full", action="store_true", help="the sample of >= 200,000 events")
    parser.add_argument("--rounds", type=int, help="interleaved rounds")
    parser.add_argument("--requests", type=int, help="requests per round, variant and clients")
    parser.add_argument(
        "--clients",
        default=",".join(map(str, LEVELS)),
        help="the concurrencies, comma-separated (default 1,2,4,8,16)",
    )
    parser.add_argument("--seed", type=int, default=20, help="seed of the requests")
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help="bench/audit.py's cache"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the in-process mix (this thread)"
    )
    args = parser.parse_args(argv)
    sizes = FULL_SIZES if args.full else DEFAULT_SIZES
    rounds = sizes.rounds if args.rounds is None else args.rounds
    requests = sizes.requests if args.requests is None else args.requests
    try:
        levels = sorted({int(part) for part in args.clients.split(",")})
    except ValueError:
        parser.error("--clients: want integers separated by commas")
    if rounds < 1 or requests < 1 or not levels or levels[0] < 1:
        parser.error("--rounds, --requests and --clients: want at least 1")
    sizes = Sizes(rounds, requests, sizes.log_events, sizes.catalogue, sizes.leaves)
    admin = postgres_admin_dsn()
    reason = postgres_unreachable_reason(admin)
    if reason is not None:
        print(f"postgres: not reachable at {admin} ({reason}); nothing to measure")
        return 1
    cache: Path = args.cache_dir.resolve()
    cache.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    print("reads: a read mix over HTTP (uvicorn, Granian) vs the same reads in-process")
    print(f"machine: {machine_info().describe()}, {server_versions()}")
    print(
        f"mode: {'full' if args.full else 'default'}; {sizes.rounds} interleaved rounds of "
        f"{sizes.requests} requests per variant and concurrency; clients "
        f"{', '.join(map(str, levels))}; mix: "
        + ", ".join(f"{name} {weight}%" for name, weight in MIX)
    )
    try:
        with postgres_database(admin) as database:
            done = run(database, cache, sizes, levels, args.seed, profile=args.profile)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print_rates(done, levels)
    knees = print_knees(done, levels)
    print_endpoints(done, knees, levels)
    print_spent(done.spent)
    if done.profile is not None:
        print()
        print(done.profile)
    print(f"elapsed: {time.perf_counter() - started:.0f} s")
    print(f"ratio: {print_ratios(done, knees, levels):.3f} (target {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
