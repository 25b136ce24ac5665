"""Settings from the environment, read once (``get_settings``).

``PPL_DATABASE_URL`` alone selects the store: unset or ``sqlite:///PATH`` → the embedded SQLite
file; ``postgresql://user:password@host:port/dbname`` → PostgreSQL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from limits import parse as parse_rate
from psycopg.conninfo import make_conninfo

from audit.offline.cosignature import WitnessPolicy
from audit.offline.errors import KeyConfigurationError
from projections.disclosure import DEFAULT_DOMINANCE_BP, DEFAULT_MIN_FILERS, Rules


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class RateLimitSettings:
    """The limits of each class, per token and per client address (``limits`` notation)."""

    expensive_per_token: str = "60/minute"  # noqa: S105 (a rate, not a secret)
    expensive_per_address: str = "300/minute"
    writes_per_token: str = "6000/minute"  # noqa: S105
    writes_per_address: str = "30000/minute"
    storage: str = "memory://"
    max_header_bytes: int = 16_384

    def check(self) -> None:
        """Raises ValueError naming the setting that ``limits`` cannot read."""
        for name in ("expensive_per_token", "expensive_per_address", "writes_per_token",
                     "writes_per_address"):  # fmt: skip
            try:
                parse_rate(getattr(self, name))
            except ValueError:
                raise ValueError(f"{name}: {getattr(self, name)!r} is no rate") from None


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    database_url: str
    signing_key_file: Path | None
    public_keys_file: Path
    environment: str
    log_key_file: Path | None = None
    log_origin: str = "ppl.local/patent-product-ledger"
    sequence_interval: float = 1.0
    projection_interval: float = 0.25
    max_body_bytes: int = 65_536
    token_cache_seconds: float = 1.0
    db_deadline: float = 1.0  # seconds a request's database call may hold a connection
    rate_limits: RateLimitSettings = RateLimitSettings()
    stats_publish: str = "monthly"  # the service publishes the statistics monthly, or "off"
    disclosure: Rules = field(default_factory=Rules)
    public_url: str | None = None  # the site's address printed on certificates (PPL_PUBLIC_URL)
    witness_policy: WitnessPolicy = field(default_factory=WitnessPolicy)  # PPL_WITNESS_POLICY
    witness_timeout: float = 5.0  # seconds a witness has to answer add-checkpoint
    witness_degraded_after: float = 300.0  # /ready: witnessing degraded after this long unmet
    read_replicas: tuple[str, ...] = ()  # streaming replicas answering reads (api.read_routing)
    read_wait: float = 0.5  # seconds a read asking for a position waits for a replica

    @property
    def key_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("PPL_DATA_DIR", ".ppl")).expanduser().resolve()
        database_url = env.get("PPL_DATABASE_URL") or f"sqlite:///{data_dir / 'ledger.sqlite3'}"
        key_file = env.get("PPL_SIGNING_KEY_FILE")
        environment = env.get("PPL_ENV", "development")
        if environment not in ("development", "production"):
            raise SettingsError(f"PPL_ENV={environment!r}: want development or production")
        log_key_file = env.get("PPL_LOG_KEY_FILE")
        for name, value in (("PPL_SIGNING_KEY_FILE", key_file), ("PPL_LOG_KEY_FILE", log_key_file)):
            if environment == "production" and not value:
                raise SettingsError(
                    f"{name} is required when PPL_ENV=production: "
                    "generated development keys are for development only"
                )
        log_origin = env.get("PPL_LOG_ORIGIN", "ppl.local/patent-product-ledger")
        if not log_origin or not log_origin.isprintable() or " " in log_origin:
            raise SettingsError(
                f"PPL_LOG_ORIGIN={log_origin!r}: want a non-empty name without spaces"
            )
        interval = _interval(env, "PPL_SEQUENCE_INTERVAL", "1.0")
        projection_interval = _interval(env, "PPL_PROJECTION_INTERVAL", "0.25")
        max_body = env.get("PPL_API_MAX_BODY", "65536")
        if not max_body.isdigit() or not 1024 <= int(max_body) <= 16 * 1024 * 1024:
            raise SettingsError(f"PPL_API_MAX_BODY={max_body!r}: want bytes, 1024 to 16 MiB")
        token_cache_seconds = _seconds(env, "PPL_API_TOKEN_CACHE_SECONDS", "1", 0, "0 (off)")
        db_deadline_seconds = _seconds(env, "PPL_DB_DEADLINE", "1", 0.1, "0.1")
        rate_limits = RateLimitSettings(
            expensive_per_token=env.get("PPL_RATE_EXPENSIVE_PER_TOKEN", "60/minute"),
            expensive_per_address=env.get("PPL_RATE_EXPENSIVE_PER_ADDRESS", "300/minute"),
            writes_per_token=env.get("PPL_RATE_WRITES_PER_TOKEN", "6000/minute"),
            writes_per_address=env.get("PPL_RATE_WRITES_PER_ADDRESS", "30000/minute"),
            storage=env.get("PPL_RATE_LIMIT_STORAGE", "memory://"),
            max_header_bytes=_header_bytes(env.get("PPL_API_MAX_HEADERS", "16384")),
        )
        try:
            rate_limits.check()
        except ValueError as exc:
            raise SettingsError(f"rate limits: {exc}") from None
        stats_publish = env.get("PPL_STATS_PUBLISH", "monthly")
        if stats_publish not in ("monthly", "off"):
            raise SettingsError(f"PPL_STATS_PUBLISH={stats_publish!r}: want monthly or off")
        try:
            disclosure = Rules(
                min_filers=int(env.get("PPL_STATS_MIN_FILERS", str(DEFAULT_MIN_FILERS))),
                dominance_bp=int(env.get("PPL_STATS_DOMINANCE_BP", str(DEFAULT_DOMINANCE_BP))),
            )
        except ValueError as exc:
            raise SettingsError(f"PPL_STATS_MIN_FILERS / PPL_STATS_DOMINANCE_BP: {exc}") from None
        public_url = env.get("PPL_PUBLIC_URL") or None
        if public_url is not None and not _is_site_url(public_url):
            raise SettingsError(
                f"PPL_PUBLIC_URL={public_url!r}: want http(s)://host[:port][/path], no query"
            )
        witness_policy = _witness_policy(env)
        witness_timeout = _seconds(env, "PPL_WITNESS_TIMEOUT", "5", 0.1, "0.1")
        degraded_after = _seconds(env, "PPL_WITNESS_DEGRADED_AFTER", "300", 1, "1", high=7 * 86_400)
        read_replicas = _read_replicas(env, database_url)
        read_wait = _seconds(env, "PPL_READ_WAIT", "0.5", 0, "0", high=5)
        settings = cls(
            read_replicas=read_replicas,
            read_wait=read_wait,
            witness_policy=witness_policy,
            witness_timeout=witness_timeout,
            witness_degraded_after=degraded_after,
            public_url=None if public_url is None else public_url.rstrip("/"),
            data_dir=data_dir,
            database_url=database_url,
            signing_key_file=Path(key_file).expanduser().resolve() if key_file else None,
            public_keys_file=Path(
                env.get("PPL_PUBLIC_KEYS_FILE", str(data_dir / "keys" / "public-keys.json"))
            )
            .expanduser()
            .resolve(),
            environment=environment,
            log_key_file=Path(log_key_file).expanduser().resolve() if log_key_file else None,
            log_origin=log_origin,
            sequence_interval=interval,
            projection_interval=projection_interval,
            max_body_bytes=int(max_body),
            token_cache_seconds=token_cache_seconds,
            db_deadline=db_deadline_seconds,
            rate_limits=rate_limits,
            stats_publish=stats_publish,
            disclosure=disclosure,
        )
        settings.eventsourcing_env()  # validate the URL now, not at first use
        return settings

    def eventsourcing_env(self) -> dict[str, str]:
        """Translate the database URL into eventsourcing's persistence settings."""
        url = urlsplit(self.database_url)
        if url.scheme == "sqlite":
            # As in SQLAlchemy: sqlite:///relative/path and sqlite:////absolute/path.
            path = unquote(self.database_url.removeprefix("sqlite:///").split("?")[0])
            if not self.database_url.startswith("sqlite:///") or not path or path == "/":
                raise SettingsError(f"PPL_DATABASE_URL={self.shown_url!r}: want sqlite:///PATH")
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": path,
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        if url.scheme in ("postgresql", "postgres"):
            dbname = unquote(url.path.lstrip("/"))
            if not dbname:
                raise SettingsError(f"PPL_DATABASE_URL={self.shown_url!r} names no database")
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": dbname,
                "POSTGRES_HOST": url.hostname or "127.0.0.1",
                "POSTGRES_PORT": str(url.port or 5432),
                "POSTGRES_USER": unquote(url.username or "postgres"),
                "POSTGRES_PASSWORD": unquote(url.password or ""),
                "POSTGRES_CONNECT_TIMEOUT": "10",
                "POSTGRES_POOL_SIZE": "8",
                "POSTGRES_MAX_OVERFLOW": "8",
                "POSTGRES_LOCK_TIMEOUT": "30",
            }
            schema = _query_param(url.query, "schema")
            if schema:
                env["POSTGRES_SCHEMA"] = schema
            return env
        raise SettingsError(
            f"PPL_DATABASE_URL scheme {url.scheme!r}: want sqlite:///PATH or postgresql://..."
        )

    @property
    def shown_url(self) -> str:
        """The database URL as messages and logs may show it: the password replaced by ***."""
        url = urlsplit(self.database_url)
        if url.password is None:
            return self.database_url
        user = url.username or ""
        host = url.netloc.rpartition("@")[2]
        return urlunsplit((url.scheme, f"{user}:***@{host}", url.path, url.query, url.fragment))

    def replica_location(self, url: str) -> tuple[str, str | None]:
        """As ``postgres_location``, for the read replica at ``url``: its host, port and user,
        the primary's database and schema (a streaming replica is a copy of the whole
        cluster) unless the URL names its own database."""
        return replace(self, database_url=_on_primary_schema(url, self)).postgres_location()

    def postgres_location(self) -> tuple[str, str | None]:
        """(libpq connection string without the schema, schema or None) for PostgreSQL."""
        env = self.eventsourcing_env()
        conninfo = make_conninfo(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"] or None,
            connect_timeout=env["POSTGRES_CONNECT_TIMEOUT"],
        )
        return conninfo, env.get("POSTGRES_SCHEMA")


