"""Composition root: the ledger application wired to its store and its signing keys."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import EventStore, Mapper, Notification, Transcoder
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder

from api.read_routing import REPLICA_POOL_TIMEOUT, ReadRouter, ReadSource
from api.receipts import recorder_topic
from api.settings import Settings
from audit.database.connections import (
    CONNECT_TIMEOUT_SECONDS,
    RECONNECT_SECONDS,
    Database,
    PostgresDatabase,
    SqliteDatabase,
    postgres_schema_lock,
    sqlite_wal,
)
from audit.database.deadlines import KEEPALIVES, guard_pool
from audit.database.private_files import private_folder
from audit.log.bundle_export import export_bundle
from audit.log.index_store import IndexStore
from audit.log.log_store import LogStore, PostgresLogStore, SqliteLogStore
from audit.log.product_index_log import ProductIndexLog
from audit.log.recent_leaves import RecentLeaves
from audit.log.sequencer import Sequencer
from audit.log.transparency_log import TransparencyLog
from audit.log.witness_store import WitnessStore
from audit.log.witnessing import Witnessing
from audit.offline.bundle import BundleHeader
from audit.offline.checkpoint import Checkpoint, verify_checkpoint
from audit.offline.keys import KeyManifest
from audit.offline.note import NoteSigner, NoteVerifier
from audit.signing.key_files import (
    KeyRing,
    load_or_create_private_key,
    load_private_key,
    open_keyring,
)
from audit.signing.signing_mapper import SigningEventStore, SigningMapper
from audit.signing.transcoder import CanonicalTranscoder
from domain.application import PatentLedger
from domain.clock import system_now
from projections.catalog import models
from projections.feed import CheckpointVerifiedFeed, EventFeed, ReadAhead
from projections.follower import ListenWaiter, ProjectionFollower
from projections.queries import LeafLookup
from projections.runner import ProjectionRunner
from projections.store import ProjectionStore


class SignedPatentLedger(PatentLedger):
    """``PatentLedger`` whose every stored event is signed and verified on read.

    ``keyring=None`` gives the plain eventsourcing mapper: used only as the unsigned
    baseline of bench/append.py.
    """

    name = "PatentLedger"

    def __init__(self, env: dict[str, Any], keyring: KeyRing | None) -> None:
        self.keyring = keyring
        topic = recorder_topic(str(env.get("PERSISTENCE_MODULE", "")))
        if topic is not None:  # an Idempotency-Key's record goes into its request's save
            env = {"APPLICATION_RECORDER_TOPIC": topic, **env}
        super().__init__(env)

    def construct_transcoder(self) -> Transcoder:
        return CanonicalTranscoder()

    def construct_mapper(self) -> Mapper[UUID]:
        if self.keyring is None:
            return Mapper(transcoder=self.construct_transcoder())
        keyring = self.keyring
        return SigningMapper(
            self.construct_transcoder(),
            signer=keyring.signer,
            trusted_keys=lambda: keyring.trusted_keys,
        )

    def construct_event_store(self) -> EventStore[UUID]:
        if isinstance(self.mapper, SigningMapper):
            return SigningEventStore(mapper=self.mapper, recorder=self.recorder)
        return super().construct_event_store()


def load_keyring(settings: Settings) -> KeyRing:
    return open_keyring(
        signing_key_file=settings.signing_key_file,
        key_dir=settings.key_dir,
        manifest_file=settings.public_keys_file,
        now=system_now(),
    )


CLI_CONNECTIONS = 2  # a `ppl` command works on one thread: no need for the service's pool


def open_ledger(
    settings: Settings, *, keyring: KeyRing | None = None, connections: int | None = None
) -> SignedPatentLedger:
    """Open the ledger on the configured store, creating tables on first use.

    ``connections`` caps the event store's PostgreSQL pool (default: the service's, sized for
    its request threads). ``ppl`` commands pass ``CLI_CONNECTIONS``: a follower process would
    otherwise hold 8 idle connections of PostgreSQL's 100.
    """
    private_folder(settings.data_dir)
    env = settings.eventsourcing_env()
    if connections is not None and settings.is_postgres:
        env |= {"POSTGRES_POOL_SIZE": str(connections), "POSTGRES_MAX_OVERFLOW": str(connections)}
    keys = keyring if keyring is not None else load_keyring(settings)
    # eventsourcing creates its table as the ledger opens: one process at a time on PostgreSQL
    lock: AbstractContextManager[None] = nullcontext()
    if settings.is_postgres:
        lock = postgres_schema_lock(settings.postgres_location()[0])
    else:  # before eventsourcing's connections each try to switch the fresh file themselves
        sqlite_wal(env["SQLITE_DBNAME"])
    with lock:
        ledger = SignedPatentLedger(env, keys)
    _fail_fast(ledger)
    return ledger


EVENT_POOL_WAIT_SECONDS = 0.1  # per try; eventsourcing's recorder makes 10 tries, 0.2 s apart


def _fail_fast(ledger: SignedPatentLedger) -> None:
    """Short waits on the event store's PostgreSQL pool, so an outage is a quick 503.

    eventsourcing's settings cannot say these (its connect timeout is whole seconds and 0
    breaks the pool; its reconnect back-off grows to minutes), so they are set on its pool.
    Measured in tests/api/test_store_down.py: /ready answers 503 in 2-3 s instead of ~100 s,
    and recovers within a second of the database returning.
    """
    datastore = getattr(ledger.recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore):
        pool = datastore.pool
        pool.timeout = EVENT_POOL_WAIT_SECONDS
        pool.reconnect_timeout = RECONNECT_SECONDS
        if isinstance(pool.kwargs, dict):  # eventsourcing sets no connect timeout
            pool.kwargs["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
            pool.kwargs.update(KEEPALIVES)
        guard_pool(pool)  # a call past its deadline is cut (audit.database.deadlines)


def open_log_store(settings: Settings) -> LogStore:
    """The Merkle log's tables, in the same database (and schema) as the events."""
    if settings.is_postgres:
        conninfo, schema = settings.postgres_location()
        store: LogStore = PostgresLogStore(conninfo, schema)
    else:
        store = SqliteLogStore(settings.eventsourcing_env()["SQLITE_DBNAME"])
    store.create_tables()
    return store


