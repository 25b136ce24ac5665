"""The checkpoint-trusted mode (``verify_bundle(trust_checkpoints=True)``, ``ppl audit verify
--trust-checkpoints``): every check of the full verification but each event's own Ed25519
signature.

It passes what the full mode passes; it fails every tampered bundle of test_verifier's cases,
and a replay-rule violation, with the same typed error naming the same element; and its stated
limit (docs/audit-bundle.md) is shown as a test: an event whose signature is wrong but whose
bytes are what the log committed to passes it, and fails the full mode.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from typer.testing import CliRunner

from api.bootstrap import open_transparency_log
from api.cli import app
from audit.offline.checkpoint import Checkpoint, parse_checkpoint, sign_checkpoint
from audit.offline.errors import EventTamperedError, InvalidReplayError, VerificationError
from audit.offline.index_note import parse_index_note, sign_index_note
from audit.offline.log_leaf import log_leaf_hash
from audit.offline.merkle_nodes import NodeId, append_leaf, root_from_nodes
from audit.offline.note import split_note
from audit.offline.verifier import (
    TRUSTED_CHECKPOINTS_WARNING,
    VerificationReport,
    exit_code,
    verify_bundle,
)
from domain.product import new_product
from tests.audit.conftest import Exported, export_to
from tests.audit.test_verifier import CASES, _flip_state_byte  # its tampered cases
from tests.domain.factories import approved_filer, file, uscc


def _outcome(path: Path, *, trusted: bool, workers: int = 1) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        verify_bundle(path, workers=workers, trust_checkpoints=trusted)
    return caught.value


def _same_failure(path: Path) -> VerificationError:
    """The failure of both modes, required to be the same: type, element named, exit code."""
    full = _outcome(path, trusted=False)
    trusted = _outcome(path, trusted=True)
    assert type(trusted) is type(full), (trusted, full)
    assert str(trusted) == str(full)  # the message names the failing element
    assert exit_code(trusted) == exit_code(full)
    return trusted


def test_a_genuine_bundle_passes_and_the_report_says_which_mode_ran(exported):
    full = verify_bundle(exported.path, workers=1)
    trusted = verify_bundle(exported.path, workers=1, trust_checkpoints=True)
    assert (trusted.events, trusted.aggregates, trusted.checkpoints, trusted.index_checked) == (
        full.events,
        full.aggregates,
        full.checkpoints,
        full.index_checked,
    )
    assert trusted.index_checked  # the product index was re-checked too
    assert trusted.checkpoint_trusted
    assert not full.checkpoint_trusted
    assert TRUSTED_CHECKPOINTS_WARNING in trusted.warnings
    assert TRUSTED_CHECKPOINTS_WARNING not in full.warnings


@pytest.mark.parametrize("case", CASES, ids=[c["desc"] for c in CASES])
def test_tampering_fails_as_in_the_full_mode(exported, case):
    tampered = exported.write(case["tamper"](exported, exported.lines()))
    failure = _same_failure(tampered)
    assert type(failure) is case["want_error"], failure
    assert exit_code(failure) == case["want_exit"]


def test_a_tampered_byte_is_named_as_the_full_mode_names_it(exported):
    """No signature is checked, so the changed leaf first shows as a root that does not hold;
    the events no holding checkpoint vouches for are then verified in full, which names the
    event."""
    lines = exported.lines()
    victim = json.loads(lines[3])
    failure = _same_failure(exported.write(_flip_state_byte(lines)))
    assert isinstance(failure, EventTamperedError)
    assert str(failure.originator_id) == victim["originator_id"]
    assert failure.version == victim["originator_version"]


def test_a_dropped_event_is_named_as_in_the_full_mode(exported):
    lines = exported.lines()
    _same_failure(exported.write(lines[:5] + lines[6:]))


def test_the_worker_processes_give_the_same_verdicts(exported, monkeypatch):
    monkeypatch.setattr("audit.offline.verifier.INLINE_LIMIT", 0)
    monkeypatch.setattr("audit.offline.verifier.CHUNK", 3)
    report = verify_bundle(exported.path, workers=2, trust_checkpoints=True)
    assert report.events == len(exported.lines()) - 1
    tampered = exported.write(_flip_state_byte(exported.lines()))
    assert str(_outcome(tampered, trusted=True, workers=2)) == str(
        _outcome(tampered, trusted=False, workers=2)
    )


def test_a_replay_rule_violation_under_a_signed_checkpoint_fails_as_in_the_full_mode(
    ledger, settings, tmp_path
):
    """A server bug (or an insider) saves a filing without its key reservation (rule E5): the
    event is genuinely signed and logged, and only the replay can refuse it."""
    code = uscc(440)
    filer_id = approved_filer(ledger, code)
    first = ledger.get_product(file(ledger, code, filer_id, name="违规产品", model="E-1"))
    forged = new_product(
        uuid4(), filer_id=str(filer_id), filer_uscc=code, name="违规产品二", model="E-2",
        variants=[], category="01", finer_code=None, patents=first.patents, data_year=2022,
        figures=first.figures, proof_digests=[], canonical_key="违规产品二|E-2",
        actor={"id": "user", "role": "filer", "scope": code},
    )  # fmt: skip
    ledger.save(forged)
    file(ledger, code, filer_id, name="其后产品", model="E-3")  # the log goes on after it
    log = open_transparency_log(ledger, settings)
    try:
        log.sequence()
        bundle = export_to(ledger, log, settings, tmp_path / "replay.bundle")
    finally:
        log.store.close()
    failure = _same_failure(bundle)
    assert isinstance(failure, InvalidReplayError)
    assert failure.originator_id == forged.id


# --- the stated limit ---------------------------------------------------------------------------
def _recommitted(exported: Exported, lines: list[str]) -> Path:
    """The bundle as a log would have signed it had its sequencer logged these very events:
    every checkpoint and index note signed again by the log's key over the roots of these
    leaves (the maps are unchanged: no event's state is)."""
    header: dict[str, Any] = json.loads(lines[0])
    nodes: dict[NodeId, bytes] = {}
    roots: dict[int, bytes] = {}
    sizes = {parse_checkpoint(split_note(n)[0]).size for n in header["checkpoints"]}
    for index, line in enumerate(lines[1:]):
        event = json.loads(line)
        leaf = log_leaf_hash(
            UUID(event["originator_id"]),
            event["originator_version"],
            event["topic"],
            base64.b64decode(event["state"]),
        )
        append_leaf(nodes, index, leaf)
        if index + 1 in sizes:
            roots[index + 1] = root_from_nodes(index + 1, nodes)
    signer = exported.log.signer
    header["checkpoints"] = [
        sign_checkpoint(Checkpoint(exported.log.origin, size, roots[size]), signer)
        for size in sorted(sizes)
    ]
    notes = [parse_index_note(split_note(n)[0]) for n in header["index_notes"]]
    header["index_notes"] = [
        sign_index_note(replace(note, log_root=roots[note.tree_size]), signer) for note in notes
    ]
    return exported.write([json.dumps(header), *lines[1:]])


def _wrong_signature(lines: list[str], line: int) -> list[str]:
    """The event of ``line`` with one bit of its signature flipped: nothing else changes."""
    event = json.loads(lines[line])
    stored = bytearray(base64.b64decode(event["state"]))
    stored[12] ^= 0x01  # the first byte of the signature (audit.offline.event_signature)
    event["state"] = base64.b64encode(bytes(stored)).decode()
    lines[line] = json.dumps(event)
    return lines


def test_a_wrong_signature_the_log_committed_to_passes_only_the_trusted_mode(exported):
    """The mode's stated limit (docs/audit-bundle.md): it trusts that the log's sequencer
    verified each event's signature before logging it. A log that logged (and signed
    checkpoints over) an event whose signature is wrong — a sequencer bug, or a log operator
    who also holds no event key but logs a forgery — passes it; the full mode refuses it."""
    lines = exported.lines()
    victim = json.loads(lines[6])
    committed = _recommitted(exported, _wrong_signature(lines, 6))
    report: VerificationReport = verify_bundle(committed, workers=1, trust_checkpoints=True)
    assert report.events == len(lines) - 1
    assert report.checkpoint_trusted
    with pytest.raises(EventTamperedError) as caught:
        verify_bundle(committed, workers=1)
    assert str(caught.value.originator_id) == victim["originator_id"]
    assert caught.value.version == victim["originator_version"]


def test_a_wrong_signature_the_log_did_not_commit_to_fails_both_modes(exported):
    """The same event without the checkpoints signed over it: its changed leaf breaks the
    roots, and the trusted mode names it as the full mode does."""
    failure = _same_failure(exported.write(_wrong_signature(exported.lines(), 6)))
    assert isinstance(failure, EventTamperedError)


# --- the command line ---------------------------------------------------------------------------
def test_the_command_says_it_trusted_the_checkpoints_and_keeps_the_exit_codes(exported):
    runner = CliRunner()
    result = runner.invoke(app, ["audit", "verify", str(exported.path), "--trust-checkpoints"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "(checkpoint-trusted: event signatures not verified)" in result.stdout
    assert f"warning: {TRUSTED_CHECKPOINTS_WARNING}" in result.stderr
    tampered = exported.write(_flip_state_byte(exported.lines()))
    failed = runner.invoke(app, ["audit", "verify", str(tampered), "--trust-checkpoints"])
    assert failed.exit_code == 10  # EventTamperedError, as without the option
    assert f"warning: {TRUSTED_CHECKPOINTS_WARNING}" in failed.stderr
    assert "FAILED: " in failed.stderr
