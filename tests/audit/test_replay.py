"""The replay check: logs made by the domain replay; forged ones fail, naming the event.

Honest logs come from the real domain (a scenario through every command, and the seed-7
sample); forged logs are built event by event with ``Forge``, which writes states shaped like
the domain's (ids derived with the domain's own functions, so the checker's copies of the
namespaces are cross-checked too).
"""

from __future__ import annotations

import ast
import contextlib
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4, uuid5

import pytest
from eventsourcing.utils import get_topic

from api.bootstrap import open_ledger
from api.settings import Settings
from audit.offline import replay_base as replay_module
from audit.offline.canonical import decode_canonical
from audit.offline.errors import InvalidReplayError, VerificationError
from audit.offline.event_signature import parse_envelope
from audit.offline.logged_event import LoggedEvent
from audit.offline.replay import KNOWN_TOPICS, ReplayChecker, prepare, replay
from audit.offline.replay_base import CERTIFICATION_TOPICS
from domain.actor import SYSTEM, Actor, Role
from domain.base import LedgerAggregate
from domain.benchmarks import BenchmarkTable
from domain.certification import ProductCertification
from domain.certification_opt_in import CertificationOptIn
from domain.certification_round import CertificationRound
from domain.conversion import PatentConversion, conversion_record_id
from domain.declarations import PatentDeclaration
from domain.errors import DuplicateProductError
from domain.filer import Filer, filer_id_for
from domain.filing_number import FilingNumberSeries
from domain.objection import Objection
from domain.product import Product
from domain.reservation import ProductKeyReservation
from domain.sample import load_sample
from domain.statistics_publication import PUBLICATION_NAMESPACE, StatisticsPublication
from domain.values import KeyRule, canonical_product_key, product_key, product_key_id
from tests.domain.factories import (
    EVIDENCE,
    REVIEWER,
    VERIFIER,
    approved_filer,
    digest,
    figures,
    file,
    filer_actor,
    patent,
    register,
    uscc,
    v1_only,
)

AUDIT_DIR = Path(__file__).resolve().parents[2] / "audit" / "offline"


# --- reading a store as the auditor does ------------------------------------------------------


def logged_events(ledger: Any) -> list[LoggedEvent]:
    """Every stored event in log order, its envelope parsed and its state decoded.

    The leaf index is the position in notification order, as the sequencer assigns it.
    """
    events = []
    for leaf_index, notification in enumerate(
        ledger.recorder.select_notifications(start=1, limit=10**6)
    ):
        originator_id = UUID(str(notification.originator_id))
        version = notification.originator_version
        envelope = parse_envelope(originator_id, version, notification.state)
        events.append(
            LoggedEvent(
                leaf_index,
                originator_id,
                version,
                notification.topic,
                decode_canonical(envelope.state),
            )
        )
    return events


@cache
def sample_events(seed: int) -> tuple[LoggedEvent, ...]:
    """The decoded log of the sample of ``seed`` on a throwaway SQLite store (loaded once)."""
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings.from_environment(
            {
                "PPL_DATA_DIR": str(Path(directory) / "data"),
                "PPL_DATABASE_URL": f"sqlite:///{Path(directory) / 'ledger.sqlite3'}",
            }
        )
        ledger = open_ledger(settings)
        try:
            load_sample(ledger, seed)
            return tuple(logged_events(ledger))
        finally:
            ledger.close()


# --- honest logs ------------------------------------------------------------------------------


def institution_actor(code: str) -> Actor:
    return Actor(id=f"institution-{code}", role=Role.INSTITUTION, scope=code)


def approve_deciding(ledger: Any, product_id: UUID) -> None:
    """Approve, recording "distinct product" for every open near-duplicate candidate (S2)."""
    open_candidates = ledger.screening_of(product_id).open
    distinct = {str(candidate.product_id): "型号与用途不同" for candidate in open_candidates}
    ledger.approve_product(REVIEWER, product_id, distinct=distinct)


