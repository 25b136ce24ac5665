"""Monthly publication of the regional statistics: ``ppl stats publish`` and the service's
schedule (``PPL_STATS_PUBLISH``, monthly by default).

A publication is computed from the read models caught up to the store's head
(projections.publication, with the disclosure rules of the settings) and recorded as one
signed event (domain.statistics_publication). Period ``YYYY-MM`` is the month it covers: the
schedule publishes the month just ended (Beijing time) at its first round in the next month.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

from api.bootstrap import SignedPatentLedger, open_projection_runner
from domain.actor import SYSTEM, Actor
from domain.errors import NotFoundError, StatisticsAlreadyPublishedError
from domain.values import BEIJING
from projections.background import BackgroundLoop
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


class StatisticsPublisher(BackgroundLoop[str | None]):
    """The service's schedule: publishes the month just ended once, when it is due;
    ``run_once`` returns the period published, or None."""

    thread_name = "ppl-stats-publisher"
    activity = "statistics publication"

    def __init__(
        self, ledger: SignedPatentLedger, store: ProjectionStore, rules: Rules,
        interval: float = SCHEDULE_SECONDS,
    ) -> None:  # fmt: skip
        super().__init__(interval, None, logger)
        self.ledger, self.store, self.rules = ledger, store, rules

    def round(self) -> str | None:
        return self.publish_due(datetime.now(UTC))

    def publish_due(self, now: datetime) -> str | None:
        """Publish the period due at ``now`` if it is not yet; returns it, or None."""
        period = previous_period(now)
        if is_published(self.ledger, period):
            return None
        try:
            publish_period(self.ledger, self.store, period, self.rules)
        except StatisticsAlreadyPublishedError:  # another instance was first
            return None
        logger.info("published the statistics of %s", period)
        return period
