"""Annex rule v1 in the offline replay: rules A1-A8 (audit/offline/replay.py's docstring).

Why a module of its own: the 2022 notice's annex conditions are one concern, added to events
of several kinds (filer, filing, dispute) with its own state (the leaf that put the rule in
force), and audit/offline/replay.py calls in here from each of those events' handlers. The readers
check an event's annex fields without state (``audit.offline.replay.prepare`` may run them in
another
process); ``audit.offline.replay_base.RuleInForce`` judges the rule version against the log so far.
Standard library only, like everything the auditor runs; the conditions themselves are
``audit.offline.annex_rule``, the same module the ledger uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Protocol

from audit.offline.annex_rule import (
    ORGANISATION_TYPES,
    UNCLASSIFIED,
    AnnexRule,
    data_year_misfit,
    kind_misfit,
    region_misfit,
    sales_misfit,
    uscc_region,
)
from audit.offline.replay_values import region_code_misfit

ANNEX_RULES: Final = tuple(int(rule) for rule in AnnexRule)
_CONTACT_KEYS: Final = frozenset({"name", "phone", "email"})


class _Fails(Protocol):
    """What names the event a rule refuses (audit.offline.replay's ``_Head``)."""

    leaf_index: int

    def fail(self, reason: str) -> Exception: ...


class _Reads(Protocol):
    """An event's state, as audit.offline.replay's ``_Event`` reads it."""

    state: Mapping[Any, Any]

    def fail(self, reason: str) -> Exception: ...

    def require_clean(self, label: str, value: str) -> None: ...

    def reason(self, name: str = "reason") -> str: ...


# --- stateless: an event's annex fields -----------------------------------------------------
def read_annex_rule(current: _Reads) -> int:
    """A1: an event's ``annex_rule``; absent: 0 (recorded before annex rule v1)."""
    rule = current.state.get("annex_rule", int(AnnexRule.NONE))
    if isinstance(rule, bool) or not isinstance(rule, int) or rule not in ANNEX_RULES:
        raise current.fail(f"annex_rule {rule!r}: want one of {list(ANNEX_RULES)} (A1)")
    return rule


def require_kind(current: _Reads, rule: int, kind: str, uscc: str) -> None:
    """A2: under v1 the filer's kind fits its USCC's organisation type."""
    if rule >= AnnexRule.V1:
        misfit = kind_misfit(kind, uscc)
        if misfit is not None:
            raise current.fail(f"{misfit} (A2)")


def _optional_text(current: _Reads, name: str) -> str | None:
    value = current.state.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise current.fail(f"{name} is {value!r}: want null or a non-empty string (A3)")
    return value


def read_corrections(current: _Reads, rule: int) -> tuple[str | None, str | None]:
    """A3, stateless: a FilerResubmitted's corrections (null: unchanged); none under rule 0.
    Returns the corrected kind and region code."""
    name = _optional_text(current, "name")
    if name is not None:
        current.require_clean("name", name)
    kind = _optional_text(current, "kind")
    region_code = _optional_text(current, "region_code")
    contact = current.state.get("contact")
    if contact is not None and not (
        isinstance(contact, Mapping)
        and set(contact) == _CONTACT_KEYS
        and all(isinstance(value, str) for value in contact.values())
    ):
        raise current.fail(f"contact is {contact!r}: want null or {sorted(_CONTACT_KEYS)} (A3)")
    corrected = (name, kind, region_code, contact)
    if rule == AnnexRule.NONE and any(value is not None for value in corrected):
        raise current.fail("corrections recorded under annex_rule 0: want none (A3)")
    if kind is not None and kind not in ORGANISATION_TYPES:
        raise current.fail(f"kind {kind!r}: want one of {sorted(ORGANISATION_TYPES)} (A3)")
    if region_code is not None:
        misfit = region_code_misfit(region_code)
        if misfit is not None:
            raise current.fail(f"region_code {region_code!r} is not a region code: {misfit} (A3)")
    return kind, region_code


def require_category(current: _Reads, rule: int, category: str, finer_code: object) -> None:
    """A5: ``unclassified`` only under v1, and then without a finer code."""
    if category != UNCLASSIFIED:
        return
    if rule == AnnexRule.NONE:
        raise current.fail("category 'unclassified' under annex_rule 0: want 01-07 (A5)")
    if finer_code is not None:
        raise current.fail(f"an unclassified filing with finer_code {finer_code!r} (A5)")


def require_data(current: _Reads, rule: int, data_year: int, sales_fen: int, at: datetime) -> None:
    """A5/A6: under v1, sales above zero in a data year not after the event's year."""
    if rule == AnnexRule.NONE:
        return
    misfit = sales_misfit(sales_fen) or data_year_misfit(data_year, at)
    if misfit is not None:
        raise current.fail(f"{misfit} (A5)")


def read_move(current: _Reads) -> tuple[str, str]:
    """A4, stateless: a FilerRegionMoveConfirmed's region code, USCC region and reason."""
    values = []
    for name in ("region_code", "uscc_region"):
        value = current.state.get(name)
        if not isinstance(value, str) or not value.strip():
            raise current.fail(f"{name} is {value!r}: want a non-empty string (A4)")
        values.append(value)
    current.reason()
    return values[0], values[1]


def read_resolution(current: _Reads, rule: int) -> tuple[tuple[str, ...], bool]:
    """A7, stateless: a resolution's ``removed_patents`` (sorted, each once) and
    ``returned_to_review``; absent: [] and false (a version-1 event)."""
    removed = current.state.get("removed_patents", [])
    if (
        not isinstance(removed, list)
        or not all(isinstance(number, str) and number for number in removed)
        or removed != sorted(set(removed))
    ):
        raise current.fail(f"removed_patents is {removed!r}: want patent numbers, sorted (A7)")
    returned = current.state.get("returned_to_review", False)
    if not isinstance(returned, bool):
        raise current.fail(f"returned_to_review is {returned!r}: want true or false (A7)")
    if rule == AnnexRule.NONE and (removed or returned):
        raise current.fail("a resolution under annex_rule 0 removes no patent (A7)")
    return tuple(removed), returned


# --- stateful ---------------------------------------------------------------------------------


def require_region(
    head: _Fails, rule: int, region_code: str, uscc: str, confirmed: str | None
) -> None:
    """A4: a filer approved under v1 is in its USCC's region, or a move to its region was
    confirmed."""
    if rule == AnnexRule.NONE or confirmed == region_code:
        return
    misfit = region_misfit(region_code, uscc)
    if misfit is not None:
        raise head.fail(f"approving a filer whose {misfit} (A4)")


def require_move(head: _Fails, recorded: tuple[str, str], region_code: str, uscc: str) -> None:
    """A4: a confirmed move names the filer's region and its USCC's, which differ."""
    if recorded != (region_code, uscc_region(uscc)):
        raise head.fail(
            f"move confirmed for region {recorded[0]} from {recorded[1]}: the filer is in "
            f"{region_code}, its USCC in {uscc_region(uscc)} (A4)"
        )
    if region_misfit(region_code, uscc) is None:
        raise head.fail(f"move confirmed for region {region_code}, which is its USCC's (A4)")


def require_removal(
    head: _Fails,
    rule: int,
    upheld: bool,
    disputed: frozenset[str],
    valid: frozenset[str],
    approved: bool,
    recorded: tuple[tuple[str, ...], bool],
) -> frozenset[str]:
    """A7: under v1 an upheld claim removes exactly the claimed patents still valid, and an
    approved filing left with none returns to review. Returns the patents removed."""
    want: tuple[tuple[str, ...], bool] = ((), False)
    if rule >= AnnexRule.V1 and upheld:
        removed = valid & disputed
        want = (tuple(sorted(removed)), approved and not valid - removed)
    if recorded != want:
        raise head.fail(
            f"resolution records removed_patents {list(recorded[0])}, returned_to_review "
            f"{str(recorded[1]).lower()}: annex rule v{rule} gives {list(want[0])}, "
            f"{str(want[1]).lower()} (A7)"
        )
    return frozenset(want[0])
