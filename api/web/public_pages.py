"""The public pages: registry search, a product, its certificate, certified lists, statistics.

Why the pages call the API's route functions and queries instead of their own SQL: a page shows
exactly what the API shows the same caller (api.access decides the fields), so the pages cannot
become a way around the access policy. The caller is the app-wide ``caller`` dependency, which
for pages also reads the signed-in session's cookie (api.web.session).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.access import sees_confidential
from api.deps import Caller, ReadModels
from api.problems import ApiProblemError
from api.query_params import Cursor
from api.routes import certification, registry
from api.routes.registry import leaf_lookup_of
from api.tokens import Principal
from api.web.i18n import CATEGORY_CODES
from api.web.money import wan_yuan
from api.web.templating import render
from api.web.verification import configured_keys
from domain.categories import IndustryCategory
from domain.product import ProductStatus
from domain.values import SHANGHAI_DISTRICTS
from projections import queries
from projections.queries import Level
from projections.store import ProjectionStore

router = APIRouter(include_in_schema=False)

PAGE_SIZE: Final = 20
# The events the public trail names; any other event of a filing (a dispute, a rejection of
# an update) is listed by version and leaf index only: its kind is not public.
PUBLIC_EVENTS: Final = frozenset(
    {"ProductFiled", "FilingApproved", "ProductRevised", "FilingNumberAssigned"}
)
SearchText = Annotated[str | None, Query(max_length=100)]


def _districts() -> list[tuple[str, str]]:
    return sorted(SHANGHAI_DISTRICTS.items())


# A search form sends every field, empty ones as "": the page's own parameters accept that.
FormRegion = Annotated[str, Query(pattern=r"^([0-9]{1,6})?$")]
FormChoice = Annotated[str, Query(max_length=20)]


def _choice(kind: type[StrEnum], value: str, name: str) -> Any:
    """The enum member a form field chose; "" is no choice; anything else is a 422."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise ApiProblemError("request_invalid", f"{name}: no such choice {value!r}") from None


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    principal: Caller,
    store: ReadModels,
    q: SearchText = None,
    region: FormRegion = "",
    category: FormChoice = "",
    status: FormChoice = "",
    cursor: Cursor = None,
) -> HTMLResponse:
    """The registry search: the filters of GET /v1/products, one page of results."""
    text = (q or "").strip() or None
    chosen_category = _choice(IndustryCategory, category, "category")
    chosen_status = _choice(ProductStatus, status, "status")
    page = registry.list_products(
        principal, store, status=chosen_status, filer_uscc=None, region=region or None,
        category=chosen_category, data_year=None, limit=PAGE_SIZE, cursor=cursor, q=text,
        patent=None,
    )  # fmt: skip
    return render(
        request,
        "home.html",
        {
            "q": text or "",
            "region": region,
            "category_code": category,
            "status": status,
            "statuses": [s.value for s in ProductStatus],
            "districts": _districts(),
            "categories": CATEGORY_CODES,
            "items": page["items"],
            "next_cursor": page.get("next_cursor"),
        },
    )


def _trail(
    request: Request, principal: Principal, store: ProjectionStore, product: dict[str, Any]
) -> list[dict[str, Any]]:
    """The filing's events with their leaf indices: every detail for those who see the
    figures (the API's trail), the public kinds of event only for everyone else."""
    product_id = UUID(product["product_id"])
    leaves = leaf_lookup_of(request)
    if sees_confidential(principal, product):
        events: list[dict[str, Any]] = registry.product_trail(product_id, principal, store, leaves)[
            "events"
        ]
        return [{**event, "public": True} for event in events]
    shown = []
    for event in queries.audit_trail_of(store, product_id, leaves):
        public = event["event_type"] in PUBLIC_EVENTS
        shown.append({
            "event_type": event["event_type"] if public else None,
            "version": event["version"],
            "timestamp": event["timestamp"] if public else None,
            "leaf_index": event["leaf_index"],
            "originator_id": event["originator_id"],
            "public": public,
        })  # fmt: skip
    return shown


