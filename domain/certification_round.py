"""A yearly certification round (专利密集型产品认定): its calendar, benchmarks and publication.

One aggregate per year (id uuid5 of the year). Lifecycle: opened (calendar fixed) → evaluating
(the benchmark table version is pinned: every decision of the round uses it) → published (the
certified list and its objection window; no decision is added afterwards).

Deadlines are calendar days in Beijing time (UTC+8): "by 31 Aug 2023" means an event
timestamped before 1 Sep 2023 00:00 Beijing time (:func:`closes_at`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

from eventsourcing.domain import event

from domain.base import LedgerAggregate, derived_id
from domain.errors import (
    CertificationDatesInvalidError,
    CertificationRoundStateError,
    DateInvalidError,
    EvaluationTooEarlyError,
    ObjectionWindowClosedError,
    OptInClosedError,
    YearInvalidError,
)
from domain.ranges import FIRST_ROUND_YEAR, OBJECTION_DAYS, ROUND_YEARS

ROUND_NAMESPACE: Final = UUID("5c2f8e14-7b3a-5d69-8e0f-1a4b6c8d2e57")
BEIJING: Final = timezone(timedelta(hours=8))


def round_id_for(year: int) -> UUID:
    """Deterministic id: one round per year, enforced by the store's unique (id, version)."""
    return derived_id(ROUND_NAMESPACE, year)


