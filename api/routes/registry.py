"""The product and filer registries over HTTP: lists, single records, trails, dispute checks.

Every answer comes from the read models (projections.queries), filtered through the access
policy (api.access) — who sees which filing, which fields, which filer:

* ``GET /v1/products`` lists what ``GET /v1/products/{id}`` would show this caller, and no
  more: anonymous callers and institutions the approved filings; a filer its own filings in
  every status *and* the approved filings of others (public fields only — ask
  ``filer_uscc=<own>`` for just its own); a regional admin every filing of its region (an
  explicit ``region`` outside it is 403); platform roles everything. A filter that asks for
  more than the caller sees (anonymous ``status=pending_review``) narrows to nothing: an
  empty page, not an error.
* A filing the caller may not see is 404, as if absent.
* Trails and dispute checks carry figures (event details), so they need what the figures
  need (access.sees_confidential): 404 if the filing is invisible, else 401 for anonymous
  callers and 403 for the others. A dispute check lists other filings (shared patents,
  similar keys) only where the caller may see them.
* Filer records carry review state and contact-adjacent data: a bearer token is required
  (401), institutions never see them (403), a filer sees only its own, a regional admin its
  region's.

Pages and filters are those of every list (api.query_params): opaque cursors that stay valid
across writes, patterns in the OpenAPI document (422 request_invalid outside them), a USCC's
check character 422 query_invalid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.access import (
    CHALLENGE,
    NOBODY,
    PLATFORM,
    product_view,
    region_scope,
    sees_confidential,
    sees_filer,
    sees_product,
    trail_event_view,
    uscc_scope,
)
from api.bootstrap import leaf_lookup
from api.deps import Caller, FilerReader, MerkleLog, Platform, ReadModels, merkle_log
from api.one_hop import in_one_hop
from api.problems import ApiProblemError, problem_responses
from api.query_params import (
    DEFAULT_LIMIT,
    FILING_NUMBER_PATTERN,
    CategoryFilter,
    Cursor,
    Limit,
    RegionPrefix,
    UsccFilter,
    decode_cursor,
    page_body,
    uscc_filter,
)
from api.read_bodies import (
    DisputeCheckReport,
    FilerPage,
    FilerView,
    KeyGroupReport,
    ProductPage,
    ProductView,
    Trail,
)
from api.tokens import Principal
from api.writes import ETAG_RESPONSE, etag
from domain.actor import Role
from domain.errors import InvalidValueError
from domain.filer import FilerStatus
from domain.product import ProductStatus
from domain.values import YEAR_MAX, YEAR_MIN, PatentNumber
from projections import queries
from projections.dispute_check import (
    DEFAULT_MAX_DISTANCE,
    ProductNotInRegistryError,
    dispute_check,
)
from projections.queries import LeafLookup
from projections.schema import Row
from projections.store import ProjectionStore

router = APIRouter(prefix="/v1", tags=["registry"])


def leaf_lookup_of(request: Request) -> LeafLookup:
    """The request's Merkle log as a leaf lookup (api.bootstrap.leaf_lookup)."""
    return leaf_lookup(merkle_log(request))


async def _leaf_lookup(log: MerkleLog) -> LeafLookup:
    """``leaf_lookup_of`` as a dependency (async: api.deps.read_models_of says why)."""
    return leaf_lookup(log)


Leaves = Annotated[LeafLookup, Depends(_leaf_lookup)]
ProductId = Annotated[UUID, Path(description="The filing's id")]

_LIST_PROBLEMS = problem_responses(401, 403, 422, 503)

SearchText = Annotated[
    str | None,
    Query(
        min_length=1,
        description=f"Text search, 1-{queries.SEARCH_MAX} characters after trimming (else "
        "422 query_invalid): a filing whose product name, model or filer name contains it "
        "(any case; ``%`` and ``_`` are literal), or whose filer USCC, a declared patent "
        "number (any spelling: ZL prefix, dot) or filing number it is",
        examples=["温控阀"],
    ),
]
PatentFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=40,
        description="A patent number (ZL prefix, spaces and the dot optional; a wrong check "
        "digit is 422 query_invalid): the filings declaring it now",
        examples=["ZL202110182616.5"],
    ),
]
FilingNumberFilter = Annotated[
    str | None,
    Query(
        pattern=FILING_NUMBER_PATTERN,
        description="A filing number (备案号) YYYY-RRRRRR-NNNNN (docs/filing-numbers.md): the "
        "one filing holding it",
        examples=["2023-310115-00001"],
    ),
]


