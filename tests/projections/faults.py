"""A read model made to fail on one chosen event, the two ways a real one can.

``FakeFault.install`` patches one read model class (every instance, so the API's follower,
the CLI's runners and a rebuild all meet it) so that, at the chosen notification id, either
its handler raises (``RAISE``: a bug in a handler) or it writes a row holding 2**63, which
neither SQLite's INTEGER nor PostgreSQL's BIGINT can store (``OVERFLOW``: the store refuses the
rows at commit, after the handler returned). ``remove`` is the fix being deployed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from projections.feed import FeedEvent
from projections.model import ReadModel
from projections.rows import Rows
from projections.schema import Kind, Table

RAISE = "raise"
OVERFLOW = "overflow"
TOO_BIG = 2**63  # one past the largest 64-bit signed integer


def overflowing_row(table: Table) -> dict[str, Any]:
    """A row of ``table`` whose integer columns hold ``TOO_BIG``."""
    values = {Kind.TEXT: "fault", Kind.INT: TOO_BIG, Kind.JSON: {}, Kind.SUM: TOO_BIG}
    return {column.name: values[column.kind] for column in table.columns}


@dataclass
class FakeFault:
    """Makes ``model`` fail at notification id ``at`` (``kind``: RAISE or OVERFLOW)."""

    monkeypatch: pytest.MonkeyPatch
    model: type[ReadModel]
    at: int
    kind: str = RAISE
    met: list[int] = field(default_factory=list)  # notification ids it failed on, in order
    active: bool = True

    MESSAGE: ClassVar[str] = "injected handler bug"

    def install(self) -> FakeFault:
        real_apply = self.model.apply
        fault = self

        def apply(model: ReadModel, event: FeedEvent, rows: Rows) -> None:
            if fault.active and event.notification_id == fault.at and fault.kind == RAISE:
                fault.met.append(event.notification_id)
                raise RuntimeError(f"{FakeFault.MESSAGE} at {event.notification_id}")
            real_apply(model, event, rows)
            if fault.active and event.notification_id == fault.at and fault.kind == OVERFLOW:
                fault.met.append(event.notification_id)
                table = model.tables[_integer_table(model)]
                rows.put(table.name, overflowing_row(table))

        self.monkeypatch.setattr(self.model, "apply", apply)
        return self

    def remove(self) -> None:
        """The fix is deployed: the model applies every event as it should."""
        self.active = False


def _integer_table(model: ReadModel) -> int:
    return next(i for i, t in enumerate(model.tables) if any(c.kind is Kind.INT for c in t.columns))
