"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, as golang.org/x/mod sumdb/note.

A signed note is a text that a verifier may trust only once a signature by a key it already
knows verifies over the exact text bytes. Checkpoints of the ledger's Merkle tree are published
this way (audit.offline.checkpoint), so any C2SP tool (Go's ``note.Open``, witnesses, monitors) can
check them, and this module can check theirs::

    <text, ending in a newline; it may contain empty lines>
    <empty line>
    — <key name> base64(key id (4 bytes, big-endian) || Ed25519 signature (64 bytes))
    ... one line per signature

    key id = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]

Keys travel as the Go sumdb strings ``<name>+<8 hex key id>+base64(0x01 || public key)``
(verifier key) and ``PRIVATE+KEY+<name>+<8 hex key id>+base64(0x01 || seed)`` (signer key).
Standard library and ``cryptography`` only: the offline verifier imports this.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from audit.offline.errors import (
    InvalidNoteSignatureError,
    KeyConfigurationError,
    MalformedNoteError,
    UnverifiedNoteError,
)

ED25519_ALGORITHM = 0x01
ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
KEY_ID_SIZE = 4
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"
# The spec lets verifiers cap signatures (they must accept at least 16); Go's note.Open
# rejects more than 100. A cap bounds the work an attacker can ask of a verifier.
MAX_SIGNATURES = 100

# ASCII control characters other than newline: forbidden anywhere in a signed note.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_KEY_ID_HEX = re.compile(r"[0-9a-fA-F]{8}")


def key_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a note key (non-empty, no Unicode space, no '+'), or None."""
    if not name:
        return "got an empty key name, want a non-empty one"
    if "+" in name:
        return f"key name {name!r} contains '+', want none"
    if any(char.isspace() for char in name):
        return f"key name {name!r} contains a space, want none"
    if _CONTROL.search(name):
        return f"key name {name!r} contains a control character, want none"
    return None


def note_key_id(name: str, public_key: Ed25519PublicKey) -> int:
    """The 32-bit key id: SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian.

    Binding the name (and the algorithm byte) means one key under two names has two ids.
    """
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ED25519_ALGORITHM]) + _raw_public(public_key)
    ).digest()
    return int.from_bytes(digest[:KEY_ID_SIZE], "big")


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _verifier_key_string(name: str, key_id: int, public_key: Ed25519PublicKey) -> str:
    encoded = base64.b64encode(bytes([ED25519_ALGORITHM]) + _raw_public(public_key))
    return f"{name}+{key_id:08x}+{encoded.decode('ascii')}"


def _decode_key_string(what: str, name: str, key_id_hex: str, key_b64: str) -> tuple[int, bytes]:
    """Check the name, key id and key fields of a key string; return (key id, raw key).

    Raises:
        KeyConfigurationError: naming the field that is malformed.
    """
    problem = key_name_problem(name)
    if problem is not None:
        raise KeyConfigurationError(f"{what}: {problem}")
    if not _KEY_ID_HEX.fullmatch(key_id_hex):
        raise KeyConfigurationError(f"{what}: key id {key_id_hex!r}, want 8 hex digits")
    try:
        key = base64.b64decode(key_b64, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise KeyConfigurationError(f"{what}: key is not standard base64") from exc
    if len(key) != 1 + ED25519_KEY_SIZE:
        raise KeyConfigurationError(
            f"{what}: got a {len(key)}-byte key, want {1 + ED25519_KEY_SIZE} "
            "(algorithm byte and Ed25519 key)"
        )
    if key[0] != ED25519_ALGORITHM:
        raise KeyConfigurationError(
            f"{what}: got algorithm byte 0x{key[0]:02x}, want 0x{ED25519_ALGORITHM:02x} (Ed25519)"
        )
    return int(key_id_hex, 16), key[1:]


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A trusted note key: its name, its Ed25519 public key and the key id derived from both.

    The key id is computed, never taken on trust, so a verifier cannot claim another key's id.

    Raises:
        KeyConfigurationError: if the name is not a valid key name.
    """

    name: str
    public_key: Ed25519PublicKey
    key_id: int = field(init=False)

    def __post_init__(self) -> None:
        problem = key_name_problem(self.name)
        if problem is not None:
            raise KeyConfigurationError(f"note verifier: {problem}")
        object.__setattr__(self, "key_id", note_key_id(self.name, self.public_key))

    @classmethod
    def from_verifier_key_string(cls, verifier_key: str) -> NoteVerifier:
        """Parse ``<name>+<8 hex key id>+base64(0x01 || public key)``.

        The key id in the string must be the one derived from the name and key: a mismatch
        means the string was edited or belongs to another key.

        Raises:
            KeyConfigurationError: naming the malformed field, the algorithm byte that is not
                Ed25519, or the key id that does not match the key.
        """
        return _from_key_string(
            "verifier key", verifier_key, "", Ed25519PublicKey.from_public_bytes, cls,
            loads="public key", derived_from="the name and key",
        )  # fmt: skip

    def verifier_key_string(self) -> str:
        """This key as ``<name>+<8 hex key id>+base64(0x01 || public key)``."""
        return _verifier_key_string(self.name, self.key_id, self.public_key)


