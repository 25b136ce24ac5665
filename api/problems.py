"""RFC 9457 problem details for every error the API returns.

Why one module: clients match on ``type`` (stable, one per domain error code or API condition),
never on ``detail`` (free text that may improve). ``type`` is the relative URI
``/problems/<code>``; ``GET /problems/<code>`` describes it, so the reference resolves against the
API's own address. The table of codes, statuses and meanings is docs/api.md.

Handlers here turn everything a request can raise into a problem document:

* domain errors (``domain.errors``) by their ``code``, with their structured ``details``;
* FastAPI's request validation (wrong types, unknown fields, bad path parameters) → 422
  ``request_invalid`` with each failing location; a body that is not JSON → 400
  ``body_not_json``;
* ``ApiProblemError`` raised by the routes (authentication, authorisation, idempotency...);
* a proof the Merkle log cannot make (``ProofRequestError``) → 422 ``proof_unavailable``;
* the database unreachable → 503 ``store_unavailable`` with ``Retry-After``: the pools and
  connections reconnect on the next request, so the service recovers by itself;
* anything else → 500 ``internal`` without internals (logged with a request id).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

import orjson
import psycopg
import psycopg_pool
from eventsourcing import persistence
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from api.problem_language import (
    Language,
    api_title,
    language_headers,
    language_of,
    status_title,
)
from api.responses import OrjsonResponse
from audit.log.transparency_log import ProofRequestError
from audit.offline.errors import VerificationError
from audit.signing.signing_mapper import LogEntryTooLargeError
from domain import errors
from projections.failures import RebuildFailedError
from projections.queries import QueryError
from projections.store import ProjectionNotBuiltError

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
API_PATHS = ("/v1/", "/tlog/")
"""Paths whose problems are always problem+json, never an HTML page (``_wants_page``)."""
RETRY_AFTER_SECONDS = 2

# Domain error codes whose status is not 422 (a value or rule the request broke).
_STATUS_OF: dict[type[errors.DomainError], int] = {
    errors.ActorNotPermittedError: 403,
    errors.ProductNotOwnedError: 403,
    errors.NotFoundError: 404,
    errors.DisputeNotFoundError: 404,
    errors.FilerAlreadyRegisteredError: 409,
    errors.DuplicateProductError: 409,
    errors.DuplicatePatentError: 409,
    errors.FilingIdTakenError: 409,
    errors.IdConflictError: 409,
    errors.ConcurrentUpdateError: 409,
    errors.FilerNotApprovedError: 409,
    errors.FilerNotVerifiedError: 409,
    errors.FilerAlreadyVerifiedError: 409,
    errors.FilerNotPendingReviewError: 409,
    errors.ProductNotPendingReviewError: 409,
    errors.ProductWithdrawnError: 409,
    errors.RevisionNotAllowedError: 409,
    errors.DisputeAlreadyOpenError: 409,
    errors.DisputeOpenError: 409,
    errors.CandidatesOpenError: 409,
    errors.CertificationRoundExistsError: 409,
    errors.CertificationRoundStateError: 409,
    errors.EvaluationTooEarlyError: 409,
    errors.OptInClosedError: 409,
    errors.AlreadyOptedInError: 409,
    errors.ObjectionWindowClosedError: 409,
    errors.ProductNotCertifiedError: 409,
    errors.ObjectionNotOpenError: 409,
    errors.ObjectionIdTakenError: 409,
    errors.RegionUsccMismatchError: 409,
    errors.RegionMoveNotNeededError: 409,
    errors.NoValidPatentLeftError: 409,
    errors.StatisticsAlreadyPublishedError: 409,
    errors.DisputeLimitError: 409,
    errors.DisputeNotPendingError: 409,
    errors.VersionMismatchError: 412,
}

# API conditions that are not domain errors: code → (status, title).
API_PROBLEMS: dict[str, tuple[int, str]] = {
    "request_invalid": (422, "The request does not match the operation's schema"),
    "body_not_json": (400, "The request body is not JSON"),
    "body_too_large": (413, "The request body is larger than the service accepts"),
    "unsupported_media_type": (415, "The request body must be application/json"),
    "not_authenticated": (401, "A bearer token is required"),
    "token_invalid": (401, "The bearer token is unknown, malformed or revoked"),
    "token_expired": (401, "The bearer token has expired"),
    "rate_limited": (429, "Too many requests of this kind: retry after Retry-After seconds"),
    "headers_too_large": (431, "The request's headers are too large"),
    "forbidden": (403, "The caller's role or scope does not allow this"),
    "cross_site_request": (403, "A request another site started may not change anything"),
    "not_found": (404, "No such resource"),
    "method_not_allowed": (405, "The resource does not support this method"),
    "query_invalid": (422, "A query parameter cannot be answered"),
    "position_invalid": (422, "The PPL-Min-Position header is not a notification id"),
    "idempotency_key_invalid": (422, "The Idempotency-Key header is not acceptable"),
    "idempotency_key_reused": (422, "The Idempotency-Key was used for a different request"),
    "idempotency_key_in_progress": (409, "A request with this Idempotency-Key is in progress"),
    "if_match_invalid": (422, "If-Match must carry one aggregate version"),
    "projection_not_built": (503, "The read model is not built yet"),
    "store_unavailable": (503, "The database is unreachable; retry shortly"),
    "log_not_available": (404, "The Merkle log has no such checkpoint or leaf"),
    "proof_unavailable": (422, "The proof cannot be made for these sizes or indices"),
    "event_too_large": (413, "An event this command would record exceeds a log entry's size"),
    "ledger_integrity_failure": (500, "A stored event or the log failed verification"),
    "malformed_tile_path": (400, "The path names no tile of the tlog-tiles layout"),
    "tile_not_found": (404, "The log's latest signed checkpoint does not cover this tile"),
    "entry_too_large": (500, "A log entry is too long for an entry bundle's length prefix"),
    "index_not_available": (404, "The product index has no indexed checkpoint yet"),
    "index_busy": (503, "The product index moved while it was read; retry"),
    "read_model_failed": (500, "A read model cannot apply an event of the log"),
    "internal": (500, "Internal error"),
}

# Exceptions that mean the database did not answer (not that the request was wrong).
STORE_DOWN: tuple[type[Exception], ...] = (
    persistence.OperationalError,
    persistence.InterfaceError,
    persistence.ConnectionUnavailableError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg_pool.PoolTimeout,
    sqlite3.OperationalError,
)


class Problem(BaseModel):
    """RFC 9457 problem details, as every 4xx/5xx of this API returns them."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/duplicate_product",
                    "title": "Conflict",
                    "status": 409,
                    "detail": "product already filed as 5b0c…",
                    "instance": "/v1/products",
                    "code": "duplicate_product",
                    "details": {"existing_product_id": "5b0c9d2e-…"},
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str


