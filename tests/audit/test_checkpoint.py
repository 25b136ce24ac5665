"""C2SP checkpoints: one canonical text per tree head, signed and verified as a note."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from audit.offline.checkpoint import (
    MAX_TREE_SIZE,
    Checkpoint,
    format_checkpoint,
    parse_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
)
from audit.offline.errors import (
    CheckpointOriginError,
    InvalidNoteSignatureError,
    MalformedCheckpointError,
    MalformedNoteError,
    UnverifiedNoteError,
    VerificationError,
)
from audit.offline.note import NoteSigner

# The example of c2sp.org/tlog-checkpoint (its signature is by a key we do not have).
SPEC_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")

ORIGIN = "ledger.example/ppl"
LOG = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
INTRUDER = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(32)))
ROOT = bytes(range(32))
CHECKPOINT = Checkpoint(ORIGIN, 20852163, ROOT)
SIGNED = sign_checkpoint(CHECKPOINT, LOG)
BODY = format_checkpoint(CHECKPOINT)
ROOT_LINE = base64.b64encode(ROOT).decode()
OTHER_ROOT_LINE = base64.b64encode(bytes(32)).decode()


def test_spec_example_parses_and_formats_back_byte_for_byte():
    checkpoint = parse_checkpoint(SPEC_TEXT)
    assert checkpoint == Checkpoint("example.com/behind-the-sofa", 20852163, SPEC_ROOT)
    assert format_checkpoint(checkpoint) == SPEC_TEXT


def test_round_trip_with_extension_lines():
    checkpoint = Checkpoint(ORIGIN, 0, bytes(32), ("ext one", "\u2014 ext two"))
    text = format_checkpoint(checkpoint)
    assert text == f"{ORIGIN}\n0\n{OTHER_ROOT_LINE}\next one\n\u2014 ext two\n"
    assert parse_checkpoint(text) == checkpoint


@given(
    origin=st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=40),
    size=st.integers(0, MAX_TREE_SIZE),
    root=st.binary(min_size=32, max_size=32),
)
def test_every_checkpoint_round_trips_through_a_signed_note(origin, size, root):
    checkpoint = Checkpoint(origin, size, root)
    assert parse_checkpoint(format_checkpoint(checkpoint)) == checkpoint
    signed = sign_checkpoint(checkpoint, LOG)
    assert verify_checkpoint(signed, LOG.verifier(), origin=origin) == checkpoint


def test_signed_checkpoint_verifies():
    assert SIGNED.startswith(BODY + "\n\u2014 " + ORIGIN + " ")
    assert verify_checkpoint(SIGNED, LOG.verifier(), origin=ORIGIN) == CHECKPOINT


def test_witness_cosignatures_are_ignored():
    witness = NoteSigner("witness.example/w", Ed25519PrivateKey.generate())
    cosigned = SIGNED + witness.sign(BODY)[len(BODY) + 1 :]
    assert verify_checkpoint(cosigned, LOG.verifier(), origin=ORIGIN) == CHECKPOINT


def _flip_signature(signed: str) -> str:
    line = signed[len(BODY) + 1 :]
    prefix, encoded = line.rsplit(" ", 1)
    blob = bytearray(base64.b64decode(encoded))
    blob[40] ^= 0x01
    return BODY + "\n" + prefix + " " + base64.b64encode(bytes(blob)).decode() + "\n"


TAMPERED = [
    {
        "desc": "tree size changed",
        "note": SIGNED.replace("\n20852163\n", "\n20852164\n"),
        "origin": ORIGIN,
        "want_error": InvalidNoteSignatureError,
        "names": "20852164",
    },
    {
        "desc": "root changed",
        "note": SIGNED.replace(ROOT_LINE, OTHER_ROOT_LINE),
        "origin": ORIGIN,
        "want_error": InvalidNoteSignatureError,
        "names": "20852163",
    },
    {
        "desc": "origin line changed",
        "note": SIGNED.replace(f"{ORIGIN}\n", "ledger.example/other\n", 1),
        "origin": "ledger.example/other",
        "want_error": InvalidNoteSignatureError,
        "names": "20852163",
    },
    {
        "desc": "signature byte changed",
        "note": _flip_signature(SIGNED),
        "origin": ORIGIN,
        "want_error": InvalidNoteSignatureError,
        "names": "20852163",
    },
    {
        "desc": "signed by another key of the same name",
        "note": sign_checkpoint(CHECKPOINT, INTRUDER),
        "origin": ORIGIN,
        "want_error": UnverifiedNoteError,
        "names": "20852163",
    },
    {
        "desc": "validly signed checkpoint of another log",
        "note": SIGNED,
        "origin": "ledger.example/other",
        "want_error": CheckpointOriginError,
        "names": "20852163",
    },
    {
        "desc": "validly signed text that is not a checkpoint",
        "note": LOG.sign(f"{ORIGIN}\n020852163\n{ROOT_LINE}\n"),
        "origin": ORIGIN,
        "want_error": MalformedCheckpointError,
        "names": "020852163",
    },
    {
        "desc": "signature block removed",
        "note": BODY,
        "origin": ORIGIN,
        "want_error": MalformedNoteError,
        "names": "",
    },
]


@pytest.mark.parametrize("case", TAMPERED, ids=[c["desc"] for c in TAMPERED])
def test_tampered_checkpoint_is_rejected_naming_the_size(case):
    with pytest.raises(case["want_error"]) as caught:
        verify_checkpoint(case["note"], LOG.verifier(), origin=case["origin"])
    assert isinstance(caught.value, VerificationError)
    assert case["names"] in str(caught.value)


def test_signature_error_names_the_log_key():
    with pytest.raises(InvalidNoteSignatureError) as caught:
        verify_checkpoint(SIGNED.replace(ROOT_LINE, OTHER_ROOT_LINE), LOG.verifier(), origin=ORIGIN)
    assert (caught.value.key_name, caught.value.key_id) == (ORIGIN, LOG.key_id)
    assert isinstance(caught.value.__cause__, InvalidNoteSignatureError)


MALFORMED_BODIES = [
    {"desc": "leading zero in the size", "text": f"{ORIGIN}\n007\n{ROOT_LINE}\n"},
    {"desc": "negative size", "text": f"{ORIGIN}\n-1\n{ROOT_LINE}\n"},
    {"desc": "size with a plus sign", "text": f"{ORIGIN}\n+1\n{ROOT_LINE}\n"},
    {"desc": "size with a space", "text": f"{ORIGIN}\n 1\n{ROOT_LINE}\n"},
    {"desc": "size in non-ASCII digits", "text": f"{ORIGIN}\n\u0661\n{ROOT_LINE}\n"},
    {"desc": "size above 2**64-1", "text": f"{ORIGIN}\n{2**64}\n{ROOT_LINE}\n"},
    {"desc": "empty size", "text": f"{ORIGIN}\n\n{ROOT_LINE}\n"},
    {"desc": "31-byte root", "text": f"{ORIGIN}\n5\n{base64.b64encode(bytes(31)).decode()}\n"},
    {"desc": "33-byte root", "text": f"{ORIGIN}\n5\n{base64.b64encode(bytes(33)).decode()}\n"},
    {"desc": "root without padding", "text": f"{ORIGIN}\n5\n{ROOT_LINE.rstrip('=')}\n"},
    {"desc": "root in hex", "text": f"{ORIGIN}\n5\n{ROOT.hex()}\n"},
    {"desc": "root in URL-safe base64", "text": f"{ORIGIN}\n5\n{'_' * 43}=\n"},
    {"desc": "root with unused bits set", "text": f"{ORIGIN}\n5\n{'A' * 42}B=\n"},
    {"desc": "missing trailing newline", "text": f"{ORIGIN}\n5\n{ROOT_LINE}"},
    {"desc": "empty origin", "text": f"\n5\n{ROOT_LINE}\n"},
    {"desc": "only two lines", "text": f"{ORIGIN}\n5\n"},
    {"desc": "empty extension line", "text": f"{ORIGIN}\n5\n{ROOT_LINE}\n\next\n"},
    {"desc": "carriage return after the origin", "text": f"{ORIGIN}\r\n5\n{ROOT_LINE}\n"},
    {"desc": "empty text", "text": ""},
]  # fmt: skip


@pytest.mark.parametrize("case", MALFORMED_BODIES, ids=[c["desc"] for c in MALFORMED_BODIES])
def test_malformed_checkpoint_body_is_rejected(case):
    with pytest.raises(MalformedCheckpointError):
        parse_checkpoint(case["text"])


def test_root_error_names_the_size():
    with pytest.raises(MalformedCheckpointError, match="checkpoint of size 5: got a 31-byte root"):
        parse_checkpoint(f"{ORIGIN}\n5\n{base64.b64encode(bytes(31)).decode()}\n")


@pytest.mark.parametrize(
    ("desc", "fields"),
    [
        ("empty origin", ("", 1, ROOT, ())),
        ("newline in origin", ("a\nb", 1, ROOT, ())),
        ("negative size", (ORIGIN, -1, ROOT, ())),
        ("size above 2**64-1", (ORIGIN, MAX_TREE_SIZE + 1, ROOT, ())),
        ("boolean size", (ORIGIN, True, ROOT, ())),
        ("31-byte root", (ORIGIN, 1, ROOT[:31], ())),
        ("empty extension line", (ORIGIN, 1, ROOT, ("",))),
        ("newline in extension line", (ORIGIN, 1, ROOT, ("a\nb",))),
    ],
)
def test_invalid_checkpoint_values_are_refused(desc, fields):
    with pytest.raises(MalformedCheckpointError):
        Checkpoint(*fields)
