"""Abuse limits: request rates per token and per client address, and the size of the headers.

Why: an as-of answer replays the log (about 40 µs per event), a dispute check compares a
filing with every other, a bundle streams the whole log — any token could ask for them in a
loop (issue #15 measured a plain read slowed from 3.5 ms to 209 ms by six such loops); writes
cost signatures and store space. So each request class has a rate per token and per client
address, counted by the ``limits`` library (docs/decisions.md), and a request over either is
a 429 ``rate_limited`` with ``Retry-After``, before any route runs. Counters live in
``PPL_RATE_LIMIT_STORAGE`` (``memory://``: per process; ``redis://...`` to share them between
instances). The headers of a request are bounded too (431): a 50 MB header was answered 200.

Classes (``classify``):

* ``expensive`` — an as-of read (``tree_size`` or ``as_of``), a dispute check, an audit bundle,
  an event's evidence (``/v1/log/proofs/inclusion/event/...``);
* ``write`` — every POST.

The token key is the id in the bearer token as sent (checked later, by the route): a client
that makes up ids to spread its load still meets its address's limit.
"""

from __future__ import annotations

import math
import re
import time
from typing import Final

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from api.limits import App, Receive, Scope, Send
from api.problems import asgi_problem
from api.settings import RateLimitSettings

EXPENSIVE: Final = "expensive"
WRITE: Final = "write"
_EXPENSIVE_PATHS: Final = re.compile(
    r"^/v1/(products/[^/]+/dispute-check|audit/bundle|log/proofs/inclusion/event/.+)$"
)
_AS_OF: Final = re.compile(rb"(^|&)(tree_size|as_of)=")
_TOKEN_ID: Final = re.compile(rb"^bearer\s+ppl_([0-9a-f]{16})_", re.IGNORECASE)


def classify(scope: Scope) -> str | None:
    """The request's class, or None (not limited)."""
    if scope["method"] == "POST":
        return WRITE
    if scope["method"] == "GET" and (
        _AS_OF.search(scope.get("query_string", b"")) or _EXPENSIVE_PATHS.match(scope["path"])
    ):
        return EXPENSIVE
    return None


class RateLimits:
    """ASGI middleware: 431 for oversized headers, 429 for a request over its class's rate."""

    def __init__(self, app: App, settings: RateLimitSettings) -> None:
        self.app = app
        self.max_header_bytes = settings.max_header_bytes
        self.limiter = SlidingWindowCounterRateLimiter(storage_from_string(settings.storage))
        self.items: dict[str, tuple[RateLimitItem, RateLimitItem]] = {
            EXPENSIVE: (parse(settings.expensive_per_token),
                        parse(settings.expensive_per_address)),
            WRITE: (parse(settings.writes_per_token), parse(settings.writes_per_address)),
        }  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        size = sum(len(name) + len(value) + 4 for name, value in headers)
        if size > self.max_header_bytes:
            detail = (
                f"the request's headers have {size:,} bytes; "
                f"this service accepts at most {self.max_header_bytes:,}"
            )
            await _refuse(scope, send, "headers_too_large", detail, None)
            return
        kind = classify(scope)
        if kind is not None:
            wait = self._over(kind, scope, headers)
            if wait is not None:
                detail = f"too many {kind} requests: retry after {wait} s"
                await _refuse(scope, send, "rate_limited", detail, wait)
                return
        await self.app(scope, receive, send)

    def _over(self, kind: str, scope: Scope, headers: list[tuple[bytes, bytes]]) -> int | None:
        """Seconds to wait if the request is over a limit (counting it where it is not)."""
        per_token, per_address = self.items[kind]
        keys: list[tuple[RateLimitItem, str]] = []
        for name, value in headers:
            if name == b"authorization":
                found = _TOKEN_ID.match(value)
                if found is not None:
                    keys.append((per_token, f"{kind}:token:{found.group(1).decode()}"))
                break
        client = scope.get("client")
        keys.append((per_address, f"{kind}:address:{client[0] if client else 'unknown'}"))
        for item, key in keys:
            if not self.limiter.hit(item, key):
                reset = self.limiter.get_window_stats(item, key).reset_time
                return max(1, math.ceil(reset - time.time()))
        return None


async def _refuse(scope: Scope, send: Send, code: str, detail: str, wait: int | None) -> None:
    status, body, headers = asgi_problem(scope, code, detail)
    if wait is not None:
        headers.append((b"retry-after", str(wait).encode()))
    else:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