def open_sequencer(ledger: SignedPatentLedger, store: LogStore) -> Sequencer:
    """A sequencer reading the ledger's notifications and verifying them with its key ring."""
    keyring = ledger.keyring
    if keyring is None:
        raise ValueError("the sequencer needs a signed ledger")

    return Sequencer(store, notification_reader(ledger), lambda: keyring.trusted_keys)


def unlogged_event_count(ledger: SignedPatentLedger, store: LogStore) -> int:
    """Stored events the log has not integrated yet: one count query (``ppl status``, /ready).

    Notification ids have gaps on PostgreSQL, so the highest id minus the log's position would
    only bound the number; the count over the backlog's index range is exact and as cheap.

    Raises:
        TypeError: the ledger is on a store other than SQLite or PostgreSQL.
    """
    recorder = ledger.recorder
    if isinstance(recorder, PostgresApplicationRecorder):
        return store.unlogged_count(recorder.events_table_name, "notification_id")
    if isinstance(recorder, SQLiteApplicationRecorder):  # the notification id is the rowid
        return store.unlogged_count(recorder.events_table_name, "rowid")
    raise TypeError(f"no event count for {type(recorder).__name__}: want SQLite or PostgreSQL")


DEV_LOG_KEY_FILENAME = "dev-log-key.pem"


def load_log_signer(settings: Settings) -> NoteSigner:
    """The checkpoint signer: key from PPL_LOG_KEY_FILE, or a development key (0600).

    A key of its own, not the event-signing key: checkpoints and events are different
    statements, and either key can then be rotated without the other.
    """
    if settings.log_key_file is not None:
        key = load_private_key(settings.log_key_file)
    else:
        path = settings.key_dir / DEV_LOG_KEY_FILENAME
        key = load_or_create_private_key(path)
    return NoteSigner(settings.log_origin, key)


