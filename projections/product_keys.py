"""Product keys: every filing's key under each key rule, and the keys several filings share.

Why a read model: filings made before key rule v2 were judged by v1; where v2 says several of
them are one product, a reviewer decides (docs/never-filed-twice.md). The migration reserves
the key for one of them and reports the group once; this model keeps the groups current (a
withdrawal, an approval, a re-filing) for reviewers, from the events alone.

Tables:
* ``product_keys`` — one row per (filing, key rule): the key, filer, name, model, its v1 key,
  the filing's status, and whether the filing holds the key's reservation now.
* ``key_groups`` — (key rule, key) → how many filings have that key.
* ``reservations`` — reservation id → its key rule (a re-filing's event names only the id).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from domain.errors import TextInvalidError
from domain.product import ProductStatus
from domain.values import KeyRule, product_key
from projections import events
from projections.feed import FeedEvent
from projections.model import Handler, ReadModel, existing_row, when_returned_to_review
from projections.rows import Rows
from projections.schema import Table, integer, text

PRODUCT_KEYS = Table(
    "product_keys",
    (
        text("product_id"), integer("key_rule"), text("canonical_key"), text("filer_uscc"),
        text("name"), text("model"), text("v1_key"), text("status"), integer("holds_key"),
        integer("filed_seq"),
    ),
    key=("product_id", "key_rule"),
    indexes=(("key_rule", "canonical_key"),),
)  # fmt: skip
KEY_GROUPS = Table(
    "key_groups",
    (integer("key_rule"), text("canonical_key"), integer("filings")),
    key=("key_rule", "canonical_key"),
    indexes=(("key_rule", "filings"),),
)
RESERVATIONS = Table(
    "reservations", (text("reservation_id"), integer("key_rule")), key=("reservation_id",)
)
_RULES = tuple(int(rule) for rule in KeyRule)


class ProductKeys(ReadModel):
    name = "product_keys"
    tables = (PRODUCT_KEYS, KEY_GROUPS, RESERVATIONS)

    def handlers(self) -> Mapping[type, Handler]:
        return {
            events.PRODUCT_FILED: _filed,
            events.FILING_APPROVED: _status(ProductStatus.APPROVED),
            events.FILING_REJECTED: _status(ProductStatus.REJECTED),
            events.PRODUCT_REVISED: _status(ProductStatus.PENDING_REVIEW),
            events.PRODUCT_WITHDRAWN: _status(ProductStatus.WITHDRAWN),
            events.DISPUTE_RESOLVED: when_returned_to_review(_status(ProductStatus.PENDING_REVIEW)),
            events.KEY_RESERVED: _reserved,
            events.KEY_MIGRATED: _reserved,
            events.KEY_REASSIGNED: _reassigned,
        }


def _keys(name: str, model: str, v1_key: str) -> dict[int, str]:
    """The filing's key under each rule (v1 as stored; none where a rule finds it empty)."""
    keys = {int(KeyRule.V1): v1_key}
    with contextlib.suppress(TextInvalidError):  # one v2 cannot key: listed under v1 only
        keys[int(KeyRule.V2)] = product_key(KeyRule.V2, name, model)
    return keys


def _filed(e: FeedEvent, rows: Rows) -> None:
    event = e.event
    for rule, key in _keys(event.name, event.model, event.canonical_key).items():
        rows.put(
            "product_keys",
            {
                "product_id": str(e.originator_id), "key_rule": rule, "canonical_key": key,
                "filer_uscc": event.filer_uscc, "name": event.name, "model": event.model,
                "v1_key": event.canonical_key,
                "status": ProductStatus.PENDING_REVIEW.value, "holds_key": 0,
                "filed_seq": e.notification_id,
            },
        )  # fmt: skip
        group = rows.get("key_groups", rule, key) or {
            "key_rule": rule, "canonical_key": key, "filings": 0,
        }  # fmt: skip
        group["filings"] += 1
        rows.put("key_groups", group)


def _status(status: ProductStatus) -> Handler:
    def handler(e: FeedEvent, rows: Rows) -> None:
        for rule in _RULES:
            row = rows.get("product_keys", str(e.originator_id), rule)
            if row is not None:
                row["status"] = status.value
                rows.put("product_keys", row)

    return handler


def _hold(rows: Rows, product_id: str, rule: int, holds: int) -> None:
    row = rows.get("product_keys", product_id, rule)
    if row is not None:
        row["holds_key"] = holds
        rows.put("product_keys", row)


def _reserved(e: FeedEvent, rows: Rows) -> None:
    rule = int(e.event.key_rule)
    rows.put("reservations", {"reservation_id": str(e.originator_id), "key_rule": rule})
    _hold(rows, str(e.event.product_id), rule, 1)


def _reassigned(e: FeedEvent, rows: Rows) -> None:
    reservation = existing_row(e, rows, "reservations", str(e.originator_id), "reservation")
    rule = int(reservation["key_rule"])
    _hold(rows, str(e.event.previous_product_id), rule, 0)
    _hold(rows, str(e.event.product_id), rule, 1)
