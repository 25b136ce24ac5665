"""Annex rule v1 in the offline replay (rules A1-A8, audit/offline/replay_annex.py).

Forged logs are written event by event with ``Forge`` (tests.audit.test_replay); events under
annex rule v1 carry ``annex_rule`` 1 and the fields the ledger records with it. Each forged
case names the event the error must name. Honest logs from the domain: the every-command log
(tests.audit.test_replay) and the certification of an unclassified filing below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from audit.offline.errors import InvalidReplayError
from audit.offline.logged_event import LoggedEvent
from domain.filer import filer_id_for
from tests.audit.test_replay import (
    PATENT_1,
    PATENT_2,
    A,
    Forge,
    as_filer,
    forged_replay,
    logged_events,
)
from tests.domain.factories import EVIDENCE, digest, uscc


def state(event: LoggedEvent) -> dict[str, Any]:
    """The forged event's state, to change in place (the forge builds it as a dict)."""
    assert isinstance(event.state, dict)
    return event.state


def v1(event: LoggedEvent, **fields: Any) -> LoggedEvent:
    """The event as recorded under annex rule v1 (its state changed in place)."""
    state(event)["annex_rule"] = 1
    state(event).update(fields)
    return event


def register(forge: Forge, code: str, **fields: Any) -> LoggedEvent:
    """A FilerRegistered with ``fields`` in place of the forge's defaults."""
    registered = forge.register(code)
    state(registered).update(fields)
    return registered


def resubmit(forge: Forge, code: str, **fields: Any) -> LoggedEvent:
    return forge.emit(
        filer_id_for(code), "FilerResubmitted", as_filer(code), proof_digests=[digest("x")],
        pledge_digest=digest("p"), **fields,
    )  # fmt: skip


def approved_v1(forge: Forge, code: str = A, *, region: str = "310115") -> UUID:
    v1(register(forge, code, region_code=region))
    forge.verify(code)
    v1(forge.filer(code, "FilerApproved"))
    return filer_id_for(code)


def filed_v1(forge: Forge, code: str = A, **fields: Any) -> UUID:
    filed = v1(forge.file(code), **fields)
    forge.reserve(filed)
    return filed.originator_id


def resolve_v1(forge: Forge, product_id: UUID, dispute_id: str, **fields: Any) -> LoggedEvent:
    resolved = forge.product(
        product_id,
        "OwnershipDisputeResolved",
        dispute_id=dispute_id,
        outcome="claim_upheld",
        note="判归他人",
        annex_rule=1,
        removed_patents=[],
        returned_to_review=False,
    )
    state(resolved).update(fields)
    return resolved


def test_an_honest_log_under_annex_rule_v1_replays():
    forge = Forge()
    approved_v1(forge)
    product_id = filed_v1(forge, category="unclassified")
    v1(forge.product(product_id, "FilingApproved"))
    forge.dispute(product_id, "d1", (PATENT_1,))
    resolve_v1(forge, product_id, "d1", removed_patents=[PATENT_1])
    forge.dispute(product_id, "d2", (PATENT_2,))
    resolve_v1(forge, product_id, "d2", removed_patents=[PATENT_2], returned_to_review=True)
    forge.product(product_id, "FilingRejected", reason="专利权属已判归他人")
    moved = uscc(301, region="310112")
    v1(forge.register(moved))  # region 310115 on a USCC of 310112
    forge.verify(moved)
    forge.filer(
        moved, "FilerRegionMoveConfirmed", region_code="310115", uscc_region="310112", reason="迁址"
    )
    v1(forge.filer(moved, "FilerApproved"))
    forged_replay(forge.events)


# --- forged cases: (build the log, the event the error names, words of the error) ---------------
def _unknown_rule(forge: Forge) -> LoggedEvent:
    return v1(forge.register(A), annex_rule=2)


