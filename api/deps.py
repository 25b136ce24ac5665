"""``Annotated`` dependency aliases the routes declare: who is calling, and what they work on.

Why one module (STYLE #6): a route's signature says which callers it admits
(``Reviewer``, ``FilerOnly``...) and which store it reads (``ReadModels``, ``Ledger``), while
the rules behind those names live once, in api.access (roles, scopes) and the app's state
(the stores opened at start-up).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.access import caller, requires
from api.bootstrap import SignedPatentLedger
from api.read_routing import ReadKind, ReadRouter, ReadSource
from api.tokens import TOKEN_ROLES, Principal
from audit.log.transparency_log import TransparencyLog
from domain.actor import Role
from domain.certification_commands import OBJECTOR_ROLES
from projections.store import ProjectionStore


async def ledger(request: Request) -> SignedPatentLedger:
    """The ledger application (async: no I/O, so FastAPI need not hand it to a thread)."""
    application: SignedPatentLedger = request.app.state.ledger
    return application


_READS = frozenset({"GET", "HEAD"})


def read_models(request: Request) -> ProjectionStore:
    """The read models a request uses: for a GET, those of the source api.read_routing
    chooses (a replica, or the primary); for anything else the primary's."""
    if request.method in _READS:
        router: ReadRouter = request.app.state.reads
        return router.for_request(request, ReadKind.MODELS).projections
    store: ProjectionStore = request.app.state.projections
    return store


def merkle_log(request: Request) -> TransparencyLog:
    """The Merkle log a request reads, chosen as ``read_models`` chooses."""
    if request.method in _READS:
        router: ReadRouter = request.app.state.reads
        return router.for_request(request, ReadKind.LOG).log
    log: TransparencyLog = request.app.state.log
    return log


def _kept_source(request: Request, kind: ReadKind) -> ReadSource | None:
    """The source a GET reads ``kind`` from, if the router can choose it without a query."""
    if request.method not in _READS:
        return None
    router: ReadRouter = request.app.state.reads
    return router.kept_for_request(request, kind)


async def read_models_of(request: Request) -> ProjectionStore:
    """``read_models`` as a dependency: answered on the event loop when the router can choose
    without a query (a position it read within ``POSITION_TTL``, no ``PPL-Min-Position``),
    else in a worker thread. Why: FastAPI runs a sync dependency in its thread pool, a
    hand-off of ~0.15 ms per request (bench/reads.py), for what is mostly a dict lookup."""
    source = _kept_source(request, ReadKind.MODELS)
    found: ProjectionStore = (
        source.projections if source else await run_in_threadpool(read_models, request)
    )
    return found


async def merkle_log_of(request: Request) -> TransparencyLog:
    """``merkle_log`` as a dependency, as ``read_models_of`` is ``read_models``."""
    source = _kept_source(request, ReadKind.LOG)
    found: TransparencyLog = source.log if source else await run_in_threadpool(merkle_log, request)
    return found


# Callers
Caller = Annotated[Principal, Depends(caller)]
"""Anyone, anonymous included (a bad token is still a 401)."""
Authenticated = Annotated[Principal, Depends(requires(*TOKEN_ROLES))]
Reviewer = Annotated[Principal, Depends(requires(Role.REVIEWER))]
FilerOnly = Annotated[Principal, Depends(requires(Role.FILER))]
FilerOrReviewer = Annotated[Principal, Depends(requires(Role.FILER, Role.REVIEWER))]
Institution = Annotated[Principal, Depends(requires(Role.INSTITUTION))]
Auditor = Annotated[Principal, Depends(requires(Role.AUDITOR))]
FilerReader = Annotated[
    Principal,
    Depends(requires(Role.FILER, Role.REVIEWER, Role.CERTIFIER, Role.AUDITOR, Role.REGIONAL_ADMIN)),
]
"""Who may read filer records (contact data): not anonymous callers, not institutions."""
Certifier = Annotated[Principal, Depends(requires(Role.CERTIFIER))]
Platform = Annotated[Principal, Depends(requires(Role.REVIEWER, Role.CERTIFIER, Role.AUDITOR))]
"""The platform's roles (api.access.PLATFORM): who sees every filer's filings."""
Objector = Annotated[Principal, Depends(requires(*OBJECTOR_ROLES))]
"""Who may object to a certification (domain.certification_commands.OBJECTOR_ROLES)."""
DecisionReader = Annotated[
    Principal,
    Depends(requires(Role.FILER, Role.REVIEWER, Role.CERTIFIER, Role.AUDITOR, Role.REGIONAL_ADMIN)),
]
"""Who may read decisions that are not published (the ineligible list): not anonymous
callers, not institutions; a filer its own, a regional admin its region's (api.access)."""

# What they work on
Ledger = Annotated[SignedPatentLedger, Depends(ledger)]
ReadModels = Annotated[ProjectionStore, Depends(read_models_of)]
MerkleLog = Annotated[TransparencyLog, Depends(merkle_log_of)]
