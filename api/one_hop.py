"""Blocking read routes served in one hop to the thread pool instead of two.

Why: FastAPI runs a sync route in its thread pool and then, for a route with a response model,
validates the answer in the thread pool again (``fastapi.routing.serialize_response``: a
second hand-off of ~0.15 ms of the server's CPU, bench/reads.py). The route's own work must
stay off the event loop (its queries use a blocking driver), but the validation is a few
microseconds of pydantic-core and need not leave it. ``in_one_hop(router.get(...))`` registers
an ``async`` endpoint that runs the sync function in the pool (once) and lets FastAPI
validate and render the answer on the event loop.

What stays the same: the function FastAPI sees has the sync function's name, docstring and
signature (``functools.wraps``: the parameters, dependencies and OpenAPI operation are
derived from them), it runs in the same pool with the request's context variables (the
database deadline of api.limits), raises what it raised, and the answer is validated and
rendered by the same response model. The module keeps the plain function, so callers outside
HTTP (tests, bench/reads.py's in-process baseline) call it as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

F = TypeVar("F", bound=Callable[..., Any])


def in_one_hop(register: Callable[[Callable[..., Any]], Any]) -> Callable[[F], F]:
    """A decorator: ``register`` (a router's ``get(...)``) an async endpoint that runs the
    decorated sync function in the thread pool; returns the function itself, unchanged."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        async def endpoint(*args: Any, **kwargs: Any) -> Any:
            return await run_in_threadpool(function, *args, **kwargs)

        register(endpoint)
        return function

    return decorate
