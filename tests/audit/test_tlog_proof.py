"""Single-event evidence: a C2SP tlog-proof carrying the signed event, verified offline."""

from __future__ import annotations

import base64

import pytest

from api.bootstrap import open_transparency_log
from audit.log.transparency_log import ProofRequestError
from audit.offline.errors import (
    EventTamperedError,
    InvalidNoteSignatureError,
    MalformedProofError,
    RootMismatchError,
    UnknownSigningKeyError,
)
from audit.offline.keys import KeyManifest
from audit.offline.tlog_proof import HEADER, parse_tlog_proof, verify_event_evidence
from tests.domain.factories import approved_filer, uscc


@pytest.fixture
def proven(ledger, settings):
    filer_id = approved_filer(ledger, uscc(450))
    approved_filer(ledger, uscc(451))
    log = open_transparency_log(ledger, settings)
    log.sequence()
    text = log.event_evidence(filer_id, 2)
    yield filer_id, text, log, KeyManifest.load(settings.public_keys_file).trusted_keys
    log.store.close()


def _verify(text, log, keys):
    return verify_event_evidence(
        text, log_key=log.signer.verifier(), origin=log.origin, event_keys=keys
    )


def test_evidence_proves_the_signed_event_at_its_leaf(proven):
    filer_id, text, log, keys = proven
    assert text.startswith(HEADER + "\nextra ")
    verified = _verify(text, log, keys)
    assert (verified.originator_id, verified.version, verified.leaf_index) == (filer_id, 2, 1)
    assert verified.topic.endswith("Filer.FilerRealNameVerified")
    assert verified.state["reference"] == "RN-0001"
    assert verified.checkpoint.size == 6


def _replace_line(text, prefix, change):
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if line.startswith(prefix):
            lines[number] = change(line)
            break
    return "\n".join(lines)


def _flip_extra_byte(line):
    raw = bytearray(base64.b64decode(line.removeprefix("extra ")))
    raw[-2] ^= 1
    return "extra " + base64.b64encode(bytes(raw)).decode()


def _without_extra(text):
    return "\n".join(line for line in text.split("\n") if not line.startswith("extra "))


def _flip_signature_char(text):
    replacement = "A" if text[-4] != "A" else "B"
    return text[:-4] + replacement + text[-3:]


CASES = [
    {"desc": "changed event byte", "change": lambda t: _replace_line(t, "extra ", _flip_extra_byte),
     "want_error": RootMismatchError},
    {"desc": "wrong index", "change": lambda t: t.replace("index 1\n", "index 2\n"),
     "want_error": RootMismatchError},
    {"desc": "no extra", "change": _without_extra,
     "want_error": MalformedProofError},
    {"desc": "leading zero index", "change": lambda t: t.replace("index 1\n", "index 01\n"),
     "want_error": MalformedProofError},
    {"desc": "bad checkpoint signature", "change": _flip_signature_char,
     "want_error": InvalidNoteSignatureError},
    {"desc": "wrong header", "change": lambda t: t.replace(HEADER, "c2sp.org/tlog-proof@v2"),
     "want_error": MalformedProofError},
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c["desc"] for c in CASES])
def test_tampered_evidence_is_refused(proven, case):
    _, text, log, keys = proven
    with pytest.raises(case["want_error"]):
        _verify(case["change"](text), log, keys)


def test_evidence_needs_the_event_key(proven):
    _, text, log, _ = proven
    with pytest.raises(UnknownSigningKeyError):
        _verify(text, log, {})


def test_parse_is_strict_about_hash_sizes():
    with pytest.raises(MalformedProofError, match="32"):
        parse_tlog_proof(f"{HEADER}\nindex 0\nAAAA\n\ncheckpoint")


def test_evidence_for_an_unsequenced_event_is_refused(ledger, settings):
    filer_id = approved_filer(ledger, uscc(452))
    log = open_transparency_log(ledger, settings)
    try:
        with pytest.raises(ProofRequestError):
            log.event_evidence(filer_id, 1)
    finally:
        log.store.close()


def test_evidence_over_a_tampered_stored_event_is_refused(ledger, settings):
    from tests.domain.test_tamper import _rewrite_state

    filer_id = approved_filer(ledger, uscc(453))
    log = open_transparency_log(ledger, settings)
    try:
        log.sequence()
        _rewrite_state(settings, filer_id, 1, lambda s: s[:-2] + b"!}")
        with pytest.raises(RootMismatchError):
            log.event_evidence(filer_id, 1)
    finally:
        log.store.close()


def test_a_flipped_event_byte_with_recomputed_leaf_is_caught_by_the_event_signature(proven):
    # Even if an attacker could make the inclusion hold, the event's own signature fails:
    # checked directly on the leaf data here.
    from audit.offline.event_signature import verify_event
    from audit.offline.log_leaf import parse_log_leaf_data

    _, text, _, keys = proven
    extra = parse_tlog_proof(text).extra
    assert extra is not None
    originator, version, topic, stored = parse_log_leaf_data(extra)
    with pytest.raises(EventTamperedError):
        verify_event(originator, version, topic, stored[:-2] + b"!}", keys)
