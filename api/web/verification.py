"""What a product page's browser verifier reads: the product's events, their inclusion proofs
against one signed checkpoint, and the keys the page trusts (issue #17; the checks are
api/web/static/js/verify.js, described in docs/browser-verification.md).

Why this shape: the browser trusts the server for bytes only. So the document carries exactly
what the verifier hashes and checks — the signed note verbatim, each event's leaf index and
RFC 6962 inclusion proof against that note's tree size, and, where the caller may read them,
the stored event bytes (originator id, version, topic, base64 of the stored ``state``), never
a decoded or re-encoded copy (STYLE #11). The server checks none of it on the way out: a
changed stored byte must reach the browser, which names the event, rather than stop here.

Who sees what follows the ledger's rule for signed events (api.routes.ledger
``sees_events_of``, built on api.access ``sees_owned``): the filer, the regional admin of its
region and the platform roles get every event's bytes; anyone else who may see the product
(the public, for a listed one) gets the log's leaf hash only, marked ``"content":
"confidential"`` — events carry the figures (sales, exports...), and even their topics say
what happened to a filing (a dispute raised). A product the caller may not see is 404, as on
``GET /v1/products/{id}``.

The trusted keys are not part of this trust: ``configured_keys`` gives what the server is
configured with, for the page template to render into the page; the verifier compares the
document's ``keys`` with those (or with keys an auditor pastes) and checks with the latter.
The witness policy likewise: the page renders it (``data-witness-policy``) and the verifier
requires the document's ``keys.witnesses`` to equal it, so the document can neither weaken
nor drop the quorum the page shows.

Witnesses (c2sp.org/tlog-cosignature, audit.offline.cosignature): the checkpoint is the one
the log *publishes* (``TransparencyLog.published``: under a witness policy, the latest one its
quorum cosigned) with the stored cosignature lines after the log's signature; ``keys`` carries
the server's witness policy as data (``witness_policy_data``), the same the page renders. The
browser requires the page's policy's quorum of valid cosignatures (a cosignature dated 0 or
ahead of the browser's clock is not counted) — or the quorum of witness keys an auditor pins.
"""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from api.access import sees_confidential
from api.bootstrap import SignedPatentLedger
from api.deps import Caller
from api.problems import ApiProblemError
from api.routes.ledger import sees_events_of
from api.routes.registry import visible_product
from api.tokens import Principal
from audit.log.index_lookup import (
    IndexBusyError,
    IndexIntegrityError,
    IndexNotAvailableError,
)
from audit.log.transparency_log import TransparencyLog
from audit.offline.cosignature import WitnessPolicy
from audit.offline.errors import VerificationError
from audit.offline.product_index import PRODUCT_KEYS, FilingState, product_key_bytes
from projections.schema import Row

FORMAT = "ppl-browser-verification/v1"

router = APIRouter()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def witness_policy_data(policy: WitnessPolicy) -> dict[str, Any]:
    """A witness policy as data the browser evaluates (verify.js ``parseWitnessPolicy``).

    ``quorum`` is the name of the witness or group that must be satisfied (``None``: no
    cosignature required); ``witnesses`` each policy witness's name and vkey
    (``<name>+<key id>+base64(type || key)``; the verifier recomputes the key id);
    ``groups`` in the policy's order, each decided after its members; ``description`` the
    quorum in words (``WitnessPolicy.describe``), for people. Submission URLs are left out:
    a verifier has no use for them.
    """
    return {
        "quorum": policy.quorum,
        "witnesses": [{"name": w.name, "vkey": w.key.vkey()} for w in policy.witnesses],
        "groups": [
            {"name": g.name, "threshold": g.threshold, "members": list(g.members)}
            for g in policy.groups
        ],
        "description": policy.describe(),
    }


def configured_keys(state: Any) -> dict[str, Any]:
    """The keys this server is configured to trust, for the page to pin.

    ``log_key`` is the log's C2SP verifier key (``<origin>+<key id>+<key>``, whose name is the
    checkpoints' origin); ``event_keys`` the base64 raw Ed25519 keys of the public-key manifest,
    every key that ever signed (a retired key still verifies old events). Key ids are left out
    on purpose: the verifier derives them from the keys (docs/event-signatures.md "Keys").
    ``witnesses`` is the log's witness policy (``witness_policy_data``): the page lists it and
    renders it as JSON into the section's ``data-witness-policy``, which the verifier checks
    and compares the document's with.
    """
    ledger: SignedPatentLedger = state.ledger
    log: TransparencyLog = state.log
    if ledger.keyring is None:  # only the unsigned benchmark baseline has no key ring
        raise ValueError("an unsigned ledger has no keys to verify against")
    manifest = ledger.keyring.manifest.to_json()
    return {
        "log_key": log.signer.verifier_key_string(),
        "event_keys": [str(entry["public_key"]) for entry in manifest["keys"]],
        "witnesses": witness_policy_data(log.policy),
    }


