"""The transparency log over HTTP: signed checkpoints, Merkle proofs, the audit bundle.

Why these shapes: an outsider checks the ledger with the same tools as the CLI, so every
document here is byte-for-byte what ``ppl`` prints — the checkpoint is the C2SP signed note
(``ppl log checkpoint``), proofs carry the field names of the RFC 6962 vectors (``ppl audit
prove``), event evidence is the C2SP tlog-proof of ``ppl audit evidence``, and the bundle is
the file of ``ppl audit export``, which ``ppl audit verify`` checks offline.

Who may read what (docs/api.md): checkpoints, consistency proofs and inclusion proofs by leaf
index are public — hashes only. An inclusion proof *by event* carries the signed event, which
may hold confidential figures, so it follows the record's visibility: platform roles any
event; a filer the events of its own filer record, filings and product-key reservations; an
institution its conversion records; a regional admin the records of its region. Anything else
is a 404, exactly as if the event did not exist. The audit bundle holds every event: auditors
only.

Proofs are served up to the latest signed checkpoint only: a proof against a root nobody
signed would verify but prove nothing. One the log cannot make (an index beyond the size...)
is 422 ``proof_unavailable`` (api.problems maps ``ProofRequestError``).
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.utils import get_topic
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParameter
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from api.access import PLATFORM, sees_owned
from api.bootstrap import SignedPatentLedger, export_audit_bundle
from api.deps import Auditor, Caller, merkle_log
from api.one_hop import in_one_hop
from api.problems import ApiProblemError, problem_responses
from api.tokens import Principal
from api.wire import response_examples
from audit.log.log_store import CheckpointRecord
from audit.log.transparency_log import InclusionProof, TransparencyLog
from audit.offline.log_leaf import log_leaf_data
from audit.offline.rfc6962 import leaf_hash, verify_inclusion
from audit.offline.tlog_proof import evidence
from domain.actor import Role
from domain.conversion import PatentConversion
from domain.filer import Filer
from domain.filing_number import FilingNumberSeries
from domain.product import Product
from domain.reservation import ProductKeyReservation

router = APIRouter(prefix="/v1", tags=["transparency log"])

MAX_CHECKPOINTS_PAGE = 1000
MAX_SIZE = 2**63 - 1  # the stores keep sizes and indices as signed 64-bit integers
BUNDLE_MEDIA_TYPE = "application/x-ndjson"
CHECKPOINT_MEDIA_TYPE = "text/plain; charset=utf-8"

EXAMPLE_NOTE = (  # a signed checkpoint, for the OpenAPI examples (also api.routes.tiles)
    "ppl.local/patent-product-ledger\n"
    "5539\n"
    "F4rlrLiiifkLzHS0NAst97e/d/JYTglMYo9Bi7+uubY=\n"
    "\n"
    "\u2014 ppl.local/patent-product-ledger 5UUaSjhbX0w8Vd9uAnJ0lZrsW5G2…\n"
)
_EXAMPLE_HASH = "F4rlrLiiifkLzHS0NAst97e/d/JYTglMYo9Bi7+uubY="


# --- documents ----------------------------------------------------------------------------------
class CheckpointSummary(BaseModel):
    """One signed checkpoint: its tree size and root, the signed note, when it was signed."""

    tree_size: int
    root: str = Field(description="RFC 6962 root, standard base64 (32 bytes)")
    signed_note: str = Field(description="The C2SP signed note, verbatim")
    created_at: str = Field(description="When the log signed it (UTC, informational)")


class CheckpointPage(BaseModel):
    model_config = response_examples(
        {
            "checkpoints": [
                {
                    "tree_size": 5539,
                    "root": _EXAMPLE_HASH,
                    "signed_note": EXAMPLE_NOTE,
                    "created_at": "2024-05-01T08:00:00.000000Z",
                }
            ],
            "next_cursor": 5539,
        }
    )

    checkpoints: list[CheckpointSummary]
    next_cursor: int | None = Field(
        description="Pass as ``after`` for the next page; null on the last page"
    )


class InclusionProofDocument(BaseModel):
    """``ppl audit prove --leaf``: the field names of the RFC 6962 test vectors."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "leafIdx": 2,
                    "treeSize": 5539,
                    "root": _EXAMPLE_HASH,
                    "leafHash": "3cJ0h0Ycm1mYFhXlWqvKkGmDcC1p9f+MYdG2hQ5D2sQ=",
                    "proof": ["Pq8c3g2lH2xq3kZ5YcV1Q0w2mJm8lq5bL5i8yX0o6nE="],
                }
            ]
        },
    )

    leaf_idx: int = Field(alias="leafIdx")
    tree_size: int = Field(alias="treeSize")
    root: str = Field(description="Root of the tree of ``treeSize`` leaves, base64")
    leaf_hash: str = Field(alias="leafHash", description="RFC 6962 leaf hash, base64")
    proof: list[str] = Field(description="Sibling hashes, leaf's sibling first, base64")


