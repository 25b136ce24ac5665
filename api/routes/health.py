"""Liveness and readiness, for the orchestrator in front of the service.

``/health`` never touches the database: a process that answers is alive, and restarting it
would not bring a database back. ``/ready`` asks every store the requests use — the events
(eventsourcing's pool), the log and the read models (their own connections) — and says
whether the read models are built, so a load balancer only sends traffic to an instance that
can answer, and how many stored events the log has not integrated yet (a number that keeps
growing means sequencing has stopped). A database that does not answer is a 503
``store_unavailable`` with Retry-After (api.problems maps the driver's errors), never a hang
past the connect timeout.

A read model marked failed (projections.failures: it stopped at an event it cannot apply)
makes ``/ready`` answer **200** with ``status: "degraded"`` and the failed models in
``degraded``, not 503: every instance shares the store and runs the same handlers, so all of
them would fail together, and a 503 would take writes and the healthy reads out of the load
balancer over one stale read model (docs/decisions.md, "A failed read model degrades
readiness"). So does witnessing whose quorum has gone unmet for longer than
``PPL_WITNESS_DEGRADED_AFTER`` (audit.log.witness_report): a witness outage must not take
the service out either. Monitoring alerts on ``status``; the event's aggregate id and the
error text are shown to platform roles only (an error message may quote a row's values).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.access import PLATFORM
from api.bootstrap import unlogged_event_count
from api.deps import Caller
from api.problems import RETRY_AFTER_SECONDS, ApiProblemError, problem_responses
from api.tokens import Principal
from api.wire import response_examples
from audit.log.witness_report import witnessing_report
from projections.catalog import NAMES
from projections.failures import ProjectionFailure
from projections.store import ProjectionStore

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    model_config = response_examples({"status": "ok"})

    status: str


class LogState(BaseModel):
    size: int = Field(description="Leaves integrated into the Merkle log")
    checkpoint: int | None = Field(description="Tree size of the latest signed checkpoint")
    unlogged: int = Field(
        description="Stored events not integrated into the log yet (the log follower brings "
        "this back to 0; one that stays up means sequencing is stopped, e.g. on an event that "
        "does not verify)"
    )
    indexed: int | None = Field(
        default=None,
        description="Tree size of the latest checkpoint the product index has reached "
        "(docs/product-index.md); one that lags `checkpoint` and stays behind means the "
        "indexer is stopped (the log follower logs why)",
    )


class WitnessingState(BaseModel):
    status: Literal["off", "ok", "pending", "degraded"] = Field(
        description="`off`: no witness quorum configured; `ok`: the latest checkpoint is "
        "witnessed; `pending`: a newer one waits for cosignatures; `degraded`: it has waited "
        "longer than `PPL_WITNESS_DEGRADED_AFTER` (readers requiring witnesses see the log "
        "stand still)"
    )
    quorum: str = Field(description="The policy's quorum, in words")
    witnessed_checkpoint: int | None = Field(
        description="Tree size of the latest checkpoint the quorum cosigned (the published one)"
    )
    unmet_since: str | None = Field(
        description="When the oldest checkpoint not yet witnessed was signed (UTC)"
    )


class FailedReadModel(BaseModel):
    name: str = Field(description="The read model (as in `projections`)")
    notification_id: int = Field(description="The event it could not apply; it stays before it")
    originator_id: str | None = Field(
        description="The event's aggregate id (platform roles only; else null)"
    )
    version: int = Field(description="The event's version in its aggregate")
    topic: str = Field(description="The event's type")
    error: str = Field(
        description="`Type: message` of the error (platform roles; others see the type only)"
    )
    failed_at: str = Field(description="When it was marked failed (UTC)")


class ReplicaReport(BaseModel):
    name: str = Field(description="`replica-1`… in the order of `PPL_READ_REPLICAS`")
    up: bool = Field(description="It answered just now (a replica that does not is skipped)")
    models_position: int | None = Field(
        description="Notification id its read models reflect (null: it did not answer)"
    )
    log_position: int | None = Field(description="Notification id its log has integrated")
    models_lag: int | None = Field(
        description="How many notification ids its read models are behind the primary's"
    )
    log_lag: int | None = Field(description="How many notification ids its log is behind")


class ScreeningState(BaseModel):
    read_in: bool = Field(
        description="This process has read every filing stored before it started into its "
        "near-duplicate screening index (api/screening_warmup.py). Until then a filing waits "
        "for the rest of that read; reads are not affected, so readiness does not wait for it"
    )
    indexed: int = Field(description="Filings the index holds")


class Readiness(BaseModel):
    model_config = response_examples(
        {
            "status": "ready",
            "events": 5539,
            "log": {"size": 5539, "checkpoint": 5539, "unlogged": 0, "indexed": 5539},
            "witnessing": {
                "status": "ok",
                "quorum": "2 of [w1.example/a+1a2b3c4d, w2.example/b+5e6f7a8b, …]",
                "witnessed_checkpoint": 5539,
                "unmet_since": None,
            },
            "projections": {"product_registry": 5539, "filer_registry": 5539},
            "degraded": [],
            "screening": {"read_in": True, "indexed": 1228},
        },
        {
            "status": "degraded",
            "events": 5601,
            "log": {"size": 5601, "checkpoint": 5601, "unlogged": 0, "indexed": 5601},
            "witnessing": {
                "status": "off",
                "quorum": "none",
                "witnessed_checkpoint": None,
                "unmet_since": None,
            },
            "projections": {"product_registry": 5601, "regional_stats": 5571},
            "degraded": [
                {
                    "name": "regional_stats",
                    "notification_id": 5572,
                    "originator_id": "0b4c5d0e-7a55-4f39-9a53-4f7f0e2d1c11",
                    "version": 1,
                    "topic": "domain.product:Product.ProductFiled",
                    "error": "OverflowError: Python int too large to convert to SQLite INTEGER",
                    "failed_at": "2024-03-01T08:00:00.000000Z",
                }
            ],
            "screening": {"read_in": False, "indexed": 0},
        },
    )

    status: Literal["ready", "degraded"] = Field(
        description="`degraded`: some read models stopped at an event they cannot apply "
        "(listed in `degraded`; writes and the other read models work, their reads are "
        "stale), or witnessing is degraded (`witnessing`)"
    )
    events: int = Field(description="Highest notification id in the event store")
    log: LogState
    witnessing: WitnessingState
    projections: dict[str, int] = Field(
        description="Each read model: the notification id it has applied up to"
    )
    degraded: list[FailedReadModel] = Field(
        description="Read models marked failed; each serves its rows as of the event before "
        "the one named, until `ppl projections rebuild NAME` after the fix"
    )
    screening: ScreeningState
    replicas: list[ReplicaReport] = Field(
        default_factory=list,
        description="Each read replica (`PPL_READ_REPLICAS`, docs/read-replicas.md): up or "
        "not, and how far behind the primary; a replica down never makes this 503 (reads go "
        "to the primary)",
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
    "integrated yet (one count query). 200 `degraded` when some read model stopped at an "
    "event it cannot apply (listed; its reads are stale, writes work). 503 "
    "`store_unavailable` when the database does not answer, 503 `projection_not_built` "
    "before the first build — both with Retry-After.",
    responses=problem_responses(503),
)
def ready(request: Request, principal: Caller) -> Readiness:
    state = request.app.state
    events = state.ledger.recorder.max_notification_id() or 0
    latest = state.log.store.latest_checkpoint()
    applied = _applied(state.projections)
    failed = [_failed(failure, principal) for failure in state.projections.failures().values()]
    witnessing = witnessing_report(
        state.log,
        now=datetime.now(tz=UTC),
        degraded_after=request.app.state.settings.witness_degraded_after,
    )
    return Readiness(
        status="degraded" if failed or witnessing.status == "degraded" else "ready",
        events=events,
        log=LogState(
            size=state.log.size(),
            checkpoint=latest.tree_size if latest is not None else None,
            unlogged=unlogged_event_count(state.ledger, state.log.store),
            indexed=state.log.index.store.position() if state.log.index is not None else None,
        ),
        witnessing=WitnessingState(
            status=witnessing.status,
            quorum=witnessing.quorum,
            witnessed_checkpoint=witnessing.witnessed_checkpoint,
            unmet_since=witnessing.unmet_since,
        ),
        projections=applied,
        degraded=failed,
        screening=ScreeningState(
            read_in=state.screening_warmup.done, indexed=state.ledger.screening_indexed
        ),
        replicas=[ReplicaReport(**asdict(found)) for found in state.reads.states()],
    )


def _failed(failure: ProjectionFailure, principal: Principal) -> FailedReadModel:
    """A failed read model as ``principal`` may see it (aggregate id and message: platform)."""
    platform = principal.role in PLATFORM
    return FailedReadModel(
        name=failure.projection,
        notification_id=failure.notification_id,
        originator_id=failure.originator_id if platform else None,
        version=failure.version,
        topic=failure.topic,
        error=failure.error if platform else failure.error.split(":", 1)[0],
        failed_at=failure.failed_at,
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
