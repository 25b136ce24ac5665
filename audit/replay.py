"""Replay check: the logged events rebuild valid aggregates.

Why: a signature proves who wrote an event, not that the event was allowed. The offline
auditor re-runs the aggregates' state machines over the whole log, in log order, and refuses
the first event the domain could not have emitted: an approval before real-name verification,
a filing by a filer that was never approved, a key moved to another filer's product...

This is an independent re-implementation, standard library only (it imports nothing from
``domain`` or ``eventsourcing``), driven by two tables: ``_CREATIONS`` and ``_CHANGES`` map
each event topic to its aggregate kind, the actor roles allowed to cause it and a small
handler. It MIRRORS domain/filer.py, domain/product.py, domain/reservation.py,
domain/conversion.py and the command rules of domain/application.py (``actor.require``, who
acts for which USCC, what is saved together) and MUST CHANGE WITH THEM: a new event needs a
row here or honest logs fail the audit, and a new guard needs a line here or forged logs pass.

Rules (every failure raises ``audit.errors.InvalidReplayError`` naming the event):

Every event
  E1  Events come in log order: leaf indices are non-negative and strictly increase.
  E2  The topic is in the tables below and belongs to the aggregate's kind.
  E3  An aggregate's first event is its kind's creation event (FilerRegistered, ProductFiled,
      ProductKeyReserved, ConversionRecordOpened) at version 1, whose ``originator_topic``
      names the aggregate class; no creation event for an existing aggregate; every later
      event is at the previous version + 1.
  E4  The state is an object with a UTC ``timestamp`` and an ``actor`` {id, role, scope}; the
      role is one the command permits, and a filer or institution acts for the USCC
      concerned where the command checks it (``_check_acts_for`` / ``_check_owns``).
  E5  A ProductFiled is immediately followed by the ProductKeyReserved or ProductKeyReassigned
      that binds it: ``file_product`` saves ``product, reservation`` in one ``save()``, the
      product's event first, and a save's events are contiguous in the log.
  Any field a rule reads that is missing or of the wrong type is refused, never a crash.

Filer (domain.filer)
  F1  Registered under id uuid5(FILER_NAMESPACE, uscc) by the filer itself or a reviewer.
  F2  Real-name verification happens once (system or reviewer).
  F3  Approval only while pending_review and verified; rejection only while pending_review,
      with a reason (reviewer); resubmission only when rejected, by the filer itself.

Product (domain.product)
  P1  Filed by an actor acting for ``filer_uscc``; ``filer_id`` names a filer that exists and
      is approved at that point of the log and has that USCC; at least one patent, none twice.
  P2  Approval only while pending_review and with no open dispute; rejection only while
      pending_review, with a reason (reviewer).
  P3  Revision by the filer, only from approved or rejected, to a strictly later data year,
      with at least one patent; the filing goes back to pending_review.
  P4  Withdrawal by the filer or a reviewer, with a reason, unless already withdrawn.
  P5  A dispute is raised (reviewer or any filer) on a filing not withdrawn, under an id never
      used on it, over one or more patents the filing declares, none already in an open
      dispute.
  P6  Only an open dispute is resolved (reviewer), with a known outcome. Like the domain,
      this is allowed after withdrawal; everything else after withdrawal is refused.

Reservation (domain.reservation)
  K1  ProductKeyReserved: id uuid5(PRODUCT_KEY_NAMESPACE, canonical_key); it binds the
      ProductFiled just before it, which has the same key and filer USCC (E5).
  K2  ProductKeyReassigned: ``previous_product_id`` is the filing holding the key and that
      filing is withdrawn at this point; it binds the ProductFiled just before it, which has
      the reservation's key and filer USCC (only the same filer re-files).

Conversion (domain.conversion)
  C1  ConversionRecordOpened: id uuid5(CONVERSION_NAMESPACE, uscc + U+001F + patent), by the
      institution itself, whose registration authority is 1 or 5.
  C2  ConversionReported: only on an opened record (E3), by its institution, with a known
      category, an ISO date and a null or non-negative integer amount.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Final
from uuid import UUID, uuid5

from audit.errors import InvalidReplayError
from audit.logged_event import LoggedEvent

# Deterministic ids of the domain (copied: the verifier must not import domain/).
FILER_NAMESPACE: Final = UUID("0d8e3b8c-4a51-5f0e-9a43-3c1f6e2b7d90")  # domain.filer
PRODUCT_KEY_NAMESPACE: Final = UUID("6f1c2b1e-5d0a-5b8e-9c39-2f4f7e6a0d11")  # domain.values
CONVERSION_NAMESPACE: Final = UUID("8b7f4a2e-1c3d-5e6f-8a9b-0c1d2e3f4a5b")  # domain.conversion

# Aggregate kinds and the topics of their classes.
FILER: Final = "filer"
PRODUCT: Final = "product"
RESERVATION: Final = "reservation"
CONVERSION: Final = "conversion"
AGGREGATE_TOPICS: Final[Mapping[str, str]] = MappingProxyType(
    {
        FILER: "domain.filer:Filer",
        PRODUCT: "domain.product:Product",
        RESERVATION: "domain.reservation:ProductKeyReservation",
        CONVERSION: "domain.conversion:PatentConversion",
    }
)

# Event topics.
FILER_REGISTERED: Final = "domain.filer:Filer.FilerRegistered"
FILER_REAL_NAME_VERIFIED: Final = "domain.filer:Filer.FilerRealNameVerified"
FILER_APPROVED: Final = "domain.filer:Filer.FilerApproved"
FILER_REJECTED: Final = "domain.filer:Filer.FilerRejected"
FILER_RESUBMITTED: Final = "domain.filer:Filer.FilerResubmitted"
PRODUCT_FILED: Final = "domain.product:Product.ProductFiled"
FILING_APPROVED: Final = "domain.product:Product.FilingApproved"
FILING_REJECTED: Final = "domain.product:Product.FilingRejected"
PRODUCT_REVISED: Final = "domain.product:Product.ProductRevised"
PRODUCT_WITHDRAWN: Final = "domain.product:Product.ProductWithdrawn"
DISPUTE_RAISED: Final = "domain.product:Product.OwnershipDisputeRaised"
DISPUTE_RESOLVED: Final = "domain.product:Product.OwnershipDisputeResolved"
KEY_RESERVED: Final = "domain.reservation:ProductKeyReservation.ProductKeyReserved"
KEY_REASSIGNED: Final = "domain.reservation:ProductKeyReservation.ProductKeyReassigned"
CONVERSION_OPENED: Final = "domain.conversion:PatentConversion.ConversionRecordOpened"
CONVERSION_REPORTED: Final = "domain.conversion:PatentConversion.ConversionReported"

# Statuses (filer and product statuses are the domain's values).
PENDING_REVIEW: Final = "pending_review"
APPROVED: Final = "approved"
REJECTED: Final = "rejected"
WITHDRAWN: Final = "withdrawn"
RESERVED: Final = "reserved"  # the key is still bound to its first filing
REASSIGNED: Final = "reassigned"  # the key moved to a re-filing at least once
OPENED: Final = "opened"  # a conversion record without a report (the domain never saves one)
REPORTED: Final = "reported"

# Roles (domain.actor.Role values).
_FILER_ROLE: Final = "filer"
_REVIEWER: Final = "reviewer"
_SYSTEM: Final = "system"
_INSTITUTION: Final = "institution"
_ACTS_FOR_A_USCC: Final = frozenset({_FILER_ROLE, _INSTITUTION})

_DISPUTE_OUTCOMES: Final = frozenset({"claim_dismissed", "claim_upheld", "settled"})
_CONVERSION_CATEGORIES: Final = frozenset(
    {
        "assigned",
        "equity_contribution",
        "open_licence",
        "ordinary_licence",
        "sole_licence",
        "exclusive_licence",
        "industrialised_by_licensee",
        "industrialised_by_partner",
        "patent_pool",
    }
)
_INSTITUTION_AUTHORITIES: Final = frozenset({"1", "5"})
_CANONICAL_UUID: Final = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)  # how str(UUID) spells a UUID


@dataclass(frozen=True, slots=True)
class ReplaySummary:
    """What a complete replay found: how many events, aggregates per kind, final statuses.

    ``statuses[kind][status]`` counts the aggregates of ``kind`` that ended in ``status``:
    filers and products use the domain's statuses; reservations are ``reserved`` or
    ``reassigned``; conversion records ``opened`` or ``reported``.
    """

    events: int
    aggregates: Mapping[str, int]
    statuses: Mapping[str, Mapping[str, int]]


@dataclass(slots=True)
class _Aggregate:
    """The replayed state of one aggregate: only what some rule reads."""

    kind: str
    version: int
    status: str
    owner_uscc: str  # filer: its USCC; product, reservation: filer_uscc; conversion: institution
    verified: bool = False  # filer: real-name verified
    data_year: int = 0  # product
    canonical_key: str = ""  # product, reservation
    patents: frozenset[str] = frozenset()  # product: the patent numbers it declares now
    open_disputes: dict[str, frozenset[str]] = field(default_factory=dict)  # product
    dispute_ids: set[str] = field(default_factory=set)  # product: every dispute id ever used
    holder: str | None = None  # reservation: the filing that holds the key (its UUID's text)


# --- one event: what the stateful rules read, and the stateless checks of its state ----------
# Every check of an event is either stateless (the shape of its state, its own fields, ids
# derived from them, the role its topic allows) or reads the replayed state. ``prepare`` runs
# the stateless ones ahead (the offline verifier, in its worker processes) and hands over only
# the few facts the others read, for ``ReplayChecker.apply_prepared``, which gives the verdict
# ``apply`` gives: if a stateless check fails, ``prepare`` says so and the event goes through
# ``apply``, which raises it in its place. Within one event's rule, its own fields are checked
# before the rule reads the replayed state. Ids are kept as the canonical text of their UUID
# (``str(UUID)``): hashed in C, pickled cheaply, and turned into a ``UUID`` only to name an
# event in an error.

Fields = tuple[Any, ...]
"""The values a topic's stateful rule reads, as its stateless half checked them."""

