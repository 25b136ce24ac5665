"""The ``ppl`` command line."""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NamedTuple
from uuid import UUID

import typer

from api.bootstrap import (
    CLI_CONNECTIONS,
    SignedPatentLedger,
    export_audit_bundle,
    notification_reader,
    open_ledger,
    open_transparency_log,
    open_witnessing,
    published_keys,
    unlogged_event_count,
)
from api.cli_certify import certify_app
from api.cli_common import fail
from api.cli_index import check_patent, check_product
from api.cli_projections import (
    dispute_check_command,
    projections_app,
    registry_app,
    stats_app,
)
from api.cli_tokens import tokens_app
from api.cli_witness_options import (
    WitnessKeys,
    WitnessPolicyFile,
    WitnessThreshold,
    log_key_of_policy,
    witness_policy_of,
)
from api.log_follower import LogFollower
from api.settings import Settings, SettingsError, get_settings
from api.witness_follower import WitnessFollower
from audit.database.private_files import open_private_text
from audit.log.bundle_export import ExportError, events_after
from audit.log.transparency_log import ProofRequestError, TransparencyLog
from audit.log.witness_report import witnessing_report
from audit.offline.duplicates import NearDuplicatePair, PairDecision, ProductFindings, ProductRef
from audit.offline.errors import KeyConfigurationError, VerificationError
from audit.offline.keys import KeyManifest
from audit.offline.note import NoteVerifier
from audit.offline.tlog_proof import verify_event_evidence
from audit.offline.verifier import (
    TRUSTED_CHECKPOINTS_WARNING,
    duplicates_in_bundle,
    exit_code,
    verify_bundle,
    verify_uncheckpointed_events,
)
from audit.signing.key_files import rotate_signing_key
from audit.signing.signing_mapper import as_uuid
from domain.clock import system_now

app = typer.Typer(no_args_is_help=True, help="Patent Product Ledger")
keys_app = typer.Typer(no_args_is_help=True, help="Event-signing keys")
app.add_typer(keys_app, name="keys")
log_app = typer.Typer(no_args_is_help=True, help="The Merkle log: sequencing and checkpoints")
app.add_typer(log_app, name="log")
audit_app = typer.Typer(no_args_is_help=True, help="Proofs, bundles and offline verification")
app.add_typer(audit_app, name="audit")
audit_app.command("check-product")(check_product)
audit_app.command("check-patent")(check_patent)
app.add_typer(projections_app, name="projections")
app.add_typer(stats_app, name="stats")
app.add_typer(registry_app, name="registry")
app.add_typer(tokens_app, name="tokens")
app.add_typer(certify_app, name="certify")
app.command("dispute-check")(dispute_check_command)


@app.command()
def sample(
    seed: Annotated[int, typer.Option(help="Seed of the deterministic data set")] = 1,
) -> None:
    """Load the sample data set into the store named by PPL_DATABASE_URL (idempotent)."""
    from domain.sample import load_sample  # noqa: PLC0415 (only this command needs it)

    ledger = open_ledger(get_settings(), connections=CLI_CONNECTIONS)
    try:
        summary = load_sample(ledger, seed)
    finally:
        ledger.close()
    typer.echo(
        f"sample seed {seed}: {summary.events_added} events added; "
        f"{summary.filers_approved} approved filers, {summary.products_filed} filed products"
    )