def _patent_number(value: str | None) -> str | None:
    """The ``patent`` filter in its one spelling (a wrong check digit: 422 query_invalid)."""
    if value is None:
        return None
    try:
        return PatentNumber.parse(value).value
    except InvalidValueError as exc:
        raise queries.QueryError(f"patent: {exc.message}") from None


_ONE_PROBLEMS = problem_responses(401, 404, 422, 503)
_GUARDED_PROBLEMS = problem_responses(401, 403, 404, 422, 503)


# --- products ---------------------------------------------------------------------------------
def _visible_products(
    principal: Principal, store: ProjectionStore, filters: dict[str, Any], after: str | None,
    limit: int,
) -> queries.Page:  # fmt: skip
    """The page of filings matching ``filters`` that this caller may see (access.sees_product).

    Platform roles, and regional admins within their region, see whole slices, one query.
    Everyone else (a regional admin outside its region too) sees the approved filings plus
    (a filer) its own: two keyed queries of ``limit + 1`` rows merged by
    product id, which is exactly the first ``limit + 1`` of their union.
    """
    if principal.role in PLATFORM:
        return queries.products(store, **filters, after=after, limit=limit)
    scope, requested = principal.scope or "", filters["region"]
    if (
        principal.role is Role.REGIONAL_ADMIN
        and requested is not None
        and requested.startswith(scope)
    ):
        return queries.products(store, **filters, after=after, limit=limit)
    slices = []
    if principal.role is Role.REGIONAL_ADMIN and requested is None:
        slices.append({**filters, "region": scope})  # its region, whole
    # a regional admin outside its region sees what the public sees, never less
    if filters["status"] in (None, ProductStatus.APPROVED.value):
        # the listed filings: approved, or approved before with an update under review
        listed = {**filters, "status": None, "listed_status": ProductStatus.APPROVED.value}
        slices.append(listed)
    if principal.role is Role.FILER and filters["filer_uscc"] in (None, principal.scope):
        slices.append({**filters, "filer_uscc": principal.scope})
    merged: dict[str, Row] = {}
    for wanted in slices:
        for row in queries.products(store, **wanted, after=after, limit=limit + 1).rows:
            merged[row["product_id"]] = row
    # Python's order is the database's here: ids are lowercase hex with dashes at fixed places.
    rows = [merged[key] for key in sorted(merged)][: limit + 1]
    more = len(rows) > limit
    rows = rows[:limit]
    return queries.Page(rows, rows[-1]["product_id"] if more else None)


