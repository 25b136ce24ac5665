"""Product registry: the current state of every filing, and which filing declares which patent.

Tables:
* ``products`` — one row per filing: filer (id, USCC, name, region), name, model, variants,
  category, status, data year and figures (integer fen), patents, open and resolved disputes,
  certification history, canonical key, reasons, when filed and last changed, the aggregate's
  version, and the version of the event that declared the current patents (so the dispute
  check can cite it with an inclusion proof).
  ``approved_version`` is the filing as last approved (data year, figures, patents, the
  approval's version and time; null until approved), and ``listed_status`` is ``approved``
  while the public registry lists the filing: approved, or approved before and its annual
  update under review (the public then sees the approved version, flagged); else null.
  ``filing_number`` is the product's filing number (备案号, docs/filing-numbers.md; null until
  assigned), public and unique; ``name_folded``, ``model_folded`` and ``filer_name_folded``
  are the name, model and filer name case-folded, for the registry's text search
  (``queries.products``, ``q``).
* ``patents`` — (patent number, product) for the patents each filing currently declares.
* ``filers`` — filer id → USCC, name and region, to denormalize onto products.
* ``certification_links`` — the id of a round, a decision (``ProductCertification``) or an
  objection → its round year and product: the events that follow a decision name only their
  own aggregate, and this finds the product row they belong to.

``certifications`` holds one entry per round that decided the product, in year order::

    {"year": 2023, "data_year": 2022,
     "status": "certified" | "not_certified" | "not_eligible" | "revoked",
     "reasons": [{"reason": code, "detail": sentence}],        # not_eligible: every rule failed
     "benchmark_table_id": id, "benchmark_version": 1,          # null when not_eligible
     "certification_id": id, "version": 1, "notification_id": N,  # the decision event
     "decided_at": time, "product_version": 3,                  # the filing version it read
     "published": false, "published_at": null,                  # on the round's certified list
     "revocation_reason": null, "revoked_by_objection": null,   # an upheld objection's id
     "revoked_version": null, "revoked_notification_id": null, "revoked_at": null,
     "objections": [{"objection_id", "status": "open" | "dismissed" | "upheld", "reason",
                     "objector_role", "filed_at", "version", "notification_id",
                     "decision_reason", "decided_at", "decided_version"}]}

The status is the last of the decision and the revocation (docs/certification.md). The
certification history does not move the filing's ``version`` or ``updated_at``: those describe
the filing (its ETag), which certification does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from domain.certification import CertificationStatus
from domain.objection import ObjectionStatus
from domain.product import ProductStatus
from projections import events
from projections.feed import FeedEvent
from projections.model import Handler, ReadModel, existing_row
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
        json_column("approved_version"), text("listed_status"), text("filing_number"),
        text("name_folded"), text("model_folded"), text("filer_name_folded"),
    ),
    key=("product_id",),
    indexes=(("filer_uscc",), ("status",), ("listed_status",), ("region_code",),
             ("canonical_key",), ("filing_number",)),
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
CERTIFICATION_LINKS = Table(
    "certification_links",
    (text("aggregate_id"), integer("round_year"), text("product_id")),
    key=("aggregate_id",),
)


class ProductRegistry(ReadModel):
    name = "product_registry"
    tables = (PRODUCTS, PATENTS, FILERS, CERTIFICATION_LINKS)

    def handlers(self) -> Mapping[type, Handler]:
        return {
            events.FILER_REGISTERED: _filer_registered,
            events.FILER_RESUBMITTED: _filer_resubmitted,
            events.PRODUCT_FILED: _filed,
            events.FILING_APPROVED: _approved,
            events.FILING_REJECTED: _rejected,
            events.PRODUCT_REVISED: _revised,
            events.PRODUCT_WITHDRAWN: _withdrawn,
            events.DISPUTE_RAISED: _dispute_raised,
            events.DISPUTE_RESOLVED: _dispute_resolved,
            events.DISPUTE_ACCEPTED: _dispute_accepted,
            events.FILING_NUMBER_ASSIGNED: _numbered,
            events.ROUND_OPENED: _round_opened,
            events.CERTIFIED: _decided(CertificationStatus.CERTIFIED),
            events.NOT_CERTIFIED: _decided(CertificationStatus.NOT_CERTIFIED),
            events.NOT_ELIGIBLE: _decided(CertificationStatus.NOT_ELIGIBLE),
            events.CERTIFIED_LIST_PUBLISHED: _published,
            events.CERTIFICATION_REVOKED: _revoked,
            events.OBJECTION_FILED: _objection_filed,
            events.OBJECTION_DISMISSED: _objection_decided(ObjectionStatus.DISMISSED),
            events.OBJECTION_UPHELD: _objection_decided(ObjectionStatus.UPHELD),
        }


def _filer_registered(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    rows.put(
        "filers",
        {"filer_id": str(e.originator_id), "uscc": event.uscc, "name": event.name,
         "region_code": event.region_code},
    )  # fmt: skip


def _filer_resubmitted(e: FeedEvent, rows: Rows) -> None:
    """A corrected name or region (annex rule v1), for the filings the filer makes later."""
    filer = existing_row(e, rows, "filers", str(e.originator_id), "filer")
    for name in ("name", "region_code"):
        value = getattr(e.event, name)
        if value is not None:
            filer[name] = value
    rows.put("filers", filer)


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
        "approved_version": None,
        "listed_status": None,
        "filing_number": None,
        "name_folded": fold(event.name),
        "model_folded": fold(event.model),
        "filer_name_folded": fold(filer.get("name") or ""),
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
    return existing_row(e, rows, "products", str(e.originator_id), "product")


_APPROVED_FIELDS = (
    "data_year", "sales_fen", "exports_fen", "profit_fen", "ip_spending_fen", "patents",
)  # fmt: skip


def _approved(e: FeedEvent, rows: Rows) -> None:
    product = _product(e, rows)
    product.update(
        status=ProductStatus.APPROVED.value,
        rejection_reason=None,
        approved_version={
            **{name: product[name] for name in _APPROVED_FIELDS},
            "version": e.version,
            "approved_at": e.stamped,
        },
        listed_status=ProductStatus.APPROVED.value,
    )
    _touch(e, rows, product)


def _numbered(e: FeedEvent, rows: Rows) -> None:
    """The product's filing number (备案号): assigned once, never changed."""
    product = _product(e, rows)
    product["filing_number"] = e.event.filing_number
    _touch(e, rows, product)