def _read_replicas(env: dict[str, str], database_url: str) -> tuple[str, ...]:
    """PPL_READ_REPLICAS: comma-separated postgresql:// URLs of streaming replicas of the
    primary (docs/read-replicas.md); only with a PostgreSQL primary."""
    raw = env.get("PPL_READ_REPLICAS", "").strip()
    if not raw:
        return ()
    if not database_url.startswith(("postgresql://", "postgres://")):
        raise SettingsError("PPL_READ_REPLICAS needs a PostgreSQL PPL_DATABASE_URL (the primary)")
    urls = tuple(part.strip() for part in raw.split(","))
    for number, url in enumerate(urls, start=1):
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
            raise SettingsError(
                f"PPL_READ_REPLICAS: replica {number} is not a postgresql://host[:port]/… URL"
            )
        schema = _query_param(parts.query, "schema")
        primary_schema = _query_param(urlsplit(database_url).query, "schema")
        if schema and schema != primary_schema:
            raise SettingsError(
                f"PPL_READ_REPLICAS: replica {number} names schema {schema!r}, the primary "
                f"{primary_schema!r}: a streaming replica holds the primary's own schema"
            )
    if len(set(urls)) != len(urls):
        raise SettingsError("PPL_READ_REPLICAS: a replica is named twice")
    return urls


