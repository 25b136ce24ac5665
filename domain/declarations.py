"""Structured command inputs: what a filer declares, validated before any event exists."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.errors import ExportsExceedSalesError, LicenceReferenceMissingError
from domain.values import Money, PatentNumber, clean_text


class PatentRelation(StrEnum):
    """The filer's relation to a declared patent (专利权人或被许可人)."""

    OWNER = "owner"
    LICENSEE = "licensee"


@dataclass(frozen=True, slots=True)
class PatentDeclaration:
    """One patent the product uses; a licensee must cite its licence."""

    number: PatentNumber
    relation: PatentRelation
    licence_reference: str | None = None

    def __post_init__(self) -> None:
        if self.relation is PatentRelation.LICENSEE and not self.licence_reference:
            raise LicenceReferenceMissingError(
                f"patent {self.number.value}: a licensee must give the licence reference",
                patent_number=self.number.value,
            )

    @classmethod
    def parse(
        cls, number: str, relation: str, licence_reference: str | None = None
    ) -> PatentDeclaration:
        reference = (
            clean_text(licence_reference, field="licence_reference", max_length=200)
            if licence_reference
            else None
        )
        try:
            parsed_relation = PatentRelation(relation)
        except ValueError:
            raise LicenceReferenceMissingError(
                f"patent relation {relation!r}: want owner or licensee"
            ) from None
        return cls(PatentNumber.parse(number), parsed_relation, reference)

    def as_record(self) -> dict[str, Any]:
        return {
            "number": self.number.value,
            "type": self.number.patent_type.value,
            "relation": self.relation.value,
            "licence_reference": self.licence_reference,
        }


@dataclass(frozen=True, slots=True)
class EconomicFigures:
    """A product's figures for its data year, in integer fen (no floats are ever signed)."""

    sales: Money
    exports: Money
    profit: Money
    ip_spending: Money

    def __post_init__(self) -> None:
        if self.exports.fen > self.sales.fen:
            raise ExportsExceedSalesError(
                f"exports {self.exports} exceed sales {self.sales}",
            )

    @classmethod
    def of_fen(cls, *, sales: int, exports: int, profit: int, ip_spending: int) -> EconomicFigures:
        """The figures as a command states them; each is 0..``MONEY_MAX_FEN`` fen.

        Raises:
            MoneyInvalidError: a figure is not an integer in range; ``details["field"]`` names
                it as the filing's record does (``figures.sales_fen``...).
        """
        return cls(
            Money.of(sales, field="figures.sales_fen"),
            Money.of(exports, field="figures.exports_fen"),
            Money.of(profit, field="figures.profit_fen"),
            Money.of(ip_spending, field="figures.ip_spending_fen"),
        )

    def as_record(self) -> dict[str, int]:
        return {
            "sales_fen": self.sales.fen,
            "exports_fen": self.exports.fen,
            "profit_fen": self.profit.fen,
            "ip_spending_fen": self.ip_spending.fen,
        }


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    phone: str
    email: str

    @classmethod
    def parse(cls, name: str, phone: str, email: str) -> Contact:
        return cls(
            clean_text(name, field="contact.name", max_length=100),
            clean_text(phone, field="contact.phone", max_length=40),
            clean_text(email, field="contact.email", max_length=200),
        )

    def as_record(self) -> dict[str, str]:
        return {"name": self.name, "phone": self.phone, "email": self.email}
