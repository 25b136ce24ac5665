"""Audit performance: offline verifier throughput against the Ed25519 limit, and proof latency.

Questions (issues #3 and #20):

1. How many events per second does the offline verifier (``audit.offline.verifier.verify_bundle``,
   all cores, every check on, the product index re-checked at every checkpoint) get through on
   a bundle of at least 200,000 events, against the physical limit of per-event verification:
   the raw Ed25519 verify rate of ``cryptography`` on one core times the number of cores,
   measured in the same run?
   Target (issue #20, was 0.7): verifier events/s >= 0.8 x (raw verifies/s x cores).
2. How many events per second does its checkpoint-trusted mode (``trust_checkpoints=True``:
   every check but each event's Ed25519 signature) get through on the same bundle, in the
   same run? Target: >= 100,000 events/s (an absolute rate: it has no Ed25519 limit).
3. How long do inclusion and consistency proofs take (median, p99) at 10^3, 10^5 and 10^6
   leaves, and do they grow with log n?

**The last line** must be one ratio against one target, so it is the worse of the two
verifier targets, each as a fraction of its own target: ``ratio: min(full ratio / 0.8,
trusted events/s / 100,000) (target 1.0)``. The two are printed above it, each against its
own target (``full mode:`` and ``trusted mode:`` lines).

**The bundle** is real: the sample of ``domain.sample.load_sample`` (about 9,000 events per
seed: filers registered, verified and approved, filings, revisions, withdrawals, disputes,
conversion reports, filing numbers) is loaded through the ledger's commands for seeds 0, 1, 2,
... into one signed SQLite store (each seed has its own filers and products, so the seeds
coexist and the whole log replays), sequenced by the real ``TransparencyLog`` after each seed
(a checkpoint per 1,000 events, each indexed by the product index) and written by
``audit.log.bundle_export.export_bundle`` with the index notes, as ``ppl audit export`` does.
Loading gets slower seed by seed (10-70 s on the reference machine: screening compares each
filing with the earlier ones), so the store and the bundles are cached in
``bench/results/cache/audit-v2/`` (git-ignored; ``--cache-dir`` to move it, ``--rebuild`` to
start again): the first default run pays about 40 s for 3 seeds (26,902 events), the first
``--full`` run about 10-15 minutes for 23 seeds (over 200,000 events); later runs reuse them.
The verifier is given the store's key manifest and log key, as an auditor pins them with
``--keys`` and ``--log-key``, and starts each run with an empty signature cache.

**The limit**: the same run measures ``Ed25519PublicKey.verify`` calls per second on one core,
on a save-signing message (rounds of 2,000 calls), times ``os.cpu_count()``. Rounds alternate
the raw measurement, a full verifier run and a checkpoint-trusted one
(``bench.common.interleaved_rates``); rates are medians of rounds. Events of one save share
one signature and the verifier checks each signature once, so it needs fewer verifications
than events: the output also gives signatures per event and the share of the machine's
Ed25519 capacity the verifier uses, (events/s x signatures per event) / (raw verifies/s x
cores). One extra run of the full verifier with ``workers=1`` is shown for reference; it is
not part of the ratio. Each verifier run also reports its CPU time per event (``getrusage``):
the parent process, and the worker processes (they end within the run).

**Proofs**: a log of n random leaf hashes is written into the real node store
(``audit.log.log_store.SqliteLogStore``, and ``PostgresLogStore`` when PostgreSQL answers) with
``audit.offline.merkle_nodes.append_leaf`` and ``LogStore.integrate``, in batches of 50,000, as the
sequencer writes it (without ``ppl_log_leaves`` rows: proofs read only nodes and the
position). Then ``TransparencyLog.inclusion_proof`` (random leaf, at size n) and
``consistency_proof`` (random older size, to n) are timed, 200 calls each after 20 warm-up
calls: every query and the proof's own verification. SQLite logs are cached like the bundle;
PostgreSQL ones are built in a throwaway database. 10^6 leaves is ``--full`` only (building
that SQLite log takes about 40 s, once).

Run: ``.venv/bin/python -m bench.audit`` (the 27,611-event bundle; proofs at 10^3 and 10^5;
under a minute once cached) or ``--full`` (the 204,669-event bundle; proofs at 10^3, 10^5 and
10^6). The last line is ``ratio: <the worse of the two verifier targets> (target 1.0)``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.bootstrap import SignedPatentLedger, open_ledger, open_transparency_log
from api.settings import Settings
from audit.log.bundle_export import export_bundle
from audit.log.log_store import LogPosition, LogStore, PostgresLogStore, SqliteLogStore
from audit.log.sequencer import Sequencer
from audit.log.transparency_log import TransparencyLog
from audit.offline import event_signature
from audit.offline.bundle import open_bundle
from audit.offline.event_signature import EventSigner, parse_envelope, save_signing_message
from audit.offline.keys import KeyManifest
from audit.offline.merkle_nodes import NodeId, append_leaf, range_nodes
from audit.offline.note import NoteSigner, NoteVerifier
from audit.offline.verifier import verify_bundle
from bench.common import (
    fresh_postgres_schema,
    fresh_sqlite_url,
    interleaved_rates,
    machine_info,
    median,
    postgres_admin_dsn,
    postgres_database,
    postgres_unreachable_reason,
    settings_for,
)
from domain.clock import system_now
from domain.sample.loader import load_sample

TARGET = 0.8  # full verifier events/s / (raw Ed25519 verifies/s x cores); 0.7 until issue #20
TRUSTED_TARGET = 100_000  # checkpoint-trusted verifier events/s
CACHE_VERSION = "audit-v2"  # bump when the sample, the signing or the bundle format changes
# v2: the bundle carries the product index's notes, as ``ppl audit export`` writes them
DEFAULT_CACHE = Path(__file__).resolve().parent / "results" / "cache" / CACHE_VERSION
DEFAULT_EVENTS = 25_000  # at least this many events: 3 seeds, 26,902 events
FULL_EVENTS = 200_000  # at least this many events: 23 seeds, over 200,000 events
BUNDLE_TARGETS = (DEFAULT_EVENTS, FULL_EVENTS)  # both are exported on the way to the larger
RAW_CALLS = 2_000  # Ed25519 verifications per raw round
PROOF_CALLS = 200  # timed calls per proof kind and log size
PROOF_WARM_UP = 20
PROOF_BATCH = 50_000  # leaves per LogStore.integrate() when building a proof log
PROOF_ORIGIN = "bench.local/audit-proofs"


@dataclass(frozen=True, slots=True)
class Sizes:
    rounds: int
    bundle_events: int
    sqlite_proof_sizes: tuple[int, ...]
    postgres_proof_sizes: tuple[int, ...]


DEFAULT_SIZES = Sizes(3, DEFAULT_EVENTS, (10**3, 10**5), (10**3, 10**5))
FULL_SIZES = Sizes(3, FULL_EVENTS, (10**3, 10**5, 10**6), (10**3, 10**5, 10**6))


# --- the bundle ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CachedBundle:
    """A bundle file and what an auditor pins: the store's key manifest and log key."""

    path: Path
    events: int
    seeds: int
    signatures: int  # distinct save signatures: the verifier checks each once
    keys_file: Path
    log_key: str

    @property
    def signatures_per_event(self) -> float:
        return self.signatures / self.events

    def pinned_keys(self) -> tuple[KeyManifest, NoteVerifier]:
        return KeyManifest.load(self.keys_file), NoteVerifier.from_verifier_key_string(self.log_key)


