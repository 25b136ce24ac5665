"""The offline verifier: checks an audit bundle without trusting the server or its database.

Standard library and ``cryptography`` only, so an auditor can run it alone. Steps:

(1) read the header; take the event keys and the log key from the caller (pinned) or, with a
    warning, from the bundle;
(2) verify every checkpoint's C2SP signature and origin; with a witness policy
    (audit.offline.cosignature), every policy witness's cosignature on any checkpoint, and the
    quorum on the latest — the checkpoint every event is proved under;
(3) for every event, in parallel over the cores: parse, verify its signature with a trusted
    key, hash its log leaf, decode its canonical state, check its leaf index and whether its
    key was retired before its timestamp, and do the replay's stateless checks
    (``audit.offline.replay.prepare``);
(4) in log order: dense leaf indices, per-aggregate version continuity, key not used after its
    retirement, replay into valid aggregates (audit.offline.replay), Merkle tree built leaf by leaf;
(5) the root at each checkpoint's size against its signed root; a checkpoint beyond the
    events, or an earlier checkpoint that a later one does not extend, is a rolled-back log;
(6) consistency proofs between successive checkpoints, and against a checkpoint the auditor
    kept from a previous audit (``since``).

The checkpoint-trusted mode (``trust_checkpoints``, ``ppl audit verify --trust-checkpoints``)
leaves out one check of step (3), each event's Ed25519 signature: an event is vouched for by
the checkpoints whose roots, recomputed in (5) from every event's bytes, hold — on trust that
the log's sequencer verified its signature before logging it (docs/audit-bundle.md says what
this proves and what it does not). Every other step is the same, and a failure is named as
the full verification names it (``_raise_unvouched_failure``).

A live store also holds events after its latest checkpoint, which no bundle contains:
``verify_uncheckpointed_events`` checks each of those by its own signature (``ppl audit verify
--database``), so no stored event goes unaccounted for.

Every failure raises a ``VerificationError`` naming the failing element; ``exit_code`` maps
each kind to a distinct process exit code (docs/audit-bundle.md).
"""

from __future__ import annotations

import gc
import json
import os
import re
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice, pairwise
from pathlib import Path
from typing import IO, Any, TypeVar
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.offline.bundle import BundleHeader, event_line_chunks, open_bundle, parse_event_row
from audit.offline.canonical import (
    DATETIME_TYPE,
    UUID_TYPE,
    decode_canonical,
    parse_timestamp,
)
from audit.offline.checkpoint import Checkpoint, parse_checkpoint, verify_checkpoint
from audit.offline.cosignature import WitnessPolicy, verified_cosignatures
from audit.offline.duplicates import ProductFindings, audit_products
from audit.offline.errors import (
    CheckpointOriginError,
    CheckpointRootError,
    ConsistencyProofError,
    EventTamperedError,
    InclusionProofError,
    IndexNoteError,
    IndexRootError,
    InvalidCosignatureError,
    InvalidNoteSignatureError,
    InvalidReplayError,
    KeyConfigurationError,
    LeafOrderError,
    LogRollbackError,
    MalformedBundleError,
    MalformedCheckpointError,
    MalformedEventError,
    MalformedNoteError,
    MapProofError,
    MisfitIdError,
    NonCanonicalValueError,
    RetiredKeyError,
    RootMismatchError,
    UncheckpointedEventError,
    UnknownSigningKeyError,
    UnloggedEventsError,
    UnverifiedNoteError,
    VerificationError,
    VersionContinuityError,
    WitnessQuorumError,
)
from audit.offline.event_signature import EventVerifier, event_identity, raw_public_key
from audit.offline.index_note import IndexNote, parse_index_note
from audit.offline.index_rebuild import IndexCheck, index_fields
from audit.offline.keys import KeyManifest
from audit.offline.log_leaf import identified_log_leaf_hash
from audit.offline.logged_event import LoggedEvent
from audit.offline.merkle_nodes import NodeId, build_proof, consistency_proof_plan
from audit.offline.merkle_nodes import root_from_nodes as merkle_root_from_nodes
from audit.offline.note import NoteVerifier, open_note, split_note
from audit.offline.replay import ReplayChecker, prepare
from audit.offline.replay_base import Prepared
from audit.offline.rfc6962 import node_hash, verify_consistency

CHUNK = 1000
INLINE_LIMIT = 4000  # below this many events, worker processes cost more than they save
READ_AHEAD = 3  # chunks in flight per worker process