class LoggedEvent(BaseModel):
    """The stored event of a leaf, as a line of the audit bundle shows it."""

    originator_id: UUID
    originator_version: int
    topic: str
    state: str = Field(description="The stored, signed envelope, base64")


class EventProofDocument(InclusionProofDocument):
    """An event's leaf, its inclusion proof, the signed checkpoint, and offline evidence."""

    event: LoggedEvent
    checkpoint: str = Field(description="The signed checkpoint of ``treeSize`` (C2SP note)")
    evidence: str = Field(
        description="C2SP tlog-proof carrying the signed event (``ppl audit evidence``); "
        "check it with ``ppl audit check-evidence``"
    )


class ConsistencyProofDocument(BaseModel):
    """``ppl audit prove --from --to``."""

    model_config = response_examples(
        {
            "size1": 3,
            "size2": 5539,
            "root1": "Ybq3mVv5dQmjB1wC5x2mY3JQ3jCkz8y1hC3k8m1r2zM=",
            "root2": _EXAMPLE_HASH,
            "proof": ["Pq8c3g2lH2xq3kZ5YcV1Q0w2mJm8lq5bL5i8yX0o6nE="],
        }
    )

    size1: int
    size2: int
    root1: str
    root2: str
    proof: list[str]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _inclusion_document(proof: InclusionProof) -> dict[str, Any]:
    return {
        "leafIdx": proof.leaf_index,
        "treeSize": proof.tree_size,
        "root": _b64(proof.root),
        "leafHash": _b64(proof.leaf_hash),
        "proof": [_b64(h) for h in proof.proof],
    }


# --- helpers ------------------------------------------------------------------------------------
def _latest(log: TransparencyLog) -> CheckpointRecord:
    """The checkpoint the log publishes: under a witness policy its latest witnessed one."""
    latest = log.published()
    if latest is None:
        raise ApiProblemError("log_not_available", "the log has no signed checkpoint yet")
    return latest


def _signed_size(log: TransparencyLog, tree_size: int | None) -> int:
    """``tree_size``, or the latest checkpoint's; never beyond the latest signed checkpoint."""
    published = _latest(log)
    if tree_size is None:
        return published.tree_size
    latest = log.store.latest_checkpoint() or published
    if not 1 <= tree_size <= latest.tree_size:
        raise ApiProblemError(
            "proof_unavailable",
            f"tree size {tree_size}: want 1..{latest.tree_size} (the latest signed checkpoint)",
        )
    return tree_size


def _no_such_event(aggregate_id: UUID, version: int) -> ApiProblemError:
    # One answer for "no such event", "not sequenced yet" and "not yours": ids cannot be probed.
    return ApiProblemError(
        "log_not_available",
        f"event {aggregate_id} v{version} is not in the log: it may not exist, not be "
        "sequenced yet, or not be visible to this caller",
    )


def _record(ledger: SignedPatentLedger, aggregate_id: UUID) -> object | None:
    """The aggregate as its first event made it: who owns a record never changes."""
    try:
        aggregate: object = ledger.repository.get(aggregate_id, version=1)
    except AggregateNotFoundError:
        return None
    return aggregate


