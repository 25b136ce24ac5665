"""Filer registry: every filer with its review status and how many products it has, by status.

Tables:
* ``filers`` — one row per filer: USCC, name, kind, region, status, real-name verification,
  rejection reason, when registered and last changed, version, and product counts (filed in
  total; now pending review, approved, rejected, withdrawn).
* ``products`` — product id → filer and current status, to move the counts on each change.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.filer import FilerStatus
from domain.product import ProductStatus
from projections import events
from projections.feed import FeedEvent
from projections.model import Handler, ReadModel, existing_row, when_returned_to_review
from projections.rows import Rows
from projections.schema import Row, Table, integer, text

_COUNT_COLUMN = {
    ProductStatus.PENDING_REVIEW.value: "products_pending",
    ProductStatus.APPROVED.value: "products_approved",
    ProductStatus.REJECTED.value: "products_rejected",
    ProductStatus.WITHDRAWN.value: "products_withdrawn",
}

FILERS = Table(
    "filers",
    (
        text("filer_id"), text("uscc"), text("name"), text("kind"), text("region_code"),
        text("status"), integer("real_name_verified"), text("rejection_reason"),
        text("registered_at"), text("updated_at"), integer("version"),
        integer("products_filed"), integer("products_pending"), integer("products_approved"),
        integer("products_rejected"), integer("products_withdrawn"),
    ),
    key=("filer_id",),
    indexes=(("uscc",), ("region_code",), ("status",)),
)  # fmt: skip
PRODUCTS = Table(
    "products", (text("product_id"), text("filer_id"), text("status")), key=("product_id",)
)


class FilerRegistry(ReadModel):
    name = "filer_registry"
    tables = (FILERS, PRODUCTS)

    def handlers(self) -> Mapping[type, Handler]:
        return {
            events.FILER_REGISTERED: _registered,
            events.FILER_REAL_NAME_VERIFIED: _verified,
            events.FILER_APPROVED: _approved,
            events.FILER_REJECTED: _rejected,
            events.FILER_RESUBMITTED: _resubmitted,
            events.FILER_MOVE_CONFIRMED: _move_confirmed,
            events.PRODUCT_FILED: _product_filed,
            events.FILING_APPROVED: _product_status(ProductStatus.APPROVED),
            events.FILING_REJECTED: _product_status(ProductStatus.REJECTED),
            events.PRODUCT_REVISED: _product_status(ProductStatus.PENDING_REVIEW),
            events.PRODUCT_WITHDRAWN: _product_status(ProductStatus.WITHDRAWN),
            events.DISPUTE_RESOLVED: when_returned_to_review(
                _product_status(ProductStatus.PENDING_REVIEW)
            ),
        }


def _registered(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    filer: Row = {
        "filer_id": str(e.originator_id),
        "uscc": event.uscc,
        "name": event.name,
        "kind": event.kind,
        "region_code": event.region_code,
        "status": FilerStatus.PENDING_REVIEW.value,
        "real_name_verified": 0,
        "rejection_reason": None,
        "registered_at": e.stamped,
        "products_filed": 0,
        **dict.fromkeys(_COUNT_COLUMN.values(), 0),
    }
    _touch(e, rows, filer)


def _touch(e: FeedEvent, rows: Rows, filer: Row) -> None:
    filer["updated_at"] = e.stamped
    filer["version"] = e.version
    rows.put("filers", filer)


def _filer(rows: Rows, filer_id: str, e: FeedEvent) -> Row:
    return existing_row(e, rows, "filers", filer_id, "filer")


def _verified(e: FeedEvent, rows: Rows) -> None:
    filer = _filer(rows, str(e.originator_id), e)
    filer["real_name_verified"] = 1
    _touch(e, rows, filer)


def _approved(e: FeedEvent, rows: Rows) -> None:
    filer = _filer(rows, str(e.originator_id), e)
    filer.update(status=FilerStatus.APPROVED.value, rejection_reason=None)
    _touch(e, rows, filer)


def _rejected(e: FeedEvent, rows: Rows) -> None:
    filer = _filer(rows, str(e.originator_id), e)
    filer.update(status=FilerStatus.REJECTED.value, rejection_reason=e.event.reason)
    _touch(e, rows, filer)


def _resubmitted(e: FeedEvent, rows: Rows) -> None:
    """Back to review, with the corrections (annex rule v1) the resubmission carries."""
    filer = _filer(rows, str(e.originator_id), e)
    filer["status"] = FilerStatus.PENDING_REVIEW.value
    for name in ("name", "kind", "region_code"):
        value = getattr(e.event, name)
        if value is not None:
            filer[name] = value
    _touch(e, rows, filer)


def _move_confirmed(e: FeedEvent, rows: Rows) -> None:
    """A reviewer confirmed the filer's move (annex rule v1): its version moves."""
    _touch(e, rows, _filer(rows, str(e.originator_id), e))


def _product_filed(e: FeedEvent, rows: Rows) -> None:
    filer_id = str(e.event.filer_id)
    filer = _filer(rows, filer_id, e)
    status = ProductStatus.PENDING_REVIEW.value
    rows.put(
        "products", {"product_id": str(e.originator_id), "filer_id": filer_id, "status": status}
    )
    filer["products_filed"] += 1
    filer[_COUNT_COLUMN[status]] += 1
    rows.put("filers", filer)  # counts only: the filer's own version and times do not move


def _product_status(status: ProductStatus) -> Handler:
    def handle(e: FeedEvent, rows: Rows) -> None:
        product = existing_row(e, rows, "products", str(e.originator_id), "product")
        filer = _filer(rows, product["filer_id"], e)
        filer[_COUNT_COLUMN[product["status"]]] -= 1
        filer[_COUNT_COLUMN[status.value]] += 1
        product["status"] = status.value
        rows.put("products", product)
        rows.put("filers", filer)

    return handle