def open_transparency_log(
    ledger: SignedPatentLedger, settings: Settings, store: LogStore | None = None
) -> TransparencyLog:
    """The ledger's Merkle log: sequencer, node store and checkpoint signer."""
    log_store = store if store is not None else open_log_store(settings)
    witnesses = WitnessStore(log_store.database)
    witnesses.create_tables()
    index_store = IndexStore(log_store.database)
    index_store.create_tables()
    signer = load_log_signer(settings)
    sequencer = open_sequencer(ledger, log_store)
    sequencer.recent = RecentLeaves()  # its committed batches, read next by the index
    index = ProductIndexLog(
        index_store, log_store, notification_reader(ledger), signer, recent=sequencer.recent
    )
    return TransparencyLog(
        log_store,
        sequencer,
        signer,
        witnesses=witnesses,
        policy=settings.witness_policy,
        index=index,
    )


def open_witnessing(log: TransparencyLog, settings: Settings) -> Witnessing | None:
    """The witness client of the policy (``PPL_WITNESS_POLICY``), or None without witness
    URLs to submit to."""
    if log.witnesses is None:  # a log opened without its witness store: nothing to keep
        return None
    witnessing = Witnessing(
        log, log.witnesses, settings.witness_policy, timeout=settings.witness_timeout
    )
    return witnessing if witnessing.targets else None


def published_keys(manifest: KeyManifest, log: TransparencyLog) -> dict[str, Any]:
    """What ``GET /v1/keys`` and ``ppl keys list`` print: every event key (the manifest's
    fields, so the document still loads as ``--keys``), the log's C2SP verifier key and
    origin (``--log-key``), and the witnesses the log asks to cosign, with its quorum."""
    document: dict[str, Any] = dict(manifest.to_json())
    document["log"] = {"origin": log.origin, "verifier_key": log.signer.verifier_key_string()}
    document["witnesses"] = {
        "quorum": log.policy.describe(),
        "keys": [witness.key.vkey() for witness in log.policy.witnesses],
    }
    return document


def export_audit_bundle(
    ledger: SignedPatentLedger,
    log: TransparencyLog,
    settings: Settings,
    out: Path,
    progress: Callable[[int, int], None] | None = None,
) -> BundleHeader:
    """Write the audit bundle of this ledger (events, checkpoints, keys) to ``out``."""
    published = log.published()
    return export_bundle(
        out,
        store=log.store,
        origin=log.origin,
        log_key=log.signer.verifier_key_string(),
        event_keys=KeyManifest.load(settings.public_keys_file).to_json(),
        read_notifications=notification_reader(ledger),
        exported_at=system_now(),
        progress=progress,
        upto=published,
        note_of=log.cosigned_notes(published.tree_size if published else 0),
        index_notes=(
            list(log.index.store.notes(published.tree_size).values())
            if log.index is not None and published is not None
            else []
        ),
    )


# --- read models (projections/) ------------------------------------------------------------------
def open_database(settings: Settings) -> Database:
    """A connection layer to the events' database (and schema), for the tables beside them."""
    if settings.is_postgres:
        conninfo, schema = settings.postgres_location()
        return PostgresDatabase(conninfo, schema)
    return SqliteDatabase(settings.eventsourcing_env()["SQLITE_DBNAME"])


def open_projection_store(settings: Settings) -> ProjectionStore:
    """The read models' catalog and tables, in the same database (and schema) as the events."""
    return ProjectionStore(open_database(settings))


# --- reads on streaming replicas (api.read_routing) -------------------------------------------
def open_read_router(
    settings: Settings,
    ledger: SignedPatentLedger,
    log: TransparencyLog,
    projections: ProjectionStore,
) -> ReadRouter:
    """The primary's stores and one set per ``PPL_READ_REPLICAS`` replica. A replica's pool
    opens in the background: one that is down at start-up is skipped until it answers."""
    primary = ReadSource("primary", projections, log)
    replicas = [
        open_replica_source(settings, number, url, ledger, log)
        for number, url in enumerate(settings.read_replicas, start=1)
    ]
    return ReadRouter(primary, replicas, wait=settings.read_wait)


