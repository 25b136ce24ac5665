"""Witness cosignatures on checkpoints (c2sp.org/tlog-cosignature) and the policy requiring them.

A checkpoint signed by the log alone proves what the log *says*; a log that shows one tree to
one reader and another tree to another signs both. A witness keeps the latest checkpoint it
saw of each log and cosigns a new one only with a consistency proof from it, so a quorum of
independent witnesses on a checkpoint means no split view was shown to them. Cosignatures are
extra signature lines of the checkpoint's signed note (audit.offline.note); a reader that knows
no witness ignores them (the signed-note rule).

Two cosignature types, both from the spec:

* Ed25519, ``cosignature/v1`` (vkey type 0x04): Ed25519 over
  ``"cosignature/v1\\ntime <T>\\n" || <checkpoint text>``;
* ML-DSA-44 (vkey type 0x06), the spec's recommended type: ML-DSA-44 over the ``subtree/v1``
  structure (cosigner name, T, origin, start 0, end = size, root).

Either is carried as ``— <name> base64(key id || u64 T || signature)``, key id =
SHA-256(name || 0x0A || type || public key)[:4]. Timestamps are checked as the specs say: a
witness's checkpoint cosignature must carry one (tlog-witness: never zero), it must not exceed
2^63 - 1, and a verifier may reject one in the future — this one does, beyond
``MAX_CLOCK_SKEW`` seconds of its own clock.

The policy is C2SP tlog-policy (``witness <name> <vkey> [<url>]``, ``group <name> <k>|any|all
<members>…``, ``quorum <name>|none``, ``log <vkey> [<url>]``); ``--witness VKEY`` repeated
with ``--witness-threshold K`` is the one-group policy it abbreviates. Standard library and
``cryptography`` only: the offline verifier imports this.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PublicKey

from audit.offline.checkpoint import Checkpoint, parse_checkpoint
from audit.offline.errors import (
    InvalidCosignatureError,
    KeyConfigurationError,
    MalformedCheckpointError,
    WitnessQuorumError,
)
from audit.offline.note import KEY_ID_SIZE, NoteVerifier, key_name_problem, split_note

ED25519_COSIGNATURE: Final = 0x04
MLDSA44_COSIGNATURE: Final = 0x06
_KEY_SIZES: Final = {ED25519_COSIGNATURE: 32, MLDSA44_COSIGNATURE: 1312}
_SIGNATURE_SIZES: Final = {ED25519_COSIGNATURE: 64, MLDSA44_COSIGNATURE: 2420}
_TYPE_NAMES: Final = {ED25519_COSIGNATURE: "Ed25519", MLDSA44_COSIGNATURE: "ML-DSA-44"}
TIMESTAMP_SIZE: Final = 8
MAX_TIMESTAMP: Final = 2**63 - 1
MAX_CLOCK_SKEW: Final = 300  # seconds a cosignature may be ahead of the verifier's clock
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")
_THRESHOLD = re.compile(r"[1-9][0-9]{0,3}")
MAX_WITNESSES: Final = 64
"""Witnesses one policy may name: their lines and the log's must stay within a signed note's
cap on signature lines (audit.offline.note.MAX_SIGNATURES); tlog-policy asks for at least 32."""


@dataclass(frozen=True, slots=True)
class CosignerKey:
    """A witness's cosigning key: its name, type (0x04 or 0x06) and raw public key.

    The key id is derived from the three, never taken from a string on trust.
    """

    name: str
    algorithm: int
    public_key: bytes
    key_id: int = field(init=False)

    def __post_init__(self) -> None:
        problem = key_name_problem(self.name)
        if problem is not None:
            raise KeyConfigurationError(f"witness key: {problem}")
        size = _KEY_SIZES.get(self.algorithm)
        if size is None:
            raise KeyConfigurationError(
                f"witness key {self.name}: signature type 0x{self.algorithm:02x}, want 0x04 "
                "(Ed25519 cosignature/v1) or 0x06 (ML-DSA-44)"
            )
        if self.algorithm == MLDSA44_COSIGNATURE and len(self.name.encode("utf-8")) > 255:
            raise KeyConfigurationError(
                f"witness key {self.name[:40]}…: an ML-DSA-44 cosigner's name is at most 255 "
                "bytes (it is signed as a u8-length field)"
            )
        if len(self.public_key) != size:
            raise KeyConfigurationError(
                f"witness key {self.name}: got a {len(self.public_key)}-byte "
                f"{_TYPE_NAMES[self.algorithm]} key, want {size} bytes"
            )
        digest = hashlib.sha256(
            self.name.encode("utf-8") + b"\n" + bytes([self.algorithm]) + self.public_key
        ).digest()
        object.__setattr__(self, "key_id", int.from_bytes(digest[:KEY_ID_SIZE], "big"))

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignerKey:
        """Parse ``<name>+<8 hex key id>+base64(type || public key)``.

        Raises:
            KeyConfigurationError: a malformed field, a type that is not a cosignature type,
                or a key id that is not the one the name, type and key give.
        """
        name, plus1, rest = vkey.partition("+")
        key_id_hex, plus2, encoded = rest.partition("+")
        if not (plus1 and plus2):
            raise KeyConfigurationError(
                f"witness key {vkey[:80]!r}: want <name>+<8 hex key id>+<base64 key>"
            )
        if not _KEY_ID_HEX.fullmatch(key_id_hex.lower()):
            raise KeyConfigurationError(f"witness key {name}: key id {key_id_hex!r}, want 8 hex")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise KeyConfigurationError(f"witness key {name}: key is not standard base64") from exc
        if not blob:
            raise KeyConfigurationError(f"witness key {name}: no key material")
        key = cls(name, blob[0], blob[1:])
        if key.key_id != int(key_id_hex, 16):
            raise KeyConfigurationError(
                f"witness key {name}: key id {key_id_hex}, but the name, type and key give "
                f"{key.key_id:08x}"
            )
        return key

    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([self.algorithm]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    @property
    def label(self) -> str:
        """How errors and reports name this witness: ``name+keyid``."""
        return f"{self.name}+{self.key_id:08x}"

    def verify(self, checkpoint_text: str, checkpoint: Checkpoint, blob: bytes) -> int:
        """Verify one cosignature (timestamp || signature) on a checkpoint; its timestamp.

        Raises:
            InvalidCosignatureError: wrong length, or the signature does not verify.
        """
        want = TIMESTAMP_SIZE + _SIGNATURE_SIZES[self.algorithm]
        if len(blob) != want:
            raise InvalidCosignatureError(
                self.label, checkpoint.size, f"has {len(blob)} bytes, want {want}"
            )
        timestamp = int.from_bytes(blob[:TIMESTAMP_SIZE], "big")
        signature = blob[TIMESTAMP_SIZE:]
        try:
            if self.algorithm == ED25519_COSIGNATURE:
                message = ed25519_cosigned_message(checkpoint_text, timestamp)
                Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
            else:
                message = mldsa_cosigned_message(self.name, timestamp, checkpoint)
                MLDSA44PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature as exc:
            raise InvalidCosignatureError(
                self.label, checkpoint.size, "does not verify over the checkpoint"
            ) from exc
        return timestamp


def ed25519_cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    """What an Ed25519 ``cosignature/v1`` signs: header, time line, the checkpoint text."""
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()


def mldsa_cosigned_message(name: str, timestamp: int, checkpoint: Checkpoint) -> bytes:
    """What an ML-DSA-44 cosignature signs: the ``subtree/v1`` structure for [0, size)."""

    def u8_vector(data: bytes) -> bytes:
        if not 1 <= len(data) <= 255:
            raise MalformedCheckpointError(
                f"checkpoint of size {checkpoint.size}: an origin of {len(data)} bytes cannot be "
                "ML-DSA-44 cosigned (1 to 255)"
            )
        return len(data).to_bytes(1, "big") + data

    return (
        b"subtree/v1\n\x00"
        + u8_vector(name.encode("utf-8"))
        + timestamp.to_bytes(8, "big")
        + u8_vector(checkpoint.origin.encode("utf-8"))
        + (0).to_bytes(8, "big")
        + checkpoint.size.to_bytes(8, "big")
        + checkpoint.root
    )


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A cosignature that verified: the witness key and the time it claims."""

    witness: CosignerKey
    timestamp: int
    line: str