def _rule_0_after_rule_1(forge: Forge) -> LoggedEvent:
    approved_v1(forge)
    return forge.file(A)  # no annex_rule: recorded as if before the rule


def _kind_misfit(forge: Forge) -> LoggedEvent:
    return v1(register(forge, A, kind="social_organization"))


def _corrections_under_rule_0(forge: Forge) -> LoggedEvent:
    forge.register(A)
    forge.filer(A, "FilerRejected", reason="材料不全")
    return resubmit(forge, A, name="新名称")


def _corrected_kind_misfit(forge: Forge) -> LoggedEvent:
    forge.register(A)
    forge.filer(A, "FilerRejected", reason="材料不全")
    return v1(
        resubmit(
            forge, A, name=None, kind="university_or_institute", region_code=None, contact=None
        )
    )


def _region_misfit_at_approval(forge: Forge) -> LoggedEvent:
    v1(register(forge, A, region_code="310104"))
    forge.verify(A)
    return v1(forge.filer(A, "FilerApproved"))


def _move_from_another_region(forge: Forge) -> LoggedEvent:
    v1(register(forge, A, region_code="310104"))
    return forge.filer(
        A, "FilerRegionMoveConfirmed", region_code="310104", uscc_region="310112", reason="迁址"
    )


def _move_where_regions_agree(forge: Forge) -> LoggedEvent:
    v1(forge.register(A))
    return forge.filer(
        A, "FilerRegionMoveConfirmed", region_code="310115", uscc_region="310115", reason="迁址"
    )


