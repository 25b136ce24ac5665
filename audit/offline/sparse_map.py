"""Sparse map v1: a verifiable map from 256-bit paths to values; proofs of presence, absence.

The groundwork of issue #19's product index (docs/product-index.md, "The map (sparse_map v1)",
is the specification an outsider implements; this module is its reference). A compressed
sparse Merkle tree over 256-bit paths, like Diem/Aptos's Jellyfish Merkle tree seen bit by bit:

- ``path = SHA-256("ppl/map-key/v1" 0x00 || map_id || 0x00 || key)`` (``map_path``);
- ``leaf = SHA-256("ppl/map-leaf/v1" 0x00 || path || SHA-256(value))`` (``leaf_hash``);
- ``node = SHA-256("ppl/map-node/v1" 0x00 || left || right)`` (``node_hash``);
- ``EMPTY`` = 32 zero bytes is the hash of every empty subtree; the empty map's root is EMPTY;
- a subtree holding exactly one leaf *is* that leaf's hash, whatever its height; a subtree with
  two or more leaves is ``node(left subtree, right subtree)``, bit i of the path (most
  significant first) choosing left (0) or right (1) at depth i.

Split like audit.offline.rfc6962: computing (``map_root``, ``MapProver``/``prove``,
``root_from_presence_proof``, ``root_from_absence_proof``) and verifying (``verify_presence``,
``verify_absence``), one parameter order everywhere: root, path, value, proof. Standard library
only (the auditor's import contract).

Soundness (SHA-256 collision resistance assumed throughout)
-----------------------------------------------------------
*Every hash opens one way.* A leaf and a node hash distinct prefixes ("ppl/map-leaf/v1" 0x00,
"ppl/map-node/v1" 0x00 — neither a prefix of the other), so no value is both a leaf hash and a
node hash, and each opens to exactly one (path, value digest) or one (left, right) pair. EMPTY
is 32 zero bytes, not a hash of anything: a leaf or node whose hash is EMPTY would be a SHA-256
preimage of zero. Paths have their own prefix ("ppl/map-key/v1" 0x00), apart from every other
hash of the ledger, and ``map_id`` (printable ASCII, no NUL) is ended by 0x00, so
(map_id, key) → path is injective: one key of one map, one path.

*Why compression is safe.* Read a root along a path p, bit by bit from the top: every step
opens the current hash; a node gives two children (go on along bit i of p), a leaf or EMPTY
ends the walk. Because every opening is unique, **for any root and any path there is exactly
one terminal** (the first leaf or EMPTY met along p), at exactly one depth d — whoever built
the root, honestly or not. A proof is that walk: the d siblings beside it and the terminal. A
proof claiming another depth or another terminal needs a second opening of some hash on the
walk, i.e. a collision: it cannot stop early at a hash that is really a node, nor go on below
a real leaf, since the two kinds never coincide. So the single-leaf shortcut cannot hide a key
under another key's leaf. Jellyfish relies on the same property with its placeholder hash;
here the empty value has no preimage at all.

*What a proof of presence proves.* The walk along the key's path ends at the leaf
``leaf(path, SHA-256(value))``: the map committed by ``root`` maps the key to this value and
no other (one terminal per path).

*What a proof of absence proves.* The walk along the key's path ends at EMPTY, or at the leaf
of another path: either way it does not end at a leaf of this path, so **no proof of presence
for this key, with any value, verifies against this root** — for an honest builder, the
entries did not contain the key. It says nothing about the key under another root (an older
or newer checkpoint). The verifier must check that the other leaf's path is not the key's
own: ``leaf(path, digest)`` offered as "another leaf" is the key's presence under another name.

*Canonical proofs.* The verifier also refuses what an honest builder never produces, so each
(root, path) has one proof and one encoding: the other leaf of an absence proof shares the
key's first d bits (a leaf elsewhere is misplaced; Diem checks the same); the deepest sibling
(at depth d ≥ 1) is never EMPTY (its parent would hold one leaf or none, and would have been
compressed); an EMPTY terminal is never at depth 256 (two distinct paths part before their
last bit); an encoded sibling is never EMPTY (the bitmap says so instead). A root built
against the rules (a leaf out of place, a lone leaf not compressed) may then have keys no proof
can be given for — never a key with two answers.

Proofs are small: at 10^6 random keys the walk is about log2(10^6) ≈ 20 deep, with about as
many non-EMPTY siblings; the bitmap makes the EMPTY ones cost a bit each (bench/sparse_map.py
measures the sizes, docs/product-index.md records them). Deep walks come only from paths
sharing long prefixes; with paths derived by SHA-256, sharing k bits costs about 2^k trials of
keys.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

from audit.offline.errors import MapProofError

HASH_SIZE = 32
PATH_BITS = 256
EMPTY = bytes(HASH_SIZE)
KEY_PREFIX = b"ppl/map-key/v1\x00"
LEAF_PREFIX = b"ppl/map-leaf/v1\x00"
NODE_PREFIX = b"ppl/map-node/v1\x00"
PROOF_FORMAT = 0x01  # first byte of every encoded proof: sparse map v1
MAX_MAP_ID = 64
_LEAF = PATH_BITS  # the "depth" of a single leaf on the build stack: it is lifted for free


class TerminalKind(IntEnum):
    """What the walk along a path meets last (the encoded proof's kind byte)."""

    EMPTY = 0  # an empty subtree: absence
    KEY_LEAF = 1  # the key's own leaf: presence (the verifier knows path and value)
    OTHER_LEAF = 2  # the leaf of another path sharing the first d bits: absence


def map_path(map_id: bytes, key: bytes) -> bytes:
    """The 256-bit path of ``key`` in the map named ``map_id`` (e.g. ``b"product-keys"``).

    Raises:
        ValueError: ``map_id`` is empty, longer than 64 bytes, or not printable ASCII
            (0x21-0x7e): it must not contain the 0x00 that ends it.
    """
    return hashlib.sha256(_path_prefix(map_id) + key).digest()


@lru_cache(maxsize=64)
def _path_prefix(map_id: bytes) -> bytes:
    """``KEY_PREFIX || map_id || 0x00``, the map id checked once (an index derives a path
    for every entry it touches).

    Raises:
        ValueError: as ``map_path``.
    """
    if not 1 <= len(map_id) <= MAX_MAP_ID or any(not 0x21 <= byte <= 0x7E for byte in map_id):
        raise ValueError(f"map id {map_id!r}: want 1-{MAX_MAP_ID} printable ASCII bytes")
    return KEY_PREFIX + map_id + b"\x00"


def value_digest(value: bytes) -> bytes:
    """SHA-256 of a value: what its leaf commits to."""
    return hashlib.sha256(value).digest()


def leaf_hash(path: bytes, digest: bytes) -> bytes:
    """Hash of the leaf of ``path`` holding a value whose SHA-256 is ``digest``."""
    return hashlib.sha256(LEAF_PREFIX + path + digest).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of a subtree holding two or more leaves, from its two halves' hashes."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _bit(x: int, i: int) -> int:
    """Bit ``i`` (0 = most significant) of a path read as a 256-bit big-endian integer."""
    return (x >> (PATH_BITS - 1 - i)) & 1


def _lift(h: bytes, depth: int, to: int, x: int) -> bytes:
    """The hash at depth ``to`` of a subtree whose leaves all lie under the node ``h`` at
    ``depth`` (to ≤ depth): one node per level, EMPTY on the side the path ``x`` does not take."""
    sha = hashlib.sha256
    for i in range(depth - 1, to - 1, -1):
        h = sha(NODE_PREFIX + EMPTY + h if _bit(x, i) else NODE_PREFIX + h + EMPTY).digest()
    return h


def _prepare(
    entries: Mapping[bytes, bytes], *, digested: bool = False
) -> tuple[list[bytes], list[int], list[bytes]]:
    """The paths in order, as integers, and their leaf hashes.

    Leaves are hashed in the mapping's own order and then sorted by path (an argsort): hashing
    in path order reads the values scattered through memory, about 60 % slower at 10^6.

    Raises:
        ValueError: a path that is not 32 bytes.
    """
    unsorted = list(entries)
    wrong = set(map(len, unsorted)) - {HASH_SIZE}
    if wrong:
        raise ValueError(f"map path of {min(wrong)} bytes, want {HASH_SIZE}")
    sha = hashlib.sha256
    if digested:
        hashed = [sha(LEAF_PREFIX + p + d).digest() for p, d in entries.items()]
    else:
        hashed = [sha(LEAF_PREFIX + p + sha(v).digest()).digest() for p, v in entries.items()]
    order = sorted(range(len(unsorted)), key=unsorted.__getitem__)
    paths = list(map(unsorted.__getitem__, order))
    return paths, list(map(int.from_bytes, paths)), list(map(hashed.__getitem__, order))


def _fold(xs: list[int], leaves: list[bytes], nodes: list[bytes] | None) -> bytes:
    """The root over sorted, distinct paths ``xs`` with leaf hashes ``leaves``, in one pass.

    Two neighbours in path order part at the depth b = their common prefix's length; their
    lowest common ancestor is the node at depth b. A stack holds finished subtrees, each with
    the depth at which it parts from the one below; a subtree is merged into the one below as
    soon as the next boundary is shallower than that depth, after lifting both halves through
    their one-sided nodes. Every node is hashed once, nothing recurses. With ``nodes``, the
    hash of the node parting leaves i and i + 1 is kept at ``nodes[i]`` (for ``MapProver``).
    """
    n = len(xs)
    if n == 0:
        return EMPTY
    sha = hashlib.sha256
    parts = [-1]  # depth where each stacked subtree parts from the one below
    depths = [_LEAF]  # depth of each subtree's top node (_LEAF: a single leaf)
    hashes = [leaves[0]]
    samples = [xs[0]]  # a path under each subtree: its one-sided nodes follow its bits
    firsts = [0]  # each subtree's first leaf
    previous = xs[0]
    for i in range(1, n + 1):
        if i < n:
            x = xs[i]
            boundary = PATH_BITS - (previous ^ x).bit_length()
        else:
            boundary = -1  # the end: merge everything
        while parts[-1] > boundary:
            depth = parts.pop()
            right, right_depth, right_x = hashes.pop(), depths.pop(), samples.pop()
            right_first = firsts.pop()
            left, left_depth = hashes[-1], depths[-1]
            if depth + 1 < right_depth < _LEAF:
                right = _lift(right, right_depth, depth + 1, right_x)
            if depth + 1 < left_depth < _LEAF:
                left = _lift(left, left_depth, depth + 1, samples[-1])
            merged = sha(NODE_PREFIX + left + right).digest()
            hashes[-1] = merged
            depths[-1] = depth
            if nodes is not None:
                nodes[right_first - 1] = merged
        if i < n:
            parts.append(boundary)
            depths.append(_LEAF)
            hashes.append(leaves[i])
            samples.append(x)
            firsts.append(i)
            previous = x
    if depths[0] == _LEAF:
        return hashes[0]
    return _lift(hashes[0], depths[0], 0, samples[0])


def map_root(entries: Mapping[bytes, bytes]) -> bytes:
    """Root of the map of ``entries`` (path → value); EMPTY for no entries.

    A batch build over the sorted paths (``_fold``): about 3.4 SHA-256 per entry for random
    paths (value digest, leaf, and 1.44 nodes). Paths come from ``map_path``.

    Raises:
        ValueError: a path that is not 32 bytes.
    """
    _, xs, leaves = _prepare(entries)
    return _fold(xs, leaves, None)


def map_root_of_digests(digests: Mapping[bytes, bytes]) -> bytes:
    """``map_root`` of entries given by path → value digest (``value_digest``): a leaf commits
    to the digest only, so whoever keeps digests instead of values (the index) needs no value.

    Raises:
        ValueError: a path that is not 32 bytes.
    """
    _, xs, leaves = _prepare(digests, digested=True)
    return _fold(xs, leaves, None)


@dataclass(frozen=True)
class MapProof:
    """The walk along one path: its depth, the siblings beside it, and where it ends.

    ``bitmap`` has one bit per depth 1..d (bit i of the bitmap, most significant bit of byte 0
    first, is the sibling at depth i + 1), set when that sibling is not EMPTY; ``siblings``
    holds only those, from the top down. The terminal: EMPTY, the key's own leaf, or another
    leaf given by its path and value digest (``leaf_path``, ``leaf_value_digest``; empty for
    the two other kinds). Built by ``MapProver.prove``, read by ``decode``; the verifiers
    check everything, so a proof built by hand may be any shape.
    """

    depth: int
    bitmap: bytes
    siblings: tuple[bytes, ...]
    terminal: TerminalKind
    leaf_path: bytes = b""
    leaf_value_digest: bytes = b""

    def encode(self) -> bytes:
        """The proof's bytes (docs/product-index.md, "Proof encoding").

        Raises:
            MapProofError: the proof is not one the format can carry (see ``_check_shape``).
        """
        _check_shape(self, None)
        terminal = bytes([self.terminal])
        if self.terminal is TerminalKind.OTHER_LEAF:
            terminal += self.leaf_path + self.leaf_value_digest
        return (
            b"".join(
                (bytes([PROOF_FORMAT]), self.depth.to_bytes(2, "big"), self.bitmap, *self.siblings)
            )
            + terminal
        )

    @classmethod
    def decode(cls, data: bytes) -> MapProof:
        """Read an encoded proof, strictly: one encoding per proof, nothing after it.

        Raises:
            MapProofError: an unknown format byte, a depth above 256, bytes missing or left
                over, an unknown terminal kind, a bitmap with bits past the depth, an encoded
                EMPTY sibling, or a shape no honest prover makes (``_check_shape``).
        """
        data = bytes(data)
        if len(data) < 3 or data[0] != PROOF_FORMAT:
            got = f"{len(data)} bytes" if len(data) < 3 else f"format byte 0x{data[0]:02x}"
            raise MapProofError(None, "format", f"got {got}, want 0x01 and a depth")
        depth = int.from_bytes(data[1:3], "big")
        if depth > PATH_BITS:
            raise MapProofError(None, "depth", f"got {depth}, want at most {PATH_BITS}")
        offset = 3 + (depth + 7) // 8
        bitmap = data[3:offset]
        count = _check_bitmap(depth, bitmap, None).bit_count()
        end = offset + HASH_SIZE * count
        if len(data) < end:
            raise MapProofError(
                None, "siblings", f"got {len(data) - offset} bytes, want {end - offset}", depth
            )
        siblings = tuple(data[at : at + HASH_SIZE] for at in range(offset, end, HASH_SIZE))
        if len(data) == end:
            raise MapProofError(None, "terminal", "got no kind byte, want one", depth)
        try:
            terminal = TerminalKind(data[end])
        except ValueError as exc:
            raise MapProofError(
                None, "terminal", f"got kind {data[end]}, want 0, 1 or 2", depth
            ) from exc
        leaf_path = leaf_digest = b""
        end += 1
        if terminal is TerminalKind.OTHER_LEAF:
            if len(data) < end + 2 * HASH_SIZE:
                raise MapProofError(
                    None, "terminal", f"got {len(data) - end} bytes of leaf, want 64", depth
                )
            leaf_path = data[end : end + HASH_SIZE]
            leaf_digest = data[end + HASH_SIZE : end + 2 * HASH_SIZE]
            end += 2 * HASH_SIZE
        if len(data) != end:
            raise MapProofError(
                None, "trailing bytes", f"got {len(data) - end} after the terminal, want 0"
            )
        proof = cls(depth, bitmap, siblings, terminal, leaf_path, leaf_digest)
        _check_shape(proof, None)
        return proof


def _check_bitmap(depth: int, bitmap: bytes, path: str | None) -> int:
    """The bitmap as an integer, once its length fits ``depth``, no bit past the depth is set
    and the deepest sibling is marked present (its parent would have been compressed).

    Raises:
        MapProofError: element ``"bitmap"``.
    """
    if len(bitmap) != (depth + 7) // 8:
        raise MapProofError(
            path, "bitmap", f"got {len(bitmap)} bytes, want {(depth + 7) // 8}", depth
        )
    bits = int.from_bytes(bitmap, "big")
    spare = len(bitmap) * 8 - depth
    if bits & ((1 << spare) - 1):
        raise MapProofError(path, "bitmap", f"bits set past depth {depth}, want none", depth)
    if depth and not (bits >> spare) & 1:
        raise MapProofError(
            path,
            "bitmap",
            f"the sibling at depth {depth} is EMPTY, want a subtree: its parent would hold "
            "one leaf or none and would have been compressed",
            depth,
        )
    return bits


def _check_shape(proof: MapProof, path: str | None) -> None:
    """Everything about a proof that does not depend on the path or the root; before hashing.

    Raises:
        MapProofError: naming the element — depth outside 0..256; a bitmap of the wrong length,
            with bits past the depth, or whose deepest bit is clear (its parent would have been
            compressed); a sibling count other than the bitmap's; a sibling that is not 32
            bytes or is EMPTY; an unknown terminal, terminal data of the wrong size, an EMPTY
            terminal at depth 256.
    """
    depth = proof.depth
    if not isinstance(depth, int) or not 0 <= depth <= PATH_BITS:
        raise MapProofError(path, "depth", f"got {depth!r}, want 0 to {PATH_BITS}")
    bits = _check_bitmap(depth, proof.bitmap, path)
    spare = len(proof.bitmap) * 8 - depth
    if len(proof.siblings) != bits.bit_count():
        raise MapProofError(
            path,
            "siblings",
            f"got {len(proof.siblings)}, want {bits.bit_count()} (the bitmap's set bits)",
            depth,
        )
    at = [i + 1 for i in range(depth) if (bits >> (spare + depth - 1 - i)) & 1]  # their depths
    for index, sibling in enumerate(proof.siblings):
        if len(sibling) != HASH_SIZE or sibling == EMPTY:
            got = "EMPTY" if sibling == EMPTY else f"{len(sibling)} bytes"
            raise MapProofError(
                path, f"sibling {index}", f"got {got}, want a 32-byte hash", at[index]
            )
    if not isinstance(proof.terminal, TerminalKind):
        raise MapProofError(path, "terminal", f"got {proof.terminal!r}, want a kind", depth)
    if proof.terminal is TerminalKind.OTHER_LEAF:
        sizes = (len(proof.leaf_path), len(proof.leaf_value_digest))
        if sizes != (HASH_SIZE, HASH_SIZE):
            raise MapProofError(
                path, "terminal", f"got a leaf of {sizes} bytes, want (32, 32)", depth
            )
    elif proof.leaf_path or proof.leaf_value_digest:
        raise MapProofError(
            path, "terminal", f"got leaf data with {proof.terminal.name}, want none", depth
        )
    if proof.terminal is TerminalKind.EMPTY and depth == PATH_BITS:
        raise MapProofError(
            path, "terminal", "got EMPTY at depth 256, want a leaf (two paths part earlier)", depth
        )


def _check_path(path: bytes) -> str:
    if len(path) != HASH_SIZE:
        raise MapProofError(path.hex(), "path", f"got {len(path)} bytes, want {HASH_SIZE}")
    return path.hex()


def _fold_proof(path: bytes, proof: MapProof, terminal: bytes) -> bytes:
    """Hash from the terminal up to the root (the shape is checked already)."""
    x = int.from_bytes(path, "big")
    bits = int.from_bytes(proof.bitmap, "big") >> (len(proof.bitmap) * 8 - proof.depth)
    sha = hashlib.sha256
    h = terminal
    remaining = len(proof.siblings)
    for i in range(proof.depth - 1, -1, -1):
        if (bits >> (proof.depth - 1 - i)) & 1:
            remaining -= 1
            sibling = proof.siblings[remaining]
        else:
            sibling = EMPTY
        h = sha(NODE_PREFIX + sibling + h if _bit(x, i) else NODE_PREFIX + h + sibling).digest()
    return h


def root_from_presence_proof(path: bytes, value: bytes, proof: MapProof) -> bytes:
    """The root under which ``proof`` shows ``path`` holding ``value``.

    Only trustworthy once compared with the expected root (``verify_presence`` does both).

    Raises:
        MapProofError: a path that is not 32 bytes, a malformed proof (``_check_shape``), or
            a proof that does not end at the key's own leaf — all before any hashing.
    """
    key = _check_path(path)
    _check_shape(proof, key)
    if proof.terminal is not TerminalKind.KEY_LEAF:
        raise MapProofError(
            key,
            "terminal",
            f"got {proof.terminal.name}, want KEY_LEAF (a proof of presence ends at the key's "
            "own leaf)",
            proof.depth,
        )
    return _fold_proof(path, proof, leaf_hash(path, value_digest(value)))


def root_from_absence_proof(path: bytes, proof: MapProof) -> bytes:
    """The root under which ``proof`` shows that no leaf holds ``path``.

    Only trustworthy once compared with the expected root (``verify_absence`` does both).

    Raises:
        MapProofError: a path that is not 32 bytes, a malformed proof (``_check_shape``), a
            proof of presence, or another leaf that is the key's own path or does not share
            the key's first d bits — all before any hashing.
    """
    key = _check_path(path)
    _check_shape(proof, key)
    depth = proof.depth
    if proof.terminal is TerminalKind.KEY_LEAF:
        raise MapProofError(
            key, "terminal", "got KEY_LEAF, want EMPTY or OTHER_LEAF (a proof of absence)", depth
        )
    if proof.terminal is TerminalKind.EMPTY:
        return _fold_proof(path, proof, EMPTY)
    if proof.leaf_path == path:
        raise MapProofError(
            key, "terminal", "got the key's own path as the other leaf: the key is present", depth
        )
    shared = (
        PATH_BITS
        - (int.from_bytes(path, "big") ^ int.from_bytes(proof.leaf_path, "big")).bit_length()
    )
    if shared < depth:
        raise MapProofError(
            key,
            "terminal",
            f"the other leaf {proof.leaf_path.hex()} shares {shared} leading bits with the key, "
            f"want at least {depth}",
            depth,
        )
    return _fold_proof(path, proof, leaf_hash(proof.leaf_path, proof.leaf_value_digest))


def _check_root(root: bytes, key: str, calculated: bytes, depth: int) -> None:
    if calculated != root:
        raise MapProofError(
            key, "root", f"got {calculated.hex()} from the proof, want {root.hex()}", depth
        )


def verify_presence(root: bytes, path: bytes, value: bytes, proof: MapProof) -> None:
    """Check that the map with ``root`` maps ``path`` to ``value`` (and so to no other value).

    Steps: (1) the root and the path are 32 bytes; (2) the proof's shape (depth ≤ 256, the
    bitmap's length and spare bits, as many siblings as set bits, each a 32-byte non-EMPTY
    hash, the deepest one present); (3) it ends at the key's own leaf; (4) hash the leaf of
    (path, SHA-256(value)) up through the siblings, bit i of the path putting the running hash
    right (1) or left (0) at depth i; (5) the result is ``root``.

    Raises:
        MapProofError: naming the path, the element that failed (``"root"`` when every element
            is well formed but the hashes lead elsewhere: a changed sibling, value or root) and
            why.
    """
    # (1) sizes
    key = _check_path(path)
    if len(root) != HASH_SIZE:
        raise MapProofError(key, "root", f"got {len(root)} bytes, want {HASH_SIZE}")
    # (2) shape, (3) terminal, (4) hashing up
    calculated = root_from_presence_proof(path, value, proof)
    # (5) the root
    _check_root(root, key, calculated, proof.depth)


def verify_absence(root: bytes, path: bytes, proof: MapProof) -> None:
    """Check that the map with ``root`` holds no value for ``path``.

    Steps: (1) the root and the path are 32 bytes; (2) the proof's shape, as for presence;
    (3) it ends at EMPTY, or at another leaf whose path differs from ``path`` and shares its
    first d bits (d the proof's depth); (4) hash that terminal (EMPTY, or the other leaf from
    its path and value digest) up through the siblings along ``path``'s bits; (5) the result
    is ``root``. Then no proof of presence of ``path``, with any value, verifies against
    ``root`` (module docstring, "Soundness").

    Raises:
        MapProofError: naming the path, the element that failed and why.
    """
    # (1) sizes
    key = _check_path(path)
    if len(root) != HASH_SIZE:
        raise MapProofError(key, "root", f"got {len(root)} bytes, want {HASH_SIZE}")
    # (2) shape, (3) terminal, (4) hashing up
    calculated = root_from_absence_proof(path, proof)
    # (5) the root
    _check_root(root, key, calculated, proof.depth)


class MapProver:
    """An in-memory map: its root, and the proof for any path (tests, benchmarks, vectors).

    Built once by the same pass as ``map_root``, keeping the hash of each of the n - 1 nodes
    where neighbouring leaves part; a proof is then one binary search per node on the walk,
    plus the one-sided nodes it lifts a sibling through.
    """

    def __init__(self, entries: Mapping[bytes, bytes]) -> None:
        """Raises: ValueError: a path that is not 32 bytes."""
        self._entries = dict(entries)
        self._paths, self._xs, self._leaves = _prepare(self._entries)
        self._nodes = [EMPTY] * max(len(self._xs) - 1, 0)
        self.root = _fold(self._xs, self._leaves, self._nodes)

    def _parting(self, lo: int, hi: int) -> tuple[int, int]:
        """Depth of the top node of leaves [lo, hi) (two or more) and the first leaf right of it."""
        first = self._xs[lo]
        depth = PATH_BITS - (first ^ self._xs[hi - 1]).bit_length()
        shift = PATH_BITS - 1 - depth
        return depth, bisect_left(self._xs, ((first >> shift) | 1) << shift, lo, hi)

    def _subtree(self, lo: int, hi: int, depth: int) -> bytes:
        """Hash at ``depth`` of the subtree holding exactly the leaves [lo, hi)."""
        if hi - lo == 1:
            return self._leaves[lo]
        top, split = self._parting(lo, hi)
        return _lift(self._nodes[split - 1], top, depth, self._xs[lo])

    def prove(self, path: bytes) -> MapProof:
        """The proof of presence or absence of ``path``.

        Raises:
            ValueError: a path that is not 32 bytes.
        """
        if len(path) != HASH_SIZE:
            raise ValueError(f"map path of {len(path)} bytes, want {HASH_SIZE}")
        x = int.from_bytes(path, "big")
        found: list[tuple[int, bytes]] = []  # (depth - 1, hash) of each non-EMPTY sibling
        lo, hi, depth = 0, len(self._xs), 0
        terminal, leaf_path, digest = TerminalKind.EMPTY, b"", b""
        while hi - lo >= 2:
            top, split = self._parting(lo, hi)
            leaves_at = PATH_BITS - (x ^ self._xs[lo]).bit_length()  # bits shared with them
            if leaves_at < top:  # the path leaves their one-sided nodes: EMPTY beside them
                node = self._nodes[split - 1]
                found.append((leaves_at, _lift(node, top, leaves_at + 1, self._xs[lo])))
                depth = leaves_at + 1
                break
            if _bit(x, top):
                found.append((top, self._subtree(lo, split, top + 1)))
                lo = split
            else:
                found.append((top, self._subtree(split, hi, top + 1)))
                hi = split
            depth = top + 1
        else:
            if hi - lo == 1:
                if self._xs[lo] == x:
                    terminal = TerminalKind.KEY_LEAF
                else:
                    terminal, leaf_path = TerminalKind.OTHER_LEAF, self._paths[lo]
                    digest = value_digest(self._entries[leaf_path])
        bitmap = bytearray((depth + 7) // 8)
        for i, _ in found:
            bitmap[i >> 3] |= 0x80 >> (i & 7)
        return MapProof(
            depth, bytes(bitmap), tuple(h for _, h in found), terminal, leaf_path, digest
        )


def prove(entries: Mapping[bytes, bytes], path: bytes) -> MapProof:
    """The proof of presence or absence of ``path`` in the map of ``entries`` (builds it).

    For many proofs of one map, build a ``MapProver`` once.

    Raises:
        ValueError: a path that is not 32 bytes.
    """
    return MapProver(entries).prove(path)