@app.command()
def status() -> None:
    """Show the store, how many events it holds, the signing key and the log's state (with how
    many stored events it has not integrated yet).

    ``events`` counts the stored events: the log's leaves plus the events not integrated yet.
    ``max_notification_id`` is the highest notification id, which is more on PostgreSQL: a
    transaction that aborts there still spends the ids it drew."""
    settings = get_settings()
    with _ledger_and_log(settings) as (ledger, log):
        latest = log.store.latest_checkpoint()
        witnessed = log.witnessed()
        integrated, unlogged = log.size(), unlogged_event_count(ledger, log.store)
        document = {
            "store": "postgresql" if settings.is_postgres else "sqlite",
            "events": integrated + unlogged,
            "max_notification_id": ledger.recorder.max_notification_id() or 0,
            "signing_key_id": ledger.keyring.signer.key_id if ledger.keyring else None,
            "log": {
                "origin": log.origin,
                "verifier_key": log.signer.verifier_key_string(),
                "integrated": integrated,
                "latest_checkpoint": latest.tree_size if latest is not None else None,
                "unlogged": unlogged,
                "witness_quorum": settings.witness_policy.describe(),
                "witnessed_checkpoint": witnessed.tree_size if witnessed is not None else None,
            },
        }
    typer.echo(json.dumps(document, indent=2))


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Run the HTTP service with uvicorn on the configured store."""
    import uvicorn  # noqa: PLC0415 (only this command needs it)

    from api.app import create_app  # noqa: PLC0415

    uvicorn.run(create_app(get_settings()), host=host, port=port)


@keys_app.command("list")
def keys_list() -> None:
    """Print the public keys as `GET /v1/keys` serves them: every event key that ever signed,
    with its validity (the manifest: the file loads as `--keys`), the log's C2SP verifier key
    and origin (`--log-key`), and the witnesses with the quorum."""
    settings = get_settings()
    with _transparency_log() as log:
        document = published_keys(KeyManifest.load(settings.public_keys_file), log)
    typer.echo(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))


@keys_app.command("rotate")
def keys_rotate(
    out: Annotated[Path, typer.Option(help="Where to write the new private key (mode 0600)")],
) -> None:
    """Create a new signing key, trust it and retire the others.

    Point PPL_SIGNING_KEY_FILE at the new file afterwards; old events stay verifiable.
    """
    if out.exists():
        fail(f"{out} exists: refusing to overwrite a key")
    new_id = rotate_signing_key(
        new_key_file=out, manifest_file=get_settings().public_keys_file, now=system_now()
    )
    typer.echo(f"new signing key {new_id} written to {out}; set PPL_SIGNING_KEY_FILE={out}")


@contextmanager
def _ledger_and_log(settings: Settings) -> Iterator[tuple[SignedPatentLedger, TransparencyLog]]:
    ledger = open_ledger(settings, connections=CLI_CONNECTIONS)
    try:
        log = open_transparency_log(ledger, settings)
        try:
            yield ledger, log
        finally:
            log.store.close()
    finally:
        ledger.close()


@contextmanager
def _transparency_log() -> Iterator[TransparencyLog]:
    with _ledger_and_log(get_settings()) as (_, log):
        yield log


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@log_app.command("sequence")
def log_sequence() -> None:
    """Integrate every new event into the log and publish a checkpoint; prints it."""
    with _transparency_log() as log:
        latest = log.sequence()
    if latest is None:
        typer.echo("the log is empty: no event to integrate", err=True)
        return
    typer.echo(latest.signed_note, nl=False)


@log_app.command("follow")
def log_follow(
    interval: Annotated[float, typer.Option(help="Seconds between rounds")] = 1.0,
) -> None:
    """Keep sequencing new events and publishing checkpoints until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with _transparency_log() as log:
        witnessing = open_witnessing(log, get_settings())
        witnesses = None if witnessing is None else WitnessFollower(witnessing, interval)

        def on_round(size: int) -> None:
            typer.echo(f"log size {size}", err=True)
            if witnesses is not None:
                witnesses.nudge()

        follower = LogFollower(log, interval, on_round=on_round)
        if witnesses is not None:
            witnesses.start()
        try:
            follower.run()
        except KeyboardInterrupt:
            follower.stop()
        finally:
            if witnesses is not None:
                witnesses.stop()


