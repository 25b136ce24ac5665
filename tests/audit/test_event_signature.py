"""The signed envelope binds aggregate, version, topic, key id and state, one signature per save."""

from __future__ import annotations

import hashlib
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from audit.offline.errors import (
    EventTamperedError,
    MalformedEventError,
    UnknownSigningKeyError,
    VerificationError,
)
from audit.offline.event_signature import (
    FIXED_HEADER_SIZE,
    MAGIC,
    EventSigner,
    UnsignedEvent,
    event_leaf_data,
    key_id_of,
    parse_envelope,
    save_signing_message,
    verify_event,
)
from audit.offline.rfc6962 import leaf_hash, tree_root

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
SIGNER = EventSigner(KEY)
TRUSTED = {SIGNER.key_id: KEY.public_key()}
ORIGINATOR = UUID("12345678-1234-5678-1234-567812345678")
TOPIC = "domain.product:Product.ProductFiled"
STATE = b'{"name":"\xe6\x99\xba\xe8\x83\xbd"}'
RESERVED = "domain.reservation:ProductKeyReservation.ProductKeyReserved"
SAVE = [
    UnsignedEvent(ORIGINATOR, 1, TOPIC, STATE),
    UnsignedEvent(UUID(int=7), 1, RESERVED, b"{}"),
    UnsignedEvent(UUID(int=8), 3, "domain.filer:Filer.FilerApproved", b'{"a":1}'),
]


def test_sealed_event_verifies_and_returns_the_state():
    stored = SIGNER.seal(ORIGINATOR, 3, TOPIC, STATE)
    assert stored[:4] == MAGIC
    assert verify_event(ORIGINATOR, 3, TOPIC, stored, TRUSTED).state == STATE


def test_every_event_of_a_save_verifies_alone_under_one_signature():
    envelopes = SIGNER.seal_save(SAVE)
    parsed = [
        parse_envelope(e.originator_id, e.version, s) for e, s in zip(SAVE, envelopes, strict=True)
    ]
    assert len({p.signature for p in parsed}) == 1
    assert [(p.index, p.save_size) for p in parsed] == [(0, 3), (1, 3), (2, 3)]
    for event, stored in zip(SAVE, envelopes, strict=True):
        assert (
            verify_event(event.originator_id, event.version, event.topic, stored, TRUSTED).state
            == event.state
        )


def test_the_signature_covers_the_merkle_root_of_the_saves_leaves():
    envelopes = SIGNER.seal_save(SAVE)
    root = tree_root(
        [leaf_hash(event_leaf_data(e.originator_id, e.version, e.topic, e.state)) for e in SAVE]
    )
    signature = parse_envelope(ORIGINATOR, 1, envelopes[0]).signature
    KEY.public_key().verify(signature, save_signing_message(bytes.fromhex(SIGNER.key_id), 3, root))


def test_key_id_is_the_first_8_bytes_of_sha256_of_the_raw_key():
    raw = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert key_id_of(KEY.public_key()) == SIGNER.key_id == hashlib.sha256(raw).hexdigest()[:16]


def test_leaf_and_message_layouts_are_fixed():
    assert event_leaf_data(ORIGINATOR, 1, "t", b"{}") == (
        b"ppl/event/v1\x00"
        + ORIGINATOR.bytes
        + (1).to_bytes(8, "big")
        + (1).to_bytes(4, "big")
        + b"t{}"
    )
    assert save_signing_message(bytes(8), 2, bytes(32)) == (
        b"ppl/save-signature/v1\x00" + bytes(8) + (2).to_bytes(4, "big") + bytes(32)
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


@given(st.data())
def test_every_changed_byte_of_any_event_in_a_save_is_detected(data):
    position = data.draw(st.integers(0, len(SAVE) - 1))
    event = SAVE[position]
    stored = bytearray(SIGNER.seal_save(SAVE)[position])
    index = data.draw(st.integers(0, len(stored) - 1))
    stored[index] ^= data.draw(st.integers(1, 255))
    with pytest.raises(VerificationError) as caught:
        verify_event(event.originator_id, event.version, event.topic, bytes(stored), TRUSTED)
    error = caught.value
    assert isinstance(error, EventTamperedError | UnknownSigningKeyError | MalformedEventError)
    assert (error.originator_id, error.version) == (event.originator_id, event.version)


def test_unknown_key_is_named():
    other = EventSigner(Ed25519PrivateKey.generate())
    stored = other.seal(ORIGINATOR, 1, TOPIC, STATE)
    with pytest.raises(UnknownSigningKeyError) as caught:
        verify_event(ORIGINATOR, 1, TOPIC, stored, TRUSTED)
    assert caught.value.key_id == other.key_id


def _with_index_and_size(index: int, size: int) -> bytes:
    stored = SIGNER.seal(ORIGINATOR, 1, TOPIC, STATE)
    offset = FIXED_HEADER_SIZE - 8
    return (
        stored[:offset]
        + size.to_bytes(4, "big")
        + index.to_bytes(4, "big")
        + stored[FIXED_HEADER_SIZE:]
    )


@pytest.mark.parametrize(
    "stored",
    [
        b"",
        MAGIC + bytes(10),
        b"XXXX" + bytes(FIXED_HEADER_SIZE),
        _with_index_and_size(0, 0),
        _with_index_and_size(5, 5),
        _with_index_and_size(0, 2**31),  # claims a proof of 31 hashes the bytes do not hold
    ],
)
def test_malformed_envelopes_are_refused(stored):
    with pytest.raises(MalformedEventError):
        verify_event(ORIGINATOR, 1, TOPIC, stored, TRUSTED)


def test_version_outside_64_bits_is_refused():
    with pytest.raises(ValueError, match="version"):
        event_leaf_data(ORIGINATOR, 2**64, TOPIC, b"")


def test_a_large_save_is_sealed_in_chunks_that_each_verify():
    events = [UnsignedEvent(UUID(int=i), 1, TOPIC, b'{"i":%d}' % i) for i in range(40)]
    envelopes = SIGNER.seal_save(events)
    parsed = [parse_envelope(e.originator_id, 1, s) for e, s in zip(events, envelopes, strict=True)]
    assert len({p.signature for p in parsed}) == 3
    assert [p.save_size for p in parsed] == [16] * 32 + [8] * 8
    assert max(len(p.proof) for p in parsed) == 4
    for event, stored in zip(events, envelopes, strict=True):
        verify_event(event.originator_id, 1, TOPIC, stored, TRUSTED)
