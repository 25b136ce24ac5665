"""A monthly publication of the regional statistics (按月向地方公布), signed like every event.

Why an event: what the public reads of the statistics must not move between publications
(reading, waiting for an approval and reading again gave that filing's figures; issue #15), and
any published figure must be provable later. So a publication is one event carrying its
disclosure-controlled cells (projections.disclosure: money per region and data year), the
counts per region (filers and filings by status: public, never suppressed), the rules applied,
and the log size it
was computed at (``tree_size``: anyone can recompute it from that prefix of the log). One
aggregate per period (uuid5 of ``YYYY-MM``): a period is published once.

Money figures are decimal digit strings (a sum of amounts may pass 64 bits), or null where
the cell is suppressed.
"""

from __future__ import annotations

import re
from typing import Any, Final
from uuid import UUID

from eventsourcing.domain import event

from domain.base import LedgerAggregate, derived_id

PUBLICATION_NAMESPACE: Final = UUID("6f1d2c3b-9a8e-5d47-b0c1-2e3f4a5b6c7d")
PERIOD: Final = re.compile(r"(20[2-9][0-9])-(0[1-9]|1[0-2])")


def publication_id_for(period: str) -> UUID:
    return derived_id(PUBLICATION_NAMESPACE, period)


class StatisticsPublication(LedgerAggregate):
    """The statistics published for one period."""

    @staticmethod
    def create_id(period: str, **_: Any) -> UUID:
        return publication_id_for(period)

    @event("StatisticsPublished")
    def __init__(
        self,
        period: str,
        tree_size: int,
        rules: dict[str, int],
        counts: list[dict[str, Any]],
        cells: list[dict[str, Any]],
        actor: dict[str, Any],
    ) -> None:
        self.period = period
        self.tree_size = tree_size
        self.rules = dict(rules)
        self.counts = [dict(count) for count in counts]
        self.cells = [dict(cell) for cell in cells]
