"""``ppl audit check-product`` and ``ppl audit check-patent``: an index answer, checked offline.

The answer is the JSON of ``GET /v1/index/products`` or ``GET /v1/index/patents/{number}``
saved to a file; nothing of it is trusted but what the log's key (and the witnesses', with a
policy) signed (audit.offline.index_check). The keys are derived here from the name and model
— both key rules — or the patent number as filings record it. ``--evidence`` adds events with
their inclusion proofs (``ppl audit evidence``): the trail of a filing is complete when every
event the index lists is proven where it says. ``--row`` adds a registry row to check (the
committed rows of the answer are checked anyway).

Exit codes: 0 proven (present or absent), 1 a product key held by two live filings, 25 a proof
or answer that does not hold, 26 an index note that does not belong to the checkpoint, 20/24 the
checkpoint or its witnesses, 3 bad keys or policy (docs/audit-bundle.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli_witness_options import (
    WitnessKeys,
    WitnessPolicyFile,
    WitnessThreshold,
    log_key_of_policy,
    witness_policy_of,
)
from audit.offline.errors import KeyConfigurationError, VerificationError
from audit.offline.index_check import (
    CheckedAnswer,
    answer_rows,
    check_answer,
    judge_key,
    patent_map_keys,
    product_map_keys,
)
from audit.offline.keys import KeyManifest
from audit.offline.note import NoteVerifier
from audit.offline.tlog_proof import VerifiedEvidence, verify_event_evidence
from audit.offline.verifier import exit_code

AnswerFile = Annotated[
    Path, typer.Option(help="The saved JSON answer of GET /v1/index/products or /patents")
]
LogKey = Annotated[str, typer.Option(help="C2SP verifier key of the log")]
Origin = Annotated[str, typer.Option(help="The log's origin")]
EvidenceFiles = Annotated[
    list[Path] | None,
    typer.Option(
        "--evidence",
        help="A .tlog-proof of one of the filing's events (`ppl audit evidence`); repeat it",
    ),
]
EventKeys = Annotated[
    Path | None, typer.Option(help="Public-key manifest of the event keys (for --evidence)")
]
RowFiles = Annotated[
    list[Path] | None,
    typer.Option("--row", help="A registry row (JSON, e.g. GET /v1/products/{id}) to check"),
]
_PATENT_PREFIX = re.compile(r"^(ZL|CN)", re.IGNORECASE)


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise typer.BadParameter(f"{path}: {exc}") from exc


def _evidence(
    files: list[Path] | None, keys: Path | None, log_key: NoteVerifier, origin: str
) -> list[VerifiedEvidence]:
    if not files:
        return []
    if keys is None:
        raise KeyConfigurationError("--evidence needs --keys, the event keys' manifest")
    trusted = KeyManifest.load(keys).trusted_keys
    return [
        verify_event_evidence(
            path.read_text(encoding="utf-8"), log_key=log_key, origin=origin, event_keys=trusted
        )
        for path in files
    ]


def _checked(
    answer_file: Path,
    wanted: list[tuple[bytes, bytes]],
    log_key: str,
    origin: str,
    witness: WitnessKeys,
    witness_threshold: WitnessThreshold,
    witness_policy: WitnessPolicyFile,
    evidence: list[Path] | None = None,
    keys: Path | None = None,
    rows: list[Path] | None = None,
) -> CheckedAnswer:
    """check_answer with the command's options; a failure exits with its code."""
    answer = _json(answer_file)
    shown = [_json(path) for path in rows or []]
    try:
        policy = witness_policy_of(witness, witness_threshold, witness_policy)
        pinned = NoteVerifier.from_verifier_key_string(log_key)
        log_key_of_policy(policy, pinned)
        committed = answer_rows(answer)
        return check_answer(
            answer,
            wanted,
            log_key=pinned,
            origin=origin,
            witnesses=policy,
            evidence=_evidence(evidence, keys, pinned, origin),
            rows=[*committed, *shown],
        )
    except VerificationError as exc:
        typer.echo(f"FAILED: {exc}", err=True)
        raise typer.Exit(exit_code(exc)) from None


def check_product(
    name: Annotated[str, typer.Argument(help="The product's name, as filed")],
    model: Annotated[str, typer.Argument(help="Its model or variety (may be empty)")] = "",
    *,
    answer: AnswerFile,
    log_key: LogKey,
    origin: Origin,
    evidence: EvidenceFiles = None,
    keys: EventKeys = None,
    row: RowFiles = None,
    witness: WitnessKeys = None,
    witness_threshold: WitnessThreshold = None,
    witness_policy: WitnessPolicyFile = None,
) -> None:
    """Prove from one index answer which filing holds a product's key under each key rule —
    never filed twice — or that none does; with --evidence, that a filing's trail is complete;
    with --row, that a registry row is the committed one."""
    try:
        wanted = product_map_keys(name.strip(), model.strip())
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if not wanted:
        raise typer.BadParameter("the name is empty under every key rule")
    checked = _checked(
        answer, wanted, log_key, origin, witness, witness_threshold, witness_policy,
        evidence, keys, row,
    )  # fmt: skip
    typer.echo(f"checkpoint {checked.checkpoint.size}: index note verified")
    twice = False
    for found in checked.keys:
        verdict = judge_key(found, checked.rows)
        twice = twice or verdict.filed_twice
        typer.echo(f"key rule v{verdict.rule} {verdict.key!r}: {verdict.judgement}")
        if verdict.holder is not None:
            typer.echo(f"  held by {verdict.holder}")
        for product_id in verdict.filings:
            complete = " (trail complete)" if product_id in checked.complete_trails else ""
            status = checked.rows.get(product_id, {}).get("status")
            shown = f" {status}" if status else ""
            typer.echo(f"  filing {product_id}{shown}{complete}")
    for product_id in sorted(checked.rows):
        typer.echo(f"row of {product_id}: the committed one")
    if twice:
        raise typer.Exit(1)


def check_patent(
    number: Annotated[str, typer.Argument(help="The patent number (ZL and spaces dropped)")],
    *,
    answer: AnswerFile,
    log_key: LogKey,
    origin: Origin,
    witness: WitnessKeys = None,
    witness_threshold: WitnessThreshold = None,
    witness_policy: WitnessPolicyFile = None,
) -> None:
    """Prove from one index answer which filings declare a patent, lost it to an upheld
    ownership claim or dropped it in a revision — or that no filing ever declared it."""
    canonical = _PATENT_PREFIX.sub("", "".join(number.split())).upper()
    checked = _checked(
        answer, patent_map_keys(canonical), log_key, origin, witness, witness_threshold,
        witness_policy,
    )  # fmt: skip
    typer.echo(f"checkpoint {checked.checkpoint.size}: index note verified")
    value = checked.keys[0].value
    if value is None:
        typer.echo(f"patent {canonical}: no filing ever declared it")
        return
    for standing in ("declared", "lost", "formerly"):
        for product_id in value[standing]:
            typer.echo(f"patent {canonical}: {standing} by filing {product_id}")
