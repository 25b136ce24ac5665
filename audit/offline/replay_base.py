"""What every rule of the offline replay reads: the domain's copied constants, the replayed
state of an aggregate, and an event's state read field by field (audit/offline/replay.py's rules).

Why a module of its own: audit/offline/replay.py holds the rules and their order, and
audit/offline/replay_certification.py the certification's; both read events and aggregates the same
way, so that shape lives here once. Standard library only, like everything the auditor runs;
the copies of the domain's values are tied to their originals by tests/audit/test_replay_copies.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from types import MappingProxyType
from typing import Any, Final, NamedTuple, Protocol
from uuid import UUID, uuid5

from audit.offline.annex_rule import UNCLASSIFIED, AnnexRule
from audit.offline.errors import InvalidReplayError, MisfitIdError
from audit.offline.logged_event import CANONICAL_UUID
from audit.offline.replay_values import (
    MONEY_MAX_FEN,
    PATENT_COUNT_MAX,
    SHA256_HEX,
    TEXT_LIMITS,
    YEAR_MAX,
    YEAR_MIN,
    patent_misfit,
    patent_type,
    region_code_misfit,
    text_misfit,
    uscc_misfit,
)
from audit.offline.screening import Reason

# Deterministic ids of the domain (copied: the verifier must not import domain/).
FILER_NAMESPACE: Final = UUID("0d8e3b8c-4a51-5f0e-9a43-3c1f6e2b7d90")  # domain.filer
CONVERSION_NAMESPACE: Final = UUID("8b7f4a2e-1c3d-5e6f-8a9b-0c1d2e3f4a5b")  # domain.conversion
BENCHMARK_NAMESPACE: Final = UUID("3e0c6f0a-8d1b-5a52-9f7e-6b2a4c1d9e83")  # domain.benchmarks
ROUND_NAMESPACE: Final = UUID("5c2f8e14-7b3a-5d69-8e0f-1a4b6c8d2e57")  # .certification_round
OPT_IN_NAMESPACE: Final = UUID("a41d3b6e-2f58-5c07-9d1e-7c3e5b9f0a26")  # .certification_opt_in
CERTIFICATION_NAMESPACE: Final = UUID("c7e92a05-4b1d-5f83-a6c0-2d8f1e3b7a49")  # .certification
BENCHMARK_TABLE_ID: Final = uuid5(BENCHMARK_NAMESPACE, "benchmark-table")
PUBLICATION_NAMESPACE: Final = UUID("6f1d2c3b-9a8e-5d47-b0c1-2e3f4a5b6c7d")  # .statistics_pub...

# Aggregate kinds and the topics of their classes.
FILER: Final = "filer"
PRODUCT: Final = "product"
RESERVATION: Final = "reservation"
CONVERSION: Final = "conversion"
BENCHMARKS: Final = "benchmarks"
ROUND: Final = "certification_round"
OPT_IN: Final = "opt_in"
CERTIFICATION: Final = "certification"
OBJECTION: Final = "objection"
PUBLICATION: Final = "statistics_publication"
SERIES: Final = "filing_number_series"
AGGREGATE_TOPICS: Final[Mapping[str, str]] = MappingProxyType(
    {
        FILER: "domain.filer:Filer",
        PRODUCT: "domain.product:Product",
        RESERVATION: "domain.reservation:ProductKeyReservation",
        CONVERSION: "domain.conversion:PatentConversion",
        BENCHMARKS: "domain.benchmarks:BenchmarkTable",
        ROUND: "domain.certification_round:CertificationRound",
        OPT_IN: "domain.certification_opt_in:CertificationOptIn",
        CERTIFICATION: "domain.certification:ProductCertification",
        OBJECTION: "domain.objection:Objection",
        PUBLICATION: "domain.statistics_publication:StatisticsPublication",
        SERIES: "domain.filing_number:FilingNumberSeries",
    }
)

# Event topics.
FILER_REGISTERED: Final = "domain.filer:Filer.FilerRegistered"
FILER_REAL_NAME_VERIFIED: Final = "domain.filer:Filer.FilerRealNameVerified"
FILER_APPROVED: Final = "domain.filer:Filer.FilerApproved"
FILER_REJECTED: Final = "domain.filer:Filer.FilerRejected"
FILER_RESUBMITTED: Final = "domain.filer:Filer.FilerResubmitted"
FILER_MOVE_CONFIRMED: Final = "domain.filer:Filer.FilerRegionMoveConfirmed"
PRODUCT_FILED: Final = "domain.product:Product.ProductFiled"
FILING_APPROVED: Final = "domain.product:Product.FilingApproved"
FILING_REJECTED: Final = "domain.product:Product.FilingRejected"
PRODUCT_REVISED: Final = "domain.product:Product.ProductRevised"
PRODUCT_WITHDRAWN: Final = "domain.product:Product.ProductWithdrawn"
DISPUTE_RAISED: Final = "domain.product:Product.OwnershipDisputeRaised"
DISPUTE_RESOLVED: Final = "domain.product:Product.OwnershipDisputeResolved"
DISPUTE_ACCEPTED: Final = "domain.product:Product.OwnershipDisputeAccepted"
KEY_RESERVED: Final = "domain.reservation:ProductKeyReservation.ProductKeyReserved"
KEY_REASSIGNED: Final = "domain.reservation:ProductKeyReservation.ProductKeyReassigned"
KEY_MIGRATED: Final = "domain.reservation:ProductKeyReservation.ProductKeyMigrated"
CONVERSION_OPENED: Final = "domain.conversion:PatentConversion.ConversionRecordOpened"
CONVERSION_REPORTED: Final = "domain.conversion:PatentConversion.ConversionReported"
BENCHMARKS_DEFINED: Final = "domain.benchmarks:BenchmarkTable.BenchmarkTableDefined"
BENCHMARKS_REVISED: Final = "domain.benchmarks:BenchmarkTable.BenchmarkTableRevised"
ROUND_OPENED: Final = "domain.certification_round:CertificationRound.CertificationRoundOpened"
EVALUATION_STARTED: Final = (
    "domain.certification_round:CertificationRound.CertificationEvaluationStarted"
)
LIST_PUBLISHED: Final = "domain.certification_round:CertificationRound.CertifiedListPublished"
OPTED_IN: Final = "domain.certification_opt_in:CertificationOptIn.CertificationOptedIn"
CERTIFIED: Final = "domain.certification:ProductCertification.Certified"
NOT_CERTIFIED: Final = "domain.certification:ProductCertification.NotCertified"
NOT_ELIGIBLE: Final = "domain.certification:ProductCertification.NotEligible"
CERTIFICATION_REVOKED: Final = "domain.certification:ProductCertification.CertificationRevoked"
OBJECTION_FILED: Final = "domain.objection:Objection.ObjectionFiled"
OBJECTION_DISMISSED: Final = "domain.objection:Objection.ObjectionDismissed"
OBJECTION_UPHELD: Final = "domain.objection:Objection.ObjectionUpheld"
STATISTICS_PUBLISHED: Final = (
    "domain.statistics_publication:StatisticsPublication.StatisticsPublished"
)
FILING_NUMBER_ASSIGNED: Final = "domain.product:Product.FilingNumberAssigned"
SERIES_OPENED: Final = "domain.filing_number:FilingNumberSeries.FilingNumberSeriesOpened"
NUMBER_ISSUED: Final = "domain.filing_number:FilingNumberSeries.FilingNumberIssued"
CERTIFICATION_TOPICS: Final = frozenset(
    {
        BENCHMARKS_DEFINED, BENCHMARKS_REVISED, ROUND_OPENED, EVALUATION_STARTED, LIST_PUBLISHED,
        OPTED_IN, CERTIFIED, NOT_CERTIFIED, NOT_ELIGIBLE, CERTIFICATION_REVOKED, OBJECTION_FILED,
        OBJECTION_DISMISSED, OBJECTION_UPHELD,
    }
)  # fmt: skip
"""The annual certification's topics (rules B, R, I, D, O)."""

