"""Per-product audit trail: every event of a filing, in log order, with who, when and its hash.

One row per event of the product aggregate, plus the key-reservation events that bound the
filing (``ProductKeyReserved`` / ``ProductKeyReassigned`` — also on the withdrawn filing the
key moved away from). Each row has the event's aggregate id and version, type, actor, time,
its own fields (``details``), and ``event_hash``: the RFC 6962 leaf hash of the signed stored
event in the Merkle log (audit.offline.log_leaf). The leaf *index* is not stored: it exists only
once
the sequencer has integrated the event, so queries look it up in ``ppl_log_leaves``
(projections.queries), which keeps this projection's rows — and its digest — independent of
how far the log has got.

A filing's certification events are recorded under its id too, though their aggregates are
others (docs/certification.md): the decision of each round (``Certified``, ``NotCertified``,
``NotEligible``) and its ``CertificationRevoked``, the filer's ``CertificationOptedIn``, the
objections against it (``ObjectionFiled``, ``ObjectionDismissed``, ``ObjectionUpheld``), and
the round's ``CertifiedListPublished`` on the trail of each product it lists — with that
event's ``certified_product_ids`` left out of ``details`` (the whole list on every listed
product's row would make the trail quadratic; ``event_hash`` still proves the whole event).
``links`` maps a decision's or an objection's id to its product, for the events that name
only their own aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from audit.offline.canonical import format_timestamp
from projections import events
from projections.feed import FeedEvent
from projections.model import Handler, ReadModel, existing_row
from projections.rows import Rows
from projections.schema import Table, integer, json_column, text

EVENTS = Table(
    "events",
    (text("product_id"), integer("notification_id"), text("originator_id"), integer("version"),
     text("event_type"), text("actor_id"), text("actor_role"), text("actor_scope"),
     text("timestamp"), text("event_hash"), json_column("details")),
    key=("product_id", "notification_id"),
)  # fmt: skip
LINKS = Table("links", (text("aggregate_id"), text("product_id")), key=("aggregate_id",))

_NOT_DETAILS = frozenset(
    {"originator_id", "originator_version", "originator_topic", "timestamp", "actor"}
)


class AuditTrail(ReadModel):
    name = "audit_trail"
    tables = (EVENTS, LINKS)

    def handlers(self) -> Mapping[type, Handler]:
        own = dict.fromkeys(
            (
                events.PRODUCT_FILED, events.FILING_APPROVED, events.FILING_REJECTED,
                events.PRODUCT_REVISED, events.PRODUCT_WITHDRAWN, events.DISPUTE_RAISED,
                events.DISPUTE_RESOLVED, events.DISPUTE_ACCEPTED, events.FILING_NUMBER_ASSIGNED,
            ),
            _product_event,
        )  # fmt: skip
        named = dict.fromkeys(
            (events.CERTIFIED, events.NOT_CERTIFIED, events.NOT_ELIGIBLE, events.OBJECTION_FILED),
            _linking_event,
        )
        linked = dict.fromkeys(
            (events.CERTIFICATION_REVOKED, events.OBJECTION_DISMISSED, events.OBJECTION_UPHELD),
            _linked_event,
        )
        return {
            **own, **named, **linked,
            events.KEY_RESERVED: _key_event, events.KEY_REASSIGNED: _key_event,
            events.KEY_MIGRATED: _key_event,
            events.OPTED_IN: _opt_in_event, events.CERTIFIED_LIST_PUBLISHED: _publication_event,
        }  # fmt: skip


def details(e: FeedEvent, omit: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The event's own fields (not its envelope, time or actor), as stored in ``details``.

    Ids as text, instants in the canonical spelling (audit.offline.canonical.format_timestamp).
    """
    return {
        name: _detail(name, value)
        for name, value in vars(e.event).items()
        if name not in _NOT_DETAILS and name not in omit
    }


def _detail(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if name.endswith("_id") and value is not None:
        return str(value)
    return value


def _record(e: FeedEvent, rows: Rows, product_id: str, omit: frozenset[str] = frozenset()) -> None:
    actor = e.actor
    rows.put(
        "events",
        {
            "product_id": product_id,
            "notification_id": e.notification_id,
            "originator_id": str(e.originator_id),
            "version": e.version,
            "event_type": type(e.event).__name__,
            "actor_id": actor.get("id"),
            "actor_role": actor.get("role"),
            "actor_scope": actor.get("scope"),
            "timestamp": e.stamped,
            "event_hash": e.leaf_hash.hex(),
            "details": details(e, omit),
        },
    )


def _product_event(e: FeedEvent, rows: Rows) -> None:
    _record(e, rows, str(e.originator_id))


def _key_event(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    _record(e, rows, str(event.product_id))
    previous = getattr(event, "previous_product_id", None)
    if previous is not None:
        _record(e, rows, str(previous))


def _linking_event(e: FeedEvent, rows: Rows) -> None:
    """A decision or an objection: it names its product; later events of it will not."""
    product_id = str(e.event.product_id)
    rows.put("links", {"aggregate_id": str(e.originator_id), "product_id": product_id})
    _record(e, rows, product_id)


def _linked_event(e: FeedEvent, rows: Rows) -> None:
    link = existing_row(e, rows, "links", str(e.originator_id), "aggregate")
    _record(e, rows, link["product_id"])


def _opt_in_event(e: FeedEvent, rows: Rows) -> None:
    _record(e, rows, str(e.event.product_id))


_PUBLICATION_OMITS = frozenset({"certified_product_ids"})


def _publication_event(e: FeedEvent, rows: Rows) -> None:
    for product_id in e.event.certified_product_ids:
        _record(e, rows, str(product_id), _PUBLICATION_OMITS)