# Distinct exit code per kind of failure (docs/audit-bundle.md). Order matters: subclasses first.
EXIT_CODES: tuple[tuple[type[Exception], int], ...] = (
    (MalformedBundleError, 2),
    (KeyConfigurationError, 3),
    (EventTamperedError, 10),
    (MalformedEventError, 10),
    (NonCanonicalValueError, 10),
    (UnknownSigningKeyError, 11),
    (RetiredKeyError, 12),
    (VersionContinuityError, 13),
    (LeafOrderError, 14),
    (MisfitIdError, 17),
    (InvalidReplayError, 15),
    (UncheckpointedEventError, 16),
    (InvalidNoteSignatureError, 20),
    (UnverifiedNoteError, 20),
    (MalformedNoteError, 20),
    (MalformedCheckpointError, 20),
    (CheckpointOriginError, 20),
    (CheckpointRootError, 21),
    (LogRollbackError, 22),
    (ConsistencyProofError, 22),
    (RootMismatchError, 22),
    (InclusionProofError, 22),
    (UnloggedEventsError, 23),
    (InvalidCosignatureError, 24),
    (WitnessQuorumError, 24),
    (MapProofError, 25),
    (IndexNoteError, 26),
    (IndexRootError, 26),
    (VerificationError, 9),
)


def exit_code(error: Exception) -> int:
    """The process exit code for a verification failure (1 for anything unexpected)."""
    return next((code for kind, code in EXIT_CODES if isinstance(error, kind)), 1)


@dataclass
class VerificationReport:
    events: int
    aggregates: int
    checkpoints: list[int]
    keys_from_bundle: bool
    log_key_from_bundle: bool
    warnings: list[str] = field(default_factory=list)
    cosigned_by: list[str] = field(default_factory=list)  # witnesses of the latest checkpoint
    index_checked: list[int] = field(default_factory=list)  # sizes whose index note held
    checkpoint_trusted: bool = False  # no event's own signature verified (trust_checkpoints)


# --- step (3): per-event work, in worker processes ----------------------------------------------
# Besides Ed25519, per-event Python work is what bounds the verifier (docs/benchmarks.md,
# "Audit"), so nothing is done twice, and nothing is done in the parent that need not be: it is
# one process against all the workers. A worker parses each line, verifies its envelope, hashes
# its log leaf, decodes its state, checks its leaf index and its key's retirement, and runs the
# replay's stateless checks (audit.offline.replay.prepare); it sends back a tuple of the few facts
# the
# sequential checks read (the decoded state itself only when a stateless check failed, for the
# parent's replay to report in its place). A worker returns the rows of its chunk up to its
# first failure, and that failure: the parent checks the rows before it first, so the failure
# reported is the first one in log order, whatever the chunking. Of an event's own checks, a
# worker raises only those that come before any check reading earlier events (its line, its
# envelope, its decoding, its leaf index); the retired key, which comes after the version
# check, and the replay's stateless checks travel as facts for the parent to raise in place.
_AuditRow = tuple[
    str, int, str, bytes, str | None, Prepared | dict[str, Any], dict[str, Any] | None
]
"""originator id (canonical text), version, topic, log leaf hash, the event's key id if that
key was retired and the event claims a later time or none (else None), and what the replay
needs: ``prepare``'s facts, or the decoded state when a stateless check failed; what the
product index reads of it (audit.offline.index_rebuild.index_fields; None for other events)"""

_EventRow = tuple[int, str, int, str, dict[str, Any]]
"""leaf index, originator id (canonical text), version, topic, decoded state"""

_Row = TypeVar("_Row", _AuditRow, _EventRow)
_Chunk = tuple[int, list[str]]  # line number of the first line, the lines as read
_ChunkResult = tuple[list[_Row], VerificationError | None]


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector (as it was before, after).

    The per-event work creates no reference cycles (its objects go when their last reference
    does), while it allocates enough containers to trigger collections that rescan everything
    kept so far (the Merkle nodes, the replayed aggregates): ~20 % of the parent's time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_OpenEvent = Callable[[bytes, bytes], tuple[str, bytes]]
"""``EventVerifier.verify`` (every signature), or ``EventVerifier.read`` (none: the
checkpoint-trusted mode): an event's identity and stored bytes -> its key id and state."""


@dataclass(slots=True)
class _WorkerState:
    events: EventVerifier
    retired: dict[str, datetime]  # key id -> when it was retired
    open_event: _OpenEvent  # events.verify, or events.read when trusting checkpoints
    strings: dict[str, str] = field(default_factory=dict)  # one copy of each topic


_worker: _WorkerState | None = None  # in a worker process: set by the pool's initializer


def _worker_state(
    raw_keys: Mapping[str, bytes], retired: Mapping[str, datetime], trust_checkpoints: bool
) -> _WorkerState:
    keys = {key_id: Ed25519PublicKey.from_public_bytes(raw) for key_id, raw in raw_keys.items()}
    events = EventVerifier(keys)
    return _WorkerState(events, dict(retired), events.read if trust_checkpoints else events.verify)


def _init_worker(
    raw_keys: Mapping[str, bytes], retired: Mapping[str, datetime], trust_checkpoints: bool
) -> None:
    global _worker  # noqa: PLW0603 (one per worker process, for the life of its pool)
    _worker = _worker_state(raw_keys, retired, trust_checkpoints)


