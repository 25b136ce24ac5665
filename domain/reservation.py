"""Product-key reservation: the index aggregate that makes "never filed twice" a store rule.

One aggregate per (key rule, key): its id is a uuid5 of the key under its rule
(audit.offline.product_key.reservation_id), and it is saved in the same ``save()`` as the filing it
guards; a filing reserves its key under every rule in force (v1 and v2). Two concurrent
filings of one product both try to create version 1 of the same reservation; the store's
unique (id, version) constraint lets exactly one commit. The migration reserves the v2 key
of a filing made before v2 with ``ProductKeyMigrated``.

Withdrawal does not free the key. The filer of a withdrawn filing may file the product again:
the reservation then moves to the new filing (``ProductKeyReassigned``), so the key is bound
to at most one live filing at any time and its whole history stays in the log. Any other
filer is refused with ``duplicate_product``, naming the filing that holds the key.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import LedgerAggregate
from domain.values import KeyRule, product_key_id


class ProductKeyReservation(LedgerAggregate):
    """Which filing holds a product key under one key rule, and which filer owns it."""

    class ProductKeyReserved(LedgerAggregate.Created):
        """The key is reserved by the filing saved just before it (``file_product``).

        Version 2 added ``key_rule``; a version-1 event was made under key rule v1.
        """

        class_version = 2
        canonical_key: str
        product_id: str
        filer_uscc: str
        actor: dict[str, Any]
        key_rule: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["key_rule"] = int(KeyRule.V1)

    class ProductKeyMigrated(LedgerAggregate.Created):
        """The key of an *existing* filing, reserved under a newer key rule by the migration.

        A migration is new events, never a rewrite: the filing keeps its older reservation.
        """

        canonical_key: str
        product_id: str
        filer_uscc: str
        actor: dict[str, Any]
        key_rule: int

    @staticmethod
    def create_id(canonical_key: str, key_rule: int = 1, **_: Any) -> UUID:
        return product_key_id(canonical_key, KeyRule(key_rule))

    @event(ProductKeyReserved)
    def __init__(
        self,
        canonical_key: str,
        product_id: str,
        filer_uscc: str,
        actor: dict[str, Any],
        key_rule: int = int(KeyRule.V1),
    ) -> None:
        self.canonical_key = canonical_key
        self.key_rule = KeyRule(key_rule)
        self.product_id = UUID(product_id)
        self.filer_uscc = filer_uscc
        self.previous_product_ids: list[UUID] = []

    @classmethod
    def migrate(
        cls,
        canonical_key: str,
        product_id: str,
        filer_uscc: str,
        key_rule: KeyRule,
        actor: dict[str, Any],
    ) -> ProductKeyReservation:
        """Reserve ``canonical_key`` (made under ``key_rule``) for an existing filing."""
        return cls._create(
            cls.ProductKeyMigrated,
            id=product_key_id(canonical_key, key_rule),
            canonical_key=canonical_key,
            product_id=product_id,
            filer_uscc=filer_uscc,
            actor=actor,
            key_rule=int(key_rule),
        )

    def reassign(self, product_id: str, actor: dict[str, Any]) -> None:
        """Bind the key to a new filing by the same filer (the caller checks withdrawal)."""
        self._reassigned(
            product_id=product_id, previous_product_id=str(self.product_id), actor=actor
        )

    @event("ProductKeyReassigned")
    def _reassigned(self, product_id: str, previous_product_id: str, actor: dict[str, Any]) -> None:
        self.previous_product_ids.append(UUID(previous_product_id))
        self.product_id = UUID(product_id)
