"""Schema changes go through class_version upcasters applied after the signature check."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from audit.offline.canonical import encode_canonical
from audit.offline.errors import EventTamperedError
from audit.offline.event_signature import EventSigner
from audit.signing.signing_mapper import SigningMapper
from audit.signing.transcoder import CanonicalTranscoder


class PriceRecorded(DomainEvent):
    """Version 2 added ``currency``; version-1 events were stored without it."""

    class_version = 2
    amount_fen: int
    currency: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, object]) -> None:
        state["currency"] = "CNY"


SIGNER = EventSigner(Ed25519PrivateKey.generate())
ORIGINATOR = UUID(int=42)


def _mapper() -> SigningMapper:
    return SigningMapper(
        CanonicalTranscoder(),
        signer=SIGNER,
        trusted_keys=lambda: {SIGNER.key_id: SIGNER.private_key.public_key()},
    )


def _stored_v1() -> StoredEvent:
    """An event written before version 2 existed: its bytes have no currency."""
    topic = get_topic(PriceRecorded)
    state = encode_canonical({"timestamp": datetime(2023, 1, 3, tzinfo=UTC), "amount_fen": 500})
    return StoredEvent(
        originator_id=ORIGINATOR,
        originator_version=1,
        topic=topic,
        state=SIGNER.seal(ORIGINATOR, 1, topic, state),
    )


def test_old_event_is_verified_then_upcast_without_rewriting_its_bytes():
    stored = _stored_v1()
    original = bytes(stored.state)
    event = _mapper().to_domain_event(stored)
    assert isinstance(event, PriceRecorded)
    assert (event.amount_fen, event.currency) == (500, "CNY")
    assert stored.state == original


def test_tampered_old_event_fails_before_any_upcaster_runs():
    stored = _stored_v1()
    forged = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=1,
        topic=stored.topic,
        state=stored.state.replace(b"500", b"900"),
    )
    with pytest.raises(EventTamperedError):
        _mapper().to_domain_event(forged)


def test_new_events_record_their_class_version_inside_the_signed_state():
    # eventsourcing's metaclass makes events dataclasses; mypy does not see it.
    event = PriceRecorded(  # type: ignore[call-arg]
        originator_id=ORIGINATOR,
        originator_version=2,
        timestamp=datetime(2023, 1, 4, tzinfo=UTC),
        amount_fen=700,
        currency="USD",
    )
    stored = _mapper().to_stored_event(event)
    assert b'"class_version":2' in stored.state
    read = _mapper().to_domain_event(stored)
    assert isinstance(read, PriceRecorded)
    assert read.currency == "USD"


# --- the ledger's own events: recorded before annex rule v1, read after it -------------------
_OLD_STATES: dict[str, tuple[str, int, dict[str, object], dict[str, object]]] = {
    # (event class, its version then, the state as then stored, what reads back)
    "FilerRegistered v1": (
        "domain.filer:Filer.FilerRegistered", 1,
        {"uscc": "91310115000000001X", "name": "n", "kind": "enterprise",
         "region_code": "310115", "contact": {"name": "a", "phone": "b", "email": "c"},
         "proof_digests": [], "pledge_digest": "0" * 64, "actor": {}},
        {"annex_rule": 0},
    ),
    "FilerResubmitted v1": (
        "domain.filer:Filer.FilerResubmitted", 1,
        {"proof_digests": [], "pledge_digest": "0" * 64, "actor": {}},
        {"annex_rule": 0, "name": None, "kind": None, "region_code": None, "contact": None},
    ),
    "FilerApproved v1": ("domain.filer:Filer.FilerApproved", 1, {"actor": {}}, {"annex_rule": 0}),
    "ProductFiled v2": (
        "domain.product:Product.ProductFiled", 2,
        {"filer_id": str(ORIGINATOR), "filer_uscc": "x", "name": "n", "model": "m",
         "variants": [], "category": "03", "finer_code": None, "patents": [], "data_year": 2022,
         "figures": {}, "proof_digests": [], "canonical_key": "k", "actor": {},
         "screening_rule": 1, "candidates": []},
        {"annex_rule": 0, "screening_rule": 1},
    ),
    "ProductRevised v1": (
        "domain.product:Product.ProductRevised", 1,
        {"data_year": 2023, "figures": {}, "patents": [], "proof_digests": [], "actor": {}},
        {"annex_rule": 0, "category": None, "finer_code": None},
    ),
    "OwnershipDisputeResolved v1": (
        "domain.product:Product.OwnershipDisputeResolved", 1,
        {"dispute_id": "d", "outcome": "claim_upheld", "note": "n", "actor": {}},
        {"annex_rule": 0, "removed_patents": [], "returned_to_review": False},
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", _OLD_STATES)
def test_events_recorded_before_annex_rule_v1_read_back_under_rule_0(case: str):
    topic, version, fields, want = _OLD_STATES[case]
    state: dict[str, object] = {"timestamp": datetime(2023, 1, 3, tzinfo=UTC), **fields}
    if version > 1:
        state["class_version"] = version
    if topic.endswith(("FilerRegistered", "ProductFiled")):
        state["originator_topic"] = topic.rsplit(".", 1)[0]
    sealed = SIGNER.seal(ORIGINATOR, 1, topic, encode_canonical(state))
    stored = StoredEvent(originator_id=ORIGINATOR, originator_version=1, topic=topic, state=sealed)
    event = _mapper().to_domain_event(stored)
    assert {name: getattr(event, name) for name in want} == want
    assert stored.state == sealed  # read, never rewritten
