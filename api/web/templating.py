"""Rendering a page: Jinja2 with autoescaping everywhere, and the pages' security headers.

Why autoescape for every template (not only ``.html``): every string a filer, institution or
reviewer typed reaches a page through a template variable, and escaping by default means a
forgotten filter shows ``&lt;script&gt;`` instead of running it. Nothing in the templates is
marked safe except the QR code's SVG, which api.web.certificate builds from a bit matrix.

The Content-Security-Policy allows scripts, styles, images and fetches from this origin only:
no inline script or style, no other host, no plugin, no framing, forms post only here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache
from importlib.resources import files
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from api.web.i18n import (
    HTML_LANG,
    LANG_COOKIE,
    Lang,
    category_label,
    chosen_language,
    label,
    page_language,
)
from api.web.money import money
from api.web.session import csrf_token, session_token
from domain.values import SHANGHAI_DISTRICTS

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
PAGE_HEADERS: Final[Mapping[str, str]] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}


@lru_cache(maxsize=256)
def asset_version(path: str) -> str:
    """A short hash of a static asset's bytes: its URL changes when it does (caching)."""
    data = files("api.web").joinpath("static", *path.split("/")).read_bytes()
    return hashlib.sha256(data).hexdigest()[:12]


def static_url(path: str) -> str:
    return f"/static/{path}?v={asset_version(path)}"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("api.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt variable fails the test, not the reader
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static_url"] = static_url
    env.filters["money"] = money
    return env


def render(
    request: Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> HTMLResponse:
    """The page ``template`` in the request's language, with the security headers."""
    lang: Lang = page_language(request)
    principal = getattr(request.state, "principal", None)
    session = session_token(request)
    page = (
        environment()
        .get_template(template)
        .render(
            **context,
            lang=lang,
            html_lang=HTML_LANG[lang],
            t=lambda key: label(lang, key),
            category=lambda code: category_label(lang, code),
            money=lambda fen: money(fen, lang),
            region_name=lambda code: SHANGHAI_DISTRICTS.get(code or "", ""),
            principal=principal,
            csrf="" if session is None else csrf_token(session),
            path=request.url.path,
            query=request.url.query,
        )
    )
    headers = {**PAGE_HEADERS, "Content-Language": HTML_LANG[lang], "Vary": "Cookie"}
    response = HTMLResponse(page, status_code=status, headers=headers)
    chosen = chosen_language(request)
    if chosen is not None:  # the switch: remember the choice for the next pages
        response.set_cookie(LANG_COOKIE, chosen, samesite="lax", httponly=True, path="/")
    return response