def _bundle_files(cache: Path, target: int) -> tuple[Path, Path, Path]:
    """The bundle, its key manifest and its description (written last) for a size target."""
    stem = f"bundle-{target}"
    return cache / f"{stem}.jsonl", cache / f"{stem}.keys.json", cache / f"{stem}.json"


def _cached_bundle(cache: Path, target: int) -> CachedBundle | None:
    path, keys_file, description = _bundle_files(cache, target)
    if not (path.exists() and keys_file.exists() and description.exists()):
        return None
    facts = json.loads(description.read_text(encoding="utf-8"))
    return CachedBundle(
        path, facts["events"], facts["seeds"], facts["signatures"], keys_file, facts["log_key"]
    )


def _distinct_signatures(path: Path) -> int:
    """How many save signatures the bundle's events carry (the events of a save are adjacent)."""
    _, handle = open_bundle(path)
    count, previous = 0, b""
    with handle:
        for line in handle:
            event = json.loads(line)
            envelope = parse_envelope(
                UUID(event["originator_id"]),
                event["originator_version"],
                base64.b64decode(event["state"]),
            )
            if envelope.signature != previous:
                count, previous = count + 1, envelope.signature
    return count


class _SampleStore:
    """The cached signed SQLite store the sample seeds are loaded into, and its log."""

    def __init__(self, directory: Path) -> None:
        self.settings: Settings = settings_for(
            directory / "data", fresh_sqlite_url(directory, "ledger")
        )
        self.ledger: SignedPatentLedger = open_ledger(self.settings)
        self.log = open_transparency_log(self.ledger, self.settings)

    def close(self) -> None:
        self.log.store.close()
        self.ledger.close()

    def _index_notes(self) -> list[str]:
        """The product index's note of every indexed checkpoint (``sequence`` indexes each)."""
        index = self.log.index
        if index is None:
            raise RuntimeError("the sample store's log has no product index")
        return list(index.store.notes(self.log.size()).values())

    def export(self, cache: Path, target: int, seeds: int) -> CachedBundle:
        """Write the bundle of everything logged so far, as ``ppl audit export`` does."""
        path, keys_file, description = _bundle_files(cache, target)
        ledger = self.ledger
        header = export_bundle(
            path,
            store=self.log.store,
            origin=self.log.origin,
            log_key=self.log.signer.verifier_key_string(),
            event_keys=KeyManifest.load(self.settings.public_keys_file).to_json(),
            read_notifications=lambda start, limit: ledger.recorder.select_notifications(
                start=start, limit=limit
            ),
            exported_at=system_now(),
            index_notes=self._index_notes(),
        )
        shutil.copyfile(self.settings.public_keys_file, keys_file)
        facts = {
            "events": header.tree_size,
            "seeds": seeds,
            "signatures": _distinct_signatures(path),
            "log_key": self.log.signer.verifier_key_string(),
        }
        description.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
        bundle = _cached_bundle(cache, target)
        if bundle is None:
            raise RuntimeError(f"bundle {path} was not written")
        return bundle