def fold(text: str) -> str:
    """Text as the registry search compares it: case-folded (``str.casefold``), so ``q``
    matches whatever case either side is in, the same on SQLite and PostgreSQL (neither's
    ``lower`` folds every script the same way)."""
    return text.casefold()


def _rejected(e: FeedEvent, rows: Rows) -> None:
    product = _product(e, rows)
    product.update(
        status=ProductStatus.REJECTED.value, rejection_reason=e.event.reason, listed_status=None
    )
    _touch(e, rows, product)


def _revised(e: FeedEvent, rows: Rows) -> None:
    """An annual update: back to review; an approved version stays listed, flagged."""
    event = e.event
    product = _product(e, rows)
    _declare(e, rows, product, event.data_year, event.figures, event.patents)
    if event.category is not None:  # classified by the revision (annex rule v1)
        product.update(category=event.category, finer_code=event.finer_code)
    listed = ProductStatus.APPROVED.value if product["approved_version"] else None
    product.update(
        status=ProductStatus.PENDING_REVIEW.value, rejection_reason=None, listed_status=listed
    )
    _touch(e, rows, product)


def _withdrawn(e: FeedEvent, rows: Rows) -> None:
    product = _product(e, rows)
    product.update(
        status=ProductStatus.WITHDRAWN.value,
        withdrawal_reason=e.event.reason,
        listed_status=None,
    )
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
            "accepted": bool(event.accepted),  # blocks approval and certification (rule v1)
            "evidence_digests": list(event.evidence_digests),
        },
    }
    _touch(e, rows, product)


def _dispute_accepted(e: FeedEvent, rows: Rows) -> None:
    """A reviewer accepted a claim for examination: from now on it blocks."""
    product = _product(e, rows)
    disputes = dict(product["open_disputes"])
    disputes[e.event.dispute_id] = {
        **disputes[e.event.dispute_id], "accepted": True, "accepted_version": e.version,
    }  # fmt: skip
    product["open_disputes"] = disputes
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
            "removed_patents": list(event.removed_patents),
        },
    }
    if event.returned_to_review:  # no valid patent left: the approval no longer stands
        product.update(status=ProductStatus.PENDING_REVIEW.value, listed_status=None)
    _touch(e, rows, product)