class _NamedKey(Protocol):
    """A note key built from a name and a key: it derives its own key id."""

    @property
    def key_id(self) -> int: ...


_Key = TypeVar("_Key", Ed25519PublicKey, Ed25519PrivateKey)
_Made = TypeVar("_Made", bound=_NamedKey)


def _from_key_string(
    what: str,
    text: str,
    where: str,
    load: Callable[[bytes], _Key],
    make: Callable[[str, _Key], _Made],
    *,
    loads: str,
    derived_from: str,
) -> _Made:
    """``<name>+<key id>+<key>`` as ``make(name, key)``: the fields checked, the key
    ``load``-ed from its raw bytes (an Ed25519 ``loads``: public key or seed), and the stated
    key id compared with the one ``make`` derives (from ``derived_from``): a mismatch means the
    string was edited or belongs to another key.

    Raises:
        KeyConfigurationError: naming the malformed field, the bytes that are no key, or the
            key id that does not match the key.
    """
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise KeyConfigurationError(
            f"{what}: got {len(parts)} '+'-separated fields{where}, want 3 (<name>+<key id>+<key>)"
        )
    name, key_id_hex, key_b64 = parts
    stated, raw = _decode_key_string(what, name, key_id_hex, key_b64)
    try:
        key = load(raw)
    except ValueError as exc:
        raise KeyConfigurationError(f"{what}: not an Ed25519 {loads}") from exc
    made = make(name, key)
    if stated != made.key_id:
        raise KeyConfigurationError(
            f"{what} {name}: got key id {stated:08x}, want {made.key_id:08x} "
            f"(derived from {derived_from})"
        )
    return made


