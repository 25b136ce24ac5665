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

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Path, Request

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
from api.command_routes import (
    PROBLEMS_WITH_BODY,
    PROBLEMS_WITHOUT_BODY,
    Call,
    CommandRoute,
    declare,
    on_path_record,
    written,
)
from api.deps import FilerOnly, FilerOrReviewer, Ledger, Platform, Reviewer
from api.problems import ApiProblemError, problem_document, problem_responses
from api.read_bodies import ScreeningReport
from api.writes import FIRST_VERSION, Outcome, etag
from domain.actor import Role
from domain.declarations import EconomicFigures, PatentDeclaration
from domain.errors import ProductNotFoundError

router = APIRouter(prefix="/v1/products", tags=["products"])

DisputeId = Annotated[str, Path(description="The id returned when the dispute was raised.")]

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


def _check_visible(call: Call[Any]) -> None:
    """A filer acting on a filing it may not see gets 404, as a reader would (api.access).

    Without this the domain's 403 ``product_not_owned`` would confirm that another filer's
    pending or rejected filing exists under that id.
    """
    if call.principal.role is not Role.FILER:
        return
    product_id = call.id("product_id")
    product = call.ledger.get_product(product_id)
    row = {"filer_uscc": product.filer_uscc, "status": product.status.value}
    if not sees_product(call.principal, row):
        raise ProductNotFoundError(f"no product {product_id}", id=str(product_id))


# A filing's answer: its id and its version after the command (its ETag), created or changed.
_CREATED = written(ProductWritten, "product_id", 201, "/v1/products/{}")


def _patents(patents: Sequence[PatentBody]) -> list[PatentDeclaration]:
    return [PatentDeclaration.parse(p.number, p.relation, p.licence_reference) for p in patents]


def _figures(figures: FiguresBody) -> EconomicFigures:
    return EconomicFigures.of_fen(
        sales=figures.sales_fen,
        exports=figures.exports_fen,
        profit=figures.profit_fen,
        ip_spending=figures.ip_spending_fen,
    )


# --- the commands -----------------------------------------------------------------------------
def _file(call: Call[FileProduct]) -> int:
    """File a product (备案) for review, as the approved filer ``filer_id`` (the token's own).

    The same product — same normalised name and model — is filed once by anyone: a second
    filing is 409 ``duplicate_product`` naming the filing that holds it. ``filing_id`` lets a
    client choose the id; an id already used is 409 ``filing_id_taken``, and one of the kind
    the ledger derives (a name-based UUID, version 3 or 5) or the nil or max UUID is 422
    ``id_not_allowed``.
    """
    body = call.body
    call.ledger.file_product(
        call.actor,
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
        product_id=call.record,
        receipt=call.receipt,
    )
    return FIRST_VERSION


def _new_product_id(body: FileProduct, _ids: Mapping[str, Any]) -> UUID:
    # Chosen here, not by the ledger, so the response is known when the product is saved.
    return body.filing_id or uuid4()


def _distinct(body: ApproveProduct | None) -> dict[str, str]:
    return {} if body is None else {str(d.product_id): d.reason for d in body.distinct}


def _approve(call: Call[ApproveProduct | None]) -> int:
    """Approve a filing pending review (备案成功); refused while an ownership dispute is open.

    Each near-duplicate candidate of the filing (``GET /v1/products/{product_id}/screening``)
    needs a "distinct product" decision with a reason, in ``distinct`` or on an earlier
    approval of the filing: else 409 ``candidates_open``, whose ``details.candidates`` lists
    the open ones with their reasons. A decision on a filing that is no candidate is 422
    ``not_a_candidate``; an empty or overlong reason 422 ``text_invalid``. A filing without
    candidates needs no body.
    """
    return call.on_record(call.ledger.approve_product, distinct=_distinct(call.body))


def _approval_hashed(body: ApproveProduct | None) -> ApproveProduct | None:
    # No decisions is one request however it is sent (no body, {}, an empty list): one hash.
    return body if _distinct(body) else None


def _reject(call: Call[RejectProduct]) -> int:
    """Reject a filing pending review, with the reason the filer will see.

    ``duplicate_of`` records that the filing duplicates another one (typically a candidate
    of its screening); naming the filing itself or no filing of the ledger is 422
    ``duplicate_of_invalid``.
    """
    body = call.body
    return call.on_record(call.ledger.reject_product, body.reason, duplicate_of=body.duplicate_of)


def _revise(call: Call[ReviseProduct]) -> int:
    """The annual update: the filer's figures for a strictly newer data year; back to review.

    Only the filing's own filer may revise it (403 ``product_not_owned`` otherwise).
    """
    body = call.body
    return call.on_record(
        call.ledger.revise_product,
        data_year=body.data_year,
        figures=_figures(body.figures),
        patents=_patents(body.patents),
        proof_digests=body.proof_digests,
        category=body.category,
        finer_code=body.finer_code,
    )


