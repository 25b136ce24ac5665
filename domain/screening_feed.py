"""The ledger's near-duplicate screening index, kept caught up with the event store.

Why a feed: screening compares a filing with every filing before it (audit.offline.screening), so
the
command side keeps them indexed in memory and, before each use, reads the filings and
withdrawals recorded since it last looked (by any process: the store is the truth). Filings
this process saves are indexed from the save itself, so reading them back costs no decoding.
The first use reads the whole log (a few seconds for the 45,000 filings of the full sample,
docs/benchmarks.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from domain.base import event_topic
from domain.product import Product
from domain.values import Declaration, Reason, ScreeningIndex, ScreeningRule

_PAGE = 5_000
FILING_FRESHNESS_S = 0.5
"""How stale the index may be when a filing is screened: the store is read at most this
often for filings (every filing this process saves is indexed at once). Screening at filing
is best effort anyway (a concurrent filing not yet committed cannot be seen); the approval
reads the store every time, and judges the exact candidates."""
PRODUCT_FILED: str = event_topic(Product, "ProductFiled")
PRODUCT_WITHDRAWN: str = event_topic(Product, "ProductWithdrawn")
TOPICS = (PRODUCT_FILED, PRODUCT_WITHDRAWN)


class _Recorder(Protocol):
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = ...,
        topics: Sequence[str] = ...,
        *,
        inclusive_of_start: bool = ...,
    ) -> Sequence[Any]: ...


class _Mapper(Protocol):
    def to_domain_event(self, stored: Any) -> Any: ...


def declaration_of(
    filer_uscc: str, name: str, model: str, patents: Iterable[Mapping[str, Any]]
) -> Declaration:
    """What screening reads of a filing: a ProductFiled event's fields, or a new filing's."""
    return Declaration(filer_uscc, name, model, frozenset(patent["number"] for patent in patents))


class ScreeningFeed:
    """A ``ScreeningIndex`` plus the position in the store it has read up to; thread-safe."""

    def __init__(self) -> None:
        self._index = ScreeningIndex()
        self._next = 1
        self._read_at = float("-inf")  # time.monotonic() of the last catch-up
        self._lock = threading.Lock()

    def _catch_up(
        self, recorder: _Recorder, mapper: _Mapper, stop: threading.Event | None = None
    ) -> ScreeningIndex:
        index = self._index
        while not (stop is not None and stop.is_set()) and (
            page := recorder.select_notifications(self._next, _PAGE, topics=TOPICS)
        ):
            for notification in page:
                product_id = str(UUID(str(notification.originator_id)))
                if notification.topic == PRODUCT_FILED:
                    if product_id not in index:
                        event = mapper.to_domain_event(notification)
                        declaration = declaration_of(
                            event.filer_uscc, event.name, event.model, event.patents
                        )
                        index.add(product_id, notification.id, declaration)
                else:
                    index.withdraw(product_id, notification.id)
            self._next = page[-1].id + 1
        self._read_at = time.monotonic()
        return index

    def warm(self, recorder: _Recorder, mapper: _Mapper, stop: threading.Event) -> None:
        """Read every filing recorded so far, page by page, until caught up or ``stop`` is set.

        Why: a process's first screening reads the whole store (33.7 s at 10^6 events,
        docs/benchmarks.md "cost curve"); a service warms the index as it starts
        (api.screening_warmup) so no filing request pays that. A filing that arrives meanwhile
        waits for the lock, as it would have waited for its own catch-up.
        """
        with self._lock:
            self._catch_up(recorder, mapper, stop)

    def candidates_for(
        self, recorder: _Recorder, mapper: _Mapper, declaration: Declaration
    ) -> dict[str, tuple[Reason, ...]]:
        """The candidates of a filing about to be saved: every filing recorded so far, as
        read at most ``FILING_FRESHNESS_S`` ago, and every filing this process saved."""
        with self._lock:
            if time.monotonic() - self._read_at >= FILING_FRESHNESS_S:
                self._catch_up(recorder, mapper)
            return self._index.candidates(declaration)

    def candidates_of(
        self, recorder: _Recorder, mapper: _Mapper, product_id: UUID
    ) -> dict[str, tuple[Reason, ...]] | None:
        """C(F) of a recorded filing, exactly (``None``: the filing is not in the store)."""
        with self._lock:
            index = self._catch_up(recorder, mapper)
            key = str(product_id)
            return index.candidates_of(key) if key in index else None

    @property
    def indexed(self) -> int:
        """How many filings the index holds (for benchmarks and status)."""
        return len(self._index)

    def saved(self, product_id: UUID, position: int, declaration: Declaration) -> None:
        """Index a filing this process has just saved at ``position`` (its notification id)."""
        with self._lock:
            self._index.add(str(product_id), position, declaration)


@dataclass(frozen=True, slots=True)
class ScreeningCandidate:
    """One near-duplicate candidate of a filing: why, and the decision on it if any."""

    product_id: UUID
    reasons: tuple[str, ...]
    distinct_reason: str | None  # the reviewer's reason, once decided "distinct product"


@dataclass(frozen=True, slots=True)
class Screening:
    """A filing's candidates under the screening rule in force (audit.offline.screening)."""

    product_id: UUID
    screening_rule: ScreeningRule
    candidates: tuple[ScreeningCandidate, ...]
    duplicate_of: UUID | None

    @property
    def open(self) -> tuple[ScreeningCandidate, ...]:
        return tuple(c for c in self.candidates if c.distinct_reason is None)
