"""The filing number migration: number the products approved before filing number rule v1.

Why a module of its own: like the key migration (domain.key_migration_command) it reads the
whole store in one pass, a job apart from the ledger's one-record commands. Approvals recorded
before the rule have no number; the migration gives each product that was approved and is
not withdrawn its number as new events (``FilingNumberAssigned`` and its series' event, one
save per product), in the order of the products' first approvals, year and region those of
the first approval (docs/filing-numbers.md). Nothing recorded is rewritten; re-running adds
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from domain.actor import Actor, Role
from domain.base import event_topic
from domain.product import Product
from domain.values import FilingNumberRule, filing_number_rule_in_force

if TYPE_CHECKING:
    from domain.application import PatentLedger

_PAGE = 5_000  # stored events per read of the migration's pass
_APPROVED = event_topic(Product, "FilingApproved")
_NUMBERED = event_topic(Product, "FilingNumberAssigned")
_WITHDRAWN = event_topic(Product, "ProductWithdrawn")


@dataclass(frozen=True, slots=True)
class FilingNumberReport:
    """One run: the numbers given now, by product in the order given; the products numbered
    before; the approved products left without one because they were withdrawn."""

    rule: int
    numbered: tuple[tuple[UUID, str], ...]
    already_numbered: int
    withdrawn: int


class FilingNumberMigration:
    """One run of the migration on ``ledger``."""

    def __init__(self, ledger: PatentLedger) -> None:
        self._ledger = ledger

    def run(self, actor: Actor) -> FilingNumberReport:
        """Number every approved product without a number, in order of first approval.

        A withdrawn product keeps none (withdrawal ends its life on the register; a number
        is for an approved product's certificate). Each product is numbered in a save of its
        own, through ``PatentLedger.number_product``, which retries a series' lost race.
        """
        actor.require(Role.SYSTEM)
        rule = filing_number_rule_in_force()
        order, numbered, withdrawn = self._approvals()
        given: list[tuple[UUID, str]] = []
        skipped = 0
        if rule is not FilingNumberRule.NONE:
            for product_id in order:
                if product_id in numbered:
                    continue
                if product_id in withdrawn:
                    skipped += 1
                    continue
                number = self._ledger.number_product(actor, product_id)
                if number is not None:
                    given.append((product_id, number))
        return FilingNumberReport(int(rule), tuple(given), len(numbered & set(order)), skipped)

    def _approvals(self) -> tuple[list[UUID], set[UUID], set[UUID]]:
        """The approved products in the order of their first approval (the log's order), the
        numbered ones and the withdrawn ones: topics only, nothing decoded."""
        first: dict[UUID, None] = {}
        numbered: set[UUID] = set()
        withdrawn: set[UUID] = set()
        for notification in self._ledger._log((_APPROVED, _NUMBERED, _WITHDRAWN), _PAGE):
            product_id = UUID(str(notification.originator_id))
            if notification.topic == _APPROVED:
                first.setdefault(product_id, None)
            elif notification.topic == _NUMBERED:
                numbered.add(product_id)
            else:
                withdrawn.add(product_id)
        return list(first), numbered, withdrawn
