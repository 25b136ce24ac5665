"""The generated cross-check: every command the domain refuses, forged as the events it would
have recorded, is refused by the offline replay for the corresponding reason (issue #16, item 1).

Why: the replay (audit/offline/replay.py and its rule modules) keeps the domain's rules a second
time, on purpose: an auditor runs it with the standard library alone, so it cannot import the
server's code. Two copies of a rule drift apart unless something ties them; the copied constants
are tied by tests/audit/test_replay_copies.py, and this test ties the rules.

How: hypothesis drives a ledger (in memory, its events signed as in production) through random
commands, every command of ``PatentLedger`` that records events: the right inputs for the state
the ledger is in, mostly, and now and then one wrong input (a ``Fault``: another role or filer,
a bad value, a taken id) or a record in the wrong state. Before each command the test forges
the events it would record, computed as the command computes them with its guards left out
(``Driver``). Accepted, the command must have recorded exactly the forgery: so the forger is
faithful. Refused, the forgery appended to the honest log must fail the replay, naming a forged
event, for the reason ``CORRESPONDENCE`` pairs with the domain's error code. When the command
broke two rules (its fault and one of state) and the replay names the other one first, it is
issued again with the fault repaired: the domain must refuse it for the rule the replay named,
or the replay must have named the fault (``_check_refusal``). After every accepted command, and
at the end of every example, the honest log replays clean.

The tables say what is not judged so, each entry with why: ``NOT_FORGED`` (no event to forge),
``NOT_JUDGED`` (gaps of the replay, each shown by a case in ``KNOWN_GAPS``, a strict xfail; the
property never draws those inputs; empty since the replay re-checks the domain's value rules),
``ALSO_REFUSED`` (two rules of state checked in another order), ``MISNAMED`` (a refusal the
domain names wrongly, a strict xfail) and ``CERTIFICATION_CODES`` (the certification's
commands, not driven yet). A new guard's code, in no table, fails
``test_every_domain_error_code_is_in_one_table``, and so does a refusal with it in the property:
the guard needs its replay rule, or an entry saying why not. Refusals the property does not
draw (a licensee without its licence, a filing's invalid patent number...) are ``CASES``, each
checked the same way: the domain refuses it, the replay refuses its events for its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import pytest
from eventsourcing.application import AggregateNotFoundError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from api.bootstrap import SignedPatentLedger
from audit.offline import replay_base
from audit.offline.canonical import decode_canonical
from audit.offline.errors import InvalidReplayError
from audit.offline.event_signature import parse_envelope
from audit.offline.logged_event import LoggedEvent
from audit.signing.key_files import KeyRing, open_keyring
from audit.signing.signing_mapper import SigningMapper
from domain import clock
from domain.actor import SYSTEM, Actor, Role
from domain.base import LedgerAggregate
from domain.conversion import PatentConversion, conversion_record_id
from domain.declarations import Contact, EconomicFigures, PatentDeclaration
from domain.errors import DomainError
from domain.filer import Filer, FilerStatus, filer_id_for
from domain.filing_number import NUMBERING, FilingNumberSeries
from domain.product import DisputeOutcome, Product, ProductStatus, new_product
from domain.ranges import MONEY_MAX_FEN
from domain.reservation import ProductKeyReservation
from domain.screening_feed import declaration_of
from domain.statistics_publication import StatisticsPublication
from domain.values import (
    AnnexRule,
    KeyRule,
    PatentNumber,
    ScreeningRule,
    Sha256Digest,
    accepted_on_raising,
    annex_rule_in_force,
    approval_year,
    clean_text,
    dispute_rule_in_force,
    filing_number_rule_in_force,
    parse_product_category,
    product_key_id,
    product_keys,
    screening_rule_in_force,
    series_id,
    uscc_region,
)
from tests.audit.test_replay import forged_replay
from tests.domain.factories import (
    REVIEWER,
    VERIFIER,
    before_annex_rule,
    digest,
    filer_actor,
    patent,
    uscc,
)

# --- the correspondence: domain error code -> the replay's reason ------------------------------


@dataclass(frozen=True, slots=True)
class Refused:
    """How the replay refuses the forged event of a refused command: the rules of
    docs/replay-rules.md that apply, and fragments one of which its reason contains."""

    rules: tuple[str, ...]
    reasons: tuple[str, ...]

    def matches(self, reason: str) -> bool:
        return any(fragment in reason for fragment in self.reasons)


_ROLE = "has role"  # E4: "actor x has role r: want one of ..."
_ACTS_FOR = "acts for"  # E4: "actor x (filer) acts for A, not for B"
_NO_SUCH = ("want a creation event", "event, but the aggregate is a")  # E3, E2

CORRESPONDENCE: Mapping[str, Refused] = {
    # who may act (actor.require, _check_acts_for, _check_owns)
    "actor_not_permitted": Refused(("E4", "P1", "F3", "C1", "C2", "K2"), (_ROLE, _ACTS_FOR)),
    "product_not_owned": Refused(("E4", "P3", "P4"), (_ACTS_FOR,)),
    # records that are not there, or not of the kind the command wants
    "filer_not_found": Refused(("E3", "E2", "P1"), (*_NO_SUCH, "is not a filer in the log")),
    "product_not_found": Refused(("E3", "E2"), _NO_SUCH),
    # ids
    "filer_already_registered": Refused(("E3",), ("creates an aggregate that exists",)),
    "filing_id_taken": Refused(("E3",), ("creates an aggregate that exists",)),
    "statistics_already_published": Refused(("E3",), ("creates an aggregate that exists",)),
    "id_not_allowed": Refused(("E7",), ("(E7)",)),
    # filers
    "filer_already_verified": Refused(("F2",), ("verification happens once",)),
    "filer_not_pending_review": Refused(("F3", "A4"), ("a filer that is",)),
    "filer_not_verified": Refused(("F3",), ("has not passed real-name verification",)),
    "filer_not_approved": Refused(("P1",), ("only approved filers file",)),
    "kind_uscc_mismatch": Refused(("A2", "A3"), ("(A2)", "(A3)")),
    "uscc_not_legal_person": Refused(("F1", "C1"), ("not a legal person",)),  # prefix 92
    "region_uscc_mismatch": Refused(("A4",), ("approving a filer whose",)),
    "region_move_not_needed": Refused(("A4",), ("which is its USCC's (A4)",)),
    "correction_not_allowed": Refused(("A3", "A6"), ("under annex_rule 0",)),
    # the domain's values (audit/offline/replay_values.py)
    "uscc_invalid": Refused(("F1", "C1"), ("is not a USCC",)),
    "region_code_invalid": Refused(("F1", "A3", "C1"), ("is not a region code",)),
    "text_invalid": Refused(
        ("F1", "F2", "P1", "P5", "P6", "C2", "A3", "K1"),
        ("is not clean text", "has no key under rule"),
    ),
    "digest_invalid": Refused(("F1", "F3", "P1", "P3", "Q2"), ("SHA-256 hex digest",)),
    "year_invalid": Refused(("P1", "P3"), ("data_year is",)),
    "patent_number_invalid": Refused(("P1", "P3", "P5", "C1"), ("is not a patent number",)),
    "licence_reference_missing": Refused(
        ("P1", "P3"), ("declaration without its licence", "want owner or licensee")
    ),
    "patent_count_invalid": Refused(("P1", "P3"), ("declared, want at most",)),
    # filings, their values
    "category_invalid": Refused(
        ("F1", "P1", "P3", "A5", "A6", "C2", "A2", "A3"),
        ("category '", "finer_code", "kind '", "(A2)"),
    ),
    "no_valid_patent": Refused(("P1", "P3", "P5"), ("want at least one", "of the declared")),
    "duplicate_patent": Refused(("P1", "P3"), ("declared twice",)),
    "exports_exceed_sales": Refused(("P1", "P3"), ("exceed sales",)),
    "money_invalid": Refused(("P1", "P3", "C2"), ("non-negative integer",)),
    "no_market_returns": Refused(("A5", "A6"), ("(A5)",)),
    "data_year_in_future": Refused(("A5", "A6"), ("(A5)",)),
    # filings: the review
    "product_withdrawn": Refused(("P2", "P3", "P4", "P5"), ("a product that is withdrawn",)),
    "product_not_pending_review": Refused(("P2",), ("that is approved", "that is rejected")),
    "dispute_open": Refused(("P2",), ("open ownership dispute",)),
    "candidates_open": Refused(("S2",), ("not decided on this or an earlier approval",)),
    "not_a_candidate": Refused(("S2",), ("not a near-duplicate candidate", "want a filing's")),
    "reason_required": Refused(("F3", "P2", "P4", "A4", "S2"), ("'': want", "want a reason")),
    "duplicate_of_invalid": Refused(("S4",), ("(S4)", "is not a product in the log")),
    "duplicate_product": Refused(("K2",), (_ACTS_FOR, "want withdrawn")),
    "revision_not_allowed": Refused(("P3",), ("revising a product that is pending_review",)),
    "data_year_not_newer": Refused(("P3",), ("want a year after",)),
    "no_valid_patent_left": Refused(("A8",), ("(A8)",)),
    # ownership disputes
    "dispute_already_open": Refused(("P5",), ("is already used", "already in open dispute")),
    "dispute_limit_reached": Refused(("Q2",), ("already has open dispute",)),
    "evidence_required": Refused(("Q2",), ("without evidence (Q2)",)),
    "dispute_not_pending": Refused(("Q3",), ("no open claim awaiting it",)),
    "dispute_not_found": Refused(("P6",), ("which is not open",)),
    "dispute_outcome_invalid": Refused(("P6",), ("outcome '",)),
    # conversions and publications
    "institution_not_eligible": Refused(("C1",), ("registration authority 1 or 5",)),
    "date_invalid": Refused(("C2",), ("want YYYY-MM-DD",)),
    "period_invalid": Refused(("M1",), ("want YYYY-MM",)),
    "publication_invalid": Refused(("M1",), ("tree_size is", "not of the published shape")),
    # filing numbers
    "filing_number_not_allowed": Refused(("N1",), ("(N1)",)),
}
"""Domain error code -> how the replay refuses the forged event. A code that some inputs reach
the replay cannot judge is also in ``NOT_JUDGED``, for those inputs only."""

NOT_FORGED: Mapping[str, str] = {
    "domain_error": "the base class; never raised itself",
    "invalid_value": "the base class of the value errors; never raised itself",
    "not_found": "raised by reads (get_conversion, get_publication); no command records then",
    "version_mismatch": (
        "the caller's If-Match names a version the record has moved past: the event at the "
        "current version is what an honest command records, so no rule of the log can refuse it"
    ),
    "concurrent_update": (
        "a lost race: the store refused the save, and the winner's event is the one in the log"
    ),
    "id_conflict": (
        "another kind of record holds the id the command derives: only a name-based client id "
        "recorded before ClientId refused them can, and the replay refuses that record where "
        "it is created (E7), before any event of the refused command"
    ),
}
"""Refusals not forged, each with why."""

NOT_JUDGED: Mapping[str, str] = {}
"""Domain refusals whose forged event replays clean: gaps of the replay, each with why and shown
by a case of ``CASES`` named in ``KNOWN_GAPS`` (a strict xfail). A code of ``CORRESPONDENCE``
may have such inputs too: its case is then in ``KNOWN_GAPS`` alone. Empty since the replay
re-checks the domain's value rules (audit/offline/replay_values.py: a USCC, a region code, a
patent number, clean text, digests, data years, finer codes, the bounds of annex rule v1's
figures and patents, a licensee's licence, a publication's cells)."""

ALSO_REFUSED: Mapping[tuple[str, str], str] = {
    ("product_withdrawn", "dispute_limit_reached"): (
        "a filer's second open claim on a withdrawn filing: Product.raise_dispute checks the "
        "withdrawal first, the replay the claim limit (Q2 before P5)"
    ),
}
"""(domain code, replay's code) -> why: a forged event that breaks two rules of state, which
the domain and the replay check in a different order. The replay's reason must then be the
second code's."""

MISNAMED: Mapping[tuple[str, str], str] = {}
"""(domain code, the code it should be) -> why: refusals the domain names wrongly. Empty since
``file_product`` checks a taken id before the keys (test_a_taken_id_is_named_on_a_refiling);
an entry needs a strict xfail showing it. The replay's reason is the right code's."""


CERTIFICATION_CODES = frozenset(
    {
        "certification_dates_invalid", "benchmarks_invalid", "certification_round_not_found",
        "benchmarks_not_found", "certification_not_found", "objection_not_found",
        "certification_round_exists", "certification_round_state", "evaluation_too_early",
        "opt_in_closed", "already_opted_in", "objection_window_closed",
        "product_not_certified", "objection_not_open", "objection_id_taken",
    }
)  # fmt: skip
"""The certification's own codes: its commands (domain/certification_commands.py) are not
driven here yet; a follow-up (their API was being refactored into a service)."""


def _every_code() -> set[str]:
    codes: set[str] = set()
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        codes.add(cls.code)
        pending.extend(cls.__subclasses__())
    return codes


def test_every_domain_error_code_is_in_one_table():
    """A new guard (a new DomainError code) must say how the replay refuses its event."""
    tables = (set(CORRESPONDENCE), set(NOT_FORGED), set(NOT_JUDGED), CERTIFICATION_CODES)
    classified = set().union(*tables)
    assert _every_code() - classified == set(), "add the new code to CORRESPONDENCE"
    assert classified - _every_code() == set(), "a table names a code the domain lost"
    assert not set(NOT_FORGED) & set(CORRESPONDENCE)
    assert not set(NOT_JUDGED) & set(CORRESPONDENCE)


# --- the world the commands act in ------------------------------------------------------------

A, B, C = uscc(401), uscc(402), uscc(403)  # enterprises of 310115
UNIVERSITY = uscc(404, prefix="12")
SOLE_TRADER = uscc(405, prefix="92")  # no legal person: refused, and no kind fits it (A2)
KIND_OF = {A: "enterprise", B: "enterprise", C: "enterprise", UNIVERSITY: "university_or_institute",
           SOLE_TRADER: "enterprise"}  # fmt: skip
MISFIT_KIND = {"enterprise": "university_or_institute", "university_or_institute": "enterprise"}
INSTITUTION = uscc(406, prefix="12")
PATENTS = tuple(PatentNumber.parse(patent(n)).value for n in (1, 2, 3, 4))
NOT_A_PATENT = "ZL202310123456.7"  # a wrong check character
NAMES = ("智能温控阀", "智能温控阀门", "工业机器人")  # alike: near-duplicate candidates
MODELS = ("TV-100", "TV-200", "")
REASON = "材料与申报不符"
NOBODY = UUID("0b7e4c2a-9d3f-4a1b-8c6d-5e4f3a2b1c0d")  # the id of no record
CONTACT = Contact.parse("张三", "+86 21 5555 0000", "zhang@example.cn")
GOOD_FIGURES = {"sales_fen": 10_000_000, "exports_fen": 1_000_000, "profit_fen": 1,
                "ip_spending_fen": 1}  # fmt: skip
STATES = ("approved", "approved", "none", "registered", "verified", "moved", "rejected")
"""A filer's state before the commands drawn: "moved" is verified, of a region not its
USCC's (annex rule v1: a reviewer confirms the move before approving it)."""
FILING_STATES = ("approved", "pending", "rejected", "withdrawn", "claimed", "disputed", "none")
"""A filing's state before the commands drawn: "claimed" is approved, with another filer's
claim awaiting acceptance; "disputed" is pending review, with a reviewer's dispute (blocking)."""
T0 = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)  # 2024 in Beijing: data year 2025 is in the future
CELL = {
    "level": "district", "region_code": "310115", "data_year": 2023, "filers": 3,
    "filings": 4, "sales_fen": "30000000", "exports_fen": "3000000", "suppressed": None,
}  # fmt: skip
"""A cell as projections.disclosure publishes it."""

