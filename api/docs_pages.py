"""``/docs`` (Swagger UI) and ``/redoc`` served from the package, under a Content-Security-Policy.

Why: FastAPI's default pages load Swagger UI and ReDoc from a public CDN, so every reader of
the API reference ran third-party code next to its bearer token, and the pages broke offline
(issue #15). The assets come from ``fastapi-offline`` (docs/decisions.md), mounted under
``/static/docs``; the pages' one inline script runs under a per-response nonce, and the policy
allows nothing from another origin.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Final

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS: Final = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL: Final = "/static/docs"


def _policy(nonce: str) -> str:
    return (
        "default-src 'none'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; "  # Swagger UI and ReDoc set inline styles
        "img-src 'self' data:; "
        "font-src 'self'; "
        "connect-src 'self'; "  # the OpenAPI document and "try it out"
        "worker-src 'self' blob:; "  # ReDoc's search worker
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def _guarded(page: HTMLResponse) -> HTMLResponse:
    """The page with a nonce on its inline scripts and the policy that admits only those."""
    nonce = secrets.token_urlsafe(16)
    html = bytes(page.body).decode("utf-8").replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": _policy(nonce),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def install(app: FastAPI) -> None:
    """Mount the assets and the two pages (create the app with ``docs_url=None`` and
    ``redoc_url=None``).

    The endpoints are module functions reading the app from the request, not closures over
    it: FastAPI keeps every endpoint it has classified in a module-level cache (4,096 entries),
    and a closure there would keep its app, with all its routes, alive after the app is gone.
    """
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    app.get("/docs", include_in_schema=False, name="swagger_ui")(swagger_ui)
    app.get("/redoc", include_in_schema=False, name="redoc")(redoc)


def _root(request: Request) -> str:
    """The request's root path, under which a proxy serves the assets and the OpenAPI
    document as well."""
    return str(request.scope.get("root_path", ""))


def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on the app's OpenAPI document, guarded (``_guarded``)."""
    app: FastAPI = request.app
    root = _root(request)
    return _guarded(
        get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url or '/openapi.json'}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
    )


def redoc(request: Request) -> HTMLResponse:
    """ReDoc on the app's OpenAPI document, guarded (``_guarded``)."""
    app: FastAPI = request.app
    root = _root(request)
    return _guarded(
        get_redoc_html(
            openapi_url=f"{root}{app.openapi_url or '/openapi.json'}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
    )