def _pooled_rows(
    row: Callable[[_WorkerState, int, str], _Row], chunk: _Chunk
) -> _ChunkResult[_Row]:
    """``_rows`` in a worker process, with its state."""
    if _worker is None:
        raise RuntimeError("worker process not initialized")
    return _rows(_worker, row, chunk)


def _verified_line(
    open_event: _OpenEvent, number: int, line: str
) -> tuple[int, str, int, str, bytes, str, dict[str, Any]]:
    """Parse one event line, verify its signature with a trusted key (``open_event``:
    ``EventVerifier.verify``; its layout and key only with ``EventVerifier.read``), decode its
    state.

    Returns: leaf index, originator id (canonical text), version, topic, log leaf hash, key
    id, state.
    """
    text = line[:-1] if line[-1:] == "\n" else line
    if not text:
        raise MalformedBundleError("blank line", number)
    leaf_index, originator_id, version, topic, stored = parse_event_row(text, number)
    try:
        identity = event_identity(bytes.fromhex(originator_id.replace("-", "")), version, topic)
    except ValueError as exc:  # a version beyond 64 bits, a topic that is not Unicode text
        raise MalformedEventError(UUID(originator_id), version, str(exc)) from exc
    key_id, canonical = open_event(identity, stored)
    state = _decode_state(canonical)
    if type(state) is not dict:
        raise MalformedEventError(UUID(originator_id), version, "state is not an object")
    leaf_hash = identified_log_leaf_hash(identity, stored)
    return leaf_index, originator_id, version, topic, leaf_hash, key_id, state


def _rows(
    worker: _WorkerState, row: Callable[[_WorkerState, int, str], _Row], chunk: _Chunk
) -> _ChunkResult[_Row]:
    """``row`` of each line of a chunk: the rows that passed, up to the first failure (if any)."""
    rows: list[_Row] = []
    first, lines = chunk
    with _no_cycle_collection():
        try:
            for number, line in enumerate(lines, start=first):
                rows.append(row(worker, number, line))
        except VerificationError as error:
            return rows, error
    return rows, None


def _audit_row(worker: _WorkerState, number: int, line: str) -> _AuditRow:
    """Step (3) of ``verify_bundle`` for one line."""
    leaf_index, originator_id, version, topic, leaf_hash, key_id, state = _verified_line(
        worker.open_event, number, line
    )
    position = number - 2
    if leaf_index != position:
        raise LeafOrderError(leaf_index, position)
    retired_at = worker.retired.get(key_id)
    late_key = None
    if retired_at is not None:
        stamp = state.get("timestamp")
        if not isinstance(stamp, datetime) or stamp > retired_at:
            late_key = key_id
    prepared = prepare(position, originator_id, version, topic, state)
    return (
        originator_id,
        version,
        worker.strings.setdefault(topic, topic),  # one copy of each topic: pickled once
        leaf_hash,
        late_key,
        state if prepared is None else prepared,
        index_fields(topic, state),
    )


def _event_row(worker: _WorkerState, number: int, line: str) -> _EventRow:
    """One line's event, verified and decoded (for ``duplicates_in_bundle``)."""
    leaf_index, originator_id, version, topic, _, _, state = _verified_line(
        worker.events.verify, number, line
    )
    return leaf_index, originator_id, version, topic, state


def _in_log_order(
    row: Callable[[_WorkerState, int, str], _Row],
    handle: IO[str],
    raw_keys: Mapping[str, bytes],
    retired: Mapping[str, datetime],
    workers: int,
    total: int,
    trust_checkpoints: bool = False,
) -> Generator[_Row, None, None]:
    """``row`` of every event line, in log order; the first failure raised in its place (after
    the rows before it). ``trust_checkpoints``: no event's signature is verified."""
    chunks = event_line_chunks(handle, CHUNK)
    if workers <= 1 or total < INLINE_LIMIT:
        worker = _worker_state(raw_keys, retired, trust_checkpoints)
        for chunk in chunks:
            rows, error = _rows(worker, row, chunk)
            yield from rows
            if error is not None:
                raise error
        return
    with ProcessPoolExecutor(
        max_workers=workers,
        initializer=_init_worker,
        initargs=(dict(raw_keys), dict(retired), trust_checkpoints),
    ) as pool:
        # In order, with a bounded number of chunks in flight (Executor.map would read the
        # whole file and submit every chunk at once).
        pending: deque[Future[_ChunkResult[_Row]]] = deque(
            pool.submit(_pooled_rows, row, chunk) for chunk in islice(chunks, READ_AHEAD * workers)
        )
        try:
            while pending:
                rows, error = pending.popleft().result()
                following = next(chunks, None)
                if following is not None:
                    pending.append(pool.submit(_pooled_rows, row, following))
                yield from rows
                if error is not None:
                    raise error
        finally:  # a failure here or in the caller's checks: stop the chunks not yet started
            for future in pending:
                future.cancel()


