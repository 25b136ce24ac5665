"""RFC 6962 proofs and roots from stored perfect-subtree nodes, in O(log n) reads.

Node ids
========
The log stores the hash of every *perfect* subtree it has completed, one row per node::

    level | index | hash
    ------+-------+---------------------------------------------
        0 |     i | leaf i's hash (RFC 6962 leaf hash, 32 bytes)
        l |     i | node_hash((l-1, 2i), (l-1, 2i+1)) — covers leaves [i·2^l, (i+1)·2^l)

For 6 leaves the table holds (0, 0..5), (1, 0..2) and (2, 0)::

              (2,0)
           /         \\
        (1,0)       (1,1)       (1,2)
        /   \\       /   \\       /   \\
    (0,0) (0,1) (0,2) (0,3) (0,4) (0,5)

A node exists once its last leaf has been appended, and never changes afterwards: the table
is append-only (``nodes_created_by_append`` lists exactly the rows one append adds, and
``append_leaf`` computes them). The RFC 6962 tree of a size that is not a power of two also
has *ephemeral* nodes along its right border (for 6 leaves its root, node_hash((2,0), (1,2)));
they change as the log grows, so they are never stored but folded from the perfect nodes that
cover the same leaves (``range_nodes``), exactly as RFC 6962 splits such a subtree: its
largest perfect part on the left, the rest on the right.

Proofs
======
Every hash in an RFC 6962 inclusion or consistency proof, and every root, is the Merkle tree
hash of an aligned leaf range [a, b) (a a multiple of the smallest power of two ≥ b - a). Its
hash is the fold of ``range_nodes(a, b)`` from the right: h = last node, then
h = node_hash(node, h) for the nodes before it, right to left. A ``ProofPlan`` lists those
ranges with their node ids; the storage layer reads ``node_ids(plan)`` (at most
2·log2(size) + 2 rows, one query) and ``build_proof`` folds them into the proof, in RFC 9162
order, ready for ``audit.offline.rfc6962.verify_inclusion`` / ``verify_consistency``.

Shaped like transparency-dev/merkle ``compact`` (node ids) and ``proof`` (``Inclusion``,
``Consistency``, ``Rehash``). Pure functions, standard library only: no storage here.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

from audit.offline.rfc6962 import EMPTY_ROOT, HASH_SIZE, node_hash

NodeId = tuple[int, int]
"""(level, index): the perfect subtree over leaves [index·2^level, (index+1)·2^level)."""


@dataclass(frozen=True)
class ProofElement:
    """One hash of a proof: the RFC 6962 hash of leaves [begin, end), from stored nodes.

    ``nodes`` is ``range_nodes(begin, end)``: one node if the range is a perfect subtree,
    otherwise the perfect parts of an ephemeral node, largest (leftmost) first.
    """

    begin: int
    end: int
    nodes: tuple[NodeId, ...]


@dataclass(frozen=True)
class ProofPlan:
    """Which stored nodes a proof needs and how to fold them: one element per proof hash."""

    elements: tuple[ProofElement, ...]


def _check_size(name: str, value: int, minimum: int) -> None:
    if value < minimum:
        raise ValueError(f"{name} is {value}, want ≥ {minimum}")


def nodes_created_by_append(size_before: int) -> list[NodeId]:
    """Ids of the nodes completed by appending leaf number ``size_before``, leaf first.

    The new leaf (0, size_before) completes its parent iff it is a right child (odd index),
    that parent completes the grandparent iff it is a right child, and so on: one node per
    trailing one bit of ``size_before``, plus the leaf.

    Raises:
        ValueError: ``size_before`` is negative.
    """
    _check_size("size_before", size_before, 0)
    level, index = 0, size_before
    created = [(level, index)]
    while index & 1:
        level, index = level + 1, index >> 1
        created.append((level, index))
    return created


def append_leaf(
    store: MutableMapping[NodeId, bytes], size_before: int, leaf_hash: bytes
) -> list[tuple[NodeId, bytes]]:
    """Append leaf ``size_before``: compute the nodes it completes, write them, return them.

    Each new parent is node_hash(left sibling, new child); the left siblings are read from
    ``store`` (they were completed by earlier appends). Nothing is written unless every
    new node could be computed, and an existing leaf is never overwritten: the table is
    append-only, and a rewritten node would silently change history.

    Requires: ``store`` holds the nodes of the first ``size_before`` leaves.

    Raises:
        ValueError: ``size_before`` is negative, ``leaf_hash`` is not 32 bytes, or leaf
            ``size_before`` is already stored.
        KeyError: a left sibling is missing from ``store`` (the store is not of that size).
    """
    _check_size("size_before", size_before, 0)
    if len(leaf_hash) != HASH_SIZE:
        raise ValueError(f"leaf hash of {len(leaf_hash)} bytes, want {HASH_SIZE}")
    created_ids = nodes_created_by_append(size_before)
    if created_ids[0] in store:
        raise ValueError(f"leaf {size_before} is already stored, want a new leaf")
    created = [(created_ids[0], leaf_hash)]
    for level, index in created_ids[1:]:
        left_id = (level - 1, 2 * index)
        if left_id not in store:
            raise KeyError(f"node {left_id} is missing; store is not of size {size_before}")
        created.append(((level, index), node_hash(store[left_id], created[-1][1])))
    for node_id, node in created:
        store[node_id] = node
    return created


def range_nodes(begin: int, end: int) -> list[NodeId]:
    """The perfect nodes that exactly cover leaves [begin, end), left to right.

    The "compact range": from ``begin``, repeatedly take the largest node that starts there
    (aligned: its size divides the position) and ends at or before ``end``. Levels rise along
    the left border, then fall along the right one, so there are at most 2·log2(end - begin)
    nodes. Every node ends at or before ``end``, so a log of size ≥ end has stored them all.

    Raises:
        ValueError: begin < 0 or end < begin.
    """
    _check_size("begin", begin, 0)
    _check_size("end", end, begin)
    nodes: list[NodeId] = []
    position = begin
    while position < end:
        level = (end - position).bit_length() - 1  # largest node that fits before end
        if position:
            level = min(level, (position & -position).bit_length() - 1)  # ...and is aligned
        nodes.append((level, position >> level))
        position += 1 << level
    return nodes


def _element(begin: int, end: int) -> ProofElement:
    return ProofElement(begin, end, tuple(range_nodes(begin, end)))


def _split(size: int) -> int:
    """Largest power of two strictly below ``size`` (size ≥ 2): where RFC 6962 splits."""
    return 1 << ((size - 1).bit_length() - 1)


def inclusion_proof_plan(index: int, size: int) -> ProofPlan:
    """The nodes and folds for the inclusion proof of leaf ``index`` in the tree of ``size``.

    Follows RFC 6962 §2.1.1 PATH(m, D[0:n]) down from the root — the sibling subtree at each
    split is one proof hash — and lists them bottom-up, the order RFC 9162 verifiers expect.

    Raises:
        ValueError: not 0 ≤ index < size.
    """
    _check_size("index", index, 0)
    if index >= size:
        raise ValueError(f"index is {index}, want < size ({size})")
    top_down: list[ProofElement] = []
    begin, end = 0, size
    while end - begin > 1:
        middle = begin + _split(end - begin)
        if index < middle:
            top_down.append(_element(middle, end))
            end = middle
        else:
            top_down.append(_element(begin, middle))
            begin = middle
    return ProofPlan(tuple(reversed(top_down)))


def consistency_proof_plan(size1: int, size2: int) -> ProofPlan:
    """The nodes and folds for the consistency proof from ``size1`` to ``size2``.

    Follows RFC 6962 §2.1.2 SUBPROOF(m, D[0:n], true) down from the root and lists the hashes
    bottom-up. Equal sizes need no proof (an empty plan), as ``verify_consistency`` expects.

    Raises:
        ValueError: not 0 < size1 ≤ size2 (a proof from the empty tree proves nothing).
    """
    _check_size("size1", size1, 1)
    if size1 > size2:
        raise ValueError(f"size1 is {size1}, want ≤ size2 ({size2})")
    top_down: list[ProofElement] = []
    begin, end, whole_old_tree = 0, size2, True
    remaining = size1  # how many leaves of [begin, end) belong to the old tree
    while remaining != end - begin:
        middle = begin + _split(end - begin)
        if begin + remaining <= middle:
            top_down.append(_element(middle, end))
            end = middle
        else:
            top_down.append(_element(begin, middle))
            remaining -= middle - begin
            begin, whole_old_tree = middle, False
    if not whole_old_tree:
        # The old tree's rightmost perfect subtree: the verifier cannot derive it from root1.
        top_down.append(_element(begin, end))
    return ProofPlan(tuple(reversed(top_down)))


def root_plan(size: int) -> ProofPlan:
    """The nodes and fold for the root of the tree of ``size`` (no elements for size 0).

    Raises:
        ValueError: size < 0.
    """
    _check_size("size", size, 0)
    return ProofPlan((_element(0, size),) if size else ())


def node_ids(plan: ProofPlan) -> set[NodeId]:
    """Every stored node the plan needs: the rows to read, in one query."""
    return {node for element in plan.elements for node in element.nodes}


def _fold(element: ProofElement, fetched: Mapping[NodeId, bytes]) -> bytes:
    hashes: list[bytes] = []
    for node_id in element.nodes:
        if node_id not in fetched:
            raise KeyError(f"node {node_id} was not fetched")
        node = fetched[node_id]
        if len(node) != HASH_SIZE:
            raise ValueError(f"node {node_id} has {len(node)} bytes, want {HASH_SIZE}")
        hashes.append(node)
    folded = hashes[-1]
    for left in reversed(hashes[:-1]):
        folded = node_hash(left, folded)
    return folded


def build_proof(plan: ProofPlan, fetched: Mapping[NodeId, bytes]) -> list[bytes]:
    """Fold the fetched node hashes into the proof the plan describes, one hash per element.

    Each element's nodes are combined right to left, h = node_hash(left, h), which is how
    RFC 6962 hashes a range whose left part is perfect and whose right part is split again.
    The result is not verified here: the client verifies it against a signed root.

    Raises:
        KeyError: a node of the plan is missing from ``fetched``.
        ValueError: a fetched hash is not 32 bytes.
    """
    return [_fold(element, fetched) for element in plan.elements]


def root_from_nodes(size: int, fetched: Mapping[NodeId, bytes]) -> bytes:
    """The RFC 6962 root of the first ``size`` leaves, from ``node_ids(root_plan(size))``.

    Raises:
        ValueError: size < 0, or a fetched hash that is not 32 bytes.
        KeyError: a node of the plan is missing from ``fetched``.
    """
    proof = build_proof(root_plan(size), fetched)
    return proof[0] if proof else EMPTY_ROOT
