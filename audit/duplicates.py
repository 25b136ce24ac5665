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
``model`` with :mod:`audit.product_key` (the one implementation the domain uses too), and
every stored key that differs from its re-derived key is a :class:`MismatchedKey` finding, in
a list of its own: an auditor wants every such event of the log, not only the first.

Standard library only (with audit.product_key's pinned table).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from uuid import UUID

from audit.errors import InvalidReplayError
from audit.logged_event import LoggedEvent
from audit.product_key import EmptyKeyPartError, KeyRule, product_key
from audit.replay import (
    KEY_MIGRATED,
    KEY_REASSIGNED,
    KEY_RESERVED,
    PRODUCT_FILED,
    PRODUCT_WITHDRAWN,
)


@dataclass(frozen=True, slots=True)
class FilingRef:
    """One filing of a product: where it is in the log, its id and its filer."""

    leaf_index: int
    product_id: UUID
    filer_uscc: str


@dataclass(frozen=True, slots=True)
class DuplicateFiling:
    """A product (key under ``key_rule``) filed twice: every filing of the key, in log order."""

    canonical_key: str
    filings: tuple[FilingRef, ...]
    key_rule: int = int(KeyRule.V1)


@dataclass(frozen=True, slots=True)
class SameProductGroup:
    """Filings recorded before ``key_rule`` existed that it says are one product.

    Legitimate when recorded (judged by the older rule); listed for a reviewer's decision.
    """

    canonical_key: str
    filings: tuple[FilingRef, ...]
    key_rule: int = int(KeyRule.V2)


@dataclass(frozen=True, slots=True)
class MismatchedKey:
    """A stored key that is not the key of its filing's name and model under its rule.

    ``filing`` is the filing; ``leaf_index`` the event that stores the key (the ProductFiled
    for v1, the key event for v2). ``derived_key`` is ``None`` when the name (or a non-blank
    model under v2) is empty after the rule: the domain refuses such a filing.
    """

    filing: FilingRef
    stored_key: str
    derived_key: str | None
    key_rule: int
    leaf_index: int


@dataclass(frozen=True, slots=True)
class FilingFindings:
    """Every finding of one pass over the log."""

    duplicates: tuple[DuplicateFiling, ...]
    mismatched_keys: tuple[MismatchedKey, ...]
    same_product_groups: tuple[SameProductGroup, ...] = ()


def canonical_product_key(name: str, model: str) -> str | None:
    """The key rule v1 key of a product, or ``None`` if its name is empty after the rule."""
    return _derived(KeyRule.V1, name, model)


def _derived(rule: KeyRule, name: str, model: str) -> str | None:
    try:
        return product_key(rule, name, model)
    except EmptyKeyPartError:
        return None


@dataclass
class _Filing:
    ref: FilingRef
    name: str
    model: str
    v2_key: str | None
    judged_v2: bool = False


@dataclass
class _Judge:
    """One rule's grouping: filings by key, and the keys found filed twice."""

    by_key: dict[str, list[FilingRef]] = field(default_factory=dict)
    duplicated: set[str] = field(default_factory=set)

    def judge(self, key: str, filing: FilingRef, withdrawn: set[UUID]) -> None:
        """Is ``filing`` legitimate against every earlier filing of ``key``?"""
        earlier = [f for f in self.by_key.get(key, []) if f.product_id != filing.product_id]
        if not all(
            f.product_id in withdrawn and f.filer_uscc == filing.filer_uscc for f in earlier
        ):
            self.duplicated.add(key)


def audit_filings(events: Iterable[LoggedEvent]) -> FilingFindings:
    """Find duplicate filings, forged keys and same-product groups in one pass (log order).

    Other topics are skipped; so is a withdrawal or key event of a filing not seen
    (audit.replay refuses those). Duplicates come in the order their key was first filed.

    Raises:
        InvalidReplayError: a ProductFiled without a string ``name``, ``model``,
            ``canonical_key`` or ``filer_uscc``; a key event without a string
            ``canonical_key`` or ``product_id``.
    """
    v1, v2 = _Judge(), _Judge()
    filings: dict[UUID, _Filing] = {}
    withdrawn: set[UUID] = set()
    mismatched: list[MismatchedKey] = []
    v2_in_force = False
    for event in events:
        if event.topic == PRODUCT_WITHDRAWN:
            withdrawn.add(event.originator_id)
        elif event.topic == PRODUCT_FILED:
            filing = _filed(event, v1, v2, withdrawn, mismatched)
            filings[filing.ref.product_id] = filing
            if v2_in_force:
                _judge_v2(filing, v2, withdrawn)
        elif event.topic in (KEY_RESERVED, KEY_REASSIGNED, KEY_MIGRATED):
            v2_in_force |= _key_event(event, filings, v2, withdrawn, mismatched)
    duplicates = [
        DuplicateFiling(key, tuple(refs), int(rule))
        for rule, judge in ((KeyRule.V1, v1), (KeyRule.V2, v2))
        for key, refs in judge.by_key.items()
        if key in judge.duplicated
    ]
    groups = tuple(
        SameProductGroup(key, tuple(refs))
        for key, refs in v2.by_key.items()
        if len(refs) > 1 and key not in v2.duplicated and not _judged_all(refs, filings)
    )
    duplicates.sort(key=lambda d: d.filings[0].leaf_index)
    return FilingFindings(tuple(duplicates), tuple(mismatched), groups)


def _filed(
    event: LoggedEvent, v1: _Judge, v2: _Judge, withdrawn: set[UUID],
    mismatched: list[MismatchedKey],
) -> _Filing:  # fmt: skip
    """A ProductFiled: judged by v1 at once; its v2 key kept for every later v2 judgement."""
    name, model, stored_key, filer_uscc = _filing_fields(event)
    ref = FilingRef(event.leaf_index, event.originator_id, filer_uscc)
    derived = canonical_product_key(name, model)
    if derived != stored_key:
        mismatched.append(MismatchedKey(ref, stored_key, derived, 1, event.leaf_index))
    key = stored_key if derived is None else derived
    v1.judge(key, ref, withdrawn)
    v1.by_key.setdefault(key, []).append(ref)
    v2_key = _derived(KeyRule.V2, name, model)
    if v2_key is not None:
        v2.by_key.setdefault(v2_key, []).append(ref)
    return _Filing(ref, name, model, v2_key)


def _judge_v2(filing: _Filing, v2: _Judge, withdrawn: set[UUID]) -> None:
    if filing.judged_v2 or filing.v2_key is None:
        return
    filing.judged_v2 = True
    refs = v2.by_key[filing.v2_key]
    position = refs.index(filing.ref)
    earlier = _Judge({filing.v2_key: refs[:position]})
    earlier.judge(filing.v2_key, filing.ref, withdrawn)
    v2.duplicated |= earlier.duplicated


def _key_event(
    event: LoggedEvent, filings: Mapping[UUID, _Filing], v2: _Judge, withdrawn: set[UUID],
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
    filing = filings.get(product_id)
    if filing is None:
        return True
    if event.topic != KEY_REASSIGNED:
        stored = _text(event, "canonical_key")
        if stored != filing.v2_key:
            mismatched.append(MismatchedKey(filing.ref, stored, filing.v2_key, 2, event.leaf_index))
    if event.topic != KEY_MIGRATED:
        _judge_v2(filing, v2, withdrawn)
    return True


def _judged_all(refs: list[FilingRef], filings: Mapping[UUID, _Filing]) -> bool:
    """Every filing after the first was judged by v2 (so an honest group is no news)."""
    return all(filings[ref.product_id].judged_v2 for ref in refs[1:])


def find_duplicate_filings(events: Iterable[LoggedEvent]) -> list[DuplicateFiling]:
    """Every product filed twice without a legitimate re-filing; empty when the rule held.

    Raises:
        InvalidReplayError: as :func:`audit_filings`.
    """
    return list(audit_filings(events).duplicates)


def find_mismatched_keys(events: Iterable[LoggedEvent]) -> list[MismatchedKey]:
    """Every stored key that is not the key of its filing's name and model.

    Raises:
        InvalidReplayError: as :func:`audit_filings`.
    """
    return list(audit_filings(events).mismatched_keys)


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


def _filing_fields(event: LoggedEvent) -> tuple[str, str, str, str]:
    name, model, key, filer_uscc = (
        _text(event, field_name) for field_name in ("name", "model", "canonical_key", "filer_uscc")
    )
    return name, model, key, filer_uscc