class _FastPathRefusedError(Exception):
    """The fast decoding cannot vouch for these bytes: ask the reference decoder."""


_CANONICAL_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z"
)  # format_timestamp's only spelling


def _revive_typed_value(tree: dict[str, Any]) -> Any:
    """``object_hook``: a typed form becomes its value, as ``from_canonical_tree`` revives it."""
    if len(tree) != 2 or "_type_" not in tree or "_data_" not in tree:
        return tree
    kind, data = tree["_type_"], tree["_data_"]
    if kind == DATETIME_TYPE and type(data) is str and _CANONICAL_TIMESTAMP.fullmatch(data):
        # The canonical spelling only (parse_timestamp accepts nothing else), read in C.
        return datetime.fromisoformat(data)
    if kind == UUID_TYPE and type(data) is str:
        return UUID(hex=data)
    raise _FastPathRefusedError


def _typed_form(value: object) -> dict[str, str]:
    """``default`` of the encoder: the typed form of a revived value, canonically spelled."""
    if type(value) is datetime and value.tzinfo is UTC:
        # format_timestamp's spelling: "+00:00" is the only offset of a UTC datetime.
        return {"_type_": DATETIME_TYPE, "_data_": f"{value.isoformat('T', 'microseconds')[:-6]}Z"}
    if type(value) is UUID:
        return {"_type_": UUID_TYPE, "_data_": value.hex}
    raise _FastPathRefusedError


def _refuse_number(text: str) -> Any:
    raise _FastPathRefusedError


_STATE_DECODER = json.JSONDecoder(
    object_hook=_revive_typed_value, parse_float=_refuse_number, parse_constant=_refuse_number
)
_STATE_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    sort_keys=True,
    separators=(",", ":"),
    default=_typed_form,
    check_circular=False,  # a decoded tree has no cycles
)


_PLAIN_DECODER = json.JSONDecoder(parse_float=_refuse_number, parse_constant=_refuse_number)
_PLAIN_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False
)  # audit.offline.canonical's encoder, without the cycle check a decoded tree does not need
_TYPED_KEY = '"_type_"'  # how the key of a typed form is written in canonical JSON


def _decode_state(data: bytes) -> Any:
    """``decode_canonical(data)``, in a third of the time when ``data`` is canonical.

    The reference parses with a Python hook per object, walks the tree again to revive typed
    values and encodes the tree back to check the canonical form. The fast paths only
    *accept*: floats, typed values they do not know, non-canonical timestamps, duplicate keys
    (they collapse, so the encoding differs) and any other spelling fall through to
    ``decode_canonical``, which raises the precise ``NonCanonicalValueError`` (or accepts a
    spelling the fast paths did not vouch for), so all accept exactly the same bytes and
    return the same value.

    (a) An event's state holds one typed value, its top-level ``timestamp``: parse and encode
        back with no Python hook at all, then count the typed forms in the (now known
        canonical) text, where the key ``"_type_"`` is written literally: none, or only the
        timestamp's, and that one is revived; anything else goes to (b).
    (b) Parse once, reviving typed values as they are read (``object_hook``), and check the
        canonical form by encoding the revived value back.
    """
    try:
        text = data.decode("utf-8")
        tree, _ = _PLAIN_DECODER.raw_decode(text)  # anything after it fails the comparison
        if _PLAIN_ENCODER.encode(tree) == text:  # (a)
            typed = text.count(_TYPED_KEY)
            if typed == 0:
                return tree
            if typed == 1 and type(tree) is dict:
                stamp = tree.get("timestamp")
                if type(stamp) is dict and len(stamp) == 2:
                    moment = stamp.get("_data_")
                    if (
                        stamp.get("_type_") == DATETIME_TYPE
                        and type(moment) is str
                        and _CANONICAL_TIMESTAMP.fullmatch(moment)
                    ):
                        tree["timestamp"] = datetime.fromisoformat(moment)
                        return tree
            value, _ = _STATE_DECODER.raw_decode(text)  # (b)
            if _STATE_ENCODER.encode(value) == text:
                return value
    except (ValueError, _FastPathRefusedError):  # ValueError: bad UTF-8 or JSON, a bad date
        pass
    return decode_canonical(data)


# --- the whole verification ---------------------------------------------------------------------
def _trusted_inputs(
    header: BundleHeader, event_keys: KeyManifest | None, log_key: NoteVerifier | None
) -> tuple[KeyManifest, NoteVerifier]:
    manifest = event_keys if event_keys is not None else KeyManifest.from_json(header.event_keys)
    verifier = (
        log_key if log_key is not None else NoteVerifier.from_verifier_key_string(header.log_key)
    )
    return manifest, verifier


