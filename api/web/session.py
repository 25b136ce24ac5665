"""The signed-in pages' session: the API token in an HttpOnly, SameSite=Strict cookie.

Decision (docs/decisions.md "Web session"): the token a person signs in with is the API's own
bearer token, kept in a cookie that page scripts cannot read (HttpOnly), that the browser never
sends with a request started by another site (SameSite=Strict), and that never appears in a
URL. sessionStorage was the other choice: it would need JavaScript on every page (the pages
work without it) and any injected script could read it. The cookie is a browser-session cookie
(no Max-Age) and the token's own expiry still applies (401 token_expired).

Cross-site request forgery: besides SameSite, every form carries a token derived from the
session (``csrf_token``) and every signed-in POST checks it and the request's Origin (or
``Sec-Fetch-Site``) before anything else. The derived token is SHA-256 over a label and the
session token: only a page that could read the HttpOnly cookie's value could compute it, and
it reveals nothing usable about the session token.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from fastapi import Request

from api.problems import ApiProblemError

SESSION_COOKIE: Final = "ppl_session"
SECURE_SESSION_COOKIE: Final = "__Host-ppl_session"  # over HTTPS: Secure, Path=/, no Domain
CSRF_FIELD: Final = "csrf_token"
_CSRF_LABEL: Final = b"ppl/web-csrf/v1\x00"


def session_token(request: Request) -> str | None:
    """The API token of the signed-in person, if any."""
    return request.cookies.get(SECURE_SESSION_COOKIE) or request.cookies.get(SESSION_COOKIE)


def session_cookie_name(request: Request) -> str:
    return SECURE_SESSION_COOKIE if request.url.scheme == "https" else SESSION_COOKIE


def csrf_token(session: str) -> str:
    """The forms' anti-forgery token of a session (see the module docstring)."""
    return hashlib.sha256(_CSRF_LABEL + session.encode()).hexdigest()[:40]


def check_same_origin(request: Request) -> None:
    """Refuse a state-changing request another site started (403 ``cross_site_request``).

    Browsers send ``Origin`` on every POST; ``Sec-Fetch-Site`` says the same in one word.
    A request with neither (not a browser) is judged by its form token alone.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise ApiProblemError("cross_site_request", f"a {site} request may not change anything")
    origin = request.headers.get("origin")
    if origin is not None:
        expected = f"{request.url.scheme}://{request.url.netloc}"
        if origin != expected:
            raise ApiProblemError(
                "cross_site_request", f"a form of {origin} may not post to {expected}"
            )


def check_csrf(request: Request, submitted: str | None) -> str:
    """The session token of a signed-in POST whose origin and form token are right.

    Raises:
        ApiProblemError: 401 ``not_authenticated`` without a session, 403
            ``cross_site_request`` for another site's request or a wrong form token.
    """
    check_same_origin(request)
    session = session_token(request)
    if session is None:
        raise ApiProblemError("not_authenticated", "sign in first")
    if submitted is None or not hmac.compare_digest(submitted, csrf_token(session)):
        raise ApiProblemError(
            "cross_site_request", "the form's anti-forgery token is missing or wrong"
        )
    return session