@in_one_hop(
    router.get(
        "/products",
        summary="List filings (the product registry)",
        response_model=ProductPage,
        response_model_exclude_unset=True,
        responses=_LIST_PROBLEMS,
    )
)
def list_products(
    principal: Caller,
    store: ReadModels,
    status: Annotated[ProductStatus | None, Query(description="Review status")] = None,
    filer_uscc: UsccFilter = None,
    region: RegionPrefix = None,
    category: CategoryFilter = None,
    data_year: Annotated[int | None, Query(ge=YEAR_MIN, le=YEAR_MAX)] = None,
    q: SearchText = None,
    patent: PatentFilter = None,
    filing_number: FilingNumberFilter = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Filings in product id order, a page at a time, filtered; each as this caller may see
    it. Anonymous: approved filings, public fields. Filer: its own (with figures) and the
    approved ones of others. Regional admin: its region (403 for a ``region`` outside it).
    Platform roles: all. ``q``, ``patent`` and ``filing_number`` search within what the
    caller sees, never beyond it."""
    filters = {
        "status": None if status is None else status.value,
        "filer_uscc": uscc_filter("filer_uscc", filer_uscc),
        "region": region,
        "category": None if category is None else category.value,
        "data_year": data_year,
        "q": None if q is None else queries.search_text(q),
        "patent": _patent_number(patent),
        "filing_number": filing_number,
    }
    after = decode_cursor(cursor)
    page = _visible_products(principal, store, filters, after, limit)
    items = [product_view(principal, row) for row in page.rows]
    return page_body(page, items)


def visible_product(principal: Principal, store: ProjectionStore, product_id: UUID) -> Row:
    row = queries.product(store, product_id)
    if row is None or not sees_product(principal, row):
        raise ApiProblemError("not_found", f"no product {product_id} in the registry")
    return row


def _confidential_product(principal: Principal, store: ProjectionStore, product_id: UUID) -> Row:
    """A filing whose figures this caller sees: 404 if invisible, 401/403 if only public."""
    row = visible_product(principal, store, product_id)
    if sees_confidential(principal, row):
        return row
    if principal.anonymous:
        raise ApiProblemError(
            "not_authenticated",
            "a filing's trail carries its figures: it needs the filer's, a platform or the "
            "region's token",
            headers=CHALLENGE,
        )
    raise ApiProblemError(
        "forbidden", f"only the filer, platform roles and its region see product {product_id}"
    )


@in_one_hop(
    router.get(
        "/products/{product_id}",
        summary="One filing",
        response_model=ProductView,
        response_model_exclude_unset=True,
        responses={**ETAG_RESPONSE, **_ONE_PROBLEMS},
    )
)
def get_product(
    product_id: ProductId, principal: Caller, store: ReadModels, response: Response
) -> dict[str, Any]:
    """A filing as the registry shows it now, with the fields this caller may see; ``ETag``
    is its version, for ``If-Match`` on the next command. 404 if the caller may not see it."""
    row = visible_product(principal, store, product_id)
    response.headers.update(etag(row["version"]))
    return product_view(principal, row)


@in_one_hop(
    router.get(
        "/products/{product_id}/trail",
        summary="A filing's audit trail",
        response_model=Trail,
        responses=_GUARDED_PROBLEMS,
    )
)
def product_trail(
    product_id: ProductId, principal: Caller, store: ReadModels, leaves: Leaves
) -> dict[str, Any]:
    """Every event of the filing in log order: type, actor, time, its leaf hash, its own
    fields, and its leaf index in the Merkle log (null until sequenced) — prove any of them
    with ``GET /v1/log/inclusion``. Needs what the figures need: the filer, a platform role,
    or the region's admin. Other filings named by screening (``candidates``, ``distinct``,
    ``duplicate_of``) are listed only where the caller may see them, as in the dispute
    check: a filer learns nothing of another filer's filing in review."""
    row = _confidential_product(principal, store, product_id)
    events = queries.audit_trail_of(store, product_id, leaves)
    if principal.role not in PLATFORM:
        sees = _other_products(principal, store)
        events = [trail_event_view(principal, event, row["filer_uscc"]) for event in events]
        for event in events:
            event["details"] = _screening_seen(event["details"], sees)
    return {"product_id": str(product_id), "events": events}


def _screening_seen(details: dict[str, Any], sees: Callable[[str], bool]) -> dict[str, Any]:
    """An event's details with the other filings the caller may not see left out."""
    shown = dict(details)
    for field in ("candidates", "distinct"):
        if isinstance(shown.get(field), list):
            shown[field] = [entry for entry in shown[field] if sees(entry["product_id"])]
    if isinstance(shown.get("duplicate_of"), str) and not sees(shown["duplicate_of"]):
        shown["duplicate_of"] = None
    return shown


@in_one_hop(
    router.get(
        "/products/{product_id}/dispute-check",
        summary="Dispute check of a filing",
        response_model=DisputeCheckReport,
        responses=_GUARDED_PROBLEMS,
    )
)
def product_dispute_check(
    product_id: ProductId,
    principal: Caller,
    store: ReadModels,
    leaves: Leaves,
    max_distance: Annotated[
        int, Query(ge=0, le=10, description="Largest edit distance between canonical keys")
    ] = DEFAULT_MAX_DISTANCE,
) -> dict[str, Any]:
    """Timeline, other filings declaring the same patents, filings with a near-identical
    canonical key, disputes, and the disputes open at each certification — each statement
    citing the event (leaf index) it rests on. Other filings are listed only where the caller
    may see them."""
    row = _confidential_product(principal, store, product_id)
    try:
        check = dispute_check(store, product_id, leaf_index=leaves, max_distance=max_distance)
    except ProductNotInRegistryError as exc:
        raise ApiProblemError("not_found", str(exc)) from None
    report = check.as_json()
    if principal.role not in PLATFORM:
        report["timeline"] = [
            trail_event_view(principal, event, row["filer_uscc"]) for event in report["timeline"]
        ]
        sees = _other_products(principal, store)
        report["shared_patents"] = [e for e in report["shared_patents"] if sees(e["product_id"])]
        report["similar_filings"] = [e for e in report["similar_filings"] if sees(e["product_id"])]
    return report


