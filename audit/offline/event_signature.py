"""The signed-event envelope: what is stored for each event, and how it is checked.

One Ed25519 signature covers a whole ``save()`` (one atomic append of n ≥ 1 events; a large
save in chunks of at most ``SEAL_CHUNK`` events): it signs the RFC 6962 Merkle root of the
events' leaf hashes, and every stored event carries the
signature plus its own inclusion proof, so each event verifies alone from its stored bytes.
A save of one event is simply a signature over that event's leaf hash. Signing once per save
instead of once per event keeps batched appends within a few percent of unsigned ones
(docs/benchmarks.md); the verification cache makes a batch cost one signature check to read.

Leaf of an event (docs/event-signatures.md)::

    leaf_data = b"ppl/event/v1\\x00" || originator_id (16 bytes) || version (8 bytes, big-endian)
                || len(topic) (4 bytes, big-endian) || topic (UTF-8) || state
    leaf_hash = SHA-256(0x00 || leaf_data)                        (RFC 6962 leaf)

Signed message of a save of n events with Merkle root R over their leaf hashes, in order::

    b"ppl/save-signature/v1\\x00" || key_id (8 bytes) || n (4 bytes, big-endian) || R (32 bytes)

Stored state of event i of that save::

    b"PPL\\x01" || key_id (8) || signature (64) || n (4) || i (4) || proof (k x 32) || state

where k is the RFC 9162 inclusion-proof length for (i, n). ``state`` is the canonical JSON of
the event (audit.offline.canonical). Standard library and ``cryptography`` only: the offline
verifier
imports this.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit.offline.errors import (
    EventTamperedError,
    MalformedEventError,
    UnknownSigningKeyError,
    VerificationError,
)
from audit.offline.rfc6962 import (
    HASH_SIZE,
    inclusion_paths,
    inclusion_proof_length,
    leaf_hash,
    root_from_inclusion_proof,
)

MAGIC = b"PPL\x01"
LEAF_CONTEXT = b"ppl/event/v1\x00"
SAVE_CONTEXT = b"ppl/save-signature/v1\x00"
KEY_ID_SIZE = 8
SIGNATURE_SIZE = 64
UUID_SIZE = 16
FIXED_HEADER_SIZE = len(MAGIC) + KEY_ID_SIZE + SIGNATURE_SIZE + 4 + 4
MAX_SAVE_SIZE = 2**32 - 1
# A large save is sealed in chunks of at most this many events, one signature each: every
# stored byte costs insert time (about 0.1 µs per byte on PostgreSQL here), and a chunk of 16
# keeps proofs at 4 hashes while spreading one signature over 16 events (docs/benchmarks.md).
SEAL_CHUNK = 16
_MAX_VERSION = 2**64 - 1


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """Key id = first 8 bytes of SHA-256 over the 32 raw public-key bytes, as 16 hex digits."""
    return hashlib.sha256(raw_public_key(public_key)).digest()[:KEY_ID_SIZE].hex()


def event_identity(originator_id: bytes, version: int, topic: str) -> bytes:
    """originator_id (16) || version (8, big-endian) || len(topic) (4) || topic: the part of
    ``event_frame`` that names the event (computed once when several hashes cover one event).

    Raises:
        ValueError: if the id is not 16 bytes, the version does not fit 64 bits or the topic
            cannot be encoded as UTF-8.
    """
    if len(originator_id) != UUID_SIZE:
        raise ValueError(f"originator id of {len(originator_id)} bytes: want {UUID_SIZE}")
    if not 0 <= version <= _MAX_VERSION:
        raise ValueError(f"originator version {version}: want 0..2**64-1")
    topic_bytes = topic.encode("utf-8")
    return b"".join(
        (
            originator_id,
            version.to_bytes(8, "big"),
            len(topic_bytes).to_bytes(4, "big"),
            topic_bytes,
        )
    )


def event_frame(
    context: bytes, originator_id: UUID, version: int, topic: str, payload: bytes
) -> bytes:
    """context || originator_id (16) || version (8, big-endian) || len(topic) (4) || topic
    || payload: the one framing of an event that every hash in the ledger covers.

    Raises:
        ValueError: if the version does not fit 64 bits.
    """
    return b"".join((context, event_identity(originator_id.bytes, version, topic), payload))


def event_leaf_data(originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    """The bytes whose RFC 6962 leaf hash stands for the event (see the module docstring)."""
    return event_frame(LEAF_CONTEXT, originator_id, version, topic, state)


def event_leaf_hash(originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
    return leaf_hash(event_leaf_data(originator_id, version, topic, state))


def save_signing_message(key_id: bytes, size: int, root: bytes) -> bytes:
    """The exact bytes a save signature covers.

    Raises:
        ValueError: on a key id that is not 8 bytes, a size outside 1..2**32-1, or a root that
            is not 32 bytes.
    """
    if len(key_id) != KEY_ID_SIZE:
        raise ValueError(f"key id of {len(key_id)} bytes: want {KEY_ID_SIZE}")
    if not 1 <= size <= MAX_SAVE_SIZE:
        raise ValueError(f"save of {size} events: want 1..{MAX_SAVE_SIZE}")
    if len(root) != HASH_SIZE:
        raise ValueError(f"root of {len(root)} bytes: want {HASH_SIZE}")
    return SAVE_CONTEXT + key_id + size.to_bytes(4, "big") + root


@dataclass(frozen=True, slots=True)
class UnsignedEvent:
    """An event's identity and canonical state, before sealing."""

    originator_id: UUID
    version: int
    topic: str
    state: bytes