@dataclass(frozen=True, slots=True)
class _Owner:
    """Whose record it is: the role and scope (USCC) that own it, and its region."""

    role: Role
    uscc: str
    region_code: str | None


def _owner_of(ledger: SignedPatentLedger, aggregate_id: UUID) -> _Owner | None:
    record = _record(ledger, aggregate_id)
    if isinstance(record, ProductKeyReservation):
        record = _record(ledger, record.product_id)
    if isinstance(record, Product):
        filer = _record(ledger, record.filer_id)
        region = filer.region_code if isinstance(filer, Filer) else None
        return _Owner(Role.FILER, record.filer_uscc, region)
    if isinstance(record, Filer):
        return _Owner(Role.FILER, record.uscc, record.region_code)
    if isinstance(record, PatentConversion):
        return _Owner(Role.INSTITUTION, record.institution_uscc, record.region_code)
    return None


PUBLIC_EVENT_TOPICS: Final = frozenset(
    {
        get_topic(Product.FilingNumberAssigned),
        get_topic(FilingNumberSeries.FilingNumberSeriesOpened),
        get_topic(FilingNumberSeries.FilingNumberIssued),
    }
)
"""Events whose stored bytes anyone may have: a filing number and its series hold public
facts only, with the system as actor (domain.filing_number ``NUMBERING``); a certificate's
evidence is one of them."""


def sees_events_of(principal: Principal, ledger: SignedPatentLedger, aggregate_id: UUID) -> bool:
    """May the caller see the signed events of this record (they may carry its figures)?

    ``api.access.sees_owned`` for any record: platform roles; the filer (or institution) whose
    record it is; the regional admin of its region. A product-key reservation belongs to the
    filing that holds the key.
    """
    if principal.role in PLATFORM:
        return True  # without reading whose record it is
    owner = _owner_of(ledger, aggregate_id)
    return owner is not None and sees_owned(principal, owner.role, owner.uscc, owner.region_code)


# --- routes -------------------------------------------------------------------------------------
TreeSize = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_SIZE,
        description="Tree size (default: the latest signed checkpoint's)",
        examples=[5539],
    ),
]


@router.get(
    "/log/checkpoint",
    summary="The latest signed checkpoint",
    description="The log's published tree head as a C2SP signed note (c2sp.org/tlog-checkpoint), "
    "exactly as `ppl log checkpoint` prints it: origin, tree size, base64 root, the log's "
    "Ed25519 signature line, then one line per witness cosignature (c2sp.org/tlog-cosignature). "
    "Under a witness policy (`PPL_WITNESS_POLICY`) the published checkpoint is the latest one "
    "the policy's quorum cosigned. Verify it with the log key of `GET /v1/keys`. With "
    "`tree_size`, the checkpoint of that size (cacheable for a minute: witnesses may still "
    "cosign it). Public. 404 `log_not_available` before the first checkpoint or for a size the "
    "log never signed.",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "C2SP signed note",
            "content": {"text/plain": {"example": EXAMPLE_NOTE}},
        },
        **problem_responses(404, 422, 503),
    },
)
def checkpoint(
    request: Request,
    tree_size: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_SIZE,
            description="A signed tree size (default: the latest)",
            examples=[5539],
        ),
    ] = None,
) -> PlainTextResponse:
    log = merkle_log(request)
    if tree_size is None:
        record = _latest(log)
        cache = "no-cache"
    else:
        found = log.store.checkpoint(tree_size)
        if found is None:
            raise ApiProblemError("log_not_available", f"no checkpoint of tree size {tree_size}")
        # The log's signature never changes, but a witness may cosign this size later.
        record, cache = found, "public, max-age=60"
    return PlainTextResponse(
        log.cosigned_note(record),
        media_type=CHECKPOINT_MEDIA_TYPE,
        headers={"Cache-Control": cache},
    )


