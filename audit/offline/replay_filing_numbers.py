"""Filing numbers in the offline replay: rules N1-N5 (audit/offline/replay.py calls in here).

Why a module of its own: a filing number joins two aggregates in one save (the product's
``FilingNumberAssigned`` and its series' event) and has its own state (the rule in force, the
save left half-seen), like the key reservations of rule E5; audit/offline/replay.py keeps the
table rows and hands each event here. Standard library only, like everything the auditor
runs; the format and the series id are ``audit.offline.filing_number``, the module the ledger
numbers with.

Filing numbers under filing number rule v1 (audit.offline.filing_number, docs/filing-numbers.md).
A number is ``YYYY-RRRRRR-NNNNN``: the year of the product's first approval in China Standard
Time (UTC+8), the filer's region code at that approval, the sequence within (year, region)
from 00001, zero-padded to five digits and wider past 99999 (no leading zero then). A
series is the aggregate of one (year, region), id uuid5(FILING_NUMBER_NAMESPACE,
"YYYY-RRRRRR"); its version is the sequence it issued last.
  N1  FilingNumberAssigned: ``filing_number_rule`` 1 and a well-formed ``filing_number``; by
      the system (the ledger numbers: in the approval's save, as the event right after its
      FilingApproved, or in the migration's save); on a product approved at least once and
      not withdrawn, which has no number yet (at most one number per product, never
      changed).
  N2  The number is the product's first approval's: its year is that FilingApproved's
      timestamp's year in UTC+8, its region the filer's region code at that approval.
  N3  A FilingNumberAssigned is immediately followed by the series event issuing that
      number to that product by the same actor (one save), and a series event immediately
      follows such a FilingNumberAssigned: FilingNumberSeriesOpened creates the series of
      the number's (year, region), at sequence 1 (00001); FilingNumberIssued issues the
      series' next sequence (its version). Year, region, sequence and number agree with
      the series id, so sequences run from 1 with no gap and no number is issued twice.
  N4  No number is issued on a product that was never approved (N1), nor twice: every
      number of the log is distinct.
  N5  The rule is in force from the first FilingNumberAssigned; after it, a FilingApproved of
      a product without a number is followed by its FilingNumberAssigned (the approval's
      save), so every product approved from then on has a number. Approvals recorded before
      it have none until the migration numbers them (N1, by the system).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Protocol

from audit.offline.filing_number import (
    FILING_NUMBER_NAMESPACE,
    FilingNumber,
    FilingNumberRule,
    approval_year,
    filing_number_misfit,
    format_filing_number,
    parse_filing_number,
    series_key,
)
from audit.offline.replay_base import (
    FILER_NAMESPACE,
    ISSUING,
    SERIES,
    Fields,
    _Aggregate,
)
from audit.offline.replay_base import _Head as _EventHead
from audit.offline.replay_values import region_code_misfit
from audit.offline.uuid_text import uuid5_text

FILING_NUMBER_RULES: Final = tuple(int(rule) for rule in FilingNumberRule)


class _Head(Protocol):
    """What names an event (audit.offline.replay_base's ``_Head``)."""

    leaf_index: int
    originator_id: str
    topic: str
    actor_id: str
    role: str

    def fail(self, reason: str) -> Exception: ...


class _Reads(Protocol):
    """An event's state, as audit.offline.replay_base's ``_Event`` reads it."""

    @property
    def head(self) -> _Head: ...

    def fail(self, reason: str) -> Exception: ...

    def text(self, name: str, *, empty: bool = False) -> str: ...

    def integer(self, name: str) -> int: ...

    def uuid(self, name: str) -> str: ...


class _Product(Protocol):
    """What N1-N2 read of a replayed product (audit.offline.replay_base's ``_Aggregate``)."""

    status: str
    first_approved_at: datetime | None
    first_region: str
    filing_number: str | None


# --- stateless: an event's fields ---------------------------------------------------------------
def _number(current: _Reads) -> FilingNumber:
    text = current.text("filing_number")
    misfit = filing_number_misfit(text)
    if misfit is not None:
        raise current.fail(f"filing_number is not well formed: {misfit} (N1)")
    number = parse_filing_number(text)
    region_misfit = region_code_misfit(number.region_code)
    if region_misfit is not None:
        raise current.fail(f"filing_number {text}: its region is no region code: {region_misfit}")
    return number


def read_number_assigned(current: _Reads) -> tuple[FilingNumber]:
    """N1, stateless: the rule is v1 and the number well formed."""
    rule = current.integer("filing_number_rule")
    if rule not in FILING_NUMBER_RULES or rule == FilingNumberRule.NONE:
        raise current.fail(f"filing_number_rule {rule}: want 1 (N1)")
    return (_number(current),)


def read_series_opened(current: _Reads) -> tuple[FilingNumber, str]:
    """N3, stateless: the series' id is its (year, region)'s, and its first number is
    00001 of that series, issued to a product id."""
    number = _number(current)
    year, region_code = current.integer("year"), current.text("region_code")
    sequence, product_id = current.integer("sequence"), current.uuid("product_id")
    if (year, region_code, sequence) != (number.year, number.region_code, 1):
        raise current.fail(
            f"series ({year}, {region_code}) opens at sequence {sequence} with number "
            f"{number.text}: want sequence 1, number "
            f"{_format(year, region_code, 1, current)} (N3)"
        )
    want = uuid5_text(FILING_NUMBER_NAMESPACE, series_key(year, region_code))  # series_id
    if current.head.originator_id != want:
        raise current.fail(
            f"aggregate id {current.head.originator_id}: want {want}, the series of "
            f"{number.series} (N3)"
        )
    return number, product_id


def read_number_issued(current: _Reads) -> tuple[FilingNumber, str]:
    """N3, stateless: the number's sequence is the event's, issued to a product id."""
    number = _number(current)
    sequence, product_id = current.integer("sequence"), current.uuid("product_id")
    if sequence != number.sequence:
        raise current.fail(f"sequence {sequence} issues number {number.text} (N3)")
    series = uuid5_text(FILING_NUMBER_NAMESPACE, series_key(number.year, number.region_code))
    if current.head.originator_id != series:  # str(series_id(year, region))
        raise current.fail(
            f"number {number.text} issued by series {current.head.originator_id}: want "
            f"{series}, the series of {number.series} (N3)"
        )
    return number, product_id


def _format(year: int, region_code: str, sequence: int, current: _Reads) -> str:
    try:
        return format_filing_number(year, region_code, sequence)
    except ValueError as exc:
        raise current.fail(f"series ({year}, {region_code}): {exc} (N3)") from None


# --- stateful ---------------------------------------------------------------------------------
class ReplayFilingNumbers:
    """The filing numbers of the log so far: the rule in force, the save in progress, every
    number issued."""

    def __init__(self) -> None:
        self._since: int | None = None  # the leaf of the first FilingNumberAssigned (N5)
        self._approved: _Head | None = None  # a FilingApproved of a product with no number
        self._assigned: tuple[_Head, str, FilingNumber] | None = None  # awaiting its series
        self._issued: set[str] = set()  # every number issued (N4)

    def before(self, head: _Head) -> None:
        """Steps of a save: the event after an approval or an assignment is its pair (N3,
        N5), and a series event follows its assignment (N3)."""
        approved, assigned, topic = self._approved, self._assigned, head.topic
        self._approved = None
        if assigned is not None and not topic.startswith(_SERIES_TOPIC):
            raise _unpaired(assigned[0], f"the next event (leaf {head.leaf_index}) is {topic}")
        if assigned is None and topic.startswith(_SERIES_TOPIC):
            raise head.fail(
                f"{topic.rsplit('.', 1)[1]} does not follow the FilingNumberAssigned of its "
                "save (N3)"
            )
        pairs = (
            approved is not None
            and topic == _ASSIGNED
            and head.originator_id == approved.originator_id
        )
        if approved is not None and not pairs and self._since is not None:
            raise _unnumbered(approved, self._since, f"the next event is {topic}")
        self._approved = approved if pairs else None  # assigned() reads it: the approval's save

    def approved(self, head: _Head, product: _Product) -> None:
        """A FilingApproved: only the next event may number the product in its save (N5)."""
        if product.filing_number is None:
            self._approved = head

    def assigned(self, head: _Head, number: FilingNumber, product: _Product) -> None:
        """N1, N2: a FilingNumberAssigned on ``product``."""
        self._approved = None  # numbered in the approval's save (N5)
        if product.first_approved_at is None or product.status == "withdrawn":
            raise head.fail(
                f"numbering a product that is {product.status}: only a product approved at "
                "least once and not withdrawn takes a number (N1)"
            )
        if product.filing_number is not None:
            raise head.fail(
                f"numbering a product that has filing number {product.filing_number}: one "
                "number per product (N1)"
            )
        year = approval_year(product.first_approved_at)
        if (number.year, number.region_code) != (year, product.first_region):
            raise head.fail(
                f"filing number {number.text}: the product was first approved in {year} "
                f"(UTC+8) in region {product.first_region}, want {year}-"
                f"{product.first_region}-... (N2)"
            )
        product.filing_number = number.text
        if self._since is None:
            self._since = head.leaf_index  # N5
        self._assigned = (head, head.originator_id, number)

    def issued(self, head: _Head, number: FilingNumber, product_id: str, version: int) -> None:
        """N3, N4: the series event of the assignment just before it; ``version`` is the
        series' version this event brings it to."""
        assigned = self._assigned
        self._assigned = None
        if assigned is None:  # before() refused it already
            raise head.fail("a series event without its FilingNumberAssigned (N3)")
        assignment, owner, want = assigned
        if (product_id, number) != (owner, want):
            raise head.fail(
                f"series issues {number.text} to {product_id}: the save assigned {want.text} "
                f"to {owner} (N3)"
            )
        if (head.actor_id, head.role) != (assignment.actor_id, assignment.role):
            raise head.fail(f"issued by actor {head.actor_id}: the save's is {assignment.actor_id}")
        if number.sequence != version:
            raise head.fail(
                f"number {number.text} issued as the series' event {version}: want sequence "
                f"{version}, the next of the series, no gap (N3)"
            )
        if number.text in self._issued:
            raise head.fail(f"filing number {number.text} is issued twice (N4)")
        self._issued.add(number.text)

    def finish(self) -> None:
        """End of the log: no save left half-seen (N3, N5)."""
        if self._assigned is not None:
            raise _unpaired(self._assigned[0], "the log ends before it")
        if self._approved is not None and self._since is not None:
            raise _unnumbered(self._approved, self._since, "the log ends")


_ASSIGNED: Final = "domain.product:Product.FilingNumberAssigned"
_SERIES_TOPIC: Final = "domain.filing_number:FilingNumberSeries."


def _unpaired(assigned: _Head, what: str) -> Exception:
    return assigned.fail(
        "FilingNumberAssigned is not followed by the series event issuing its number in its "
        f"save: {what} (N3)"
    )


def _unnumbered(approved: _Head, since: int, what: str) -> Exception:
    return approved.fail(
        f"approving a product without a filing number while filing number rule v1 is in "
        f"force (since leaf {since}): {what}, want its FilingNumberAssigned (N5)"
    )


class FilingNumberRules:
    """The filing numbers' handlers, mixed into ``audit.offline.replay.ReplayChecker`` (which
    provides the state and calls ``_first_approval`` from its FilingApproved handler)."""

    _aggregates: dict[str, _Aggregate]
    _numbers: ReplayFilingNumbers

    def _first_approval(self, head: _EventHead, product: _Aggregate, approved_at: datetime) -> None:
        """N2, N5: a product's first approval fixes what its number is made of (the instant
        and the filer's region then); an approval of a product without a number needs one
        in its save once the rule is in force."""
        if product.first_approved_at is None:
            filer = self._aggregates.get(uuid5_text(FILER_NAMESPACE, product.owner_uscc))
            product.first_approved_at = approved_at
            product.first_region = "" if filer is None else filer.region_code
        self._numbers.approved(head, product)

    def _number_assigned(self, head: _EventHead, fields: Fields, product: _Aggregate) -> None:
        (number,) = fields  # N1, N2
        self._numbers.assigned(head, number, product)

    def _series_opened(self, head: _EventHead, fields: Fields) -> _Aggregate:
        number, product_id = fields  # N3, N4
        self._numbers.issued(head, number, product_id, 1)
        return _Aggregate(SERIES, 1, ISSUING, owner_uscc="")

    def _number_issued(self, head: _EventHead, fields: Fields, series: _Aggregate) -> None:
        number, product_id = fields  # N3, N4
        self._numbers.issued(head, number, product_id, series.version + 1)
