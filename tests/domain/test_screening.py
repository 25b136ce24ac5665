"""Near-duplicate screening at review: candidates recorded at filing, decided before approval."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from domain.declarations import PatentDeclaration
from domain.errors import (
    CandidatesOpenError,
    DuplicateOfInvalidError,
    NotACandidateError,
    ProductNotFoundError,
    ReasonRequiredError,
    TextInvalidError,
)
from domain.product import ProductStatus
from domain.values import ScreeningRule
from tests.domain.factories import (
    REVIEWER,
    approved_filer,
    before_screening,
    figures,
    file,
    filer_actor,
    own_patent,
    uscc,
)

FIRST, SECOND = uscc(501), uscc(502)


@pytest.fixture
def filers(ledger) -> dict[str, UUID]:
    return {code: approved_filer(ledger, code) for code in (FIRST, SECOND)}


def _file(ledger, filers, code: str, **override: object) -> UUID:
    override.setdefault("patents", [PatentDeclaration.parse(own_patent(filers[code]), "owner")])
    return file(ledger, code, filers[code], **override)


def _pair(ledger, filers) -> tuple[UUID, UUID]:
    """One product under its Chinese and its English name: a candidate by its model."""
    first = _file(ledger, filers, FIRST, name="智能温控阀", model="TV-100")
    second = _file(ledger, filers, SECOND, name="Smart thermostatic valve", model="TV-100")
    return first, second


def test_a_filing_records_its_candidates_with_their_reasons(ledger, filers):
    first, second = _pair(ledger, filers)
    assert ledger.get_product(first).screening_candidates == []
    assert ledger.get_product(second).screening_candidates == [
        {"product_id": str(first), "reasons": ["same_model"]}
    ]
    screening = ledger.screening_of(second)
    assert screening.screening_rule is ScreeningRule.V1
    assert [(c.product_id, c.reasons, c.distinct_reason) for c in screening.candidates] == [
        (first, ("same_model",), None)
    ]


def test_an_approval_with_open_candidates_is_refused_and_changes_nothing(ledger, filers):
    first, second = _pair(ledger, filers)
    version = ledger.get_product(second).version
    with pytest.raises(CandidatesOpenError) as refused:
        ledger.approve_product(REVIEWER, second)
    assert refused.value.details["candidates"] == [
        {"product_id": str(first), "reasons": ["same_model"]}
    ]
    assert ledger.get_product(second).version == version
    assert ledger.get_product(second).status is ProductStatus.PENDING_REVIEW


def test_a_distinct_decision_per_candidate_lets_the_approval_through(ledger, filers):
    first, second = _pair(ledger, filers)
    ledger.approve_product(REVIEWER, second, distinct={str(first): "另一厂商的不同阀门"})
    product = ledger.get_product(second)
    assert product.status is ProductStatus.APPROVED
    assert product.distinct_from == {str(first): "另一厂商的不同阀门"}
    assert ledger.screening_of(second).open == ()


def test_a_candidate_is_decided_once_across_revisions(ledger, filers):
    first, second = _pair(ledger, filers)
    ledger.approve_product(REVIEWER, second, distinct={str(first): "different product"})
    ledger.revise_product(
        filer_actor(SECOND),
        second,
        data_year=2023,
        figures=figures(),
        patents=[PatentDeclaration.parse(own_patent(filers[SECOND]), "owner")],
        proof_digests=["a" * 64],
    )
    ledger.approve_product(REVIEWER, second)  # no new decision needed
    assert ledger.get_product(second).status is ProductStatus.APPROVED


@pytest.mark.parametrize(
    ("decision", "error"),
    [
        pytest.param(lambda first: {str(uuid4()): "why"}, NotACandidateError, id="not a candidate"),
        pytest.param(lambda first: {"not-a-uuid": "why"}, NotACandidateError, id="not an id"),
        pytest.param(lambda first: {str(first): "   "}, ReasonRequiredError, id="blank reason"),
        pytest.param(lambda first: {str(first): "x" * 2001}, TextInvalidError, id="long reason"),
    ],
)
def test_a_bad_decision_is_refused_and_changes_nothing(ledger, filers, decision, error):
    first, second = _pair(ledger, filers)
    version = ledger.get_product(second).version
    with pytest.raises(error):
        ledger.approve_product(REVIEWER, second, distinct=decision(first))
    assert ledger.get_product(second).version == version


def test_a_decision_on_a_filing_with_no_candidates_is_refused(ledger, filers):
    first, second = _pair(ledger, filers)
    with pytest.raises(NotACandidateError):
        ledger.approve_product(REVIEWER, first, distinct={str(second): "later filing"})


def test_a_rejection_as_a_duplicate_names_the_filing_it_duplicates(ledger, filers):
    first, second = _pair(ledger, filers)
    ledger.reject_product(REVIEWER, second, "与已备案产品重复", duplicate_of=first)
    product = ledger.get_product(second)
    assert product.status is ProductStatus.REJECTED
    assert product.duplicate_of == str(first)
    assert ledger.screening_of(second).duplicate_of == first


@pytest.mark.parametrize("target", ["itself", "unknown", "a filer"])
def test_a_rejection_as_a_duplicate_of_no_other_filing_is_refused(ledger, filers, target):
    _, second = _pair(ledger, filers)
    duplicate_of = {"itself": second, "unknown": uuid4(), "a filer": filers[FIRST]}[target]
    version = ledger.get_product(second).version
    with pytest.raises(DuplicateOfInvalidError):
        ledger.reject_product(REVIEWER, second, "duplicate", duplicate_of=duplicate_of)
    assert ledger.get_product(second).version == version


def test_screening_an_unknown_filing_is_not_found(ledger):
    with pytest.raises(ProductNotFoundError):
        ledger.screening_of(uuid4())


def test_the_approval_needs_every_candidate_even_one_missed_at_filing(make_ledger, filers):
    """Filing-time screening is best effort (a concurrent filing may be missed); the approval
    judges C(F) exactly, from the store, whichever process approves."""
    writer, other = make_ledger(), make_ledger()
    first = _file(writer, filers, FIRST, name="智能温控阀", model="TV-100")
    other._screening.candidates_for = lambda *args: {}  # as if `first` had not committed yet
    second = _file(other, filers, SECOND, name="Smart valve", model="TV-100")
    assert other.get_product(second).screening_candidates == []
    for approver in (writer, other):
        with pytest.raises(CandidatesOpenError):
            approver.approve_product(REVIEWER, second)
    other.approve_product(REVIEWER, second, distinct={str(first): "different valve"})


def test_a_withdrawal_seen_from_another_process_ends_the_candidacy(make_ledger, filers):
    writer, reader = make_ledger(), make_ledger()
    first = _file(writer, filers, FIRST, name="智能温控阀", model="TV-100")
    assert reader.screening_of(first).candidates == ()  # the reader's index is caught up
    writer.withdraw_product(filer_actor(FIRST), first, "撤回")
    second = _file(reader, filers, SECOND, name="Smart valve", model="TV-100")
    # At filing the reader's index may not have read the withdrawal yet (it reads the store
    # at most every FILING_FRESHNESS_S); the approval reads it, and needs no decision.
    assert reader.get_product(second).screening_candidates in (
        [],
        [{"product_id": str(first), "reasons": ["same_model"]}],
    )
    assert reader.screening_of(second).candidates == ()
    reader.approve_product(REVIEWER, second)


DISTINCT_PRODUCTS = [
    pytest.param({"name": "Valve", "model": "X1"}, {"name": "Gauge", "model": "X1"}, id="model"),
    pytest.param(
        {"name": "智能门锁", "model": ""}, {"name": "智能门锁", "model": "ZS-2"}, id="name"
    ),
    pytest.param(
        {"name": "Valve", "model": "V-1", "shared": True},
        {"name": "Actuator", "model": "A-1", "shared": True},
        id="patent",
    ),
]


@pytest.mark.parametrize(("mine", "theirs"), DISTINCT_PRODUCTS)
def test_distinct_products_sharing_a_model_name_or_patent_are_filed_and_approvable(
    ledger, filers, mine, theirs
):
    shared = [PatentDeclaration.parse(own_patent(filers[FIRST]), "owner")]
    ids = []
    for code, fields in ((FIRST, dict(mine)), (SECOND, dict(theirs))):
        if fields.pop("shared", False):
            fields["patents"] = shared
        ids.append(_file(ledger, filers, code, **fields))  # accepted: nothing refuses them
    first, second = ids
    assert [c.product_id for c in ledger.screening_of(second).candidates] == [first]
    ledger.approve_product(REVIEWER, first)
    ledger.approve_product(REVIEWER, second, distinct={str(first): "不同产品"})
    assert ledger.get_product(second).status is ProductStatus.APPROVED


def test_filings_made_before_screening_need_no_decision_at_their_old_approval(ledger, filers):
    with before_screening():
        first, second = _pair(ledger, filers)
        ledger.approve_product(REVIEWER, second)
        product = ledger.get_product(second)
    assert product.screening_candidates == []
    assert product.status is ProductStatus.APPROVED
    # Approved under screening, the same filing's candidates need decisions.
    third = _file(ledger, filers, SECOND, name="Smart valve v2", model="TV-100")
    with pytest.raises(CandidatesOpenError) as refused:
        ledger.approve_product(REVIEWER, third)
    assert {c["product_id"] for c in refused.value.details["candidates"]} == {
        str(first),
        str(second),
    }