ALWAYS_POSSIBLE = (429, 431)
"""Statuses any operation may answer, before its route runs (api.rate_limits)."""


def problem_responses(
    *statuses: int, examples: Sequence[dict[str, Any]] = ()
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for these error statuses (problem+json bodies).

    ``examples``: problem documents (``problem_document``) an operation gives, shown under
    their status and named by their code, so a client sees the ``details`` of each.
    """
    shown: dict[int, dict[str, Any]] = {}
    for example in examples:
        if example["status"] not in statuses:
            raise ValueError(f"example {example['code']}: status {example['status']} not listed")
        shown.setdefault(example["status"], {})[example["code"]] = {
            "summary": example["code"],
            "value": example,
        }
    described = {
        400: "Body is not JSON", 401: "No valid bearer token", 403: "Role or scope forbids it",
        404: "Not found (or not visible to this caller)", 409: "Conflicts with current state",
        412: "If-Match names a stale version", 413: "Body too large",
        415: "Body is not application/json", 422: "Invalid request or rule broken",
        429: "Too many writes or expensive reads from this token or address (Retry-After)",
        431: "Request headers too large",
        503: "Store unavailable or read model not built (Retry-After)",
    }  # fmt: skip
    statuses = (*statuses, *(s for s in ALWAYS_POSSIBLE if s not in statuses))
    return {
        status: {
            "model": Problem,
            "description": described.get(status, HTTPStatus(status).phrase),
            "content": {
                PROBLEM_JSON: {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    **({"examples": shown[status]} if status in shown else {}),
                }
            },
        }
        for status in statuses
    }


class ApiProblemError(Exception):
    """Raised by routes and dependencies: becomes the problem document of ``code``."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        if code not in API_PROBLEMS:
            raise ValueError(f"unknown problem code {code!r}")
        super().__init__(detail)
        self.code = code
        self.status = API_PROBLEMS[code][0]
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


def problem_type(code: str) -> str:
    return f"/problems/{code}"


def domain_codes() -> dict[str, tuple[int, str]]:
    """Every domain error code → (status, first line of its class docstring or its name)."""
    found: dict[str, tuple[int, str]] = {}
    pending: list[type[errors.DomainError]] = [errors.DomainError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        status = _status_of_class(cls)
        doc = (cls.__doc__ or cls.code.replace("_", " ").capitalize()).strip().splitlines()[0]
        found[cls.code] = (status, doc)
    return found


def _status_of_class(cls: type[errors.DomainError]) -> int:
    for parent in cls.__mro__:
        if parent in _STATUS_OF:
            return _STATUS_OF[parent]
    return 422


def status_of(error: errors.DomainError) -> int:
    return _status_of_class(type(error))


def problem_document(
    status: int, code: str, title: str, detail: str, instance: str, **extensions: Any
) -> dict[str, Any]:
    """The RFC 9457 body every error of this API has (also built outside a request: limits)."""
    return {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        **extensions,
    }


def request_language(request: Request) -> Language:
    """The language of the request's problem titles (api.problem_language)."""
    return language_of(request.headers.get("accept-language"))


def problem_response(
    request: Request,
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """The response of the API problem ``code`` (``title``: its English title), its title in
    the caller's language."""
    language = request_language(request)
    localized = api_title(code, title, language)
    body = problem_document(status, code, localized, detail, request.url.path, **extensions)
    return _answer(request, body, {**(headers or {}), **language_headers(language)})


PageRenderer = Callable[[Request, dict[str, Any], dict[str, str]], Response]
"""Renders a problem as an HTML page (api.web installs one as ``app.state.problem_page``)."""


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not the API, not a script): the problem as HTML.

    The API's paths (``/v1/``, and the tiled log's ``/tlog/``, whose clients are programs)
    always answer problem+json, whatever Accept says."""
    if request.url.path.startswith(API_PATHS):
        return False
    return "text/html" in request.headers.get("accept", "")


def _answer(request: Request, body: dict[str, Any], headers: dict[str, str]) -> Response:
    """The problem ``body`` as problem+json, or as an HTML page for a browser's page request."""
    renderer: PageRenderer | None = getattr(request.app.state, "problem_page", None)
    if renderer is not None and _wants_page(request):
        return renderer(request, body, headers)
    return OrjsonResponse(
        body, status_code=body["status"], headers=headers, media_type=PROBLEM_JSON
    )


def asgi_problem(
    scope: Scope, code: str, detail: str
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """The API problem ``code`` for a middleware that answers before any route (limits, rate
    limits): its status, body and headers, the title in the caller's language."""
    status, title = API_PROBLEMS[code]
    wanted = next((v for k, v in scope.get("headers", ()) if k == b"accept-language"), None)
    language = language_of(None if wanted is None else wanted.decode("latin-1"))
    title = api_title(code, title, language)
    body = orjson.dumps(problem_document(status, code, title, detail, scope.get("path", "")))
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in language_headers(language).items()),
    ]
    return status, body, headers


