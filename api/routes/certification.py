"""The annual certification (专利密集型产品认定) over HTTP: commands and the register.

Commands (POST; ``api.writes.execute``: Idempotency-Key, recorded refusals, If-Match where the
domain takes an expected version) — the certifier sets the benchmark table, opens a round,
runs its evaluation, publishes the certified list (公示) and upholds or dismisses objections; a
filer opts its product in; filers (not against their own product), institutions, reviewers and
regional admins (their region's products) object during the window. The domain checks the
rules and the time (docs/certification.md); the routes only add what the token's role decides,
and hide what a caller may not see: a filer or institution objecting to a product not on the
published list, or a filer opting in a filing it may not see, gets the 404 of a record that
does not exist.

Reads come from the certification register (projections.certification_register) through the
access policy (api.access): rounds and the benchmark table are public; the certified list is
public once published (products' public fields; the explanation — inputs, indicators — only
for the product's filer, its regional admin and platform roles, who also see decisions before
publication); the ineligible list needs a token (a filer sees its own, a regional admin its
region's, institutions none); objections need a token (a filer those against its products or
its own, an institution its own).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from api.access import (
    NOBODY,
    PLATFORM,
    decision_view,
    objection_view,
    region_scope,
    sees_decision,
    sees_objection,
    sees_product,
    uscc_scope,
)
from api.certification_bodies import (
    BenchmarksWritten,
    BenchmarkTableView,
    DecideObjection,
    DecisionPage,
    DecisionView,
    EvaluationReport,
    FileObjection,
    ListPublished,
    ObjectionPage,
    ObjectionView,
    ObjectionWritten,
    OpenRound,
    OptedIn,
    OptIn,
    PublishList,
    RoundList,
    RoundView,
    RoundWritten,
    RunEvaluation,
    SetBenchmarks,
)
from api.command_routes import Call, CommandRoute, declare
from api.deps import (
    Authenticated,
    Caller,
    Certifier,
    DecisionReader,
    FilerOnly,
    Objector,
    ReadModels,
)
from api.problems import ApiProblemError, problem_responses
from api.query_params import (
    DEFAULT_LIMIT,
    CategoryFilter,
    Cursor,
    Limit,
    RegionPrefix,
    UsccFilter,
    decode_cursor,
    page_body,
    uscc_filter,
)
from api.tokens import Principal
from api.writes import ETAG_RESPONSE, FIRST_VERSION, Outcome, etag
from audit.offline.canonical import format_timestamp
from domain.actor import Role
from domain.application import PatentLedger
from domain.benchmarks import BenchmarkValues
from domain.certification import Ineligibility
from domain.errors import CertificationNotFoundError, ProductNotFoundError
from domain.objection import ObjectionStatus
from domain.ranges import ROUND_YEARS
from projections import queries
from projections.schema import Row
from projections.store import ProjectionStore

router = APIRouter(prefix="/v1/certification", tags=["certification"])

Year = Annotated[
    int,
    Path(
        ge=ROUND_YEARS.minimum,
        le=ROUND_YEARS.maximum,
        description="The round's year (data year = year - 1)",
    ),
]
ObjectionId = Annotated[UUID, Path(description="The id returned when the objection was filed")]

_WITH_BODY = (400, 401, 403, 404, 409, 413, 415, 422, 503)
_WITH_BODY_AND_VERSION = (*_WITH_BODY, 412)
_PUBLIC_READ = problem_responses(401, 404, 422, 503)


# --- commands -----------------------------------------------------------------------------------
def _set_benchmarks(call: Call[SetBenchmarks]) -> Outcome:
    """Set the whole benchmark table (评价基准) as its next version; the same table as the
    latest version records nothing. Rounds evaluate against the version they pinned when their
    evaluation started, so a new version never changes a decided round. If-Match: the table's
    current version."""
    # The command line's parser, so the API and ``ppl certify benchmarks set`` agree.
    values = BenchmarkValues.from_json(call.body.model_dump_json())
    version = call.ledger.certification.set_benchmarks(
        call.actor, values, expected_version=call.expected_version, receipt=call.receipt
    )
    return 200, BenchmarksWritten(version=version).model_dump(mode="json"), etag(version)


def _open_round(call: Call[OpenRound]) -> Outcome:
    """Open the round of ``year`` (from 2023; data year = year - 1). Unset dates take the
    notices' defaults; all must lie in the year, window start ≤ window end ≤ filing deadline ≤
    review deadline. A round already open is 409 ``certification_round_exists``."""
    body = call.body
    round_id = call.ledger.certification.open_certification_round(
        call.actor,
        body.year,
        filing_deadline=body.filing_deadline,
        review_deadline=body.review_deadline,
        opt_in_required=body.opt_in_required,
        update_window_start=body.update_window_start,
        update_window_end=body.update_window_end,
        receipt=call.receipt,
    )
    written = RoundWritten(year=body.year, round_id=round_id, version=FIRST_VERSION)
    headers = {**etag(FIRST_VERSION), "Location": f"/v1/certification/rounds/{body.year}"}
    return 201, written.model_dump(mode="json"), headers


def _run_evaluation(call: Call[RunEvaluation | None]) -> Outcome:
    """Decide every filing not withdrawn that no run has decided yet: ``Certified``,
    ``NotCertified`` or ``NotEligible`` (with every reason). The first run pins the benchmark
    version (default: the latest) and only after the review deadline (409
    ``evaluation_too_early``); running again decides nothing twice."""
    pinned = None if call.body is None else call.body.benchmark_version
    report = call.ledger.certification.run_certification(
        call.actor, call.ids["year"], benchmark_version=pinned, receipt=call.receipt
    )
    document = EvaluationReport(
        year=report.year,
        benchmark_version=report.benchmark_version,
        certified=len(report.certified),
        not_certified=len(report.not_certified),
        not_eligible=len(report.not_eligible),
        not_eligible_by_reason=dict(sorted(report.not_eligible_by_reason().items())),
        already_decided=report.already_decided,
        withdrawn=report.withdrawn,
    )
    return 200, document.model_dump(mode="json"), {}


def _publish(call: Call[PublishList | None]) -> Outcome:
    """Publish the round's certified list (公示) and open the objection window for
    ``objection_days`` (1..90, default 7) from now. Every filing not withdrawn must be decided
    (409 ``certification_round_state`` otherwise: run the evaluation again first)."""
    year, certification = call.ids["year"], call.ledger.certification
    days = 7 if call.body is None else call.body.objection_days
    version = certification.publish_certified_list(
        call.actor, year, objection_days=days, receipt=call.receipt
    )
    round_ = certification.get_round(year)
    start, end = round_.objection_window_start, round_.objection_window_end
    if start is None or end is None:  # publish_certified_list sets both
        raise RuntimeError(f"round {year} was published without an objection window")
    document = ListPublished(
        year=year,
        version=version,
        published_certified=len(round_.certified_product_ids),
        objection_window_start=format_timestamp(start),
        objection_window_end=format_timestamp(end),
    )
    return 200, document.model_dump(mode="json"), etag(version)


def _opt_in(call: Call[OptIn]) -> Outcome:
    """The filer asks for its product to be evaluated in the round (required from 2024),
    until the round's filing deadline (409 ``opt_in_closed``); once per product (409
    ``already_opted_in``). Another filer's product is 403 ``product_not_owned`` (404 if the
    caller may not even see it)."""
    body, year = call.body, call.ids["year"]
    product = call.ledger.get_product(body.product_id)
    if not sees_product(call.principal, {"filer_uscc": product.filer_uscc,
                                         "status": product.status.value}):  # fmt: skip
        raise ProductNotFoundError(f"no product {body.product_id}", id=str(body.product_id))
    opt_in_id = call.ledger.certification.opt_in_to_certification(
        call.actor, year, body.product_id,
        filer_valid_patents=body.filer_valid_patents, receipt=call.receipt,
    )  # fmt: skip
    written = OptedIn(
        year=year, product_id=body.product_id, opt_in_id=opt_in_id, version=FIRST_VERSION
    )
    return 201, written.model_dump(mode="json"), etag(FIRST_VERSION)


def _file_objection(call: Call[FileObjection]) -> Outcome:
    """File an objection (异议) against a product on the round's published list, during its
    objection window (409 ``objection_window_closed`` outside it). A filer may not object to
    its own product (403); a regional admin only to its region's (404 outside it)."""
    body, year = call.body, call.ids["year"]
    _check_objectable(call.ledger, call.principal, year, body.product_id)
    objection_id = call.ledger.certification.file_objection(
        call.actor, year, body.product_id, body.reason,
        objection_id=body.objection_id, receipt=call.receipt,
    )  # fmt: skip
    written = ObjectionWritten(
        objection_id=objection_id, year=year, product_id=body.product_id,
        status=ObjectionStatus.OPEN, version=FIRST_VERSION,
    )  # fmt: skip
    location = f"/v1/certification/rounds/{year}/objections/{objection_id}"
    return 201, written.model_dump(mode="json"), {**etag(FIRST_VERSION), "Location": location}


