"""The offline verifier: checks an audit bundle without trusting the server or its database.

Standard library and ``cryptography`` only, so an auditor can run it alone. Steps:

(1) read the header; take the event keys and the log key from the caller (pinned) or, with a
    warning, from the bundle;
(2) verify every checkpoint's C2SP signature and origin;
(3) for every event, in parallel over the cores: parse, verify its signature with a trusted
    key, decode its canonical state, compute its log leaf hash;
(4) in log order: dense leaf indices, per-aggregate version continuity, key not used after its
    retirement, replay into valid aggregates (audit.replay), Merkle tree built leaf by leaf;
(5) the root at each checkpoint's size against its signed root; a checkpoint beyond the
    events, or an earlier checkpoint that a later one does not extend, is a rolled-back log;
(6) consistency proofs between successive checkpoints, and against a checkpoint the auditor
    kept from a previous audit (``since``).

Every failure raises a ``VerificationError`` naming the failing element; ``exit_code`` maps
each kind to a distinct process exit code (docs/audit-bundle.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice, pairwise
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.bundle import BundleHeader, event_lines, open_bundle, parse_event
from audit.canonical import decode_canonical, parse_timestamp
from audit.checkpoint import Checkpoint, verify_checkpoint
from audit.duplicates import DuplicateFiling, find_duplicate_filings
from audit.errors import (
    CheckpointOriginError,
    CheckpointRootError,
    ConsistencyProofError,
    EventTamperedError,
    InclusionProofError,
    InvalidNoteSignatureError,
    InvalidReplayError,
    KeyConfigurationError,
    LeafOrderError,
    LogRollbackError,
    MalformedBundleError,
    MalformedCheckpointError,
    MalformedEventError,
    MalformedNoteError,
    NonCanonicalValueError,
    RetiredKeyError,
    RootMismatchError,
    UnknownSigningKeyError,
    UnverifiedNoteError,
    VerificationError,
    VersionContinuityError,
)
from audit.event_signature import raw_public_key, verify_event
from audit.keys import KeyManifest
from audit.log_leaf import log_leaf_hash
from audit.logged_event import LoggedEvent
from audit.merkle_nodes import NodeId, append_leaf, build_proof, consistency_proof_plan
from audit.merkle_nodes import root_from_nodes as merkle_root_from_nodes
from audit.note import NoteVerifier
from audit.replay import ReplayChecker
from audit.rfc6962 import verify_consistency

CHUNK = 2000
INLINE_LIMIT = 4000  # below this many events, worker processes cost more than they save

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
    (InvalidReplayError, 15),
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
    (VerificationError, 9),
)


def exit_code(error: Exception) -> int:
    """The process exit code for a verification failure (1 for anything unexpected)."""
    return next((code for kind, code in EXIT_CODES if isinstance(error, kind)), 1)


@dataclass(frozen=True, slots=True)
class CheckedEvent:
    """What a worker returns for one event: everything the sequential checks need."""

    leaf_index: int
    originator_id: UUID
    version: int
    topic: str
    key_id: str
    leaf_hash: bytes
    state: dict[str, Any]


@dataclass
class VerificationReport:
    events: int
    aggregates: int
    checkpoints: list[int]
    keys_from_bundle: bool
    log_key_from_bundle: bool
    warnings: list[str] = field(default_factory=list)


# --- step (3): per-event work, run in worker processes ------------------------------------------
_worker_keys: dict[str, Ed25519PublicKey] = {}


def _init_worker(raw_keys: Mapping[str, bytes]) -> None:
    _worker_keys.clear()
    _worker_keys.update(
        {key_id: Ed25519PublicKey.from_public_bytes(raw) for key_id, raw in raw_keys.items()}
    )


def _check_lines(lines: list[tuple[int, str]]) -> list[CheckedEvent]:
    checked: list[CheckedEvent] = []
    for number, text in lines:
        event = parse_event(text, number)
        envelope = verify_event(
            event.originator_id, event.version, event.topic, event.state, _worker_keys
        )
        state = decode_canonical(envelope.state)
        if not isinstance(state, dict):
            raise MalformedEventError(event.originator_id, event.version, "state is not an object")
        checked.append(
            CheckedEvent(
                event.leaf_index,
                event.originator_id,
                event.version,
                event.topic,
                envelope.key_id,
                log_leaf_hash(event.originator_id, event.version, event.topic, event.state),
                state,
            )
        )
    return checked


def _chunks(lines: Iterable[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    iterator = iter(lines)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _checked_events(
    lines: Iterable[tuple[int, str]], raw_keys: Mapping[str, bytes], workers: int, total: int
) -> Iterator[CheckedEvent]:
    if workers <= 1 or total < INLINE_LIMIT:
        _init_worker(raw_keys)
        for chunk in _chunks(lines):
            yield from _check_lines(chunk)
        return
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(dict(raw_keys),)
    ) as pool:
        # map() keeps order and reads ahead a bounded number of chunks per worker.
        for checked in pool.map(_check_lines, _chunks(lines), chunksize=1):
            yield from checked


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


def verify_bundle(
    path: os.PathLike[str] | str,
    *,
    event_keys: KeyManifest | None = None,
    log_key: NoteVerifier | None = None,
    since: str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VerificationReport:
    """Verify an audit bundle; returns a report, raises a ``VerificationError`` on any failure.

    ``event_keys`` and ``log_key`` pin the keys to trust (otherwise the bundle's own are used,
    and the report warns). ``since`` is a signed checkpoint kept from an earlier audit: the
    bundle must extend it.
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
        # (2) checkpoints
        checkpoints = _verified_checkpoints(header, verifier)
        # (3) and (4) events
        retired = {
            r.key_id: (r.retired_at, parse_timestamp(r.retired_at))
            for r in manifest.records
            if r.retired_at is not None
        }
        raw_keys = {key_id: raw_public_key(key) for key_id, key in manifest.trusted_keys.items()}
        nodes: dict[NodeId, bytes] = {}
        computed: dict[int, bytes] = {}
        versions: dict[UUID, int] = {}
        replay = ReplayChecker()
        size = 0
        worker_count = workers if workers is not None else (os.cpu_count() or 1)
        stream = _checked_events(event_lines(handle), raw_keys, worker_count, header.tree_size)
        for event in stream:
            if event.leaf_index != size:
                raise LeafOrderError(event.leaf_index, size)
            expected = versions.get(event.originator_id, 0) + 1
            if event.version != expected:
                raise VersionContinuityError(
                    event.originator_id, event.version, event.leaf_index, expected
                )
            versions[event.originator_id] = event.version
            if event.key_id in retired:
                retired_text, retired_at = retired[event.key_id]
                stamp = event.state.get("timestamp")
                if stamp is None or stamp > retired_at:
                    raise RetiredKeyError(
                        event.key_id, event.originator_id, event.version, size, retired_text
                    )
            replay.apply(
                LoggedEvent(size, event.originator_id, event.version, event.topic, event.state)
            )
            append_leaf(nodes, size, event.leaf_hash)
            size += 1
            if size in checkpoints:
                computed[size] = merkle_root_from_nodes(size, nodes)
            if progress is not None and (size % CHUNK == 0 or size == header.tree_size):
                progress(size, header.tree_size)
    # (5) roots: a checkpoint beyond the events is a rolled-back log, reported before the
    # replay's end-of-log checks (a cut-off last save would otherwise look merely incomplete)
    _check_roots(checkpoints, computed, size)
    replay.finish()
    # (6) consistency
    sizes = sorted(checkpoints)
    for older, newer in pairwise(sizes):
        plan = consistency_proof_plan(older, newer)
        verify_consistency(
            older, newer, build_proof(plan, nodes), checkpoints[older].root,
            checkpoints[newer].root,
        )  # fmt: skip
    if since is not None:
        _check_since(since, verifier, header.origin, nodes, size)
    if size != header.tree_size:
        raise MalformedBundleError(f"header says {header.tree_size} events, the file has {size}")
    report.events = size
    report.aggregates = len(versions)
    report.checkpoints = sizes
    return report


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
) -> list[DuplicateFiling]:
    """Every canonical product key filed more than once in the bundle's log.

    Each event's signature is verified first (a forged filing must not create or hide a
    duplicate); run ``verify_bundle`` for the log's completeness.
    """
    header, handle = open_bundle(Path(path))
    with handle:
        manifest = (
            event_keys if event_keys is not None else KeyManifest.from_json(header.event_keys)
        )
        raw_keys = {key_id: raw_public_key(key) for key_id, key in manifest.trusted_keys.items()}
        worker_count = workers if workers is not None else (os.cpu_count() or 1)
        stream = _checked_events(event_lines(handle), raw_keys, worker_count, header.tree_size)
        return find_duplicate_filings(
            LoggedEvent(e.leaf_index, e.originator_id, e.version, e.topic, e.state) for e in stream
        )