def verified_cosignatures(
    signed_note: str,
    keys: Iterable[CosignerKey],
    *,
    now: int,
    ignored: list[str] | None = None,
) -> tuple[Checkpoint, list[Cosignature]]:
    """The checkpoint of a signed note and its valid cosignatures by ``keys``.

    Lines by other keys are ignored (the log's own signature is checked elsewhere,
    audit.offline.checkpoint). A line whose name and key id are a trusted witness's must verify
    and carry a timestamp of at most 2^63 - 1 (the spec's MUST): otherwise the note is refused.
    One with timestamp 0 (no statement of time: a witness must give one) or more than
    ``MAX_CLOCK_SKEW`` s after ``now`` (the spec lets verifiers refuse it) is a cosignature
    that does not count — not a refusal of the note, so one witness's clock cannot make a
    checkpoint the others cosigned unverifiable. Why each was not counted goes to ``ignored``.

    Raises:
        MalformedNoteError, MalformedCheckpointError: the note or its checkpoint is malformed.
        InvalidCosignatureError: a trusted witness's line does not verify, or its timestamp is
            above 2^63 - 1.
    """
    text, lines = split_note(signed_note)
    checkpoint = parse_checkpoint(text)
    known = {(key.name, key.key_id): key for key in keys}
    found: dict[tuple[str, int], Cosignature] = {}
    for line in lines:
        key = known.get((line.name, line.key_id))
        if key is None:
            continue
        timestamp = key.verify(text, checkpoint, line.signature)
        if timestamp > MAX_TIMESTAMP:
            raise InvalidCosignatureError(
                key.label, checkpoint.size, f"has timestamp {timestamp}, want at most 2^63 - 1"
            )
        why = _uncounted(timestamp, now)
        if why is not None:
            if ignored is not None:
                ignored.append(f"{key.label}: {why}")
            continue
        encoded = base64.b64encode(line.key_id.to_bytes(KEY_ID_SIZE, "big") + line.signature)
        found.setdefault(
            (key.name, key.key_id),
            Cosignature(key, timestamp, f"\u2014 {line.name} {encoded.decode('ascii')}\n"),
        )
    return checkpoint, list(found.values())


