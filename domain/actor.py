"""The acting principal: who issued a command, recorded in every event it causes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.errors import ActorNotPermittedError, TextInvalidError


class Role(StrEnum):
    FILER = "filer"
    REVIEWER = "reviewer"
    CERTIFIER = "certifier"
    REGIONAL_ADMIN = "regional_admin"
    AUDITOR = "auditor"
    INSTITUTION = "institution"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated principal.

    ``scope`` narrows what it may act on: a filer's or institution's USCC, a regional admin's
    region-code prefix; ``None`` for platform roles.
    """

    id: str
    role: Role
    scope: str | None = None

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 200 or not self.id.isprintable():
            raise TextInvalidError(f"actor id {self.id!r}: want 1..200 printable characters")
        if self.role in (Role.FILER, Role.INSTITUTION, Role.REGIONAL_ADMIN) and not self.scope:
            raise TextInvalidError(f"actor role {self.role} needs a scope")

    def as_record(self) -> dict[str, Any]:
        """The form stored in events (plain JSON, signed)."""
        return {"id": self.id, "role": self.role.value, "scope": self.scope}

    def require(self, *roles: Role) -> None:
        """Raise unless this actor has one of ``roles``."""
        if self.role not in roles:
            wanted = ", ".join(role.value for role in roles)
            raise ActorNotPermittedError(
                f"actor {self.id} has role {self.role.value}: want one of {wanted}",
                actor=self.id,
                role=self.role.value,
            )


SYSTEM = Actor(id="system", role=Role.SYSTEM)
