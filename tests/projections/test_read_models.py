"""The read models against hand-made histories, on SQLite and on PostgreSQL.

Each scenario is a few domain commands; the projections are caught up with a fresh runner
(as ``ppl`` does on every reading command) and the rows compared with exact values.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from api.bootstrap import open_projection_runner, open_projection_store, projection_feed
from audit.offline.log_leaf import log_leaf_hash
from domain.actor import Actor, Role
from domain.declarations import PatentDeclaration
from domain.values import PatentNumber
from projections import queries
from projections.catalog import NAMES, models
from projections.dispute_check import ProductNotInRegistryError, dispute_check
from projections.feed import CheckpointVerifiedFeed
from projections.runner import ProjectionRunner, rebuild
from projections.store import Position, ProjectionStore
from tests.domain.factories import (
    EVIDENCE,
    REVIEWER,
    approve_as_distinct,
    approved_filer,
    figures,
    file,
    filer_actor,
    patent,
    register,
    uscc,
)

HEX64 = re.compile(r"[0-9a-f]{64}")
PUDONG, XUHUI, FENGXIAN = "310115", "310104", "310120"


@pytest.fixture
def store(settings) -> Iterator[ProjectionStore]:
    opened = open_projection_store(settings)
    yield opened
    opened.db.close()


def _caught_up(ledger, store: ProjectionStore) -> ProjectionStore:
    open_projection_runner(ledger, store).catch_up()
    return store


def _number(serial: int) -> str:
    """The patent number as stored (normalised: no ZL prefix)."""
    return PatentNumber.parse(patent(serial)).value


def _owned(number: int) -> list[PatentDeclaration]:
    return [PatentDeclaration.parse(patent(number), "owner")]


def _revise(ledger, code, product_id, year=2023, *, sales=20_000_000, exports=2_000_000, pat=2):
    ledger.revise_product(
        filer_actor(code), product_id, data_year=year, figures=figures(sales, exports),
        patents=_owned(pat), proof_digests=["a" * 64],
    )  # fmt: skip


def _product(store: ProjectionStore, product_id: UUID) -> dict[str, Any]:
    row = queries.product(store, product_id)
    assert row is not None
    return row


def _declaring(store: ProjectionStore, number: int) -> list[tuple[str, str, int]]:
    rows = queries.products_declaring(store, [_number(number)])
    return [(row["product_id"], row["filer_uscc"], row["version"]) for row in rows]


# --- product registry ----------------------------------------------------------------------------
def test_product_row_follows_a_filing_through_review_revision_dispute_and_withdrawal(ledger, store):
    code = uscc(10)
    filer_id = approved_filer(ledger, code)
    product_id = file(ledger, code, filer_id, patents=_owned(1))
    row = _product(_caught_up(ledger, store), product_id)
    assert {k: row[k] for k in ("status", "version", "patents_version", "data_year")} == {
        "status": "pending_review", "version": 1, "patents_version": 1, "data_year": 2022,
    }  # fmt: skip
    assert (row["filer_id"], row["filer_uscc"], row["region_code"]) == (str(filer_id), code, PUDONG)
    assert row["filer_name"] == f"上海测试科技有限公司{code[-4:]}"
    assert (row["sales_fen"], row["exports_fen"], row["profit_fen"]) == (
        10_000_000,
        1_000_000,
        500_000,
    )
    assert row["canonical_key"] == "智能温控阀\x1ftv100"
    assert row["filed_at"] == row["updated_at"]
    assert [p["number"] for p in row["patents"]] == [_number(1)]
    assert _declaring(store, 1) == [(str(product_id), code, 1)]

    ledger.reject_product(REVIEWER, product_id, "证明材料不全")
    row = _product(_caught_up(ledger, store), product_id)
    assert (row["status"], row["rejection_reason"], row["version"]) == (
        "rejected",
        "证明材料不全",
        2,
    )

    _revise(ledger, code, product_id, 2023, sales=20_000_000, exports=2_000_000, pat=2)
    row = _product(_caught_up(ledger, store), product_id)
    assert (row["status"], row["rejection_reason"], row["version"]) == ("pending_review", None, 3)
    assert (row["data_year"], row["sales_fen"], row["exports_fen"]) == (2023, 20_000_000, 2_000_000)
    assert row["patents_version"] == 3
    assert [p["number"] for p in row["patents"]] == [_number(2)]
    assert _declaring(store, 1) == []  # the old patent's row is gone
    assert _declaring(store, 2) == [(str(product_id), code, 3)]

    approve_as_distinct(ledger, product_id)
    dispute_id = ledger.raise_dispute(
        REVIEWER, product_id, patent_numbers=[patent(2)], claimant="某研究所",
        evidence_digests=EVIDENCE, description="权属存疑", dispute_id="d-1",
    )  # fmt: skip
    row = _product(_caught_up(ledger, store), product_id)
    # approved (v4) and numbered (v5: FilingNumberAssigned), the dispute v6
    assert (row["status"], row["version"], row["patents_version"]) == ("approved", 6, 3)
    assert row["filing_number"] is not None
    assert row["open_disputes"] == {
        dispute_id: {"patent_numbers": [_number(2)], "claimant": "某研究所",
                     "description": "权属存疑", "raised_at": row["updated_at"],
                     "raised_version": 6, "accepted": True, "evidence_digests": EVIDENCE},
    }  # fmt: skip
    assert row["resolved_disputes"] == {}

    ledger.resolve_dispute(REVIEWER, product_id, "d-1", "claim_dismissed", "证据不足")
    row = _product(_caught_up(ledger, store), product_id)
    assert row["open_disputes"] == {}
    resolved = row["resolved_disputes"]["d-1"]
    assert (resolved["outcome"], resolved["note"], resolved["raised_version"]) == (
        "claim_dismissed", "证据不足", 6,
    )  # fmt: skip
    assert resolved["resolved_version"] == 7

    ledger.withdraw_product(filer_actor(code), product_id, "停产")
    row = _product(_caught_up(ledger, store), product_id)
    assert (row["status"], row["withdrawal_reason"], row["version"]) == ("withdrawn", "停产", 8)
    assert _declaring(store, 2) == [(str(product_id), code, 3)]  # still declared, as filed


# --- filer registry ------------------------------------------------------------------------------
def test_filer_counts_move_with_each_product_status_change(ledger, store):
    code = uscc(20)
    filer_id = approved_filer(ledger, code)
    pending_id = register(ledger, uscc(21, region=XUHUI), region=XUHUI)
    approved = file(ledger, code, filer_id, model="A-1")
    rejected = file(ledger, code, filer_id, model="A-2")
    file(ledger, code, filer_id, model="A-3")
    withdrawn = file(ledger, code, filer_id, model="A-4")
    revised = file(ledger, code, filer_id, model="A-5")
    _caught_up(ledger, store)
    counts = ("products_filed", "products_pending", "products_approved", "products_rejected",
              "products_withdrawn")  # fmt: skip

    def counted() -> tuple[int, ...]:
        row = queries.filer(_caught_up(ledger, store), filer_id)
        assert row is not None
        return tuple(row[c] for c in counts)

    assert counted() == (5, 5, 0, 0, 0)
    approve_as_distinct(ledger, approved)
    ledger.reject_product(REVIEWER, rejected, "不符合要求")
    ledger.withdraw_product(filer_actor(code), withdrawn, "放弃")
    approve_as_distinct(ledger, revised)
    assert counted() == (5, 1, 2, 1, 1)
    _revise(ledger, code, revised)
    assert counted() == (5, 2, 1, 1, 1)
    ledger.withdraw_product(REVIEWER, approved, "专利失效")
    assert counted() == (5, 2, 0, 1, 2)

    row = queries.filer(store, filer_id)
    assert row is not None
    assert (row["status"], row["real_name_verified"], row["version"]) == ("approved", 1, 3)
    other = queries.filer(store, pending_id)
    assert other is not None
    assert (other["status"], other["real_name_verified"], other["region_code"]) == (
        "pending_review", 0, XUHUI,
    )  # fmt: skip
    assert other["products_filed"] == 0
    approved_filers = queries.filers(store, status="approved")
    assert [r["filer_id"] for r in approved_filers.rows] == [str(filer_id)]
    assert [r["filer_id"] for r in queries.filers(store, region=XUHUI).rows] == [str(pending_id)]


# --- regional statistics -------------------------------------------------------------------------
def _region_rows(store: ProjectionStore, **arguments: object) -> list[dict[str, Any]]:
    return [r.as_row() for r in queries.region_statistics(store, **arguments)]  # type: ignore[arg-type]


def test_region_statistics_count_approved_filers_and_products_and_figures_per_data_year(
    ledger, store
):
    a, c = uscc(30), uscc(32, region=XUHUI)
    a_id = approved_filer(ledger, a)
    register(ledger, uscc(31), region=PUDONG)  # pending: not counted as a filer
    register(ledger, uscc(33, region=FENGXIAN), region=FENGXIAN)
    c_id = approved_filer(ledger, c, region=XUHUI)
    p1 = file(ledger, a, a_id, model="P-1", figures=figures(10_000_000, 1_000_000))
    p2 = file(ledger, a, a_id, model="P-2", figures=figures(3_000_000, 300_000))
    file(ledger, a, a_id, model="P-3")
    p4 = file(ledger, a, a_id, model="P-4")
    p5 = file(ledger, a, a_id, model="P-5")
    p6 = file(ledger, c, c_id, model="P-6", figures=figures(7_000_000, 700_000))
    for approved in (p1, p2, p5, p6):
        approve_as_distinct(ledger, approved)
    ledger.reject_product(REVIEWER, p4, "不符合要求")
    ledger.withdraw_product(REVIEWER, p5, "专利失效")

    assert _region_rows(_caught_up(ledger, store)) == [
        {"region_code": XUHUI, "name": "徐汇区", "filers": 1, "products": 1, "pending": 0,
         "rejected": 0, "withdrawn": 0, "data_year": 2022, "data_years": [2022],
         "figures_products": 1, "sales_fen": 7_000_000, "exports_fen": 700_000},
        {"region_code": PUDONG, "name": "浦东新区", "filers": 1, "products": 2, "pending": 1,
         "rejected": 1, "withdrawn": 1, "data_year": 2022, "data_years": [2022],
         "figures_products": 2, "sales_fen": 13_000_000, "exports_fen": 1_300_000},
        {"region_code": FENGXIAN, "name": "奉贤区", "filers": 0, "products": 0, "pending": 0,
         "rejected": 0, "withdrawn": 0, "data_year": None, "data_years": [],
         "figures_products": 0, "sales_fen": 0, "exports_fen": 0},
    ]  # fmt: skip

    def pudong(**arguments: object) -> list[tuple[object, ...]]:
        rows = _region_rows(_caught_up(ledger, store), prefix=PUDONG, **arguments)
        return [
            (r["products"], r["pending"], r["data_year"], r["data_years"],
             r["figures_products"], r["sales_fen"], r["exports_fen"])
            for r in rows
        ]  # fmt: skip

    # The annual update of one filing, under review: its approved 2022 figures still count.
    _revise(ledger, a, p1, 2023, sales=20_000_000, exports=2_000_000)
    before_update = [(1, 2, 2022, [2022], 2, 13_000_000, 1_300_000)]
    assert pudong() == pudong(data_year=2022) == before_update
    assert pudong(data_year=2023) == [(1, 2, 2023, [2023], 0, 0, 0)]
    # Approved: the default view takes each filing's latest approved figures and says they
    # come from two data years (no year of its own); 2022 is unchanged by the update.
    approve_as_distinct(ledger, p1)
    assert pudong() == [(2, 1, None, [2022, 2023], 2, 23_000_000, 2_300_000)]
    assert pudong(data_year=2022) == [(2, 1, 2022, [2022], 2, 13_000_000, 1_300_000)]
    assert pudong(data_year=2023) == [(2, 1, 2023, [2023], 1, 20_000_000, 2_000_000)]
    # A withdrawn filing's figures leave every year.
    ledger.withdraw_product(filer_actor(a), p1, "停产")
    assert pudong() == [(1, 1, 2022, [2022], 1, 3_000_000, 300_000)]
    assert pudong(data_year=2023) == [(1, 1, 2023, [2023], 0, 0, 0)]

    expected_city = {
        "filers": 2, "products": 2, "pending": 1, "rejected": 1, "withdrawn": 2,
        "data_year": 2022, "data_years": [2022], "figures_products": 2,
        "sales_fen": 10_000_000, "exports_fen": 1_000_000,
    }  # fmt: skip
    city = _region_rows(store, level=queries.Level.CITY)
    assert city == [{"region_code": "310100", "name": "上海市", **expected_city}]
    province = _region_rows(store, prefix="31", level=queries.Level.PROVINCE)
    assert province == [{"region_code": "310000", "name": "上海市", **expected_city}]
    assert [r["region_code"] for r in _region_rows(store, prefix="3101")] == [
        XUHUI, PUDONG, FENGXIAN,
    ]  # fmt: skip
    assert _region_rows(store, prefix="310104") == _region_rows(store)[:1]
    assert _region_rows(store, prefix="32") == []
    with pytest.raises(queries.QueryError):
        queries.region_statistics(store, prefix="3x")
    with pytest.raises(queries.QueryError):
        queries.region_statistics(store, prefix="3101150")


# --- conversion statistics -----------------------------------------------------------------------
UNIVERSITY = uscc(500, prefix="12", region="310110")
INSTITUTE = uscc(501, prefix="12", region=XUHUI)


def _report(ledger, code, number, category, amount_fen):
    ledger.report_conversion(
        Actor(id=f"tto-{code}", role=Role.INSTITUTION, scope=code),
        institution_uscc=code, patent_number=patent(number), category=category,
        counterparty="上海某某制造有限公司", occurred_on="2023-05-04", amount_fen=amount_fen,
    )  # fmt: skip


def _totals(rows: list[dict[str, Any]], *key: str) -> list[tuple[object, ...]]:
    return [(*(r[k] for k in key), r["reports"], r["patents"], r["amount_fen"]) for r in rows]


def test_conversion_statistics_count_reports_distinct_patents_and_amounts(ledger, store):
    _report(ledger, UNIVERSITY, 7, "ordinary_licence", 5_000_000)
    _report(ledger, UNIVERSITY, 7, "ordinary_licence", 1_000_000)  # same patent, same category
    _report(ledger, UNIVERSITY, 8, "ordinary_licence", None)
    _report(ledger, UNIVERSITY, 7, "assigned", 2_000_000)
    _report(ledger, INSTITUTE, 9, "assigned", 4_000_000)
    _caught_up(ledger, store)

    by_category = queries.conversion_statistics(store)
    assert _totals(by_category, "category") == [
        ("assigned", 2, 2, 6_000_000),
        ("ordinary_licence", 3, 2, 6_000_000),
    ]
    by_institution = queries.conversion_statistics(store, by=queries.ConversionGrouping.INSTITUTION)
    assert _totals(by_institution, "institution_uscc", "category") == [
        (INSTITUTE, "assigned", 1, 1, 4_000_000),
        (UNIVERSITY, "assigned", 1, 1, 2_000_000),
        (UNIVERSITY, "ordinary_licence", 3, 2, 6_000_000),
    ]
    one = queries.conversion_statistics(
        store, by=queries.ConversionGrouping.INSTITUTION, institution_uscc=INSTITUTE
    )
    assert _totals(one, "institution_uscc", "category") == [
        (INSTITUTE, "assigned", 1, 1, 4_000_000)
    ]
    by_region = queries.conversion_statistics(store, by=queries.ConversionGrouping.REGION)
    assert _totals(by_region, "region_code", "category") == [
        (XUHUI, "assigned", 1, 1, 4_000_000),
        ("310110", "assigned", 1, 1, 2_000_000),
        ("310110", "ordinary_licence", 3, 2, 6_000_000),
    ]
    yangpu = queries.conversion_statistics(
        store, by=queries.ConversionGrouping.REGION, region="310110"
    )
    assert (
        _totals(yangpu, "region_code", "category")
        == _totals(by_region, "region_code", "category")[1:]
    )
    with pytest.raises(queries.QueryError):
        queries.conversion_statistics(store, by=queries.ConversionGrouping.REGION, region="3x")


# --- audit trail ---------------------------------------------------------------------------------
def test_audit_trail_lists_a_products_events_in_log_order_with_actor_and_leaf_hash(ledger, store):
    code = uscc(40)
    filer_id = approved_filer(ledger, code)
    first = file(ledger, code, filer_id)
    approve_as_distinct(ledger, first)
    ledger.withdraw_product(filer_actor(code), first, "换代")
    second = file(ledger, code, filer_id)  # same product again: the key moves to it
    _caught_up(ledger, store)

    trail = queries.audit_trail_of(store, first)
    assert [(r["event_type"], r["actor_id"], r["actor_role"]) for r in trail] == [
        ("ProductFiled", f"user-{code}", "filer"),
        ("ProductKeyReserved", f"user-{code}", "filer"),  # key rule v1
        ("ProductKeyReserved", f"user-{code}", "filer"),  # key rule v2
        ("FilingApproved", "reviewer-1", "reviewer"),
        ("FilingNumberAssigned", "system:filing-numbers", "system"),  # its series' event: 9
        ("ProductWithdrawn", f"user-{code}", "filer"),
        ("ProductKeyReassigned", f"user-{code}", "filer"),
        ("ProductKeyReassigned", f"user-{code}", "filer"),
    ]
    assert [r["notification_id"] for r in trail] == [4, 5, 6, 7, 8, 10, 12, 13]
    assert [r["version"] for r in trail] == [1, 1, 1, 2, 3, 4, 2, 2]
    assert [r["details"].get("key_rule") for r in trail[1:3]] == [1, 2]
    assert trail[0]["actor_scope"] == code
    assert trail[3]["actor_scope"] is None
    assert trail[4]["details"]["filing_number"].endswith("-310115-00001")
    assert trail[5]["details"] == {"reason": "换代"}
    assert trail[6]["details"]["previous_product_id"] == str(first)
    assert all(HEX64.fullmatch(r["event_hash"]) for r in trail)
    assert all(r["leaf_index"] is None for r in trail)

    notifications = {
        n.id: n for n in ledger.recorder.select_notifications(start=1, limit=100)
    }  # the hash is the RFC 6962 leaf of the stored event
    for row in trail:
        n = notifications[row["notification_id"]]
        assert str(n.originator_id) == row["originator_id"]
        leaf = log_leaf_hash(UUID(str(n.originator_id)), n.originator_version, n.topic, n.state)
        assert row["event_hash"] == leaf.hex()

    later = queries.audit_trail_of(store, second, lambda aggregate, version: 100 + version)
    assert [(r["event_type"], r["notification_id"], r["leaf_index"]) for r in later] == [
        ("ProductFiled", 11, 101),
        ("ProductKeyReassigned", 12, 102),
        ("ProductKeyReassigned", 13, 102),
    ]
    assert queries.audit_trail_of(store, uuid4()) == []


# --- paging the product registry -----------------------------------------------------------------
def test_products_page_by_id_with_filters_and_refuse_bad_parameters(ledger, store):
    a, b = uscc(50), uscc(51, region=XUHUI)
    a_id, b_id = approved_filer(ledger, a), approved_filer(ledger, b, region=XUHUI)
    of_a = [file(ledger, a, a_id, model=f"A-{n}") for n in range(5)]
    of_b = [file(ledger, b, b_id, model=f"B-{n}") for n in range(2)]
    approve_as_distinct(ledger, of_a[0])
    approve_as_distinct(ledger, of_b[1])
    _caught_up(ledger, store)
    every = sorted(str(p) for p in of_a + of_b)

    seen, after, pages = [], None, 0
    while True:
        page = queries.products(store, limit=3, after=after)
        seen += [row["product_id"] for row in page.rows]
        pages += 1
        if page.next_cursor is None:
            break
        assert page.next_cursor == seen[-1]
        after = page.next_cursor
    assert (seen, pages) == (every, 3)
    assert queries.products(store, limit=7).next_cursor is None
    assert queries.products(store, limit=6).next_cursor == every[5]
    assert queries.products(store, limit=500).rows == queries.products(store, limit=7).rows

    def ids(**filters: object) -> list[str]:
        return [row["product_id"] for row in queries.products(store, **filters).rows]  # type: ignore[arg-type]

    assert ids(status="approved") == sorted([str(of_a[0]), str(of_b[1])])
    assert ids(region=XUHUI) == sorted(str(p) for p in of_b)
    assert ids(region="3101") == every
    assert ids(region="32") == []
    assert ids(filer_uscc=a) == sorted(str(p) for p in of_a)
    assert ids(status="approved", region=PUDONG) == [str(of_a[0])]
    assert ids(status="pending_review", filer_uscc=b) == [str(of_b[0])]
    for bad in (
        {"region": "3x"},
        {"region": "3101150"},
        {"limit": 0},
        {"limit": 501},
        {"limit": -1},
    ):
        with pytest.raises(queries.QueryError):
            queries.products(store, **bad)


# --- dispute check -------------------------------------------------------------------------------
def test_dispute_check_finds_shared_patents_near_duplicates_and_disputes(ledger, store):
    a, b, c = uscc(60), uscc(61), uscc(62)
    a_id, b_id, c_id = (approved_filer(ledger, code) for code in (a, b, c))
    mine = file(ledger, a, a_id, model="TV-100", patents=_owned(1) + _owned(2))
    theirs = file(ledger, b, b_id, model="TV-101", patents=_owned(1))
    unrelated = file(ledger, c, c_id, model="XY-999", patents=_owned(3))
    approve_as_distinct(ledger, theirs)
    ledger.revise_product(
        filer_actor(b), theirs, data_year=2023, figures=figures(),
        patents=_owned(1), proof_digests=["b" * 64],
    )  # fmt: skip
    ledger.raise_dispute(
        REVIEWER, mine, patent_numbers=[patent(1)], claimant=b, evidence_digests=EVIDENCE,
        description="同一专利", dispute_id="d-9",
    )  # fmt: skip
    _caught_up(ledger, store)

    check = dispute_check(store, mine)
    assert check.product["product_id"] == str(mine)
    assert [r["event_type"] for r in check.timeline] == [
        "ProductFiled", "ProductKeyReserved", "ProductKeyReserved", "OwnershipDisputeRaised",
    ]  # fmt: skip
    assert len(check.shared_patents) == 1
    shared = check.shared_patents[0]
    assert {k: shared[k] for k in ("patent_number", "product_id", "filer_uscc", "status")} == {
        "patent_number": _number(1), "product_id": str(theirs), "filer_uscc": b,
        "status": "pending_review",
    }  # fmt: skip
    # theirs: filed (v1), approved (v2), numbered (v3), revised (v4)
    assert shared["declared_by"] == {"aggregate_id": str(theirs), "version": 4, "leaf_index": None}
    assert [(s["product_id"], s["distance"]) for s in check.similar_filings] == [(str(theirs), 1)]
    assert check.similar_filings[0]["canonical_key"] == "智能温控阀\x1ftvlol"  # key rule v2
    assert check.similar_filings[0]["key_rule"] == 2
    assert check.similar_filings[0]["filed_by"]["version"] == 1
    assert str(unrelated) not in {s["product_id"] for s in check.similar_filings}
    assert dispute_check(store, mine, max_distance=0).similar_filings == []
    wide = dispute_check(store, mine, max_distance=10).similar_filings
    assert [(s["product_id"], s["distance"]) for s in wide] == [
        (str(theirs), 1),
        (str(unrelated), 5),
    ]
    assert [(d["dispute_id"], d["state"], d["raised_by"]["version"]) for d in check.disputes] == [
        ("d-9", "open", 2)
    ]
    assert check.certifications == []

    ledger.resolve_dispute(REVIEWER, mine, "d-9", "settled", "双方和解")
    _caught_up(ledger, store)
    leaves = {(str(theirs), 4): 11, (str(mine), 3): 12}
    cited = dispute_check(store, mine, leaf_index=lambda i, v: leaves.get((str(i), v)))
    assert cited.shared_patents[0]["declared_by"]["leaf_index"] == 11
    resolved = cited.disputes[0]
    assert (resolved["state"], resolved["outcome"], resolved["resolved_by"]) == (
        "resolved", "settled", {"aggregate_id": str(mine), "version": 3, "leaf_index": 12},
    )  # fmt: skip
    assert dispute_check(store, unrelated).shared_patents == []

    with pytest.raises(ProductNotInRegistryError):
        dispute_check(store, uuid4())
    for bad in (11, -1):
        with pytest.raises(queries.QueryError):
            dispute_check(store, mine, max_distance=bad)


# --- incremental catch-up equals a rebuild -------------------------------------------------------
def _history(ledger, step: int) -> None:
    """Three slices of a history touching every read model."""
    a, b = uscc(70), uscc(71, region=XUHUI)
    a_id = ledger.get_filer_by_uscc(a).id if step else approved_filer(ledger, a)
    if step == 0:
        approved_filer(ledger, b, region=XUHUI)
        first = file(ledger, a, a_id, model="S-1", patents=_owned(1))
        approve_as_distinct(ledger, first)
        file(ledger, a, a_id, model="S-2")
        _report(ledger, UNIVERSITY, 7, "ordinary_licence", 5_000_000)
    elif step == 1:
        b_id = ledger.get_filer_by_uscc(b).id
        shared = file(ledger, b, b_id, model="S-3", patents=_owned(1))
        approve_as_distinct(ledger, shared)
        _revise(ledger, b, shared, 2023)
        register(ledger, uscc(72, region=FENGXIAN), region=FENGXIAN)
        _report(ledger, UNIVERSITY, 7, "ordinary_licence", 1_000_000)
        _report(ledger, INSTITUTE, 9, "assigned", None)
    else:
        products = _products_by_model(ledger, a)
        ledger.withdraw_product(filer_actor(a), products["S-1"], "换代")
        file(ledger, a, a_id, model="S-1")  # reassigns the key
        ledger.reject_product(REVIEWER, products["S-2"], "材料不全")
        ledger.raise_dispute(
            REVIEWER,
            products["S-2"],
            patent_numbers=[patent(1)],
            claimant="x",
            evidence_digests=EVIDENCE,
            description="y",
        )


def _products_by_model(ledger, code: str) -> dict[str, UUID]:
    """The filer's products by model, read from the ledger (not from a read model)."""
    found: dict[str, UUID] = {}
    for notification in ledger.recorder.select_notifications(start=1, limit=1000):
        if notification.topic.endswith("ProductFiled"):
            product = ledger.get_product(UUID(str(notification.originator_id)))
            if product.filer_uscc == code:
                found.setdefault(product.model, product.id)
    return found


