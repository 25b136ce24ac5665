"""Projection rebuild throughput on PostgreSQL, against the raw read rate of the same events.

Question (issue #4): how many events per second does a rebuild of every read model
(``projections.runner.rebuild`` through a ``CheckpointVerifiedFeed``) get through on a log of at
least 200,000 events on PostgreSQL, against the rate at which the store hands out those events
undecoded (``ledger.recorder.select_notifications`` in batches) — the limit no rebuild can pass,
measured in the same run? Target: rebuild events/s >= 0.25 x raw read events/s (issue #20, part 4;
issue #4 asked for 0.1, met on 2026-11-21).

**The log** is the audit benchmark's cached signed store (``bench/audit.py``: the sample of
``domain.sample.load_sample`` loaded through the ledger's commands, seed after seed, sequenced
with a checkpoint per 1,000 events and one at every seed boundary; cached in
``bench/results/cache/audit-v1/``, generated on first use). Its rows are copied byte for byte
(``COPY``) into a throwaway PostgreSQL database: the first N events (default: the 5 seeds of
the default bundle, 27,611 events; ``--full``: 37 seeds, 204,669 events) with their
notification ids, and the log tables (``ppl_log_leaves``, ``ppl_log_nodes``,
``ppl_log_checkpoints``, ``ppl_log_position``) up to the latest checkpoint at least
``--unsequenced`` events (default 1,000) before the end — as on a live ledger whose newest
events the sequencer has not integrated yet. So the rebuild trusts a prefix through the signed
checkpoint (leaf hashes recomputed and folded into the signed root) and checks the tail by
signature; the split is printed. The ledger opens the copy with a copy of the cached store's
key files, so every signature and the checkpoint verify as they did on the original.

**Measured**, in interleaved rounds (``bench.common.interleaved_rates``), each from a cold
signature cache (``audit.offline.event_signature``):

* ``raw read`` — every event, ``select_notifications`` in batches of 2,000 (the rebuild's
  batch): the baseline;
* ``rebuild`` — ``rebuild(store, models(), rebuild_feed(ledger, log))`` as
  ``ppl projections rebuild`` runs it: new generations of the five read models in the ledger's
  schema, written once at the end and switched over;
* ``follower`` — for comparison, ``ProjectionRunner.catch_up`` (every event's signature
  verified by the mapper, batches of 500, a commit per model per batch) from an empty
  projection store in a schema of its own, over the first ``--follower-events`` events.

Rates are medians of the rounds; the ratio is rebuild median / raw read median.
``--gc-compare`` adds rounds of the rebuild with Python's garbage collector disabled (an
experiment, not in the ratio).

**Where the time goes** (not part of the ratio): one more rebuild with a clock around each
stage — store read, the feed's work on what was read, each model's handlers, writes (creating
the generations and the commits) — and around Python's garbage collections
(``gc.callbacks``), attributed to the stage they interrupt; then each step of the feed timed
on its own over every event (``parse_envelope``, ``Mapper.to_domain_event`` and, apart,
``orjson.loads``, ``from_canonical_tree``, ``parse_timestamp``; ``log_leaf_hash``; the
signature path on the events past the checkpoint). ``--profile`` adds a cProfile of one
rebuild.

Run: ``.venv/bin/python -m bench.projections`` (27,611 events; under a minute once the audit
cache exists) or ``--full`` (204,669 events). PostgreSQL: a database ``ppl_bench_<pid>`` is
created through ``PPL_BENCH_POSTGRES_ADMIN`` (default
postgresql://postgres@127.0.0.1:5432/postgres) and dropped at the end. The last line is
``ratio: <rebuild events/s / raw read events/s> (target 0.25)``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import psycopg
from eventsourcing.persistence import Mapper, Notification, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql

from api.bootstrap import (
    SignedPatentLedger,
    latest_verified_checkpoint,
    open_ledger,
    open_projection_runner,
    open_projection_store,
    open_transparency_log,
    rebuild_feed,
)
from api.settings import Settings
from audit.database.connections import PostgresDatabase
from audit.log.transparency_log import TransparencyLog
from audit.offline import event_signature
from audit.offline.canonical import from_canonical_tree, parse_timestamp
from audit.offline.event_signature import parse_envelope
from audit.offline.log_leaf import log_leaf_hash
from bench.audit import DEFAULT_CACHE, DEFAULT_EVENTS, FULL_EVENTS, ensure_bundle
from bench.common import (
    fresh_postgres_schema,
    interleaved_rates,
    machine_info,
    median,
    postgres_admin_dsn,
    postgres_database,
    postgres_unreachable_reason,
    settings_for,
)
from projections.catalog import models
from projections.feed import CheckpointVerifiedFeed
from projections.model import ReadModel
from projections.rows import Rows
from projections.runner import RebuildResult, rebuild
from projections.store import Position, ProjectionStore

TARGET = 0.25  # issue #20, part 4 (issue #4's was 0.1)
SAMPLE_STORE = "sample-ledger"  # bench/audit.py's signed SQLite store, inside its cache
LEDGER_SCHEMA = "ledger"
READ_BATCH = 2_000  # rebuild()'s default batch
COPY_ROWS = 10_000  # rows per fetchmany() while copying


@dataclass(frozen=True, slots=True)
class Sizes:
    rounds: int
    log_events: int  # at least this many events (a seed boundary of the cached store)
    follower_events: int


DEFAULT_SIZES = Sizes(5, DEFAULT_EVENTS, 5_000)
FULL_SIZES = Sizes(3, FULL_EVENTS, 20_000)


# --- the log on PostgreSQL ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CopiedLog:
    events: int  # events copied (notification ids 1..events)
    sequenced: int  # leaves copied = size of the latest checkpoint copied
    checkpoints: int
    seconds: float


def copy_rows(
    source: sqlite3.Connection,
    target: psycopg.Connection[Any],
    table: str,
    columns: Sequence[str],
    query: str,
    parameters: Sequence[Any],
) -> int:
    """COPY the rows of a SQLite query into a PostgreSQL table, values unchanged."""
    copied = 0
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    cursor = source.execute(query, parameters)
    with target.cursor() as pg, pg.copy(statement) as copy:
        while rows := cursor.fetchmany(COPY_ROWS):
            for row in rows:
                copy.write_row(row)
            copied += len(rows)
    return copied


def copy_log(
    source_file: Path, conninfo: str, events_table: str, events: int, unsequenced: int
) -> CopiedLog:
    """Copy the first ``events`` events and the log up to a checkpoint into PostgreSQL.

    The tables must exist (the ledger and the log store create them) and be empty. Event rows
    keep their notification id (SQLite's rowid), originator id (hex text, parsed by PostgreSQL's
    uuid input), version, topic and state bytes; log rows are copied as stored, up to the
    latest checkpoint of at most ``events - unsequenced`` leaves.
    """
    started = time.perf_counter()
    source = sqlite3.connect(f"{source_file.resolve().as_uri()}?mode=ro", uri=True)
    try:
        stored = source.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0] or 0
        if stored < events:
            raise RuntimeError(f"{source_file} holds {stored} events, want {events}")
        found = source.execute(
            "SELECT MAX(tree_size) FROM ppl_log_checkpoints WHERE tree_size <= ?",
            (events - unsequenced,),
        ).fetchone()[0]
        if not found:
            raise RuntimeError(f"{source_file}: no checkpoint at or below {events - unsequenced}")
        size = int(found)
        with psycopg.connect(conninfo) as target:
            target.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(LEDGER_SCHEMA)))
            copied = copy_rows(
                source,
                target,
                events_table,
                ("notification_id", "originator_id", "originator_version", "topic", "state"),
                "SELECT rowid, originator_id, originator_version, topic, state "
                "FROM stored_events WHERE rowid <= ? ORDER BY rowid",
                (events,),
            )
            if copied != events:
                raise RuntimeError(f"copied {copied} events, want {events}: rowid gaps?")
            target.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)",
                (f"{LEDGER_SCHEMA}.{events_table}", events),
            )
            leaf_columns = (
                "leaf_index", "notification_id", "originator_id", "originator_version",
                "leaf_hash",
            )  # fmt: skip
            copy_rows(
                source,
                target,
                "ppl_log_leaves",
                leaf_columns,
                f"SELECT {', '.join(leaf_columns)} FROM ppl_log_leaves "  # noqa: S608 (fixed names)
                "WHERE leaf_index < ? ORDER BY leaf_index",
                (size,),
            )
            copy_rows(  # the perfect subtrees that lie wholly inside the first `size` leaves
                source,
                target,
                "ppl_log_nodes",
                ("level", "node_index", "hash"),
                "SELECT level, node_index, hash FROM ppl_log_nodes "
                "WHERE ((node_index + 1) << level) <= ?",
                (size,),
            )
            checkpoints = copy_rows(
                source,
                target,
                "ppl_log_checkpoints",
                ("tree_size", "root", "signed_note", "created_at"),
                "SELECT tree_size, root, signed_note, created_at FROM ppl_log_checkpoints "
                "WHERE tree_size <= ?",
                (size,),
            )
            last_id = source.execute(
                "SELECT notification_id FROM ppl_log_leaves WHERE leaf_index = ?", (size - 1,)
            ).fetchone()[0]
            target.execute(
                "UPDATE ppl_log_position SET tree_size = %s, last_notification_id = %s",
                (size, last_id),
            )
            target.commit()
            target.autocommit = True
            target.execute("VACUUM ANALYZE")
    finally:
        source.close()
    return CopiedLog(events, size, checkpoints, time.perf_counter() - started)


@dataclass
class Bench:
    """The ledger, its log and its projection store on the copied PostgreSQL log."""

    settings: Settings
    ledger: SignedPatentLedger
    log: TransparencyLog
    store: ProjectionStore
    database_url: str

    @property
    def events_table(self) -> str:
        recorder = self.ledger.recorder
        if not isinstance(recorder, PostgresApplicationRecorder):
            raise TypeError(f"the ledger is not on PostgreSQL: {type(recorder).__name__}")
        return recorder.events_table_name

    def close(self) -> None:
        self.store.db.close()
        self.log.store.close()
        self.ledger.close()


@contextmanager
def open_bench(database_url: str, keys: Path) -> Iterator[Bench]:
    """Open the ledger on the database's ledger schema, with a copy of the cached store's keys."""
    with tempfile.TemporaryDirectory(prefix="ppl-bench-projections-") as data_dir:
        shutil.copytree(keys, Path(data_dir) / "keys")
        url = fresh_postgres_schema(database_url, LEDGER_SCHEMA)
        settings = settings_for(Path(data_dir), url)
        ledger = open_ledger(settings)
        log = open_transparency_log(ledger, settings)
        bench = Bench(settings, ledger, log, open_projection_store(settings), database_url)
        try:
            yield bench
        finally:
            bench.close()


# --- the measurements ---------------------------------------------------------------------------
def _forget_verified_signatures() -> None:
    """Empty the process's cache of verified save signatures: every round verifies its own."""
    event_signature._verify_signature.cache_clear()


