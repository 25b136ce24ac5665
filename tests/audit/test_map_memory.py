"""``MemoryMap`` gives the roots of the reference (``sparse_map.map_root_of_digests``) and the
entry counts of ``MapTree``, batch after batch, for generated paths: random ones, and ones
crafted to share long prefixes (deep one-sided chains, a path parting at the last bit)."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.offline.map_memory import MemoryMap
from audit.offline.map_tree import MapTree, Node
from audit.offline.sparse_map import EMPTY, map_root_of_digests


class _NoNodes:
    def nodes(self, keys: object) -> dict[bytes, Node]:
        return {}


def _path(prefix: int, bits: int, rest: int) -> bytes:
    """A path whose first ``bits`` bits are ``prefix``'s and the rest ``rest``'s."""
    high = prefix >> (256 - bits) << (256 - bits) if bits else 0
    low = rest & ((1 << (256 - bits)) - 1)
    return (high | low).to_bytes(32, "big")


_PATHS = st.one_of(
    st.binary(min_size=32, max_size=32),  # anywhere
    st.builds(  # sharing a long prefix with one fixed path: deep nodes and long lifts
        _path, st.just(int.from_bytes(hashlib.sha256(b"p").digest(), "big")),
        st.integers(200, 256), st.integers(0, 2**256 - 1),
    ),
)  # fmt: skip
_BATCHES = st.lists(
    st.dictionaries(_PATHS, st.binary(min_size=32, max_size=32), max_size=12), max_size=6
)


@settings(max_examples=300, deadline=None)
@given(_BATCHES)
def test_roots_and_counts_are_the_references_batch_after_batch(batches):
    memory = MemoryMap()
    tree = MapTree(None, _NoNodes())
    entries: dict[bytes, bytes] = {}
    for batch in batches:
        added = memory.put_many(batch)
        assert added == tree.put_many(batch)
        tree.take_changed()
        assert added == len(set(batch) - set(entries))
        entries.update(batch)
        assert len(memory) == len(entries)
        assert memory.root() == map_root_of_digests(entries) == tree.root()


def test_a_large_map_put_in_uneven_batches_has_the_reference_root():
    rng = random.Random(20)  # noqa: S311 (test data, not cryptography)
    memory = MemoryMap()
    entries: dict[bytes, bytes] = {}
    paths = [rng.randbytes(32) for _ in range(3000)]
    for size in (1, 2, 500, 7, 1500, 1, 990):
        batch = {rng.choice(paths): rng.randbytes(32) for _ in range(size)}
        memory.put_many(batch)
        entries.update(batch)
        assert memory.root() == map_root_of_digests(entries)


def test_the_empty_map_and_a_single_entry():
    memory = MemoryMap()
    assert memory.root() == EMPTY
    path, digest = bytes(32), bytes(range(32))
    assert memory.put_many({path: digest}) == 1
    assert memory.root() == map_root_of_digests({path: digest})
    assert memory.put_many({path: digest}) == 0  # the same path again: no new entry


@pytest.mark.parametrize(("path", "digest"), [(bytes(31), bytes(32)), (bytes(32), bytes(33))])
def test_a_path_or_digest_of_another_size_is_refused_and_nothing_is_put(path, digest):
    memory = MemoryMap()
    with pytest.raises(ValueError, match="want 32"):
        memory.put_many({bytes(32): bytes(32), path: digest})
    assert len(memory) == 0
    assert memory.root() == EMPTY
