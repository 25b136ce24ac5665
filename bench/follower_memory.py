"""The projection follower's resident memory over a long run: flat after warm-up?

Question (issue #14): the follower's memory grew about 8.5 KB per filing with no plateau
(69.9 -> 94.9 MB over 3,000 filings), because it kept up to 200,000 cached rows per read model
whatever their size. With the cache bounded by size (``projections.runner.CACHE_BYTES``,
``Rows.trim``), does its peak resident memory stop growing once warmed up?

**The run.** A writer (this process) registers filers and files and approves filings through
the ledger's commands, in chunks; a follower in a process of its own (``--child``: the
runner ``ppl projections follow`` runs, ``api.bootstrap.open_projection_runner``) catches up
after each chunk and reports its resident set (``VmRSS``) and peak (``VmHWM``) from
/proc/self/status. Each filer files 50 filings with a patent of its own, so screening finds no
candidates and every filing is approved.

**Measured**: the follower's peak resident memory after the warm-up (the first
``--warmup`` share of the filings: by then each read model's cache has reached its bound,
about 10,000 filings here; default 50 % of 12,000, ``--full`` 20 % of 50,000): the baseline,
in the same run; and at the end. The ratio is end peak / warm-up peak; flat means at most
1.10 (target). The curve (filings, RSS, peak) is printed for docs/benchmarks.md.

Run: ``.venv/bin/python -m bench.follower_memory`` (12,000 filings on SQLite, under a minute) or
``--full`` (50,000 filings), ``--postgres`` for PostgreSQL (a database ``ppl_bench_<pid>``
through ``PPL_BENCH_POSTGRES_ADMIN``, dropped at the end). Last line:
``ratio: <end peak / warm-up peak> (target 1.10)``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

from api.bootstrap import (
    SignedPatentLedger,
    open_ledger,
    open_projection_runner,
    open_projection_store,
)
from api.settings import Settings
from bench.common import (
    fresh_sqlite_url,
    machine_info,
    postgres_admin_dsn,
    postgres_database,
    settings_for,
)
from domain.declarations import PatentDeclaration
from tests.domain.factories import REVIEWER, approved_filer, file, own_patent, uscc

TARGET = 1.10
PER_FILER = 50


def _memory() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process, in KiB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found["VmRSS"], found["VmHWM"]


def child(data_dir: Path, database_url: str) -> int:
    """The follower: catch up whenever a line arrives on stdin, then report memory."""
    settings = settings_for(data_dir, database_url)
    ledger = open_ledger(settings, connections=2)
    store = open_projection_store(settings)
    runner = open_projection_runner(ledger, store)
    for line in sys.stdin:
        if line.strip() == "stop":
            break
        applied = runner.catch_up()
        rss, peak = _memory()
        print(json.dumps({"applied": applied, "rss_kib": rss, "peak_kib": peak}), flush=True)
    return 0


def _file_chunk(ledger: SignedPatentLedger, start: int, count: int) -> None:
    """Filings ``start`` .. ``start + count - 1``, each filed and approved."""
    filer: tuple[str, UUID, list[PatentDeclaration]] | None = None
    for number in range(start, start + count):
        if filer is None or number % PER_FILER == 0:
            code = uscc(100_000 + number // PER_FILER)
            new_id = approved_filer(ledger, code)
            filer = (code, new_id, [PatentDeclaration.parse(own_patent(new_id), "owner")])
        code, filer_id, patents = filer
        product_id = file(
            ledger, code, filer_id, name="内存基准产品", model=f"MEM-{number:06d}", patents=patents
        )
        ledger.approve_product(REVIEWER, product_id)


def run(settings: Settings, data_dir: Path, filings: int, chunks: int, warmup: float) -> float:
    ledger = open_ledger(settings)
    follower = subprocess.Popen(  # noqa: S603 (our own module, no shell)
        [sys.executable, "-m", "bench.follower_memory", "--child", str(data_dir),
         settings.database_url],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    if follower.stdin is None or follower.stdout is None:
        raise RuntimeError("the follower's pipes did not open")
    curve: list[tuple[int, int, int, float]] = []
    per_chunk = filings // chunks
    started = time.perf_counter()
    try:
        for index in range(chunks):
            _file_chunk(ledger, index * per_chunk, per_chunk)
            follower.stdin.write("go\n")
            follower.stdin.flush()
            report = json.loads(follower.stdout.readline())
            done = (index + 1) * per_chunk
            curve.append(
                (done, report["rss_kib"], report["peak_kib"], time.perf_counter() - started)
            )
        follower.stdin.write("stop\n")
        follower.stdin.flush()
    finally:
        follower.wait(timeout=60)
        ledger.close()
    print(f"{'filings':>8} {'follower RSS MiB':>17} {'peak MiB':>9} {'elapsed s':>10}")
    for done, rss, peak, elapsed in curve:
        print(f"{done:>8,} {rss / 1024:>17.1f} {peak / 1024:>9.1f} {elapsed:>10.1f}")
    warm = next(point for point in curve if point[0] >= filings * warmup)
    end = curve[-1]
    per_filing = (end[2] - warm[2]) * 1024 / max(1, end[0] - warm[0])
    print(f"peak after warm-up ({warm[0]:,} filings, baseline): {warm[2] / 1024:.1f} MiB")
    print(f"peak at the end ({end[0]:,} filings): {end[2] / 1024:.1f} MiB")
    print(f"growth after warm-up: {per_filing:.0f} bytes per filing (issue #14: ~8,500)")
    return end[2] / warm[2]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="50,000 filings")
    parser.add_argument("--filings", type=int, default=None)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument(
        "--warmup", type=float, default=None, help="share of the filings (default 0.5; --full 0.2)"
    )
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("DATA_DIR", "DATABASE_URL"))
    args = parser.parse_args(argv)
    if args.child:
        return child(Path(args.child[0]), args.child[1])
    filings = args.filings or (50_000 if args.full else 12_000)
    warmup = args.warmup if args.warmup is not None else (0.2 if args.full else 0.5)
    print(machine_info().describe())
    print(f"{filings:,} filings (filed and approved), {args.chunks} chunks, "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="ppl-bench-memory-") as work:
        data_dir = Path(work)
        if args.postgres:
            with postgres_database(postgres_admin_dsn()) as url:
                ratio = run(settings_for(data_dir, url), data_dir, filings, args.chunks,
                            warmup)  # fmt: skip
        else:
            url = fresh_sqlite_url(data_dir, "memory")
            ratio = run(settings_for(data_dir, url), data_dir, filings, args.chunks, warmup)
    print(f"ratio: {ratio:.3f} (target {TARGET})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
