"""Never filed twice (相同产品不得重复备案), proved from the log alone.

The store enforces the rule with one reservation per product key and key rule
(docs/never-filed-twice.md); this module checks the *outcome* without trusting that
mechanism. It reads every ``ProductFiled``, ``ProductWithdrawn`` and key event in log order
and judges each filing by the key rules in force when it was recorded:

- **v1**, for every filing: a filing of v1 key K is legitimate when every earlier filing of K
  was withdrawn earlier in the log *and* was made by the same filer (a filer may file its own
  withdrawn product again; nobody else may, and a withdrawn filing still holds the key).
- **v2**, for every filing recorded once v2 is in force (its save reserves a v2 key, or a v2
  key event came earlier in the log): the same test against *every* earlier filing with the
  same v2 key, whatever rule that one was filed under.

Filings recorded before v2 that v2 says are one product were legitimate under the rule of
their day: they are reported as :class:`SameProductGroup` (for a reviewer), not as
duplicates. Keys are never taken on trust: both are re-derived from the filing's ``name`` and
``model`` with :mod:`audit.offline.product_key` (the one implementation the domain uses too), and
every stored key that differs from its re-derived key is a :class:`MismatchedKey` finding, in
a list of its own: an auditor wants every such event of the log, not only the first.

What no key decides is listed too, never failed: every **near-duplicate pair** (a filing F
and a candidate G of C(F), screening rule v1 of :mod:`audit.offline.screening`, computed with the
same
``ScreeningIndex`` the ledger and the replay use) with its reasons and the reviewer's decision
as the log records it (:class:`NearDuplicatePair`). The replay (rules S1-S4) checks that the
decisions an approval needs are there; this list shows them to a person.

Standard library only (with audit.offline.product_key's pinned table and audit.offline.screening).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

from audit.offline.errors import InvalidReplayError
from audit.offline.logged_event import LoggedEvent
from audit.offline.product_key import EmptyKeyPartError, KeyRule, product_key
from audit.offline.replay_base import (
    FILING_APPROVED,
    FILING_REJECTED,
    KEY_MIGRATED,
    KEY_REASSIGNED,
    KEY_RESERVED,
    PRODUCT_FILED,
    PRODUCT_WITHDRAWN,
)
from audit.offline.screening import Declaration, ScreeningIndex, ScreeningRule


@dataclass(frozen=True, slots=True)
class ProductRef:
    """One filed product: where its ProductFiled is in the log, its id and its filer."""

    leaf_index: int
    product_id: UUID
    filer_uscc: str


@dataclass(frozen=True, slots=True)
class DuplicateProduct:
    """A product (key under ``key_rule``) filed twice: every product of the key, in log order."""

    canonical_key: str
    products: tuple[ProductRef, ...]
    key_rule: int = int(KeyRule.V1)


@dataclass(frozen=True, slots=True)
class SameProductGroup:
    """Products filed before ``key_rule`` existed that it says are one product.

    Legitimate when recorded (judged by the older rule); listed for a reviewer's decision.
    """

    canonical_key: str
    products: tuple[ProductRef, ...]
    key_rule: int = int(KeyRule.V2)


@dataclass(frozen=True, slots=True)
class MismatchedKey:
    """A stored key that is not the key of its product's name and model under its rule.

    ``product`` is the product; ``leaf_index`` the event that stores the key (the ProductFiled
    for v1, the key event for v2). ``derived_key`` is ``None`` when the name (or a non-blank
    model under v2) is empty after the rule: the domain refuses such a filing.
    """

    product: ProductRef
    stored_key: str
    derived_key: str | None
    key_rule: int
    leaf_index: int


class PairDecision(StrEnum):
    """Where a near-duplicate pair stands, as the log records it."""

    OPEN = "open"  # F was recorded under screening; no decision on G yet
    DISTINCT = "distinct"  # an approval of F recorded "distinct product" from G, with a reason
    REJECTED_AS_DUPLICATE = "rejected as duplicate"  # F was rejected with duplicate_of G
    BEFORE_SCREENING = "before screening"  # F was recorded before screening: none was needed


@dataclass(frozen=True, slots=True)
class NearDuplicatePair:
    """A product and one near-duplicate candidate of it, and the reviewer's latest decision.

    ``reasons`` are the screening reasons (audit.offline.screening.Reason names, sorted); empty
    for a product rejected as a duplicate of one that is not its candidate. ``reason`` is the
    reviewer's reason of a ``DISTINCT`` decision, else ``None``.
    """

    product: ProductRef
    candidate: ProductRef
    reasons: tuple[str, ...]
    decision: PairDecision
    reason: str | None = None

    def decision_text(self) -> str:
        """``distinct: <reason>``, ``rejected as duplicate``, ``open`` or ``before screening``."""
        if self.decision is PairDecision.DISTINCT:
            return f"distinct: {self.reason}"
        return str(self.decision)


@dataclass(frozen=True, slots=True)
class ProductFindings:
    """Every finding of one pass over the log."""

    duplicates: tuple[DuplicateProduct, ...]
    mismatched_keys: tuple[MismatchedKey, ...]
    same_product_groups: tuple[SameProductGroup, ...] = ()
    near_duplicates: tuple[NearDuplicatePair, ...] = ()


def canonical_product_key(name: str, model: str) -> str | None:
    """The key rule v1 key of a product, or ``None`` if its name is empty after the rule."""
    return _derived(KeyRule.V1, name, model)


def _derived(rule: KeyRule, name: str, model: str) -> str | None:
    try:
        return product_key(rule, name, model)
    except EmptyKeyPartError:
        return None


@dataclass
class _Product:
    ref: ProductRef
    name: str
    model: str
    v2_key: str | None
    judged_v2: bool = False


@dataclass
class _Judge:
    """One rule's grouping: filings by key, and the keys found filed twice."""

    by_key: dict[str, list[ProductRef]] = field(default_factory=dict)
    duplicated: set[str] = field(default_factory=set)

    def judge(self, key: str, product: ProductRef, withdrawn: set[UUID]) -> None:
        """Is ``product`` legitimate against every earlier product of ``key``?"""
        earlier = [f for f in self.by_key.get(key, []) if f.product_id != product.product_id]
        if not all(
            f.product_id in withdrawn and f.filer_uscc == product.filer_uscc for f in earlier
        ):
            self.duplicated.add(key)


