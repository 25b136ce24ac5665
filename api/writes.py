"""How every POST runs: idempotency key, If-Match version, the command, its recorded response.

Why one function: each command route only says which command to call with which arguments;
the rules every write obeys live here once —

* ``Idempotency-Key`` (required on every POST): a retry with the same key and the same request
  gets the first response back (with ``Idempotent-Replayed: true``) and writes nothing; the
  same key with another request → 422 ``idempotency_key_reused`` (api.idempotency). The key's
  record is written with the command's events, in their transaction: the command gets the
  request's ``PendingReceipt`` and hands it to its saves (api.receipts); the response is
  rendered after the commit;
* ``If-Match: "<version>"`` (optional; required by nothing, honoured by every command on an
  existing record): the command runs only if the record is still at that version, else 412
  ``version_mismatch`` (domain.errors.VersionMismatchError); successful responses carry the new
  version as ``ETag``;
* domain refusals are problem documents (api.problems) and are recorded like successes.

A key is not looked up before its command runs: that would cost every request a round trip,
for the rare retry. A retried command either saves — and that save fails as a whole on the
record its first run left — or is refused; either way the key's record then answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson
from fastapi import Request
from pydantic import BaseModel

from api.idempotency import (
    KEY_PATTERN,
    Answered,
    IdempotencyStore,
    KeyInProgressError,
    KeyReusedError,
    Outcome,
    Recorded,
    now,
    request_hash,
)
from api.problem_language import language_headers
from api.problems import (
    PROBLEM_JSON,
    STORE_DOWN,
    ApiProblemError,
    domain_problem,
    request_language,
)
from api.read_routing import WRITTEN_KEY
from api.receipts import PendingReceipt
from api.responses import OrjsonResponse
from api.tokens import Principal
from domain.errors import DomainError

__all__ = [
    "FIRST_VERSION",
    "OnRecord",
    "Outcome",
    "PendingReceipt",
    "etag",
    "execute",
    "expected_version",
]

_IF_MATCH = re.compile(r'\s*(?:W/)?"?([0-9]{1,18})"?\s*')

FIRST_VERSION = 1  # a new record's version: its first event (eventsourcing counts from 1)


@dataclass(frozen=True, slots=True)
class OnRecord:
    """A command on one record whose response follows from that record's version after it.

    Most commands are: the filing or filer they act on (or create, with an id chosen before
    the command runs), and its new version as the ETag. The key's record then stores that id
    and version with the events, in their transaction: no write of its own, no key left "in
    progress" if the process dies after the save, and the response is rendered from them
    after the commit (on a retry too, api.idempotency.Answered).
    """

    record_id: UUID
    run: Callable[[PendingReceipt], int]
    """Runs the command, handing the receipt to its saves; returns the record's version after
    it (also when it saved nothing)."""
    respond: Callable[[UUID, int], Outcome]
    """The response, from the record's id and its version after the command (pure: no I/O)."""


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


ETAG_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"headers": {"ETag": {"description": 'The version, e.g. "3": send as If-Match'}}}
}
"""The ``ETag`` header of a read that answers with a record's version (OpenAPI responses)."""


def execute(
    request: Request,
    principal: Principal,
    body: BaseModel | None,
    command: Callable[[PendingReceipt], Outcome] | OnRecord,
) -> OrjsonResponse:
    """Run ``command`` once per Idempotency-Key; return (or replay) its response.

    ``command`` gets the request's receipt and must hand it to the saves it makes.
    """
    on_record = command if isinstance(command, OnRecord) else None
    receipt = PendingReceipt(
        principal.token_id or "anonymous", _idempotency_key(request),
        _request_hash(request, body), now(), None if on_record is None else on_record.record_id,
    )  # fmt: skip
    response = _run(request, receipt, command, on_record)
    written = receipt.position
    if written is None and response.headers.get("Idempotent-Replayed"):
        # the first answer's events are stored: the primary's latest id is at or after them
        written = request.app.state.ledger.recorder.max_notification_id()
    if written is not None:  # PPL-Position of the answer (api.read_routing)
        request.scope.setdefault("state", {})[WRITTEN_KEY] = int(written)
    return response