def _uncounted(timestamp: int, now: int) -> str | None:
    """Why a valid cosignature with this timestamp does not count, or None."""
    if timestamp == 0:
        return "timestamp 0 (a witness must say when it cosigned)"
    if timestamp > now + MAX_CLOCK_SKEW:
        return (
            f"timestamp {timestamp}, {timestamp - now} s in the future "
            f"(at most {MAX_CLOCK_SKEW} s counts)"
        )
    return None


# --- the policy ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PolicyWitness:
    """A witness of the policy: its name in the policy, its key, its submission URL if given."""

    name: str
    key: CosignerKey
    url: str | None = None


@dataclass(frozen=True, slots=True)
class WitnessGroup:
    """At least ``threshold`` of ``members`` (witness or group names) witnessed."""

    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WitnessPolicy:
    """Which witnesses count and which of them must cosign (the quorum); ``None``: nobody."""

    witnesses: tuple[PolicyWitness, ...] = ()
    groups: tuple[WitnessGroup, ...] = ()
    quorum: str | None = None
    logs: tuple[tuple[str, str | None], ...] = ()  # (vkey, url): the policy's `log` lines

    @property
    def requires_witnesses(self) -> bool:
        return self.quorum is not None

    @property
    def keys(self) -> list[CosignerKey]:
        return [witness.key for witness in self.witnesses]

    @classmethod
    def k_of_n(cls, vkeys: Sequence[str], threshold: int | None = None) -> WitnessPolicy:
        """``--witness VKEY``… ``--witness-threshold K``: K of the keys given (default: all).

        Raises:
            KeyConfigurationError: a malformed key, a key given twice, or K not in 1..n.
        """
        if not vkeys:
            if threshold is not None:
                raise KeyConfigurationError("a witness threshold needs at least one --witness")
            return cls()
        witnesses = tuple(
            PolicyWitness(f"w{number}", CosignerKey.from_vkey(vkey))
            for number, vkey in enumerate(vkeys, 1)
        )
        _no_duplicate_keys(witnesses)
        k = len(witnesses) if threshold is None else threshold
        if not 1 <= k <= len(witnesses):
            raise KeyConfigurationError(
                f"witness threshold {k}: want 1..{len(witnesses)} (the witnesses given)"
            )
        group = WitnessGroup("quorum", k, tuple(w.name for w in witnesses))
        return cls(witnesses, (group,), "quorum")

    @classmethod
    def parse(cls, text: str) -> WitnessPolicy:
        """Read a C2SP tlog-policy file.

        Raises:
            KeyConfigurationError: naming the line that breaks the format (an unknown keyword,
                a name used before its definition or defined twice, a threshold out of range, a
                member listed twice, a duplicate key, no quorum line or two).
        """
        draft = _PolicyDraft()
        for number, raw in enumerate(text.split("\n"), 1):
            where = f"witness policy line {number}"
            if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", raw):
                raise KeyConfigurationError(f"{where}: control character, want tab or space only")
            words = [word for word in re.split(r"[ \t]+", raw) if word]
            if words and not words[0].startswith("#"):
                draft.read(where, words[0], words[1:])
        if len(draft.witnesses) > MAX_WITNESSES:
            raise KeyConfigurationError(
                f"witness policy: {len(draft.witnesses)} witnesses, want at most {MAX_WITNESSES}"
            )
        if draft.quorum_lines != 1:
            raise KeyConfigurationError(
                f"witness policy: got {draft.quorum_lines} quorum lines, want exactly one"
            )
        _no_duplicate_keys(draft.witnesses)
        return cls(tuple(draft.witnesses), tuple(draft.groups), draft.quorum, tuple(draft.logs))

    def is_met(self, cosigned_by: Iterable[CosignerKey]) -> bool:
        """Whether cosignatures by these keys satisfy the quorum."""
        if self.quorum is None:
            return True
        signed = {(key.name, key.key_id) for key in cosigned_by}
        by_name = {w.name: (w.key.name, w.key.key_id) in signed for w in self.witnesses}
        for group in self.groups:  # defined in order: members are decided before the group
            by_name[group.name] = sum(by_name[m] for m in group.members) >= group.threshold
        return by_name[self.quorum]

    def fingerprint(self) -> str:
        """SHA-256 of the quorum in words (every key, group and threshold): what the log keeps
        its witnessed size under, so a changed policy is judged afresh."""
        return hashlib.sha256(self.describe().encode("utf-8")).hexdigest()

    def describe(self) -> str:
        """The quorum in words, for errors and reports."""
        if self.quorum is None:
            return "none"
        groups = {group.name: group for group in self.groups}
        keys = {w.name: w.key.label for w in self.witnesses}

        def words(name: str) -> str:
            group = groups.get(name)
            if group is None:
                return keys[name]
            inner = ", ".join(words(member) for member in group.members)
            return f"{group.threshold} of [{inner}]"

        return words(self.quorum)

    def require(self, signed_note: str, *, now: int) -> list[Cosignature]:
        """The note's valid cosignatures, if they meet the quorum.

        Raises:
            InvalidCosignatureError: a policy witness's line does not hold.
            WitnessQuorumError: the valid cosignatures do not meet the quorum.
            MalformedNoteError, MalformedCheckpointError: the note is malformed.
        """
        ignored: list[str] = []
        checkpoint, cosignatures = verified_cosignatures(
            signed_note, self.keys, now=now, ignored=ignored
        )
        if not self.is_met(c.witness for c in cosignatures):
            raise WitnessQuorumError(
                checkpoint.size,
                tuple(c.witness.label for c in cosignatures),
                self.describe(),
                tuple(ignored),
            )
        return cosignatures


