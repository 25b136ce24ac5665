"""The cost curve (issue #20, part 3): what each operation costs as the log grows, on PostgreSQL.

Question: how do a filing's latency, proofs, the offline verifier, a projection rebuild and the
disk per event change from 10^4-10^5 events to 10^6 and 10^7? A design that holds up at scale
pays O(log n) or less per operation and a constant per event for whole-log passes.

**The logs** are ``bench/log_generator.py``'s: the sample's mix of events (filers registered,
verified, approved, rejected and resubmitted; filings, approvals with filing numbers,
rejections, revisions, withdrawals, disputes, conversion reports) written copy after copy,
every event signed, sequenced into the Merkle log with a checkpoint every 10,000 events and
indexed by the product index, cached as SQLite files in ``bench/results/cache/cost-curve-v1/``
(generated on first use). Each size is copied byte for byte (``COPY``: events with their
notification ids, the log's leaves, nodes and checkpoints, the product index's tables) into
its own schema of a throwaway PostgreSQL database, ``VACUUM ANALYZE``d, and opened by the
ledger with a copy of the store's keys.

**Measured**, first for each size in turn (the whole-log passes), then for all sizes together
(the latencies, with every schema still open):

* **verifier**: ``export_audit_bundle`` (as ``ppl audit export``; its time is shown apart)
  then ``verify_bundle`` with the keys pinned, all cores, every check on (the product index
  re-checked at every checkpoint): events per second of the verification alone. With
  ``--verify-prefix N`` a larger log is exported up to its latest checkpoint at or below N
  events instead (the table says so);
* **rebuild**: ``projections.runner.rebuild`` of every read model through ``rebuild_feed``, as
  ``ppl projections rebuild`` runs it (and ``bench/projections.py`` measures it): events per
  second (the median of 3 rounds below 50,000 events, one round above);
* **disk**: ``pg_total_relation_size`` of every table of the schema (heap, indexes, TOAST) ÷
  events, by part: events, the Merkle log, the product index, the read models (the active
  generation only); then a ``CHECKPOINT`` flushes what the copy and the rebuild left dirty;
* **single filings**, per size one approved filer (through the commands) and one filing to
  warm up — its time is shown apart: the ledger's near-duplicate screening reads every filing
  of the log on its first use — then ``--filings`` filings (default 500) through
  ``file_product``, as ``bench/single_filings.py`` files them, each timed alone: median and
  p99; and **proofs**, ``TransparencyLog.inclusion_proof`` (random leaf) and
  ``consistency_proof`` (random older size) at the log's size, ``PROOF_CALLS`` each after
  warm-up calls, median and p99 (each call includes its own verification, as the server
  does). Both in ``LATENCY_ROUNDS`` rounds that visit every size, the order alternating
  round by round, so the machine's noise falls on every size alike.

**The ratio**: single-filing append p99 at the largest size ÷ at the smallest, target ≤ 2:
every per-filing cost should grow at most logarithmically (a B-tree level or a proof hash more
per tenfold), so a hundredfold larger log may cost at most twice as much per filing.

Run: ``.venv/bin/python -m bench.cost_curve`` (default: 10^4 and 10^5 events, 40-58 s on a
quiet machine once the two stores are cached; generating them the first time takes 20-70 s more) or
``--full`` (10^5, 10^6 and 10^7; 10^7 takes about half an hour to generate and the better part
of an hour to copy and measure, with tens of GB of disk: docs/benchmarks.md) or ``--sizes
1e5,1e6`` (any sizes). ``--passes-upto 1e6`` leaves the verifier and the rebuild out above that
size (their memory grows with the log: the verifier keeps every Merkle node, a rebuild every
row until its end; ``--full`` stops them at 10^6 unless ``--passes-upto 0``), ``--verify-prefix
1e6`` verifies a prefix instead.
``--plot docs/cost-curve.png`` draws the figure (matplotlib, the ``bench`` extra); ``--replot
RESULTS.json --plot ...`` draws a saved run again. Every run saves its figures in
``bench/results/cost-curve-<time>.json``. The last line is ``ratio: <single-filing p99 at the
largest size / at the smallest> (target 2.0)``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from api.bootstrap import (
    SignedPatentLedger,
    export_audit_bundle,
    open_ledger,
    open_projection_store,
    open_transparency_log,
    rebuild_feed,
)
from api.settings import Settings
from audit.log.transparency_log import TransparencyLog
from audit.offline import event_signature
from audit.offline.event_signature import SEAL_CHUNK
from audit.offline.keys import KeyManifest
from audit.offline.note import NoteVerifier
from audit.offline.verifier import verify_bundle
from bench.common import (
    fresh_postgres_schema,
    machine_info,
    postgres_admin_dsn,
    postgres_database,
    postgres_unreachable_reason,
    settings_for,
)
from bench.log_generator import DEFAULT_CACHE, GeneratedStore, Progress, ensure_store
from bench.projections import copy_rows
from domain.declarations import PatentDeclaration
from domain.errors import DomainError
from projections.catalog import models
from projections.runner import rebuild
from tests.domain.factories import approved_filer, file, own_patent, uscc

if TYPE_CHECKING:
    from matplotlib.axes import Axes

TARGET = 2.0
DEFAULT_SIZES = (10**4, 10**5)
FULL_SIZES = (10**5, 10**6, 10**7)
FULL_PASSES_UPTO = 10**6  # --full: verifier and rebuild up to 10^6 (memory: see the docstring)
DEFAULT_FILINGS = 500
PROOF_CALLS = 200
PROOF_WARM_UP = 20
LATENCY_ROUNDS = 10  # filings and proofs: rounds over all sizes, the order alternating
REBUILD_ROUNDS_BELOW = 50_000  # smaller logs: the median of 3 rebuilds; larger: one
EVENTS_TABLE_SOURCE = "stored_events"
RESULTS = Path(__file__).resolve().parent / "results"
BENCH_USCC_SERIAL = 987_000_000  # the benchmark filer's USCC serial (tests.domain.factories)


# --- the store on PostgreSQL --------------------------------------------------------------------
@dataclass
class PostgresStore:
    """A generated store copied into one PostgreSQL schema, opened as the ledger opens it."""

    settings: Settings
    ledger: SignedPatentLedger
    log: TransparencyLog
    schema: str
    conninfo: str

    def close(self) -> None:
        self.log.store.close()
        self.ledger.close()


def _sqlite_tables(source: sqlite3.Connection) -> list[str]:
    rows = source.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    return [name for (name,) in rows]


def copy_into_postgres(
    store: GeneratedStore, conninfo: str, schema: str, events_table: str
) -> None:
    """COPY every table of the generated SQLite store into the schema's tables (which the
    ledger and the log created, empty): events with their notification ids (SQLite's rowid),
    the log's and the product index's rows as stored; then the notification sequence and
    ``VACUUM ANALYZE``."""
    source = sqlite3.connect(f"{store.database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        with psycopg.connect(conninfo) as target:
            target.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            for table in _sqlite_tables(source):
                if table == EVENTS_TABLE_SOURCE:
                    columns = ["notification_id", "originator_id", "originator_version", "topic",
                               "state"]  # fmt: skip
                    query = (
                        "SELECT rowid, originator_id, originator_version, topic, state "
                        "FROM stored_events ORDER BY rowid"
                    )
                    copied = copy_rows(source, target, events_table, columns, query, ())
                    if copied != store.events:
                        raise RuntimeError(f"copied {copied} events, want {store.events}")
                    continue
                columns = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
                target.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
                listed = ", ".join(f'"{column}"' for column in columns)
                query = f'SELECT {listed} FROM "{table}" ORDER BY rowid'  # noqa: S608 (its own)
                copy_rows(source, target, table, columns, query, ())
            target.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)",
                (f"{schema}.{events_table}", store.events),
            )
            target.commit()
            target.autocommit = True
            target.execute("VACUUM ANALYZE")
    finally:
        source.close()


@contextmanager
def postgres_store(store: GeneratedStore, database: str, schema: str) -> Iterator[PostgresStore]:
    """The generated store copied into ``schema`` (created here, dropped on exit), opened with
    a copy of its keys."""
    url = fresh_postgres_schema(database, schema)
    with tempfile.TemporaryDirectory(prefix="ppl-cost-curve-") as data_dir:
        shutil.copytree(store.key_dir, Path(data_dir) / "keys")
        settings = settings_for(Path(data_dir), url)
        conninfo, _ = settings.postgres_location()
        ledger = open_ledger(settings)  # creates the tables
        log = open_transparency_log(ledger, settings)
        events_table = str(getattr(ledger.recorder, "events_table_name", "patentledger_events"))
        log.store.close()
        ledger.close()
        try:
            copy_into_postgres(store, conninfo, schema, events_table)
            ledger = open_ledger(settings)  # opened afresh on the copied rows
            log = open_transparency_log(ledger, settings)
            opened = PostgresStore(settings, ledger, log, schema, conninfo)
            try:
                yield opened
            finally:
                opened.close()
        finally:
            with psycopg.connect(database, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


# --- the measurements ---------------------------------------------------------------------------
def _p99(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def disk_bytes(store: PostgresStore) -> dict[str, int]:
    """``pg_total_relation_size`` of each table of the schema (heap, indexes, TOAST)."""
    with psycopg.connect(store.conninfo) as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
            (store.schema,),
        ).fetchall()
    return {str(name): int(size) for name, size in rows}


def grouped(sizes: dict[str, int]) -> dict[str, int]:
    """Table sizes by part: events, the Merkle log, the product index, the read models."""
    groups = {"events": 0, "log": 0, "index": 0, "read models": 0}
    for table, size in sizes.items():
        if table.endswith("_events") and not table.startswith("ppl_"):
            groups["events"] += size
        elif table.startswith("ppl_log_"):
            groups["log"] += size
        elif table.startswith("ppl_index_"):
            groups["index"] += size
        else:
            groups["read models"] += size
    return groups


@dataclass(frozen=True, slots=True)
class Latency:
    p50_ms: float
    p99_ms: float
    calls: int

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        return cls(statistics.median(seconds) * 1e3, _p99(seconds) * 1e3, len(seconds))


def time_proofs(
    log: TransparencyLog, rng: random.Random, calls: int
) -> tuple[list[float], list[float]]:
    """Seconds of ``calls`` inclusion proofs (random leaf) and consistency proofs (random
    older size) at the log's size: (inclusion, consistency)."""
    size = log.size()
    inclusion: list[float] = []
    consistency: list[float] = []
    for _ in range(calls):
        index, older = rng.randrange(size), rng.randrange(1, size)
        started = time.perf_counter()
        log.inclusion_proof(index, size)
        middle = time.perf_counter()
        log.consistency_proof(older, size)
        inclusion.append(middle - started)
        consistency.append(time.perf_counter() - middle)
    return inclusion, consistency


@dataclass(frozen=True, slots=True)
class Verified:
    events: int
    export_seconds: float
    verify_seconds: float
    prefix: bool  # a prefix of the log (--verify-prefix), not all of it

    @property
    def rate(self) -> float:
        return self.events / self.verify_seconds


def verifier_rate(store: PostgresStore, work_dir: Path, prefix: int | None) -> Verified:
    """Export (as ``ppl audit export``, up to a checkpoint at or below ``prefix`` if given)
    and ``verify_bundle`` with the keys pinned; the bundle is deleted after."""
    log = store.log
    upto = None
    if prefix is not None and prefix < log.size():
        upto = max((r for r in log.store.checkpoints() if r.tree_size <= prefix),
                   key=lambda r: r.tree_size)  # fmt: skip
    bundle = work_dir / f"{store.schema}.bundle.jsonl"
    started = time.perf_counter()
    if upto is None:
        export_audit_bundle(store.ledger, log, store.settings, bundle)
    else:  # export_audit_bundle exports the latest; the same call with an earlier end
        from audit.log.bundle_export import export_bundle  # noqa: PLC0415 (this branch only)

        export_bundle(
            bundle,
            store=log.store,
            origin=log.origin,
            log_key=log.signer.verifier_key_string(),
            event_keys=KeyManifest.load(store.settings.public_keys_file).to_json(),
            read_notifications=lambda start, limit: store.ledger.recorder.select_notifications(
                start=start, limit=limit
            ),
            exported_at=datetime.now(tz=UTC),
            upto=upto,
            index_notes=(list(log.index.store.notes(upto.tree_size).values()) if log.index else []),
        )
    exported = time.perf_counter() - started
    event_signature._verify_signature.cache_clear()  # nothing verified before counts
    try:
        started = time.perf_counter()
        report = verify_bundle(
            bundle,
            event_keys=KeyManifest.load(store.settings.public_keys_file),
            log_key=NoteVerifier.from_verifier_key_string(log.signer.verifier_key_string()),
        )
        seconds = time.perf_counter() - started
    finally:
        bundle.unlink(missing_ok=True)
    return Verified(report.events, exported, seconds, upto is not None)


def rebuild_rates(store: PostgresStore, rounds: int) -> list[float]:
    """Events per second of ``rebuild`` of every read model, as ``ppl projections rebuild``."""
    projections = open_projection_store(store.settings)
    rates = []
    try:
        for _ in range(rounds):
            event_signature._verify_signature.cache_clear()
            started = time.perf_counter()
            result = rebuild(projections, models(), rebuild_feed(store.ledger, store.log))
            rates.append(result.events / (time.perf_counter() - started))
        for model in models():  # a rebuild keeps the generation it replaced: not counted
            projections.drop_older(model.name, keep=1)
    finally:
        projections.db.close()
    return rates


@dataclass(frozen=True, slots=True)
class Filings:
    first_seconds: float  # the warm-up filing: the screening index reads every filing
    latency: Latency


def flush_writes(store: PostgresStore) -> None:
    """``CHECKPOINT``: the copy and the rebuild left up to gigabytes of dirty pages, whose
    flushing would otherwise stall the filings' commits (a p99 of the bulk load, not of the
    log's size)."""
    with psycopg.connect(store.conninfo, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


class BenchFiler:
    """One approved filer of the benchmark on a store, filing products one at a time."""

    def __init__(self, store: PostgresStore) -> None:
        self.ledger = store.ledger
        for serial in range(BENCH_USCC_SERIAL, BENCH_USCC_SERIAL + 100):
            code = uscc(serial)
            try:
                self.filer_id = approved_filer(self.ledger, code)
                break
            except DomainError:  # a generated filer has this USCC: take the next one
                continue
        else:
            raise RuntimeError("no free USCC for the benchmark filer")
        self.code = code
        self.patents = [PatentDeclaration.parse(own_patent(self.filer_id), "owner")]
        self.filed = 0

    def file_one(self) -> float:
        """Seconds of one ``file_product`` (a new model each time)."""
        model = f"COST-CURVE-{self.filed:05d}"
        self.filed += 1
        started = time.perf_counter()
        file(self.ledger, self.code, self.filer_id, name="基准测试产品", model=model,
             patents=self.patents)  # fmt: skip
        return time.perf_counter() - started


# --- one size -----------------------------------------------------------------------------------
@dataclass
class SizeResult:
    events: int
    generated_rate: float  # the generator's events/s when this store was made
    copy_seconds: float
    disk: dict[str, int] = field(default_factory=dict)  # by part, after the rebuild
    inclusion: Latency | None = None
    consistency: Latency | None = None
    verified: Verified | None = None
    rebuild: list[float] = field(default_factory=list)
    filings: Filings | None = None
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average around the passes
    latency_load: tuple[float, float] = (0.0, 0.0)  # and around the interleaved latencies

    @property
    def bytes_per_event(self) -> float:
        return sum(self.disk.values()) / self.events

    def ledger_bytes_per_event(self) -> float:
        return sum(v for k, v in self.disk.items() if k != "read models") / self.events


def measure_passes(
    store: GeneratedStore, pg: PostgresStore, result: SizeResult, work_dir: Path,
    prefix: int | None, *, passes: bool,
) -> None:  # fmt: skip
    """The whole-log measurements of one size: verifier, rebuild, disk (``passes`` false: the
    disk only)."""
    if passes:
        result.verified = verifier_rate(pg, work_dir, prefix)
        print(f"  verified {result.verified.events:,} events in "
              f"{result.verified.verify_seconds:.0f} s", flush=True)  # fmt: skip
        rounds = 3 if store.events < REBUILD_ROUNDS_BELOW else 1
        result.rebuild = rebuild_rates(pg, rounds)
    result.disk = grouped(disk_bytes(pg))
    flush_writes(pg)


def measure_latencies(
    stores: Sequence[PostgresStore], results: Sequence[SizeResult], filings: int
) -> None:
    """Filings and proofs at every size, interleaved: ``LATENCY_ROUNDS`` rounds, each a share
    of the filings and proofs at every size, the order of the sizes alternating round by
    round (bench.common.interleaved_rates' rule), so the machine's noise falls on all sizes
    alike. First, per size, the filer and the warm-up filing (timed: the first filing of a
    process reads every filing of the log for screening) and warm-up proofs."""
    filers = []
    for pg, result in zip(stores, results, strict=True):
        filer = BenchFiler(pg)
        result.filings = Filings(filer.file_one(), Latency(0, 0, 0))
        time_proofs(pg.log, random.Random(0), PROOF_WARM_UP)
        filers.append(filer)
    seconds: list[list[float]] = [[] for _ in stores]
    inclusion: list[list[float]] = [[] for _ in stores]
    consistency: list[list[float]] = [[] for _ in stores]
    rngs = [random.Random(result.events) for result in results]
    order = list(range(len(stores)))
    for number in range(LATENCY_ROUNDS):
        for size in order if number % 2 == 0 else reversed(order):
            share = filings // LATENCY_ROUNDS + (number < filings % LATENCY_ROUNDS)
            seconds[size] += [filers[size].file_one() for _ in range(share)]
            calls = PROOF_CALLS // LATENCY_ROUNDS
            done = time_proofs(stores[size].log, rngs[size], calls)
            inclusion[size] += done[0]
            consistency[size] += done[1]
    for size, result in enumerate(results):
        first = result.filings.first_seconds if result.filings else 0.0
        result.filings = Filings(first, Latency.of(seconds[size]))
        result.inclusion = Latency.of(inclusion[size])
        result.consistency = Latency.of(consistency[size])


def measure(
    stores: Sequence[GeneratedStore], database: str, work_dir: Path, filings: int,
    prefix: int | None, passes_upto: int | None = None,
) -> list[SizeResult]:  # fmt: skip
    """Every size copied into its own schema and its whole-log passes measured, one size after
    the other; then the latencies of all sizes, interleaved (every schema still open)."""
    results = []
    with ExitStack() as opened:
        copies = []
        for store in stores:
            print(f"size {store.events:,}:", flush=True)
            load = os.getloadavg()[0]
            started = time.perf_counter()
            pg = opened.enter_context(postgres_store(store, database, f"size_{store.events}"))
            result = SizeResult(store.events, store.rate, time.perf_counter() - started)
            print(f"  copied into PostgreSQL in {result.copy_seconds:.0f} s", flush=True)
            # a store of N events ends at the first save boundary at or after N: a few more
            passes = passes_upto is None or store.events <= passes_upto + SEAL_CHUNK
            measure_passes(store, pg, result, work_dir, prefix, passes=passes)
            result.load = (load, os.getloadavg()[0])
            copies.append(pg)
            results.append(result)
        print(f"latencies, {LATENCY_ROUNDS} interleaved rounds:", flush=True)
        load = os.getloadavg()[0]
        measure_latencies(copies, results, filings)
        for result in results:
            result.latency_load = (load, os.getloadavg()[0])
    return results


# --- report -------------------------------------------------------------------------------------
def _size_label(events: int) -> str:
    return f"{events:,}"


def table_rows(results: Sequence[SizeResult]) -> list[tuple[str, list[str]]]:
    def each(fmt: Any) -> list[str]:
        return [fmt(r) for r in results]

    def latency(part: str, kind: str) -> Any:
        def get(r: SizeResult) -> str:
            value: Latency | None = getattr(r, part)
            if part == "filings":
                value = r.filings.latency if r.filings else None
            return "-" if value is None else f"{getattr(value, kind):.2f}"

        return get

    return [
        ("events", each(lambda r: _size_label(r.events))),
        ("single filing p50 (ms)", each(latency("filings", "p50_ms"))),
        ("single filing p99 (ms)", each(latency("filings", "p99_ms"))),
        ("first filing: screening reads the log (s)",
         each(lambda r: f"{r.filings.first_seconds:.2f}" if r.filings else "-")),
        ("inclusion proof p50 (ms)", each(latency("inclusion", "p50_ms"))),
        ("inclusion proof p99 (ms)", each(latency("inclusion", "p99_ms"))),
        ("consistency proof p50 (ms)", each(latency("consistency", "p50_ms"))),
        ("consistency proof p99 (ms)", each(latency("consistency", "p99_ms"))),
        ("verifier (events/s)", each(lambda r: f"{r.verified.rate:,.0f}" if r.verified else "-")),
        ("  events verified", each(lambda r: (
            f"{r.verified.events:,}{' (prefix)' if r.verified.prefix else ''}"
            if r.verified else "-"))),
        ("  export (s)", each(lambda r: f"{r.verified.export_seconds:.1f}" if r.verified else "-")),
        ("rebuild (events/s, median)",
         each(lambda r: f"{statistics.median(r.rebuild):,.0f}" if r.rebuild else "-")),
        ("disk: events (bytes/event)", each(lambda r: f"{r.disk['events'] / r.events:.0f}")),
        ("disk: Merkle log (bytes/event)", each(lambda r: f"{r.disk['log'] / r.events:.0f}")),
        ("disk: product index (bytes/event)", each(lambda r: f"{r.disk['index'] / r.events:.0f}")),
        ("disk: read models (bytes/event)",
         each(lambda r: f"{r.disk['read models'] / r.events:.0f}" if r.rebuild else "-")),
        ("disk: events + log + index (bytes/event)",
         each(lambda r: f"{r.ledger_bytes_per_event():.0f}")),
        ("disk: total (bytes/event)",
         each(lambda r: f"{r.bytes_per_event:.0f}" if r.rebuild else "-")),
        ("copy into PostgreSQL (s)", each(lambda r: f"{r.copy_seconds:.0f}")),
        ("generator (events/s, when cached)", each(lambda r: f"{r.generated_rate:,.0f}")),
        ("load average around the passes", each(lambda r: f"{r.load[0]:.1f} / {r.load[1]:.1f}")),
        ("load average around the latencies",
         each(lambda r: f"{r.latency_load[0]:.1f} / {r.latency_load[1]:.1f}")),
    ]  # fmt: skip


def print_table(results: Sequence[SizeResult]) -> None:
    rows = table_rows(results)
    width = max(len(label) for label, _ in rows)
    cells = max(len(cell) for _, values in rows for cell in values)
    print()
    for label, values in rows:
        print(f"{label:<{width}}  " + "  ".join(f"{cell:>{cells}}" for cell in values))


def ratio(results: Sequence[SizeResult]) -> float:
    first, last = results[0].filings, results[-1].filings
    if first is None or last is None:
        raise RuntimeError("no filing latencies measured")
    return last.latency.p99_ms / first.latency.p99_ms


def save_results(results: Sequence[SizeResult], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"machine": machine_info().describe(), "sizes": [asdict(r) for r in results]}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def load_results(path: Path) -> list[SizeResult]:
    document = json.loads(path.read_text(encoding="utf-8"))
    results = []
    for raw in document["sizes"]:
        verified = raw.pop("verified")
        filings = raw.pop("filings")
        inclusion, consistency = raw.pop("inclusion"), raw.pop("consistency")
        loads = {key: tuple(raw[key]) for key in ("load", "latency_load") if key in raw}
        result = SizeResult(**{**raw, **loads})
        result.verified = Verified(**verified) if verified else None
        result.filings = (
            Filings(filings["first_seconds"], Latency(**filings["latency"])) if filings else None
        )
        result.inclusion = Latency(**inclusion) if inclusion else None
        result.consistency = Latency(**consistency) if consistency else None
        results.append(result)
    return results


def plot(results: Sequence[SizeResult], out: Path, note: str = "") -> None:
    """The curve: each metric against the log's size, x on a log scale (matplotlib)."""
    import matplotlib  # noqa: PLC0415 (the bench extra; only when plotting)

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    figure, axes = pyplot.subplots(2, 3, figsize=(15, 8), constrained_layout=True)
    _plot_latencies(results, *axes[0])
    _plot_passes(results, *axes[1])
    for axis in (*axes[0], *axes[1]):
        axis.set_xscale("log")
        axis.set_xlabel("events in the log")
        if axis.get_yscale() == "linear":
            axis.set_ylim(bottom=0)
        axis.grid(visible=True, which="both", alpha=0.3)
        axis.legend(fontsize="small")
    title = "Cost curve on PostgreSQL (bench/cost_curve.py, issue #20)"
    figure.suptitle(f"{title}\n{note}" if note else title)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=90)
    pyplot.close(figure)


def _plot_latencies(
    results: Sequence[SizeResult], latency: Axes, proofs: Axes, first: Axes
) -> None:
    sizes = [r.events for r in results]
    filings = [r.filings for r in results if r.filings is not None]
    if len(filings) == len(results):
        latency.plot(sizes, [f.latency.p50_ms for f in filings], "o-", label="p50")
        latency.plot(sizes, [f.latency.p99_ms for f in filings], "s--", label="p99")
        first.plot(sizes, [f.first_seconds for f in filings], "o-", color="tab:red",
                   label="first filing of a process")  # fmt: skip
    latency.set_title("single filing (file_product): latency")
    latency.set_ylabel("ms")
    first.set_title("first filing: screening reads every filing")
    first.set_ylabel("s")
    first.set_yscale("log")
    for name, style in (("inclusion", "o"), ("consistency", "s")):
        values = [getattr(r, name) for r in results]
        if all(values):
            proofs.plot(sizes, [v.p50_ms for v in values], f"{style}-", label=f"{name} p50")
            proofs.plot(sizes, [v.p99_ms for v in values], f"{style}:", label=f"{name} p99")
    proofs.set_title("proofs (TransparencyLog): latency")
    proofs.set_ylabel("ms")


def _plot_passes(results: Sequence[SizeResult], rates: Axes, passes: Axes, disk: Axes) -> None:
    sizes = [r.events for r in results]
    checked = [(r.events, r.verified) for r in results if r.verified is not None]
    if checked:  # the sizes measured with --passes-upto
        at = [events for events, _ in checked]
        rates.plot(at, [v.rate for _, v in checked], "o-", label="offline verifier")
        passes.plot(at, [v.verify_seconds for _, v in checked], "o-", label="verify_bundle")
        passes.plot(at, [v.export_seconds for _, v in checked], "^-", label="export")
    rebuilt = [statistics.median(r.rebuild) if r.rebuild else float("nan") for r in results]
    rates.plot(sizes, rebuilt, "s-", label="projection rebuild")
    rates.set_title("whole-log passes: throughput")
    rates.set_ylabel("events/s")
    passes.plot(sizes, [r.events / rate for r, rate in zip(results, rebuilt, strict=True)], "s-",
                label="rebuild")  # fmt: skip
    passes.plot(sizes, [r.copy_seconds for r in results], "d-", label="COPY into PostgreSQL")
    passes.set_title("whole-log passes: time")
    passes.set_ylabel("s")
    passes.set_yscale("log")
    for part, style in (("events", "o-"), ("log", "s-"), ("index", "^-")):
        disk.plot(sizes, [r.disk[part] / r.events for r in results], style, label=part)
    disk.plot(sizes, [r.ledger_bytes_per_event() for r in results], "kx--",
              label="events + log + index")  # fmt: skip
    rebuilt_at = [r for r in results if r.rebuild]  # read models exist where rebuilt
    at = [r.events for r in rebuilt_at]
    disk.plot(at, [r.disk["read models"] / r.events for r in rebuilt_at], "d-",
              label="read models")  # fmt: skip
    disk.plot(at, [r.bytes_per_event for r in rebuilt_at], "k*-", label="total")
    disk.set_title("PostgreSQL disk per event (tables + indexes)")
    disk.set_ylabel("bytes/event")


# --- main ---------------------------------------------------------------------------------------
def parse_sizes(text: str) -> tuple[int, ...]:
    """``1e5,1e6`` -> (100000, 1000000), in increasing order."""
    sizes = sorted({int(float(part)) for part in text.split(",") if part.strip()})
    if not sizes or sizes[0] < 1_000:
        raise argparse.ArgumentTypeError(f"sizes {text!r}: want sizes of at least 1,000 events")
    return tuple(sizes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cost_curve",
        description="What each operation costs as the log grows, on PostgreSQL (issue #20).",
    )
    parser.add_argument("--full", action="store_true", help="sizes 1e5,1e6,1e7")
    parser.add_argument("--sizes", type=parse_sizes, help="e.g. 1e5,1e6 (overrides --full)")
    parser.add_argument("--filings", type=int, default=DEFAULT_FILINGS)
    parser.add_argument("--verify-prefix", type=float, help="verify at most this many events")
    parser.add_argument(
        "--passes-upto",
        type=float,
        help="verify and rebuild only the sizes up to this many events (their memory grows "
        "with the log); larger sizes get disk, proofs and filings only (--full: 1e6, 0: all)",
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--plot", type=Path, help="draw the curve into this PNG")
    parser.add_argument("--replot", type=Path, help="plot a saved run instead of measuring")
    parser.add_argument("--note", default="", help="a second title line for the plot")
    args = parser.parse_args(argv)
    if args.replot is not None:
        if args.plot is None:
            parser.error("--replot needs --plot")
        plot(load_results(args.replot), args.plot, args.note)
        return 0
    sizes = args.sizes or (FULL_SIZES if args.full else DEFAULT_SIZES)
    if args.filings < 100:
        parser.error("--filings: want at least 100 (a p99 of fewer is one filing)")
    admin = postgres_admin_dsn()
    reason = postgres_unreachable_reason(admin)
    if reason is not None:
        print(f"postgres: not reachable at {admin} ({reason}); nothing to measure")
        return 1
    cache: Path = args.cache_dir.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    prefix = None if args.verify_prefix is None else int(args.verify_prefix)

    started = time.perf_counter()
    print("cost curve: per-operation costs against the log's size, PostgreSQL")
    print(f"machine: {machine_info().describe()}; load average {os.getloadavg()[0]:.1f}")
    print(f"sizes: {', '.join(f'{s:,}' for s in sizes)}; {args.filings} filings per size; "
          f"cache {cache}", flush=True)  # fmt: skip
    stores = []
    for size in sizes:
        stores.append(
            ensure_store(cache, size, progress=Progress(label=f"  generating {size:,}: "))
        )
    with postgres_database(admin) as database, tempfile.TemporaryDirectory(dir=cache) as work:
        passes_upto = args.passes_upto
        if passes_upto is None and args.full and args.sizes is None:
            passes_upto = FULL_PASSES_UPTO
        passes_upto = int(passes_upto) if passes_upto else None
        results = measure(stores, database, Path(work), args.filings, prefix, passes_upto)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    saved = RESULTS / f"cost-curve-{stamp}.json"
    save_results(results, saved)
    print_table(results)
    if args.plot is not None:
        plot(results, args.plot, args.note)
        print(f"plot: {args.plot}")
    print(f"results: {saved}")
    print(f"elapsed: {time.perf_counter() - started:.0f} s")
    print(f"ratio: {ratio(results):.2f} (target {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
