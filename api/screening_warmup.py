"""The near-duplicate screening index, read in as the service starts, on a thread of its own.

Why: screening compares a filing with every filing before it, so a process's first filing used
to read the whole store first (domain/screening_feed.py): 0.3 s at 10^4 events, 3.4 s at 10^5,
33.7 s at 10^6 (docs/benchmarks.md, the cost curve) — inside that filing's request. The service
now reads them as it starts; a filing that comes meanwhile waits for the rest of the read (no
longer than it would have waited alone), later ones pay only what was recorded since.

The read stops between pages when the service shuts down. A failure (the database away) is
logged and left: the first filing then catches up itself, as before.
"""

from __future__ import annotations

import logging
import threading
import time

from domain.application import PatentLedger

LOG = logging.getLogger("ppl.screening")
STOP_WAIT_SECONDS = 5.0  # a page (5,000 filings) is read, verified and indexed in well under that


class ScreeningWarmUp:
    """One thread that warms ``ledger``'s screening index once; ``stop`` ends it early."""

    def __init__(self, ledger: PatentLedger) -> None:
        self._ledger = ledger
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ppl-screening-warmup", daemon=True)
        self.seconds: float | None = None  # how long the read took, once done

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the read to stop after its current page; wait for it (at most a few seconds)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(STOP_WAIT_SECONDS)

    @property
    def done(self) -> bool:
        return self.seconds is not None

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            self._ledger.warm_screening(self._stop)
        except Exception:  # the service runs on; the first filing catches up itself
            LOG.warning("the screening index could not be read in at start-up", exc_info=True)
            return
        if not self._stop.is_set():
            self.seconds = time.perf_counter() - started
            LOG.info(
                "screening index read in: %d filings in %.1f s",
                self._ledger.screening_indexed,
                self.seconds,
            )
