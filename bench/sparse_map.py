"""Sparse map v1: the time of a root over many entries, and the size of its proofs.

Questions (issue #19, the map's core; audit/offline/sparse_map.py, docs/product-index.md):

1. **Root.** How long does ``map_root`` take over n entries (paths from ``map_path`` of
   distinct keys, 64-byte values standing in for the commitments the product-key map will
   hold)? The issue's budget is a map rebuilt from a log of 10^6 filings in under 60 s; the
   core should be a small part of it. The baseline, measured in the same run, alternating
   with the root round by round, is hashing the same entries' leaves alone (SHA-256 of each
   value, then of each leaf: what any map over them must do at least). The figure is the
   median of the rounds. Target: root ≤ 6x baseline — per entry the tree adds about 1.44
   node hashes (a random trie of n keys has n - 1 branching nodes and about 0.44 n one-sided
   ones), a sort and a pass over the stack; at this machine's baseline of under a second per
   10^6 leaves, 6x is a few seconds, a tenth of the issue's budget.
2. **Proof size.** The encoded size of proofs of presence (every key: computed exactly from
   the tree's shape — depth and the number of branching nodes above each leaf — and checked
   against real encodings of a random sample) and of absence (a random sample of absent
   paths), mean and max; the largest proof of presence, built and encoded; a bound for every
   proof of absence (no deeper than the deepest leaf, no more siblings than the most any leaf
   has, plus another leaf's 64 bytes). Target (issue #19): well under 1 KB at 10^6 keys.
3. **Proving and verifying.** Time per proof of ``MapProver.prove`` (in memory) and of
   ``verify_presence`` / ``verify_absence`` over the sample, median.

Run: ``.venv/bin/python -m bench.sparse_map`` (2·10^5 entries, under a minute) or ``--full``
(10^6 entries, under a minute too). Last line: ``ratio: <root ÷ baseline> (target 6.0)``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import itertools
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from audit.offline.sparse_map import (
    HASH_SIZE,
    LEAF_PREFIX,
    PATH_BITS,
    MapProof,
    MapProver,
    map_path,
    map_root,
    verify_absence,
    verify_presence,
)
from bench.common import machine_info, median

TARGET = 6.0
SIZE_TARGET = 1024
DEFAULT_ENTRIES, FULL_ENTRIES = 200_000, 1_000_000
DEFAULT_SAMPLE, FULL_SAMPLE = 5_000, 10_000
ROUNDS = 3


def make_entries(count: int, seed: int) -> dict[bytes, bytes]:
    """``count`` entries of the map ``bench``: key ``key-<i>``, a 64-byte pseudo-random value."""
    rng = random.Random(seed)
    return {map_path(b"bench", b"key-%d" % i): rng.randbytes(64) for i in range(count)}


def hash_leaves(entries: dict[bytes, bytes]) -> list[bytes]:
    """The baseline: each entry's leaf hash, nothing else."""
    sha = hashlib.sha256
    return [sha(LEAF_PREFIX + p + sha(v).digest()).digest() for p, v in entries.items()]


def timed(work: Callable[[], object]) -> float:
    """Seconds of one call, with the cyclic collector paused (the same for both variants)."""
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        work()
        return time.perf_counter() - started
    finally:
        gc.enable()


def presence_shapes(paths: Sequence[bytes]) -> list[tuple[int, int]]:
    """Depth and non-EMPTY siblings of each key's proof of presence (``paths`` sorted).

    Sorted paths part at depth L[j] = the common prefix of neighbours j and j + 1; leaf i sits
    at depth max(L[i-1], L[i]) + 1, and the branching nodes above it are the strict running
    minima of L from i rightwards and from i - 1 leftwards (each a non-EMPTY sibling).
    """
    xs = [int.from_bytes(p, "big") for p in paths]
    n = len(xs)
    parts = [PATH_BITS - (a ^ b).bit_length() for a, b in itertools.pairwise(xs)]
    rightward, leftward = [0] * (n - 1), [0] * (n - 1)
    for order, chain in ((range(n - 2, -1, -1), rightward), (range(n - 1), leftward)):
        stack: list[int] = []
        for j in order:
            while stack and parts[stack[-1]] >= parts[j]:
                stack.pop()
            chain[j] = 1 + (chain[stack[-1]] if stack else 0)
            stack.append(j)
    shapes = []
    for i in range(n):
        right = parts[i] if i < n - 1 else -1
        left = parts[i - 1] if i else -1
        siblings = (rightward[i] if i < n - 1 else 0) + (leftward[i - 1] if i else 0)
        shapes.append((max(left, right) + 1, siblings))
    return shapes


def encoded_size(depth: int, siblings: int, other_leaf: bool = False) -> int:
    """Bytes of an encoded proof (docs/product-index.md, "Proof encoding")."""
    return 3 + (depth + 7) // 8 + HASH_SIZE * siblings + 1 + (2 * HASH_SIZE if other_leaf else 0)


