"""Annex rule v1 at the command (audit.offline.annex_rule, docs/annex-rules.md), on both stores.

Each condition of the 2022 notice's annex 1 is refused with its own error code and leaves
nothing stored; events recorded before the rule (rule 0) stay as they were.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from domain.clock import using_clock
from domain.declarations import Contact, PatentDeclaration
from domain.errors import (
    CategoryInvalidError,
    CorrectionNotAllowedError,
    DataYearInFutureError,
    KindUsccMismatchError,
    NoMarketReturnsError,
    NoValidPatentLeftError,
    RegionMoveNotNeededError,
    RegionUsccMismatchError,
)
from domain.product import ProductStatus
from domain.values import AnnexRule, kind_misfit, region_misfit
from tests.domain.factories import (
    EVIDENCE,
    REVIEWER,
    VERIFIER,
    approve_as_distinct,
    approved_filer,
    before_annex_rule,
    digest,
    figures,
    file,
    filer_actor,
    own_patent,
    patent,
    product_arguments,
    register,
    uscc,
)


def stored_events(ledger: Any) -> int:
    return ledger.recorder.max_notification_id() or 0


def last_event(ledger: Any, aggregate_id: UUID) -> Any:
    return list(ledger.repository.event_store.get(aggregate_id))[-1]


# --- the tables, stdlib ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "prefix", "fits"),
    [
        ("enterprise", "91", True),
        ("enterprise", "93", True),
        ("enterprise", "12", False),
        ("university_or_institute", "12", True),
        ("university_or_institute", "52", True),
        ("university_or_institute", "91", False),
        ("new_rnd_institution", "91", True),
        ("new_rnd_institution", "12", True),
        ("new_rnd_institution", "51", False),
        ("social_organization", "51", True),
        ("social_organization", "53", True),
        ("social_organization", "91", False),
    ],
)
def test_the_organisation_type_table(kind: str, prefix: str, fits: bool) -> None:
    assert (kind_misfit(kind, uscc(1, prefix=prefix)) is None) is fits


@pytest.mark.parametrize(
    ("region", "uscc_region", "fits"),
    [
        ("310115", "310115", True),
        ("310115", "310119", True),  # 南汇 -> 浦东, the legacy mapping
        ("310101", "310103", True),  # 卢湾 -> 黄浦
        ("310151", "310230", True),  # 崇明县 -> 崇明区
        ("310115", "310000", True),  # issued by the city's authority
        ("310115", "310100", True),
        ("310000", "310115", True),  # a filer registered under its city
        ("310115", "310112", False),
        ("310104", "310103", False),  # 卢湾 went to 黄浦, not 徐汇
        ("310115", "440101", False),
        ("440101", "310000", False),
    ],
)
def test_the_region_rule(region: str, uscc_region: str, fits: bool) -> None:
    assert (region_misfit(region, uscc(1, region=uscc_region)) is None) is fits


# --- filer kind ---------------------------------------------------------------------------
def register_as(ledger: Any, code: str, kind: str) -> UUID:
    filer_id: UUID = ledger.register_filer(
        filer_actor(code),
        uscc=code,
        name="上海某大学",
        kind=kind,
        region_code="310115",
        contact=Contact.parse("张三", "+86 21 5555 0000", "z@example.cn"),
        proof_digests=[digest("licence")],
        pledge_digest=digest("pledge"),
    )
    return filer_id


def test_an_enterprise_uscc_registered_as_a_university_is_refused(ledger):
    before = stored_events(ledger)
    code = uscc(11, prefix="91")
    with pytest.raises(KindUsccMismatchError) as refused:
        register_as(ledger, code, "university_or_institute")
    assert refused.value.code == "kind_uscc_mismatch"
    assert refused.value.details["organisation_type"] == "91"
    assert stored_events(ledger) == before


def test_a_public_institution_registers_as_a_university(ledger):
    filer_id = register_as(ledger, uscc(12, prefix="12"), "university_or_institute")
    assert last_event(ledger, filer_id).annex_rule == 1


def test_a_filer_registered_before_the_rule_corrects_its_kind_on_resubmission(ledger):
    code = uscc(13, prefix="12")
    with before_annex_rule():  # rule 0: the kind was not checked
        filer_id = register(ledger, code)  # an "enterprise" with a 12 code
    ledger.reject_filer(REVIEWER, filer_id, "单位类型与统一社会信用代码不符")
    actor = filer_actor(code)
    with pytest.raises(KindUsccMismatchError):  # resubmitting unchanged keeps the misfit
        ledger.resubmit_filer(actor, filer_id, [digest("licence 2")], digest("pledge"))
    before = stored_events(ledger)
    with pytest.raises(KindUsccMismatchError):
        ledger.resubmit_filer(
            actor, filer_id, [digest("licence 2")], digest("pledge"), kind="social_organization"
        )
    assert stored_events(ledger) == before
    ledger.resubmit_filer(
        actor,
        filer_id,
        [digest("licence 2")],
        digest("pledge"),
        kind="university_or_institute",
        name="上海某研究所",
        contact=Contact.parse("李四", "+86 21 6666 0000", "li@example.cn"),
    )
    filer = ledger.get_filer(filer_id)
    assert (filer.kind, filer.name, filer.contact["name"]) == (
        "university_or_institute",
        "上海某研究所",
        "李四",
    )


def test_corrections_need_the_rule(ledger):
    code = uscc(14)
    filer_id = register(ledger, code)
    ledger.reject_filer(REVIEWER, filer_id, "材料不全")
    with before_annex_rule(), pytest.raises(CorrectionNotAllowedError):
        ledger.resubmit_filer(
            filer_actor(code), filer_id, [digest("x")], digest("pledge"), name="新名称"
        )


# --- filer region -------------------------------------------------------------------------
def test_a_region_not_the_usccs_needs_a_confirmed_move_before_approval(ledger):
    code = uscc(21, region="310112")  # 闵行 in the USCC
    filer_id = register(ledger, code, region="310115")  # 浦东 claimed
    ledger.verify_filer_real_name(VERIFIER, filer_id, "RN-21")
    before = stored_events(ledger)
    with pytest.raises(RegionUsccMismatchError) as refused:
        ledger.approve_filer(REVIEWER, filer_id)
    assert refused.value.details == {"region_code": "310115", "uscc_region": "310112"}
    assert stored_events(ledger) == before
    ledger.confirm_filer_move(REVIEWER, filer_id, "营业执照住所变更登记：2020 年迁至浦东新区")
    moved = last_event(ledger, filer_id)
    assert (moved.region_code, moved.uscc_region) == ("310115", "310112")
    ledger.approve_filer(REVIEWER, filer_id)
    assert ledger.get_filer(filer_id).status.value == "approved"


def test_a_legacy_code_in_the_uscc_needs_no_move(ledger):
    code = uscc(22, region="310119")  # 南汇区, part of 浦东新区 since 2009
    filer_id = approved_filer(ledger, code, region="310115")
    assert ledger.get_filer(filer_id).status.value == "approved"


def test_a_move_is_confirmed_only_where_the_regions_differ(ledger):
    filer_id = register(ledger, uscc(23))
    with pytest.raises(RegionMoveNotNeededError):
        ledger.confirm_filer_move(REVIEWER, filer_id, "无需确认")


def test_a_move_confirmed_for_one_region_does_not_cover_a_corrected_one(ledger):
    code = uscc(24, region="310112")
    filer_id = register(ledger, code, region="310115")
    ledger.verify_filer_real_name(VERIFIER, filer_id, "RN-24")
    ledger.confirm_filer_move(REVIEWER, filer_id, "迁至浦东新区")
    ledger.reject_filer(REVIEWER, filer_id, "联系人信息有误")
    ledger.resubmit_filer(
        filer_actor(code), filer_id, [digest("licence")], digest("pledge"), region_code="310104"
    )
    with pytest.raises(RegionUsccMismatchError):
        ledger.approve_filer(REVIEWER, filer_id)
    ledger.reject_filer(REVIEWER, filer_id, "区域与统一社会信用代码不符")
    ledger.resubmit_filer(  # corrected back to the USCC's own region: no move needed
        filer_actor(code), filer_id, [digest("licence")], digest("pledge"), region_code="310112"
    )
    ledger.approve_filer(REVIEWER, filer_id)


def test_a_filer_approved_before_the_rule_stays_approved(ledger):
    code = uscc(25, region="310112")
    with before_annex_rule():
        filer_id = approved_filer(ledger, code, region="310115")
    assert last_event(ledger, filer_id).annex_rule == 0
    file(ledger, code, filer_id, patents=[PatentDeclaration.parse(own_patent(filer_id), "owner")])


# --- the filing's data ----------------------------------------------------------------------
@pytest.fixture
def filer(ledger) -> tuple[str, UUID]:
    code = uscc(31)
    return code, approved_filer(ledger, code)


def test_zero_sales_are_no_market_returns(ledger, filer):
    code, filer_id = filer
    before = stored_events(ledger)
    with pytest.raises(NoMarketReturnsError) as refused:
        file(ledger, code, filer_id, figures=figures(sales=0, exports=0))
    assert refused.value.code == "no_market_returns"
    assert refused.value.details["field"] == "figures.sales_fen"
    assert stored_events(ledger) == before


def test_a_data_year_after_the_current_year_is_refused(ledger, filer):
    code, filer_id = filer
    with using_clock(lambda: datetime(2023, 12, 31, 15, 59, tzinfo=UTC)):  # 23:59 Beijing
        with pytest.raises(DataYearInFutureError) as refused:
            file(ledger, code, filer_id, data_year=2024)
        assert refused.value.details == {"field": "data_year", "maximum": 2023}
        file(ledger, code, filer_id, data_year=2023)  # the current year itself is allowed
    with using_clock(lambda: datetime(2023, 12, 31, 16, 0, tzinfo=UTC)):  # 1 Jan in Beijing
        file(ledger, code, filer_id, data_year=2024, model="TV-2024")


def test_a_revision_is_held_to_the_same_conditions(ledger, filer):
    code, filer_id = filer
    product_id = file(ledger, code, filer_id)
    approve_as_distinct(ledger, product_id)
    revise = {
        "data_year": 2023,
        "figures": figures(),
        "patents": [PatentDeclaration.parse(patent(1), "owner")],
        "proof_digests": [digest("invoice 2023")],
    }
    with pytest.raises(NoMarketReturnsError):
        ledger.revise_product(
            filer_actor(code), product_id, **{**revise, "figures": figures(sales=0, exports=0)}
        )
    with pytest.raises(DataYearInFutureError):
        ledger.revise_product(filer_actor(code), product_id, **{**revise, "data_year": 2100})
    ledger.revise_product(filer_actor(code), product_id, **revise)


def test_a_filing_made_before_the_rule_may_have_had_zero_sales(ledger, filer):
    code, filer_id = filer
    with before_annex_rule():
        product_id = file(ledger, code, filer_id, figures=figures(sales=0, exports=0))
    assert last_event(ledger, product_id).annex_rule == 0


# --- category --------------------------------------------------------------------------------
def test_a_filing_may_be_unclassified_and_classified_by_a_revision(ledger, filer):
    code, filer_id = filer
    with pytest.raises(CategoryInvalidError):
        file(ledger, code, filer_id, category="unclassified", finer_code="0301")
    product_id = file(ledger, code, filer_id, category="unclassified")
    assert ledger.get_product(product_id).category == "unclassified"
    approve_as_distinct(ledger, product_id)
    ledger.revise_product(
        filer_actor(code),
        product_id,
        data_year=2023,
        figures=figures(),
        patents=[PatentDeclaration.parse(patent(1), "owner")],
        proof_digests=[digest("invoice 2023")],
        category="05",
        finer_code="0501",
    )
    product = ledger.get_product(product_id)
    assert (product.category, product.finer_code) == ("05", "0501")


def test_unclassified_is_no_category_before_the_rule(ledger, filer):
    code, filer_id = filer
    with before_annex_rule(), pytest.raises(CategoryInvalidError):
        file(ledger, code, filer_id, category="unclassified")


# --- upheld ownership claims -------------------------------------------------------------------
def number(serial: int) -> str:
    """A patent's number as recorded (no ZL prefix)."""
    return PatentDeclaration.parse(patent(serial), "owner").number.value