@log_app.command("witness")
def log_witness() -> None:
    """Submit the latest checkpoint to every witness of PPL_WITNESS_POLICY once (as `ppl
    serve` does after each checkpoint); prints each witness's outcome. Exit 1 if one failed."""
    with _transparency_log() as log:
        witnessing = open_witnessing(log, get_settings())
        if witnessing is None:
            fail("no witness to submit to: PPL_WITNESS_POLICY names no witness with a URL")
        outcomes = witnessing.round()
    for outcome in outcomes:
        detail = f": {outcome.detail}" if outcome.detail else ""
        typer.echo(f"{outcome.witness} {outcome.status} size {outcome.tree_size}{detail}")
    if any(outcome.status == "failed" for outcome in outcomes):
        raise typer.Exit(1)


@log_app.command("witnesses")
def log_witnesses(
    output: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Each witness's last cosigned size, lag behind the latest checkpoint, failures and
    back-off, and whether the quorum has gone unmet for longer than
    PPL_WITNESS_DEGRADED_AFTER (status degraded)."""
    if output not in ("table", "json"):
        fail(f"--format {output!r}: want table or json")
    settings = get_settings()
    with _transparency_log() as log:
        report = witnessing_report(
            log, now=datetime.now(tz=UTC), degraded_after=settings.witness_degraded_after
        )
    if output == "json":
        typer.echo(json.dumps(asdict(report), indent=2, ensure_ascii=False))
        return
    typer.echo(
        f"witnessing {report.status}: quorum {report.quorum}; latest checkpoint "
        f"{report.latest_checkpoint}, witnessed {report.witnessed_checkpoint}"
        + (f", unmet since {report.unmet_since}" if report.unmet_since else "")
    )
    for line in report.witnesses:
        typer.echo(
            f"{line.witness}  cosigned {line.cosigned_size}  lag {line.lag}  "
            f"at {line.cosigned_at or '-'}  failures {line.failures}"
            + (f"  next attempt {line.next_attempt}" if line.next_attempt else "")
            + (f"  last error: {line.last_error}" if line.last_error else "")
        )


@log_app.command("checkpoint")
def log_checkpoint(
    size: Annotated[int | None, typer.Option(help="Tree size (default: the latest)")] = None,
) -> None:
    """Print a signed checkpoint (C2SP signed note) with its witness cosignatures: by default
    the published one (under a witness policy, the latest the quorum cosigned)."""
    with _transparency_log() as log:
        record = log.published() if size is None else log.store.checkpoint(size)
        note = None if record is None else log.cosigned_note(record)
    if note is None:
        fail("no such checkpoint (run `ppl log sequence`)")
    typer.echo(note, nl=False)


@log_app.command("checkpoints")
def log_checkpoints() -> None:
    """List every checkpoint: tree size, root (base64), time signed."""
    with _transparency_log() as log:
        records = log.store.checkpoints()
    for record in records:
        typer.echo(f"{record.tree_size}\t{_b64(record.root)}\t{record.created_at}")


@audit_app.command("prove")
def audit_prove(
    leaf: Annotated[int | None, typer.Option(help="Leaf index to prove included")] = None,
    event: Annotated[
        str | None, typer.Option(help="Event to prove included, as AGGREGATE_ID:VERSION")
    ] = None,
    size: Annotated[int | None, typer.Option(help="Tree size (default: latest checkpoint)")] = None,
    from_size: Annotated[int | None, typer.Option("--from", help="Older tree size")] = None,
    to_size: Annotated[int | None, typer.Option("--to", help="Newer tree size")] = None,
) -> None:
    """Print an inclusion or consistency proof as JSON (field names of the RFC 6962 vectors)."""
    inclusion = leaf is not None or event is not None
    consistency = from_size is not None or to_size is not None
    if inclusion == consistency or (leaf is not None and event is not None):
        fail("give one of --leaf I, --event ID:VERSION, or --from N1 --to N2")
    with _transparency_log() as log:
        try:
            if consistency:
                if from_size is None or to_size is None:
                    fail("a consistency proof needs both --from and --to")
                proof = log.consistency_proof(from_size, to_size)
                document: dict[str, object] = {
                    "size1": proof.size1,
                    "size2": proof.size2,
                    "root1": _b64(proof.root1),
                    "root2": _b64(proof.root2),
                    "proof": [_b64(h) for h in proof.proof],
                }
            else:
                index = leaf if leaf is not None else _leaf_of_event(log, str(event))
                included = log.inclusion_proof(index, size)
                document = {
                    "leafIdx": included.leaf_index,
                    "treeSize": included.tree_size,
                    "root": _b64(included.root),
                    "leafHash": _b64(included.leaf_hash),
                    "proof": [_b64(h) for h in included.proof],
                }
        except ProofRequestError as exc:
            fail(str(exc))
    typer.echo(json.dumps(document, indent=2))


def _leaf_of_event(log: TransparencyLog, event: str) -> int:
    aggregate, _, version = event.partition(":")
    try:
        originator_id, number = UUID(aggregate), int(version)
    except ValueError:
        raise ProofRequestError(f"event {event!r}: want AGGREGATE_ID:VERSION") from None
    return log.leaf_for_event(originator_id, number).leaf_index


def _progress_printer(label: str) -> Callable[[int, int], None] | None:
    """A one-line progress bar on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "-" * (width - filled)
        end = "\n" if done >= total else ""
        print(f"\r{label} [{bar}] {done:,}/{total:,}", end=end, file=sys.stderr, flush=True)

    return show


def _export(settings: Settings, out: Path) -> None:
    with _ledger_and_log(settings) as (ledger, log):
        export_audit_bundle(ledger, log, settings, out, _progress_printer("exporting"))


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option(help="File to write the audit bundle to")],
) -> None:
    """Write an audit bundle: every event up to the latest checkpoint, checkpoints, keys."""
    try:
        _export(get_settings(), out)
    except ExportError as exc:
        fail(str(exc))
    typer.echo(f"audit bundle written to {out}")


