"""Page render latency: the search and product pages against the JSON API's same reads.

Question (issue #17, part 7): do the web pages (``api/web/public_pages.py``, served by the
API's own FastAPI app) render the registry search (``GET /?q=...`` with the region, category
and status filters, and its next pages) and a product (``GET /products/{id}``) with a p95
under 100 ms on the full sample? The figure is the pages' p95 (search, product, and both
together); the baseline is the p95 of the equivalent JSON reads in the same run on the same
data (``GET /v1/products?...&limit=20`` and ``GET /v1/products/{id}``), which go through the
same app, access policy and read models but render no HTML (and the product read builds no
trail and no verification keys). The page/API ratio is printed as information; the ratio of
the last line is the pages' combined p95 over the 100 ms target.

**The data** is the sample of ``domain.sample.load_sample`` as bench/projections.py uses it:
bench/audit.py's cached signed SQLite store (seeds 0, 1, 2, ... loaded through the ledger's
commands; ``bench/results/cache/audit-v1/``, built on first use), its first N events copied
byte for byte into a throwaway PostgreSQL database (default: the seeds of >= 25,000 events;
``--full``: >= 200,000 events), every read model rebuilt there as ``ppl projections rebuild``
does, then served by ``api.app.create_app`` with the background workers off (nothing is
written during the run).

**The client** is in-process: ``fastapi.testclient.TestClient`` (the ASGI app on an anyio
portal thread, sync routes in its threadpool, as under uvicorn), one request at a time, so
the figures are the app's own latency plus the test client's (its floor, ``GET /health``, is
printed), with no socket, HTTP parser or queueing. Each probe is one page request and its API
equivalent, back to back, their order alternating probe by probe and round by round.

**The probes** of a round are drawn from the approved filings (read through the API with an
auditor's token before the clock starts): searches by a substring of a product's Chinese
name, its model, one of its patent numbers (sometimes spelt ``ZL...``), a substring of its
filer's name, the filer's USCC, its filing number; the filters alone (district, category,
status) or with a name; the bare search page; and the 2nd to 4th page of a search through
``next_cursor`` (the cursor read from the API before timing). Product probes are random
approved filings. Two callers in every round: anonymous (two thirds) and a district's regional
admin (a third; the page with the ``ppl_session`` cookie, the API with the same token as a
bearer token); an admin filters within its district and opens mostly its own district's
filings, whose pages show every figure and the full trail.

**Where the time goes** (not in the ratio): the page routes' own work called in this thread
on a sample of probes (the route functions called with the route's arguments), the template
(``render``, timed by a wrapper in this process) apart from the rest (the data: the API's
``list_products``, or ``get_product`` and the trail); ``--profile`` adds a cProfile of the same
calls.

Run: ``.venv/bin/python -m bench.pages`` (under a minute once the audit cache exists) or
``--full``. PostgreSQL as in bench/projections.py (``PPL_BENCH_POSTGRES_ADMIN``; a database
``ppl_bench_<pid>`` created and dropped). The last line is ``ratio: <combined page p95 / 100
ms> (target 1.0)``.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode
from uuid import UUID

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api.tokens import ANONYMOUS, Principal
from api.web import public_pages
from api.web.public_pages import PAGE_SIZE
from api.web.session import SESSION_COOKIE
from bench.audit import DEFAULT_CACHE, DEFAULT_EVENTS, FULL_EVENTS, ensure_bundle
from bench.common import (
    machine_info,
    median,
    postgres_admin_dsn,
    postgres_database,
    postgres_unreachable_reason,
)
from bench.projections import SAMPLE_STORE, copy_log, open_bench, run_rebuild
from domain.actor import Role
from domain.product import ProductStatus

TARGET: Final = 1.0
TARGET_MS: Final = 100.0
PAGE: Final = "page"
API: Final = "API"
SEARCH: Final = "search"
PRODUCT: Final = "product"
ANONYMOUS_CALLER: Final = "anonymous"
ADMIN_CALLER: Final = "regional admin"
CATALOGUE_PAGE: Final = 200  # the API's largest page, for reading the catalogue
WARM_UP: Final = 30  # probes before the clock starts (template compilation, connections)
FLOOR_CALLS: Final = 50  # GET /health calls for the test client's floor


class BenchError(RuntimeError):
    """A request did not answer as the benchmark needs (the figures would mean nothing)."""


@dataclass(frozen=True, slots=True)
class Sizes:
    rounds: int
    searches: int  # search probes per round
    products: int  # product probes per round
    log_events: int  # at least this many events (a seed boundary of the cached store)
    catalogue: int  # approved filings read to draw the probes from
    breakdown: int  # probes of each kind for the in-thread breakdown


DEFAULT_SIZES = Sizes(3, 90, 60, DEFAULT_EVENTS, 2_000, 40)
FULL_SIZES = Sizes(5, 150, 100, FULL_EVENTS, 4_000, 80)


# --- the data -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Listing:
    """What a probe needs of an approved filing, as the API shows it to an auditor."""

    product_id: str
    name: str
    model: str
    patents: tuple[str, ...]
    filer_name: str
    filer_uscc: str
    filing_number: str | None
    region_code: str
    category: str


@dataclass(frozen=True, slots=True)
class Caller:
    name: str  # ANONYMOUS_CALLER or ADMIN_CALLER
    region: str | None = None  # a regional admin's district
    token: str | None = None

    def page_headers(self) -> dict[str, str]:
        return {} if self.token is None else {"Cookie": f"{SESSION_COOKIE}={self.token}"}

    def api_headers(self) -> dict[str, str]:
        return {} if self.token is None else {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True, slots=True)
class Probe:
    kind: str  # SEARCH or PRODUCT
    query: str  # what the search looks for: name, model, patent, ... ("product" for pages)
    caller: Caller
    page_path: str
    api_path: str
    # the page route's own arguments, for the in-thread breakdown
    arguments: Mapping[str, Any] = field(default_factory=dict)


@contextmanager
def served_sample(database: str, cache: Path, log_events: int) -> Iterator[tuple[TestClient, str]]:
    """The sample in a PostgreSQL schema, read models rebuilt, served in-process.

    Yields the started test client and a line describing the data.
    """
    bundle = ensure_bundle(cache, log_events)  # the events of its seeds are in the store
    sample = cache / SAMPLE_STORE
    with open_bench(database, sample / "data" / "keys") as bench:
        copied = copy_log(
            sample / "ledger.sqlite3",
            bench.settings.postgres_location()[0],
            bench.events_table,
            bundle.events,
            0,
        )
        _, seconds = run_rebuild(bench)
        with psycopg.connect(database) as conn:
            found = conn.execute("SHOW server_version").fetchone()
        described = (
            f"{copied.events:,} events (sample seeds 0-{bundle.seeds - 1}) on PostgreSQL "
            f"{found[0] if found else '?'}: copied in {copied.seconds:.1f} s, read models "
            f"rebuilt in {seconds:.1f} s"
        )
        settings: Settings = dataclasses.replace(
            bench.settings, sequence_interval=0, projection_interval=0, stats_publish="off"
        )
        with TestClient(create_app(settings)) as client:
            yield client, described


def _get(client: TestClient, path: str, headers: Mapping[str, str]) -> tuple[float, Any]:
    """(seconds, response) of one GET that must answer 200."""
    client.cookies.clear()  # only the caller's own headers: no cookie a response set
    started = time.perf_counter()
    response = client.get(path, headers=dict(headers))
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise BenchError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
    return elapsed, response


def read_catalogue(client: TestClient, auditor: Caller, wanted: int) -> list[Listing]:
    """The first ``wanted`` approved filings in product id order (uuids: a random sample)."""
    listings: list[Listing] = []
    cursor: str | None = None
    while len(listings) < wanted:
        parameters = {"status": ProductStatus.APPROVED.value, "limit": str(CATALOGUE_PAGE)}
        if cursor is not None:
            parameters["cursor"] = cursor
        _, response = _get(client, f"/v1/products?{urlencode(parameters)}", auditor.api_headers())
        body = response.json()
        for item in body["items"]:
            listings.append(
                Listing(
                    product_id=item["product_id"],
                    name=item["name"],
                    model=item["model"],
                    patents=tuple(patent["number"] for patent in item["patents"]),
                    filer_name=item["filer_name"],
                    filer_uscc=item["filer_uscc"],
                    filing_number=item.get("filing_number"),
                    region_code=item["region_code"],
                    category=item["category"],
                )
            )
        cursor = body.get("next_cursor")
        if cursor is None:
            break
    if not listings:
        raise BenchError("the registry holds no approved filing")
    return listings[:wanted]


# --- the probes ---------------------------------------------------------------------------------
SEARCH_QUERIES: Final = (  # (what is searched, weight)
    ("bare page", 1),
    ("name", 4),
    ("model", 1),
    ("patent", 1),
    ("filer name", 1),
    ("USCC", 1),
    ("filing number", 1),
    ("filters", 2),
    ("name + filters", 1),
    ("next page", 2),
)


def _substring(rng: random.Random, text: str, shortest: int, longest: int) -> str:
    length = min(len(text), rng.randint(shortest, longest))
    start = rng.randint(0, len(text) - length)
    return text[start : start + length]


def _filer_word(rng: random.Random, filer_name: str) -> str:
    """What a person types of a company's name: not its city or legal form."""
    core = (
        filer_name.removeprefix("上海").removesuffix("有限公司").removesuffix("股份") or filer_name
    )
    return _substring(rng, core, 2, 6)


