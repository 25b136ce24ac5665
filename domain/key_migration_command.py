"""The product-key migration as a command: reserve key rule v2 for every existing product.

Why a module of its own: the migration reads the whole store in one pass and saves in
batches, a job apart from the ledger's one-record commands; the ledger offers it as
``PatentLedger.migrate_product_keys`` and this service does it through the ledger's typed
reads and saves. What it reports is domain.key_migration.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.actor import Actor, Role
from domain.base import event_topic
from domain.certification_commands import PRODUCT_FILED_TOPIC
from domain.errors import ConcurrentUpdateError
from domain.key_migration import (
    KeyGroup,
    KeyMigrationReport,
    ProductKeyed,
    group_products,
    holder_of,
    needs_review,
)
from domain.product import Product, ProductStatus
from domain.reservation import ProductKeyReservation
from domain.values import KeyRule, product_key_id

if TYPE_CHECKING:
    from domain.application import PatentLedger

_MIGRATION_BATCH = 500  # reservations per save: one transaction each
_MIGRATION_PAGE = 5_000  # stored events per read of the migration's pass


_STATUS_OF_TOPIC = {
    event_topic(Product, "FilingApproved"): ProductStatus.APPROVED,
    event_topic(Product, "FilingRejected"): ProductStatus.REJECTED,
    event_topic(Product, "ProductRevised"): ProductStatus.PENDING_REVIEW,
    event_topic(Product, "ProductWithdrawn"): ProductStatus.WITHDRAWN,
}
_MIGRATION_TOPICS = (
    PRODUCT_FILED_TOPIC, *_STATUS_OF_TOPIC,
    event_topic(ProductKeyReservation, "ProductKeyReserved"),
    event_topic(ProductKeyReservation, "ProductKeyMigrated"),
)  # fmt: skip


class KeyMigration:
    """One run of the migration on ``ledger``."""

    def __init__(self, ledger: PatentLedger) -> None:
        self._ledger = ledger

    def run(self, actor: Actor) -> KeyMigrationReport:
        """Reserve the key rule v2 key of every existing filing, through new events.

        Filings made before v2 hold a v1 key only; until their v2 key is reserved, a new
        filing that v2 calls the same product would not collide. Each v2 key not reserved
        yet gets a ``ProductKeyMigrated`` reservation for its group's holder
        (``key_migration.holder_of``); a group of several filings is reported, not decided.
        Re-running adds nothing. Saves go in batches; a batch that loses a race with a new
        filing is retried one reservation at a time.
        """
        actor.require(Role.SYSTEM)
        keyed, reserved_ids = self._products_as_filed()
        by_key, unkeyed = group_products(KeyRule.V2, keyed)
        pending: list[ProductKeyReservation] = []
        already = 0
        for key, group in by_key.items():
            if product_key_id(key, KeyRule.V2) in reserved_ids:
                already += 1
                continue
            holder = holder_of(group)
            pending.append(
                ProductKeyReservation.migrate(
                    key, str(holder.product_id), holder.filer_uscc, KeyRule.V2, actor.as_record()
                )
            )
        reserved = self._save_reservations(pending)
        groups = tuple(
            KeyGroup(key, self._holder_id(key, group), tuple(group))
            for key, group in by_key.items()
            if needs_review(group)
        )
        return KeyMigrationReport(
            int(KeyRule.V2), len(keyed), reserved, already + len(pending) - reserved, groups,
            tuple(unkeyed),
        )  # fmt: skip

    def _products_as_filed(self) -> tuple[list[ProductKeyed], set[UUID]]:
        """Every product as filed, with its status now, and the id of every key reservation.

        One pass over the stored events of those topics, in order: only ProductFiled events
        are decoded (their signature checked by the mapper); a status is the topic of the
        product's last status event, and a reservation is its aggregate id (a key's id under
        its rule). Reading each product as an aggregate instead took 36 s for the 45,000
        products of the full sample (docs/benchmarks.md).
        """
        filed: dict[UUID, ProductKeyed] = {}
        reserved: set[UUID] = set()
        for notification in self._ledger._log(_MIGRATION_TOPICS, _MIGRATION_PAGE):
            topic, aggregate_id = notification.topic, UUID(str(notification.originator_id))
            if topic == PRODUCT_FILED_TOPIC:
                event: Any = self._ledger.mapper.to_domain_event(notification)
                filed[aggregate_id] = ProductKeyed(
                    aggregate_id, event.filer_uscc, event.name, event.model,
                    ProductStatus.PENDING_REVIEW.value, event.canonical_key,
                )  # fmt: skip
            elif topic in _STATUS_OF_TOPIC:
                product = filed.get(aggregate_id)
                if product is not None:
                    status = _STATUS_OF_TOPIC[topic].value
                    filed[aggregate_id] = replace(product, status=status)
            else:
                reserved.add(aggregate_id)
        return list(filed.values()), reserved

    def _save_reservations(self, pending: list[ProductKeyReservation]) -> int:
        """Save in batches; returns how many were saved (a lost race is not an error)."""
        saved = 0
        for start in range(0, len(pending), _MIGRATION_BATCH):
            batch = pending[start : start + _MIGRATION_BATCH]
            try:
                self._ledger._save(*batch)
                saved += len(batch)
            except ConcurrentUpdateError:
                for reservation in batch:
                    try:
                        self._ledger._save(reservation)
                        saved += 1
                    except ConcurrentUpdateError:
                        continue  # a filing reserved this key since we looked: it holds it
        return saved

    def _holder_id(self, key: str, group: list[ProductKeyed]) -> UUID:
        found = self._ledger._find(ProductKeyReservation, product_key_id(key, KeyRule.V2))
        return found.product_id if found is not None else holder_of(group).product_id
