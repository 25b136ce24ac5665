"""RFC 6962 / RFC 9162 Merkle tree hashing and inclusion proofs.

leaf = SHA-256(0x00 || data); node = SHA-256(0x01 || left || right); the tree of n leaves splits
at the largest power of two below n. Split like transparency-dev/merkle: this module computes
(``tree_root``, ``inclusion_paths``, ``root_from_inclusion_proof``) and verifies
(``verify_inclusion``), with one parameter order everywhere: index, size, leaf_hash, proof, root.
Standard library only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from audit.errors import InclusionProofError, RootMismatchError

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
    want = inclusion_proof_length(index, size)
    if len(proof) != want:
        raise InclusionProofError(index, size, f"proof has {len(proof)} hashes, want {want}")
    for position, sibling in enumerate(proof):
        if len(sibling) != HASH_SIZE:
            raise InclusionProofError(
                index, size, f"proof[{position}] has {len(sibling)} bytes, want 32"
            )
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
