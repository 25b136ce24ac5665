"""Regional statistics (备案单位 and 备案产品 per district), as the published tables count them.

Definitions (docs/projections.md), per region code of the filer (a district, after the legacy
code mapping done at registration):
* ``filers``   — filers whose registration is approved (备案单位);
* ``products`` — filings that are approved and not withdrawn (备案产品, successfully filed);
* ``pending`` / ``rejected`` — filings now pending review / rejected;
* figures (sales, exports) — per data year, over the filings with **approved figures for that
  year** and not withdrawn: a filing approved for 2022 keeps its 2022 figures in the 2022
  statistics when it is revised to 2023, whether the update is under review, approved or
  rejected (``figures``); and, for the default view, each such filing counted once, with its
  **latest approved** figures, under that figures' data year (``latest_figures``), so a report
  says which data year(s) its figures come from and never presents a mix as one year.

Tables: ``regions`` (the counts), ``figures`` and ``latest_figures`` (region, data year →
filings, sales, exports in fen), and private ones that remember each filer's region and status
and each filing's region, status, current figures and approved figures per year, so every
change moves exactly the counts it must.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.filer import FilerStatus
from domain.product import ProductStatus
from projections import events
from projections.feed import FeedEvent
from projections.model import Handler, ReadModel, existing_row, when_returned_to_review
from projections.rows import Rows
from projections.schema import Row, Table, amount_sum, integer, json_column, text

REGIONS = Table(
    "regions",
    (text("region_code"), integer("filers"), integer("products"), integer("pending"),
     integer("rejected"), integer("withdrawn")),
    key=("region_code",),
)  # fmt: skip


def _figures_table(name: str) -> Table:
    """``figures`` (each year a filing's figures were approved for) and ``latest_figures``
    (each filing's latest approved year only) count the same things per region and data
    year: filings, sales, exports. One declaration, so the two cannot drift apart."""
    return Table(
        name,
        (text("region_code"), integer("data_year"), integer("products"),
         amount_sum("sales_fen"), amount_sum("exports_fen")),
        key=("region_code", "data_year"),
    )  # fmt: skip


FIGURES = _figures_table("figures")
LATEST_FIGURES = _figures_table("latest_figures")
FILER_REGIONS = Table(
    "filer_regions", (text("filer_id"), text("region_code"), text("status")), key=("filer_id",)
)
PRODUCT_STATES = Table(
    "product_states",
    (text("product_id"), text("region_code"), text("status"), integer("data_year"),
     integer("sales_fen"), integer("exports_fen"), json_column("approved")),
    key=("product_id",),
)  # fmt: skip

_REGION_COUNT = {
    ProductStatus.APPROVED.value: "products",
    ProductStatus.PENDING_REVIEW.value: "pending",
    ProductStatus.REJECTED.value: "rejected",
    ProductStatus.WITHDRAWN.value: "withdrawn",
}


class RegionalStatistics(ReadModel):
    name = "regional_stats"
    tables = (REGIONS, FIGURES, LATEST_FIGURES, FILER_REGIONS, PRODUCT_STATES)

    def handlers(self) -> Mapping[type, Handler]:
        return {
            events.FILER_REGISTERED: _filer_registered,
            events.FILER_APPROVED: _filer_status(FilerStatus.APPROVED),
            events.FILER_REJECTED: _filer_status(FilerStatus.REJECTED),
            events.FILER_RESUBMITTED: _filer_resubmitted,
            events.PRODUCT_FILED: _product_filed,
            events.FILING_APPROVED: _product_status(ProductStatus.APPROVED),
            events.FILING_REJECTED: _product_status(ProductStatus.REJECTED),
            events.PRODUCT_REVISED: _product_revised,
            events.PRODUCT_WITHDRAWN: _product_status(ProductStatus.WITHDRAWN),
            events.DISPUTE_RESOLVED: when_returned_to_review(
                _product_status(ProductStatus.PENDING_REVIEW)
            ),
        }


def _region(rows: Rows, code: str) -> Row:
    return rows.get("regions", code) or {
        "region_code": code, "filers": 0, "products": 0, "pending": 0, "rejected": 0,
        "withdrawn": 0,
    }  # fmt: skip


def _filer_registered(e: FeedEvent, rows: Rows) -> None:
    code = e.event.region_code
    rows.put(
        "filer_regions",
        {"filer_id": str(e.originator_id), "region_code": code,
         "status": FilerStatus.PENDING_REVIEW.value},
    )  # fmt: skip
    rows.put("regions", _region(rows, code))  # the region exists from its first registration


def _filer_resubmitted(e: FeedEvent, rows: Rows) -> None:
    """Back to review; a corrected region (annex rule v1) moves the filer. A resubmitting
    filer was rejected and never approved (approval is final), so it counts in no region's
    ``filers`` and has no filings: only its region changes."""
    code = e.event.region_code
    filer = rows.get("filer_regions", str(e.originator_id))
    if code is not None and filer is not None and filer["region_code"] != code:
        if filer["status"] == FilerStatus.APPROVED.value:
            raise LookupError(f"{e.topic} v{e.version}: an approved filer resubmitted")
        filer["region_code"] = code
        rows.put("filer_regions", filer)
        rows.put("regions", _region(rows, code))
    _filer_status(FilerStatus.PENDING_REVIEW)(e, rows)


def _filer_status(status: FilerStatus) -> Handler:
    def handle(e: FeedEvent, rows: Rows) -> None:
        filer = existing_row(e, rows, "filer_regions", str(e.originator_id), "filer")
        was_approved = filer["status"] == FilerStatus.APPROVED.value
        filer["status"] = status.value
        rows.put("filer_regions", filer)
        change = (status is FilerStatus.APPROVED) - was_approved
        if change:
            region = _region(rows, filer["region_code"])
            region["filers"] += change
            rows.put("regions", region)

    return handle


def _product_filed(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    filer = existing_row(e, rows, "filer_regions", str(event.filer_id), "filer")
    product: Row = {
        "product_id": str(e.originator_id),
        "region_code": filer["region_code"],
        "status": ProductStatus.PENDING_REVIEW.value,
        "data_year": event.data_year,
        "sales_fen": event.figures["sales_fen"],
        "exports_fen": event.figures["exports_fen"],
        "approved": {},  # data year (text) -> [sales_fen, exports_fen] approved for it
    }
    region = _region(rows, product["region_code"])
    region["pending"] += 1
    rows.put("regions", region)
    rows.put("product_states", product)


def _product(e: FeedEvent, rows: Rows) -> Row:
    return existing_row(e, rows, "product_states", str(e.originator_id), "product")


def _move(rows: Rows, product: Row, status: str) -> None:
    """Move a product's counts; an approval records its figures for their data year, a
    withdrawal takes every year's figures of the filing out."""
    region = _region(rows, product["region_code"])
    region[_REGION_COUNT[product["status"]]] -= 1
    region[_REGION_COUNT[status]] += 1
    rows.put("regions", region)
    if status == ProductStatus.APPROVED.value:
        _approve_figures(rows, product)
    elif status == ProductStatus.WITHDRAWN.value:
        _withdraw_figures(rows, product)
    product["status"] = status
    rows.put("product_states", product)


def _approve_figures(rows: Rows, product: Row) -> None:
    """The filing's figures of its data year are approved: count them for that year, and as
    its latest approved figures (in place of those of an older year)."""
    region_code, approved = product["region_code"], product["approved"]
    year = product["data_year"]
    figures = (product["sales_fen"], product["exports_fen"])
    _set_latest(rows, region_code, approved, -1)
    previous = approved.get(str(year))
    if previous is not None:  # approved again for the same year: replace, never add twice
        _add(rows, "figures", region_code, year, tuple(previous), -1)
    approved[str(year)] = list(figures)
    _add(rows, "figures", region_code, year, figures, +1)
    _set_latest(rows, region_code, approved, +1)


def _withdraw_figures(rows: Rows, product: Row) -> None:
    """A withdrawn filing is no filed product: none of its years' figures count any more."""
    region_code, approved = product["region_code"], product["approved"]
    _set_latest(rows, region_code, approved, -1)
    for year, figures in approved.items():
        _add(rows, "figures", region_code, int(year), tuple(figures), -1)
    product["approved"] = {}


def _set_latest(rows: Rows, region_code: str, approved: Row, sign: int) -> None:
    """Count (``+1``) or uncount (``-1``) the filing once in ``latest_figures``, under its
    latest approved year (nothing when it has none)."""
    if approved:
        year = max(approved, key=int)
        _add(rows, "latest_figures", region_code, int(year), tuple(approved[year]), sign)


def _add(
    rows: Rows, table: str, region_code: str, year: int, figures: tuple[int, ...], sign: int
) -> None:
    found = rows.get(table, region_code, year) or {
        "region_code": region_code, "data_year": year, "products": 0, "sales_fen": 0,
        "exports_fen": 0,
    }  # fmt: skip
    found["products"] += sign
    found["sales_fen"] += sign * figures[0]
    found["exports_fen"] += sign * figures[1]
    if found["products"] == 0:
        rows.delete(table, region_code, year)
    else:
        rows.put(table, found)


def _product_status(status: ProductStatus) -> Handler:
    def handle(e: FeedEvent, rows: Rows) -> None:
        _move(rows, _product(e, rows), status.value)

    return handle


def _product_revised(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    product = _product(e, rows)
    _move(rows, product, ProductStatus.PENDING_REVIEW.value)  # leaves approval first
    product.update(
        data_year=event.data_year,
        sales_fen=event.figures["sales_fen"],
        exports_fen=event.figures["exports_fen"],
    )
    rows.put("product_states", product)
