"""Patent conversion feedback (存量专利盘活): what became of an institution's patent.

One aggregate per (institution, patent). Every report is a new event, so later reports never
overwrite earlier ones: the history is the event stream.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import LedgerAggregate, derived_id

CONVERSION_NAMESPACE = UUID("8b7f4a2e-1c3d-5e6f-8a9b-0c1d2e3f4a5b")


def conversion_record_id(institution_uscc: str, patent_number: str) -> UUID:
    return derived_id(CONVERSION_NAMESPACE, institution_uscc, patent_number)


class PatentConversion(LedgerAggregate):
    """The reported outcomes of one patent of one institution, in order."""

    @staticmethod
    def create_id(institution_uscc: str, patent_number: str, **_: Any) -> UUID:
        return conversion_record_id(institution_uscc, patent_number)

    @event("ConversionRecordOpened")
    def __init__(
        self, institution_uscc: str, patent_number: str, region_code: str, actor: dict[str, Any]
    ) -> None:
        self.institution_uscc = institution_uscc
        self.patent_number = patent_number
        self.region_code = region_code
        self.reports: list[dict[str, Any]] = []

    @event("ConversionReported")
    def report(
        self,
        category: str,
        counterparty: str,
        occurred_on: str,
        amount_fen: int | None,
        actor: dict[str, Any],
    ) -> None:
        """Record one outcome. No guard stands in front of the event: the command checked
        every value (``report_conversion``), and no outcome excludes another."""
        self.reports.append(
            {
                "category": category,
                "counterparty": counterparty,
                "occurred_on": occurred_on,
                "amount_fen": amount_fen,
            }
        )

    @property
    def latest(self) -> dict[str, Any] | None:
        return self.reports[-1] if self.reports else None
