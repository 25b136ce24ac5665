"""Filer commands over HTTP: register, real-name verification, review and resubmission.

Each route names who may call it (``requires``), turns the body into the domain's inputs and
hands one command to ``api.writes.execute``, which owns Idempotency-Key, the recorded response
and the mapping of domain refusals. The domain still checks what the token's role alone cannot
decide (a filer registers or resubmits only its own USCC → 403 ``actor_not_permitted``), and
every event records the token as its actor (``token:<id>``, role, scope).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter

from api.command_bodies import (
    ContactBody,
    FilerWritten,
    Reason,
    RegisterFiler,
    ResubmitFiler,
    VerifyRealName,
)
from api.command_routes import (
    PROBLEMS_WITHOUT_BODY,
    Call,
    CommandRoute,
    declare,
    on_path_record,
    written,
)
from api.deps import FilerOnly, FilerOrReviewer, Reviewer
from api.writes import FIRST_VERSION, Outcome
from domain.declarations import Contact

router = APIRouter(prefix="/v1/filers", tags=["filers"])


# A registration's answer: the new filer's id and its first version (its ETag).
_CREATED = written(FilerWritten, "filer_id", 201, "/v1/filers/{}")


def _contact(contact: ContactBody | None) -> Contact | None:
    return None if contact is None else Contact.parse(contact.name, contact.phone, contact.email)


# --- the commands -----------------------------------------------------------------------------
def _register(call: Call[RegisterFiler]) -> Outcome:
    """Register a filer (备案主体), pending real-name verification and review.

    A filer token registers its own USCC only; a reviewer may register any. The filer id is
    derived from the USCC, so a second registration of the same code is 409
    ``filer_already_registered`` naming the existing record.
    """
    body, contact = call.body, call.body.contact
    filer_id = call.ledger.register_filer(
        call.actor,
        uscc=body.uscc,
        name=body.name,
        kind=body.kind,
        region_code=body.region_code,
        contact=Contact.parse(contact.name, contact.phone, contact.email),
        proof_digests=body.proof_digests,
        pledge_digest=body.pledge_digest,
        receipt=call.receipt,
    )
    return _CREATED(filer_id, FIRST_VERSION)


def _verify_real_name(call: Call[VerifyRealName]) -> int:
    """Record that the filer passed real-name verification (实名认证), citing its reference.

    Approval needs it first. Done once: a second time is 409 ``filer_already_verified``.
    """
    return call.on_record(call.ledger.verify_filer_real_name, call.body.reference)


def _approve(call: Call[None]) -> int:
    """Approve a verified filer pending review; from then on it may file products."""
    return call.on_record(call.ledger.approve_filer)


def _reject(call: Call[Reason]) -> int:
    """Reject a filer pending review; the reason is signed into the event and shown to it."""
    return call.on_record(call.ledger.reject_filer, call.body.reason)


def _resubmit(call: Call[ResubmitFiler]) -> int:
    """A rejected filer sends new proof materials and goes back to review (its own record only).

    It may correct its name, kind, region and contact on the way (annex rule v1): a kind that
    does not fit the USCC is 422 ``kind_uscc_mismatch``.
    """
    body = call.body
    return call.on_record(
        call.ledger.resubmit_filer,
        body.proof_digests,
        body.pledge_digest,
        name=body.name,
        kind=body.kind,
        region_code=body.region_code,
        contact=_contact(body.contact),
    )


def _confirm_move(call: Call[Reason]) -> int:
    """A reviewer confirms, with the evidence as reason, that a filer pending review moved
    from the region inside its USCC to the one it registered (a USCC never changes when its
    holder moves). Without it, approving such a filer is 409 ``region_uscc_mismatch``; where
    the regions agree it is 409 ``region_move_not_needed``."""
    return call.on_record(call.ledger.confirm_filer_move, call.body.reason)


# --- the routes -------------------------------------------------------------------------------
_on_filer = partial(CommandRoute, **on_path_record(FilerWritten, "filer_id"))

ROUTES: tuple[CommandRoute[Any], ...] = (
    CommandRoute(
        name="register_filer", path="", summary="Register a filer", callers=FilerOrReviewer,
        body=RegisterFiler, raw=_register, status=201, response_model=FilerWritten,
        problems=(400, 401, 403, 409, 413, 415, 422, 503),
    ),
    _on_filer(
        name="verify_filer_real_name", path="/{filer_id}/real-name-verification",
        summary="Record the filer's real-name verification", callers=Reviewer,
        body=VerifyRealName, run=_verify_real_name,
    ),
    _on_filer(
        name="approve_filer", path="/{filer_id}/approval", summary="Approve a filer",
        callers=Reviewer, run=_approve, problems=PROBLEMS_WITHOUT_BODY,
    ),
    _on_filer(
        name="reject_filer", path="/{filer_id}/rejection", summary="Reject a filer",
        callers=Reviewer, body=Reason, run=_reject,
    ),
    _on_filer(
        name="resubmit_filer", path="/{filer_id}/resubmission",
        summary="Resubmit a rejected filer", callers=FilerOnly, body=ResubmitFiler,
        run=_resubmit,
    ),
    _on_filer(
        name="confirm_filer_move", path="/{filer_id}/move-confirmation",
        summary="Confirm a filer's move away from its USCC's region", callers=Reviewer,
        body=Reason, run=_confirm_move,
    ),
)  # fmt: skip
for _route in ROUTES:
    declare(router, _route)
