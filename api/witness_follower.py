"""Asks the witnesses to cosign each new checkpoint, in a loop of its own.

Runs as a daemon thread inside ``ppl serve`` (or ``ppl log follow``) whenever the witness
policy names witnesses with URLs. Its own loop, not the sequencer's: a witness that times out
must never hold back sequencing. The log follower nudges it after every round that signed a
new checkpoint, so a cosignature is asked for at once rather than on the next tick; each
witness's back-off after failures is in audit.log.witnessing.
"""

from __future__ import annotations

import logging
import threading

from audit.log.witnessing import Outcome, Witnessing
from projections.background import BackgroundLoop

logger = logging.getLogger("ppl.witness_follower")


class WitnessFollower(BackgroundLoop[list[Outcome]]):
    """Calls ``witnessing.round()`` every ``interval`` seconds, or at once when nudged."""

    thread_name = "ppl-witness-follower"
    activity = "witnessing"

    def __init__(self, witnessing: Witnessing, interval: float) -> None:
        super().__init__(interval, [], logger)
        self.witnessing = witnessing
        self._nudged = threading.Event()

    def nudge(self, _size: int = 0) -> None:
        """A new checkpoint may be there: run the next round now."""
        self._nudged.set()

    def round(self) -> list[Outcome]:
        return self.witnessing.round()

    def wait(self) -> None:
        self._nudged.wait(self.interval)
        self._nudged.clear()

    def on_stop(self) -> None:
        self._nudged.set()
