"""Conversion feedback: public institutions report what became of their patents."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from domain.actor import Actor, Role
from domain.application import PatentLedger
from domain.conversion import conversion_record_id
from domain.sample.catalogue import FOLLOW_UPS, POOLS
from domain.sample.districts import SHANGHAI_2023_BY_DISTRICT
from domain.sample.fates import EXTRA_INSTITUTIONS
from domain.sample.identities import FILER_SLOTS, organisation_code, slot_of, uscc_of
from domain.sample.plan import PlannerBase
from domain.sample.working_time import DAY, END, chain, instant
from domain.values import ConversionCategory, FilerKind


class ConversionPlanner(PlannerBase):
    """Schedules the institutions' conversion reports."""

    def schedule_conversions(self) -> None:
        """Public institutions (USCC prefix 12) report what became of their patents.

        The reporters are the approved filers that are universities or institutes, plus a few
        institutions (hospitals, colleges) that never file products. Every one of the nine
        categories occurs; about a third of the patents get a second, later report, so the
        record keeps its history.
        """
        rng = self.rng
        reporters = [
            f.uscc
            for f in self.filers
            if f.approved and f.kind is FilerKind.university_or_institute
        ]
        codes = [code for code, _, _, _ in SHANGHAI_2023_BY_DISTRICT]
        for n in range(EXTRA_INSTITUTIONS):
            slot = slot_of(self.seed, FILER_SLOTS - 1 - n, FILER_SLOTS)
            reporters.append(uscc_of("12", rng.choice(codes), organisation_code(slot, legacy=True)))
        enterprises = [f.name for f in self.filers if f.kind is FilerKind.enterprise]
        categories = list(ConversionCategory)
        deck: list[ConversionCategory] = []
        for uscc in reporters:
            for _ in range(rng.randint(2, 6)):
                if not deck:  # deal all nine before repeating any
                    deck = rng.sample(categories, len(categories))
                reports = [deck.pop()]
                if rng.random() < 0.3:
                    reports.append(FOLLOW_UPS.get(reports[0]) or rng.choice(categories))
                self._schedule_conversion(uscc, self._patent(), reports, enterprises)

    def _schedule_conversion(
        self,
        uscc: str,
        number: str,
        categories: list[ConversionCategory],
        enterprises: list[str],
    ) -> None:
        rng = self.rng
        record_id = conversion_record_id(uscc, number)
        start = rng.randint(0, END - 30 * DAY)
        times = chain(start, [self._days(1000, 8000) for _ in categories[1:]], END)
        actor = Actor(id=f"institution-{uscc}", role=Role.INSTITUTION, scope=uscc)
        self.conversion_records += 1
        previous = date(2021, 1, 4)
        # The record's first report opens it (versions 1 and 2); each later one adds a version.
        for version, (category, at) in enumerate(zip(categories, times, strict=True), start=2):
            occurred = max(previous, instant(at).date() - timedelta(days=rng.randint(5, 400)))
            previous = occurred
            counterparty = (
                rng.choice(POOLS)
                if category is ConversionCategory.patent_pool
                else rng.choice(enterprises)
            )
            unpaid = category in (ConversionCategory.open_licence, ConversionCategory.patent_pool)
            amount = None if unpaid and rng.random() < 0.6 else rng.randint(50_000, 8_000_000) * 100
            report = _report(actor, uscc, number, category, counterparty, occurred, amount)
            self._add(at, record_id, version, report)
            self.conversion_reports += 1


def _report(
    actor: Actor,
    uscc: str,
    number: str,
    category: ConversionCategory,
    counterparty: str,
    occurred: date,
    amount: int | None,
) -> Callable[[PatentLedger], object]:
    def run(ledger: PatentLedger) -> None:
        ledger.report_conversion(
            actor,
            institution_uscc=uscc,
            patent_number=number,
            category=category.value,
            counterparty=counterparty,
            occurred_on=occurred.isoformat(),
            amount_fen=amount,
        )

    return run
