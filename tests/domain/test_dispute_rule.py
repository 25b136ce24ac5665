"""Dispute rule v1 (audit.offline.dispute_rule; issue #15): evidence, one open claim per filer and
filing, and no block before a reviewer accepts a claim. Both stores; the replay's rules
Q1-Q3 on forged logs."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from audit.offline.errors import InvalidReplayError
from audit.offline.logged_event import LoggedEvent
from domain.certification import CertificationStatus
from domain.declarations import PatentDeclaration
from domain.errors import (
    DisputeLimitError,
    DisputeNotPendingError,
    DisputeOpenError,
    EvidenceRequiredError,
)
from tests.audit.test_replay import PATENT_1, PATENT_2, A, Forge, approved_product, forged_replay
from tests.domain.certification_factories import AFTER_REVIEW, CERTIFIER, at, opened_round
from tests.domain.certification_factories import product as certified_product
from tests.domain.factories import (
    EVIDENCE,
    REVIEWER,
    approved_filer,
    before_dispute_rule,
    file,
    filer_actor,
    own_patent,
    uscc,
)


def _claim(ledger: Any, claimant: str, product_id: UUID, number: str, **options: Any) -> str:
    dispute_id: str = ledger.raise_dispute(
        filer_actor(claimant), product_id, patent_numbers=[number], claimant="乙公司",
        description="专利权属于乙公司", **{"evidence_digests": EVIDENCE, **options},
    )  # fmt: skip
    return dispute_id


@pytest.fixture
def product(ledger: Any) -> tuple[UUID, str]:
    code = uscc(1)
    filer_id = approved_filer(ledger, code)
    number = own_patent(filer_id)
    product_id = file(ledger, code, filer_id, patents=[PatentDeclaration.parse(number, "owner")])
    return product_id, PatentDeclaration.parse(number, "owner").number.value


def test_a_claim_needs_evidence(ledger, product):
    product_id, number = product
    approved_filer(ledger, uscc(2))
    with pytest.raises(EvidenceRequiredError):
        _claim(ledger, uscc(2), product_id, number, evidence_digests=[])


def test_a_filers_claim_blocks_only_once_a_reviewer_accepts_it(ledger, product):
    product_id, number = product
    approved_filer(ledger, uscc(2))
    claim = _claim(ledger, uscc(2), product_id, number)
    assert ledger.get_product(product_id).blocking_disputes == []
    ledger.accept_dispute(REVIEWER, product_id, claim)
    with pytest.raises(DisputeOpenError):
        ledger.approve_product(REVIEWER, product_id)
    with pytest.raises(DisputeNotPendingError):
        ledger.accept_dispute(REVIEWER, product_id, claim)
    ledger.resolve_dispute(REVIEWER, product_id, claim, "claim_dismissed", "证据不足")
    ledger.approve_product(REVIEWER, product_id)


def test_a_pending_claim_does_not_stop_approval(ledger, product):
    product_id, number = product
    approved_filer(ledger, uscc(2))
    _claim(ledger, uscc(2), product_id, number)
    ledger.approve_product(REVIEWER, product_id)


def test_one_open_claim_per_filer_and_filing(ledger, product):
    product_id, number = product
    approved_filer(ledger, uscc(2))
    first = _claim(ledger, uscc(2), product_id, number)
    with pytest.raises(DisputeLimitError) as refused:
        _claim(ledger, uscc(2), product_id, number)
    assert refused.value.details["dispute_id"] == first
    ledger.resolve_dispute(REVIEWER, product_id, first, "claim_dismissed", "证据不足")
    _claim(ledger, uscc(2), product_id, number)  # closed: the filer may claim again


def test_a_reviewers_dispute_blocks_at_once(ledger, product):
    product_id, number = product
    ledger.raise_dispute(
        REVIEWER, product_id, patent_numbers=[number], claimant="某公司",
        evidence_digests=EVIDENCE, description="权属",
    )  # fmt: skip
    with pytest.raises(DisputeOpenError):
        ledger.approve_product(REVIEWER, product_id)


def test_disputes_before_the_rule_need_no_evidence_and_block_at_once(ledger, product):
    product_id, number = product
    approved_filer(ledger, uscc(2))
    with before_dispute_rule():
        _claim(ledger, uscc(2), product_id, number, evidence_digests=[])
    with pytest.raises(DisputeOpenError):
        ledger.approve_product(REVIEWER, product_id)


def test_only_an_accepted_claim_makes_a_filing_not_eligible(ledger):
    opened_round(ledger)
    _, pending = certified_product(ledger, 1)
    _, accepted = certified_product(ledger, 2)
    claimant = uscc(9)
    with at(2023, 4, 1):
        approved_filer(ledger, claimant)
        for product_id in (pending, accepted):
            number = ledger.get_product(product_id).patents[0]["number"]
            claim = _claim(ledger, claimant, product_id, number)
        ledger.accept_dispute(REVIEWER, accepted, claim)
    with at(*AFTER_REVIEW):
        ledger.certification.run_certification(CERTIFIER, 2023)
    decision = ledger.certification.get_certification
    assert decision(2023, pending).status is CertificationStatus.CERTIFIED
    assert [r["reason"] for r in decision(2023, accepted).reasons] == ["ownership_dispute_open"]


# --- the replay: Q1-Q3 -----------------------------------------------------------------------
B = uscc(202)


def _raise(forge: Forge, product_id: UUID, actor: dict[str, Any], **fields: Any) -> LoggedEvent:
    state = {"dispute_id": "c1", "patent_numbers": [PATENT_1], "claimant": "乙",
             "description": "ours", "dispute_rule": 1, "evidence_digests": ["a" * 64],
             "accepted": actor["role"] == "reviewer", **fields}  # fmt: skip
    return forge.product(product_id, "OwnershipDisputeRaised", actor, **state)


def _filer(code: str) -> dict[str, Any]:
    return filer_actor(code).as_record()


def test_an_honest_forged_log_under_the_dispute_rule_replays():
    forge = Forge()
    product_id = approved_product(forge)
    forge.approved(B)
    _raise(forge, product_id, _filer(B))
    forge.product(product_id, "OwnershipDisputeAccepted", dispute_id="c1")
    forge.product(product_id, "OwnershipDisputeResolved", dispute_id="c1",
                  outcome="claim_dismissed", note="x")  # fmt: skip
    _raise(forge, product_id, _filer(B), dispute_id="c2")  # the first one is closed
    forged_replay(forge.events)


def _no_evidence(forge: Forge) -> LoggedEvent:
    return _raise(forge, approved_product(forge), _filer(B), evidence_digests=[])


def _claim_accepted_on_raising(forge: Forge) -> LoggedEvent:
    return _raise(forge, approved_product(forge), _filer(B), accepted=True)


def _second_open_claim(forge: Forge) -> LoggedEvent:
    product_id = approved_product(forge)
    _raise(forge, product_id, _filer(B), patent_numbers=[PATENT_1])
    return _raise(forge, product_id, _filer(B), dispute_id="c2", patent_numbers=[PATENT_2])


def _rule_0_after_rule_1(forge: Forge) -> LoggedEvent:
    product_id = approved_product(forge)
    _raise(forge, product_id, _filer(B))
    return forge.dispute(product_id, "d9", (PATENT_2,))  # no dispute_rule: rule 0


def _accepting_twice(forge: Forge) -> LoggedEvent:
    product_id = approved_product(forge)
    _raise(forge, product_id, _filer(B))
    forge.product(product_id, "OwnershipDisputeAccepted", dispute_id="c1")
    return forge.product(product_id, "OwnershipDisputeAccepted", dispute_id="c1")


def _approved_with_an_accepted_claim(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    product_id = forge.filed(A)
    _raise(forge, product_id, _filer(B))
    forge.product(product_id, "OwnershipDisputeAccepted", dispute_id="c1")
    return forge.product(product_id, "FilingApproved")


FORGERIES = {
    "no evidence": (_no_evidence, "(Q2)"),
    "a filer's claim accepted as raised": (_claim_accepted_on_raising, "(Q2)"),
    "a second open claim of one filer": (_second_open_claim, "(Q2)"),
    "rule 0 after rule 1": (_rule_0_after_rule_1, "(Q1)"),
    "accepting twice": (_accepting_twice, "awaiting"),
    "approved with an accepted claim": (_approved_with_an_accepted_claim, "open ownership"),
}


@pytest.mark.parametrize("case", FORGERIES)
def test_a_forged_dispute_event_is_refused_naming_it(case):
    build, words = FORGERIES[case]
    forge = Forge()
    forged = build(forge)
    with pytest.raises(InvalidReplayError) as refused:
        forged_replay(forge.events)
    assert (refused.value.leaf_index, refused.value.originator_id) == (
        forged.leaf_index, forged.originator_id,
    )  # fmt: skip
    assert words in str(refused.value)
