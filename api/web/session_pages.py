"""Signing in and out of the pages (the session itself: api.web.session)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.access import authenticate
from api.problems import ApiProblemError
from api.web.forms import form_fields, one
from api.web.session import check_csrf, check_same_origin, session_cookie_name
from api.web.templating import render
from domain.actor import Role

router = APIRouter(include_in_schema=False)

LANDING: dict[Role | None, str] = {  # a filer's or institution's: the registry
    Role.REVIEWER: "/desk/review",
    Role.CERTIFIER: "/desk/review",
    Role.AUDITOR: "/desk/audit",
    Role.REGIONAL_ADMIN: "/desk/region",
}
TOKEN_MAX_LENGTH = 200


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request) -> HTMLResponse:
    ended = bool(getattr(request.state, "session_ended", False))
    return render(request, "signin.html", {"message": "session_ended" if ended else None})


@router.post("/signin")
async def signin(request: Request) -> Response:
    """Check the token, then keep it in the session cookie (never in a URL or a page).

    The origin is checked here too: a sign-in forged by another site would sign the victim
    into the attacker's account ("login CSRF")."""
    check_same_origin(request)
    token = (one(await form_fields(request), "token") or "").strip()
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise ApiProblemError("token_invalid", "paste the access token you were given")
    principal = await run_in_threadpool(authenticate, request.app.state.tokens, token)
    response = RedirectResponse(LANDING.get(principal.role, "/"), status_code=303)
    response.set_cookie(
        session_cookie_name(request),
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    check_csrf(request, one(await form_fields(request), "csrf_token"))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(session_cookie_name(request), path="/", httponly=True, samesite="strict")
    return response
