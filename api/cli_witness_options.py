"""The auditor's witness options, shared by the commands that verify checkpoints
(``ppl audit verify``, ``check-evidence``, ``check-product``, ``check-patent``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from audit.offline.cosignature import WitnessPolicy
from audit.offline.errors import KeyConfigurationError
from audit.offline.note import NoteVerifier

WitnessKeys = Annotated[
    list[str] | None,
    typer.Option(
        "--witness",
        help="A witness's cosignature verifier key (C2SP vkey, type 0x04 or 0x06); repeat "
        "it: the checkpoint relied on must carry valid cosignatures (exit 24 otherwise)",
    ),
]
WitnessThreshold = Annotated[
    int | None,
    typer.Option(help="How many of the --witness keys must cosign (default: all of them)"),
]
WitnessPolicyFile = Annotated[
    Path | None,
    typer.Option(help="A C2SP tlog-policy file (log, witness, group and quorum lines) instead"),
]


def witness_policy_of(
    witness: list[str] | None, threshold: int | None, policy_file: Path | None
) -> WitnessPolicy | None:
    """The auditor's witness policy: --witness keys (K of them) or a tlog-policy file.

    Raises:
        KeyConfigurationError: a malformed key or policy, both forms given, or a threshold
            without witnesses (exit 3).
    """
    if policy_file is not None:
        if witness or threshold is not None:
            raise KeyConfigurationError(
                "give --witness-policy or --witness/--witness-threshold, not both"
            )
        try:
            text = policy_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyConfigurationError(f"witness policy {policy_file}: {exc}") from exc
        return WitnessPolicy.parse(text)
    if not witness and threshold is None:
        return None
    return WitnessPolicy.k_of_n(witness or [], threshold)


def log_key_of_policy(
    policy: WitnessPolicy | None, pinned: NoteVerifier | None
) -> NoteVerifier | None:
    """The log key to trust, given a tlog-policy that lists logs: the pinned one must be one
    of them; without a pinned key, a policy naming exactly one log pins it.

    Raises:
        KeyConfigurationError: the pinned key is not among the policy's logs (exit 3).
    """
    if policy is None or not policy.logs:
        return pinned
    listed = [NoteVerifier.from_verifier_key_string(vkey) for vkey, _ in policy.logs]
    if pinned is None:
        return listed[0] if len(listed) == 1 else None
    if not any(log.verifier_key_string() == pinned.verifier_key_string() for log in listed):
        raise KeyConfigurationError(
            f"--log-key {pinned.verifier_key_string()} is not one of the witness policy's logs"
        )
    return pinned
