"""Keeps the Merkle log up with the events: sequence and publish, again and again.

Runs as a daemon thread inside ``ppl serve`` or in the foreground as ``ppl log follow`` (a
separate process; several followers are safe, the log's compare-and-set serializes them).
A failing round is logged and retried after the interval: a database outage must not stop
the follower for good. An integrity failure (an event that does not verify) is logged at
ERROR on every round until an operator acts; nothing unverifiable is ever integrated.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from audit.transparency_log import TransparencyLog

logger = logging.getLogger("ppl.log_follower")


class LogFollower:
    """Calls ``log.sequence()`` every ``interval`` seconds until stopped."""

    def __init__(
        self,
        log: TransparencyLog,
        interval: float,
        *,
        on_round: Callable[[int], None] | None = None,
    ) -> None:
        self.log = log
        self.interval = interval
        self._on_round = on_round
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0

    def run_once(self) -> int:
        """One round; returns the log's size afterwards (0 if the round failed)."""
        try:
            latest = self.log.sequence()
        except Exception:
            self.failures += 1
            logger.exception("sequencing failed; retrying in %.1f s", self.interval)
            return 0
        size = latest.tree_size if latest is not None else 0
        if self._on_round is not None:
            self._on_round(size)
        return size

    def run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="ppl-log-follower", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
