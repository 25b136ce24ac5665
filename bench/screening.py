"""Near-duplicate screening: the cost it adds to a filing, and its first catch-up.

Questions (issue #13, part 3):

1. **Filings.** A filing is now screened before it is saved: the ledger's screening index
   (domain/screening_feed.py) reads what was recorded since it last looked, and the filing is
   compared with every earlier filing (audit/offline/screening.py); its candidates go into its
   event.
   How many single ``file_product`` commands per second does that keep, against the same
   command before screening (``tests.domain.factories.before_screening``)? Target: with
   screening >= 0.9 x without, on SQLite and PostgreSQL. Both variants run on one store that
   first holds the sample (seed 7: 1,228 filings; ``--full``: seeds 1-10, ~12,000), so each
   filing is screened against a populated index; interleaved round by round
   (bench.common.interleaved_rates), each variant with its own approved filer; the figure is
   the median of the per-round rates (filings per second).
2. **The first catch-up.** A process's first screening reads every filing in the store. Its
   time on that store is reported (no target; docs/benchmarks.md records it).

Run: ``.venv/bin/python -m bench.screening`` (under a minute), ``--full`` for a bigger store
(several minutes: it loads the sample first). PostgreSQL as in bench/append.py.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from uuid import uuid4

from api.bootstrap import SignedPatentLedger, load_keyring, open_ledger
from bench.common import (
    fresh_sqlite_url,
    machine_info,
    median,
    settings_for,
    store_makers,
)
from bench.single_filings import Rules, filing_rates
from domain.sample import load_sample
from tests.domain.factories import before_screening

TARGET = 0.9
DEFAULT_ROUNDS, FULL_ROUNDS = 7, 11
FILINGS_PER_ROUND = 150
DEFAULT_SEEDS, FULL_SEEDS = (7,), tuple(range(1, 11))


def screening_rates(ledger: SignedPatentLedger, rounds: int) -> dict[str, list[float]]:
    """Filings per second with and without screening, interleaved by round."""
    variants: dict[str, tuple[int, Rules]] = {
        "screening": (611, contextlib.nullcontext),
        "before screening": (612, before_screening),
    }
    return filing_rates(ledger, variants, rounds, FILINGS_PER_ROUND, prefix="SC")


def first_catch_up(settings_url: str, work_dir: Path) -> tuple[int, float]:
    """A new process's first screening on the store: filings indexed, seconds."""
    ledger = open_ledger(settings_for(work_dir / "data", settings_url))
    try:
        feed = ledger._screening
        started = time.perf_counter()
        feed.candidates_of(ledger.recorder, ledger.mapper, uuid4())  # reads the whole store
        seconds = time.perf_counter() - started
        return feed.indexed, seconds
    finally:
        ledger.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--full", action="store_true", help="a store of seeds 1-10")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per store")
    args = parser.parse_args(argv)
    rounds = args.rounds or (FULL_ROUNDS if args.full else DEFAULT_ROUNDS)
    seeds = FULL_SEEDS if args.full else DEFAULT_SEEDS
    print("near-duplicate screening: filings with screening vs before screening")
    print(f"machine: {machine_info().describe()}")
    print(
        f"store: sample seeds {seeds[0]}-{seeds[-1]}; {rounds} interleaved rounds of "
        f"{FILINGS_PER_ROUND} single filings per variant"
    )
    ratios: dict[str, float] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ppl-bench-") as temporary:
        work_dir = Path(temporary)
        load_keyring(settings_for(work_dir / "data", fresh_sqlite_url(work_dir, "keys")))
        with store_makers(work_dir) as stores:
            for backend, make_url in stores.items():
                url = make_url("screening")
                ledger = open_ledger(settings_for(work_dir / "data", url))
                try:
                    loading = time.perf_counter()
                    for seed in seeds:
                        load_sample(ledger, seed)
                    loaded = time.perf_counter() - loading
                    rates = screening_rates(ledger, rounds)
                finally:
                    ledger.close()
                screened, old = median(rates["screening"]), median(rates["before screening"])
                ratios[backend] = screened / old
                print(
                    f"{backend:<9} screening {screened:7.1f} filings/s  before screening "
                    f"{old:7.1f} filings/s  ratio {screened / old:.3f}  (rounds: "
                    f"{', '.join(f'{r:.0f}' for r in rates['screening'])} / "
                    f"{', '.join(f'{r:.0f}' for r in rates['before screening'])}); "
                    f"sample loaded in {loaded:.0f} s",
                    flush=True,
                )
                filings, seconds = first_catch_up(url, work_dir)
                print(
                    f"{backend:<9} first catch-up of a new process: {filings} filings in "
                    f"{seconds:.2f} s ({filings / seconds:.0f} filings/s)",
                    flush=True,
                )
    print(f"elapsed: {time.perf_counter() - started:.0f} s")
    worst = min(ratios, key=ratios.__getitem__)
    print(f"the ratio below is the worst store's: {worst}")
    print(f"ratio: {ratios[worst]:.3f} (target {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
