"""Keeps the Merkle log up with the events: sequence and publish, again and again.

Runs as a daemon thread inside ``ppl serve`` or in the foreground as ``ppl log follow`` (a
separate process; several followers are safe, the log's compare-and-set serializes them).
A failing round is logged and retried after the interval: a database outage must not stop
the follower for good. An integrity failure (an event that does not verify) is logged at
ERROR on every round until an operator acts; nothing unverifiable is ever integrated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from audit.log.transparency_log import TransparencyLog
from projections.background import BackgroundLoop

logger = logging.getLogger("ppl.log_follower")


class LogFollower(BackgroundLoop[int]):
    """Calls ``log.sequence()`` every ``interval`` seconds until stopped; ``run_once``
    returns the log's size afterwards (0 if the round failed)."""

    thread_name = "ppl-log-follower"
    activity = "sequencing"

    def __init__(
        self,
        log: TransparencyLog,
        interval: float,
        *,
        on_round: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(interval, 0, logger)
        self.log = log
        self._on_round = on_round

    def round(self) -> int:
        latest = self.log.sequence()
        size = latest.tree_size if latest is not None else 0
        if self._on_round is not None:
            self._on_round(size)
        return size
