"""The product-index note: the log's signed statement of its map roots at one checkpoint.

A companion signed note (audit.offline.note), signed by the log's own key, beside — not inside
— the checkpoint of the same tree size (docs/decisions.md, "The product index is committed by
a companion note"). Its text is exactly::

    ppl-product-index/v1\\n
    <origin>\\n
    <tree size, decimal>\\n
    <base64 of the checkpoint's RFC 6962 root>\\n
    product-keys <entries, decimal> <base64 of the map root>\\n
    patents <entries, decimal> <base64 of the map root>\\n

The first line is not the log's origin, so no checkpoint verifier reads this note as a
checkpoint of the log (which would otherwise carry the map lines as extension lines); the
origin, size and root bind it to exactly one checkpoint. Checkpoints stay byte-identical to
C2SP tlog-checkpoint without extensions, which every C2SP verifier and witness accepts.
Standard library and ``cryptography`` only.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Final

from audit.offline.checkpoint import Checkpoint
from audit.offline.errors import IndexNoteError
from audit.offline.note import NoteSigner, NoteVerifier, open_note
from audit.offline.product_index import MAPS

INDEX_NOTE_HEADER: Final = "ppl-product-index/v1"
_NUMBER = re.compile(r"0|[1-9][0-9]{0,19}")
_HASH_SIZE = 32


@dataclass(frozen=True, slots=True)
class MapHead:
    """One map's root and number of entries."""

    entries: int
    root: bytes


@dataclass(frozen=True, slots=True)
class IndexNote:
    """The roots of the index at one checkpoint (origin, size and log root)."""

    origin: str
    tree_size: int
    log_root: bytes
    maps: dict[bytes, MapHead]

    def head(self, map_id: bytes) -> MapHead:
        return self.maps[map_id]

    def require_checkpoint(self, checkpoint: Checkpoint) -> None:
        """This note is of ``checkpoint`` (same origin, size and root).

        Raises:
            IndexNoteError: naming the field that differs.
        """
        for what, mine, theirs in (
            ("origin", self.origin, checkpoint.origin),
            ("tree size", self.tree_size, checkpoint.size),
            ("log root", self.log_root.hex(), checkpoint.root.hex()),
        ):
            if mine != theirs:
                raise IndexNoteError(
                    f"its {what} is {mine}, the checkpoint's is {theirs}", self.tree_size
                )


def format_index_note(note: IndexNote) -> str:
    lines = [
        INDEX_NOTE_HEADER,
        note.origin,
        str(note.tree_size),
        base64.b64encode(note.log_root).decode("ascii"),
    ]
    for map_id in MAPS:
        head = note.maps[map_id]
        root = base64.b64encode(head.root).decode("ascii")
        lines.append(f"{map_id.decode('ascii')} {head.entries} {root}")
    return "".join(f"{line}\n" for line in lines)


def sign_index_note(note: IndexNote, signer: NoteSigner) -> str:
    return signer.sign(format_index_note(note))


def _hash(text: str, what: str, size: int | None) -> bytes:
    try:
        value = base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise IndexNoteError(f"{what} is not standard base64", size) from None
    if len(value) != _HASH_SIZE or base64.b64encode(value).decode("ascii") != text:
        raise IndexNoteError(f"{what}: want the canonical base64 of 32 bytes", size)
    return value


def _number(text: str, what: str, size: int | None) -> int:
    if not _NUMBER.fullmatch(text):
        raise IndexNoteError(f"{what} {text[:40]!r}: want plain decimal", size)
    return int(text)


def parse_index_note(text: str) -> IndexNote:
    """Parse an index note's text; one spelling only.

    Raises:
        IndexNoteError: naming the line that is wrong.
    """
    if not text.endswith("\n"):
        raise IndexNoteError("text does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) != 4 + len(MAPS):
        raise IndexNoteError(f"got {len(lines)} lines, want {4 + len(MAPS)}")
    header, origin, size_line, root_line, *map_lines = lines
    if header != INDEX_NOTE_HEADER:
        raise IndexNoteError(f"first line {header[:40]!r}: want {INDEX_NOTE_HEADER!r}")
    if not origin or any(ord(c) < 0x20 for c in origin):
        raise IndexNoteError("empty origin or a control character in it")
    size = _number(size_line, "tree size", None)
    log_root = _hash(root_line, "log root", size)
    maps: dict[bytes, MapHead] = {}
    for map_id, line in zip(MAPS, map_lines, strict=True):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != map_id.decode("ascii"):
            raise IndexNoteError(
                f"map line {line[:60]!r}: want '{map_id.decode('ascii')} <entries> <root>'", size
            )
        entries = _number(parts[1], f"{parts[0]} entries", size)
        maps[map_id] = MapHead(entries, _hash(parts[2], f"{parts[0]} root", size))
    return IndexNote(origin, size, log_root, maps)


def verify_index_note(
    signed_note: str, verifier: NoteVerifier, checkpoint: Checkpoint
) -> IndexNote:
    """Verify an index note signed by the log's key and bound to ``checkpoint`` (verified by
    the caller).

    Raises:
        MalformedNoteError, InvalidNoteSignatureError, UnverifiedNoteError: the signature.
        IndexNoteError: the text is not an index note, or not of this checkpoint.
    """
    note = parse_index_note(open_note(signed_note, [verifier]).text)
    note.require_checkpoint(checkpoint)
    return note