class Planner:
    """Draws the probes of a round; resolves a next page's cursor through the API (untimed)."""

    def __init__(
        self, client: TestClient, listings: Sequence[Listing], admins: Sequence[Caller]
    ) -> None:
        self.client = client
        self.listings = listings
        self.admins = admins
        self.by_region: dict[str, list[Listing]] = {}
        for listing in listings:
            self.by_region.setdefault(listing.region_code, []).append(listing)
        self.queries = [name for name, weight in SEARCH_QUERIES for _ in range(weight)]

    def caller(self, rng: random.Random) -> Caller:
        return rng.choice(self.admins) if rng.random() < 1 / 3 else Caller(ANONYMOUS_CALLER)

    def _filters(self, rng: random.Random, caller: Caller, listing: Listing) -> dict[str, str]:
        """Some of district, category and status (at least one), as a person would pick."""
        region = caller.region if caller.region is not None else listing.region_code
        if caller.region is None:
            statuses = [ProductStatus.APPROVED.value, ""]
        else:
            statuses = [status.value for status in ProductStatus] + [""]
        chosen = {
            "region": region if rng.random() < 0.7 else "",
            "category": listing.category if rng.random() < 0.5 else "",
            "status": rng.choice(statuses) if rng.random() < 0.5 else "",
        }
        if not any(chosen.values()):
            chosen["region"] = region
        return chosen

    def search(self, rng: random.Random) -> Probe:
        caller = self.caller(rng)
        listing = rng.choice(self.listings)
        query = rng.choice(self.queries)
        form = {"q": "", "region": "", "category": "", "status": ""}
        if query == "name":
            form["q"] = _substring(rng, listing.name, 2, 4)
        elif query == "model":
            model = listing.model
            form["q"] = model if rng.random() < 0.6 else model.split("-")[0]
        elif query == "patent" and listing.patents:
            number = rng.choice(listing.patents)
            form["q"] = f"ZL{number}" if rng.random() < 0.3 else number
        elif query == "filer name":
            form["q"] = _filer_word(rng, listing.filer_name)
        elif query == "USCC":
            form["q"] = listing.filer_uscc
        elif query == "filing number" and listing.filing_number is not None:
            form["q"] = listing.filing_number
        elif query == "filters":
            form.update(self._filters(rng, caller, listing))
        elif query == "name + filters":
            form.update(self._filters(rng, caller, listing))
            form["q"] = _substring(rng, listing.name, 2, 4)
        elif query == "next page":
            if rng.random() < 0.5:
                form.update(self._filters(rng, caller, listing))
            return self._next_page(rng, caller, form)
        else:
            query = "bare page"
        return self._probe(caller, query, form, None)

    def _next_page(self, rng: random.Random, caller: Caller, form: dict[str, str]) -> Probe:
        """Page 2 to 4 of a search, or the furthest page it has (then it is not a next page)."""
        cursor: str | None = None
        for _ in range(rng.randint(1, 3)):
            _, response = _get(self.client, _api_path(form, cursor), caller.api_headers())
            following = response.json().get("next_cursor")
            if following is None:
                break
            cursor = following
        return self._probe(caller, "bare page" if cursor is None else "next page", form, cursor)

    @staticmethod
    def _probe(caller: Caller, query: str, form: dict[str, str], cursor: str | None) -> Probe:
        shown = dict(form)
        if cursor is not None:
            shown["cursor"] = cursor
        page_path = "/" if query == "bare page" else f"/?{urlencode(shown)}"
        arguments = {
            "q": form["q"] or None,
            "region": form["region"],
            "category": form["category"],
            "status": form["status"],
            "cursor": cursor,
        }
        return Probe(SEARCH, query, caller, page_path, _api_path(form, cursor), arguments)

    def product(self, rng: random.Random) -> Probe:
        caller = self.caller(rng)
        listing = rng.choice(self.listings)
        own = self.by_region.get(caller.region or "")
        if own and rng.random() < 2 / 3:  # an admin mostly opens its own district's filings
            listing = rng.choice(own)
        product_id = listing.product_id
        return Probe(
            PRODUCT,
            "own district" if caller.region == listing.region_code else "product",
            caller,
            f"/products/{product_id}",
            f"/v1/products/{product_id}",
            {"product_id": UUID(product_id)},
        )

    def round_probes(self, rng: random.Random, searches: int, products: int) -> list[Probe]:
        probes = [self.search(rng) for _ in range(searches)]
        probes += [self.product(rng) for _ in range(products)]
        rng.shuffle(probes)
        return probes


