"""Who may call what, and what each caller sees: the API's access policy in one place.

Why one module: the role matrix (docs/api.md) must be readable and testable as a whole, not
spread over route modules. Routes declare ``Depends(caller)`` or ``Depends(requires(...))`` and
filter rows through ``sees_product`` / ``product_view`` and friends.

* anonymous — the public list of approved products (non-confidential fields), aggregate
  statistics, public keys, checkpoints, consistency proofs and inclusion proofs by leaf index;
* ``filer`` (scope: its USCC) — its own filer record and filings, with their figures; acts on
  them only;
* ``institution`` (scope: its USCC) — reports conversion outcomes of its patents; reads what
  anonymous reads;
* ``reviewer`` / ``certifier`` — platform roles: read everything but the audit bundle; review
  (reviewer) and certify (certifier);
* ``regional_admin`` (scope: a region-code prefix) — reads registries and statistics of its
  region only, never writes;
* ``auditor`` — reads everything including the audit bundle, never writes.

A caller who may not see a product gets 404, as if it did not exist: a filer probing another
filer's product ids learns nothing. A caller who may see it but not change it gets 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.problems import ApiProblemError
from api.tokens import ANONYMOUS, Principal, TokenStore
from domain.actor import Role

PLATFORM = frozenset({Role.REVIEWER, Role.CERTIFIER, Role.AUDITOR})
PUBLIC_STATUSES = frozenset({"approved"})

PUBLIC_PRODUCT_FIELDS = (
    "product_id", "filer_uscc", "filer_name", "region_code", "name", "model", "variants",
    "category", "finer_code", "status", "data_year", "patents", "certifications",
    "filed_at", "updated_at", "version",
)  # fmt: skip
CONFIDENTIAL_PRODUCT_FIELDS = (
    "sales_fen", "exports_fen", "profit_fen", "ip_spending_fen", "open_disputes",
    "resolved_disputes", "rejection_reason", "withdrawal_reason", "filer_id", "canonical_key",
    "patents_version",
)  # fmt: skip

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ppl"'}


async def caller(request: Request) -> Principal:
    """The principal of the request's bearer token; anonymous without one.

    Every request runs this (an app-wide dependency), so a bad token is a 401 on any route,
    public ones included; the result is kept on ``request.state`` for the route's own checks.
    Only a request with a token pays a threadpool hop (the token table is read with a blocking
    driver); an anonymous one is answered on the event loop.
    """
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    if "authorization" in request.headers:
        principal = await run_in_threadpool(_authenticate, request)
    else:
        principal = ANONYMOUS
    request.state.principal = principal
    return principal


def _authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization")
    if header is None:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblemError(
            "token_invalid", "Authorization must be 'Bearer <token>'", headers=_CHALLENGE
        )
    tokens: TokenStore = request.app.state.tokens
    principal = tokens.authenticate(token.strip())
    if principal is None:
        raise ApiProblemError(
            "token_invalid", "the bearer token is unknown, malformed or revoked", headers=_CHALLENGE
        )
    return principal


def requires(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the caller, who must hold one of ``roles``."""
    wanted = ", ".join(role.value for role in roles)

    async def dependency(request: Request) -> Principal:
        # async: the app-wide ``caller`` dependency has already authenticated the request (in
        # the threadpool: it reads the token table), so this only reads request.state and is
        # not worth a second threadpool hop (~0.2 ms, docs/benchmarks.md "API").
        principal = await caller(request)
        if principal.role is None:
            raise ApiProblemError(
                "not_authenticated", f"this needs a bearer token of: {wanted}", headers=_CHALLENGE
            )
        if principal.role not in roles:
            raise ApiProblemError(
                "forbidden", f"role {principal.role.value} may not do this; want one of {wanted}"
            )
        return principal

    return dependency


def in_region(principal: Principal, region_code: str | None) -> bool:
    return bool(region_code and principal.scope and region_code.startswith(principal.scope))


def sees_product(principal: Principal, row: Mapping[str, Any]) -> bool:
    """May the caller see this filing at all (otherwise: 404)?"""
    if principal.role in PLATFORM:
        return True
    if principal.role is Role.FILER:
        return row.get("filer_uscc") == principal.scope or row.get("status") in PUBLIC_STATUSES
    if principal.role is Role.REGIONAL_ADMIN:
        return in_region(principal, row.get("region_code"))
    return row.get("status") in PUBLIC_STATUSES


def sees_confidential(principal: Principal, row: Mapping[str, Any]) -> bool:
    """Economic figures and review notes: the filer, platform roles, its regional admin."""
    if principal.role in PLATFORM:
        return True
    if principal.role is Role.FILER:
        return row.get("filer_uscc") == principal.scope
    if principal.role is Role.REGIONAL_ADMIN:
        return in_region(principal, row.get("region_code"))
    return False


def product_view(principal: Principal, row: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a filing this caller may see (call only if ``sees_product``)."""
    fields: tuple[str, ...] = PUBLIC_PRODUCT_FIELDS
    if sees_confidential(principal, row):
        fields += CONFIDENTIAL_PRODUCT_FIELDS
    return {name: row.get(name) for name in fields}


def sees_filer(principal: Principal, row: Mapping[str, Any]) -> bool:
    """Filer records (contact data, status): the filer itself, platform roles, its region."""
    if principal.role in PLATFORM:
        return True
    if principal.role is Role.FILER:
        return row.get("uscc") == principal.scope
    if principal.role is Role.REGIONAL_ADMIN:
        return in_region(principal, row.get("region_code"))
    return False


def region_scope(principal: Principal, requested: str | None) -> str | None:
    """The region prefix a regional admin's query is confined to (403 outside its region)."""
    if principal.role is not Role.REGIONAL_ADMIN:
        return requested
    scope = principal.scope or ""
    if requested is None:
        return scope
    if requested.startswith(scope):
        return requested
    raise ApiProblemError("forbidden", f"region {requested} is outside this admin's region {scope}")