# Statuses (filer and product statuses are the domain's values).
PENDING_REVIEW: Final = "pending_review"
APPROVED: Final = "approved"
REJECTED: Final = "rejected"
WITHDRAWN: Final = "withdrawn"
RESERVED: Final = "reserved"  # the key is still bound to its first filing
REASSIGNED: Final = "reassigned"  # the key moved to a re-filing at least once
OPENED: Final = "opened"  # a conversion record without a report (the domain never saves one)
REPORTED: Final = "reported"
DEFINED: Final = "defined"  # benchmarks: version 1 only
REVISED: Final = "revised"  # benchmarks: a later version
ROUND_OPENED_STATUS: Final = "opened"
EVALUATING: Final = "evaluating"
PUBLISHED: Final = "published"
OPTED: Final = "opted_in"
CERTIFIED_STATUS: Final = "certified"
NOT_CERTIFIED_STATUS: Final = "not_certified"
NOT_ELIGIBLE_STATUS: Final = "not_eligible"
REVOKED: Final = "revoked"
OBJECTION_OPEN: Final = "open"
DISMISSED: Final = "dismissed"
UPHELD: Final = "upheld"
ISSUING: Final = "issuing"  # a filing number series: every one is, once opened

# Roles (domain.actor.Role values).
_FILER_ROLE: Final = "filer"
_REVIEWER: Final = "reviewer"
_SYSTEM: Final = "system"
_INSTITUTION: Final = "institution"
_CERTIFIER: Final = "certifier"
_REGIONAL_ADMIN: Final = "regional_admin"
_ACTS_FOR_A_USCC: Final = frozenset({_FILER_ROLE, _INSTITUTION})