@router.get(
    "/log/checkpoints",
    summary="Checkpoint history",
    description="Every checkpoint the log signed, oldest first, a page at a time: tree size, "
    "base64 root, the signed note and when it was signed (`ppl log checkpoints`). Pass the "
    "page's `next_cursor` as `after` for the next one. Public.",
    responses=problem_responses(422, 503),
)
def checkpoints(
    request: Request,
    after: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_SIZE,
            description="Only checkpoints larger than this tree size",
            examples=[0],
        ),
    ] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_CHECKPOINTS_PAGE, description="Page size", examples=[100])
    ] = 100,
) -> CheckpointPage:
    # LogStore has no ranged read yet: the history is read whole and cut here.
    later = [r for r in merkle_log(request).store.checkpoints() if r.tree_size > after]
    page = later[:limit]
    return CheckpointPage(
        checkpoints=[
            CheckpointSummary(
                tree_size=r.tree_size,
                root=_b64(r.root),
                signed_note=r.signed_note,
                created_at=r.created_at,
            )
            for r in page
        ],
        next_cursor=page[-1].tree_size if len(later) > limit else None,
    )


@in_one_hop(
    router.get(
        "/log/proofs/inclusion",
        summary="Inclusion proof of a leaf",
        description="Proves that leaf `leaf_index` is in the tree of `tree_size` leaves (default: "
        "the latest signed checkpoint), as `ppl audit prove --leaf I --size N`: hashes only, no "
        "event. Verify with RFC 6962 / RFC 9162 §2.1.3.2 against the checkpoint's root. Public. "
        "422 `proof_unavailable` for a leaf index not below the tree size or a tree size above "
        "the latest checkpoint.",
        response_model=InclusionProofDocument,
        responses=problem_responses(404, 422, 503),
    )
)
def inclusion_proof(
    request: Request,
    leaf_index: Annotated[
        int, Query(ge=0, le=MAX_SIZE, description="Leaf index, from 0", examples=[2])
    ],
    tree_size: TreeSize = None,
) -> dict[str, Any]:
    log = merkle_log(request)
    proof = log.inclusion_proof(leaf_index, _signed_size(log, tree_size))
    return _inclusion_document(proof)


@in_one_hop(
    router.get(
        "/log/proofs/inclusion/event/{aggregate_id}/{version}",
        summary="Inclusion proof of an event, with the signed event",
        description="The leaf of event `version` of record `aggregate_id`, its inclusion proof "
        "(the fields of `ppl audit prove --event ID:VERSION`), the stored signed event (as a "
        "bundle line shows it), the signed checkpoint, and the C2SP tlog-proof of `ppl audit "
        "evidence`. The event may carry confidential figures: platform roles see any event; a "
        "filer those of its own filer record, filings and product-key reservations; an "
        "institution its conversion records; a regional admin the records of its region. The "
        "filing number events (`FilingNumberAssigned` and the number series' events: public facts, "
        "recorded by the system) are anyone's, without a token: a filing certificate's evidence. "
        "Any other event — and one not sequenced yet — is 404 `log_not_available`.",
        response_model=EventProofDocument,
        responses=problem_responses(401, 404, 422, 503),
    )
)
def event_inclusion_proof(
    request: Request,
    principal: Caller,
    aggregate_id: Annotated[UUID, PathParameter(description="The record's id")],
    version: Annotated[
        int, PathParameter(ge=1, le=MAX_SIZE, description="The event's version", examples=[1])
    ],
    tree_size: TreeSize = None,
) -> dict[str, Any]:
    log = merkle_log(request)
    sees = principal.role is not None and sees_events_of(
        principal, request.app.state.ledger, aggregate_id
    )
    leaf = log.store.leaf_for_event(aggregate_id, version)
    size = _signed_size(log, tree_size)
    if leaf is None or (tree_size is None and leaf.leaf_index >= size):
        raise _no_such_event(aggregate_id, version)
    (stored,) = log.sequencer.read_notifications(leaf.notification_id, 1)
    if not sees and stored.topic not in PUBLIC_EVENT_TOPICS:  # one 404 for unseen and unknown
        raise _no_such_event(aggregate_id, version)
    signed = log.store.checkpoint(size)
    if signed is None:
        raise ApiProblemError("proof_unavailable", f"tree size {size}: the log never signed it")
    proof = log.inclusion_proof(leaf.leaf_index, size)
    data = log_leaf_data(aggregate_id, version, stored.topic, stored.state)
    # The stored event must be the bytes the log integrated, or the evidence would lie.
    verify_inclusion(leaf.leaf_index, size, leaf_hash(data), proof.proof, signed.root)
    return {
        **_inclusion_document(proof),
        "event": {
            "originator_id": aggregate_id,
            "originator_version": version,
            "topic": stored.topic,
            "state": _b64(stored.state),
        },
        "checkpoint": log.cosigned_note(signed),
        "evidence": evidence(leaf.leaf_index, data, proof.proof, log.cosigned_note(signed)),
    }


