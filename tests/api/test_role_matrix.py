"""The role matrix: every role against every operation of the API, on SQLite and PostgreSQL.

Columns are the callers: anonymous, a filer (A, 浦东新区 310115), an institution, a reviewer, a
certifier, the regional admin of 310115 (A's district, not B's), an auditor. Rows are requests;
each cell is the status that caller must get. Reads target A's own records and filer B's
(another filer, another district); writes run the refused callers first (each refusal must
store nothing), then the permitted one. ``test_the_matrix_covers_every_operation`` fails when
an operation is added to the OpenAPI document without a row here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from api.publishing import publish_period
from domain.actor import Role
from domain.values import IndustryCategory
from projections.disclosure import Rules
from tests.api.test_commands import conversion_body, figures_body, filer_body, product_body
from tests.domain.certification_factories import BENCHMARKS, CERTIFIER, THRESHOLDS, at, product
from tests.domain.factories import EVIDENCE, REVIEWER, digest, filer_actor, patent, uscc

A = uscc(1)
B = uscc(2, region="310104")
UNIVERSITY = uscc(7, prefix="12")
CALLERS: tuple[tuple[str, Role | None, str | None], ...] = (
    ("anonymous", None, None),
    ("filer", Role.FILER, A),
    ("institution", Role.INSTITUTION, UNIVERSITY),
    ("reviewer", Role.REVIEWER, None),
    ("certifier", Role.CERTIFIER, None),
    ("regional_admin", Role.REGIONAL_ADMIN, "310115"),
    ("auditor", Role.AUDITOR, None),
)
PROBLEM_JSON = "application/problem+json"


@dataclass
class World:
    a_filer: str
    b_filer: str
    a_ok: str  # A's approved filing
    a_pending: str
    b_ok: str  # B's approved filing (public)
    b_pending: str
    fresh_filers: list[str]  # registered by a reviewer, pending: targets for filer review rows
    tree_size: int
    # Certification: round 2023 published (filings made "in 2023"), 2024 opened, next year's
    # round open for opt-ins; C's filing (B's district) certified, two objections against it.
    c_ok: str = "P"
    objections: tuple[str, str] = ("O", "O")  # filed by A, by a reviewer
    next_year: int = 2099


def _post(api: Any, path: str, body: Any, role: Role, scope: str | None = None) -> Any:
    response = api.post(path, body, role, scope)
    assert response.status_code in (200, 201), (path, response.json())
    return response.json()


def _filer(api: Any, code: str, region: str) -> str:
    filer_id: str = _post(api, "/v1/filers", filer_body(code, region_code=region), Role.FILER,
                          code)["filer_id"]  # fmt: skip
    _post(api, f"/v1/filers/{filer_id}/real-name-verification", {"reference": "RN"}, Role.REVIEWER)
    _post(api, f"/v1/filers/{filer_id}/approval", None, Role.REVIEWER)
    return filer_id


def _product(api: Any, code: str, filer_id: str, serial: int, *, approve: bool) -> str:
    body = product_body(filer_id, name=f"产品{serial}", model=f"M-{serial}",
                        patents=[{"number": patent(serial), "relation": "owner"}])  # fmt: skip
    product_id: str = _post(api, "/v1/products", body, Role.FILER, code)["product_id"]
    if approve:
        _post(api, f"/v1/products/{product_id}/approval", None, Role.REVIEWER)
    return product_id


@pytest.fixture
def world(api: Any) -> World:
    a_filer, b_filer = _filer(api, A, "310115"), _filer(api, B, "310104")
    fresh = [
        _post(api, "/v1/filers", filer_body(uscc(serial)), Role.REVIEWER)["filer_id"]
        for serial in (20, 21, 22)
    ]
    world = World(
        a_filer=a_filer,
        b_filer=b_filer,
        a_ok=_product(api, A, a_filer, 1, approve=True),
        a_pending=_product(api, A, a_filer, 2, approve=False),
        b_ok=_product(api, B, b_filer, 3, approve=True),
        b_pending=_product(api, B, b_filer, 4, approve=False),
        fresh_filers=fresh,
        tree_size=0,
    )
    _post(api, f"/v1/products/{world.a_ok}/disputes",
          {"patent_numbers": [patent(1)], "claimant": "某公司", "description": "ours",
           "evidence_digests": EVIDENCE, "dispute_id": "D-1"}, Role.REVIEWER)  # fmt: skip
    _post(api, f"/v1/filers/{fresh[0]}/real-name-verification", {"reference": "RN"},
          Role.REVIEWER)  # fmt: skip
    _certification(api, world)
    publish_period(api.state.ledger, api.state.projections, "2023-07", Rules())
    api.settle()
    world.tree_size = api.state.log.size()
    return world


def _certification(api: Any, world: World) -> None:
    """Round 2023 evaluated and published now (its objection window open), with C's filing,
    made in 2023, certified; rounds 2024 and next year opened."""
    ledger = api.state.ledger
    _, c_ok = product(ledger, 40, region="310104")
    with at(2023, 1, 2):
        ledger.certification.set_benchmarks(CERTIFIER, BENCHMARKS)
        ledger.certification.open_certification_round(CERTIFIER, 2023)
        ledger.certification.open_certification_round(CERTIFIER, 2024)
    ledger.certification.run_certification(CERTIFIER, 2023)  # now: after 2023's review deadline
    ledger.certification.publish_certified_list(CERTIFIER, 2023, objection_days=30)
    world.c_ok = str(c_ok)
    world.objections = (
        str(ledger.certification.file_objection(filer_actor(A), 2023, c_ok, "销售额虚报")),
        str(ledger.certification.file_objection(REVIEWER, 2023, c_ok, "专利无效")),
    )
    world.next_year = datetime.now(tz=UTC).year + 1
    ledger.certification.open_certification_round(CERTIFIER, world.next_year)


Row = tuple[str, str, Callable[[World], str], dict[str, Any] | None, tuple[int, ...]]
#            label, method, path of world, query (GET) or body (POST), statuses per caller

# anonymous, filer A, institution, reviewer, certifier, regional admin 310115, auditor
ALL_200 = (200,) * 7
READS: tuple[Row, ...] = (
    ("liveness", "GET", lambda w: "/health", None, ALL_200),
    ("readiness", "GET", lambda w: "/ready", None, ALL_200),
    ("public keys", "GET", lambda w: "/v1/keys", None, ALL_200),
    ("a problem type", "GET", lambda w: "/problems/duplicate_product", None, ALL_200),
    ("product list", "GET", lambda w: "/v1/products", None, ALL_200),
    ("product list, B's district", "GET", lambda w: "/v1/products", {"region": "310104"},
     ALL_200),  # the admin of 310115: what the public reads there
    ("own pending product", "GET", lambda w: f"/v1/products/{w.a_pending}", None,
     (404, 200, 404, 200, 200, 200, 200)),
    ("other filer's pending product", "GET", lambda w: f"/v1/products/{w.b_pending}", None,
     (404, 404, 404, 200, 200, 404, 200)),
    ("other filer's approved product", "GET", lambda w: f"/v1/products/{w.b_ok}", None,
     ALL_200),
    ("own product's trail", "GET", lambda w: f"/v1/products/{w.a_pending}/trail", None,
     (404, 200, 404, 200, 200, 200, 200)),
    ("other filer's approved product's trail", "GET",
     lambda w: f"/v1/products/{w.b_ok}/trail", None, (401, 403, 403, 200, 200, 403, 200)),
    ("other filer's pending product's trail", "GET",
     lambda w: f"/v1/products/{w.b_pending}/trail", None, (404, 404, 404, 200, 200, 404, 200)),
    ("own product's dispute check", "GET", lambda w: f"/v1/products/{w.a_ok}/dispute-check",
     None, (401, 200, 403, 200, 200, 200, 200)),
    ("other filer's dispute check", "GET", lambda w: f"/v1/products/{w.b_ok}/dispute-check",
     None, (401, 403, 403, 200, 200, 403, 200)),
    ("filer list", "GET", lambda w: "/v1/filers", None, (401, 200, 403, 200, 200, 200, 200)),
    ("own filer record", "GET", lambda w: f"/v1/filers/{w.a_filer}", None,
     (401, 200, 403, 200, 200, 200, 200)),
    ("other filer's record", "GET", lambda w: f"/v1/filers/{w.b_filer}", None,
     (401, 404, 403, 200, 200, 404, 200)),
    ("regional statistics", "GET", lambda w: "/v1/statistics/regions", None, ALL_200),
    ("regional statistics of B's district", "GET", lambda w: "/v1/statistics/regions",
     {"prefix": "310104"}, ALL_200),  # the admin of 310115 reads the publication there
    ("regional statistics as of a tree size", "GET", lambda w: "/v1/statistics/regions",
     {"tree_size": 5}, (401, 403, 403, 200, 200, 200, 200)),  # live figures: not the public's
    ("conversion statistics", "GET", lambda w: "/v1/statistics/conversions", None,
     (200, 200, 200, 200, 200, 403, 200)),
    ("latest checkpoint", "GET", lambda w: "/v1/log/checkpoint", None, ALL_200),
    ("checkpoint history", "GET", lambda w: "/v1/log/checkpoints", None, ALL_200),
    ("inclusion proof by leaf", "GET", lambda w: "/v1/log/proofs/inclusion",
     {"leaf_index": 0}, ALL_200),
    ("inclusion proof of own filing's event", "GET",
     lambda w: f"/v1/log/proofs/inclusion/event/{w.a_pending}/1", None,
     (404, 200, 404, 200, 200, 200, 200)),  # anonymous: hidden looks absent
    ("inclusion proof of other filer's event", "GET",
     lambda w: f"/v1/log/proofs/inclusion/event/{w.b_pending}/1", None,
     (404, 404, 404, 200, 200, 404, 200)),
    ("inclusion proof of a filing number event", "GET",  # a certificate's evidence: public
     lambda w: f"/v1/log/proofs/inclusion/event/{w.b_ok}/3", None, ALL_200),
    ("consistency proof", "GET", lambda w: "/v1/log/proofs/consistency",
     {"first": 1, "second": 2}, ALL_200),
    ("audit bundle", "GET", lambda w: "/v1/audit/bundle", None,
     (401, 403, 403, 403, 403, 403, 200)),
    ("product index head", "GET", lambda w: "/v1/index", None, ALL_200),
    ("product index lookup", "GET", lambda w: "/v1/index/products",  # rows only where visible
     {"name": "智能温控阀", "model": "TV-100"}, ALL_200),
    ("patent index lookup", "GET", lambda w: f"/v1/index/patents/{patent(1)}", None, ALL_200),
    ("tiled log checkpoint", "GET", lambda w: "/tlog/checkpoint", None, ALL_200),
    ("hash tile", "GET", lambda w: "/tlog/tile/0/000.p/1", None, ALL_200),
    ("entry bundle", "GET", lambda w: "/tlog/tile/entries/000.p/1", None,
     (401, 403, 403, 403, 403, 403, 200)),  # every signed event: auditors only, as the bundle
    ("key groups for reviewers", "GET", lambda w: "/v1/review/key-groups", None,
     (401, 403, 403, 200, 200, 403, 200)),
    ("screening of own pending filing, for reviewers", "GET",
     lambda w: f"/v1/products/{w.a_pending}/screening", None,
     (401, 403, 403, 200, 200, 403, 200)),  # as key groups: review-only, even to its filer
    ("benchmark table", "GET", lambda w: "/v1/certification/benchmarks", None, ALL_200),
    ("certification rounds", "GET", lambda w: "/v1/certification/rounds", None, ALL_200),
    ("a certification round", "GET", lambda w: "/v1/certification/rounds/2023", None, ALL_200),
    ("certified list", "GET", lambda w: "/v1/certification/rounds/2023/certified", None,
     ALL_200),
    ("certified list of B's district", "GET", lambda w: "/v1/certification/rounds/2023/certified",
     {"region": "310104"}, (200, 200, 200, 200, 200, 403, 200)),
    ("ineligible list", "GET", lambda w: "/v1/certification/rounds/2023/ineligible", None,
     (401, 200, 403, 200, 200, 200, 200)),
    ("decision on C's published certified filing", "GET",
     lambda w: f"/v1/certification/rounds/2023/products/{w.c_ok}", None,
     ALL_200),  # published: the public's, so the admin of another region's too
    ("decision on own pending filing", "GET",
     lambda w: f"/v1/certification/rounds/2023/products/{w.a_pending}", None,
     (404, 200, 404, 200, 200, 200, 200)),
    ("objections of a round", "GET", lambda w: "/v1/certification/rounds/2023/objections", None,
     (401, 200, 200, 200, 200, 200, 200)),
    ("an objection filed by A", "GET",
     lambda w: f"/v1/certification/rounds/2023/objections/{w.objections[0]}", None,
     (401, 200, 404, 200, 200, 404, 200)),
)  # fmt: skip

_REVISION = {"data_year": 2023, "figures": figures_body(sales=20_000_000),
             "patents": [{"number": patent(1), "relation": "owner"}],
             "proof_digests": [digest("invoice 2023")]}  # fmt: skip
_CLAIM = {
    "patent_numbers": [patent(3)],
    "claimant": "某公司",
    "description": "ours",
    "evidence_digests": EVIDENCE,
}
REFUSED_BUT = {  # statuses of a write only one kind of caller may make
    "reviewer": (401, 403, 403, 200, 403, 403, 403),
    "filer": (401, 200, 403, 403, 403, 403, 403),
    "certifier": (401, 403, 403, 403, 200, 403, 403),
}
WRITES: tuple[Row, ...] = (
    ("register another filer", "POST", lambda w: "/v1/filers", filer_body(uscc(30)),
     (401, 403, 403, 201, 403, 403, 403)),
    ("verify a filer's real name", "POST",
     lambda w: f"/v1/filers/{w.fresh_filers[1]}/real-name-verification", {"reference": "RN"},
     REFUSED_BUT["reviewer"]),
    ("approve a filer", "POST", lambda w: f"/v1/filers/{w.fresh_filers[0]}/approval", None,
     REFUSED_BUT["reviewer"]),
    ("confirm a filer's move (none needed: its region is its USCC's)", "POST",
     lambda w: f"/v1/filers/{w.fresh_filers[1]}/move-confirmation", {"reason": "迁址"},
     (401, 403, 403, 409, 403, 403, 403)),  # only the reviewer reaches the rule
    ("reject a filer", "POST", lambda w: f"/v1/filers/{w.fresh_filers[2]}/rejection",
     {"reason": "licence expired"}, REFUSED_BUT["reviewer"]),
    ("resubmit another filer's papers", "POST",
     lambda w: f"/v1/filers/{w.fresh_filers[2]}/resubmission",
     {"proof_digests": [digest("p")], "pledge_digest": digest("p")},
     (401, 403, 403, 403, 403, 403, 403)),
    ("file a product", "POST", lambda w: "/v1/products",
     None, (401, 201, 403, 403, 403, 403, 403)),  # body built from the world: see _body
    ("approve a filing", "POST", lambda w: f"/v1/products/{w.a_pending}/approval", None,
     REFUSED_BUT["reviewer"]),
    ("reject another filer's filing", "POST", lambda w: f"/v1/products/{w.b_pending}/rejection",
     {"reason": "no invoice"}, REFUSED_BUT["reviewer"]),
    ("revise own filing", "POST", lambda w: f"/v1/products/{w.a_ok}/revisions", _REVISION,
     REFUSED_BUT["filer"]),
    ("revise another filer's approved filing", "POST",
     lambda w: f"/v1/products/{w.b_ok}/revisions", _REVISION,
     (401, 403, 403, 403, 403, 403, 403)),
    ("revise another filer's pending filing", "POST",
     lambda w: f"/v1/products/{w.b_pending}/revisions", _REVISION,
     (401, 404, 403, 403, 403, 403, 403)),
    ("raise a dispute on another filer's approved filing", "POST",
     lambda w: f"/v1/products/{w.b_ok}/disputes", _CLAIM,
     (401, 201, 403, 409, 403, 403, 403)),  # the reviewer's: that patent's dispute is open
    ("accept a dispute a reviewer raised (accepted already)", "POST",
     lambda w: f"/v1/products/{w.a_ok}/disputes/D-1/acceptance", None,
     (401, 403, 403, 409, 403, 403, 403)),  # only the reviewer reaches the rule
    ("resolve a dispute", "POST", lambda w: f"/v1/products/{w.a_ok}/disputes/D-1/resolution",
     {"outcome": "claim_dismissed", "note": "licence shown"}, REFUSED_BUT["reviewer"]),
    ("withdraw another filer's approved filing", "POST",
     lambda w: f"/v1/products/{w.b_ok}/withdrawal", {"reason": "patents lapsed"},
     (401, 403, 403, 200, 403, 403, 403)),
    ("report a conversion", "POST", lambda w: "/v1/conversions",
     conversion_body(institution_uscc=UNIVERSITY), (401, 403, 201, 403, 403, 403, 403)),
    ("set the benchmark table", "POST", lambda w: "/v1/certification/benchmarks",
     {"note": "v2", "thresholds": {c.value: {**THRESHOLDS, "sales_fen": 1}
                                   for c in IndustryCategory}}, REFUSED_BUT["certifier"]),
    ("open a certification round", "POST", lambda w: "/v1/certification/rounds",
     None, (401, 403, 403, 403, 201, 403, 403)),  # body built from the world: see _body
    ("evaluate a round", "POST", lambda w: "/v1/certification/rounds/2024/evaluation", None,
     REFUSED_BUT["certifier"]),
    ("publish a round's certified list", "POST",
     lambda w: "/v1/certification/rounds/2024/publication", {"objection_days": 7},
     REFUSED_BUT["certifier"]),
    ("opt own filing in to next year's round", "POST",
     lambda w: f"/v1/certification/rounds/{w.next_year}/opt-ins", None,
     (401, 201, 403, 403, 403, 403, 403)),  # body built from the world
    ("object to C's certified filing", "POST",
     lambda w: "/v1/certification/rounds/2023/objections", None,
     (401, 201, 201, 201, 403, 404, 403)),  # body built from the world; C is not in 310115
    ("uphold an objection", "POST",
     lambda w: f"/v1/certification/rounds/2023/objections/{w.objections[0]}/upholding",
     {"reason": "属实"}, REFUSED_BUT["certifier"]),
    ("dismiss an objection", "POST",
     lambda w: f"/v1/certification/rounds/2023/objections/{w.objections[1]}/dismissal",
     {"reason": "证据不足"}, REFUSED_BUT["certifier"]),
)  # fmt: skip


def _body(world: World, label: str, body: dict[str, Any] | None) -> Any:
    if label == "file a product":
        return product_body(world.a_filer, name="新产品", model="N-1",
                            patents=[{"number": patent(9), "relation": "owner"}])  # fmt: skip
    if label == "open a certification round":
        return {"year": world.next_year + 1}
    if label == "opt own filing in to next year's round":
        return {"product_id": world.a_ok, "filer_valid_patents": 3}
    if label == "object to C's certified filing":
        return {"product_id": world.c_ok, "reason": "销售额与发票不符"}
    return body


def _call(api: Any, world: World, row: Row, caller: tuple[str, Role | None, str | None]) -> Any:
    label, method, path_of, data, _ = row
    _, role, scope = caller
    path = path_of(world)
    if method == "GET":
        return api.client.get(path, params=data, headers=api.headers(role, scope))
    return api.post(path, _body(world, label, data), role, scope)


def _order(statuses: tuple[int, ...]) -> list[int]:
    """Refusals by role or visibility first, then successes (a success changes the state the
    others would see), then conflicts (which follow from that success)."""

    def rank(index: int) -> int:
        status = statuses[index]
        return 0 if status in (401, 403, 404) else 1 if status < 400 else 2

    return sorted(range(len(CALLERS)), key=rank)


def test_every_role_against_every_operation(api, world):
    failures: list[str] = []
    for row in (*READS, *WRITES):
        label, method, _, _, statuses = row
        for index in _order(statuses):
            caller = CALLERS[index]
            before = api.state.ledger.recorder.max_notification_id()
            response = _call(api, world, row, caller)
            expected = statuses[index]
            if response.status_code != expected:
                failures.append(
                    f"{label} as {caller[0]}: {response.status_code} (want {expected}) "
                    f"{response.text[:160]}"
                )
                continue
            if expected >= 400:
                assert response.headers["content-type"].startswith(PROBLEM_JSON), label
                if method == "POST":  # a refused write stores nothing
                    after = api.state.ledger.recorder.max_notification_id()
                    assert after == before, f"{label} as {caller[0]} stored events"
    assert not failures, "\n".join(failures)


def test_anonymous_and_other_filers_never_see_confidential_fields(api, world):
    confidential = {"sales_fen", "exports_fen", "profit_fen", "ip_spending_fen"}
    for role, scope in ((None, None), (Role.FILER, A), (Role.INSTITUTION, UNIVERSITY)):
        listed = api.client.get("/v1/products", params={"limit": 200},
                                headers=api.headers(role, scope)).json()["items"]  # fmt: skip
        for item in listed:
            own = role is Role.FILER and item["filer_uscc"] == A
            assert own or not (confidential & set(item)), (role, item["product_id"])
            assert own or item["status"] == "approved", (role, item["product_id"])
        ids = {item["product_id"] for item in listed}
        assert world.b_pending not in ids
    own = api.client.get(f"/v1/products/{world.a_pending}", headers=api.headers(Role.FILER, A))
    assert own.json()["sales_fen"] == 10_000_000


def test_the_matrix_covers_every_operation(api):
    documented = {
        (method.upper(), path)
        for path, operations in api.client.get("/openapi.json").json()["paths"].items()
        for method in operations
    }
    covered = set()
    sample = World("F", "G", "P", "P", "P", "P", ["F", "F", "F"], 0)
    for _, method, path_of, _, _ in (*READS, *WRITES):
        path = path_of(sample)
        covered.add((method, _template(path, documented)))
    assert documented <= covered, sorted(documented - covered)


def _template(path: str, documented: set[tuple[str, str]]) -> str:
    """The documented path template a concrete path of the matrix instantiates: one of as
    many segments, else the longest whose last parameter takes the rest (a ``{...:path}``
    parameter, as the tiled log's ``/tlog/tile/{location}``)."""
    parts = path.split("/")
    for _, template in documented:
        pieces = template.split("/")
        if len(pieces) == len(parts) and all(
            p == q or q.startswith("{") for p, q in zip(parts, pieces, strict=True)
        ):
            return template
    rest_of_path = [
        template
        for _, template in documented
        if len(pieces := template.split("/")) < len(parts)
        and pieces[-1].startswith("{")
        and all(p == q or q.startswith("{") for p, q in zip(parts, pieces[:-1], strict=False))
    ]
    return max(rest_of_path, key=lambda template: template.count("/"), default=path)


_TOKEN_ID = re.compile(r"token:[0-9a-f]{16}")


def test_no_get_route_shows_a_caller_another_partys_token_id(api, world):
    """Walk every GET of the matrix as every caller: another party's token id (an actor's
    identity in the events) appears only to platform roles; the platform's own actors are
    shown to all, for accountability (issue #15)."""
    platform = {_actor_id(api, role, None) for role in (Role.REVIEWER, Role.CERTIFIER)}
    leaks: list[str] = []
    for row in READS:
        for caller in CALLERS:
            _, role, scope = caller
            response = _call(api, world, row, caller)
            if response.status_code != 200 or role in (Role.REVIEWER, Role.CERTIFIER, Role.AUDITOR):
                continue
            own = set() if role is None else {_actor_id(api, role, scope)}
            found = set(_TOKEN_ID.findall(response.text)) - own - platform
            if found:
                leaks.append(f"{row[0]} as {caller[0]}: {sorted(found)}")
    assert not leaks, "\n".join(leaks)


def _actor_id(api: Any, role: Role, scope: str | None) -> str:
    principal = api.state.tokens.authenticate(api.token(role, scope))
    actor_id: str = principal.actor().id
    return actor_id


def test_the_objector_is_anonymous_to_the_objected_filer_and_its_region(api, world):
    """C's trail and dispute check: A's objection shows a filer objected, not which one; the
    platform sees A's USCC and token (docs/api.md: the objector's identity to platform roles)."""
    c_uscc = uscc(40, region="310104")
    paths = (f"/v1/products/{world.c_ok}/trail", f"/v1/products/{world.c_ok}/dispute-check")
    for role, scope in (
        (Role.FILER, c_uscc),
        (Role.REGIONAL_ADMIN, "310104"),
        (Role.REVIEWER, None),
    ):
        for path in paths:
            response = api.client.get(path, headers=api.headers(role, scope))
            assert response.status_code == 200, (path, role, response.text)
            body = response.json()
            events = body["events"] if "events" in body else body["timeline"]
            objections = [e for e in events if e["event_type"] == "ObjectionFiled"]
            assert len(objections) == 2, (path, role)
            by_a = [e for e in objections if e["actor_role"] == "filer"]
            assert len(by_a) == 1
            if role is Role.REVIEWER:
                assert (by_a[0]["actor_scope"], by_a[0]["actor_id"]) == (A, f"user-{A}")
            else:
                assert (by_a[0]["actor_id"], by_a[0]["actor_scope"]) == (None, None), path
                assert A not in response.text, (path, role)
                by_reviewer = [e for e in objections if e["actor_role"] == "reviewer"]
                assert by_reviewer[0]["actor_id"] == REVIEWER.id  # the platform: accountable
