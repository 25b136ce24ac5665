"""Annex rule v1 over HTTP: each condition is a problem ``type`` and changes nothing; the
corrections and the move confirmation are commands of their own (both stores)."""

from __future__ import annotations

from typing import Any

from domain.actor import Role
from tests.api.test_command_rejections import assert_problem, stored
from tests.api.test_commands import (
    approved_filer,
    figures_body,
    filed_product,
    filer_body,
    product_body,
)
from tests.domain.factories import EVIDENCE, digest, patent, uscc


def registered(api: Any, code: str, **override: Any) -> str:
    response = api.post("/v1/filers", filer_body(code, **override), Role.FILER, code)
    assert response.status_code == 201, response.text
    filer_id: str = response.json()["filer_id"]
    return filer_id


def test_a_kind_that_does_not_fit_the_uscc_is_422(api):
    code = uscc(1)  # 91: an enterprise
    before = stored(api)
    response = api.post(
        "/v1/filers", filer_body(code, kind="university_or_institute"), Role.FILER, code
    )
    problem = assert_problem(response, 422, "kind_uscc_mismatch")
    assert problem["details"]["organisation_type"] == "91"
    assert stored(api) == before


def test_a_region_not_the_usccs_is_409_at_approval_until_a_move_is_confirmed(api):
    code = uscc(2, region="310112")
    filer_id = registered(api, code, region_code="310115")
    api.post(f"/v1/filers/{filer_id}/real-name-verification", {"reference": "RN"}, Role.REVIEWER)
    before = stored(api)
    refused = api.post(f"/v1/filers/{filer_id}/approval", None, Role.REVIEWER)
    problem = assert_problem(refused, 409, "region_uscc_mismatch")
    assert problem["details"] == {"region_code": "310115", "uscc_region": "310112"}
    assert stored(api) == before
    not_a_reviewer = api.post(
        f"/v1/filers/{filer_id}/move-confirmation", {"reason": "迁址"}, Role.FILER, code
    )
    assert not_a_reviewer.status_code == 403
    blank = api.post(f"/v1/filers/{filer_id}/move-confirmation", {"reason": " "}, Role.REVIEWER)
    assert_problem(blank, 422, "reason_required")
    assert stored(api) == before
    confirmed = api.post(
        f"/v1/filers/{filer_id}/move-confirmation", {"reason": "住所变更登记"}, Role.REVIEWER
    )
    assert confirmed.status_code == 200, confirmed.text
    approved = api.post(f"/v1/filers/{filer_id}/approval", None, Role.REVIEWER)
    assert approved.status_code == 200, approved.text


def test_a_move_where_the_regions_agree_is_409(api):
    filer_id = registered(api, uscc(3))
    before = stored(api)
    response = api.post(f"/v1/filers/{filer_id}/move-confirmation", {"reason": "无"}, Role.REVIEWER)
    assert_problem(response, 409, "region_move_not_needed")
    assert stored(api) == before


def test_a_resubmission_corrects_region_kind_name_and_contact(api):
    code = uscc(4, prefix="12", region="310104")
    filer_id = registered(
        api, code, kind="university_or_institute", region_code="310104", name="旧名称"
    )
    api.post(f"/v1/filers/{filer_id}/rejection", {"reason": "名称有误"}, Role.REVIEWER)
    resubmit = {"proof_digests": [digest("licence 2")], "pledge_digest": digest("pledge")}
    before = stored(api)
    wrong_kind = api.post(
        f"/v1/filers/{filer_id}/resubmission", {**resubmit, "kind": "enterprise"}, Role.FILER, code
    )
    assert_problem(wrong_kind, 422, "kind_uscc_mismatch")
    bad_region = api.post(
        f"/v1/filers/{filer_id}/resubmission", {**resubmit, "region_code": "3101"}, Role.FILER, code
    )
    assert_problem(bad_region, 422, "region_code_invalid")
    assert stored(api) == before
    corrected = {
        **resubmit,
        "name": "上海某研究院",
        "kind": "new_rnd_institution",
        "contact": {"name": "李四", "phone": "+86 21 6666 0000", "email": "li@example.cn"},
    }
    response = api.post(f"/v1/filers/{filer_id}/resubmission", corrected, Role.FILER, code)
    assert response.status_code == 200, response.text
    api.settle()
    shown = api.client.get(f"/v1/filers/{filer_id}", headers=api.headers(Role.REVIEWER))
    assert shown.status_code == 200, shown.text
    assert (shown.json()["name"], shown.json()["kind"]) == ("上海某研究院", "new_rnd_institution")


def test_zero_sales_and_a_future_data_year_are_422(api):
    code = uscc(5)
    filer_id = approved_filer(api, code)
    before = stored(api)
    no_sales = api.post(
        "/v1/products",
        product_body(filer_id, figures=figures_body(sales=0, exports=0)),
        Role.FILER,
        code,
    )
    problem = assert_problem(no_sales, 422, "no_market_returns")
    assert problem["details"]["field"] == "figures.sales_fen"
    future = api.post("/v1/products", product_body(filer_id, data_year=2100), Role.FILER, code)
    assert_problem(future, 422, "data_year_in_future")
    assert stored(api) == before


def test_an_unclassified_filing_is_accepted_and_a_finer_code_under_it_is_not(api):
    code = uscc(6)
    filer_id = approved_filer(api, code)
    before = stored(api)
    with_finer = api.post(
        "/v1/products",
        product_body(filer_id, category="unclassified", finer_code="0301"),
        Role.FILER,
        code,
    )
    assert_problem(with_finer, 422, "category_invalid")
    assert stored(api) == before
    filed_product(api, code, filer_id, category="unclassified")


def test_approving_a_filing_without_a_valid_patent_is_409(api):
    code = uscc(7)
    filer_id = approved_filer(api, code)
    product_id = filed_product(
        api, code, filer_id, patents=[{"number": patent(71), "relation": "owner"}]
    )
    assert api.post(f"/v1/products/{product_id}/approval", {}, Role.REVIEWER).status_code == 200
    raised = api.post(
        f"/v1/products/{product_id}/disputes",
        {
            "patent_numbers": [patent(71)],
            "claimant": "某公司",
            "description": "权属",
            "evidence_digests": EVIDENCE,
        },
        Role.REVIEWER,
    )
    assert raised.status_code in (200, 201), raised.text
    dispute_id = raised.json()["dispute_id"]
    resolved = api.post(
        f"/v1/products/{product_id}/disputes/{dispute_id}/resolution",
        {"outcome": "claim_upheld", "note": "权利归属某公司"},
        Role.REVIEWER,
    )
    assert resolved.status_code == 200, resolved.text
    before = stored(api)
    refused = api.post(f"/v1/products/{product_id}/approval", {}, Role.REVIEWER)
    assert_problem(refused, 409, "no_valid_patent_left")
    assert stored(api) == before
