"""The annual certification's commands: ``Certification``, a service around a ``PatentLedger``.

Each command authorises its actor, reads what it needs, lets the aggregates check their rules
and saves through the ledger in one atomic save, like the rest of domain/application.py; the
caller's ``receipt`` (the API's Idempotency-Key record) goes with every save a command makes.
Commands whose rule reads the time (evaluation after the review deadline, opt-ins until the
filing deadline, objections during the window) run under one frozen instant, so the rule and
the event's timestamp see the same moment, which is what the offline auditor re-checks.

Reports (a round's decisions, the update reminders, the tallies per category and district) are
read from the read models (projections.queries), like every other list: the service keeps only
the reads its commands need.

Roles (domain.actor.Role): the certifier sets benchmarks, opens rounds, runs the evaluation,
publishes and decides objections; a filer opts in its own products; objections are filed by
filers (not against their own product), institutions, reviewers and regional administrators
(within their region) — every authenticated role but the auditor (read only), the system and
the certifier, who judges them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Final, TypeVar
from uuid import UUID

from eventsourcing.domain import CanMutateProtocol, DomainEventProtocol

from domain import clock
from domain.actor import Actor, Role
from domain.base import LedgerAggregate, event_topic
from domain.benchmarks import (
    BENCHMARK_TABLE_ID,
    BenchmarkTable,
    BenchmarkValues,
    IndicatorInputs,
    assess,
    define_benchmarks,
)
from domain.certification import (
    CertificationStatus,
    ProductCertification,
    ProductFacts,
    Subject,
    certification_id_for,
    decide_evaluated,
    decide_not_eligible,
    ineligibility,
)
from domain.certification_opt_in import CertificationOptIn, opt_in_id_for
from domain.certification_round import (
    CertificationRound,
    RoundCalendar,
    RoundStatus,
    open_round,
    parse_day,
    round_id_for,
)
from domain.command_inputs import check_owns as _check_owns
from domain.command_inputs import expect_version as _expect
from domain.command_inputs import reason_text as _reason
from domain.errors import (
    ActorNotPermittedError,
    AlreadyOptedInError,
    BenchmarksNotFoundError,
    CertificationNotFoundError,
    CertificationRoundExistsError,
    CertificationRoundNotFoundError,
    CertificationRoundStateError,
    ConcurrentUpdateError,
    NotFoundError,
    ObjectionIdTakenError,
    ObjectionNotFoundError,
    PatentCountInvalidError,
    ProductNotCertifiedError,
    YearInvalidError,
)
from domain.objection import Objection, file_objection
from domain.product import Product, ProductStatus
from domain.ranges import PATENT_COUNT, ROUND_YEARS
from domain.values import ClientId

if TYPE_CHECKING:  # the ledger imports this module to offer ``PatentLedger.certification``
    from domain.application import PatentLedger, Receipt

OBJECTOR_ROLES: Final = (Role.FILER, Role.INSTITUTION, Role.REVIEWER, Role.REGIONAL_ADMIN)
DECISION_BATCH: Final = 200  # decisions per save during a run

T = TypeVar("T", bound=LedgerAggregate)


PRODUCT_FILED_TOPIC: Final = event_topic(Product, "ProductFiled")
DECISION_TOPICS: Final = tuple(
    event_topic(ProductCertification, name) for name in ("Certified", "NotCertified", "NotEligible")
)


@contextmanager
def _frozen_now() -> Iterator[datetime]:
    """One instant for the rule and every event created inside."""
    now = clock.now()
    with clock.using_clock(lambda: now):
        yield now


@dataclass
class EvaluationReport:
    """What one ``run_certification`` did. Product ids in the order they were filed."""

    year: int
    benchmark_version: int
    certified: list[UUID] = field(default_factory=list)
    not_certified: list[UUID] = field(default_factory=list)
    not_eligible: list[tuple[UUID, list[dict[str, str]]]] = field(default_factory=list)
    already_decided: int = 0  # by an earlier (or a concurrent) run: nothing new recorded
    withdrawn: int = 0  # withdrawn filings are not considered

    def record(self, decision: ProductCertification) -> None:
        if decision.status is CertificationStatus.CERTIFIED:
            self.certified.append(decision.product_id)
        elif decision.status is CertificationStatus.NOT_CERTIFIED:
            self.not_certified.append(decision.product_id)
        else:
            self.not_eligible.append((decision.product_id, decision.reasons))

    def not_eligible_by_reason(self) -> Counter[str]:
        """Each ineligible product counted once, under its first reason."""
        return Counter(reasons[0]["reason"] for _, reasons in self.not_eligible)


class Certification:
    """Benchmarks, rounds, opt-ins, evaluation, publication and objections on ``ledger``.

    A service around the ledger rather than a part of it: it reads through the ledger's typed
    ``_find``/``_get`` and saves through its ``_save_new``/``_save_change``/``_save``, so the
    ledger's own commands and these share one way of reading, refusing an id held by another
    kind or a record that moved on, and saving. Reached as ``PatentLedger.certification``.
    """

    def __init__(self, ledger: PatentLedger) -> None:
        self._ledger = ledger

    # --- reading ----------------------------------------------------------------------------
    def _load(self, cls: type[T], aggregate_id: UUID, error: type[NotFoundError], what: str) -> T:
        """The ``cls`` record under a derived id; ``error`` when there is none.

        Raises:
            IdConflictError: a record of another kind holds the id (``_find``).
        """
        found = self._ledger._find(cls, aggregate_id)
        if found is None:
            raise error(f"no {what}", id=str(aggregate_id))
        return found

    def get_benchmarks(self, version: int | None = None) -> BenchmarkTable:
        """The benchmark table, at ``version`` (default: the latest)."""
        table = self._load(
            BenchmarkTable,
            BENCHMARK_TABLE_ID,
            BenchmarksNotFoundError,
            "benchmark table: set one first",
        )
        if version is None or version == table.version:
            return table
        if isinstance(version, bool) or not 1 <= version < table.version:
            raise BenchmarksNotFoundError(
                f"no benchmark version {version}: want 1..{table.version}", version=version
            )
        # An earlier version: the repository replays the table up to it (the cache holds
        # only the latest).
        found: object = self._ledger.repository.get(BENCHMARK_TABLE_ID, version=version)
        if not isinstance(found, BenchmarkTable):  # the latest version is one (_load)
            raise BenchmarksNotFoundError(f"no benchmark version {version}", version=version)
        return found

    def get_round(self, year: int) -> CertificationRound:
        return self._load(
            CertificationRound,
            round_id_for(year),
            CertificationRoundNotFoundError,
            f"certification round {year}",
        )

    def get_certification(self, year: int, product_id: UUID) -> ProductCertification:
        return self._load(
            ProductCertification,
            certification_id_for(year, product_id),
            CertificationNotFoundError,
            f"decision on product {product_id} in round {year}",
        )

    def get_opt_in(self, year: int, product_id: UUID) -> CertificationOptIn | None:
        return self._ledger._find(CertificationOptIn, opt_in_id_for(year, product_id))

    def get_objection(self, objection_id: UUID) -> Objection:
        # A chosen id, not a derived one: another kind under it is "no objection", like _get.
        return self._ledger._get(Objection, objection_id, ObjectionNotFoundError)

    # What the evaluation and the publication need to know of every filing is read from the
    # ledger's log, not from the read models: a command must see every filing and decision
    # recorded when it runs (the read models follow the log, a moment behind), and the domain
    # does not import projections/. The reports read the read models (projections.queries).
    def _originators(self, topics: Sequence[str]) -> list[UUID]:
        """Ids of the aggregates of events with ``topics``, in log order, each once."""
        found: dict[UUID, None] = {}
        for notification in self._ledger._log(topics):
            originator = notification.originator_id  # typed UUID | str; the ledger uses UUIDs
            found[originator if isinstance(originator, UUID) else UUID(originator)] = None
        return list(found)

    def _product_ids(self) -> list[UUID]:
        """Every product ever filed, in the order filed."""
        return self._originators([PRODUCT_FILED_TOPIC])

    def _decisions(self, year: int) -> list[ProductCertification]:
        """The decisions of round ``year``, in the order the products were filed."""
        decided = set(self._originators(DECISION_TOPICS))
        found = []
        for product_id in self._product_ids():
            certification_id = certification_id_for(year, product_id)
            if certification_id in decided:
                found.append(
                    self._load(
                        ProductCertification,
                        certification_id,
                        CertificationNotFoundError,
                        "decision",
                    )
                )
        return found

    def _product_as_read(self, product_id: UUID) -> tuple[Product, list[DomainEventProtocol[UUID]]]:
        """The filing and the events it is rebuilt from, from one read of its events.

        Not ``repository.get``: the eligibility rules read the history too (when the filing
        was submitted and approved: ``ProductFacts.of_history``), and the filing must be the
        state that very history gives. A second read, or the repository's cached copy
        fast-forwarded apart, could be a version ahead under a concurrent command.
        """
        history = list(self._ledger.repository.event_store.get(product_id))
        state: object = None
        for stored in history:
            if not isinstance(stored, CanMutateProtocol):  # every stored event is one
                raise CertificationNotFoundError(
                    f"{product_id} is not a filing", id=str(product_id)
                )
            state = stored.mutate(state)
        if not isinstance(state, Product):
            raise CertificationNotFoundError(f"{product_id} is not a filing", id=str(product_id))
        return state, history

    # --- benchmarks -------------------------------------------------------------------------
    def set_benchmarks(
        self,
        actor: Actor,
        values: BenchmarkValues,
        *,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        """Set the whole benchmark table as its next version; returns the version in force.

        Setting the table the latest version already holds records nothing.
        """
        actor.require(Role.CERTIFIER)
        table = self._ledger._find(BenchmarkTable, BENCHMARK_TABLE_ID, actor=actor)
        if table is None:
            table = define_benchmarks(values, actor.as_record())
        else:
            _expect(table, expected_version)
            if table.holds(values):
                return int(table.version)
            table.revise(values, actor.as_record())
        return self._ledger._save_change(table, receipt=receipt)

    # --- rounds -----------------------------------------------------------------------------
    def open_certification_round(
        self,
        actor: Actor,
        year: int,
        *,
        filing_deadline: str | None = None,
        review_deadline: str | None = None,
        opt_in_required: bool | None = None,
        update_window_start: str | None = None,
        update_window_end: str | None = None,
        receipt: Receipt | None = None,
    ) -> UUID:
        """Open round ``year`` (data year ``year - 1``); unset dates take the notices' defaults."""
        actor.require(Role.CERTIFIER)
        default = RoundCalendar.default(
            ROUND_YEARS.check(year, field="year", error=YearInvalidError)
        )

        def day(text: str | None, name: str, fallback: date) -> date:
            return fallback if text is None else parse_day(text, field=name)

        calendar = RoundCalendar(
            year=year,
            filing_deadline=day(filing_deadline, "filing_deadline", default.filing_deadline),
            review_deadline=day(review_deadline, "review_deadline", default.review_deadline),
            opt_in_required=(
                default.opt_in_required if opt_in_required is None else opt_in_required
            ),
            update_window_start=day(
                update_window_start, "update_window_start", default.update_window_start
            ),
            update_window_end=day(
                update_window_end, "update_window_end", default.update_window_end
            ),
        )
        round_ = open_round(calendar, actor.as_record())
        taken = CertificationRoundExistsError(f"round {year} is already open", year=year)
        self._ledger._save_new(round_, taken, actor=actor, receipt=receipt)
        return round_.id

    def opt_in_to_certification(
        self,
        actor: Actor,
        year: int,
        product_id: UUID,
        *,
        filer_valid_patents: int | None = None,
        receipt: Receipt | None = None,
    ) -> UUID:
        """The filer asks for its product to be evaluated in round ``year``.

        ``filer_valid_patents``: how many valid patents the filer holds (owned or licensed),
        at least as many as the product declares and at most ``PATENT_COUNT_MAX``; it makes
        the patent-use share known.

        Raises:
            PatentCountInvalidError: ``filer_valid_patents`` out of that range
                (``details``: ``field``, ``minimum``, ``maximum``).
        """
        actor.require(Role.FILER)
        round_ = self.get_round(year)
        product = self._ledger.get_product(product_id)
        _check_owns(actor, product)
        product.check_not_withdrawn()
        if filer_valid_patents is not None:  # at least the patents the product declares
            PATENT_COUNT.at_least(len(product.patents)).check(
                filer_valid_patents, field="filer_valid_patents", error=PatentCountInvalidError
            )
        with _frozen_now() as now:
            round_.check_accepts_opt_in(now)
            opt_in = CertificationOptIn(
                round_year=round_.year,
                product_id=str(product.id),
                filer_uscc=product.filer_uscc,
                filer_valid_patents=filer_valid_patents,
                actor=actor.as_record(),
            )
        taken = AlreadyOptedInError(
            f"product {product.id} is already opted in to round {year}",
            product_id=str(product.id),
        )
        self._ledger._save_new(opt_in, taken, actor=actor, receipt=receipt)
        return opt_in.id

    # --- evaluation (分产业认定) --------------------------------------------------------------
    def run_certification(
        self,
        actor: Actor,
        year: int,
        *,
        benchmark_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> EvaluationReport:
        """Decide every filing of round ``year`` that no run has decided yet.

        The first run pins the benchmark table version (default: the latest) and needs the
        review deadline to have passed. Withdrawn filings are skipped; every other filing gets
        ``Certified``, ``NotCertified`` or ``NotEligible``. Idempotent: decided filings are
        counted as ``already_decided`` and never decided twice, even by concurrent runs.

        The filings are read from the ledger's log (``_product_ids``), not from the product
        registry: a run must decide every filing recorded when it runs, and the read models
        follow the log a moment behind. ``receipt`` goes with each of the run's saves.

        Raises:
            IdConflictError: a decision's (or an opt-in's) id is held by a record of another
                kind; such a filing is never counted as decided, nor skipped in silence.
        """
        actor.require(Role.CERTIFIER)
        round_ = self._evaluating_round(actor, year, benchmark_version, receipt)
        pinned = round_.benchmark_version
        if pinned is None:  # _evaluating_round returns a round in evaluation
            raise CertificationRoundStateError(f"round {year} has no benchmark version")
        table = self.get_benchmarks(pinned)
        report = EvaluationReport(year=year, benchmark_version=pinned)
        decided = set(self._originators(DECISION_TOPICS))
        batch: list[UUID] = []
        for product_id in self._product_ids():
            if certification_id_for(year, product_id) in decided:
                report.already_decided += 1
                continue
            batch.append(product_id)
            if len(batch) == DECISION_BATCH:
                self._decide_batch(actor, round_, table, batch, report, receipt)
                batch = []
        self._decide_batch(actor, round_, table, batch, report, receipt)
        return report

    def _evaluating_round(
        self, actor: Actor, year: int, benchmark_version: int | None, receipt: Receipt | None
    ) -> CertificationRound:
        round_ = self.get_round(year)
        if round_.status is RoundStatus.OPENED:
            table = self.get_benchmarks(benchmark_version)
            with _frozen_now() as now:
                round_.start_evaluation(BENCHMARK_TABLE_ID, table.version, now, actor.as_record())
            try:
                self._ledger._save(round_, receipt=receipt)
            except ConcurrentUpdateError:  # a concurrent run started it first
                round_ = self.get_round(year)
        elif benchmark_version is not None and benchmark_version != round_.benchmark_version:
            raise CertificationRoundStateError(
                f"round {year} evaluates against benchmark version {round_.benchmark_version}, "
                f"pinned when its evaluation started, not {benchmark_version}",
                year=year,
            )
        round_.check_evaluating()
        return round_

    def _decide_batch(
        self,
        actor: Actor,
        round_: CertificationRound,
        table: BenchmarkTable,
        product_ids: list[UUID],
        report: EvaluationReport,
        receipt: Receipt | None,
    ) -> None:
        made = []
        for product_id in product_ids:
            decision = self._decide(actor, round_, table, product_id)
            if decision is None:
                report.withdrawn += 1
            else:
                made.append(decision)
        if not made:
            return
        try:
            self._ledger._save(*made, receipt=receipt)
        except ConcurrentUpdateError:
            # A concurrent run decided some of them: decide again one by one (the failed save
            # consumed the pending events), counting the lost races as already decided.
            for product_id in [decision.product_id for decision in made]:
                again = self._decide(actor, round_, table, product_id)
                if again is None:
                    report.withdrawn += 1
                    continue
                try:
                    self._ledger._save(again, receipt=receipt)
                except ConcurrentUpdateError:
                    # Decided by a concurrent run, unless the decision's id is held by another
                    # kind of record: then no decision can ever be saved, and that is loud.
                    self._ledger._find(ProductCertification, again.id, actor=actor)
                    report.already_decided += 1
                else:
                    report.record(again)
            return
        for decision in made:
            report.record(decision)

    def _decide(
        self,
        actor: Actor,
        round_: CertificationRound,
        table: BenchmarkTable,
        product_id: UUID,
    ) -> ProductCertification | None:
        """The decision on one filing (unsaved), or ``None`` if it is withdrawn."""
        product, history = self._product_as_read(product_id)
        if product.status is ProductStatus.WITHDRAWN:
            return None
        filer = self._ledger.get_filer(product.filer_id)
        opt_in = self.get_opt_in(round_.year, product.id)
        subject = Subject(
            round_year=round_.year,
            data_year=round_.data_year,
            product_id=product.id,
            product_version=product.version,
            filer_uscc=product.filer_uscc,
            region_code=filer.region_code,
            category=product.category,
        )
        reasons = ineligibility(
            ProductFacts.of_history(product, history), round_, opted_in=opt_in is not None
        )
        if reasons:
            return decide_not_eligible(
                subject,
                product_status=product.status.value,
                product_data_year=product.data_year,
                reasons=reasons,
                actor=actor.as_record(),
            )
        inputs = IndicatorInputs.of_product(
            product.figures,
            product.valid_patents,
            opt_in.filer_valid_patents if opt_in is not None else None,
        )
        return decide_evaluated(
            subject,
            benchmark_table_id=table.id,
            benchmark_version=table.version,
            inputs=inputs.as_record(),
            assessments=assess(inputs, table.thresholds[product.category], table.indicators),
            actor=actor.as_record(),
        )

    # --- publication and objections (公示与异议) ----------------------------------------------
    def publish_certified_list(
        self, actor: Actor, year: int, *, objection_days: int, receipt: Receipt | None = None
    ) -> int:
        """Publish round ``year``'s certified list; objections are taken for the next days.

        Every filing not withdrawn must have been decided (run the evaluation again first if
        filings arrived since): the list is then complete, and no decision follows it. That is
        checked against the ledger's log (``_product_ids``, ``_decisions``), not the read
        models, which may not hold the latest filing yet.
        """
        actor.require(Role.CERTIFIER)
        round_ = self.get_round(year)
        round_.check_evaluating()
        decisions = {d.product_id: d for d in self._decisions(year)}
        undecided = [
            pid
            for pid in self._product_ids()
            if pid not in decisions
            and self._ledger.get_product(pid).status is not ProductStatus.WITHDRAWN
        ]
        if undecided:
            raise CertificationRoundStateError(
                f"round {year}: {len(undecided)} filing(s) are not decided yet; run the "
                "evaluation again before publishing",
                undecided=[str(pid) for pid in undecided[:20]],
            )
        certified = [
            str(pid) for pid, d in decisions.items() if d.status is CertificationStatus.CERTIFIED
        ]
        with _frozen_now() as now:
            round_.publish(certified, objection_days, now, actor.as_record())
        return self._ledger._save_change(round_, receipt=receipt)

    def file_objection(
        self,
        actor: Actor,
        year: int,
        product_id: UUID,
        reason: str,
        *,
        objection_id: UUID | None = None,
        receipt: Receipt | None = None,
    ) -> UUID:
        """Object to a product certified in round ``year``, during its objection window."""
        actor.require(*OBJECTOR_ROLES)
        chosen = ClientId.or_new(objection_id, field="objection_id")
        round_ = self.get_round(year)
        certification = self.get_certification(year, product_id)
        if actor.role is Role.REGIONAL_ADMIN and not certification.region_code.startswith(
            actor.scope or "\x00"
        ):  # outside its region it sees nothing (404, like the registry)
            raise CertificationNotFoundError(
                f"no decision on product {product_id} in round {year}", id=str(product_id)
            )
        if actor.role is Role.FILER and actor.scope == certification.filer_uscc:
            raise ActorNotPermittedError(
                f"filer {actor.scope} cannot object to its own product", actor=actor.id
            )
        if (
            certification.status is not CertificationStatus.CERTIFIED
            or str(product_id) not in round_.certified_product_ids
        ):
            raise ProductNotCertifiedError(
                f"product {product_id} is not on round {year}'s certified list "
                f"({certification.status.value})",
                product_id=str(product_id),
                status=certification.status.value,
            )
        with _frozen_now() as now:
            round_.check_objection_window(now)
            objection = file_objection(
                chosen,
                round_year=year,
                product_id=str(product_id),
                certification_id=str(certification.id),
                reason=_reason(reason),
                actor=actor.as_record(),
            )
        try:
            self._ledger._save(objection, receipt=receipt)
        except ConcurrentUpdateError:
            raise ObjectionIdTakenError(
                f"objection id {objection.id} is already used", objection_id=str(objection.id)
            ) from None
        return objection.id

    def dismiss_objection(
        self,
        actor: Actor,
        objection_id: UUID,
        reason: str,
        *,
        year: int | None = None,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        """The certifier dismisses an open objection; the certification stands."""
        actor.require(Role.CERTIFIER)
        objection = self._objection_of(objection_id, year, expected_version)
        objection.dismiss(_reason(reason), actor.as_record())
        return self._ledger._save_change(objection, receipt=receipt)

    def uphold_objection(
        self,
        actor: Actor,
        objection_id: UUID,
        reason: str,
        *,
        year: int | None = None,
        expected_version: int | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        """The certifier upholds an open objection: the certification is revoked, with reason.

        ``ObjectionUpheld`` and ``CertificationRevoked`` are saved together, in that order.
        """
        actor.require(Role.CERTIFIER)
        objection = self._objection_of(objection_id, year, expected_version)
        certification = self._load(
            ProductCertification,
            objection.certification_id,
            CertificationNotFoundError,
            f"decision {objection.certification_id}",
        )
        text = _reason(reason)
        objection.uphold(text, actor.as_record())
        certification.revoke(str(objection.id), text, actor.as_record())
        return self._ledger._save_change(objection, certification, receipt=receipt)

    def _objection_of(
        self, objection_id: UUID, year: int | None, expected_version: int | None
    ) -> Objection:
        """The objection a certifier decides: of round ``year`` when one is named (another
        round's is "no objection"), at the version the certifier read (``expect_version``)."""
        objection = self.get_objection(objection_id)
        if year is not None and objection.round_year != year:
            raise ObjectionNotFoundError(
                f"no objection {objection_id} in round {year}", id=str(objection_id)
            )
        _expect(objection, expected_version)
        return objection
