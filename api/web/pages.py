"""Installs the web pages on the app: the routers, the static assets and problem pages.

A refusal on a page (a 404, a 422 from a bad search, a 403) reaches the browser as an HTML
page with the same problem ``type``, title and detail the API would send, rendered by
api.problems through the hook installed here.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from api.web import certificate_pages, desk_pages, public_pages, session_pages, verification
from api.web.templating import render


def _problem_page(request: Request, problem: dict[str, Any], headers: dict[str, str]) -> Response:
    response = render(request, "error.html", {"problem": problem}, status=problem["status"])
    for name, value in headers.items():
        if name.lower() not in ("content-language", "vary"):
            response.headers[name] = value
    return response


def install(app: FastAPI) -> None:
    app.state.problem_page = _problem_page
    static = files("api.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for module in (public_pages, certificate_pages, verification, session_pages, desk_pages):
        app.include_router(module.router)