def _unclassified_under_rule_0(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    filed = forge.file(A)
    state(filed)["category"] = "unclassified"
    return filed


def _unclassified_with_finer_code(forge: Forge) -> LoggedEvent:
    approved_v1(forge)
    return v1(forge.file(A), category="unclassified", finer_code="0301")


def _zero_sales(forge: Forge) -> LoggedEvent:
    approved_v1(forge)
    figures = {"sales_fen": 0, "exports_fen": 0, "profit_fen": 0, "ip_spending_fen": 0}
    return v1(forge.file(A), figures=figures)


def _future_data_year(forge: Forge) -> LoggedEvent:
    approved_v1(forge)
    return v1(forge.file(A), data_year=2024)  # the forge's clock is in 2023


def _revision_to_a_future_year(forge: Forge) -> LoggedEvent:
    approved_v1(forge)
    product_id = filed_v1(forge)
    v1(forge.product(product_id, "FilingApproved"))
    return v1(forge.revise(product_id, A, 2025), category=None, finer_code=None)


def _revision_category_under_rule_0(forge: Forge) -> LoggedEvent:
    product_id = forge.filed(A) if forge.approved(A) else None
    assert product_id is not None
    forge.product(product_id, "FilingApproved")
    revised = forge.revise(product_id, A, 2023)
    state(revised).update(category="05", finer_code=None)
    return revised


def _upheld_without_removal(forge: Forge) -> LoggedEvent:
    approved_v1(forge)
    product_id = filed_v1(forge)
    forge.dispute(product_id, "d1", (PATENT_1,))
    return resolve_v1(forge, product_id, "d1")


def _upheld_not_returned(forge: Forge) -> LoggedEvent:
    approved_v1(forge)
    product_id = filed_v1(forge)
    v1(forge.product(product_id, "FilingApproved"))
    forge.dispute(product_id, "d1", (PATENT_1, PATENT_2))
    return resolve_v1(forge, product_id, "d1", removed_patents=[PATENT_1, PATENT_2])


def _removal_under_rule_0(forge: Forge) -> LoggedEvent:
    product_id = forge.filed(A) if forge.approved(A) else None
    assert product_id is not None
    forge.dispute(product_id, "d1", (PATENT_1,))
    resolved = forge.product(
        product_id, "OwnershipDisputeResolved", dispute_id="d1", outcome="claim_upheld", note="x"
    )
    state(resolved)["removed_patents"] = [PATENT_1]
    return resolved


def _approved_without_a_valid_patent(forge: Forge) -> LoggedEvent:
    approved_v1(forge)
    product_id = filed_v1(forge)
    forge.dispute(product_id, "d1", (PATENT_1, PATENT_2))
    resolve_v1(forge, product_id, "d1", removed_patents=[PATENT_1, PATENT_2])
    return v1(forge.product(product_id, "FilingApproved"))


FORGERIES: dict[str, tuple[Callable[[Forge], LoggedEvent], str]] = {
    "an unknown annex rule": (_unknown_rule, "(A1)"),
    "rule 0 once rule 1 is in force": (_rule_0_after_rule_1, "in force since leaf"),
    "a kind that does not fit the USCC": (_kind_misfit, "(A2)"),
    "corrections under rule 0": (_corrections_under_rule_0, "(A3)"),
    "a corrected kind that does not fit": (_corrected_kind_misfit, "(A3)"),
    "a region not the USCC's at approval": (_region_misfit_at_approval, "(A4)"),
    "a move from a region not the USCC's": (_move_from_another_region, "(A4)"),
    "a move where the regions agree": (_move_where_regions_agree, "(A4)"),
    "unclassified under rule 0": (_unclassified_under_rule_0, "(A5)"),
    "unclassified with a finer code": (_unclassified_with_finer_code, "(A5)"),
    "zero sales": (_zero_sales, "above zero"),
    "a data year after the event's year": (_future_data_year, "after the current year"),
    "a revision to a future year": (_revision_to_a_future_year, "after the current year"),
    "a revision's category under rule 0": (_revision_category_under_rule_0, "(A6)"),
    "an upheld claim that removes nothing": (_upheld_without_removal, "(A7)"),
    "no valid patent left, not returned": (_upheld_not_returned, "(A7)"),
    "a removal under rule 0": (_removal_under_rule_0, "(A7)"),
    "approved without a valid patent": (_approved_without_a_valid_patent, "(A8)"),
}


@pytest.mark.parametrize("case", FORGERIES)
def test_a_forged_annex_event_is_refused_naming_it(case: str):
    build, words = FORGERIES[case]
    forge = Forge()
    forged = build(forge)
    with pytest.raises(InvalidReplayError) as refused:
        forged_replay(forge.events)
    error = refused.value
    assert (error.leaf_index, error.originator_id) == (forged.leaf_index, forged.originator_id)
    assert words in str(error), str(error)


# --- honest: certification of filings annex rule v1 shaped, from the domain --------------------
def test_an_unclassified_filing_and_one_without_valid_patents_are_not_eligible(ledger):
    from audit.offline.replay import replay
    from tests.domain.certification_factories import (
        AFTER_REVIEW,
        CERTIFIER,
        at,
        opened_round,
        product,
    )
    from tests.domain.factories import REVIEWER

    opened_round(ledger)
    _, unclassified = product(ledger, 1, category="unclassified")
    _, lost = product(ledger, 2, kinds="11")
    with at(2023, 3, 2):
        numbers = [p["number"] for p in ledger.get_product(lost).patents]
        dispute = ledger.raise_dispute(
            REVIEWER,
            lost,
            patent_numbers=numbers,
            claimant="某公司",
            evidence_digests=EVIDENCE,
            description="权属",
        )
        ledger.resolve_dispute(REVIEWER, lost, dispute, "claim_upheld", "判归他人")
    with at(*AFTER_REVIEW):
        ledger.certification.run_certification(CERTIFIER, 2023)
    reasons = {
        product_id: [
            r["reason"] for r in ledger.certification.get_certification(2023, product_id).reasons
        ]
        for product_id in (unclassified, lost)
    }
    assert reasons[unclassified] == ["unclassified"]
    assert reasons[lost] == ["not_approved", "no_valid_patent"]
    replay(logged_events(ledger))