def _other_products(principal: Principal, store: ProjectionStore) -> Callable[[str], bool]:
    """product id → may this caller see that filing (each looked up once)."""
    known: dict[str, bool] = {}

    def sees(product_id: str) -> bool:
        if product_id not in known:
            row = queries.product(store, UUID(product_id))
            known[product_id] = row is not None and sees_product(principal, row)
        return known[product_id]

    return sees


# --- filers -----------------------------------------------------------------------------------
def filer_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {**row, "real_name_verified": bool(row["real_name_verified"])}


@in_one_hop(
    router.get(
        "/filers",
        summary="List filers (the filer registry)",
        response_model=FilerPage,
        responses=problem_responses(401, 403, 422, 503),
    )
)
def list_filers(
    principal: FilerReader,
    store: ReadModels,
    status: Annotated[FilerStatus | None, Query(description="Registration status")] = None,
    uscc: UsccFilter = None,
    region: RegionPrefix = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Filers in filer id order, a page at a time. Needs a token: a filer sees only its own
    record, a regional admin its region's (403 for a ``region`` outside it), platform roles
    all; institutions none (403)."""
    wanted_uscc = uscc_scope(principal, uscc_filter("uscc", uscc))
    wanted_region = region_scope(principal, region)
    after = decode_cursor(cursor)
    if wanted_uscc is NOBODY:
        return {"items": [], "next_cursor": None}
    page = queries.filers(
        store,
        status=None if status is None else status.value,
        region=wanted_region,
        uscc=wanted_uscc,
        after=after,
        limit=limit,
    )
    return page_body(page, [filer_view(row) for row in page.rows])


@in_one_hop(
    router.get(
        "/filers/{filer_id}",
        summary="One filer",
        response_model=FilerView,
        responses={**ETAG_RESPONSE, **_GUARDED_PROBLEMS},
    )
)
def get_filer(
    filer_id: Annotated[UUID, Path(description="The filer's id")],
    principal: FilerReader,
    store: ReadModels,
    response: Response,
) -> dict[str, Any]:
    """A filer's record with its product counts; ``ETag`` is its version. 404 if the caller
    may not see it (another filer's, another region's)."""
    row = queries.filer(store, filer_id)
    if row is None or not sees_filer(principal, row):
        raise ApiProblemError("not_found", f"no filer {filer_id} in the registry")
    response.headers.update(etag(row["version"]))
    return filer_view(row)


@in_one_hop(
    router.get(
        "/review/key-groups",
        summary="Filings a newer key rule calls one product",
        response_model=KeyGroupReport,
        responses=problem_responses(401, 403, 422),
    )
)
def key_groups(
    principal: Platform,
    store: ReadModels,
    key_rule: Annotated[int, Query(ge=2, le=2, description="Key rule version")] = 2,
) -> dict[str, Any]:
    """Every key that filings of two or more v1 keys share under ``key_rule``: filings made
    before that rule, legitimate when recorded, that a reviewer decides (docs/never-filed-
    twice.md). From the ``product_keys`` read model; platform roles only (it lists other
    filers' pending filings)."""
    groups = queries.same_key_groups(store, key_rule)
    return {
        "key_rule": key_rule,
        "groups": [
            {
                "canonical_key": group["canonical_key"],
                "filings": [
                    {
                        "product_id": row["product_id"],
                        "filer_uscc": row["filer_uscc"],
                        "name": row["name"],
                        "model": row["model"],
                        "v1_key": row["v1_key"],
                        "status": row["status"],
                        "holds_key": bool(row["holds_key"]),
                    }
                    for row in group["filings"]
                ],
            }
            for group in groups
        ],
    }
