"""Near-duplicate screening in the offline replay: rules S1-S4 (audit/offline/replay.py's
docstring).

Why a module of its own: screening is one concern with its own state (an index of every
filing so far, the leaf that put screening in force), and audit/offline/replay.py drives it event by
event. The readers check an event's screening fields without state (``audit.offline.replay.prepare``
may run them in another process); ``ReplayScreening`` judges them against the log so far.
Standard library only, like everything the auditor runs; the rule itself is
``audit.offline.screening``, the same module the ledger uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol

from audit.offline.logged_event import CANONICAL_UUID
from audit.offline.replay_base import RuleInForce
from audit.offline.replay_values import TEXT_LIMITS, text_misfit
from audit.offline.screening import Declaration, Reason, ScreeningIndex, ScreeningRule

SCREENING_RULES: Final = tuple(int(rule) for rule in ScreeningRule)
_REASONS: Final = frozenset(str(reason) for reason in Reason)
_CANDIDATE_KEYS: Final = frozenset({"product_id", "reasons"})
_DECISION_KEYS: Final = frozenset({"product_id", "reason"})

Candidates = Mapping[str, tuple[Reason, ...]]
Recorded = tuple[tuple[str, tuple[str, ...]], ...]
Decisions = tuple[tuple[str, str], ...]


class _Fails(Protocol):
    """What names the event a rule refuses (audit.offline.replay's ``_Head``)."""

    leaf_index: int
    originator_id: str

    def fail(self, reason: str) -> Exception: ...


class _Reads(Protocol):
    """An event's state, as audit.offline.replay's ``_Event`` reads it."""

    state: Mapping[Any, Any]

    def fail(self, reason: str) -> Exception: ...

    def object_value(self, label: str, value: object) -> Mapping[Any, Any]: ...


# --- stateless: an event's screening fields --------------------------------------------------
def read_screening_rule(current: _Reads) -> int:
    """S1-S3: a ProductFiled's or FilingApproved's screening rule; absent: 0 (a version-1
    event, recorded before screening)."""
    rule = current.state.get("screening_rule", int(ScreeningRule.NONE))
    if isinstance(rule, bool) or not isinstance(rule, int) or rule not in SCREENING_RULES:
        raise current.fail(f"screening_rule {rule!r}: want one of {list(SCREENING_RULES)}")
    return rule


def read_duplicate_of(current: _Reads) -> str | None:
    """S4, stateless: a FilingRejected's ``duplicate_of``, null or a UUID's canonical text."""
    duplicate_of = current.state.get("duplicate_of")  # absent: a version-1 event
    if duplicate_of is not None and not (
        isinstance(duplicate_of, str) and CANONICAL_UUID.fullmatch(duplicate_of)
    ):
        raise current.fail(f"duplicate_of is {duplicate_of!r}: want null or a filing's UUID")
    return duplicate_of


def _entries(current: _Reads, name: str, keys: frozenset[str]) -> list[Mapping[Any, Any]]:
    """A list (absent: empty, a version-1 event) of objects with exactly ``keys``."""
    values = current.state.get(name, [])
    if not isinstance(values, list):
        raise current.fail(f"{name} is {values!r}: want a list of objects")
    entries = [current.object_value(f"an entry of {name}", value) for value in values]
    for entry in entries:
        if set(entry) != keys:
            raise current.fail(f"{name} entry {dict(entry)!r}: want keys {sorted(keys)}")
        product_id = entry["product_id"]
        if not isinstance(product_id, str) or not CANONICAL_UUID.fullmatch(product_id):
            raise current.fail(f"{name} entry product_id {product_id!r}: want a filing's UUID")
    return entries


def read_candidates(current: _Reads, rule: int) -> Recorded:
    """S1, stateless: the candidates a filing recorded, each once, with known reasons."""
    found: dict[str, tuple[str, ...]] = {}
    for entry in _entries(current, "candidates", _CANDIDATE_KEYS):
        product_id, reasons = entry["product_id"], entry["reasons"]
        if product_id in found:
            raise current.fail(f"candidate {product_id} is recorded twice (S1)")
        if (
            not isinstance(reasons, list)
            or not reasons
            or not all(isinstance(reason, str) and reason in _REASONS for reason in reasons)
            or reasons != sorted(set(reasons))
        ):
            raise current.fail(
                f"candidate {product_id} has reasons {reasons!r}: want one or more of "
                f"{sorted(_REASONS)}, sorted, each once (S1)"
            )
        found[product_id] = tuple(reasons)
    if found and rule == ScreeningRule.NONE:
        raise current.fail("candidates recorded under screening_rule 0: want none (S1)")
    return tuple(found.items())


def read_decisions(current: _Reads, rule: int) -> Decisions:
    """S2, stateless: "distinct product" decisions sorted by product_id, each once, each
    with a reason that is not blank."""
    decisions: list[tuple[str, str]] = []
    for entry in _entries(current, "distinct", _DECISION_KEYS):
        product_id, reason = entry["product_id"], entry["reason"]
        if not isinstance(reason, str) or not reason.strip():
            raise current.fail(
                f"distinct decision on {product_id} has reason {reason!r}: want a reason (S2)"
            )
        misfit = text_misfit(reason, TEXT_LIMITS["reason"])
        if misfit is not None:
            raise current.fail(
                f"distinct decision on {product_id}: reason is not clean text: {misfit} (S2)"
            )
        decisions.append((product_id, reason))
    ids = [product_id for product_id, _ in decisions]
    if ids != sorted(set(ids)):
        raise current.fail(
            f"distinct decisions on {ids}: want them sorted by product_id, each once (S2)"
        )
    if decisions and rule == ScreeningRule.NONE:
        raise current.fail("distinct decisions under screening_rule 0: want none (S2)")
    return tuple(decisions)


# --- stateful: against the log so far -------------------------------------------------------
class ReplayScreening:
    """Every filing so far (leaf indices as positions) and since when screening is in force."""

    def __init__(self) -> None:
        self._index = ScreeningIndex()
        self._in_force = RuleInForce("screening_rule", "screening", "S3")

    def require_rule(self, head: _Fails, rule: int) -> None:
        """S3: screening is in force from the first event recorded under it, for good."""
        self._in_force.require(head, rule)

    def filed(
        self, head: _Fails, declaration: Declaration, recorded: Recorded
    ) -> Candidates | None:
        """S1: index the filing, compute its C(F) once, and judge the recorded candidates
        against it. Returns C(F) (``None`` when empty: most filings have no candidate)."""
        index, product_id = self._index, head.originator_id
        index.add(product_id, head.leaf_index, declaration)
        found = index.candidates_of(product_id)
        stale: Candidates | None = None  # C(F) with the filings withdrawn before F
        for candidate_id, reasons in recorded:
            want = found.get(candidate_id)
            if want is None:  # rare: computed only then
                if stale is None:
                    stale = index.candidates_of(product_id, include_withdrawn=True)
                want = stale.get(candidate_id)
            if want is None:
                raise head.fail(
                    f"candidate {candidate_id} is not a near-duplicate candidate of this filing "
                    "under screening rule v1 (a filing recorded before it with a screening "
                    "reason) (S1)"
                )
            if reasons != want:
                raise head.fail(
                    f"candidate {candidate_id} recorded with reasons {list(reasons)}: screening "
                    f"rule v1 gives {[str(reason) for reason in want]} (S1)"
                )
        return found or None

    def withdrawn(self, head: _Fails) -> None:
        """The filing is no candidate of filings recorded from now on."""
        self._index.withdraw(head.originator_id, head.leaf_index)


def require_decisions(
    head: _Fails, candidates: Candidates | None, decided: dict[str, str] | None,
    decisions: Decisions,
) -> dict[str, str] | None:  # fmt: skip
    """S2: an approval under screening rule v1 decides every candidate of the filing, now or
    on an earlier approval of it, and decides nothing else. Returns the decisions so far."""
    candidates = candidates or {}
    for candidate_id, _ in decisions:
        if candidate_id not in candidates:
            raise head.fail(
                f"distinct decision on {candidate_id}, which is not a near-duplicate candidate "
                f"of this filing (it has {len(candidates)}) (S2)"
            )
    decided = dict(decided or {})
    decided.update(decisions)
    still_open = [candidate_id for candidate_id in candidates if candidate_id not in decided]
    if still_open:
        shown = ", ".join(
            f"{candidate_id} ({', '.join(candidates[candidate_id])})"
            for candidate_id in still_open[:5]
        )
        more = f" and {len(still_open) - 5} more" if len(still_open) > 5 else ""
        raise head.fail(
            f"approved with {len(still_open)} near-duplicate candidate(s) of the filing not "
            f"decided on this or an earlier approval: {shown}{more} (S2)"
        )
    return decided or None
