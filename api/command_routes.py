"""POST routes declared, not copied: one ``CommandRoute`` per command, one factory for them all.

Why: every command route did the same ten lines — read ``If-Match``, check that a filer may
see the record, run one ledger command, answer with the record's id and version, all through
``api.writes.execute``. Here a route is a row of a table (its path, callers, body, the command
and how it answers) and ``declare`` turns the row into a FastAPI endpoint, so what differs
between routes is all that is written per route:

* who may call it — ``callers``, one of api.deps' role aliases, a FastAPI dependency;
* the Idempotency-Key, the recorded response and domain refusals — ``api.writes.execute``;
* ``If-Match`` — read by every command route (``expected_version``) and handed to the command;
* visibility — ``filer_sees_record``: a filer acting on a record it may not see gets the
  reader's 404 (checked inside the command, so the refusal is recorded like any other);
* the command — ``run``, given a ``Call`` (actor, ledger, body, path ids, version read, the
  request's receipt to hand to the ledger's saves) and returning the record's version after it;
* the answer — ``answer`` (the record whose version answers the request, chosen before the
  command runs) and ``respond`` (the response from that record's id and version); a
  resource's commands on the record its path names share these, their path parameters,
  response model and problems (``on_path_record``).

The endpoint keeps the route's name, so OpenAPI operation ids are those of the hand-written
routes they replace.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypedDict, TypeVar
from uuid import UUID

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel

from api.bootstrap import SignedPatentLedger
from api.deps import Ledger
from api.problems import problem_responses
from api.responses import OrjsonResponse
from api.tokens import Principal
from api.writes import OnRecord, Outcome, PendingReceipt, etag, execute, expected_version
from domain.actor import Actor

B = TypeVar("B", bound=BaseModel | None)

PROBLEMS_WITH_BODY = (400, 401, 403, 404, 409, 412, 413, 415, 422, 503)
"""What a command with a body on a record the path names may answer: a body that is not JSON,
too large or not application/json, no token or role, no such record, a refusal, a stale
If-Match, a value the domain refuses, the store down."""
PROBLEMS_WITHOUT_BODY = (401, 403, 404, 409, 412, 422, 503)
"""The same for a command that takes no body."""


@dataclass(frozen=True, slots=True)
class Call(Generic[B]):
    """What one command sees of its request."""

    principal: Principal
    ledger: SignedPatentLedger
    body: B
    ids: Mapping[str, Any]
    """The path's parameters (``product_id``, ``dispute_id``...), validated."""
    expected_version: int | None
    """The version the caller read (``If-Match``), None without the header."""
    receipt: PendingReceipt
    """The request's Idempotency-Key record: hand it to the ledger (``receipt=``)."""
    record_id: UUID | None = None
    """The record whose version answers the request (``CommandRoute.answer``)."""

    @property
    def actor(self) -> Actor:
        return self.principal.actor()

    def id(self, name: str) -> UUID:
        """The path's UUID parameter ``name``."""
        value: UUID = self.ids[name]
        return value

    def on_record(self, command: Callable[..., int], *args: Any, **options: Any) -> int:
        """``command(actor, record, *args, **options)`` — a ledger command on the answering
        record — with the version the caller read and the request's receipt."""
        return command(self.actor, self.record, *args, **options,
                       expected_version=self.expected_version, receipt=self.receipt)  # fmt: skip

    @property
    def record(self) -> UUID:
        """The record whose version answers the request."""
        if self.record_id is None:
            raise RuntimeError("this command answers by itself: it has no answering record")
        return self.record_id


@dataclass(frozen=True, slots=True)
class CommandRoute(Generic[B]):
    """One POST: where, who, what it takes, what it runs, how it answers."""

    name: str
    """The endpoint's name (its OpenAPI operation id follows from it)."""
    path: str
    summary: str
    callers: Any
    """An api.deps alias: ``Annotated[Principal, Depends(requires(...))]``."""
    run: Callable[[Call[B]], int] | None = None
    """Runs the command; the version of the ``answer`` record after it."""
    answer: Callable[[B, Mapping[str, Any]], UUID] | None = None
    """The record whose version answers the request, from the body and the path's ids
    (chosen before the command runs)."""
    respond: Callable[[UUID, int], Outcome] | None = None
    """The response, from that record's id and version (pure)."""
    raw: Callable[[Call[B]], Outcome] | None = None
    """Instead of the three above, a command that answers by itself (no record's version
    answers it, e.g. it returns an id the ledger chose): its response is recorded after it
    returns."""
    body: type[BaseModel] | None = None
    body_optional: bool = False
    """A body that may be left out (its examples still documented)."""
    body_examples: Sequence[Any] | None = None
    """The optional body's examples (default: its model's)."""
    path_params: Mapping[str, Any] = field(default_factory=dict)
    """The path's parameters and their annotations, in path order."""
    status: int = 200
    response_model: type[BaseModel] | None = None
    problems: Sequence[int] = ()
    examples: Sequence[Any] = ()
    filer_sees_record: Callable[[Call[B]], None] | None = None
    """Run first inside the command: refuses a record a filer may not see (404)."""
    hashed_body: Callable[[B], BaseModel | None] | None = None
    """The body as the Idempotency-Key's request hash sees it (default: the body)."""

    @property
    def description(self) -> str | None:
        """The operation's description: its command's docstring."""
        command = self.raw or self.run
        return None if command is None else command.__doc__

    def __post_init__(self) -> None:
        on_record = (self.run, self.answer, self.respond)
        if (self.raw is None) == (None in on_record):
            raise TypeError(f"route {self.name}: give raw, or run, answer and respond")


