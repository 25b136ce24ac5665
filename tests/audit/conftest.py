"""Fixtures shared by the verifier's tests: a genuine bundle exported from a real store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.bootstrap import SignedPatentLedger, export_audit_bundle, open_transparency_log
from api.settings import Settings
from audit.log.transparency_log import TransparencyLog
from tests.domain.factories import REVIEWER, VERIFIER, file, register, uscc


@dataclass
class Exported:
    path: Path
    log: TransparencyLog
    settings: Any

    def lines(self) -> list[str]:
        return self.path.read_text(encoding="utf-8").splitlines()

    def write(self, lines: list[str]) -> Path:
        tampered = self.path.with_name("tampered.bundle")
        tampered.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return tampered


def export_to(
    ledger: SignedPatentLedger, log: TransparencyLog, settings: Settings, out: Path
) -> Path:
    export_audit_bundle(ledger, log, settings, out)
    return out


@pytest.fixture
def exported(ledger: SignedPatentLedger, settings: Settings, tmp_path: Path) -> Iterator[Exported]:
    """4 filers registered (leaves 0-3), verified (4-7), approved (8-11), each filing a
    product (12-19); sequenced into 3 checkpoints and exported."""
    log = open_transparency_log(ledger, settings)
    log.sequencer.batch_size = 7
    codes = [uscc(400 + serial) for serial in range(4)]
    filer_ids = [register(ledger, code) for code in codes]
    for filer_id in filer_ids:
        ledger.verify_filer_real_name(VERIFIER, filer_id, "RN-1")
    for filer_id in filer_ids:
        ledger.approve_filer(REVIEWER, filer_id)
    for serial, (code, filer_id) in enumerate(zip(codes, filer_ids, strict=True)):
        file(ledger, code, filer_id, model=f"V-{serial}")
    log.sequence()
    path = export_to(ledger, log, settings, tmp_path / "ledger.bundle")
    yield Exported(path, log, settings)
    log.store.close()
