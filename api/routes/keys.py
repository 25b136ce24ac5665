"""Public event-signing keys, so anyone can verify event signatures offline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.get("")
def public_keys(request: Request) -> dict[str, Any]:
    """Every key that ever signed an event, with when it was added and retired."""
    return dict(request.app.state.ledger.keyring.manifest.to_json())
