"""Aggregate statistics over HTTP: filers and filings per region, conversion feedback.

Regional statistics: anonymous callers, filers and institutions read the monthly
publications (projections.published_stats: disclosure-controlled, fixed between
publications; docs/statistics.md); platform roles, and a regional admin within its region,
read the live read models, unsuppressed, from the same queries as ``ppl stats``
(projections.queries). Conversion statistics: counts for anyone, amounts only to platform
roles, regional admins and an institution for its own rows.

As of a past point (``tree_size`` = the log's first N events, or ``as_of`` = a moment), the
answer is replayed from the log into memory (projections.as_of): O(N) in the log, so only for
the roles that read live figures (anonymous callers 401, others 403), a ``tree_size`` beyond
the stored events is refused before any replay, and such reads are rate-limited
(api.rate_limits).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BeforeValidator
from starlette.concurrency import run_in_threadpool

from api.access import CHALLENGE, PLATFORM, region_scope
from api.bootstrap import notification_reader, verified_checkpoints
from api.deps import Caller, read_models, read_models_of
from api.one_hop import in_one_hop
from api.problems import ApiProblemError, problem_responses
from api.query_params import REGION_PREFIX_PATTERN, USCC_PATTERN, uscc_filter
from api.read_bodies import ConversionStatisticsBody, RegionStatisticsBody
from api.tokens import Principal
from domain.actor import Role
from domain.values import YEAR_MAX, YEAR_MIN, Uscc, uscc_region
from projections import queries
from projections.as_of import AsOf, AsOfError, replay_as_of
from projections.conversion_stats import ConversionStatistics
from projections.queries import ConversionGrouping, Level, QueryError
from projections.regional_stats import RegionalStatistics
from projections.store import ProjectionStore

router = APIRouter(prefix="/v1/statistics", tags=["statistics"])


TreeSize = Annotated[
    int | None,
    Query(ge=0, description="Answer as of the log's first N events (needs a token; O(N))"),
]


def _spelled_as_iso(value: object) -> object:
    """Refuse what pydantic would otherwise read as a Unix time ("1700000000")."""
    if isinstance(value, str) and "-" not in value:
        raise ValueError("want an ISO-8601 date (2023-06-30) or time with a zone")
    return value


def _spelled_as_digits(value: object) -> object:
    """Refuse what pydantic would otherwise read as an integer ("2022.0", " 2022")."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("want a year in digits, e.g. 2022")
    return value


AsOfMoment = Annotated[
    Annotated[AwareDatetime | date, BeforeValidator(_spelled_as_iso)] | None,
    Query(
        description="Answer as of this moment: ISO-8601 with a zone, or a date = the end of "
        "that day in China time (needs a token; O(N))",
        examples=["2023-06-30", "2023-06-30T23:59:59+08:00"],
    ),
]
RegionPrefix = Annotated[
    str | None,
    Query(pattern=REGION_PREFIX_PATTERN, description="Region code prefix, 1-6 digits"),
]
_CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class Answering:
    """The read models a statistics request is answered from, and which point they show."""

    store: ProjectionStore
    as_of: dict[str, Any] | None  # None: the served read models, now


