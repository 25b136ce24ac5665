"""Loading the sample of one seed through the ledger's commands, and what it contains.

A step is skipped when the store already shows the version it brings its aggregate to, so a
repeated load adds no event and an interrupted one resumes; :class:`SampleSummary` tells what
the sample contains and what this load did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from domain.application import PatentLedger
from domain.clock import using_clock
from domain.sample.districts import SHANGHAI_2023_BY_DISTRICT
from domain.sample.fates import COUNTED_FATES, Fate
from domain.sample.planner import Planner, plan
from domain.sample.working_time import SimulatedClock, instant


@dataclass(frozen=True, slots=True)
class SampleSummary:
    """What the sample of one seed contains, and what this particular load did.

    The content counts describe the plan (they are the same on every load of the seed);
    ``commands_run`` and ``events_added`` describe this call: both are 0 when the seed was
    already loaded.
    """

    seed: int
    filers_registered: int
    filers_approved: int
    products: int
    products_filed: int
    products_pending: int
    products_rejected: int
    products_withdrawn: int
    products_revised: int
    disputes_raised: int
    disputes_open: int
    duplicates_refused: int
    conversion_records: int
    conversion_reports: int
    sales_fen: int
    exports_fen: int
    per_district: dict[str, tuple[int, int]]
    steps: int
    commands_run: int
    events_added: int


def load_sample(
    ledger: PatentLedger, seed: int, *, progress: Callable[[int, int], None] | None = None
) -> SampleSummary:
    """Load the sample of ``seed`` into ``ledger`` through its commands; idempotent.

    A step whose aggregate already has the version the step would produce is skipped, so a
    repeated load adds no event and an interrupted one resumes. ``progress(done, total)`` is
    called after every step. ``events_added`` counts the notifications recorded after the
    load started, so it includes any other writer's events recorded meanwhile.

    Raises:
        domain.errors.DomainError: a command was refused: the store holds other facts about
            the sample's filers or products than the sample's own (never on a fresh store).
    """
    planner = plan(seed)
    steps = planner.steps
    before = ledger.recorder.max_notification_id() or 0
    commands = 0
    last = next((step for step in reversed(steps) if step.aggregate_id is not None), None)
    if (
        last is None
        or last.aggregate_id is None
        or _stored_version(ledger, last.aggregate_id) < last.version
    ):
        clock = SimulatedClock()
        with using_clock(clock):
            for done, step in enumerate(steps, start=1):
                if (
                    step.aggregate_id is None
                    or _stored_version(ledger, step.aggregate_id) < step.version
                ):
                    clock.moment = instant(step.at)
                    step.run(ledger)
                    commands += 1
                if progress is not None:
                    progress(done, len(steps))
    elif progress is not None:
        progress(len(steps), len(steps))
    return _summary(planner, commands, _events_after(ledger, before))


def _stored_version(ledger: PatentLedger, aggregate_id: UUID) -> int:
    """The stored version of an aggregate (0 if absent), read without rebuilding it."""
    events = ledger.recorder.select_events(aggregate_id, desc=True, limit=1)
    return events[0].originator_version if events else 0


def _events_after(ledger: PatentLedger, notification_id: int) -> int:
    """How many events were recorded after ``notification_id`` (ids may have gaps)."""
    count, start = 0, notification_id + 1
    while batch := ledger.recorder.select_notifications(start=start, limit=1_000):
        count += len(batch)
        start = batch[-1].id + 1
    return count


def _summary(planner: Planner, commands: int, events: int) -> SampleSummary:
    fates = [product.fate for product in planner.products]
    filed = [product for product in planner.products if product.fate in COUNTED_FATES]
    per_district: dict[str, tuple[int, int]] = {}
    for code, _, _, _ in SHANGHAI_2023_BY_DISTRICT:
        filers = sum(1 for f in planner.filers if f.approved and f.region_code == code)
        products = sum(1 for p in filed if p.filer.region_code == code)
        per_district[code] = (filers, products)
    return SampleSummary(
        seed=planner.seed,
        filers_registered=len(planner.filers),
        filers_approved=sum(1 for f in planner.filers if f.approved),
        products=len(planner.products),
        products_filed=len(filed),
        products_pending=sum(
            fates.count(fate)
            for fate in (
                Fate.PENDING,
                Fate.REVISED_PENDING,
                Fate.DISPUTE_OPEN_PENDING,
                Fate.NEAR_DUPLICATE_PENDING,
            )
        ),
        products_rejected=fates.count(Fate.REJECTED)
        + fates.count(Fate.DISPUTE_UPHELD)
        + fates.count(Fate.NEAR_DUPLICATE_REJECTED),
        products_withdrawn=fates.count(Fate.WITHDRAWN) + fates.count(Fate.WITHDRAWN_FOR_REFILING),
        products_revised=fates.count(Fate.REVISED_PENDING) + fates.count(Fate.REVISED_REAPPROVED),
        disputes_raised=planner.disputes,
        disputes_open=fates.count(Fate.DISPUTE_OPEN_APPROVED)
        + fates.count(Fate.DISPUTE_OPEN_PENDING),
        duplicates_refused=planner.duplicates,
        conversion_records=planner.conversion_records,
        conversion_reports=planner.conversion_reports,
        sales_fen=sum(p.figures.sales.fen for p in filed if p.figures is not None),
        exports_fen=sum(p.figures.exports.fen for p in filed if p.figures is not None),
        per_district=per_district,
        steps=len(planner.steps),
        commands_run=commands,
        events_added=events,
    )
