"""Deadlines on PostgreSQL calls: a lent connection that overruns its deadline is cut.

Why: when the database stops answering but its sockets stay open (a partition, a hung
proxy, a stopped VM), a call waits on its socket for ever; ``statement_timeout`` is the
server's and never arrives, TCP keepalives only probe idle sockets, and ``tcp_user_timeout``
fires only when the kernel gets no acknowledgement (a proxy's kernel acknowledges for a dead
upstream). Before this, every request that touched the database hung for the whole partition
(issue #14). So the client keeps the deadline: each connection a pool lends is watched, and
one still lent past its deadline has its socket shut down, which wakes the blocked call with
``psycopg.OperationalError`` (the API's 503 ``store_unavailable``); the pool then discards
the broken connection.

The deadline is per lending (one transaction or statement), from a context variable: the API
sets a short one for its requests (``PPL_DB_DEADLINE``, 1 s by default); followers, rebuilds
and ``ppl`` commands, which may write large batches, keep ``DEFAULT_DEADLINE_SECONDS`` — long,
but never for ever. One watchdog thread serves every pool of the process.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, Final

import psycopg

LOG = logging.getLogger(__name__)

_COMPACT_AFTER: Final = 1024  # released entries the heap may hold beyond twice the lent ones

DEFAULT_DEADLINE_SECONDS: Final = 60.0
"""Outside a request: the longest one transaction may hold a connection (a rebuild's batch)."""


class Scope:
    """The deadline of the database calls of one request, and whether one was cut.

    After a cut the request's further calls fail at once instead of each waiting out a
    deadline of its own (a retry, the next pooled connection to ping): the database is not
    answering, and the request answers 503 within about one deadline.
    """

    __slots__ = ("cut", "seconds")

    def __init__(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"a deadline is a positive number of seconds: got {seconds!r}")
        self.seconds = seconds
        self.cut = False


_SCOPE: ContextVar[Scope | None] = ContextVar("ppl_db_deadline", default=None)


def current_deadline() -> float:
    """The deadline, in seconds, of a database call made now in this context."""
    scope = _SCOPE.get()
    return DEFAULT_DEADLINE_SECONDS if scope is None else scope.seconds


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[Scope]:
    """Database calls in this context (a request) hold a connection at most ``seconds``."""
    scope = Scope(seconds)
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


class DeadlinePassedError(psycopg.OperationalError):
    """A call of a request whose earlier call was cut at its deadline: not tried at all."""


def _cut(connection: Any) -> None:
    """Shut the connection's socket down, so a call blocked on it returns at once."""
    fd = connection.pgconn.socket  # raises if the connection is already closed
    duplicate = socket.socket(fileno=os.dup(fd))
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    finally:
        duplicate.close()


class Watchdog:
    """Cuts each watched connection still lent when its deadline passes."""

    def __init__(self, cut: Callable[[Any], None] = _cut) -> None:
        self._cut = cut
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._heap: list[tuple[float, int]] = []
        self._watched: dict[int, tuple[Any, Scope | None]] = {}  # ticket -> lent connection
        self._tickets = itertools.count()
        self._thread: threading.Thread | None = None
        self.cuts = 0  # how many connections were cut (for tests and logs)

    def watch(self, connection: Any, seconds: float, scope: Scope | None = None) -> int:
        """Start watching a connection just lent; returns the ticket ``release`` takes. A cut
        marks ``scope`` (the request's)."""
        ticket = next(self._tickets)
        with self._lock:
            self._watched[ticket] = (connection, scope)
            heapq.heappush(self._heap, (time.monotonic() + seconds, ticket))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ppl-db-watchdog")
                self._thread.daemon = True
                self._thread.start()
            if self._heap[0][1] == ticket:
                self._wake.notify()
        return ticket

    def release(self, ticket: int) -> None:
        """The connection came back in time (or is being returned): stop watching it.

        Taken under the watchdog's lock, so a cut is never made on a connection already back
        in its pool and lent to someone else."""
        with self._lock:
            self._watched.pop(ticket, None)
            # Released entries leave the heap when they reach its top; with long deadlines (a
            # follower's 60 s) thousands would wait there, so drop them all now and then.
            if len(self._heap) > 2 * len(self._watched) + _COMPACT_AFTER:
                self._heap = [entry for entry in self._heap if entry[1] in self._watched]
                heapq.heapify(self._heap)

    def _run(self) -> None:
        with self._lock:
            while True:
                while self._heap and self._heap[0][1] not in self._watched:
                    heapq.heappop(self._heap)  # released in time
                if not self._heap:
                    self._wake.wait()
                    continue
                due, ticket = self._heap[0]
                delay = due - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                heapq.heappop(self._heap)
                connection, scope = self._watched.pop(ticket)
                if scope is not None:
                    scope.cut = True
                self.cuts += 1
                try:
                    self._cut(connection)
                except Exception:
                    LOG.debug("a connection past its deadline was already closed", exc_info=True)
                else:
                    LOG.warning("cut a database connection held past its deadline")


WATCHDOG: Final = Watchdog()
"""The process's watchdog, shared by every guarded pool."""


def guard_pool(pool: Any, watchdog: Watchdog = WATCHDOG) -> None:
    """Watch every connection ``pool`` (a ``psycopg_pool.ConnectionPool``) lends.

    Wraps the instance's ``getconn`` and ``putconn``, which its ``connection()`` context
    manager (eventsourcing's datastore) and direct callers (audit.database.connections) both use.
    """
    if getattr(pool, "_ppl_guarded", False):
        return
    getconn, putconn = pool.getconn, pool.putconn
    tickets: dict[int, int] = {}  # id(connection) -> ticket, while lent
    tickets_lock = threading.Lock()

    def guarded_getconn(timeout: float | None = None) -> Any:
        scope = _SCOPE.get()
        if scope is not None and scope.cut:
            raise DeadlinePassedError(
                f"the database did not answer a call of this request within {scope.seconds} s"
            )
        connection = getconn(timeout)
        ticket = watchdog.watch(connection, current_deadline(), scope)
        with tickets_lock:
            tickets[id(connection)] = ticket
        return connection

    def guarded_putconn(connection: Any) -> None:
        with tickets_lock:
            ticket = tickets.pop(id(connection), None)
        if ticket is not None:
            watchdog.release(ticket)
        putconn(connection)

    pool.getconn = guarded_getconn
    pool.putconn = guarded_putconn
    pool._ppl_guarded = True


KEEPALIVES: Final = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
"""libpq TCP settings: a peer gone for good (packets dropped) is found by the kernel within
about 10 s even on an idle pooled connection; the watchdog covers what TCP cannot see."""
