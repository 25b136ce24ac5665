"""Append throughput: signed events (Ed25519, audit.signing.signing_mapper) vs the plain mapper.

Question (issue #2): how much append throughput does signing every event cost? Target:
signed events per second >= 0.85 * unsigned, in every configuration.

Both variants are the same ``SignedPatentLedger`` with the same canonical transcoder, opened on
the *same* fresh store: one with the run's ``KeyRing`` (every event signed), one with
``keyring=None`` (eventsourcing's plain ``Mapper``). Their aggregates never meet: each variant
has its own filers and product keys, since neither could read the other's events.

Configurations: every combination of {SQLite, PostgreSQL}, {1, 4 writer threads} and
{single, batch}.

* **single** — the real command path: each ``file_product`` call reads the filer (from the
  aggregate cache, fast-forwarded by a query that finds nothing new) and looks up the product
  key reservations (queries that find nothing), then saves 3 events (ProductFiled and a
  ProductKeyReserved under key rules v1 and v2) in one transaction. One approved filer per
  thread, set up before timing.
* **batch** — the append path alone: ``save()`` of 50 new ``Product`` aggregates and their 50
  ``ProductKeyReservation`` index aggregates, i.e. 100 events in one transaction. The
  aggregates are built with the domain classes before the clock starts, so only ``save()``
  (mapping, signing, inserting) is timed. New aggregates were chosen over appending to existing
  ones because appending needs the aggregates read first, and reading verifies signatures:
  that would mix read cost into an append benchmark. This is the worst case for the ratio:
  nothing but the append is timed, so signing is the largest share of the work.

The writer threads share one ledger application, as the API's worker threads do. Each round
runs the signed and the unsigned variant once, alternating which goes first; a configuration's
rate is the median of its per-round rates (events per second of wall time), and its ratio is
signed median / unsigned median. The final line is the worst ratio over the configurations.

Run: ``.venv/bin/python -m bench.append`` (under a minute; ``--full`` for bigger rounds).
PostgreSQL: a database ``ppl_bench_<pid>`` is created through ``PPL_BENCH_POSTGRES_ADMIN``
(default postgresql://postgres@127.0.0.1:5432/postgres), one schema per configuration, and
dropped at the end; if PostgreSQL does not answer, only its configurations are skipped.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from uuid import uuid4

from api.bootstrap import SignedPatentLedger, load_keyring
from api.settings import Settings
from audit.signing.key_files import KeyRing
from bench.common import (
    fresh_postgres_schema,
    fresh_sqlite_url,
    interleaved_rates,
    machine_info,
    median,
    postgres_admin_dsn,
    postgres_database,
    postgres_unreachable_reason,
    run_threads,
    settings_for,
)
from domain.declarations import PatentDeclaration
from domain.filer import filer_id_for
from domain.product import Product, new_product
from domain.reservation import ProductKeyReservation
from domain.values import canonical_product_key
from tests.domain.factories import approved_filer, figures, file, filer_actor, patent, uscc

TARGET = 0.85
BACKENDS = ("sqlite", "postgres")
THREAD_COUNTS = (1, 4)
WORKLOADS = ("single", "batch")
BATCH_AGGREGATES = 50  # Product + ProductKeyReservation pairs per save(): 100 events
EVENTS_PER_FILING = 3  # ProductFiled + a key reservation under each of key rules v1 and v2


@dataclass(frozen=True, slots=True)
class Sizes:
    rounds: int
    filings_per_round: int  # single: file_product commands per round, all threads together
    saves_per_round: int  # batch: save() calls of 100 events per round, all threads together


DEFAULT_SIZES = Sizes(rounds=7, filings_per_round=160, saves_per_round=16)
FULL_SIZES = Sizes(rounds=9, filings_per_round=1000, saves_per_round=80)


@dataclass(frozen=True, slots=True)
class Configuration:
    backend: str
    threads: int
    workload: str

    @property
    def label(self) -> str:
        return f"{self.backend}/{self.threads}t/{self.workload}"


@dataclass(frozen=True, slots=True)
class Result:
    configuration: Configuration
    events_per_round: int
    signed: list[float]
    unsigned: list[float]

    @property
    def ratio(self) -> float:
        return median(self.signed) / median(self.unsigned)


class Workload(Protocol):
    def run(self, label: str, amount: int, threads: int) -> float:
        """Run ``amount`` units of work spread over ``threads``; events per second."""


def _shares(amount: int, threads: int) -> list[int]:
    """Split ``amount`` units of work as evenly as possible over ``threads``."""
    return [amount // threads + (index < amount % threads) for index in range(threads)]


def _model(tag: str, label: str, thread: int, number: int) -> str:
    """A model name whose canonical key (punctuation dropped) is unique in the store."""
    return f"{tag}-{label}-{thread:02d}-{number:06d}"


class SingleFilings:
    """``file_product`` commands, one approved filer per thread (set up here, untimed)."""

    def __init__(
        self, ledger: SignedPatentLedger, tag: str, first_serial: int, threads: int
    ) -> None:
        self.ledger = ledger
        self.tag = tag
        self.codes = [uscc(first_serial + index) for index in range(threads)]
        self.filer_ids = [approved_filer(ledger, code) for code in self.codes]
        for filer_id in self.filer_ids:
            ledger.get_filer(filer_id)  # into the aggregate cache, verified once, untimed

    def run(self, label: str, amount: int, threads: int) -> float:
        shares = _shares(amount, threads)

        def work(index: int) -> None:
            code, filer_id = self.codes[index], self.filer_ids[index]
            for number in range(shares[index]):
                file(
                    self.ledger,
                    code,
                    filer_id,
                    name="基准测试产品",
                    model=_model(self.tag, label, index, number),
                )

        return EVENTS_PER_FILING * amount / run_threads(threads, work)


class BatchSaves:
    """``save()`` of 50 new filings and their 50 key reservations: 100 events per call."""

    def __init__(self, ledger: SignedPatentLedger, tag: str, first_serial: int) -> None:
        self.ledger = ledger
        self.tag = tag
        self.code = uscc(first_serial)
        self.actor = filer_actor(self.code).as_record()
        self.patents = [PatentDeclaration.parse(patent(1), "owner").as_record()]
        self.figures = figures().as_record()

    def _batch(self, model_prefix: str) -> list[Product | ProductKeyReservation]:
        aggregates: list[Product | ProductKeyReservation] = []
        for number in range(BATCH_AGGREGATES):
            model = f"{model_prefix}-{number:03d}"
            key = canonical_product_key("基准测试产品", model)
            product = new_product(
                uuid4(),
                filer_id=str(filer_id_for(self.code)),
                filer_uscc=self.code,
                name="基准测试产品",
                model=model,
                variants=["白色"],
                category="03",
                finer_code=None,
                patents=self.patents,
                data_year=2022,
                figures=self.figures,
                proof_digests=["0" * 64],
                canonical_key=key,
                actor=self.actor,
            )
            reservation = ProductKeyReservation(
                canonical_key=key,
                product_id=str(product.id),
                filer_uscc=self.code,
                actor=self.actor,
            )
            aggregates += [product, reservation]
        return aggregates

    def run(self, label: str, amount: int, threads: int) -> float:
        shares = _shares(amount, threads)
        batches = [
            [self._batch(_model(self.tag, label, index, save)) for save in range(shares[index])]
            for index in range(threads)
        ]

        def work(index: int) -> None:
            for batch in batches[index]:
                self.ledger.save(*batch)

        return 2 * BATCH_AGGREGATES * amount / run_threads(threads, work)


def measure(
    configuration: Configuration,
    signed: SignedPatentLedger,
    unsigned: SignedPatentLedger,
    sizes: Sizes,
) -> Result:
    """Set up both variants (untimed), warm them up, then run the interleaved rounds."""
    threads = configuration.threads
    workloads: dict[str, Workload]
    if configuration.workload == "single":
        amount = sizes.filings_per_round
        events = EVENTS_PER_FILING * amount
        warm_up = 2 * threads
        workloads = {
            "signed": SingleFilings(signed, "S", 100, threads),
            "unsigned": SingleFilings(unsigned, "U", 200, threads),
        }
    else:
        amount = sizes.saves_per_round
        events = 2 * BATCH_AGGREGATES * amount
        warm_up = threads
        workloads = {
            "signed": BatchSaves(signed, "S", 100),
            "unsigned": BatchSaves(unsigned, "U", 200),
        }
    for workload in workloads.values():  # connections, statements, page allocation
        workload.run("warm", warm_up, threads)

    def variant(name: str) -> tuple[str, Callable[[int], float]]:
        return name, lambda round_number: workloads[name].run(f"r{round_number}", amount, threads)

    rates = interleaved_rates(sizes.rounds, [variant("signed"), variant("unsigned")])
    return Result(configuration, events, rates["signed"], rates["unsigned"])


def open_ledger_on(settings: Settings, keyring: KeyRing | None) -> SignedPatentLedger:
    """The ledger on ``settings``' store: signed with ``keyring``, unsigned without."""
    return SignedPatentLedger(settings.eventsourcing_env(), keyring)


