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

Certification (issue #6): a round's decisions are internal until its certified list is
published (公示). Everyone sees the published list — the products' public fields, without the
figures their indicators were computed from; the product's filer, its regional admin and the
platform roles see a decision with its explanation (inputs, indicators, reasons) at once.
Objections show who filed them only to the platform roles.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from enum import Enum
from typing import Any, Final, Literal

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.problems import ApiProblemError
from api.tokens import ANONYMOUS, Principal, TokenExpiredError, TokenStore
from api.web.session import session_token
from domain.actor import Role

PLATFORM = frozenset({Role.REVIEWER, Role.CERTIFIER, Role.AUDITOR})
PUBLIC_STATUSES = frozenset({"approved"})

PUBLIC_PRODUCT_FIELDS = (
    "product_id", "filer_uscc", "filer_name", "region_code", "name", "model", "variants",
    "category", "finer_code", "status", "data_year", "patents", "certifications",
    "filed_at", "updated_at", "version", "update_under_review", "filing_number",
)  # fmt: skip
CONFIDENTIAL_PRODUCT_FIELDS = (
    "sales_fen", "exports_fen", "profit_fen", "ip_spending_fen", "open_disputes",
    "resolved_disputes", "rejection_reason", "withdrawal_reason", "filer_id", "canonical_key",
    "patents_version", "approved_version",
)  # fmt: skip

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ppl"'}  # on every 401


async def caller(request: Request) -> Principal:
    """The principal of the request's bearer token; anonymous without one.

    Every request runs this (an app-wide dependency), so a bad token is a 401 on any route,
    public ones included; the result is kept on ``request.state`` for the route's own checks.
    A token that authenticated within the last ``PPL_API_TOKEN_CACHE_SECONDS`` is answered on
    the event loop (api.token_cache); otherwise the lookup pays a threadpool hop (the token
    table is read with a blocking driver). An anonymous request never leaves the event loop.
    """
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    header = request.headers.get("authorization")
    session = None if header is not None else _page_session(request)
    if header is None and session is None:
        principal = ANONYMOUS
    else:
        tokens: TokenStore = request.app.state.tokens
        token = _bearer(header) if header is not None else session or ""
        cached = tokens.recently_authenticated(token)
        if cached is None:
            try:
                cached = await run_in_threadpool(authenticate, tokens, token)
            except ApiProblemError:
                if header is not None:
                    raise
                # A page's session that expired or was revoked has ended: the page is shown
                # as to anyone, and says so (api.web), instead of refusing every page.
                request.state.session_ended = True
                cached = ANONYMOUS
        principal = cached
    request.state.principal = principal
    return principal


def _page_session(request: Request) -> str | None:
    """The web pages' session token (api.web.session), for pages only.

    The API (``/v1/``) never reads the cookie: its callers send ``Authorization``, and a
    cookie the browser attaches by itself must not authorize an API write from a page of
    another site. The pages' own forms check origin and an anti-forgery token (api.web).
    The scope's path, not ``request.url``: building the URL (host header, escaping, parsing)
    cost every anonymous API request ~0.04 ms of the server's CPU (bench/reads.py), and the
    URL's path is this path (only ``?``, ``#`` and ``\\`` escaped, none of them in ``/v1/``)."""
    if request.scope["path"].startswith("/v1/"):
        return None
    return session_token(request)


def _bearer(header: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (401 for any other form)."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblemError(
            "token_invalid", "Authorization must be 'Bearer <token>'", headers=CHALLENGE
        )
    return token.strip()


def authenticate(tokens: TokenStore, token: str) -> Principal:
    """The principal of ``token`` (401 ``token_expired`` or ``token_invalid`` otherwise): the
    API's bearer tokens and the pages' sign-in (api.web.session_pages) alike."""
    try:
        principal = tokens.authenticate(token)
    except TokenExpiredError as exc:
        raise ApiProblemError(
            "token_expired",
            f"the bearer token expired at {exc.expired_at}: ask for a new one",
            headers=CHALLENGE,
        ) from None
    if principal is None:
        raise ApiProblemError(
            "token_invalid", "the bearer token is unknown, malformed or revoked", headers=CHALLENGE
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
                "not_authenticated", f"this needs a bearer token of: {wanted}", headers=CHALLENGE
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
        return row.get("filer_uscc") == principal.scope or _listed(row)
    if principal.role is Role.REGIONAL_ADMIN:  # outside its region: what the public sees
        return in_region(principal, row.get("region_code")) or _listed(row)
    return _listed(row)


def _listed(row: Mapping[str, Any]) -> bool:
    """Listed in the public registry: approved, or approved before and its annual update
    under review (projections.product_registry ``listed_status``)."""
    return row.get("status") in PUBLIC_STATUSES or row.get("listed_status") in PUBLIC_STATUSES


def sees_owned(principal: Principal, owner: Role, uscc: object, region_code: str | None) -> bool:
    """May the caller see what only a record's parties see (its figures, contact data, signed
    events)? Platform roles; the party that owns it (``owner``, of USCC ``uscc``); the regional
    admin of its region (``region_code``). One rule for filings, filer records and, in
    api.routes.ledger, any record's events."""
    if principal.role in PLATFORM:
        return True
    if principal.role is Role.REGIONAL_ADMIN:
        return in_region(principal, region_code)
    return principal.role is owner and uscc == principal.scope


def sees_confidential(principal: Principal, row: Mapping[str, Any]) -> bool:
    """Economic figures and review notes: the filer, platform roles, its regional admin."""
    return sees_owned(principal, Role.FILER, row.get("filer_uscc"), row.get("region_code"))


def product_view(principal: Principal, row: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a filing this caller may see (call only if ``sees_product``)."""
    fields: tuple[str, ...] = PUBLIC_PRODUCT_FIELDS
    confidential = sees_confidential(principal, row)
    if confidential:
        fields += CONFIDENTIAL_PRODUCT_FIELDS
    view = {name: row.get(name) for name in fields}
    view["certifications"] = product_certifications(principal, row)
    approved = row.get("approved_version")
    under_review = row.get("status") == "pending_review" and approved is not None
    view["update_under_review"] = under_review
    if under_review and not confidential and approved is not None:
        # the public sees the version last approved, not the update it has not approved
        view.update(status="approved", data_year=approved["data_year"])
        view["patents"] = approved["patents"]
    return view


def product_certifications(principal: Principal, row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The filing's certification history as this caller may see it.

    Callers who see its confidential fields get every entry whole (projections.product_registry);
    others only the rounds whose published list named it, without reasons and objections.
    """
    entries: list[dict[str, Any]] = list(row.get("certifications") or [])
    if sees_confidential(principal, row):
        return entries
    return [
        {name: entry.get(name) for name in PUBLIC_CERTIFICATION_FIELDS}
        for entry in entries
        if entry.get("published")
    ]


PUBLIC_CERTIFICATION_FIELDS = (
    "year", "data_year", "status", "published", "published_at", "benchmark_table_id",
    "benchmark_version", "certification_id", "version", "notification_id", "decided_at",
    "revoked_at",
)  # fmt: skip
PUBLIC_DECISION_FIELDS = (
    "product_id", "name", "model", "filer_uscc", "filer_name", "region_code", "category",
    "finer_code", "round_year", "data_year", "status", "published", "benchmark_table_id",
    "benchmark_version", "certification_id", "version", "decided_at", "revoked_at",
)  # fmt: skip
CONFIDENTIAL_DECISION_FIELDS = (
    "product_version", "product_status", "product_data_year", "rule", "inputs", "indicators",
    "reasons", "revoked_by_objection", "revocation_reason", "notification_id",
)  # fmt: skip
OBJECTOR_FIELDS = ("objector_id", "objector_scope", "decided_by")


def sees_decision(principal: Principal, row: Mapping[str, Any]) -> bool:
    """May the caller see this certification decision (a register row) at all (else 404)?

    The platform roles, the product's filer and its regional admin always; anyone else (a
    regional admin outside its region too) once the round's published list named the product.
    """
    if principal.role in PLATFORM:
        return True
    if principal.role is Role.REGIONAL_ADMIN and in_region(principal, row.get("region_code")):
        return True
    if principal.role is Role.FILER and row.get("filer_uscc") == principal.scope:
        return True
    return bool(row.get("published"))  # a regional admin elsewhere: as the public


def decision_view(principal: Principal, row: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a decision this caller may see (call only if ``sees_decision``): the
    explanation (inputs, indicators, reasons) is as confidential as the filing's figures."""
    fields: tuple[str, ...] = PUBLIC_DECISION_FIELDS
    if sees_confidential(principal, row):
        fields += CONFIDENTIAL_DECISION_FIELDS
    view = {name: row.get(name) for name in fields}
    view["published"] = bool(row.get("published"))
    return view


def sees_objection(principal: Principal, row: Mapping[str, Any]) -> bool:
    """Objections: platform roles; a regional admin those against its region's products; a
    filer those against its products and those it filed; an institution those it filed."""
    if principal.role in PLATFORM:
        return True
    if principal.role is Role.REGIONAL_ADMIN:
        return in_region(principal, row.get("region_code"))
    if principal.role is Role.FILER and row.get("filer_uscc") == principal.scope:
        return True
    return (
        principal.role is not None
        and row.get("objector_role") == principal.role.value
        and row.get("objector_scope") == principal.scope
    )


def objection_view(principal: Principal, row: Mapping[str, Any]) -> dict[str, Any]:
    """An objection (call only if ``sees_objection``); who filed and decided it (actor ids,
    scope) only for the platform roles."""
    if principal.role in PLATFORM:
        return dict(row)
    return {name: value for name, value in row.items() if name not in OBJECTOR_FIELDS}


_PLATFORM_ACTORS = frozenset({*(role.value for role in PLATFORM), Role.SYSTEM.value})


def trail_event_view(
    principal: Principal, event: Mapping[str, Any], filer_uscc: str
) -> dict[str, Any]:
    """A filing's trail event as this caller may see who caused it (issue #15).

    Platform roles see every actor, and everyone sees who acted for the platform (a
    reviewer's approval is accountable). Of the other parties' acts, a caller sees the actor's
    scope (a USCC) only when it is the filing's own filer, and the actor's id only when the act
    is its own organisation's: an objector, a dispute's claimant or an institution stays
    anonymous to the objected filer and to regional admins, and no caller learns another
    party's token ids.
    """
    if principal.role in PLATFORM or event.get("actor_role") in _PLATFORM_ACTORS:
        return dict(event)
    view = dict(event)
    scope = event.get("actor_scope")
    own = principal.role is not None and (
        event.get("actor_role") == principal.role.value and scope == principal.scope
    )
    if not own:
        view["actor_id"] = None
    if scope is not None and scope != filer_uscc and not own:
        view["actor_scope"] = None
    return view


def sees_filer(principal: Principal, row: Mapping[str, Any]) -> bool:
    """Filer records (contact data, status): the filer itself, platform roles, its region."""
    return sees_owned(principal, Role.FILER, row.get("uscc"), row.get("region_code"))


class _Nobody(Enum):
    NOBODY = "nobody"


NOBODY: Final = _Nobody.NOBODY
"""A filter no record matches: the list is an empty page (``uscc_scope``)."""


def uscc_scope(principal: Principal, requested: str | None) -> str | Literal[_Nobody.NOBODY] | None:
    """The USCC a filer's list of records it owns (filer records, decisions) is confined to:
    its own. A filter naming another filer's USCC narrows to nothing — ``NOBODY``, an empty
    page, not an error, as a filter asking for more than the caller sees does everywhere.
    Other callers' filters stand as asked."""
    if principal.role is not Role.FILER:
        return requested
    if requested not in (None, principal.scope):
        return NOBODY
    return principal.scope


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