CERTIFIER = Actor(id="certifier-1", role=Role.CERTIFIER)
REGIONAL_ADMIN = Actor(id="admin-310115", role=Role.REGIONAL_ADMIN, scope="310115")
AUDITOR = Actor(id="auditor-1", role=Role.AUDITOR)


def institution_actor(code: str) -> Actor:
    return Actor(id=f"institution-{code}", role=Role.INSTITUTION, scope=code)


ACTORS = (
    REVIEWER, VERIFIER, SYSTEM, CERTIFIER, REGIONAL_ADMIN, AUDITOR, filer_actor(A),
    filer_actor(B), institution_actor(INSTITUTION), institution_actor(A),
)  # fmt: skip
"""Everyone who may try a command: every role, and filers or institutions of two USCCs."""

_SCOPED = (Role.FILER, Role.INSTITUTION)


@dataclass(frozen=True, slots=True)
class Fault:
    """One wrong input: ``field`` given ``value``. ``code`` is the refusal it causes when
    nothing else is wrong."""

    code: str
    field: str
    value: Any


Args = Mapping[str, Any]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Step:
    """One command: its right inputs (right as far as inputs go: the state may still refuse
    it), at most one ``fault``, how to ``issue`` it, and how to ``forge`` the events it would
    record, computed as the command computes them with its guards left out."""

    command: str
    args: Args
    fault: Fault | None
    issue: Callable[[Args], object]
    forge: Callable[[Args], list[Any]]

    @property
    def given(self) -> Args:
        """The inputs the command is given: the right ones, the fault applied."""
        if self.fault is None:
            return self.args
        return {**self.args, self.fault.field: self.fault.value}


# --- reading the ledger as a command does, and forging its events ------------------------------


def _found(ledger: SignedPatentLedger, cls: type[LedgerAggregate], aggregate_id: UUID) -> Any:
    """The ``cls`` record under ``aggregate_id`` (a copy), or ``None``."""
    try:
        aggregate: object = ledger.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return aggregate if isinstance(aggregate, cls) else None


def _change(
    ledger: SignedPatentLedger,
    aggregate: type[LedgerAggregate],
    event_name: str,
    aggregate_id: UUID,
    **fields: Any,
) -> list[Any]:
    """The event ``event_name`` of ``aggregate`` on ``aggregate_id`` at its next version
    (1: no such record). By name, as ``@event("...")`` defines most of them."""
    cls = getattr(aggregate, event_name)
    stored = ledger.recorder.select_events(aggregate_id, desc=True, limit=1)
    version = stored[0].originator_version + 1 if stored else 1
    return [
        cls(originator_id=aggregate_id, originator_version=version, timestamp=clock.now(), **fields)
    ]