@router.get("/products/{product_id}", response_class=HTMLResponse)
def product_page(
    request: Request, product_id: UUID, principal: Caller, store: ReadModels
) -> HTMLResponse:
    """A filing: its public fields (or all, for who may see them), certification history,
    trail with leaf indices, and the in-browser verification."""
    product = registry.get_product(product_id, principal, store, Response())
    return render(
        request,
        "product.html",
        {
            "product": product,
            "trail": _trail(request, principal, store, product),
            "confidential": sees_confidential(principal, product),
            "verification_url": f"/products/{product_id}/verification.json",
            "configured": configured_keys(request.app.state),
        },
    )


@router.get("/rounds", response_class=HTMLResponse)
def rounds_page(request: Request, principal: Caller, store: ReadModels) -> HTMLResponse:
    rounds = certification.list_rounds(principal, store)["items"]
    return render(request, "rounds.html", {"rounds": rounds})


@router.get("/rounds/{year}", response_class=HTMLResponse)
def round_page(
    request: Request,
    year: certification.Year,
    principal: Caller,
    store: ReadModels,
    cursor: Cursor = None,
) -> HTMLResponse:
    """A round's published certified list (公示) with its objection window."""
    found = certification.get_round(year, principal, store, Response())
    page = certification.certified(
        year, principal, store, category=None, region=None, filer_uscc=None, limit=50,
        cursor=cursor,
    )  # fmt: skip
    return render(
        request,
        "round.html",
        {"round": found, "items": page["items"], "next_cursor": page.get("next_cursor")},
    )


@router.get("/statistics", response_class=HTMLResponse)
def statistics_page(
    request: Request,
    store: ReadModels,
    period: Annotated[str | None, Query(pattern=r"^20[2-9][0-9]-(0[1-9]|1[0-2])$")] = None,
) -> HTMLResponse:
    """District statistics as published (everyone sees the publication here; live figures
    are on the signed-in dashboards), a chart per district and the monthly series."""
    publications = queries.publication_periods(store)
    found = queries.publication(store, period)
    if found is None and period is not None:
        raise ApiProblemError("not_found", f"no statistics were published for {period}")
    rows: list[dict[str, Any]] = []
    data_year = None
    if found is not None:
        data_year, rows = queries.published_region_statistics(
            store, found.period, prefix="31", level=Level.DISTRICT
        )
    series = _monthly_series(store, publications)
    chart = {
        "labels": [row["name"] or row["region_code"] for row in rows],
        "products": [row["products"] for row in rows],
        "sales_wan": [wan_yuan(row["sales_fen"]) for row in rows],
        "series": series,
    }
    return render(
        request,
        "statistics.html",
        {
            "publication": found,
            "publications": [p.period for p in publications],
            "rows": rows,
            "data_year": data_year,
            "chart": chart,
        },
    )


def _monthly_series(
    store: ProjectionStore, publications: list[queries.Publication]
) -> dict[str, Any]:
    """Products and filers per district in each publication (the last twelve)."""
    periods = [p.period for p in publications][-12:]
    per_district: dict[str, list[int]] = {}
    for index, period in enumerate(periods):
        _, rows = queries.published_region_statistics(
            store, period, prefix="31", level=Level.DISTRICT
        )
        for row in rows:
            name = row["name"] or row["region_code"]
            per_district.setdefault(name, [0] * len(periods))[index] = row["products"]
    return {"periods": periods, "districts": per_district}


@router.get("/statistics/{region_code}", response_class=HTMLResponse)
def district_statistics_page(
    request: Request,
    region_code: Annotated[str, Path(pattern=r"^31[0-9]{4}$")],
    store: ReadModels,
) -> HTMLResponse:
    """One district across every publication: its chart and table, as published."""
    name = SHANGHAI_DISTRICTS.get(region_code)
    if name is None:
        raise ApiProblemError("not_found", f"no district {region_code} in the statistics")
    periods = []
    for found in queries.publication_periods(store):
        _, rows = queries.published_region_statistics(
            store, found.period, prefix=region_code, level=Level.DISTRICT
        )
        row = next((r for r in rows if r["region_code"] == region_code), None)
        if row is not None:
            periods.append({"period": found.period, **row})
    chart = {
        "labels": [p["period"] for p in periods],
        "products": [p["products"] for p in periods],
        "sales_wan": [wan_yuan(p["sales_fen"]) for p in periods],
        "series": {"periods": [], "districts": {}},
    }
    return render(
        request,
        "district.html",
        {"region_code": region_code, "name": name, "periods": periods, "chart": chart},
    )
