"""The signed envelope binds aggregate, version, topic, key id and state."""

from __future__ import annotations

import hashlib
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from audit.errors import EventTamperedError, MalformedEventError, UnknownSigningKeyError
from audit.event_signature import (
    HEADER_SIZE,
    MAGIC,
    EventSigner,
    key_id_of,
    signing_message,
    verify_event,
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
SIGNER = EventSigner(KEY)
TRUSTED = {SIGNER.key_id: KEY.public_key()}
ORIGINATOR = UUID("12345678-1234-5678-1234-567812345678")
TOPIC = "domain.product:Product.ProductFiled"
STATE = b'{"name":"\xe6\x99\xba\xe8\x83\xbd"}'


def test_sealed_event_verifies_and_returns_the_state():
    stored = SIGNER.seal(ORIGINATOR, 3, TOPIC, STATE)
    assert stored[:4] == MAGIC
    assert verify_event(ORIGINATOR, 3, TOPIC, stored, TRUSTED).state == STATE


def test_key_id_is_the_first_8_bytes_of_sha256_of_the_raw_key():
    raw = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert key_id_of(KEY.public_key()) == SIGNER.key_id == hashlib.sha256(raw).hexdigest()[:16]


def test_signing_message_layout_is_fixed():
    message = signing_message(ORIGINATOR, 1, "t", bytes(8), b"{}")
    assert message == (
        b"ppl/event-signature/v1\x00"
        + ORIGINATOR.bytes
        + (1).to_bytes(8, "big")
        + bytes(8)
        + (1).to_bytes(4, "big")
        + b"t"
        + b"{}"
    )


@pytest.mark.parametrize(
    ("originator", "version", "topic"),
    [
        (uuid4(), 3, TOPIC),
        (ORIGINATOR, 4, TOPIC),
        (ORIGINATOR, 3, "domain.product:Product.FilingApproved"),
    ],
)
def test_moving_a_signature_to_another_event_is_detected(originator, version, topic):
    stored = SIGNER.seal(ORIGINATOR, 3, TOPIC, STATE)
    with pytest.raises(EventTamperedError) as caught:
        verify_event(originator, version, topic, stored, TRUSTED)
    assert (caught.value.originator_id, caught.value.version) == (originator, version)


@given(
    st.integers(min_value=HEADER_SIZE, max_value=HEADER_SIZE + len(STATE) - 1), st.integers(1, 255)
)
def test_every_changed_state_or_signature_byte_is_detected(index, mask):
    stored = bytearray(SIGNER.seal(ORIGINATOR, 3, TOPIC, STATE))
    stored[index] ^= mask
    with pytest.raises(EventTamperedError):
        verify_event(ORIGINATOR, 3, TOPIC, bytes(stored), TRUSTED)


@given(st.integers(min_value=12, max_value=HEADER_SIZE - 1), st.integers(1, 255))
def test_every_changed_signature_byte_is_detected(index, mask):
    stored = bytearray(SIGNER.seal(ORIGINATOR, 3, TOPIC, STATE))
    stored[index] ^= mask
    with pytest.raises(EventTamperedError):
        verify_event(ORIGINATOR, 3, TOPIC, bytes(stored), TRUSTED)


def test_unknown_key_is_named():
    other = EventSigner(Ed25519PrivateKey.generate())
    stored = other.seal(ORIGINATOR, 1, TOPIC, STATE)
    with pytest.raises(UnknownSigningKeyError) as caught:
        verify_event(ORIGINATOR, 1, TOPIC, stored, TRUSTED)
    assert caught.value.key_id == other.key_id


@pytest.mark.parametrize("stored", [b"", b"PPL\x01" + bytes(10), b"XXXX" + bytes(HEADER_SIZE)])
def test_malformed_envelopes_are_refused(stored):
    with pytest.raises(MalformedEventError):
        verify_event(ORIGINATOR, 1, TOPIC, stored, TRUSTED)


def test_version_outside_64_bits_is_refused():
    with pytest.raises(ValueError, match="version"):
        signing_message(ORIGINATOR, 2**64, TOPIC, bytes(8), b"")
