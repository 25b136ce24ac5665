"""Filings per second with the product index maintained, against the same without it.

Question (issue #19): what does keeping the product index cost the ledger's throughput?
Target: filings/s with the index ≥ 0.8 x filings/s without, on SQLite and on PostgreSQL.

What is timed is a filing's whole way into the verifiable ledger: ``file_product`` (the
command: three signed events in one save) for a round of filings, then ``log.sequence()``
(integrate them into the Merkle log, sign a checkpoint, and — with the index — index that
checkpoint: apply the events, update both maps' nodes, sign the index note, write it all).
Each variant has its own fresh store (one with ``log.index`` on, one with it off), its own
approved filer and patent, so neither catches up the other's work. Rounds alternate which
variant goes first (bench.common.interleaved_rates); a variant's rate is the median of its
rounds. The ratio is with ÷ without; the final line is the worse backend's.

Run: ``.venv/bin/python -m bench.index_filings`` (under a minute) or ``--full`` (more and
larger rounds). PostgreSQL: a throwaway database through ``PPL_BENCH_POSTGRES_ADMIN``; if it
does not answer, only SQLite is measured.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from api.bootstrap import SignedPatentLedger, open_ledger, open_transparency_log
from audit.log.transparency_log import TransparencyLog
from bench.common import interleaved_rates, machine_info, median, settings_for, store_makers
from domain.declarations import PatentDeclaration
from tests.domain.factories import approved_filer, file, own_patent, uscc

TARGET = 0.8


class Variant:
    """One store: a ledger, its log (index on or off) and a filer of its own."""

    def __init__(self, work: Path, url: str, *, indexed: bool, serial: int) -> None:
        settings = settings_for(work / f"data-{serial}", url)
        self.ledger: SignedPatentLedger = open_ledger(settings)
        self.log: TransparencyLog = open_transparency_log(self.ledger, settings)
        if not indexed:
            self.log.index = None
        self.code = uscc(serial)
        self.filer_id = approved_filer(self.ledger, self.code)
        self.patents = [PatentDeclaration.parse(own_patent(self.filer_id), "owner")]
        self.log.sequence()

    def run(self, label: str, filings: int) -> float:
        """Filings per second of ``filings`` filings and the log round that takes them in."""
        started = time.perf_counter()
        for number in range(filings):
            file(
                self.ledger, self.code, self.filer_id, name="基准测试产品",
                model=f"IDX-{label}-{number:05d}", patents=self.patents,
            )  # fmt: skip
        self.log.sequence()
        return filings / (time.perf_counter() - started)

    def close(self) -> None:
        self.log.store.close()
        self.ledger.close()


def measure(work: Path, make_url: object, backend: str, rounds: int, filings: int) -> float:
    assert callable(make_url)  # noqa: S101 (bench.common.store_makers gives makers)
    with_index = Variant(work, make_url(f"{backend}_with"), indexed=True, serial=951)
    without = Variant(work, make_url(f"{backend}_without"), indexed=False, serial=952)
    try:
        with_index.run("warm-a", 20)
        without.run("warm-b", 20)
        rates = interleaved_rates(
            rounds,
            [
                ("with", lambda n: with_index.run(f"a{n}", filings)),
                ("without", lambda n: without.run(f"b{n}", filings)),
            ],
        )
        indexed = with_index.log.index
        if indexed is None or indexed.store.position() != with_index.log.size():
            raise RuntimeError("the indexed variant did not index every checkpoint")
    finally:
        with_index.close()
        without.close()
    ratio = median(rates["with"]) / median(rates["without"])
    print(
        f"{backend}: with the index {median(rates['with']):,.0f} filings/s "
        f"({', '.join(f'{r:,.0f}' for r in rates['with'])}); without "
        f"{median(rates['without']):,.0f} ({', '.join(f'{r:,.0f}' for r in rates['without'])}); "
        f"ratio {ratio:.2f}"
    )
    return ratio


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="more and larger rounds")
    args = parser.parse_args(argv)
    rounds, filings = (7, 400) if args.full else (5, 100)
    print(f"machine: {machine_info().describe()}")
    print(f"{rounds} rounds of {filings} filings per variant, each round then sequenced")
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as directory, store_makers(Path(directory)) as stores:
        for backend, make_url in stores.items():
            ratios.append(measure(Path(directory), make_url, backend, rounds, filings))
    worst = min(ratios)
    print(f"ratio: {worst:.2f} (target {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