def _check_text(text: str) -> bytes:
    """The UTF-8 bytes of a note text, after checking the spec's rules for it.

    Raises:
        MalformedNoteError: if the text does not end in a newline, contains an ASCII control
            character other than newline, or is not encodable as UTF-8.
    """
    if not text.endswith("\n"):
        raise MalformedNoteError("text does not end with a newline, want one")
    if (match := _CONTROL.search(text)) is not None:
        raise MalformedNoteError(
            f"text has control character {match.group()!r} at offset {match.start()}, "
            "want none but newline"
        )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedNoteError("text is not valid UTF-8 (lone surrogate)") from exc


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """Signs note texts with one named Ed25519 key.

    Raises:
        KeyConfigurationError: if the name is not a valid key name.
    """

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)
    key_id: int = field(init=False)

    def __post_init__(self) -> None:
        problem = key_name_problem(self.name)
        if problem is not None:
            raise KeyConfigurationError(f"note signer: {problem}")
        object.__setattr__(self, "key_id", note_key_id(self.name, self.private_key.public_key()))

    @classmethod
    def from_private_key_string(cls, signer_key: str) -> NoteSigner:
        """Parse the Go sumdb signer key ``PRIVATE+KEY+<name>+<key id>+base64(0x01 || seed)``.

        The key id names the public key, so it is checked after deriving that key from the seed.

        Raises:
            KeyConfigurationError: naming the malformed field, the algorithm byte that is not
                Ed25519, or the key id that does not match the key.
        """
        if not signer_key.startswith(PRIVATE_KEY_PREFIX):
            raise KeyConfigurationError(f"signer key: want the prefix {PRIVATE_KEY_PREFIX!r}")
        text = signer_key[len(PRIVATE_KEY_PREFIX) :]
        return _from_key_string(
            "signer key", text, " after the prefix", Ed25519PrivateKey.from_private_bytes, cls,
            loads="seed", derived_from="the name and public key",
        )  # fmt: skip

    def private_key_string(self) -> str:
        """This key as ``PRIVATE+KEY+<name>+<key id>+base64(0x01 || seed)``: keep it secret."""
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        encoded = base64.b64encode(bytes([ED25519_ALGORITHM]) + seed).decode("ascii")
        return f"{PRIVATE_KEY_PREFIX}{self.name}+{self.key_id:08x}+{encoded}"

    def verifier(self) -> NoteVerifier:
        """The matching verifier, to hand to whoever checks this signer's notes."""
        return NoteVerifier(self.name, self.private_key.public_key())

    def verifier_key_string(self) -> str:
        """The public verifier key ``<name>+<key id>+base64(0x01 || public key)``."""
        return _verifier_key_string(self.name, self.key_id, self.private_key.public_key())

    def sign(self, text: str) -> str:
        """Return ``text``, an empty line, and this key's signature line.

        Ed25519 is deterministic, so one text and key always give the same signed note.

        Raises:
            MalformedNoteError: if the text does not end in a newline, contains an ASCII control
                character other than newline, or is not encodable as UTF-8.
        """
        message = _check_text(text)
        signature = self.private_key.sign(message)
        blob = self.key_id.to_bytes(KEY_ID_SIZE, "big") + signature
        encoded = base64.b64encode(blob).decode("ascii")
        return f"{text}\n{SIGNATURE_PREFIX}{self.name} {encoded}\n"


class NoteSignature(NamedTuple):
    """A key that signed a note: its name and 32-bit key id."""

    name: str
    key_id: int


@dataclass(frozen=True, slots=True)
class Note:
    """A note whose text verified: ``signatures`` lists each trusted key that signed it, once."""

    text: str
    signatures: tuple[NoteSignature, ...]


class SignatureLine(NamedTuple):
    """One parsed ``— <name> <base64>`` line: not verified, only well formed."""

    name: str
    key_id: int
    signature: bytes


def _parse_signature_line(number: int, line: str) -> SignatureLine:
    """Split one ``— <name> <base64>`` line.

    Raises:
        MalformedNoteError: naming the line, if it lacks the prefix or the space, has an
            invalid key name, non-canonical base64, or fewer than 5 decoded bytes.
    """
    where = f"signature line {number}"
    if not line.startswith(SIGNATURE_PREFIX):
        raise MalformedNoteError(f"{where}: want it to start with {SIGNATURE_PREFIX!r}")
    name, space, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not space:
        raise MalformedNoteError(f"{where}: want '<name> <base64 signature>'")
    problem = key_name_problem(name)
    if problem is not None:
        raise MalformedNoteError(f"{where}: {problem}")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise MalformedNoteError(f"{where}: signature is not standard base64") from exc
    if base64.b64encode(blob).decode("ascii") != encoded:
        raise MalformedNoteError(f"{where}: signature base64 is not canonical")
    if len(blob) <= KEY_ID_SIZE:
        raise MalformedNoteError(
            f"{where}: got {len(blob)} signature bytes, want more than {KEY_ID_SIZE} "
            "(key id and signature)"
        )
    key_id = int.from_bytes(blob[:KEY_ID_SIZE], "big")
    return SignatureLine(name, key_id, blob[KEY_ID_SIZE:])


