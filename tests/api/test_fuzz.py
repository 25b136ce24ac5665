"""Property-based fuzzing of every operation against the app's own OpenAPI document.

schemathesis generates requests from the document (valid and invalid ones) and checks each
response: no 5xx, the status is one the operation documents, the content type and body match
its schema. It runs as a reviewer (who may call most operations, so requests get past
authentication into validation and the domain) and anonymously, on SQLite and PostgreSQL.

Bounded: ``MAX_EXAMPLES`` per operation and caller, no deadline per example; the whole module
takes well under the 3 minutes issue #5 allows (measured: docs/api.md, "Testing").
"""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from api.settings import Settings

MAX_EXAMPLES = 12


def _document() -> dict[str, Any]:
    """The OpenAPI document (building the app needs no store: its lifespan never runs)."""
    directory = Path(tempfile.mkdtemp(prefix="ppl-openapi-"))
    return create_app(Settings.from_environment({"PPL_DATA_DIR": str(directory)})).openapi()


schema = schemathesis.openapi.from_dict(_document())


def _send(api: Any, case: Any, headers: dict[str, str]) -> Any:
    """Send a generated case through the test's own client (with the app's lifespan running)."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        body["content"] = kwargs["data"]
    headers = dict(kwargs.get("headers") or {})
    if kwargs.get("cookies"):  # the API reads no cookies; send them as a header anyway
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in kwargs["cookies"].items())
    return api.client.request(
        kwargs["method"], kwargs["url"], params=kwargs.get("params"), headers=headers, **body
    )


@pytest.fixture
def served(api: Any) -> Any:
    """The app with its read models and log built (empty), as a served ledger has them."""
    api.settle()
    return api


@pytest.mark.parametrize("role", ["reviewer", None])
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_error_and_every_response_matches_the_document(served, role, case):
    headers = {"Idempotency-Key": f"fuzz-{secrets.token_hex(8)}", **served.headers(role)}
    response = _send(served, case, headers)
    assert response.status_code < 500, response.text
    # Every other check runs. Not "positive data acceptance": a request the document allows may
    # still break a rule it cannot express (a USCC's check character, a filer that does not
    # exist), and those are documented 4xx problems, not failures.
    case.validate_response(response, headers=headers, excluded_checks=[positive_data_acceptance])
