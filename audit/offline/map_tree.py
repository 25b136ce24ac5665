"""Sparse map v1, incrementally: the map kept as nodes, updated and proved one path at a time.

audit.offline.sparse_map is the map's reference (docs/product-index.md, "The map (sparse_map
v1)"): it builds a root or a prover from *all* the entries at once, which is right for the
auditor and for tests but not for the server. The server keeps maps of 10^6 entries and more
and changes them one filing at a time; rebuilding the root for each change would read every
entry. ``MapTree`` is the same map stored so that a change or a proof reads and writes only the
O(depth) nodes along one path (about log2(n): 20 at 10^6 random paths), while giving **exactly
the same roots, and byte for byte the same proofs**, as ``sparse_map.map_root`` and
``sparse_map.MapProver`` for the same entries: the hashes are those of sparse_map, imported
from it, never re-derived.

What is stored is a Patricia trie of the map's *two-sided* nodes only — the n - 1 subtrees
that hold entries on both sides. A ``Node`` at depth d holds its two non-empty halves as
``Child`` records (the depth of each one's own top two-sided node, or 256 for a leaf; a path
under it; its hash), so one row is enough to hash it and to give a sibling: the one-sided
nodes between a node and a child are implied (``node(h, EMPTY)`` or ``node(EMPTY, h)`` along
the child's bits) and recomputed on the way, never stored. A node is found by its
``node_key``: its depth and its prefix, which never change once the node exists — the map
only grows (no deletion), so a two-sided node stays two-sided and an update rewrites rows at
their keys without moving any. A node's ``Child.path`` is its prefix padded with zero bits,
so the rows depend only on the entries, not on the order they were put in.

A ``MapTree`` is one unit of work (a batch of puts and proofs, then one write): it fetches
nodes through a ``NodeSource`` — a window of the keys along the path in one query, the next
window only if the walk goes deeper — caches every node it fetched or wrote, and hands back the
rows to write (``take_changed``) and the new top (``top``), which the caller stores beside the
root. Not thread-safe; a new instance for each transaction.

The server keeps the nodes as database rows (audit.log.index_store). The offline verifier,
which re-checks the roots at every checkpoint and needs no proofs, keeps the same trie in plain
lists (audit.offline.map_memory, about a third of this one's cost per changed path in memory).
Standard library only.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from audit.offline.sparse_map import (
    EMPTY,
    HASH_SIZE,
    PATH_BITS,
    MapProof,
    TerminalKind,
    leaf_hash,
    node_hash,
)

WINDOW: Final = 64
"""Depths asked for in one query: a walk through 10^6 random paths is about 20 nodes deep."""
NODE_KEY_SIZE: Final = 2 + HASH_SIZE


class MapStorageError(Exception):
    """The source lacks a node the tree points to, or holds another node at its key.

    The stored map is damaged (or the top given is not the one stored with these rows): no
    root or proof can be trusted from it.
    """

    def __init__(self, key: bytes, reason: str) -> None:
        self.key = key
        depth = int.from_bytes(key[:2], "big")
        super().__init__(f"map node {key.hex()} (depth {depth}): {reason}")


@dataclass(frozen=True, slots=True)
class Child:
    """A non-empty subtree as its parent sees it.

    ``depth``: the depth of the subtree's top two-sided node, or 256 (``PATH_BITS``) for a
    single leaf. ``path``: a path under it — the leaf's own path for a leaf (the trees built
    here give a node its prefix padded with zero bits). ``hash``: a node's hash at ``depth``
    (its parent lifts it through the one-sided nodes above), or a leaf's
    ``leaf_hash(path, digest)``. ``digest``: a leaf's value digest, None for a node.

    Raises:
        ValueError: a depth outside 0..256, a path or hash that is not 32 bytes, or a digest
            missing for a leaf, present for a node, or not 32 bytes.
    """

    depth: int
    path: bytes
    hash: bytes
    digest: bytes | None

    def __post_init__(self) -> None:
        if not 0 <= self.depth <= PATH_BITS:
            raise ValueError(f"child depth {self.depth}: want 0..{PATH_BITS}")
        if len(self.path) != HASH_SIZE or len(self.hash) != HASH_SIZE:
            raise ValueError(
                f"child of {len(self.path)}-byte path, {len(self.hash)}-byte hash: want 32, 32"
            )
        if (self.digest is None) != (self.depth < PATH_BITS):
            raise ValueError(f"child at depth {self.depth}: want a digest for a leaf (256) only")
        if self.digest is not None and len(self.digest) != HASH_SIZE:
            raise ValueError(f"leaf digest of {len(self.digest)} bytes, want {HASH_SIZE}")

    @property
    def is_leaf(self) -> bool:
        return self.depth == PATH_BITS


@dataclass(frozen=True, slots=True)
class Node:
    """A two-sided node: the subtree at ``depth`` along its prefix holds entries on both sides.

    Its hash is ``node_hash(left lifted to depth + 1, right lifted to depth + 1)``; it is not
    stored (the parent's ``Child.hash`` holds it).

    Raises:
        ValueError: a depth outside 0..255, or a child not below it.
    """

    depth: int
    left: Child
    right: Child

    def __post_init__(self) -> None:
        if not 0 <= self.depth < PATH_BITS:
            raise ValueError(f"node depth {self.depth}: want 0..{PATH_BITS - 1}")
        if min(self.left.depth, self.right.depth) <= self.depth:
            raise ValueError(
                f"node at depth {self.depth} with children at depths {self.left.depth}, "
                f"{self.right.depth}: want both deeper"
            )


class NodeSource(Protocol):
    """Where a ``MapTree`` reads the stored nodes (a table keyed by ``node_key``)."""

    def nodes(self, keys: Sequence[bytes]) -> Mapping[bytes, Node]:
        """The stored nodes among ``keys`` (one query); keys with no node are left out."""
        ...


def _int(path: bytes) -> int:
    return int.from_bytes(path, "big")


def _bit(x: int, i: int) -> int:
    """Bit ``i`` (0 = most significant) of a path read as a 256-bit big-endian integer."""
    return (x >> (PATH_BITS - 1 - i)) & 1


def _prefix(x: int, depth: int) -> int:
    """The path ``x`` with every bit from ``depth`` on cleared."""
    shift = PATH_BITS - depth
    return x >> shift << shift


def _key(x: int, depth: int) -> bytes:
    return depth.to_bytes(2, "big") + _prefix(x, depth).to_bytes(HASH_SIZE, "big")


def _shared(x: int, y: int) -> int:
    """How many leading bits two paths share (256 for the same path)."""
    return PATH_BITS - (x ^ y).bit_length()


def node_key(path: bytes, depth: int) -> bytes:
    """The key of the node at ``depth`` along ``path``: 34 bytes, the depth as 2 bytes
    big-endian, then the path's first ``depth`` bits with every later bit zero.

    Raises:
        ValueError: a path that is not 32 bytes, or a depth outside 0..256.
    """
    if len(path) != HASH_SIZE:
        raise ValueError(f"map path of {len(path)} bytes, want {HASH_SIZE}")
    if not 0 <= depth <= PATH_BITS:
        raise ValueError(f"node depth {depth}: want 0..{PATH_BITS}")
    return _key(_int(path), depth)


def _lifted(child: Child, to: int) -> bytes:
    """The child's hash at depth ``to`` (to ≤ its depth): a leaf's whatever the height, a
    node's through the one-sided nodes along its own bits."""
    h = child.hash
    if child.is_leaf:
        return h
    x = _int(child.path)
    for i in range(child.depth - 1, to - 1, -1):
        h = node_hash(EMPTY, h) if _bit(x, i) else node_hash(h, EMPTY)
    return h


@dataclass(frozen=True, slots=True)
class _Walk:
    """The walk along one path: the two-sided nodes it passes, from the top down, and what it
    meets last — a leaf (the terminal, at ``depth``), a subtree the path parts from (the walk
    ends at ``depth`` on EMPTY, with that subtree as the deepest sibling), or None (the empty
    map)."""

    ancestors: tuple[Node, ...]
    end: Child | None
    depth: int


class MapTree:
    """One unit of work on a stored map: puts, lookups and proofs along single paths.

    ``top`` is the whole map's top subtree as last stored (None for the empty map); ``source``
    reads stored nodes. Nodes fetched or written are cached for the instance's life, so a batch
    reads each node once; ``changed``/``take_changed`` give the rows to write.

    Raises:
        ValueError: a window below 1.
    """

    def __init__(self, top: Child | None, source: NodeSource, *, window: int = WINDOW) -> None:
        if window < 1:
            raise ValueError(f"window of {window} depths, want at least 1")
        self._top = top
        self._source = source
        self._window = window
        self._cache: dict[bytes, Node] = {}
        self._changed: dict[bytes, Node] = {}
        self._added = 0  # new paths in the current put_many

    @property
    def top(self) -> Child | None:
        """The map's top subtree (None: empty): what to store beside the rows and the root."""
        return self._top

    def root(self) -> bytes:
        """The map's root: EMPTY, a lone entry's leaf, or the top node lifted to depth 0."""
        if self._top is None:
            return EMPTY
        return _lifted(self._top, 0)

    def changed(self) -> dict[bytes, Node]:
        """The nodes created or rewritten since construction or ``take_changed``, by key."""
        return dict(self._changed)

    def take_changed(self) -> dict[bytes, Node]:
        """As ``changed``, and forget them (once written); the cache keeps them."""
        changed, self._changed = self._changed, {}
        return changed

    def prefetch(self, paths: Iterable[bytes], depths: int) -> None:
        """Read, in one request to the source, the nodes the first ``depths`` depths along
        each path may hold: a batch of puts and proofs then walks from the cache (deeper
        nodes, if any, are fetched as the walks need them). Nodes already cached are not
        asked for, and never replaced.

        Raises:
            ValueError: a path that is not 32 bytes.
            MapStorageError: the source holds another node at a key.
        """
        xs = {_check_path(path) for path in paths}
        wanted: set[bytes] = set()
        for depth in range(min(depths, PATH_BITS)):  # one key per distinct prefix at a depth
            shift = PATH_BITS - depth
            head = depth.to_bytes(2, "big")
            wanted.update(
                head + (prefix << shift).to_bytes(HASH_SIZE, "big")
                for prefix in {x >> shift for x in xs}
            )
        keys = sorted(wanted.difference(self._cache))
        if not keys:
            return
        found = self._source.nodes(keys)
        for key in keys:
            fetched = found.get(key)
            if fetched is not None:
                _check_node(key, fetched)
                self._cache[key] = fetched

    def get(self, path: bytes) -> bytes | None:
        """The value digest stored at ``path``, or None.

        Raises:
            ValueError: a path that is not 32 bytes.
            MapStorageError: a node on the walk is missing or inconsistent.
        """
        end = self._walk(_check_path(path)).end
        if end is not None and end.is_leaf and end.path == path:
            return end.digest
        return None

    def put(self, path: bytes, digest: bytes) -> None:
        """Map ``path`` to the value whose SHA-256 is ``digest`` (insert or replace).

        Walks to the terminal, puts the new leaf there (replacing the path's own leaf, or
        joined under a new node with the leaf or subtree met at the depth where they part),
        then rewrites each node on the walk, bottom-up, and the top.

        Raises:
            ValueError: a path or digest that is not 32 bytes.
            MapStorageError: a node on the walk is missing or inconsistent.
        """
        x = _check_path(path)
        if len(digest) != HASH_SIZE:
            raise ValueError(f"value digest of {len(digest)} bytes, want {HASH_SIZE}")
        walk = self._walk(x)
        end = walk.end
        new = Child(PATH_BITS, path, leaf_hash(path, digest), digest)
        if end is not None and end.is_leaf and end.path == path:
            if end.digest == digest:
                return  # the same value again: nothing changes
        elif end is not None:
            new = self._join(new, end, _shared(x, _int(end.path)), x)
        for node in reversed(walk.ancestors):
            if _bit(x, node.depth):
                new = self._store(Node(node.depth, node.left, new), x)
            else:
                new = self._store(Node(node.depth, new, node.right), x)
        self._top = new

    def put_many(self, digests: Mapping[bytes, bytes]) -> int:
        """``put`` of every (path, value digest), each node on the way hashed once; returns
        how many of the paths were not in the map before (its entries grow by that many).

        The same tree, rows and root as the puts one by one, in any order — but one by one
        rehashes every ancestor per put, so the nodes near the top are hashed once per entry
        of the batch; here a subtree is rebuilt only where the batch's paths lead, once.

        Raises:
            ValueError: a path or digest that is not 32 bytes.
            MapStorageError: a node on a walk is missing or inconsistent.
        """
        items: list[tuple[int, bytes, bytes]] = []
        for path, digest in digests.items():
            if len(digest) != HASH_SIZE:
                raise ValueError(f"value digest of {len(digest)} bytes, want {HASH_SIZE}")
            items.append((_check_path(path), path, digest))
        if not items:
            return 0
        items.sort()
        self._added = 0
        new = self._update(self._top, 0, items)
        self._top = new
        return self._added

    def _update(
        self, sub: Child | None, entry: int, items: list[tuple[int, bytes, bytes]]
    ) -> Child:
        """The subtree entered at depth ``entry`` (``sub``, None if empty) with ``items`` put
        in (sorted, distinct, non-empty, all sharing the subtree's first ``entry`` bits)."""
        if sub is None:
            self._added += len(items)
            return self._build(entry, items)
        x = _int(sub.path)
        if sub.is_leaf:
            at = bisect_left(items, (x,))
            if at < len(items) and items[at][0] == x:  # the leaf's own path is put again
                self._added += len(items) - 1
            else:
                self._added += len(items)
                items = [*items[:at], (x, sub.path, sub.digest or b""), *items[at:]]
            if len(items) == 1:
                return self._leaf(items[0])
            return self._build(entry, items)
        # the first bit at which any item leaves the subtree's prefix (else its depth): in
        # path order the paths sharing the fewest bits with x are the first or the last
        parting = min(_shared(items[0][0], x), _shared(items[-1][0], x), sub.depth)
        if parting < sub.depth:  # a new node at ``parting``: the subtree on one side
            zeros, ones = _split(items, x, parting)
            inside, outside = (ones, zeros) if _bit(x, parting) else (zeros, ones)
            kept = self._update(sub, parting + 1, inside) if inside else sub
            self._added += len(outside)
            other = self._build(parting + 1, outside)
            pair = (other, kept) if _bit(x, parting) else (kept, other)
            return self._store(Node(parting, *pair), x)
        node = self._node(x, sub.depth)
        depth = sub.depth
        left, right = _split(items, x, depth)
        return self._store(
            Node(
                depth,
                self._update(node.left, depth + 1, left) if left else node.left,
                self._update(node.right, depth + 1, right) if right else node.right,
            ),
            x,
        )

    def _build(self, entry: int, items: list[tuple[int, bytes, bytes]]) -> Child:
        """A subtree of ``items`` alone (sorted, distinct, non-empty, below depth ``entry``)."""
        if len(items) == 1:
            return self._leaf(items[0])
        depth = _shared(items[0][0], items[-1][0])  # first and last part first: the top
        zeros, ones = _split(items, items[0][0], depth)
        left = self._build(depth + 1, zeros)
        right = self._build(depth + 1, ones)
        return self._store(Node(depth, left, right), items[0][0])

    @staticmethod
    def _leaf(item: tuple[int, bytes, bytes]) -> Child:
        _, path, digest = item
        return Child(PATH_BITS, path, leaf_hash(path, digest), digest)

    def prove(self, path: bytes) -> MapProof:
        """The proof of presence or absence of ``path``: byte for byte what
        ``MapProver(entries).prove(path)`` gives for the same entries.

        Raises:
            ValueError: a path that is not 32 bytes.
            MapStorageError: a node on the walk is missing or inconsistent.
        """
        x = _check_path(path)
        walk = self._walk(x)
        found: list[tuple[int, bytes]] = []  # (depth - 1, hash) of each non-EMPTY sibling
        for node in walk.ancestors:
            other = node.left if _bit(x, node.depth) else node.right
            found.append((node.depth, _lifted(other, node.depth + 1)))
        end = walk.end
        terminal, leaf_path, digest = TerminalKind.EMPTY, b"", b""
        if end is not None and not end.is_leaf:  # the path parts from it: EMPTY beside it
            found.append((walk.depth - 1, _lifted(end, walk.depth)))
        elif end is not None and end.path == path:
            terminal = TerminalKind.KEY_LEAF
        elif end is not None and end.digest is not None:
            terminal, leaf_path, digest = TerminalKind.OTHER_LEAF, end.path, end.digest
        bitmap = bytearray((walk.depth + 7) // 8)
        for i, _ in found:
            bitmap[i >> 3] |= 0x80 >> (i & 7)
        return MapProof(
            walk.depth, bytes(bitmap), tuple(h for _, h in found), terminal, leaf_path, digest
        )

    def _walk(self, x: int) -> _Walk:
        ancestors: list[Node] = []
        child, entry = self._top, 0
        while child is not None and not child.is_leaf:
            depth = child.depth
            shared = _shared(x, _int(child.path))
            if shared < depth:
                return _Walk(tuple(ancestors), child, shared + 1)
            node = self._node(x, depth)
            ancestors.append(node)
            child = node.right if _bit(x, depth) else node.left
            entry = depth + 1
        return _Walk(tuple(ancestors), child, entry)

    def _node(self, x: int, depth: int) -> Node:
        """The node at ``depth`` along ``x`` (its parent says it exists): from the cache, or
        fetched with the uncached keys of the next ``window`` depths along ``x``."""
        key = _key(x, depth)
        node = self._cache.get(key)
        if node is not None:
            return node
        keys = [
            k
            for k in (_key(x, d) for d in range(depth, min(depth + self._window, PATH_BITS)))
            if k not in self._cache
        ]
        found = self._source.nodes(keys)
        for k in keys:  # only those asked for, none of them written here
            fetched = found.get(k)
            if fetched is not None:
                _check_node(k, fetched)
                self._cache[k] = fetched
        node = self._cache.get(key)
        if node is None:
            raise MapStorageError(key, "missing from the source, yet its parent points to it")
        return node

    def _join(self, a: Child, b: Child, depth: int, x: int) -> Child:
        """A new node at ``depth`` (where ``a`` and ``b`` part) over the two."""
        if _bit(_int(a.path), depth):
            a, b = b, a
        return self._store(Node(depth, a, b), x)

    def _store(self, node: Node, x: int) -> Child:
        """Record ``node`` (along ``x``) as written, and give it as its parent's child."""
        depth = node.depth
        key = _key(x, depth)
        self._cache[key] = self._changed[key] = node
        hashed = node_hash(_lifted(node.left, depth + 1), _lifted(node.right, depth + 1))
        return Child(depth, _prefix(x, depth).to_bytes(HASH_SIZE, "big"), hashed, None)


def _split(
    items: list[tuple[int, bytes, bytes]], x: int, depth: int
) -> tuple[list[tuple[int, bytes, bytes]], list[tuple[int, bytes, bytes]]]:
    """Sorted items that share their first ``depth`` bits with ``x``, cut at bit ``depth``: those
    with a 0 there, then those with a 1 (a binary search: they are in path order)."""
    ones_from = _prefix(x, depth) | (1 << (PATH_BITS - 1 - depth))
    cut = bisect_left(items, (ones_from,))
    return items[:cut], items[cut:]


def _check_path(path: bytes) -> int:
    if len(path) != HASH_SIZE:
        raise ValueError(f"map path of {len(path)} bytes, want {HASH_SIZE}")
    return _int(path)


def _check_node(key: bytes, node: Node) -> None:
    """A fetched node is the one its key names: its depth, its children on their sides under
    its prefix (the hashes are trusted: the server's own rows).

    Raises:
        MapStorageError: anything else.
    """
    depth = int.from_bytes(key[:2], "big")
    if len(key) != NODE_KEY_SIZE or node.depth != depth:
        raise MapStorageError(key, f"got a node at depth {node.depth}, want {depth}")
    prefix = _int(key[2:])
    for side, child in enumerate((node.left, node.right)):
        y = _int(child.path)
        if _prefix(y, depth) != prefix or _bit(y, depth) != side:
            raise MapStorageError(
                key, f"its {('left', 'right')[side]} child {child.path.hex()} is not under it"
            )
