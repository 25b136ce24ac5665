"""Checkpoints and proofs served by the log verify with the offline primitives."""

from __future__ import annotations

import pytest

from api.bootstrap import open_transparency_log
from audit.log.log_store import CheckpointRecord, ConflictingCheckpointError
from audit.log.transparency_log import ProofRequestError
from audit.offline.checkpoint import verify_checkpoint
from audit.offline.errors import VerificationError
from audit.offline.rfc6962 import tree_root, verify_consistency, verify_inclusion
from tests.audit.test_sequencer import _busy_ledger, _expected_leaves
from tests.domain.factories import approved_filer, uscc


@pytest.fixture
def log(ledger, settings):
    transparency_log = open_transparency_log(ledger, settings)
    yield transparency_log
    transparency_log.store.close()


def test_sequencing_publishes_a_signed_checkpoint_of_the_whole_log(ledger, log):
    _busy_ledger(ledger, count=2)
    log.sequencer.batch_size = 5
    latest = log.sequence()
    leaves = _expected_leaves(ledger)
    assert latest is not None
    assert latest.tree_size == len(leaves)
    checkpoint = verify_checkpoint(latest.signed_note, log.signer.verifier(), origin=log.origin)
    assert (checkpoint.size, checkpoint.root) == (len(leaves), tree_root(leaves))
    sizes = [record.tree_size for record in log.store.checkpoints()]
    assert sizes == sorted(sizes)
    assert len(sizes) >= 3  # one per batch
    assert log.sequence() == latest  # nothing new: no new checkpoint


def test_every_leaf_has_an_inclusion_proof_at_every_checkpoint(ledger, log):
    _busy_ledger(ledger, count=2)
    log.sequencer.batch_size = 7
    log.sequence()
    leaves = _expected_leaves(ledger)
    for record in log.store.checkpoints():
        for index in range(record.tree_size):
            proof = log.inclusion_proof(index, record.tree_size)
            assert proof.leaf_hash == leaves[index]
            assert proof.root == record.root
            verify_inclusion(index, record.tree_size, proof.leaf_hash, proof.proof, record.root)


def test_inclusion_proof_by_event(ledger, log):
    filer_id = approved_filer(ledger, uscc(340))
    log.sequence()
    leaf = log.leaf_for_event(filer_id, 2)
    proof = log.inclusion_proof(leaf.leaf_index)
    assert proof.leaf_hash == leaf.leaf_hash
    with pytest.raises(ProofRequestError, match="not in the log"):
        log.leaf_for_event(filer_id, 9)


def test_successive_checkpoints_are_consistent(ledger, log):
    _busy_ledger(ledger, count=3)
    log.sequencer.batch_size = 4
    log.sequence()
    records = log.store.checkpoints()
    for older in records:
        for newer in records:
            if older.tree_size <= newer.tree_size:
                proof = log.consistency_proof(older.tree_size, newer.tree_size)
                verify_consistency(
                    older.tree_size, newer.tree_size, proof.proof, older.root, newer.root
                )


@pytest.mark.parametrize(
    ("request_proof", "message"),
    [
        (lambda log, size: log.inclusion_proof(size), "leaf index"),
        (lambda log, size: log.inclusion_proof(0, size + 1), "tree size"),
        (lambda log, size: log.inclusion_proof(-1), "leaf index"),
        (lambda log, size: log.consistency_proof(0, size), "size1"),
        (lambda log, size: log.consistency_proof(size, size - 1), "size1"),
        (lambda log, size: log.consistency_proof(1, size + 1), "tree size"),
    ],
)
def test_impossible_proof_requests_are_refused(ledger, log, request_proof, message):
    approved_filer(ledger, uscc(341))
    size = log.sequence().tree_size
    with pytest.raises(ProofRequestError, match=message):
        request_proof(log, size)


def test_inclusion_proof_needs_a_checkpoint_when_no_size_is_given(log):
    with pytest.raises(ProofRequestError, match="no checkpoint"):
        log.inclusion_proof(0)


def test_the_log_never_stores_two_roots_for_one_size(ledger, log):
    approved_filer(ledger, uscc(342))
    latest = log.sequence()
    forged = CheckpointRecord(latest.tree_size, bytes(32), "forged", latest.created_at)
    with pytest.raises(ConflictingCheckpointError):
        log.store.add_checkpoint(forged)
    assert log.store.checkpoint(latest.tree_size) == latest


def test_corrupted_node_table_stops_publication(ledger, log, settings):
    approved_filer(ledger, uscc(343))
    first = log.sequence()
    approved_filer(ledger, uscc(344))
    log.sequencer.catch_up()
    # Corrupt node (1, 0), over leaves 0-1: the proof from the signed size 3 to size 6 reads
    # it, so the new root no longer provably extends the signed one.
    with log.store._transaction(write=True) as cursor:
        cursor.execute(
            log.store._q("UPDATE ppl_log_nodes SET hash = ? WHERE level = 1 AND node_index = 0"),
            (bytes(32),),
        )
    with pytest.raises(VerificationError):
        log.publish()
    assert log.store.latest_checkpoint() == first
    with pytest.raises(VerificationError):
        log.inclusion_proof(0, first.tree_size)
