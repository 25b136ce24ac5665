"""One family of verification errors; each names the element that failed.

Verifiers never return a bare ``False``: a caller that forgets to check a boolean silently
accepts forged data, while an uncaught exception fails closed.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID


class VerificationError(Exception):
    """Base of every integrity failure found while reading or auditing the ledger."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take their own constructor arguments; rebuild from the message and the
        # named attributes so errors survive the trip back from the verifier's worker processes.
        return (_rebuild_error, (type(self), self.args, dict(self.__dict__)))


def _rebuild_error(
    cls: type[VerificationError], args: tuple[Any, ...], state: dict[str, Any]
) -> VerificationError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class NonCanonicalValueError(VerificationError, ValueError):
    """A value cannot be encoded canonically (a float, a naive datetime, a non-str key...)."""


class MalformedEventError(VerificationError):
    """A stored event's bytes are not a signed envelope at all."""

    def __init__(self, originator_id: UUID, version: int, reason: str) -> None:
        super().__init__(f"event {originator_id} v{version} is malformed: {reason}")
        self.originator_id = originator_id
        self.version = version
        self.reason = reason


class EventTamperedError(VerificationError):
    """A stored event's signature does not verify over its stored bytes."""

    def __init__(self, originator_id: UUID, version: int, key_id: str) -> None:
        super().__init__(
            f"event {originator_id} v{version}: Ed25519 signature by key {key_id} does not "
            "verify over the stored bytes (the event was changed after signing)"
        )
        self.originator_id = originator_id
        self.version = version
        self.key_id = key_id


class UnknownSigningKeyError(VerificationError):
    """An event names a key id that is not in the trusted key set."""

    def __init__(
        self, key_id: str, originator_id: UUID | None = None, version: int | None = None
    ) -> None:
        where = f"event {originator_id} v{version}: " if originator_id is not None else ""
        super().__init__(f"{where}signing key {key_id} is not a trusted key")
        self.key_id = key_id
        self.originator_id = originator_id
        self.version = version


class KeyConfigurationError(VerificationError):
    """The configured signing key or key manifest cannot be used."""


class InclusionProofError(VerificationError):
    """An inclusion proof is malformed for its (index, size)."""

    def __init__(self, index: int, size: int, reason: str) -> None:
        super().__init__(f"inclusion proof for leaf {index} of {size}: {reason}")
        self.index = index
        self.size = size
        self.reason = reason


class RootMismatchError(VerificationError):
    """A proof leads to a root other than the one it should."""

    def __init__(self, expected: bytes, calculated: bytes) -> None:
        super().__init__(f"root mismatch: got {calculated.hex()}, want {expected.hex()}")
        self.expected = expected
        self.calculated = calculated


class MalformedNoteError(VerificationError, ValueError):
    """A signed note (or a text to sign) breaks the c2sp.org/signed-note format.

    Also a ``ValueError``: the signer raises it for a text it refuses to sign.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"malformed signed note: {reason}")
        self.reason = reason


class UnverifiedNoteError(VerificationError):
    """No signature on a note comes from a trusted key, so its text must be ignored."""

    def __init__(self, trusted: tuple[str, ...] = (), subject: str = "note") -> None:
        want = ", ".join(trusted) if trusted else "a trusted key (none given)"
        super().__init__(f"{subject}: got no valid signature by a trusted key, want one by {want}")
        self.trusted = trusted
        self.subject = subject


class InvalidNoteSignatureError(VerificationError):
    """A signature line names a trusted key, and that key's signature does not verify."""

    def __init__(
        self,
        key_name: str,
        key_id: int,
        reason: str = "does not verify over the note text",
        subject: str = "note",
    ) -> None:
        super().__init__(f"{subject}: signature by key {key_name}+{key_id:08x} {reason}")
        self.key_name = key_name
        self.key_id = key_id
        self.reason = reason
        self.subject = subject


