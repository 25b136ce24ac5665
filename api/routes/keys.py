"""Public keys, so anyone can verify event signatures and checkpoints offline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.get("")
def public_keys(request: Request) -> dict[str, Any]:
    """Every event key that ever signed (with when it was added and retired), and the log's
    C2SP verifier key and origin — what `ppl audit verify --keys/--log-key` pins."""
    document = dict(request.app.state.ledger.keyring.manifest.to_json())
    log = request.app.state.log
    document["log"] = {"origin": log.origin, "verifier_key": log.signer.verifier_key_string()}
    return document
