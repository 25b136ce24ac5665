"""Bearer tokens for the HTTP API: issued by ``ppl tokens create``, stored only as hashes.

Why hashes only: whoever reads the database (a backup, a replica, an auditor's copy) must not
be able to act as anyone. A token is ``ppl_<id>_<secret>``; the table keeps the id in the clear
(so a request finds its row by primary key and an operator can revoke it by id) and SHA-256 of
the whole token, compared in constant time. The secret is shown once, at creation.

Roles are the domain's (``domain.actor.Role``) minus ``system``; ``filer`` and ``institution``
are scoped to a USCC, ``regional_admin`` to a region-code prefix, the platform roles to nothing.

Every token expires (``DEFAULT_LIFETIME``, 90 days, or ``--expires``; issue #15): a leaked token
stops working without anyone noticing the leak. ``rotate`` issues its successor and lets the
old one run out after a grace period.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from api.token_cache import TokenCache
from audit.database.connections import Database
from domain.actor import Actor, Role
from domain.errors import InvalidValueError
from domain.values import Uscc

TOKEN_ROLES = (
    Role.FILER, Role.INSTITUTION, Role.REVIEWER, Role.CERTIFIER, Role.REGIONAL_ADMIN, Role.AUDITOR,
)  # fmt: skip
_SCOPED_BY_USCC = frozenset({Role.FILER, Role.INSTITUTION})
_TOKEN = re.compile(r"ppl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_REGION_PREFIX = re.compile(r"[0-9]{2}([0-9]{2}){0,2}")


DEFAULT_LIFETIME: Final = timedelta(days=90)
LONGEST_LIFETIME: Final = timedelta(days=366)
DEFAULT_GRACE: Final = timedelta(hours=24)
_LIFETIME = re.compile(r"([0-9]{1,4})([dhm])")
_UNITS: Final = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


class TokenError(ValueError):
    """A token cannot be issued or revoked as asked (bad role, scope or id)."""


class TokenExpiredError(Exception):
    """The token is known and not revoked, but its lifetime is over (401 ``token_expired``)."""

    def __init__(self, token_id: str, expired_at: str) -> None:
        super().__init__(f"token {token_id} expired at {expired_at}")
        self.token_id = token_id
        self.expired_at = expired_at


def parse_lifetime(text: str, *, zero: bool = False) -> timedelta:
    """``90d``, ``12h`` or ``30m``: at most 366 days; at least a minute (or 0 if ``zero``)."""
    match = _LIFETIME.fullmatch(text.strip())
    if match is None:
        raise TokenError(f"{text!r}: want a duration such as 90d, 12h or 30m")
    lifetime = int(match.group(1)) * _UNITS[match.group(2)]
    if lifetime > LONGEST_LIFETIME or (lifetime <= timedelta(0) and not zero):
        raise TokenError(f"{text!r}: want {'0' if zero else '1m'} to 366d")
    return lifetime


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token's role and scope, or anonymous (``token_id`` None)."""

    role: Role | None
    scope: str | None = None
    token_id: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.role is None

    def actor(self) -> Actor:
        """The actor recorded in the events this caller's commands cause."""
        if self.role is None or self.token_id is None:
            raise ValueError("an anonymous caller cannot act")
        return Actor(id=f"token:{self.token_id}", role=self.role, scope=self.scope)


ANONYMOUS = Principal(role=None)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    token_id: str
    role: Role
    scope: str | None
    label: str
    created_at: str
    revoked_at: str | None
    expires_at: str


def check_scope(role: Role, scope: str | None) -> str | None:
    """The scope in its one spelling, or TokenError: filers need a USCC, admins a prefix."""
    if role in _SCOPED_BY_USCC:
        if not scope:
            raise TokenError(f"role {role.value} needs --scope USCC")
        try:
            return Uscc.parse(scope).value
        except InvalidValueError as exc:
            raise TokenError(f"--scope {scope!r}: {exc.message}") from None
    if role is Role.REGIONAL_ADMIN:
        if not scope or not _REGION_PREFIX.fullmatch(scope):
            raise TokenError(
                f"role regional_admin needs --scope REGION_PREFIX (2, 4 or 6 digits), not {scope!r}"
            )
        return scope
    if scope:
        raise TokenError(f"role {role.value} is platform-wide: it takes no --scope")
    return None


def parse_role(text: str) -> Role:
    for role in TOKEN_ROLES:
        if role.value == text:
            return role
    raise TokenError(f"role {text!r}: want one of {', '.join(r.value for r in TOKEN_ROLES)}")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> str:
    return _stamp(datetime.now(UTC))


