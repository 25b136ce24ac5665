"""The offline verifier detects every kind of tampering, naming the failing element.

Each case starts from a genuine bundle exported from a real store (SQLite and PostgreSQL),
changes it the way an attacker or a faulty operator would, and checks the typed error and the
exit code. Cases are data (desc, how to tamper, want_error, want_exit).
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.bootstrap import SignedPatentLedger, open_transparency_log
from audit.offline.bundle import parse_event, parse_event_row
from audit.offline.checkpoint import Checkpoint, sign_checkpoint
from audit.offline.errors import (
    CheckpointRootError,
    EventTamperedError,
    InvalidNoteSignatureError,
    LeafOrderError,
    LogRollbackError,
    MalformedBundleError,
    RetiredKeyError,
    UncheckpointedEventError,
    UnknownSigningKeyError,
    UnloggedEventsError,
    UnverifiedNoteError,
    VerificationError,
    VersionContinuityError,
)
from audit.offline.event_signature import EventSigner, EventVerifier, event_identity, verify_event
from audit.offline.keys import KeyManifest
from audit.offline.note import NoteVerifier
from audit.offline.verifier import (
    duplicates_in_bundle,
    exit_code,
    verify_bundle,
    verify_uncheckpointed_events,
)
from audit.signing.key_files import KeyRing, load_private_key, rotate_signing_key
from domain.clock import system_now
from domain.product import new_product
from tests.audit.conftest import export_to
from tests.domain.factories import approved_filer, file, uscc


def _event(line):
    return json.loads(line)


def _flip_state_byte(lines):
    event = _event(lines[3])
    state = bytearray(base64.b64decode(event["state"]))
    state[-3] ^= 0x01
    event["state"] = base64.b64encode(bytes(state)).decode()
    lines[3] = json.dumps(event)
    return lines


def _renumber(lines):
    out = [lines[0]]
    for index, line in enumerate(lines[1:]):
        event = _event(line)
        event["leaf_index"] = index
        out.append(json.dumps(event))
    return out


def _swap(lines, a, b):
    lines[a], lines[b] = lines[b], lines[a]
    return lines


def _header(lines):
    return json.loads(lines[0])


def _with_header(lines, header):
    lines[0] = json.dumps(header)
    return lines


def _forged_event(lines, key):
    """A brand-new event appended at the end, signed by ``key``."""
    signer = EventSigner(key)
    last = _event(lines[-1])
    from uuid import uuid4

    originator = uuid4()
    topic = "domain.filer:Filer.FilerApproved"
    state = b'{"actor":{"id":"mallory","role":"reviewer","scope":null}}'
    sealed = signer.seal(originator, 1, topic, state)
    lines.append(
        json.dumps(
            {
                "leaf_index": last["leaf_index"] + 1,
                "originator_id": str(originator),
                "originator_version": 1,
                "topic": topic,
                "state": base64.b64encode(sealed).decode(),
            }
        )
    )
    return lines


def _bad_checkpoint_signature(lines):
    header = _header(lines)
    note = header["checkpoints"][0]
    body, _, signature_line = note.rstrip("\n").rpartition("\n")
    prefix, _, signature = signature_line.rpartition(" ")
    raw = bytearray(base64.b64decode(signature))
    raw[-1] ^= 0x01
    header["checkpoints"][0] = f"{body}\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
    return _with_header(lines, header)


def _resigned_checkpoint(exported, lines, which):
    """The operator (who holds the log key) signs a false root for an existing size."""
    header = _header(lines)
    sizes = sorted(int(n.split("\n")[1]) for n in header["checkpoints"])
    size = sizes[which]
    forged = sign_checkpoint(Checkpoint(exported.log.origin, size, bytes(32)), exported.log.signer)
    header["checkpoints"] = [
        forged if int(n.split("\n")[1]) == size else n for n in header["checkpoints"]
    ]
    return _with_header(lines, header)


CASES = [
    {"desc": "flipped byte in an event", "tamper": lambda ex, lines: _flip_state_byte(lines),
     "want_error": EventTamperedError, "want_exit": 10},
    {"desc": "deleted event in the middle", "tamper": lambda ex, lines: lines[:5] + lines[6:],
     "want_error": LeafOrderError, "want_exit": 14},
    {"desc": "deleted event in the middle, indices renumbered",
     "tamper": lambda ex, lines: _renumber(lines[:2] + lines[3:]),
     "want_error": VersionContinuityError, "want_exit": 13},
    {"desc": "deleted last event", "tamper": lambda ex, lines: lines[:-1],
     "want_error": LogRollbackError, "want_exit": 22},
    {"desc": "two events swapped", "tamper": lambda ex, lines: _swap(lines, 2, 3),
     "want_error": LeafOrderError, "want_exit": 14},
    {"desc": "two events of different aggregates swapped, indices renumbered",
     "tamper": lambda ex, lines: _renumber(_swap(lines, 5, 6)),
     "want_error": CheckpointRootError, "want_exit": 21},
    {"desc": "forged event signed by an unknown key",
     "tamper": lambda ex, lines: _forged_event(lines, Ed25519PrivateKey.generate()),
     "want_error": UnknownSigningKeyError, "want_exit": 11},
    {"desc": "checkpoint whose root does not match",
     "tamper": lambda ex, lines: _resigned_checkpoint(ex, lines, -1),
     "want_error": CheckpointRootError, "want_exit": 21},
    {"desc": "checkpoint with a bad signature",
     "tamper": lambda ex, lines: _bad_checkpoint_signature(lines),
     "want_error": InvalidNoteSignatureError, "want_exit": 20},
    {"desc": "rolled back: earlier checkpoint not extended by the later one",
     "tamper": lambda ex, lines: _resigned_checkpoint(ex, lines, 0),
     "want_error": LogRollbackError, "want_exit": 22},
]  # fmt: skip


def test_genuine_bundle_verifies(exported):
    report = verify_bundle(exported.path, workers=1)
    assert report.events == len(exported.lines()) - 1
    assert len(report.checkpoints) >= 3
    assert report.checkpoints[-1] == report.events


@pytest.mark.parametrize("case", CASES, ids=[c["desc"] for c in CASES])
def test_tampering_is_detected(exported, case):
    tampered = exported.write(case["tamper"](exported, exported.lines()))
    with pytest.raises(VerificationError) as caught:
        verify_bundle(tampered, workers=1)
    assert type(caught.value) is case["want_error"], caught.value
    assert exit_code(caught.value) == case["want_exit"]


def test_errors_name_the_failing_element(exported):
    lines = exported.lines()
    victim = _event(lines[3])
    with pytest.raises(EventTamperedError) as caught:
        verify_bundle(exported.write(_flip_state_byte(lines)), workers=1)
    assert str(caught.value.originator_id) == victim["originator_id"]
    assert caught.value.version == victim["originator_version"]
    with pytest.raises(LeafOrderError) as order:
        verify_bundle(exported.write(exported.lines()[:5] + exported.lines()[6:]), workers=1)
    assert (order.value.leaf_index, order.value.expected) == (5, 4)


def test_a_checkpoint_kept_from_an_earlier_audit_catches_a_shorter_log(exported, tmp_path):
    later = sign_checkpoint(Checkpoint(exported.log.origin, 10_000, bytes(32)), exported.log.signer)
    with pytest.raises(LogRollbackError) as caught:
        verify_bundle(exported.path, since=later, workers=1)
    assert caught.value.tree_size == 10_000
    kept = exported.log.store.checkpoints()[0].signed_note
    verify_bundle(exported.path, since=kept, workers=1)


def test_pinned_keys_refuse_a_bundle_signed_by_other_keys(exported):
    other = KeyManifest().with_key(Ed25519PrivateKey.generate().public_key(), system_now())
    with pytest.raises(UnknownSigningKeyError):
        verify_bundle(exported.path, event_keys=other, workers=1)


def test_event_signed_by_a_retired_key_after_retirement_is_detected(ledger, settings, tmp_path):
    approved_filer(ledger, uscc(420))
    old_key = load_private_key(settings.key_dir / "dev-signing-key.pem")
    rotate_signing_key(
        new_key_file=tmp_path / "new.pem", manifest_file=settings.public_keys_file,
        now=system_now(),
    )  # fmt: skip
    # A faulty server keeps signing with the retired key (open_keyring would refuse it).
    manifest = KeyManifest.load(settings.public_keys_file)
    rogue = SignedPatentLedger(
        settings.eventsourcing_env(), KeyRing(EventSigner(old_key), manifest)
    )
    try:
        approved_filer(rogue, uscc(421))
    finally:
        rogue.close()
    log = open_transparency_log(ledger, settings)
    try:
        log.sequence()
        bundle = export_to(ledger, log, settings, tmp_path / "retired.bundle")
    finally:
        log.store.close()
    with pytest.raises(RetiredKeyError) as caught:
        verify_bundle(bundle, workers=1)
    assert exit_code(caught.value) == 12
    assert caught.value.leaf_index == 3


def test_parallel_verification_gives_the_same_verdict(exported, monkeypatch):
    from audit.offline import verifier

    monkeypatch.setattr(verifier, "INLINE_LIMIT", 0)
    monkeypatch.setattr(verifier, "CHUNK", 5)
    assert verify_bundle(exported.path, workers=2).events == len(exported.lines()) - 1
    with pytest.raises(EventTamperedError):
        verify_bundle(exported.write(_flip_state_byte(exported.lines())), workers=2)


def test_duplicate_filing_forged_past_the_reservation_is_reported(ledger, settings, tmp_path):
    code = uscc(430)
    filer_id = approved_filer(ledger, code)
    first = file(ledger, code, filer_id, name="重复产品", model="D-1")
    original = ledger.get_product(first)
    other = uscc(431)
    other_id = approved_filer(ledger, other)
    # A server bug (or an insider) saves a second filing of the same key without the reservation.
    from uuid import uuid4

    second = new_product(
        uuid4(), filer_id=str(other_id), filer_uscc=other, name="重复 产品", model="d1",
        variants=[], category="01", finer_code=None, patents=original.patents, data_year=2022,
        figures=original.figures, proof_digests=[], canonical_key=original.canonical_key,
        actor={"id": "user", "role": "filer", "scope": other},
    )  # fmt: skip
    ledger.save(second)
    log = open_transparency_log(ledger, settings)
    try:
        log.sequence()
        bundle = export_to(ledger, log, settings, tmp_path / "dup.bundle")
    finally:
        log.store.close()
    findings = duplicates_in_bundle(bundle, workers=1)
    by_v1, by_v2 = findings.duplicates  # the same product under both rules in force
    assert (by_v1.key_rule, by_v2.key_rule) == (1, 2)
    assert by_v1.canonical_key == original.canonical_key
    for duplicate in (by_v1, by_v2):
        assert {f.filer_uscc for f in duplicate.products} == {code, other}
        assert {f.product_id for f in duplicate.products} == {first, second.id}
    assert findings.mismatched_keys == ()


# --- the fast paths agree with the reference functions ------------------------------------------


def _mutations(data: bytes, seed: int) -> list[bytes]:
    """The bytes themselves, and the same with a byte flipped, removed or appended, truncated."""
    rng = random.Random(seed)  # noqa: S311 (test mutations, not cryptography)
    out = [data, data[: len(data) // 2], data[:84], data + b"x"]
    for _ in range(12):
        position = rng.randrange(len(data))
        flipped = bytearray(data)
        flipped[position] ^= 1 << rng.randrange(8)
        out += [bytes(flipped), data[:position] + data[position + 1 :]]
    return out


def _outcome(call):
    try:
        return ("ok", call())
    except VerificationError as error:
        return ("error", type(error), str(error))


def test_the_event_verifier_agrees_with_verify_event(exported):
    keys = KeyManifest.load(exported.settings.public_keys_file).trusted_keys
    fast = EventVerifier(keys)
    for seed, line in enumerate(exported.lines()[1:]):
        event = parse_event(line, seed + 2)
        identity = event_identity(event.originator_id.bytes, event.version, event.topic)
        for stored in _mutations(event.state, seed):
            want = _outcome(
                lambda s=stored, e=event: verify_event(e.originator_id, e.version, e.topic, s, keys)
            )
            got = _outcome(lambda s=stored, i=identity: fast.verify(i, s))
            if want[0] == "ok":
                assert got == ("ok", (want[1].key_id, want[1].state))
            else:
                assert got == want


def test_parse_event_row_agrees_with_parse_event(exported):
    lines = exported.lines()[1:]
    spellings = [
        lines[0].replace('"originator_version":1', '"originator_version":true'),
        lines[0].upper(),
        " " + lines[0],
        lines[0] + " ",
        lines[0][:-1],
        lines[0].replace('"state":"', '"state":"*'),
        lines[0].replace('"leaf_index":0', '"leaf_index":-1'),
        "[1]",
        "{}",
    ]
    event = json.loads(lines[1])
    event["originator_id"] = event["originator_id"].upper()
    spellings.append(json.dumps(event))
    event["originator_id"] = "{" + event["originator_id"] + "}"
    spellings.append(json.dumps(event))
    for text in [*lines, *spellings]:
        want = _outcome(lambda t=text: parse_event(t, 7))
        got = _outcome(lambda t=text: parse_event_row(t, 7))
        if want[0] == "ok":
            e = want[1]
            assert got == ("ok", (e.leaf_index, str(e.originator_id), e.version, e.topic, e.state))
        else:
            assert got == want


# --- the first failure in log order, whatever the chunking --------------------------------------


@pytest.fixture
def chunked(monkeypatch):
    """Worker processes for any bundle, in chunks of 3 events."""
    from audit.offline import verifier

    monkeypatch.setattr(verifier, "INLINE_LIMIT", 0)
    monkeypatch.setattr(verifier, "CHUNK", 3)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_first_failure_in_log_order_is_reported_across_chunks(exported, chunked, workers):
    lines = exported.lines()
    lines[15] = ""  # a blank line in a later chunk
    lines = _flip_state_byte(lines)  # and, before it, a tampered event (line 4)
    with pytest.raises(EventTamperedError):
        verify_bundle(exported.write(lines), workers=workers)
    lines = _renumber(exported.lines()[:2] + exported.lines()[3:])  # filer 2 not registered
    lines = _swap(lines, 15, 16)  # and a later chunk out of order
    with pytest.raises(VersionContinuityError) as caught:
        verify_bundle(exported.write(lines), workers=workers)
    assert caught.value.leaf_index == 4  # filer 2's verification


@pytest.mark.parametrize("workers", [1, 2])
def test_a_blank_line_is_malformed_wherever_it_is(exported, chunked, workers):
    lines = exported.lines()
    lines[12] = ""
    with pytest.raises(MalformedBundleError) as caught:
        verify_bundle(exported.write(lines), workers=workers)
    assert caught.value.line == 13
    assert exit_code(caught.value) == 2


# --- a bundle re-signed with a stranger's keys --------------------------------------------------


def _checkpoint_sizes(header):
    return sorted(int(note.split("\n")[1]) for note in header["checkpoints"])


def _resigned_by_a_stranger(lines):
    """The whole bundle re-signed with keys of the stranger's own: every event re-sealed (a save
    of one), the tree rebuilt, every checkpoint signed again, the stranger's keys in the header.
    It agrees with itself: only keys pinned by the auditor tell it from the genuine one."""
    from uuid import UUID

    from audit.offline.index_note import parse_index_note, sign_index_note
    from audit.offline.log_leaf import identified_log_leaf_hash
    from audit.offline.note import NoteSigner, split_note
    from audit.offline.rfc6962 import tree_root

    header = _header(lines)
    genuine = EventVerifier(KeyManifest.from_json(header["event_keys"]).trusted_keys)
    event_key, log_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    sealer = EventSigner(event_key)
    events, leaves = [], []
    for line in lines[1:]:
        event = _event(line)
        originator, version = UUID(event["originator_id"]), event["originator_version"]
        identity = event_identity(originator.bytes, version, event["topic"])
        _, state = genuine.verify(identity, base64.b64decode(event["state"]))
        sealed = sealer.seal(originator, version, event["topic"], state)
        leaves.append(identified_log_leaf_hash(identity, sealed))
        event["state"] = base64.b64encode(sealed).decode()
        events.append(json.dumps(event))
    signer = NoteSigner(header["origin"], log_key)
    header["checkpoints"] = [
        sign_checkpoint(Checkpoint(header["origin"], size, tree_root(leaves[:size])), signer)
        for size in _checkpoint_sizes(header)
    ]
    header["index_notes"] = [  # the maps are the events': only the log's root changes
        sign_index_note(replace(note, log_root=tree_root(leaves[: note.tree_size])), signer)
        for note in (parse_index_note(split_note(n)[0]) for n in header.get("index_notes", []))
    ]
    header["log_key"] = signer.verifier_key_string()
    header["event_keys"] = KeyManifest().with_key(event_key.public_key(), system_now()).to_json()
    return [json.dumps(header), *events]


def test_only_pinned_keys_refuse_a_bundle_re_signed_with_a_strangers_keys(exported):
    resigned = exported.write(_resigned_by_a_stranger(exported.lines()))
    assert verify_bundle(resigned, workers=1).events == len(exported.lines()) - 1
    manifest = KeyManifest.load(exported.settings.public_keys_file)
    log_key = NoteVerifier.from_verifier_key_string(_header(exported.lines())["log_key"])
    with pytest.raises(UnverifiedNoteError) as checkpoints:
        verify_bundle(resigned, event_keys=manifest, log_key=log_key, workers=1)
    assert exit_code(checkpoints.value) == 20
    with pytest.raises(UnknownSigningKeyError) as events:
        verify_bundle(resigned, event_keys=manifest, workers=1)
    assert exit_code(events.value) == 11


# --- the events a live store holds after its latest checkpoint ----------------------------------


def _stored_rows(lines):
    """Bundle event lines as the store holds them: (originator id, version, topic, state)."""
    return [
        (e.originator_id, e.version, e.topic, e.state)
        for e in (parse_event(line, number) for number, line in enumerate(lines[1:], start=2))
    ]


def _flip_row(rows, index):
    originator_id, version, topic, state = rows[index]
    rows[index] = (originator_id, version, topic, state[:-3] + bytes([state[-3] ^ 1]) + state[-2:])
    return rows


def _stranger_row(rows, index):
    originator_id, version, topic, _ = rows[index]
    state = b'{"actor":{"id":"mallory","role":"reviewer","scope":null}}'
    sealed = EventSigner(Ed25519PrivateKey.generate()).seal(originator_id, version, topic, state)
    rows[index] = (originator_id, version, topic, sealed)
    return rows


def _retired_long_ago(manifest):
    """Every key of ``manifest`` retired in 2000 (a new one stays): each event claims later."""
    from datetime import UTC, datetime

    newer = Ed25519PrivateKey.generate().public_key()
    with_newer = manifest.with_key(newer, system_now())
    return with_newer.retiring_all_but(
        with_newer.records[-1].key_id, datetime(2000, 1, 1, tzinfo=UTC)
    )


UNCHECKPOINTED_CASES = [
    {"desc": "honest events", "tamper": lambda rows: rows, "want_exit": 0},
    {"desc": "flipped byte in the third", "tamper": lambda rows: _flip_row(rows, 2),
     "want_error": EventTamperedError, "want_exit": 16, "want_event": 2},
    {"desc": "the fifth signed by an unknown key", "tamper": lambda rows: _stranger_row(rows, 4),
     "want_error": UnknownSigningKeyError, "want_exit": 16, "want_event": 4},
    {"desc": "signed by a key retired before the time it claims", "tamper": lambda rows: rows,
     "keys": _retired_long_ago, "want_error": None, "want_exit": 16, "want_event": 0},
]  # fmt: skip


@pytest.mark.parametrize(
    "case", UNCHECKPOINTED_CASES, ids=[c["desc"] for c in UNCHECKPOINTED_CASES]
)
def test_events_after_the_latest_checkpoint_are_verified_by_signature(exported, case):
    rows = case["tamper"](_stored_rows(exported.lines()))
    manifest = KeyManifest.load(exported.settings.public_keys_file)
    keys = case.get("keys", lambda m: m)(manifest)
    if case["want_exit"] == 0:
        assert verify_uncheckpointed_events(rows, event_keys=keys) == len(rows)
        return
    with pytest.raises(UncheckpointedEventError) as caught:
        verify_uncheckpointed_events(rows, event_keys=keys)
    error = caught.value
    assert exit_code(error) == case["want_exit"]
    assert (error.originator_id, error.version) == rows[case["want_event"]][:2]
    if case["want_error"] is not None:  # the signature's own error, chained
        assert type(error.__cause__) is case["want_error"]
    assert f"event {error.originator_id} v{error.version}" in str(error)


def test_require_logged_refuses_any_event_after_the_latest_checkpoint(exported):
    manifest = KeyManifest.load(exported.settings.public_keys_file)
    assert verify_uncheckpointed_events([], event_keys=manifest, require_logged=True) == 0
    rows = _stored_rows(exported.lines())[5:9]
    with pytest.raises(UnloggedEventsError) as caught:
        verify_uncheckpointed_events(rows, event_keys=manifest, require_logged=True)
    assert (caught.value.count, caught.value.originator_id, caught.value.version) == (
        4,
        *rows[0][:2],
    )
    assert exit_code(caught.value) == 23
    # a forged event among them is reported as forged, not merely as unlogged
    with pytest.raises(UncheckpointedEventError):
        verify_uncheckpointed_events(_flip_row(rows, 3), event_keys=manifest, require_logged=True)