# --- certification history ----------------------------------------------------------------------
def _link(rows: Rows, aggregate_id: str, round_year: int, product_id: str | None) -> None:
    rows.put(
        "certification_links",
        {"aggregate_id": aggregate_id, "round_year": round_year, "product_id": product_id},
    )


def _linked(e: FeedEvent, rows: Rows) -> Row:
    return existing_row(e, rows, "certification_links", str(e.originator_id), "aggregate")


def _with_entry(
    e: FeedEvent, rows: Rows, product_id: str, year: int, change: Callable[[Row], Row]
) -> None:
    """Replace the product's certification entry of round ``year`` by ``change(entry)``."""
    product = existing_row(e, rows, "products", product_id, "product")
    product["certifications"] = [
        change(dict(entry)) if entry["year"] == year else entry
        for entry in product["certifications"]
    ]
    rows.put("products", product)


def _round_opened(e: FeedEvent, rows: Rows) -> None:
    _link(rows, str(e.originator_id), e.event.year, None)


def _decided(status: CertificationStatus) -> Handler:
    def handler(e: FeedEvent, rows: Rows) -> None:
        event = e.event
        product_id, year = str(event.product_id), event.round_year
        product = existing_row(e, rows, "products", product_id, "product")
        entry: Row = {
            "year": year,
            "data_year": event.data_year,
            "status": status.value,
            "reasons": [dict(reason) for reason in getattr(event, "reasons", ())],
            "benchmark_table_id": getattr(event, "benchmark_table_id", None),
            "benchmark_version": getattr(event, "benchmark_version", None),
            "certification_id": str(e.originator_id),
            "version": e.version,
            "notification_id": e.notification_id,
            "decided_at": e.stamped,
            "product_version": event.product_version,
            "published": False,
            "published_at": None,
            "revocation_reason": None,
            "revoked_by_objection": None,
            "revoked_version": None,
            "revoked_notification_id": None,
            "revoked_at": None,
            "objections": [],
        }
        others = [c for c in product["certifications"] if c["year"] != year]
        product["certifications"] = sorted([*others, entry], key=lambda c: int(c["year"]))
        rows.put("products", product)
        _link(rows, str(e.originator_id), year, product_id)

    return handler


def _published(e: FeedEvent, rows: Rows) -> None:
    year = _linked(e, rows)["round_year"]

    def listed(entry: Row) -> Row:
        return {**entry, "published": True, "published_at": e.stamped}

    for product_id in e.event.certified_product_ids:
        _with_entry(e, rows, str(product_id), year, listed)


def _revoked(e: FeedEvent, rows: Rows) -> None:
    link = _linked(e, rows)
    event = e.event

    def revoked(entry: Row) -> Row:
        return {
            **entry,
            "status": CertificationStatus.REVOKED.value,
            "revocation_reason": event.reason,
            "revoked_by_objection": str(event.objection_id),
            "revoked_version": e.version,
            "revoked_notification_id": e.notification_id,
            "revoked_at": e.stamped,
        }

    _with_entry(e, rows, link["product_id"], link["round_year"], revoked)


def _objection_filed(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    objection: Row = {
        "objection_id": str(e.originator_id),
        "status": ObjectionStatus.OPEN.value,
        "reason": event.reason,
        "objector_role": e.actor.get("role"),
        "filed_at": e.stamped,
        "version": e.version,
        "notification_id": e.notification_id,
        "decision_reason": None,
        "decided_at": None,
        "decided_version": None,
    }

    def filed(entry: Row) -> Row:
        return {**entry, "objections": [*entry["objections"], objection]}

    product_id = str(event.product_id)
    _with_entry(e, rows, product_id, event.round_year, filed)
    _link(rows, str(e.originator_id), event.round_year, product_id)


def _objection_decided(status: ObjectionStatus) -> Handler:
    def handler(e: FeedEvent, rows: Rows) -> None:
        link = _linked(e, rows)
        objection_id = str(e.originator_id)

        def decided(entry: Row) -> Row:
            objections = [
                {**o, "status": status.value, "decision_reason": e.event.reason,
                 "decided_at": e.stamped, "decided_version": e.version}
                if o["objection_id"] == objection_id else o
                for o in entry["objections"]
            ]  # fmt: skip
            return {**entry, "objections": objections}

        _with_entry(e, rows, link["product_id"], link["round_year"], decided)

    return handler
