"""Rebuilding the product index from a log of many filings, as an auditor does.

Question (issue #19): how long does rebuilding both maps (audit.offline.product_index) from the
events of a log of 10^6 filings take? Target: under 60 s on this machine.

The log is synthetic but shaped as the ledger writes it: per filing a ``ProductFiled`` (name,
model, its rule-1 key, filer, data year, two declared patents) and its two
``ProductKeyReserved`` (rules 1 and 2), as ``IndexedEvent`` s — the form the verifier hands
the rebuild after its workers have checked signatures, decoded states and cut them down to
the fields the index reads (``index_fields``: ids as canonical text). The names and
models, and their keys under both rules, are made before the clock starts; the rule-2 key of
each filing is derived again inside the rebuild, as the auditor must.

Timed, three times (once with ``--full``), medians:

* **baseline**: producing the events alone (what any consumer of them pays);
* **rebuild**: producing them and applying each to an ``InMemoryIndex``, then both roots —
  what ``ppl audit verify --index-checkpoints latest`` runs for the latest index note;
* **re-check** (once, on the first 2·10^4 filings; 10^5 with ``--full``): the same through
  ``IndexRebuild`` with the roots taken every 1,000 events, as ``ppl audit verify`` does by
  default at each checkpoint of a log sequenced in batches of 1,000 (no target of its own:
  reported per filing).

Run: ``.venv/bin/python -m bench.index_rebuild`` (10^5 filings, extrapolated linearly to
10^6) or ``--full`` (10^6 filings). Last line: ``ratio: <rebuild at 10^6 ÷ 60 s> (target 1.0)``.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from uuid import UUID

from audit.offline.index_rebuild import IndexRebuild, InMemoryIndex
from audit.offline.product_index import IndexedEvent, keys_of
from audit.offline.product_key import KeyRule
from audit.offline.replay_base import KEY_RESERVED, PRODUCT_FILED
from bench.common import machine_info, median
from tests.domain.factories import patent, uscc

BUDGET_SECONDS = 60.0
TARGET = 1.0
FULL, DEFAULT = 1_000_000, 100_000
CHECKPOINT_EVERY = 1000
AT = datetime(2026, 1, 1, tzinfo=UTC)

Filing = tuple[str, str, str, str, str, str, str]


def make_filings(count: int) -> list[Filing]:
    """Per filing: its id, name, model, rule-1 and rule-2 keys, and its reservations' ids."""
    filings: list[Filing] = []
    for number in range(count):
        name, model = f"智能温控阀{number % 997}", f"TV-{number:07d}"
        keys = keys_of(name, model)
        filings.append(
            (
                str(UUID(int=number + 1)), name, model, keys[int(KeyRule.V1)],
                keys[int(KeyRule.V2)], str(UUID(int=2**64 + number)),
                str(UUID(int=2**65 + number)),
            )
        )  # fmt: skip
    return filings


def events(filings: Sequence[Filing]) -> Iterator[IndexedEvent]:
    filers = [uscc(serial) for serial in range(1, 101)]
    numbers = [patent(serial) for serial in range(1, 5001)]
    leaf = 0
    for number, (product_id, name, model, v1, v2, r1, r2) in enumerate(filings):
        filer = filers[number % len(filers)]
        declared = [{"number": numbers[number % 5000]}, {"number": numbers[(number * 7) % 5000]}]
        if declared[0] == declared[1]:
            declared = declared[:1]
        yield IndexedEvent(
            leaf, product_id, 1, PRODUCT_FILED,
            {"name": name, "model": model, "canonical_key": v1, "filer_uscc": filer,
             "data_year": 2025, "patents": declared},
        )  # fmt: skip
        yield IndexedEvent(
            leaf + 1, r1, 1, KEY_RESERVED,
            {"canonical_key": v1, "key_rule": 1, "product_id": product_id, "filer_uscc": filer},
        )  # fmt: skip
        yield IndexedEvent(
            leaf + 2, r2, 1, KEY_RESERVED,
            {"canonical_key": v2, "key_rule": 2, "product_id": product_id, "filer_uscc": filer},
        )  # fmt: skip
        leaf += 3


def produce(filings: Sequence[Filing]) -> float:
    started = time.perf_counter()
    for _ in events(filings):
        pass
    return time.perf_counter() - started


def rebuild(filings: Sequence[Filing]) -> tuple[float, dict[bytes, int]]:
    """As the verifier runs it: no cycle collection while the state grows (nothing in it is
    cyclic; audit.offline.verifier does the same)."""
    gc.disable()
    try:
        return _rebuild(filings)
    finally:
        gc.enable()


def _rebuild(filings: Sequence[Filing]) -> tuple[float, dict[bytes, int]]:
    started = time.perf_counter()
    index = InMemoryIndex()
    for event in events(filings):
        index.apply_indexed(event)
    index.roots()
    return time.perf_counter() - started, index.sizes()


def recheck(filings: Sequence[Filing]) -> float:
    gc.disable()
    try:
        return _recheck(filings)
    finally:
        gc.enable()


def _recheck(filings: Sequence[Filing]) -> float:
    started = time.perf_counter()
    index = IndexRebuild()
    for event in events(filings):
        index.apply_indexed(event)
        if (event.leaf_index + 1) % CHECKPOINT_EVERY == 0:
            index.heads()
    index.heads()
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="10^6 filings (a few minutes)")
    args = parser.parse_args(argv)
    count, rounds, recheck_count = (FULL, 1, 100_000) if args.full else (DEFAULT, 3, 20_000)
    print(f"machine: {machine_info().describe()}")
    started = time.perf_counter()
    filings = make_filings(count)
    print(
        f"{count:,} filings, {3 * count:,} events (made in {time.perf_counter() - started:.1f} s)"
    )
    baseline, rebuilt = [], []
    sizes: dict[bytes, int] = {}
    for _ in range(rounds):
        gc.collect()
        baseline.append(produce(filings))
        gc.collect()
        seconds, sizes = rebuild(filings)
        rebuilt.append(seconds)
    gc.collect()
    rechecked = recheck(filings[:recheck_count])
    figure = median(rebuilt)
    print(f"baseline (producing the events): {median(baseline):.2f} s")
    print(
        f"rebuild (InMemoryIndex, both roots once): {figure:.2f} s "
        f"({', '.join(f'{s:.2f}' for s in rebuilt)}); entries "
        + ", ".join(f"{m.decode()} {n:,}" for m, n in sizes.items())
    )
    print(
        f"re-check (IndexRebuild, roots every {CHECKPOINT_EVERY:,} events) of the first "
        f"{recheck_count:,} filings: {rechecked:.2f} s, "
        f"{rechecked / recheck_count * 1e6:.0f} µs per filing"
    )
    at_full = figure * FULL / count
    if count != FULL:
        print(f"extrapolated to {FULL:,} filings: rebuild {at_full:.1f} s")
    print(f"ratio: {at_full / BUDGET_SECONDS:.2f} (target {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
