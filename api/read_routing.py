"""Where a read is answered: the primary, or one of PostgreSQL's streaming replicas.

Why: API consumers read far more than filers write; PostgreSQL's own streaming replication
(docs/read-replicas.md) gives copies of the whole database that can answer reads, and nothing
here copies data. A ``GET`` that reads the read models (registry, statistics, certification
lists, trails) or the log (checkpoints, proofs, tiles, the product index) is answered from a
replica when one is configured (``PPL_READ_REPLICAS``) and answering, taken in turn; writes,
the sequencer, the followers and everything not a ``GET`` use the primary.

**Positions.** A replica replays the primary's WAL, so it may be behind. Every such read says
what it reflects: ``PPL-Position`` is the notification id (the events' position in the event
store, as ``GET /v1/log/checkpoint`` and write responses count them) up to which every event
is in what was read — for the read models the least position of the healthy models, for the
log the last event it integrated — and ``PPL-Read-From`` names the source (``primary``,
``replica-1``…). A write answers with ``PPL-Position`` of its own last event. A client that
must see its write sends ``PPL-Min-Position: N``: a replica at N or later answers; if none is
within ``PPL_READ_WAIT`` seconds (default 0.5), the primary answers, and its header says
where it stands (its followers may still be behind N: the client compares).

**Cost.** A position is one small query; it is kept ``POSITION_TTL`` (50 ms) per source and
kind and reused meanwhile. That is sound because positions only grow: a position read a moment
ago is still a lower bound of what the rows read now reflect. So ``PPL-Position`` may
understate by up to that much progress — and a read asking for more than the kept value reads
it afresh.

**Failures.** A replica that does not answer (stopped, unreachable, its pool exhausted) is
skipped for ``DOWN_SECONDS`` and the primary (or the next replica) answers the same request:
a replica outage is never a 5xx. The replica's pool waits ``REPLICA_POOL_TIMEOUT`` for a
connection, so a dead one costs the first request after it died that much, at most.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

import psycopg
import psycopg_pool
from starlette.requests import Request

from api.limits import App, Message, Receive, Scope, Send
from api.problems import ApiProblemError
from audit.log.transparency_log import TransparencyLog
from projections.store import ProjectionStore

logger = logging.getLogger("ppl.read_routing")

POSITION_HEADER = "PPL-Position"
MIN_POSITION_HEADER = "PPL-Min-Position"
READ_FROM_HEADER = "PPL-Read-From"
STATE_KEY = "ppl_read"  # where a request's chosen source sits in its ASGI scope state
WRITTEN_KEY = "ppl_written"  # where a write leaves the position of its last event
DOWN_SECONDS = 5.0  # a replica that failed is not asked again for this long
POLL_SECONDS = 0.02  # how often a read waiting for a position asks the replicas again
REPLICA_POOL_TIMEOUT = 0.25  # seconds a replica's pool waits for a connection
POSITION_TTL = 0.05  # seconds a source's position read serves later reads (module docstring)
MAX_POSITION = 2**63 - 1  # notification ids are BIGINT

_UNAVAILABLE: tuple[type[Exception], ...] = (psycopg.Error, psycopg_pool.PoolTimeout)


class ReadKind(Enum):
    """What a read reads: the read models' tables, or the Merkle log's (with the index)."""

    MODELS = "models"
    LOG = "log"


@dataclass
class ReadSource:
    """One database that can answer reads, with the stores opened on it."""

    name: str
    projections: ProjectionStore
    log: TransparencyLog
    down_until: float = 0.0  # monotonic time before which it is not asked (a replica)

    def position(self, kind: ReadKind) -> int:
        """The notification id up to which this source's ``kind`` tables reflect every event."""
        if kind is ReadKind.MODELS:
            return self.projections.applied_position()
        return self.log.store.position().last_notification_id


@dataclass
class ChosenRead:
    """The source a request reads from, and the position of each kind it read there."""

    source: ReadSource
    positions: dict[ReadKind, int] = field(default_factory=dict)

    def headers(self) -> list[tuple[bytes, bytes]]:
        position = min(self.positions.values()) if self.positions else 0
        return [
            (POSITION_HEADER.lower().encode(), str(position).encode()),
            (READ_FROM_HEADER.lower().encode(), self.source.name.encode()),
        ]


