"""Request bodies: at most ``PPL_API_MAX_BODY`` bytes, JSON only — refused before any route runs.

Why an ASGI middleware: the limit must hold whether or not the client sends Content-Length
(a chunked upload is counted as it arrives), and a refused body must never reach a route, so
nothing can be stored from it. The body is read up to the limit, then handed on unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from api.problems import asgi_problem
from audit.database.deadlines import deadline

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class RequestDeadline:
    """Each database call a request makes holds a connection at most ``seconds``
    (audit.database.deadlines): a database that stops answering is a 503 within about that long."""

    def __init__(self, app: App, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Set in the request's task: the thread a sync route runs on gets a copy of it.
        with deadline(self.seconds):
            await self.app(scope, receive, send)


class BodyLimit:
    """Refuse bodies over ``max_bytes`` (413) and POST bodies that are not JSON (415), except
    the web pages' URL-encoded forms."""

    def __init__(self, app: App, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _refuse(scope, send, "body_too_large", self._too_large(int(declared)))
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await _refuse(scope, send, "body_too_large", self._too_large(len(body)))
                return
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        json_body = media == "application/json" or media.endswith("+json")
        # The pages' forms (outside /v1/) are URL-encoded; api.web.forms reads nothing else.
        page_form = media == "application/x-www-form-urlencoded" and not scope["path"].startswith(
            "/v1/"
        )
        if body and not json_body and not page_form:
            detail = f"Content-Type {media or 'missing'}: want application/json"
            await _refuse(scope, send, "unsupported_media_type", detail)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self, size: int) -> str:
        return f"the body has {size:,}+ bytes; this service accepts at most {self.max_bytes:,}"


async def _refuse(scope: Scope, send: Send, code: str, detail: str) -> None:
    status, body, headers = asgi_problem(scope, code, detail)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
