"""``GET /v1/products…`` and ``GET /v1/filers…``: content, filters, cursors, who sees what."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest

from api.access import CONFIDENTIAL_PRODUCT_FIELDS, PUBLIC_PRODUCT_FIELDS
from domain.actor import Role
from domain.declarations import PatentDeclaration
from domain.values import PatentNumber
from projections import queries
from tests.domain.factories import (
    REVIEWER,
    approved_filer,
    figures,
    file,
    filer_actor,
    patent,
    register,
    uscc,
)

A = uscc(1)  # 浦东新区
B = uscc(2, region="310104")  # 徐汇区
C = uscc(3, region="320102")  # 江苏省南京市
D = uscc(4)  # registered, not yet approved
UNIVERSITY = uscc(500, prefix="12", region="310110")
PROBLEM_JSON = "application/problem+json"


def _number(serial: int) -> str:
    """The patent number as the ledger stores it (no ZL prefix)."""
    return PatentNumber.parse(patent(serial)).value


def _patents(*serials: int) -> list[PatentDeclaration]:
    return [PatentDeclaration.parse(patent(serial), "owner") for serial in serials]


@dataclass(frozen=True)
class World:
    """Four filers and seven filings in every status, read models caught up."""

    filer_ids: dict[str, UUID]
    a_approved: UUID  # patent 1
    a_pending: UUID  # patent 2, model A-2, data year 2023, category 01
    a_rejected: UUID
    b_approved: UUID
    b_pending: UUID  # patents 1 and 2, model A-22: shares patents and a near key with A's
    b_withdrawn: UUID
    c_approved: UUID

    @property
    def products(self) -> dict[UUID, tuple[str, str, str]]:
        """product id → (filer USCC, region, status)."""
        return {
            self.a_approved: (A, "310115", "approved"),
            self.a_pending: (A, "310115", "pending_review"),
            self.a_rejected: (A, "310115", "rejected"),
            self.b_approved: (B, "310104", "approved"),
            self.b_pending: (B, "310104", "pending_review"),
            self.b_withdrawn: (B, "310104", "withdrawn"),
            self.c_approved: (C, "320102", "approved"),
        }

    def ids(self, keep: object) -> list[str]:
        """Sorted ids of the filings ``keep(uscc, region, status)`` accepts."""
        return sorted(str(pid) for pid, row in self.products.items() if keep(*row))  # type: ignore[operator]


@pytest.fixture
def world(api) -> World:
    ledger = api.state.ledger
    a_id = approved_filer(ledger, A)
    a_approved = file(ledger, A, a_id, model="A-1", patents=_patents(1))
    ledger.approve_product(REVIEWER, a_approved)
    a_pending = file(
        ledger, A, a_id, model="A-2", patents=_patents(2), data_year=2023, category="01",
        figures=figures(sales=22_000_000),
    )  # fmt: skip
    a_rejected = file(ledger, A, a_id, model="A-3", patents=_patents(3))
    ledger.reject_product(REVIEWER, a_rejected, "证明材料不全")
    b_id = approved_filer(ledger, B, region="310104")
    b_approved = file(ledger, B, b_id, model="B-1", patents=_patents(4))
    ledger.approve_product(REVIEWER, b_approved)
    b_pending = file(ledger, B, b_id, model="A-22", patents=_patents(1, 2))
    b_withdrawn = file(ledger, B, b_id, model="B-3", patents=_patents(5))
    ledger.withdraw_product(filer_actor(B), b_withdrawn, "停产")
    c_id = approved_filer(ledger, C, region="320102")
    c_approved = file(ledger, C, c_id, model="C-1", patents=_patents(6))
    ledger.approve_product(REVIEWER, c_approved)
    d_id = register(ledger, D)
    api.settle()
    return World(
        {A: a_id, B: b_id, C: c_id, D: d_id}, a_approved, a_pending, a_rejected, b_approved,
        b_pending, b_withdrawn, c_approved,
    )  # fmt: skip


def _walk(api, path: str, headers: dict[str, str], **params: object) -> list[dict[str, Any]]:
    """Every item of a paged list, following ``next_cursor`` to the end."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = api.client.get(path, headers=headers, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


