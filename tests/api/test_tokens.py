"""Bearer tokens: issued by ``ppl tokens``, stored only as hashes, scoped, revocable."""

from __future__ import annotations

import hashlib

import pytest
from typer.testing import CliRunner

from api.bootstrap import open_database
from api.cli import app
from api.tokens import TokenError, TokenStore
from domain.actor import Role
from tests.domain.factories import uscc

runner = CliRunner()


@pytest.fixture
def store(settings):
    tokens = TokenStore(open_database(settings))
    yield tokens
    tokens.db.close()


def test_a_token_authenticates_as_its_role_and_scope_and_only_its_hash_is_stored(store):
    token_id, token = store.create(Role.FILER, uscc(5), label="ACME filing desk")
    principal = store.authenticate(token)
    assert principal is not None
    assert (principal.role, principal.scope, principal.token_id) == (Role.FILER, uscc(5), token_id)
    assert principal.actor().as_record() == {
        "id": f"token:{token_id}", "role": "filer", "scope": uscc(5),
    }  # fmt: skip
    with store.db.transaction(write=False) as cursor:
        cursor.execute("SELECT * FROM ppl_api_tokens")
        stored = [str(value) for row in cursor.fetchall() for value in row]
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_unknown_altered_malformed_and_revoked_tokens_do_not_authenticate(store):
    token_id, token = store.create(Role.REVIEWER)
    _other_id, other = store.create(Role.AUDITOR)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    swapped = f"ppl_{token_id}_{other.rsplit('_', 1)[1]}"  # right id, another token's secret
    for bad in (altered, swapped, "", "ppl_", "Bearer " + token, token + " ", "x" * 500):
        assert store.authenticate(bad) is None, bad
    store.revoke(token_id)
    assert store.authenticate(token) is None
    assert store.authenticate(other) is not None
    with pytest.raises(TokenError, match="no active token"):
        store.revoke(token_id)  # twice
    with pytest.raises(TokenError, match="no active token"):
        store.revoke("0123456789abcdef")


@pytest.mark.parametrize(
    ("role", "scope", "message"),
    [
        (Role.FILER, None, "needs --scope USCC"),
        (Role.FILER, "91310000MA1FL0000X", "--scope"),
        (Role.INSTITUTION, "", "needs --scope USCC"),
        (Role.REGIONAL_ADMIN, None, "REGION_PREFIX"),
        (Role.REGIONAL_ADMIN, "3101x5", "REGION_PREFIX"),
        (Role.REGIONAL_ADMIN, "310", "REGION_PREFIX"),
        (Role.REVIEWER, "310115", "takes no --scope"),
        (Role.SYSTEM, None, "cannot hold a token"),
    ],
)
def test_tokens_with_a_wrong_scope_or_role_are_refused_and_nothing_is_stored(
    store, role, scope, message
):
    with pytest.raises(TokenError, match=message):
        store.create(role, scope)
    assert store.list() == []


def test_ppl_tokens_create_list_revoke(cli_env, settings):
    created = runner.invoke(app, ["tokens", "create", "--role", "regional_admin",
                                  "--scope", "310115", "--label", "Pudong office"])  # fmt: skip
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("ppl_")
    listed = runner.invoke(app, ["tokens", "list"])
    assert listed.exit_code == 0
    assert '"role": "regional_admin"' in listed.stdout
    assert "Pudong office" in listed.stdout
    assert token not in listed.stdout
    store = TokenStore(open_database(settings))
    try:
        principal = store.authenticate(token)
        assert principal is not None
        assert principal.scope == "310115"
        revoked = runner.invoke(app, ["tokens", "revoke", principal.token_id or ""])
        assert revoked.exit_code == 0
        assert store.authenticate(token) is None
    finally:
        store.db.close()


@pytest.mark.parametrize(
    "arguments",
    [
        ["tokens", "create", "--role", "superuser"],
        ["tokens", "create", "--role", "filer"],
        ["tokens", "create", "--role", "auditor", "--scope", "31"],
        ["tokens", "revoke", "feedfacefeedface"],
    ],
)
def test_bad_token_commands_exit_2_and_store_nothing(cli_env, settings, arguments):
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2
    assert "error:" in result.output
    store = TokenStore(open_database(settings))
    try:
        assert store.list() == []
    finally:
        store.db.close()
