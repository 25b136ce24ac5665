"""Published statistics: each monthly publication's cells and counts, as signed in its event.

Tables: ``publications`` (period → tree size, rules, when published and the event's
notification id), ``cells`` (period, level, region, data year → filers, filings, sales and
exports as digit strings or null, suppression) and ``counts`` (period, level, region →
filers, products, pending, rejected, withdrawn). What anonymous callers and filers read of
the statistics (docs/statistics.md): these rows never change once written.
"""

from __future__ import annotations

from collections.abc import Mapping

from projections import events
from projections.feed import FeedEvent
from projections.model import Handler, ReadModel
from projections.rows import Rows
from projections.schema import Table, integer, json_column, text

PUBLICATIONS = Table(
    "publications",
    (text("period"), integer("tree_size"), json_column("rules"), text("published_at"),
     integer("notification_id")),
    key=("period",),
)  # fmt: skip
CELLS = Table(
    "cells",
    (text("period"), text("level"), text("region_code"), integer("data_year"),
     integer("filers"), integer("filings"), text("sales_fen"), text("exports_fen"),
     text("suppressed")),
    key=("period", "level", "region_code", "data_year"),
)  # fmt: skip
COUNTS = Table(
    "counts",
    (text("period"), text("level"), text("region_code"), integer("filers"), integer("products"),
     integer("pending"), integer("rejected"), integer("withdrawn")),
    key=("period", "level", "region_code"),
)  # fmt: skip


class PublishedStatistics(ReadModel):
    name = "published_stats"
    tables = (PUBLICATIONS, CELLS, COUNTS)

    def handlers(self) -> Mapping[type, Handler]:
        return {events.STATISTICS_PUBLISHED: _published}


def _published(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    period = event.period
    rows.put(
        "publications",
        {"period": period, "tree_size": event.tree_size, "rules": dict(event.rules),
         "published_at": e.stamped, "notification_id": e.notification_id},
    )  # fmt: skip
    for cell in event.cells:
        rows.put("cells", {"period": period, **cell})
    for count in event.counts:
        rows.put("counts", {"period": period, **count})
