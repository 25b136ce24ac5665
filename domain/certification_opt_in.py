"""A filer's opt-in of one product to one certification round (参与专利密集型产品认定).

From 2024 a product is evaluated only if its filer opted in; in any round the opt-in may also
declare how many valid patents the filer holds, which makes the patent-use share indicator
known. One aggregate per (round year, product) with a single event: the id (uuid5 of both) makes
a second opt-in a store conflict, never a second record.
"""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

from eventsourcing.domain import event

from domain.base import LedgerAggregate, derived_id

OPT_IN_NAMESPACE: Final = UUID("a41d3b6e-2f58-5c07-9d1e-7c3e5b9f0a26")


def opt_in_id_for(round_year: int, product_id: UUID | str) -> UUID:
    return derived_id(OPT_IN_NAMESPACE, round_year, product_id)


class CertificationOptIn(LedgerAggregate):
    """The filer asked for its product to be evaluated in the round of ``round_year``."""

    @staticmethod
    def create_id(round_year: int, product_id: str, **_: Any) -> UUID:
        return opt_in_id_for(round_year, product_id)

    @event("CertificationOptedIn")
    def __init__(
        self,
        round_year: int,
        product_id: str,
        filer_uscc: str,
        filer_valid_patents: int | None,
        actor: dict[str, Any],
    ) -> None:
        self.round_year = round_year
        self.product_id = UUID(product_id)
        self.filer_uscc = filer_uscc
        self.filer_valid_patents = filer_valid_patents