def api_problem(request: Request, code: str, detail: str, **extensions: Any) -> Response:
    status, title = API_PROBLEMS[code]
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return problem_response(request, status, code, title, detail, headers=headers, **extensions)


def domain_problem(request: Request, error: errors.DomainError) -> dict[str, Any]:
    """The problem document of a domain refusal: its code as type, its details as extension."""
    status = status_of(error)
    return problem_document(
        status,
        error.code,
        status_title(status, request_language(request)),
        error.message,
        request.url.path,
        details=_jsonable(error.details),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return str(value)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.exception_handler(errors.DomainError)
    async def domain_error(request: Request, exc: errors.DomainError) -> Response:
        document = domain_problem(request, exc)
        return _answer(request, document, language_headers(request_language(request)))

    @app.exception_handler(ApiProblemError)
    async def api_error(request: Request, exc: ApiProblemError) -> Response:
        return problem_response(
            request,
            exc.status,
            exc.code,
            API_PROBLEMS[exc.code][1],
            exc.detail,
            headers=exc.headers or None,
            **_jsonable(exc.extensions),
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        failures = [
            {
                "location": [str(part) for part in error.get("loc", ())],
                "message": str(error.get("msg", "")),
                "kind": str(error.get("type", "")),
            }
            for error in exc.errors()
        ]
        if any(f["kind"] == "json_invalid" for f in failures):
            return api_problem(
                request, "body_not_json", "the body is not valid JSON", errors=failures
            )
        where = "; ".join(f"{'/'.join(f['location'])}: {f['message']}" for f in failures[:5])
        return api_problem(request, "request_invalid", where, errors=failures)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {
            400: "body_not_json", 404: "not_found", 405: "method_not_allowed",
            413: "body_too_large",
        }.get(exc.status_code, "request_invalid")  # fmt: skip
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        title = API_PROBLEMS[code][1]
        return problem_response(
            request, exc.status_code, code, title, str(exc.detail), headers=headers
        )

    @app.exception_handler(QueryError)
    async def query_error(request: Request, exc: QueryError) -> Response:
        return api_problem(request, "query_invalid", str(exc))

    @app.exception_handler(LogEntryTooLargeError)
    async def too_large(request: Request, exc: LogEntryTooLargeError) -> Response:
        # A save refused whole by the signing store (audit.signing.signing_mapper).
        return api_problem(request, "event_too_large", str(exc), size=exc.size)

    @app.exception_handler(ProofRequestError)
    async def unprovable(request: Request, exc: ProofRequestError) -> Response:
        # A proof the log cannot make for these sizes or indices (api.routes.ledger).
        return api_problem(request, "proof_unavailable", str(exc))

    @app.exception_handler(ProjectionNotBuiltError)
    async def not_built(request: Request, exc: ProjectionNotBuiltError) -> Response:
        return api_problem(request, "projection_not_built", str(exc))

    @app.exception_handler(VerificationError)
    async def integrity(request: Request, exc: VerificationError) -> Response:
        # Not the client's fault and not to be retried: the store holds bytes that do not
        # verify. Say which element failed (the auditor's tools name the same one) and log it.
        logger.error("integrity failure on %s %s: %s", request.method, request.url.path, exc)
        return api_problem(
            request, "ledger_integrity_failure", str(exc), failure=type(exc).__name__
        )

    @app.exception_handler(RebuildFailedError)
    async def read_model_failed(request: Request, exc: RebuildFailedError) -> Response:
        # An as-of answer replays the log into the read model, which meets an event it cannot
        # apply: a fault of the service to fix (docs/projections.md, "Failure isolation"), not
        # to retry. The log has the whole failure; the answer names the read model and event
        # only (its aggregate and the error's text can quote confidential values).
        logger.error("as-of answer on %s failed: %s", request.url.path, exc)
        events = [
            {"name": f.projection, "notification_id": f.notification_id, "topic": f.topic}
            for f in exc.failures
        ]
        detail = "; ".join(
            f"read model {e['name']} cannot apply event {e['notification_id']} ({e['topic']})"
            for e in events
        )
        return api_problem(request, "read_model_failed", detail, failures=events)

    for down in STORE_DOWN:
        app.add_exception_handler(down, _store_down)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        if isinstance(exc, STORE_DOWN) or isinstance(exc.__cause__, STORE_DOWN):
            return await _store_down(request, exc)
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return api_problem(request, "internal", "the service failed to answer; it was logged")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's).

    Asked method by method: a route (or an included router) matches in full only for a
    method it serves.
    """
    routes = request.app.router.routes
    return [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]


async def _store_down(request: Request, exc: Exception) -> Response:
    logger.warning("store unavailable on %s %s: %s", request.method, request.url.path, exc)
    return api_problem(request, "store_unavailable", "the database did not answer; retry shortly")