def _verified_checkpoints(header: BundleHeader, verifier: NoteVerifier) -> dict[int, Checkpoint]:
    checkpoints: dict[int, Checkpoint] = {}
    for note in header.checkpoints:
        checkpoint = verify_checkpoint(note, verifier, origin=header.origin)
        seen = checkpoints.get(checkpoint.size)
        if seen is not None and seen.root != checkpoint.root:
            raise LogRollbackError(checkpoint.size, "the log signed two different roots")
        checkpoints[checkpoint.size] = checkpoint
    return checkpoints


def _verified_index_notes(
    header: BundleHeader,
    verifier: NoteVerifier,
    checkpoints: Mapping[int, Checkpoint],
    every: bool = True,
) -> IndexCheck:
    """Each index note, verified under the log's key, to be checked against the rebuild.

    A signature or format that does not hold raises at once (the note is not the log's). What
    the log's own checks explain better waits for them (``IndexCheck.finish``): a note of no
    checkpoint, of another root than its checkpoint's (a forged checkpoint shows there too),
    two notes of one size, or a checkpoint before the latest note without one — the log
    indexes every checkpoint in order, so only the checkpoints after the latest note may lack
    one (IndexCheck warns of them).

    Raises:
        MalformedNoteError, InvalidNoteSignatureError, UnverifiedNoteError: a signature.
        IndexNoteError: a note's text is not an index note.
    """
    notes: dict[int, IndexNote] = {}
    deferred: VerificationError | None = None
    for signed in header.index_notes:
        note = parse_index_note(open_note(signed, [verifier]).text)
        checkpoint = checkpoints.get(note.tree_size)
        try:
            if checkpoint is None:
                raise IndexNoteError("the bundle has no checkpoint of its size", note.tree_size)
            if note.tree_size in notes:
                raise IndexNoteError("the bundle has two notes of this size", note.tree_size)
            note.require_checkpoint(checkpoint)
        except IndexNoteError as exc:
            deferred = deferred or exc
        notes[note.tree_size] = note
    missing = sorted(s for s in set(checkpoints) - set(notes) if notes and s < max(notes))
    if missing and deferred is None:
        deferred = IndexNoteError("the checkpoint of this size has no index note", missing[0])
    return IndexCheck(notes, deferred, every=every)


def _retired_keys(manifest: KeyManifest) -> dict[str, tuple[str, datetime]]:
    """Key id -> when it was retired (as written, and parsed) for every retired key."""
    return {
        r.key_id: (r.retired_at, parse_timestamp(r.retired_at))
        for r in manifest.records
        if r.retired_at is not None
    }


def _raw_keys(manifest: KeyManifest) -> dict[str, bytes]:
    return {key_id: raw_public_key(key) for key_id, key in manifest.trusted_keys.items()}


def _append_leaf(nodes: dict[NodeId, bytes], size: int, leaf_hash: bytes) -> None:
    """``merkle_nodes.append_leaf(nodes, size, leaf_hash)``, a third of the cost, for step (4).

    Same nodes: the leaf, then each perfect subtree it completes, node_hash(left sibling, new
    node), one per trailing one bit of ``size``. Its checks cannot fail here: the verifier
    appends its own leaves in order, each once, and a leaf hash is a SHA-256 digest; and the
    roots built from these nodes are compared with the signed checkpoints.
    """
    node, level, index = leaf_hash, 0, size
    nodes[(0, index)] = node
    while index & 1:
        node = node_hash(nodes[(level, index - 1)], node)
        level, index = level + 1, index >> 1
        nodes[(level, index)] = node


def _witnessed(header: BundleHeader, policy: WitnessPolicy, now: int | None) -> list[str]:
    """Check every policy witness's cosignature on every checkpoint, and the quorum on the
    latest; the witnesses that cosigned the latest.

    Earlier checkpoints need no quorum (they may predate witnessing): the latest is the one the
    events and, through consistency proofs, every earlier checkpoint are proved under.
    """
    clock = int(time.time()) if now is None else now
    notes = [(parse_checkpoint(split_note(note)[0]).size, note) for note in header.checkpoints]
    if not notes:
        raise MalformedBundleError("no checkpoint, want one for the witness policy to check")
    latest = max(notes)[1]
    for _, note in notes:
        if note is not latest:
            verified_cosignatures(note, policy.keys, now=clock)
    return [cosignature.witness.label for cosignature in policy.require(latest, now=clock)]


TRUSTED_CHECKPOINTS_WARNING = (
    "checkpoint-trusted mode (--trust-checkpoints): no event's own Ed25519 signature was "
    "verified; each event's bytes are vouched for by the log's signed checkpoints, trusting "
    "that the log's sequencer verified every signature before logging the event (a forged "
    "signature the log committed to passes; docs/audit-bundle.md)"
)


