"""The ``ppl`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from api.bootstrap import open_ledger
from api.settings import SettingsError, get_settings
from audit.errors import KeyConfigurationError
from audit.keys import KeyManifest, rotate_signing_key
from domain.clock import system_now

app = typer.Typer(no_args_is_help=True, help="Patent Product Ledger")
keys_app = typer.Typer(no_args_is_help=True, help="Event-signing keys")
app.add_typer(keys_app, name="keys")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def sample(
    seed: Annotated[int, typer.Option(help="Seed of the deterministic data set")] = 1,
) -> None:
    """Load the sample data set into the store named by PPL_DATABASE_URL (idempotent)."""
    from domain.sample import load_sample  # noqa: PLC0415 (only this command needs it)

    ledger = open_ledger(get_settings())
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
    """Show which store is in use, how many events it holds and the signing key."""
    settings = get_settings()
    ledger = open_ledger(settings)
    try:
        typer.echo(
            json.dumps(
                {
                    "store": "postgresql" if settings.is_postgres else "sqlite",
                    "events": ledger.recorder.max_notification_id() or 0,
                    "signing_key_id": ledger.keyring.signer.key_id if ledger.keyring else None,
                },
                indent=2,
            )
        )
    finally:
        ledger.close()


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
    """Print the public-key manifest (every key that ever signed, with its validity)."""
    manifest = KeyManifest.load(get_settings().public_keys_file)
    typer.echo(json.dumps(manifest.to_json(), indent=2, sort_keys=True))


@keys_app.command("rotate")
def keys_rotate(
    out: Annotated[Path, typer.Option(help="Where to write the new private key (mode 0600)")],
) -> None:
    """Create a new signing key, trust it and retire the others.

    Point PPL_SIGNING_KEY_FILE at the new file afterwards; old events stay verifiable.
    """
    if out.exists():
        _fail(f"{out} exists: refusing to overwrite a key")
    new_id = rotate_signing_key(
        new_key_file=out, manifest_file=get_settings().public_keys_file, now=system_now()
    )
    typer.echo(f"new signing key {new_id} written to {out}; set PPL_SIGNING_KEY_FILE={out}")


def main() -> None:
    """Entry point: turns configuration errors into a message and exit code 2."""
    try:
        app()
    except (SettingsError, KeyConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