@dataclass
class _PolicyDraft:
    """A policy file read so far: names are defined before use, line by line."""

    witnesses: list[PolicyWitness] = field(default_factory=list)
    groups: list[WitnessGroup] = field(default_factory=list)
    logs: list[tuple[str, str | None]] = field(default_factory=list)
    defined: set[str] = field(default_factory=set)
    quorum: str | None = None
    quorum_lines: int = 0

    def read(self, where: str, keyword: str, args: list[str]) -> None:
        if keyword == "log" and len(args) in (1, 2):
            log_key = NoteVerifier.from_verifier_key_string(args[0])  # KeyConfigurationError
            raw = log_key.public_key.public_bytes_raw()
            for other, _ in self.logs:
                if (
                    NoteVerifier.from_verifier_key_string(other).public_key.public_bytes_raw()
                    == raw
                ):
                    raise KeyConfigurationError(f"{where}: this log key is listed twice")
            self.logs.append((args[0], args[1] if len(args) == 2 else None))
        elif keyword == "witness" and len(args) in (2, 3):
            name = _new_name(where, args[0], self.defined)
            key = CosignerKey.from_vkey(args[1])
            self.witnesses.append(PolicyWitness(name, key, args[2] if len(args) == 3 else None))
        elif keyword == "group" and len(args) >= 3:
            members = tuple(args[2:])
            for member in members:
                if member not in self.defined:
                    raise KeyConfigurationError(f"{where}: member {member!r} is not defined")
            if len(set(members)) != len(members):
                raise KeyConfigurationError(f"{where}: a member is listed twice")
            k = _threshold(where, args[1], len(members))
            self.groups.append(WitnessGroup(_new_name(where, args[0], self.defined), k, members))
        elif keyword == "quorum" and len(args) == 1:
            self.quorum_lines += 1
            if args[0] != "none" and args[0] not in self.defined:
                raise KeyConfigurationError(f"{where}: quorum {args[0]!r} is not defined")
            self.quorum = None if args[0] == "none" else args[0]
        else:
            raise KeyConfigurationError(
                f"{where}: want 'log <vkey> [url]', 'witness <name> <vkey> [url]', "
                "'group <name> <k>|any|all <member>...' or 'quorum <name>|none'"
            )


