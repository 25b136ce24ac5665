"""The ledger's notion of "now", replaceable per context.

Every event's timestamp comes from here. Production uses the system clock; tests and the
sample-data generator set a historical clock (e.g. the 2023 filing season) for the current
context only, so concurrent requests never see each other's clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime


def system_now() -> datetime:
    return datetime.now(tz=UTC)


_clock: ContextVar[Callable[[], datetime]] = ContextVar("ppl_clock", default=system_now)


def now() -> datetime:
    """Current UTC instant according to the context's clock."""
    moment = _clock.get()()
    if moment.tzinfo is None:
        raise ValueError("the clock returned a naive datetime: want UTC")
    return moment.astimezone(UTC)


@contextmanager
def using_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Use ``clock`` for every event created in this context."""
    token = _clock.set(clock)
    try:
        yield
    finally:
        _clock.reset(token)