_DISPUTE_OUTCOMES: Final = frozenset({"claim_dismissed", "claim_upheld", "settled"})
_CONVERSION_CATEGORIES: Final = frozenset(
    {
        "assigned",
        "equity_contribution",
        "open_licence",
        "ordinary_licence",
        "sole_licence",
        "exclusive_licence",
        "industrialised_by_licensee",
        "industrialised_by_partner",
        "patent_pool",
    }
)
_INSTITUTION_AUTHORITIES: Final = frozenset({"1", "5"})
_PATENT_TYPES: Final = frozenset(
    {"invention", "utility_model", "design", "pct_invention", "pct_utility_model"}
)
_INVENTION_TYPES: Final = frozenset({"invention", "pct_invention"})
_LICENSEE: Final = "licensee"
_RELATIONS: Final = ("owner", _LICENSEE)  # domain.declarations.PatentRelation
_FIGURES: Final = ("sales_fen", "exports_fen", "profit_fen", "ip_spending_fen")
_CATEGORIES: Final = frozenset({"01", "02", "03", "04", "05", "06", "07"})
_PERIOD: Final = re.compile(r"(20[2-9][0-9])-(0[1-9]|1[0-2])")

# --- certification (copied from domain.benchmarks, domain.certification*: see rules B-O) ------
_FIRST_ROUND_YEAR: Final = 2023
_BEIJING: Final = timezone(timedelta(hours=8))
_BASIS_POINTS: Final = 10_000
_INT64_MAX: Final = 2**63 - 1
_OBJECTION_DAYS_MAX: Final = 90
_RULE: Final = "all_known_pass"
_INPUTS: Final = (*_FIGURES, "patents", "invention_patents", "filer_valid_patents")


class _Inputs(NamedTuple):
    """A decision's ``inputs``, in ``_INPUTS`` order."""

    sales_fen: int
    exports_fen: int
    profit_fen: int
    ip_spending_fen: int
    patents: int
    invention_patents: int
    filer_valid_patents: int | None