def _forge_filing(ledger: SignedPatentLedger, a: Args) -> list[Any]:
    """``file_product``'s save: the filing, then one key event per key rule in force."""
    actor, product_id = a["actor"], a["product_id"]
    filer = _found(ledger, Filer, a["filer_id"])
    filer_uscc = filer.uscc if filer else actor.scope
    annex, screening = annex_rule_in_force(), screening_rule_in_force()
    industry, finer = _category(a["category"], a["finer_code"])
    patents = [PatentDeclaration.parse(n, "owner").as_record() for n in a["patents"]]
    name, model = a["name"], a["model"]
    keys = product_keys(name, model)
    found = (
        {}
        if screening is ScreeningRule.NONE
        # the command's own screening index: what it records as the filing's candidates
        else ledger._screening.candidates_for(
            ledger.recorder, ledger.mapper, declaration_of(filer_uscc, name, model, patents)
        )
    )
    filing = new_product(
        product_id, filer_id=str(a["filer_id"]), filer_uscc=filer_uscc, name=name,
        model=model, variants=["白色"], category=industry, finer_code=finer,
        patents=patents, data_year=a["data_year"], figures=a["figures"],
        proof_digests=a["proof_digests"], canonical_key=keys[KeyRule.V1],
        actor=actor.as_record(), screening_rule=int(screening),
        candidates=[
            {"product_id": other, "reasons": [str(reason) for reason in reasons]}
            for other, reasons in found.items()
        ],
        annex_rule=int(annex),
    )  # fmt: skip
    reservations = []
    for rule, key in keys.items():
        held = _found(ledger, ProductKeyReservation, product_key_id(key, rule))
        if held is None:
            held = ProductKeyReservation(
                canonical_key=key, product_id=str(product_id), filer_uscc=filer_uscc,
                actor=actor.as_record(), key_rule=int(rule),
            )  # fmt: skip
        else:  # the guard left out: held by a withdrawn filing of the same filer
            held.reassign(str(product_id), actor.as_record())
        reservations.append(held)
    return _pending(filing, *reservations)


def _figure_faults() -> list[Fault]:
    def figures(sales: int, exports: int) -> dict[str, int]:
        return {**GOOD_FIGURES, "sales_fen": sales, "exports_fen": exports}

    return [
        Fault("no_market_returns", "figures", figures(0, 0)),
        Fault("exports_exceed_sales", "figures", figures(100, 1_000)),
        Fault("money_invalid", "figures", figures(-1, 0)),
        Fault("money_invalid", "figures", figures(MONEY_MAX_FEN + 1, 0)),
    ]


def _reason_faults() -> list[Fault]:
    return [
        Fault("reason_required", "reason", ""),
        Fault("reason_required", "reason", " \u3000 "),  # blank, a full-width space too
        Fault("text_invalid", "reason", "理" * 2001),
    ]


def _misspelt(code: str) -> str:
    """``code`` with another check character: a typo the check catches."""
    return code[:-1] + ("0" if code[-1] != "0" else "1")


def _patent_faults(one: str) -> list[Fault]:
    return [
        Fault("no_valid_patent", "patents", []),
        Fault("duplicate_patent", "patents", [one, one]),
    ]


def _pending_filer(filer: Filer) -> bool:
    return filer.status is FilerStatus.PENDING_REVIEW


def _approvable(filer: Filer) -> bool:
    return _pending_filer(filer) and filer.real_name_verified


def _moved(filer: Filer) -> bool:
    return _pending_filer(filer) and filer.region_misfit() is not None


def _pending_product(product: Product) -> bool:
    return product.status is ProductStatus.PENDING_REVIEW


def _revisable(product: Product) -> bool:
    return product.status in (ProductStatus.APPROVED, ProductStatus.REJECTED)


def _live(product: Product) -> bool:
    return product.status is not ProductStatus.WITHDRAWN


def _claims(product: Product, *, accepted: bool | None = None) -> list[str]:
    """The open disputes on ``product`` (only the accepted or pending ones, if asked)."""
    return [
        dispute_id
        for dispute_id, dispute in product.open_disputes.items()
        if accepted is None or dispute["accepted"] is accepted
    ]