def audit_products(events: Iterable[LoggedEvent]) -> ProductFindings:
    """Find products filed twice, forged keys, same-product groups and near-duplicate pairs
    in one pass (log order).

    Other topics are skipped; so is a withdrawal, decision or key event of a product not seen
    (audit.offline.replay refuses those). Duplicates come in the order their key was first filed;
    near-duplicate pairs in the order of the product, then of the candidate.

    Raises:
        InvalidReplayError: a ProductFiled without a string ``name``, ``model``,
            ``canonical_key`` or ``filer_uscc``, or without a list of patents with numbers; a
            key event without a string ``canonical_key`` or ``product_id``; a FilingApproved
            whose ``distinct`` is not a list of {product_id, reason} texts; a FilingRejected
            whose ``duplicate_of`` is neither null nor text.
    """
    v1, v2 = _Judge(), _Judge()
    products: dict[UUID, _Product] = {}
    withdrawn: set[UUID] = set()
    mismatched: list[MismatchedKey] = []
    screening = _Screening()
    v2_in_force = False
    for event in events:
        if event.topic == PRODUCT_WITHDRAWN:
            withdrawn.add(event.originator_id)
            screening.index.withdraw(str(event.originator_id), event.leaf_index)
        elif event.topic == PRODUCT_FILED:
            product = _filed(event, v1, v2, withdrawn, mismatched)
            products[product.ref.product_id] = product
            if v2_in_force:
                _judge_v2(product, v2, withdrawn)
            screening.filed(event, product)
        elif event.topic in (KEY_RESERVED, KEY_REASSIGNED, KEY_MIGRATED):
            v2_in_force |= _key_event(event, products, v2, withdrawn, mismatched)
        elif event.topic == FILING_APPROVED:
            screening.approved(event)
        elif event.topic == FILING_REJECTED:
            screening.rejected(event)
    duplicates = [
        DuplicateProduct(key, tuple(refs), int(rule))
        for rule, judge in ((KeyRule.V1, v1), (KeyRule.V2, v2))
        for key, refs in judge.by_key.items()
        if key in judge.duplicated
    ]
    groups = tuple(
        SameProductGroup(key, tuple(refs))
        for key, refs in v2.by_key.items()
        if len(refs) > 1 and key not in v2.duplicated and not _judged_all(refs, products)
    )
    duplicates.sort(key=lambda d: d.products[0].leaf_index)
    return ProductFindings(tuple(duplicates), tuple(mismatched), groups, screening.pairs())