def _stamp(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds: such stamps compare correctly as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _moment(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class TokenStore:
    """The ``ppl_api_tokens`` table in the ledger's database.

    ``cache_seconds`` > 0 keeps tokens that authenticated for that long (api.token_cache:
    the API process, ``PPL_API_TOKEN_CACHE_SECONDS``); the CLI and tests keep none.
    """

    def __init__(self, database: Database, *, cache_seconds: float = 0.0) -> None:
        self.db = database
        self.cache: TokenCache[Principal] = TokenCache(cache_seconds)
        with self.db.schema_transaction() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS ppl_api_tokens ("
                "token_id TEXT PRIMARY KEY, token_hash TEXT NOT NULL, role TEXT NOT NULL, "
                "scope TEXT, label TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT, "
                "expires_at TEXT)"
            )
            _add_expiry(self.db, cursor)

    def create(
        self,
        role: Role,
        scope: str | None = None,
        label: str = "",
        lifetime: timedelta = DEFAULT_LIFETIME,
    ) -> tuple[str, str]:
        """Issue a token valid for ``lifetime``; returns (token id, the token itself — shown
        once, never stored)."""
        if not timedelta(0) < lifetime <= LONGEST_LIFETIME:
            raise TokenError(f"a token lives 1 minute to 366 days, not {lifetime}")
        if role not in TOKEN_ROLES:
            raise TokenError(f"role {role.value} cannot hold a token")
        scope = check_scope(role, scope)
        if len(label) > 200 or not label.isprintable():
            raise TokenError("--label: want at most 200 printable characters")
        token_id = secrets.token_hex(8)
        token = f"ppl_{token_id}_{secrets.token_urlsafe(32)}"
        with self.db.transaction(write=True) as cursor:
            cursor.execute(
                self.db.q(
                    "INSERT INTO ppl_api_tokens (token_id, token_hash, role, scope, label, "
                    "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                ),
                (
                    token_id,
                    _hash(token),
                    role.value,
                    scope,
                    label,
                    _now(),
                    _stamp(datetime.now(UTC) + lifetime),
                ),
            )
        return token_id, token

    def authenticate(self, token: str) -> Principal | None:
        """The token's principal, or None if it is malformed, unknown or revoked.

        Raises:
            TokenExpiredError: the token is right but its lifetime is over.
        """
        match = _TOKEN.fullmatch(token)
        if match is None:
            return None
        with self.db.autocommit() as cursor:  # one statement: one round trip
            cursor.execute(
                self.db.q(
                    "SELECT token_hash, role, scope, revoked_at, expires_at FROM ppl_api_tokens "
                    "WHERE token_id = ?"
                ),
                (match.group(1),),
            )
            row = cursor.fetchone()
        digest = _hash(token)
        if row is None or row[3] is not None or not hmac.compare_digest(row[0], digest):
            return None
        now = _now()
        if row[4] <= now:
            raise TokenExpiredError(match.group(1), row[4])
        principal = Principal(role=Role(row[1]), scope=row[2], token_id=match.group(1))
        left = (_moment(row[4]) - _moment(now)).total_seconds()
        if left > self.cache.ttl:  # never served from the cache past its expiry
            self.cache.put(digest, match.group(1), principal)
        return principal

    def recently_authenticated(self, token: str) -> Principal | None:
        """The principal of ``token`` if it authenticated within the cache's time, else None.

        No database: the API answers this on its event loop (api.access.caller).
        """
        return self.cache.get(_hash(token))

    def revoke(self, token_id: str) -> None:
        with self.db.transaction(write=True) as cursor:
            cursor.execute(
                self.db.q(
                    "UPDATE ppl_api_tokens SET revoked_at = ? "
                    "WHERE token_id = ? AND revoked_at IS NULL"
                ),
                (_now(), token_id),
            )
            if cursor.rowcount != 1:
                raise TokenError(f"no active token {token_id!r}")
        self.cache.forget(token_id)

    def rotate(
        self,
        token_id: str,
        lifetime: timedelta = DEFAULT_LIFETIME,
        grace: timedelta = DEFAULT_GRACE,
    ) -> tuple[str, str]:
        """Issue the successor of an active token (same role, scope and label), and let the
        old one run out ``grace`` from now (at once if 0; never later than it would have), so
        its holder can switch without an outage. Returns the new (token id, token)."""
        old = next((r for r in self.list() if r.token_id == token_id), None)
        if old is None or old.revoked_at is not None or old.expires_at <= _now():
            raise TokenError(f"no active token {token_id!r}")
        new_id, token = self.create(old.role, old.scope, old.label, lifetime)
        if grace <= timedelta(0):
            self.revoke(token_id)
        else:
            ends = min(old.expires_at, _stamp(datetime.now(UTC) + grace))
            with self.db.transaction(write=True) as cursor:
                cursor.execute(
                    self.db.q("UPDATE ppl_api_tokens SET expires_at = ? WHERE token_id = ?"),
                    (ends, token_id),
                )
            self.cache.forget(token_id)
        return new_id, token

    def list(self) -> Sequence[TokenRecord]:
        with self.db.autocommit() as cursor:
            cursor.execute(
                "SELECT token_id, role, scope, label, created_at, revoked_at, expires_at "
                "FROM ppl_api_tokens ORDER BY created_at, token_id"
            )
            rows = cursor.fetchall()
        return [TokenRecord(r[0], Role(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]


def _add_expiry(db: Database, cursor: Any) -> None:
    """Tables made before tokens expired get ``expires_at``; their tokens expire 90 days
    after their creation (or at once, if that is past)."""
    cursor.execute("SELECT * FROM ppl_api_tokens WHERE 1 = 0")
    if "expires_at" in {column[0] for column in cursor.description}:
        return
    cursor.execute("ALTER TABLE ppl_api_tokens ADD COLUMN expires_at TEXT")
    cursor.execute("SELECT token_id, created_at FROM ppl_api_tokens")
    for token_id, created_at in cursor.fetchall():
        cursor.execute(
            db.q("UPDATE ppl_api_tokens SET expires_at = ? WHERE token_id = ?"),
            (_stamp(_moment(created_at) + DEFAULT_LIFETIME), token_id),
        )