def _log_key_bytes(vkey: str) -> bytes:
    return NoteVerifier.from_verifier_key_string(vkey).public_key.public_bytes_raw()


def _new_name(where: str, name: str, defined: set[str]) -> str:
    if name == "none" or name in defined:
        raise KeyConfigurationError(f"{where}: name {name!r} is reserved or already defined")
    defined.add(name)
    return name


def _threshold(where: str, word: str, members: int) -> int:
    if word == "all":
        return members
    if word == "any":
        return 1
    if not _THRESHOLD.fullmatch(word) or not 1 <= int(word) <= members:
        raise KeyConfigurationError(f"{where}: threshold {word!r}, want any, all or 1..{members}")
    return int(word)


def _no_duplicate_keys(witnesses: Sequence[PolicyWitness]) -> None:
    seen: dict[bytes, str] = {}
    for witness in witnesses:
        other = seen.setdefault(witness.key.public_key, witness.name)
        if other != witness.name:
            raise KeyConfigurationError(
                f"witness policy: {other} and {witness.name} have the same public key"
            )


def append_cosignatures(signed_note: str, lines: Iterable[str]) -> str:
    """The note with cosignature lines added after its own signatures (each ends in ``\\n``).

    Raises:
        MalformedCheckpointError: a line that is not one signature line.
    """
    extra = []
    for line in lines:
        if not line.startswith("\u2014 ") or not line.endswith("\n") or "\n" in line[:-1]:
            raise MalformedCheckpointError(f"cosignature line {line[:40]!r}: want '— name sig'")
        extra.append(line)
    return signed_note + "".join(extra)