def _check_objectable(ledger: PatentLedger, principal: Principal, year: int, product: UUID) -> None:
    """A filer or institution learns nothing of decisions that are not published: objecting
    to a product the published list never named (and, for a filer, not its own) is the 404 of
    a decision that does not exist, not the domain's 409 naming its status."""
    if principal.role not in (Role.FILER, Role.INSTITUTION):
        return  # platform roles see every decision; the domain confines regional admins
    if str(product) in ledger.certification.get_round(year).certified_product_ids:
        return
    # A filer sees its own decisions (the domain then refuses its objection: 403).
    if (
        principal.role is Role.FILER
        and ledger.certification.get_certification(year, product).filer_uscc == principal.scope
    ):
        return
    raise CertificationNotFoundError(
        f"no decision on product {product} in round {year}", id=str(product)
    )


def _decided(call: Call[DecideObjection], decide: Callable[..., int]) -> Outcome:
    """``decide`` (uphold or dismiss) the path's objection; the objection as it now stands."""
    objection_id = call.id("objection_id")
    version = decide(
        call.actor, objection_id, call.body.reason, year=call.ids["year"],
        expected_version=call.expected_version, receipt=call.receipt,
    )  # fmt: skip
    objection = call.ledger.certification.get_objection(objection_id)
    written = ObjectionWritten(
        objection_id=objection.id, year=objection.round_year, product_id=objection.product_id,
        status=objection.status, version=version,
    )  # fmt: skip
    return 200, written.model_dump(mode="json"), etag(version)


