"""How every POST runs: idempotency key, If-Match version, the command, its recorded response.

Why one function: each command route only says which command to call with which arguments;
the rules every write obeys live here once —

* ``Idempotency-Key`` (required on every POST): a retry with the same key and the same request
  gets the first response back (with ``Idempotent-Replayed: true``) and runs nothing; the same
  key with another request → 422 ``idempotency_key_reused`` (api.idempotency);
* ``If-Match: "<version>"`` (optional; required by nothing, honoured by every command on an
  existing record): the command runs only if the record is still at that version, else 412
  ``version_mismatch`` (domain.errors.VersionMismatchError); successful responses carry the new
  version as ``ETag``;
* domain refusals are problem documents (api.problems) and are recorded like successes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import Request
from pydantic import BaseModel

from api.idempotency import (
    KEY_PATTERN,
    IdempotencyStore,
    KeyInProgressError,
    KeyReusedError,
    request_hash,
)
from api.problems import PROBLEM_JSON, ApiProblemError, domain_problem
from api.responses import OrjsonResponse
from api.tokens import Principal
from domain.errors import DomainError

_IF_MATCH = re.compile(r'\s*(?:W/)?"?([0-9]{1,18})"?\s*')

FIRST_VERSION = 1  # a new record's version: its first event (eventsourcing counts from 1)

Outcome = tuple[int, dict[str, Any], dict[str, str]]
"""(HTTP status, JSON body, extra headers such as Location and ETag)."""


def expected_version(request: Request) -> int | None:
    """The aggregate version the caller read, from ``If-Match`` (None without the header)."""
    header = request.headers.get("if-match")
    if header is None:
        return None
    match = _IF_MATCH.fullmatch(header)
    if match is None:
        raise ApiProblemError(
            "if_match_invalid", f'If-Match {header!r}: want the record\'s version, e.g. "3"'
        )
    return int(match.group(1))


def etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def execute(
    request: Request,
    principal: Principal,
    body: BaseModel | None,
    command: Callable[[], Outcome],
) -> OrjsonResponse:
    """Run ``command`` once per Idempotency-Key; return (or replay) its response."""
    key = request.headers.get("idempotency-key")
    if key is None:
        raise ApiProblemError(
            "idempotency_key_invalid",
            "every POST needs an Idempotency-Key header (8-200 printable ASCII characters)",
        )
    if not KEY_PATTERN.fullmatch(key):
        raise ApiProblemError(
            "idempotency_key_invalid", "Idempotency-Key: want 8-200 printable ASCII characters"
        )
    store: IdempotencyStore = request.app.state.idempotency
    owner = principal.token_id or "anonymous"
    payload = None if body is None else body.model_dump(mode="json")
    try:
        digest = request_hash(request.method, request.url.path, payload)
    except (TypeError, UnicodeEncodeError, orjson.JSONEncodeError) as exc:
        # Text with lone surrogates or integers beyond 64 bits: valid to Python, not to JSON.
        raise ApiProblemError(
            "request_invalid", f"the body holds a value that is not portable JSON: {exc}"
        ) from None
    try:
        recorded = store.begin(owner, key, digest)
    except KeyReusedError:
        raise ApiProblemError(
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request; use a new key",
        ) from None
    except KeyInProgressError:
        raise ApiProblemError(
            "idempotency_key_in_progress",
            "the first request with this Idempotency-Key is still running; retry shortly",
            headers={"Retry-After": "1"},
        ) from None
    if recorded is not None:
        replayed = {**recorded.headers, "Idempotent-Replayed": "true"}
        return _response(recorded.status, recorded.body, replayed)
    try:
        status, document, headers = command()
    except DomainError as error:
        problem = domain_problem(request, error)
        store.finish(owner, key, problem["status"], problem, {})
        return _response(problem["status"], problem, {})
    except BaseException:
        store.release(owner, key)
        raise
    store.finish(owner, key, status, document, headers)
    return _response(status, document, headers)


def _response(status: int, body: Any, headers: dict[str, str]) -> OrjsonResponse:
    media = PROBLEM_JSON if status >= 400 else "application/json"
    return OrjsonResponse(body, status_code=status, headers=headers, media_type=media)
