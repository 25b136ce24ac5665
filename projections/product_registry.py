"""Product registry: the current state of every filing, and which filing declares which patent.

Tables:
* ``products`` — one row per filing: filer (id, USCC, name, region), name, model, variants,
  category, status, data year and figures (integer fen), patents, open and resolved disputes,
  certification history, canonical key, reasons, when filed and last changed, the aggregate's
  version, and the version of the event that declared the current patents (so the dispute
  check can cite it with an inclusion proof).
* ``patents`` — (patent number, product) for the patents each filing currently declares.
* ``filers`` — filer id → USCC, name and region, to denormalize onto products.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.product import ProductStatus
from projections import events
from projections.feed import FeedEvent
from projections.model import Handler, ReadModel
from projections.rows import Rows
from projections.schema import Row, Table, integer, json_column, text

PRODUCTS = Table(
    "products",
    (
        text("product_id"), text("filer_id"), text("filer_uscc"), text("filer_name"),
        text("region_code"), text("name"), text("model"), json_column("variants"),
        text("category"), text("finer_code"), text("status"), integer("data_year"),
        integer("sales_fen"), integer("exports_fen"), integer("profit_fen"),
        integer("ip_spending_fen"), json_column("patents"), json_column("open_disputes"),
        json_column("resolved_disputes"), json_column("certifications"), text("canonical_key"),
        text("rejection_reason"), text("withdrawal_reason"), text("filed_at"),
        text("updated_at"), integer("version"), integer("patents_version"),
    ),
    key=("product_id",),
    indexes=(("filer_uscc",), ("status",), ("region_code",), ("canonical_key",)),
)  # fmt: skip
PATENTS = Table(
    "patents",
    (text("patent_number"), text("product_id"), text("filer_uscc"), integer("version")),
    key=("patent_number", "product_id"),
    indexes=(("product_id",),),
)
FILERS = Table(
    "filers",
    (text("filer_id"), text("uscc"), text("name"), text("region_code")),
    key=("filer_id",),
)


class ProductRegistry(ReadModel):
    name = "product_registry"
    tables = (PRODUCTS, PATENTS, FILERS)

    def handlers(self) -> Mapping[type, Handler]:
        return {
            events.FILER_REGISTERED: _filer_registered,
            events.PRODUCT_FILED: _filed,
            events.FILING_APPROVED: _approved,
            events.FILING_REJECTED: _rejected,
            events.PRODUCT_REVISED: _revised,
            events.PRODUCT_WITHDRAWN: _withdrawn,
            events.DISPUTE_RAISED: _dispute_raised,
            events.DISPUTE_RESOLVED: _dispute_resolved,
        }


def _filer_registered(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    rows.put(
        "filers",
        {"filer_id": str(e.originator_id), "uscc": event.uscc, "name": event.name,
         "region_code": event.region_code},
    )  # fmt: skip


def _filed(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    filer = rows.get("filers", str(event.filer_id)) or {}
    product: Row = {
        "product_id": str(e.originator_id),
        "filer_id": str(event.filer_id),
        "filer_uscc": event.filer_uscc,
        "filer_name": filer.get("name"),
        "region_code": filer.get("region_code"),
        "name": event.name,
        "model": event.model,
        "variants": list(event.variants),
        "category": event.category,
        "finer_code": event.finer_code,
        "status": ProductStatus.PENDING_REVIEW.value,
        "open_disputes": {},
        "resolved_disputes": {},
        "certifications": [],
        "canonical_key": event.canonical_key,
        "rejection_reason": None,
        "withdrawal_reason": None,
        "filed_at": e.stamped,
    }
    _declare(e, rows, product, event.data_year, event.figures, event.patents)
    _touch(e, rows, product)


def _declare(
    e: FeedEvent,
    rows: Rows,
    product: Row,
    data_year: int,
    figures: Mapping[str, int],
    patents: list[dict[str, Any]],
) -> None:
    """Data year, figures and patents of a filing or revision; re-index its patents."""
    for old in product.get("patents") or []:
        rows.delete("patents", old["number"], product["product_id"])
    product.update(
        data_year=data_year,
        sales_fen=figures["sales_fen"],
        exports_fen=figures["exports_fen"],
        profit_fen=figures["profit_fen"],
        ip_spending_fen=figures["ip_spending_fen"],
        patents=[dict(patent) for patent in patents],
        patents_version=e.version,
    )
    for patent in patents:
        rows.put(
            "patents",
            {"patent_number": patent["number"], "product_id": product["product_id"],
             "filer_uscc": product["filer_uscc"], "version": e.version},
        )  # fmt: skip


def _touch(e: FeedEvent, rows: Rows, product: Row) -> None:
    product["updated_at"] = e.stamped
    product["version"] = e.version
    rows.put("products", product)


def _product(e: FeedEvent, rows: Rows) -> Row:
    product = rows.get("products", str(e.originator_id))
    if product is None:  # the log is verified before this runs; a gap is a bug, say so
        raise LookupError(f"{e.topic} v{e.version} for unknown product {e.originator_id}")
    return product


def _approved(e: FeedEvent, rows: Rows) -> None:
    product = _product(e, rows)
    product.update(status=ProductStatus.APPROVED.value, rejection_reason=None)
    _touch(e, rows, product)


def _rejected(e: FeedEvent, rows: Rows) -> None:
    product = _product(e, rows)
    product.update(status=ProductStatus.REJECTED.value, rejection_reason=e.event.reason)
    _touch(e, rows, product)


def _revised(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    product = _product(e, rows)
    _declare(e, rows, product, event.data_year, event.figures, event.patents)
    product.update(status=ProductStatus.PENDING_REVIEW.value, rejection_reason=None)
    _touch(e, rows, product)


def _withdrawn(e: FeedEvent, rows: Rows) -> None:
    product = _product(e, rows)
    product.update(status=ProductStatus.WITHDRAWN.value, withdrawal_reason=e.event.reason)
    _touch(e, rows, product)


def _dispute_raised(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    product = _product(e, rows)
    product["open_disputes"] = {
        **product["open_disputes"],
        event.dispute_id: {
            "patent_numbers": list(event.patent_numbers),
            "claimant": event.claimant,
            "description": event.description,
            "raised_at": e.stamped,
            "raised_version": e.version,
        },
    }
    _touch(e, rows, product)


def _dispute_resolved(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    product = _product(e, rows)
    still_open = dict(product["open_disputes"])
    dispute = still_open.pop(event.dispute_id)
    product["open_disputes"] = still_open
    product["resolved_disputes"] = {
        **product["resolved_disputes"],
        event.dispute_id: {
            **dispute,
            "outcome": event.outcome,
            "note": event.note,
            "resolved_at": e.stamped,
            "resolved_version": e.version,
        },
    }
    _touch(e, rows, product)
