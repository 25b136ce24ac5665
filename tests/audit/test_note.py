"""C2SP signed notes: the Go sumdb vector, key strings, and every tampering rejected by type.

The vector ../shared/vectors/signed-note.json is the example of golang.org/x/mod sumdb/note
(note.go doc comment and note_test.go, BSD-3-Clause): its ``signed_note`` is the output of
``note.Sign(&note.Note{Text: text}, note.NewSigner(signer_key))`` in Go.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from audit.offline.errors import (
    InvalidNoteSignatureError,
    KeyConfigurationError,
    MalformedNoteError,
    UnverifiedNoteError,
    VerificationError,
)
from audit.offline.note import (
    MAX_SIGNATURES,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    note_key_id,
    open_note,
)

VECTOR = json.loads(
    (Path(__file__).resolve().parents[3] / "shared" / "vectors" / "signed-note.json").read_text(
        encoding="utf-8"
    )
)
TEXT: str = VECTOR["text"]
SIGNED: str = VECTOR["signed_note"]
SIGNER = NoteSigner.from_private_key_string(VECTOR["signer_key"])
VERIFIER = NoteVerifier.from_verifier_key_string(VECTOR["verifier_key"])
KEY_ID = int(VECTOR["key_id_hex"], 16)
# A second, unrelated key under the same name (so a different key id) and one under its own.
OTHER = NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
WITNESS = NoteSigner("witness.example/w1", Ed25519PrivateKey.from_private_bytes(bytes(32)))

SIGNATURE_LINE = SIGNED[len(TEXT) + 1 :]
BLOB = base64.b64decode(SIGNATURE_LINE.split(" ")[2])


def _with_blob(blob: bytes, name: str = "PeterNeumann") -> str:
    """The vector's text with one signature line carrying ``blob``."""
    return f"{TEXT}\n\u2014 {name} {base64.b64encode(blob).decode()}\n"


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _non_canonical(encoded: str) -> str:
    """Same bytes, but the unused low bits of the last base64 digit set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    stripped = encoded.rstrip("=")
    last = alphabet[alphabet.index(stripped[-1]) ^ 0x01]
    return stripped[:-1] + last + encoded[len(stripped) :]


TRUSTED = {"vector": [VERIFIER], "other": [OTHER.verifier()], "none": []}

TAMPERED = [
    {
        "desc": "one text byte changed",
        "note": SIGNED.replace("think", "thunk"),
        "trusted": "vector",
        "want_error": InvalidNoteSignatureError,
    },
    {
        "desc": "one signature byte changed",
        "note": _with_blob(_flip(BLOB, 20)),
        "trusted": "vector",
        "want_error": InvalidNoteSignatureError,
    },
    {
        "desc": "signature truncated to 63 bytes",
        "note": _with_blob(BLOB[:-1]),
        "trusted": "vector",
        "want_error": InvalidNoteSignatureError,
    },
    {
        "desc": "a bad signature by the trusted key beside its good one",
        "note": SIGNED + _with_blob(_flip(BLOB, 30))[len(TEXT) + 1 :],
        "trusted": "vector",
        "want_error": InvalidNoteSignatureError,
    },
    {
        "desc": "wrong key: only another key of the same name is trusted",
        "note": SIGNED,
        "trusted": "other",
        "want_error": UnverifiedNoteError,
    },
    {
        "desc": "no key trusted at all",
        "note": SIGNED,
        "trusted": "none",
        "want_error": UnverifiedNoteError,
    },
    {
        "desc": "signed by an unknown key only",
        "note": WITNESS.sign(TEXT),
        "trusted": "vector",
        "want_error": UnverifiedNoteError,
    },
    {
        "desc": "wrong key id in the signature line",
        "note": _with_blob(_flip(BLOB, 0)),
        "trusted": "vector",
        "want_error": UnverifiedNoteError,
    },
    {
        "desc": "wrong key name in the signature line",
        "note": SIGNED.replace("\u2014 PeterNeumann ", "\u2014 PeterNeuman "),
        "trusted": "vector",
        "want_error": UnverifiedNoteError,
    },
    {
        "desc": "missing blank line before the signatures",
        "note": TEXT + SIGNATURE_LINE,
        "trusted": "vector",
        "want_error": MalformedNoteError,
    },
    {
        "desc": "malformed base64 (a character outside the alphabet)",
        "note": SIGNED.replace("x08go", "x08g!"),
        "trusted": "vector",
        "want_error": MalformedNoteError,
    },
    {
        "desc": "base64 without its padding",
        "note": SIGNED.replace("=\n", "\n"),
        "trusted": "vector",
        "want_error": MalformedNoteError,
    },
    {
        "desc": "non-canonical base64 (unused bits set)",
        "note": _with_blob(BLOB).replace(
            base64.b64encode(BLOB).decode(), _non_canonical(base64.b64encode(BLOB).decode())
        ),
        "trusted": "vector",
        "want_error": MalformedNoteError,
    },
    {
        "desc": "signature of only a key id",
        "note": _with_blob(BLOB[:4]),
        "trusted": "vector",
        "want_error": MalformedNoteError,
    },
    {
        "desc": f"too many signatures ({MAX_SIGNATURES + 1} lines)",
        "note": SIGNED + SIGNATURE_LINE * MAX_SIGNATURES,
        "trusted": "vector",
        "want_error": MalformedNoteError,
    },
    {
        "desc": "note not ending in a newline",
        "note": SIGNED[:-1],
        "trusted": "vector",
        "want_error": MalformedNoteError,
    },
    {
        "desc": "no signature lines after the blank line",
        "note": TEXT + "\n",
        "trusted": "vector",
        "want_error": MalformedNoteError,
    },
    {
        "desc": "signature line with a hyphen instead of an em dash",
        "note": SIGNED.replace("\u2014 ", "- "),
        "trusted": "vector",
        "want_error": MalformedNoteError,
    },
    {
        "desc": "signature line without a space before the signature",
        "note": SIGNED.replace("PeterNeumann ", "PeterNeumann"),
        "trusted": "vector",
        "want_error": MalformedNoteError,
    },
    {
        "desc": "key name with a plus",
        "note": _with_blob(BLOB, name="Peter+Neumann"),
        "trusted": "vector",
        "want_error": MalformedNoteError,
    },
    {
        "desc": "carriage return in the text",
        "note": SIGNED.replace("problem,\n", "problem,\r\n"),
        "trusted": "vector",
        "want_error": MalformedNoteError,
    },
    {
        "desc": "tab in a signature line",
        "note": SIGNED.replace("\u2014 PeterNeumann ", "\u2014 PeterNeumann\t"),
        "trusted": "vector",
        "want_error": MalformedNoteError,
    },
    {
        "desc": "lone surrogate in the text",
        "note": SIGNED.replace("answer", "answ\udc80r"),
        "trusted": "vector",
        "want_error": MalformedNoteError,
    },
]


def test_vector_note_verifies_with_the_vector_key():
    note = open_note(SIGNED, [VERIFIER])
    assert note == Note(TEXT, (NoteSignature("PeterNeumann", KEY_ID),))
    assert note.signatures == (("PeterNeumann", 0xC74F20A3),)


def test_signing_the_vector_text_reproduces_the_go_signed_note_exactly():
    # Ed25519 (RFC 8032) is deterministic: same key and text, same bytes as Go's note.Sign.
    assert SIGNER.sign(TEXT) == SIGNED


def test_key_strings_round_trip_and_match_the_vector():
    assert SIGNER.name == VECTOR["name"]
    assert SIGNER.key_id == VERIFIER.key_id == KEY_ID
    assert f"{SIGNER.key_id:08x}" == VECTOR["key_id_hex"]
    assert SIGNER.private_key_string() == VECTOR["signer_key"]
    assert SIGNER.verifier_key_string() == VECTOR["verifier_key"]
    assert SIGNER.verifier().verifier_key_string() == VECTOR["verifier_key"]
    assert VERIFIER.verifier_key_string() == VECTOR["verifier_key"]
    assert SIGNER.verifier() == VERIFIER
    generated = NoteSigner("example.com/log", Ed25519PrivateKey.generate())
    again = NoteSigner.from_private_key_string(generated.private_key_string())
    assert again.verifier_key_string() == generated.verifier_key_string()
    assert NoteVerifier.from_verifier_key_string(generated.verifier_key_string()) == (
        generated.verifier()
    )


def test_key_id_binds_the_name():
    public_key = SIGNER.private_key.public_key()
    assert note_key_id("PeterNeumann", public_key) == KEY_ID
    assert note_key_id("PeterNeumann2", public_key) != KEY_ID


@pytest.mark.parametrize("case", TAMPERED, ids=[c["desc"] for c in TAMPERED])
def test_tampered_note_is_rejected_with_a_typed_error(case):
    with pytest.raises(case["want_error"]) as caught:
        open_note(case["note"], TRUSTED[case["trusted"]])
    assert isinstance(caught.value, VerificationError)


def test_invalid_signature_error_names_the_key():
    with pytest.raises(InvalidNoteSignatureError, match=r"PeterNeumann\+c74f20a3") as caught:
        open_note(SIGNED.replace("think", "thunk"), [VERIFIER])
    assert (caught.value.key_name, caught.value.key_id) == ("PeterNeumann", KEY_ID)
    assert caught.value.__cause__ is not None


def test_unverified_note_error_names_the_trusted_keys():
    with pytest.raises(UnverifiedNoteError, match=r"want one by PeterNeumann\+c74f20a3"):
        open_note(WITNESS.sign(TEXT), [VERIFIER])


def test_unknown_signatures_are_ignored_beside_a_trusted_one():
    cosigned = SIGNED + WITNESS.sign(TEXT)[len(TEXT) + 1 :]
    assert open_note(cosigned, [VERIFIER]).signatures == (("PeterNeumann", KEY_ID),)
    both = open_note(cosigned, [VERIFIER, WITNESS.verifier()])
    assert both.signatures == (("PeterNeumann", KEY_ID), ("witness.example/w1", WITNESS.key_id))


def test_a_signature_from_an_unknown_algorithm_is_ignored():
    # Another key type (say ML-DSA) may sign with a longer signature; unknown keys are skipped.
    foreign = "\u2014 pq.example/k " + base64.b64encode(b"\x01\x02\x03\x04" + bytes(100)).decode()
    assert open_note(f"{SIGNED}{foreign}\n", [VERIFIER]).text == TEXT


def test_repeated_trusted_signature_is_reported_once():
    assert open_note(SIGNED + SIGNATURE_LINE, [VERIFIER]).signatures == (("PeterNeumann", KEY_ID),)


def test_up_to_the_signature_limit_is_accepted():
    note = SIGNED + SIGNATURE_LINE * (MAX_SIGNATURES - 1)
    assert open_note(note, [VERIFIER]).text == TEXT


def test_text_may_contain_empty_lines_the_last_one_separates_signatures():
    text = "first paragraph\n\nsecond paragraph\n\n"
    assert open_note(SIGNER.sign(text), [VERIFIER]).text == text


# Any characters but control ones and lone surrogates; newlines (so empty lines) allowed.
NOTE_CHARACTERS = st.characters(exclude_categories=["Cs"], min_codepoint=0x20) | st.just("\n")


@given(st.text(NOTE_CHARACTERS, max_size=200).map(lambda body: body + "\n"))
def test_any_valid_text_signs_and_opens_to_itself(text):
    assert open_note(SIGNER.sign(text), [VERIFIER]).text == text


@pytest.mark.parametrize(
    ("desc", "text"),
    [
        ("text not ending in a newline", TEXT[:-1]),
        ("empty text", ""),
        ("control character in the text", "bell\x07\n"),
        ("lone surrogate in the text", "\udc80\n"),
    ],
)
def test_signer_refuses_a_text_that_is_not_a_note_text(desc, text):
    with pytest.raises(MalformedNoteError):
        SIGNER.sign(text)


VKEY: str = VECTOR["verifier_key"]
SKEY: str = VECTOR["signer_key"]
ALGORITHM_2 = base64.b64encode(b"\x02" + bytes(32)).decode()
MALFORMED_KEYS = [
    {"desc": "verifier key id edited", "key": VKEY.replace("c74f20a3", "c74f20a4")},
    {"desc": "verifier key renamed", "key": "Peter" + VKEY},
    {"desc": "verifier key missing a field", "key": "PeterNeumann+c74f20a3"},
    {"desc": "verifier key id not hex", "key": VKEY.replace("c74f20a3", "c74f20ag")},
    {"desc": "verifier key id too short", "key": VKEY.replace("c74f20a3", "74f20a3")},
    {"desc": "verifier key with space in name", "key": "Peter Neumann+c74f20a3+ARpc"},
    {"desc": "verifier key not base64", "key": "PeterNeumann+c74f20a3+!!!!"},
    {"desc": "verifier key of another algorithm", "key": f"PeterNeumann+c74f20a3+{ALGORITHM_2}"},
    {
        "desc": "verifier key of 31 bytes",
        "key": "PeterNeumann+c74f20a3+" + base64.b64encode(b"\x01" + bytes(31)).decode(),
    },
    {"desc": "signer key without PRIVATE+KEY", "key": SKEY[len("PRIVATE+KEY+") :]},
    {"desc": "signer key id edited", "key": SKEY.replace("c74f20a3", "00000000")},
    {"desc": "signer key renamed", "key": SKEY.replace("Peter", "Pete")},
    {"desc": "signer key missing a field", "key": "PRIVATE+KEY+PeterNeumann+c74f20a3"},
    {
        "desc": "signer key of another algorithm",
        "key": f"PRIVATE+KEY+PeterNeumann+c74f20a3+{ALGORITHM_2}",
    },
]


@pytest.mark.parametrize("case", MALFORMED_KEYS, ids=[c["desc"] for c in MALFORMED_KEYS])
def test_malformed_key_strings_are_rejected(case):
    parse = (
        NoteSigner.from_private_key_string
        if case["desc"].startswith("signer")
        else NoteVerifier.from_verifier_key_string
    )
    with pytest.raises(KeyConfigurationError):
        parse(case["key"])


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u00a0b", "tab\there"])
def test_invalid_key_names_are_refused(name):
    with pytest.raises(KeyConfigurationError):
        NoteSigner(name, SIGNER.private_key)
    with pytest.raises(KeyConfigurationError):
        NoteVerifier(name, SIGNER.private_key.public_key())


def test_two_different_keys_with_one_name_and_id_are_refused():
    forged = OTHER.verifier()
    object.__setattr__(forged, "key_id", KEY_ID)  # a crafted 32-bit collision
    with pytest.raises(KeyConfigurationError):
        open_note(SIGNED, [VERIFIER, forged])


def test_the_same_key_listed_twice_is_fine():
    assert open_note(SIGNED, [VERIFIER, SIGNER.verifier()]).text == TEXT
