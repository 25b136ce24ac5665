"""Near-duplicate screening over HTTP (issue #13): the screening read, approval with "distinct
product" decisions, rejection as a duplicate — each refusal a problem document that stores
nothing.

The filings are made through the API by different filers: ``_file`` names each one's name,
model and patent, so the candidates of every test are the ones audit.offline.screening defines
(tests/audit has the rule's own cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from api.command_bodies import DECISION_REASON_MAX
from domain.actor import Role
from domain.filer import filer_id_for
from tests.api.test_command_rejections import assert_problem, stored
from tests.api.test_commands import approved_filer, assert_written, product_body
from tests.domain.factories import patent, uscc

REASON = "另一型号: 电机功率与壳体不同"


def _file(api: Any, serial: int, name: str, model: str, patent_serial: int) -> str:
    """A filing by a filer of its own (``uscc(serial)``), declaring ``patent(patent_serial)``."""
    code = uscc(serial)
    filer_id = approved_filer(api, code)
    patents = [{"number": patent(patent_serial), "relation": "owner"}]
    body = product_body(filer_id, name=name, model=model, patents=patents)
    filed = api.post("/v1/products", body, Role.FILER, code)
    assert filed.status_code == 201, filed.json()
    product_id: str = filed.json()["product_id"]
    return product_id


@dataclass(frozen=True)
class Pair:
    earlier: str  # 智能温控阀 TV-100
    later: str  # 恒温控制阀 TV-100, by another filer: same_model


def _pair(api: Any, serial: int) -> Pair:
    earlier = _file(api, serial, "智能温控阀", "TV-100", serial)
    later = _file(api, serial + 1, "恒温控制阀", "TV-100", serial + 1)
    return Pair(earlier, later)


def _approve(api: Any, product_id: str, body: Any, **headers: str) -> Any:
    return api.post(f"/v1/products/{product_id}/approval", body, Role.REVIEWER, **headers)


def _distinct(*decisions: tuple[str, str]) -> dict[str, Any]:
    return {"distinct": [{"product_id": pid, "reason": reason} for pid, reason in decisions]}


def _screening(api: Any, product_id: str, role: Role | None = Role.REVIEWER,
               scope: str | None = None) -> Any:  # fmt: skip
    return api.client.get(f"/v1/products/{product_id}/screening", headers=api.headers(role, scope))


def _status(api: Any, product_id: str) -> str:
    return str(api.state.ledger.get_product(UUID(product_id)).status)


def _trail(api: Any, product_id: str) -> list[dict[str, Any]]:
    api.settle()
    trail = api.client.get(f"/v1/products/{product_id}/trail", headers=api.headers(Role.REVIEWER))
    assert trail.status_code == 200, trail.json()
    events: list[dict[str, Any]] = trail.json()["events"]
    return events


# --- the screening read -------------------------------------------------------------------------
def test_the_screening_read_lists_each_candidate_with_its_reasons_and_decision(api):
    pair = _pair(api, 900)

    response = _screening(api, pair.later)

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "product_id": pair.later,
        "screening_rule": 1,
        "candidates": [{"product_id": pair.earlier, "reasons": ["same_model"],
                        "decision": "open", "reason": None}],
        "duplicate_of": None,
        "open": 1,
    }  # fmt: skip
    earlier = _screening(api, pair.earlier).json()
    assert (earlier["candidates"], earlier["open"]) == ([], 0)  # screened against earlier only


def test_the_platform_roles_read_screening_and_the_others_are_refused_as_for_key_groups(api):
    pair = _pair(api, 902)
    filer = uscc(903)  # the later filing's own filer
    for platform in (Role.REVIEWER, Role.CERTIFIER, Role.AUDITOR):
        assert _screening(api, pair.later, platform).status_code == 200, platform
    refused: tuple[tuple[Role | None, str | None, int, str], ...] = (
        (None, None, 401, "not_authenticated"),
        (Role.FILER, filer, 403, "forbidden"),
        (Role.INSTITUTION, uscc(7, prefix="12"), 403, "forbidden"),
        (Role.REGIONAL_ADMIN, "310115", 403, "forbidden"),
    )
    for role, scope, status, code in refused:
        review_only = api.client.get("/v1/review/key-groups", headers=api.headers(role, scope))
        assert_problem(review_only, status, code)
        for product_id in (pair.later, str(uuid4())):  # its own filing, or none: one answer
            body = assert_problem(_screening(api, product_id, role, scope), status, code)
            assert "candidates" not in body


def test_the_screening_of_an_unknown_filing_is_404_as_other_product_reads(api):
    unknown = str(uuid4())
    api.settle()  # the registry answers once its read model is built
    registry = assert_problem(
        api.client.get(f"/v1/products/{unknown}", headers=api.headers(Role.REVIEWER)), 404
    )
    screening = assert_problem(_screening(api, unknown), 404, registry["code"])
    assert screening["code"] == "not_found"
    assert_problem(_screening(api, "not-a-uuid"), 422, "request_invalid")


# --- approval -----------------------------------------------------------------------------------
def test_approval_with_an_open_candidate_is_409_listing_it_and_stores_nothing(api):
    pair = _pair(api, 904)
    before = stored(api)

    no_decisions: tuple[dict[str, Any] | None, ...] = (None, {}, {"distinct": []})
    for body in no_decisions:
        problem = assert_problem(_approve(api, pair.later, body), 409, "candidates_open")
        assert problem["details"]["candidates"] == [
            {"product_id": pair.earlier, "reasons": ["same_model"]}
        ]

    assert stored(api) == before
    assert _status(api, pair.later) == "pending_review"


def test_approval_with_a_decision_on_each_candidate_records_it_in_the_trail(api):
    pair = _pair(api, 906)

    approved = _approve(api, pair.later, _distinct((pair.earlier, f"  {REASON} ")))

    # approved (v2) and numbered (v3: FilingNumberAssigned)
    assert assert_written(approved, 200, 3) == {"product_id": pair.later, "version": 3}
    assert _status(api, pair.later) == "approved"
    last = _trail(api, pair.later)[-2]  # the last is its FilingNumberAssigned
    assert last["event_type"] == "FilingApproved"
    assert last["details"]["distinct"] == [{"product_id": pair.earlier, "reason": REASON}]
    assert last["details"]["screening_rule"] == 1
    screening = _screening(api, pair.later).json()
    assert screening["candidates"][0] | {"reasons": None} == {
        "product_id": pair.earlier, "reasons": None, "decision": "distinct", "reason": REASON,
    }  # fmt: skip
    assert screening["open"] == 0


def test_a_decision_on_a_filing_that_is_no_candidate_is_422_and_stores_nothing(api):
    pair = _pair(api, 908)
    unrelated = _file(api, 910, "电动执行器", "ED-7", 910)
    before = stored(api)

    for other in (unrelated, str(uuid4()), pair.later):
        body = _distinct((pair.earlier, REASON), (other, REASON))
        problem = assert_problem(_approve(api, pair.later, body), 422, "not_a_candidate")
        assert problem["details"]["product_id"] == other

    assert stored(api) == before
    assert _status(api, pair.later) == "pending_review"


def test_a_decision_without_a_reason_or_with_an_overlong_one_is_422(api):
    pair = _pair(api, 912)
    before = stored(api)
    for reason, code in (
        ("", "reason_required"),
        ("   ", "reason_required"),
        ("x" * (DECISION_REASON_MAX + 1), "text_invalid"),
        ("另一\n型号", "text_invalid"),
    ):
        body = _distinct((pair.earlier, reason))
        problem = assert_problem(_approve(api, pair.later, body), 422, code)
        assert problem["details"]["field"] == "reason"
    assert stored(api) == before

    longest = _distinct((pair.earlier, "x" * DECISION_REASON_MAX))  # the documented bound
    assert_written(_approve(api, pair.later, longest), 200, 3)


def test_a_decision_body_of_the_wrong_shape_is_422_request_invalid_and_stores_nothing(api):
    pair = _pair(api, 914)
    decision = {"product_id": pair.earlier, "reason": REASON}
    same_in_capitals = {"product_id": pair.earlier.upper(), "reason": "another reason"}
    wrong: list[tuple[str, Any]] = [  # (what the problem names, the body)
        ("distinct", {"distinct": [decision, decision]}),  # one candidate decided twice
        ("distinct", {"distinct": [decision, same_in_capitals]}),  # the same id, spelt otherwise
        ("force", {"distinct": [decision], "force": True}),  # an unknown field
        ("note", {"distinct": [{**decision, "note": "x"}]}),  # unknown, nested
        ("reason", {"distinct": [{"product_id": pair.earlier}]}),  # a missing field
        ("product_id", {"distinct": [{**decision, "product_id": "not-a-uuid"}]}),
        ("reason", {"distinct": [{**decision, "reason": 7}]}),
        ("distinct", {"distinct": {pair.earlier: REASON}}),  # a map, not a list
    ]
    before = stored(api)
    for named, body in wrong:
        problem = assert_problem(_approve(api, pair.later, body), 422, "request_invalid")
        assert named in str(problem["errors"]), (named, problem)
    assert stored(api) == before


def test_approval_decisions_keep_idempotency_and_if_match(api):
    pair = _pair(api, 916)
    refused = _approve(api, pair.later, None, idempotency_key="approve-916-a")
    assert_problem(refused, 409, "candidates_open")
    # No body and an empty body are one request: the retry replays the refusal.
    replayed = _approve(api, pair.later, {}, idempotency_key="approve-916-a")
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == refused.json()
    decided = _distinct((pair.earlier, REASON))
    reused = _approve(api, pair.later, decided, idempotency_key="approve-916-a")
    assert_problem(reused, 422, "idempotency_key_reused")
    before = stored(api)
    stale = _approve(api, pair.later, decided, if_match='"2"')
    assert_problem(stale, 412, "version_mismatch")
    assert stored(api) == before

    approved = _approve(api, pair.later, decided, idempotency_key="approve-916-b", if_match='"1"')
    assert_written(approved, 200, 3)
    after = stored(api)
    again = _approve(api, pair.later, decided, idempotency_key="approve-916-b", if_match='"1"')
    assert (again.status_code, again.json()) == (200, approved.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert stored(api) == after


def test_distinct_products_sharing_a_model_a_name_or_a_patent_are_filed_and_approved(api):
    a = _file(api, 920, "智能温控阀", "TV-100", 920)
    same_name = _file(api, 921, "智能温控阀", "TV-200", 921)  # another model: no candidate
    same_model = _file(api, 922, "恒温控制阀", "TV-100", 922)
    shared_patent = _file(api, 923, "电动执行器", "ED-7", 920)
    no_model = _file(api, 924, "智能温控阀", "", 924)
    variant = _file(api, 925, "智能温控阀 白色", "TV-100", 925)
    want = {
        same_name: {},
        same_model: {a: ["same_model"]},
        shared_patent: {a: ["shared_patent"]},
        no_model: {a: ["similar_name"], same_name: ["similar_name"]},
        variant: {a: ["same_model", "variant_words"], same_model: ["same_model"]},
    }
    assert_written(_approve(api, a, None), 200, 3)
    for product_id, candidates in want.items():
        screening = _screening(api, product_id).json()
        found = {c["product_id"]: c["reasons"] for c in screening["candidates"]}
        assert found == candidates, product_id
        body = _distinct(*((candidate, REASON) for candidate in candidates))
        assert_written(_approve(api, product_id, body if candidates else None), 200, 3)
    assert {_status(api, product_id) for product_id in want} == {"approved"}


# --- rejection as a duplicate -------------------------------------------------------------------
def test_rejection_as_a_duplicate_records_the_filing_it_duplicates(api):
    pair = _pair(api, 930)
    body = {"reason": "与已备案产品为同一产品", "duplicate_of": pair.earlier}

    rejected = api.post(f"/v1/products/{pair.later}/rejection", body, Role.REVIEWER)

    assert_written(rejected, 200, 2)
    product = api.state.ledger.get_product(UUID(pair.later))
    assert (product.status, product.duplicate_of) == ("rejected", pair.earlier)
    last = _trail(api, pair.later)[-1]
    assert (last["event_type"], last["details"]["duplicate_of"]) == ("FilingRejected", pair.earlier)
    assert _screening(api, pair.later).json()["duplicate_of"] == pair.earlier


def test_a_duplicate_of_the_filing_itself_or_of_no_filing_is_422_and_stores_nothing(api):
    pair = _pair(api, 932)
    rejection = f"/v1/products/{pair.later}/rejection"
    before = stored(api)
    a_filer = str(filer_id_for(uscc(932)))  # an id of the ledger, not a filing's
    for duplicate_of in (pair.later, str(uuid4()), a_filer):
        body = {"reason": "duplicate", "duplicate_of": duplicate_of}
        problem = assert_problem(
            api.post(rejection, body, Role.REVIEWER), 422, "duplicate_of_invalid"
        )
        assert problem["details"] == {"duplicate_of": duplicate_of}
    for wrong in ({"reason": "duplicate", "duplicate_of": "nope"},
                  {"reason": "duplicate", "duplicate_of": pair.earlier, "of": "x"}):  # fmt: skip
        assert_problem(api.post(rejection, wrong, Role.REVIEWER), 422, "request_invalid")
    assert stored(api) == before
    assert _status(api, pair.later) == "pending_review"


def test_a_plain_rejection_is_one_request_with_or_without_a_null_duplicate_of(api):
    pair = _pair(api, 934)
    rejection = f"/v1/products/{pair.later}/rejection"
    first = api.post(rejection, {"reason": "no invoice"}, Role.REVIEWER,
                     idempotency_key="reject-934-a")  # fmt: skip
    assert_written(first, 200, 2)
    assert api.state.ledger.get_product(UUID(pair.later)).duplicate_of is None
    again = api.post(rejection, {"reason": "no invoice", "duplicate_of": None}, Role.REVIEWER,
                     idempotency_key="reject-934-a")  # fmt: skip
    assert (again.status_code, again.headers["idempotent-replayed"]) == (200, "true")


# --- the problem types --------------------------------------------------------------------------
def test_the_screening_problem_types_resolve(api):
    for code, status in (("candidates_open", 409), ("not_a_candidate", 422),
                         ("duplicate_of_invalid", 422)):  # fmt: skip
        described = api.client.get(f"/problems/{code}")
        assert described.status_code == 200, code
        assert described.json()["status"] == status, code


def test_a_filer_reads_in_its_trail_only_the_other_filings_it_may_see(api):
    """A pending filing of another filer is not shown to a filer: its trail leaves it out of
    the candidates and decisions, while a reviewer sees them (as in the dispute check)."""
    pair = _pair(api, 930)  # the earlier filing stays pending: visible to its own filer only
    _approve(api, pair.later, _distinct((pair.earlier, REASON)))
    api.settle()

    def trail_as(role: Role, scope: str | None) -> list[dict[str, Any]]:
        response = api.client.get(
            f"/v1/products/{pair.later}/trail", headers=api.headers(role, scope)
        )
        assert response.status_code == 200, response.json()
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    reviewer = trail_as(Role.REVIEWER, None)
    filer = trail_as(Role.FILER, uscc(931))
    assert reviewer[0]["details"]["candidates"] == [
        {"product_id": pair.earlier, "reasons": ["same_model"]}
    ]
    approval = next(e for e in reviewer if e["event_type"] == "FilingApproved")
    assert approval["details"]["distinct"] == [{"product_id": pair.earlier, "reason": REASON}]
    assert filer[0]["details"]["candidates"] == []
    approval_seen = next(e for e in filer if e["event_type"] == "FilingApproved")
    assert approval_seen["details"]["distinct"] == []
    assert [e["event_hash"] for e in filer] == [e["event_hash"] for e in reviewer]
