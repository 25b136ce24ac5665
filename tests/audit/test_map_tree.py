"""The stored, incremental map (audit.offline.map_tree) against its reference (sparse_map).

A ``MapTree`` must give the roots of ``map_root`` and byte for byte the proofs of
``MapProver`` for the same entries (the tree takes value digests, the reference values), for
random maps built by puts in any order with replacements, for crafted paths sharing 0 to 256
leading bits put in every order, and after a round trip through stored rows, batch after
batch; a put reads O(depth) nodes in a constant number of queries.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from itertools import permutations

import pytest

from audit.offline.map_tree import (
    Child,
    MapStorageError,
    MapTree,
    Node,
    node_key,
)
from audit.offline.sparse_map import (
    EMPTY,
    MapProver,
    TerminalKind,
    map_root,
    value_digest,
    verify_absence,
    verify_presence,
)

FULL = 2**256 - 1


class FakeNodeSource:
    """Stored rows in a dict; counts the queries and the nodes each one returns."""

    def __init__(self, rows: Mapping[bytes, Node] | None = None) -> None:
        self.rows = dict(rows or {})
        self.calls = 0
        self.returned: list[bytes] = []

    def nodes(self, keys: Sequence[bytes]) -> Mapping[bytes, Node]:
        self.calls += 1
        found = {key: self.rows[key] for key in keys if key in self.rows}
        self.returned.extend(found)
        return found


def _path(x: int) -> bytes:
    return x.to_bytes(32, "big")


def _rng(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 -- reproducible test data, nothing secret


def _random_path(rng: random.Random) -> bytes:
    return _path(rng.getrandbits(256))


def _build(entries: Mapping[bytes, bytes], order: Sequence[bytes], tree: MapTree) -> MapTree:
    for path in order:
        tree.put(path, value_digest(entries[path]))
    return tree


def _check_same_map(tree: MapTree, entries: Mapping[bytes, bytes], absent: Sequence[bytes]) -> None:
    """Same root, same proof bytes for every present path and each absent one; they verify."""
    prover = MapProver(entries)
    root = tree.root()
    assert root == map_root(entries) == prover.root
    for path, value in entries.items():
        proof = tree.prove(path)
        assert proof.encode() == prover.prove(path).encode()
        assert proof.terminal is TerminalKind.KEY_LEAF
        verify_presence(root, path, value, proof)
        assert tree.get(path) == value_digest(value)
    for path in absent:
        assert path not in entries
        proof = tree.prove(path)
        assert proof.encode() == prover.prove(path).encode()
        verify_absence(root, path, proof)
        assert tree.get(path) is None


# --- (1) random maps -----------------------------------------------------------------------------
@pytest.mark.parametrize("size", [0, 1, 2, 3, 10, 200, 2000])
def test_random_maps_put_in_any_order_have_the_reference_root_and_proofs(size):
    rng = _rng(size)
    entries = {_random_path(rng): rng.randbytes(rng.randrange(0, 12)) for _ in range(size)}
    order = list(entries)
    rng.shuffle(order)
    tree = _build(entries, order, MapTree(None, FakeNodeSource()))
    assert tree.root() == map_root(entries)
    for path in rng.sample(order, k=size // 3):  # replace some values, in another order
        entries[path] = b"replaced " + rng.randbytes(4)
        tree.put(path, value_digest(entries[path]))
    absent = [_random_path(rng) for _ in range(200)]
    absent += [bytes(32), b"\xff" * 32]
    for path in order[:20]:  # neighbours at the last bit and at a middle bit
        for flip in (255, 100):
            absent.append(_path(int.from_bytes(path, "big") ^ (1 << (255 - flip))))
    _check_same_map(tree, entries, absent)


def test_the_empty_map_has_the_empty_root_and_no_top():
    tree = MapTree(None, FakeNodeSource())
    assert tree.root() == EMPTY
    assert tree.top is None
    assert tree.changed() == {}
    proof = tree.prove(bytes(32))
    assert proof.depth == 0
    assert proof.terminal is TerminalKind.EMPTY


def test_putting_the_same_value_again_changes_nothing():
    rng = _rng(5)
    entries = {_random_path(rng): rng.randbytes(8) for _ in range(50)}
    tree = _build(entries, list(entries), MapTree(None, FakeNodeSource()))
    tree.take_changed()
    top = tree.top
    path = next(iter(entries))
    tree.put(path, value_digest(entries[path]))
    assert tree.changed() == {}
    assert tree.top == top


# --- (2) crafted paths ---------------------------------------------------------------------------
def _sharing(base: int, shared: int, rng: random.Random) -> bytes:
    """A path sharing exactly ``shared`` leading bits with ``base`` (256: base itself)."""
    if shared == 256:
        return _path(base)
    flipped = base ^ (1 << (255 - shared))
    noise = rng.getrandbits(255 - shared) if shared < 255 else 0
    return _path(flipped ^ noise)


CRAFTED_SETS = [
    # 00..00 and 00..01 (leaves at depth 256), 80..00, 40..00: the vectors' crafted map
    [bytes(32), _path(1), _path(1 << 255), _path(1 << 254)],
    [bytes(32), _path(1)],
    [_path(FULL), _path(FULL - 1), bytes(32)],
    [_path(1 << 255), _path(1 << 254), _path(1 << 253), _path(1)],
]


def _crafted_sets() -> list[list[bytes]]:
    rng = _rng(256)
    sets = list(CRAFTED_SETS)
    for shares in ([255, 254, 128, 0], [1, 7, 8, 9, 63], [64, 65, 127, 200], [255, 200, 254, 3]):
        base = rng.getrandbits(256)
        sets.append([_path(base), *(_sharing(base, k, rng) for k in shares)])
    return sets


def _absent_near(paths: Sequence[bytes], present: Sequence[bytes] = ()) -> list[bytes]:
    """Paths beside the given ones, each with one bit flipped at several depths, that are
    neither among them nor in ``present``."""
    absent = {bytes(32), b"\xff" * 32, _path(1 << 255), _path(2)}
    for path in paths:
        x = int.from_bytes(path, "big")
        for flip in (0, 1, 8, 63, 64, 65, 128, 199, 200, 201, 254, 255):
            absent.add(_path(x ^ (1 << (255 - flip))))
    return sorted(absent - set(paths) - set(present))


@pytest.mark.parametrize("paths", _crafted_sets(), ids=lambda paths: f"{len(paths)} paths")
def test_crafted_paths_put_in_every_order_give_the_reference_and_the_same_rows(paths):
    entries = {path: b"value %d" % i for i, path in enumerate(paths)}
    absent = _absent_near(paths)
    first = _build(entries, paths, MapTree(None, FakeNodeSource()))
    _check_same_map(first, entries, absent)
    rows, top, root = first.changed(), first.top, first.root()
    assert len(rows) == len(paths) - 1  # one row per two-sided node
    for order in permutations(paths):
        tree = _build(entries, order, MapTree(None, FakeNodeSource()))
        # the same rows and top, whatever the order: so the same root and the same proofs
        assert tree.changed() == rows
        assert tree.top == top
        assert tree.root() == root
    for order in (paths[::-1], paths[1::2] + paths[::2]):  # and two orders in full
        _check_same_map(_build(entries, order, MapTree(None, FakeNodeSource())), entries, absent)


def test_two_paths_differing_in_the_last_bit_part_at_depth_255():
    entries = {bytes(32): b"a", _path(1): b"b"}
    tree = _build(entries, list(entries), MapTree(None, FakeNodeSource()))
    assert list(tree.changed()) == [node_key(bytes(32), 255)]
    assert tree.prove(bytes(32)).depth == 256
    _check_same_map(tree, entries, [_path(2), _path(3)])


# --- (3) persistence ---------------------------------------------------------------------------
def test_a_tree_rebuilt_from_stored_rows_gives_the_same_roots_and_proofs_batch_after_batch():
    rng = _rng(3)
    rows: dict[bytes, Node] = {}
    top: Child | None = None
    entries: dict[bytes, bytes] = {}
    base = rng.getrandbits(256)
    for batch in range(6):
        source = FakeNodeSource(rows)
        tree = MapTree(top, source)
        assert tree.root() == map_root(entries)
        new = [_random_path(rng) for _ in range(150)]
        new += [_sharing(base, rng.randrange(0, 257), rng) for _ in range(10)]
        replaced = rng.sample(list(entries), k=min(len(entries), 30))
        for path in new + replaced:
            entries[path] = b"batch %d " % batch + rng.randbytes(4)
            tree.put(path, value_digest(entries[path]))
            if rng.random() < 0.2:  # proofs in the middle of the batch, from its cache
                probe = rng.choice(list(entries))
                assert tree.get(probe) == value_digest(entries[probe])
        assert len(source.returned) == len(set(source.returned))  # each node read once
        changed = tree.take_changed()
        assert tree.changed() == {}
        rows.update(changed)
        top = tree.top
        assert len(rows) == len(entries) - 1

        rebuilt = MapTree(top, FakeNodeSource(rows))
        prover = MapProver(entries)
        assert rebuilt.root() == prover.root
        absent = [_random_path(rng) for _ in range(50)]
        for path in [*rng.sample(list(entries), k=100), *absent]:
            assert rebuilt.prove(path).encode() == prover.prove(path).encode()

    # the same entries put in one go, in another order, give the same rows and top
    once = _build(entries, sorted(entries, reverse=True), MapTree(None, FakeNodeSource()))
    assert once.changed() == rows
    assert once.top == top


def test_a_narrow_window_reads_deep_walks_in_several_queries_with_the_same_proofs():
    rng = _rng(7)
    base = rng.getrandbits(256)
    entries = {_sharing(base, k, rng): b"%d" % k for k in (0, 5, 70, 130, 190, 250, 255, 256)}
    entries |= {_random_path(rng): b"r%d" % i for i in range(30)}
    built = _build(entries, list(entries), MapTree(None, FakeNodeSource()))
    rows, top = built.changed(), built.top
    for window in (1, 3, 64, 256):
        source = FakeNodeSource(rows)
        tree = MapTree(top, source, window=window)
        _check_same_map(tree, entries, _absent_near([_path(base)], list(entries)))
        assert len(source.returned) == len(set(source.returned))
    deep = FakeNodeSource(rows)
    MapTree(top, deep).prove(_path(base))  # 7 nodes between depths 0 and 255
    assert deep.calls == 4  # windows at depth 0, 70 (the first past 63), 190, 255


# --- (4) cost of one put ------------------------------------------------------------------------
def test_a_put_reads_and_writes_only_the_nodes_along_its_path():
    rng = _rng(4)
    n = 2000
    entries = {_random_path(rng): rng.randbytes(8) for _ in range(n)}
    built = _build(entries, list(entries), MapTree(None, FakeNodeSource()))
    rows, top = built.take_changed(), built.top
    bound = 3 * math.log2(n) + 10
    updates = [_random_path(rng) for _ in range(20)] + rng.sample(list(entries), k=20)
    for path in updates:
        source = FakeNodeSource(rows)
        tree = MapTree(top, source)
        tree.put(path, value_digest(b"new"))
        assert len(source.returned) < bound
        assert source.calls <= 1
        assert len(tree.changed()) <= len(source.returned) + 1  # the path's nodes, one new
        calls = source.calls
        tree.prove(path)  # from the cache
        assert source.calls == calls
        expected = dict(entries)
        expected[path] = b"new"
        assert tree.root() == map_root(expected)


# --- storage errors and arguments --------------------------------------------------------------
def test_a_missing_or_misplaced_node_is_a_storage_error():
    rng = _rng(9)
    entries = {_random_path(rng): b"v" for _ in range(20)}
    built = _build(entries, list(entries), MapTree(None, FakeNodeSource()))
    rows, top = built.changed(), built.top
    assert top is not None
    top_key = node_key(top.path, top.depth)
    with pytest.raises(MapStorageError, match="missing"):
        MapTree(top, FakeNodeSource({k: v for k, v in rows.items() if k != top_key})).prove(
            top.path
        )
    other = next(v for k, v in rows.items() if k != top_key)
    assert other.depth != top.depth
    with pytest.raises(MapStorageError, match=f"want {top.depth}"):
        MapTree(top, FakeNodeSource(rows | {top_key: other})).prove(top.path)
    swapped = Node(rows[top_key].depth, rows[top_key].right, rows[top_key].left)
    with pytest.raises(MapStorageError, match="not under it"):
        MapTree(top, FakeNodeSource(rows | {top_key: swapped})).prove(top.path)


def test_paths_digests_and_records_of_the_wrong_shape_are_refused():
    tree = MapTree(None, FakeNodeSource())
    with pytest.raises(ValueError, match="31 bytes"):
        tree.put(bytes(31), bytes(32))
    with pytest.raises(ValueError, match="digest of 33 bytes"):
        tree.put(bytes(32), bytes(33))
    with pytest.raises(ValueError, match="33 bytes"):
        tree.prove(bytes(33))
    with pytest.raises(ValueError, match="window"):
        MapTree(None, FakeNodeSource(), window=0)
    with pytest.raises(ValueError, match="digest"):
        Child(10, bytes(32), bytes(32), bytes(32))
    with pytest.raises(ValueError, match="digest"):
        Child(256, bytes(32), bytes(32), None)
    leaf = Child(256, bytes(32), bytes(32), bytes(32))
    with pytest.raises(ValueError, match="deeper"):
        Node(10, Child(10, bytes(32), bytes(32), None), leaf)
    with pytest.raises(ValueError, match="depth 256"):
        Node(256, leaf, leaf)


def test_node_keys_are_the_depth_then_the_prefix():
    path = b"\xff" * 32
    assert node_key(path, 0) == b"\x00\x00" + bytes(32)
    assert node_key(path, 9) == b"\x00\x09" + b"\xff\x80" + bytes(30)
    assert node_key(path, 256) == b"\x01\x00" + path
    with pytest.raises(ValueError, match="257"):
        node_key(path, 257)


# --- (7) batches: put_many -----------------------------------------------------------------------
@pytest.mark.parametrize("size", [1, 2, 3, 10, 300])
def test_put_many_gives_the_rows_and_root_of_the_puts_one_by_one(size):
    rng = _rng(700 + size)
    stored = FakeNodeSource()
    one_by_one = MapTree(None, FakeNodeSource())
    batched_top = None
    entries: dict[bytes, bytes] = {}
    for batch_number in range(4):  # batches over stored rows: new paths and replaced values
        batch = {_random_path(rng): rng.randbytes(6) for _ in range(size)}
        for path in rng.sample(sorted(entries), k=min(len(entries), size // 2 + 1)):
            batch[path] = b"replaced %d" % batch_number
        new_paths = len(set(batch) - set(entries))
        entries.update(batch)
        for path, value in batch.items():
            one_by_one.put(path, value_digest(value))
        batched = MapTree(batched_top, stored)
        added = batched.put_many({path: value_digest(value) for path, value in batch.items()})
        assert added == new_paths  # the entries the map gained, replaced values not counted
        stored.rows.update(batched.take_changed())
        batched_top = batched.top
        assert batched.root() == one_by_one.root() == map_root(entries)
    final = MapTree(batched_top, stored)
    assert stored.rows == one_by_one.take_changed()  # the same rows, each written once
    _check_same_map(final, entries, [_random_path(rng) for _ in range(50)])


@pytest.mark.parametrize("paths", _crafted_sets(), ids=lambda paths: f"{len(paths)} paths")
def test_put_many_of_crafted_paths_in_two_batches(paths):
    entries = {path: b"value %d" % i for i, path in enumerate(paths)}
    for cut in range(len(paths) + 1):
        tree = MapTree(None, FakeNodeSource())
        assert tree.put_many({p: value_digest(entries[p]) for p in paths[:cut]}) == cut
        # the second batch puts every path again: only those past the cut are new
        again = {p: value_digest(entries[p]) for p in paths}
        assert tree.put_many(again) == len(paths) - cut
        assert tree.put_many(again) == 0
        _check_same_map(tree, entries, _absent_near(paths))


def test_put_many_of_nothing_changes_nothing_and_refuses_a_bad_digest():
    tree = MapTree(None, FakeNodeSource())
    assert tree.put_many({}) == 0
    assert tree.top is None
    with pytest.raises(ValueError, match="digest"):
        tree.put_many({bytes(32): b"short"})
