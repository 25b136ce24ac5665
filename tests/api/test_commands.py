"""Every domain command over HTTP succeeds for its callers and records the token as the actor.

The builders here (valid bodies, an approved filer, a filed product — all made through the API)
are shared with test_command_rejections.py, so each test states only what it is about.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel

from api.command_bodies import (
    FileProduct,
    RaiseDispute,
    Reason,
    RegisterFiler,
    ReportConversion,
    ResolveDispute,
    ReviseProduct,
    VerifyRealName,
)
from domain.actor import Role
from domain.filing_number import NUMBERING
from tests.domain.factories import EVIDENCE, digest, patent, uscc

INSTITUTION_USCC = uscc(7, prefix="12")


# --- builders -----------------------------------------------------------------------------------
def filer_body(code: str, **override: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uscc": code,
        "name": f"上海测试科技有限公司{code[-4:]}",
        "kind": "enterprise",
        "region_code": "310115",
        "contact": {"name": "张三", "phone": "+86 21 5555 0000", "email": "zhang@example.cn"},
        "proof_digests": [digest("licence")],
        "pledge_digest": digest("pledge"),
    }
    return {**body, **override}


def figures_body(sales: int = 10_000_000, exports: int = 1_000_000) -> dict[str, int]:
    return {"sales_fen": sales, "exports_fen": exports, "profit_fen": 500_000,
            "ip_spending_fen": 80_000}  # fmt: skip


def product_body(filer_id: str, **override: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "filer_id": filer_id,
        "name": "智能温控阀",
        "model": "TV-100",
        "variants": ["白色", "黑色"],
        "category": "03",
        "patents": [{"number": patent(1), "relation": "owner"}],
        "data_year": 2022,
        "figures": figures_body(),
        "proof_digests": [digest("invoice")],
    }
    return {**body, **override}


def conversion_body(**override: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "institution_uscc": INSTITUTION_USCC,
        "patent_number": patent(9),
        "category": "ordinary_licence",
        "counterparty": "上海示例科技有限公司",
        "occurred_on": "2024-03-15",
        "amount_fen": 50_000_000,
    }
    return {**body, **override}


def approved_filer(api: Any, code: str) -> str:
    """Register ``code`` as itself, then verify and approve it as a reviewer; its filer id."""
    registered = api.post("/v1/filers", filer_body(code), Role.FILER, code)
    assert registered.status_code == 201, registered.json()
    filer_id: str = registered.json()["filer_id"]
    verified = api.post(
        f"/v1/filers/{filer_id}/real-name-verification", {"reference": "RN-1"}, Role.REVIEWER
    )
    assert verified.status_code == 200, verified.json()
    approved = api.post(f"/v1/filers/{filer_id}/approval", None, Role.REVIEWER)
    assert approved.status_code == 200, approved.json()
    return filer_id


def filed_product(api: Any, code: str, filer_id: str, **override: Any) -> str:
    filed = api.post("/v1/products", product_body(filer_id, **override), Role.FILER, code)
    assert filed.status_code == 201, filed.json()
    product_id: str = filed.json()["product_id"]
    return product_id


def token_actor(api: Any, role: Role, scope: str | None = None) -> dict[str, Any]:
    """The actor an event records for the fixture's token of ``role`` (``ppl_<id>_<secret>``)."""
    token_id = api.token(role, scope).split("_")[1]
    return {"id": f"token:{token_id}", "role": role.value, "scope": scope}


def events(api: Any, aggregate_id: str) -> list[Any]:
    return list(api.state.ledger.events.get(UUID(aggregate_id)))


def assert_written(response: Any, status: int, version: int) -> dict[str, Any]:
    """A command's success: status, JSON body with the new version, and that version as ETag."""
    assert response.status_code == status, response.json()
    assert response.headers["content-type"] == "application/json"
    assert response.headers["etag"] == f'"{version}"'
    body: dict[str, Any] = response.json()
    assert body["version"] == version
    return body


# --- filers -------------------------------------------------------------------------------------
def test_filer_registers_itself_and_a_reviewer_verifies_and_approves_it(api):
    code = uscc(1)
    registered = api.post("/v1/filers", filer_body(code), Role.FILER, code)
    body = assert_written(registered, 201, 1)
    filer_id = body["filer_id"]
    assert registered.headers["location"] == f"/v1/filers/{filer_id}"
    assert api.state.ledger.get_filer_by_uscc(code).id == UUID(filer_id)

    verified = api.post(
        f"/v1/filers/{filer_id}/real-name-verification", {"reference": "RN-1"}, Role.REVIEWER
    )
    assert assert_written(verified, 200, 2) == {"filer_id": filer_id, "version": 2}
    assert_written(api.post(f"/v1/filers/{filer_id}/approval", None, Role.REVIEWER), 200, 3)

    stored = events(api, filer_id)
    assert [type(e).__name__ for e in stored] == [
        "FilerRegistered", "FilerRealNameVerified", "FilerApproved",
    ]  # fmt: skip
    assert stored[0].actor == token_actor(api, Role.FILER, code)
    assert stored[2].actor == token_actor(api, Role.REVIEWER)
    assert api.state.ledger.get_filer(UUID(filer_id)).status == "approved"


