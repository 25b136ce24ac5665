"""The server keeps the product index with the log (audit.log.product_index_log): one signed
index note per checkpoint, whose roots are the ones an auditor rebuilds from the events."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Notification

from api.bootstrap import open_transparency_log
from audit.log import product_index_log, upper_nodes
from audit.log.index_store import MAX_WALKS, IndexBatch, IndexStore, Walk
from audit.log.log_store import LeafRecord, PositionMovedError
from audit.log.recent_leaves import RecentLeaves
from audit.offline.checkpoint import verify_checkpoint
from audit.offline.errors import IndexNoteError, InvalidReplayError, MalformedCheckpointError
from audit.offline.index_note import parse_index_note, verify_index_note
from audit.offline.index_rebuild import InMemoryIndex
from audit.offline.map_tree import node_key
from audit.offline.note import split_note
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


@pytest.mark.parametrize("handed_over", [True, False], ids=["from memory", "from the store"])
def test_the_index_reads_the_sequencers_batches_from_memory_or_the_store_alike(
    ledger, log, handed_over
):
    """The sequencer hands its committed batches to the index (RecentLeaves); without them —
    another process sequenced, or they were evicted — the index reads the store. The notes are
    the same either way, and the store is not read for events the hand-over holds."""
    assert log.index is not None
    assert log.sequencer.recent is log.index.recent
    if not handed_over:
        log.sequencer.recent = None
        log.index.recent = RecentLeaves()  # holds nothing: every span falls back to the store
    reads: list[tuple[int, int]] = []
    store_read = log.index.read_notifications

    def counted(start: int, limit: int) -> Sequence[Notification]:
        reads.append((start, limit))
        found: Sequence[Notification] = store_read(start, limit)
        return found

    log.index.read_notifications = counted
    _busy_ledger(ledger, count=3)
    log.sequencer.batch_size = 4
    log.sequence()
    assert (reads == []) is handed_over
    events = logged_events(ledger)
    checkpoints = log.store.checkpoints()
    notes = log.index.store.notes(checkpoints[-1].tree_size)
    assert sorted(notes) == [c.tree_size for c in checkpoints]
    for record in checkpoints:
        note = parse_index_note(split_note(notes[record.tree_size])[0])
        roots, sizes = rebuilt_roots(events, record.tree_size)
        assert {m: note.head(m).root for m in MAPS} == roots
        assert {m: note.head(m).entries for m in MAPS} == sizes


def test_recent_leaves_keep_the_newest_and_answer_whole_spans_only():
    def leaf(index: int) -> LeafRecord:
        return LeafRecord(index, 100 + index, uuid4(), 1, bytes(32))

    def event(index: int) -> Notification:
        return Notification(
            id=100 + index, originator_id=uuid4(), originator_version=1, topic="t", state=b""
        )

    recent = RecentLeaves(keep=5)
    recent.add([leaf(i) for i in range(4)], [event(i) for i in range(4)])
    assert [pair[0].leaf_index for pair in recent.span(1, 4) or []] == [1, 2, 3]
    recent.add([leaf(i) for i in range(4, 7)], [event(i) for i in range(4, 7)])
    assert recent.span(0, 3) is None  # the oldest went
    assert [pair[1].id for pair in recent.span(2, 7) or []] == [102, 103, 104, 105, 106]
    assert recent.span(5, 8) is None  # 7 was never added
    with pytest.raises(ValueError, match="names"):
        recent.add([leaf(7)], [event(8)])
    with pytest.raises(ValueError, match="at least 1"):
        RecentLeaves(keep=0)


@pytest.mark.parametrize(("checkpoints", "events"), [(50, 20_000), (2, 20_000), (50, 5), (1, 1)])
def test_waiting_checkpoints_are_indexed_in_passes_each_with_its_own_note(
    ledger, log, monkeypatch, checkpoints, events
):
    """One pass indexes up to PASS_CHECKPOINTS checkpoints (PASS_EVENTS events, but always at
    least one checkpoint) in one transaction; each still gets the note of its own roots."""
    monkeypatch.setattr(product_index_log, "PASS_CHECKPOINTS", checkpoints)
    monkeypatch.setattr(product_index_log, "PASS_EVENTS", events)
    assert log.index is not None
    index = log.index
    log.index = None  # sequence first, index after: several checkpoints wait
    _busy_ledger(ledger, count=4)
    log.sequencer.batch_size = 3
    log.sequence()
    waiting = log.store.checkpoints()
    assert len(waiting) >= 4
    assert index.catch_up() == len(waiting)
    assert index.indexed == [c.tree_size for c in waiting]
    assert index.store.position() == waiting[-1].tree_size
    events_logged = logged_events(ledger)
    notes = index.store.notes(waiting[-1].tree_size)
    for record in waiting:
        note = parse_index_note(split_note(notes[record.tree_size])[0])
        roots, sizes = rebuilt_roots(events_logged, record.tree_size)
        assert {m: note.head(m).root for m in MAPS} == roots
        assert {m: note.head(m).entries for m in MAPS} == sizes
    assert index.catch_up() == 0


def test_checkpoints_after_a_size_come_smallest_first_and_limited(ledger, log):
    _busy_ledger(ledger, count=3)
    log.sequencer.batch_size = 3
    log.sequence()
    sizes = [c.tree_size for c in log.store.checkpoints()]
    assert [c.tree_size for c in log.store.checkpoints_after(sizes[0], 2)] == sizes[1:3]
    assert [c.tree_size for c in log.store.checkpoints_after(0, 100)] == sizes
    assert log.store.checkpoints_after(sizes[-1], 5) == []
    assert log.store.checkpoints_after(0, 0) == []


def _assert_notes_match_rebuild(ledger, log) -> None:
    events = logged_events(ledger)
    checkpoints = log.store.checkpoints()
    assert log.index is not None
    notes = log.index.store.notes(checkpoints[-1].tree_size)
    assert sorted(notes) == [c.tree_size for c in checkpoints]
    for record in checkpoints:
        note = parse_index_note(split_note(notes[record.tree_size])[0])
        roots, sizes = rebuilt_roots(events, record.tree_size)
        assert {m: note.head(m).root for m in MAPS} == roots, record.tree_size
        assert {m: note.head(m).entries for m in MAPS} == sizes


def _more_filings(ledger, serial: int, count: int) -> None:
    code = uscc(serial)
    filer_id = approved_filer(ledger, code)
    for number in range(count):
        file(ledger, code, filer_id, model=f"U-{serial}-{number}")


@pytest.mark.parametrize("depths", [0, 2, 14])
def test_kept_upper_nodes_are_exactly_the_stored_ones_after_every_pass(ledger, log, depths):
    """The indexer keeps the maps' nodes above ``depths`` between passes (UpperNodes): after
    each pass they are the store's own, and the notes are the roots an auditor rebuilds."""
    index = log.index
    assert index is not None
    index.upper.depths = depths
    for serial in (391, 392, 393):
        _more_filings(ledger, serial, 6)
        log.sequence()
        assert index.upper.position == index.store.position()
        for map_id in MAPS:
            name = map_id.decode("ascii")
            assert index.upper.maps[name] == index.store.nodes_above(name, depths)
    _assert_notes_match_rebuild(ledger, log)
    if depths == 2:  # some nodes above, some below: both sources were used
        assert any(index.upper.maps.values())
        name = MAPS[0].decode("ascii")
        assert len(index.store.nodes_above(name, 256)) > len(index.upper.maps[name])