Prepared = tuple[str, str, str | None, Fields]
"""An event's stateless checks passed: actor id, role, scope, and its topic's fields."""


class _Head:
    """An event's place in the log and its actor: all the stateful rules read of it."""

    __slots__ = ("actor_id", "leaf_index", "originator_id", "role", "scope", "topic", "version")

    def __init__(
        self,
        leaf_index: int,
        originator_id: str,
        version: int,
        topic: str,
        actor_id: str,
        role: str,
        scope: str | None,
    ) -> None:
        self.leaf_index = leaf_index
        self.originator_id = originator_id  # canonical text of the UUID
        self.version = version
        self.topic = topic
        self.actor_id = actor_id
        self.role = role
        self.scope = scope

    def fail(self, reason: str) -> InvalidReplayError:
        return InvalidReplayError(UUID(self.originator_id), self.version, self.leaf_index, reason)

    def require_acts_for(self, uscc: str) -> None:
        """A filer or institution acts only for its own USCC (its scope)."""
        if self.role in _ACTS_FOR_A_USCC and self.scope != uscc:
            raise self.fail(
                f"actor {self.actor_id} ({self.role}) acts for {self.scope}, not for {uscc}"
            )

    def require_status(self, aggregate: _Aggregate, *allowed: str, doing: str) -> None:
        if aggregate.status not in allowed:
            want = " or ".join(allowed)
            raise self.fail(f"{doing} a {aggregate.kind} that is {aggregate.status}: want {want}")