def _digests(store: ProjectionStore) -> dict[str, str]:
    found = {}
    for model in models():
        generation = store.require_generation(model.name)
        found[model.name] = store.digest(model.name, model.tables, generation)
    return found


def _rebuilt_digests(ledger, store: ProjectionStore) -> dict[str, str]:
    def read(start, limit):
        return ledger.recorder.select_notifications(start=start, limit=limit)

    before = {m.name: store.require_generation(m.name) for m in models()}
    result = rebuild(store, models(), CheckpointVerifiedFeed(read, ledger.mapper, None))
    assert result.events == ledger.recorder.max_notification_id()
    assert all(result.generations[name] > before[name] for name in before)
    return _digests(store)


def test_catching_up_in_slices_gives_the_digests_of_a_rebuild(ledger, store):
    runner = open_projection_runner(ledger, store)
    _history(ledger, 0)
    runner.catch_up()
    _history(ledger, 1)
    assert runner.catch_up() > 0  # the same runner, its row cache warm
    middle = _digests(store)
    _history(ledger, 2)
    open_projection_runner(ledger, store).catch_up()  # a new runner, rows loaded from the store
    head = ledger.recorder.max_notification_id()
    assert {p.notification_id for p in runner.positions().values()} == {head}
    incremental = _digests(store)
    assert all(HEX64.fullmatch(d) for d in incremental.values())
    changed = {name for name in NAMES if middle[name] != incremental[name]}
    # The last slice reports no conversion and certifies nothing.
    assert changed == set(NAMES) - {"conversion_stats", "certification_register", "published_stats"}
    assert _rebuilt_digests(ledger, store) == incremental