def verify_bundle(
    path: os.PathLike[str] | str,
    *,
    event_keys: KeyManifest | None = None,
    log_key: NoteVerifier | None = None,
    since: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    witnesses: WitnessPolicy | None = None,
    now: int | None = None,
    index_every_checkpoint: bool = True,
    trust_checkpoints: bool = False,
) -> VerificationReport:
    """Verify an audit bundle; returns a report, raises a ``VerificationError`` on any failure.

    ``event_keys`` and ``log_key`` pin the keys to trust (otherwise the bundle's own are used,
    and the report warns). ``since`` is a signed checkpoint kept from an earlier audit: the
    bundle must extend it. ``witnesses``: the policy whose quorum the latest checkpoint must
    meet (``now``, POSIX seconds, bounds the cosignatures' timestamps; default the clock).
    ``index_every_checkpoint`` false: the product index is re-checked at the latest index note
    only (one rebuild: audit.offline.index_rebuild.IndexCheck), and the report warns of it.

    ``trust_checkpoints``: the checkpoint-trusted mode (docs/audit-bundle.md). Step (3) checks
    each event's envelope layout and key id but not its Ed25519 signature; every other check
    is the same — each log leaf hashed from the event's bytes, every checkpoint's root, the
    whole replay, the product index. An event is then vouched for by the first checkpoint
    after it whose root holds: the log signed it, and the log's sequencer verifies each
    event's signature before logging it. The report says so (``checkpoint_trusted``, and a
    warning). A failure is named as the full verification names it: before it is raised, the
    events no holding checkpoint vouches for, up to the failing one, are verified in full
    (their signatures included), in log order, and the first of them that fails is raised
    instead (the full verification would have stopped there first).
    """
    # (1) header and keys
    header, handle = open_bundle(Path(path))
    with handle:
        manifest, verifier = _trusted_inputs(header, event_keys, log_key)
        report = VerificationReport(0, 0, [], event_keys is None, log_key is None)
        if event_keys is None:
            report.warnings.append("event keys taken from the bundle itself (pin them with --keys)")
        if log_key is None:
            report.warnings.append("log key taken from the bundle itself (pin it with --log-key)")
        if trust_checkpoints:
            report.checkpoint_trusted = True
            report.warnings.append(TRUSTED_CHECKPOINTS_WARNING)
        # (2) checkpoints
        checkpoints = _verified_checkpoints(header, verifier)
        index = _verified_index_notes(header, verifier, checkpoints, index_every_checkpoint)
        report.warnings += index.warnings(checkpoints)
        if witnesses is not None and witnesses.requires_witnesses:
            report.cosigned_by = _witnessed(header, witnesses, now)
        # (3) each event, in the workers; (4) in log order, here
        retired = _retired_keys(manifest)
        retired_at = {key_id: at for key_id, (_, at) in retired.items()}
        raw_keys = _raw_keys(manifest)
        log = _LogCheck(checkpoints, retired, index)
        rows = _in_log_order(
            _audit_row,
            handle,
            raw_keys,
            retired_at,
            workers if workers is not None else (os.cpu_count() or 1),
            header.tree_size,
            trust_checkpoints,
        )
        try:
            log.run(rows, progress, header.tree_size)
            # (5) roots: a checkpoint beyond the events is a rolled-back log, reported before
            # the replay's end-of-log checks (a cut-off last save would otherwise look merely
            # incomplete)
            _check_roots(checkpoints, log.computed, log.size)
            log.replay.finish()
            # (6) consistency
            report.checkpoints = _check_consistency(checkpoints, log.nodes)
            if since is not None:
                _check_since(since, verifier, header.origin, log.nodes, log.size)
            if log.size != header.tree_size:
                raise MalformedBundleError(
                    f"header says {header.tree_size} events, the file has {log.size}"
                )
            report.index_checked = _finish_index(index)  # (7) the product index
        except VerificationError:
            if trust_checkpoints:  # the failure as the full verification would report it
                _raise_unvouched_failure(path, raw_keys, retired_at, log.vouched, log.size + 1)
            raise
    report.events = log.size
    report.aggregates = len(log.versions)
    return report