def test_rejected_filer_resubmits_and_goes_back_to_review(api):
    code = uscc(2)
    registered = api.post("/v1/filers", filer_body(code), Role.REVIEWER)
    filer_id = assert_written(registered, 201, 1)["filer_id"]
    rejected = api.post(
        f"/v1/filers/{filer_id}/rejection", {"reason": "licence scan unreadable"}, Role.REVIEWER
    )
    assert_written(rejected, 200, 2)
    assert api.state.ledger.get_filer(UUID(filer_id)).rejection_reason == "licence scan unreadable"

    new_proof = {"proof_digests": [digest("licence, rescanned")], "pledge_digest": digest("p2")}
    resubmitted = api.post(f"/v1/filers/{filer_id}/resubmission", new_proof, Role.FILER, code)
    assert_written(resubmitted, 200, 3)
    filer = api.state.ledger.get_filer(UUID(filer_id))
    assert filer.status == "pending_review"
    assert filer.proof_digests == [digest("licence, rescanned")]
    assert events(api, filer_id)[0].actor == token_actor(api, Role.REVIEWER)
    assert events(api, filer_id)[2].actor == token_actor(api, Role.FILER, code)


# --- product filings ----------------------------------------------------------------------------
def test_a_filing_is_filed_approved_revised_disputed_resolved_and_withdrawn(api):
    code = uscc(3)
    filer_id = approved_filer(api, code)
    filed = api.post("/v1/products", product_body(filer_id), Role.FILER, code)
    product_id = assert_written(filed, 201, 1)["product_id"]
    assert filed.headers["location"] == f"/v1/products/{product_id}"
    base = f"/v1/products/{product_id}"

    # the approval brings the filing to v3: FilingApproved, then its FilingNumberAssigned
    assert_written(api.post(f"{base}/approval", None, Role.REVIEWER), 200, 3)
    revision = {
        "data_year": 2023,
        "figures": figures_body(sales=20_000_000),
        "patents": [{"number": patent(1), "relation": "owner"},
                    {"number": patent(2), "relation": "licensee", "licence_reference": "LIC-2"}],
        "proof_digests": [digest("invoice 2023")],
    }  # fmt: skip
    assert_written(api.post(f"{base}/revisions", revision, Role.FILER, code), 200, 4)

    dispute = {
        "patent_numbers": [patent(2)],
        "claimant": "某某大学",
        "description": "assignment",
        "evidence_digests": EVIDENCE,
    }
    raised = api.post(f"{base}/disputes", dispute, Role.REVIEWER)
    dispute_id = assert_written(raised, 201, 5)["dispute_id"]
    assert raised.json() == {"product_id": product_id, "dispute_id": dispute_id, "version": 5}
    assert api.state.ledger.get_product(UUID(product_id)).open_disputes.keys() == {dispute_id}

    resolution = {"outcome": "claim_dismissed", "note": "court ruling"}
    resolved = api.post(f"{base}/disputes/{dispute_id}/resolution", resolution, Role.REVIEWER)
    assert_written(resolved, 200, 6)
    withdrawn = api.post(f"{base}/withdrawal", {"reason": "left the market"}, Role.FILER, code)
    assert_written(withdrawn, 200, 7)

    product = api.state.ledger.get_product(UUID(product_id))
    assert product.status == "withdrawn"
    assert product.data_year == 2023
    assert product.figures["sales_fen"] == 20_000_000
    assert product.resolved_disputes[dispute_id]["outcome"] == "claim_dismissed"
    by_filer, by_reviewer = token_actor(api, Role.FILER, code), token_actor(api, Role.REVIEWER)
    numbering = NUMBERING.as_record()  # the filing number is the ledger's act, not a person's
    assert [e.actor for e in events(api, product_id)] == [
        by_filer, by_reviewer, numbering, by_filer, by_reviewer, by_reviewer, by_filer,
    ]  # fmt: skip