@in_one_hop(
    router.get(
        "/log/proofs/consistency",
        summary="Consistency proof between two tree sizes",
        description="Proves that the tree of `second` leaves extends the tree of `first` (RFC 9162 "
        "§2.1.4), as `ppl audit prove --from M --to N`: a client holding an older checkpoint "
        "checks the log was only appended to. `second` defaults to the latest signed checkpoint. "
        "Public. 422 `proof_unavailable` unless 1 ≤ first ≤ second ≤ the latest checkpoint's size.",
        response_model=ConsistencyProofDocument,
        responses=problem_responses(404, 422, 503),
    )
)
def consistency_proof(
    request: Request,
    first: Annotated[
        int, Query(ge=1, le=MAX_SIZE, description="The older tree size", examples=[3])
    ],
    second: Annotated[
        int | None, Query(ge=1, le=MAX_SIZE, description="The newer tree size (default: latest)")
    ] = None,
) -> dict[str, Any]:
    log = merkle_log(request)
    proof = log.consistency_proof(first, _signed_size(log, second))
    return {
        "size1": proof.size1,
        "size2": proof.size2,
        "root1": _b64(proof.root1),
        "root2": _b64(proof.root2),
        "proof": [_b64(h) for h in proof.proof],
    }


@router.get(
    "/audit/bundle",
    summary="Download the audit bundle",
    description="The audit bundle of `ppl audit export` (docs/audit-bundle.md, JSON Lines): "
    "the keys, every signed checkpoint, and every event up to the latest one. `ppl audit "
    "verify FILE --keys … --log-key …` checks it offline. It holds every figure of every "
    "filing: auditors only. 404 `log_not_available` before the first checkpoint.",
    response_class=FileResponse,
    responses={
        200: {
            "description": "ppl-audit-bundle/v1, one JSON object per line",
            "content": {
                BUNDLE_MEDIA_TYPE: {
                    "schema": {"type": "string"},
                    "example": '{"format": "ppl-audit-bundle/v1", "kind": "header", ...}\n'
                    '{"kind": "event", "leaf_index": 0, ...}\n',
                }
            },
        },
        **problem_responses(401, 403, 404, 503),
    },
)
def audit_bundle(request: Request, _: Auditor) -> FileResponse:
    # Exported to a private file first, so a database failure is a 503 before any byte is sent
    # and the bytes are those of `ppl audit export`; removed once sent.
    settings = request.app.state.settings
    _latest(merkle_log(request))  # 404 before the first checkpoint; any other ExportError is a bug
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="audit-export-", dir=settings.data_dir))
    try:
        header = export_audit_bundle(
            request.app.state.ledger,
            merkle_log(request),
            settings,
            scratch / "audit.bundle",
        )
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return FileResponse(
        scratch / "audit.bundle",
        media_type=BUNDLE_MEDIA_TYPE,
        filename=f"ppl-audit-{header.tree_size}.bundle",
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(shutil.rmtree, scratch, ignore_errors=True),
    )