def moment_of(value: datetime | date) -> datetime:
    """A moment, or a date's end in China time (as notices date things), as a UTC instant;
    instants beyond what a datetime holds in UTC are clamped (before or after every event)."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.max, tzinfo=_CHINA)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        if value.year == 1:
            return datetime.min.replace(tzinfo=UTC)
        return datetime.max.replace(tzinfo=UTC)


def answering(projection: str) -> Callable[..., Generator[Answering, None, None]]:
    """A dependency: the served read models, or a replay of ``projection`` as of a point."""

    def dependency(
        request: Request, principal: Caller, tree_size: TreeSize = None, as_of: AsOfMoment = None
    ) -> Generator[Answering, None, None]:
        if tree_size is None and as_of is None:
            yield Answering(read_models(request), None)  # a replica's, if any (api.read_routing)
            return
        if principal.anonymous:
            raise ApiProblemError(
                "not_authenticated",
                "as-of answers replay the log (O(N)): they need a bearer token",
                headers=CHALLENGE,
            )
        if principal.role not in LIVE_ROLES:  # unsuppressed figures (docs/statistics.md)
            raise ApiProblemError(
                "forbidden", "as-of statistics are for platform roles and regional admins"
            )
        ledger, log = request.app.state.ledger, request.app.state.log
        stored = ledger.recorder.max_notification_id() or 0
        if tree_size is not None and tree_size > stored:  # before any replay (issue #15)
            raise QueryError(f"tree_size {tree_size}: the log has at most {stored} events")
        try:
            point = AsOf(tree_size=tree_size, moment=None if as_of is None else moment_of(as_of))
            state = replay_as_of(
                point, notification_reader(ledger), ledger.mapper, verified_checkpoints(log),
                names=(projection,),
            )  # fmt: skip
        except AsOfError as exc:
            raise QueryError(str(exc)) from None
        try:
            yield Answering(
                state.store,
                {
                    "tree_size": state.tree_size,
                    "checkpoint_size": state.checkpoint_size,
                    "last_timestamp": state.last_timestamp,
                },
            )
        finally:
            state.store.db.close()

    return dependency


def answering_of(projection: str) -> Callable[..., AsyncIterator[Answering]]:
    """``answering`` as the routes' dependency: the live answer (nearly every request) is
    chosen on the event loop as api.deps.read_models_of chooses; an as-of answer runs
    ``answering`` in a worker thread (its replay blocks), entered and closed as FastAPI would.
    Why: FastAPI runs a sync generator dependency in its thread pool twice, to enter it and to
    leave it (~0.15 ms of the server's CPU each, bench/reads.py), for what is mostly a dict
    lookup."""
    replaying = answering(projection)

    async def dependency(
        request: Request, principal: Caller, tree_size: TreeSize = None, as_of: AsOfMoment = None
    ) -> AsyncIterator[Answering]:
        if tree_size is None and as_of is None:
            yield Answering(await read_models_of(request), None)
            return
        steps = replaying(request, principal, tree_size, as_of)
        answer = await run_in_threadpool(next, steps)
        try:
            yield answer
        finally:
            await run_in_threadpool(steps.close)  # the replay's clean-up (its store closed)

    return dependency


RegionsAnswering = Annotated[Answering, Depends(answering_of(RegionalStatistics.name))]
ConversionsAnswering = Annotated[Answering, Depends(answering_of(ConversionStatistics.name))]


@in_one_hop(
    router.get(
        "/regions",
        summary="Filers and filings per region",
        response_model=RegionStatisticsBody,
        response_model_exclude_unset=True,
        responses=problem_responses(401, 403, 404, 422, 503),
    )
)
def region_statistics(
    principal: Caller,
    answer: RegionsAnswering,
    prefix: RegionPrefix = None,
    level: Annotated[Level, Query(description="Roll regions up to this level")] = Level.DISTRICT,
    data_year: Annotated[
        Annotated[int, BeforeValidator(_spelled_as_digits)] | None,
        Query(
            ge=YEAR_MIN,
            le=YEAR_MAX,
            description="Figures of this data year: the figures approved for it, also of filings "
            "revised to a newer year since. Default: each filing's latest approved figures, "
            "with `data_years` saying which years they are",
        ),
    ] = None,
    period: Annotated[
        str | None,
        Query(
            pattern=r"^20[2-9][0-9]-(0[1-9]|1[0-2])$",
            description="A monthly publication (YYYY-MM); default for the public: the latest",
        ),
    ] = None,
) -> dict[str, Any]:
    """备案单位 (approved filers) and 备案产品 (approved, not withdrawn filings), pending,
    rejected and withdrawn filings, and sales and exports per region under ``prefix``, rolled
    up to ``level``.

    Anonymous callers, filers and institutions read the monthly **publications** only
    (``period``, default the latest): figures fixed between publications, money withheld
    (null, ``suppressed``) where it would expose a filer (docs/statistics.md). Platform roles,
    and a regional admin within its region, read the live figures, unsuppressed: of
    ``data_year``, or each filing's latest approved figures with the data years they come from
    (never a mix shown as one year); or a publication with ``period``. A regional admin's
    default prefix is its region; outside it, it reads what the public reads."""
    if period is None and _sees_live(principal, prefix):
        wanted = region_scope(principal, prefix)
        rows = queries.region_statistics(
            answer.store, prefix=wanted or "", level=level, data_year=data_year
        )
        return {
            "prefix": wanted or "",
            "level": level,
            "data_year": data_year,
            "as_of": answer.as_of,
            "period": None,
            "regions": [
                {
                    **row.as_row(),
                    "sales_fen": json_amount(row.sales_fen),
                    "exports_fen": json_amount(row.exports_fen),
                }
                for row in rows
            ],
        }
    if answer.as_of is not None:
        raise QueryError("period goes without tree_size and as_of: a publication is fixed")
    return _published(answer.store, period, prefix or "", level, data_year)


LIVE_ROLES = frozenset({*PLATFORM, Role.REGIONAL_ADMIN})


def _sees_live(principal: Principal, prefix: str | None) -> bool:
    """Live, unsuppressed figures: platform roles; a regional admin within its region."""
    if principal.role in PLATFORM:
        return True
    if principal.role is Role.REGIONAL_ADMIN:
        return prefix is None or prefix.startswith(principal.scope or "")
    return False


def _published(
    store: ProjectionStore, period: str | None, prefix: str, level: Level, data_year: int | None
) -> dict[str, Any]:
    """The statistics as published for ``period`` (default: the latest publication)."""
    found = queries.publication(store, period)
    if found is None:
        if period is not None:
            raise ApiProblemError("not_found", f"no statistics were published for {period}")
        raise ApiProblemError(
            "not_found", "no statistics are published yet: the first publication is monthly"
        )
    year, rows = queries.published_region_statistics(
        store, found.period, prefix=prefix, level=level, data_year=data_year
    )
    for row in rows:
        for name in ("sales_fen", "exports_fen"):
            if row[name] is not None:
                row[name] = json_amount(int(row[name]))
    return {
        "prefix": prefix,
        "level": level,
        "data_year": year,
        "as_of": None,
        "period": found.period,
        "published": {"tree_size": found.tree_size, "published_at": found.published_at,
                      "rules": found.rules},
        "regions": rows,
    }  # fmt: skip


@in_one_hop(
    router.get(
        "/conversions",
        summary="Conversion feedback per category, institution or region",
        response_model=ConversionStatisticsBody,
        response_model_exclude_unset=True,
        responses=problem_responses(401, 403, 422, 503),
    )
)
def conversion_statistics(
    principal: Caller,
    answer: ConversionsAnswering,
    by: Annotated[ConversionGrouping, Query(description="Group by")] = ConversionGrouping.CATEGORY,
    institution_uscc: Annotated[
        str | None, Query(pattern=USCC_PATTERN, description="With by=institution: one institution")
    ] = None,
    region: RegionPrefix = None,
) -> dict[str, Any]:
    """Reports, distinct patents and amounts (fen) per conversion category — overall, per
    institution, or per region. Amounts are confidential: null except to platform roles, a
    regional admin and an institution for its own rows. A regional admin reads ``by=region``
    (its region by default) and ``by=institution`` (institutions registered in its region);
    ``by=category`` spans every region, so it is 403 for a regional admin."""
    if institution_uscc is not None and by is not ConversionGrouping.INSTITUTION:
        raise QueryError("institution_uscc goes with by=institution")
    if region is not None and by is not ConversionGrouping.REGION:
        raise QueryError("region goes with by=region")
    wanted_region = region
    institution = uscc_filter("institution_uscc", institution_uscc)
    confined = principal.role is Role.REGIONAL_ADMIN
    if confined and by is ConversionGrouping.CATEGORY:
        raise ApiProblemError(
            "forbidden", "by=category spans every region: a regional admin reads by=region"
        )
    if by is ConversionGrouping.REGION:
        wanted_region = region_scope(principal, wanted_region)
    if confined and by is ConversionGrouping.INSTITUTION and institution is not None:
        region_scope(principal, _region_of(institution))  # 403 outside the admin's region
    rows = queries.conversion_statistics(
        answer.store, by=by, institution_uscc=institution, region=wanted_region
    )
    if confined and by is ConversionGrouping.INSTITUTION:
        scope = principal.scope or ""
        rows = [row for row in rows if _region_of(row["institution_uscc"]).startswith(scope)]
    return {
        "by": by,
        "as_of": answer.as_of,
        "rows": [
            {**row, "amount_fen": json_amount(row["amount_fen"])}
            if _sees_amount(principal, row)
            else {**row, "amount_fen": None}
            for row in rows
        ],
    }


def _sees_amount(principal: Principal, row: dict[str, Any]) -> bool:
    """Conversion amounts are confidential (docs/statistics.md): platform roles and regional
    admins (confined to their region above) see them; an institution its own; no one else."""
    if principal.role in LIVE_ROLES:
        return True
    return (
        principal.role is Role.INSTITUTION
        and row.get("institution_uscc") is not None
        and row["institution_uscc"] == principal.scope
    )


INT64_MAX = 2**63 - 1


def json_amount(value: int) -> int | str:
    """A sum of amounts as JSON: a number while it fits a signed 64-bit integer, beyond that
    its decimal digits as a string (docs/api.md "Ranges"): the read models keep such sums
    exactly, but JSON parsers, and orjson, stop at 64 bits."""
    return value if value <= INT64_MAX else str(value)


def _region_of(uscc: str) -> str:
    """The region an institution's conversion records are counted in: the code inside its
    USCC with retired codes mapped forward, as ``report_conversion`` records it (raw digits
    left the institutions of 卢湾, 闸北, 南汇, 崇明县 outside their district's admin)."""
    return uscc_region(Uscc(uscc).value)