class Driver:
    """Draws commands against one ledger and forges the events each would record."""

    def __init__(self, ledger: SignedPatentLedger, data: st.DataObject) -> None:
        self.ledger = ledger
        self.data = data
        self.events: list[LoggedEvent] = []  # the honest log so far, decoded

    # --- drawing ---------------------------------------------------------------------------
    def pick(self, label: str, *values: T) -> T:
        """One of ``values`` (a value listed more often is likelier)."""
        return self.data.draw(st.sampled_from(values), label=label)

    def step(
        self,
        command: str,
        args: Args,
        faults: Sequence[Fault],
        issue: Callable[[Args], object],
        forge: Callable[[Args], list[Any]],
    ) -> Step:
        """The command with at most one of ``faults`` (none about half the time)."""
        fault = self.pick("fault", *[None] * max(4, len(faults) * 3 // 2), *faults)
        return Step(command, args, fault, issue, forge)

    def actor_faults(
        self, roles: set[Role], scope: str | None, scope_code: str = "actor_not_permitted"
    ) -> list[Fault]:
        """One other actor (as likely as any other fault): of a role the command does not
        permit, or acting for another USCC than ``scope`` (``None``: any filer or institution
        may)."""
        scoped, roleless = [], []
        for other in ACTORS:
            if other.role not in roles:
                roleless.append(Fault("actor_not_permitted", "actor", other))
            elif other.role in _SCOPED and scope is not None and other.scope != scope:
                scoped.append(Fault(scope_code, "actor", other))
        return [self.pick("wrong actor", *scoped * 4, *roleless)]

    def filer_id(self, apt: Callable[[Filer], bool] = lambda _: True) -> UUID:
        """Mostly a filer in the state the command wants (``apt``); else a filer in another
        state, a USCC not registered, a filing's id or nothing's."""
        ids = [filer_id_for(code) for code in (A, B, C, UNIVERSITY)]
        filers = {i: _found(self.ledger, Filer, i) for i in ids}
        fit = [i for i, filer in filers.items() if filer is not None and apt(filer)]
        unfit = [i for i, filer in filers.items() if filer is not None and i not in fit]
        absent = [i for i, filer in filers.items() if filer is None]
        return self.pick("filer_id", *fit * 6, *unfit * 2, *absent, *self.products()[:1], NOBODY)

    def products(self) -> list[UUID]:
        return [e.originator_id for e in self.events if e.topic.endswith(".ProductFiled")]

    def product_id(self, apt: Callable[[Product], bool] = lambda _: True) -> UUID:
        """Mostly a filing in the state the command wants (``apt``); else a filing in another
        state, a filer's id or nothing's."""
        products = self.products()
        fit = [i for i in products if apt(_found(self.ledger, Product, i))]
        unfit = [i for i in products if i not in fit]
        return self.pick("product_id", *fit * 6, *unfit * 3, filer_id_for(A), NOBODY)

    def filer_status(self, code: str) -> FilerStatus | None:
        filer = _found(self.ledger, Filer, filer_id_for(code))
        return None if filer is None else filer.status

    def claims(self, product_id: UUID, *, accepted: bool | None = None) -> list[str]:
        product = _found(self.ledger, Product, product_id)
        return [] if product is None else _claims(product, accepted=accepted)

    def disputes(self, product_id: UUID) -> list[str]:
        return [
            e.state["dispute_id"]
            for e in self.events
            if e.originator_id == product_id and e.topic.endswith(".OwnershipDisputeRaised")
        ]

    # --- filers ------------------------------------------------------------------------------
    def register_filer(self) -> Step:
        new = [c for c in (A, B, C, UNIVERSITY) if self.filer_status(c) is None]
        code = self.pick("uscc", *new * 3, A, B, C, UNIVERSITY, SOLE_TRADER)
        args = {
            "actor": self.pick("actor", filer_actor(code), filer_actor(code), REVIEWER),
            "uscc": code,
            "name": f"上海测试科技有限公司{code[-4:]}",
            "kind": KIND_OF[code],
            "region_code": self.pick("region", "310115", "310115", "310104"),
            "proof_digests": [digest("licence")],
            "pledge_digest": digest("pledge"),
        }
        faults = [
            *self.actor_faults({Role.FILER, Role.REVIEWER}, code),
            Fault("kind_uscc_mismatch", "kind", MISFIT_KIND[KIND_OF[code]]),
            Fault("category_invalid", "kind", "company"),
            Fault("uscc_invalid", "uscc", _misspelt(code)),
            Fault("region_code_invalid", "region_code", "310199"),
            Fault("text_invalid", "name", "名" * 201),
            Fault("digest_invalid", "pledge_digest", "not a digest"),
        ]

        def forge(a: Args) -> list[Any]:
            fields = {k: v for k, v in a.items() if k != "actor"}
            annex = int(annex_rule_in_force())
            record = a["actor"].as_record()
            return _pending(
                Filer(**fields, contact=CONTACT.as_record(), actor=record, annex_rule=annex)
            )

        return self.step(
            "register_filer",
            args,
            faults,
            lambda a: self.ledger.register_filer(contact=CONTACT, **a),
            forge,
        )

    def verify_filer_real_name(self) -> Step:
        args = {
            "filer_id": self.filer_id(lambda f: not f.real_name_verified),
            "actor": self.pick("actor", VERIFIER, REVIEWER),
        }
        return self.step(
            "verify_filer_real_name",
            args,
            self.actor_faults({Role.SYSTEM, Role.REVIEWER}, None),
            lambda a: self.ledger.verify_filer_real_name(a["actor"], a["filer_id"], "RN-0001"),
            lambda a: _change(
                self.ledger,
                Filer,
                "FilerRealNameVerified",
                a["filer_id"],
                reference="RN-0001",
                actor=a["actor"].as_record(),
            ),
        )

    def approve_filer(self) -> Step:
        return self.step(
            "approve_filer",
            {"filer_id": self.filer_id(_approvable), "actor": REVIEWER},
            self.actor_faults({Role.REVIEWER}, None),
            lambda a: self.ledger.approve_filer(a["actor"], a["filer_id"]),
            lambda a: _change(
                self.ledger,
                Filer,
                "FilerApproved",
                a["filer_id"],
                actor=a["actor"].as_record(),
                annex_rule=int(annex_rule_in_force()),
            ),
        )

    def confirm_filer_move(self) -> Step:
        def forge(a: Args) -> list[Any]:
            filer = _found(self.ledger, Filer, a["filer_id"])
            return _change(
                self.ledger,
                Filer,
                "FilerRegionMoveConfirmed",
                a["filer_id"],
                region_code=filer.region_code if filer else "310104",
                uscc_region=uscc_region(filer.uscc) if filer else "310115",
                reason=_cleaned(a["reason"]),
                actor=a["actor"].as_record(),
            )

        return self.step(
            "confirm_filer_move",
            {"filer_id": self.filer_id(_moved), "actor": REVIEWER, "reason": "迁址证明"},
            [*self.actor_faults({Role.REVIEWER}, None), *_reason_faults()],
            lambda a: self.ledger.confirm_filer_move(a["actor"], a["filer_id"], a["reason"]),
            forge,
        )

    def reject_filer(self) -> Step:
        return self.step(
            "reject_filer",
            {"filer_id": self.filer_id(_pending_filer), "actor": REVIEWER, "reason": REASON},
            [*self.actor_faults({Role.REVIEWER}, None), *_reason_faults()],
            lambda a: self.ledger.reject_filer(a["actor"], a["filer_id"], a["reason"]),
            lambda a: _change(
                self.ledger,
                Filer,
                "FilerRejected",
                a["filer_id"],
                reason=_cleaned(a["reason"]),
                actor=a["actor"].as_record(),
            ),
        )

    def resubmit_filer(self) -> Step:
        filer_id = self.filer_id(lambda f: f.status is FilerStatus.REJECTED)
        filer = _found(self.ledger, Filer, filer_id)
        code = filer.uscc if filer else A
        args = {
            "filer_id": filer_id,
            "actor": filer_actor(code),
            "name": self.pick("name", None, None, "上海更名科技有限公司"),
            "kind": self.pick("kind", None, None, KIND_OF[code]),
            "proof_digests": [digest("new licence")],
            "pledge_digest": digest("pledge 2"),
        }
        faults = [
            *self.actor_faults({Role.FILER}, code),
            Fault("kind_uscc_mismatch", "kind", MISFIT_KIND[KIND_OF[code]]),
        ]
        return self.step(
            "resubmit_filer",
            args,
            faults,
            lambda a: self.ledger.resubmit_filer(
                a["actor"],
                a["filer_id"],
                a["proof_digests"],
                a["pledge_digest"],
                name=a["name"],
                kind=a["kind"],
            ),
            lambda a: _change(
                self.ledger,
                Filer,
                "FilerResubmitted",
                a["filer_id"],
                proof_digests=a["proof_digests"],
                pledge_digest=a["pledge_digest"],
                actor=a["actor"].as_record(),
                annex_rule=int(annex_rule_in_force()),
                name=a["name"],
                kind=a["kind"],
                region_code=None,
                contact=None,
            ),
        )

    # --- filings ----------------------------------------------------------------------------
    def file_product(self) -> Step:
        approved = [
            c for c in (A, B, C, UNIVERSITY) if self.filer_status(c) is FilerStatus.APPROVED
        ]
        code = self.pick("filer", *approved * 6, A, B, C, UNIVERSITY)
        one, other = self.pick("patent", *PATENTS), self.pick("patent", *PATENTS)
        args = {
            "actor": filer_actor(code),
            "filer_id": self.pick("filer_id", *[filer_id_for(code)] * 6, *self.products()[:1]),
            "name": self.pick("name", *NAMES),
            "model": self.pick("model", *MODELS),
            "category": self.pick("category", "03", "05", "03", "unclassified"),
            "patents": sorted({one, other}),
            "data_year": self.pick("data_year", 2023, 2022, 2024),
            "figures": GOOD_FIGURES,
            "product_id": self.data.draw(st.uuids(version=4), label="product_id"),
            "finer_code": None,
            "proof_digests": [digest("invoice")],
        }
        faults = [
            *self.actor_faults({Role.FILER}, code),
            Fault("category_invalid", "category", "99"),
            *_patent_faults(one),
            *_figure_faults(),
            Fault("data_year_in_future", "data_year", 2025),
            Fault("year_invalid", "data_year", 1900),
            Fault("category_invalid", "finer_code", "0799"),  # under none drawn
            Fault("digest_invalid", "proof_digests", ["not a digest"]),
            Fault("text_invalid", "name", "阀" * 201),
            Fault("id_not_allowed", "product_id", filer_id_for(C)),  # a uuid5
            *[Fault("filing_id_taken", "product_id", taken) for taken in self.products()[:1]],
        ]

        def issue(a: Args) -> object:
            return self.ledger.file_product(
                a["actor"], filer_id=a["filer_id"], name=a["name"], model=a["model"],
                variants=["白色"], category=a["category"], finer_code=a["finer_code"],
                patents=[PatentDeclaration.parse(n, "owner") for n in a["patents"]],
                data_year=a["data_year"], figures=_economic(a["figures"]),
                proof_digests=a["proof_digests"], product_id=a["product_id"],
            )  # fmt: skip

        return self.step(
            "file_product", args, faults, issue, lambda a: _forge_filing(self.ledger, a)
        )

    def approve_product(self) -> Step:
        product_id = self.product_id(_pending_product)
        try:
            candidates = [str(c.product_id) for c in self.ledger.screening_of(product_id).open]
        except DomainError:  # not a filing
            candidates = []
        decide = self.pick("decide", True, True, True, False)  # False: leave them open
        args = {
            "product_id": product_id,
            "actor": REVIEWER,
            "distinct": dict.fromkeys(candidates, "型号与用途不同") if decide else {},
        }
        faults = [
            *self.actor_faults({Role.REVIEWER}, None),
            Fault("not_a_candidate", "distinct", {str(NOBODY): "不同产品"}),
            Fault("not_a_candidate", "distinct", {"not-a-filing": "不同产品"}),
            Fault("reason_required", "distinct", dict.fromkeys(candidates[:1] or ["x"], " ")),
        ]

        def forge(a: Args) -> list[Any]:
            decisions = sorted((_canonical_uuid(k), _cleaned(v)) for k, v in a["distinct"].items())
            approval = _change(
                self.ledger,
                Product,
                "FilingApproved",
                a["product_id"],
                actor=a["actor"].as_record(),
                screening_rule=int(screening_rule_in_force()),
                distinct=[{"product_id": k, "reason": v} for k, v in decisions],
            )
            return approval + _forge_number(self.ledger, a["product_id"], a["actor"], approval)

        return self.step(
            "approve_product",
            args,
            faults,
            lambda a: self.ledger.approve_product(
                a["actor"], a["product_id"], distinct=a["distinct"]
            ),
            forge,
        )

    def reject_product(self) -> Step:
        product_id = self.product_id(_pending_product)
        others = [p for p in self.products() if p != product_id]
        args = {
            "product_id": product_id,
            "actor": REVIEWER,
            "reason": REASON,
            "duplicate_of": self.pick("duplicate_of", None, None, *others[:2]),
        }
        faults = [
            *self.actor_faults({Role.REVIEWER}, None),
            *_reason_faults(),
            Fault("duplicate_of_invalid", "duplicate_of", product_id),
            Fault("duplicate_of_invalid", "duplicate_of", filer_id_for(A)),
        ]
        return self.step(
            "reject_product",
            args,
            faults,
            lambda a: self.ledger.reject_product(
                a["actor"], a["product_id"], a["reason"], duplicate_of=a["duplicate_of"]
            ),
            lambda a: _change(
                self.ledger,
                Product,
                "FilingRejected",
                a["product_id"],
                reason=_cleaned(a["reason"]),
                actor=a["actor"].as_record(),
                duplicate_of=None if a["duplicate_of"] is None else str(a["duplicate_of"]),
            ),
        )

    def revise_product(self) -> Step:
        product_id = self.product_id(_revisable)
        product = _found(self.ledger, Product, product_id)
        owner = product.filer_uscc if product else A
        current = product.data_year if product else 2022
        declared = [p["number"] for p in product.patents] if product else PATENTS
        one = self.pick("patent", *declared)
        args = {
            "product_id": product_id,
            "actor": filer_actor(owner),
            "data_year": self.pick("data_year", *[min(current + 1, 2024)] * 3, current - 1),
            "figures": GOOD_FIGURES,
            "patents": [one],
            "category": self.pick("category", None, None, "05", "unclassified"),
        }
        faults = [
            *self.actor_faults({Role.FILER}, owner, "product_not_owned"),
            *_patent_faults(one),
            *_figure_faults(),
            Fault("data_year_in_future", "data_year", 2025),
            Fault("category_invalid", "category", "99"),
        ]

        def forge(a: Args) -> list[Any]:
            annex, category = annex_rule_in_force(), a["category"]
            industry, finer = (None, None) if category is None else _category(category, None)
            return _change(
                self.ledger,
                Product,
                "ProductRevised",
                a["product_id"],
                data_year=a["data_year"],
                figures=a["figures"],
                patents=[PatentDeclaration.parse(n, "owner").as_record() for n in a["patents"]],
                proof_digests=[digest("invoice 2")],
                actor=a["actor"].as_record(),
                annex_rule=int(annex),
                category=industry,
                finer_code=finer,
            )

        def issue(a: Args) -> object:
            return self.ledger.revise_product(
                a["actor"], a["product_id"], data_year=a["data_year"],
                figures=_economic(a["figures"]),
                patents=[PatentDeclaration.parse(n, "owner") for n in a["patents"]],
                proof_digests=[digest("invoice 2")], category=a["category"],
            )  # fmt: skip

        return self.step("revise_product", args, faults, issue, forge)

    def withdraw_product(self) -> Step:
        product_id = self.product_id(_live)
        product = _found(self.ledger, Product, product_id)
        owner = product.filer_uscc if product else A
        args = {
            "product_id": product_id,
            "actor": self.pick("actor", filer_actor(owner), REVIEWER),
            "reason": REASON,
        }
        faults = [
            *self.actor_faults({Role.FILER, Role.REVIEWER}, owner, "product_not_owned"),
            *_reason_faults(),
        ]
        return self.step(
            "withdraw_product",
            args,
            faults,
            lambda a: self.ledger.withdraw_product(a["actor"], a["product_id"], a["reason"]),
            lambda a: _change(
                self.ledger,
                Product,
                "ProductWithdrawn",
                a["product_id"],
                reason=_cleaned(a["reason"]),
                actor=a["actor"].as_record(),
            ),
        )

    # --- ownership disputes -----------------------------------------------------------------
    def raise_dispute(self) -> Step:
        product_id = self.product_id(_live)
        product = _found(self.ledger, Product, product_id)
        declared = [p["number"] for p in product.patents] if product else PATENTS
        used = self.disputes(product_id)
        args = {
            "product_id": product_id,
            "actor": self.pick("actor", REVIEWER, filer_actor(A), filer_actor(B)),
            "patent_numbers": [self.pick("patent", *declared)],
            "evidence_digests": [digest("evidence")],
            "dispute_id": f"d{len(used) + 1}",
        }
        undeclared = [n for n in PATENTS if n not in declared]
        faults = [
            *self.actor_faults({Role.REVIEWER, Role.FILER}, None),
            Fault("no_valid_patent", "patent_numbers", []),
            *[Fault("no_valid_patent", "patent_numbers", [n]) for n in undeclared[:1]],
            Fault("patent_number_invalid", "patent_numbers", [NOT_A_PATENT]),
            Fault("evidence_required", "evidence_digests", []),
            Fault("digest_invalid", "evidence_digests", ["not a digest"]),
            *[Fault("dispute_already_open", "dispute_id", d) for d in used[:1]],
        ]

        def forge(a: Args) -> list[Any]:
            rule, actor = int(dispute_rule_in_force()), a["actor"]
            numbers = {
                _attempt(lambda n=n: PatentNumber.parse(n).value, n) for n in a["patent_numbers"]
            }
            evidence = [
                _attempt(lambda d=d: Sha256Digest.parse(d).hex, d) for d in a["evidence_digests"]
            ]
            return _change(
                self.ledger,
                Product,
                "OwnershipDisputeRaised",
                a["product_id"],
                dispute_id=a["dispute_id"],
                patent_numbers=sorted(numbers),
                claimant="某公司",
                description="权属争议",
                actor=actor.as_record(),
                dispute_rule=rule,
                evidence_digests=evidence,
                accepted=accepted_on_raising(rule, actor.role.value),
            )

        return self.step(
            "raise_dispute",
            args,
            faults,
            lambda a: self.ledger.raise_dispute(
                a["actor"],
                a["product_id"],
                patent_numbers=a["patent_numbers"],
                claimant="某公司",
                description="权属争议",
                evidence_digests=a["evidence_digests"],
                dispute_id=a["dispute_id"],
            ),
            forge,
        )

    def accept_dispute(self) -> Step:
        product_id = self.product_id(lambda p: bool(_claims(p, accepted=False)))
        args = {
            "product_id": product_id,
            "actor": REVIEWER,
            "dispute_id": self.pick(
                "dispute_id",
                *self.claims(product_id, accepted=False) * 3,
                *self.disputes(product_id),
                "d9",
            ),
        }
        return self.step(
            "accept_dispute",
            args,
            self.actor_faults({Role.REVIEWER}, None),
            lambda a: self.ledger.accept_dispute(a["actor"], a["product_id"], a["dispute_id"]),
            lambda a: _change(
                self.ledger,
                Product,
                "OwnershipDisputeAccepted",
                a["product_id"],
                dispute_id=a["dispute_id"],
                actor=a["actor"].as_record(),
            ),
        )

    def resolve_dispute(self) -> Step:
        product_id = self.product_id(lambda p: bool(p.open_disputes))
        args = {
            "product_id": product_id,
            "actor": REVIEWER,
            "dispute_id": self.pick(
                "dispute_id", *self.claims(product_id) * 3, *self.disputes(product_id), "d9"
            ),
            "outcome": self.pick("outcome", *[o.value for o in DisputeOutcome]),
        }
        faults = [
            *self.actor_faults({Role.REVIEWER}, None),
            Fault("dispute_outcome_invalid", "outcome", "withdrawn_by_claimant"),
        ]

        def forge(a: Args) -> list[Any]:
            product, annex = _found(self.ledger, Product, a["product_id"]), annex_rule_in_force()
            dispute = product.open_disputes.get(a["dispute_id"]) if product else None
            removed: list[str] = []
            returned = False
            upheld = a["outcome"] == DisputeOutcome.CLAIM_UPHELD
            if dispute and upheld and annex is not AnnexRule.NONE:  # as Product.resolve_dispute
                valid = {p["number"] for p in product.valid_patents}
                removed = sorted(valid & set(dispute["patent_numbers"]))
                returned = product.status is ProductStatus.APPROVED and not valid - set(removed)
            return _change(
                self.ledger,
                Product,
                "OwnershipDisputeResolved",
                a["product_id"],
                dispute_id=a["dispute_id"],
                outcome=a["outcome"],
                note="处理意见",
                actor=a["actor"].as_record(),
                annex_rule=int(annex),
                removed_patents=removed,
                returned_to_review=returned,
            )

        return self.step(
            "resolve_dispute",
            args,
            faults,
            lambda a: self.ledger.resolve_dispute(
                a["actor"], a["product_id"], a["dispute_id"], a["outcome"], "处理意见"
            ),
            forge,
        )

    # --- conversions and publications -------------------------------------------------------
    def report_conversion(self) -> Step:
        code = self.pick("institution_uscc", INSTITUTION, INSTITUTION, INSTITUTION, A)
        args = {
            "actor": institution_actor(code),
            "institution_uscc": code,
            "patent_number": self.pick("patent", *PATENTS[:2]),
            "category": self.pick("category", "assigned", "ordinary_licence"),
            "counterparty": "上海某科技有限公司",
            "occurred_on": "2023-02-01",
            "amount_fen": self.pick("amount_fen", None, 1_000_000),
        }
        faults = [
            *self.actor_faults({Role.INSTITUTION}, code),
            Fault("category_invalid", "category", "sold"),
            Fault("date_invalid", "occurred_on", "2023-02-30"),
            Fault("money_invalid", "amount_fen", -1),
            Fault("patent_number_invalid", "patent_number", NOT_A_PATENT),
            Fault("uscc_invalid", "institution_uscc", _misspelt(code)),
            Fault("text_invalid", "counterparty", "某" * 201),
        ]

        def forge(a: Args) -> list[Any]:
            code, number = a["institution_uscc"], a["patent_number"]
            actor = a["actor"].as_record()
            record = _found(self.ledger, PatentConversion, conversion_record_id(code, number))
            if record is None:
                record = PatentConversion(
                    institution_uscc=code, patent_number=number, region_code=code[2:8],
                    actor=actor,
                )  # fmt: skip
            report = ("category", "counterparty", "occurred_on", "amount_fen")
            record.report(**{k: a[k] for k in report}, actor=actor)
            return _pending(record)

        return self.step(
            "report_conversion", args, faults, lambda a: self.ledger.report_conversion(**a), forge
        )

    def publish_statistics(self) -> Step:
        args = {
            "actor": self.pick("actor", SYSTEM, REVIEWER),
            "period": self.pick("period", "2024-02", "2024-01"),
            "tree_size": self.pick("tree_size", len(self.events), 0),
            "rules": {"min_filers": 3},
            "counts": [],
            "cells": self.pick("cells", [], [CELL]),
        }
        faults = [
            *self.actor_faults({Role.SYSTEM, Role.REVIEWER}, None),
            Fault("period_invalid", "period", "2024-13"),
            Fault("publication_invalid", "tree_size", -1),
            Fault("publication_invalid", "cells", [{**CELL, "suppressed": "primary"}]),
            Fault("publication_invalid", "counts", [{"level": "city", "filers": 1}]),
        ]

        def forge(a: Args) -> list[Any]:
            fields = {k: v for k, v in a.items() if k != "actor"}
            record = a["actor"].as_record()
            return _pending(StatisticsPublication(**fields, actor=record))

        return self.step(
            "publish_statistics", args, faults, lambda a: self.ledger.publish_statistics(**a), forge
        )

    ON_FILERS: tuple[Callable[[Driver], Step], ...] = (
        file_product, register_filer, verify_filer_real_name, approve_filer, confirm_filer_move,
        reject_filer, resubmit_filer, file_product, report_conversion, publish_statistics,
        file_product,
    )  # fmt: skip
    ON_PRODUCTS: tuple[Callable[[Driver], Step], ...] = (
        approve_product, raise_dispute, reject_product, revise_product, withdraw_product,
        accept_dispute, resolve_dispute, approve_product, raise_dispute, resolve_dispute,
        revise_product, accept_dispute,
    )  # fmt: skip

    def next_step(self) -> Step:
        """Any command that records events; those on filings mostly once there are some
        (filing, approving a filing and disputes more often, to reach later states)."""
        on_products = self.ON_PRODUCTS if self.products() else self.ON_PRODUCTS[:2]
        command = self.data.draw(st.sampled_from((*self.ON_FILERS, *on_products)), "command")
        return command(self)


def _start(ledger: SignedPatentLedger, code: str, state: str) -> None:
    """Bring filer ``code`` to ``state`` (one of ``STATES``) honestly, before the commands
    drawn: so that every filer state is met without a long chain of drawn commands."""
    if state == "none":
        return
    filer_id = ledger.register_filer(
        filer_actor(code), uscc=code, name=f"上海测试科技有限公司{code[-4:]}",
        kind=KIND_OF[code], region_code="310104" if state == "moved" else "310115",
        contact=CONTACT, proof_digests=[digest("licence")], pledge_digest=digest("pledge"),
    )  # fmt: skip
    if state == "rejected":
        ledger.reject_filer(REVIEWER, filer_id, REASON)
    if state in ("verified", "moved", "approved"):
        ledger.verify_filer_real_name(VERIFIER, filer_id, "RN-0001")
    if state == "approved":
        ledger.approve_filer(REVIEWER, filer_id)


def _start_filing(ledger: SignedPatentLedger, code: str, number: int, state: str) -> None:
    """File a product of approved filer ``code`` and bring it to ``state`` (one of
    ``FILING_STATES``) honestly, before the commands drawn."""
    if state == "none":
        return
    product_id = ledger.file_product(
        filer_actor(code), filer_id=filer_id_for(code), name=NAMES[number],
        model=MODELS[number], variants=["白色"], category="03", finer_code=None,
        patents=[PatentDeclaration.parse(PATENTS[number], "owner")], data_year=2023,
        figures=_economic(GOOD_FIGURES), proof_digests=[digest("invoice")],
        product_id=UUID(int=number + 1, version=4),
    )  # fmt: skip
    if state in ("approved", "claimed", "withdrawn"):
        candidates = ledger.screening_of(product_id).open
        distinct = {str(c.product_id): "型号与用途不同" for c in candidates}
        ledger.approve_product(REVIEWER, product_id, distinct=distinct)
    if state == "rejected":
        ledger.reject_product(REVIEWER, product_id, REASON)
    if state == "withdrawn":
        ledger.withdraw_product(filer_actor(code), product_id, REASON)
    if state in ("claimed", "disputed"):
        claimant = REVIEWER if state == "disputed" else filer_actor(B if code == A else A)
        ledger.raise_dispute(
            claimant, product_id, patent_numbers=[PATENTS[number]], claimant="某公司",
            description="权属争议", evidence_digests=[digest("evidence")], dispute_id="d1",
        )  # fmt: skip


def _approve_filers(ledger: SignedPatentLedger, codes: Iterable[str]) -> None:
    for code in codes:
        _start(ledger, code, "approved")


def _forge_number(
    ledger: SignedPatentLedger, product_id: UUID, actor: Actor, before: list[Any]
) -> list[Any]:
    """The filing number events an approval of ``product_id`` saves after ``before`` (its
    FilingApproved): none when the product has a number or no rule numbers; else its
    FilingNumberAssigned and its series' event, made of its first approval (now, if this is
    it) and its filer's region."""
    product = _found(ledger, Product, product_id)
    numbering = filing_number_rule_in_force()
    if product is None or product.filing_number is not None or not numbering:
        return []
    first = product.first_approved_at or clock.now()
    filer = _found(ledger, Filer, product.filer_id)
    year, region = approval_year(first), filer.region_code
    series = _found(ledger, FilingNumberSeries, series_id(year, region))
    if series is None:
        series = FilingNumberSeries.open(year, region, product_id, NUMBERING.as_record())
        number = series.last_number
    else:
        number = series.issue(product_id, NUMBERING.as_record())
    assigned = Product.FilingNumberAssigned(  # type: ignore[call-arg]
        originator_id=product_id,
        originator_version=before[-1].originator_version + 1 if before else product.version + 1,
        timestamp=clock.now(),
        filing_number=number,
        filing_number_rule=int(numbering),
        actor=NUMBERING.as_record(),
    )
    return [assigned, *_pending(series)]


def _pending(*aggregates: Any) -> list[Any]:
    """The new events of ``aggregates``, in the order ``save`` stores them."""
    return [e for aggregate in aggregates for e in aggregate.collect_events()]


def _attempt(parse: Callable[[], T], raw: T) -> T:
    """What the command records once ``parse`` accepts the input; the raw input if it refuses
    (the command would refuse: the forged event carries what it was given)."""
    try:
        return parse()
    except DomainError:
        return raw


def _cleaned(text: str) -> str:
    """A reason as the command records it (stripped, NFC), or as given if it refuses it."""
    return _attempt(lambda: clean_text(text, field="text", max_length=2000), text)


def _category(category: str, finer_code: str | None) -> tuple[str, str | None]:
    """A filing's category as the command records it, or as given if it refuses it."""
    parsed = (category, finer_code)
    return _attempt(lambda: parse_product_category(*parsed, annex_rule_in_force()), parsed)


def _canonical_uuid(text: str) -> str:
    """A decision's key as the command records it: the canonical text of a UUID."""
    try:
        return str(UUID(text))
    except ValueError:
        return text  # refused by the command (not_a_candidate): recorded as given


def _economic(figures: Mapping[str, int]) -> EconomicFigures:
    return EconomicFigures.of_fen(
        sales=figures["sales_fen"],
        exports=figures["exports_fen"],
        profit=figures["profit_fen"],
        ip_spending=figures["ip_spending_fen"],
    )


# --- reading the log as the auditor does --------------------------------------------------------


def _logged(
    ledger: SignedPatentLedger, stored: Sequence[Any], first_leaf: int
) -> list[LoggedEvent]:
    """Stored events (signed envelopes) as the auditor reads them, from leaf ``first_leaf``."""
    logged = []
    for offset, record in enumerate(stored):
        originator_id = UUID(str(record.originator_id))
        envelope = parse_envelope(originator_id, record.originator_version, record.state)
        state = decode_canonical(envelope.state)
        logged.append(
            LoggedEvent(
                first_leaf + offset, originator_id, record.originator_version, record.topic, state
            )
        )
    return logged


def _new_events(ledger: SignedPatentLedger, known: int) -> list[LoggedEvent]:
    notifications = ledger.recorder.select_notifications(start=known + 1, limit=10**6)
    return _logged(ledger, notifications, known)


def _forged(ledger: SignedPatentLedger, events: list[Any], first_leaf: int) -> list[LoggedEvent]:
    """The forged save, signed by the ledger's key as one save, as the auditor reads it."""
    mapper = ledger.mapper
    assert isinstance(mapper, SigningMapper)
    return _logged(ledger, mapper.to_stored_events(events), first_leaf)


# --- the property -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    folder: Path = tmp_path_factory.mktemp("keys")
    return open_keyring(
        signing_key_file=None, key_dir=folder, manifest_file=folder / "keys.json", now=T0
    )


def _ledger(keyring: KeyRing) -> SignedPatentLedger:
    """A fresh ledger in memory, its events signed as in production."""
    return SignedPatentLedger({"PERSISTENCE_MODULE": "eventsourcing.popo"}, keyring)


@contextmanager
def _at(moment: datetime) -> Iterator[None]:
    with clock.using_clock(lambda: moment):
        yield


def _settled(code: str, reason: str) -> bool:
    """Whether the replay's ``reason`` is the domain's refusal ``code``, or a rule the same
    event also breaks that the replay checks first (``ALSO_REFUSED``)."""
    return CORRESPONDENCE[code].matches(reason) or any(
        first == code and CORRESPONDENCE[second].matches(reason) for first, second in ALSO_REFUSED
    )


def _replay_refusal(driver: Driver, step: Step, code: str, forged: list[Any]) -> InvalidReplayError:
    """The replay's refusal of the honest log and the forged events after it, which must name
    a forged event."""
    logged = _forged(driver.ledger, forged, len(driver.events))
    try:
        forged_replay([*driver.events, *logged])
    except InvalidReplayError as error:
        refusal = error
    else:
        pytest.fail(
            f"a gap: {step.command} is refused with {code}, and the events it would have "
            f"recorded replay clean: {[e.topic for e in logged]}"
        )
    named = (refusal.originator_id, refusal.version, refusal.leaf_index)
    assert named in {(e.originator_id, e.version, e.leaf_index) for e in logged}, (
        f"{step.command} is refused with {code}; the replay names an honest event: {refusal}"
    )
    return refusal


def _check_refusal(driver: Driver, step: Step, refusal: DomainError, forged: list[Any]) -> None:
    """The replay refuses the forged events for the domain's reason.

    A command given a fault may break a rule of state too, and the domain and the replay need
    not check the two in the same order. Then the same command is issued again with the fault
    repaired: the domain must refuse it for a rule of state, the replay must refuse its forged
    events for that rule, and the first refusal must be for the fault or that rule.
    """
    code = refusal.code
    assert code not in NOT_JUDGED, f"{step.command}: drew an input of a known gap ({code})"
    assert code in CORRESPONDENCE, f"{step.command} is refused with {code}: add it to a table"
    assert _new_events(driver.ledger, len(driver.events)) == [], "a refusal recorded events"
    error = _replay_refusal(driver, step, code, forged)
    if _settled(code, error.reason):
        return
    mismatch = (
        f"{step.command} is refused with [{code}] {refusal.message}; the replay refuses its "
        f"events for another reason: {error.reason!r} (want {CORRESPONDENCE[code].reasons})"
    )
    fault = step.fault
    assert fault is not None, mismatch
    try:
        step.issue(step.args)
    except DomainError as repaired:
        state_code = repaired.code
    else:  # the fault was the only cause: the domain should have named it
        driver.events.extend(_new_events(driver.ledger, len(driver.events)))
        assert (code, fault.code) in MISNAMED, f"{mismatch}; accepted with the fault repaired"
        assert _settled(fault.code, error.reason), mismatch
        event(f"misnamed: {code} for {fault.code}")
        return
    again = _replay_refusal(driver, step, state_code, step.forge(step.args))
    assert _settled(state_code, again.reason), (
        f"{step.command} (the fault repaired) is refused with {state_code}; the replay: "
        f"{again.reason!r}"
    )
    assert _settled(state_code, error.reason) or _settled(fault.code, error.reason), (
        f"{mismatch}; with the fault ({fault.code}) repaired, the domain refuses with {state_code}"
    )
    first = state_code if _settled(state_code, error.reason) else fault.code
    event(f"two rules broken: {code}; the replay names {first} first")


def _check_acceptance(driver: Driver, step: Step, forged: list[Any]) -> None:
    """The command recorded exactly the forged events (the forger computes as it does), and
    the honest log with them replays clean."""
    recorded = _new_events(driver.ledger, len(driver.events))
    logged = _forged(driver.ledger, forged, len(driver.events))
    assert recorded == logged, f"{step.command}: the forger differs from the command"
    driver.events.extend(recorded)
    try:
        forged_replay(driver.events)  # the honest log so far replays clean
    except InvalidReplayError as error:
        pytest.fail(f"the domain accepted {step.command}; the replay refuses it: {error}")


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_refused_command_forged_as_its_event_fails_the_replay_for_its_reason(
    keyring: KeyRing, data: st.DataObject
) -> None:
    driver = Driver(_ledger(keyring), data)
    with _at(T0 - timedelta(days=1)):
        for code in (A, B, C, UNIVERSITY):
            _start(driver.ledger, code, data.draw(st.sampled_from(STATES), f"start of {code}"))
        filers = [c for c in (A, B, C) if driver.filer_status(c) is FilerStatus.APPROVED]
        for number, code in enumerate(filers[:2]):
            state = data.draw(st.sampled_from(FILING_STATES), f"start of filing {number}")
            _start_filing(driver.ledger, code, number, state)
    driver.events = _new_events(driver.ledger, 0)
    for number in range(data.draw(st.integers(20, 80), label="steps")):
        with _at(T0 + timedelta(minutes=number)):
            step = driver.next_step()
            forged = step.forge(step.given)  # on the state before the command
            try:
                step.issue(step.given)
            except DomainError as refusal:
                event(f"refused: {step.command} [{refusal.code}]")
                _check_refusal(driver, step, refusal, forged)
            else:
                event(f"accepted: {step.command}")
                _check_acceptance(driver, step, forged)
    event(f"honest log: {len(driver.events) // 20 * 20}+ events")
    forged_replay(driver.events)  # the honest log replays clean


# --- refusals the property does not draw -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    """One refusal: after the honest ``setup``, the domain refuses ``command`` with ``code``;
    the events ``forge`` returns are the ones it would record."""

    code: str
    setup: Callable[[SignedPatentLedger], None]
    command: Callable[[SignedPatentLedger], object]
    forge: Callable[[SignedPatentLedger], list[Any]]


BAD_USCC = _misspelt(A)  # the check character of another USCC


def _nothing(ledger: SignedPatentLedger) -> None:
    """No setup."""


def _approved_a(ledger: SignedPatentLedger) -> None:
    with _at(T0 - timedelta(days=1)):
        _approve_filers(ledger, [A])


def _registration(**override: Any) -> tuple[Callable[..., object], Callable[..., list[Any]]]:
    """A registration by a reviewer with ``override`` applied: the command and its forgery."""
    fields = {
        "uscc": A, "name": "上海测试科技有限公司", "kind": "enterprise", "region_code": "310115",
        "proof_digests": [digest("licence")], "pledge_digest": digest("pledge"), **override,
    }  # fmt: skip
    return (
        lambda ledger: ledger.register_filer(REVIEWER, contact=CONTACT, **fields),
        lambda ledger: _pending(
            Filer(
                **fields, contact=CONTACT.as_record(), actor=REVIEWER.as_record(),
                annex_rule=int(annex_rule_in_force()),
            )
        ),
    )  # fmt: skip


PRODUCT_ID = UUID("8f5a3c1e-2b4d-4e6f-9a7b-1c2d3e4f5a6b")
OTHER_PRODUCT_ID = UUID("2d6c1b9e-7f3a-4c5d-8e1f-0a9b8c7d6e5f")


def _filing(**override: Any) -> tuple[Callable[..., object], Callable[..., list[Any]]]:
    """A filing of approved filer A with ``override`` applied: the command and its forgery."""
    args = {
        "actor": filer_actor(A), "filer_id": filer_id_for(A), "name": "智能温控阀",
        "model": "TV-100", "category": "03", "finer_code": None, "patents": [PATENTS[0]],
        "data_year": 2023, "figures": GOOD_FIGURES, "product_id": PRODUCT_ID,
        "proof_digests": [digest("invoice")], **override,
    }  # fmt: skip
    relation = args.pop("relation", "owner")

    def command(ledger: SignedPatentLedger) -> object:
        return ledger.file_product(
            args["actor"], filer_id=args["filer_id"], name=args["name"], model=args["model"],
            variants=["白色"], category=args["category"], finer_code=args["finer_code"],
            patents=[PatentDeclaration.parse(n, relation) for n in args["patents"]],
            data_year=args["data_year"], figures=_economic(args["figures"]),
            proof_digests=args["proof_digests"], product_id=args["product_id"],
        )  # fmt: skip

    def forge(ledger: SignedPatentLedger) -> list[Any]:
        events = _forge_filing(ledger, args)
        for patent_record in events[0].patents:
            patent_record["relation"] = relation  # a licensee citing no licence
        return events

    return command, forge


def _filed_a(ledger: SignedPatentLedger) -> None:
    _approved_a(ledger)
    with _at(T0):
        _filing()[0](ledger)


def _registered_a(ledger: SignedPatentLedger) -> None:
    _registration()[0](ledger)


def _with_patent_record(
    forge: Callable[[SignedPatentLedger], list[Any]], **fields: Any
) -> Callable[[SignedPatentLedger], list[Any]]:
    """``forge``, its filing's first patent record changed: what a command given a patent
    the declaration refuses would record."""

    def forged(ledger: SignedPatentLedger) -> list[Any]:
        events = forge(ledger)
        events[0].patents[0].update(fields)
        return events

    return forged


def _numbering_pending(ledger: SignedPatentLedger) -> list[Any]:
    """A filing number for PRODUCT_ID, pending review (never approved), by the migration."""
    with _at(T0):
        region = _found(ledger, Filer, filer_id_for(A)).region_code
        series = FilingNumberSeries.open(T0.year, region, PRODUCT_ID, SYSTEM.as_record())
        assigned = _change(
            ledger, Product, "FilingNumberAssigned", PRODUCT_ID,
            filing_number=series.last_number, filing_number_rule=1, actor=SYSTEM.as_record(),
        )  # fmt: skip
        return [*assigned, *_pending(series)]


CASES: dict[str, Case] = {
    "FilingNumberAssigned on a product never approved": Case(
        "filing_number_not_allowed",
        _filed_a,
        lambda ledger: ledger.number_product(SYSTEM, PRODUCT_ID),
        _numbering_pending,
    ),
    "FilerRegistered with an invalid USCC": Case(
        "uscc_invalid", _nothing, *_registration(uscc=BAD_USCC)
    ),
    "FilerRegistered with an invalid region code": Case(
        "region_code_invalid", _nothing, *_registration(region_code="999999")
    ),
    "FilerRegistered with a Shanghai code of no district": Case(
        "region_code_invalid", _nothing, *_registration(region_code="310199")
    ),
    "FilerRegistered with a name too long": Case(
        "text_invalid", _nothing, *_registration(name="名" * 201)
    ),
    "FilerRegistered with a control character in its name": Case(
        "text_invalid", _nothing, *_registration(name="上海\u202e测试")
    ),
    "FilerRegistered with an invalid pledge digest": Case(
        "digest_invalid", _nothing, *_registration(pledge_digest="not a digest")
    ),
    "FilerRegistered with an invalid proof digest": Case(
        "digest_invalid", _nothing, *_registration(proof_digests=["0" * 63])
    ),
    "FilerRejected with a blank reason": Case(
        "reason_required",
        _registered_a,
        lambda ledger: ledger.reject_filer(REVIEWER, filer_id_for(A), "   "),
        lambda ledger: _change(
            ledger,
            Filer,
            "FilerRejected",
            filer_id_for(A),
            reason="   ",
            actor=REVIEWER.as_record(),
        ),
    ),
    "ProductFiled with a data year out of range": Case(
        "year_invalid", _approved_a, *_filing(data_year=1900)
    ),
    "ProductFiled with a finer code of another category": Case(
        "category_invalid", _approved_a, *_filing(finer_code="0501")
    ),
    "ProductFiled with sales above the money range": Case(
        "money_invalid",
        _approved_a,
        *_filing(figures={**GOOD_FIGURES, "sales_fen": MONEY_MAX_FEN + 1}),
    ),
    "ProductFiled with an invalid proof digest": Case(
        "digest_invalid", _approved_a, *_filing(proof_digests=["not a digest"])
    ),
    "ProductFiled with a licensee's patent and no licence": Case(
        "licence_reference_missing", _approved_a, *_filing(relation="licensee")
    ),
    "ProductFiled with an invalid patent number": Case(
        "patent_number_invalid",
        _approved_a,
        _filing(patents=[NOT_A_PATENT])[0],
        _with_patent_record(_filing()[1], number=NOT_A_PATENT),
    ),
    "ProductFiled with a name too long": Case(
        "text_invalid", _approved_a, *_filing(name="阀" * 201)
    ),
    "ProductFiled with exports above the money range": Case(
        "money_invalid",
        _approved_a,
        *_filing(figures={**GOOD_FIGURES, "exports_fen": MONEY_MAX_FEN + 1}),
    ),
    "FilingRejected with a blank reason": Case(
        "reason_required",
        _filed_a,
        lambda ledger: ledger.reject_product(REVIEWER, PRODUCT_ID, "   "),
        lambda ledger: _change(
            ledger,
            Product,
            "FilingRejected",
            PRODUCT_ID,
            reason="   ",
            actor=REVIEWER.as_record(),
            duplicate_of=None,
        ),
    ),
    "ProductWithdrawn with a blank reason": Case(
        "reason_required",
        _filed_a,
        lambda ledger: ledger.withdraw_product(REVIEWER, PRODUCT_ID, "   "),
        lambda ledger: _change(
            ledger,
            Product,
            "ProductWithdrawn",
            PRODUCT_ID,
            reason="   ",
            actor=REVIEWER.as_record(),
        ),
    ),
    "ConversionRecordOpened for an invalid patent number": Case(
        "patent_number_invalid",
        _nothing,
        lambda ledger: ledger.report_conversion(
            institution_actor(INSTITUTION),
            institution_uscc=INSTITUTION,
            patent_number=NOT_A_PATENT,
            category="assigned",
            counterparty="某公司",
            occurred_on="2023-02-01",
        ),
        lambda ledger: _conversion(NOT_A_PATENT),
    ),
    "StatisticsPublished with cells not of the published shape": Case(
        "publication_invalid",
        _nothing,
        lambda ledger: ledger.publish_statistics(
            SYSTEM, period="2024-02", tree_size=0, rules={}, counts=[], cells=[{"x": 1}]
        ),
        lambda ledger: _pending(
            StatisticsPublication(
                period="2024-02",
                tree_size=0,
                rules={},
                counts=[],
                cells=[{"x": 1}],
                actor=SYSTEM.as_record(),
            )
        ),
    ),
}
"""Refusals the property does not draw, one case each: mostly values the replay once read as
"a string" or not at all (the gaps this test found, closed by audit/offline/replay_values.py).
Not here: ``patent_count_invalid`` (more than domain.ranges.PATENT_COUNT_MAX, a million,
patents is too big an event to build: ``test_a_filing_declaring_too_many_patents_is_refused``
lowers the replay's copy of the bound instead)."""

KNOWN_GAPS: frozenset[str] = frozenset()
"""Cases of ``CASES`` the replay does not judge yet, each a strict xfail: when the replay
learns the rule, its case passes and the xfail says so. Every code of ``NOT_JUDGED`` has one."""


def _conversion(number: str) -> list[Any]:
    actor = institution_actor(INSTITUTION).as_record()
    record = PatentConversion(
        institution_uscc=INSTITUTION, patent_number=number, region_code="310115", actor=actor
    )
    record.report(
        category="assigned", counterparty="某公司", occurred_on="2023-02-01", amount_fen=None,
        actor=actor,
    )  # fmt: skip
    return _pending(record)


def test_every_code_not_judged_has_a_known_gap_case():
    assert not KNOWN_GAPS - set(CASES), "a known gap names no case"
    assert set(NOT_JUDGED) <= {CASES[desc].code for desc in KNOWN_GAPS}


@pytest.mark.parametrize("desc", CASES)
def test_the_domain_refuses_each_case(keyring: KeyRing, desc: str) -> None:
    case, ledger = CASES[desc], _ledger(keyring)
    case.setup(ledger)
    with _at(T0), pytest.raises(DomainError) as refused:
        case.command(ledger)
    assert refused.value.code == case.code, desc


_A_GAP = pytest.mark.xfail(
    strict=True, raises=AssertionError, reason="a gap of the replay: it replays clean"
)


@pytest.mark.parametrize(
    "desc", [pytest.param(desc, marks=[_A_GAP] if desc in KNOWN_GAPS else []) for desc in CASES]
)
def test_the_replay_refuses_each_case_for_its_reason(keyring: KeyRing, desc: str) -> None:
    """The events of a command the domain refuses fail the replay, naming the forged event,
    for the reason ``CORRESPONDENCE`` pairs with the domain's code."""
    case, ledger = CASES[desc], _ledger(keyring)
    case.setup(ledger)
    honest = _new_events(ledger, 0)
    with _at(T0):
        forged = _forged(ledger, case.forge(ledger), len(honest))
    try:
        forged_replay([*honest, *forged])
    except InvalidReplayError as error:
        refusal = error
    else:
        raise AssertionError(f"{desc}: the forged events replay clean")
    named = (refusal.originator_id, refusal.version, refusal.leaf_index)
    assert named in {(e.originator_id, e.version, e.leaf_index) for e in forged}, refusal
    assert CORRESPONDENCE[case.code].matches(refusal.reason), (case.code, refusal.reason)


def test_a_filing_declaring_too_many_patents_is_refused(
    keyring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``patent_count_invalid``: the domain's bound, a million patents, lowered to one in the
    replay (its copy is tied to domain.ranges by tests/audit/test_replay_copies.py), so that a
    filing of two patents stands for one of a million and one."""
    ledger = _ledger(keyring)
    _approved_a(ledger)
    honest = _new_events(ledger, 0)
    with _at(T0):
        forged = _forged(ledger, _filing(patents=list(PATENTS[:2]))[1](ledger), len(honest))
    forged_replay([*honest, *forged])  # two patents: within the real bound
    monkeypatch.setattr(replay_base, "PATENT_COUNT_MAX", 1)
    with pytest.raises(InvalidReplayError) as caught:
        forged_replay([*honest, *forged])
    assert (caught.value.originator_id, caught.value.leaf_index) == (
        forged[0].originator_id,
        forged[0].leaf_index,
    )
    assert CORRESPONDENCE["patent_count_invalid"].matches(caught.value.reason)


def test_a_publication_covers_at_most_the_log_before_it(keyring: KeyRing) -> None:
    """The other way round: the domain must not accept what the replay refuses, or an honest
    log fails the audit. M1 wants ``tree_size`` at most the publication's leaf index (the
    events before it); ``publish_statistics`` took any count until this test found it."""
    ledger = _ledger(keyring)
    _approved_a(ledger)
    stored = len(_new_events(ledger, 0))
    with _at(T0), pytest.raises(DomainError) as refused:
        ledger.publish_statistics(
            SYSTEM, period="2024-02", tree_size=stored + 5, rules={}, counts=[], cells=[]
        )
    assert refused.value.code == "publication_invalid"
    assert len(_new_events(ledger, 0)) == stored  # nothing recorded
    with _at(T0):  # the whole log so far is a count it accepts
        ledger.publish_statistics(
            SYSTEM, period="2024-02", tree_size=stored, rules={}, counts=[], cells=[]
        )
    forged_replay(_new_events(ledger, 0))


# --- a refusal the domain names wrongly ----------------------------------------------------------


def test_a_taken_id_is_named_on_a_refiling(keyring: KeyRing) -> None:
    """A filer re-files a product it withdrew, choosing the id of another of its filings."""
    ledger = _ledger(keyring)
    _approved_a(ledger)
    with _at(T0):
        _filing()[0](ledger)
        ledger.withdraw_product(filer_actor(A), PRODUCT_ID, REASON)
        taken, _ = _filing(model="TV-999", product_id=OTHER_PRODUCT_ID)
        taken(ledger)
        refiling, forge = _filing(product_id=OTHER_PRODUCT_ID)
        with pytest.raises(DomainError) as refused:
            refiling(ledger)
    honest = _new_events(ledger, 0)
    with _at(T0), pytest.raises(InvalidReplayError) as caught:
        forged_replay([*honest, *_forged(ledger, forge(ledger), len(honest))])
    assert CORRESPONDENCE["filing_id_taken"].matches(caught.value.reason)
    assert refused.value.code == "filing_id_taken", refused.value


# --- a refusal only older rules reach ----------------------------------------------------------


def _rejected_a(ledger: SignedPatentLedger) -> list[Any]:
    """Filer A rejected; its resubmission correcting its name, as a forgery."""
    filer_id = ledger.register_filer(
        filer_actor(A), uscc=A, name="上海测试科技有限公司", kind="enterprise",
        region_code="310115", contact=CONTACT, proof_digests=[digest("licence")],
        pledge_digest=digest("pledge"),
    )  # fmt: skip
    ledger.reject_filer(REVIEWER, filer_id, REASON)
    with pytest.raises(DomainError) as refused:
        ledger.resubmit_filer(
            filer_actor(A), filer_id, [digest("licence")], digest("pledge"), name="上海新名称"
        )
    assert refused.value.code == "correction_not_allowed"
    return _change(
        ledger, Filer, "FilerResubmitted", filer_id, proof_digests=[digest("licence")],
        pledge_digest=digest("pledge"), actor=filer_actor(A).as_record(), annex_rule=0,
        name="上海新名称", kind=None, region_code=None, contact=None,
    )  # fmt: skip


def _approved_filing_of_a(ledger: SignedPatentLedger) -> list[Any]:
    """An approved filing of A; its revision with a category, as a forgery."""
    _approve_filers(ledger, [A])
    _filing()[0](ledger)
    ledger.approve_product(REVIEWER, PRODUCT_ID)
    with pytest.raises(DomainError) as refused:
        ledger.revise_product(
            filer_actor(A), PRODUCT_ID, data_year=2024, figures=_economic(GOOD_FIGURES),
            patents=[PatentDeclaration.parse(PATENTS[0], "owner")],
            proof_digests=[digest("invoice 2")], category="05",
        )  # fmt: skip
    assert refused.value.code == "correction_not_allowed"
    return _change(
        ledger, Product, "ProductRevised", PRODUCT_ID, data_year=2024, figures=GOOD_FIGURES,
        patents=[PatentDeclaration.parse(PATENTS[0], "owner").as_record()],
        proof_digests=[digest("invoice 2")], actor=filer_actor(A).as_record(), annex_rule=0,
        category="05", finer_code=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    "refused", [_rejected_a, _approved_filing_of_a], ids=["resubmission", "revision"]
)
def test_a_correction_refused_under_annex_rule_0_is_refused_by_the_replay(
    keyring: KeyRing, refused: Callable[[SignedPatentLedger], list[Any]]
) -> None:
    """``correction_not_allowed`` needs annex rule 0 (a log made before annex rule v1), which
    the property does not draw: a resubmission's correction, a revision's category."""
    ledger = _ledger(keyring)
    with before_annex_rule(), _at(T0):
        forged = refused(ledger)
        honest = _new_events(ledger, 0)
        logged = _forged(ledger, forged, len(honest))
    with pytest.raises(InvalidReplayError) as caught:
        forged_replay([*honest, *logged])
    assert (caught.value.originator_id, caught.value.leaf_index) == (
        logged[0].originator_id,
        logged[0].leaf_index,
    )
    assert CORRESPONDENCE["correction_not_allowed"].matches(caught.value.reason)