def _two_patent_product(ledger: Any, code: str, filer_id: UUID) -> UUID:
    patents = [PatentDeclaration.parse(patent(n), "owner") for n in (41, 42)]
    product_id = file(ledger, code, filer_id, patents=patents)
    approve_as_distinct(ledger, product_id)
    return product_id


def _uphold(ledger: Any, product_id: UUID, *numbers: str) -> Any:
    dispute = ledger.raise_dispute(
        REVIEWER,
        product_id,
        patent_numbers=list(numbers),
        claimant="某公司",
        evidence_digests=EVIDENCE,
        description="权属",
    )
    ledger.resolve_dispute(REVIEWER, product_id, dispute, "claim_upheld", "权利归属某公司")
    return last_event(ledger, product_id)


def test_an_upheld_claim_removes_the_patent_and_the_filing_stays_approved(ledger, filer):
    code, filer_id = filer
    product_id = _two_patent_product(ledger, code, filer_id)
    resolved = _uphold(ledger, product_id, patent(41))
    assert (resolved.removed_patents, resolved.returned_to_review) == ([number(41)], False)
    product = ledger.get_product(product_id)
    assert product.status is ProductStatus.APPROVED
    assert [p["number"] for p in product.valid_patents] == [number(42)]


def test_a_filing_left_without_a_valid_patent_returns_to_review_and_cannot_be_approved(
    ledger, filer
):
    code, filer_id = filer
    product_id = _two_patent_product(ledger, code, filer_id)
    _uphold(ledger, product_id, patent(41))
    resolved = _uphold(ledger, product_id, patent(42))
    assert (resolved.removed_patents, resolved.returned_to_review) == ([number(42)], True)
    assert ledger.get_product(product_id).status is ProductStatus.PENDING_REVIEW
    before = stored_events(ledger)
    with pytest.raises(NoValidPatentLeftError) as refused:
        ledger.approve_product(REVIEWER, product_id)
    assert refused.value.details["removed_patents"] == [number(41), number(42)]
    assert stored_events(ledger) == before
    ledger.reject_product(REVIEWER, product_id, "专利权属已判归他人")
    arguments = product_arguments(filer_id)
    with pytest.raises(NoValidPatentLeftError):  # lost patents stay lost
        ledger.revise_product(
            filer_actor(code),
            product_id,
            data_year=2023,
            figures=figures(),
            patents=[PatentDeclaration.parse(patent(41), "owner")],
            proof_digests=arguments["proof_digests"],
        )
    ledger.revise_product(
        filer_actor(code),
        product_id,
        data_year=2023,
        figures=figures(),
        patents=[PatentDeclaration.parse(patent(43), "owner")],
        proof_digests=arguments["proof_digests"],
    )
    approve_as_distinct(ledger, product_id)


def test_a_dismissed_claim_or_one_before_the_rule_removes_nothing(ledger, filer):
    code, filer_id = filer
    product_id = _two_patent_product(ledger, code, filer_id)
    with before_annex_rule():
        resolved = _uphold(ledger, product_id, patent(41), patent(42))
    assert (resolved.annex_rule, resolved.removed_patents) == (AnnexRule.NONE, [])
    assert ledger.get_product(product_id).status is ProductStatus.APPROVED