def test_small_batches_and_a_stale_runner_still_apply_each_event_once(ledger, store):
    small = ProjectionRunner(store, models(), projection_feed(ledger), batch=3, cache_bytes=1)
    stale = open_projection_runner(ledger, store)
    _history(ledger, 0)
    stale.catch_up()
    _history(ledger, 1)
    small.catch_up()  # moves every position past the stale runner's
    _history(ledger, 2)
    stale.catch_up()  # its commits lose the compare-and-set; it reloads and goes on
    positions = stale.positions()
    assert {p.notification_id for p in positions.values()} == {
        ledger.recorder.max_notification_id()
    }
    assert {p.events for p in positions.values()} == {ledger.recorder.max_notification_id()}
    incremental = _digests_of(store, positions)
    assert _rebuilt_digests(ledger, store) == incremental


def _digests_of(store: ProjectionStore, positions: dict[str, Position]) -> dict[str, str]:
    return {m.name: store.digest(m.name, m.tables, positions[m.name].generation) for m in models()}


def test_a_co_owned_patent_counts_once_per_category_and_region(ledger, store):
    _report(ledger, UNIVERSITY, 7, "assigned", 1)
    _report(ledger, INSTITUTE, 7, "assigned", 1)  # the same patent, reported by its co-owner
    caught_up = _caught_up(ledger, store)
    (by_category,) = queries.conversion_statistics(caught_up)
    assert (by_category["reports"], by_category["patents"]) == (2, 1)
    by_institution = queries.conversion_statistics(
        caught_up, by=queries.ConversionGrouping.INSTITUTION
    )
    assert [row["patents"] for row in by_institution] == [1, 1]
