"""Monthly publication of the regional statistics: ``ppl stats publish`` and the service's
schedule (``PPL_STATS_PUBLISH``, monthly by default).

A publication is computed from the read models caught up to the store's head
(projections.publication, with the disclosure rules of the settings) and recorded as one
signed event (domain.statistics_publication). Period ``YYYY-MM`` is the month it covers: the
schedule publishes the month just ended (Beijing time) at its first round in the next month.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

from api.bootstrap import SignedPatentLedger, open_projection_runner
from domain.actor import SYSTEM, Actor
from domain.errors import NotFoundError, StatisticsAlreadyPublishedError
from domain.values import BEIJING
from projections.disclosure import Rules
from projections.product_registry import ProductRegistry
from projections.publication import publication_tables
from projections.published_stats import PublishedStatistics
from projections.regional_stats import RegionalStatistics
from projections.store import ProjectionStore

logger = logging.getLogger(__name__)

SCHEDULE_SECONDS: Final = 3600.0  # how often the service checks whether a month is due
_SOURCES: Final = (RegionalStatistics.name, ProductRegistry.name, PublishedStatistics.name)


def previous_period(now: datetime) -> str:
    """The month that ended last, in Beijing time: ``YYYY-MM``."""
    local = now.astimezone(BEIJING)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def publish_period(
    ledger: SignedPatentLedger,
    store: ProjectionStore,
    period: str,
    rules: Rules,
    actor: Actor = SYSTEM,
) -> UUID:
    """Catch the read models up, compute the disclosure-controlled tables, record them."""
    runner = open_projection_runner(ledger, store, _SOURCES)
    runner.catch_up()
    positions = runner.positions()
    applied = {positions[name].notification_id for name in _SOURCES[:2]}
    if len(applied) != 1:
        raise RuntimeError(f"read models at different events {sorted(applied)}: retry")
    counts, cells = publication_tables(store, rules)
    return ledger.publish_statistics(
        actor,
        period=period,
        tree_size=positions[RegionalStatistics.name].events,
        rules={"min_filers": rules.min_filers, "dominance_bp": rules.dominance_bp},
        counts=counts,
        cells=cells,
    )


def is_published(ledger: SignedPatentLedger, period: str) -> bool:
    try:
        ledger.get_publication(period)
    except NotFoundError:
        return False
    return True


class StatisticsPublisher:
    """The service's schedule: publishes the month just ended once, when it is due."""

    def __init__(
        self, ledger: SignedPatentLedger, store: ProjectionStore, rules: Rules,
        interval: float = SCHEDULE_SECONDS,
    ) -> None:  # fmt: skip
        self.ledger, self.store, self.rules, self.interval = ledger, store, rules, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: datetime | None = None) -> str | None:
        """Publish the due period if it is not yet; returns it, or None if nothing was due."""
        period = previous_period(now or datetime.now(UTC))
        if is_published(self.ledger, period):
            return None
        try:
            publish_period(self.ledger, self.store, period, self.rules)
        except StatisticsAlreadyPublishedError:  # another instance was first
            return None
        logger.info("published the statistics of %s", period)
        return period

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                logger.exception("statistics publication failed; retrying in %.0f s", self.interval)
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="ppl-stats-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
