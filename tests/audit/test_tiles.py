"""C2SP tlog-tiles from the log's tables: paths, hash tiles, entry bundles (audit.log.tiles).

Hash tiles are checked against Merkle tree hashes computed independently from the leaf hashes
(``rfc6962.tree_root`` over each tile hash's leaf range, the spec's formula read literally) on
a log grown stage by stage — sizes 1, 255, 256, 257 and 600 — on SQLite and PostgreSQL; the
log's nodes are written the way the sequencer writes them (``merkle_nodes.append_leaf``), for
synthetic events. Paths are data (tests/testdata/tile_paths.json) and cross-checked with
tlog-scales' own path formatter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from uuid import UUID, uuid5

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tlog_scales.reader import TilesReader
from tlog_scales.tiles import tile_path as scales_tile_path

from api.bootstrap import open_log_store
from audit.log.log_store import CheckpointRecord, LeafRecord, LogPosition, LogStore, NodeId
from audit.log.tiles import (
    FULL_TILE_BYTES,
    MAX_ENTRY_SIZE,
    EntryTooLargeError,
    FullTileCache,
    TileIntegrityError,
    TileNotFoundError,
    TilePath,
    TilePathError,
    TileReader,
    format_tile_path,
    parse_tile_path,
)
from audit.offline.log_leaf import log_leaf_data
from audit.offline.merkle_nodes import append_leaf, node_ids, root_from_nodes, root_plan
from audit.offline.rfc6962 import leaf_hash, tree_root

PATHS = json.loads(
    (Path(__file__).resolve().parents[1] / "testdata" / "tile_paths.json").read_text("utf-8")
)
NAMESPACE = UUID("7d0a3a52-7a57-4c2e-9f3e-2f1b3c1d0e5a")
TOPIC = "tests.audit.test_tiles:Synthetic"
STAGES = [1, 255, 256, 257, 600]
BIG_LEAF = 300  # its event is longer than an entry can be


# --- paths --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", PATHS["valid"], ids=lambda case: case["desc"])
def test_a_valid_path_names_its_tile_and_is_its_tiles_only_spelling(case):
    tile = parse_tile_path(case["path"])
    assert tile == TilePath(case["level"], case["index"], case["width"], case["entries"])
    assert format_tile_path(tile) == case["path"]
    level = -1 if tile.entries else tile.level
    partial = tile.width if tile.partial else 0
    assert "/".join(scales_tile_path(level, tile.index, partial)) == case["path"]


@pytest.mark.parametrize("case", PATHS["invalid"], ids=lambda case: case["desc"])
def test_a_path_that_names_no_tile_is_refused_saying_what_is_wrong(case):
    with pytest.raises(TilePathError, match="tile path") as refused:
        parse_tile_path(case["path"])
    assert case["want_error"] in str(refused.value)
    assert refused.value.path == case["path"]


@given(
    level=st.integers(0, 63),
    index=st.integers(0, 2**56 - 1),
    width=st.integers(1, 256),
    entries=st.booleans(),
)
def test_formatting_and_parsing_are_inverse(level, index, width, entries):
    tile = TilePath(0 if entries else level, index, width, entries)
    path = format_tile_path(tile)
    assert parse_tile_path(path) == tile
    level_or_entries = -1 if entries else tile.level
    assert path.split("/") == scales_tile_path(level_or_entries, index, width % 256)


@pytest.mark.parametrize(
    ("level", "index", "width", "entries"),
    [(-1, 0, 256, False), (64, 0, 256, False), (1, 0, 256, True), (0, -1, 256, False),
     (0, 2**56, 256, False), (0, 0, 0, False), (0, 0, 257, False)],
)  # fmt: skip
def test_a_tile_outside_the_layout_cannot_be_made(level, index, width, entries):
    with pytest.raises(ValueError, match="want"):
        TilePath(level, index, width, entries)


def test_a_tile_needs_the_tree_size_the_spec_gives():
    # A tree of 70,000 leaves (the spec's example): 273 full level-0 tiles, a level-0 partial
    # of 112, a full level-1 tile, a level-1 partial of 17 and a level-2 partial of 1.
    size = 70_000
    assert TilePath(0, 272).leaves_needed <= size < TilePath(0, 273).leaves_needed
    assert TilePath(0, 273, 112).leaves_needed <= size < TilePath(0, 273, 113).leaves_needed
    assert TilePath(1, 0).leaves_needed <= size < TilePath(1, 1).leaves_needed
    assert TilePath(1, 1, 17).leaves_needed <= size < TilePath(1, 1, 18).leaves_needed
    assert TilePath(2, 0, 1).leaves_needed <= size < TilePath(2, 0, 2).leaves_needed
    assert TilePath(0, 0, 1).leaves_needed == 1
    assert TilePath(63, 0, 1).leaves_needed == 2**504


# --- a log on the store -------------------------------------------------------------------------
@dataclass(frozen=True)
class FakeNotification:
    id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


class FakeEvents:
    """The event store's notifications (ids with gaps, as PostgreSQL's), read as the
    sequencer reads them: from an id on, ``limit`` of them."""

    def __init__(self) -> None:
        self.stored: list[FakeNotification] = []

    def add(self, count: int) -> list[FakeNotification]:
        added = []
        for serial in range(len(self.stored), len(self.stored) + count):
            size = 70_000 if serial == BIG_LEAF else 40 + serial % 97
            added.append(
                FakeNotification(
                    id=3 * serial + 1,  # gaps: ids 1, 4, 7, ...
                    originator_id=uuid5(NAMESPACE, str(serial // 3)),
                    originator_version=serial % 3 + 1,
                    topic=TOPIC,
                    state=bytes([serial % 251]) * size,
                )
            )
        self.stored += added
        return added

    def read(self, start: int, limit: int) -> list[FakeNotification]:
        return [n for n in self.stored if n.id >= start][:limit]


def entry(notification: FakeNotification) -> bytes:
    return log_leaf_data(
        notification.originator_id,
        notification.originator_version,
        notification.topic,
        notification.state,
    )


@dataclass
class GrowingLog:
    store: LogStore
    events: FakeEvents
    nodes: dict[NodeId, bytes]
    leaves: list[bytes]

    def grow_to(self, size: int, *, sign: bool = True) -> None:
        """Integrate events up to ``size`` leaves, as the sequencer does; sign a checkpoint."""
        before = self.store.position()
        added = self.events.add(size - before.tree_size)
        records, new_nodes = [], []
        for offset, notification in enumerate(added):
            index = before.tree_size + offset
            digest = leaf_hash(entry(notification))
            new_nodes += append_leaf(self.nodes, index, digest)
            records.append(
                LeafRecord(
                    index, notification.id, notification.originator_id,
                    notification.originator_version, digest,
                )
            )  # fmt: skip
            self.leaves.append(digest)
        self.store.integrate(before, records, new_nodes, LogPosition(size, added[-1].id))
        if sign:
            self.sign(size)

    def sign(self, size: int) -> None:
        root = root_from_nodes(size, self.store.nodes(node_ids(root_plan(size))))
        self.store.add_checkpoint(CheckpointRecord(size, root, f"note {size}\n", "now"))


@pytest.fixture
def log(settings):
    store = open_log_store(settings)
    yield GrowingLog(store, FakeEvents(), {}, [])
    store.close()


@pytest.fixture
def reader(log):
    return TileReader(log.store, log.events.read)


def expected_hash_tile(leaves: list[bytes], level: int, index: int, width: int) -> bytes:
    """The spec's formula read literally: MTH(D[(n·256 + i)·256^l : (n·256 + i + 1)·256^l])."""
    span = 256**level
    return b"".join(
        tree_root(leaves[(index * 256 + i) * span : (index * 256 + i + 1) * span])
        for i in range(width)
    )