def _filed(
    event: LoggedEvent, v1: _Judge, v2: _Judge, withdrawn: set[UUID],
    mismatched: list[MismatchedKey],
) -> _Product:  # fmt: skip
    """A ProductFiled: judged by v1 at once; its v2 key kept for every later v2 judgement."""
    name, model, stored_key, filer_uscc = _product_fields(event)
    ref = ProductRef(event.leaf_index, event.originator_id, filer_uscc)
    derived = canonical_product_key(name, model)
    if derived != stored_key:
        mismatched.append(MismatchedKey(ref, stored_key, derived, 1, event.leaf_index))
    key = stored_key if derived is None else derived
    v1.judge(key, ref, withdrawn)
    v1.by_key.setdefault(key, []).append(ref)
    v2_key = _derived(KeyRule.V2, name, model)
    if v2_key is not None:
        v2.by_key.setdefault(v2_key, []).append(ref)
    return _Product(ref, name, model, v2_key)


def _judge_v2(product: _Product, v2: _Judge, withdrawn: set[UUID]) -> None:
    if product.judged_v2 or product.v2_key is None:
        return
    product.judged_v2 = True
    refs = v2.by_key[product.v2_key]
    position = refs.index(product.ref)
    earlier = _Judge({product.v2_key: refs[:position]})
    earlier.judge(product.v2_key, product.ref, withdrawn)
    v2.duplicated |= earlier.duplicated


def _key_event(
    event: LoggedEvent, products: Mapping[UUID, _Product], v2: _Judge, withdrawn: set[UUID],
    mismatched: list[MismatchedKey],
) -> bool:  # fmt: skip
    """A key event under v2 checks its stored key and judges the filing it binds at filing
    time (not a migration's). Returns whether it is a v2 key event (v2 is then in force)."""
    state: object = event.state
    rule = state.get("key_rule", 1) if isinstance(state, Mapping) else 1
    if rule != KeyRule.V2:
        return False
    raw_id = _text(event, "product_id")
    try:
        product_id = UUID(raw_id)
    except ValueError:
        raise InvalidReplayError(
            event.originator_id, event.version, event.leaf_index,
            f"product_id is {raw_id!r}: want a UUID",
        ) from None  # fmt: skip
    product = products.get(product_id)
    if product is None:
        return True
    if event.topic != KEY_REASSIGNED:
        stored = _text(event, "canonical_key")
        if stored != product.v2_key:
            mismatched.append(
                MismatchedKey(product.ref, stored, product.v2_key, 2, event.leaf_index)
            )
    if event.topic != KEY_MIGRATED:
        _judge_v2(product, v2, withdrawn)
    return True