def closes_at(day: date) -> datetime:
    """The first instant after ``day`` in Beijing time, in UTC: "by ``day``" = before it."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=BEIJING).astimezone(UTC)


def parse_day(text: str, *, field: str) -> date:
    try:
        day = date.fromisoformat(text)
    except (TypeError, ValueError):
        raise DateInvalidError(f"{field} {text!r}: want YYYY-MM-DD", field=field) from None
    if day.isoformat() != text:
        raise DateInvalidError(f"{field} {text!r}: want YYYY-MM-DD", field=field)
    return day


class RoundStatus(StrEnum):
    OPENED = "opened"
    EVALUATING = "evaluating"
    PUBLISHED = "published"


@dataclass(frozen=True, slots=True)
class RoundCalendar:
    """The dates a round is opened with, checked to be in order within the round's year.

    ``update_window_start..update_window_end`` is the annual update window: a filing whose
    data were revised to the round's data year counts only if the revision was submitted by
    the window's end. Order: window start <= window end <= filing deadline <= review deadline.

    Raises:
        YearInvalidError: the year is before 2023 or after 2100.
        CertificationDatesInvalidError: a date outside the year, or the dates out of order.
    """

    year: int
    filing_deadline: date
    review_deadline: date
    opt_in_required: bool
    update_window_start: date
    update_window_end: date

    def __post_init__(self) -> None:
        ROUND_YEARS.check(self.year, field="year", error=YearInvalidError)
        days = {
            "update_window_start": self.update_window_start,
            "update_window_end": self.update_window_end,
            "filing_deadline": self.filing_deadline,
            "review_deadline": self.review_deadline,
        }
        for name, day in days.items():
            if day.year != self.year:
                raise CertificationDatesInvalidError(
                    f"{name} {day}: want a day of {self.year}", field=name
                )
        ordered = list(days.values())
        if ordered != sorted(ordered):
            raise CertificationDatesInvalidError(
                "want update_window_start <= update_window_end <= filing_deadline <= "
                "review_deadline, got " + ", ".join(f"{k} {v}" for k, v in days.items())
            )

    @classmethod
    def default(cls, year: int) -> RoundCalendar:
        """The calendar of the notices (../shared/domain/BRIEF.md), and 2024's pattern after.

        2023: filed by 15 Aug, reviewed by 31 Aug, no opt-in; the 2023 notice sets no separate
        update window, so updates count until the filing deadline (1 Jan - 15 Aug). 2024 and
        later: approved by 30 Sep, opt-in required, update window 1 Jan - 31 Mar; the filing
        deadline (15 Sep) is an assumption the sources do not give.
        """
        if year == FIRST_ROUND_YEAR:
            return cls(
                year,
                date(year, 8, 15),
                date(year, 8, 31),
                False,
                date(year, 1, 1),
                date(year, 8, 15),
            )
        return cls(
            year, date(year, 9, 15), date(year, 9, 30), True, date(year, 1, 1), date(year, 3, 31)
        )

    @property
    def data_year(self) -> int:
        return self.year - 1

    def as_fields(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "data_year": self.data_year,
            "filing_deadline": self.filing_deadline.isoformat(),
            "review_deadline": self.review_deadline.isoformat(),
            "opt_in_required": self.opt_in_required,
            "update_window_start": self.update_window_start.isoformat(),
            "update_window_end": self.update_window_end.isoformat(),
        }


class CertificationRound(LedgerAggregate):
    """One year's round: calendar, pinned benchmark version, published list."""

    @staticmethod
    def create_id(year: int, **_: Any) -> UUID:
        return round_id_for(year)

    @event("CertificationRoundOpened")
    def __init__(
        self,
        year: int,
        data_year: int,
        filing_deadline: str,
        review_deadline: str,
        opt_in_required: bool,
        update_window_start: str,
        update_window_end: str,
        actor: dict[str, Any],
    ) -> None:
        self.year = year
        self.data_year = data_year
        self.filing_deadline = filing_deadline
        self.review_deadline = review_deadline
        self.opt_in_required = opt_in_required
        self.update_window_start = update_window_start
        self.update_window_end = update_window_end
        self.status = RoundStatus.OPENED
        self.benchmark_table_id: str | None = None
        self.benchmark_version: int | None = None
        self.certified_product_ids: list[str] = []
        self.objection_window_start: datetime | None = None
        self.objection_window_end: datetime | None = None

    # --- the calendar as instants -------------------------------------------------------------
    @property
    def filing_closes_at(self) -> datetime:
        return closes_at(date.fromisoformat(self.filing_deadline))

    @property
    def review_closes_at(self) -> datetime:
        return closes_at(date.fromisoformat(self.review_deadline))

    @property
    def update_closes_at(self) -> datetime:
        return closes_at(date.fromisoformat(self.update_window_end))

    # --- guards -------------------------------------------------------------------------------
    def _require(self, *statuses: RoundStatus, doing: str) -> None:
        if self.status not in statuses:
            want = " or ".join(s.value for s in statuses)
            raise CertificationRoundStateError(
                f"round {self.year} is {self.status.value}: {doing} wants it {want}",
                year=self.year,
                status=self.status.value,
            )

    def check_evaluating(self) -> None:
        self._require(RoundStatus.EVALUATING, doing="deciding on products")

    def check_accepts_opt_in(self, now: datetime) -> None:
        if now >= self.filing_closes_at:
            raise OptInClosedError(
                f"round {self.year} took opt-ins until {self.filing_deadline} (Beijing time)",
                year=self.year,
                filing_deadline=self.filing_deadline,
            )

    def check_objection_window(self, now: datetime) -> None:
        self._require(RoundStatus.PUBLISHED, doing="an objection")
        start, end = self.objection_window_start, self.objection_window_end
        if start is None or end is None or not start <= now < end:
            raise ObjectionWindowClosedError(
                f"round {self.year}'s objection window is {start} - {end}, not {now}",
                year=self.year,
            )

    # --- evaluation ---------------------------------------------------------------------------
    def start_evaluation(
        self, benchmark_table_id: UUID, benchmark_version: int, now: datetime, actor: dict[str, Any]
    ) -> None:
        """Pin the benchmark table version; only once the review deadline has passed."""
        self._require(RoundStatus.OPENED, doing="starting the evaluation")
        if now < self.review_closes_at:
            raise EvaluationTooEarlyError(
                f"round {self.year} is evaluated after its review deadline "
                f"{self.review_deadline} (Beijing time)",
                year=self.year,
                review_deadline=self.review_deadline,
            )
        self._evaluation_started(
            benchmark_table_id=str(benchmark_table_id),
            benchmark_version=benchmark_version,
            actor=actor,
        )

    @event("CertificationEvaluationStarted")
    def _evaluation_started(
        self, benchmark_table_id: str, benchmark_version: int, actor: dict[str, Any]
    ) -> None:
        self.status = RoundStatus.EVALUATING
        self.benchmark_table_id = benchmark_table_id
        self.benchmark_version = benchmark_version

    # --- publication (公示) -------------------------------------------------------------------
    def publish(
        self,
        certified_product_ids: list[str],
        objection_days: int,
        now: datetime,
        actor: dict[str, Any],
    ) -> None:
        """Publish the certified list; objections are taken for ``objection_days`` days."""
        self._require(RoundStatus.EVALUATING, doing="publishing")
        OBJECTION_DAYS.check(
            objection_days, field="objection_days", error=CertificationDatesInvalidError
        )
        self._published(
            certified_product_ids=sorted(certified_product_ids),
            objection_days=objection_days,
            objection_window_start=now,
            objection_window_end=now + timedelta(days=objection_days),
            actor=actor,
        )

    @event("CertifiedListPublished")
    def _published(
        self,
        certified_product_ids: list[str],
        objection_days: int,
        objection_window_start: datetime,
        objection_window_end: datetime,
        actor: dict[str, Any],
    ) -> None:
        self.status = RoundStatus.PUBLISHED
        self.certified_product_ids = list(certified_product_ids)
        self.objection_window_start = objection_window_start
        self.objection_window_end = objection_window_end


def open_round(calendar: RoundCalendar, actor: dict[str, Any]) -> CertificationRound:
    return CertificationRound(**calendar.as_fields(), actor=actor)
