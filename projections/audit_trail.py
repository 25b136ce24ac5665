"""Per-product audit trail: every event of a filing, in log order, with who, when and its hash.

One row per event of the product aggregate, plus the key-reservation events that bound the
filing (``ProductKeyReserved`` / ``ProductKeyReassigned`` — also on the withdrawn filing the
key moved away from). Each row has the event's aggregate id and version, type, actor, time,
its own fields (``details``), and ``event_hash``: the RFC 6962 leaf hash of the signed stored
event in the Merkle log (audit.log_leaf). The leaf *index* is not stored: it exists only once
the sequencer has integrated the event, so queries look it up in ``ppl_log_leaves``
(projections.queries), which keeps this projection's rows — and its digest — independent of
how far the log has got.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from projections import events
from projections.feed import FeedEvent
from projections.model import Handler, ReadModel
from projections.rows import Rows
from projections.schema import Table, integer, json_column, text

EVENTS = Table(
    "events",
    (text("product_id"), integer("notification_id"), text("originator_id"), integer("version"),
     text("event_type"), text("actor_id"), text("actor_role"), text("actor_scope"),
     text("timestamp"), text("event_hash"), json_column("details")),
    key=("product_id", "notification_id"),
)  # fmt: skip

_NOT_DETAILS = frozenset(
    {"originator_id", "originator_version", "originator_topic", "timestamp", "actor"}
)


class AuditTrail(ReadModel):
    name = "audit_trail"
    tables = (EVENTS,)

    def handlers(self) -> Mapping[type, Handler]:
        own = dict.fromkeys(
            (
                events.PRODUCT_FILED, events.FILING_APPROVED, events.FILING_REJECTED,
                events.PRODUCT_REVISED, events.PRODUCT_WITHDRAWN, events.DISPUTE_RAISED,
                events.DISPUTE_RESOLVED,
            ),
            _product_event,
        )  # fmt: skip
        return {**own, events.KEY_RESERVED: _key_event, events.KEY_REASSIGNED: _key_event}


def details(e: FeedEvent) -> dict[str, Any]:
    """The event's own fields (not its envelope, time or actor), as stored in ``details``."""
    return {
        name: str(value) if name.endswith("_id") and value is not None else value
        for name, value in vars(e.event).items()
        if name not in _NOT_DETAILS
    }


def _record(e: FeedEvent, rows: Rows, product_id: str) -> None:
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
            "details": details(e),
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