def _on_primary_schema(url: str, primary: Settings) -> str:
    """A replica's URL with the primary's database (if it names none) and schema."""
    parts = urlsplit(url)
    primary_parts = urlsplit(primary.database_url)
    path = parts.path if parts.path.strip("/") else primary_parts.path
    return urlunsplit((parts.scheme, parts.netloc, path, primary_parts.query, ""))


def _witness_policy(env: dict[str, str]) -> WitnessPolicy:
    """PPL_WITNESS_POLICY: a C2SP tlog-policy file naming the witnesses (with their
    add-checkpoint URLs) and the quorum; unset: no witnesses."""
    path = env.get("PPL_WITNESS_POLICY")
    if not path:
        return WitnessPolicy()
    try:
        return WitnessPolicy.parse(Path(path).expanduser().read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, KeyConfigurationError) as exc:
        raise SettingsError(f"PPL_WITNESS_POLICY={path!r}: {exc}") from None


def _interval(env: dict[str, str], name: str, default: str) -> float:
    """Seconds between background rounds: 0 turns the background worker off."""
    return _seconds(env, name, default, 0, "0 (off)", high=3600)


def _query_param(query: str, name: str) -> str | None:
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == name and value:
            return unquote(value)
    return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environment()


def _seconds(
    env: dict[str, str], name: str, default: str, low: float, shown: str, *, high: float = 60
) -> float:
    """A number of seconds from ``low`` to ``high`` (NaN and text refused)."""
    text = env.get(name, default)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not low <= value <= high:  # also false for NaN
        raise SettingsError(f"{name}={text!r}: want seconds between {shown} and {high:g}")
    return value


def _header_bytes(text: str) -> int:
    if not text.isdigit() or not 4096 <= int(text) <= 1024 * 1024:
        raise SettingsError(f"PPL_API_MAX_HEADERS={text!r}: want bytes, 4096 to 1 MiB")
    return int(text)


def _is_site_url(url: str) -> bool:
    """An absolute http(s) address without query or fragment (certificates print it)."""
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and not parts.query
        and not parts.fragment
        and url.isascii()
        and url.isprintable()
        and " " not in url
    )