class _LogCheck:
    """Step (4), and the roots of step (5): each event's row, in log order."""

    def __init__(
        self,
        checkpoints: Mapping[int, Checkpoint],
        retired: Mapping[str, tuple[str, datetime]],
        index: IndexCheck,
    ) -> None:
        self.checkpoints = checkpoints
        self.retired = retired
        self.index = index
        self.nodes: dict[NodeId, bytes] = {}
        self.computed: dict[int, bytes] = {}  # the root at each checkpoint's size
        self.versions: dict[str, int] = {}  # by originator id (canonical text)
        self.replay = ReplayChecker()
        self.size = 0  # events checked
        self.vouched = 0  # the events before it are under a checkpoint whose root holds

    def run(
        self,
        rows: Generator[_AuditRow, None, None],
        progress: Callable[[int, int], None] | None,
        total: int,
    ) -> None:
        """Check every row (``self.size`` and ``self.vouched`` tell how far it got).

        Raises:
            VerificationError: a row's own check in the workers (raised by ``rows``), or a
                check of this step.
        """
        checkpoints, retired, index, replay = (
            self.checkpoints, self.retired, self.index, self.replay
        )  # fmt: skip
        nodes, computed, versions = self.nodes, self.computed, self.versions
        size = vouched = 0
        # The workers checked each row's leaf index (= size) and retired key's timestamp.
        # ``closing``: when a check below raises, the worker pool is shut down here and now,
        # not whenever the suspended generator is collected (perhaps on the pool's own thread,
        # which cannot join itself).
        try:
            with closing(rows), _no_cycle_collection():
                for originator_id, version, topic, leaf_hash, late_key, checked, facts in rows:
                    expected = versions.get(originator_id, 0) + 1
                    if version != expected:
                        raise VersionContinuityError(UUID(originator_id), version, size, expected)
                    versions[originator_id] = version
                    if late_key is not None:
                        raise RetiredKeyError(
                            late_key, UUID(originator_id), version, size, retired[late_key][0]
                        )
                    if isinstance(checked, tuple):
                        replay.apply_prepared(size, originator_id, version, topic, checked)
                    else:  # a stateless check failed: the replay reports it in its place
                        replay.apply(
                            LoggedEvent(size, UUID(originator_id), version, topic, checked)
                        )
                    index.event(size, originator_id, version, topic, facts)
                    _append_leaf(nodes, size, leaf_hash)
                    size += 1
                    if size in checkpoints:
                        root = computed[size] = merkle_root_from_nodes(size, nodes)
                        if root == checkpoints[size].root:
                            vouched = size
                    if progress is not None and (size % CHUNK == 0 or size == total):
                        progress(size, total)
        finally:
            self.size, self.vouched = size, vouched


def _raise_unvouched_failure(
    path: os.PathLike[str] | str,
    raw_keys: Mapping[str, bytes],
    retired: Mapping[str, datetime],
    start: int,
    stop: int,
) -> None:
    """The checkpoint-trusted mode's failure, named as the full verification names it.

    Runs step (3) in full — each event's Ed25519 signature too — over the events at leaves
    ``start`` (the first no holding checkpoint vouches for) to ``stop`` - 1 (the failing one,
    or the end of the log), in log order, and raises its first failure. The checks of step
    (4) passed for every one of them before the failure, and they read the same facts in
    both modes, so the failure the full verification meets first is either one of these or
    the one the caller is about to raise. Returns when all of them verify.

    Raises:
        VerificationError: the first of those events that fails step (3) in full.
    """
    worker = _worker_state(raw_keys, retired, trust_checkpoints=False)
    _, handle = open_bundle(Path(path))
    with handle:
        lines = islice(handle, start, stop)
        number = start + 2  # the line number of the event at leaf ``start``
        while chunk := list(islice(lines, CHUNK)):
            _, error = _rows(worker, _audit_row, (number, chunk))
            if error is not None:
                raise error
            number += len(chunk)


def _finish_index(index: IndexCheck) -> list[int]:
    """Step (7)'s end: the sizes whose index note held (at every checkpoint, or the latest,
    whose rebuild finishes here), without pauses of the cycle collector."""
    with _no_cycle_collection():
        return index.finish()


def _check_roots(
    checkpoints: Mapping[int, Checkpoint], computed: Mapping[int, bytes], size: int
) -> None:
    beyond = [s for s in checkpoints if s > size]
    if beyond:
        raise LogRollbackError(
            max(beyond), f"signed for {max(beyond)} events, but the bundle has only {size}"
        )
    wrong = sorted(s for s in checkpoints if computed[s] != checkpoints[s].root)
    if not wrong:
        return
    latest = max(checkpoints)
    if latest not in wrong:
        first = wrong[0]
        raise LogRollbackError(
            first,
            f"its root is not a prefix of the log that checkpoint {latest} signs: "
            "history was rewritten after it was published",
        )
    first = wrong[0]
    raise CheckpointRootError(first, checkpoints[first].root, computed[first])


def _check_consistency(
    checkpoints: Mapping[int, Checkpoint], nodes: Mapping[NodeId, bytes]
) -> list[int]:
    """Verify a consistency proof, built from the nodes, between successive checkpoints.

    Returns the checkpoints' sizes, in order.
    """
    sizes = sorted(checkpoints)
    for older, newer in pairwise(sizes):
        plan = consistency_proof_plan(older, newer)
        verify_consistency(
            older, newer, build_proof(plan, nodes), checkpoints[older].root,
            checkpoints[newer].root,
        )  # fmt: skip
    return sizes