def test_client_chosen_ids_are_kept_a_claimant_disputes_and_a_reviewer_withdraws(api):
    code = uscc(4)
    filer_id = approved_filer(api, code)
    chosen = str(uuid4())
    product_id = filed_product(api, code, filer_id, filing_id=chosen, finer_code="0301")
    assert product_id == chosen
    assert api.state.ledger.get_product(UUID(chosen)).finer_code == "0301"

    approved = api.post(f"/v1/products/{chosen}/approval", {}, Role.REVIEWER)
    assert_written(approved, 200, 3)  # approved and numbered
    claim = {"patent_numbers": [patent(1)], "claimant": "某某公司", "description": "ours",
             "evidence_digests": EVIDENCE, "dispute_id": "CASE-2024-7"}  # fmt: skip
    # Another filer claims the patents of an approved (public) filing.
    raised = api.post(f"/v1/products/{chosen}/disputes", claim, Role.FILER, uscc(5))
    assert assert_written(raised, 201, 4)["dispute_id"] == "CASE-2024-7"
    withdrawn = api.post(f"/v1/products/{chosen}/withdrawal", {"reason": "lapsed"}, Role.REVIEWER)
    assert_written(withdrawn, 200, 5)
    product = api.state.ledger.get_product(UUID(chosen))
    assert (product.status, product.withdrawal_reason) == ("withdrawn", "lapsed")
    assert events(api, chosen)[3].actor == token_actor(api, Role.FILER, uscc(5))


# --- conversion feedback ------------------------------------------------------------------------
def test_an_institution_reports_conversions_of_its_patent_and_history_is_kept(api):
    first = api.post("/v1/conversions", conversion_body(), Role.INSTITUTION, INSTITUTION_USCC)
    record_id = assert_written(first, 201, 2)["record_id"]
    second = api.post(
        "/v1/conversions",
        conversion_body(category="industrialised_by_licensee", amount_fen=None),
        Role.INSTITUTION,
        INSTITUTION_USCC,
    )
    assert assert_written(second, 201, 3)["record_id"] == record_id

    record = api.state.ledger.get_conversion(INSTITUTION_USCC, patent(9))
    assert [r["category"] for r in record.reports] == [
        "ordinary_licence",
        "industrialised_by_licensee",
    ]
    assert record.reports[0]["amount_fen"] == 50_000_000
    actor = token_actor(api, Role.INSTITUTION, INSTITUTION_USCC)
    assert {e.actor["id"] for e in events(api, record_id)} == {actor["id"]}


# --- the contract -------------------------------------------------------------------------------
COMMAND_PATHS = (
    "/v1/filers", "/v1/filers/{filer_id}/real-name-verification", "/v1/filers/{filer_id}/approval",
    "/v1/filers/{filer_id}/rejection", "/v1/filers/{filer_id}/resubmission", "/v1/products",
    "/v1/products/{product_id}/approval", "/v1/products/{product_id}/rejection",
    "/v1/products/{product_id}/revisions", "/v1/products/{product_id}/withdrawal",
    "/v1/products/{product_id}/disputes",
    "/v1/products/{product_id}/disputes/{dispute_id}/resolution", "/v1/conversions",
)  # fmt: skip


def test_every_command_is_documented_with_its_problems(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in COMMAND_PATHS:
        operation = paths[path]["post"]
        assert operation["summary"], path
        assert operation["description"], path
        assert {"401", "403", "422", "503"} <= operation["responses"].keys(), path
        assert "application/problem+json" in operation["responses"]["403"]["content"], path


def example(model: type[BaseModel]) -> dict[str, Any]:
    examples = model.model_json_schema()["examples"]
    assert examples, model
    first: dict[str, Any] = examples[0]
    return first


def test_the_documented_examples_are_accepted_in_order(api):
    """A client copying the examples from the reference gets through the whole flow."""
    registration = example(RegisterFiler)
    code = registration["uscc"]
    filer_id = assert_written(api.post("/v1/filers", registration, Role.FILER, code), 201, 1)[
        "filer_id"
    ]
    assert filer_id == example(FileProduct)["filer_id"]
    verification = example(VerifyRealName)
    assert_written(
        api.post(f"/v1/filers/{filer_id}/real-name-verification", verification, Role.REVIEWER),
        200,
        2,
    )
    assert_written(api.post(f"/v1/filers/{filer_id}/approval", None, Role.REVIEWER), 200, 3)

    filed = api.post("/v1/products", example(FileProduct), Role.FILER, code)
    base = f"/v1/products/{assert_written(filed, 201, 1)['product_id']}"
    assert_written(api.post(f"{base}/approval", None, Role.REVIEWER), 200, 3)  # and numbered
    assert_written(api.post(f"{base}/revisions", example(ReviseProduct), Role.FILER, code), 200, 4)
    raised = api.post(f"{base}/disputes", example(RaiseDispute), Role.REVIEWER)
    resolution = f"{base}/disputes/{assert_written(raised, 201, 5)['dispute_id']}/resolution"
    assert_written(api.post(resolution, example(ResolveDispute), Role.REVIEWER), 200, 6)
    assert_written(api.post(f"{base}/withdrawal", example(Reason), Role.FILER, code), 200, 7)

    report = example(ReportConversion)
    reported = api.post("/v1/conversions", report, Role.INSTITUTION, report["institution_uscc"])
    assert_written(reported, 201, 2)
