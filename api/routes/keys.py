"""Public keys, so anyone can verify event signatures and checkpoints offline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.bootstrap import published_keys

router = APIRouter(prefix="/v1/keys", tags=["keys"])


_EXAMPLE = {
    "keys": [
        {
            "algorithm": "ed25519",
            "key_id": "4271d79d44c3722c",
            "public_key": "NYXN1CtlN/ObbqYijhef4Gwkk7+mRmK+mcxqCGmAwDo=",
            "added_at": "2026-11-21T07:57:59.623657Z",
            "retired_at": None,
        }
    ],
    "log": {
        "origin": "ppl.local/patent-product-ledger",
        "verifier_key": "ppl.local/patent-product-ledger+f1b370d5+"
        "AZxM5y3DrSAYH7zFO1K00R67EKrCAr5WQt9jpNLc0n9c",
    },
    "witnesses": {"quorum": "none", "keys": []},
}


@router.get(
    "",
    summary="Public keys",
    responses={200: {"content": {"application/json": {"example": _EXAMPLE}}}},
)
def public_keys(request: Request) -> dict[str, Any]:
    """Every event key that ever signed (with when it was added and retired), the log's
    C2SP verifier key and origin — what `ppl audit verify --keys/--log-key` pins — and the
    witnesses the log submits its checkpoints to, with the quorum it publishes under (an
    auditor pins witness keys from their operators, not from here)."""
    return published_keys(request.app.state.ledger.keyring.manifest, request.app.state.log)