def path_id(name: str) -> Callable[[object, Mapping[str, Any]], UUID]:
    """``answer`` for a command on the record named by the path's ``name``."""

    def answer(_body: object, ids: Mapping[str, Any]) -> UUID:
        record_id: UUID = ids[name]
        return record_id

    return answer


def written(
    model: type[BaseModel], id_field: str, status: int = 200, location: str | None = None
) -> Callable[[UUID, int], Outcome]:
    """``respond`` for a command whose answer is its record's id and version (``model``, e.g.
    ``ProductWritten``), the version as the ETag, and ``location`` (a ``{}`` template for the
    id) for a record it created."""

    def respond(record_id: UUID, version: int) -> Outcome:
        headers = etag(version)
        if location is not None:
            headers["Location"] = location.format(record_id)
        body = model.model_validate({id_field: record_id, "version": version})
        return status, body.model_dump(mode="json"), headers

    return respond


class PathRecordAnswer(TypedDict):
    """The ``CommandRoute`` fields of a command on the record its path names: see below."""

    path_params: Mapping[str, Any]
    answer: Callable[[Any, Mapping[str, Any]], UUID]
    respond: Callable[[UUID, int], Outcome]
    response_model: type[BaseModel]
    problems: Sequence[int]


def on_path_record(
    model: type[BaseModel],
    id_name: str,
    more_params: Mapping[str, Any] | None = None,
    problems: Sequence[int] = PROBLEMS_WITH_BODY,
) -> PathRecordAnswer:
    """A command on the record the path names (``{id_name}``, a UUID) answers with that record's
    id and its version after the command (``model``, e.g. ``ProductWritten``), the version as
    its ETag. ``more_params``: the path's later parameters, in path order.

    Why a typed dict: a resource's routes share these fields, e.g. ``partial(CommandRoute,
    **on_path_record(ProductWritten, "product_id"))``, and mypy still checks each route's
    keywords (a route may override ``problems``).
    """
    return PathRecordAnswer(
        path_params={id_name: UUID, **(more_params or {})},
        answer=path_id(id_name),
        respond=written(model, id_name),
        response_model=model,
        problems=problems,
    )


def declare(router: APIRouter, route: CommandRoute[Any]) -> None:
    """Add ``route`` to ``router`` as a POST endpoint."""

    def endpoint(
        request: Request, principal: Principal, ledger: SignedPatentLedger, **params: Any
    ) -> OrjsonResponse:
        body = params.pop("body", None)
        version = expected_version(request)
        hashed = body if route.hashed_body is None else route.hashed_body(body)

        def call(receipt: PendingReceipt, record_id: UUID | None = None) -> Call[Any]:
            this = Call(principal, ledger, body, params, version, receipt, record_id)
            if route.filer_sees_record is not None:
                route.filer_sees_record(this)
            return this

        if route.raw is None:
            return execute(request, principal, hashed, _on_record(route, body, params, call))
        raw = route.raw

        def plain(receipt: PendingReceipt) -> Outcome:
            return raw(call(receipt))

        return execute(request, principal, hashed, plain)

    endpoint.__name__ = endpoint.__qualname__ = route.name
    endpoint.__doc__ = route.description
    endpoint.__signature__ = _signature(route)  # type: ignore[attr-defined]
    router.post(
        route.path,
        status_code=route.status,
        response_model=route.response_model,
        summary=route.summary,
        responses=problem_responses(*route.problems, examples=route.examples),
    )(endpoint)


def _on_record(
    route: CommandRoute[Any],
    body: Any,
    ids: Mapping[str, Any],
    call: Callable[[PendingReceipt, UUID], Call[Any]],
) -> OnRecord:
    """The route's command on the record that answers it, for ``execute``."""
    command, answer, respond = route.run, route.answer, route.respond
    if command is None or answer is None or respond is None:
        raise TypeError(f"route {route.name}: give raw, or run, answer and respond")
    record_id = answer(body, ids)

    def run(receipt: PendingReceipt) -> int:
        return command(call(receipt, record_id))

    return OnRecord(record_id, run, respond)


def _signature(route: CommandRoute[Any]) -> inspect.Signature:
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter("request", keyword, annotation=Request),
        inspect.Parameter("principal", keyword, annotation=route.callers),
        inspect.Parameter("ledger", keyword, annotation=Ledger),
    ]
    parameters += [
        inspect.Parameter(name, keyword, annotation=annotation)
        for name, annotation in route.path_params.items()
    ]
    if route.body is not None:
        if route.body_optional:
            examples = route.body_examples
            if examples is None:
                examples = route.body.model_json_schema().get("examples", ())
            annotation: Any = Annotated[route.body | None, Body(examples=list(examples))]
            parameters.append(
                inspect.Parameter("body", keyword, annotation=annotation, default=None)
            )
        else:
            parameters.append(inspect.Parameter("body", keyword, annotation=route.body))
    return inspect.Signature(parameters, return_annotation=OrjsonResponse)