def ensure_bundle(cache: Path, target: int) -> CachedBundle:
    """The cached bundle of at least ``target`` events; generated (slowly) if missing.

    Seeds 0, 1, 2, ... of the sample are loaded into one store through the ledger's commands
    and sequenced after each seed; each missing bundle of ``BUNDLE_TARGETS`` up to ``target``
    is exported at the first seed boundary where the log holds at least that many events.
    """
    cached = _cached_bundle(cache, target)
    if cached is not None:
        return cached
    missing = sorted(t for t in {*BUNDLE_TARGETS, target} if t <= target)
    missing = [t for t in missing if _cached_bundle(cache, t) is None]
    directory = cache / "sample-ledger"
    store = _SampleStore(directory)
    if store.log.size() >= missing[0]:  # past a bundle that was deleted since: start again
        store.close()
        shutil.rmtree(directory)
        store = _SampleStore(directory)
    print(
        f"generating the bundle of >= {target:,} events in {cache} (cached for later runs; "
        "10-70 s per seed of ~9,000 events)",
        flush=True,
    )
    exported: dict[int, CachedBundle] = {}
    try:
        seed = 0
        while missing:
            started = time.perf_counter()
            summary = load_sample(store.ledger, seed)
            store.log.sequence()
            size = store.log.size()
            seed += 1
            print(
                f"  seed {seed - 1}: {summary.events_added:>5,} events loaded, log at {size:>7,} "
                f"({time.perf_counter() - started:.1f} s)",
                flush=True,
            )
            while missing and size >= missing[0]:
                exported[missing[0]] = store.export(cache, missing[0], seed)
                print(f"  exported {_bundle_files(cache, missing.pop(0))[0]}", flush=True)
    finally:
        store.close()
    return exported[target]


