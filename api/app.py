"""FastAPI application factory. Issue #5 grows this into the full API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.bootstrap import (
    open_ledger,
    open_projection_follower,
    open_projection_store,
    open_transparency_log,
)
from api.log_follower import LogFollower
from api.responses import OrjsonResponse
from api.routes import health, keys, registry
from api.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """Build the app; the ledger opens at start-up and closes at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ledger = open_ledger(settings)
        app.state.log = open_transparency_log(app.state.ledger, settings)
        app.state.projections = open_projection_store(settings)
        follower = None
        if settings.sequence_interval > 0:
            follower = LogFollower(app.state.log, settings.sequence_interval)
            follower.start()
        projection_follower = None
        if settings.projection_interval > 0:
            projection_follower = open_projection_follower(
                app.state.ledger, settings, app.state.projections
            )
            projection_follower.start()
        app.state.projection_follower = projection_follower
        try:
            yield
        finally:
            if projection_follower is not None:
                projection_follower.stop()
            if follower is not None:
                follower.stop()
            app.state.projections.db.close()
            app.state.log.store.close()
            app.state.ledger.close()

    app = FastAPI(
        title="Patent Product Ledger",
        version="0.1.0",
        default_response_class=OrjsonResponse,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.include_router(health.router)
    app.include_router(keys.router)
    app.include_router(registry.router)
    return app
