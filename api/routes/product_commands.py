"""Product filing commands over HTTP: file, review, revise, withdraw, disputes.

As in api.routes.filer_commands, each route says who may call it and which one command runs;
``api.writes.execute`` does the rest. Ownership is the domain's to check, after the token's
role: a filer acting on another filer's filing is 403 ``product_not_owned`` and nothing is
stored. Declarations (patents, figures) are parsed inside the command, so a refused value is a
recorded refusal like any other: the retry under the same key gets the same problem back.

Review includes near-duplicate screening (audit.offline.screening): ``GET .../screening`` shows a
reviewer what an approval must decide, and is read from the ledger (not a read model) so that
it answers exactly what the approval will be judged against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Body, Path, Request

from api.access import sees_product
from api.command_bodies import (
    ApproveProduct,
    DisputeRaised,
    FiguresBody,
    FileProduct,
    PatentBody,
    ProductWritten,
    RaiseDispute,
    Reason,
    RejectProduct,
    ResolveDispute,
    ReviseProduct,
)
from api.deps import FilerOnly, FilerOrReviewer, Ledger, Platform, Reviewer
from api.problems import ApiProblemError, problem_document, problem_responses
from api.read_bodies import ScreeningReport
from api.responses import OrjsonResponse
from api.tokens import Principal
from api.writes import FIRST_VERSION, OnRecord, Outcome, etag, execute, expected_version
from domain.actor import Role
from domain.application import PatentLedger
from domain.declarations import EconomicFigures, PatentDeclaration
from domain.errors import ProductNotFoundError

router = APIRouter(prefix="/v1/products", tags=["products"])

DisputeId = Annotated[str, Path(description="The id returned when the dispute was raised.")]

_WITH_BODY = (400, 401, 403, 404, 409, 412, 413, 415, 422, 503)

# The screening problems as a client receives them (OpenAPI examples).
_EXAMPLE_ID = "7d1e0f3b-2a4c-4e6d-9f0a-1b2c3d4e5f60"
_CANDIDATE = "5b0c9d2e-1f3a-4c5d-8e9f-0a1b2c3d4e5f"
_SCREENING_PROBLEMS = (
    problem_document(
        409, "candidates_open", "Conflict",
        f"product {_EXAMPLE_ID} has 1 near-duplicate candidate(s) with no decision: record "
        "each as a distinct product with a reason, or reject the filing as a duplicate",
        f"/v1/products/{_EXAMPLE_ID}/approval",
        details={"candidates": [{"product_id": _CANDIDATE, "reasons": ["same_model"]}]},
    ),
    problem_document(
        422, "not_a_candidate", "Unprocessable Content",
        f"product {_EXAMPLE_ID[:-1]}1 is not a near-duplicate candidate of {_EXAMPLE_ID}",
        f"/v1/products/{_EXAMPLE_ID}/approval",
        details={"product_id": f"{_EXAMPLE_ID[:-1]}1", "candidates": [_CANDIDATE]},
    ),
)  # fmt: skip
_DUPLICATE_OF_INVALID = problem_document(
    422, "duplicate_of_invalid", "Unprocessable Content",
    f"duplicate_of {_EXAMPLE_ID}: want another filing of the ledger",
    f"/v1/products/{_EXAMPLE_ID}/rejection", details={"duplicate_of": _EXAMPLE_ID},
)  # fmt: skip


def _version(request: Request, product_id: UUID) -> int:
    ledger: PatentLedger = request.app.state.ledger
    version: int = ledger.get_product(product_id).version
    return version


def _check_visible(request: Request, principal: Principal, product_id: UUID) -> None:
    """A filer acting on a filing it may not see gets 404, as a reader would (api.access).

    Without this the domain's 403 ``product_not_owned`` would confirm that another filer's
    pending or rejected filing exists under that id.
    """
    if principal.role is not Role.FILER:
        return
    ledger: PatentLedger = request.app.state.ledger
    product = ledger.get_product(product_id)
    row = {"filer_uscc": product.filer_uscc, "status": product.status.value}
    if not sees_product(principal, row):
        raise ProductNotFoundError(f"no product {product_id}", id=str(product_id))


def _written(
    request: Request, product_id: UUID, status: int = 200, *, version: int | None = None
) -> Outcome:
    """The response to a product command: the filing's id and its version after the command.

    Commands on an existing filing return that version; a new filing's is read back.
    """
    if version is None:
        version = _version(request, product_id)
    headers = etag(version)
    if status == 201:
        headers["Location"] = f"/v1/products/{product_id}"
    body = ProductWritten(product_id=product_id, version=version).model_dump(mode="json")
    return status, body, headers


def _on_product(request: Request, product_id: UUID, command: Callable[[], int]) -> OnRecord:
    """``command`` on the filing ``product_id``, answered with its version after the command."""
    return OnRecord(
        product_id, command, lambda version: _written(request, product_id, version=version)
    )


def _patents(patents: Sequence[PatentBody]) -> list[PatentDeclaration]:
    return [PatentDeclaration.parse(p.number, p.relation, p.licence_reference) for p in patents]


def _figures(figures: FiguresBody) -> EconomicFigures:
    return EconomicFigures.of_fen(
        sales=figures.sales_fen,
        exports=figures.exports_fen,
        profit=figures.profit_fen,
        ip_spending=figures.ip_spending_fen,
    )


@router.post(
    "",
    status_code=201,
    response_model=ProductWritten,
    summary="File a product",
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 503),
)
def file_product(
    body: FileProduct, request: Request, ledger: Ledger, principal: FilerOnly
) -> OrjsonResponse:
    """File a product (备案) for review, as the approved filer ``filer_id`` (the token's own).

    The same product — same normalised name and model — is filed once by anyone: a second
    filing is 409 ``duplicate_product`` naming the filing that holds it. ``filing_id`` lets a
    client choose the id; an id already used is 409 ``filing_id_taken``, and one of the kind
    the ledger derives (a name-based UUID, version 3 or 5) or the nil or max UUID is 422
    ``id_not_allowed``.
    """
    # Chosen here, not by the ledger, so the response is known when the filing is saved.
    product_id = body.filing_id or uuid4()

    def command() -> int:
        ledger.file_product(
            principal.actor(),
            filer_id=body.filer_id,
            name=body.name,
            model=body.model,
            variants=body.variants,
            category=body.category,
            finer_code=body.finer_code,
            patents=_patents(body.patents),
            data_year=body.data_year,
            figures=_figures(body.figures),
            proof_digests=body.proof_digests,
            filing_id=product_id,
        )
        return FIRST_VERSION

    def written(version: int) -> Outcome:
        return _written(request, product_id, 201, version=version)

    return execute(request, principal, body, OnRecord(product_id, command, written))


@router.post(
    "/{product_id}/approval",
    status_code=200,
    response_model=ProductWritten,
    summary="Approve a filing",
    responses=problem_responses(*_WITH_BODY, examples=_SCREENING_PROBLEMS),
)
def approve_product(
    product_id: UUID,
    request: Request,
    ledger: Ledger,
    principal: Reviewer,
    body: Annotated[
        ApproveProduct | None, Body(examples=ApproveProduct.model_json_schema()["examples"])
    ] = None,
) -> OrjsonResponse:
    """Approve a filing pending review (备案成功); refused while an ownership dispute is open.

    Each near-duplicate candidate of the filing (``GET /v1/products/{product_id}/screening``)
    needs a "distinct product" decision with a reason, in ``distinct`` or on an earlier
    approval of the filing: else 409 ``candidates_open``, whose ``details.candidates`` lists
    the open ones with their reasons. A decision on a filing that is no candidate is 422
    ``not_a_candidate``; an empty or overlong reason 422 ``text_invalid``. A filing without
    candidates needs no body.
    """
    version = expected_version(request)
    decisions = {} if body is None else {str(d.product_id): d.reason for d in body.distinct}

    def command() -> int:
        return ledger.approve_product(
            principal.actor(), product_id, distinct=decisions, expected_version=version
        )

    # No decisions is one request however it is sent (no body, {}, an empty list): one hash.
    hashed = body if decisions else None
    return execute(request, principal, hashed, _on_product(request, product_id, command))


@router.post(
    "/{product_id}/rejection",
    status_code=200,
    response_model=ProductWritten,
    summary="Reject a filing",
    responses=problem_responses(*_WITH_BODY, examples=[_DUPLICATE_OF_INVALID]),
)
def reject_product(
    product_id: UUID, body: RejectProduct, request: Request, ledger: Ledger, principal: Reviewer
) -> OrjsonResponse:
    """Reject a filing pending review, with the reason the filer will see.

    ``duplicate_of`` records that the filing duplicates another one (typically a candidate
    of its screening); naming the filing itself or no filing of the ledger is 422
    ``duplicate_of_invalid``.
    """
    version = expected_version(request)

    def command() -> int:
        return ledger.reject_product(
            principal.actor(),
            product_id,
            body.reason,
            duplicate_of=body.duplicate_of,
            expected_version=version,
        )

    return execute(request, principal, body, _on_product(request, product_id, command))


@router.get(
    "/{product_id}/screening",
    response_model=ScreeningReport,
    summary="Near-duplicate screening of a filing",
    responses=problem_responses(401, 403, 404, 422, 503),
)
def product_screening(
    product_id: UUID, request: Request, ledger: Ledger, principal: Platform
) -> dict[str, Any]:
    """The filing's near-duplicate candidates under the screening rule in force, each with its
    reasons and the decision recorded on it, and the filing a rejection named it a duplicate
    of. For the platform roles, as ``GET /v1/review/key-groups``: 401 anonymous, 403 others.

    Read from the ledger itself, not a read model: it is exactly what an approval sent now is
    judged against (``open`` = 0 is the condition).
    """
    try:
        screening = ledger.screening_of(product_id)
    except ProductNotFoundError:
        raise ApiProblemError("not_found", f"no product {product_id} in the ledger") from None
    return {
        "product_id": str(screening.product_id),
        "screening_rule": int(screening.screening_rule),
        "candidates": [
            {
                "product_id": str(candidate.product_id),
                "reasons": list(candidate.reasons),
                "decision": "open" if candidate.distinct_reason is None else "distinct",
                "reason": candidate.distinct_reason,
            }
            for candidate in screening.candidates
        ],
        "duplicate_of": None if screening.duplicate_of is None else str(screening.duplicate_of),
        "open": len(screening.open),
    }


@router.post(
    "/{product_id}/revisions",
    status_code=200,
    response_model=ProductWritten,
    summary="Revise a filing to a newer data year",
    responses=problem_responses(*_WITH_BODY),
)
def revise_product(
    product_id: UUID, body: ReviseProduct, request: Request, ledger: Ledger, principal: FilerOnly
) -> OrjsonResponse:
    """The annual update: the filer's figures for a strictly newer data year; back to review.

    Only the filing's own filer may revise it (403 ``product_not_owned`` otherwise).
    """
    version = expected_version(request)

    def command() -> int:
        _check_visible(request, principal, product_id)
        return ledger.revise_product(
            principal.actor(),
            product_id,
            data_year=body.data_year,
            figures=_figures(body.figures),
            patents=_patents(body.patents),
            proof_digests=body.proof_digests,
            category=body.category,
            finer_code=body.finer_code,
            expected_version=version,
        )

    return execute(request, principal, body, _on_product(request, product_id, command))


@router.post(
    "/{product_id}/withdrawal",
    status_code=200,
    response_model=ProductWritten,
    summary="Withdraw a filing",
    responses=problem_responses(*_WITH_BODY),
)
def withdraw_product(
    product_id: UUID, body: Reason, request: Request, ledger: Ledger, principal: FilerOrReviewer
) -> OrjsonResponse:
    """Withdraw a filing: by its filer (product off the market), or by a reviewer (patents
    lapsed). Its name and model may then be filed again by the same filer."""
    version = expected_version(request)

    def command() -> int:
        _check_visible(request, principal, product_id)
        return ledger.withdraw_product(
            principal.actor(), product_id, body.reason, expected_version=version
        )

    return execute(request, principal, body, _on_product(request, product_id, command))


@router.post(
    "/{product_id}/disputes",
    status_code=201,
    response_model=DisputeRaised,
    summary="Raise an ownership dispute",
    responses=problem_responses(*_WITH_BODY),
)
def raise_dispute(
    product_id: UUID,
    body: RaiseDispute,
    request: Request,
    ledger: Ledger,
    principal: FilerOrReviewer,
) -> OrjsonResponse:
    """Record an ownership dispute (权属纠纷) over patents the filing declares, with the
    digests of its evidence.

    A reviewer or any filer (a claimant need not own the filing) may raise one; a filer holds
    at most one open claim on a filing (409 ``dispute_limit_reached``). A reviewer's dispute
    blocks approval and certification at once; a filer's once a reviewer accepts it
    (``/disputes/{dispute_id}/acceptance``). The response carries the id to resolve it with.
    """
    version = expected_version(request)

    def command() -> Outcome:
        _check_visible(request, principal, product_id)
        dispute_id = ledger.raise_dispute(
            principal.actor(),
            product_id,
            patent_numbers=body.patent_numbers,
            claimant=body.claimant,
            description=body.description,
            evidence_digests=body.evidence_digests,
            dispute_id=body.dispute_id,
            expected_version=version,
        )
        new_version = _version(request, product_id)
        raised = DisputeRaised(product_id=product_id, dispute_id=dispute_id, version=new_version)
        return 201, raised.model_dump(mode="json"), etag(new_version)

    return execute(request, principal, body, command)


@router.post(
    "/{product_id}/disputes/{dispute_id}/resolution",
    status_code=200,
    response_model=ProductWritten,
    summary="Resolve an ownership dispute",
    responses=problem_responses(*_WITH_BODY),
)
def resolve_dispute(
    product_id: UUID,
    dispute_id: DisputeId,
    body: ResolveDispute,
    request: Request,
    ledger: Ledger,
    principal: Reviewer,
) -> OrjsonResponse:
    """Close an open dispute with its outcome (claim_dismissed, claim_upheld or settled)."""
    version = expected_version(request)

    def command() -> int:
        return ledger.resolve_dispute(
            principal.actor(),
            product_id,
            dispute_id,
            body.outcome,
            body.note,
            expected_version=version,
        )

    return execute(request, principal, body, _on_product(request, product_id, command))


@router.post(
    "/{product_id}/disputes/{dispute_id}/acceptance",
    status_code=200,
    response_model=ProductWritten,
    summary="Accept an ownership claim for examination",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 503),
)
def accept_dispute(
    product_id: UUID, dispute_id: DisputeId, request: Request, ledger: Ledger, principal: Reviewer
) -> OrjsonResponse:
    """A reviewer accepts a filer's ownership claim for examination: from now on it blocks
    the filing's approval and certification (409 ``dispute_not_pending`` if it is not an
    open claim awaiting acceptance)."""
    version = expected_version(request)

    def command() -> int:
        return ledger.accept_dispute(
            principal.actor(), product_id, dispute_id, expected_version=version
        )

    return execute(request, principal, None, _on_product(request, product_id, command))