def _uphold(call: Call[DecideObjection]) -> Outcome:
    """Uphold an open objection: the product's certification is revoked with this reason, in
    the same signed save. If-Match: the objection's version."""
    return _decided(call, call.ledger.certification.uphold_objection)


def _dismiss(call: Call[DecideObjection]) -> Outcome:
    """Dismiss an open objection: the certification stands. If-Match: the objection's
    version."""
    return _decided(call, call.ledger.certification.dismiss_objection)


# The routes on a round (``/rounds/{year}/...``), and the two decisions on one objection.
_in_round = partial(CommandRoute, path_params={"year": Year}, problems=_WITH_BODY)
_on_objection = partial(
    CommandRoute, path_params={"year": Year, "objection_id": ObjectionId}, callers=Certifier,
    body=DecideObjection, response_model=ObjectionWritten, problems=_WITH_BODY_AND_VERSION,
)  # fmt: skip

ROUTES: tuple[CommandRoute[Any], ...] = (
    CommandRoute(
        name="set_benchmarks", path="/benchmarks", summary="Set the benchmark table",
        callers=Certifier, body=SetBenchmarks, raw=_set_benchmarks,
        response_model=BenchmarksWritten,
        problems=(400, 401, 403, 409, 412, 413, 415, 422, 503),
    ),
    CommandRoute(
        name="open_round", path="/rounds", summary="Open a certification round",
        callers=Certifier, body=OpenRound, raw=_open_round, status=201,
        response_model=RoundWritten, problems=_WITH_BODY,
    ),
    _in_round(
        name="run_evaluation", path="/rounds/{year}/evaluation",
        summary="Evaluate every filing of a round", callers=Certifier, body=RunEvaluation,
        body_optional=True, body_examples=[{}, {"benchmark_version": 1}],
        raw=_run_evaluation, response_model=EvaluationReport,
    ),
    _in_round(
        name="publish", path="/rounds/{year}/publication",
        summary="Publish the certified list", callers=Certifier, body=PublishList,
        body_optional=True, body_examples=[{"objection_days": 7}], raw=_publish,
        response_model=ListPublished,
    ),
    _in_round(
        name="opt_in", path="/rounds/{year}/opt-ins", summary="Opt a product in to a round",
        callers=FilerOnly, body=OptIn, raw=_opt_in, status=201, response_model=OptedIn,
    ),
    _in_round(
        name="file_objection", path="/rounds/{year}/objections",
        summary="Object to a certified product", callers=Objector, body=FileObjection,
        raw=_file_objection, status=201, response_model=ObjectionWritten,
    ),
    _on_objection(
        name="uphold_objection", path="/rounds/{year}/objections/{objection_id}/upholding",
        summary="Uphold an objection (revoke the certification)", raw=_uphold,
    ),
    _on_objection(
        name="dismiss_objection", path="/rounds/{year}/objections/{objection_id}/dismissal",
        summary="Dismiss an objection", raw=_dismiss,
    ),
)  # fmt: skip
for _route in ROUTES:
    declare(router, _route)


