"""The offline verifier: checks an audit bundle without trusting the server or its database.

Standard library and ``cryptography`` only, so an auditor can run it alone. Steps:

(1) read the header; take the event keys and the log key from the caller (pinned) or, with a
    warning, from the bundle;
(2) verify every checkpoint's C2SP signature and origin;
(3) for every event: parse, verify its signature with a trusted key and compute its log leaf
    hash, in parallel over the cores; decode its canonical state (in the parent process);
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

import json
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice, pairwise
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.bundle import BundleHeader, event_lines, open_bundle, parse_event
from audit.canonical import (
    DATETIME_TYPE,
    UUID_TYPE,
    decode_canonical,
    parse_timestamp,
)
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
from audit.merkle_nodes import NodeId, build_proof, consistency_proof_plan
from audit.merkle_nodes import root_from_nodes as merkle_root_from_nodes
from audit.note import NoteVerifier
from audit.replay import ReplayChecker
from audit.rfc6962 import node_hash, verify_consistency

CHUNK = 2000
INLINE_LIMIT = 4000  # below this many events, worker processes cost more than they save
READ_AHEAD = 2  # chunks in flight per worker process

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
    """One event after step (3): everything the sequential checks need."""

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


# --- step (3): per-event work ------------------------------------------------------------------
# Per event, this and the sequential checks are all the verifier does besides Ed25519
# (docs/benchmarks.md, "Audit"), so nothing is done twice or shipped that need not be. Workers
# parse each line, verify its envelope and hash its log leaf, and send back plain tuples of
# bytes, numbers and strings, which pickle in well under a microsecond per event; the parent
# decodes the canonical state itself, since pickling the decoded dict over and back would cost
# more than decoding it. A worker returns the events of its chunk that passed and the chunk's
# first failure, so the parent checks the events before it first: the failure reported is the
# first one in log order, whatever the chunking.
_SignedRow = tuple[int, bytes, int, str, str, bytes, bytes]
"""leaf index, originator id (16 bytes), version, topic, key id, log leaf hash, canonical state"""

_worker_keys: dict[str, Ed25519PublicKey] = {}


def _init_worker(raw_keys: Mapping[str, bytes]) -> None:
    _worker_keys.clear()
    _worker_keys.update(
        {key_id: Ed25519PublicKey.from_public_bytes(raw) for key_id, raw in raw_keys.items()}
    )


def _check_event(number: int, text: str, strings: dict[str, str]) -> _SignedRow:
    """Parse one event line, verify its signature with a trusted key, hash its log leaf.

    ``strings`` holds one copy of each topic and key id of the chunk, so each is pickled once.
    """
    event = parse_event(text, number)
    envelope = verify_event(
        event.originator_id, event.version, event.topic, event.state, _worker_keys
    )
    return (
        event.leaf_index,
        event.originator_id.bytes,
        event.version,
        strings.setdefault(event.topic, event.topic),
        strings.setdefault(envelope.key_id, envelope.key_id),
        log_leaf_hash(event.originator_id, event.version, event.topic, event.state),
        envelope.state,
    )


def _check_lines(
    lines: list[tuple[int, str]],
) -> tuple[list[_SignedRow], VerificationError | None]:
    """Check a chunk of lines: the events that passed, up to the first failure (if any)."""
    checked: list[_SignedRow] = []
    strings: dict[str, str] = {}
    try:
        for number, text in lines:
            checked.append(_check_event(number, text, strings))
    except VerificationError as error:
        return checked, error
    return checked, None


def _chunks(lines: Iterable[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    iterator = iter(lines)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _signed_rows(
    lines: Iterable[tuple[int, str]], raw_keys: Mapping[str, bytes], workers: int, total: int
) -> Iterator[_SignedRow]:
    """Every line's envelope verified, in log order; the first failure raised in its place."""
    if workers <= 1 or total < INLINE_LIMIT:
        _init_worker(raw_keys)
        for checked, error in map(_check_lines, _chunks(lines)):
            yield from checked
            if error is not None:
                raise error
        return
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(dict(raw_keys),)
    ) as pool:
        # In order, with a bounded number of chunks in flight (Executor.map would read the
        # whole file and submit every chunk at once).
        pending: deque[Future[tuple[list[_SignedRow], VerificationError | None]]] = deque()
        try:
            chunks = _chunks(lines)
            for chunk in islice(chunks, READ_AHEAD * workers):
                pending.append(pool.submit(_check_lines, chunk))
            while pending:
                checked, error = pending.popleft().result()
                following = next(chunks, None)
                if following is not None:
                    pending.append(pool.submit(_check_lines, following))
                yield from checked
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


