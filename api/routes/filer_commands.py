"""Filer commands over HTTP: register, real-name verification, review and resubmission.

Each route names who may call it (``requires``), turns the body into the domain's inputs and
hands one command to ``api.writes.execute``, which owns Idempotency-Key, the recorded response
and the mapping of domain refusals. The domain still checks what the token's role alone cannot
decide (a filer registers or resubmits only its own USCC → 403 ``actor_not_permitted``), and
every event records the token as its actor (``token:<id>``, role, scope).
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from fastapi import APIRouter, Request

from api.command_bodies import FilerWritten, Reason, RegisterFiler, ResubmitFiler, VerifyRealName
from api.deps import FilerOnly, FilerOrReviewer, Ledger, Reviewer
from api.problems import problem_responses
from api.responses import OrjsonResponse
from api.writes import FIRST_VERSION, OnRecord, Outcome, etag, execute, expected_version
from domain.application import PatentLedger
from domain.declarations import Contact

router = APIRouter(prefix="/v1/filers", tags=["filers"])


_WITH_BODY = (400, 401, 403, 404, 409, 412, 413, 415, 422, 503)
_WITHOUT_BODY = (401, 403, 404, 409, 412, 422, 503)


def _written(
    request: Request, filer_id: UUID, status: int = 200, *, version: int | None = None
) -> Outcome:
    """The response to a filer command: the record's id and its version after the command.

    Commands on an existing record return that version; a new record's is read back.
    """
    if version is None:
        ledger: PatentLedger = request.app.state.ledger
        version = ledger.get_filer(filer_id).version
    headers = etag(version)
    if status == 201:
        headers["Location"] = f"/v1/filers/{filer_id}"
    return status, FilerWritten(filer_id=filer_id, version=version).model_dump(mode="json"), headers


def _on_filer(request: Request, filer_id: UUID, command: Callable[[], int]) -> OnRecord:
    """``command`` on the filer ``filer_id``, answered with its version after the command."""
    return OnRecord(filer_id, command, lambda version: _written(request, filer_id, version=version))


@router.post(
    "",
    status_code=201,
    response_model=FilerWritten,
    summary="Register a filer",
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 503),
)
def register_filer(
    body: RegisterFiler, request: Request, ledger: Ledger, principal: FilerOrReviewer
) -> OrjsonResponse:
    """Register a filer (备案主体), pending real-name verification and review.

    A filer token registers its own USCC only; a reviewer may register any. The filer id is
    derived from the USCC, so a second registration of the same code is 409
    ``filer_already_registered`` naming the existing record.
    """

    def command() -> Outcome:
        contact = body.contact
        filer_id = ledger.register_filer(
            principal.actor(),
            uscc=body.uscc,
            name=body.name,
            kind=body.kind,
            region_code=body.region_code,
            contact=Contact.parse(contact.name, contact.phone, contact.email),
            proof_digests=body.proof_digests,
            pledge_digest=body.pledge_digest,
        )
        return _written(request, filer_id, 201, version=FIRST_VERSION)

    return execute(request, principal, body, command)


@router.post(
    "/{filer_id}/real-name-verification",
    status_code=200,
    response_model=FilerWritten,
    summary="Record the filer's real-name verification",
    responses=problem_responses(*_WITH_BODY),
)
def verify_filer_real_name(
    filer_id: UUID, body: VerifyRealName, request: Request, ledger: Ledger, principal: Reviewer
) -> OrjsonResponse:
    """Record that the filer passed real-name verification (实名认证), citing its reference.

    Approval needs it first. Done once: a second time is 409 ``filer_already_verified``.
    """
    version = expected_version(request)

    def command() -> int:
        return ledger.verify_filer_real_name(
            principal.actor(), filer_id, body.reference, expected_version=version
        )

    return execute(request, principal, body, _on_filer(request, filer_id, command))


@router.post(
    "/{filer_id}/approval",
    status_code=200,
    response_model=FilerWritten,
    summary="Approve a filer",
    responses=problem_responses(*_WITHOUT_BODY),
)
def approve_filer(
    filer_id: UUID, request: Request, ledger: Ledger, principal: Reviewer
) -> OrjsonResponse:
    """Approve a verified filer pending review; from then on it may file products."""
    version = expected_version(request)

    def command() -> int:
        return ledger.approve_filer(principal.actor(), filer_id, expected_version=version)

    return execute(request, principal, None, _on_filer(request, filer_id, command))


@router.post(
    "/{filer_id}/rejection",
    status_code=200,
    response_model=FilerWritten,
    summary="Reject a filer",
    responses=problem_responses(*_WITH_BODY),
)
def reject_filer(
    filer_id: UUID, body: Reason, request: Request, ledger: Ledger, principal: Reviewer
) -> OrjsonResponse:
    """Reject a filer pending review; the reason is signed into the event and shown to it."""
    version = expected_version(request)

    def command() -> int:
        return ledger.reject_filer(
            principal.actor(), filer_id, body.reason, expected_version=version
        )

    return execute(request, principal, body, _on_filer(request, filer_id, command))


@router.post(
    "/{filer_id}/resubmission",
    status_code=200,
    response_model=FilerWritten,
    summary="Resubmit a rejected filer",
    responses=problem_responses(*_WITH_BODY),
)
def resubmit_filer(
    filer_id: UUID, body: ResubmitFiler, request: Request, ledger: Ledger, principal: FilerOnly
) -> OrjsonResponse:
    """A rejected filer sends new proof materials and goes back to review (its own record only).

    It may correct its name, kind, region and contact on the way (annex rule v1): a kind that
    does not fit the USCC is 422 ``kind_uscc_mismatch``.
    """
    version = expected_version(request)
    contact = body.contact

    def command() -> int:
        return ledger.resubmit_filer(
            principal.actor(),
            filer_id,
            body.proof_digests,
            body.pledge_digest,
            name=body.name,
            kind=body.kind,
            region_code=body.region_code,
            contact=None
            if contact is None
            else Contact.parse(contact.name, contact.phone, contact.email),
            expected_version=version,
        )

    return execute(request, principal, body, _on_filer(request, filer_id, command))


@router.post(
    "/{filer_id}/move-confirmation",
    status_code=200,
    response_model=FilerWritten,
    summary="Confirm a filer's move away from its USCC's region",
    responses=problem_responses(*_WITH_BODY),
)
def confirm_filer_move(
    filer_id: UUID, body: Reason, request: Request, ledger: Ledger, principal: Reviewer
) -> OrjsonResponse:
    """A reviewer confirms, with the evidence as reason, that a filer pending review moved
    from the region inside its USCC to the one it registered (a USCC never changes when its
    holder moves). Without it, approving such a filer is 409 ``region_uscc_mismatch``; where
    the regions agree it is 409 ``region_move_not_needed``."""
    version = expected_version(request)

    def command() -> int:
        return ledger.confirm_filer_move(
            principal.actor(), filer_id, body.reason, expected_version=version
        )

    return execute(request, principal, body, _on_filer(request, filer_id, command))
