"""RFC 6962 consistency proofs against the transparency-dev vectors and a reference SUBPROOF.

The vectors in ../shared/vectors/rfc6962/consistency come from transparency-dev/merkle testdata
(commit 417fb0c); each file says whether it must verify. One deliberate difference from
upstream: additional/sizes-are-equal-zero-and-proof-is-empty.json wants an error here (a
consistency proof from size 0 is always an error, see ../shared/vectors/README.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.offline.errors import ConsistencyProofError, RootMismatchError, VerificationError
from audit.offline.rfc6962 import (
    consistency_proof_length,
    leaf_hash,
    root_from_consistency_proof,
    tree_root,
    verify_consistency,
)

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "rfc6962"


# Tiny, obviously-correct reference: RFC 6962 §2.1 MTH and §2.1.2 SUBPROOF read literally.
def reference_mth(hashes: list[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return hashlib.sha256(b"\x01" + reference_mth(hashes[:k]) + reference_mth(hashes[k:])).digest()


def reference_subproof(m: int, hashes: list[bytes], whole: bool = True) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if whole else [reference_mth(hashes)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*reference_subproof(m, hashes[:k], whole), reference_mth(hashes[k:])]
    return [*reference_subproof(m - k, hashes[k:], False), reference_mth(hashes[:k])]


def _consistency_files() -> list[Path]:
    return sorted((VECTORS / "consistency").rglob("*.json"))


def test_all_consistency_vectors_are_present():
    files = _consistency_files()
    assert len(files) >= 98
    assert sum(not json.loads(p.read_text())["wantErr"] for p in files) == 6


@pytest.mark.parametrize("path", _consistency_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_consistency_vector(path):
    vector = json.loads(path.read_text())

    def b64(value):
        return base64.b64decode(value) if value is not None else b""

    arguments = (
        vector["size1"],
        vector["size2"],
        [b64(h) for h in vector["proof"] or []],
        b64(vector["root1"]),
        b64(vector["root2"]),
    )
    if vector["wantErr"]:
        with pytest.raises(VerificationError):
            verify_consistency(*arguments)
    else:
        verify_consistency(*arguments)
        assert root_from_consistency_proof(*arguments[:4]) == arguments[4]


@st.composite
def trees_and_sizes(draw):
    leaves = draw(st.lists(st.binary(max_size=8), min_size=1, max_size=40))
    size2 = draw(st.integers(1, len(leaves)))
    size1 = draw(st.integers(1, size2))
    return [leaf_hash(d) for d in leaves], size1, size2


@given(trees_and_sizes())
def test_reference_proofs_verify_and_every_flipped_bit_fails(case):
    hashes, size1, size2 = case
    root1, root2 = reference_mth(hashes[:size1]), reference_mth(hashes[:size2])
    proof = reference_subproof(size1, hashes[:size2])
    assert root1 == tree_root(hashes[:size1])
    assert root2 == tree_root(hashes[:size2])

    verify_consistency(size1, size2, proof, root1, root2)
    assert root_from_consistency_proof(size1, size2, proof, root1) == root2
    if size1 < size2:
        assert len(proof) == consistency_proof_length(size1, size2)

    for position, element in enumerate(proof):
        for bit in range(len(element) * 8):
            flipped = bytearray(element)
            flipped[bit // 8] ^= 1 << (bit % 8)
            tampered = [*proof[:position], bytes(flipped), *proof[position + 1 :]]
            with pytest.raises(RootMismatchError):
                verify_consistency(size1, size2, tampered, root1, root2)


@given(trees_and_sizes())
def test_truncated_or_padded_proofs_fail_before_hashing(case):
    hashes, size1, size2 = case
    proof = reference_subproof(size1, hashes[:size2])
    root1, root2 = tree_root(hashes[:size1]), tree_root(hashes[:size2])
    for wrong in (proof[:-1], [*proof, proof[-1] if proof else root1], [root1, *proof]):
        if len(wrong) != len(proof):
            with pytest.raises(ConsistencyProofError, match="hashes, want"):
                verify_consistency(size1, size2, wrong, root1, root2)


def test_swapped_sizes_zero_size_and_short_hashes_are_named():
    hashes = [leaf_hash(bytes([i])) for i in range(7)]
    root3, root7 = tree_root(hashes[:3]), tree_root(hashes)
    proof = reference_subproof(3, hashes)
    cases = [
        ((7, 3, proof, root7, root3), "size1 is 7, want ≤ size2 \\(3\\)"),
        ((0, 7, proof, root3, root7), "size1 is 0, want ≥ 1"),
        ((0, 0, [], root3, root3), "size1 is 0, want ≥ 1"),
        ((7, 7, [root7], root7, root7), "proof has 1 hashes, want 0 for equal sizes"),
        ((3, 7, proof, root3[:31], root7), "root1 of 31 bytes, want 32"),
        ((3, 7, proof, root3, root7 + b"\x00"), "root2 of 33 bytes, want 32"),
        ((3, 7, [proof[0][:16], *proof[1:]], root3, root7), "proof\\[0\\] has 16 bytes, want 32"),
    ]
    for arguments, message in cases:
        with pytest.raises(ConsistencyProofError, match=message):
            verify_consistency(*arguments)


def test_equal_sizes_compare_roots_only():
    hashes = [leaf_hash(bytes([i])) for i in range(5)]
    verify_consistency(5, 5, [], tree_root(hashes), tree_root(hashes))
    with pytest.raises(RootMismatchError):
        verify_consistency(5, 5, [], tree_root(hashes), tree_root(hashes[:4]))


def test_a_proof_for_another_old_root_names_root1():
    hashes = [leaf_hash(bytes([i])) for i in range(7)]
    forged_root1 = tree_root([*hashes[:2], leaf_hash(b"forged")])
    with pytest.raises(RootMismatchError) as caught:
        verify_consistency(3, 7, reference_subproof(3, hashes), forged_root1, tree_root(hashes))
    assert caught.value.expected == forged_root1
