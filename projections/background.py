"""One background loop: a daemon thread that runs a round, waits, and runs again until stopped.

Why one: the service runs three such loops — the Merkle log's sequencer (api.log_follower),
the read models' follower (projections.follower) and the monthly statistics publisher
(api.publishing) — and each had its own copy of the thread, the stop event and the rule that
a failing round (a database outage) is logged and retried, never the end of the loop.
Subclasses give ``round`` and, where they wait otherwise than ``interval`` seconds, ``wait``.
"""

from __future__ import annotations

import logging
import threading
from typing import Generic, TypeVar

R = TypeVar("R")


class BackgroundLoop(Generic[R]):
    """Runs ``round`` every ``interval`` seconds in a daemon thread until ``stop``."""

    thread_name = "ppl-background"
    activity = "background round"  # in the log line of a failed round: "<activity> failed"

    def __init__(self, interval: float, failed: R, logger: logging.Logger) -> None:
        self.interval = interval
        self.failures = 0
        self._failed = failed
        self._logger = logger
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def round(self) -> R:
        """One round of work; raises to be counted as failed and retried."""
        raise NotImplementedError

    def run_once(self) -> R:
        """One round; a failure is logged and counted, and gives the loop's ``failed`` value."""
        try:
            return self.round()
        except Exception:
            self.failures += 1
            self._logger.exception("%s failed; retrying in %.2f s", self.activity, self.interval)
            return self._failed

    def wait(self) -> None:
        """Between rounds: ``interval`` seconds, or until stopped."""
        self._stop.wait(self.interval)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self.wait()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.on_stop()
        if self._thread is not None:
            self._thread.join(timeout)

    def on_stop(self) -> None:
        """Wake whatever the loop waits on (called before joining the thread)."""