def _run(
    request: Request,
    receipt: PendingReceipt,
    command: Callable[[PendingReceipt], Outcome] | OnRecord,
    on_record: OnRecord | None,
) -> OrjsonResponse:
    store: IdempotencyStore = request.app.state.idempotency
    try:
        if isinstance(command, OnRecord):
            outcome = command.respond(command.record_id, command.run(receipt))
        else:
            outcome = command(receipt)
    except DomainError as error:
        problem = domain_problem(request, error)
        outcome = problem["status"], problem, language_headers(request_language(request))
    except Exception:
        answer = _after_failure(store, receipt, on_record)
        if answer is None:
            raise
        return answer
    if receipt.answer is not None and on_record is not None:  # stored with the events
        return _response(*on_record.respond(receipt.answer.record_id, receipt.answer.version))
    if receipt.written:  # the first save claimed the key: the response completes the claim
        store.finish(receipt.principal, receipt.key, outcome)
        return _response(*outcome)
    return _recorded_or_first(store, receipt, outcome, on_record)


def _after_failure(
    store: IdempotencyStore, receipt: PendingReceipt, on_record: OnRecord | None
) -> OrjsonResponse | None:
    """The answer to a command that failed (not a refusal), or None to let the failure out.

    A save that tried to write the key's record may have failed on its primary key: another
    request recorded the key first, and its record answers. A claim written by an earlier save
    of the command is released, so the retry can run (the failure was not the client's).
    """
    if receipt.written:
        if receipt.answer is None:
            store.release(receipt.principal, receipt.key)
        return None
    if not receipt.attempted:
        return None
    try:
        return _first_or_none(store, receipt, on_record)
    except STORE_DOWN:
        return None  # the store is down: the command's own failure says so


def _recorded_or_first(
    store: IdempotencyStore, receipt: PendingReceipt, outcome: Outcome, on_record: OnRecord | None
) -> OrjsonResponse:
    """Record the response of a command that saved nothing, unless the key's record answers."""
    try:
        first = store.record(receipt.principal, receipt.key, receipt.request_hash, outcome)
    except (KeyReusedError, KeyInProgressError) as error:
        raise _key_problem(error) from None
    return _response(*outcome) if first is None else _replayed(first, on_record)


def _first_or_none(
    store: IdempotencyStore, receipt: PendingReceipt, on_record: OnRecord | None
) -> OrjsonResponse | None:
    try:
        first = store.first(receipt.principal, receipt.key, receipt.request_hash)
    except (KeyReusedError, KeyInProgressError) as error:
        raise _key_problem(error) from None
    return None if first is None else _replayed(first, on_record)


def _replayed(first: Recorded | Answered, on_record: OnRecord | None) -> OrjsonResponse:
    """The first response again: as recorded, or rendered from the record that answers it."""
    if isinstance(first, Answered):
        if on_record is None:  # same request, same route: the route answers by its record
            raise RuntimeError(f"the key's record names record {first.record_id}: not this route's")
        status, body, headers = on_record.respond(first.record_id, first.version)
    else:
        status, body, headers = first.status, first.body, first.headers
    return _response(status, body, {**headers, "Idempotent-Replayed": "true"})


def _key_problem(error: KeyReusedError | KeyInProgressError) -> ApiProblemError:
    if isinstance(error, KeyReusedError):
        return ApiProblemError(
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request; use a new key",
        )
    return ApiProblemError(
        "idempotency_key_in_progress",
        "the first request with this Idempotency-Key is still running; retry shortly",
        headers={"Retry-After": "1"},
    )


def _idempotency_key(request: Request) -> str:
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
    return key


def _request_hash(request: Request, body: BaseModel | None) -> str:
    payload = None if body is None else body.model_dump(mode="json")
    try:
        return request_hash(request.method, request.url.path, payload)
    except (TypeError, UnicodeEncodeError, orjson.JSONEncodeError) as exc:
        # Text with lone surrogates or integers beyond 64 bits: valid to Python, not to JSON.
        raise ApiProblemError(
            "request_invalid", f"the body holds a value that is not portable JSON: {exc}"
        ) from None


def _response(status: int, body: Any, headers: dict[str, str]) -> OrjsonResponse:
    media = PROBLEM_JSON if status >= 400 else "application/json"
    return OrjsonResponse(body, status_code=status, headers=headers, media_type=media)
