"""``ppl tokens create|list|rotate|revoke``: the API's bearer tokens (api.tokens).

The token is printed once, on creation, to standard output alone (so ``TOKEN=$(ppl tokens
create ...)`` works); its id and role go to standard error. Only its hash is stored.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from api.bootstrap import open_database
from api.cli_common import fail
from api.settings import get_settings
from api.tokens import TokenError, TokenStore, parse_lifetime, parse_role

tokens_app = typer.Typer(no_args_is_help=True, help="Bearer tokens of the HTTP API")


def _store() -> TokenStore:
    return TokenStore(open_database(get_settings()))


@tokens_app.command("create")
def create(
    role: Annotated[
        str,
        typer.Option(help="filer, institution, reviewer, certifier, regional_admin or auditor"),
    ],
    scope: Annotated[
        str | None,
        typer.Option(help="USCC (filer, institution) or region-code prefix (regional_admin)"),
    ] = None,
    label: Annotated[str, typer.Option(help="A note for operators: who holds it")] = "",
    expires: Annotated[
        str, typer.Option(help="Lifetime: 90d, 12h, 30m (1 minute to 366 days)")
    ] = "90d",
) -> None:
    """Issue a token; prints it once (only its hash is kept). It expires after ``--expires``."""
    store = _store()
    try:
        token_id, token = store.create(parse_role(role), scope, label, parse_lifetime(expires))
    except TokenError as exc:
        fail(str(exc))
    finally:
        store.db.close()
    typer.echo(f"token {token_id}: role {role}" + (f", scope {scope}" if scope else ""), err=True)
    typer.echo(token)


@tokens_app.command("list")
def list_tokens() -> None:
    """Every token issued: id, role, scope, label, when created and revoked (never the token)."""
    store = _store()
    try:
        records = store.list()
    finally:
        store.db.close()
    for record in records:
        typer.echo(
            json.dumps(
                {"token_id": record.token_id, "role": record.role.value, "scope": record.scope,
                 "label": record.label, "created_at": record.created_at,
                 "revoked_at": record.revoked_at, "expires_at": record.expires_at},
                ensure_ascii=False,
            )
        )  # fmt: skip


@tokens_app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (ppl tokens list)")],
) -> None:
    """Revoke a token: requests carrying it get 401 from now on."""
    store = _store()
    try:
        store.revoke(token_id)
    except TokenError as exc:
        fail(str(exc))
    finally:
        store.db.close()
    typer.echo(f"token {token_id} revoked")


@tokens_app.command("rotate")
def rotate(
    token_id: Annotated[str, typer.Argument(help="The token to replace (ppl tokens list)")],
    expires: Annotated[str, typer.Option(help="The new token's lifetime")] = "90d",
    grace: Annotated[
        str, typer.Option(help="How long the old token still works: 24h, 0m (not at all)")
    ] = "24h",
) -> None:
    """Issue the successor of a token (same role, scope, label); prints it once. The old one
    stops working after ``--grace``."""
    store = _store()
    try:
        new_id, token = store.rotate(
            token_id, parse_lifetime(expires), parse_lifetime(grace, zero=True)
        )
    except TokenError as exc:
        fail(str(exc))
    finally:
        store.db.close()
    typer.echo(f"token {new_id} replaces {token_id} (which ends after {grace})", err=True)
    typer.echo(token)