def _problem(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["type"] == f"/problems/{code}"
    return body


# --- the product registry -------------------------------------------------------------------
def test_anonymous_callers_see_only_approved_filings_and_no_figures(api, world):
    response = api.client.get("/v1/products")
    assert response.status_code == 200
    body = response.json()
    assert [item["product_id"] for item in body["items"]] == world.ids(
        lambda _u, _r, status: status == "approved"
    )
    assert body["next_cursor"] is None
    for item in body["items"]:
        assert set(item) == set(PUBLIC_PRODUCT_FIELDS)  # no sales_fen, no review notes
    first = next(i for i in body["items"] if i["product_id"] == str(world.a_approved))
    assert (first["filer_uscc"], first["region_code"], first["model"]) == (A, "310115", "A-1")
    assert first["patents"][0]["number"] == _number(1)
    assert first["version"] == 3  # filed, approved, numbered (FilingNumberAssigned)
    assert first["filing_number"] is not None

    pending = api.client.get("/v1/products", params={"status": "pending_review"})
    assert pending.json() == {"items": [], "next_cursor": None}  # a filter cannot widen the view
    _problem(api.client.get(f"/v1/products/{world.a_pending}"), 404, "not_found")
    _problem(api.client.get(f"/v1/products/{world.a_rejected}"), 404, "not_found")


CALLERS = {
    # name: (role, scope, which filings it sees: f(uscc, region, status))
    "anonymous": (None, None, lambda _u, _r, status: status == "approved"),
    "institution": (Role.INSTITUTION, UNIVERSITY, lambda _u, _r, status: status == "approved"),
    "filer A": (Role.FILER, A, lambda u, _r, status: u == A or status == "approved"),
    "filer C": (Role.FILER, C, lambda u, _r, status: u == C or status == "approved"),
    "reviewer": (Role.REVIEWER, None, lambda *_: True),
    "auditor": (Role.AUDITOR, None, lambda *_: True),
    "admin of 徐汇区": (
        Role.REGIONAL_ADMIN,
        "310104",
        lambda _u, r, status: r.startswith("310104") or status == "approved",
    ),
    "admin of Shanghai": (
        Role.REGIONAL_ADMIN,
        "31",
        lambda _u, r, status: r.startswith("31") or status == "approved",
    ),
}


def test_each_caller_lists_exactly_the_filings_it_may_open_page_by_page(api, world):
    for name, (role, scope, keep) in CALLERS.items():
        headers = api.headers(role, scope)
        expected = world.ids(keep)
        openable = sorted(
            str(pid)
            for pid in world.products
            if api.client.get(f"/v1/products/{pid}", headers=headers).status_code == 200
        )
        assert openable == expected, name
        for limit in (1, 2, 3, 50):
            walked = [i["product_id"] for i in _walk(api, "/v1/products", headers, limit=limit)]
            assert walked == expected, (name, limit)  # in id order, none twice, none missing


def test_filters_narrow_the_registry(api, world):
    reviewer = api.headers(Role.REVIEWER)

    def ids(headers=reviewer, **params: object) -> list[str]:
        return [i["product_id"] for i in _walk(api, "/v1/products", headers, **params)]

    assert ids(status="pending_review") == world.ids(lambda _u, _r, s: s == "pending_review")
    assert ids(filer_uscc=B) == world.ids(lambda u, _r, _s: u == B)
    assert ids(filer_uscc=B.lower()) == ids(filer_uscc=B)  # one spelling of a USCC
    assert ids(region="3101") == world.ids(lambda _u, r, _s: r.startswith("3101"))
    assert ids(region="32", status="approved") == [str(world.c_approved)]
    assert ids(category="01") == [str(world.a_pending)]
    assert ids(data_year=2023) == [str(world.a_pending)]
    assert ids(data_year=2022, filer_uscc=A, limit=1) == sorted(
        [str(world.a_approved), str(world.a_rejected)]
    )
    filer_a = api.headers(Role.FILER, A)
    assert ids(filer_a, filer_uscc=B) == [str(world.b_approved)]  # others: approved only
    assert ids(filer_a, status="pending_review") == [str(world.a_pending)]
    assert ids(filer_a, status="rejected") == [str(world.a_rejected)]


def test_a_filer_sees_its_own_figures_but_not_other_filers_pending_filings(api, world):
    filer_a = api.headers(Role.FILER, A)
    own = api.client.get(f"/v1/products/{world.a_pending}", headers=filer_a)
    assert own.status_code == 200
    assert set(own.json()) == {*PUBLIC_PRODUCT_FIELDS, *CONFIDENTIAL_PRODUCT_FIELDS}
    assert own.json()["sales_fen"] == 22_000_000
    assert own.json()["status"] == "pending_review"
    rejected = api.client.get(f"/v1/products/{world.a_rejected}", headers=filer_a).json()
    assert rejected["rejection_reason"] == "证明材料不全"

    others = api.client.get(f"/v1/products/{world.b_approved}", headers=filer_a)
    assert others.status_code == 200
    assert "sales_fen" not in others.json()
    listed = {i["product_id"]: i for i in _walk(api, "/v1/products", filer_a)}
    assert "sales_fen" in listed[str(world.a_approved)]
    assert "sales_fen" not in listed[str(world.b_approved)]

    for path in ("", "/trail", "/dispute-check"):
        _problem(
            api.client.get(f"/v1/products/{world.b_pending}{path}", headers=filer_a), 404,
            "not_found",
        )  # fmt: skip
    _problem(
        api.client.get(f"/v1/products/{world.b_approved}/trail", headers=filer_a), 403,
        "forbidden",
    )  # fmt: skip


def test_the_etag_is_the_filings_version(api, world):
    ledger = api.state.ledger
    for product_id in (world.a_approved, world.a_rejected, world.b_withdrawn):
        response = api.client.get(f"/v1/products/{product_id}", headers=api.headers("reviewer"))
        version = ledger.get_product(product_id).version
        assert response.headers["etag"] == f'"{version}"'
        assert response.json()["version"] == version
    public = api.client.get(f"/v1/products/{world.c_approved}")
    assert public.headers["etag"] == '"3"'  # filed, approved, numbered


def test_a_regional_admin_reads_its_region_whole_and_elsewhere_what_the_public_reads(api, world):
    admin = api.headers(Role.REGIONAL_ADMIN, "310104")
    mine = _walk(api, "/v1/products", admin, region="310104")
    assert [i["product_id"] for i in mine] == world.ids(lambda _u, r, _s: r == "310104")
    assert all("sales_fen" in item for item in mine)  # its region's figures
    for outside in ("310115", "32"):  # elsewhere: what the public reads, no less, no more
        theirs = _walk(api, "/v1/products", admin, region=outside)
        public = _walk(api, "/v1/products", {}, region=outside)
        assert theirs == public, outside
    wider = {i["product_id"] for i in _walk(api, "/v1/products", admin, region="3101")}
    assert {i["product_id"] for i in _walk(api, "/v1/products", {}, region="3101")} <= wider
    elsewhere = api.client.get(f"/v1/products/{world.a_approved}", headers=admin)
    assert elsewhere.json() == api.client.get(f"/v1/products/{world.a_approved}").json()
    assert "sales_fen" not in elsewhere.json()
    pending = api.client.get(f"/v1/products/{world.b_pending}", headers=admin)
    assert pending.status_code == 200
    assert pending.json()["sales_fen"] == 10_000_000
    trail = api.client.get(f"/v1/products/{world.b_pending}/trail", headers=admin)
    assert trail.status_code == 200


def test_the_trail_lists_each_event_with_actor_hash_and_leaf_index(api, world):
    response = api.client.get(
        f"/v1/products/{world.a_approved}/trail", headers=api.headers(Role.FILER, A)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["product_id"] == str(world.a_approved)
    events = body["events"]
    assert [e["event_type"] for e in events] == [
        "ProductFiled", "ProductKeyReserved", "ProductKeyReserved", "FilingApproved",
        "FilingNumberAssigned",
    ]  # fmt: skip
    filed, reserved, reserved_v2, approved, numbered = events
    assert numbered["details"]["filing_number"].startswith("20")
    assert (filed["actor_role"], filed["actor_scope"]) == ("filer", A)
    assert reserved["originator_id"] != str(world.a_approved)  # the key's own aggregate
    assert (reserved["details"]["key_rule"], reserved_v2["details"]["key_rule"]) == (1, 2)
    assert filed["details"]["figures"]["sales_fen"] == 10_000_000  # why the trail is guarded
    assert (approved["actor_id"], approved["actor_role"], approved["version"]) == (
        REVIEWER.id, "reviewer", 2,
    )  # fmt: skip
    assert [e["notification_id"] for e in events] == sorted(e["notification_id"] for e in events)
    log = api.state.log.store
    for event in events:  # each row is the log's leaf: a client can ask for its inclusion proof
        leaf = log.leaf(event["leaf_index"])
        assert str(leaf.originator_id) == event["originator_id"]
        assert leaf.originator_version == event["version"]
        assert leaf.leaf_hash.hex() == event["event_hash"]
    expected = queries.audit_trail_of(
        api.state.projections, world.a_approved, lambda i, v: log.leaf_for_event(i, v).leaf_index
    )
    assert events == expected

    anonymous = api.client.get(f"/v1/products/{world.a_approved}/trail")
    _problem(anonymous, 401, "not_authenticated")
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    reviewer = api.client.get(
        f"/v1/products/{world.a_approved}/trail", headers=api.headers(Role.REVIEWER)
    )
    assert reviewer.json() == body


def test_the_dispute_check_lists_only_filings_the_caller_may_see(api, world):
    path = f"/v1/products/{world.b_pending}/dispute-check"
    full = api.client.get(path, headers=api.headers(Role.REVIEWER))
    assert full.status_code == 200
    report = full.json()
    assert report["product"]["product_id"] == str(world.b_pending)
    assert [e["event_type"] for e in report["timeline"]] == [
        "ProductFiled", "ProductKeyReserved", "ProductKeyReserved",
    ]  # fmt: skip
    shared = {(s["patent_number"], s["product_id"]) for s in report["shared_patents"]}
    assert shared == {(_number(1), str(world.a_approved)), (_number(2), str(world.a_pending))}
    similar = {s["product_id"]: s["distance"] for s in report["similar_filings"]}
    assert similar[str(world.a_pending)] == 1  # A-2 vs A-22
    for entry in report["shared_patents"]:
        assert isinstance(entry["declared_by"]["leaf_index"], int)

    own = api.client.get(path, headers=api.headers(Role.FILER, B)).json()
    assert [s["product_id"] for s in own["shared_patents"]] == [str(world.a_approved)]
    assert str(world.a_pending) not in {s["product_id"] for s in own["similar_filings"]}
    assert own["timeline"] == report["timeline"]

    admin = api.client.get(path, headers=api.headers(Role.REGIONAL_ADMIN, "310104")).json()
    # A's approved filing is public: the admin sees it, as anyone does; A's pending one not
    assert [s["product_id"] for s in admin["shared_patents"]] == [str(world.a_approved)]
    narrow = api.client.get(path, headers=api.headers(Role.REVIEWER), params={"max_distance": 0})
    assert narrow.json()["similar_filings"] == []
    _problem(api.client.get(path), 404, "not_found")  # a pending filing: invisible
    public = f"/v1/products/{world.b_approved}/dispute-check"
    _problem(api.client.get(public), 401, "not_authenticated")  # visible, but not its figures


def test_an_unknown_product_is_404_on_every_route(api, world):
    reviewer = api.headers(Role.REVIEWER)
    for path in ("", "/trail", "/dispute-check"):
        problem = _problem(
            api.client.get(f"/v1/products/{uuid4()}{path}", headers=reviewer), 404, "not_found"
        )
        assert problem["instance"].startswith("/v1/products/")


def test_bad_query_parameters_are_422_problems(api, world):
    reviewer = api.headers(Role.REVIEWER)
    cases = [
        ("/v1/products", {"cursor": "not a cursor"}, "request_invalid"),
        ("/v1/products", {"cursor": "cHJvZHVjdHM6eHl6"}, "request_invalid"),  # products:xyz
        ("/v1/products", {"limit": 0}, "request_invalid"),
        ("/v1/products", {"limit": 201}, "request_invalid"),
        ("/v1/products", {"limit": "ten"}, "request_invalid"),
        ("/v1/products", {"region": "3x"}, "request_invalid"),
        ("/v1/products", {"region": "3101150"}, "request_invalid"),
        ("/v1/products", {"status": "lost"}, "request_invalid"),
        ("/v1/products", {"category": "99"}, "request_invalid"),
        ("/v1/products", {"data_year": 1800}, "request_invalid"),
        ("/v1/products", {"filer_uscc": "123"}, "request_invalid"),
        ("/v1/products", {"filer_uscc": "91310115000000001X"}, "query_invalid"),  # check char
        ("/v1/filers", {"uscc": "91310115000000001X"}, "query_invalid"),
        ("/v1/filers", {"status": "withdrawn"}, "request_invalid"),
        ("/v1/filers", {"cursor": "?"}, "request_invalid"),
        ("/v1/products/not-a-uuid", {}, "request_invalid"),
        (f"/v1/products/{world.a_approved}/dispute-check", {"max_distance": 11}, "request_invalid"),
    ]
    for path, params, code in cases:
        problem = _problem(api.client.get(path, headers=reviewer, params=params), 422, code)
        assert problem["detail"], (path, params)
    admin = api.headers(Role.REGIONAL_ADMIN, "310104")
    _problem(
        api.client.get("/v1/products", headers=admin, params={"region": "3x"}), 422,
        "request_invalid",
    )  # fmt: skip  # malformed before out of region


def test_any_well_formed_cursor_is_a_position_in_id_order(api, world):
    reviewer = api.headers(Role.REVIEWER)
    every = sorted(str(pid) for pid in world.products)
    cursor = base64.urlsafe_b64encode(UUID(every[2]).bytes).rstrip(b"=").decode()
    after = api.client.get("/v1/products", headers=reviewer, params={"cursor": cursor})
    assert [i["product_id"] for i in after.json()["items"]] == every[3:]
    start = api.client.get("/v1/products", headers=reviewer, params={"cursor": "A" * 22})
    assert [i["product_id"] for i in start.json()["items"]] == every  # before every id
    end = api.client.get("/v1/products", headers=reviewer, params={"cursor": "_" * 22})
    assert end.json() == {"items": [], "next_cursor": None}


def test_reads_before_the_read_models_are_built_are_503_with_retry_after(api):
    response = api.client.get("/v1/products")
    _problem(response, 503, "projection_not_built")
    assert response.headers["retry-after"]


# --- the filer registry ---------------------------------------------------------------------
def test_filer_records_need_a_token_and_show_each_caller_its_own(api, world):
    _problem(api.client.get("/v1/filers"), 401, "not_authenticated")
    _problem(api.client.get(f"/v1/filers/{world.filer_ids[A]}"), 401, "not_authenticated")
    institution = api.headers(Role.INSTITUTION, UNIVERSITY)
    _problem(api.client.get("/v1/filers", headers=institution), 403, "forbidden")

    filer_a = api.headers(Role.FILER, A)
    assert [f["uscc"] for f in _walk(api, "/v1/filers", filer_a)] == [A]
    assert _walk(api, "/v1/filers", filer_a, uscc=B) == []
    own = api.client.get(f"/v1/filers/{world.filer_ids[A]}", headers=filer_a)
    assert own.status_code == 200
    record = own.json()
    assert own.headers["etag"] == f'"{record["version"]}"' == '"3"'
    assert record["real_name_verified"] is True
    assert (record["status"], record["region_code"], record["kind"]) == (
        "approved", "310115", "enterprise",
    )  # fmt: skip
    counts = {k: v for k, v in record.items() if k.startswith("products_")}
    assert counts == {
        "products_filed": 3, "products_pending": 1, "products_approved": 1,
        "products_rejected": 1, "products_withdrawn": 0,
    }  # fmt: skip
    _problem(api.client.get(f"/v1/filers/{world.filer_ids[B]}", headers=filer_a), 404, "not_found")


def test_platform_roles_page_through_every_filer_and_admins_through_their_region(api, world):
    reviewer = api.headers(Role.REVIEWER)
    everyone = _walk(api, "/v1/filers", reviewer, limit=1)
    assert [f["filer_id"] for f in everyone] == sorted(str(i) for i in world.filer_ids.values())
    assert {f["uscc"] for f in everyone} == {A, B, C, D}
    pending = _walk(api, "/v1/filers", reviewer, status="pending_review")
    assert [(f["uscc"], f["real_name_verified"]) for f in pending] == [(D, False)]
    assert [f["uscc"] for f in _walk(api, "/v1/filers", reviewer, region="32")] == [C]
    assert [f["uscc"] for f in _walk(api, "/v1/filers", reviewer, uscc=B)] == [B]

    shanghai = api.headers(Role.REGIONAL_ADMIN, "31")
    assert {f["uscc"] for f in _walk(api, "/v1/filers", shanghai, limit=2)} == {A, B, D}
    xuhui = api.headers(Role.REGIONAL_ADMIN, "310104")
    assert [f["uscc"] for f in _walk(api, "/v1/filers", xuhui)] == [B]
    _problem(
        api.client.get("/v1/filers", headers=xuhui, params={"region": "310115"}), 403, "forbidden"
    )
    _problem(api.client.get(f"/v1/filers/{world.filer_ids[A]}", headers=xuhui), 404, "not_found")
    _problem(api.client.get(f"/v1/filers/{uuid4()}", headers=reviewer), 404, "not_found")


def test_the_read_routes_are_documented_in_openapi(api):
    document = api.client.get("/openapi.json").json()
    paths = document["paths"]
    for path in (
        "/v1/products", "/v1/products/{product_id}", "/v1/products/{product_id}/trail",
        "/v1/products/{product_id}/dispute-check", "/v1/filers", "/v1/filers/{filer_id}",
    ):  # fmt: skip
        operation = paths[path]["get"]
        assert operation["summary"], path
        assert "422" in operation["responses"], path
        assert "200" in operation["responses"], path
    assert "ETag" in paths["/v1/products/{product_id}"]["get"]["responses"]["200"]["headers"]


def test_an_approved_filing_stays_listed_while_its_update_is_under_review(api, world):
    """The public sees the version last approved, flagged; the filer sees its update and the
    approved version; once the update is approved the public sees it; withdrawn, nobody
    outside sees it."""
    ledger, product_id = api.state.ledger, world.a_approved
    ledger.revise_product(
        filer_actor(A), product_id, data_year=2023, figures=figures(20_000_000, 2_000_000),
        patents=_patents(1, 9), proof_digests=["a" * 64],
    )  # fmt: skip
    api.settle()

    def read(role: Role | None, scope: str | None = None) -> dict[str, Any]:
        response = api.client.get(f"/v1/products/{product_id}", headers=api.headers(role, scope))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    public = read(None)
    assert (public["status"], public["data_year"], public["update_under_review"]) == (
        "approved", 2022, True,
    )  # fmt: skip
    assert [p["number"] for p in public["patents"]] == [_number(1)]
    assert not {"sales_fen", "approved_version"} & set(public)
    listed = api.client.get("/v1/products", headers=api.headers(None)).json()["items"]
    assert str(product_id) in [item["product_id"] for item in listed]
    assert next(i for i in listed if i["product_id"] == str(product_id)) == public
    other_filer = read(Role.FILER, B)
    assert other_filer == public

    own = read(Role.FILER, A)
    assert (own["status"], own["data_year"], own["update_under_review"]) == (
        "pending_review", 2023, True,
    )  # fmt: skip
    assert own["sales_fen"] == 20_000_000
    approved = own["approved_version"]
    assert (approved["data_year"], approved["sales_fen"], approved["version"]) == (
        2022, 10_000_000, 2,
    )  # fmt: skip

    ledger.approve_product(REVIEWER, product_id)
    api.settle()
    public = read(None)
    assert (public["status"], public["data_year"], public["update_under_review"]) == (
        "approved", 2023, False,
    )  # fmt: skip
    assert [p["number"] for p in public["patents"]] == [_number(1), _number(9)]

    ledger.withdraw_product(filer_actor(A), product_id, "停产")
    api.settle()
    gone = api.client.get(f"/v1/products/{product_id}", headers=api.headers(None))
    assert gone.status_code == 404