class MalformedCheckpointError(VerificationError, ValueError):
    """A checkpoint body (or a Checkpoint value) breaks the c2sp.org/tlog-checkpoint format.

    Also a ``ValueError``: building or formatting an invalid checkpoint raises it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"malformed checkpoint: {reason}")
        self.reason = reason


class CheckpointOriginError(VerificationError):
    """A validly signed checkpoint belongs to another log than the one expected."""

    def __init__(self, got: str, want: str, size: int) -> None:
        super().__init__(f"checkpoint of size {size}: got origin {got!r}, want {want!r}")
        self.got = got
        self.want = want
        self.size = size


class ConsistencyProofError(VerificationError):
    """A consistency proof is malformed for its (size1, size2), or the sizes themselves are."""

    def __init__(self, size1: int, size2: int, reason: str) -> None:
        super().__init__(f"consistency proof from size {size1} to {size2}: {reason}")
        self.size1 = size1
        self.size2 = size2
        self.reason = reason


class MalformedBundleError(VerificationError):
    """The audit bundle cannot be read as the documented format (line number given)."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        where = f"bundle line {line}: " if line is not None else "bundle: "
        super().__init__(where + reason)
        self.line = line
        self.reason = reason


class LeafOrderError(VerificationError):
    """Events are not at dense, increasing leaf indices (one missing, added or moved)."""

    def __init__(self, leaf_index: int, expected: int) -> None:
        super().__init__(
            f"leaf index {leaf_index}: want {expected} (events must be dense, in order)"
        )
        self.leaf_index = leaf_index
        self.expected = expected


class VersionContinuityError(VerificationError):
    """An aggregate's versions have a gap, a repeat, or go backwards."""

    def __init__(self, originator_id: UUID, version: int, leaf_index: int, expected: int) -> None:
        super().__init__(
            f"event {originator_id} v{version} at leaf {leaf_index}: want version {expected} "
            "(a gap, a duplicate or a reordering of this aggregate's events)"
        )
        self.originator_id = originator_id
        self.version = version
        self.leaf_index = leaf_index
        self.expected = expected


class RetiredKeyError(VerificationError):
    """An event claims a time after its signing key was retired."""

    def __init__(
        self, key_id: str, originator_id: UUID, version: int, leaf_index: int, retired_at: str
    ) -> None:
        super().__init__(
            f"event {originator_id} v{version} at leaf {leaf_index} is signed by key {key_id}, "
            f"retired at {retired_at}, but claims a later time"
        )
        self.key_id = key_id
        self.originator_id = originator_id
        self.version = version
        self.leaf_index = leaf_index


class CheckpointRootError(VerificationError):
    """A checkpoint's signed root is not the root of the bundle's events at its size."""

    def __init__(self, tree_size: int, signed: bytes, computed: bytes) -> None:
        super().__init__(
            f"checkpoint at tree size {tree_size}: signed root {signed.hex()}, "
            f"but the events give {computed.hex()}"
        )
        self.tree_size = tree_size
        self.signed = signed
        self.computed = computed


class LogRollbackError(VerificationError):
    """The log lost or rewrote history that a signed checkpoint had committed to."""

    def __init__(self, tree_size: int, reason: str) -> None:
        super().__init__(f"checkpoint at tree size {tree_size}: {reason}")
        self.tree_size = tree_size
        self.reason = reason


class InvalidReplayError(VerificationError):
    """A logged event does not replay: the aggregate it belongs to could not have emitted it.

    Raised by audit.offline.replay (state machines re-implemented from the domain) and
    audit.offline.duplicates
    (a filing event without the fields the check needs).
    """

    def __init__(self, originator_id: UUID, version: int, leaf_index: int, reason: str) -> None:
        super().__init__(
            f"event {originator_id} v{version} at leaf {leaf_index} does not replay: {reason}"
        )
        self.originator_id = originator_id
        self.version = version
        self.leaf_index = leaf_index
        self.reason = reason


class MisfitIdError(InvalidReplayError):
    """A creation event's aggregate id does not fit its kind (audit.offline.replay rule E7).

    A filing or an objection (ids a client may choose) under a name-based (version 3 or 5),
    nil or max UUID: the kind of id the ledger derives for filers, reservations, rounds...,
    so the record squats one the ledger may create later. Its own class, so ``ppl audit
    verify`` gives it its own exit code (17) and a squat logged before the domain refused such
    ids is reported by its leaf index.
    """


class MalformedLeafError(VerificationError):
    """Log leaf data that is not the documented encoding of a stored event."""


class MalformedProofError(VerificationError):
    """A C2SP tlog-proof that does not follow the format (the message says where)."""


