"""Proofs and roots built from stored perfect-subtree nodes, against RFC 6962 read literally.

Trees are grown with ``append_leaf`` into a dict, the way the storage layer grows its
(level, index, hash) table; every proof is built from only the rows its plan names and is
compared with the reference PATH / SUBPROOF and checked by the verifiers.
"""

from __future__ import annotations

import math
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.offline.merkle_nodes import (
    NodeId,
    ProofPlan,
    append_leaf,
    build_proof,
    consistency_proof_plan,
    inclusion_proof_plan,
    node_ids,
    nodes_created_by_append,
    range_nodes,
    root_from_nodes,
    root_plan,
)
from audit.offline.rfc6962 import (
    EMPTY_ROOT,
    leaf_hash,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from tests.audit.test_consistency import reference_mth, reference_subproof

BIG_SIZES = [1000, 4097]


def reference_path(m: int, hashes: list[bytes]) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(m, D[0:n]) read literally."""
    n = len(hashes)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*reference_path(m, hashes[:k]), reference_mth(hashes[k:])]
    return [*reference_path(m - k, hashes[k:]), reference_mth(hashes[:k])]


@cache
def grown_tree(size: int) -> tuple[list[bytes], dict[NodeId, bytes]]:
    """``size`` leaves appended one by one; the dict is the stored node table."""
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    store: dict[NodeId, bytes] = {}
    for index, leaf in enumerate(leaves):
        created = append_leaf(store, index, leaf)
        assert [node_id for node_id, _ in created] == nodes_created_by_append(index)
    return leaves, store


def fetch(plan: ProofPlan, store: dict[NodeId, bytes]) -> dict[NodeId, bytes]:
    """Only the rows the plan names, as the storage layer would read them."""
    return {node_id: store[node_id] for node_id in node_ids(plan)}


def covered(node_id: NodeId) -> range:
    level, index = node_id
    return range(index << level, (index + 1) << level)


def log_bound(size: int) -> float:
    return 2 * math.log2(size) + 2


tree_sizes = st.one_of(st.integers(1, 300), st.sampled_from(BIG_SIZES))


# --- node ids and appends ---------------------------------------------------------------


def test_appends_complete_one_node_per_trailing_one_bit():
    assert nodes_created_by_append(0) == [(0, 0)]
    assert nodes_created_by_append(1) == [(0, 1), (1, 0)]
    assert nodes_created_by_append(3) == [(0, 3), (1, 1), (2, 0)]
    assert nodes_created_by_append(6) == [(0, 6)]
    assert nodes_created_by_append(11) == [(0, 11), (1, 5), (2, 2)]


def test_a_tree_of_six_stores_its_perfect_subtrees_only():
    _, store = grown_tree(6)
    leaves = [(0, i) for i in range(6)]
    assert sorted(store) == [*leaves, (1, 0), (1, 1), (1, 2), (2, 0)]


def test_append_refuses_a_short_hash_a_rewrite_and_a_store_of_another_size():
    leaves, store = grown_tree(4)
    table = dict(store)
    with pytest.raises(ValueError, match="leaf hash of 31 bytes, want 32"):
        append_leaf(table, 4, leaves[0][:31])
    with pytest.raises(ValueError, match="leaf 3 is already stored"):
        append_leaf(table, 3, leaves[0])
    with pytest.raises(KeyError, match=r"node \(0, 4\) is missing"):
        append_leaf(table, 5, leaves[0])
    assert table == store  # nothing half-written


@given(st.integers(0, 2**40), st.integers(0, 2**40))
def test_range_nodes_cover_exactly_the_range_with_at_most_two_per_level(a, b):
    begin, end = min(a, b), max(a, b)
    nodes = range_nodes(begin, end)
    position = begin
    for level, index in nodes:
        assert index << level == position
        position += 1 << level
    assert position == end
    assert len(nodes) <= 2 * max(end - begin, 1).bit_length()


def test_range_nodes_rise_along_the_left_border_then_fall():
    assert range_nodes(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert range_nodes(3, 13) == [(0, 3), (2, 1), (2, 2), (0, 12)]
    assert range_nodes(5, 5) == []


# --- (a) stored nodes --------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 9, 300, *BIG_SIZES])
def test_every_stored_node_hashes_its_leaves(size):
    leaves, store = grown_tree(size)
    assert len(store) == 2 * size - bin(size).count("1")
    for node_id, node in store.items():
        span = covered(node_id)
        assert span.stop <= size
        assert node == tree_root(leaves[span.start : span.stop])


@given(st.integers(1, 300))
def test_every_stored_node_of_a_random_size_hashes_its_leaves(size):
    leaves, store = grown_tree(size)
    for node_id, node in store.items():
        span = covered(node_id)
        assert node == tree_root(leaves[span.start : span.stop])


# --- (b) inclusion -----------------------------------------------------------------------


@given(tree_sizes, st.data())
def test_inclusion_proofs_from_nodes_match_rfc_path_and_verify(n, data):
    leaves, store = grown_tree(n)
    for _ in range(5):
        size = data.draw(st.integers(1, n))
        index = data.draw(st.integers(0, size - 1))
        plan = inclusion_proof_plan(index, size)
        proof = build_proof(plan, fetch(plan, store))
        assert proof == reference_path(index, leaves[:size])
        verify_inclusion(index, size, leaves[index], proof, tree_root(leaves[:size]))


def test_every_inclusion_proof_of_a_small_tree_matches():
    leaves, store = grown_tree(33)
    for size in range(1, 34):
        for index in range(size):
            plan = inclusion_proof_plan(index, size)
            assert build_proof(plan, fetch(plan, store)) == reference_path(index, leaves[:size])


# --- (c) consistency ---------------------------------------------------------------------


@given(tree_sizes, st.data())
def test_consistency_proofs_from_nodes_match_rfc_subproof_and_verify(n, data):
    leaves, store = grown_tree(n)
    for _ in range(5):
        size2 = data.draw(st.integers(1, n))
        size1 = data.draw(st.integers(1, size2))
        plan = consistency_proof_plan(size1, size2)
        proof = build_proof(plan, fetch(plan, store))
        assert proof == reference_subproof(size1, leaves[:size2])
        verify_consistency(
            size1, size2, proof, tree_root(leaves[:size1]), tree_root(leaves[:size2])
        )


def test_every_consistency_proof_of_a_small_tree_matches():
    leaves, store = grown_tree(33)
    for size2 in range(1, 34):
        for size1 in range(1, size2 + 1):
            plan = consistency_proof_plan(size1, size2)
            assert build_proof(plan, fetch(plan, store)) == reference_subproof(
                size1, leaves[:size2]
            )


# --- (d) roots ---------------------------------------------------------------------------


def test_root_of_every_size_from_nodes():
    leaves, store = grown_tree(300)
    assert root_from_nodes(0, {}) == EMPTY_ROOT
    for size in range(1, 301):
        assert root_from_nodes(size, fetch(root_plan(size), store)) == tree_root(leaves[:size])


@pytest.mark.parametrize("n", BIG_SIZES)
def test_root_of_sizes_around_powers_of_two_in_big_trees(n):
    leaves, store = grown_tree(n)
    sizes = {n, n - 1, *range(n - 40, n)}
    sizes |= {s for p in range(n.bit_length()) for s in (2**p - 1, 2**p, 2**p + 1) if 0 < s <= n}
    for size in sorted(sizes):
        assert root_from_nodes(size, fetch(root_plan(size), store)) == tree_root(leaves[:size])


# --- (e) O(log n) reads ------------------------------------------------------------------


@given(st.integers(1, 2**64))
def test_every_plan_reads_at_most_two_log_n_plus_two_stored_nodes(size):
    plans = [root_plan(size), inclusion_proof_plan(0, size), inclusion_proof_plan(size - 1, size)]
    plans += [inclusion_proof_plan(size // 3, size), consistency_proof_plan(1, size)]
    plans += [consistency_proof_plan(max(size // 3, 1), size), consistency_proof_plan(size, size)]
    plans += [consistency_proof_plan(max(size - 1, 1), size)]
    for plan in plans:
        assert len(node_ids(plan)) <= log_bound(size)
        for node_id in node_ids(plan):
            assert covered(node_id).stop <= size  # a log of this size has stored it


@pytest.mark.parametrize("n", [1, 2, 5, 64, 100, 257])
def test_every_plan_of_small_sizes_reads_at_most_two_log_n_plus_two_nodes(n):
    plans = [root_plan(n)]
    plans += [inclusion_proof_plan(i, n) for i in range(n)]
    plans += [consistency_proof_plan(m, n) for m in range(1, n + 1)]
    assert max(len(node_ids(plan)) for plan in plans) <= log_bound(n)


def test_plans_refuse_impossible_requests():
    with pytest.raises(ValueError, match=r"index is 5, want < size \(5\)"):
        inclusion_proof_plan(5, 5)
    with pytest.raises(ValueError, match="size1 is 0, want ≥ 1"):
        consistency_proof_plan(0, 5)
    with pytest.raises(ValueError, match=r"size1 is 6, want ≤ size2 \(5\)"):
        consistency_proof_plan(6, 5)
    with pytest.raises(ValueError, match="size is -1, want ≥ 0"):
        root_plan(-1)
    with pytest.raises(KeyError, match="was not fetched"):
        build_proof(inclusion_proof_plan(0, 2), {})
    with pytest.raises(ValueError, match=r"node \(0, 1\) has 3 bytes, want 32"):
        build_proof(inclusion_proof_plan(0, 2), {(0, 1): b"abc"})