def _withdraw(call: Call[Reason]) -> int:
    """Withdraw a filing: by its filer (product off the market), or by a reviewer (patents
    lapsed). Its name and model may then be filed again by the same filer."""
    return call.on_record(call.ledger.withdraw_product, call.body.reason)


def _raise_dispute(call: Call[RaiseDispute]) -> Outcome:
    """Record an ownership dispute (权属纠纷) over patents the filing declares, with the
    digests of its evidence.

    A reviewer or any filer (a claimant need not own the filing) may raise one; a filer holds
    at most one open claim on a filing (409 ``dispute_limit_reached``). A reviewer's dispute
    blocks approval and certification at once; a filer's once a reviewer accepts it
    (``/disputes/{dispute_id}/acceptance``). The response carries the id to resolve it with.
    """
    body, product_id = call.body, call.id("product_id")
    dispute_id = call.ledger.raise_dispute(
        call.actor,
        product_id,
        patent_numbers=body.patent_numbers,
        claimant=body.claimant,
        description=body.description,
        evidence_digests=body.evidence_digests,
        dispute_id=body.dispute_id,
        expected_version=call.expected_version,
        receipt=call.receipt,
    )
    version = call.ledger.get_product(product_id).version
    raised = DisputeRaised(product_id=product_id, dispute_id=dispute_id, version=version)
    return 201, raised.model_dump(mode="json"), etag(version)


def _resolve_dispute(call: Call[ResolveDispute]) -> int:
    """Close an open dispute with its outcome (claim_dismissed, claim_upheld or settled)."""
    body = call.body
    return call.on_record(
        call.ledger.resolve_dispute, call.ids["dispute_id"], body.outcome, body.note
    )


def _accept_dispute(call: Call[None]) -> int:
    """A reviewer accepts a filer's ownership claim for examination: from now on it blocks
    the filing's approval and certification (409 ``dispute_not_pending`` if it is not an
    open claim awaiting acceptance)."""
    return call.on_record(call.ledger.accept_dispute, call.ids["dispute_id"])


# --- the routes -------------------------------------------------------------------------------
_on_product = partial(CommandRoute, **on_path_record(ProductWritten, "product_id"))
_on_dispute = partial(
    CommandRoute, **on_path_record(ProductWritten, "product_id", {"dispute_id": DisputeId})
)

ROUTES: tuple[CommandRoute[Any], ...] = (
    CommandRoute(
        name="file_product",
        path="",
        summary="File a product",
        callers=FilerOnly,
        body=FileProduct,
        run=_file,
        answer=_new_product_id,
        respond=_CREATED,
        status=201,
        response_model=ProductWritten,
        problems=(400, 401, 403, 404, 409, 413, 415, 422, 503),
    ),
    _on_product(
        name="approve_product",
        path="/{product_id}/approval",
        summary="Approve a filing",
        callers=Reviewer,
        body=ApproveProduct,
        body_optional=True,
        run=_approve,
        hashed_body=_approval_hashed,
        examples=_SCREENING_PROBLEMS,
    ),
    _on_product(
        name="reject_product",
        path="/{product_id}/rejection",
        summary="Reject a filing",
        callers=Reviewer,
        body=RejectProduct,
        run=_reject,
        examples=[_DUPLICATE_OF_INVALID],
    ),
    _on_product(
        name="revise_product",
        path="/{product_id}/revisions",
        summary="Revise a filing to a newer data year",
        callers=FilerOnly,
        body=ReviseProduct,
        run=_revise,
        filer_sees_record=_check_visible,
    ),
    _on_product(
        name="withdraw_product",
        path="/{product_id}/withdrawal",
        summary="Withdraw a filing",
        callers=FilerOrReviewer,
        body=Reason,
        run=_withdraw,
        filer_sees_record=_check_visible,
    ),
    CommandRoute(
        name="raise_dispute",
        path="/{product_id}/disputes",
        summary="Raise an ownership dispute",
        callers=FilerOrReviewer,
        body=RaiseDispute,
        raw=_raise_dispute,
        filer_sees_record=_check_visible,
        status=201,
        path_params={"product_id": UUID},
        response_model=DisputeRaised,
        problems=PROBLEMS_WITH_BODY,
    ),
    _on_dispute(
        name="resolve_dispute",
        path="/{product_id}/disputes/{dispute_id}/resolution",
        summary="Resolve an ownership dispute",
        callers=Reviewer,
        body=ResolveDispute,
        run=_resolve_dispute,
    ),
    _on_dispute(
        name="accept_dispute",
        path="/{product_id}/disputes/{dispute_id}/acceptance",
        summary="Accept an ownership claim for examination",
        callers=Reviewer,
        run=_accept_dispute,
        problems=PROBLEMS_WITHOUT_BODY,
    ),
)
for _route in ROUTES:
    declare(router, _route)


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
