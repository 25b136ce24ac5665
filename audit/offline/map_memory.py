"""Sparse map v1 in memory, one root after another: the auditor's every-checkpoint re-check.

``ppl audit verify`` re-checks the product index's roots at every checkpoint
(audit.offline.index_rebuild): each checkpoint changes a few hundred entries of maps that grow
to 10^5-10^6, so each root must cost the changed paths only. ``MemoryMap`` keeps the map as a
Patricia trie of its two-sided nodes in plain Python lists, each with its hash cached until a
put goes through it: a root after k changed paths rehashes O(k log(n/k)) nodes. It gives the
root ``sparse_map.map_root_of_digests`` gives for the same entries (the hashes are sparse_map's,
the one-sided nodes between a node and its child are lifted by sparse_map's own rule), which
tests/audit/test_map_memory.py checks on generated batches. audit.offline.map_tree does the same
for the server, over stored rows and with proofs; in memory and without proofs, this one costs
a fraction of it per changed path. The map only grows (no deletion), as the index does.

A node is a tuple ``(path, leaf hash)`` for a leaf, or a list ``[depth, left, right, hash,
path, left's hash, right's hash]`` for a two-sided node: the depth of its first bit where its
leaves part, its two halves (left: that bit 0), its hash at that depth, the path of one leaf
under it (its prefix, and the side of its one-sided nodes), and each half's hash lifted to the
depth below it. Each hash is None until asked, and again once a put goes through it: a root
rehashes only the nodes the puts since the last one went through, and lifts only their
halves. Standard library only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from audit.offline.sparse_map import EMPTY, HASH_SIZE, LEAF_PREFIX, NODE_PREFIX, PATH_BITS

_Leaf = tuple[int, bytes]
_Node = list[Any]  # [depth, left, right, hash, path, left's hash, right's hash] (hashes or None)


class MemoryMap:
    """A sparse map v1 of path -> value digest, in memory: puts, and its root at any time."""

    __slots__ = ("_entries", "_top")

    def __init__(self) -> None:
        self._top: _Leaf | _Node | None = None
        self._entries = 0

    def __len__(self) -> int:
        return self._entries

    def put_many(self, digests: Mapping[bytes, bytes]) -> int:
        """Set each path's value digest; returns how many paths were not in the map before.

        Raises:
            ValueError: a path or digest that is not 32 bytes (nothing is put).
        """
        for path, digest in digests.items():
            if len(path) != HASH_SIZE or len(digest) != HASH_SIZE:
                raise ValueError(
                    f"path of {len(path)} and digest of {len(digest)} bytes, want {HASH_SIZE}"
                )
        sha = hashlib.sha256
        added = 0
        for path, digest in digests.items():
            added += self._put(int.from_bytes(path, "big"), sha(LEAF_PREFIX + path + digest))
        self._entries += added
        return added

    def _put(self, x: int, hashing: Any) -> int:
        """Put the leaf of path ``x`` (its hash object, ``leaf_hash``); 1 if the path is new."""
        leaf: _Leaf = (x, hashing.digest())
        node = self._top
        parent: _Node | None = None
        side = 0
        while True:
            if node is None:  # the empty map
                self._top = leaf
                return 1
            if isinstance(node, tuple):
                other = node[0]
                if other == x:  # a new value for the path
                    new: _Leaf | _Node = leaf
                    added = 0
                else:
                    new = _joined(leaf, node, PATH_BITS - (x ^ other).bit_length())
                    added = 1
                break
            depth, sample = node[0], node[4]
            if (x ^ sample) >> (PATH_BITS - depth):  # parts from the node's leaves above it
                new = _joined(leaf, node, PATH_BITS - (x ^ sample).bit_length())
                added = 1
                break
            side = 2 if (x >> (PATH_BITS - 1 - depth)) & 1 else 1
            node[3] = node[side + 4] = None  # its hash and that half's change
            parent = node
            node = node[side]
        if parent is None:
            self._top = new
        else:
            parent[side] = new
        return added

    def root(self) -> bytes:
        """The map's root now (EMPTY for no entries): ``sparse_map.map_root_of_digests`` of
        every entry put so far."""
        if self._top is None:
            return EMPTY
        return _lifted(self._top, 0)


def _joined(leaf: _Leaf, node: _Leaf | _Node, depth: int) -> _Node:
    """The two-sided node at ``depth`` over ``leaf`` and ``node``, which part there."""
    x = leaf[0]
    if (x >> (PATH_BITS - 1 - depth)) & 1:
        return [depth, node, leaf, None, x, None, None]
    return [depth, leaf, node, None, x, None, None]


def _lifted(node: _Leaf | _Node, to: int) -> bytes:
    """The hash at depth ``to`` of the subtree ``node`` (whose top is at ``to`` or deeper): a
    leaf is itself at any height; a two-sided node's hash, then one one-sided node per level
    up to ``to``, EMPTY on the side its leaves do not take (``sparse_map._lift``)."""
    if isinstance(node, tuple):
        return node[1]
    depth: int = node[0]
    h: bytes | None = node[3]
    if h is None:
        left: bytes | None = node[5]
        if left is None:
            left = node[5] = _lifted(node[1], depth + 1)
        right: bytes | None = node[6]
        if right is None:
            right = node[6] = _lifted(node[2], depth + 1)
        h = node[3] = hashlib.sha256(NODE_PREFIX + left + right).digest()
    if depth > to:
        x: int = node[4]
        sha = hashlib.sha256
        for i in range(depth - 1, to - 1, -1):
            if (x >> (PATH_BITS - 1 - i)) & 1:
                h = sha(NODE_PREFIX + EMPTY + h).digest()
            else:
                h = sha(NODE_PREFIX + h + EMPTY).digest()
    return h