class _Event:
    """An event's state, read field by field: a read raises ``InvalidReplayError`` naming the
    event, never ``KeyError``. Building one checks the state's common shape (E4)."""

    __slots__ = ("head", "state")

    def __init__(
        self, leaf_index: int, originator_id: str, version: int, topic: str, state: object
    ) -> None:
        # A head without an actor yet, to name the event if the shape is wrong.
        self.head = _Head(leaf_index, originator_id, version, topic, "", "", None)
        if type(state) is not dict and not isinstance(state, Mapping):
            raise self.fail(f"state is a {type(state).__name__}: want an object")
        self.state: Mapping[object, object] = state
        timestamp = self.field("timestamp")
        if not isinstance(timestamp, datetime) or timestamp.utcoffset() is None:
            raise self.fail(f"timestamp is {timestamp!r}: want a UTC datetime")
        actor = self.field("actor")
        if not (type(actor) is dict or isinstance(actor, Mapping)) or not (
            "id" in actor and "role" in actor and "scope" in actor
        ):
            raise self.fail(f"actor is {actor!r}: want an object with id, role and scope")
        actor_id, role, scope = actor["id"], actor["role"], actor["scope"]
        if not (isinstance(actor_id, str) and actor_id and isinstance(role, str)):
            raise self.fail(f"actor id {actor_id!r}, role {role!r}: want non-empty strings")
        if scope is not None and not isinstance(scope, str):
            raise self.fail(f"actor scope {scope!r}: want a string or null")
        head = self.head
        head.actor_id, head.role, head.scope = actor_id, role, scope

    def fail(self, reason: str) -> InvalidReplayError:
        return self.head.fail(reason)

    def field(self, name: str) -> object:
        if name not in self.state:
            raise self.fail(f"state has no {name!r}")
        return self.state[name]

    def text(self, name: str, *, empty: bool = False) -> str:
        value = self.field(name)
        if not isinstance(value, str) or not (value or empty):
            want = "a string" if empty else "a non-empty string"
            raise self.fail(f"{name} is {value!r}: want {want}")
        return value

    def integer(self, name: str) -> int:
        value = self.field(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{name} is {value!r}: want an integer")
        return value

    def uuid(self, name: str) -> str:
        """A UUID stored as text, in its one canonical spelling (``str(UUID)``): that text."""
        text = self.text(name)
        if not _CANONICAL_UUID.fullmatch(text):  # = str(UUID(text)) == text, without a UUID
            raise self.fail(f"{name} is {text!r}: want a UUID such as {UUID(int=0)}")
        return text

    def texts(self, name: str) -> list[str]:
        values = self.field(name)
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise self.fail(f"{name} is {values!r}: want a list of non-empty strings")
        return values

    def patents(self) -> frozenset[str]:
        """The numbers of the declared patents: at least one, none declared twice."""
        records = self.field("patents")
        if not isinstance(records, list) or not records:
            raise self.fail(f"patents is {records!r}: want at least one declared patent")
        numbers: list[str] = []
        for record in records:
            number = (
                record.get("number")
                if type(record) is dict or isinstance(record, Mapping)
                else None
            )
            if not isinstance(number, str) or not number:
                raise self.fail(f"patent declaration {record!r}: want an object with a number")
            numbers.append(number)
        if len(set(numbers)) != len(numbers):
            raise self.fail(f"patents {numbers}: a patent is declared twice")
        return frozenset(numbers)

    def require_id(self, want: UUID, derivation: str) -> None:
        if self.head.originator_id != str(want):
            raise self.fail(f"aggregate id {self.head.originator_id}: want {want} ({derivation})")


def _check_stateless(current: _Event, rule: _Creation | _Change) -> Fields:
    """Steps (4)-(6) of ``ReplayChecker.apply`` that read no state, in their order.

    Raises:
        InvalidReplayError: a creation's ``originator_topic``, the actor's role or a field
            its topic's rule reads is wrong.
    """
    if isinstance(rule, _Creation):
        originator_topic = current.text("originator_topic")
        if originator_topic != AGGREGATE_TOPICS[rule.kind]:
            raise current.fail(
                f"originator_topic {originator_topic!r}: want {AGGREGATE_TOPICS[rule.kind]!r}"
            )
    head = current.head
    if head.role not in rule.roles:
        roles = ", ".join(sorted(rule.roles))
        raise current.fail(f"actor {head.actor_id} has role {head.role}: want one of {roles}")
    return rule.read(current)


def prepare(
    leaf_index: int, originator_id: str, version: int, topic: str, state: object
) -> Prepared | None:
    """The stateless checks of one event, done ahead (e.g. in another process).

    ``originator_id`` is the canonical text of the aggregate's UUID (``str(UUID)``). Returns
    the actor and the fields its topic's rule reads, for ``ReplayChecker.apply_prepared``; or
    ``None`` when a stateless check fails or the topic is unknown, and then the event must go
    through ``ReplayChecker.apply`` (with its decoded state), which reports the failure in
    its place among the stateful checks: this never raises, and never changes a verdict.
    """
    rule = _CREATIONS.get(topic) or _CHANGES.get(topic)
    if rule is None:
        return None
    try:
        current = _Event(leaf_index, originator_id, version, topic, state)
        fields = _check_stateless(current, rule)
    except InvalidReplayError:
        return None
    head = current.head
    return head.actor_id, head.role, head.scope, fields


class ReplayChecker:
    """Replays logged events, in log order, through the aggregates' state machines.

    Feed every event of the log to :meth:`apply` (or, its stateless checks done ahead by
    :func:`prepare`, to :meth:`apply_prepared`), then call :meth:`finish`. The rules are in
    this module's docstring. After an error the checker's state is unspecified: start again.
    """

    def __init__(self) -> None:
        self._aggregates: dict[str, _Aggregate] = {}  # by the canonical text of the UUID
        self._last_leaf: int | None = None
        self._unbound: _Head | None = None  # a ProductFiled awaiting its key event (E5)
        self._events = 0

    def apply(self, event: LoggedEvent) -> None:
        """Check ``event`` against the state so far, then apply it.

        Raises:
            InvalidReplayError: the event breaks a rule; names its aggregate, version and leaf.
        """
        current = _Event(  # (1) the state's common shape (E4)
            event.leaf_index, str(event.originator_id), event.version, event.topic, event.state
        )
        self._apply(current.head, current, ())

    def apply_prepared(
        self, leaf_index: int, originator_id: str, version: int, topic: str, prepared: Prepared
    ) -> None:
        """``apply`` for an event whose stateless checks ``prepare`` passed: same verdict.

        ``originator_id`` is the canonical text of the UUID; ``prepared`` is what ``prepare``
        returned for this very event (never ``None``).

        Raises:
            InvalidReplayError: the event breaks a stateful rule; names it.
        """
        actor_id, role, scope, fields = prepared
        head = _Head(leaf_index, originator_id, version, topic, actor_id, role, scope)
        self._apply(head, None, fields)

    def _apply(self, head: _Head, current: _Event | None, fields: Fields) -> None:
        """Steps (2)-(6) of one event; with ``current`` (its state) also the stateless ones.

        Without ``current``, ``prepare`` passed them and ``fields`` is what they read.
        """
        # (1) the state's common shape (E4, stateless: done by the caller); (2) log order (E1);
        # (3) a filing is bound by the next event (E5); (4) topic, aggregate and version (E2,
        # E3); (5) actor role (E4); (6) the event's own rule: its fields (stateless), then the
        # rule against the state.
        leaf_index = head.leaf_index
        if leaf_index < 0 or (self._last_leaf is not None and leaf_index <= self._last_leaf):
            raise head.fail(  # (2)
                f"leaf index {leaf_index} after leaf {self._last_leaf}: want events in "
                "log order, each leaf once"
            )
        unbound, topic = self._unbound, head.topic
        if unbound is not None and topic not in (KEY_RESERVED, KEY_REASSIGNED):  # (3)
            raise _unbound_error(unbound, f"the next event (leaf {leaf_index}) is {topic}")
        existing = self._aggregates.get(head.originator_id)
        creation = _CREATIONS.get(topic)
        if creation is not None:  # (4)
            if existing is not None:
                raise head.fail(
                    f"{topic} creates an aggregate that exists ({existing.kind} "
                    f"at v{existing.version})"
                )
            if head.version != 1:
                raise head.fail(f"creation event at version {head.version}: want 1")
            if current is not None:  # originator_topic (E3), (5) and (6)'s fields
                fields = _check_stateless(current, creation)
            self._aggregates[head.originator_id] = creation.create(self, head, fields)  # (6)
        else:
            change = _CHANGES.get(topic)
            if change is None:  # (4)
                raise head.fail(f"unknown topic {topic!r}")
            if existing is None:
                raise head.fail(
                    f"first event of an aggregate is {topic}: want a creation event "
                    f"({', '.join(sorted(_CREATIONS))})"
                )
            if existing.kind != change.kind:
                raise head.fail(
                    f"{topic} is a {change.kind} event, but the aggregate is a {existing.kind}"
                )
            if head.version != existing.version + 1:
                raise head.fail(f"version {head.version}: want {existing.version + 1}")
            if current is not None:  # (5) and (6)'s fields
                fields = _check_stateless(current, change)
            change.apply(self, head, fields, existing)  # (6)
            existing.version = head.version
        self._last_leaf = leaf_index
        self._events += 1

    def finish(self) -> ReplaySummary:
        """End of the log: check nothing is left half-saved and summarise the replay.

        Raises:
            InvalidReplayError: the last event is a ProductFiled without its key event (E5).
        """
        if self._unbound is not None:
            raise _unbound_error(self._unbound, "the log ends before it")
        kinds = Counter(aggregate.kind for aggregate in self._aggregates.values())
        statuses: dict[str, Counter[str]] = {kind: Counter() for kind in sorted(kinds)}
        for aggregate in self._aggregates.values():
            statuses[aggregate.kind][aggregate.status] += 1
        return ReplaySummary(
            events=self._events,
            aggregates=MappingProxyType(dict(sorted(kinds.items()))),
            statuses=MappingProxyType(
                {kind: MappingProxyType(dict(sorted(c.items()))) for kind, c in statuses.items()}
            ),
        )

    def _find(self, head: _Head, aggregate_id: str, kind: str, role: str) -> _Aggregate:
        found = self._aggregates.get(aggregate_id)
        if found is None or found.kind != kind:
            raise head.fail(f"{role} {aggregate_id} is not a {kind} in the log before this")
        return found

    # --- filer ------------------------------------------------------------------------------
    def _filer_registered(self, head: _Head, fields: Fields) -> _Aggregate:
        (uscc,) = fields
        return _Aggregate(FILER, 1, PENDING_REVIEW, owner_uscc=uscc)

    def _filer_verified(self, head: _Head, fields: Fields, filer: _Aggregate) -> None:
        if filer.verified:  # F2
            raise head.fail("filer is already real-name verified: verification happens once")
        filer.verified = True

    def _filer_approved(self, head: _Head, fields: Fields, filer: _Aggregate) -> None:
        head.require_status(filer, PENDING_REVIEW, doing="approving")  # F3
        if not filer.verified:
            raise head.fail("approving a filer that has not passed real-name verification")
        filer.status = APPROVED

    def _filer_rejected(self, head: _Head, fields: Fields, filer: _Aggregate) -> None:
        head.require_status(filer, PENDING_REVIEW, doing="rejecting")  # F3
        filer.status = REJECTED

    def _filer_resubmitted(self, head: _Head, fields: Fields, filer: _Aggregate) -> None:
        head.require_status(filer, REJECTED, doing="resubmitting")  # F3
        head.require_acts_for(filer.owner_uscc)
        filer.status = PENDING_REVIEW

    # --- product ----------------------------------------------------------------------------
    def _product_filed(self, head: _Head, fields: Fields) -> _Aggregate:
        filer_uscc, filer_id, data_year, canonical_key, patents = fields  # P1
        filer = self._find(head, filer_id, FILER, "filer_id")
        if filer.status != APPROVED:
            raise head.fail(
                f"filed by filer {filer_id} while it is {filer.status}: only approved filers file"
            )
        if filer.owner_uscc != filer_uscc:
            raise head.fail(
                f"filer_uscc {filer_uscc}: filer {filer_id} has USCC {filer.owner_uscc}"
            )
        self._unbound = head  # E5
        return _Aggregate(
            PRODUCT,
            1,
            PENDING_REVIEW,
            owner_uscc=filer_uscc,
            data_year=data_year,
            canonical_key=canonical_key,
            patents=patents,
        )

    def _filing_approved(self, head: _Head, fields: Fields, product: _Aggregate) -> None:
        head.require_status(product, PENDING_REVIEW, doing="approving")  # P2
        if product.open_disputes:
            raise head.fail(
                f"approving a product with open ownership dispute(s) "
                f"{', '.join(sorted(product.open_disputes))}"
            )
        product.status = APPROVED

    def _filing_rejected(self, head: _Head, fields: Fields, product: _Aggregate) -> None:
        head.require_status(product, PENDING_REVIEW, doing="rejecting")  # P2
        product.status = REJECTED

    def _product_revised(self, head: _Head, fields: Fields, product: _Aggregate) -> None:
        data_year, patents = fields
        head.require_acts_for(product.owner_uscc)  # P3
        head.require_status(product, APPROVED, REJECTED, doing="revising")
        if data_year <= product.data_year:
            raise head.fail(
                f"revising to data year {data_year}: want a year after {product.data_year}"
            )
        product.data_year, product.patents, product.status = data_year, patents, PENDING_REVIEW

    def _product_withdrawn(self, head: _Head, fields: Fields, product: _Aggregate) -> None:
        head.require_acts_for(product.owner_uscc)  # P4
        head.require_status(product, PENDING_REVIEW, APPROVED, REJECTED, doing="withdrawing")
        product.status = WITHDRAWN

    def _dispute_raised(self, head: _Head, fields: Fields, product: _Aggregate) -> None:
        dispute_id, numbers = fields
        head.require_status(  # P5
            product, PENDING_REVIEW, APPROVED, REJECTED, doing="raising a dispute on"
        )
        if dispute_id in product.dispute_ids:
            raise head.fail(f"dispute id {dispute_id} is already used on this product")
        if not numbers or not numbers <= product.patents:
            raise head.fail(
                f"dispute over patents {sorted(numbers)}: want one or more of the declared "
                f"{sorted(product.patents)}"
            )
        for open_id, disputed in sorted(product.open_disputes.items()):
            if numbers & disputed:
                raise head.fail(
                    f"patent(s) {sorted(numbers & disputed)} already in open dispute {open_id}"
                )
        product.open_disputes[dispute_id] = numbers
        product.dispute_ids.add(dispute_id)

    def _dispute_resolved(self, head: _Head, fields: Fields, product: _Aggregate) -> None:
        (dispute_id,) = fields  # P6
        if dispute_id not in product.open_disputes:
            raise head.fail(f"resolving dispute {dispute_id}, which is not open")
        del product.open_disputes[dispute_id]

    # --- reservation ------------------------------------------------------------------------
    def _key_reserved(self, head: _Head, fields: Fields) -> _Aggregate:
        key, filer_uscc, product_id = fields  # K1
        holder = self._bind(head, product_id, key, filer_uscc)
        return _Aggregate(
            RESERVATION, 1, RESERVED, owner_uscc=filer_uscc, canonical_key=key, holder=holder
        )

    def _key_reassigned(self, head: _Head, fields: Fields, reservation: _Aggregate) -> None:
        previous_id, product_id = fields
        head.require_acts_for(reservation.owner_uscc)  # K2
        if previous_id != reservation.holder:
            raise head.fail(
                f"previous_product_id {previous_id}: the key is held by {reservation.holder}"
            )
        previous = self._find(head, previous_id, PRODUCT, "previous_product_id")
        if previous.status != WITHDRAWN:
            raise head.fail(
                f"reassigning the key while its holder {previous_id} is {previous.status}: "
                "want withdrawn"
            )
        reservation.holder = self._bind(
            head, product_id, reservation.canonical_key, reservation.owner_uscc
        )
        reservation.status = REASSIGNED

    def _bind(self, head: _Head, product_id: str, key: str, filer_uscc: str) -> str:
        """Check the event binds the ProductFiled just before it, for this key and filer."""
        product = self._find(head, product_id, PRODUCT, "product_id")
        unbound = self._unbound
        if unbound is None or unbound.originator_id != product_id:
            raise head.fail(
                f"product_id {product_id} is not the filing saved with this event (want the "
                "ProductFiled just before it)"
            )
        if product.canonical_key != key:
            raise head.fail(
                f"product {product_id} has canonical_key {product.canonical_key!r}: want {key!r}"
            )
        if product.owner_uscc != filer_uscc:
            raise head.fail(
                f"product {product_id} was filed by {product.owner_uscc}: the key belongs to "
                f"{filer_uscc}"
            )
        self._unbound = None
        return product_id

    # --- conversion -------------------------------------------------------------------------
    def _conversion_opened(self, head: _Head, fields: Fields) -> _Aggregate:
        (uscc,) = fields
        return _Aggregate(CONVERSION, 1, OPENED, owner_uscc=uscc)

    def _conversion_reported(self, head: _Head, fields: Fields, record: _Aggregate) -> None:
        head.require_acts_for(record.owner_uscc)  # C2
        record.status = REPORTED


# --- the stateless half of each rule: the fields it reads, checked ----------------------------
def _read_nothing(current: _Event) -> Fields:
    return ()


def _read_reason(current: _Event) -> Fields:
    current.text("reason")  # F3, P2, P4: a rejection or withdrawal says why
    return ()


def _read_filer_registered(current: _Event) -> Fields:
    uscc = current.text("uscc")
    current.require_id(uuid5(FILER_NAMESPACE, uscc), f"uuid5 of USCC {uscc}")  # F1
    current.head.require_acts_for(uscc)
    return (uscc,)


def _read_filer_verified(current: _Event) -> Fields:
    current.text("reference")  # F2
    return ()


def _read_product_filed(current: _Event) -> Fields:
    filer_uscc = current.text("filer_uscc")  # P1
    current.head.require_acts_for(filer_uscc)
    filer_id = current.uuid("filer_id")
    current.text("name")
    current.text("model", empty=True)
    data_year = current.integer("data_year")
    canonical_key = current.text("canonical_key")
    return filer_uscc, filer_id, data_year, canonical_key, current.patents()


def _read_product_revised(current: _Event) -> Fields:
    return current.integer("data_year"), current.patents()  # P3


def _read_dispute_raised(current: _Event) -> Fields:
    dispute_id = current.text("dispute_id")  # P5
    numbers = frozenset(current.texts("patent_numbers"))
    current.text("claimant")
    return dispute_id, numbers


def _read_dispute_resolved(current: _Event) -> Fields:
    dispute_id = current.text("dispute_id")  # P6
    outcome = current.text("outcome")
    if outcome not in _DISPUTE_OUTCOMES:
        raise current.fail(f"outcome {outcome!r}: want one of {sorted(_DISPUTE_OUTCOMES)}")
    current.text("note")
    return (dispute_id,)


def _read_key_reserved(current: _Event) -> Fields:
    key = current.text("canonical_key")  # K1
    current.require_id(uuid5(PRODUCT_KEY_NAMESPACE, key), "uuid5 of its canonical_key")
    filer_uscc = current.text("filer_uscc")
    current.head.require_acts_for(filer_uscc)
    return key, filer_uscc, current.uuid("product_id")


def _read_key_reassigned(current: _Event) -> Fields:
    return current.uuid("previous_product_id"), current.uuid("product_id")  # K2


def _read_conversion_opened(current: _Event) -> Fields:
    uscc = current.text("institution_uscc")  # C1
    patent_number = current.text("patent_number")
    current.require_id(
        uuid5(CONVERSION_NAMESPACE, f"{uscc}\x1f{patent_number}"),
        "uuid5 of institution_uscc and patent_number",
    )
    if uscc[:1] not in _INSTITUTION_AUTHORITIES:
        raise current.fail(
            f"institution_uscc {uscc}: want registration authority 1 or 5 (an institution)"
        )
    current.head.require_acts_for(uscc)
    current.text("region_code")
    return (uscc,)


def _read_conversion_reported(current: _Event) -> Fields:
    category = current.text("category")  # C2
    if category not in _CONVERSION_CATEGORIES:
        raise current.fail(f"category {category!r}: want one of {sorted(_CONVERSION_CATEGORIES)}")
    occurred_on = current.text("occurred_on")
    try:
        valid_date = date.fromisoformat(occurred_on).isoformat() == occurred_on
    except ValueError:
        valid_date = False
    if not valid_date:
        raise current.fail(f"occurred_on {occurred_on!r}: want YYYY-MM-DD")
    amount = current.field("amount_fen")
    if amount is not None and (
        isinstance(amount, bool) or not isinstance(amount, int) or amount < 0
    ):
        raise current.fail(f"amount_fen {amount!r}: want null or a non-negative integer")
    current.text("counterparty")
    return ()


def replay(events: Iterable[LoggedEvent]) -> ReplaySummary:
    """Replay a whole log (in log order) and summarise it.

    Raises:
        InvalidReplayError: the first event that breaks a rule of this module.
    """
    checker = ReplayChecker()
    for event in events:
        checker.apply(event)
    return checker.finish()


def _unbound_error(filed: _Head, what: str) -> InvalidReplayError:
    """E5 failed: the error names the ProductFiled left without its key event."""
    return filed.fail(
        "ProductFiled is not followed by the ProductKeyReserved or ProductKeyReassigned of its "
        f"save: {what}"
    )


@dataclass(frozen=True, slots=True)
class _Creation:
    kind: str
    roles: frozenset[str]
    read: Callable[[_Event], Fields]
    create: Callable[[ReplayChecker, _Head, Fields], _Aggregate]


@dataclass(frozen=True, slots=True)
class _Change:
    kind: str
    roles: frozenset[str]
    read: Callable[[_Event], Fields]
    apply: Callable[[ReplayChecker, _Head, Fields, _Aggregate], None]


def _roles(*roles: str) -> frozenset[str]:
    return frozenset(roles)


# Topic -> (aggregate kind, roles allowed by the command's actor.require, the fields its rule
# reads (stateless), the rule against the state).
_CREATIONS: Final[Mapping[str, _Creation]] = MappingProxyType(
    {
        FILER_REGISTERED: _Creation(
            FILER,
            _roles(_FILER_ROLE, _REVIEWER),
            _read_filer_registered,
            ReplayChecker._filer_registered,
        ),
        PRODUCT_FILED: _Creation(
            PRODUCT, _roles(_FILER_ROLE), _read_product_filed, ReplayChecker._product_filed
        ),
        KEY_RESERVED: _Creation(
            RESERVATION, _roles(_FILER_ROLE), _read_key_reserved, ReplayChecker._key_reserved
        ),
        CONVERSION_OPENED: _Creation(
            CONVERSION,
            _roles(_INSTITUTION),
            _read_conversion_opened,
            ReplayChecker._conversion_opened,
        ),
    }
)
_CHANGES: Final[Mapping[str, _Change]] = MappingProxyType(
    {
        FILER_REAL_NAME_VERIFIED: _Change(
            FILER, _roles(_SYSTEM, _REVIEWER), _read_filer_verified, ReplayChecker._filer_verified
        ),
        FILER_APPROVED: _Change(
            FILER, _roles(_REVIEWER), _read_nothing, ReplayChecker._filer_approved
        ),
        FILER_REJECTED: _Change(
            FILER, _roles(_REVIEWER), _read_reason, ReplayChecker._filer_rejected
        ),
        FILER_RESUBMITTED: _Change(
            FILER, _roles(_FILER_ROLE), _read_nothing, ReplayChecker._filer_resubmitted
        ),
        FILING_APPROVED: _Change(
            PRODUCT, _roles(_REVIEWER), _read_nothing, ReplayChecker._filing_approved
        ),
        FILING_REJECTED: _Change(
            PRODUCT, _roles(_REVIEWER), _read_reason, ReplayChecker._filing_rejected
        ),
        PRODUCT_REVISED: _Change(
            PRODUCT, _roles(_FILER_ROLE), _read_product_revised, ReplayChecker._product_revised
        ),
        PRODUCT_WITHDRAWN: _Change(
            PRODUCT,
            _roles(_FILER_ROLE, _REVIEWER),
            _read_reason,
            ReplayChecker._product_withdrawn,
        ),
        DISPUTE_RAISED: _Change(
            PRODUCT,
            _roles(_REVIEWER, _FILER_ROLE),
            _read_dispute_raised,
            ReplayChecker._dispute_raised,
        ),
        DISPUTE_RESOLVED: _Change(
            PRODUCT, _roles(_REVIEWER), _read_dispute_resolved, ReplayChecker._dispute_resolved
        ),
        KEY_REASSIGNED: _Change(
            RESERVATION,
            _roles(_FILER_ROLE),
            _read_key_reassigned,
            ReplayChecker._key_reassigned,
        ),
        CONVERSION_REPORTED: _Change(
            CONVERSION,
            _roles(_INSTITUTION),
            _read_conversion_reported,
            ReplayChecker._conversion_reported,
        ),
    }
)
KNOWN_TOPICS: Final = frozenset(_CREATIONS) | frozenset(_CHANGES)
"""Every event topic the replay understands."""
