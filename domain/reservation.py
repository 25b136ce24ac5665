"""Product-key reservation: the index aggregate that makes "never filed twice" a store rule.

Its id is a uuid5 of the canonical product key (domain.values.canonical_product_key) and it is
saved in the same ``save()`` as the filing it guards. Two concurrent filings of one product
both try to create version 1 of the same reservation; the store's unique (id, version)
constraint lets exactly one commit.

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
from domain.values import product_key_id


class ProductKeyReservation(LedgerAggregate):
    """Which filing holds a canonical product key, and which filer owns it."""

    @staticmethod
    def create_id(canonical_key: str, **_: Any) -> UUID:
        return product_key_id(canonical_key)

    @event("ProductKeyReserved")
    def __init__(
        self, canonical_key: str, product_id: str, filer_uscc: str, actor: dict[str, Any]
    ) -> None:
        self.canonical_key = canonical_key
        self.product_id = UUID(product_id)
        self.filer_uscc = filer_uscc
        self.previous_product_ids: list[UUID] = []

    def reassign(self, product_id: str, actor: dict[str, Any]) -> None:
        """Bind the key to a new filing by the same filer (the caller checks withdrawal)."""
        self._reassigned(
            product_id=product_id, previous_product_id=str(self.product_id), actor=actor
        )

    @event("ProductKeyReassigned")
    def _reassigned(self, product_id: str, previous_product_id: str, actor: dict[str, Any]) -> None:
        self.previous_product_ids.append(UUID(previous_product_id))
        self.product_id = UUID(product_id)