def _pinned_keys(
    keys: Path | None, log_key: str | None
) -> tuple[KeyManifest | None, NoteVerifier | None]:
    """The event keys and log key the auditor pins (``None``: the bundle's own are used).

    Raises:
        audit.offline.errors.VerificationError: a key file or key string that cannot be used (exit
        3).
    """
    return (
        KeyManifest.load(keys) if keys is not None else None,
        NoteVerifier.from_verifier_key_string(log_key) if log_key else None,
    )


class _Uncheckpointed(NamedTuple):
    """The stored events a live store's bundle leaves out: how many, and the failure among
    them (reported only once the bundle itself verifies, so failures come in log order)."""

    events: int
    failure: VerificationError | None


def _export_live(
    database: str, out: Path, event_keys: KeyManifest | None, *, require_logged: bool
) -> _Uncheckpointed:
    """Export the live store's bundle to ``out`` and verify, by their signatures, the events
    stored after its latest checkpoint, which the bundle cannot hold.

    Those events are verified as they are read, while the store is open; the bundle is verified
    after it is closed, so its worker processes inherit no open connection.

    Raises:
        ExportError: the store cannot be exported (no checkpoint yet).
        audit.offline.errors.VerificationError: the bundle's own event keys cannot be used.
    """
    settings = replace(get_settings(), database_url=database)
    settings.eventsourcing_env()
    with _ledger_and_log(settings) as (ledger, log):
        header = export_audit_bundle(ledger, log, settings, out, _progress_printer("exporting"))
        trusted = event_keys if event_keys is not None else KeyManifest.from_json(header.event_keys)
        stored = (
            (as_uuid(n.originator_id), n.originator_version, n.topic, n.state)
            for n in events_after(log.store, notification_reader(ledger), header.tree_size)
        )
        try:
            events = verify_uncheckpointed_events(
                stored, event_keys=trusted, require_logged=require_logged
            )
        except VerificationError as exc:
            return _Uncheckpointed(0, exc)
    return _Uncheckpointed(events, None)