def _api_path(form: Mapping[str, str], cursor: str | None) -> str:
    parameters = {key: value for key, value in form.items() if value}
    parameters["limit"] = str(PAGE_SIZE)
    if cursor is not None:
        parameters["cursor"] = cursor
    return f"/v1/products?{urlencode(parameters)}"


# --- the measurement ----------------------------------------------------------------------------
@dataclass
class Timings:
    """Milliseconds by (variant, kind, caller, query), and by (variant, kind, round)."""

    samples: dict[tuple[str, str, str, str], list[float]] = field(default_factory=dict)
    rounds: dict[tuple[str, str, int], list[float]] = field(default_factory=dict)
    page_bytes: dict[str, list[int]] = field(default_factory=dict)  # by kind
    items: dict[str, list[int]] = field(default_factory=dict)  # results shown, by query

    def add(self, variant: str, probe: Probe, round_number: int, seconds: float) -> None:
        milliseconds = seconds * 1e3
        key = (variant, probe.kind, probe.caller.name, probe.query)
        self.samples.setdefault(key, []).append(milliseconds)
        self.rounds.setdefault((variant, probe.kind, round_number), []).append(milliseconds)

    def select(
        self,
        variant: str,
        kind: str | None = None,
        caller: str | None = None,
        query: str | None = None,
    ) -> list[float]:
        return [
            value
            for (v, k, c, q), values in self.samples.items()
            if v == variant and kind in (None, k) and caller in (None, c) and query in (None, q)
            for value in values
        ]

    def round_values(self, variant: str, round_number: int) -> list[float]:
        return [
            value
            for (v, _, r), values in self.rounds.items()
            if v == variant and r == round_number
            for value in values
        ]


