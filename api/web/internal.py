"""A page's write, sent to the API's own route inside the process.

Why not call the ledger directly: the API's write path is where every check of a write lives —
the role, Idempotency-Key (a form submitted twice records once), If-Match (a decision on a
filing that changed since the page was shown is refused), the rate limits, the body limits.
Sending the page's write through the same ASGI app, with the session's token as a bearer token,
makes a page exactly as strict as the API, and keeps no second copy of those rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from starlette.types import Message


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    status: int
    body: Any  # the decoded JSON document (a problem document when status >= 400)


async def call_api(
    request: Request,
    method: str,
    path: str,
    *,
    token: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> ApiAnswer:
    """``method path`` on this app as the session's caller, from the page request's client."""
    payload = b"" if body is None else orjson.dumps(body)
    raw_headers = [
        (b"host", request.headers.get("host", "localhost").encode("latin-1")),
        (b"authorization", f"Bearer {token}".encode("latin-1")),
        (b"accept", b"application/json"),
        (b"accept-language", request.headers.get("accept-language", "zh-CN").encode("latin-1")),
        (b"content-length", str(len(payload)).encode()),
        # A form's values reach these headers as typed: UTF-8 bytes, which the API's own
        # checks refuse (Idempotency-Key and If-Match are ASCII), not an encoding error here.
        *(
            (name.lower().encode("ascii"), value.encode("utf-8"))
            for name, value in (headers or {}).items()
        ),
    ]
    if body is not None:
        raw_headers.append((b"content-type", b"application/json"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": request.url.scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": request.scope.get("client"),
        "server": request.scope.get("server"),
        "state": {},
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": payload, "more_body": False}

    status = 500
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await request.app(scope, receive, send)
    data = b"".join(chunks)
    return ApiAnswer(status, orjson.loads(data) if data else None)