def raw_read_rate(bench: Bench) -> float:
    """Events per second of reading every event, undecoded, in batches of ``READ_BATCH``."""
    read = bench.ledger.recorder.select_notifications
    events, start = 0, 1
    started = time.perf_counter()
    while batch := read(start=start, limit=READ_BATCH):
        events += len(batch)
        start = batch[-1].id + 1
    return events / (time.perf_counter() - started)


def run_rebuild(bench: Bench) -> tuple[RebuildResult, float]:
    """One full rebuild of every read model, as ``ppl projections rebuild``; (result, seconds)."""
    _forget_verified_signatures()
    started = time.perf_counter()
    result = rebuild(
        bench.store,
        models(),
        rebuild_feed(bench.ledger, bench.log),
        batch=READ_BATCH,
    )
    return result, time.perf_counter() - started


def follower_rate(bench: Bench, events: int, round_number: int) -> float:
    """Events per second of ``catch_up`` from an empty projection store (its own schema)."""
    schema = f"follower_{round_number}"
    fresh_postgres_schema(bench.database_url, schema)
    conninfo, _ = bench.settings.postgres_location()
    store = ProjectionStore(PostgresDatabase(conninfo, schema))
    runner = open_projection_runner(bench.ledger, store)
    _forget_verified_signatures()
    try:
        started = time.perf_counter()
        read = runner.catch_up(limit=events)
        elapsed = time.perf_counter() - started
    finally:
        store.db.close()
    with psycopg.connect(bench.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    return read / elapsed


@dataclass(frozen=True, slots=True)
class Split:
    """Seconds spent per stage of one stage-timed rebuild pass, and in garbage collection."""

    events: int
    seconds: dict[str, float]  # read, feed, handlers:<model>, writes
    total: float
    collections: dict[int, int]  # garbage collections by generation
    collecting: dict[str, float]  # seconds of garbage collection, by the stage it ran in

    def per_event(self, seconds: float) -> float:
        return seconds / self.events * 1e6

    @property
    def handlers(self) -> dict[str, float]:
        return {
            name.removeprefix("handlers:"): value
            for name, value in self.seconds.items()
            if name.startswith("handlers:")
        }


class _StageClock:
    """Adds wall time to the current stage, and garbage-collection time to it as well."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.collecting: dict[str, float] = {}
        self.collections = dict.fromkeys(range(3), 0)
        self.stage = "other"
        self._collection_started = 0.0

    @contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        outer, self.stage = self.stage, stage
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started
            self.stage = outer

    def on_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._collection_started = time.perf_counter()
            return
        spent = time.perf_counter() - self._collection_started
        self.collecting[self.stage] = self.collecting.get(self.stage, 0.0) + spent
        self.collections[info["generation"]] += 1


def stage_split(bench: Bench) -> Split:
    """Rebuild every model with each stage timed apart; the generations are dropped after.

    Mirrors ``projections.runner.rebuild`` (same feed, batch, flush interval and commits),
    with a clock around the store read, the feed's work on what was read, each model's
    handlers and the writes; not activated, so the served generations stay. Python's garbage
    collections (``gc.callbacks``) are timed too, by the stage they interrupt.
    """
    _forget_verified_signatures()
    store, ledger, clock = bench.store, bench.ledger, _StageClock()

    def read(start: int, limit: int) -> Sequence[Notification]:
        with clock.timing("read"):
            return ledger.recorder.select_notifications(start=start, limit=limit)

    gc.callbacks.append(clock.on_collection)
    try:
        began = time.perf_counter()
        states: list[tuple[ReadModel, Rows, Position]] = []
        with clock.timing("writes"):
            for model in models():
                generation = store.create_generation(model.name, model.tables)
                states.append((model, Rows(model.table_map, None), Position(generation, 0, 0)))
        feed = CheckpointVerifiedFeed(read, ledger.mapper, latest_verified_checkpoint(bench.log))
        after, total = 0, 0

        def commit() -> None:
            with clock.timing("writes"):
                for index, (model, rows, position) in enumerate(states):
                    new = Position(position.generation, after, total)
                    store.commit(model.name, position, new, rows.changes())
                    rows.flushed()
                    states[index] = (model, rows, new)

        while True:
            with clock.timing("feed"):
                events = feed.read(after, READ_BATCH)
            if not events:
                break
            for model, rows, _ in states:
                with clock.timing(f"handlers:{model.name}"):
                    for event in events:
                        model.apply(event, rows)
            after = events[-1].notification_id
            total += len(events)
        feed.finish()
        commit()
        elapsed = time.perf_counter() - began
    finally:
        gc.callbacks.remove(clock.on_collection)
    for model, _, position in states:
        store.drop_generation(model.name, position.generation, [t.name for t in model.tables])
    seconds = dict(clock.seconds)
    seconds["feed"] -= seconds.get("read", 0.0)  # the reads ran inside feed.read()
    collecting = dict(clock.collecting)
    if "read" in collecting:
        collecting["feed"] = collecting.get("feed", 0.0) - collecting["read"]
    return Split(total, seconds, elapsed, clock.collections, collecting)


@dataclass(frozen=True, slots=True)
class FeedCosts:
    """Microseconds per event of the feed's steps, each timed on its own over the whole log."""

    envelope: float  # audit.offline.event_signature.parse_envelope
    mapper: float  # Mapper.to_domain_event on the envelope's state: JSON, revive, event object
    json: float  # of which orjson.loads, timed alone
    revive: float  # of which audit.offline.canonical.from_canonical_tree, timed alone
    timestamps: float  # of which audit.offline.canonical.parse_timestamp, timed alone
    leaf_hash: float  # audit.offline.log_leaf.log_leaf_hash
    signature_path: float  # SigningMapper.to_domain_event past the checkpoint, cold cache
    events: int
    signature_events: int

    @property
    def checkpoint_path(self) -> float:
        """Envelope, decode and leaf hash of an event under the checkpoint."""
        return self.envelope + self.mapper + self.leaf_hash

    @property
    def per_log_event(self) -> float:
        """The steps above, weighted by how many events take each path."""
        covered = self.events - self.signature_events
        return (
            covered * self.checkpoint_path
            + self.signature_events * (self.signature_path + self.leaf_hash)
        ) / self.events


def _typed_timestamps(tree: Any) -> Iterator[str]:
    """The canonical timestamp strings inside a decoded state."""
    if isinstance(tree, dict):
        if tree.get("_type_") == "datetime_iso":
            yield tree["_data_"]
            return
        for item in tree.values():
            yield from _typed_timestamps(item)
    elif isinstance(tree, list):
        for item in tree:
            yield from _typed_timestamps(item)


def feed_costs(bench: Bench, checkpoint_size: int) -> FeedCosts:
    """Time each step of turning stored events into domain events, one step at a time.

    Every event goes through every step (the checkpoint path's decode); the signature path is
    timed on the events past the checkpoint, with an empty signature cache.
    """
    ledger = bench.ledger
    read = ledger.recorder.select_notifications
    seconds = dict.fromkeys(
        ("envelope", "json", "revive", "timestamps", "mapper", "leaf_hash", "signature"), 0.0
    )
    events = signature_events = 0
    _forget_verified_signatures()
    mark = 0.0

    def lap(step: str) -> None:
        """Add the time since the last lap (or mark) to ``step``."""
        nonlocal mark
        now = time.perf_counter()
        seconds[step] += now - mark
        mark = now

    start = 1
    while batch := read(start=start, limit=READ_BATCH):
        start = batch[-1].id + 1
        ids = [_as_uuid(n.originator_id) for n in batch]
        tail = [n for index, n in enumerate(batch, events) if index >= checkpoint_size]
        mark = time.perf_counter()
        envelopes = [
            parse_envelope(i, n.originator_version, n.state)
            for i, n in zip(ids, batch, strict=True)
        ]
        lap("envelope")
        trees = [orjson.loads(e.state) for e in envelopes]
        lap("json")
        for tree in trees:
            from_canonical_tree(tree)
        lap("revive")
        stamps = [stamp for tree in trees for stamp in _typed_timestamps(tree)]
        mark = time.perf_counter()
        for stamp in stamps:
            parse_timestamp(stamp)
        lap("timestamps")
        for n, e in zip(batch, envelopes, strict=True):
            Mapper.to_domain_event(
                ledger.mapper, StoredEvent(n.originator_id, n.originator_version, n.topic, e.state)
            )
        lap("mapper")
        for i, n in zip(ids, batch, strict=True):
            log_leaf_hash(i, n.originator_version, n.topic, n.state)
        lap("leaf_hash")
        for n in tail:
            ledger.mapper.to_domain_event(n)
        lap("signature")
        events += len(batch)
        signature_events += len(tail)
    per_event = {step: value / events * 1e6 for step, value in seconds.items()}
    return FeedCosts(
        envelope=per_event["envelope"],
        mapper=per_event["mapper"],
        json=per_event["json"],
        revive=per_event["revive"],
        timestamps=per_event["timestamps"],
        leaf_hash=per_event["leaf_hash"],
        signature_path=seconds["signature"] / max(signature_events, 1) * 1e6,
        events=events,
        signature_events=signature_events,
    )


def _as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def profile_rebuild(bench: Bench, top: int = 25) -> None:
    """cProfile of one rebuild: the functions with the most own time."""
    _forget_verified_signatures()
    profiler = cProfile.Profile()
    profiler.enable()
    rebuild(
        bench.store,
        models(),
        rebuild_feed(bench.ledger, bench.log),
        batch=READ_BATCH,
    )
    profiler.disable()
    print()
    print(f"cProfile of one rebuild (top {top} by own time; profiling slows Python code ~2x):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


# --- report -------------------------------------------------------------------------------------
@dataclass
class Measured:
    raw: list[float]
    rebuild: list[float]
    follower: list[float]
    rebuild_without_gc: list[float]  # --gc-compare only
    last_rebuild: RebuildResult | None = None

    @property
    def ratio(self) -> float:
        return median(self.rebuild) / median(self.raw)


def measure(bench: Bench, sizes: Sizes, rounds: int, *, gc_compare: bool) -> Measured:
    """Interleaved rounds of the raw read, the rebuild and the follower (after a warm-up read).

    With ``gc_compare``, also a rebuild with Python's cyclic garbage collector disabled (an
    experiment: how much of a rebuild is collection).
    """
    raw_read_rate(bench)  # warm the server's cache and the prepared statement
    rebuilds: list[RebuildResult] = []

    def rebuild_rate(_: int) -> float:
        result, seconds = run_rebuild(bench)
        rebuilds.append(result)
        return result.events / seconds

    def rebuild_without_gc_rate(_: int) -> float:
        gc.disable()
        try:
            result, seconds = run_rebuild(bench)
        finally:
            gc.enable()
        return result.events / seconds

    variants: list[tuple[str, Callable[[int], float]]] = [
        ("raw", lambda _: raw_read_rate(bench)),
        ("rebuild", rebuild_rate),
        ("follower", lambda number: follower_rate(bench, sizes.follower_events, number)),
    ]
    if gc_compare:
        variants.append(("rebuild_without_gc", rebuild_without_gc_rate))
    rates = interleaved_rates(rounds, variants)
    return Measured(
        rates["raw"],
        rates["rebuild"],
        rates["follower"],
        rates.get("rebuild_without_gc", []),
        rebuilds[-1],
    )


def _rates(values: Sequence[float]) -> str:
    return " ".join(f"{value:,.0f}" for value in values)


def print_measured(result: Measured, follower_events: int) -> None:
    raw, rebuilt, follower = median(result.raw), median(result.rebuild), median(result.follower)
    rows = [
        (f"raw read, batches of {READ_BATCH:,} (events/s)", raw, result.raw),
        ("rebuild, all read models (events/s)", rebuilt, result.rebuild),
        (f"follower catch_up, first {follower_events:,} events (events/s)", follower,
         result.follower),
    ]  # fmt: skip
    if result.rebuild_without_gc:
        rows.append(
            ("rebuild, gc disabled (experiment; events/s)", median(result.rebuild_without_gc),
             result.rebuild_without_gc)
        )  # fmt: skip
    print()
    print(f"{'measure':<58} {'median':>9}   per round")
    for label, value, rounds in rows:
        print(f"{label:<58} {value:>9,.0f}   {_rates(rounds)}")
    print(f"{'rebuild / raw read':<58} {result.ratio:>9.3f}")
    print(f"{'follower / raw read':<58} {follower / raw:>9.3f}")
    print(f"{'rebuild / follower':<58} {rebuilt / follower:>9.2f}")
    if result.last_rebuild is not None:
        done = result.last_rebuild
        print(
            f"rebuild split: {done.checkpoint_size:,} events trusted via the signed checkpoint "
            f"(leaf hashes folded into its root), {done.signature_checked:,} by signature"
        )


def print_split(split: Split, costs: FeedCosts) -> None:
    seconds, collecting = split.seconds, split.collecting
    handlers = sum(split.handlers.values())
    handlers_collecting = sum(v for k, v in collecting.items() if k.startswith("handlers:"))
    feed = split.per_event(seconds["feed"])
    tail_share = costs.signature_events / costs.events
    accounted = sum(seconds.values())
    rows: list[tuple[str, float, float | None]] = [
        ("read (select_notifications)", split.per_event(seconds["read"]),
         split.per_event(collecting.get("read", 0.0))),
        ("feed (CheckpointVerifiedFeed on what was read)", feed,
         split.per_event(collecting.get("feed", 0.0))),
        ("  parse_envelope", costs.envelope, None),
        ("  Mapper.to_domain_event (JSON, revive, event object)", costs.mapper, None),
        ("    orjson.loads", costs.json, None),
        ("    from_canonical_tree", costs.revive, None),
        ("      parse_timestamp (strptime)", costs.timestamps, None),
        ("  log_leaf_hash", costs.leaf_hash, None),
        ("  signatures past the checkpoint (share of each event)",
         tail_share * (costs.signature_path - costs.envelope - costs.mapper), None),
        ("  rest: FeedEvent, root fold, GC, cache misses", feed - costs.per_log_event, None),
        ("handlers (5 read models, projections.rows)", split.per_event(handlers),
         split.per_event(handlers_collecting)),
        *((f"  {name}", split.per_event(value),
           split.per_event(collecting.get(f"handlers:{name}", 0.0)))
          for name, value in split.handlers.items()),
        ("writes (create generations, commits)", split.per_event(seconds["writes"]),
         split.per_event(collecting.get("writes", 0.0))),
        ("other (loop, checkpoint)", split.per_event(split.total - accounted),
         split.per_event(collecting.get("other", 0.0))),
        ("total", split.per_event(split.total), split.per_event(sum(collecting.values()))),
    ]  # fmt: skip
    print()
    print(f"where a rebuild's time goes (one stage-timed pass over {split.events:,} events;")
    print("indented lines: the same steps timed apart, each over every event;")
    print("gc: Python's garbage collections inside the stage, part of its time):")
    print(f"{'stage':<60} {'us/event':>9} {'of it gc':>9}")
    for label, value, gc_part in rows:
        gc_text = "" if gc_part is None else f"{gc_part:.1f}"
        print(f"{label:<60} {value:>9.1f} {gc_text:>9}")
    print(f"{'(as events/s)':<60} {split.events / split.total:>9,.0f}")
    counts = ", ".join(f"{count:,} of generation {g}" for g, count in split.collections.items())
    print(f"garbage collections: {counts}")
    print(
        f"per event: {costs.signature_path:.1f} us on the signature path (cold cache; "
        f"{costs.signature_events:,} events) vs {costs.checkpoint_path:.1f} us on the "
        "checkpoint path (envelope, decode, leaf hash)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.projections",
        description="Projection rebuild throughput vs the raw read rate on PostgreSQL (issue #4).",
    )
    parser.add_argument("--full", action="store_true", help="the log of >= 200,000 events")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (raw, rebuild, follower)")
    parser.add_argument(
        "--unsequenced",
        type=int,
        default=1_000,
        help="leave at least this many of the newest events out of the log (checked by signature)",
    )
    parser.add_argument("--follower-events", type=int, help="events per follower round")
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help="bench/audit.py's cache"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile one more rebuild")
    parser.add_argument(
        "--gc-compare",
        action="store_true",
        help="add rounds of a rebuild with the garbage collector disabled (not in the ratio)",
    )
    args = parser.parse_args(argv)
    sizes = FULL_SIZES if args.full else DEFAULT_SIZES
    rounds = sizes.rounds if args.rounds is None else args.rounds
    if args.follower_events is not None:
        sizes = Sizes(sizes.rounds, sizes.log_events, args.follower_events)
    if rounds < 1 or sizes.follower_events < 1 or args.unsequenced < 0:
        parser.error("want --rounds >= 1, --follower-events >= 1, --unsequenced >= 0")
    admin = postgres_admin_dsn()
    reason = postgres_unreachable_reason(admin)
    if reason is not None:
        print(f"postgres: not reachable at {admin} ({reason}); nothing to measure")
        return 1
    cache: Path = args.cache_dir.resolve()
    cache.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    print("projections: rebuild throughput vs the raw read rate, PostgreSQL")
    print(f"machine: {machine_info().describe()}")
    print(f"mode: {'full' if args.full else 'default'}; {rounds} interleaved rounds; cache {cache}")
    bundle = ensure_bundle(cache, sizes.log_events)  # the events of its seeds are in the store
    sample = cache / SAMPLE_STORE
    with (
        postgres_database(admin) as database,
        open_bench(database, sample / "data" / "keys") as bench,
    ):
        copied = copy_log(
            sample / "ledger.sqlite3",
            bench.settings.postgres_location()[0],
            bench.events_table,
            bundle.events,
            args.unsequenced,
        )
        with psycopg.connect(database) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        print(
            f"log: {copied.events:,} events (sample seeds 0-{bundle.seeds - 1}) copied to "
            f"PostgreSQL {version[0] if version else '?'} in {copied.seconds:.1f} s; "
            f"sequenced {copied.sequenced:,} with {copied.checkpoints} checkpoints, "
            f"{copied.events - copied.sequenced:,} past the latest",
            flush=True,
        )
        result = measure(bench, sizes, rounds, gc_compare=args.gc_compare)
        print_measured(result, sizes.follower_events)
        split = stage_split(bench)
        print_split(split, feed_costs(bench, copied.sequenced))
        if args.profile:
            profile_rebuild(bench)
    print()
    print(f"elapsed: {time.perf_counter() - started:.0f} s")
    print(f"ratio: {result.ratio:.3f} (target {TARGET})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
