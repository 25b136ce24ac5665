"""Working time of the sample: 3 Jan - 24 Jul 2023, 09:00-18:00 Beijing time.

Times in the plan are offsets in working seconds from the window's opening: :func:`instant`
turns one into a UTC instant, skipping nights, weekends and the 2023 public holidays and
working the make-up days; :func:`chain` spaces a story's steps; during a load,
:class:`SimulatedClock` is the ledger's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

_FIRST_DAY: Final = date(2023, 1, 3)
_LAST_DAY: Final = date(2023, 7, 24)
_OPENING_UTC: Final = time(1, 0)  # 09:00 in Beijing (UTC+8), the platform's working day
DAY: Final = 9 * 3600  # working seconds per day (09:00-18:00 Beijing time)
_HOLIDAYS_2023: Final = frozenset(
    # State Council schedule for 2023: Spring Festival, Qingming, Labour Day, Dragon Boat
    [date(2023, 1, d) for d in range(23, 28)]
    + [date(2023, 4, 5), date(2023, 5, 1), date(2023, 5, 2), date(2023, 5, 3)]
    + [date(2023, 6, 22), date(2023, 6, 23)]
)
_MAKEUP_WORKDAYS_2023: Final = frozenset(
    {date(2023, 1, 28), date(2023, 1, 29), date(2023, 4, 23), date(2023, 5, 6), date(2023, 6, 25)}
)


def _working_days() -> tuple[date, ...]:
    days: list[date] = []
    day = _FIRST_DAY
    while day <= _LAST_DAY:
        if (day.weekday() < 5 and day not in _HOLIDAYS_2023) or day in _MAKEUP_WORKDAYS_2023:
            days.append(day)
        day += timedelta(days=1)
    return tuple(days)


_WORKING_DAYS: Final = _working_days()
END: Final = len(_WORKING_DAYS) * DAY - 1  # the last working second of the window


def instant(offset: int) -> datetime:
    """The UTC instant ``offset`` working seconds after the window opened."""
    day, second = divmod(offset, DAY)
    opening = datetime.combine(_WORKING_DAYS[day], _OPENING_UTC, tzinfo=UTC)
    return opening + timedelta(seconds=second)


def chain(start: int, gaps: Sequence[int], end: int) -> list[int]:
    """Times of a story's steps: ``start``, then each gap later, squeezed to finish by ``end``.

    Every step comes at least one second after the one before, so sorting the merged timeline
    keeps each story in order.
    """
    if start + len(gaps) > end:
        raise ValueError(f"a story of {len(gaps) + 1} steps cannot start at {start}, end {end}")
    room = end - start - len(gaps)
    total = sum(gaps)
    if total > room:
        gaps = [gap * room // total for gap in gaps]
    times = [start]
    for gap in gaps:
        times.append(times[-1] + 1 + gap)
    return times


class SimulatedClock:
    """The ledger clock during a load: the time of the step being run."""

    def __init__(self) -> None:
        self.moment = instant(0)

    def __call__(self) -> datetime:
        return self.moment
