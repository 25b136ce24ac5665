"""Filing number series (备案号): the index aggregate that makes a number unique by the store.

One aggregate per (year, region): its id is ``series_id(year, region)`` (a uuid5,
audit.offline.filing_number), and each of its events issues the next number of the series, in
the same ``save()`` as the product's ``FilingNumberAssigned``. The series' version *is* the
sequence last issued: two approvals racing on one series both try to write the same next
version, and the store's unique (id, version) constraint lets exactly one commit
(docs/filing-numbers.md). Nothing ever takes a number back: withdrawal and revocation leave
the series as it is, so a number is never reused.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.actor import Actor, Role
from domain.base import LedgerAggregate
from domain.values import format_filing_number, series_id

NUMBERING = Actor(id="system:filing-numbers", role=Role.SYSTEM)
"""The actor recorded on every filing number event (the series' and the product's).

Why not the reviewer who approved: the number is the ledger's act, done in the approval's
save, and the approval records the reviewer. With the system as actor, the number events hold
nothing but public facts (year, region, sequence, product, number), so their stored bytes and
tlog-proof evidence can be given to anyone checking a certificate (api.web.certificate_pages)
without revealing who approved (docs/api.md: actors by role only outside the platform roles).
"""


class FilingNumberSeries(LedgerAggregate):
    """The numbers issued so far in one (year, region): 1 .. ``issued``."""

    class FilingNumberSeriesOpened(LedgerAggregate.Created):
        """The series' first number, 00001, issued to ``product_id``."""

        year: int
        region_code: str
        sequence: int
        product_id: str
        filing_number: str
        actor: dict[str, Any]

    class FilingNumberIssued(LedgerAggregate.Event):
        """The next number of the series (``sequence`` = the series' version)."""

        sequence: int
        product_id: str
        filing_number: str
        actor: dict[str, Any]

    @staticmethod
    def create_id(year: int, region_code: str, **_: Any) -> UUID:
        return series_id(year, region_code)

    @event(FilingNumberSeriesOpened)
    def __init__(
        self,
        year: int,
        region_code: str,
        sequence: int,
        product_id: str,
        filing_number: str,
        actor: dict[str, Any],
    ) -> None:
        self.year = year
        self.region_code = region_code
        self.issued = sequence
        self.holders = {sequence: UUID(product_id)}

    @classmethod
    def open(
        cls, year: int, region_code: str, product_id: UUID, actor: dict[str, Any]
    ) -> FilingNumberSeries:
        """A new series, its first number issued to ``product_id``."""
        return cls(
            year=year,
            region_code=region_code,
            sequence=1,
            product_id=str(product_id),
            filing_number=format_filing_number(year, region_code, 1),
            actor=actor,
        )

    @property
    def last_number(self) -> str:
        return format_filing_number(self.year, self.region_code, self.issued)

    def issue(self, product_id: UUID, actor: dict[str, Any]) -> str:
        """Issue the next number to ``product_id``; returns it."""
        sequence = self.issued + 1
        number = format_filing_number(self.year, self.region_code, sequence)
        self._issued(
            sequence=sequence, product_id=str(product_id), filing_number=number, actor=actor
        )
        return number

    @event(FilingNumberIssued)
    def _issued(
        self, sequence: int, product_id: str, filing_number: str, actor: dict[str, Any]
    ) -> None:
        self.issued = sequence
        self.holders[sequence] = UUID(product_id)