def _check_since(
    signed_note: str, verifier: NoteVerifier, origin: str, nodes: Mapping[NodeId, bytes], size: int
) -> None:
    trusted = verify_checkpoint(signed_note, verifier, origin=origin)
    if trusted.size > size:
        raise LogRollbackError(
            trusted.size, f"the auditor saw {trusted.size} events before; the bundle has {size}"
        )
    if trusted.size and merkle_root_from_nodes(trusted.size, nodes) != trusted.root:
        raise LogRollbackError(
            trusted.size, "the bundle's log does not extend the checkpoint kept from before"
        )


def duplicates_in_bundle(
    path: os.PathLike[str] | str,
    *,
    event_keys: KeyManifest | None = None,
    workers: int | None = None,
) -> ProductFindings:
    """Duplicate filings (per key rule), forged stored keys and same-product groups of the
    bundle's log (audit.offline.duplicates.audit_products).

    Each event's signature is verified first (a forged filing must not create or hide a
    duplicate); run ``verify_bundle`` for the log's completeness.
    """
    header, handle = open_bundle(Path(path))
    with handle:
        manifest = (
            event_keys if event_keys is not None else KeyManifest.from_json(header.event_keys)
        )
        worker_count = workers if workers is not None else (os.cpu_count() or 1)
        rows = _in_log_order(
            _event_row, handle, _raw_keys(manifest), {}, worker_count, header.tree_size
        )
        with closing(rows):  # shut the worker pool down here, even if the search raises
            return audit_products(
                LoggedEvent(leaf_index, UUID(originator_id), version, topic, state)
                for leaf_index, originator_id, version, topic, state in rows
            )


# --- the events after the latest checkpoint (a live store) --------------------------------------
StoredEventRow = tuple[UUID, int, str, bytes]
"""originator id, version, topic, stored state (the signed envelope): one event as stored"""


def verify_uncheckpointed_events(
    events: Iterable[StoredEventRow],
    *,
    event_keys: KeyManifest,
    require_logged: bool = False,
) -> int:
    """Verify each stored event that no checkpoint covers yet by its own signature; returns how
    many there are.

    A bundle holds the events under its latest checkpoint. The events stored after it are
    committed to by no signed root yet, so their signatures are all that vouches for them; the
    sequencer refuses one that does not verify, and ``ppl audit verify --database`` must not
    answer OK while such an event is stored. ``events`` come in notification order (server
    side: ``audit.log.bundle_export.events_after``); ``event_keys`` are the keys trusted for the
    bundle (pinned, or the bundle's own). ``require_logged``: the auditor wants every stored
    event under a checkpoint, so any such event at all is an error.

    Steps, for each event: (1) its envelope and Ed25519 signature, by a trusted key; (2) its
    canonical state, an object; (3) a retired key does not sign an event claiming a later time
    (the checks of the bundle's step (3) that read only the event itself: no leaf order,
    version continuity or replay, which need the log). Then (4) ``require_logged``.

    Raises:
        UncheckpointedEventError: an event fails (1)-(3); it names the event, its cause is
            chained (``__cause__``).
        UnloggedEventsError: ``require_logged`` and there is such an event (raised after every
            one verified, so a forged event is reported as forged).
    """
    verifier = EventVerifier(event_keys.trusted_keys)
    retired = _retired_keys(event_keys)
    count = 0
    first: tuple[UUID, int] | None = None
    for originator_id, version, topic, stored in events:
        try:
            _verify_stored_event(verifier, retired, originator_id, version, topic, stored)
        except UncheckpointedEventError:
            raise
        except VerificationError as exc:
            raise UncheckpointedEventError(originator_id, version, str(exc)) from exc
        if first is None:
            first = (originator_id, version)
        count += 1
    if require_logged and first is not None:  # (4)
        raise UnloggedEventsError(count, *first)
    return count


def _verify_stored_event(
    verifier: EventVerifier,
    retired: Mapping[str, tuple[str, datetime]],
    originator_id: UUID,
    version: int,
    topic: str,
    stored: bytes,
) -> None:
    """Steps (1)-(3) of ``verify_uncheckpointed_events`` for one event."""
    try:
        identity = event_identity(originator_id.bytes, version, topic)
    except ValueError as exc:  # a version beyond 64 bits, a topic that is not Unicode text
        raise MalformedEventError(originator_id, version, str(exc)) from exc
    key_id, canonical = verifier.verify(identity, stored)  # (1)
    state = _decode_state(canonical)  # (2)
    if type(state) is not dict:
        raise MalformedEventError(originator_id, version, "state is not an object")
    retirement = retired.get(key_id)  # (3)
    if retirement is not None:
        written, at = retirement
        stamp = state.get("timestamp")
        if not isinstance(stamp, datetime) or stamp > at:
            raise UncheckpointedEventError(
                originator_id,
                version,
                f"signed by key {key_id}, retired at {written}, but it claims a later time",
            )