def run_backend(
    backend: str,
    make_url: Callable[[str], str],
    work_dir: Path,
    keyring: KeyRing,
    sizes: Sizes,
) -> list[Result]:
    results = []
    for threads in THREAD_COUNTS:
        for workload in WORKLOADS:
            configuration = Configuration(backend, threads, workload)
            # Each variant on a store of its own: a filing reads the filings before it
            # (near-duplicate screening), and the signed ledger cannot read unsigned events.
            store = f"{workload}_{threads}t"
            signed = open_ledger_on(
                settings_for(work_dir / "data", make_url(f"{store}_s")), keyring
            )
            unsigned = open_ledger_on(settings_for(work_dir / "data", make_url(f"{store}_u")), None)
            try:
                result = measure(configuration, signed, unsigned, sizes)
            finally:
                signed.close()
                unsigned.close()
            print(
                f"  {configuration.label:<20} signed {median(result.signed):>8.0f} ev/s  "
                f"unsigned {median(result.unsigned):>8.0f} ev/s  ratio {result.ratio:.3f}  "
                f"(per-round signed {_rates(result.signed)}; unsigned {_rates(result.unsigned)})",
                flush=True,
            )
            results.append(result)
    return results


def _rates(values: Sequence[float]) -> str:
    return " ".join(f"{value:.0f}" for value in values)


