"""The server keeps the product index with the log (audit.log.product_index_log): one signed
index note per checkpoint, whose roots are the ones an auditor rebuilds from the events."""

from __future__ import annotations

from uuid import UUID

import pytest

from api.bootstrap import open_transparency_log
from audit.log.index_store import MAX_WALKS, IndexBatch, IndexStore, Walk
from audit.log.log_store import PositionMovedError
from audit.offline.checkpoint import verify_checkpoint
from audit.offline.errors import IndexNoteError, InvalidReplayError, MalformedCheckpointError
from audit.offline.index_note import parse_index_note, verify_index_note
from audit.offline.index_rebuild import InMemoryIndex
from audit.offline.map_tree import node_key
from audit.offline.product_index import MAPS, IndexBuilder
from tests.audit.test_replay import logged_events
from tests.audit.test_sequencer import _busy_ledger
from tests.domain.factories import approved_filer, file, filer_actor, uscc


@pytest.fixture
def log(ledger, settings):
    transparency_log = open_transparency_log(ledger, settings)
    yield transparency_log
    transparency_log.store.close()


def rebuilt_roots(events, size):
    index = InMemoryIndex()
    for event in events[:size]:
        index.apply(event)
    return index.roots(), index.sizes()


def test_every_checkpoint_gets_an_index_note_with_the_roots_the_log_gives(ledger, log):
    _busy_ledger(ledger, count=3)
    log.sequencer.batch_size = 4  # several checkpoints in one round
    log.sequence()
    code = uscc(390)
    filer_id = approved_filer(ledger, code)
    first = file(ledger, code, filer_id, model="R-1")
    ledger.withdraw_product(filer_actor(code), first, "退市")
    file(ledger, code, filer_id, model="R-1")  # the key moves to the re-filing
    log.sequence()
    events = logged_events(ledger)
    index = log.index
    assert index is not None
    checkpoints = log.store.checkpoints()
    assert len(checkpoints) >= 4
    notes = index.store.notes(checkpoints[-1].tree_size)
    assert sorted(notes) == [c.tree_size for c in checkpoints]
    verifier = log.signer.verifier()
    for record in checkpoints:
        checkpoint = verify_checkpoint(record.signed_note, verifier, origin=log.origin)
        note = verify_index_note(notes[record.tree_size], verifier, checkpoint)
        roots, sizes = rebuilt_roots(events, record.tree_size)
        for map_id in MAPS:
            assert note.head(map_id).root == roots[map_id], (record.tree_size, map_id)
            assert note.head(map_id).entries == sizes[map_id]
    assert index.store.position() == checkpoints[-1].tree_size


def test_indexing_is_idempotent_and_refuses_a_moved_position(ledger, log):
    _busy_ledger(ledger, count=2)
    log.sequence()
    assert log.index is not None
    store: IndexStore = log.index.store
    latest = store.latest_note()
    assert log.index.catch_up() == 0  # nothing new
    assert store.latest_note() == latest
    assert latest is not None
    late = IndexBatch(latest[0] + 1, "a note", [("filing", "x", "{}")], [], [], {})
    with pytest.raises(PositionMovedError):  # an indexer that read the position before
        store.commit(0, late)
    assert store.latest_note() == latest
    assert store.states("filing", ["x"]) == {}


def test_an_index_note_is_bound_to_its_own_checkpoint(ledger, log):
    _busy_ledger(ledger, count=2)
    log.sequencer.batch_size = 3
    log.sequence()
    assert log.index is not None
    first, *_, last = log.store.checkpoints()
    verifier = log.signer.verifier()
    note = log.index.store.note(first.tree_size)
    assert note is not None
    other = verify_checkpoint(last.signed_note, verifier, origin=log.origin)
    with pytest.raises(IndexNoteError, match="tree size"):
        verify_index_note(note, verifier, other)
    # and no checkpoint verifier takes it for one: its first line is not the log's origin,
    # so its second (the origin) is read as the tree size
    assert parse_index_note(note.split("\n\n")[0] + "\n").origin == log.origin
    with pytest.raises(MalformedCheckpointError, match="tree size"):
        verify_checkpoint(note, verifier, origin=log.origin)


def test_an_index_that_cannot_go_on_never_stops_the_log(ledger, log, monkeypatch, caplog):
    _busy_ledger(ledger, count=1)
    log.sequence()
    assert log.index is not None
    indexed = log.index.store.position()

    def refuse(self, event):
        raise InvalidReplayError(UUID(event.originator), event.version, event.leaf_index, "test")

    monkeypatch.setattr(IndexBuilder, "apply_indexed", refuse)
    code = uscc(391)
    approved_filer(ledger, code)
    latest = log.sequence()  # the log signs its checkpoint; the index stays where it was
    assert latest is not None
    assert latest.tree_size > indexed
    assert log.index.store.position() == indexed
    assert log.index.failure is not None
    assert "InvalidReplayError" in log.index.failure
    assert "product index stopped" in caplog.text
    monkeypatch.undo()
    log.sequence()  # the cause fixed: it resumes where it stopped
    assert log.index.failure is None
    assert log.index.store.position() == latest.tree_size


def test_one_read_serves_up_to_max_walks_lookups_and_refuses_more(ledger, log):
    _busy_ledger(ledger, count=1)
    log.sequence()
    assert log.index is not None
    store = log.index.store
    walks = [
        Walk("product-keys", [node_key(bytes([n]) * 32, d) for d in range(3)], bytes([n]) * 32)
        for n in range(MAX_WALKS)
    ]
    found = store.lookup_rows(walks, cosignatures=True)
    assert found is not None
    assert found.latest.tree_size == store.position()
    assert len(found.entries) == MAX_WALKS
    with pytest.raises(ValueError, match=f"at most {MAX_WALKS}"):
        store.lookup_rows([*walks, walks[0]], cosignatures=True)
