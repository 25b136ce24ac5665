"""The OpenAPI document, completed with the responses every operation can give.

Why: some problems come from layers around the routes, not from the routes themselves — a bad
bearer token (401) on any operation, a refused body (413, 415) on any POST, the request
validator (422), the database being down (503). Declaring them once here keeps the document
true for every operation, which clients and the schema-driven fuzz test
(tests/api/test_fuzz.py) rely on; FastAPI's own 422 schema (``HTTPValidationError``) is
replaced by the problem document the API actually sends.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.problems import PROBLEM_JSON, Problem

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_EVERY_OPERATION = {
    "401": "Bearer token malformed, unknown or revoked (`token_invalid`)",
    "422": "Request does not match the schema (`request_invalid`) or breaks a rule",
    "503": "Store unavailable or read model not built (`Retry-After`)",
}
_WITH_BODY = {
    "400": "Body is not JSON (`body_not_json`)",
    "413": "Body too large (`body_too_large`)",
    "415": "Body is not application/json (`unsupported_media_type`)",
}


_READ_HEADERS = {  # api.read_routing: every GET of the read models or the log
    "PPL-Position": {
        "description": "Every event up to this notification id is in what was read "
        "(docs/read-replicas.md); send it back as `PPL-Min-Position` to read at least as far",
        "schema": {"type": "integer", "minimum": 0},
    },
    "PPL-Read-From": {
        "description": "Which database answered: `primary`, or `replica-1`… (PPL_READ_REPLICAS)",
        "schema": {"type": "string"},
    },
}
_READ_PREFIXES = ("/v1/", "/tlog/")


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with a generator that adds the shared problem responses."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            complete(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def complete(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema()
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if method == "get" and path.startswith(_READ_PREFIXES) and "200" in responses:
                responses["200"].setdefault("headers", {}).update(_READ_HEADERS)
            shared = dict(_EVERY_OPERATION)
            if method in ("post", "put", "patch"):
                shared.update(_WITH_BODY)
            for status, description in shared.items():
                responses.setdefault(status, {"description": description})
            for status, entry in responses.items():
                if status.startswith(("4", "5")):
                    entry["content"] = _problem_content(entry)


def _problem_content(response: dict[str, Any]) -> dict[str, Any]:
    """Only problem+json (FastAPI adds application/json for a model), with the examples an
    operation shows (api.problems.problem_responses)."""
    shown = response.get("content", {}).get(PROBLEM_JSON, {}).get("examples")
    problem: dict[str, Any] = {"schema": _PROBLEM_REF}
    if shown:
        problem["examples"] = shown
    return {PROBLEM_JSON: problem}
