"""Product filing lifecycle and its rules, on SQLite and PostgreSQL."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.actor import Actor, Role
from domain.declarations import EconomicFigures, PatentDeclaration
from domain.errors import (
    ActorNotPermittedError,
    CategoryInvalidError,
    DataYearNotNewerError,
    DisputeAlreadyOpenError,
    DisputeNotFoundError,
    DisputeOpenError,
    DuplicatePatentError,
    DuplicateProductError,
    ExportsExceedSalesError,
    FilingIdTakenError,
    LicenceReferenceMissingError,
    MoneyInvalidError,
    NoValidPatentError,
    PatentNumberInvalidError,
    ProductNotFoundError,
    ProductNotOwnedError,
    ProductNotPendingReviewError,
    ProductWithdrawnError,
    RevisionNotAllowedError,
    YearInvalidError,
)
from domain.product import ProductStatus
from tests.domain.factories import (
    EVIDENCE,
    REVIEWER,
    approved_filer,
    digest,
    figures,
    file,
    filer_actor,
    patent,
    uscc,
)


@pytest.fixture
def filer(ledger):
    code = uscc(100)
    return code, approved_filer(ledger, code)


def _revise(ledger, code, product_id, year):
    ledger.revise_product(
        filer_actor(code),
        product_id,
        data_year=year,
        figures=figures(sales=20_000_000),
        patents=[PatentDeclaration.parse(patent(1), "owner")],
        proof_digests=[digest(f"invoice {year}")],
    )


def test_filed_product_waits_for_review_with_its_declared_data(ledger, filer):
    code, filer_id = filer
    product_id = file(ledger, code, filer_id)
    product = ledger.get_product(product_id)
    assert product.status is ProductStatus.PENDING_REVIEW
    assert product.filer_uscc == code
    assert product.variants == ["白色", "黑色"]
    assert product.patents == [
        {
            "number": patent(1)[2:],
            "type": "invention",
            "relation": "owner",
            "licence_reference": None,
        }
    ]
    assert product.figures["sales_fen"] == 10_000_000


def test_reviewer_approves_or_rejects_with_reason(ledger, filer):
    code, filer_id = filer
    approved = file(ledger, code, filer_id, model="A-1")
    rejected = file(ledger, code, filer_id, model="A-2")
    ledger.approve_product(REVIEWER, approved)
    ledger.reject_product(REVIEWER, rejected, "专利已失效")
    assert ledger.get_product(approved).status is ProductStatus.APPROVED
    assert ledger.get_product(rejected).rejection_reason == "专利已失效"
    with pytest.raises(ProductNotPendingReviewError):
        ledger.approve_product(REVIEWER, approved)


def test_second_filing_of_same_model_is_rejected_naming_the_first(ledger, filer):
    code, filer_id = filer
    first = file(ledger, code, filer_id, name="智能温控阀", model="TV-100")
    other = uscc(101)
    other_id = approved_filer(ledger, other)
    for author, author_id, name, model in [
        (code, filer_id, "智能温控阀", "TV-100"),
        (other, other_id, "智能 温控阀", "tv100"),
        (other, other_id, "智能温控阀！", "ＴＶ－１００"),
    ]:
        with pytest.raises(DuplicateProductError) as caught:
            file(ledger, author, author_id, name=name, model=model)
        assert caught.value.code == "duplicate_product"
        assert caught.value.details["existing_product_id"] == str(first)


def test_variants_are_the_same_product_but_another_model_is_not(ledger, filer):
    code, filer_id = filer
    file(ledger, code, filer_id, model="X 30")
    second = file(ledger, code, filer_id, model="X 30 Pro")
    assert ledger.get_product(second).status is ProductStatus.PENDING_REVIEW


def test_withdrawal_keeps_the_key_from_other_filers_but_lets_the_filer_refile(ledger, filer):
    code, filer_id = filer
    first = file(ledger, code, filer_id)
    ledger.withdraw_product(filer_actor(code), first, "产品退市")
    other = uscc(102)
    other_id = approved_filer(ledger, other)
    with pytest.raises(DuplicateProductError) as caught:
        file(ledger, other, other_id)
    assert caught.value.details["existing_status"] == "withdrawn"
    refiled = file(ledger, code, filer_id)
    reservation = ledger.get_reservation("智能温控阀", "TV-100")
    assert reservation is not None
    assert reservation.product_id == refiled
    assert reservation.previous_product_ids == [first]
    with pytest.raises(DuplicateProductError):
        file(ledger, code, filer_id)


def test_withdrawn_product_accepts_no_further_commands(ledger, filer):
    code, filer_id = filer
    product_id = file(ledger, code, filer_id)
    ledger.withdraw_product(filer_actor(code), product_id, "停产")
    with pytest.raises(ProductWithdrawnError):
        ledger.approve_product(REVIEWER, product_id)
    with pytest.raises(ProductWithdrawnError):
        ledger.withdraw_product(filer_actor(code), product_id, "again")
    with pytest.raises(ProductWithdrawnError):
        _revise(ledger, code, product_id, 2023)


def test_revision_to_a_newer_year_goes_back_to_review(ledger, filer):
    code, filer_id = filer
    product_id = file(ledger, code, filer_id, data_year=2021)
    ledger.approve_product(REVIEWER, product_id)
    _revise(ledger, code, product_id, 2022)
    product = ledger.get_product(product_id)
    assert product.status is ProductStatus.PENDING_REVIEW
    assert product.data_year == 2022
    assert product.figures["sales_fen"] == 20_000_000


@pytest.mark.parametrize("year", [2021, 2020])
def test_revision_must_be_strictly_newer(ledger, filer, year):
    code, filer_id = filer
    product_id = file(ledger, code, filer_id, data_year=2021)
    ledger.approve_product(REVIEWER, product_id)
    with pytest.raises(DataYearNotNewerError) as caught:
        _revise(ledger, code, product_id, year)
    assert caught.value.code == "data_year_not_newer"


def test_pending_filing_cannot_be_revised(ledger, filer):
    code, filer_id = filer
    product_id = file(ledger, code, filer_id, data_year=2021)
    with pytest.raises(RevisionNotAllowedError):
        _revise(ledger, code, product_id, 2022)


def test_filer_cannot_touch_another_filers_product(ledger, filer):
    code, filer_id = filer
    product_id = file(ledger, code, filer_id)
    ledger.approve_product(REVIEWER, product_id)
    intruder = uscc(103)
    approved_filer(ledger, intruder)
    with pytest.raises(ProductNotOwnedError):
        ledger.withdraw_product(filer_actor(intruder), product_id, "mine now")
    with pytest.raises(ProductNotOwnedError):
        _revise(ledger, intruder, product_id, 2023)
    with pytest.raises(ActorNotPermittedError):
        file(ledger, intruder, filer_id, model="Other")


def test_only_reviewers_review_products(ledger, filer):
    code, filer_id = filer
    product_id = file(ledger, code, filer_id)
    with pytest.raises(ActorNotPermittedError):
        ledger.approve_product(filer_actor(code), product_id)
    with pytest.raises(ActorNotPermittedError):
        ledger.approve_product(Actor(id="c", role=Role.CERTIFIER), product_id)


def test_open_dispute_blocks_approval_until_resolved(ledger, filer):
    code, filer_id = filer
    product_id = file(ledger, code, filer_id)
    dispute = ledger.raise_dispute(
        REVIEWER,
        product_id,
        patent_numbers=[patent(1)],
        claimant="上海另一家公司",
        evidence_digests=EVIDENCE,
        description="主张该专利权属",
    )
    assert ledger.get_product(product_id).has_open_dispute
    with pytest.raises(DisputeOpenError):
        ledger.approve_product(REVIEWER, product_id)
    with pytest.raises(DisputeAlreadyOpenError):
        ledger.raise_dispute(
            REVIEWER,
            product_id,
            patent_numbers=[patent(1)],
            claimant="x",
            evidence_digests=EVIDENCE,
            description="y",
        )
    ledger.resolve_dispute(REVIEWER, product_id, dispute, "claim_dismissed", "法院驳回")
    assert not ledger.get_product(product_id).has_open_dispute
    with pytest.raises(DisputeNotFoundError):
        ledger.resolve_dispute(REVIEWER, product_id, dispute, "claim_dismissed", "again")
    ledger.approve_product(REVIEWER, product_id)


def test_dispute_must_name_a_declared_patent(ledger, filer):
    code, filer_id = filer
    product_id = file(ledger, code, filer_id)
    with pytest.raises(NoValidPatentError):
        ledger.raise_dispute(
            REVIEWER,
            product_id,
            patent_numbers=[patent(9)],
            claimant="x",
            evidence_digests=EVIDENCE,
            description="y",
        )


@pytest.mark.parametrize(
    ("patents", "error"),
    [
        ([], NoValidPatentError),
        (
            [
                PatentDeclaration.parse(patent(1), "owner"),
                PatentDeclaration.parse(patent(1), "owner"),
            ],
            DuplicatePatentError,
        ),
    ],
)
def test_patent_declaration_rules(ledger, filer, patents, error):
    code, filer_id = filer
    before = ledger.recorder.max_notification_id()
    with pytest.raises(error):
        file(ledger, code, filer_id, patents=patents)
    assert ledger.recorder.max_notification_id() == before


def test_licensee_must_cite_the_licence():
    with pytest.raises(LicenceReferenceMissingError):
        PatentDeclaration.parse(patent(2), "licensee")
    declared = PatentDeclaration.parse(patent(2), "licensee", "许可合同 2022-017")
    assert declared.as_record()["licence_reference"] == "许可合同 2022-017"


def test_invalid_patent_number_is_rejected():
    with pytest.raises(PatentNumberInvalidError) as caught:
        PatentDeclaration.parse("ZL202310123456.7", "owner")
    assert caught.value.code == "patent_number_invalid"


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (
            lambda: EconomicFigures.of_fen(sales=-1, exports=0, profit=0, ip_spending=0),
            MoneyInvalidError,
        ),
        (
            lambda: EconomicFigures.of_fen(sales=10, exports=11, profit=0, ip_spending=0),
            ExportsExceedSalesError,
        ),
        (
            lambda: EconomicFigures.of_fen(sales=1.5, exports=0, profit=0, ip_spending=0),  # type: ignore[arg-type]
            MoneyInvalidError,
        ),
    ],
)
def test_economic_figures_are_validated(build, error):
    with pytest.raises(error):
        build()


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"data_year": 1900}, YearInvalidError),
        ({"category": "08"}, CategoryInvalidError),
        ({"category": "03", "finer_code": "0412"}, CategoryInvalidError),
    ],
)
def test_invalid_filing_fields_store_nothing(ledger, filer, override, error):
    code, filer_id = filer
    before = ledger.recorder.max_notification_id()
    with pytest.raises(error):
        file(ledger, code, filer_id, **override)
    assert ledger.recorder.max_notification_id() == before


def test_client_chosen_filing_id_cannot_be_reused(ledger, filer):
    code, filer_id = filer
    product_id = uuid4()
    assert file(ledger, code, filer_id, name="甲", model="1", product_id=product_id) == product_id
    with pytest.raises(FilingIdTakenError):
        file(ledger, code, filer_id, name="乙", model="2", product_id=product_id)
    assert ledger.get_reservation("乙", "2") is None


def test_unknown_product_is_a_typed_error(ledger):
    with pytest.raises(ProductNotFoundError):
        ledger.approve_product(REVIEWER, uuid4())


def test_an_unknown_dispute_outcome_is_an_invalid_value_and_changes_nothing(ledger, filer):
    from domain.errors import DisputeOutcomeInvalidError

    code, filer_id = filer
    product_id = file(ledger, code, filer_id)
    dispute = ledger.raise_dispute(
        REVIEWER,
        product_id,
        patent_numbers=[patent(1)],
        claimant="X Co.",
        evidence_digests=EVIDENCE,
        description="owner?",
    )
    before = ledger.get_product(product_id).version
    with pytest.raises(DisputeOutcomeInvalidError):
        ledger.resolve_dispute(REVIEWER, product_id, dispute, "maybe", "n/a")
    assert ledger.get_product(product_id).version == before


def test_a_command_carrying_a_stale_version_is_refused_and_changes_nothing(ledger, filer):
    from domain.errors import VersionMismatchError

    code, filer_id = filer
    product_id = file(ledger, code, filer_id)
    read = ledger.get_product(product_id).version
    ledger.reject_product(REVIEWER, product_id, "blurry invoice", expected_version=read)
    with pytest.raises(VersionMismatchError) as refused:
        ledger.withdraw_product(REVIEWER, product_id, "lapsed", expected_version=read)
    assert refused.value.details["current_version"] == read + 1
    assert ledger.get_product(product_id).status is ProductStatus.REJECTED
    with pytest.raises(VersionMismatchError):
        ledger.approve_filer(REVIEWER, filer_id, expected_version=0)
