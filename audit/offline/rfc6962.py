"""RFC 6962 / RFC 9162 Merkle tree hashing and inclusion proofs.

leaf = SHA-256(0x00 || data); node = SHA-256(0x01 || left || right); the tree of n leaves splits
at the largest power of two below n. Split like transparency-dev/merkle: this module computes
(``tree_root``, ``inclusion_paths``, ``root_from_inclusion_proof``,
``root_from_consistency_proof``) and verifies (``verify_inclusion``, ``verify_consistency``), with
one parameter order everywhere: index, size, leaf_hash, proof, root for inclusion and size1,
size2, proof, root1, root2 for consistency. Standard library only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from audit.offline.errors import ConsistencyProofError, InclusionProofError, RootMismatchError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """Hash of a leaf's data (RFC 6962 §2.1: 0x00 prefix)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node (RFC 6962 §2.1: 0x01 prefix)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """Largest power of two strictly below ``size`` (size ≥ 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def tree_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Merkle tree hash of the given leaf hashes (the empty tree hashes to SHA-256 of nothing)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = _split(len(leaf_hashes))
    return node_hash(tree_root(leaf_hashes[:k]), tree_root(leaf_hashes[k:]))


def inclusion_paths(leaf_hashes: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """Root and the inclusion proof of every leaf, in one bottom-up pass (for sealing a save).

    Pairing nodes level by level and carrying a lone last node up unchanged builds exactly the
    RFC 6962 tree (its left subtrees are always perfect), so each leaf's proof is its sibling
    at every level where it has one, bottom-up — the RFC 9162 order.
    """
    if not leaf_hashes:
        return EMPTY_ROOT, []
    paths: list[list[bytes]] = [[] for _ in leaf_hashes]
    # members[j] = the leaves under node j of the current level
    members: list[list[int]] = [[i] for i in range(len(leaf_hashes))]
    level = list(leaf_hashes)
    while len(level) > 1:
        next_level: list[bytes] = []
        next_members: list[list[int]] = []
        for j in range(0, len(level) - 1, 2):
            left, right = level[j], level[j + 1]
            for leaf in members[j]:
                paths[leaf].append(right)
            for leaf in members[j + 1]:
                paths[leaf].append(left)
            next_level.append(node_hash(left, right))
            next_members.append(members[j] + members[j + 1])
        if len(level) % 2:
            next_level.append(level[-1])
            next_members.append(members[-1])
        level, members = next_level, next_members
    return level[0], paths


def inclusion_proof_length(index: int, size: int) -> int:
    """How many hashes an inclusion proof for (index, size) has (RFC 9162 §2.1.3.1)."""
    inner = (index ^ (size - 1)).bit_length()
    border = bin(index >> inner).count("1")
    return inner + border


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Compute the root implied by an inclusion proof (RFC 9162 §2.1.3.2).

    Raises:
        InclusionProofError: index ≥ size, a hash that is not 32 bytes, or a proof of the wrong
            length — all checked before any hashing.
    """
    if not 0 <= index < size:
        raise InclusionProofError(index, size, f"index {index} is beyond size {size}")
    if len(leaf) != HASH_SIZE:
        raise InclusionProofError(index, size, f"leaf hash of {len(leaf)} bytes, want 32")
    problem = _proof_problem(proof, inclusion_proof_length(index, size))
    if problem is not None:
        raise InclusionProofError(index, size, problem)
    inner = (index ^ (size - 1)).bit_length()
    node = leaf
    for position, sibling in enumerate(proof[:inner]):
        node = (
            node_hash(node, sibling) if (index >> position) & 1 == 0 else node_hash(sibling, node)
        )
    for sibling in proof[inner:]:
        node = node_hash(sibling, node)
    return node


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` is at ``index`` of the tree of ``size`` leaves with ``root``.

    Raises:
        InclusionProofError: malformed proof (see ``root_from_inclusion_proof``).
        RootMismatchError: the proof leads to another root.
    """
    if len(root) != HASH_SIZE:
        raise InclusionProofError(index, size, f"root of {len(root)} bytes, want 32")
    calculated = root_from_inclusion_proof(index, size, leaf, proof)
    if calculated != root:
        raise RootMismatchError(expected=root, calculated=calculated)


def consistency_proof_length(size1: int, size2: int) -> int:
    """How many hashes a consistency proof from ``size1`` to ``size2`` has (0 < size1 < size2).

    The proof is the inclusion proof of leaf ``size1 - 1`` in the tree of ``size2`` with the
    levels below the largest perfect subtree ending at ``size1`` cut off, plus that subtree's
    hash unless it is the whole old tree (``size1`` a power of two): the client knows root1.
    """
    shift = (size1 & -size1).bit_length() - 1  # trailing zero bits of size1
    inner = ((size1 - 1) ^ (size2 - 1)).bit_length() - shift
    border = bin((size1 - 1) >> (inner + shift)).count("1")
    seed = 0 if size1 == 1 << shift else 1
    return seed + inner + border


def root_from_consistency_proof(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> bytes:
    """Compute the root of the tree of ``size2`` implied by a consistency proof (RFC 9162 §2.1.4.2).

    The proof must also reproduce ``root1``: that is what makes the new tree an append-only
    extension of the old one, so the returned root is only trustworthy once it is compared with
    the expected root2 (``verify_consistency`` does both).

    Equal sizes need an empty proof and give back ``root1`` unchanged (no hashing: the roots are
    compared as stored, whatever their length). A proof from size 0 is always an error (as in
    the project's vectors, ../shared/vectors/rfc6962/consistency/additional): an empty tree is
    trivially a prefix of every tree, so a caller asking for it is confused about its sizes.

    Raises:
        ConsistencyProofError: size1 > size2, size1 = 0, a non-empty proof for equal sizes, a
            root1 or proof hash that is not 32 bytes, or a proof of the wrong length — all
            checked before any hashing; also if the proof does not consume the path exactly.
        RootMismatchError: the proof does not lead to ``root1`` (``expected`` is root1).
    """
    # Steps:
    # (1) sizes: 0 < size1 ≤ size2; equal sizes need an empty proof and give root1 back;
    # (2) hash lengths and proof length, before any hashing;
    # (3) RFC 9162 §2.1.4.2: walk the path of leaf size1 - 1 in both trees, rebuilding
    #     the old root from left siblings only and the new root from all of them;
    # (4) the old root must be root1; return the new root.
    # (1) sizes
    if size1 > size2:
        raise ConsistencyProofError(size1, size2, f"size1 is {size1}, want ≤ size2 ({size2})")
    if size1 == 0:
        raise ConsistencyProofError(
            size1, size2, "size1 is 0, want ≥ 1 (a proof from the empty tree proves nothing)"
        )
    if size1 == size2:
        if proof:
            raise ConsistencyProofError(
                size1, size2, f"proof has {len(proof)} hashes, want 0 for equal sizes"
            )
        return root1
    # (2) lengths
    _check_consistency_lengths(size1, size2, proof, root1)
    # (3) walk
    old_root, new_root = _consistency_walk(size1, size2, proof, root1)
    # (4) old root
    if old_root != root1:
        raise RootMismatchError(expected=root1, calculated=old_root)
    return new_root


def _check_consistency_lengths(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> None:
    """Raise ConsistencyProofError unless root1, each proof hash and the proof length fit."""
    if len(root1) != HASH_SIZE:
        raise ConsistencyProofError(size1, size2, f"root1 of {len(root1)} bytes, want 32")
    problem = _proof_problem(proof, consistency_proof_length(size1, size2))
    if problem is not None:
        raise ConsistencyProofError(size1, size2, problem)


def _proof_problem(proof: Sequence[bytes], want: int) -> str | None:
    """What is wrong with a proof's length or the size of one of its hashes, or None."""
    if len(proof) != want:
        return f"proof has {len(proof)} hashes, want {want}"
    for position, node in enumerate(proof):
        if len(node) != HASH_SIZE:
            return f"proof[{position}] has {len(node)} bytes, want 32"
    return None


def _consistency_walk(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> tuple[bytes, bytes]:
    """RFC 9162 §2.1.4.2 read literally: (fr, sr), the old and new roots (0 < size1 < size2).

    fn and sn are the positions of leaf size1 - 1 in the old and new tree at the current level;
    a proof hash on fn's left (or where the trees still coincide) goes into both roots, one on
    the right only into the new root.
    """
    path = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ConsistencyProofError(size1, size2, f"proof goes above the root of {size2}")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn & 1 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ConsistencyProofError(size1, size2, f"proof stops below the root of {size2}")
    return fr, sr


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size2`` with ``root2`` extends the tree of ``size1`` with ``root1``.

    This is what an auditor runs between two checkpoints it has seen: passing means every leaf
    of the old tree is still in the new one, unchanged and in the same place.

    Raises:
        ConsistencyProofError: malformed proof or sizes (see ``root_from_consistency_proof``),
            or a root2 that is not 32 bytes when the sizes differ.
        RootMismatchError: the proof does not lead to root1 (``expected`` is root1), or leads
            to another root2 (``expected`` is root2); equal sizes with different roots.
    """
    if size1 != size2 and len(root2) != HASH_SIZE:
        raise ConsistencyProofError(size1, size2, f"root2 of {len(root2)} bytes, want 32")
    calculated = root_from_consistency_proof(size1, size2, proof, root1)
    if calculated != root2:
        raise RootMismatchError(expected=root2, calculated=calculated)