def _decode_state(data: bytes) -> Any:
    """``decode_canonical(data)``, in half the time when ``data`` is canonical.

    The fast path parses once, reviving typed values as it goes (the reference parses with a
    Python hook per object, then walks the tree again to revive them), and checks the canonical
    form by encoding the revived value back. It only *accepts*: floats, typed values it does
    not know, non-canonical timestamps, duplicate keys (they collapse, so the encoding differs)
    and any other spelling fall through to ``decode_canonical``, which raises the precise
    ``NonCanonicalValueError`` (or accepts a spelling the fast path did not vouch for), so
    both accept exactly the same bytes and return the same value.
    """
    try:
        text = data.decode("utf-8")
        value, _ = _STATE_DECODER.raw_decode(text)  # anything after it fails the comparison
        if _STATE_ENCODER.encode(value) == text:
            return value
    except (ValueError, _FastPathRefusedError):  # ValueError: bad UTF-8 or JSON
        pass
    return decode_canonical(data)


def _event_state(originator_id: UUID, version: int, canonical: bytes) -> dict[str, Any]:
    """The decoded state of a verified event (its canonical JSON object).

    Raises:
        NonCanonicalValueError: the bytes are not canonical JSON.
        MalformedEventError: they are, but not of an object.
    """
    state = _decode_state(canonical)
    if not isinstance(state, dict):
        raise MalformedEventError(originator_id, version, "state is not an object")
    return state


def _checked_events(
    lines: Iterable[tuple[int, str]], raw_keys: Mapping[str, bytes], workers: int, total: int
) -> Iterator[CheckedEvent]:
    """Step (3) whole: every event verified and decoded, in log order."""
    for leaf_index, id_bytes, version, topic, key_id, leaf_hash, canonical in _signed_rows(
        lines, raw_keys, workers, total
    ):
        originator_id = UUID(bytes=id_bytes)
        state = _event_state(originator_id, version, canonical)
        yield CheckedEvent(leaf_index, originator_id, version, topic, key_id, leaf_hash, state)


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


def _retired_keys(manifest: KeyManifest) -> dict[str, tuple[str, datetime]]:
    """Key id -> when it was retired (as written, and parsed) for every retired key."""
    return {
        r.key_id: (r.retired_at, parse_timestamp(r.retired_at))
        for r in manifest.records
        if r.retired_at is not None
    }


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
        retired = _retired_keys(manifest)
        raw_keys = {key_id: raw_public_key(key) for key_id, key in manifest.trusted_keys.items()}
        nodes: dict[NodeId, bytes] = {}
        computed: dict[int, bytes] = {}
        versions: dict[bytes, int] = {}  # by originator id (16 bytes): hashed in C
        replay = ReplayChecker()
        size = 0
        worker_count = workers if workers is not None else (os.cpu_count() or 1)
        rows = _signed_rows(event_lines(handle), raw_keys, worker_count, header.tree_size)
        for leaf_index, id_bytes, version, topic, key_id, leaf_hash, canonical in rows:
            originator_id = UUID(bytes=id_bytes)
            state = _event_state(originator_id, version, canonical)
            if leaf_index != size:
                raise LeafOrderError(leaf_index, size)
            expected = versions.get(id_bytes, 0) + 1
            if version != expected:
                raise VersionContinuityError(originator_id, version, leaf_index, expected)
            versions[id_bytes] = version
            if key_id in retired:
                retired_text, retired_at = retired[key_id]
                stamp = state.get("timestamp")
                if not isinstance(stamp, datetime) or stamp > retired_at:
                    raise RetiredKeyError(key_id, originator_id, version, size, retired_text)
            replay.apply(LoggedEvent(size, originator_id, version, topic, state))
            _append_leaf(nodes, size, leaf_hash)
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
    sizes = _check_consistency(checkpoints, nodes)
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
