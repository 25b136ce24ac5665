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
