"""Liveness and readiness, for the orchestrator in front of the service.

``/health`` never touches the database: a process that answers is alive, and restarting it
would not bring a database back. ``/ready`` asks every store the requests use — the events
(eventsourcing's pool), the log and the read models (their own connections) — and says
whether the read models are built, so a load balancer only sends traffic to an instance that
can answer, and how many stored events the log has not integrated yet (a number that keeps
growing means sequencing has stopped). A database that does not answer is a 503
``store_unavailable`` with Retry-After (api.problems maps the driver's errors), never a hang
past the connect timeout.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from api.bootstrap import unlogged_event_count
from api.problems import RETRY_AFTER_SECONDS, ApiProblemError, problem_responses
from projections.catalog import NAMES
from projections.store import ProjectionStore

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: str


class LogState(BaseModel):
    size: int = Field(description="Leaves integrated into the Merkle log")
    checkpoint: int | None = Field(description="Tree size of the latest signed checkpoint")
    unlogged: int = Field(
        description="Stored events not integrated into the log yet (the log follower brings "
        "this back to 0; one that stays up means sequencing is stopped, e.g. on an event that "
        "does not verify)"
    )


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "events": 5539,
                    "log": {"size": 5539, "checkpoint": 5539, "unlogged": 0},
                    "projections": {"product_registry": 5539, "filer_registry": 5539},
                }
            ]
        }
    )

    status: str
    events: int = Field(description="Highest notification id in the event store")
    log: LogState
    projections: dict[str, int] = Field(
        description="Each read model: the notification id it has applied up to"
    )


@router.get(
    "/health",
    summary="Liveness",
    description="The process answers. Touches no database and runs on the event loop, not "
    "in the worker threads: a database outage, with every worker waiting for a connection, "
    "does not make the orchestrator restart healthy processes.",
)
async def health() -> Liveness:
    # async on purpose: a sync route waits for a free worker thread, and during an outage all
    # of them may be waiting for the database (measured: 4.5 s with 60 requests in flight).
    return Liveness(status="ok")


@router.get(
    "/ready",
    summary="Readiness",
    description="The event store, the log and the read models answer, and every read model "
    "is built. Reports how far each has got, and how many stored events the log has not "
    "integrated yet (one count query). 503 `store_unavailable` when the database does "
    "not answer, 503 `projection_not_built` before the first build — both with Retry-After.",
    responses=problem_responses(503),
)
def ready(request: Request) -> Readiness:
    state = request.app.state
    events = state.ledger.recorder.max_notification_id() or 0
    latest = state.log.store.latest_checkpoint()
    return Readiness(
        status="ready",
        events=events,
        log=LogState(
            size=state.log.size(),
            checkpoint=latest.tree_size if latest is not None else None,
            unlogged=unlogged_event_count(state.ledger, state.log.store),
        ),
        projections=_applied(state.projections),
    )


def _applied(store: ProjectionStore) -> dict[str, int]:
    applied: dict[str, int] = {}
    for name in NAMES:
        generation = store.active_generation(name)
        if generation is None:
            raise ApiProblemError(
                "projection_not_built",
                f"read model {name} is not built yet: the projection follower or "
                "`ppl projections rebuild` builds it",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        applied[name] = store.position(name, generation).notification_id
    return applied
