"""FastAPI application factory: the HTTP API over the ledger, its read models and its log.

Where things are: access policy (who may call what, who sees which fields) in api.access;
problem details in api.problems; writes (Idempotency-Key, If-Match) in api.writes; bearer
tokens in api.tokens; body limits in api.limits; one router module per area in api/routes/.
docs/api.md is the reference (role matrix, problem types, examples).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from api import docs_pages, openapi, problems
from api.access import caller
from api.bootstrap import (
    open_ledger,
    open_projection_follower,
    open_projection_store,
    open_read_router,
    open_transparency_log,
    open_witnessing,
)
from api.idempotency import IdempotencyStore
from api.limits import BodyLimit, RequestDeadline
from api.log_follower import LogFollower
from api.publishing import StatisticsPublisher
from api.rate_limits import RateLimits
from api.read_routing import ReadPositionHeaders
from api.responses import OrjsonResponse
from api.routes import (
    certification,
    conversion_commands,
    filer_commands,
    health,
    index,
    keys,
    ledger,
    problem_types,
    product_commands,
    registry,
    statistics,
    tiles,
)
from api.screening_warmup import ScreeningWarmUp
from api.settings import Settings
from api.tokens import TokenStore
from api.web import pages
from api.witness_follower import WitnessFollower
from audit.log.tiles import FullTileCache
from projections.background import BackgroundLoop

API_VERSION = "1.0.0"


def _start_loops(app: FastAPI, settings: Settings) -> list[BackgroundLoop[Any]]:
    """Start the service's background loops, as the settings ask: the witness loop (when the
    policy names witnesses), the log follower (which nudges it), the projection follower and
    the monthly statistics publisher. Returns them in the order started."""
    loops: list[BackgroundLoop[Any]] = []
    app.state.projection_follower = None
    if settings.sequence_interval > 0:
        witnessing = open_witnessing(app.state.log, settings)
        witness_follower = None
        if witnessing is not None:
            witness_follower = WitnessFollower(witnessing, settings.sequence_interval)
            loops.append(witness_follower)
        loops.append(
            LogFollower(
                app.state.log,
                settings.sequence_interval,
                on_round=None if witness_follower is None else witness_follower.nudge,
            )
        )
    if settings.projection_interval > 0:
        app.state.projection_follower = open_projection_follower(
            app.state.ledger, settings, app.state.projections
        )
        loops.append(app.state.projection_follower)
    if settings.stats_publish == "monthly":
        loops.append(
            StatisticsPublisher(app.state.ledger, app.state.projections, settings.disclosure)
        )
    for loop in loops:
        loop.start()
    return loops


def create_app(settings: Settings) -> FastAPI:
    """Build the app; the ledger opens at start-up and closes at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ledger = open_ledger(settings)
        app.state.log = open_transparency_log(app.state.ledger, settings)
        app.state.full_tiles = FullTileCache()  # full hash tiles never change (api.routes.tiles)
        app.state.projections = open_projection_store(settings)
        app.state.reads = open_read_router(
            settings, app.state.ledger, app.state.log, app.state.projections
        )
        side_tables = app.state.projections.db  # one pool for the tables beside the events
        app.state.tokens = TokenStore(side_tables, cache_seconds=settings.token_cache_seconds)
        app.state.idempotency = IdempotencyStore(side_tables)
        loops = _start_loops(app, settings)
        app.state.screening_warmup = ScreeningWarmUp(app.state.ledger)
        app.state.screening_warmup.start()
        try:
            yield
        finally:
            app.state.screening_warmup.stop()
            for loop in reversed(loops):  # the last started first: the log before its witnesses
                loop.stop()
            app.state.reads.close()
            app.state.projections.db.close()
            app.state.log.store.close()
            app.state.ledger.close()

    app = FastAPI(
        title="Patent Product Ledger",
        version=API_VERSION,
        summary="Signed, verifiable ledger of patent product filings (专利产品备案) and "
        "certifications (专利密集型产品认定).",
        default_response_class=OrjsonResponse,
        lifespan=lifespan,
        docs_url=None,  # served from the package by api.docs_pages, not from a CDN
        redoc_url=None,
        dependencies=[Depends(caller)],
    )
    app.state.settings = settings
    problems.install(app)
    openapi.install(app)
    docs_pages.install(app)
    app.add_middleware(ReadPositionHeaders)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestDeadline, seconds=settings.db_deadline)
    app.add_middleware(RateLimits, settings=settings.rate_limits)  # outermost: before any work
    # Routes are matched in this order, router by router: the busiest first (a filing walks
    # past every route of the routers before its own, ~100 µs when it came fifth).
    for module in (
        product_commands, registry, filer_commands, conversion_commands, statistics,
        certification, ledger, index, tiles, keys, health, problem_types,
    ):  # fmt: skip
        app.include_router(module.router)
    pages.install(app)  # after the API: its routes are matched first
    return app
