"""The ledger's transparency log, server side: sequence, publish checkpoints, serve proofs.

Combines the sequencer (audit.log.sequencer), the node store (audit.log.log_store) and the
checkpoint
signer (audit.offline.checkpoint). Every proof is built from O(log n) stored nodes
(audit.offline.merkle_nodes).
Before signing a new checkpoint, the log checks that it is consistent with the previous one —
a corrupted node table stops publication instead of producing a fork.

With a witness policy (audit.offline.cosignature; cosignatures in audit.log.witness_store,
collected by audit.log.witnessing), what the log *publishes* — to tiles clients, in proofs,
bundles and evidence — is its latest checkpoint that meets the policy's quorum, with the
cosignature lines after its own signature (``published``, ``cosigned_note``): a checkpoint no
quorum has seen yet could be a split view. Until some checkpoint meets the quorum the latest
is published, and verifiers requiring witnesses refuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from audit.log.index_lookup import IndexReader
from audit.log.log_store import CheckpointRecord, LeafRecord, LogStore
from audit.log.product_index_log import ProductIndexLog
from audit.log.sequencer import Sequencer
from audit.log.witness_store import WitnessStore
from audit.offline.canonical import format_timestamp
from audit.offline.checkpoint import Checkpoint, sign_checkpoint
from audit.offline.cosignature import WitnessPolicy
from audit.offline.log_leaf import log_leaf_data
from audit.offline.merkle_nodes import (
    build_proof,
    consistency_proof_plan,
    inclusion_proof_plan,
    node_ids,
    root_from_nodes,
    root_plan,
)
from audit.offline.note import NoteSigner
from audit.offline.rfc6962 import leaf_hash, verify_consistency, verify_inclusion
from audit.offline.tlog_proof import evidence

WITNESSED_PAGE = 1000  # cosignature rows read at a time when looking for the witnessed checkpoint


class ProofRequestError(ValueError):
    """A proof was asked for something the log cannot prove (the message says why)."""


@dataclass(frozen=True, slots=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    root: bytes
    leaf_hash: bytes
    proof: list[bytes]


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    size1: int
    size2: int
    root1: bytes
    root2: bytes
    proof: list[bytes]


@dataclass
class TransparencyLog:
    store: LogStore
    sequencer: Sequencer
    signer: NoteSigner
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(tz=UTC))
    witnesses: WitnessStore | None = None
    policy: WitnessPolicy = field(default_factory=WitnessPolicy)
    index: ProductIndexLog | None = None
    _index_reader: IndexReader | None = field(default=None, init=False, repr=False)

    @property
    def origin(self) -> str:
        return self.signer.name

    def index_reader(self) -> IndexReader | None:
        """The product index's lookups (None: the log keeps no index), one reader for every
        request: it reads the checkpoint's cosignatures with the index when this log keeps
        them, and remembers the maps' sizes between lookups."""
        if self.index is None:
            return None
        if self._index_reader is None:
            self._index_reader = IndexReader(
                self.index.store, cosignatures=self.witnesses is not None
            )
        return self._index_reader

    # --- publishing -------------------------------------------------------------------------
    def cosigned_note(self, record: CheckpointRecord) -> str:
        """The checkpoint's signed note with every stored witness cosignature of it (its size
        and root) appended."""
        if self.witnesses is None:
            return record.signed_note
        lines = [c.line for c in self.witnesses.cosignatures(record.tree_size, record.root)]
        return record.signed_note + "".join(lines)

    def cosigned_notes(self, upto: int) -> Callable[[CheckpointRecord], str]:
        """``cosigned_note`` for the checkpoints up to ``upto``, their cosignatures read once
        (an audit bundle's every checkpoint)."""
        if self.witnesses is None:
            return lambda record: record.signed_note
        found = self.witnesses.cosignatures_upto(upto)
        return lambda record: (
            record.signed_note
            + "".join(c.line for c in found.get((record.tree_size, record.root), []))
        )

    def witnessed(self) -> CheckpointRecord | None:
        """The latest checkpoint whose stored cosignatures meet the policy's quorum.

        One read: the size is kept per policy (``WitnessStore.raise_witnessed``), raised as
        cosignatures arrive (``note_cosigned``). For a policy it has not seen, the history is
        searched once (``_search_witnessed``) and the answer kept.
        """
        if self.witnesses is None or not self.policy.requires_witnesses:
            return None
        fingerprint = self.policy.fingerprint()
        size = self.witnesses.witnessed_size(fingerprint)
        if size is None:
            found = self._search_witnessed()
            self.witnesses.raise_witnessed(fingerprint, found.tree_size if found else 0)
            return found
        return self.store.checkpoint(size) if size else None

    def note_cosigned(self, size: int) -> None:
        """A cosignature of the checkpoint of ``size`` was stored: if the quorum is met there
        now, it is the witnessed checkpoint (sizes only grow)."""
        if self.witnesses is None or not self.policy.requires_witnesses:
            return
        record = self.store.checkpoint(size)
        if record is None:
            return
        keys = {key.label: key for key in self.policy.keys}
        labels = {c.witness for c in self.witnesses.cosignatures(size, record.root)}
        if self.policy.is_met(keys[label] for label in labels if label in keys):
            self.witnesses.raise_witnessed(self.policy.fingerprint(), size)

    def _search_witnessed(self) -> CheckpointRecord | None:
        """Search the cosignature history newest first, a page at a time, for the latest
        checkpoint the quorum met: a witness quiet for thousands of checkpoints does not hide
        it. A size is judged once every row of it has been read; rows are counted only with
        the root of the checkpoint stored for their size."""
        assert self.witnesses is not None  # noqa: S101 (witnessed() checked it)
        keys = {key.label: key for key in self.policy.keys}
        by_size: dict[int, set[tuple[bytes, str]]] = {}
        below: int | None = None
        while True:
            page = self.witnesses.cosigned_below(below, WITNESSED_PAGE)
            for size, root, label in page:
                by_size.setdefault(size, set()).add((root, label))
            exhausted = len(page) < WITNESSED_PAGE
            # one size filling a whole page (a thousand witnesses) is judged on what was read
            single = bool(page) and page[0][0] == page[-1][0]
            complete = [s for s in by_size if exhausted or single or s > page[-1][0]]
            for size in sorted(complete, reverse=True):
                rows = by_size.pop(size)
                record = self.store.checkpoint(size)
                if record is None:  # (a cosignature is only ever stored for a checkpoint)
                    continue
                labels = {label for root, label in rows if root == record.root}
                if self.policy.is_met(keys[label] for label in labels if label in keys):
                    return record
            if exhausted:
                return None
            # the last size again, whole, with the next page (unless it was judged already)
            below = page[-1][0] if single else page[-1][0] + 1

    def published(self) -> CheckpointRecord | None:
        """What the log serves as its checkpoint: the latest witnessed one under a witness
        policy (the latest if none is yet), else the latest."""
        return self.witnessed() or self.store.latest_checkpoint()

    # --- writing ----------------------------------------------------------------------------
    def sequence(self) -> CheckpointRecord | None:
        """Integrate every new event, publishing a checkpoint after each batch, then bring the
        product index up to the latest checkpoint (one index note per checkpoint).

        Returns the latest checkpoint (``None`` for an empty log).
        """
        while self.sequencer.integrate_batch():
            self.publish()
        latest = self.publish()
        if self.index is not None:
            self.index.follow()
        return latest

    def publish(self) -> CheckpointRecord | None:
        """Sign a checkpoint for the current tree size unless one exists already."""
        size = self.store.position().tree_size
        latest = self.store.latest_checkpoint()
        if size == 0 or (latest is not None and latest.tree_size == size):
            return latest
        root = self.root(size)
        if latest is not None:
            # Never sign a root that is not an extension of what was already published.
            verify_consistency(
                latest.tree_size,
                size,
                self._consistency_hashes(latest.tree_size, size),
                latest.root,
                root,
            )
        note = sign_checkpoint(Checkpoint(self.origin, size, root), self.signer)
        record = CheckpointRecord(size, root, note, format_timestamp(self.clock()))
        self.store.add_checkpoint(record)
        return record

    # --- reading ----------------------------------------------------------------------------
    def size(self) -> int:
        return self.store.position().tree_size

    def root(self, size: int) -> bytes:
        self._check_size(size)
        return root_from_nodes(size, self.store.nodes(node_ids(root_plan(size))))

    def _check_size(self, size: int) -> None:
        integrated = self.size()
        if not 0 <= size <= integrated:
            raise ProofRequestError(f"tree size {size}: want 0..{integrated} (the log's size)")

    def _default_size(self, size: int | None) -> int:
        if size is not None:
            return size
        latest = self.published()
        if latest is None:
            raise ProofRequestError("the log has no checkpoint yet: run `ppl log sequence`")
        return latest.tree_size

    def inclusion_proof(self, leaf_index: int, size: int | None = None) -> InclusionProof:
        """Inclusion proof of a leaf in the tree of ``size`` (default: latest checkpoint)."""
        tree_size = self._default_size(size)
        self._check_size(tree_size)
        if not 0 <= leaf_index < tree_size:
            raise ProofRequestError(f"leaf index {leaf_index}: want 0..{tree_size - 1}")
        plan = inclusion_proof_plan(leaf_index, tree_size)
        fetched = self.store.nodes(node_ids(plan) | {(0, leaf_index)})
        proof = build_proof(plan, fetched)
        root = self.root(tree_size)
        leaf_hash = fetched[(0, leaf_index)]
        verify_inclusion(leaf_index, tree_size, leaf_hash, proof, root)
        return InclusionProof(leaf_index, tree_size, root, leaf_hash, proof)

    def leaf_for_event(self, originator_id: UUID, version: int) -> LeafRecord:
        leaf = self.store.leaf_for_event(originator_id, version)
        if leaf is None:
            raise ProofRequestError(
                f"event {originator_id} v{version} is not in the log (yet): "
                "it may not exist or not be sequenced"
            )
        return leaf

    def _consistency_hashes(self, size1: int, size2: int) -> list[bytes]:
        plan = consistency_proof_plan(size1, size2)
        return build_proof(plan, self.store.nodes(node_ids(plan)))

    def consistency_proof(self, size1: int, size2: int) -> ConsistencyProof:
        """Consistency proof between two tree sizes, 1 ≤ size1 ≤ size2 ≤ the log's size."""
        self._check_size(size2)
        if not 1 <= size1 <= size2:
            raise ProofRequestError(f"sizes {size1}, {size2}: want 1 ≤ size1 ≤ size2")
        proof = self._consistency_hashes(size1, size2)
        root1, root2 = self.root(size1), self.root(size2)
        verify_consistency(size1, size2, proof, root1, root2)
        return ConsistencyProof(size1, size2, root1, root2, proof)

    def event_evidence(self, originator_id: UUID, version: int) -> str:
        """C2SP tlog-proof that this signed event is in the log at the latest checkpoint.

        Raises:
            ProofRequestError: the event is not sequenced yet or the log has no checkpoint.
            audit.offline.errors.VerificationError: the stored event no longer hashes to its leaf.
        """
        leaf = self.leaf_for_event(originator_id, version)
        latest = self.published()
        if latest is None or latest.tree_size <= leaf.leaf_index:
            raise ProofRequestError(
                f"event {originator_id} v{version} is not under a checkpoint yet"
            )
        (notification,) = self.sequencer.read_notifications(leaf.notification_id, 1)
        data = log_leaf_data(originator_id, version, notification.topic, notification.state)
        included = self.inclusion_proof(leaf.leaf_index, latest.tree_size)
        # Evidence for bytes the log did not integrate would fail for its holder: refuse here.
        verify_inclusion(
            leaf.leaf_index, latest.tree_size, leaf_hash(data), included.proof, latest.root
        )
        return evidence(leaf.leaf_index, data, included.proof, self.cosigned_note(latest))
