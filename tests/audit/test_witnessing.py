"""The log's witness client against an independent witness process (tests/witness_peer), on
both stores: cosigned checkpoints, 409 recovery, a witness that is down, slow or refuses, and
the checkpoint the log publishes under a quorum. Cosignatures are checked with tlog-scales, an
implementation that shares no code with the log."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tlog_scales.signing import Vkey
from tlog_scales.tlog import Checkpoint as ScalesCheckpoint

from api.bootstrap import open_transparency_log
from audit.log import transparency_log
from audit.log.transparency_log import ConsistencyProof, TransparencyLog
from audit.log.witness_report import witnessing_report
from audit.log.witness_store import StoredCosignature, WitnessState
from audit.log.witnessing import BACKOFF_BASE, Witnessing
from audit.offline.cosignature import CosignerKey, WitnessPolicy
from audit.offline.note import NoteSigner
from tests.domain.factories import approved_filer, uscc
from tests.witness_peer.peer import SpecWitness


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(tz=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def log(ledger, settings):
    log = open_transparency_log(ledger, settings)
    approved_filer(ledger, uscc(801))
    log.sequence()
    yield log
    log.store.close()


@pytest.fixture
def witnesses(tmp_path: Path, log: TransparencyLog):
    started: list[SpecWitness] = []

    def start(name: str = "witness.test/a", *, log_vkey: str | None = None, delay: float = 0):
        vkey = log_vkey or log.signer.verifier_key_string()
        witness = SpecWitness(tmp_path / name.replace("/", "_"), name, [vkey], delay=delay)
        started.append(witness.start())
        return witness

    yield start
    for witness in started:
        witness.stop()


def _witnessing(log, *peers, threshold=None, timeout=5.0, clock=None):
    lines = [peer.policy_line() for peer in peers]
    k = threshold or len(peers)
    names = " ".join(peer.name.replace("/", "-") for peer in peers)
    log.policy = WitnessPolicy.parse("\n".join([*lines, f"group q {k} {names}", "quorum q"]))
    return Witnessing(log, log.witnesses, log.policy, timeout=timeout, clock=clock or Clock())


def _label(peer: SpecWitness) -> str:
    return CosignerKey.from_vkey(peer.vkey).label


def _grow(ledger, log, number):
    approved_filer(ledger, uscc(number))
    return log.sequence()


def test_each_new_checkpoint_is_cosigned_and_served_with_the_cosignature(ledger, log, witnesses):
    peer = witnesses()
    witnessing = _witnessing(log, peer)
    first = log.store.latest_checkpoint()
    (outcome,) = witnessing.round()
    assert (outcome.status, outcome.tree_size) == ("cosigned", first.tree_size)
    second = _grow(ledger, log, 802)
    (outcome,) = witnessing.round()  # old = the first size, with a consistency proof
    assert (outcome.status, outcome.tree_size) == ("cosigned", second.tree_size)
    assert witnessing.round()[0].status == "skipped"  # nothing new: no request
    note = log.cosigned_note(second)
    assert note.startswith(second.signed_note)
    assert note.count("\n\u2014 ") == 2
    # an independent implementation checks both signatures on the served checkpoint
    parsed = ScalesCheckpoint.from_text(note)
    parsed.verify(Vkey.from_string(log.signer.verifier_key_string()))
    parsed.verify(Vkey.from_string(peer.vkey))
    assert Vkey.from_string(peer.vkey).sig_type == 4
    assert log.published() == second
    state = log.witnesses.state(_label(peer))
    assert (state.known_size, state.cosigned_size, state.failures) == (second.tree_size,) * 2 + (0,)


def test_a_witness_holding_another_size_answers_409_and_the_log_resubmits(ledger, log, witnesses):
    peer = witnesses()
    witnessing = _witnessing(log, peer)
    witnessing.round()
    label = _label(peer)
    log.witnesses.save_state(WitnessState(label))  # the log forgot what the witness holds
    grown = _grow(ledger, log, 803)
    (outcome,) = witnessing.round()  # old 0 → 409 with the witness's size → proof from it
    assert (outcome.status, outcome.tree_size) == ("cosigned", grown.tree_size)
    Vkey.from_string(peer.vkey).get_verifier()
    ScalesCheckpoint.from_text(log.cosigned_note(grown)).verify(Vkey.from_string(peer.vkey))


def test_a_witness_that_is_down_is_retried_after_a_back_off(ledger, log, witnesses):
    peer = witnesses()
    clock = Clock()
    witnessing = _witnessing(log, peer, clock=clock)
    peer.stop()
    (outcome,) = witnessing.round()
    assert outcome.status == "failed"
    assert "unreachable" in outcome.detail
    label = _label(peer)
    state = log.witnesses.state(label)
    assert state.failures == 1
    assert state.last_error == outcome.detail
    assert datetime.fromisoformat(state.next_attempt) == clock.now + timedelta(seconds=BACKOFF_BASE)
    peer.start()  # back, on the same port
    assert witnessing.round()[0].status == "skipped"  # still backing off: not asked
    clock.now += timedelta(seconds=BACKOFF_BASE + 0.1)
    (outcome,) = witnessing.round()
    assert outcome.status == "cosigned"
    state = log.witnesses.state(label)
    assert (state.failures, state.next_attempt, state.last_error) == (0, None, None)


def test_the_back_off_doubles_per_consecutive_failure(log, witnesses):
    peer = witnesses()
    clock = Clock()
    witnessing = _witnessing(log, peer, clock=clock)
    peer.stop()
    label = _label(peer)
    for failures in (1, 2, 3):
        assert witnessing.round()[0].status == "failed"
        state = log.witnesses.state(label)
        delay = datetime.fromisoformat(state.next_attempt) - clock.now
        assert (state.failures, delay) == (failures, timedelta(seconds=2 ** (failures - 1)))
        clock.now += delay


def test_a_witness_that_does_not_answer_in_time_fails_with_a_time_out(log, witnesses):
    peer = witnesses(delay=3)
    (outcome,) = _witnessing(log, peer, timeout=0.3).round()
    assert outcome.status == "failed"
    assert outcome.detail == "no answer within 0.3 s"


def test_a_witness_that_does_not_know_the_log_answers_404(log, witnesses):
    other = NoteSigner("another.example/log", Ed25519PrivateKey.generate())
    peer = witnesses(log_vkey=other.verifier_key_string())
    (outcome,) = _witnessing(log, peer).round()
    assert outcome.status == "failed"
    assert outcome.detail.startswith("HTTP 404")


def test_a_witness_trusting_another_key_for_the_origin_answers_403(log, witnesses):
    impostor = NoteSigner(log.origin, Ed25519PrivateKey.generate())
    peer = witnesses(log_vkey=impostor.verifier_key_string())
    (outcome,) = _witnessing(log, peer).round()
    assert outcome.status == "failed"
    assert outcome.detail.startswith("HTTP 403")


def test_a_consistency_proof_the_witness_refuses_is_a_422(ledger, log, witnesses, monkeypatch):
    peer = witnesses()
    witnessing = _witnessing(log, peer)
    witnessing.round()
    _grow(ledger, log, 804)
    real = log.consistency_proof

    def forged(size1: int, size2: int) -> ConsistencyProof:
        proof = real(size1, size2)
        return ConsistencyProof(
            proof.size1, proof.size2, proof.root1, proof.root2, [bytes(32)] * len(proof.proof)
        )

    monkeypatch.setattr(log, "consistency_proof", forged)
    (outcome,) = witnessing.round()
    assert outcome.status == "failed"
    assert outcome.detail.startswith("HTTP 422")
    latest = log.store.latest_checkpoint()
    assert log.witnesses.cosignatures(latest.tree_size, latest.root) == []


def test_a_witness_holding_a_larger_tree_than_the_log_is_an_error(log, witnesses):
    peer = witnesses()
    label = _label(peer)
    size = log.store.latest_checkpoint().tree_size
    log.witnesses.save_state(WitnessState(label, known_size=size + 100))
    (outcome,) = _witnessing(log, peer).round()
    assert outcome.status == "failed"
    assert f"beyond the log's {size}" in outcome.detail


def test_a_200_without_the_witnesses_own_valid_cosignature_is_a_failure(log, witnesses):
    peer = witnesses()
    impostor = SpecWitness(peer.directory.parent / "impostor", peer.name, peer.log_vkeys)
    impostor.start()  # same name, another key: its cosignature is not the policy's
    try:
        witnessing = _witnessing(log, peer)
        witnessing.policy = WitnessPolicy.parse(f"witness w {peer.vkey} {impostor.url}\nquorum w")
        (outcome,) = witnessing.round()
    finally:
        impostor.stop()
    assert outcome.status == "failed"
    assert "without a cosignature" in outcome.detail


def test_the_log_publishes_its_latest_checkpoint_the_quorum_cosigned(ledger, log, witnesses):
    first_peer, second_peer = witnesses("witness.test/a"), witnesses("witness.test/b")
    witnessing = _witnessing(log, first_peer, second_peer, threshold=2)
    first = log.store.latest_checkpoint()
    assert log.witnessed() is None
    assert log.published() == first
    witnessing.round()
    assert log.witnessed() == first
    second_peer.stop()
    grown = _grow(ledger, log, 805)
    outcomes = {o.witness.split("+")[0]: o.status for o in witnessing.round()}
    assert outcomes == {"witness.test/a": "cosigned", "witness.test/b": "failed"}
    assert log.published() == first  # one of two: the quorum has not seen the newer one
    report = witnessing_report(log, now=datetime.now(tz=UTC), degraded_after=60)
    assert (report.status, report.witnessed_checkpoint) == ("pending", first.tree_size)
    late = witnessing_report(
        log, now=datetime.now(tz=UTC) + timedelta(seconds=61), degraded_after=60
    )
    assert late.status == "degraded"
    assert late.unmet_since == grown.created_at
    lags = {line.witness.split("+")[0]: line.lag for line in late.witnesses}
    assert lags == {"witness.test/a": 0, "witness.test/b": grown.tree_size - first.tree_size}
    proof = log.inclusion_proof(0)
    assert proof.tree_size == first.tree_size  # proofs default to the published checkpoint


def test_the_cosignature_lines_are_canonical_signature_lines(log, witnesses):
    peer = witnesses()
    _witnessing(log, peer).round()
    latest = log.store.latest_checkpoint()
    (stored,) = log.witnesses.cosignatures(latest.tree_size, latest.root)
    assert stored.root == latest.root
    prefix, name, blob = stored.line.rstrip("\n").split(" ")
    raw = base64.b64decode(blob)
    assert (prefix, name, len(raw)) == ("\u2014", "witness.test/a", 4 + 8 + 64)
    assert abs(int.from_bytes(raw[4:12], "big") - datetime.now(tz=UTC).timestamp()) < 60
    assert stored.timestamp == int.from_bytes(raw[4:12], "big")


def test_the_witnessed_checkpoint_is_found_past_pages_of_partly_cosigned_ones(log, monkeypatch):
    # 2 of 2 required; the second witness went quiet after size 3 while the first cosigned on:
    # the last size both cosigned lies pages back (stored rows made directly, as a witness's
    # lines would be stored, with the page made small).
    monkeypatch.setattr(transparency_log, "WITNESSED_PAGE", 4)
    keys = [Ed25519PrivateKey.generate().public_key().public_bytes_raw() for _ in range(2)]
    vkeys = [
        CosignerKey("w.test/" + name, 4, key).vkey() for name, key in zip("ab", keys, strict=True)
    ]
    log.policy = WitnessPolicy.k_of_n(vkeys, 2)
    a, b = (CosignerKey.from_vkey(v).label for v in vkeys)
    first = log.store.latest_checkpoint()
    rows = [(first.tree_size, a), (first.tree_size, b)]
    rows += [(first.tree_size + n, a) for n in range(1, 12)]
    for size, label in rows:
        root = first.root if size == first.tree_size else bytes(32)
        log.witnesses.add_cosignature(
            StoredCosignature(size, label, "\u2014 x y\n", 1, "now", root)
        )
    assert log.witnessed() == first
    log.witnesses.add_cosignature(
        StoredCosignature(first.tree_size + 11, b, "\u2014 x y\n", 1, "n", bytes(32))
    )
    assert log._search_witnessed() == first


def test_a_cosignature_of_another_root_at_the_same_size_is_never_served_or_counted(log, witnesses):
    peer = witnesses()
    witnessing = _witnessing(log, peer)
    witnessing.round()
    latest = log.store.latest_checkpoint()
    label = _label(peer)
    stale = StoredCosignature(latest.tree_size, label + "x", "\u2014 w y\n", 1, "n", bytes(32))
    log.witnesses.add_cosignature(stale)  # a line of a root this log never signed at this size
    assert [c.witness for c in log.witnesses.cosignatures(latest.tree_size, latest.root)] == [label]
    assert log.cosigned_note(latest).count("\u2014 ") == 2


def test_the_witnessed_size_is_kept_per_policy_and_only_grows(ledger, log, witnesses):
    peer = witnesses()
    witnessing = _witnessing(log, peer)
    witnessing.round()
    first = log.store.latest_checkpoint()
    assert log.witnessed() == first
    fingerprint = log.policy.fingerprint()
    assert log.witnesses.witnessed_size(fingerprint) == first.tree_size
    grown = _grow(ledger, log, 806)
    witnessing.round()  # the new cosignature raises it at once
    assert log.witnesses.witnessed_size(fingerprint) == grown.tree_size
    log.witnesses.raise_witnessed(fingerprint, first.tree_size)  # never goes down
    assert log.witnessed() == grown
    other = _witnessing(log, peer, witnesses("witness.test/b"), threshold=2)
    assert other.policy.fingerprint() != fingerprint
    assert log.witnessed() is None  # a new policy is judged afresh: nobody met it yet


def test_a_cosignature_stamped_ahead_of_the_logs_clock_is_refused(log, witnesses):
    peer = witnesses()
    clock = Clock()
    clock.now -= timedelta(seconds=120)  # the log's clock two minutes behind the witness's
    (outcome,) = _witnessing(log, peer, clock=clock).round()
    assert outcome.status == "failed"
    assert "s ahead of the log's clock" in outcome.detail
    assert log.witnessed() is None


@pytest.mark.parametrize("body", ["\u00b2\n", "12 \n", "-1\n", "007\n", ""])
def test_a_409_whose_body_is_not_a_size_is_a_recorded_failure(log, witnesses, monkeypatch, body):
    peer = witnesses()
    witnessing = _witnessing(log, peer)
    monkeypatch.setattr(witnessing, "_post", lambda *_: (409, "text/x.tlog.size", body))
    (outcome,) = witnessing.round()
    assert outcome.status == "failed"
    assert outcome.detail.startswith("HTTP 409")
    assert log.witnesses.state(_label(peer)).failures == 1


def test_any_other_failure_of_one_witness_is_recorded_not_raised(log, witnesses, monkeypatch):
    peer = witnesses()
    witnessing = _witnessing(log, peer)

    def broken(*_: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(witnessing, "_post", broken)
    (outcome,) = witnessing.round()
    assert (outcome.status, outcome.detail) == ("failed", "RuntimeError: disk on fire")


def test_an_older_checkpoint_than_the_witness_holds_is_skipped_not_a_fork(
    ledger, log, witnesses, monkeypatch
):
    peer = witnesses()
    witnessing = _witnessing(log, peer)
    older = log.store.latest_checkpoint()
    newer = _grow(ledger, log, 807)
    witnessing.round()  # the witness now holds the newer size
    # this process read the older checkpoint and, a moment later, the state another process
    # had just written: the witness holds a size beyond what this round submits
    stale = WitnessState(_label(peer), known_size=newer.tree_size)
    monkeypatch.setattr(log.witnesses, "state", lambda _label: stale)
    outcome = witnessing.witness(witnessing.targets[0], older)
    assert outcome.status == "skipped"
    assert "another process" in outcome.detail