@dataclass
class _Screening:
    """Near-duplicate screening over the log: C(F) of every filing, and the decisions."""

    index: ScreeningIndex = field(default_factory=ScreeningIndex)
    refs: dict[str, ProductRef] = field(default_factory=dict)  # by the id's canonical text
    candidates: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    screened: set[str] = field(default_factory=set)  # filings recorded under a screening rule
    # (filing, candidate) -> the latest decision on the pair and its reason
    decisions: dict[tuple[str, str], tuple[PairDecision, str | None]] = field(default_factory=dict)

    def filed(self, event: LoggedEvent, product: _Product) -> None:
        """Index the product and compute its C(F), once, against the products before it."""
        product_id = str(product.ref.product_id)
        self.refs[product_id] = product.ref
        declaration = Declaration(
            product.ref.filer_uscc, product.name, product.model, _patent_numbers(event)
        )
        self.index.add(product_id, event.leaf_index, declaration)
        found = self.index.candidates_of(product_id)
        if found:
            self.candidates[product_id] = {
                other: tuple(str(reason) for reason in reasons) for other, reasons in found.items()
            }
        rule = _state(event).get("screening_rule", int(ScreeningRule.NONE))
        if isinstance(rule, int) and rule >= ScreeningRule.V1:
            self.screened.add(product_id)

    def approved(self, event: LoggedEvent) -> None:
        """Each "distinct product" decision of the approval."""
        decisions = _state(event).get("distinct", [])
        if not isinstance(decisions, list):
            raise _error(event, f"distinct is {decisions!r}: want a list")
        for decision in decisions:
            other = decision.get("product_id") if isinstance(decision, Mapping) else None
            reason = decision.get("reason") if isinstance(decision, Mapping) else None
            if not isinstance(other, str) or not isinstance(reason, str):
                raise _error(event, f"distinct decision {decision!r}: want a product_id and reason")
            key = (str(event.originator_id), other)
            self.decisions[key] = (PairDecision.DISTINCT, reason)

    def rejected(self, event: LoggedEvent) -> None:
        """A rejection as a duplicate decides the pair it names."""
        other = _state(event).get("duplicate_of")
        if other is None:
            return
        if not isinstance(other, str):
            raise _error(event, f"duplicate_of is {other!r}: want null or a filing's UUID")
        key = (str(event.originator_id), other)
        self.decisions[key] = (PairDecision.REJECTED_AS_DUPLICATE, None)

    def pairs(self) -> tuple[NearDuplicatePair, ...]:
        """Every candidate pair, and every pair a rejection names, in log order."""
        keys = {(f, g) for f, found in self.candidates.items() for g in found}
        keys.update(key for key in self.decisions if key[1] in self.refs)
        found_pairs = []
        for product_id, candidate_id in keys:
            if product_id not in self.refs:
                continue
            decision, reason = self.decisions.get((product_id, candidate_id), (None, None))
            if decision is None:
                screened = product_id in self.screened
                decision = PairDecision.OPEN if screened else PairDecision.BEFORE_SCREENING
            found_pairs.append(
                NearDuplicatePair(
                    self.refs[product_id],
                    self.refs[candidate_id],
                    self.candidates.get(product_id, {}).get(candidate_id, ()),
                    decision,
                    reason,
                )
            )
        found_pairs.sort(key=lambda p: (p.product.leaf_index, p.candidate.leaf_index))
        return tuple(found_pairs)


def _state(event: LoggedEvent) -> Mapping[object, object]:
    state: object = event.state
    return state if isinstance(state, Mapping) else {}


def _error(event: LoggedEvent, reason: str) -> InvalidReplayError:
    name = event.topic.rsplit(".", 1)[-1]
    return InvalidReplayError(
        event.originator_id, event.version, event.leaf_index, f"{name} {reason}"
    )


def _patent_numbers(event: LoggedEvent) -> frozenset[str]:
    """The numbers of the patents a ProductFiled declares (what screening compares)."""
    records = _state(event).get("patents")
    numbers = (
        [record.get("number") if isinstance(record, Mapping) else None for record in records]
        if isinstance(records, list)
        else [None]
    )
    if not all(isinstance(number, str) for number in numbers):
        raise _error(event, f"patents is {records!r}: want a list of patents with numbers")
    return frozenset(str(number) for number in numbers)


def _judged_all(refs: list[ProductRef], products: Mapping[UUID, _Product]) -> bool:
    """Every product after the first was judged by v2 (so an honest group is no news)."""
    return all(products[ref.product_id].judged_v2 for ref in refs[1:])


def find_duplicate_products(events: Iterable[LoggedEvent]) -> list[DuplicateProduct]:
    """Every product filed twice without a legitimate re-filing; empty when the rule held.

    Raises:
        InvalidReplayError: as :func:`audit_products`.
    """
    return list(audit_products(events).duplicates)


def find_mismatched_keys(events: Iterable[LoggedEvent]) -> list[MismatchedKey]:
    """Every stored key that is not the key of its product's name and model.

    Raises:
        InvalidReplayError: as :func:`audit_products`.
    """
    return list(audit_products(events).mismatched_keys)


def _text(event: LoggedEvent, field_name: str) -> str:
    state: object = event.state
    value = state.get(field_name) if isinstance(state, Mapping) else None
    if not isinstance(value, str):
        raise InvalidReplayError(
            event.originator_id,
            event.version,
            event.leaf_index,
            f"{event.topic.rsplit('.', 1)[-1]} {field_name} is {value!r}: want a string",
        )
    return value


def _product_fields(event: LoggedEvent) -> tuple[str, str, str, str]:
    name, model, key, filer_uscc = (
        _text(event, field_name) for field_name in ("name", "model", "canonical_key", "filer_uscc")
    )
    return name, model, key, filer_uscc