def p95(values: Sequence[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[94]


@dataclass(frozen=True, slots=True)
class Measured:
    page: float  # seconds
    api: float
    page_bytes: int
    items: int  # items of the API's answer (searches), 1 for a product


def measure_probe(client: TestClient, probe: Probe, page_first: bool) -> Measured:
    """One probe's page and API requests, back to back in the order asked."""
    page = (probe.page_path, probe.caller.page_headers())
    api = (probe.api_path, probe.caller.api_headers())
    first, second = (page, api) if page_first else (api, page)
    first_seconds, first_response = _get(client, *first)
    second_seconds, second_response = _get(client, *second)
    if page_first:
        page_seconds, api_seconds = first_seconds, second_seconds
        page_response, api_response = first_response, second_response
    else:
        page_seconds, api_seconds = second_seconds, first_seconds
        page_response, api_response = second_response, first_response
    items = len(api_response.json()["items"]) if probe.kind == SEARCH else 1
    return Measured(page_seconds, api_seconds, len(page_response.content), items)


def measure(
    client: TestClient, planner: Planner, sizes: Sizes, seed: int
) -> tuple[Timings, list[Probe]]:
    """Every round's probes, page and API back to back; also returns the last round's probes."""
    timings = Timings()
    warm = planner.round_probes(random.Random(f"{seed}-warm"), WARM_UP, WARM_UP // 2)
    for index, probe in enumerate(warm):
        measure_probe(client, probe, index % 2 == 0)
    probes: list[Probe] = []
    for round_number in range(sizes.rounds):
        rng = random.Random(f"{seed}-{round_number}")
        probes = planner.round_probes(rng, sizes.searches, sizes.products)
        for index, probe in enumerate(probes):
            measured = measure_probe(client, probe, (index + round_number) % 2 == 0)
            timings.add(PAGE, probe, round_number, measured.page)
            timings.add(API, probe, round_number, measured.api)
            timings.page_bytes.setdefault(probe.kind, []).append(measured.page_bytes)
            timings.items.setdefault(probe.query, []).append(measured.items)
        page_p95 = p95(timings.round_values(PAGE, round_number))
        api_p95 = p95(timings.round_values(API, round_number))
        print(
            f"  round {round_number + 1}: {len(probes)} probes; p95 page {page_p95:.1f} ms, "
            f"API {api_p95:.1f} ms",
            flush=True,
        )
    return timings, probes


def client_floor(client: TestClient) -> float:
    """Median milliseconds of ``GET /health`` through the test client: its own cost."""
    timings = [_get(client, "/health", {})[0] for _ in range(FLOOR_CALLS)]
    return median(timings) * 1e3


# --- where a page's time goes (in this thread) --------------------------------------------------
@dataclass
class Split:
    data: dict[str, list[float]] = field(default_factory=dict)  # ms by kind
    template: dict[str, list[float]] = field(default_factory=dict)


class PageCalls:
    """The page routes' own work, called in this thread as their routes call it."""

    def __init__(self, app: FastAPI, admins: Sequence[Caller]) -> None:
        self.app = app
        self.principals: dict[str, Principal] = {}
        for caller in admins:
            if caller.token is not None:
                principal = app.state.tokens.authenticate(caller.token)
                if principal is None:
                    raise BenchError(f"the token of the admin of {caller.region} does not sign in")
                self.principals[caller.token] = principal

    def request(self, probe: Probe) -> Request:
        path, _, query = probe.page_path.partition("?")
        cookie = probe.caller.page_headers().get("Cookie")
        headers = [] if cookie is None else [(b"cookie", cookie.encode())]
        scope = {
            "type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
            "query_string": query.encode(), "headers": headers, "app": self.app,
            "scheme": "http", "server": ("testserver", 80), "root_path": "", "state": {},
        }  # fmt: skip
        request = Request(scope)
        token = probe.caller.token
        request.state.principal = ANONYMOUS if token is None else self.principals[token]
        return request

    def call(self, probe: Probe) -> None:
        """What the page route does, called in this thread with the route's own arguments."""
        request = self.request(probe)
        principal = request.state.principal
        store = self.app.state.projections
        arguments = probe.arguments
        if probe.kind == PRODUCT:
            public_pages.product_page(request, arguments["product_id"], principal, store)
            return
        public_pages.home(
            request, principal, store, q=arguments["q"], region=arguments["region"],
            category=arguments["category"], status=arguments["status"],
            cursor=arguments["cursor"],
        )  # fmt: skip


@contextmanager
def timed_render(spent: list[float]) -> Iterator[None]:
    """``public_pages.render`` appends its seconds to ``spent`` (this process only)."""
    namespace = vars(public_pages)  # the name the routes call, replaced in this process only
    original: Callable[..., HTMLResponse] = namespace["render"]

    def timed(*args: Any, **kwargs: Any) -> HTMLResponse:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    namespace["render"] = timed
    try:
        yield
    finally:
        namespace["render"] = original


def split_times(calls: PageCalls, probes: Sequence[Probe]) -> Split:
    """Milliseconds of each probe's route work: the template (``render``) and the rest."""
    split = Split()
    for probe in probes:
        spent: list[float] = []
        with timed_render(spent):
            started = time.perf_counter()
            calls.call(probe)
            total = time.perf_counter() - started
        split.data.setdefault(probe.kind, []).append((total - sum(spent)) * 1e3)
        split.template.setdefault(probe.kind, []).append(sum(spent) * 1e3)
    return split


def profile_pages(calls: PageCalls, probes: Sequence[Probe], top: int = 30) -> str:
    """cProfile of the page routes' work over ``probes`` (cumulative time, the top lines)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for probe in probes:
        calls.call(probe)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# --- output -------------------------------------------------------------------------------------
def _stats(values: Sequence[float]) -> str:
    if not values:
        return f"{'-':>29}"
    return f"{median(values):6.1f} {p95(values):6.1f} {max(values):7.1f} ({len(values):>4})"


def print_table(timings: Timings) -> None:
    print()
    print(
        f"{'':<32} {'page: p50    p95     max     (n)':>34}  "
        f"{'API: p50    p95     max     (n)':>34}  page/API p95"
    )
    rows: list[tuple[str, str | None, str | None]] = [
        (f"{kind}, {caller}", kind, caller)
        for kind in (SEARCH, PRODUCT)
        for caller in (ANONYMOUS_CALLER, ADMIN_CALLER)
    ]
    rows[2:2] = [("search, both callers", SEARCH, None)]
    rows.append(("product, both callers", PRODUCT, None))
    rows.append(("combined", None, None))
    for label, kind, caller in rows:
        page = timings.select(PAGE, kind, caller)
        api = timings.select(API, kind, caller)
        print(f"{label:<32} {_stats(page):>34}  {_stats(api):>34}  {p95(page) / p95(api):8.2f}")
    print("milliseconds, pooled over every timed round; (n) requests")
    print()
    print(
        "by query: page p50 / p95 ms, API p50 / p95 ms, n; for searches, the share that found "
        "something and the median items shown"
    )
    queries = sorted({key[3] for key in timings.samples if key[1] == SEARCH})
    for kind, names in ((SEARCH, queries), (PRODUCT, ["own district", "product"])):
        for query in names:
            page = timings.select(PAGE, kind, None, query)
            api = timings.select(API, kind, None, query)
            if page:
                found = timings.items.get(query, [])
                hits = (
                    f"   {sum(1 for n in found if n) / len(found):4.0%}  {median(found):4.0f}"
                    if kind == SEARCH and found
                    else ""
                )
                print(
                    f"  {kind + ': ' + query:<28} {median(page):6.1f} / {p95(page):6.1f}   "
                    f"{median(api):6.1f} / {p95(api):6.1f}   {len(page):>4}{hits}"
                )
    sizes = {kind: median([float(size) for size in values]) for kind, values in
             timings.page_bytes.items()}  # fmt: skip
    print(
        "page size (median bytes): "
        + ", ".join(f"{kind} {size:,.0f}" for kind, size in sorted(sizes.items()))
    )


def print_split(split: Split) -> None:
    print()
    print("where a page's time goes (the route's own work in this thread; ms p50 / p95, n)")
    for kind in (SEARCH, PRODUCT):
        data, template = split.data.get(kind, []), split.template.get(kind, [])
        if data:
            print(
                f"  {kind:<8} data {median(data):6.1f} / {p95(data):6.1f}   "
                f"template {median(template):6.1f} / {p95(template):6.1f}   ({len(data)})"
            )


@dataclass(frozen=True, slots=True)
class Result:
    timings: Timings
    floor: float  # ms
    split: Split
    profile: str | None


def run(database: str, cache: Path, sizes: Sizes, seed: int, *, profile: bool) -> Result:
    """Serve the sample, draw the callers and probes, measure; then the in-thread split."""
    with served_sample(database, cache, sizes.log_events) as (client, described):
        print(f"data: {described}", flush=True)
        app = client.app
        if not isinstance(app, FastAPI):
            raise BenchError(f"the test client serves {type(app).__name__}, not the FastAPI app")
        tokens = app.state.tokens
        auditor = Caller("auditor", None, tokens.create(Role.AUDITOR, label="bench")[1])
        listings = read_catalogue(client, auditor, sizes.catalogue)
        regions = sorted({listing.region_code for listing in listings})
        admins = [
            Caller(ADMIN_CALLER, code, tokens.create(Role.REGIONAL_ADMIN, code, "bench")[1])
            for code in regions
        ]
        print(
            f"probes drawn from {len(listings):,} approved filings in {len(regions)} districts; "
            "a regional admin token for each district",
            flush=True,
        )
        floor = client_floor(client)
        timings, last = measure(client, Planner(client, listings, admins), sizes, seed)
        calls = PageCalls(app, admins)
        chosen = [probe for probe in last if probe.kind == SEARCH][: sizes.breakdown]
        chosen += [probe for probe in last if probe.kind == PRODUCT][: sizes.breakdown]
        split = split_times(calls, chosen)
        profiled = profile_pages(calls, chosen) if profile else None
    return Result(timings, floor, split, profiled)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pages",
        description="p95 of the search and product pages vs the JSON API (issue #17 part 7).",
    )
    parser.add_argument("--full", action="store_true", help="the sample of >= 200,000 events")
    parser.add_argument("--rounds", type=int, help="timed rounds")
    parser.add_argument("--seed", type=int, default=17, help="seed of the probes")
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help="bench/audit.py's cache"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the page routes' work (in this thread)"
    )
    args = parser.parse_args(argv)
    sizes = FULL_SIZES if args.full else DEFAULT_SIZES
    if args.rounds is not None:
        if args.rounds < 1:
            parser.error("--rounds: want at least 1")
        sizes = dataclasses.replace(sizes, rounds=args.rounds)
    admin_dsn = postgres_admin_dsn()
    reason = postgres_unreachable_reason(admin_dsn)
    if reason is not None:
        print(f"postgres: not reachable at {admin_dsn} ({reason}); nothing to measure")
        return 1
    cache: Path = args.cache_dir.resolve()
    cache.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    packages = ", ".join(f"{name} {version(name)}" for name in ("fastapi", "starlette", "jinja2"))
    print("pages: p95 of the search and product pages vs the same reads of the JSON API")
    print(f"machine: {machine_info().describe()}, {packages}")
    print(
        f"mode: {'full' if args.full else 'default'}; {sizes.rounds} rounds of "
        f"{sizes.searches} searches + {sizes.products} products, each probe = page + API back "
        "to back (order alternating); client: in-process fastapi.testclient.TestClient, one "
        "request at a time"
    )
    try:
        with postgres_database(admin_dsn) as database:
            result = run(database, cache, sizes, args.seed, profile=args.profile)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    timings = result.timings
    print_table(timings)
    print(f"test client floor (GET /health, median of {FLOOR_CALLS}): {result.floor:.2f} ms")
    print_split(result.split)
    if result.profile is not None:
        print()
        print(result.profile)
    rounds_p95 = [p95(timings.round_values(PAGE, r)) for r in range(sizes.rounds)]
    print(f"per-round page p95 (ms): {' '.join(f'{value:.1f}' for value in rounds_p95)}")
    print(f"elapsed: {time.perf_counter() - started:.0f} s")
    ratios = {
        kind: p95(timings.select(PAGE, kind)) / p95(timings.select(API, kind))
        for kind in (SEARCH, PRODUCT, None)
    }
    print(
        f"page p95 / API p95 (same run): search {ratios[SEARCH]:.2f}, product "
        f"{ratios[PRODUCT]:.2f}, combined {ratios[None]:.2f} (information)"
    )
    search, product = p95(timings.select(PAGE, SEARCH)), p95(timings.select(PAGE, PRODUCT))
    combined = p95(timings.select(PAGE))
    print(
        f"page p95: search {search:.1f} ms, product {product:.1f} ms, combined {combined:.1f} ms "
        f"(target {TARGET_MS:.0f} ms)"
    )
    print(f"ratio: {combined / TARGET_MS:.3f} (target {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
