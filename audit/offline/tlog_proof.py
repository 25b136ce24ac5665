"""Single-event evidence as a C2SP tlog-proof (c2sp.org/tlog-proof), verifiable offline.

    c2sp.org/tlog-proof@v1
    extra <base64 of the log leaf data: the signed event itself (audit.offline.log_leaf)>
    index <leaf index>
    <inclusion proof hashes, base64, one per line, leaf's sibling first>

    <the log's signed checkpoint, verbatim>

The ``extra`` line is what the spec reserves for "data necessary to reconstruct the record
hash": here, the signed stored event. Verifying the evidence (``verify_event_evidence``) checks
the checkpoint's signature, the inclusion of SHA-256(0x00 ‖ extra) at ``index``, and the event's
own Ed25519 signature, so it proves "this signed event is entry N of the log that this key
signed". Standard library and ``cryptography`` only.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.offline.canonical import decode_canonical
from audit.offline.checkpoint import Checkpoint, verify_checkpoint
from audit.offline.cosignature import WitnessPolicy
from audit.offline.errors import MalformedProofError
from audit.offline.event_signature import verify_event
from audit.offline.log_leaf import parse_log_leaf_data
from audit.offline.note import NoteVerifier
from audit.offline.rfc6962 import HASH_SIZE, leaf_hash, verify_inclusion

HEADER = "c2sp.org/tlog-proof@v1"


@dataclass(frozen=True, slots=True)
class TlogProof:
    extra: bytes | None
    index: int
    proof: tuple[bytes, ...]
    checkpoint: str


def format_tlog_proof(proof: TlogProof) -> str:
    lines = [HEADER]
    if proof.extra is not None:
        lines.append("extra " + base64.b64encode(proof.extra).decode("ascii"))
    lines.append(f"index {proof.index}")
    lines += [base64.b64encode(h).decode("ascii") for h in proof.proof]
    return "\n".join(lines) + "\n\n" + proof.checkpoint


def _b64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedProofError(f"{what}: not standard base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise MalformedProofError(f"{what}: not canonical base64")
    return raw


def parse_tlog_proof(text: str) -> TlogProof:
    """Parse strictly (header, optional extra, index without leading zeros, 32-byte hashes).

    Raises:
        MalformedProofError: naming the line that is wrong.
    """
    head, separator, checkpoint = text.partition("\n\n")
    if not separator:
        raise MalformedProofError("no empty line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise MalformedProofError(f"first line {lines[0]!r}: want {HEADER!r}")
    position = 1
    extra = None
    if position < len(lines) and lines[position].startswith("extra "):
        extra = _b64(lines[position].removeprefix("extra "), "extra")
        position += 1
    if position >= len(lines) or not lines[position].startswith("index "):
        raise MalformedProofError("missing the index line")
    digits = lines[position].removeprefix("index ")
    if not digits.isascii() or not digits.isdigit() or (digits != "0" and digits[0] == "0"):
        raise MalformedProofError(f"index {digits!r}: want a decimal without leading zeros")
    hashes = tuple(_b64(line, f"proof line {n}") for n, line in enumerate(lines[position + 1 :]))
    for number, digest in enumerate(hashes):
        if len(digest) != HASH_SIZE:
            raise MalformedProofError(f"proof hash {number} has {len(digest)} bytes, want 32")
    return TlogProof(extra, int(digits), hashes, checkpoint)


@dataclass(frozen=True, slots=True)
class VerifiedEvidence:
    checkpoint: Checkpoint
    leaf_index: int
    originator_id: UUID
    version: int
    topic: str
    key_id: str
    state: dict[str, Any]


def verify_event_evidence(
    text: str,
    *,
    log_key: NoteVerifier,
    origin: str,
    event_keys: Mapping[str, Ed25519PublicKey],
    witnesses: WitnessPolicy | None = None,
    now: int | None = None,
) -> VerifiedEvidence:
    """Verify single-event evidence; returns the proven event.

    Steps: (1) parse; (2) verify the checkpoint's signature and origin; (3) the leaf hash of the
    ``extra`` data is included at ``index`` under the checkpoint's root; (4) the event's own
    signature verifies with a trusted event key. With ``witnesses``, (2) also requires the
    policy's quorum of valid cosignatures on the checkpoint (``now``: POSIX seconds bounding
    their timestamps, default the clock).

    Raises:
        MalformedProofError: the text is not a tlog-proof with extra data.
        audit.offline.errors.VerificationError: any failed check, naming the element.
    """
    # (1) parse
    proof = parse_tlog_proof(text)
    if proof.extra is None:
        raise MalformedProofError("no extra line: the evidence must carry the signed event")
    # (2) checkpoint
    checkpoint = verify_checkpoint(proof.checkpoint, log_key, origin=origin)
    if witnesses is not None and witnesses.requires_witnesses:
        witnesses.require(proof.checkpoint, now=int(time.time()) if now is None else now)
    # (3) inclusion
    verify_inclusion(
        proof.index, checkpoint.size, leaf_hash(proof.extra), list(proof.proof), checkpoint.root
    )
    # (4) the event itself
    originator_id, version, topic, stored = parse_log_leaf_data(proof.extra)
    envelope = verify_event(originator_id, version, topic, stored, event_keys)
    state = decode_canonical(envelope.state)
    return VerifiedEvidence(
        checkpoint, proof.index, originator_id, version, topic, envelope.key_id, dict(state)
    )


def evidence(index: int, leaf_data: bytes, proof: Sequence[bytes], signed_checkpoint: str) -> str:
    """Format the evidence for one event (server side helper)."""
    return format_tlog_proof(TlogProof(leaf_data, index, tuple(proof), signed_checkpoint))
