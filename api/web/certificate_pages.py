"""The filing certificate (备案证明) of an approved product: a printable page and a PDF.

What it certifies is in the log: the product's ``FilingNumberAssigned`` event, recorded in the
save of its first approval (filing number rule v1, docs/filing-numbers.md), whose tlog-proof
evidence anyone may download and check with the public keys alone (``ppl audit check-evidence``
or the product page's verification). Its address is printed beside the QR code.

The site's address on a certificate is ``PPL_PUBLIC_URL`` when set — never a Host header a
client chose, which would print another site into the QR code; without the setting (a
development machine) it is the request's own address.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse

from api.deps import Caller, ReadModels
from api.problems import ApiProblemError
from api.routes import ledger as ledger_routes
from api.routes import registry
from api.routes.registry import leaf_lookup_of
from api.web.certificate import (
    ApprovalEvent,
    Certificate,
    certificate_pdf,
    qr_payload,
    qr_svg,
)
from api.web.i18n import category_label, page_language
from api.web.templating import render
from domain.values import SHANGHAI_DISTRICTS
from projections import queries

router = APIRouter(include_in_schema=False)

NUMBER_EVENT = "FilingNumberAssigned"
APPROVAL_EVENT = "FilingApproved"


def _site(request: Request) -> str:
    configured: str | None = request.app.state.settings.public_url
    return configured or str(request.base_url).rstrip("/")


def certificate_of(request: Request, principal: Any, store: Any, product_id: UUID) -> Certificate:
    """The certificate of a product the caller may see; 404 ``not_found`` without a number."""
    product = registry.get_product(product_id, principal, store, Response())
    number = product.get("filing_number")
    trail = queries.audit_trail_of(store, product_id, leaf_lookup_of(request))
    assigned = next((e for e in trail if e["event_type"] == NUMBER_EVENT), None)
    approved = next((e for e in trail if e["event_type"] == APPROVAL_EVENT), None)
    if number is None or assigned is None or approved is None or assigned["leaf_index"] is None:
        raise ApiProblemError(
            "not_found", f"product {product_id} has no filing number in the log yet"
        )
    site = _site(request)
    lang = page_language(request)
    return Certificate(
        filing_number=number,
        product_id=product_id,
        product_name=product["name"],
        model=product.get("model") or "",
        filer_name=product["filer_name"],
        filer_uscc=product["filer_uscc"],
        region_code=product["region_code"],
        region_name=SHANGHAI_DISTRICTS.get(product["region_code"], ""),
        category_label=None
        if product.get("category") is None
        else category_label(lang, product["category"]),
        approved_at=approved["timestamp"],
        approval=ApprovalEvent(product_id, assigned["version"], assigned["leaf_index"]),
        product_url=f"{site}/products/{product_id}",
        evidence_url=f"{site}/v1/log/proofs/inclusion/event/{product_id}/{assigned['version']}",
        log_origin=request.app.state.settings.log_origin,
        key_fingerprints=_fingerprints(request),
        lang=lang,
    )


@router.get("/products/{product_id}/certificate", response_class=HTMLResponse)
def certificate_page(
    request: Request, product_id: UUID, principal: Caller, store: ReadModels
) -> HTMLResponse:
    certificate = certificate_of(request, principal, store, product_id)
    return render(
        request,
        "certificate.html",
        {"cert": certificate, "qr": qr_svg(qr_payload(certificate))},
    )


@router.get("/products/{product_id}/certificate.pdf")
def certificate_download(
    request: Request, product_id: UUID, principal: Caller, store: ReadModels
) -> Response:
    certificate = certificate_of(request, principal, store, product_id)
    name = f"filing-certificate-{certificate.filing_number}.pdf"
    return Response(
        certificate_pdf(certificate),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def _fingerprints(request: Request) -> tuple[str, ...]:
    """The key ids (docs/event-signatures.md "Keys") of every event-signing key ever used."""
    keyring = request.app.state.ledger.keyring
    return tuple(record.key_id for record in keyring.manifest.records)


@router.get("/products/{product_id}/certificate/evidence.tlog-proof")
def certificate_evidence(
    request: Request, product_id: UUID, principal: Caller, store: ReadModels
) -> Response:
    """The certificate's evidence as a file for ``ppl audit check-evidence``: the C2SP
    tlog-proof of the product's FilingNumberAssigned event, which anyone may have."""
    certificate = certificate_of(request, principal, store, product_id)
    document = ledger_routes.event_inclusion_proof(
        request, principal, product_id, certificate.approval.version, None
    )
    name = f"filing-{certificate.filing_number}.tlog-proof"
    return PlainTextResponse(
        document["evidence"],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