@dataclass
class ReadRouter:
    """Chooses each read's source (module docstring): replicas in turn, the primary last."""

    primary: ReadSource
    replicas: Sequence[ReadSource] = ()
    wait: float = 0.5
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _turn: itertools.count[int] = field(default_factory=itertools.count, repr=False)
    _kept: dict[tuple[str, ReadKind], tuple[float, int]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def for_request(self, request: Request, kind: ReadKind) -> ReadSource:
        """The source ``request`` reads ``kind`` from: chosen once per request (a request
        reading both kinds reads both on the same database), the position read there."""
        state = request.scope.setdefault("state", {})
        chosen: ChosenRead | None = state.get(STATE_KEY)
        if chosen is None:
            at_least = requested_position(request)
            chosen = self.choose(kind, at_least)
            state[STATE_KEY] = chosen
        elif kind not in chosen.positions:
            chosen.positions[kind] = self._read_position(chosen.source, kind, None)
        return chosen.source

    def kept_for_request(self, request: Request, kind: ReadKind) -> ReadSource | None:
        """``for_request`` without any query, or None when it needs one: the request asks for a
        position (``PPL-Min-Position``: parsed and waited for in ``for_request``), or the next
        source in turn has no position read within ``POSITION_TTL``. Runs on the event loop."""
        state = request.scope.setdefault("state", {})
        chosen: ChosenRead | None = state.get(STATE_KEY)
        if chosen is None:
            if MIN_POSITION_HEADER in request.headers:
                return None
            candidates = self._in_turn() if self.replicas else []
            source = candidates[0] if candidates else self.primary
            kept = self._kept_position(source, kind)
            if kept is None:
                return None
            state[STATE_KEY] = ChosenRead(source, {kind: kept})
            return source
        if kind not in chosen.positions:
            kept = self._kept_position(chosen.source, kind)
            if kept is None:
                return None
            chosen.positions[kind] = kept
        return chosen.source

    def _kept_position(self, source: ReadSource, kind: ReadKind) -> int | None:
        kept = self._kept.get((source.name, kind))
        if kept is None or self.clock() - kept[0] >= POSITION_TTL:
            return None
        return kept[1]

    def choose(self, kind: ReadKind, at_least: int | None) -> ChosenRead:
        """A replica whose ``kind`` position is at least ``at_least`` (any, if None), waiting
        up to ``wait`` for one to get there; else the primary."""
        if self.replicas:
            give_up = self.clock() + (self.wait if at_least is not None else 0.0)
            while True:
                for source in self._in_turn():
                    position = self._position(source, kind, at_least)
                    if position is not None and (at_least is None or position >= at_least):
                        return ChosenRead(source, {kind: position})
                if self.clock() >= give_up or not self._any_up():
                    break
                self.sleep(POLL_SECONDS)
        return ChosenRead(self.primary, {kind: self._read_position(self.primary, kind, at_least)})

    def _in_turn(self) -> list[ReadSource]:
        """The replicas that are up, starting with the next in turn (reads spread evenly)."""
        now = self.clock()
        with self._lock:
            start = next(self._turn) % len(self.replicas)
        ordered = [*self.replicas[start:], *self.replicas[:start]]
        return [source for source in ordered if source.down_until <= now]

    def _any_up(self) -> bool:
        now = self.clock()
        return any(source.down_until <= now for source in self.replicas)

    def _read_position(self, source: ReadSource, kind: ReadKind, at_least: int | None) -> int:
        """``source``'s ``kind`` position: the one kept if read within ``POSITION_TTL`` and
        enough for ``at_least``, else read now (and kept)."""
        now = self.clock()
        kept = self._kept.get((source.name, kind))
        fresh = kept is not None and now - kept[0] < POSITION_TTL
        if kept is not None and fresh and (at_least is None or kept[1] >= at_least):
            return kept[1]
        position = source.position(kind)
        self._kept[(source.name, kind)] = (now, position)
        return position

    def _position(self, source: ReadSource, kind: ReadKind, at_least: int | None) -> int | None:
        """As ``_read_position``, for a replica: None if it does not answer (then skipped)."""
        try:
            return self._read_position(source, kind, at_least)
        except _UNAVAILABLE as error:
            source.down_until = self.clock() + DOWN_SECONDS
            logger.warning(
                "read replica %s does not answer (%s: %s); reads go elsewhere for %g s",
                source.name, type(error).__name__, error, DOWN_SECONDS,
            )  # fmt: skip
            return None

    def states(self) -> list[ReplicaState]:
        """Each replica's positions and lag behind the primary (/ready)."""
        primary = {kind: self.primary.position(kind) for kind in ReadKind}
        found = []
        for source in self.replicas:
            positions: dict[ReadKind, int | None] = {}
            for kind in ReadKind:
                try:
                    positions[kind] = source.position(kind)  # afresh: a report, not a read
                except _UNAVAILABLE:
                    positions[kind] = None
            found.append(ReplicaState.of(source.name, positions, primary))
        return found

    def close(self) -> None:
        for source in self.replicas:
            source.projections.db.close()
            source.log.store.close()


@dataclass(frozen=True, slots=True)
class ReplicaState:
    """A replica as /ready shows it: up or not, its positions and how many notification ids
    it is behind the primary (0: caught up)."""

    name: str
    up: bool
    models_position: int | None
    log_position: int | None
    models_lag: int | None
    log_lag: int | None

    @classmethod
    def of(
        cls, name: str, positions: dict[ReadKind, int | None], primary: dict[ReadKind, int]
    ) -> ReplicaState:
        models, log = positions[ReadKind.MODELS], positions[ReadKind.LOG]
        return cls(
            name,
            models is not None and log is not None,
            models,
            log,
            None if models is None else max(0, primary[ReadKind.MODELS] - models),
            None if log is None else max(0, primary[ReadKind.LOG] - log),
        )


def requested_position(request: Request) -> int | None:
    """``PPL-Min-Position`` as a notification id (None: not sent).

    Raises:
        ApiProblemError: ``position_invalid`` — not a decimal integer from 0 to 2^63 - 1.
    """
    raw = request.headers.get(MIN_POSITION_HEADER)
    if raw is None:
        return None
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_POSITION:
        raise ApiProblemError(
            "position_invalid",
            f"{MIN_POSITION_HEADER}: {raw[:40]!r} is not a notification id "
            f"(a decimal integer from 0 to {MAX_POSITION})",
        )
    return int(text)


class ReadPositionHeaders:
    """ASGI middleware: adds ``PPL-Position`` and ``PPL-Read-From`` to the answer of a request
    that read through the router, and ``PPL-Position`` to a write's (its last event)."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_position(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state")
                extra = _headers(state) if isinstance(state, dict) else []
                if extra:
                    message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, with_position)


def _headers(state: dict[str, object]) -> list[tuple[bytes, bytes]]:
    chosen = state.get(STATE_KEY)
    if isinstance(chosen, ChosenRead):
        return chosen.headers()
    written = state.get(WRITTEN_KEY)
    if isinstance(written, int):
        return [(POSITION_HEADER.lower().encode(), str(written).encode())]
    return []
