"""Conversion statistics (存量专利盘活): what institutions reported, per category.

Every ``ConversionReported`` counts once, so later reports never overwrite earlier ones
(as in the domain). Per category of the nine feedback categories, and per (institution,
category) and (region, category):
* ``reports`` — reports in that category;
* ``patents`` — distinct patents with at least one report in it (a patent co-owned by two
  institutions counts once per category and region, and once for each institution);
* ``amount_fen`` — the reported amounts summed (a report without an amount adds 0);
plus ``records`` (one row per institution and patent: region, latest category, report count)
and three private tables remembering which patents each group has already counted.
"""

from __future__ import annotations

from collections.abc import Mapping

from projections import events
from projections.feed import FeedEvent
from projections.model import Handler, ReadModel, existing_row
from projections.rows import Rows
from projections.schema import Row, Table, amount_sum, integer, text

_TOTALS = (integer("reports"), integer("patents"), amount_sum("amount_fen"))

BY_CATEGORY = Table("by_category", (text("category"), *_TOTALS), key=("category",))
BY_INSTITUTION = Table(
    "by_institution",
    (text("institution_uscc"), text("category"), *_TOTALS),
    key=("institution_uscc", "category"),
)
BY_REGION = Table(
    "by_region", (text("region_code"), text("category"), *_TOTALS), key=("region_code", "category")
)
RECORDS = Table(
    "records",
    (text("record_id"), text("institution_uscc"), text("patent_number"), text("region_code"),
     text("latest_category"), text("latest_occurred_on"), integer("reports")),
    key=("record_id",),
    indexes=(("institution_uscc",),),
)  # fmt: skip
RECORD_CATEGORIES = Table(
    "record_categories", (text("record_id"), text("category")), key=("record_id", "category")
)
CATEGORY_PATENTS = Table(
    "category_patents", (text("category"), text("patent_number")), key=("category", "patent_number")
)
REGION_PATENTS = Table(
    "region_patents",
    (text("region_code"), text("category"), text("patent_number")),
    key=("region_code", "category", "patent_number"),
)


class ConversionStatistics(ReadModel):
    name = "conversion_stats"
    tables = (
        BY_CATEGORY, BY_INSTITUTION, BY_REGION, RECORDS, RECORD_CATEGORIES, CATEGORY_PATENTS,
        REGION_PATENTS,
    )  # fmt: skip

    def handlers(self) -> Mapping[type, Handler]:
        return {events.CONVERSION_OPENED: _opened, events.CONVERSION_REPORTED: _reported}


def _opened(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    rows.put(
        "records",
        {"record_id": str(e.originator_id), "institution_uscc": event.institution_uscc,
         "patent_number": event.patent_number, "region_code": event.region_code,
         "latest_category": None, "latest_occurred_on": None, "reports": 0},
    )  # fmt: skip


def _reported(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    record = existing_row(e, rows, "records", str(e.originator_id), "record")
    category, number, region = event.category, record["patent_number"], record["region_code"]
    new_for = {
        "by_institution": _first(rows, "record_categories",
                                 {"record_id": record["record_id"], "category": category}),
        "by_category": _first(rows, "category_patents",
                              {"category": category, "patent_number": number}),
        "by_region": _first(rows, "region_patents",
                            {"region_code": region, "category": category, "patent_number": number}),
    }  # fmt: skip
    amount = event.amount_fen or 0
    for table, key in (
        ("by_category", {"category": category}),
        ("by_institution", {"institution_uscc": record["institution_uscc"], "category": category}),
        ("by_region", {"region_code": region, "category": category}),
    ):
        total: Row = rows.get(table, *key.values()) or {
            **key,
            "reports": 0,
            "patents": 0,
            "amount_fen": 0,
        }
        total["reports"] += 1
        total["patents"] += int(new_for[table])
        total["amount_fen"] += amount
        rows.put(table, total)
    record.update(
        latest_category=category,
        latest_occurred_on=event.occurred_on,
        reports=record["reports"] + 1,
    )
    rows.put("records", record)


def _first(rows: Rows, table: str, row: Row) -> bool:
    """Record ``row`` in a private set-table; True if it was not there yet."""
    if rows.get(table, *row.values()) is not None:
        return False
    rows.put(table, row)
    return True