def verification_document(state: Any, principal: Principal, product_id: UUID) -> dict[str, Any]:
    """Everything the browser needs to verify the product's events in the log, as JSON.

    ``checkpoint`` is the checkpoint the log publishes (``TransparencyLog.published``: under a
    witness policy the latest one its quorum cosigned, until there is one the latest) with its
    witness cosignatures (``cosigned_note``). ``events`` lists every version of the product
    aggregate that checkpoint covers, in order; ``pending`` the versions stored but not under
    it yet (shown as "not in the log yet", never as verified).

    Raises:
        ApiProblemError: ``not_found`` if the caller may not see the product (or the registry
            does not know it yet); ``log_not_available`` before the first checkpoint.
    """
    ledger: SignedPatentLedger = state.ledger
    log: TransparencyLog = state.log
    # hidden: 404, as on GET /v1/products/{id}; its leaf hashes and versions would tell who
    # is filing what before the registry lists it
    row = visible_product(principal, state.projections, product_id)
    # The checkpoint first: every event below its size has a leaf and a proof against it.
    signed = log.published()
    if signed is None:
        raise ApiProblemError("log_not_available", "the log has no signed checkpoint yet")
    readable = _sees_events(principal, ledger, product_id, row)
    events: list[dict[str, Any]] = []
    pending: list[int] = []
    for stored in ledger.recorder.select_events(product_id):
        version = int(stored.originator_version)
        leaf = log.store.leaf_for_event(product_id, version)
        if leaf is None or leaf.leaf_index >= signed.tree_size:
            pending.append(version)
            continue
        proof = log.inclusion_proof(leaf.leaf_index, signed.tree_size)
        event: dict[str, Any] = {
            "originator_id": str(product_id),
            "version": version,
            "leaf_index": leaf.leaf_index,
            "leaf_hash": _b64(leaf.leaf_hash),
            "proof": [_b64(node) for node in proof.proof],
            "content": "visible" if readable else "confidential",
        }
        if readable:
            event["topic"] = stored.topic
            event["state"] = _b64(stored.state)
        events.append(event)
    return {
        "format": FORMAT,
        "product_id": str(product_id),
        "checkpoint": log.cosigned_note(signed),
        "tree_size": signed.tree_size,
        "keys": configured_keys(state),
        "events": events,
        "pending": pending,
        "index": _index_proof(log, product_id),
    }


def _index_proof(log: TransparencyLog, product_id: UUID) -> dict[str, Any] | None:
    """The product index's proof for the filing's key under rule 1 (the one its save
    reserved), against the latest indexed checkpoint: that checkpoint, the signed index note,
    the key, the value's exact bytes and the proof (docs/browser-verification.md, "The
    product index"). None before the filing is indexed — the browser reports the missing
    proof. Read as GET /v1/index/products answers (audit.log.index_lookup checks each proof
    before it is served)."""
    reader = log.index_reader()
    if log.index is None or reader is None:
        return None
    state = log.index.store.states("filing", [str(product_id)]).get(str(product_id))
    if state is None:
        return None
    rule, key = FilingState.from_json(state).keys[0]
    try:
        snapshot, (found,) = reader.lookup([(PRODUCT_KEYS, product_key_bytes(rule, key))])
    except (IndexNotAvailableError, IndexBusyError, IndexIntegrityError):
        return None
    if snapshot.checkpoint_note is None or found.value is None:
        return None
    return {
        "checkpoint": snapshot.checkpoint_note,
        "note": snapshot.signed_note,
        "key": found.key.decode("utf-8"),
        "value_bytes": _b64(found.value),
        "proof": _b64(found.proof.encode()),
    }


def _sees_events(
    principal: Principal, ledger: SignedPatentLedger, product_id: UUID, row: Row
) -> bool:
    """``sees_events_of`` — or, when the ledger cannot read the filing's first event because
    its stored bytes no longer verify, the same owner rule over the registry's copy of the
    owner (``sees_confidential``): the browser must get the bytes to name the event."""
    try:
        return sees_events_of(principal, ledger, product_id)
    except VerificationError:
        return sees_confidential(principal, row)


@router.get("/products/{product_id}/verification.json", include_in_schema=False)
def verification(
    request: Request, response: Response, principal: Caller, product_id: UUID
) -> dict[str, Any]:
    """The product page's verification document (``verification_document``); never cached,
    as what it holds depends on the caller."""
    response.headers["Cache-Control"] = "no-store"
    return verification_document(request.app.state, principal, product_id)