class IndexCheckpoints(StrEnum):
    """Where ``ppl audit verify`` re-checks the product index's roots."""

    EVERY = "every"
    LATEST = "latest"


@audit_app.command("verify")
def audit_verify(
    bundle: Annotated[Path | None, typer.Argument(help="Audit bundle to verify")] = None,
    database: Annotated[
        str | None, typer.Option(help="Verify a live store instead (a PPL_DATABASE_URL)")
    ] = None,
    keys: Annotated[
        Path | None, typer.Option(help="Pinned public-key manifest of the event keys")
    ] = None,
    log_key: Annotated[str | None, typer.Option(help="Pinned C2SP verifier key of the log")] = None,
    since: Annotated[
        Path | None, typer.Option(help="A signed checkpoint kept from an earlier audit")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (default: all cores)")] = None,
    require_logged: Annotated[
        bool,
        typer.Option(
            help="With --database: fail (exit 23) if a stored event is not yet under a checkpoint"
        ),
    ] = False,
    witness: WitnessKeys = None,
    witness_threshold: WitnessThreshold = None,
    witness_policy: WitnessPolicyFile = None,
    index_checkpoints: Annotated[
        IndexCheckpoints,
        typer.Option(
            help="Re-check the product index at every checkpoint (default), or only at the "
            "latest index note: one rebuild, much quicker on a long log (earlier notes are "
            "named as unchecked)"
        ),
    ] = IndexCheckpoints.EVERY,
    trust_checkpoints: Annotated[
        bool,
        typer.Option(
            help="Checkpoint-trusted: verify one signature per checkpoint, not each event's; "
            "every leaf hash, root, replay rule and the index are still checked. Trusts that "
            "the log's sequencer verified each event's signature (docs/audit-bundle.md)"
        ),
    ] = False,
) -> None:
    """Verify a bundle offline; exit 0 when everything holds, else the failure's exit code.

    With --database: the live store's events under its latest checkpoint, as a bundle, then
    each event stored after that checkpoint by its own signature (exit 16 naming the first that
    does not verify), so no stored event is left unaccounted for.
    """
    if (bundle is None) == (database is None):
        fail("give a bundle file or --database URL (one of them)")
    if require_logged and database is None:
        fail("--require-logged needs --database: a bundle holds only checkpointed events")
    tail: _Uncheckpointed | None = None
    with tempfile.TemporaryDirectory() as scratch:
        try:
            event_keys, pinned_log_key = _pinned_keys(keys, log_key)
            policy = witness_policy_of(witness, witness_threshold, witness_policy)
            pinned_log_key = log_key_of_policy(policy, pinned_log_key)
            if database is not None:
                bundle = Path(scratch) / "live.bundle"
                try:
                    tail = _export_live(database, bundle, event_keys, require_logged=require_logged)
                except ExportError as exc:
                    fail(str(exc))
            assert bundle is not None  # noqa: S101 (narrowing for mypy; both paths set it)
            report = verify_bundle(
                bundle,
                event_keys=event_keys,
                log_key=pinned_log_key,
                since=since.read_text(encoding="utf-8") if since is not None else None,
                workers=workers,
                progress=_progress_printer("verifying"),
                witnesses=policy,
                index_every_checkpoint=index_checkpoints is IndexCheckpoints.EVERY,
                trust_checkpoints=trust_checkpoints,
            )
            if tail is not None and tail.failure is not None:
                raise tail.failure
        except VerificationError as exc:
            if trust_checkpoints:
                typer.echo(f"warning: {TRUSTED_CHECKPOINTS_WARNING}", err=True)
            typer.echo(f"FAILED: {exc}", err=True)
            raise typer.Exit(exit_code(exc)) from None
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(
        f"OK: {report.events} events of {report.aggregates} aggregates verified; "
        f"{len(report.checkpoints)} checkpoints, latest at size "
        f"{report.checkpoints[-1] if report.checkpoints else 0}"
        + (" (checkpoint-trusted: event signatures not verified)" if trust_checkpoints else "")
    )
    if report.cosigned_by:
        typer.echo(f"latest checkpoint cosigned by {', '.join(report.cosigned_by)}")
    if tail is not None:
        typer.echo(f"{tail.events} events after the latest checkpoint, verified by signature only")


def _warn_unpinned(keys: Path | None, log_key: str | None) -> None:
    """Say loudly, on stderr, which keys come from the bundle itself for want of pinned ones.

    A bundle's own keys prove only that it agrees with itself: whoever re-signs every event and
    checkpoint with keys of their own and puts those keys in the header passes.
    """
    missing = [
        what
        for what, given in (("event keys (--keys)", keys), ("log key (--log-key)", log_key))
        if given is None
    ]
    if missing:
        typer.echo(
            f"WARNING: no pinned {' or '.join(missing)}: falling back to the bundle's own keys, "
            "which only show that the bundle agrees with itself (a bundle re-signed with "
            "anyone's keys passes)",
            err=True,
        )


@audit_app.command("duplicates")
def audit_duplicates(
    bundle: Annotated[Path, typer.Argument(help="Audit bundle to check")],
    keys: Annotated[
        Path | None, typer.Option(help="Pinned public-key manifest of the event keys")
    ] = None,
    log_key: Annotated[str | None, typer.Option(help="Pinned C2SP verifier key of the log")] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (default: all cores)")] = None,
) -> None:
    """Verify the bundle as `ppl audit verify` does, then judge every filing by the key rules
    in force when it was recorded (docs/never-filed-twice.md): exit 1 on a product filed
    twice or a forged stored key, 0 otherwise (same-product groups of filings made before a
    rule, and near-duplicate pairs with the reviewer's decision on each, are listed, not
    failed; the count of pairs goes to stderr), else verify's exit code.

    Judging duplicates on a bundle that does not verify would prove nothing: a deleted filing
    hides a duplicate, a bundle re-signed with other keys can say anything.
    """
    _warn_unpinned(keys, log_key)
    try:
        event_keys, pinned_log_key = _pinned_keys(keys, log_key)
        verify_bundle(
            bundle,
            event_keys=event_keys,
            log_key=pinned_log_key,
            workers=workers,
            progress=_progress_printer("verifying"),
        )
        report = duplicates_in_bundle(bundle, event_keys=event_keys, workers=workers)
    except VerificationError as exc:
        typer.echo(f"FAILED: {exc}", err=True)
        raise typer.Exit(exit_code(exc)) from None
    _print_findings(report)
    _print_near_duplicates(report.near_duplicates)
    if report.duplicates or report.mismatched_keys:
        raise typer.Exit(1)
    typer.echo("no product was filed twice")


def _print_findings(report: ProductFindings) -> None:
    """Exact duplicates and forged keys (the exit code says so), then same-product groups."""

    def product_line(product: ProductRef) -> str:
        return f"  leaf {product.leaf_index}: filing {product.product_id} by {product.filer_uscc}"

    for duplicate in report.duplicates:
        typer.echo(
            f"duplicate product key {duplicate.canonical_key!r} (key rule v{duplicate.key_rule}):"
        )
        for product in duplicate.products:
            typer.echo(product_line(product))
    for mismatch in report.mismatched_keys:
        typer.echo(
            f"forged key at leaf {mismatch.leaf_index} (key rule v{mismatch.key_rule}): stored "
            f"{mismatch.stored_key!r}, its name and model give {mismatch.derived_key!r}"
        )
        typer.echo(product_line(mismatch.product))
    for group in report.same_product_groups:
        typer.echo(
            f"same product under key rule v{group.key_rule}, filed before it "
            f"(legitimate then; for a reviewer): {group.canonical_key!r}"
        )
        for product in group.products:
            typer.echo(product_line(product))


def _print_near_duplicates(pairs: tuple[NearDuplicatePair, ...]) -> None:
    """Near-duplicate pairs grouped by filing, each candidate with its screening reasons and
    the reviewer's decision; then the count per decision (stderr). Listed, never failed."""
    product: ProductRef | None = None
    for pair in pairs:
        if pair.product != product:
            product = pair.product
            typer.echo(
                f"near-duplicate candidates of filing {product.product_id} (leaf "
                f"{product.leaf_index}, by {product.filer_uscc}):"
            )
        reasons = ", ".join(pair.reasons) or "no screening reason"
        candidate = pair.candidate
        typer.echo(
            f"  leaf {candidate.leaf_index}: filing {candidate.product_id} by "
            f"{candidate.filer_uscc} [{reasons}]: {pair.decision_text()}"
        )
    counts = ", ".join(
        f"{sum(pair.decision is decision for pair in pairs)} {decision}"
        for decision in PairDecision
    )
    typer.echo(f"{len(pairs)} near-duplicate pair(s): {counts}", err=True)


@audit_app.command("evidence")
def audit_evidence(
    event: Annotated[str, typer.Option(help="The event, as AGGREGATE_ID:VERSION")],
    out: Annotated[Path | None, typer.Option(help="File to write (default: stdout)")] = None,
) -> None:
    """Write offline evidence (C2SP tlog-proof carrying the signed event) for one event."""
    with _transparency_log() as log:
        try:
            aggregate, _, version = event.partition(":")
            text = log.event_evidence(UUID(aggregate), int(version))
        except ValueError as exc:  # ProofRequestError is a ValueError
            fail(
                str(exc)
                if isinstance(exc, ProofRequestError)
                else f"event {event!r}: want ID:VERSION"
            )
    if out is None:
        typer.echo(text, nl=False)
    else:  # 0600: evidence names actors
        with os.fdopen(open_private_text(out), "w", encoding="utf-8") as handle:
            handle.write(text)


@audit_app.command("check-evidence")
def audit_check_evidence(
    proof: Annotated[Path, typer.Argument(help="A .tlog-proof written by `ppl audit evidence`")],
    log_key: Annotated[str, typer.Option(help="C2SP verifier key of the log")],
    origin: Annotated[str, typer.Option(help="The log's origin")],
    keys: Annotated[Path, typer.Option(help="Public-key manifest of the event keys")],
    witness: WitnessKeys = None,
    witness_threshold: WitnessThreshold = None,
    witness_policy: WitnessPolicyFile = None,
) -> None:
    """Verify single-event evidence offline and print the proven event.

    With --witness or --witness-policy the evidence's checkpoint must carry the policy's
    quorum of valid witness cosignatures (exit 24 otherwise).
    """
    try:
        policy = witness_policy_of(witness, witness_threshold, witness_policy)
        pinned = NoteVerifier.from_verifier_key_string(log_key)
        log_key_of_policy(policy, pinned)  # must be one of the policy's logs, if it lists any
        verified = verify_event_evidence(
            proof.read_text(encoding="utf-8"),
            log_key=pinned,
            origin=origin,
            event_keys=KeyManifest.load(keys).trusted_keys,
            witnesses=policy,
        )
    except VerificationError as exc:
        typer.echo(f"FAILED: {exc}", err=True)
        raise typer.Exit(exit_code(exc)) from None
    typer.echo(
        json.dumps(
            {
                "leaf_index": verified.leaf_index,
                "tree_size": verified.checkpoint.size,
                "originator_id": str(verified.originator_id),
                "originator_version": verified.version,
                "topic": verified.topic,
                "key_id": verified.key_id,
                "state": verified.state,
            },
            indent=2,
            ensure_ascii=False,
            default=str,
        )
    )


def main() -> None:
    """Entry point: turns configuration errors into a message and exit code 2."""
    try:
        app()
    except (SettingsError, KeyConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
