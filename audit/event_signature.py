"""The signed-event envelope: what is stored for each event, and how it is checked.

Stored state of every event (docs/event-signatures.md)::

    envelope = MAGIC (4 bytes, b"PPL\\x01") || key_id (8 bytes) || signature (64 bytes) || state

``state`` is the canonical JSON of the event (audit.canonical). The Ed25519 signature covers::

    message = CONTEXT (b"ppl/event-signature/v1\\x00")
              || originator_id (16 bytes, UUID big-endian)
              || originator_version (8 bytes, unsigned big-endian)
              || key_id (8 bytes)
              || len(topic) (4 bytes, unsigned big-endian) || topic (UTF-8)
              || state

so changing the aggregate, the version, the event type, the key id or any byte of the state
invalidates it. Standard library and ``cryptography`` only: the offline verifier imports this.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit.errors import EventTamperedError, MalformedEventError, UnknownSigningKeyError

MAGIC = b"PPL\x01"
CONTEXT = b"ppl/event-signature/v1\x00"
KEY_ID_SIZE = 8
SIGNATURE_SIZE = 64
HEADER_SIZE = len(MAGIC) + KEY_ID_SIZE + SIGNATURE_SIZE
_MAX_VERSION = 2**64 - 1


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """Key id = first 8 bytes of SHA-256 over the 32 raw public-key bytes, as 16 hex digits."""
    return hashlib.sha256(raw_public_key(public_key)).digest()[:KEY_ID_SIZE].hex()


def signing_message(
    originator_id: UUID, version: int, topic: str, key_id: bytes, state: bytes
) -> bytes:
    """The exact bytes an event signature covers (see the module docstring).

    Raises:
        ValueError: if the version does not fit 64 bits or the key id is not 8 bytes.
    """
    if not 0 <= version <= _MAX_VERSION:
        raise ValueError(f"originator version {version}: want 0..2**64-1")
    if len(key_id) != KEY_ID_SIZE:
        raise ValueError(f"key id of {len(key_id)} bytes: want {KEY_ID_SIZE}")
    topic_bytes = topic.encode("utf-8")
    return b"".join(
        (
            CONTEXT,
            originator_id.bytes,
            version.to_bytes(8, "big"),
            key_id,
            len(topic_bytes).to_bytes(4, "big"),
            topic_bytes,
            state,
        )
    )


@dataclass(frozen=True, slots=True)
class EventSigner:
    """Signs event states with one Ed25519 private key."""

    private_key: Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        return key_id_of(self.private_key.public_key())

    def seal(self, originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
        """Return the envelope (header + state) to store for this event."""
        key_id = bytes.fromhex(self.key_id)
        signature = self.private_key.sign(
            signing_message(originator_id, version, topic, key_id, state)
        )
        return MAGIC + key_id + signature + state


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed (not yet verified) envelope."""

    key_id: str
    signature: bytes
    state: bytes


def parse_envelope(originator_id: UUID, version: int, stored: bytes) -> Envelope:
    """Split stored bytes into key id, signature and state, checking the layout.

    Raises:
        MalformedEventError: naming the event, if the bytes are too short or lack the magic.
    """
    if len(stored) < HEADER_SIZE:
        raise MalformedEventError(
            originator_id, version, f"got {len(stored)} bytes, want at least {HEADER_SIZE}"
        )
    if stored[: len(MAGIC)] != MAGIC:
        raise MalformedEventError(
            originator_id, version, f"got magic {stored[:4]!r}, want {MAGIC!r}"
        )
    key_end = len(MAGIC) + KEY_ID_SIZE
    return Envelope(
        key_id=stored[len(MAGIC) : key_end].hex(),
        signature=stored[key_end:HEADER_SIZE],
        state=stored[HEADER_SIZE:],
    )


def verify_event(
    originator_id: UUID,
    version: int,
    topic: str,
    stored: bytes,
    trusted_keys: Mapping[str, Ed25519PublicKey],
) -> Envelope:
    """Verify a stored event and return its envelope; the state is safe to decode after this.

    Steps: (1) parse the envelope layout; (2) look the key id up among trusted keys;
    (3) verify the Ed25519 signature over the signing message built from the *stored* bytes.

    Raises:
        MalformedEventError: the bytes are not an envelope.
        UnknownSigningKeyError: the key id is not trusted.
        EventTamperedError: the signature does not verify.
    """
    # (1) layout
    envelope = parse_envelope(originator_id, version, stored)
    # (2) trusted key
    try:
        public_key = trusted_keys[envelope.key_id]
    except KeyError:
        raise UnknownSigningKeyError(envelope.key_id, originator_id, version) from None
    # (3) signature over the stored bytes
    message = signing_message(
        originator_id, version, topic, bytes.fromhex(envelope.key_id), envelope.state
    )
    try:
        public_key.verify(envelope.signature, message)
    except InvalidSignature as exc:
        raise EventTamperedError(originator_id, version, envelope.key_id) from exc
    return envelope