# --- reads --------------------------------------------------------------------------------------
@router.get(
    "/benchmarks",
    summary="The benchmark table",
    response_model=BenchmarkTableView,
    responses={**ETAG_RESPONSE, **_PUBLIC_READ},
)
def get_benchmarks(
    principal: Caller,
    store: ReadModels,
    response: Response,
    version: Annotated[
        int | None, Query(ge=1, le=2**31, description="A version (default: the latest)")
    ] = None,
) -> dict[str, Any]:
    """A version of the benchmark table: per category, each indicator's threshold, and the
    definition (unit, comparison, formula) of every indicator it uses. Public."""
    row = queries.benchmark_table(store, version)
    if row is None:
        raise ApiProblemError("not_found", "no such benchmark table version")
    response.headers.update(etag(row["version"]))
    return {name: row[name] for name in BenchmarkTableView.model_fields}


def _round_view(principal: Principal, row: Row) -> dict[str, Any]:
    """A round; its decision counts to the platform roles at once, to everyone once published
    (before that they would tell how the internal decisions went)."""
    view = {name: row[name] for name in RoundView.model_fields if name in row}
    view["opt_in_required"] = bool(row["opt_in_required"])
    if principal.role not in PLATFORM and row["published_at"] is None:
        for name in ("certified", "not_certified", "not_eligible", "revoked", "objections"):
            view.pop(name, None)
    return view


@router.get(
    "/rounds",
    summary="List certification rounds",
    response_model=RoundList,
    response_model_exclude_unset=True,
    responses=problem_responses(401, 422, 503),
)
def list_rounds(principal: Caller, store: ReadModels) -> dict[str, Any]:
    """Every round by year: calendar, status, benchmark version, publication. Public."""
    return {"items": [_round_view(principal, row) for row in queries.certification_rounds(store)]}


def _round(store: ProjectionStore, year: int) -> Row:
    row = queries.certification_round(store, year)
    if row is None:
        raise ApiProblemError("not_found", f"no certification round {year}")
    return row


@router.get(
    "/rounds/{year}",
    summary="One certification round",
    response_model=RoundView,
    response_model_exclude_unset=True,
    responses={**ETAG_RESPONSE, **_PUBLIC_READ},
)
def get_round(
    year: Year, principal: Caller, store: ReadModels, response: Response
) -> dict[str, Any]:
    """A round; ``ETag`` is its version. Public."""
    row = _round(store, year)
    response.headers.update(etag(row["version"]))
    return _round_view(principal, row)


def _decision_page(principal: Principal, page: queries.Page) -> dict[str, Any]:
    return page_body(page, [decision_view(principal, row) for row in page.rows])