class UncheckpointedEventError(VerificationError):
    """An event stored after the latest checkpoint does not verify by its own signature.

    No signed root commits to such an event yet, so its signature is all that vouches for it;
    the sequencer refuses it, and the verifier must not answer OK while it is stored.
    """

    def __init__(self, originator_id: UUID, version: int, reason: str) -> None:
        super().__init__(
            f"event {originator_id} v{version}, stored after the latest checkpoint, does not "
            f"verify: {reason}"
        )
        self.originator_id = originator_id
        self.version = version
        self.reason = reason


class UnloggedEventsError(VerificationError):
    """Stored events that no signed checkpoint covers yet, when the auditor requires none.

    Named by their number and the first of them (in notification order).
    """

    def __init__(self, count: int, originator_id: UUID, version: int) -> None:
        super().__init__(
            f"{count} stored events are not covered by a signed checkpoint yet, the first "
            f"event {originator_id} v{version} (run `ppl log sequence`)"
        )
        self.count = count
        self.originator_id = originator_id
        self.version = version


class InvalidCosignatureError(VerificationError):
    """A witness cosignature on a checkpoint does not hold (c2sp.org/tlog-cosignature).

    Raised when a signature line names a trusted witness key (name and key id) and its
    signature does not verify, or its timestamp is above 2^63 - 1 (a zero or future timestamp
    only makes the cosignature not count, audit.offline.cosignature).
    The spec lets a verifier reject the whole note then: a trusted witness whose line is
    forged or garbled is not quietly skipped.
    """

    def __init__(self, witness: str, tree_size: int, reason: str) -> None:
        super().__init__(f"checkpoint at tree size {tree_size}: cosignature by {witness} {reason}")
        self.witness = witness
        self.tree_size = tree_size
        self.reason = reason


class WitnessQuorumError(VerificationError):
    """A checkpoint lacks the valid cosignatures the auditor's witness policy requires.

    Without them the checkpoint may be a split view: a log can show one tree to one reader
    and another tree to another, each signed by its own key.
    """

    def __init__(
        self,
        tree_size: int,
        cosigned_by: tuple[str, ...],
        required: str,
        ignored: tuple[str, ...] = (),
    ) -> None:
        got = ", ".join(cosigned_by) if cosigned_by else "none"
        not_counted = f"; not counted: {'; '.join(ignored)}" if ignored else ""
        super().__init__(
            f"checkpoint at tree size {tree_size}: valid cosignatures by {got}, "
            f"want the witness policy's quorum ({required}){not_counted}"
        )
        self.tree_size = tree_size
        self.cosigned_by = cosigned_by
        self.required = required
        self.ignored = ignored


class MapProofError(VerificationError):
    """A proof of presence or absence in a sparse map does not hold, or is not a proof at all.

    Names the key's path (hex; ``None`` when bytes are decoded without a key), the element of
    the proof that failed (``"format"``, ``"depth"``, ``"bitmap"``, ``"sibling 3"``,
    ``"terminal"``, ``"root"``, …), the depth it sits at when it has one, and why.
    """

    def __init__(
        self, path: str | None, element: str, reason: str, depth: int | None = None
    ) -> None:
        where = f"map proof for path {path}" if path is not None else "map proof"
        at = f" (depth {depth})" if depth is not None else ""
        super().__init__(f"{where}: {element}{at}: {reason}")
        self.path = path
        self.element = element
        self.reason = reason
        self.depth = depth


class IndexNoteError(VerificationError):
    """A product-index note (audit.offline.index_note) is malformed, or does not belong to the
    checkpoint it is offered with (another origin, size or log root)."""

    def __init__(self, reason: str, tree_size: int | None = None) -> None:
        at = f" for tree size {tree_size}" if tree_size is not None else ""
        super().__init__(f"product-index note{at}: {reason}")
        self.reason = reason
        self.tree_size = tree_size


class IndexRootError(VerificationError):
    """A map root the log committed to at a checkpoint is not the root rebuilt from the log:
    the index the log signed misstates what the log holds (docs/product-index.md)."""

    def __init__(self, tree_size: int, map_id: str, committed: bytes, rebuilt: bytes) -> None:
        super().__init__(
            f"checkpoint {tree_size}: the {map_id} root committed is {committed.hex()}, "
            f"the log gives {rebuilt.hex()}"
        )
        self.tree_size = tree_size
        self.map_id = map_id
        self.committed = committed
        self.rebuilt = rebuilt