def open_replica_source(
    settings: Settings, number: int, url: str, ledger: SignedPatentLedger, primary: TransparencyLog
) -> ReadSource:
    """Read-only stores on one streaming replica: nothing is created there (a hot standby
    refuses even ``CREATE TABLE IF NOT EXISTS``), nothing written; the log's signer and
    witness policy are the primary's (the replica holds the same checkpoints)."""
    conninfo, schema = settings.replica_location(url)
    database = PostgresDatabase(
        conninfo, schema, timeout=REPLICA_POOL_TIMEOUT, name=f"ppl-replica-{number}"
    )
    log_store = LogStore(database)
    index = ProductIndexLog(
        IndexStore(database), log_store, notification_reader(ledger), primary.signer
    )
    log = TransparencyLog(
        log_store,
        open_sequencer(ledger, log_store),  # never run: the primary's log follower sequences
        primary.signer,
        witnesses=WitnessStore(database) if primary.witnesses is not None else None,
        policy=primary.policy,
        index=index,
    )
    return ReadSource(f"replica-{number}", ProjectionStore(database, create=False), log)


def notification_reader(
    ledger: SignedPatentLedger,
) -> Callable[[int, int], Sequence[Notification]]:
    """(start id, limit) → the ledger's notifications from ``start``, in order."""

    def read(start: int, limit: int) -> Sequence[Notification]:
        return ledger.recorder.select_notifications(start=start, limit=limit)

    return read


def projection_feed(ledger: SignedPatentLedger) -> EventFeed:
    """New events for the follower: each verified by its signature on read."""
    return EventFeed(notification_reader(ledger), ledger.mapper)


def _log_verifier(log: TransparencyLog) -> NoteVerifier:
    return NoteVerifier.from_verifier_key_string(log.signer.verifier_key_string())


def latest_verified_checkpoint(log: TransparencyLog) -> Checkpoint | None:
    """The log's latest checkpoint, its signature checked with the log's own key."""
    record = log.store.latest_checkpoint()
    if record is None:
        return None
    return verify_checkpoint(record.signed_note, _log_verifier(log), origin=log.origin)


def leaf_lookup(log: TransparencyLog) -> LeafLookup:
    """(aggregate id, version) → its leaf index in the Merkle log (None: not sequenced yet):
    what the trail and the dispute check cite, on the API and on the command line."""

    def lookup(aggregate_id: UUID, version: int) -> int | None:
        leaf = log.store.leaf_for_event(aggregate_id, version)
        return None if leaf is None else int(leaf.leaf_index)

    return lookup


def verified_checkpoints(log: TransparencyLog) -> list[Checkpoint]:
    """Every stored checkpoint, each signature checked with the log's own key."""
    verifier = _log_verifier(log)
    return [
        verify_checkpoint(record.signed_note, verifier, origin=log.origin)
        for record in log.store.checkpoints()
    ]


def rebuild_feed(ledger: SignedPatentLedger, log: TransparencyLog) -> CheckpointVerifiedFeed:
    """The whole log for a rebuild: trusted by the latest signed checkpoint, then signatures.

    Read ahead: the store answers the next batch while this one is checked and applied.
    """
    return CheckpointVerifiedFeed(
        ReadAhead(notification_reader(ledger)), ledger.mapper, latest_verified_checkpoint(log)
    )


def open_projection_runner(
    ledger: SignedPatentLedger, store: ProjectionStore, names: Sequence[str] = ()
) -> ProjectionRunner:
    return ProjectionRunner(store, models(names), projection_feed(ledger))


def open_projection_follower(
    ledger: SignedPatentLedger, settings: Settings, store: ProjectionStore
) -> ProjectionFollower:
    """Every read model, kept up by LISTEN/NOTIFY on PostgreSQL and by polling on SQLite."""
    waiter = None
    channel = getattr(ledger.recorder, "channel_name", None)
    if settings.is_postgres and channel:
        conninfo, _ = settings.postgres_location()
        waiter = ListenWaiter(conninfo, channel)
    return ProjectionFollower(
        open_projection_runner(ledger, store), settings.projection_interval, waiter
    )
