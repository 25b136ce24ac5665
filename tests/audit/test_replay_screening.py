"""Near-duplicate screening in the offline replay (rules S1-S4) and in the duplicates audit.

Honest logs come from the domain (both backends): filings with candidates of every reason,
"distinct product" decisions, a rejection as a duplicate, a log made before screening and the
switch to screening. Forged logs are written event by event with ``Forge``
(tests.audit.test_replay), its filings carrying the screening fields as the ledger records
them; each forged case names the event the error must name. The reasons C(F) gives come from
``audit.offline.screening``, the module the ledger and the auditor share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import pytest

from api.bootstrap import export_audit_bundle, open_transparency_log
from audit.offline.duplicates import NearDuplicatePair, PairDecision, audit_products
from audit.offline.errors import InvalidReplayError
from audit.offline.logged_event import LoggedEvent
from audit.offline.replay import replay
from audit.offline.replay_base import FILING_APPROVED, FILING_REJECTED, PRODUCT_FILED
from audit.offline.verifier import exit_code, verify_bundle
from domain.declarations import PatentDeclaration
from domain.filer import filer_id_for
from tests.audit.test_replay import (
    REVIEWER_RECORD,
    A,
    B,
    Forge,
    approve_deciding,
    forged_replay,
    logged_events,
)
from tests.domain.factories import (
    REVIEWER,
    approved_filer,
    before_screening,
    digest,
    figures,
    file,
    filer_actor,
    patent,
    uscc,
)

REASON = "型号、用途与结构均不同"


def patents(serial: int) -> list[PatentDeclaration]:
    return [PatentDeclaration.parse(patent(serial), "owner")]


def pairs_of(events: list[LoggedEvent]) -> list[tuple[UUID, UUID, tuple[str, ...], str]]:
    """(filing, candidate, reasons, decision text) of every near-duplicate pair."""
    return [
        (pair.product.product_id, pair.candidate.product_id, pair.reasons, pair.decision_text())
        for pair in audit_products(events).near_duplicates
    ]


def filed_state(events: list[LoggedEvent], product_id: UUID) -> Any:
    (filed,) = (e for e in events if e.topic == PRODUCT_FILED and e.originator_id == product_id)
    return filed.state


# --- honest logs from the domain ----------------------------------------------------------------


class Screened:
    """Five filings of two filers, each near-duplicate of the first for another reason."""

    def __init__(self, ledger: Any) -> None:
        self.a, self.b = uscc(501), uscc(502)
        a_id, b_id = approved_filer(ledger, self.a), approved_filer(ledger, self.b)
        self.first = file(
            ledger, self.a, a_id, name="智能温控阀", model="TV-100", patents=patents(11)
        )
        # same model, another name part
        self.same_model = file(
            ledger, self.b, b_id, name="温控阀", model="TV-100", patents=patents(12)
        )
        # another filer's filing declaring the first filing's patent
        self.shared_patent = file(
            ledger, self.b, b_id, name="恒温阀门", model="HV-1", patents=patents(11)
        )
        # a colour word in the name: the same product once variant words are removed
        self.variant = file(
            ledger, self.a, a_id, name="智能温控阀红色", model="TV-100", patents=patents(13)
        )
        # the first filing's name without a model
        self.similar_name = file(
            ledger, self.b, b_id, name="智能温控阀", model="", patents=patents(14)
        )


def test_a_screened_log_written_by_the_domain_replays_and_lists_every_pair(ledger):
    s = Screened(ledger)
    ledger.approve_product(REVIEWER, s.same_model, distinct={str(s.first): REASON})
    ledger.reject_product(REVIEWER, s.shared_patent, "同一产品重复备案", duplicate_of=s.first)
    approve_deciding(ledger, s.similar_name)  # s.variant stays pending: its pairs are open
    events = logged_events(ledger)

    forged_replay(events)  # both ways: apply, and the stateless checks done ahead

    assert filed_state(events, s.variant)["candidates"] == sorted(
        [
            {"product_id": str(s.first), "reasons": ["same_model", "variant_words"]},
            {"product_id": str(s.same_model), "reasons": ["same_model"]},
        ],
        key=lambda c: str(c["product_id"]),
    )  # as the ledger found them at filing: here, all of C(F)
    assert pairs_of(events) == [
        (s.same_model, s.first, ("same_model",), f"distinct: {REASON}"),
        (s.shared_patent, s.first, ("shared_patent",), "rejected as duplicate"),
        (s.variant, s.first, ("same_model", "variant_words"), "open"),
        (s.variant, s.same_model, ("same_model",), "open"),
        (s.similar_name, s.first, ("similar_name",), "distinct: 型号与用途不同"),
    ]
    findings = audit_products(events)
    assert findings.duplicates == ()
    assert all(isinstance(pair, NearDuplicatePair) for pair in findings.near_duplicates)


def test_a_decision_stands_for_a_later_approval_of_the_same_filing(ledger):
    s = Screened(ledger)
    ledger.approve_product(REVIEWER, s.same_model, distinct={str(s.first): REASON})
    ledger.revise_product(
        filer_actor(s.b),
        s.same_model,
        data_year=2023,
        figures=figures(),
        patents=patents(12),
        proof_digests=[digest("invoice 2023")],
    )
    ledger.approve_product(REVIEWER, s.same_model)  # nothing new to decide
    events = logged_events(ledger)
    approvals = [
        e.state for e in events if e.topic == FILING_APPROVED and e.originator_id == s.same_model
    ]
    assert [a["distinct"] for a in approvals] == [
        [{"product_id": str(s.first), "reason": REASON}],
        [],
    ]
    forged_replay(events)


def test_a_log_made_before_screening_replays_and_screening_starts_with_the_upgrade(ledger):
    a, b = uscc(511), uscc(512)
    a_id, b_id = approved_filer(ledger, a), approved_filer(ledger, b)
    with before_screening():
        first = file(ledger, a, a_id, name="智能温控阀", model="TV-100", patents=patents(21))
        approved_then = file(ledger, b, b_id, name="温控阀", model="TV-100", patents=patents(22))
        ledger.approve_product(REVIEWER, approved_then)  # no decision needed then
        pending = file(ledger, b, b_id, name="恒温阀门", model="HV-1", patents=patents(21))
    before = logged_events(ledger)
    assert all("screening_rule" not in e.state or e.state["screening_rule"] == 0 for e in before)
    replay(before)
    assert pairs_of(before) == [
        (approved_then, first, ("same_model",), "before screening"),
        (pending, first, ("shared_patent",), "before screening"),
    ]

    # The upgrade: the pending filing, recorded before screening, now needs its decision.
    approve_deciding(ledger, pending)
    later = file(ledger, a, a_id, name="智能温控阀红色", model="TV-100", patents=patents(23))
    events = logged_events(ledger)

    forged_replay(events)
    assert pairs_of(events) == [
        (approved_then, first, ("same_model",), "before screening"),
        (pending, first, ("shared_patent",), "distinct: 型号与用途不同"),
        (later, first, ("same_model", "variant_words"), "open"),
        (later, approved_then, ("same_model",), "open"),
    ]


def test_a_signed_approval_without_its_decision_fails_the_bundle_verification(
    ledger, settings, tmp_path
):
    s = Screened(ledger)
    # A server bug (or an insider) approves past the screening check: the event is signed.
    product = ledger.get_product(s.same_model)
    product._approved(actor=REVIEWER.as_record(), screening_rule=1, distinct=[])
    ledger.save(product)
    log = open_transparency_log(ledger, settings)
    try:
        log.sequence()
        bundle = tmp_path / "screening.bundle"
        export_audit_bundle(ledger, log, settings, bundle)
    finally:
        log.store.close()

    with pytest.raises(InvalidReplayError, match="not decided") as refused:
        verify_bundle(bundle, workers=1)
    assert refused.value.originator_id == s.same_model
    assert exit_code(refused.value) == 15  # `ppl audit verify`: the log does not replay


# --- forged logs ----------------------------------------------------------------------------------


def screened_file(
    forge: Forge,
    code: str,
    *,
    candidates: object = None,
    screening_rule: object = 1,
    **options: Any,
) -> LoggedEvent:
    """A filing (with its key event) carrying the screening fields of a ProductFiled v2."""
    filed = forge.file(code, **options)
    state: dict[str, Any] = filed.state  # type: ignore[assignment]
    state["screening_rule"] = screening_rule
    state["candidates"] = candidates if candidates is not None else []
    forge.reserve(filed)
    return filed


def candidate(event: LoggedEvent, *reasons: str) -> dict[str, Any]:
    return {"product_id": str(event.originator_id), "reasons": list(reasons)}


def sorted_decisions(*on: LoggedEvent | str) -> list[tuple[LoggedEvent | str, str]]:
    """Decisions on ``on``, each with a reason, sorted by product_id as the ledger records them."""
    return sorted(
        ((o, REASON) for o in on), key=lambda d: str(getattr(d[0], "originator_id", d[0]))
    )


def approve(forge: Forge, filed: LoggedEvent, *decisions: Any, rule: object = 1) -> LoggedEvent:
    """A FilingApproved v2; each decision is (filing event or id text, reason)."""
    distinct = [
        {"product_id": str(getattr(on, "originator_id", on)), "reason": reason}
        for on, reason in decisions
    ]
    return forge.product(
        filed.originator_id, "FilingApproved", screening_rule=rule, distinct=distinct
    )


def reject(forge: Forge, filed: LoggedEvent, duplicate_of: object) -> LoggedEvent:
    return forge.product(
        filed.originator_id, "FilingRejected", reason="同一产品重复备案", duplicate_of=duplicate_of
    )


class Base:
    """A's filing ``held``, then B's filing ``later``, which declares the same patents (Forge's
    filings all do): C(later) = {held: shared_patent}."""

    def __init__(self, forge: Forge) -> None:
        forge.approved(A)
        forge.approved(B)
        self.held = screened_file(forge, A, model="TV-100")
        self.later = screened_file(
            forge, B, model="TV-200", candidates=[candidate(self.held, "shared_patent")]
        )


def test_an_honest_forged_log_with_screening_replays():
    forge = Forge()
    base = Base(forge)
    forge.withdraw(base.held.originator_id, A)  # after `later` was filed: still its candidate
    approve(forge, base.later, (base.held, REASON))
    own = screened_file(  # `held`, withdrawn before it, is no candidate of it
        forge, A, model="TV-300", candidates=[candidate(base.later, "shared_patent")]
    )
    reject(forge, own, str(base.held.originator_id))  # a withdrawn filing may be named
    summary = forged_replay_summary(forge.events)
    assert summary.statuses["product"] == {"approved": 1, "rejected": 1, "withdrawn": 1}


def forged_replay_summary(events: list[LoggedEvent]) -> Any:
    forged_replay(events)
    return replay(events)


def test_a_candidate_withdrawn_after_the_filing_still_needs_its_decision():
    forge = Forge()
    base = Base(forge)
    forge.withdraw(base.held.originator_id, A)
    missing = approve(forge, base.later)
    with pytest.raises(InvalidReplayError, match="not decided") as refused:
        forged_replay(forge.events)
    assert refused.value.leaf_index == missing.leaf_index


def test_a_filing_may_record_a_candidate_withdrawn_before_it_which_needs_no_decision():
    # The ledger's index may not have read the withdrawal yet (domain/screening_feed.py).
    forge = Forge()
    base = Base(forge)
    forge.withdraw(base.later.originator_id, B)
    filed = screened_file(
        forge, A, model="TV-300", candidates=[candidate(base.later, "shared_patent")]
    )
    approve(forge, filed)  # C(F) is empty: nothing to decide
    forged_replay(forge.events)
    (pair,) = audit_products(forge.events).near_duplicates  # `later`'s, not `filed`'s
    assert (pair.product.product_id, pair.candidate.product_id) == (
        base.later.originator_id,
        base.held.originator_id,
    )


def test_a_decision_on_a_candidate_withdrawn_before_the_filing_is_refused():
    forge = Forge()
    base = Base(forge)
    forge.withdraw(base.later.originator_id, B)
    filed = screened_file(
        forge, A, model="TV-300", candidates=[candidate(base.later, "shared_patent")]
    )
    named = approve(forge, filed, (base.later, REASON))
    with pytest.raises(InvalidReplayError, match="not a near-duplicate candidate") as refused:
        forged_replay(forge.events)
    assert refused.value.leaf_index == named.leaf_index


def test_a_recorded_candidate_withdrawn_before_the_filing_needs_its_true_reasons():
    forge = Forge()
    base = Base(forge)
    forge.withdraw(base.later.originator_id, B)
    named = screened_file(
        forge, A, model="TV-300", candidates=[candidate(base.later, "same_model")]
    )
    with pytest.raises(InvalidReplayError, match="gives \\['shared_patent'\\]") as refused:
        forged_replay(forge.events)
    assert refused.value.leaf_index == named.leaf_index


def test_a_candidate_may_be_missing_from_the_filings_record():
    forge = Forge()
    base = Base(forge)
    unrecorded = screened_file(forge, B, model="TV-400")  # best effort: a concurrent save
    approve(forge, unrecorded, (base.held, REASON))
    forged_replay(forge.events)


# Each case writes the rest of a log after ``Base`` and returns the event the error must name.


def _approval_missing_a_decision(forge: Forge, base: Base) -> LoggedEvent:
    return approve(forge, base.later)


def _decision_on_a_non_candidate(forge: Forge, base: Base) -> LoggedEvent:
    # filed after `later`, so no candidate of it (C(F) looks back only)
    other = screened_file(
        forge, A, model="TV-300", candidates=[candidate(base.later, "shared_patent")]
    )
    return approve(forge, base.later, *sorted_decisions(base.held, other))


def _decision_on_an_unknown_id(forge: Forge, base: Base) -> LoggedEvent:
    return approve(forge, base.later, *sorted_decisions(base.held, str(uuid4())))


def _decision_on_itself(forge: Forge, base: Base) -> LoggedEvent:
    return approve(forge, base.later, *sorted_decisions(base.held, base.later))


def _empty_reason(forge: Forge, base: Base) -> LoggedEvent:
    return approve(forge, base.later, (base.held, ""))


def _blank_reason(forge: Forge, base: Base) -> LoggedEvent:
    return approve(forge, base.later, (base.held, " \u3000"))


def _reason_not_text(forge: Forge, base: Base) -> LoggedEvent:
    return approve(forge, base.later, (base.held, 7))


def _decision_twice(forge: Forge, base: Base) -> LoggedEvent:
    return approve(forge, base.later, (base.held, REASON), (base.held, REASON))


def _decisions_unsorted(forge: Forge, base: Base) -> LoggedEvent:
    ids = sorted([str(uuid4()), str(base.held.originator_id)], reverse=True)
    return approve(forge, base.later, *((i, REASON) for i in ids))


def _decision_with_extra_keys(forge: Forge, base: Base) -> LoggedEvent:
    distinct = [{"product_id": str(base.held.originator_id), "reason": REASON, "by": "me"}]
    return forge.product(
        base.later.originator_id, "FilingApproved", screening_rule=1, distinct=distinct
    )


def _distinct_not_a_list(forge: Forge, base: Base) -> LoggedEvent:
    distinct = {str(base.held.originator_id): REASON}
    return forge.product(
        base.later.originator_id, "FilingApproved", screening_rule=1, distinct=distinct
    )


def _decision_id_not_canonical(forge: Forge, base: Base) -> LoggedEvent:
    return approve(forge, base.later, (str(base.held.originator_id).upper(), REASON))


def _recorded_non_candidate(forge: Forge, base: Base) -> LoggedEvent:
    # A's own earlier filing is no candidate (same filer, no other reason)
    return screened_file(
        forge, A, model="TV-300", candidates=[candidate(base.held, "shared_patent")]
    )


def _recorded_wrong_reasons(forge: Forge, base: Base) -> LoggedEvent:
    return screened_file(forge, A, model="TV-300", candidates=[candidate(base.later, "same_model")])


def _recorded_extra_reason(forge: Forge, base: Base) -> LoggedEvent:
    return screened_file(
        forge, A, model="TV-300", candidates=[candidate(base.later, "same_model", "shared_patent")]
    )


def _recorded_unknown_reason(forge: Forge, base: Base) -> LoggedEvent:
    return screened_file(
        forge, A, model="TV-300", candidates=[candidate(base.later, "looks_alike")]
    )


def _recorded_unsorted_reasons(forge: Forge, base: Base) -> LoggedEvent:
    return screened_file(
        forge, A, model="TV-300", candidates=[candidate(base.later, "shared_patent", "same_model")]
    )


def _recorded_no_reason(forge: Forge, base: Base) -> LoggedEvent:
    return screened_file(forge, A, model="TV-300", candidates=[candidate(base.later)])


def _recorded_twice(forge: Forge, base: Base) -> LoggedEvent:
    entry = candidate(base.later, "shared_patent")
    return screened_file(forge, A, model="TV-300", candidates=[entry, entry])


def _recorded_itself(forge: Forge, base: Base) -> LoggedEvent:
    product_id = uuid4()
    entry = {"product_id": str(product_id), "reasons": ["shared_patent"]}
    return screened_file(forge, A, model="TV-300", product_id=product_id, candidates=[entry])


def _recorded_not_a_list(forge: Forge, base: Base) -> LoggedEvent:
    return screened_file(forge, A, model="TV-300", candidates="none")


def _recorded_entry_not_an_object(forge: Forge, base: Base) -> LoggedEvent:
    return screened_file(forge, A, model="TV-300", candidates=[str(base.later.originator_id)])


def _rule_0_approval_after_rule_1(forge: Forge, base: Base) -> LoggedEvent:
    return forge.product(base.later.originator_id, "FilingApproved")  # a version-1 event


def _rule_0_filing_after_rule_1(forge: Forge, base: Base) -> LoggedEvent:
    filed = forge.file(A, model="TV-300")  # a version-1 event
    forge.reserve(filed)
    return filed


def _explicit_rule_0_approval_after_rule_1(forge: Forge, base: Base) -> LoggedEvent:
    return approve(forge, base.later, rule=0)


def _unknown_approval_rule(value: object) -> Callable[[Forge, Base], LoggedEvent]:
    def forge_it(forge: Forge, base: Base) -> LoggedEvent:
        return approve(forge, base.later, (base.held, REASON), rule=value)

    return forge_it


def _unknown_filing_rule(value: object) -> Callable[[Forge, Base], LoggedEvent]:
    def forge_it(forge: Forge, base: Base) -> LoggedEvent:
        return screened_file(forge, A, model="TV-300", screening_rule=value)

    return forge_it


def _duplicate_of_itself(forge: Forge, base: Base) -> LoggedEvent:
    return reject(forge, base.later, str(base.later.originator_id))


def _duplicate_of_an_unknown_id(forge: Forge, base: Base) -> LoggedEvent:
    return reject(forge, base.later, str(uuid4()))


def _duplicate_of_a_filer(forge: Forge, base: Base) -> LoggedEvent:
    return reject(forge, base.later, str(filer_id_for(A)))


def _duplicate_of_not_text(forge: Forge, base: Base) -> LoggedEvent:
    return reject(forge, base.later, 42)


def _duplicate_of_not_canonical(forge: Forge, base: Base) -> LoggedEvent:
    return reject(forge, base.later, "{" + str(base.held.originator_id) + "}")


FORGED = [
    ("an approval missing a decision", _approval_missing_a_decision, "not decided"),
    ("a decision on a filing that is not a candidate", _decision_on_a_non_candidate,
     "not a near-duplicate candidate"),
    ("a decision on an unknown id", _decision_on_an_unknown_id, "not a near-duplicate candidate"),
    ("a decision on the filing itself", _decision_on_itself, "not a near-duplicate candidate"),
    ("a decision with an empty reason", _empty_reason, "want a reason"),
    ("a decision with a blank reason", _blank_reason, "want a reason"),
    ("a decision whose reason is a number", _reason_not_text, "want a reason"),
    ("a candidate decided twice", _decision_twice, "each once"),
    ("decisions not sorted by product_id", _decisions_unsorted, "sorted by product_id"),
    ("a decision with a field too many", _decision_with_extra_keys, "want keys"),
    ("distinct as an object", _distinct_not_a_list, "want a list of objects"),
    ("a decision on an id in another spelling", _decision_id_not_canonical, "want a filing's UUID"),
    ("a recorded candidate that is not one", _recorded_non_candidate,
     "not a near-duplicate candidate"),
    ("a recorded candidate with other reasons", _recorded_wrong_reasons,
     "screening rule v1 gives ['shared_patent']"),
    ("a recorded candidate with a reason too many", _recorded_extra_reason,
     "screening rule v1 gives ['shared_patent']"),
    ("a recorded candidate with an unknown reason", _recorded_unknown_reason, "looks_alike"),
    ("a recorded candidate with unsorted reasons", _recorded_unsorted_reasons, "sorted, each once"),
    ("a recorded candidate without a reason", _recorded_no_reason, "want one or more"),
    ("a candidate recorded twice", _recorded_twice, "recorded twice"),
    ("a filing recorded as its own candidate", _recorded_itself, "not a near-duplicate candidate"),
    ("candidates as text", _recorded_not_a_list, "want a list of objects"),
    ("a candidate as text", _recorded_entry_not_an_object, "want an object"),
    ("an approval under rule 0 (v1 event) once rule 1 is in force", _rule_0_approval_after_rule_1,
     "screening is in force since leaf"),
    ("an approval under rule 0 once rule 1 is in force", _explicit_rule_0_approval_after_rule_1,
     "screening is in force since leaf"),
    ("a filing under rule 0 (v1 event) once rule 1 is in force", _rule_0_filing_after_rule_1,
     "screening is in force since leaf"),
    ("an approval under screening rule 2", _unknown_approval_rule(2), "screening_rule 2"),
    ("an approval under screening rule '1'", _unknown_approval_rule("1"), "screening_rule '1'"),
    ("an approval under screening rule true", _unknown_approval_rule(True), "screening_rule True"),
    ("an approval under screening rule null", _unknown_approval_rule(None), "screening_rule None"),
    ("a filing under screening rule 2", _unknown_filing_rule(2), "screening_rule 2"),
    ("a filing under screening rule -1", _unknown_filing_rule(-1), "screening_rule -1"),
    ("a filing under screening rule 1.0", _unknown_filing_rule(1.0), "screening_rule 1.0"),
    ("a rejection as a duplicate of itself", _duplicate_of_itself, "the rejected filing itself"),
    ("a rejection as a duplicate of an unknown id", _duplicate_of_an_unknown_id,
     "is not a product in the log before this"),
    ("a rejection as a duplicate of a filer", _duplicate_of_a_filer,
     "is not a product in the log before this"),
    ("duplicate_of as a number", _duplicate_of_not_text, "want null or a filing's UUID"),
    ("duplicate_of in another spelling", _duplicate_of_not_canonical,
     "want null or a filing's UUID"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("forge_it", "want_error"), [c[1:] for c in FORGED], ids=[c[0] for c in FORGED]
)
def test_a_forged_screening_event_is_refused_naming_it(forge_it, want_error):
    forge = Forge()
    base = Base(forge)
    named = forge_it(forge, base)

    with pytest.raises(InvalidReplayError) as refused:
        forged_replay(forge.events)

    assert want_error in refused.value.reason
    assert (refused.value.originator_id, refused.value.leaf_index) == (
        named.originator_id,
        named.leaf_index,
    )


def test_candidates_under_rule_0_are_refused_before_screening_is_in_force():
    forge = Forge()
    forge.approved(A)
    forge.approved(B)
    held = screened_file(forge, A, model="TV-100", screening_rule=0)
    named = screened_file(
        forge, B, model="TV-200", screening_rule=0, candidates=[candidate(held, "shared_patent")]
    )
    with pytest.raises(InvalidReplayError, match="under screening_rule 0") as refused:
        forged_replay(forge.events)
    assert refused.value.leaf_index == named.leaf_index


def test_decisions_under_rule_0_are_refused():
    forge = Forge()
    forge.approved(A)
    forge.approved(B)
    held = forge.file(A, model="TV-100")
    forge.reserve(held)
    later = forge.file(B, model="TV-200")
    forge.reserve(later)
    named = approve(forge, later, (held, REASON), rule=0)
    with pytest.raises(InvalidReplayError, match="under screening_rule 0") as refused:
        forged_replay(forge.events)
    assert refused.value.leaf_index == named.leaf_index


def test_a_rejection_as_a_duplicate_is_listed_even_without_a_screening_reason():
    forge = Forge()
    base = Base(forge)
    own = screened_file(
        forge, A, model="TV-300", candidates=[candidate(base.later, "shared_patent")]
    )
    reject(forge, own, str(base.held.originator_id))  # A's own filing: no candidate
    forged_replay(forge.events)
    pairs = audit_products(forge.events).near_duplicates
    assert [
        (p.product.product_id, p.candidate.product_id, p.reasons, p.decision) for p in pairs
    ] == [
        (base.later.originator_id, base.held.originator_id, ("shared_patent",), PairDecision.OPEN),
        (own.originator_id, base.held.originator_id, (), PairDecision.REJECTED_AS_DUPLICATE),
        (own.originator_id, base.later.originator_id, ("shared_patent",), PairDecision.OPEN),
    ]


def test_the_latest_decision_on_a_pair_is_listed():
    forge = Forge()
    base = Base(forge)
    reject(forge, base.later, str(base.held.originator_id))
    forge.revise(base.later.originator_id, B, 2023)
    approve(forge, base.later, (base.held, REASON))
    forged_replay(forge.events)
    (pair,) = audit_products(forge.events).near_duplicates
    assert pair.decision_text() == f"distinct: {REASON}"


def test_rejections_and_approvals_of_version_1_replay_unchanged():
    forge = Forge()
    forge.approved(A)
    first = forge.file(A)
    forge.reserve(first)
    forge.product(first.originator_id, "FilingRejected", reason="材料不全")
    forge.revise(first.originator_id, A, 2023)
    forge.product(first.originator_id, "FilingApproved", actor=REVIEWER_RECORD)
    forged_replay(forge.events)
    assert audit_products(forge.events).near_duplicates == ()
    assert FILING_REJECTED in {e.topic for e in forge.events}
