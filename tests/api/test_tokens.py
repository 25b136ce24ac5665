"""Bearer tokens: issued by ``ppl tokens``, stored only as hashes, scoped, revocable."""

from __future__ import annotations

import hashlib
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import token_cache
from api.app import create_app
from api.bootstrap import open_database
from api.cli import app
from api.settings import Settings, SettingsError
from api.token_cache import TokenCache
from api.tokens import TokenError, TokenStore
from domain.actor import Role
from tests.api.conftest import api_settings
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


# --- the API process's short token cache (api.token_cache) -------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_token_cache_keeps_an_answer_for_its_ttl_and_no_longer():
    clock = FakeClock()
    cache: TokenCache[str] = TokenCache(1.5, clock)
    cache.put("ppl_a_secret", "a", "principal a")
    assert cache.get("ppl_a_secret") == "principal a"
    assert cache.get("ppl_a_secreT") is None  # another secret never matches
    clock.now += 1.49
    assert cache.get("ppl_a_secret") == "principal a"
    clock.now += 0.01
    assert cache.get("ppl_a_secret") is None  # expired: the next request looks it up again


def test_the_token_cache_forgets_a_revoked_id_and_is_off_at_zero():
    cache: TokenCache[str] = TokenCache(5, FakeClock())
    cache.put("ppl_a_one", "a", "a")
    cache.put("ppl_b_two", "b", "b")
    cache.forget("a")
    assert (cache.get("ppl_a_one"), cache.get("ppl_b_two")) == (None, "b")
    off: TokenCache[str] = TokenCache(0, FakeClock())
    off.put("ppl_a_one", "a", "a")
    assert off.get("ppl_a_one") is None


def test_the_token_cache_is_bounded():
    cache: TokenCache[int] = TokenCache(60, FakeClock())
    for number in range(token_cache.MAX_ENTRIES + 1):
        cache.put(f"token-{number}", str(number), number)
    assert cache.get(f"token-{token_cache.MAX_ENTRIES}") == token_cache.MAX_ENTRIES
    assert cache.get("token-0") is None  # started over when full
    assert len(cache._entries) <= token_cache.MAX_ENTRIES


def test_a_cached_token_is_never_a_revoked_or_unknown_one(store):
    cached = TokenStore(store.db, cache_seconds=60)
    token_id, token = cached.create(Role.AUDITOR)
    assert cached.recently_authenticated(token) is None  # not used yet: nothing cached
    assert cached.authenticate(token) is not None
    assert cached.recently_authenticated(token) is not None
    cached.revoke(token_id)  # through this store (this process): forgotten at once
    assert cached.recently_authenticated(token) is None
    assert cached.authenticate(token) is None
    assert cached.recently_authenticated(token) is None  # a refusal is never cached


def _whoami(client: TestClient, token: str) -> int:
    return client.get("/health", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_token_revoked_elsewhere_is_refused_once_the_cache_time_has_passed(
    database_url, tmp_path
):
    settings = api_settings(database_url, tmp_path, **{"PPL_API_TOKEN_CACHE_SECONDS": "0.5"})
    with TestClient(create_app(settings)) as client:
        elsewhere = TokenStore(open_database(settings))  # as `ppl tokens revoke` would
        try:
            token_id, token = elsewhere.create(Role.REVIEWER)
            assert _whoami(client, token) == 200
            elsewhere.revoke(token_id)
            started = time.monotonic()
            while _whoami(client, token) == 200:
                assert time.monotonic() - started < 0.5 + 0.4, "revocation not seen in time"
                time.sleep(0.05)
            assert _whoami(client, token) == 401
        finally:
            elsewhere.db.close()


def test_without_the_cache_a_revocation_elsewhere_is_refused_at_once(database_url, tmp_path):
    settings = api_settings(database_url, tmp_path, **{"PPL_API_TOKEN_CACHE_SECONDS": "0"})
    with TestClient(create_app(settings)) as client:
        elsewhere = TokenStore(open_database(settings))
        try:
            token_id, token = elsewhere.create(Role.REVIEWER)
            assert _whoami(client, token) == 200
            elsewhere.revoke(token_id)
            assert _whoami(client, token) == 401
        finally:
            elsewhere.db.close()


@pytest.mark.parametrize("value", ["-1", "61", "soon", "nan"])
def test_a_bad_token_cache_setting_is_refused(value, tmp_path):
    with pytest.raises(SettingsError, match="PPL_API_TOKEN_CACHE_SECONDS"):
        Settings.from_environment(
            {"PPL_DATA_DIR": str(tmp_path), "PPL_API_TOKEN_CACHE_SECONDS": value}
        )