def print_table(results: Sequence[Result]) -> None:
    print()
    print(
        f"{'backend':<9} {'threads':>7} {'workload':<8} {'events/round':>12} "
        f"{'signed ev/s':>11} {'unsigned ev/s':>13} {'ratio':>6}"
    )
    for result in results:
        configuration = result.configuration
        print(
            f"{configuration.backend:<9} {configuration.threads:>7} {configuration.workload:<8} "
            f"{result.events_per_round:>12} {median(result.signed):>11.0f} "
            f"{median(result.unsigned):>13.0f} {result.ratio:>6.3f}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.append",
        description="Events per second of signed vs unsigned appends (issue #2).",
    )
    parser.add_argument(
        "--full", action="store_true", help="bigger rounds and more of them (several minutes)"
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds per configuration")
    parser.add_argument(
        "--backend", choices=("all", *BACKENDS), default="all", help="which stores to measure"
    )
    args = parser.parse_args(argv)
    sizes = FULL_SIZES if args.full else DEFAULT_SIZES
    if args.rounds is not None:
        if args.rounds < 1:
            parser.error("--rounds: want at least 1")
        sizes = Sizes(args.rounds, sizes.filings_per_round, sizes.saves_per_round)

    started = time.perf_counter()
    print("append throughput: signed (Ed25519 SigningMapper) vs unsigned (plain Mapper)")
    print(f"machine: {machine_info().describe()}")
    print(
        f"mode: {'full' if args.full else 'default'}; {sizes.rounds} interleaved rounds; "
        f"single = {sizes.filings_per_round} file_product commands "
        f"({EVENTS_PER_FILING} events each) per round; "
        f"batch = {sizes.saves_per_round} saves of {2 * BATCH_AGGREGATES} events per round; "
        "rates are medians of per-round rates"
    )
    backends = BACKENDS if args.backend == "all" else (args.backend,)
    results: list[Result] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ppl-bench-") as temporary:
        work_dir = Path(temporary)
        keyring = load_keyring(settings_for(work_dir / "data", fresh_sqlite_url(work_dir, "keys")))
        if "sqlite" in backends:
            print("sqlite: a fresh file per configuration", flush=True)
            results += run_backend(
                "sqlite",
                lambda store: fresh_sqlite_url(work_dir, store),
                work_dir,
                keyring,
                sizes,
            )
        if "postgres" in backends:
            admin = postgres_admin_dsn()
            reason = postgres_unreachable_reason(admin)
            if reason is not None:
                print(f"postgres: not reachable at {admin} ({reason}); skipping its rows")
                skipped.append(f"postgres (4 configurations): not reachable at {admin}")
            else:
                with postgres_database(admin) as database:
                    print(
                        f"postgres: database {database.rsplit('/', 1)[1]}, a fresh schema per "
                        "configuration (dropped at the end)",
                        flush=True,
                    )
                    results += run_backend(
                        "postgres",
                        lambda store: fresh_postgres_schema(database, f"bench_{store}"),
                        work_dir,
                        keyring,
                        sizes,
                    )

    print_table(results)
    print(f"elapsed: {time.perf_counter() - started:.0f} s")
    for line in skipped:
        print(f"skipped: {line}")
    if not results:
        print("no configuration ran: no ratio to report")
        return 1
    worst = min(results, key=lambda result: result.ratio)
    met = sum(result.ratio >= TARGET for result in results)
    print(
        f"{met} of {len(results)} configurations meet the target; the ratio below is the "
        f"minimum (worst) over the {len(results)} that ran: {worst.configuration.label}"
    )
    print(f"ratio: {worst.ratio:.3f} (target {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
