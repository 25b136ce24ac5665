"""Tokens expire (default 90 days, ``--expires``), rotate with a grace period, and an expired
token is a 401 ``token_expired`` (issue #15, part 5). Both stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from api.bootstrap import open_database
from api.cli import app as cli_app
from api.tokens import DEFAULT_LIFETIME, TokenError, TokenExpiredError, TokenStore, parse_lifetime
from domain.actor import Role
from tests.domain.factories import uscc

runner = CliRunner()


@pytest.fixture
def store(settings):
    tokens = TokenStore(open_database(settings))
    yield tokens
    tokens.db.close()


def _expire(store: TokenStore, token_id: str) -> None:
    """Move the token's expiry into the past (as time passing would)."""
    with store.db.transaction(write=True) as cursor:
        cursor.execute(
            store.db.q("UPDATE ppl_api_tokens SET expires_at = ? WHERE token_id = ?"),
            ("2020-01-01T00:00:00.000000Z", token_id),
        )


def _expires_at(store: TokenStore, token_id: str) -> datetime:
    (record,) = [r for r in store.list() if r.token_id == token_id]
    return datetime.strptime(record.expires_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def test_a_token_expires_after_its_lifetime_by_default_90_days(store):
    token_id, token = store.create(Role.REVIEWER)
    left = _expires_at(store, token_id) - datetime.now(UTC)
    assert DEFAULT_LIFETIME - timedelta(minutes=1) < left <= DEFAULT_LIFETIME
    short_id, _ = store.create(Role.AUDITOR, lifetime=timedelta(hours=12))
    assert _expires_at(store, short_id) - datetime.now(UTC) <= timedelta(hours=12)
    assert store.authenticate(token) is not None
    _expire(store, token_id)
    with pytest.raises(TokenExpiredError) as expired:
        store.authenticate(token)
    assert expired.value.token_id == token_id


@pytest.mark.parametrize(("text", "zero", "want"), [
    ("90d", False, timedelta(days=90)), ("12h", False, timedelta(hours=12)),
    ("30m", False, timedelta(minutes=30)), ("0m", True, timedelta(0)),
])  # fmt: skip
def test_lifetimes_are_read(text, zero, want):
    assert parse_lifetime(text, zero=zero) == want


@pytest.mark.parametrize("text", ["0d", "367d", "90", "1w", "-1d", "", "9999999d"])
def test_a_lifetime_out_of_range_or_unreadable_is_refused(text):
    with pytest.raises(TokenError):
        parse_lifetime(text)


def test_an_expired_token_is_401_token_expired_and_a_revoked_one_token_invalid(api):
    tokens = api.state.tokens
    expired_id, expired = tokens.create(Role.REVIEWER)
    revoked_id, revoked = tokens.create(Role.REVIEWER)
    _expire(tokens, expired_id)
    tokens.revoke(revoked_id)
    for token, code in ((expired, "token_expired"), (revoked, "token_invalid")):
        response = api.client.get("/v1/filers", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["code"] == code
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_rotation_issues_a_successor_and_lets_the_old_token_run_out(store):
    old_id, old = store.create(Role.FILER, uscc(3), label="ACME")
    new_id, new = store.rotate(old_id, timedelta(days=30), timedelta(hours=1))
    successor = store.authenticate(new)
    assert successor is not None
    assert (successor.role, successor.scope) == (Role.FILER, uscc(3))
    assert store.authenticate(old) is not None  # still works in the grace period
    assert _expires_at(store, old_id) - datetime.now(UTC) <= timedelta(hours=1)
    assert [r.label for r in store.list() if r.token_id == new_id] == ["ACME"]
    third_id, third = store.rotate(new_id, grace=timedelta(0))  # no grace: revoked at once
    assert store.authenticate(new) is None
    assert store.authenticate(third) is not None
    with pytest.raises(TokenError):
        store.rotate(new_id)  # revoked: nothing to rotate
    _expire(store, third_id)
    with pytest.raises(TokenError):
        store.rotate(third_id)  # expired


def test_a_token_table_of_an_earlier_release_gets_expiries(settings):
    db = open_database(settings)
    created = "2026-11-01T00:00:00.000000Z"
    with db.transaction(write=True) as cursor:
        cursor.execute(
            "CREATE TABLE ppl_api_tokens (token_id TEXT PRIMARY KEY, token_hash TEXT NOT NULL, "
            "role TEXT NOT NULL, scope TEXT, label TEXT NOT NULL, created_at TEXT NOT NULL, "
            "revoked_at TEXT)"
        )
        cursor.execute(
            db.q("INSERT INTO ppl_api_tokens VALUES (?, ?, ?, ?, ?, ?, ?)"),
            ("0123456789abcdef", "0" * 64, "auditor", None, "old", created, None),
        )
    store = TokenStore(db)
    try:
        (record,) = store.list()
        assert record.expires_at == "2027-01-30T00:00:00.000000Z"  # created + 90 days
    finally:
        db.close()


def test_ppl_tokens_create_with_expires_and_rotate(cli_env, settings):
    created = runner.invoke(cli_app, ["tokens", "create", "--role", "auditor", "--expires", "12h"],
                            env=cli_env)  # fmt: skip
    assert created.exit_code == 0, created.output
    listed = [json.loads(line) for line in runner.invoke(
        cli_app, ["tokens", "list"], env=cli_env).stdout.splitlines()]  # fmt: skip
    (record,) = listed
    assert record["expires_at"] < (datetime.now(UTC) + timedelta(hours=13)).isoformat()
    rotated = runner.invoke(cli_app, ["tokens", "rotate", record["token_id"], "--grace", "0m"],
                            env=cli_env)  # fmt: skip
    assert rotated.exit_code == 0, rotated.output
    assert rotated.stdout.startswith("ppl_")
    refused = runner.invoke(cli_app, ["tokens", "create", "--role", "auditor", "--expires", "2y"],
                            env=cli_env)  # fmt: skip
    assert refused.exit_code == 2
