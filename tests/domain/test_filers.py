"""Filer registration, real-name verification and review, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from domain.actor import Actor, Role
from domain.declarations import Contact
from domain.errors import (
    ActorNotPermittedError,
    FilerAlreadyRegisteredError,
    FilerAlreadyVerifiedError,
    FilerNotApprovedError,
    FilerNotFoundError,
    FilerNotPendingReviewError,
    FilerNotVerifiedError,
    ReasonRequiredError,
    RegionCodeInvalidError,
    UsccInvalidError,
    UsccNotLegalPersonError,
)
from domain.filer import FilerStatus
from tests.domain.factories import (
    REVIEWER,
    VERIFIER,
    approved_filer,
    digest,
    file,
    filer_actor,
    register,
    uscc,
)


def _events(ledger, aggregate_id):
    return list(ledger.events.get(aggregate_id))


def test_registered_filer_is_pending_review_and_records_the_actor(ledger):
    code = uscc(1)
    filer_id = register(ledger, code)
    filer = ledger.get_filer(filer_id)
    assert filer.status is FilerStatus.PENDING_REVIEW
    assert filer.uscc == code
    (registered,) = _events(ledger, filer_id)
    assert type(registered).__name__ == "FilerRegistered"
    assert registered.actor == {"id": f"user-{code}", "role": "filer", "scope": code}


def test_approval_after_real_name_verification_lets_the_filer_file(ledger):
    code = uscc(2)
    filer_id = approved_filer(ledger, code)
    assert ledger.get_filer(filer_id).status is FilerStatus.APPROVED
    assert [type(e).__name__ for e in _events(ledger, filer_id)] == [
        "FilerRegistered",
        "FilerRealNameVerified",
        "FilerApproved",
    ]


def test_second_registration_of_same_uscc_is_rejected(ledger):
    code = uscc(3)
    register(ledger, code)
    with pytest.raises(FilerAlreadyRegisteredError) as caught:
        register(ledger, code)
    assert caught.value.code == "filer_already_registered"


def test_unverified_filer_cannot_be_approved(ledger):
    filer_id = register(ledger, uscc(4))
    with pytest.raises(FilerNotVerifiedError):
        ledger.approve_filer(REVIEWER, filer_id)
    assert ledger.get_filer(filer_id).status is FilerStatus.PENDING_REVIEW


def test_real_name_verification_happens_once(ledger):
    filer_id = register(ledger, uscc(5))
    ledger.verify_filer_real_name(VERIFIER, filer_id, "RN-1")
    with pytest.raises(FilerAlreadyVerifiedError):
        ledger.verify_filer_real_name(VERIFIER, filer_id, "RN-2")


def test_rejected_filer_cannot_file_and_may_resubmit(ledger):
    code = uscc(6)
    filer_id = register(ledger, code)
    ledger.verify_filer_real_name(VERIFIER, filer_id, "RN-1")
    ledger.reject_filer(REVIEWER, filer_id, "营业执照不清晰")
    filer = ledger.get_filer(filer_id)
    assert filer.status is FilerStatus.REJECTED
    assert filer.rejection_reason == "营业执照不清晰"
    with pytest.raises(FilerNotApprovedError) as caught:
        file(ledger, code, filer_id)
    assert caught.value.code == "filer_not_approved"
    ledger.resubmit_filer(filer_actor(code), filer_id, [digest("new licence")], digest("pledge"))
    ledger.approve_filer(REVIEWER, filer_id)
    assert ledger.get_filer(filer_id).status is FilerStatus.APPROVED


def test_pending_filer_cannot_file(ledger):
    code = uscc(7)
    filer_id = register(ledger, code)
    with pytest.raises(FilerNotApprovedError):
        file(ledger, code, filer_id)


def test_review_decision_is_taken_once(ledger):
    filer_id = approved_filer(ledger, uscc(8))
    with pytest.raises(FilerNotPendingReviewError):
        ledger.reject_filer(REVIEWER, filer_id, "late")
    with pytest.raises(FilerNotPendingReviewError):
        ledger.approve_filer(REVIEWER, filer_id)


def test_rejection_needs_a_reason(ledger):
    filer_id = register(ledger, uscc(9))
    with pytest.raises(ReasonRequiredError):
        ledger.reject_filer(REVIEWER, filer_id, "  ")


def test_only_reviewers_review_filers(ledger):
    code = uscc(10)
    filer_id = register(ledger, code)
    ledger.verify_filer_real_name(VERIFIER, filer_id, "RN-1")
    with pytest.raises(ActorNotPermittedError) as caught:
        ledger.approve_filer(filer_actor(code), filer_id)
    assert caught.value.code == "actor_not_permitted"
    auditor = Actor(id="aud", role=Role.AUDITOR)
    with pytest.raises(ActorNotPermittedError):
        ledger.reject_filer(auditor, filer_id, "no")


def test_filer_cannot_register_another_uscc(ledger):
    with pytest.raises(ActorNotPermittedError):
        ledger.register_filer(
            filer_actor(uscc(11)),
            uscc=uscc(12),
            name="别人的公司",
            kind="enterprise",
            region_code="310115",
            contact=Contact.parse("李四", "021-1", "l@example.cn"),
            proof_digests=[],
            pledge_digest=digest("p"),
        )


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("uscc", "91310115688774070C", UsccInvalidError),
        ("uscc", "92310115688774070B", UsccInvalidError),
        ("region_code", "319999", RegionCodeInvalidError),
    ],
)
def test_invalid_registration_input_is_rejected_and_stores_nothing(ledger, field, value, error):
    arguments = {
        "uscc": uscc(13),
        "name": "上海某公司",
        "kind": "enterprise",
        "region_code": "310115",
        "contact": Contact.parse("王五", "021-2", "w@example.cn"),
        "proof_digests": [],
        "pledge_digest": digest("p"),
    }
    arguments[field] = value
    actor = Actor(id="platform", role=Role.REVIEWER)
    before = ledger.recorder.max_notification_id()
    with pytest.raises(error):
        ledger.register_filer(actor, **arguments)
    assert ledger.recorder.max_notification_id() == before


def test_individual_business_is_not_a_legal_person(ledger):
    body = "92310115688774070"
    from domain.values import uscc_check_char

    code = body + uscc_check_char(body)
    with pytest.raises(UsccNotLegalPersonError):
        register(ledger, code)


def test_unknown_filer_is_a_typed_error(ledger):
    from uuid import uuid4

    with pytest.raises(FilerNotFoundError):
        ledger.approve_filer(REVIEWER, uuid4())
