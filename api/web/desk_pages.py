"""The signed-in desks: a reviewer's queue and decision page, a regional administrator's
dashboard, an auditor's page.

Reads call the API's route functions as the signed-in caller (as api.web.public_pages does);
writes go through the API's own routes inside the process (api.web.internal), so a decision
made on a page passes the same role, Idempotency-Key and If-Match checks as one sent to the API.
Each form carries the Idempotency-Key it will be sent with (made when the page was shown, so a
form submitted twice records once) and the version the reviewer saw (If-Match).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from api.access import requires
from api.deps import Auditor, Platform, ReadModels
from api.problems import ApiProblemError
from api.query_params import Cursor
from api.routes import ledger as ledger_routes
from api.routes import product_commands, registry
from api.tokens import Principal
from api.web.forms import form_fields, one
from api.web.internal import call_api
from api.web.session import check_csrf
from api.web.templating import render
from domain.actor import Role
from domain.product import ProductStatus
from projections import queries
from projections.queries import Level

router = APIRouter(prefix="/desk", include_in_schema=False)

RegionalAdmin = Annotated[Principal, Depends(requires(Role.REGIONAL_ADMIN))]
QUEUE_PAGE: Final = 25


@router.get("/review", response_class=HTMLResponse)
def review_queue(
    request: Request, principal: Platform, store: ReadModels, cursor: Cursor = None
) -> HTMLResponse:
    page = registry.list_products(
        principal, store, status=ProductStatus.PENDING_REVIEW, filer_uscc=None, region=None,
        category=None, data_year=None, limit=QUEUE_PAGE, cursor=cursor, q=None, patent=None,
    )  # fmt: skip
    return render(
        request,
        "review_queue.html",
        {"items": page["items"], "next_cursor": page.get("next_cursor")},
    )


def _review_context(
    request: Request, principal: Principal, store: Any, product_id: UUID
) -> dict[str, Any]:
    """The filing, and each near-duplicate candidate beside it with its reasons."""
    product = registry.get_product(product_id, principal, store, Response())
    screening = product_commands.product_screening(
        product_id, request, request.app.state.ledger, principal
    )
    candidates = []
    for candidate in screening["candidates"]:
        try:
            shown = registry.get_product(
                UUID(candidate["product_id"]), principal, store, Response()
            )
        except ApiProblemError:  # not in the read models yet
            shown = {"product_id": candidate["product_id"]}
        candidates.append({**candidate, "product": shown})
    return {
        "product": product,
        "screening": screening,
        "candidates": candidates,
        "idempotency_key": str(uuid.uuid4()),
        "problem": None,
        "decided": request.query_params.get("decided"),
        "may_decide": principal.role is Role.REVIEWER,
    }


@router.get("/review/{product_id}", response_class=HTMLResponse)
def review_filing(
    request: Request, product_id: UUID, principal: Platform, store: ReadModels
) -> HTMLResponse:
    return render(
        request, "review_filing.html", _review_context(request, principal, store, product_id)
    )


async def _decide(request: Request, product_id: UUID, action: str) -> Response:
    """Send the decision form to ``POST /v1/products/{id}/{action}``; on a refusal the page is
    shown again with the API's problem (and nothing was recorded)."""
    fields = await form_fields(request)
    session = check_csrf(request, one(fields, "csrf_token"))
    key = one(fields, "idempotency_key") or ""
    version = one(fields, "version") or ""
    body: dict[str, Any]
    if action == "approval":
        prefix = "reason:"
        body = {
            "distinct": [
                {"product_id": name[len(prefix):], "reason": values[0]}
                for name, values in fields.items()
                if name.startswith(prefix) and values and values[0].strip()
            ]
        }  # fmt: skip
    else:
        duplicate_of = one(fields, "duplicate_of") or None
        body = {"reason": one(fields, "reason") or "", "duplicate_of": duplicate_of}
    answer = await call_api(
        request, "POST", f"/v1/products/{product_id}/{action}", token=session, body=body,
        headers={"Idempotency-Key": key, "If-Match": f'"{version}"'},
    )  # fmt: skip
    if answer.status < 300:
        return RedirectResponse(f"/desk/review/{product_id}?decided={action}", status_code=303)
    principal: Principal = request.state.principal
    context = await run_in_threadpool(
        _review_context, request, principal, request.app.state.projections, product_id
    )
    context["problem"] = answer.body
    return render(request, "review_filing.html", context, status=answer.status)


@router.post("/review/{product_id}/approval")
async def approve(request: Request, product_id: UUID, _: Platform) -> Response:
    return await _decide(request, product_id, "approval")


@router.post("/review/{product_id}/rejection")
async def reject(request: Request, product_id: UUID, _: Platform) -> Response:
    return await _decide(request, product_id, "rejection")


@router.get("/region", response_class=HTMLResponse)
def region_dashboard(
    request: Request, principal: RegionalAdmin, store: ReadModels, cursor: Cursor = None
) -> HTMLResponse:
    """The administrator's district: its live figures (unsuppressed, as the API gives a
    regional admin within its region) and its filings, whatever their status."""
    scope = principal.scope or ""
    statistics = queries.region_statistics(store, prefix=scope, level=Level.DISTRICT)
    page = registry.list_products(
        principal, store, status=None, filer_uscc=None, region=scope, category=None,
        data_year=None, limit=QUEUE_PAGE, cursor=cursor, q=None, patent=None,
    )  # fmt: skip
    return render(
        request,
        "region.html",
        {
            "scope": scope,
            "statistics": [row.as_row() for row in statistics],
            "items": page["items"],
            "next_cursor": page.get("next_cursor"),
        },
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, principal: Platform) -> HTMLResponse:
    page = ledger_routes.checkpoints(request, after=0, limit=100)
    return render(
        request,
        "audit.html",
        {
            "checkpoints": list(reversed(page.checkpoints))[:20],
            "may_download": principal.role is Role.AUDITOR,
            "witnesses": [],
        },
    )


@router.get("/audit/bundle")
def audit_bundle(request: Request, principal: Auditor) -> FileResponse:
    """The audit bundle, as ``GET /v1/audit/bundle`` gives an auditor."""
    return ledger_routes.audit_bundle(request, principal)