@router.get(
    "/rounds/{year}/certified",
    summary="The certified list of a round",
    response_model=DecisionPage,
    response_model_exclude_unset=True,
    responses=problem_responses(401, 403, 404, 422, 503),
)
def certified(
    year: Year,
    principal: Caller,
    store: ReadModels,
    category: CategoryFilter = None,
    region: RegionPrefix = None,
    filer_uscc: UsccFilter = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Products certified in the round (not revoked), in product id order. Anyone sees the
    published list (公示) with the products' public fields; before publication it is empty.
    Platform roles, and a regional admin within its region (403 for a ``region`` outside it),
    also see certified decisions not yet published. Inputs and indicators only for those who
    see the product's figures."""
    _round(store, year)
    everything = principal.role in PLATFORM or principal.role is Role.REGIONAL_ADMIN
    page = queries.certified_products(
        store,
        year,
        published_only=not everything,
        category=None if category is None else category.value,
        region=region_scope(principal, region),
        filer_uscc=uscc_filter("filer_uscc", filer_uscc),
        after=decode_cursor(cursor),
        limit=limit,
    )
    return _decision_page(principal, page)


@router.get(
    "/rounds/{year}/ineligible",
    summary="Products a round found not eligible",
    response_model=DecisionPage,
    response_model_exclude_unset=True,
    responses=problem_responses(401, 403, 404, 422, 503),
)
def ineligible(
    year: Year,
    principal: DecisionReader,
    store: ReadModels,
    reason: Annotated[
        Ineligibility | None, Query(description="Only those that failed this rule")
    ] = None,
    category: CategoryFilter = None,
    region: RegionPrefix = None,
    filer_uscc: UsccFilter = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Filings the round did not evaluate, each with every rule it failed, in product id
    order. Needs a token: platform roles see all, a filer its own, a regional admin its
    region's (403 for a ``region`` outside it); institutions none (403)."""
    _round(store, year)
    wanted_uscc = uscc_scope(principal, uscc_filter("filer_uscc", filer_uscc))
    if wanted_uscc is NOBODY:
        return {"items": [], "next_cursor": None}
    page = queries.ineligible_products(
        store,
        year,
        reason=None if reason is None else reason.value,
        category=None if category is None else category.value,
        region=region_scope(principal, region),
        filer_uscc=wanted_uscc,
        after=decode_cursor(cursor),
        limit=limit,
    )
    return _decision_page(principal, page)


@router.get(
    "/rounds/{year}/products/{product_id}",
    summary="A product's decision in a round, explained",
    response_model=DecisionView,
    response_model_exclude_unset=True,
    responses=_PUBLIC_READ,
)
def get_decision(
    year: Year,
    product_id: Annotated[UUID, Path(description="The filing's id")],
    principal: Caller,
    store: ReadModels,
) -> dict[str, Any]:
    """The decision on one product: its status and, for its filer, its regional admin and the
    platform roles, the inputs, every indicator's value and threshold, or the reasons it was
    not eligible. Others see a decision once the published list named the product; otherwise
    404, as if there were none."""
    row = queries.certification_decision(store, year, product_id)
    if row is None or not sees_decision(principal, row):
        raise ApiProblemError("not_found", f"no decision on product {product_id} in round {year}")
    return decision_view(principal, row)


@router.get(
    "/rounds/{year}/objections",
    summary="Objections of a round",
    response_model=ObjectionPage,
    response_model_exclude_unset=True,
    responses=problem_responses(401, 403, 404, 422, 503),
)
def list_objections(
    year: Year,
    principal: Authenticated,
    store: ReadModels,
    status: Annotated[ObjectionStatus | None, Query(description="open, dismissed, upheld")] = None,
    product_id: Annotated[UUID | None, Query(description="Against this product")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Objections in objection id order. Needs a token: platform roles see all; a regional
    admin those against its region's products; a filer those against its products and those
    it filed; an institution those it filed. Who filed them only for the platform roles."""
    _round(store, year)
    party = None
    if principal.role in (Role.FILER, Role.INSTITUTION) and principal.scope is not None:
        party = (principal.role.value, principal.scope)
    page = queries.objections(
        store,
        year,
        status=None if status is None else status.value,
        product_id=product_id,
        region=region_scope(principal, None) if principal.role is Role.REGIONAL_ADMIN else None,
        party=party,
        after=decode_cursor(cursor),
        limit=limit,
    )
    return page_body(page, [objection_view(principal, row) for row in page.rows])


@router.get(
    "/rounds/{year}/objections/{objection_id}",
    summary="One objection",
    response_model=ObjectionView,
    response_model_exclude_unset=True,
    responses={**ETAG_RESPONSE, **problem_responses(401, 403, 404, 422, 503)},
)
def get_objection(
    year: Year,
    objection_id: ObjectionId,
    principal: Authenticated,
    store: ReadModels,
    response: Response,
) -> dict[str, Any]:
    """An objection; ``ETag`` is its version (If-Match for upholding or dismissing it). 404 if
    the caller may not see it (as listed above)."""
    row = queries.objection(store, objection_id)
    if row is None or row["round_year"] != year or not sees_objection(principal, row):
        raise ApiProblemError("not_found", f"no objection {objection_id} in round {year}")
    response.headers.update(etag(row["version"]))
    return objection_view(principal, row)
