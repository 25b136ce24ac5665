"""Key rule v2: the cost of a filing's second key, and the time of the migration.

Questions (issue #13):

1. **Filings.** A filing now derives its key under v1 *and* v2 (the pinned table of
   audit/offline/product_key.py) and saves a reservation under each: 3 events instead of 2. How many
   single ``file_product`` commands per second does that keep, against the same command under
   v1 only (``tests.domain.factories.v1_only``, the rules the ledger had before)? Target:
   v1 + v2 >= 0.9 x v1 only, on SQLite and PostgreSQL. Both variants file before screening
   (whose cost bench/screening.py measures) and run on the same fresh
   store, interleaved round by round (bench.common.interleaved_rates), each with its own
   approved filer; the figure is the median of the per-round rates (filings per second).
2. **The migration.** The sample (seed 7 by default: ~6,750 events, 1,222 filings; ``--full``:
   seeds 1-37, ~204,000 events, like bench/projections) loaded as the ledger had it, v1 keys
   only, then ``migrate_product_keys``: seconds and filings per second, and the idempotent
   re-run. Reported, no target (docs/benchmarks.md records it).

Run: ``.venv/bin/python -m bench.key_rules`` (under a minute), ``--full`` for the full sample's
migration (several minutes: it loads the sample first). PostgreSQL as in bench/append.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from api.bootstrap import SignedPatentLedger, load_keyring, open_ledger
from bench.common import (
    fresh_sqlite_url,
    machine_info,
    median,
    settings_for,
    store_makers,
)
from bench.single_filings import Rules, filing_rates
from domain.actor import SYSTEM
from domain.sample import load_sample
from tests.domain.factories import before_screening, v1_only

TARGET = 0.9
DEFAULT_ROUNDS, FULL_ROUNDS = 7, 11
FILINGS_PER_ROUND = 150
DEFAULT_SEEDS, FULL_SEEDS = (7,), tuple(range(1, 38))


def key_rule_rates(ledger: SignedPatentLedger, rounds: int) -> dict[str, list[float]]:
    """Filings per second under both rules and under v1 only, interleaved by round."""
    # Both before screening (its own bench, bench/screening.py): only the key rules differ.
    variants: dict[str, tuple[int, Rules]] = {
        "v1+v2": (601, before_screening),
        "v1 only": (602, v1_only),
    }
    return filing_rates(ledger, variants, rounds, FILINGS_PER_ROUND, prefix="KR")


def migration(settings_url: str, work_dir: Path, seeds: Sequence[int]) -> dict[str, float]:
    """Load ``seeds`` with v1 keys only, then migrate twice; seconds and counts."""
    settings = settings_for(work_dir / "migration", settings_url)
    ledger = open_ledger(settings)
    try:
        started = time.perf_counter()
        with v1_only():
            for seed in seeds:
                load_sample(ledger, seed)
        loaded = time.perf_counter() - started
        events = float(ledger.recorder.max_notification_id() or 0)
        started = time.perf_counter()
        report = ledger.migrate_product_keys(SYSTEM)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = ledger.migrate_product_keys(SYSTEM)
        second = time.perf_counter() - started
    finally:
        ledger.close()
    return {
        "events": events, "load_s": loaded, "filings": report.products,
        "reserved": report.reserved, "groups": len(report.groups), "first_s": first,
        "again_reserved": again.reserved, "again_s": second,
    }  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--full", action="store_true", help="the full sample's migration")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per store")
    args = parser.parse_args(argv)
    rounds = args.rounds or (FULL_ROUNDS if args.full else DEFAULT_ROUNDS)
    seeds = FULL_SEEDS if args.full else DEFAULT_SEEDS
    print("key rule v2: filings under v1 + v2 vs v1 only; the migration of v1-only filings")
    print(f"machine: {machine_info().describe()}")
    print(f"{rounds} interleaved rounds of {FILINGS_PER_ROUND} single filings per variant")
    ratios: dict[str, float] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ppl-bench-") as temporary:
        work_dir = Path(temporary)
        load_keyring(settings_for(work_dir / "data", fresh_sqlite_url(work_dir, "keys")))
        with store_makers(work_dir) as stores:
            for backend, make_url in stores.items():
                ledger = open_ledger(settings_for(work_dir / "data", make_url("filings")))
                try:
                    rates = key_rule_rates(ledger, rounds)
                finally:
                    ledger.close()
                both, old = median(rates["v1+v2"]), median(rates["v1 only"])
                ratios[backend] = both / old
                print(
                    f"{backend:<9} v1+v2 {both:7.1f} filings/s  v1 only {old:7.1f} filings/s  "
                    f"ratio {both / old:.3f}  (rounds: "
                    f"{', '.join(f'{r:.0f}' for r in rates['v1+v2'])} / "
                    f"{', '.join(f'{r:.0f}' for r in rates['v1 only'])})",
                    flush=True,
                )
                m = migration(make_url("migration"), work_dir, seeds)
                print(
                    f"{backend:<9} migration of {m['filings']:.0f} filings ({m['events']:.0f} "
                    f"events, loaded in {m['load_s']:.0f} s): {m['first_s']:.2f} s "
                    f"({m['filings'] / m['first_s']:.0f} filings/s), {m['reserved']:.0f} keys "
                    f"reserved, {m['groups']:.0f} groups; re-run {m['again_s']:.2f} s, "
                    f"{m['again_reserved']:.0f} reserved",
                    flush=True,
                )
    print(f"elapsed: {time.perf_counter() - started:.0f} s")
    worst = min(ratios, key=ratios.__getitem__)
    print(f"the ratio below is the worst store's: {worst}")
    print(f"ratio: {ratios[worst]:.3f} (target {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