def _share(part: int, whole: int | None) -> int | None:
    """domain.benchmarks.share_bp: basis points rounded down, at most 10000, None if unknown."""
    return None if not whole else min(_BASIS_POINTS, part * _BASIS_POINTS // whole)


_INDICATORS: Final[Mapping[str, tuple[str, str, Callable[[_Inputs], int | None]]]] = (
    MappingProxyType(
        {  # id: (unit, comparison, formula) as domain.benchmarks.INDICATORS
            "sales_fen": ("fen", "at_least", lambda i: i.sales_fen),
            "export_share_bp": ("bp", "at_least", lambda i: _share(i.exports_fen, i.sales_fen)),
            "valid_patents": ("count", "at_least", lambda i: i.patents),
            "invention_patents": ("count", "at_least", lambda i: i.invention_patents),
            "patent_use_share_bp": (
                "bp", "at_least", lambda i: _share(i.patents, i.filer_valid_patents)
            ),
            "profit_fen": ("fen", "at_least", lambda i: i.profit_fen),
            "ip_spending_fen": ("fen", "at_least", lambda i: i.ip_spending_fen),
        }
    )
)  # fmt: skip
_INELIGIBILITY: Final = (  # domain.certification.Ineligibility, in its order
    "not_approved",
    "approved_after_review_deadline",
    "submitted_after_filing_deadline",
    "data_year_outdated",
    "data_year_newer",
    "updated_after_window",
    "ownership_dispute_open",
    "not_opted_in",
    "unclassified",
    "no_valid_patent",
)


def _closes_at(day: date) -> datetime:
    """domain.certification_round.closes_at: the instant after ``day`` in Beijing time."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=_BEIJING).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ReplaySummary:
    """What a complete replay found: how many events, aggregates per kind, final statuses.

    ``statuses[kind][status]`` counts the aggregates of ``kind`` that ended in ``status``:
    filers and products use the domain's statuses; reservations are ``reserved`` or
    ``reassigned``; conversion records ``opened`` or ``reported``; the benchmark table
    ``defined`` (one version) or ``revised``; rounds ``opened``, ``evaluating`` or
    ``published``; opt-ins ``opted_in``; certifications ``certified``, ``not_certified``,
    ``not_eligible`` or ``revoked``; objections ``open``, ``dismissed`` or ``upheld``.
    """

    events: int
    aggregates: Mapping[str, int]
    statuses: Mapping[str, Mapping[str, int]]


@dataclass(slots=True)
class _Aggregate:
    """The replayed state of one aggregate: only what some rule reads."""

    kind: str
    version: int
    status: str
    owner_uscc: str  # filer: its USCC; product, reservation: filer_uscc; conversion: institution
    verified: bool = False  # filer: real-name verified
    data_year: int = 0  # product
    canonical_key: str = ""  # product (its key rule v1 key), reservation
    name: str = ""  # product: what key rule v2 re-derives its key from
    model: str = ""  # product
    key_rule: int = 1  # reservation
    patents: frozenset[str] = frozenset()  # product: the patent numbers it declares now
    open_disputes: dict[str, frozenset[str]] = field(default_factory=dict)  # product
    pending_disputes: set[str] = field(default_factory=set)  # product: open, not accepted (Q2)
    claimants: dict[str, str] = field(default_factory=dict)  # product: open dispute -> filer
    dispute_ids: set[str] = field(default_factory=set)  # product: every dispute id ever used
    holder: str | None = None  # reservation: the filing that holds the key (its UUID's text)
    region_code: str = ""  # filer
    # product, for certification: what its current data are and when they were submitted
    # (filed or revised) and approved; ``history[v - 1]`` is the filing at version v
    category: str = ""
    figures: tuple[int, int, int, int] = (0, 0, 0, 0)
    inventions: frozenset[str] = frozenset()  # product: its declared inventions' numbers
    removed: frozenset[str] = frozenset()  # product: patents lost to upheld claims (A7)
    filer_kind: str = ""  # filer (A2)
    confirmed_region: str | None = None  # filer: a move a reviewer confirmed (A4)
    submitted_at: datetime | None = None
    revised: bool = False
    approved_at: datetime | None = None
    history: list[_Facts] = field(default_factory=list)
    # product, for screening: C(F), fixed at filing (None: no candidate), and the reviewers'
    # "distinct product" decisions so far, candidate -> reason (S1, S2)
    candidates: Mapping[str, tuple[Reason, ...]] | None = None
    distinct: dict[str, str] | None = None
    # product, for filing numbers (N1-N5): its first approval's instant and the filer's region
    # then, and its number; a series: the last sequence it issued is its version
    first_approved_at: datetime | None = None
    first_region: str = ""
    filing_number: str | None = None
    # certification kinds: benchmarks list[_Table] (one per version), round _Round, opt-in
    # its filer_valid_patents, certification _Decision, objection its certification id
    detail: Any = None


class _Facts(NamedTuple):
    """A filing at one version, as certification reads it (domain.certification.ProductFacts
    plus what the indicators read)."""

    status: str
    data_year: int
    category: str
    figures: tuple[int, int, int, int]
    patents: int
    inventions: int
    submitted_at: datetime
    revised: bool
    approved_at: datetime | None
    open_dispute: bool


class _Table(NamedTuple):
    """One benchmark table version: per category per indicator a threshold, and per
    indicator (unit, comparison)."""

    thresholds: Mapping[str, Mapping[str, int]]
    definitions: Mapping[str, tuple[str, str]]


@dataclass(slots=True)
class _Round:
    year: int
    data_year: int
    filing_closes: datetime
    review_closes: datetime
    update_closes: datetime
    opt_in_required: bool
    benchmark_version: int = 0  # 0 until the evaluation starts
    table: _Table | None = None
    certified: set[str] = field(default_factory=set)  # product ids certified so far
    window: tuple[datetime, datetime] | None = None  # the objection window, once published


@dataclass(slots=True)
class _Decision:
    round_id: str
    product_id: str
    region_code: str
    certified: bool  # the decision was Certified (it may be revoked since)


# --- one event: what the stateful rules read, and the stateless checks of its state ----------
# Every check of an event is either stateless (the shape of its state, its own fields, ids
# derived from them, the role its topic allows) or reads the replayed state. ``prepare`` runs
# the stateless ones ahead (the offline verifier, in its worker processes) and hands over only
# the few facts the others read, for ``ReplayChecker.apply_prepared``, which gives the verdict
# ``apply`` gives: if a stateless check fails, ``prepare`` says so and the event goes through
# ``apply``, which raises it in its place. Within one event's rule, its own fields are checked
# before the rule reads the replayed state. Ids are kept as the canonical text of their UUID
# (``str(UUID)``): hashed in C, pickled cheaply, and turned into a ``UUID`` only to name an
# event in an error.

Fields = tuple[Any, ...]
"""The values a topic's stateful rule reads, as its stateless half checked them."""

Prepared = tuple[str, str, str | None, Fields]
"""An event's stateless checks passed: actor id, role, scope, and its topic's fields."""


class _Head:
    """An event's place in the log and its actor: all the stateful rules read of it."""

    __slots__ = ("actor_id", "leaf_index", "originator_id", "role", "scope", "topic", "version")

    def __init__(
        self,
        leaf_index: int,
        originator_id: str,
        version: int,
        topic: str,
        actor_id: str,
        role: str,
        scope: str | None,
    ) -> None:
        self.leaf_index = leaf_index
        self.originator_id = originator_id  # canonical text of the UUID
        self.version = version
        self.topic = topic
        self.actor_id = actor_id
        self.role = role
        self.scope = scope

    def fail(self, reason: str) -> InvalidReplayError:
        return InvalidReplayError(UUID(self.originator_id), self.version, self.leaf_index, reason)

    def require_acts_for(self, uscc: str) -> None:
        """A filer or institution acts only for its own USCC (its scope)."""
        if self.role in _ACTS_FOR_A_USCC and self.scope != uscc:
            raise self.fail(
                f"actor {self.actor_id} ({self.role}) acts for {self.scope}, not for {uscc}"
            )

    def require_status(self, aggregate: _Aggregate, *allowed: str, doing: str) -> None:
        if aggregate.status not in allowed:
            want = " or ".join(allowed)
            raise self.fail(f"{doing} a {aggregate.kind} that is {aggregate.status}: want {want}")


class _Event:
    """An event's state, read field by field: a read raises ``InvalidReplayError`` naming the
    event, never ``KeyError``. Building one checks the state's common shape (E4)."""

    __slots__ = ("head", "state")

    def __init__(
        self, leaf_index: int, originator_id: str, version: int, topic: str, state: object
    ) -> None:
        # A head without an actor yet, to name the event if the shape is wrong.
        self.head = _Head(leaf_index, originator_id, version, topic, "", "", None)
        if type(state) is not dict and not isinstance(state, Mapping):
            raise self.fail(f"state is a {type(state).__name__}: want an object")
        self.state: Mapping[object, object] = state
        timestamp = self.field("timestamp")
        if not isinstance(timestamp, datetime) or timestamp.utcoffset() is None:
            raise self.fail(f"timestamp is {timestamp!r}: want a UTC datetime")
        actor = self.field("actor")
        if not (type(actor) is dict or isinstance(actor, Mapping)) or not (
            "id" in actor and "role" in actor and "scope" in actor
        ):
            raise self.fail(f"actor is {actor!r}: want an object with id, role and scope")
        actor_id, role, scope = actor["id"], actor["role"], actor["scope"]
        if not (isinstance(actor_id, str) and actor_id and isinstance(role, str)):
            raise self.fail(f"actor id {actor_id!r}, role {role!r}: want non-empty strings")
        if scope is not None and not isinstance(scope, str):
            raise self.fail(f"actor scope {scope!r}: want a string or null")
        head = self.head
        head.actor_id, head.role, head.scope = actor_id, role, scope

    def fail(self, reason: str) -> InvalidReplayError:
        return self.head.fail(reason)

    def field(self, name: str) -> object:
        if name not in self.state:
            raise self.fail(f"state has no {name!r}")
        return self.state[name]

    def text(self, name: str, *, empty: bool = False) -> str:
        value = self.field(name)
        if not isinstance(value, str) or not (value or empty):
            want = "a string" if empty else "a non-empty string"
            raise self.fail(f"{name} is {value!r}: want {want}")
        return value

    def integer(self, name: str) -> int:
        value = self.field(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{name} is {value!r}: want an integer")
        return value

    def uuid(self, name: str) -> str:
        """A UUID stored as text, in its one canonical spelling (``str(UUID)``): that text."""
        text = self.text(name)
        if not CANONICAL_UUID.fullmatch(text):  # = str(UUID(text)) == text, without a UUID
            raise self.fail(f"{name} is {text!r}: want a UUID such as {UUID(int=0)}")
        return text

    def texts(self, name: str) -> list[str]:
        values = self.field(name)
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise self.fail(f"{name} is {values!r}: want a list of non-empty strings")
        return values

    # --- the domain's values (audit.offline.replay_values) ----------------------------------
    def clean(self, name: str, *, empty: bool = False) -> str:
        """Text as the domain's ``clean_text`` records it, at most ``TEXT_LIMITS[name]`` code
        points (``empty``: or the empty string, a filing's model without one)."""
        value = self.field(name)
        if not isinstance(value, str):
            raise self.fail(f"{name} is {value!r}: want a string")
        if not (empty and not value):
            self.require_clean(name, value)
        return value

    def require_clean(self, label: str, value: str) -> None:
        """``value`` (of field ``label``) is clean text: see :meth:`clean`."""
        misfit = text_misfit(value, TEXT_LIMITS[label])
        if misfit is not None:
            raise self.fail(f"{label} is not clean text: {misfit}")

    def clean_texts(self, name: str) -> list[str]:
        """A list (maybe empty) of clean texts (a filing's variants)."""
        values = self.field(name)
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise self.fail(f"{name} is {values!r}: want a list of strings")
        for value in values:
            self.require_clean(name, value)
        return values

    def reason(self, name: str = "reason") -> str:
        """A reason as ``domain.command_inputs.reason_text`` records it: not blank, clean."""
        value = self.field(name)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{name} is {value!r}: want a reason")
        self.require_clean("reason", value)
        return value

    def uscc(self, name: str) -> str:
        """A USCC as ``domain.values.Uscc`` records it (GB 32100-2015, no prefix 92)."""
        value = self.text(name)
        misfit = uscc_misfit(value)
        if misfit is not None:
            raise self.fail(f"{name} {value!r} is not a USCC: {misfit}")
        return value

    def region_code(self, name: str) -> str:
        """A region code as ``domain.values.RegionCode`` records it."""
        value = self.text(name)
        misfit = region_code_misfit(value)
        if misfit is not None:
            raise self.fail(f"{name} {value!r} is not a region code: {misfit}")
        return value

    def digest(self, name: str) -> str:
        """A SHA-256 digest as ``domain.values.Sha256Digest`` records it."""
        value = self.field(name)
        if not isinstance(value, str) or SHA256_HEX.fullmatch(value) is None:
            raise self.fail(f"{name} is {value!r}: want a SHA-256 hex digest")
        return value

    def digests(self, name: str) -> list[str]:
        """A list (maybe empty) of SHA-256 digests."""
        values = self.field(name)
        if not isinstance(values, list):
            raise self.fail(f"{name} is {values!r}: want a list of SHA-256 hex digests")
        for value in values:
            if not isinstance(value, str) or SHA256_HEX.fullmatch(value) is None:
                raise self.fail(f"{name} holds {value!r}: want SHA-256 hex digests")
        return values

    def data_year(self) -> int:
        """A filing's data year, in the domain's range of years (``domain.ranges.YEARS``)."""
        value = self.integer("data_year")
        if not YEAR_MIN <= value <= YEAR_MAX:
            raise self.fail(f"data_year is {value}: want a year in {YEAR_MIN}..{YEAR_MAX}")
        return value

    def patents(self, annex_rule: int) -> frozenset[str]:
        """The numbers of the declared patents: at least one (at most ``PATENT_COUNT_MAX``
        under annex rule v1), none declared twice, each as ``domain.declarations``'s
        ``PatentDeclaration`` records it: a patent number, its type, the filer's relation to
        it, and a licence reference when the filer is a licensee."""
        records = self.field("patents")
        if not isinstance(records, list) or not records:
            raise self.fail(f"patents is {records!r}: want at least one declared patent")
        if annex_rule >= AnnexRule.V1 and len(records) > PATENT_COUNT_MAX:
            raise self.fail(
                f"patents: {len(records)} declared, want at most {PATENT_COUNT_MAX} under "
                "annex rule v1"
            )
        numbers: list[str] = []
        for record in records:
            number = (
                record.get("number")
                if type(record) is dict or isinstance(record, Mapping)
                else None
            )
            if not isinstance(number, str) or not number:
                raise self.fail(f"patent declaration {record!r}: want an object with a number")
            self._require_declaration(number, record)
            numbers.append(number)
        if len(set(numbers)) != len(numbers):
            raise self.fail(f"patents {numbers}: a patent is declared twice")
        return frozenset(numbers)

    def _require_declaration(self, number: str, record: Mapping[Any, Any]) -> None:
        misfit = patent_misfit(number)
        if misfit is not None:
            raise self.fail(f"patent number {number!r} is not a patent number: {misfit}")
        kind = record.get("type")
        if kind != patent_type(number):
            raise self.fail(f"patent {number} has type {kind!r}: want {patent_type(number)!r}")
        relation, reference = record.get("relation"), record.get("licence_reference")
        if relation not in _RELATIONS:
            raise self.fail(f"patent {number} has relation {relation!r}: want owner or licensee")
        if reference is None and relation == _LICENSEE:
            raise self.fail(f"patent {number}: a licensee's declaration without its licence")
        if reference is not None and (not isinstance(reference, str) or not reference):
            raise self.fail(f"patent {number} has licence_reference {reference!r}: want text")

    def require_id(self, want: UUID | str, derivation: str) -> None:
        """The event's aggregate id is ``want`` (a ``UUID``, or its canonical text)."""
        if self.head.originator_id != (want if isinstance(want, str) else str(want)):
            raise self.fail(f"aggregate id {self.head.originator_id}: want {want} ({derivation})")

    def timestamp(self) -> datetime:
        value = self.field("timestamp")  # checked a UTC datetime when the event was read
        if not isinstance(value, datetime):
            raise self.fail(f"timestamp is {value!r}: want a UTC datetime")
        return value

    def boolean(self, name: str) -> bool:
        value = self.field(name)
        if not isinstance(value, bool):
            raise self.fail(f"{name} is {value!r}: want true or false")
        return value

    def count(self, name: str, *, low: int = 0, high: int = _INT64_MAX) -> int:
        value = self.integer(name)
        if not low <= value <= high:
            raise self.fail(f"{name} is {value}: want {low}..{high}")
        return value

    def instant(self, name: str) -> datetime:
        value = self.field(name)
        if not isinstance(value, datetime) or value.utcoffset() != timedelta(0):
            raise self.fail(f"{name} is {value!r}: want a UTC instant")
        return value

    def day(self, name: str) -> date:
        text = self.text(name)
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise self.fail(f"{name} {text!r}: want YYYY-MM-DD") from None
        if day.isoformat() != text:
            raise self.fail(f"{name} {text!r}: want YYYY-MM-DD")
        return day

    def mapping(self, name: str) -> Mapping[Any, Any]:
        return self.object_value(name, self.field(name))

    def object_value(self, label: str, value: object) -> Mapping[Any, Any]:
        if not (type(value) is dict or isinstance(value, Mapping)):
            raise self.fail(f"{label} is {value!r}: want an object")
        return value

    def records(self, name: str) -> list[Mapping[Any, Any]]:
        """A non-empty list of objects."""
        values = self.field(name)
        if not isinstance(values, list) or not values:
            raise self.fail(f"{name} is {values!r}: want a non-empty list of objects")
        return [self.object_value(f"an entry of {name}", value) for value in values]

    def category(self) -> str:
        """01-07, or ``unclassified`` (allowed under annex rule v1 only: A5)."""
        category = self.text("category")
        if category not in _CATEGORIES and category != UNCLASSIFIED:
            raise self.fail(
                f"category {category!r}: want one of {sorted(_CATEGORIES)} or {UNCLASSIFIED!r}"
            )
        return category

    def figures(self, annex_rule: int) -> tuple[int, int, int, int]:
        """sales, exports, profit and IP spending: non-negative integer fen (at most
        ``MONEY_MAX_FEN`` under annex rule v1), exports <= sales."""
        record = self.mapping("figures")
        values = []
        for name in _FIGURES:
            value = record.get(name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise self.fail(f"figures.{name} is {value!r}: want a non-negative integer")
            if annex_rule >= AnnexRule.V1 and value > MONEY_MAX_FEN:
                raise self.fail(
                    f"figures.{name} is {value}: want a non-negative integer of at most "
                    f"{MONEY_MAX_FEN} fen under annex rule v1"
                )
            values.append(value)
        sales, exports, profit, ip_spending = values
        if exports > sales:
            raise self.fail(f"figures: exports {exports} exceed sales {sales}")
        return sales, exports, profit, ip_spending

    def inventions(self) -> frozenset[str]:
        """The numbers of the declared patents that are inventions; every type must be known.

        Call after :meth:`patents`, which checked each record is an object.
        """
        records = self.field("patents")
        if not isinstance(records, list):
            raise self.fail(f"patents is {records!r}: want a list")
        found: set[str] = set()
        for record in records:
            kind = record.get("type")
            if not isinstance(kind, str) or kind not in _PATENT_TYPES:
                raise self.fail(f"patent type {kind!r}: want one of {sorted(_PATENT_TYPES)}")
            if kind in _INVENTION_TYPES:
                found.add(record["number"])
        return frozenset(found)


# --- E7: ids a client may choose ----------------------------------------------------------------
_CHOSEN_ID_TOPICS: Final = frozenset({PRODUCT_FILED, OBJECTION_FILED})
"""Creation events whose aggregate id a client may choose: no derivation to check (E7)."""
_NAME_BASED_VERSIONS: Final = frozenset({3, 5})  # domain.values.NAME_BASED_UUID_VERSIONS
_UUID_MAX_INT: Final = (1 << 128) - 1


def id_misfit(value: UUID) -> str | None:
    """Why ``value`` cannot be a client-chosen aggregate id, or ``None`` when it can (E7).

    A standard-library copy of ``domain.values.chosen_id_misfit`` (the verifier imports nothing
    from domain/); tests/domain/test_ids.py checks the two agree on every version and variant.
    """
    if value.int == 0:
        return "the nil UUID"
    if value.int == _UUID_MAX_INT:
        return "the max UUID"
    version = (value.int >> 76) & 0xF
    if version in _NAME_BASED_VERSIONS:
        return f"a name-based UUID (version {version}), the kind of id the ledger derives"
    return None


def _require_fitting_id(head: _Head) -> None:
    """E7: a filing or objection is not created under an id of the kind the ledger derives.

    Raises:
        MisfitIdError: it is; names the event and its leaf index.
    """
    if head.topic not in _CHOSEN_ID_TOPICS:
        return
    misfit = id_misfit(UUID(head.originator_id))
    if misfit is not None:
        event = head.topic.rsplit(".", 1)[-1]
        raise MisfitIdError(
            UUID(head.originator_id),
            head.version,
            head.leaf_index,
            f"{event} under aggregate id {head.originator_id}, {misfit}: a filing or objection "
            "id is chosen at random, never derived (E7)",
        )


# --- what certification reads of a filing, kept per version ------------------------------------
def _remember(aggregate: _Aggregate) -> None:
    """A filing keeps what certification reads of each of its versions."""
    if aggregate.kind == PRODUCT:
        aggregate.history.append(_facts(aggregate))


def _facts(product: _Aggregate) -> _Facts:
    """What certification reads of a filing as it is now (after its latest event)."""
    submitted_at = product.submitted_at
    if submitted_at is None:  # set by ProductFiled, the only way a product exists
        raise ValueError("a replayed product without its filing time")
    return _Facts(
        product.status,
        product.data_year,
        product.category,
        product.figures,
        len(product.patents - product.removed),
        len(product.inventions - product.removed),
        submitted_at,
        product.revised,
        product.approved_at,
        bool(set(product.open_disputes) - product.pending_disputes),
    )


# --- versioned rules ------------------------------------------------------------------------------
class _FailsAt(Protocol):
    leaf_index: int

    def fail(self, reason: str) -> Exception: ...


class RuleInForce:
    """Since which leaf version 1 of a rule is in force: from the first event recorded under
    it, for good (S3 screening, A1 the annex rule, Q1 the dispute rule)."""

    def __init__(self, field: str, what: str, rule: str) -> None:
        self._field, self._what, self._rule = field, what, rule
        self._since: int | None = None

    def require(self, head: _FailsAt, rule: int) -> None:
        if rule >= 1:
            if self._since is None:
                self._since = head.leaf_index
        elif self._since is not None:
            raise head.fail(
                f"{self._field} {rule}: {self._what} is in force since leaf {self._since}, "
                f"want 1 ({self._rule})"
            )


def upheld_error(upheld: _Head, what: str) -> InvalidReplayError:
    """E6 failed: the error names the ObjectionUpheld left without its revocation."""
    return upheld.fail(
        "ObjectionUpheld is not followed by the CertificationRevoked of its save: " + what
    )


def unbound_error(filed: _Head, what: str) -> InvalidReplayError:
    """E5 failed: the error names the ProductFiled left without its key event."""
    return filed.fail(
        "ProductFiled is not followed by the ProductKeyReserved or ProductKeyReassigned of its "
        f"save: {what}"
    )
