"""Recently authenticated bearer tokens, kept for a second or so in the API process.

Why: every request with a token looked it up in ``ppl_api_tokens`` — a database round trip and
a hop to the threadpool (the driver blocks) before the route could start, ~0.3 ms of the
server's CPU per request (docs/benchmarks.md "API"). A client sends the same token with every
request, so the answer of a moment ago is reused, on the event loop.

What it costs, decided deliberately (docs/decisions.md): a token revoked by ``ppl tokens
revoke`` — another process — is refused by a running API process within ``ttl`` seconds
(``PPL_API_TOKEN_CACHE_SECONDS``, default 1; 0 turns the cache off), not at once. A revocation
through the same process's ``TokenStore`` is immediate (``forget``). Only tokens that
authenticated are kept: an unknown or revoked token is looked up every time, and an entry is
found only by the SHA-256 of the whole token (the digest ``ppl_api_tokens`` stores, computed
by the caller), so a wrong secret never matches one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")

MAX_ENTRIES = 10_000  # more distinct tokens than this within ``ttl``: start over (bounded memory)


class TokenCache(Generic[V]):
    """What a token authenticated as, by the token's digest; each entry good for ``ttl`` s."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[str, V, float]] = {}  # digest → (token id, value, until)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def get(self, digest: str) -> V | None:
        """What the token with ``digest`` authenticated as within ``ttl`` seconds, else None."""
        if not self.enabled:
            return None
        entry = self._entries.get(digest)
        if entry is None or self._clock() >= entry[2]:
            return None
        return entry[1]

    def put(self, digest: str, token_id: str, value: V) -> None:
        if not self.enabled:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[digest] = (token_id, value, self._clock() + self.ttl)

    def forget(self, token_id: str) -> None:
        """Drop the entries of this token id (it was revoked through this process)."""
        with self._lock:
            stale = [key for key, entry in self._entries.items() if entry[0] == token_id]
            for key in stale:
                del self._entries[key]