def existing_tiles(size: int) -> list[TilePath]:
    """Every hash tile of a tree of ``size``: full ones and every width of the partial ones."""
    tiles = []
    for level in range(3):
        count = size // 256**level
        tiles += [TilePath(level, n) for n in range(count // 256)]
        tiles += [TilePath(level, count // 256, w) for w in range(1, count % 256 + 1)]
    return tiles


def test_hash_tiles_are_the_merkle_hashes_of_their_leaf_ranges_at_every_stage(log, reader):
    served: dict[TilePath, bytes] = {}
    for size in STAGES:
        log.grow_to(size)
        for tile in existing_tiles(size):
            hashes = reader.hash_tile(tile)
            assert hashes == expected_hash_tile(log.leaves, tile.level, tile.index, tile.width)
            assert served.setdefault(tile, hashes) == hashes  # immutable as the log grows
            assert len(hashes) == (FULL_TILE_BYTES if not tile.partial else 32 * tile.width)
    assert TilePath(0, 1) in served  # a full level-0 tile
    assert TilePath(1, 0, 2) in served  # a level-1 partial: MTHs of two full level-0 tiles
    assert served[TilePath(1, 0, 1)] == tree_root(log.leaves[:256])


@pytest.mark.parametrize("size", STAGES)
def test_tiles_beyond_the_signed_checkpoint_are_absent(log, reader, size):
    log.grow_to(size)
    log.grow_to(size + 300, sign=False)  # integrated, nodes stored, but not signed
    count = size
    absent = [
        TilePath(0, count // 256, count % 256 + 1),  # one leaf more than signed
        TilePath(0, count // 256),  # the full tile, unless complete
        TilePath(0, count // 256 + 1, 1),
        TilePath(1, count // 65536, count // 256 % 256 + 1),
        TilePath(2, 0, 1),
    ]
    for tile in absent:
        if tile.leaves_needed <= size:
            continue  # e.g. the full tile of a size that is a multiple of 256
        with pytest.raises(TileNotFoundError, match=f"the latest signed checkpoint has {size}"):
            reader.hash_tile(tile)
        if tile.level == 0:
            with pytest.raises(TileNotFoundError):
                reader.entry_bundle(replace(tile, entries=True))


def test_before_the_first_checkpoint_no_tile_exists(log, reader):
    log.grow_to(10, sign=False)
    with pytest.raises(TileNotFoundError, match="no checkpoint is signed"):
        reader.hash_tile(TilePath(0, 0, 1))


def test_hash_tiles_let_tlog_scales_compute_the_root(log, reader):
    log.grow_to(600)

    class Backend:  # tlog-scales' TilesBackend over the reader: None when absent
        def get(self, *path):
            tile = parse_tile_path("/".join(path))
            try:
                return reader.entry_bundle(tile) if tile.entries else reader.hash_tile(tile)
            except TileNotFoundError:
                return None

    client = TilesReader(Backend())
    client.set_size(600)
    assert client.calculate_root_hash() == tree_root(log.leaves)


def test_an_entry_bundle_is_each_leafs_data_after_its_length(log, reader):
    log.grow_to(257)
    bundle = reader.entry_bundle(TilePath(0, 0, entries=True))
    offset, entries = 0, []
    while offset < len(bundle):
        length = int.from_bytes(bundle[offset : offset + 2], "big")
        entries.append(bundle[offset + 2 : offset + 2 + length])
        offset += 2 + length
    assert entries == [entry(n) for n in log.events.stored[:256]]
    assert [leaf_hash(e) for e in entries] == log.leaves[:256]
    last = reader.entry_bundle(TilePath(0, 1, 1, entries=True))
    assert last == len(entry(log.events.stored[256])).to_bytes(2, "big") + entry(
        log.events.stored[256]
    )
    # every prefix width is served, and is the prefix of the full bundle
    assert bundle.startswith(reader.entry_bundle(TilePath(0, 0, 3, entries=True)))


def test_an_entry_longer_than_a_uint16_is_refused_naming_its_leaf(log, reader):
    log.grow_to(600)
    assert len(entry(log.events.stored[BIG_LEAF])) > MAX_ENTRY_SIZE
    with pytest.raises(EntryTooLargeError, match=f"leaf {BIG_LEAF} has 70,") as refused:
        reader.entry_bundle(TilePath(0, 1, entries=True))
    assert refused.value.leaf_index == BIG_LEAF
    # the bundle before it and the hash tile holding its hash are served
    reader.entry_bundle(TilePath(0, 0, entries=True))
    reader.entry_bundle(TilePath(0, 1, BIG_LEAF - 256, entries=True))
    assert len(reader.hash_tile(TilePath(0, 1))) == FULL_TILE_BYTES


def test_an_event_that_no_longer_hashes_to_its_leaf_is_never_served(log, reader):
    log.grow_to(257)
    stored = log.events.stored
    stored[5] = replace(stored[5], state=stored[5].state + b" ")
    with pytest.raises(TileIntegrityError, match=r"leaf 5 \(.*\) no longer hashes to its leaf"):
        reader.entry_bundle(TilePath(0, 0, entries=True))
    reader.entry_bundle(TilePath(0, 0, 5, entries=True))  # the leaves before it still are


def test_an_event_missing_from_the_store_is_an_integrity_failure(log, reader):
    log.grow_to(257)
    del log.events.stored[7]
    with pytest.raises(TileIntegrityError, match="leaf 7 is notification 22"):
        reader.entry_bundle(TilePath(0, 0, entries=True))
    del log.events.stored[7:]
    with pytest.raises(TileIntegrityError, match="7 stored events from leaf 0's, want 256"):
        reader.entry_bundle(TilePath(0, 0, entries=True))


def test_a_node_missing_from_the_store_is_an_integrity_failure(log, reader):
    log.grow_to(600)
    with log.store.database.transaction(write=True) as cursor:
        cursor.execute("DELETE FROM ppl_log_nodes WHERE level = 8 AND node_index = 1")
    with pytest.raises(TileIntegrityError, match="1 stored nodes of level 8 from 0, want 2"):
        reader.hash_tile(TilePath(1, 0, 2))
    assert reader.hash_tile(TilePath(1, 0, 1)) == tree_root(log.leaves[:256])


def test_the_kinds_are_not_mixed_up(reader):
    with pytest.raises(ValueError, match="use entry_bundle"):
        reader.hash_tile(TilePath(0, 0, entries=True))
    with pytest.raises(ValueError, match="use hash_tile"):
        reader.entry_bundle(TilePath(0, 0))


def test_node_range_reads_one_level_in_order(log):
    log.grow_to(600)
    got = log.store.node_range(1, 10, 20)
    assert got == [(i, log.nodes[(1, i)]) for i in range(10, 20)]
    assert log.store.node_range(9, 0, 10) == [(0, log.nodes[(9, 0)])]  # only what is stored
    assert log.store.node_range(0, 600, 700) == []


def test_a_full_tile_is_served_from_the_cache_once_read_and_partial_tiles_never(log, monkeypatch):
    cache = FullTileCache(capacity=2)
    cached = TileReader(log.store, log.events.read, cache)
    log.grow_to(600)
    first = cached.hash_tile(TilePath(0, 0))
    partial = cached.hash_tile(TilePath(0, 2, 88))

    def no_store(*_: object) -> object:
        raise AssertionError("the store was read")

    monkeypatch.setattr(log.store, "node_range", no_store)
    monkeypatch.setattr(log.store, "latest_checkpoint", no_store)
    assert cached.hash_tile(TilePath(0, 0)) == first  # immutable: no read at all
    with pytest.raises(AssertionError, match="the store was read"):
        cached.hash_tile(TilePath(0, 2, 88))  # a partial tile is read each time
    assert partial == expected_hash_tile(log.leaves, 0, 2, 88)
    monkeypatch.undo()
    cached.hash_tile(TilePath(0, 1))
    cached.hash_tile(TilePath(1, 0, 2))
    assert cache.get(0, 0) == first
    cached.hash_tile(TilePath(0, 2, 1))
    assert cache.get(0, 1) is not None
    assert TilePath(0, 0).width == 256
    assert len(cache._tiles) == 2
