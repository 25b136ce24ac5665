"""Base aggregate: events take their timestamp from the ledger clock (domain.clock)."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate

from domain import clock


class LedgerAggregate(Aggregate):
    """Every ledger aggregate derives from this so every event's time is the ledger's."""

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return clock.now()

    class Created(Event, Aggregate.Created):
        pass


def event_topic(aggregate: type, event_name: str) -> str:
    """The stored topic of an aggregate's event class (eventsourcing's ``module:qualname``):
    what ``select_notifications(topics=...)`` filters on."""
    cls = getattr(aggregate, event_name)
    return f"{cls.__module__}:{cls.__qualname__}"
