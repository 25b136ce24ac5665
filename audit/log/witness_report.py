"""How witnessing stands: each witness's last cosigned size and lag, and whether the policy's
quorum has gone unmet for too long — what ``ppl log witnesses`` prints and ``/ready`` reports.

Status: ``off`` (no quorum configured), ``ok`` (the latest checkpoint is witnessed),
``pending`` (a newer checkpoint waits for its cosignatures, for less than the allowed time),
``degraded`` (the oldest checkpoint not yet witnessed was signed longer ago than that: readers
requiring witnesses see the log stand still).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from audit.log.transparency_log import TransparencyLog

WitnessingStatus = Literal["off", "ok", "pending", "degraded"]


@dataclass(frozen=True, slots=True)
class WitnessLine:
    witness: str  # name+keyid
    url: str | None
    cosigned_size: int
    lag: int  # the latest checkpoint's size minus the size it cosigned
    cosigned_at: str | None
    failures: int
    next_attempt: str | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class WitnessingReport:
    status: WitnessingStatus
    quorum: str
    latest_checkpoint: int | None
    witnessed_checkpoint: int | None
    unmet_since: str | None  # when the oldest checkpoint not yet witnessed was signed
    witnesses: list[WitnessLine]


def witnessing_report(
    log: TransparencyLog, *, now: datetime, degraded_after: float
) -> WitnessingReport:
    """The witnesses' state against the log's latest checkpoint."""
    latest = log.store.latest_checkpoint()
    latest_size = latest.tree_size if latest is not None else 0
    states = log.witnesses.states() if log.witnesses is not None else {}
    lines = []
    for witness in log.policy.witnesses:
        state = states.get(witness.key.label)
        cosigned = state.cosigned_size if state is not None else 0
        lines.append(
            WitnessLine(
                witness.key.label,
                witness.url,
                cosigned,
                max(latest_size - cosigned, 0),
                state.cosigned_at if state is not None else None,
                state.failures if state is not None else 0,
                state.next_attempt if state is not None else None,
                state.last_error if state is not None else None,
            )
        )
    if not log.policy.requires_witnesses:
        return WitnessingReport("off", "none", latest_size or None, None, None, lines)
    witnessed = log.witnessed()
    witnessed_size = witnessed.tree_size if witnessed is not None else None
    waiting = log.store.next_checkpoint(witnessed_size or 0)
    status: WitnessingStatus = "ok"
    since = None
    if waiting is not None:
        since = waiting.created_at
        late = (now - datetime.fromisoformat(since)).total_seconds() > degraded_after
        status = "degraded" if late else "pending"
    return WitnessingReport(
        status, log.policy.describe(), latest_size or None, witnessed_size, since, lines
    )