def run_every_command(ledger: Any) -> None:
    """A story touching every command and every event topic of the domain."""
    code_a, code_b, code_c = uscc(101), uscc(102), uscc(103)
    filer_a = approved_filer(ledger, code_a)
    filer_b = approved_filer(ledger, code_b)
    filer_c = register(ledger, code_c)
    with v1_only():  # filed before key rule v2: a v1 reservation only
        legacy = file(ledger, code_b, filer_b, model="LG-1")
    ledger.migrate_product_keys(SYSTEM)  # ProductKeyMigrated: v2 from now on
    approve_deciding(ledger, legacy)
    ledger.reject_filer(REVIEWER, filer_c, "营业执照与单位名称不符")
    ledger.resubmit_filer(  # annex rule v1: a resubmission corrects the name
        filer_actor(code_c), filer_c, [digest("new licence")], digest("pledge"), name="上海丙公司"
    )
    code_d = uscc(105)  # a USCC of 310115, a filer moved to 310104: a reviewer confirms
    filer_d = register(ledger, code_d, region="310104")
    ledger.verify_filer_real_name(VERIFIER, filer_d, "RN-0105")
    ledger.confirm_filer_move(REVIEWER, filer_d, "迁址证明：2021 年迁至徐汇区")
    ledger.approve_filer(REVIEWER, filer_d)

    first = file(ledger, code_a, filer_a, model="TV-100")
    approve_deciding(ledger, first)
    ledger.revise_product(
        filer_actor(code_a),
        first,
        data_year=2023,
        figures=figures(),
        patents=[PatentDeclaration.parse(patent(1), "owner")],
        proof_digests=[digest("invoice 2023")],
    )
    ledger.reject_product(REVIEWER, first, "销售发票与申报销售额不符")

    second = file(ledger, code_a, filer_a, model="TV-200")
    dispute = ledger.raise_dispute(
        REVIEWER,
        second,
        patent_numbers=[patent(1)],
        claimant="某公司",
        evidence_digests=EVIDENCE,
        description="权属争议",
    )
    ledger.resolve_dispute(REVIEWER, second, dispute, "claim_dismissed", "驳回请求")
    upheld = ledger.raise_dispute(
        REVIEWER,
        first,
        patent_numbers=[patent(1)],
        claimant="某公司",
        evidence_digests=EVIDENCE,
        description="权属争议",
    )
    ledger.resolve_dispute(REVIEWER, first, upheld, "claim_upheld", "权利归属某公司")
    approve_deciding(ledger, second)
    claim = ledger.raise_dispute(  # a competitor's claim: blocks once a reviewer accepts it
        filer_actor(code_b),
        second,
        patent_numbers=[patent(1)],
        claimant="乙公司",
        evidence_digests=EVIDENCE,
        description="专利权属于乙公司",
    )
    ledger.accept_dispute(REVIEWER, second, claim)
    ledger.resolve_dispute(REVIEWER, second, claim, "claim_dismissed", "证据不足")
    with pytest.raises(DuplicateProductError):  # refused: leaves no event
        file(ledger, code_b, filer_b, model="tv 200")
    ledger.withdraw_product(filer_actor(code_a), second, "经济数据填报有误，撤回后重新备案")
    file(ledger, code_a, filer_a, model="TV-200")  # re-filing: ProductKeyReassigned

    third = file(ledger, code_b, filer_b, model="X-1")
    ledger.withdraw_product(REVIEWER, third, "专利已全部失效")

    institution = uscc(104, prefix="12")
    for category in ("ordinary_licence", "assigned"):
        ledger.report_conversion(
            institution_actor(institution),
            institution_uscc=institution,
            patent_number=patent(7),
            category=category,
            counterparty="上海某科技有限公司",
            occurred_on="2023-02-01",
            amount_fen=1_000_000,
        )


def test_a_log_written_by_every_command_replays(ledger):
    run_every_command(ledger)
    stored = len(logged_events(ledger))
    ledger.publish_statistics(  # the shape of a publication; its figures: test_publication
        SYSTEM, period="2023-07", tree_size=stored, rules={"min_filers": 3, "dominance_bp": 8500},
        counts=[], cells=[],
    )  # fmt: skip
    events = logged_events(ledger)
    # the certification's topics: tests/audit/test_replay_certification.py
    assert {event.topic for event in events} == KNOWN_TOPICS - CERTIFICATION_TOPICS

    summary = replay(events)

    assert summary.events == len(events)
    assert dict(summary.aggregates) == {
        "conversion": 1,
        "filer": 4,
        "filing_number_series": 1,  # two approved products of one year and region
        "product": 5,
        "reservation": 8,  # v1 + v2 per filing, the legacy filing's v1 and its migrated v2
        "statistics_publication": 1,
    }
    assert {kind: dict(counts) for kind, counts in summary.statuses.items()} == {
        "conversion": {"reported": 1},
        "filer": {"approved": 3, "pending_review": 1},
        "filing_number_series": {"issuing": 1},
        "product": {"approved": 1, "pending_review": 1, "rejected": 1, "withdrawn": 2},
        "reservation": {"reassigned": 2, "reserved": 6},
        "statistics_publication": {"published": 1},
    }


def test_the_sample_log_replays_to_the_published_counts():
    events = sample_events(7)

    summary = replay(events)
    forged_replay(list(events))  # and the same verdict with the stateless checks done ahead
    assert all(
        prepare(e.leaf_index, str(e.originator_id), e.version, e.topic, e.state) is not None
        for e in events
    )  # an honest event passes every stateless check

    # Published table (shanghai_2023_by_district.csv): 443 filers, 1,023 filed products.
    assert summary.events == len(events)
    assert summary.statuses["filer"]["approved"] == 443
    assert summary.statuses["product"]["approved"] == 1_023
    assert summary.statuses["reservation"]["reassigned"] > 0  # withdrawals and re-filings
    assert summary.statuses["product"]["withdrawn"] > 0


def test_the_tables_name_every_event_of_the_domain():
    events = {
        get_topic(value)
        for aggregate in (
            Filer,
            Product,
            ProductKeyReservation,
            PatentConversion,
            BenchmarkTable,
            CertificationRound,
            CertificationOptIn,
            ProductCertification,
            Objection,
            StatisticsPublication,
            FilingNumberSeries,
        )
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, LedgerAggregate.Event)
        and name not in {"Event", "Created"}
    }
    assert events == KNOWN_TOPICS