def absent_paths(entries: dict[bytes, bytes], count: int, rng: random.Random) -> list[bytes]:
    found: list[bytes] = []
    while len(found) < count:
        path = rng.randbytes(HASH_SIZE)
        if path not in entries:
            found.append(path)
    return found


def describe(sizes: Sequence[int]) -> str:
    return f"mean {statistics.fmean(sizes):6.1f} B  max {max(sizes):5d} B"


def time_root(entries: dict[bytes, bytes]) -> tuple[bytes, float]:
    """(1) The root and its median time against the baseline's, alternating which goes first."""
    roots: list[float] = []
    baselines: list[float] = []
    for round_ in range(ROUNDS):
        variants = ("root", "baseline") if round_ % 2 == 0 else ("baseline", "root")
        for variant in variants:
            if variant == "root":
                roots.append(timed(lambda: map_root(entries)))
            else:
                baselines.append(timed(lambda: hash_leaves(entries)))
    seconds, baseline = median(roots), median(baselines)
    print(f"map_root       {seconds:7.3f} s   ({', '.join(f'{s:.3f}' for s in roots)})")
    print(f"leaves alone   {baseline:7.3f} s   ({', '.join(f'{s:.3f}' for s in baselines)})")
    root = map_root(entries)
    print(f"root {root.hex()}")
    return root, seconds / baseline


def proof_sizes(entries: dict[bytes, bytes], root: bytes, sample: int, rng: random.Random) -> None:
    """(2) and (3): every key's proof size from the shape, samples built, encoded and verified.

    Raises:
        SystemExit: the prover's root or a proof's size disagrees with what was computed.
    """
    started = time.perf_counter()
    prover = MapProver(entries)
    print(f"prover built in {time.perf_counter() - started:.3f} s")
    if prover.root != root:
        raise SystemExit("the prover's root differs from map_root")
    ordered = sorted(entries)
    shapes = presence_shapes(ordered)
    sizes = [encoded_size(depth, siblings) for depth, siblings in shapes]
    by_path = dict(zip(ordered, sizes, strict=True))
    present = rng.sample(ordered, min(sample, len(ordered)))
    absent = absent_paths(entries, sample, rng)
    prove_times: list[float] = []
    verify_times: list[float] = []
    encoded: dict[str, list[int]] = {"presence": [], "absence": []}
    for kind, paths in (("presence", present), ("absence", absent)):
        for path in paths:
            started = time.perf_counter()
            proof = prover.prove(path)
            prove_times.append(time.perf_counter() - started)
            data = proof.encode()
            encoded[kind].append(len(data))
            decoded = MapProof.decode(data)
            started = time.perf_counter()
            if kind == "presence":
                verify_presence(root, path, entries[path], decoded)
            else:
                verify_absence(root, path, decoded)
            verify_times.append(time.perf_counter() - started)
            if kind == "presence" and len(data) != by_path[path]:
                raise SystemExit(f"size from the shape {by_path[path]} != encoded {len(data)}")
    worst = prover.prove(ordered[max(range(len(sizes)), key=sizes.__getitem__)])
    # An absence walk passes at most the branching nodes above some leaf, no deeper than the
    # deepest leaf, and may end at another leaf (64 bytes more): a bound for every path.
    bound = encoded_size(max(d for d, _ in shapes), max(s for _, s in shapes), other_leaf=True)
    print(f"presence, every key (from the shape)   {describe(sizes)}")
    print(f"presence, {len(present):,} encoded            {describe(encoded['presence'])}")
    print(f"absence,  {len(absent):,} encoded            {describe(encoded['absence'])}")
    print(
        f"largest proof of presence: depth {worst.depth}, {len(worst.siblings)} siblings, "
        f"{len(worst.encode())} B; any proof of absence at most {bound} B "
        f"(target: under {SIZE_TARGET} B)"
    )
    print(
        f"prove {median(prove_times) * 1e6:6.1f} µs   verify {median(verify_times) * 1e6:6.1f} µs "
        "(median per proof)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--full", action="store_true", help=f"{FULL_ENTRIES:,} entries")
    parser.add_argument("--entries", type=int, help="entries in the map")
    parser.add_argument("--sample", type=int, help="proofs built and verified, of each kind")
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args(argv)
    count = args.entries or (FULL_ENTRIES if args.full else DEFAULT_ENTRIES)
    sample = args.sample or (FULL_SAMPLE if args.full else DEFAULT_SAMPLE)
    print("sparse map v1: root over n entries vs hashing their leaves alone; proof sizes")
    print(f"machine: {machine_info().describe()}")
    entries = make_entries(count, args.seed)
    print(f"{count:,} entries (map 'bench', 64-byte values), {ROUNDS} interleaved rounds")
    root, ratio = time_root(entries)
    proof_sizes(entries, root, sample, random.Random(args.seed))
    print(f"ratio: {ratio:.3f} (target {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
