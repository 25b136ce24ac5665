"""C2SP transparency-log checkpoints (c2sp.org/tlog-checkpoint): a signed tree head.

A checkpoint commits the log to one Merkle tree (RFC 6962 root) at one size, under an origin
that names the log. It is a signed note (audit.offline.note) whose text is exactly::

    <origin>\\n
    <tree size, decimal, no leading zeros unless 0>\\n
    <base64 of the 32-byte root>\\n
    [<extension line>\\n ...]        (optional, non-empty, not recommended)

Parsing is strict so one checkpoint has one text: a verifier that accepted two spellings of a
size or root would let a log show different bytes for one tree head. Standard library and
``cryptography`` only: the offline verifier imports this.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from audit.offline.errors import (
    CheckpointOriginError,
    InvalidNoteSignatureError,
    MalformedCheckpointError,
    UnverifiedNoteError,
)
from audit.offline.note import NoteSigner, NoteVerifier, open_note

ROOT_SIZE = 32
MAX_TREE_SIZE = 2**64 - 1
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
_CONTROL = re.compile(r"[\x00-\x1f]")
_CLAIM_CHARS = 80


def _check_line(what: str, line: str) -> None:
    """Raises MalformedCheckpointError if a text line is empty or has a control character."""
    if not line:
        raise MalformedCheckpointError(f"got an empty {what}, want a non-empty line")
    if (match := _CONTROL.search(line)) is not None:
        raise MalformedCheckpointError(
            f"{what} {line!r} has control character {match.group()!r}, want none"
        )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: origin, tree size and RFC 6962 root, plus optional extension lines.

    Raises:
        MalformedCheckpointError: on an empty origin or extension line, a control character
            (newline included) in either, a size outside 0..2**64-1, or a root not of 32 bytes.
    """

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line("origin", self.origin)
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedCheckpointError(f"tree size {self.size!r}: want 0..{MAX_TREE_SIZE}")
        if len(self.root) != ROOT_SIZE:
            raise MalformedCheckpointError(
                f"checkpoint of size {self.size}: got a {len(self.root)}-byte root, "
                f"want {ROOT_SIZE}"
            )
        for extension in self.extensions:
            _check_line("extension line", extension)


def format_checkpoint(checkpoint: Checkpoint) -> str:
    """The note text of a checkpoint: origin, size, base64 root and extensions, one per line.

    The ``Checkpoint`` constructor already checked every field, so this cannot fail.
    """
    root = base64.b64encode(checkpoint.root).decode("ascii")
    lines = (checkpoint.origin, str(checkpoint.size), root, *checkpoint.extensions)
    return "".join(f"{line}\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text, accepting only its one canonical spelling.

    Raises:
        MalformedCheckpointError: naming what is wrong: no final newline, fewer than three
            lines, an empty line, an empty origin, a size that is not plain decimal (leading
            zeros, sign, spaces) or exceeds 2**64-1, or a root that is not the canonical
            standard base64 of 32 bytes.
    """
    if not text.endswith("\n"):
        raise MalformedCheckpointError("text does not end with a newline, want one")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedCheckpointError(
            f"got {len(lines)} lines, want at least 3 (origin, size, root)"
        )
    origin, size_line, root_line, *extensions = lines
    _check_line("origin", origin)
    if not _SIZE.fullmatch(size_line) or int(size_line) > MAX_TREE_SIZE:
        raise MalformedCheckpointError(
            f"tree size {size_line[:_CLAIM_CHARS]!r}: want decimal 0..{MAX_TREE_SIZE} "
            "without sign or leading zeros"
        )
    size = int(size_line)
    try:
        root = base64.b64decode(root_line, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise MalformedCheckpointError(
            f"checkpoint of size {size}: root is not standard base64"
        ) from exc
    if len(root) != ROOT_SIZE:
        raise MalformedCheckpointError(
            f"checkpoint of size {size}: got a {len(root)}-byte root, want {ROOT_SIZE}"
        )
    if base64.b64encode(root).decode("ascii") != root_line:
        raise MalformedCheckpointError(f"checkpoint of size {size}: root base64 is not canonical")
    return Checkpoint(origin, size, root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """The checkpoint as a signed note, ready to publish."""
    return signer.sign(format_checkpoint(checkpoint))


def _claimed(signed_note: str) -> str:
    """How an unverified checkpoint describes itself: for error messages only, never trusted."""
    lines = signed_note.split("\n", 2)
    if len(lines) < 3:
        return "checkpoint"
    origin, size = (line[:_CLAIM_CHARS] for line in lines[:2])
    return f"checkpoint claiming origin {origin!r} and size {size!r}"


def verify_checkpoint(signed_note: str, verifier: NoteVerifier, *, origin: str) -> Checkpoint:
    """Verify a signed checkpoint of the log ``origin`` and return its tree head.

    Only the log's own key is trusted here; other signatures (witness cosignatures) are ignored.

    Raises:
        MalformedNoteError: the signed note is malformed.
        InvalidNoteSignatureError: the log key's signature does not verify (the checkpoint was
            changed after signing); the message names the claimed size.
        UnverifiedNoteError: no signature by the log key.
        MalformedCheckpointError: the signed text is not a checkpoint.
        CheckpointOriginError: the checkpoint belongs to another log.
    """
    # Steps: (1) open the note with the log's key, which verifies the signature over the
    # stored text; (2) parse that text strictly; (3) check it is this log's checkpoint.
    # (1) signature
    try:
        note = open_note(signed_note, [verifier])
    except InvalidNoteSignatureError as exc:
        raise InvalidNoteSignatureError(
            exc.key_name, exc.key_id, exc.reason, subject=_claimed(signed_note)
        ) from exc
    except UnverifiedNoteError as exc:
        raise UnverifiedNoteError(exc.trusted, subject=_claimed(signed_note)) from exc
    # (2) body
    checkpoint = parse_checkpoint(note.text)
    # (3) origin
    if checkpoint.origin != origin:
        raise CheckpointOriginError(checkpoint.origin, origin, checkpoint.size)
    return checkpoint