def test_upper_depths_come_from_memory_only_and_deeper_ones_from_the_store(ledger, log):
    """The kept set is complete above its depth: the walks never ask the store about those
    keys, found or not."""
    index = log.index
    assert index is not None
    index.upper.depths = 3
    _more_filings(ledger, 394, 8)
    log.sequence()
    asked: list[bytes] = []
    store_nodes = index.store.nodes

    def counted(map_id, keys):
        asked.extend(keys)
        return store_nodes(map_id, keys)

    index.store.nodes = counted
    _more_filings(ledger, 395, 8)
    log.sequence()
    assert asked, "deeper nodes are read from the store"
    assert all(upper_nodes.node_depth(key) >= 3 for key in asked)
    _assert_notes_match_rebuild(ledger, log)


def test_another_indexer_moving_the_position_makes_the_kept_nodes_load_again(ledger, log, settings):
    """Two indexers on one store (two processes): each notices the other moved the position
    and loads the upper nodes afresh, so neither signs a root from nodes it kept stale."""
    first = log.index
    assert first is not None
    _more_filings(ledger, 396, 5)
    log.sequence()
    kept_at = first.upper.position
    other_log = open_transparency_log(ledger, settings)
    try:
        _more_filings(ledger, 397, 5)
        other_log.sequence()  # the other indexer writes the maps meanwhile
        assert first.store.position() != kept_at
        _more_filings(ledger, 398, 5)
        log.sequence()
        assert first.upper.position == first.store.position()
        for map_id in MAPS:
            name = map_id.decode("ascii")
            assert first.upper.maps[name] == first.store.nodes_above(name, first.upper.depths)
    finally:
        other_log.store.close()
    _assert_notes_match_rebuild(ledger, log)


def test_a_pass_whose_write_fails_forgets_the_kept_nodes(ledger, log, monkeypatch):
    index = log.index
    assert index is not None
    _more_filings(ledger, 399, 4)
    log.sequence()
    assert index.upper.position is not None

    def refused(expected, batch):
        raise OSError("disk gone")

    monkeypatch.setattr(index.store, "commit", refused)
    _more_filings(ledger, 400, 4)
    log.index = None  # sequenced, not yet indexed
    log.sequence()
    log.index = index
    with pytest.raises(OSError, match="disk gone"):
        index.catch_up()
    assert index.upper.position is None
    assert index.upper.maps == {}
    monkeypatch.undo()
    assert index.catch_up() == 1
    _assert_notes_match_rebuild(ledger, log)
