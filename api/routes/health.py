"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready")
def ready(request: Request) -> dict[str, Any]:
    """The store answers: reports how many events it holds."""
    events = request.app.state.ledger.recorder.max_notification_id() or 0
    return {"status": "ready", "events": events}