# --- the measurements ---------------------------------------------------------------------------
def _forget_verified_signatures() -> None:
    """Empty this process's cache of verified signatures (``audit.offline.event_signature``).

    Generating the bundle fills it. The verifier does not use it (each run's
    ``EventVerifier`` starts empty, in every worker process), but a measured run must verify
    every signature itself, whatever the verifier's internals become.
    """
    event_signature._verify_signature.cache_clear()


@dataclass(frozen=True, slots=True)
class RawVerify:
    """One Ed25519 key, message and signature: what a save signature check costs."""

    public_key_verify: Callable[[bytes, bytes], None]
    signature: bytes
    message: bytes

    @classmethod
    def typical(cls) -> RawVerify:
        private_key = Ed25519PrivateKey.generate()
        key_id = bytes.fromhex(EventSigner(private_key).key_id)
        message = save_signing_message(key_id, 2, os.urandom(32))
        return cls(private_key.public_key().verify, private_key.sign(message), message)

    def rate(self, calls: int) -> float:
        """Verifications per second on this core."""
        verify, signature, message = self.public_key_verify, self.signature, self.message
        started = time.perf_counter()
        for _ in range(calls):
            verify(signature, message)
        return calls / (time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class VerifierRun:
    """One full ``verify_bundle``: events per second, and CPU time per event (rusage)."""

    rate: float
    parent_us: float  # this process
    workers_us: float  # the worker processes (ended and waited for within the run)


def verifier_run(
    bundle: CachedBundle, workers: int | None, *, trust_checkpoints: bool = False
) -> VerifierRun:
    """One ``verify_bundle`` of the bundle (keys pinned), full or checkpoint-trusted."""
    event_keys, log_key = bundle.pinned_keys()
    _forget_verified_signatures()
    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    report = verify_bundle(
        bundle.path,
        event_keys=event_keys,
        log_key=log_key,
        workers=workers,
        trust_checkpoints=trust_checkpoints,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    if report.events != bundle.events:
        raise RuntimeError(f"verified {report.events} events, want {bundle.events}")
    if not report.index_checked:
        raise RuntimeError("the product index was not re-checked: a bundle without index notes")
    parent, children = (
        (a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime) / report.events * 1e6
        for a, b in zip(after, before, strict=True)
    )
    return VerifierRun(report.events / elapsed, parent, children)


# --- proof latency ------------------------------------------------------------------------------
def fill_log(store: LogStore, size: int, seed: int) -> None:
    """Write a log of ``size`` random leaves into an empty node store, as the sequencer does.

    Each batch of ``PROOF_BATCH`` leaves is one ``integrate`` of the nodes they complete,
    computed by ``append_leaf`` from the log's right border, and the new position. The
    ``ppl_log_leaves`` rows are left out: proofs read only nodes and the position.
    """
    rng = random.Random(seed)
    store.create_tables()
    position = store.position()
    if position.tree_size:
        raise RuntimeError(f"the log store already holds {position.tree_size} leaves")
    border: dict[NodeId, bytes] = {}
    while position.tree_size < size:
        stop = min(position.tree_size + PROOF_BATCH, size)
        nodes: list[tuple[NodeId, bytes]] = []
        for index in range(position.tree_size, stop):
            nodes += append_leaf(border, index, rng.randbytes(32))
        new = LogPosition(stop, stop)
        store.integrate(position, [], nodes, new)
        position = new
        border = {node: border[node] for node in range_nodes(0, stop)}  # the right border


def cached_sqlite_log(cache: Path, size: int) -> Path:
    """A SQLite file holding a log of ``size`` random leaves (built once, then reused)."""
    path = cache / f"proof-log-{size}.sqlite3"
    if not path.exists():
        print(f"  building the SQLite log of {size:,} leaves (cached for later runs)", flush=True)
        building = path.with_name(path.name + ".building")
        building.unlink(missing_ok=True)
        store = SqliteLogStore(str(building))
        try:
            fill_log(store, size, seed=size)
        finally:
            store.close()
        building.replace(path)
    return path


@dataclass(frozen=True, slots=True)
class ProofTiming:
    backend: str
    leaves: int
    inclusion: list[float]  # seconds per call
    consistency: list[float]
    inclusion_hashes: float  # mean proof length
    consistency_hashes: float


def _p99(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def time_proofs(backend: str, store: LogStore, size: int, seed: int) -> ProofTiming:
    """Time ``PROOF_CALLS`` inclusion and consistency proofs at random positions."""
    log = TransparencyLog(
        store,
        Sequencer(store, lambda start, limit: [], dict),
        NoteSigner(PROOF_ORIGIN, Ed25519PrivateKey.generate()),
    )
    if log.size() != size:
        raise RuntimeError(f"the {backend} log holds {log.size()} leaves, want {size}")
    rng = random.Random(seed)
    inclusion: list[float] = []
    consistency: list[float] = []
    inclusion_hashes = consistency_hashes = 0
    for call in range(PROOF_WARM_UP + PROOF_CALLS):
        index, older = rng.randrange(size), rng.randrange(1, size)
        started = time.perf_counter()
        included = log.inclusion_proof(index, size)
        middle = time.perf_counter()
        consistent = log.consistency_proof(older, size)
        ended = time.perf_counter()
        if call >= PROOF_WARM_UP:
            inclusion.append(middle - started)
            consistency.append(ended - middle)
            inclusion_hashes += len(included.proof)
            consistency_hashes += len(consistent.proof)
    return ProofTiming(
        backend,
        size,
        inclusion,
        consistency,
        inclusion_hashes / PROOF_CALLS,
        consistency_hashes / PROOF_CALLS,
    )


def sqlite_proofs(cache: Path, sizes: Sequence[int]) -> list[ProofTiming]:
    timings = []
    for size in sizes:
        store = SqliteLogStore(str(cached_sqlite_log(cache, size)))
        try:
            timings.append(time_proofs("SQLite", store, size, seed=size + 1))
        finally:
            store.close()
    return timings


def postgres_proofs(database: str, sizes: Sequence[int]) -> list[ProofTiming]:
    timings = []
    for size in sizes:
        schema = f"proofs_{size}"
        fresh_postgres_schema(database, schema)
        store = PostgresLogStore(database, schema)
        try:
            started = time.perf_counter()
            fill_log(store, size, seed=size)
            elapsed = time.perf_counter() - started
            print(f"  PostgreSQL log of {size:,} leaves built in {elapsed:.0f} s", flush=True)
            timings.append(time_proofs("PostgreSQL", store, size, seed=size + 1))
        finally:
            store.close()
    return timings


# --- report -------------------------------------------------------------------------------------
def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def print_proof_table(timings: Sequence[ProofTiming]) -> None:
    print()
    print(
        f"{'backend':<10} {'leaves':>9} {'log2 n':>6} {'incl. median ms':>15} "
        f"{'incl. p99 ms':>12} {'cons. median ms':>15} {'cons. p99 ms':>12} "
        f"{'hashes incl/cons':>16}"
    )
    for timing in timings:
        print(
            f"{timing.backend:<10} {timing.leaves:>9,} {timing.leaves.bit_length() - 1:>6} "
            f"{_ms(median(timing.inclusion)):>15} {_ms(_p99(timing.inclusion)):>12} "
            f"{_ms(median(timing.consistency)):>15} {_ms(_p99(timing.consistency)):>12} "
            f"{timing.inclusion_hashes:>7.1f}/{timing.consistency_hashes:<8.1f}"
        )


def _rates(values: Sequence[float]) -> str:
    return " ".join(f"{value:.0f}" for value in values)


@dataclass(frozen=True, slots=True)
class Throughput:
    cores: int
    raw: list[float]  # single-core Ed25519 verifications per second, per round
    runs: list[VerifierRun]  # the verifier on all cores, per round
    single: VerifierRun  # the verifier with workers=1 (one round, for reference)
    signatures_per_event: float
    trusted_runs: list[VerifierRun]  # the checkpoint-trusted verifier on all cores, per round

    @property
    def verifier(self) -> list[float]:
        """Verifier events per second (all cores), per round."""
        return [run.rate for run in self.runs]

    @property
    def limit(self) -> float:
        return median(self.raw) * self.cores

    @property
    def ratio(self) -> float:
        return median(self.verifier) / self.limit

    @property
    def trusted(self) -> list[float]:
        """Checkpoint-trusted verifier events per second (all cores), per round."""
        return [run.rate for run in self.trusted_runs]

    @property
    def worse_of_targets(self) -> float:
        """The last line: the worse of the two verifiers, each as a fraction of its target."""
        return min(self.ratio / TARGET, median(self.trusted) / TRUSTED_TARGET)

    @property
    def capacity_used(self) -> float:
        """Signatures verified per second by the verifier / the machine's Ed25519 capacity."""
        return median(self.verifier) * self.signatures_per_event / self.limit


def measure_throughput(bundle: CachedBundle, rounds: int) -> Throughput:
    """Interleaved rounds of the raw Ed25519 rate, the verifier and the checkpoint-trusted
    verifier; then one workers=1 run of the verifier."""
    raw = RawVerify.typical()
    raw.rate(RAW_CALLS)  # warm-up: the first round runs slow
    runs: list[VerifierRun] = []
    trusted: list[VerifierRun] = []

    def verifier(_: int) -> float:
        runs.append(verifier_run(bundle, None))
        return runs[-1].rate

    def trusting(_: int) -> float:
        trusted.append(verifier_run(bundle, None, trust_checkpoints=True))
        return trusted[-1].rate

    rates = interleaved_rates(
        rounds,
        [
            ("raw", lambda _: raw.rate(RAW_CALLS)),
            ("verifier", verifier),
            ("trusted", trusting),
        ],
    )
    single = verifier_run(bundle, 1)
    return Throughput(
        os.cpu_count() or 1, rates["raw"], runs, single, bundle.signatures_per_event, trusted
    )


def _us(values: Sequence[float]) -> str:
    return " ".join(f"{value:.1f}" for value in values)


def print_throughput(result: Throughput) -> None:
    cores, verifier = result.cores, median(result.verifier)
    parent = [run.parent_us for run in result.runs]
    workers = [run.workers_us for run in result.runs]
    total = [run.parent_us + run.workers_us for run in result.runs]
    trusted = median(result.trusted)
    t_parent = [run.parent_us for run in result.trusted_runs]
    t_workers = [run.workers_us for run in result.trusted_runs]
    t_total = [run.parent_us + run.workers_us for run in result.trusted_runs]
    rows = [
        (
            "raw Ed25519 verify, 1 core (verifies/s)",
            f"{median(result.raw):.0f}",
            _rates(result.raw),
        ),
        (f"limit = raw x {cores} cores (verifies/s)", f"{result.limit:.0f}", ""),
        (f"verifier, {cores} workers (events/s)", f"{verifier:.0f}", _rates(result.verifier)),
        ("  CPU per event: parent (us)", f"{median(parent):.1f}", _us(parent)),
        ("  CPU per event: workers (us)", f"{median(workers):.1f}", _us(workers)),
        ("  CPU per event: total (us)", f"{median(total):.1f}", _us(total)),
        ("verifier, 1 worker (events/s, one round)", f"{result.single.rate:.0f}", ""),
        ("  CPU per event, one process (us)", f"{result.single.parent_us:.1f}", ""),
        ("signatures verified per event", f"{result.signatures_per_event:.3f}", ""),
        ("verifier signatures/s / limit", f"{result.capacity_used:.3f}", ""),
        ("verifier events/s / limit", f"{result.ratio:.3f}", ""),
        (
            f"checkpoint-trusted, {cores} workers (events/s)",
            f"{trusted:.0f}",
            _rates(result.trusted),
        ),
        ("  CPU per event: parent (us)", f"{median(t_parent):.1f}", _us(t_parent)),
        ("  CPU per event: workers (us)", f"{median(t_workers):.1f}", _us(t_workers)),
        ("  CPU per event: total (us)", f"{median(t_total):.1f}", _us(t_total)),
    ]
    print()
    print(f"{'measure':<44} {'median':>9}   per round")
    for label, value, rounds in rows:
        print(f"{label:<44} {value:>9}   {rounds}".rstrip())
    print()
    print(
        f"full mode: ratio {result.ratio:.3f} (target {TARGET}): "
        f"{result.ratio / TARGET:.3f} of its target"
    )
    print(
        f"trusted mode: {trusted:,.0f} events/s (target {TRUSTED_TARGET:,}): "
        f"{trusted / TRUSTED_TARGET:.3f} of its target"
    )


def measure_proofs(cache: Path, sizes: Sizes) -> list[ProofTiming]:
    print(flush=True)
    print(
        f"proof latency (TransparencyLog, random positions, {PROOF_CALLS} calls each):", flush=True
    )
    timings = sqlite_proofs(cache, sizes.sqlite_proof_sizes)
    admin = postgres_admin_dsn()
    reason = postgres_unreachable_reason(admin)
    if reason is not None:
        print(f"  postgres: not reachable at {admin} ({reason}); skipping its rows")
        return timings
    with postgres_database(admin) as database:
        timings += postgres_proofs(database, sizes.postgres_proof_sizes)
    return timings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.audit",
        description="Offline verifier throughput (full vs the Ed25519 limit, checkpoint-trusted "
        "vs 100,000 events/s); proof latency (issues #3, #20).",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="the bundle of >= 200,000 events and 10^6-leaf proofs on PostgreSQL too",
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (raw verify, verifier)")
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help="where bundles and logs are kept"
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="delete the cache first (regenerates everything)"
    )
    parser.add_argument("--no-proofs", action="store_true", help="skip the proof latencies")
    args = parser.parse_args(argv)
    sizes = FULL_SIZES if args.full else DEFAULT_SIZES
    rounds = sizes.rounds if args.rounds is None else args.rounds
    if rounds < 1:
        parser.error("--rounds: want at least 1")
    cache: Path = args.cache_dir.resolve()
    if args.rebuild and cache.exists():
        shutil.rmtree(cache)
    cache.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    print("audit: offline verifier throughput vs the raw Ed25519 verify rate; proof latency")
    print(f"machine: {machine_info().describe()}")
    print(f"mode: {'full' if args.full else 'default'}; {rounds} interleaved rounds; cache {cache}")
    bundle = ensure_bundle(cache, sizes.bundle_events)
    print(
        f"bundle: {bundle.events:,} events (sample seeds 0-{bundle.seeds - 1}), "
        f"{bundle.signatures:,} distinct save signatures; {bundle.path.name}",
        flush=True,
    )
    throughput = measure_throughput(bundle, rounds)
    print_throughput(throughput)
    if not args.no_proofs:
        print_proof_table(measure_proofs(cache, sizes))
    print()
    print(f"elapsed: {time.perf_counter() - started:.0f} s")
    print(f"ratio: {throughput.worse_of_targets:.3f} (target 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
