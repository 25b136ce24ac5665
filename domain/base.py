"""Base aggregate: events take their timestamp from the ledger clock (domain.clock)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain import clock
from domain.errors import ReasonRequiredError


class LedgerAggregate(Aggregate):
    """Every ledger aggregate derives from this so every event's time is the ledger's."""

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return clock.now()

    class Created(Event, Aggregate.Created):
        pass

    @staticmethod
    def check_reason(reason: str, act: str) -> None:
        """Refuse ``act`` (``"a rejection"``, ``"a withdrawal"``...) without its reason.

        The commands refuse a blank reason first (domain.command_inputs.reason_text); the
        aggregates keep the rule themselves, for whoever drives them without a command.

        Raises:
            ReasonRequiredError: ``reason`` is empty.
        """
        if not reason:
            raise ReasonRequiredError(f"{act} needs a reason")


def event_topic(aggregate: type, event_name: str) -> str:
    """The stored topic of an aggregate's event class (eventsourcing's ``module:qualname``):
    what ``select_notifications(topics=...)`` filters on."""
    cls = getattr(aggregate, event_name)
    return f"{cls.__module__}:{cls.__qualname__}"


KEY_PART_SEPARATOR = "\x1f"
"""Between the parts of a natural key (U+001F, unit separator): no part contains it, so two
keys never join to the same text."""


def derived_id(namespace: UUID, *key: object) -> UUID:
    """The id of the record a natural key names (a filer's USCC; a round year and a product):
    uuid5 in the kind's ``namespace`` of the key's parts joined by ``KEY_PART_SEPARATOR``.

    Why derived: the store's unique (id, version) then makes a second record for one key a
    refused save, never a second record. The offline replay derives the same ids from the
    events' fields (audit/offline/replay*.py, rules F1, R1, I1, D1...).
    """
    return uuid5(namespace, KEY_PART_SEPARATOR.join(str(part) for part in key))