@dataclass(frozen=True, slots=True)
class EventSigner:
    """Signs saves with one Ed25519 private key."""

    private_key: Ed25519PrivateKey
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        # Computed once: deriving it costs a public-key export and a hash (~9 µs) per call.
        object.__setattr__(self, "key_id", key_id_of(self.private_key.public_key()))

    def seal_save(self, events: Sequence[UnsignedEvent]) -> list[bytes]:
        """Return the envelope to store for each event of one atomic save, in order.

        Events are sealed in chunks of at most ``SEAL_CHUNK``; each chunk is one signed tree.
        """
        envelopes: list[bytes] = []
        for start in range(0, len(events), SEAL_CHUNK):
            envelopes += self._seal_chunk(events[start : start + SEAL_CHUNK])
        return envelopes

    def _seal_chunk(self, events: Sequence[UnsignedEvent]) -> list[bytes]:
        size = len(events)
        key_id = bytes.fromhex(self.key_id)
        leaves = [event_leaf_hash(e.originator_id, e.version, e.topic, e.state) for e in events]
        root, proofs = inclusion_paths(leaves)
        signature = self.private_key.sign(save_signing_message(key_id, size, root))
        head = MAGIC + key_id + signature + size.to_bytes(4, "big")
        return [
            b"".join((head, index.to_bytes(4, "big"), *proofs[index], event.state))
            for index, event in enumerate(events)
        ]

    def seal(self, originator_id: UUID, version: int, topic: str, state: bytes) -> bytes:
        """Envelope for an event saved on its own."""
        return self.seal_save([UnsignedEvent(originator_id, version, topic, state)])[0]


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed (not yet verified) envelope."""

    key_id: str
    signature: bytes
    save_size: int
    index: int
    proof: tuple[bytes, ...]
    state: bytes


def parse_envelope(originator_id: UUID, version: int, stored: bytes) -> Envelope:
    """Split stored bytes into their fields, checking the layout.

    Raises:
        MalformedEventError: naming the event, if the bytes are too short, lack the magic, or
            carry an index/size pair that no save can have.
    """
    if len(stored) < FIXED_HEADER_SIZE:
        raise MalformedEventError(
            originator_id, version, f"got {len(stored)} bytes, want at least {FIXED_HEADER_SIZE}"
        )
    if stored[: len(MAGIC)] != MAGIC:
        raise MalformedEventError(
            originator_id, version, f"got magic {stored[:4]!r}, want {MAGIC!r}"
        )
    offset = len(MAGIC)
    key_id = stored[offset : offset + KEY_ID_SIZE].hex()
    offset += KEY_ID_SIZE
    signature = stored[offset : offset + SIGNATURE_SIZE]
    offset += SIGNATURE_SIZE
    size = int.from_bytes(stored[offset : offset + 4], "big")
    index = int.from_bytes(stored[offset + 4 : offset + 8], "big")
    offset += 8
    if not 0 <= index < size:
        raise MalformedEventError(
            originator_id, version, f"index {index} in a save of {size}: want index < size"
        )
    proof_end = offset + HASH_SIZE * inclusion_proof_length(index, size)
    if len(stored) < proof_end:
        raise MalformedEventError(
            originator_id, version, f"got {len(stored)} bytes, want at least {proof_end}"
        )
    proof = tuple(stored[p : p + HASH_SIZE] for p in range(offset, proof_end, HASH_SIZE))
    return Envelope(key_id, signature, size, index, proof, stored[proof_end:])


@lru_cache(maxsize=4096)
def _verify_signature(public_key_raw: bytes, signature: bytes, message: bytes) -> None:
    """Ed25519 check, remembered on success: every event of a save shares one signature.

    A failure raises, and exceptions are never cached. The events of a save are read
    together, so a few thousand saves suffice; 65,536 entries (~400 bytes each) made a
    long-running follower grow by 26 MB before the cache was full (issue #14).
    """
    Ed25519PublicKey.from_public_bytes(public_key_raw).verify(signature, message)


def verify_event(
    originator_id: UUID,
    version: int,
    topic: str,
    stored: bytes,
    trusted_keys: Mapping[str, Ed25519PublicKey],
) -> Envelope:
    """Verify a stored event and return its envelope; the state is safe to decode after this.

    Steps: (1) parse the envelope layout; (2) look the key id up among trusted keys;
    (3) recompute the event's leaf hash from the *stored* bytes and, with its inclusion proof,
    the save's root; (4) verify the Ed25519 signature over the save's signing message.

    Raises:
        MalformedEventError: the bytes are not an envelope.
        UnknownSigningKeyError: the key id is not trusted.
        EventTamperedError: the signature does not verify over what is stored.
    """
    # (1) layout
    envelope = parse_envelope(originator_id, version, stored)
    # (2) trusted key
    try:
        public_key = trusted_keys[envelope.key_id]
    except KeyError:
        raise UnknownSigningKeyError(envelope.key_id, originator_id, version) from None
    # (3) leaf and root from the stored bytes
    try:
        root = root_from_inclusion_proof(
            envelope.index,
            envelope.save_size,
            event_leaf_hash(originator_id, version, topic, envelope.state),
            envelope.proof,
        )
    except VerificationError as exc:
        raise MalformedEventError(originator_id, version, str(exc)) from exc
    # (4) signature over the save
    message = save_signing_message(bytes.fromhex(envelope.key_id), envelope.save_size, root)
    try:
        _verify_signature(raw_public_key(public_key), envelope.signature, message)
    except InvalidSignature as exc:
        raise EventTamperedError(originator_id, version, envelope.key_id) from exc
    return envelope


_LEAF_PREFIX = b"\x00" + LEAF_CONTEXT  # RFC 6962 leaf prefix, then the event's leaf data
# Verified save signatures an EventVerifier remembers: a save's events are adjacent in the log.
_REMEMBERED_SAVES = 4096


class EventVerifier:
    """``verify_event`` for a whole log under one set of trusted keys: the offline verifier's
    hot path.

    The same checks in the same order, raising the same errors, but each public key is parsed
    once, the signature of a save is verified once for all its events (remembered for this
    object's life, over which its keys cannot change), and the event is named by its
    ``event_identity`` bytes, so a caller that hashes other frames of the event (its log leaf)
    encodes it once.
    """

    __slots__ = ("_keys", "_verified")

    def __init__(self, trusted_keys: Mapping[str, Ed25519PublicKey]) -> None:
        self._keys = dict(trusted_keys)
        self._verified: set[tuple[bytes, bytes]] = set()

    def _open(self, identity: bytes, stored: bytes) -> tuple[int, int, int, str]:
        """Steps (1) and (2) of ``verify``: the envelope's layout (the checks of
        ``parse_envelope``, which the slices of the callers rely on) and its key among the
        trusted ones. Returns the save's size, the event's index in it, where its proof ends
        (and its state begins) and the key id.

        Raises:
            MalformedEventError: the bytes are not an envelope.
            UnknownSigningKeyError: the key id is not trusted.
        """
        length = len(stored)
        if length < FIXED_HEADER_SIZE:
            raise _malformed(identity, f"got {length} bytes, want at least {FIXED_HEADER_SIZE}")
        if stored[:4] != MAGIC:
            raise _malformed(identity, f"got magic {stored[:4]!r}, want {MAGIC!r}")
        size = int.from_bytes(stored[76:80], "big")
        index = int.from_bytes(stored[80:FIXED_HEADER_SIZE], "big")
        if not index < size:
            raise _malformed(identity, f"index {index} in a save of {size}: want index < size")
        proof_end = FIXED_HEADER_SIZE  # a save of one event: no proof
        if size > 1:
            proof_end += HASH_SIZE * inclusion_proof_length(index, size)
            if length < proof_end:
                raise _malformed(identity, f"got {length} bytes, want at least {proof_end}")
        key_hex = stored[4:12].hex()
        if key_hex not in self._keys:
            originator_id, version = _name(identity)
            raise UnknownSigningKeyError(key_hex, originator_id, version)
        return size, index, proof_end, key_hex

    def read(self, identity: bytes, stored: bytes) -> tuple[str, bytes]:
        """Steps (1) and (2) of ``verify`` alone: the envelope's layout and its key among the
        trusted ones; the signature is NOT verified.

        Returns the key id the envelope names and its state. For a caller that holds another
        proof that these are the bytes the key signed: the offline verifier's
        checkpoint-trusted mode, where a checkpoint root signed by the log commits to each
        event's log leaf, and the sequencer logged the event only once its signature verified
        (docs/audit-bundle.md). Only under that trust is the state as safe to decode as after
        ``verify``.

        Raises:
            MalformedEventError: the bytes are not an envelope.
            UnknownSigningKeyError: the key id is not trusted.
        """
        _, _, proof_end, key_hex = self._open(identity, stored)
        return key_hex, stored[proof_end:]

    def verify(self, identity: bytes, stored: bytes) -> tuple[str, bytes]:
        """Verify the stored event named by ``identity`` (``event_identity``).

        Returns its key id and its state (safe to decode). Steps as ``verify_event``.

        Raises:
            MalformedEventError: the bytes are not an envelope.
            UnknownSigningKeyError: the key id is not trusted.
            EventTamperedError: the signature does not verify over what is stored.
        """
        size, index, proof_end, key_hex = self._open(identity, stored)  # (1) layout, (2) key
        # (3) leaf and root from the stored bytes (a save of one event: its leaf is the root)
        state = stored[proof_end:]
        root = hashlib.sha256(_LEAF_PREFIX + identity + state).digest()  # event_leaf_hash
        if size > 1:
            proof = [
                stored[p : p + HASH_SIZE] for p in range(FIXED_HEADER_SIZE, proof_end, HASH_SIZE)
            ]
            try:
                root = root_from_inclusion_proof(index, size, root, proof)
            except VerificationError as exc:
                raise _malformed(identity, str(exc)) from exc
        # (4) signature over the save: save_signing_message(key_id, size, root), whose
        # preconditions hold by construction (8-byte key id, 1 <= size < 2**32, 32-byte root)
        message = SAVE_CONTEXT + stored[4:12] + stored[76:80] + root
        signature = stored[12:76]
        remembered = (signature, message)
        if remembered not in self._verified:
            try:
                self._keys[key_hex].verify(signature, message)
            except InvalidSignature as exc:
                originator_id, version = _name(identity)
                raise EventTamperedError(originator_id, version, key_hex) from exc
            if len(self._verified) >= _REMEMBERED_SAVES:
                self._verified.clear()
            self._verified.add(remembered)
        return key_hex, state


def _name(identity: bytes) -> tuple[UUID, int]:
    """The aggregate id and version an ``event_identity`` names, for error messages."""
    return UUID(bytes=identity[:UUID_SIZE]), int.from_bytes(
        identity[UUID_SIZE : UUID_SIZE + 8], "big"
    )


def _malformed(identity: bytes, reason: str) -> MalformedEventError:
    originator_id, version = _name(identity)
    return MalformedEventError(originator_id, version, reason)