def _verifier_map(verifiers: Sequence[NoteVerifier]) -> dict[NoteSignature, NoteVerifier]:
    """Trusted keys by (name, key id).

    Raises:
        KeyConfigurationError: if two different keys share a name and key id (a 32-bit
            collision someone crafted: no signature could be attributed safely).
    """
    known: dict[NoteSignature, NoteVerifier] = {}
    for verifier in verifiers:
        ident = NoteSignature(verifier.name, verifier.key_id)
        other = known.setdefault(ident, verifier)
        if _raw_public(other.public_key) != _raw_public(verifier.public_key):
            raise KeyConfigurationError(
                f"two different note keys share name and key id {verifier.name}+"
                f"{verifier.key_id:08x}: want one key per name and id"
            )
    return known


def split_note(signed_note: str) -> tuple[str, list[SignatureLine]]:
    """The signed text and the parsed signature lines of a note, nothing verified yet.

    The text is the exact prefix of ``signed_note`` a signature covers; cosignature checks
    (audit.offline.cosignature) read the same lines the log's key was checked on.

    Raises:
        MalformedNoteError: control characters, no empty line before the signatures, a
            malformed signature line, more than ``MAX_SIGNATURES`` signature lines.
    """
    # (1) character set
    if (match := _CONTROL.search(signed_note)) is not None:
        raise MalformedNoteError(
            f"control character {match.group()!r} at offset {match.start()}, want none but newline"
        )
    try:
        signed_note.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedNoteError("note is not valid UTF-8 (lone surrogate)") from exc
    # (2) text / signature block
    split = signed_note.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("no empty line before the signatures, want one")
    text, block = signed_note[: split + 1], signed_note[split + 2 :]
    if not block:
        raise MalformedNoteError("got no signature lines, want at least one")
    if not block.endswith("\n"):
        raise MalformedNoteError("last signature line does not end with a newline, want one")
    # (3) signature lines
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"got {len(lines)} signature lines, want at most {MAX_SIGNATURES}")
    return text, [_parse_signature_line(number, line) for number, line in enumerate(lines, 1)]


def open_note(signed_note: str, verifiers: Sequence[NoteVerifier]) -> Note:
    """Check a signed note against trusted keys and return its text and verified signers.

    Signatures by keys not among ``verifiers`` are ignored (the spec's rule: they may be
    witnesses or rotated keys), but every signature by a trusted key must verify and at least
    one must be present. The text is the exact prefix of ``signed_note`` that was signed.

    Raises:
        MalformedNoteError: the note is not valid signed-note syntax (control characters, no
            empty line before the signatures, a malformed signature line, more than
            ``MAX_SIGNATURES`` signature lines).
        InvalidNoteSignatureError: naming the key, if a signature by a trusted key fails.
        UnverifiedNoteError: if no signature by a trusted key is present.
        KeyConfigurationError: if ``verifiers`` holds two different keys with one name and id.
    """
    # Steps: (1)-(3) split_note: the character set, the text / signature block split, every
    # signature line parsed and bounded before any cryptography; (4) verify each signature by a
    # trusted key over the text bytes, ignoring unknown keys; (5) require at least one.
    known = _verifier_map(verifiers)
    text, parsed = split_note(signed_note)
    # (4) trusted signatures
    message = text.encode("utf-8")
    verified: list[NoteSignature] = []
    for line in parsed:
        ident = NoteSignature(line.name, line.key_id)
        verifier = known.get(ident)
        if verifier is None:
            continue
        if len(line.signature) != ED25519_SIGNATURE_SIZE:
            raise InvalidNoteSignatureError(
                line.name,
                line.key_id,
                f"has {len(line.signature)} bytes, want {ED25519_SIGNATURE_SIZE}",
            )
        try:
            verifier.public_key.verify(line.signature, message)
        except InvalidSignature as exc:
            raise InvalidNoteSignatureError(line.name, line.key_id) from exc
        if ident not in verified:
            verified.append(ident)
    # (5) at least one
    if not verified:
        trusted = tuple(f"{ident.name}+{ident.key_id:08x}" for ident in known)
        raise UnverifiedNoteError(trusted)
    return Note(text, tuple(verified))
