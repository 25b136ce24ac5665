"""Fixtures for the HTTP API: an app on the test's store, tokens of every role, settling.

``api`` runs the app with its background workers off (PPL_SEQUENCE_INTERVAL and
PPL_PROJECTION_INTERVAL = 0) so tests decide when the log and the read models catch up:
``api.settle()`` sequences the log (with a signed checkpoint) and brings every read model up
to date, synchronously. ``api.headers(role, scope)`` issues a real token through the token
store and returns the Authorization header (plus ``extra`` headers).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.bootstrap import open_projection_runner
from api.settings import Settings, get_settings
from domain.actor import Role


@dataclass
class Api:
    client: TestClient
    settings: Settings
    _tokens: dict[tuple[Role, str | None], str] = field(default_factory=dict)

    @property
    def state(self) -> Any:
        return self.client.app.state  # type: ignore[attr-defined]

    def token(self, role: Role | str, scope: str | None = None) -> str:
        role = Role(role)
        if (role, scope) not in self._tokens:
            _, token = self.state.tokens.create(role, scope, label="test")
            self._tokens[(role, scope)] = token
        return self._tokens[(role, scope)]

    def headers(
        self, role: Role | str | None = None, scope: str | None = None, **extra: str
    ) -> dict[str, str]:
        """Authorization for ``role`` (none if None), plus headers given as keyword arguments
        (underscores become dashes: ``idempotency_key="..."`` → ``Idempotency-Key``)."""
        headers = {name.replace("_", "-").title(): value for name, value in extra.items()}
        if role is not None:
            headers["Authorization"] = f"Bearer {self.token(role, scope)}"
        return headers

    def post(
        self, path: str, body: Any, role: Role | str | None, scope: str | None = None,
        **extra: str,
    ) -> Any:  # fmt: skip
        """POST with a fresh Idempotency-Key unless one is given."""
        extra.setdefault("idempotency_key", secrets.token_hex(12))
        return self.client.post(path, json=body, headers=self.headers(role, scope, **extra))

    def settle(self) -> None:
        """Sequence the log (signed checkpoint) and catch every read model up, now."""
        self.state.log.sequence()
        open_projection_runner(self.state.ledger, self.state.projections).catch_up()


def api_settings(database_url: str, tmp_path: Path, **env: str) -> Settings:
    return Settings.from_environment(
        {
            "PPL_DATA_DIR": str(tmp_path / "data"),
            "PPL_DATABASE_URL": database_url,
            "PPL_SEQUENCE_INTERVAL": "0",
            "PPL_PROJECTION_INTERVAL": "0",
            "PPL_STATS_PUBLISH": "off",  # tests publish when they mean to
            # A request's database deadline (1 s in service) cuts the connection of a call
            # the shared CI machine merely stalled (a PostgreSQL write waiting on a disk two
            # test workers and many databases share): twice in CI, in tests about something
            # else. Tests of the deadline itself (tests/api/test_store_down.py,
            # tests/audit/test_deadlines.py) set theirs.
            "PPL_DB_DEADLINE": "5",
            # Tests of other things make many requests from one address in a few seconds;
            # tests/api/test_rate_limits.py sets the limits it tests.
            "PPL_RATE_EXPENSIVE_PER_TOKEN": "100000/minute",
            "PPL_RATE_EXPENSIVE_PER_ADDRESS": "100000/minute",
            "PPL_RATE_WRITES_PER_TOKEN": "100000/minute",
            "PPL_RATE_WRITES_PER_ADDRESS": "100000/minute",
            **env,
        }
    )


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``ppl`` commands run in-process (typer's CliRunner) on the test's store."""
    monkeypatch.setenv("PPL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PPL_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    settings = api_settings(database_url, tmp_path)
    with TestClient(create_app(settings)) as client:
        yield Api(client, settings)
