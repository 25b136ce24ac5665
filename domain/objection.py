"""An objection (异议) against a certified product during its round's publication (公示).

Filed during the objection window by an authorised party; decided by the certifier, who either
dismisses it or upholds it. Upholding is saved together with the certification's
``CertificationRevoked`` (domain.certification), the objection's event first, in one save.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import LedgerAggregate
from domain.errors import ObjectionNotOpenError


class ObjectionStatus(StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"
    UPHELD = "upheld"


class Objection(LedgerAggregate):
    """One objection against one product's certification in one round."""

    @event("ObjectionFiled")
    def __init__(
        self,
        round_year: int,
        product_id: str,
        certification_id: str,
        reason: str,
        actor: dict[str, Any],
    ) -> None:
        self.round_year = round_year
        self.product_id = UUID(product_id)
        self.certification_id = UUID(certification_id)
        self.reason = reason
        self.objector = dict(actor)
        self.status = ObjectionStatus.OPEN
        self.decision_reason: str | None = None

    def check_open(self) -> None:
        if self.status is not ObjectionStatus.OPEN:
            raise ObjectionNotOpenError(
                f"objection {self.id} is {self.status.value}", status=self.status.value
            )

    def dismiss(self, reason: str, actor: dict[str, Any]) -> None:
        self.check_open()
        self._dismissed(reason=reason, actor=actor)

    @event("ObjectionDismissed")
    def _dismissed(self, reason: str, actor: dict[str, Any]) -> None:
        self.status = ObjectionStatus.DISMISSED
        self.decision_reason = reason

    def uphold(self, reason: str, actor: dict[str, Any]) -> None:
        """The caller revokes the certification in the same save."""
        self.check_open()
        self._upheld(reason=reason, actor=actor)

    @event("ObjectionUpheld")
    def _upheld(self, reason: str, actor: dict[str, Any]) -> None:
        self.status = ObjectionStatus.UPHELD
        self.decision_reason = reason


def file_objection(objection_id: UUID, **fields: Any) -> Objection:
    return Objection._create(Objection.ObjectionFiled, id=objection_id, **fields)  # type: ignore[attr-defined]
