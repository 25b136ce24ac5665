"""The sequencer integrates every stored event exactly once, with dense leaf indices."""

from __future__ import annotations

import threading
from uuid import UUID

import pytest

from api.bootstrap import open_log_store, open_sequencer
from audit.log.log_store import LogPosition
from audit.offline.errors import EventTamperedError
from audit.offline.log_leaf import log_leaf_hash
from audit.offline.merkle_nodes import node_ids, root_from_nodes, root_plan
from audit.offline.rfc6962 import tree_root
from domain.errors import DuplicateProductError
from tests.domain.factories import approved_filer, file, uscc
from tests.domain.test_tamper import _rewrite_state


def _all_notifications(ledger):
    return list(ledger.recorder.select_notifications(start=1, limit=10**6))


def _expected_leaves(ledger):
    return [
        log_leaf_hash(UUID(str(n.originator_id)), n.originator_version, n.topic, n.state)
        for n in _all_notifications(ledger)
    ]


def _root(store, size):
    return root_from_nodes(size, store.nodes(node_ids(root_plan(size))))


def _busy_ledger(ledger, count=3):
    for serial in range(count):
        code = uscc(300 + serial)
        filer_id = approved_filer(ledger, code)
        file(ledger, code, filer_id, model=f"S-{serial}")
    # A refused filing: on PostgreSQL its rolled-back insert leaves a gap in notification ids.
    with pytest.raises(DuplicateProductError):
        file(ledger, code, filer_id, model=f"S-{serial}")
    file(ledger, code, filer_id, model="after-the-gap")


@pytest.fixture
def log_store(settings):
    store = open_log_store(settings)
    yield store
    store.close()


def test_every_event_becomes_one_leaf_with_a_dense_index(ledger, log_store):
    _busy_ledger(ledger)
    sequencer = open_sequencer(ledger, log_store)
    sequencer.batch_size = 4  # several batches
    notifications = _all_notifications(ledger)
    assert sequencer.catch_up() == len(notifications)
    leaves = log_store.leaves(0, 10**6)
    assert [leaf.leaf_index for leaf in leaves] == list(range(len(notifications)))
    assert [leaf.notification_id for leaf in leaves] == [n.id for n in notifications]
    assert [leaf.leaf_hash for leaf in leaves] == _expected_leaves(ledger)
    assert log_store.position() == LogPosition(len(notifications), notifications[-1].id)
    assert sequencer.catch_up() == 0


def test_roots_from_stored_nodes_match_a_recomputation_at_every_size(ledger, log_store):
    _busy_ledger(ledger, count=2)
    sequencer = open_sequencer(ledger, log_store)
    sequencer.batch_size = 3
    sequencer.catch_up()
    leaves = _expected_leaves(ledger)
    for size in range(len(leaves) + 1):
        assert _root(log_store, size) == tree_root(leaves[:size])


def test_leaf_is_found_by_event(ledger, log_store):
    code = uscc(320)
    filer_id = approved_filer(ledger, code)
    open_sequencer(ledger, log_store).catch_up()
    leaf = log_store.leaf_for_event(filer_id, 3)
    assert leaf is not None
    assert leaf.leaf_index == 2
    assert log_store.leaf(2) == leaf
    assert log_store.leaf_for_event(filer_id, 4) is None


def test_crash_inside_a_batch_integrates_nothing_and_the_retry_integrates_once(ledger, log_store):
    _busy_ledger(ledger, count=2)
    sequencer = open_sequencer(ledger, log_store)
    original = log_store.integrate

    def crash_after_writing(expected, leaves, nodes, new):
        # Writes leaves and position, then fails on a duplicate node inside the transaction.
        original(expected, leaves, [*nodes, nodes[0]], new)

    log_store.integrate = crash_after_writing
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        sequencer.integrate_batch()
    assert log_store.position() == LogPosition(0, 0)
    assert log_store.leaves(0, 10**6) == []
    log_store.integrate = original
    sequencer.catch_up()
    assert [leaf.leaf_hash for leaf in log_store.leaves(0, 10**6)] == _expected_leaves(ledger)


def test_racing_sequencers_integrate_each_event_once(ledger, settings):
    _busy_ledger(ledger, count=4)
    stores = [open_log_store(settings) for _ in range(3)]
    try:
        sequencers = [open_sequencer(ledger, store) for store in stores]
        for sequencer in sequencers:
            sequencer.batch_size = 2
        barrier = threading.Barrier(len(sequencers))

        def run(sequencer):
            barrier.wait()
            sequencer.catch_up(max_retries=1000)

        threads = [threading.Thread(target=run, args=(s,)) for s in sequencers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        leaves = stores[0].leaves(0, 10**6)
        assert [leaf.leaf_hash for leaf in leaves] == _expected_leaves(ledger)
        assert [leaf.leaf_index for leaf in leaves] == list(range(len(leaves)))
    finally:
        for store in stores:
            store.close()


def test_tampered_event_is_refused_and_nothing_is_integrated(ledger, log_store, settings):
    code = uscc(330)
    filer_id = approved_filer(ledger, code)
    ledger.close()
    _rewrite_state(settings, filer_id, 2, lambda s: s[:-2] + b"!}")
    from api.bootstrap import open_ledger

    fresh = open_ledger(settings)
    try:
        with pytest.raises(EventTamperedError) as caught:
            open_sequencer(fresh, log_store).catch_up()
        assert (caught.value.originator_id, caught.value.version) == (filer_id, 2)
        assert log_store.position() == LogPosition(0, 0)
    finally:
        fresh.close()