def test_the_copied_namespaces_are_the_domains():
    code, patent_number = "12310116996989751G", "202011043742.4"
    assert uuid5(replay_module.FILER_NAMESPACE, code) == filer_id_for(code)
    # The product key's namespace is not copied: domain.values and the replay share the
    # module audit.offline.product_key.
    assert uuid5(
        replay_module.CONVERSION_NAMESPACE, f"{code}\x1f{patent_number}"
    ) == conversion_record_id(code, patent_number)
    assert replay_module.PUBLICATION_NAMESPACE == PUBLICATION_NAMESPACE


def test_the_replay_modules_import_only_the_standard_library_and_audit_basics():
    allowed = {
        f"audit.offline.{name}" for name in (
            "errors", "canonical", "logged_event", "replay", "product_key", "screening",
            "replay_screening", "annex_rule", "dispute_rule", "replay_base",
            "replay_certification", "replay_readers", "replay_annex", "replay_values",
            "filing_number", "replay_filing_numbers", "replay_keys", "uuid_text",
        )
    }  # fmt: skip
    for module in (
        "logged_event.py",
        "replay.py",
        "replay_base.py",
        "replay_certification.py",
        "replay_readers.py",
        "replay_screening.py",
        "replay_annex.py",
        "replay_values.py",
        "replay_keys.py",
        "replay_filing_numbers.py",
        "duplicates.py",
    ):
        tree = ast.parse((AUDIT_DIR / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert name in allowed or top in sys.stdlib_module_names, (module, name)


# --- forged logs ------------------------------------------------------------------------------

T0 = datetime(2023, 3, 1, tzinfo=UTC)
REVIEWER_RECORD = {"id": "reviewer-1", "role": "reviewer", "scope": None}
SYSTEM_RECORD = {"id": "realname-service", "role": "system", "scope": None}
TOPIC = {topic.rsplit(".", 1)[1]: topic for topic in KNOWN_TOPICS}
CREATIONS = {
    "FilerRegistered", "ProductFiled", "ProductKeyReserved", "ProductKeyMigrated",
    "ConversionRecordOpened",
}  # fmt: skip
PATENT_1 = "202110182616.5"
PATENT_2 = "202310865413.5"  # an invention, as PATENT_1
A, B = uscc(201), uscc(202)
INSTITUTION = uscc(203, prefix="12")


def as_filer(code: str) -> dict[str, Any]:
    return filer_actor(code).as_record()


class Forge:
    """Writes a log event by event, with states shaped like the domain's."""

    def __init__(self) -> None:
        self.events: list[LoggedEvent] = []
        self.versions: dict[UUID, int] = {}

    def emit(
        self,
        aggregate_id: UUID,
        event_name: str,
        actor: dict[str, Any],
        /,
        *,
        version: int | None = None,
        topic: str | None = None,
        drop: tuple[str, ...] = (),
        **fields: Any,
    ) -> LoggedEvent:
        at = version if version is not None else self.versions.get(aggregate_id, 0) + 1
        self.versions[aggregate_id] = at
        event_topic = topic or TOPIC[event_name]
        state = {"actor": actor, "timestamp": T0 + timedelta(minutes=len(self.events)), **fields}
        if event_name in CREATIONS:
            state["originator_topic"] = event_topic.rsplit(".", 1)[0]
        for key in drop:
            del state[key]
        event = LoggedEvent(len(self.events), aggregate_id, at, event_topic, state)
        self.events.append(event)
        return event

    # filers
    def register(self, code: str, **options: Any) -> LoggedEvent:
        return self.emit(
            filer_id_for(code),
            "FilerRegistered",
            as_filer(code),
            uscc=code,
            name=f"上海测试科技有限公司{code[-4:]}",
            kind="enterprise",
            region_code="310115",
            contact={"name": "张三", "phone": "+86 21 5555 0000", "email": "z@example.cn"},
            proof_digests=[digest("licence")],
            pledge_digest=digest("pledge"),
            **options,
        )

    def verify(self, code: str) -> LoggedEvent:
        return self.emit(filer_id_for(code), "FilerRealNameVerified", SYSTEM_RECORD, reference="RN")

    def filer(
        self, code: str, name: str, actor: dict[str, Any] | None = None, **fields: Any
    ) -> LoggedEvent:
        return self.emit(filer_id_for(code), name, actor or REVIEWER_RECORD, **fields)

    def approved(self, code: str) -> UUID:
        self.register(code)
        self.verify(code)
        self.filer(code, "FilerApproved")
        return filer_id_for(code)

    # products
    def file(
        self,
        code: str,
        *,
        model: str = "TV-100",
        name: str = "智能温控阀",
        filer_code: str | None = None,
        actor: dict[str, Any] | None = None,
        key: str | None = None,
        product_id: UUID | None = None,
        drop: tuple[str, ...] = (),
    ) -> LoggedEvent:
        """ProductFiled only (see ``reserve`` and ``reassign`` for the key event)."""
        return self.emit(
            product_id or uuid4(),
            "ProductFiled",
            actor or as_filer(code),
            drop=drop,
            filer_id=str(filer_id_for(filer_code or code)),
            filer_uscc=code,
            name=name,
            model=model,
            variants=["白色"],
            category="03",
            finer_code=None,
            patents=[PatentDeclaration.parse(n, "owner").as_record() for n in (PATENT_1, PATENT_2)],
            data_year=2022,
            figures={"sales_fen": 10, "exports_fen": 0, "profit_fen": 1, "ip_spending_fen": 1},
            proof_digests=[digest("invoice")],
            canonical_key=key or canonical_product_key(name, model),
        )

    def reserve(self, filed: LoggedEvent, **override: Any) -> LoggedEvent:
        key = filed.state["canonical_key"]
        fields = {
            "canonical_key": key,
            "product_id": str(filed.originator_id),
            "filer_uscc": filed.state["filer_uscc"],
        }
        aggregate_id = override.pop("aggregate_id", product_key_id(key))
        fields.update(override)
        return self.emit(aggregate_id, "ProductKeyReserved", filed.state["actor"], **fields)

    def reserve_v2(self, filed: LoggedEvent, **override: Any) -> LoggedEvent:
        """The key rule v2 reservation of a filing, as ``file_product`` saves it after v1."""
        return self._v2_key_event(filed, "ProductKeyReserved", filed.state["actor"], override)

    def migrate(self, filed: LoggedEvent, **override: Any) -> LoggedEvent:
        """``ppl registry migrate-keys``: the v2 key of a filing made before v2."""
        return self._v2_key_event(filed, "ProductKeyMigrated", SYSTEM_RECORD, override)

    def _v2_key_event(
        self, filed: LoggedEvent, event_name: str, actor: dict[str, Any], override: dict[str, Any]
    ) -> LoggedEvent:
        key = product_key(KeyRule.V2, filed.state["name"], filed.state["model"])
        fields = {
            "canonical_key": key,
            "product_id": str(filed.originator_id),
            "filer_uscc": filed.state["filer_uscc"],
            "key_rule": 2,
        }
        aggregate_id = override.pop("aggregate_id", product_key_id(key, KeyRule.V2))
        actor = override.pop("actor", actor)
        fields.update(override)
        return self.emit(aggregate_id, event_name, actor, **fields)

    def reassign(
        self, filed: LoggedEvent, previous: UUID, actor: dict[str, Any] | None = None
    ) -> LoggedEvent:
        return self.emit(
            product_key_id(filed.state["canonical_key"]),
            "ProductKeyReassigned",
            actor or filed.state["actor"],
            product_id=str(filed.originator_id),
            previous_product_id=str(previous),
        )

    def filed(self, code: str, **options: Any) -> UUID:
        """A filing with its reservation, as ``file_product`` saves it."""
        filed = self.file(code, **options)
        self.reserve(filed)
        return filed.originator_id

    def product(
        self, product_id: UUID, name: str, actor: dict[str, Any] | None = None, **fields: Any
    ) -> LoggedEvent:
        return self.emit(product_id, name, actor or REVIEWER_RECORD, **fields)

    def withdraw(self, product_id: UUID, code: str) -> LoggedEvent:
        return self.product(product_id, "ProductWithdrawn", as_filer(code), reason="退市")

    def dispute(
        self, product_id: UUID, dispute_id: str = "d1", patents: tuple[str, ...] = (PATENT_1,)
    ) -> LoggedEvent:
        return self.product(
            product_id,
            "OwnershipDisputeRaised",
            dispute_id=dispute_id,
            patent_numbers=list(patents),
            claimant="某公司",
            description="权属争议",
        )

    def resolve(self, product_id: UUID, dispute_id: str = "d1") -> LoggedEvent:
        return self.product(
            product_id,
            "OwnershipDisputeResolved",
            dispute_id=dispute_id,
            outcome="settled",
            note="和解",
        )

    def revise(self, product_id: UUID, code: str, data_year: int) -> LoggedEvent:
        return self.product(
            product_id,
            "ProductRevised",
            as_filer(code),
            data_year=data_year,
            figures={"sales_fen": 10, "exports_fen": 0, "profit_fen": 1, "ip_spending_fen": 1},
            patents=[PatentDeclaration.parse(PATENT_1, "owner").as_record()],
            proof_digests=[digest("invoice")],
        )

    # conversions
    def conversion(self, name: str, *, record_id: UUID | None = None, **fields: Any) -> LoggedEvent:
        actor = {"id": "inst", "role": "institution", "scope": INSTITUTION}
        aggregate_id = record_id or conversion_record_id(INSTITUTION, PATENT_1)
        if name == "ConversionRecordOpened":
            fields = {
                "institution_uscc": INSTITUTION,
                "patent_number": PATENT_1,
                "region_code": "310115",
                **fields,
            }
        else:
            fields = {
                "category": "assigned",
                "counterparty": "某公司",
                "occurred_on": "2023-02-01",
                "amount_fen": None,
                **fields,
            }
        return self.emit(aggregate_id, name, actor, **fields)


def approved_product(forge: Forge, code: str = A, **options: Any) -> UUID:
    forge.approved(code)
    product_id = forge.filed(code, **options)
    forge.product(product_id, "FilingApproved")
    return product_id


def _replay_outcome(events: list[LoggedEvent], *, prepared: bool) -> InvalidReplayError | None:
    """Replay with ``apply``, or as the offline verifier does: the stateless checks done
    ahead by ``prepare``, and ``apply`` only for an event they refuse."""
    checker = ReplayChecker()
    try:
        for event in events:
            facts = None
            if prepared:
                args = (event.leaf_index, str(event.originator_id), event.version, event.topic)
                facts = prepare(*args, event.state)
            if facts is None:
                checker.apply(event)
            else:
                checker.apply_prepared(*args, facts)
        checker.finish()
    except InvalidReplayError as error:
        return error
    return None


def forged_replay(events: list[LoggedEvent]) -> None:
    """Replay both ways; they must agree on the verdict, to the error's words."""
    error = _replay_outcome(events, prepared=False)
    ahead = _replay_outcome(events, prepared=True)
    assert repr(ahead) == repr(error)
    assert (ahead and ahead.args) == (error and error.args)
    if error is not None:
        raise error


def test_a_forged_log_of_honest_shape_replays():
    forge = Forge()
    first = approved_product(forge)
    forge.dispute(first)
    forge.resolve(first)
    forge.revise(first, A, 2023)
    forge.withdraw(first, A)
    forge.reassign(forge.file(A), first)
    forge.conversion("ConversionRecordOpened")
    forge.conversion("ConversionReported")

    forged_replay(forge.events)


def test_a_dispute_open_at_withdrawal_may_still_be_resolved():
    # Like Product.resolve_dispute, which (unlike raise_dispute) does not check withdrawal.
    forge = Forge()
    product_id = approved_product(forge)
    forge.dispute(product_id)
    forge.withdraw(product_id, A)
    forge.resolve(product_id)

    forged_replay(forge.events)


# Each case builds a log with ``Forge`` and returns the event the error must name.
# (desc, build, want_error): want_error is a fragment of the error's reason.


def _approval_before_verification(forge: Forge) -> LoggedEvent:
    forge.register(A)
    return forge.filer(A, "FilerApproved")


def _filed_by_unapproved_filer(forge: Forge) -> LoggedEvent:
    forge.register(A)
    forge.verify(A)
    return forge.file(A)


def _filed_by_rejected_filer(forge: Forge) -> LoggedEvent:
    forge.register(A)
    forge.verify(A)
    forge.filer(A, "FilerRejected", reason="材料不全")
    return forge.file(A)


def _filed_by_unknown_filer(forge: Forge) -> LoggedEvent:
    return forge.file(A)


def _filed_under_another_filers_id(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    forge.approved(B)
    return forge.file(A, filer_code=B)


def _filed_for_another_uscc(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    return forge.file(A, actor=as_filer(B))


def _revised_to_an_older_year(forge: Forge) -> LoggedEvent:
    return forge.revise(approved_product(forge), A, 2021)


def _revised_to_the_same_year(forge: Forge) -> LoggedEvent:
    return forge.revise(approved_product(forge), A, 2022)


def _revised_while_pending(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    return forge.revise(forge.filed(A), A, 2023)


def _approved_with_open_dispute(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    product_id = forge.filed(A)
    forge.dispute(product_id)
    return forge.product(product_id, "FilingApproved")


def _approved_twice(forge: Forge) -> LoggedEvent:
    return forge.product(approved_product(forge), "FilingApproved")


def _approved_after_withdrawal(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    product_id = forge.filed(A)
    forge.withdraw(product_id, A)
    return forge.product(product_id, "FilingApproved")


def _revised_after_withdrawal(forge: Forge) -> LoggedEvent:
    product_id = approved_product(forge)
    forge.withdraw(product_id, A)
    return forge.revise(product_id, A, 2023)


def _dispute_after_withdrawal(forge: Forge) -> LoggedEvent:
    product_id = approved_product(forge)
    forge.withdraw(product_id, A)
    return forge.dispute(product_id)


def _withdrawn_twice(forge: Forge) -> LoggedEvent:
    product_id = approved_product(forge)
    forge.withdraw(product_id, A)
    return forge.withdraw(product_id, A)


def _withdrawn_by_another_filer(forge: Forge) -> LoggedEvent:
    return forge.withdraw(approved_product(forge), B)


def _dispute_id_reused(forge: Forge) -> LoggedEvent:
    product_id = approved_product(forge)
    forge.dispute(product_id)
    forge.resolve(product_id)
    return forge.dispute(product_id, patents=(PATENT_2,))


def _patent_already_disputed(forge: Forge) -> LoggedEvent:
    product_id = approved_product(forge)
    forge.dispute(product_id, "d1", (PATENT_1,))
    return forge.dispute(product_id, "d2", (PATENT_1, PATENT_2))


def _dispute_over_undeclared_patent(forge: Forge) -> LoggedEvent:
    return forge.dispute(approved_product(forge), patents=("201811564288.X",))


def _resolve_of_unknown_dispute(forge: Forge) -> LoggedEvent:
    return forge.resolve(approved_product(forge))


def _resolved_twice(forge: Forge) -> LoggedEvent:
    product_id = approved_product(forge)
    forge.dispute(product_id)
    forge.resolve(product_id)
    return forge.resolve(product_id)


def _reassigned_while_holder_not_withdrawn(forge: Forge) -> LoggedEvent:
    first = approved_product(forge)
    return forge.reassign(forge.file(A), first)


def _reassigned_to_another_filer(forge: Forge) -> LoggedEvent:
    first = approved_product(forge)
    forge.withdraw(first, A)
    forge.approved(B)
    return forge.reassign(forge.file(B), first, actor=as_filer(A))


def _reassigned_by_another_filer(forge: Forge) -> LoggedEvent:
    first = approved_product(forge)
    forge.withdraw(first, A)
    forge.approved(B)
    return forge.reassign(forge.file(B), first)


def _reassigned_from_a_filing_that_does_not_hold_the_key(forge: Forge) -> LoggedEvent:
    first = approved_product(forge)
    other = forge.filed(A, model="TV-999")
    forge.withdraw(other, A)
    forge.withdraw(first, A)
    return forge.reassign(forge.file(A), other)


def _reservation_of_another_key(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    filed = forge.file(A)
    return forge.reserve(
        filed,
        canonical_key="其他产品\x1f",
        aggregate_id=product_key_id("其他产品\x1f"),
    )


def _reservation_under_a_forged_id(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    return forge.reserve(forge.file(A), aggregate_id=uuid4())


def _reservation_of_an_earlier_filing(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    earlier = forge.file(A, model="TV-1")
    forge.reserve(earlier)
    later = forge.file(A, model="TV-2")
    return forge.reserve(later, product_id=str(earlier.originator_id))


def _filing_without_its_key_event(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    filed = forge.file(A)
    forge.register(B)
    return filed


def _log_ending_after_a_filing(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    return forge.file(A)


def _reviewer_role_forged_by_a_filer(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    product_id = forge.filed(A)
    return forge.product(product_id, "FilingApproved", as_filer(A))


def _filer_approved_by_the_system(forge: Forge) -> LoggedEvent:
    forge.register(A)
    forge.verify(A)
    return forge.filer(A, "FilerApproved", SYSTEM_RECORD)


def _unknown_topic(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    return forge.emit(
        filer_id_for(A), "FilerApproved", REVIEWER_RECORD, topic="domain.filer:Filer.FilerBanned"
    )


def _duplicate_creation(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    return forge.register(A, version=4)


def _second_reservation_of_a_key(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    forge.filed(A)
    forge.approved(B)
    return forge.reserve(forge.file(B), version=1)


def _first_event_not_a_creation(forge: Forge) -> LoggedEvent:
    return forge.filer(A, "FilerApproved", version=1)


def _report_before_opening(forge: Forge) -> LoggedEvent:
    return forge.conversion("ConversionReported")


def _topic_of_another_kind(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    return forge.emit(filer_id_for(A), "FilingApproved", REVIEWER_RECORD)


def _verified_twice(forge: Forge) -> LoggedEvent:
    forge.register(A)
    forge.verify(A)
    return forge.verify(A)


def _rejected_when_approved(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    return forge.filer(A, "FilerRejected", reason="迟到的驳回")


def _resubmitted_when_pending(forge: Forge) -> LoggedEvent:
    forge.register(A)
    return forge.filer(
        A, "FilerResubmitted", as_filer(A), proof_digests=[], pledge_digest=digest("p")
    )


def _registered_under_a_forged_id(forge: Forge) -> LoggedEvent:
    return forge.emit(
        uuid4(), "FilerRegistered", REVIEWER_RECORD, uscc=A, name="x", kind="enterprise"
    )


def _conversion_by_an_enterprise(forge: Forge) -> LoggedEvent:
    record_id = conversion_record_id(A, PATENT_1)
    return forge.conversion("ConversionRecordOpened", record_id=record_id, institution_uscc=A)


def _version_gap(forge: Forge) -> LoggedEvent:
    forge.register(A)
    return forge.emit(
        filer_id_for(A), "FilerRealNameVerified", SYSTEM_RECORD, version=3, reference="RN"
    )


def _leaf_out_of_order(forge: Forge) -> LoggedEvent:
    forge.register(A)
    verified = forge.verify(A)
    repeated = LoggedEvent(0, *astuple_tail(verified))
    forge.events[-1] = repeated  # the same leaf index as the registration
    return repeated


def astuple_tail(event: LoggedEvent) -> tuple[UUID, int, str, Any]:
    return event.originator_id, event.version, event.topic, event.state


def _missing_data_year(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    return forge.file(A, drop=("data_year",))


def _missing_actor(forge: Forge) -> LoggedEvent:
    forge.register(A)
    return forge.emit(filer_id_for(A), "FilerRealNameVerified", SYSTEM_RECORD, drop=("actor",))


def _actor_without_role(forge: Forge) -> LoggedEvent:
    forge.register(A)
    return forge.filer(A, "FilerRealNameVerified", {"id": "x", "scope": None}, reference="RN")


def _timestamp_as_text(forge: Forge) -> LoggedEvent:
    forge.register(A)
    event = forge.verify(A)
    event.state["timestamp"] = "2023-03-01T00:00:00.000000Z"  # type: ignore[index]
    return event


def _state_not_an_object(forge: Forge) -> LoggedEvent:
    event = LoggedEvent(0, filer_id_for(A), 1, TOPIC["FilerRegistered"], ["x"])  # type: ignore[arg-type]
    forge.events.append(event)
    return event


def _patents_not_a_list(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    event = forge.file(A)
    event.state["patents"] = {"number": PATENT_1}  # type: ignore[index]
    return event


def _data_year_as_text(forge: Forge) -> LoggedEvent:
    product_id = approved_product(forge)
    event = forge.revise(product_id, A, 2023)
    event.state["data_year"] = "2023"  # type: ignore[index]
    return event


def _filer_id_not_a_uuid(forge: Forge) -> LoggedEvent:
    forge.approved(A)
    event = forge.file(A)
    event.state["filer_id"] = filer_id_for(A).hex  # type: ignore[index]
    return event


def _missing_originator_topic(forge: Forge) -> LoggedEvent:
    return forge.register(A, drop=("originator_topic",))


CASES: list[tuple[str, Callable[[Forge], LoggedEvent], str]] = [
    ("approval before verification", _approval_before_verification, "real-name verification"),
    ("filed by a filer not approved", _filed_by_unapproved_filer, "only approved filers"),
    ("filed by a rejected filer", _filed_by_rejected_filer, "is rejected: only approved"),
    ("filed by an unknown filer", _filed_by_unknown_filer, "is not a filer"),
    ("filed under another filer's id", _filed_under_another_filers_id, "has USCC"),
    ("filed by an actor for another USCC", _filed_for_another_uscc, f"acts for {B}"),
    ("revised to an older data year", _revised_to_an_older_year, "want a year after 2022"),
    ("revised to the same data year", _revised_to_the_same_year, "want a year after 2022"),
    ("revised while pending review", _revised_while_pending, "is pending_review"),
    ("approved with an open dispute", _approved_with_open_dispute, "open ownership dispute"),
    ("approved twice", _approved_twice, "approving a product that is approved"),
    ("approved after withdrawal", _approved_after_withdrawal, "is withdrawn"),
    ("revised after withdrawal", _revised_after_withdrawal, "is withdrawn"),
    ("dispute after withdrawal", _dispute_after_withdrawal, "is withdrawn"),
    ("withdrawn twice", _withdrawn_twice, "is withdrawn"),
    ("withdrawn by another filer", _withdrawn_by_another_filer, f"acts for {B}"),
    ("dispute id used twice", _dispute_id_reused, "already used"),
    ("patent already in an open dispute", _patent_already_disputed, "open dispute d1"),
    ("dispute over an undeclared patent", _dispute_over_undeclared_patent, "declared"),
    ("resolve of an unknown dispute", _resolve_of_unknown_dispute, "which is not open"),
    ("dispute resolved twice", _resolved_twice, "which is not open"),
    ("reassigned while holder live", _reassigned_while_holder_not_withdrawn, "want withdrawn"),
    ("reassigned to another filer", _reassigned_to_another_filer, "the key belongs to"),
    ("reassigned by another filer", _reassigned_by_another_filer, f"acts for {B}, not for {A}"),
    (
        "reassigned from a filing that does not hold the key",
        _reassigned_from_a_filing_that_does_not_hold_the_key,
        "the key is held by",
    ),
    ("reservation of another key", _reservation_of_another_key, "has canonical_key"),
    ("reservation under a forged id", _reservation_under_a_forged_id, "uuid5 of its"),
    (
        "reservation of an earlier filing",
        _reservation_of_an_earlier_filing,
        "is not the filing saved with this event",
    ),
    ("filing without its key event", _filing_without_its_key_event, "is not followed"),
    ("log ending after a filing", _log_ending_after_a_filing, "the log ends"),
    ("approval by a filer", _reviewer_role_forged_by_a_filer, "want one of reviewer"),
    ("filer approved by the system", _filer_approved_by_the_system, "want one of reviewer"),
    ("unknown topic", _unknown_topic, "unknown topic"),
    ("duplicate creation of a filer", _duplicate_creation, "creates an aggregate that exists"),
    ("second reservation of a key", _second_reservation_of_a_key, "creates an aggregate"),
    ("first event not a creation", _first_event_not_a_creation, "want a creation event"),
    ("report before record opened", _report_before_opening, "want a creation event"),
    ("topic of another kind", _topic_of_another_kind, "aggregate is a filer"),
    ("real-name verified twice", _verified_twice, "verification happens once"),
    ("filer rejected when approved", _rejected_when_approved, "want pending_review"),
    ("filer resubmitted when pending", _resubmitted_when_pending, "want rejected"),
    ("filer registered under a forged id", _registered_under_a_forged_id, "uuid5 of USCC"),
    ("conversion by an enterprise", _conversion_by_an_enterprise, "registration authority"),
    ("version gap", _version_gap, "version 3: want 2"),
    ("leaves out of log order", _leaf_out_of_order, "want events in log order"),
    ("missing data_year", _missing_data_year, "no 'data_year'"),
    ("missing actor", _missing_actor, "no 'actor'"),
    ("actor without role", _actor_without_role, "want an object with id, role and scope"),
    ("timestamp as text", _timestamp_as_text, "want a UTC datetime"),
    ("state not an object", _state_not_an_object, "want an object"),
    ("patents not a list", _patents_not_a_list, "want at least one declared patent"),
    ("data_year as text", _data_year_as_text, "want an integer"),
    ("filer_id not in UUID form", _filer_id_not_a_uuid, "want a UUID"),
    ("creation without originator_topic", _missing_originator_topic, "no 'originator_topic'"),
]


@pytest.mark.parametrize(("desc", "build", "want_error"), CASES, ids=[c[0] for c in CASES])
def test_forged_log_fails_naming_the_event(desc, build, want_error):
    forge = Forge()
    bad = build(forge)

    with pytest.raises(InvalidReplayError) as caught:
        forged_replay(forge.events)

    error = caught.value
    assert (error.originator_id, error.version, error.leaf_index) == (
        bad.originator_id,
        bad.version,
        bad.leaf_index,
    ), desc
    assert want_error in error.reason, desc
    assert str(bad.originator_id) in str(error)
    assert f"v{bad.version} at leaf {bad.leaf_index}" in str(error)
    assert isinstance(error, VerificationError)


def _honest_forged_log() -> list[LoggedEvent]:
    forge = Forge()
    first = approved_product(forge)
    forge.dispute(first)
    forge.resolve(first)
    forge.withdraw(first, A)
    forge.reassign(forge.file(A), first)
    forge.conversion("ConversionRecordOpened")
    forge.conversion("ConversionReported")
    return forge.events


ODD_VALUES = [None, 0, -1, True, "", "x", [], ["x"], {}, {"id": 1}, 2.5, b"x"]


def test_odd_state_values_fail_as_replay_errors_never_crash():
    """Every field of every event, dropped or replaced by an odd value: never KeyError etc."""
    honest = _honest_forged_log()
    forged_replay(honest)
    tried = 0
    for position, event in enumerate(honest):
        for key in [*event.state, "actor"]:
            variants: list[dict[str, Any]] = [{k: v for k, v in event.state.items() if k != key}]
            variants += [{**event.state, key: value} for value in ODD_VALUES]
            if key == "actor":
                variants += [
                    {**event.state, "actor": {**event.state["actor"], "role": value}}
                    for value in ODD_VALUES
                ]
            for state in variants:
                forged = LoggedEvent(
                    event.leaf_index, event.originator_id, event.version, event.topic, state
                )
                tried += 1
                with contextlib.suppress(InvalidReplayError):
                    forged_replay([*honest[:position], forged, *honest[position + 1 :]])
    assert tried > 500


def _with(state: Any, path: tuple[Any, ...], value: object) -> Any:
    """A copy of ``state`` with the value at ``path`` (keys and list indices) replaced."""
    if not path:
        return value
    head, *rest = path
    if isinstance(state, list):
        return [_with(v, tuple(rest), value) if i == head else v for i, v in enumerate(state)]
    return {**state, head: _with(state[head], tuple(rest), value)}


def test_odd_values_inside_lists_and_objects_fail_as_replay_errors_never_crash():
    """What the replay reads inside a field (a patent declaration, a variant, a digest, a
    publication's counts, cells and rules; audit/offline/replay_values.py), replaced by odd
    values: refused with an InvalidReplayError or accepted, never a crash."""
    forge = Forge()
    period = "2024-02"
    published = forge.emit(
        uuid5(PUBLICATION_NAMESPACE, period), "StatisticsPublished", SYSTEM_RECORD,
        originator_topic=get_topic(StatisticsPublication), period=period, tree_size=0,
        rules={"min_filers": 3},
        counts=[{"level": "district", "region_code": "310115", "filers": 3, "products": 4,
                 "pending": 1, "rejected": 0, "withdrawn": 0}],
        cells=[{"level": "district", "region_code": "310115", "data_year": 2023, "filers": 3,
                "filings": 4, "sales_fen": "30", "exports_fen": "3", "suppressed": None}],
    )  # fmt: skip
    forge.approved(A)
    filed = forge.file(A)
    forge.reserve(filed)
    honest = forge.events
    forged_replay(honest)
    paths = [
        (published, [
            ("rules", "min_filers"), ("counts", 0), ("cells", 0),
            *(("counts", 0, key) for key in published.state["counts"][0]),
            *(("cells", 0, key) for key in published.state["cells"][0]),
        ]),
        (filed, [
            ("variants", 0), ("proof_digests", 0), ("finer_code",),
            *(("patents", 0, key) for key in filed.state["patents"][0]),
        ]),
    ]  # fmt: skip
    tried = refused = 0
    for event, event_paths in paths:
        for path in event_paths:
            for value in [*ODD_VALUES, "202110182616.5", "licensee", "１２"]:
                state = _with(event.state, path, value)
                forged = LoggedEvent(
                    event.leaf_index, event.originator_id, event.version, event.topic, state
                )
                logged = [forged if e is event else e for e in honest]
                tried += 1
                try:
                    forged_replay(logged)
                except InvalidReplayError:
                    refused += 1
    assert tried > 300
    assert refused > tried * 3 // 4


def test_logged_event_refuses_header_values_of_the_wrong_type():
    with pytest.raises(TypeError, match="version"):
        LoggedEvent(0, uuid4(), "1", "topic", {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="originator_id"):
        LoggedEvent(0, str(uuid4()), 1, "topic", {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="leaf_index"):
        LoggedEvent(True, uuid4(), 1, "topic", {})
