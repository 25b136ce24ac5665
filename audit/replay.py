"""Replay check: the logged events rebuild valid aggregates.

Why: a signature proves who wrote an event, not that the event was allowed. The offline
auditor re-runs the aggregates' state machines over the whole log, in log order, and refuses
the first event the domain could not have emitted: an approval before real-name verification,
a filing by a filer that was never approved, a key moved to another filer's product...

This is an independent re-implementation, standard library only (it imports nothing from
``domain`` or ``eventsourcing``), driven by two tables: ``_CREATIONS`` and ``_CHANGES`` map
each event topic to its aggregate kind, the actor roles allowed to cause it and a small
handler. It MIRRORS domain/filer.py, domain/product.py, domain/reservation.py,
domain/conversion.py, the certification's domain/benchmarks.py, domain/certification_round.py,
domain/certification_opt_in.py, domain/certification.py, domain/objection.py and the command
rules of domain/application.py and domain/certification_commands.py (``actor.require``, who
acts for which USCC, what is saved together) and MUST CHANGE WITH THEM: a new event needs a
row here or honest logs fail the audit, and a new guard needs a line here or forged logs pass.
A new certification indicator needs its formula in ``_INDICATORS`` too.

Rules (every failure raises ``audit.errors.InvalidReplayError`` naming the event):

Every event
  E1  Events come in log order: leaf indices are non-negative and strictly increase.
  E2  The topic is in the tables below and belongs to the aggregate's kind.
  E3  An aggregate's first event is its kind's creation event (FilerRegistered, ProductFiled,
      ProductKeyReserved or ProductKeyMigrated, ConversionRecordOpened, BenchmarkTableDefined,
      CertificationRoundOpened, CertificationOptedIn, Certified / NotCertified / NotEligible,
      ObjectionFiled) at version 1, whose ``originator_topic`` names the aggregate class; no
      creation event for an existing aggregate; every later event is at the previous
      version + 1.
  E4  The state is an object with a UTC ``timestamp`` and an ``actor`` {id, role, scope}; the
      role is one the command permits, and a filer or institution acts for the USCC
      concerned where the command checks it (``_check_acts_for`` / ``_check_owns``).
  E5  A ProductFiled is immediately followed by one ProductKeyReserved or ProductKeyReassigned
      per key rule in force, in rule order (v1, then v2 once v2 is in force: K4), each binding
      it: ``file_product`` saves ``product, reservation(s)`` in one ``save()``, the product's
      event first, and a save's events are contiguous in the log.
  E6  An ObjectionUpheld is immediately followed by the CertificationRevoked it causes
      (``uphold_objection`` saves ``objection, certification`` in one ``save()``).
  E7  A creation event of a kind whose id the ledger does not derive (ProductFiled,
      ObjectionFiled: a client may choose it) has an id that is not name-based (UUID version 3
      or 5, read from bits 48-51 whatever the variant), nil or max: every derived id is a
      uuid5, so such an id squats a record the ledger may create later
      (``domain.values.chosen_id_misfit``). Refused with ``MisfitIdError`` (its own exit code).
      The kinds with derived ids are checked against their derivation (F1, K1, C1, B1, R1,
      I1, D1).
  Any field a rule reads that is missing or of the wrong type is refused, never a crash.

Filer (domain.filer)
  F1  Registered under id uuid5(FILER_NAMESPACE, uscc) by the filer itself or a reviewer, with
      a region code (the district certification reports count it in).
  F2  Real-name verification happens once (system or reviewer).
  F3  Approval only while pending_review and verified; rejection only while pending_review,
      with a reason (reviewer); resubmission only when rejected, by the filer itself.

Product (domain.product)
  P1  Filed by an actor acting for ``filer_uscc``; ``filer_id`` names a filer that exists and
      is approved at that point of the log and has that USCC; at least one patent, none twice,
      each of a known type; a category 01-07; figures of non-negative integer fen (sales,
      exports, profit, IP spending), exports not above sales.
  P2  Approval only while pending_review and with no open dispute; rejection only while
      pending_review, with a reason (reviewer).
  P3  Revision by the filer, only from approved or rejected, to a strictly later data year,
      with patents and figures as in P1; the filing goes back to pending_review.
  The replay keeps, per filing version, what certification reads: status, data year,
  category, figures, patent counts, when its current data were submitted (filed or revised)
  and approved, and whether a dispute is open (rules D2-D3).
  P4  Withdrawal by the filer or a reviewer, with a reason, unless already withdrawn.
  P5  A dispute is raised (reviewer or any filer) on a filing not withdrawn, under an id never
      used on it, over one or more patents the filing declares, none already in an open
      dispute.
  P6  Only an open dispute is resolved (reviewer), with a known outcome. Like the domain,
      this is allowed after withdrawal; everything else after withdrawal is refused.

Reservation (domain.reservation)
  Key rules: audit.product_key (docs/never-filed-twice.md). A reservation event's
  ``key_rule`` is 1 or 2 (absent: 1, an event recorded before key rule v2).
  K1  ProductKeyReserved: id ``reservation_id(key_rule, canonical_key)`` (uuid5 in
      PRODUCT_KEY_NAMESPACE of the key, prefixed "v2" U+001E under v2); it binds the
      ProductFiled just before it (E5), of the same filer USCC, whose key it is: under v1 the
      filing's stored ``canonical_key``, under v2 the key re-derived here from the filing's
      ``name`` and ``model`` with the pinned table.
  K2  ProductKeyReassigned: ``previous_product_id`` is the filing holding the key and that
      filing is withdrawn at this point; it binds the ProductFiled just before it, which has
      the reservation's key (under the reservation's rule) and filer USCC (only the same
      filer re-files).
  K3  ProductKeyMigrated (the key migration, actor ``system``): ``key_rule`` 2 or later; id
      as K1; ``product_id`` a filing in the log before it, of that filer USCC, whose key
      under that rule (re-derived) is ``canonical_key``. It binds no ProductFiled.
  K4  Key rule v2 is in force from the first key event under v2 (a filing's or a
      migration's); after it every ProductFiled needs its v2 key event (E5). The first v2
      key event of a log may follow a filing bound under v1 alone.

Near-duplicate screening (audit.screening, docs/never-filed-twice.md; checked by
audit/replay_screening.py). The replay feeds an ``audit.screening.ScreeningIndex`` in log
order, leaf indices as positions: every ProductFiled
once its own checks pass, every ProductWithdrawn. C(F), the candidates of filing F, is computed
once, at F (it depends only on the events before F), and kept with F. A ``screening_rule``
is 0 or 1 (absent: 0, an event recorded before screening; so are absent ``candidates``,
``distinct`` and ``duplicate_of``: [], [] and null).
  S1  ProductFiled: ``screening_rule`` is 0 or 1 (another is refused); under 0 it records no
      ``candidates``; each recorded candidate {product_id, reasons} is a filing of C(F), or
      one that would be but was withdrawn before F (the ledger's index may not have read the
      withdrawal yet), whose reasons (known names, sorted, each once) are exactly the ones
      recomputed; no filing is recorded twice. The list may miss a candidate (a filing saved
      concurrently): it is the ledger's note at filing; S2 is what a reviewer must satisfy.
  S2  FilingApproved: ``screening_rule`` as S1. Its ``distinct`` decisions {product_id, reason}
      are sorted by product_id, each once, each with a reason that is not blank; under 0 there
      are none. Under 1 each names a filing of C(F), and every filing of C(F) is decided on
      this approval or an earlier approval of the same filing (a decision stands).
  S3  Screening is in force from the first ProductFiled or FilingApproved recorded under rule
      1 or later; after it, a ProductFiled or FilingApproved under rule 0 is refused.
  S4  FilingRejected: ``duplicate_of``, if not null, is the UUID of a filing (a Product) in the
      log before the rejection, not the rejected filing itself.

Annex rule v1 (audit.annex_rule, docs/annex-rules.md; checked by audit/replay_annex.py). An
``annex_rule`` is 0 or 1 (absent: 0, an event recorded before the rule; so are absent
corrections, ``category`` of a revision, ``removed_patents`` and ``returned_to_review``).
  A1  Annex rule v1 is in force from the first event recorded under it (FilerRegistered,
      FilerApproved, FilerResubmitted, FilerRegionMoveConfirmed, ProductFiled, ProductRevised,
      OwnershipDisputeResolved); after it such an event under rule 0 is refused.
  A2  FilerRegistered under v1: the kind fits the USCC's organisation type.
  A3  FilerResubmitted: corrections (name, kind, region_code, contact) only under v1, each null
      or well formed; under v1 the resulting kind fits the USCC. Corrected kind and region are
      the filer's from then on.
  A4  FilerApproved under v1: the filer's region is consistent with its USCC's region code
      (legacy mapping; one containing the other) or a FilerRegionMoveConfirmed for that region
      came first; FilerRegionMoveConfirmed (reviewer, filer pending review, a reason) names the
      filer's region and the USCC's mapped region, which are not consistent.
  A5  ProductFiled: category ``unclassified`` only under v1, without a finer code; under v1
      sales above zero and a data year not after the event's year in Beijing time.
  A6  ProductRevised: as A5 for sales and data year; a category only under v1.
  A7  OwnershipDisputeResolved: under v1 and claim_upheld, ``removed_patents`` is exactly the
      disputed patents still valid (sorted) and ``returned_to_review`` is true exactly when the
      filing was approved and none is left (it is then pending review); else [] and false.
  A8  No approval of a filing with no valid patent; no revision declaring only removed ones.
  Certification counts valid patents only (D3) and lists ``unclassified`` and
  ``no_valid_patent`` among the ineligibility reasons (D2).

Ownership disputes under dispute rule v1 (audit.dispute_rule). A ``dispute_rule`` is 0 or 1
(absent: 0, ``evidence_digests`` [] and ``accepted`` true: a dispute recorded before it).
  Q1  Dispute rule v1 is in force from the first OwnershipDisputeRaised under it; after it a
      dispute under rule 0 is refused.
  Q2  OwnershipDisputeRaised under v1: at least one evidence digest (SHA-256 hex); accepted
      exactly when a reviewer raised it; a filer has at most one open dispute on the filing.
  Q3  OwnershipDisputeAccepted: by a reviewer, on an open dispute not yet accepted.
  Only accepted open disputes block approval (P2) and certification (D2).

Statistics publication (domain.statistics_publication; docs/statistics.md)
  M1  StatisticsPublished: by the system or a reviewer; id uuid5(PUBLICATION_NAMESPACE,
      period), period YYYY-MM; ``tree_size`` counts events before it (at most its leaf index).
      The cells are recomputable from that prefix of the log (projections.disclosure); the
      replay checks their shape, not their sums.

Conversion (domain.conversion)
  C1  ConversionRecordOpened: id uuid5(CONVERSION_NAMESPACE, uscc + U+001F + patent), by the
      institution itself, whose registration authority is 1 or 5.
  C2  ConversionReported: only on an opened record (E3), by its institution, with a known
      category, an ISO date and a null or non-negative integer amount.

Certification (domain.benchmarks, domain.certification_round, domain.certification_opt_in,
domain.certification, domain.objection; docs/certification.md). Deadlines are days in Beijing
time: "by D" is a timestamp before D + 1 day 00:00 UTC+8.
  B1  BenchmarkTableDefined (id uuid5(BENCHMARK_NAMESPACE, "benchmark-table")) and
      BenchmarkTableRevised (the next version of that table), by the certifier: every
      category 01-07 has at least one threshold; every indicator is one ``_INDICATORS``
      knows, defined in the event with its unit and comparison, and used; thresholds are
      non-negative integers (at most 10000 basis points for shares).
  R1  CertificationRoundOpened: id uuid5(ROUND_NAMESPACE, str(year)), by the certifier; year
      >= 2023, data_year = year - 1; update window start <= end <= filing deadline <= review
      deadline, all days of the year; opt_in_required a boolean.
  R2  CertificationEvaluationStarted: by the certifier, on an opened round, not before the
      end of its review deadline; pins a benchmark version that exists at that point.
  R3  CertifiedListPublished: by the certifier, on a round in evaluation; the list is exactly
      the products certified in the round so far (sorted); the objection window starts at the
      event's time and lasts ``objection_days`` (1..90) days. No decision follows it (D1).
  I1  CertificationOptedIn: id uuid5(OPT_IN_NAMESPACE, year + U+001F + product id), by the
      filer acting for the product's filer, before the end of the round's filing deadline, on
      a filing not withdrawn; ``filer_valid_patents`` is null or at least the patents the
      filing declares.
  D1  Certified / NotCertified / NotEligible: id uuid5(CERTIFICATION_NAMESPACE, year + U+001F +
      product id), by the certifier, while the round is in evaluation, with the round's data
      year; ``product_version`` is a version the filing has reached, at which it is not
      withdrawn; filer USCC, category and the filer's region code are the filing's.
  D2  Eligibility, recomputed from the filing at ``product_version``, the round and whether an
      opt-in exists: a NotEligible lists exactly the failed rules (in domain order, each with
      a detail) and its product status and data year are the filing's; Certified and
      NotCertified fail none.
  D3  Certified / NotCertified: the round's pinned table id and version; ``inputs`` are the
      filing's figures and patent counts at ``product_version`` and the opt-in's
      ``filer_valid_patents`` (null without); the indicators are exactly that version's
      indicators for the category, sorted, each with the table's unit, comparison and
      threshold, its value recomputed from ``inputs`` and ``passed`` from the comparison (null
      when the value is); the outcome follows rule ``all_known_pass`` (at least one indicator
      known, every known one passed).
  D4  CertificationRevoked: by the certifier, on a certified decision, naming the objection
      upheld by the event just before it, which is against this certification (E6).
  O1  ObjectionFiled: by a filer (not the product's own), an institution, a reviewer or a
      regional administrator (for a product of its region), during the round's objection
      window, against a decision that was Certified (it may have been revoked since: a
      concurrent objection), naming its certification id uuid5(year, product).
  O2  ObjectionDismissed / ObjectionUpheld: by the certifier, with a reason, on an open
      objection; upholding needs the certification still certified.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from types import MappingProxyType
from typing import Any, Final, NamedTuple
from uuid import UUID, uuid5

from audit.annex_rule import UNCLASSIFIED, AnnexRule, kind_misfit
from audit.dispute_rule import SHA256_HEX, DisputeRule, accepted_on_raising
from audit.errors import InvalidReplayError, MisfitIdError
from audit.logged_event import CANONICAL_UUID, LoggedEvent
from audit.product_key import (
    EmptyKeyPartError,
    KeyRule,
    product_key,
    reservation_id,
)
from audit.replay_annex import (
    AnnexInForce,
    RuleInForce,
    read_annex_rule,
    read_corrections,
    read_move,
    read_resolution,
    require_category,
    require_data,
    require_kind,
    require_move,
    require_region,
    require_removal,
)
from audit.replay_screening import (
    ReplayScreening,
    read_candidates,
    read_decisions,
    read_duplicate_of,
    read_screening_rule,
    require_decisions,
)
from audit.screening import Declaration, Reason, ScreeningRule

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

    def patents(self) -> frozenset[str]:
        """The numbers of the declared patents: at least one, none declared twice."""
        records = self.field("patents")
        if not isinstance(records, list) or not records:
            raise self.fail(f"patents is {records!r}: want at least one declared patent")
        numbers: list[str] = []
        for record in records:
            number = (
                record.get("number")
                if type(record) is dict or isinstance(record, Mapping)
                else None
            )
            if not isinstance(number, str) or not number:
                raise self.fail(f"patent declaration {record!r}: want an object with a number")
            numbers.append(number)
        if len(set(numbers)) != len(numbers):
            raise self.fail(f"patents {numbers}: a patent is declared twice")
        return frozenset(numbers)

    def require_id(self, want: UUID, derivation: str) -> None:
        if self.head.originator_id != str(want):
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

    def figures(self) -> tuple[int, int, int, int]:
        """sales, exports, profit and IP spending: non-negative integer fen, exports <= sales."""
        record = self.mapping("figures")
        values = []
        for name in _FIGURES:
            value = record.get(name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise self.fail(f"figures.{name} is {value!r}: want a non-negative integer")
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


def _check_stateless(current: _Event, rule: _Creation | _Change) -> Fields:
    """Steps (4)-(6) of ``ReplayChecker.apply`` that read no state, in their order.

    Raises:
        InvalidReplayError: a creation's ``originator_topic``, the actor's role or a field
            its topic's rule reads is wrong.
    """
    if isinstance(rule, _Creation):
        originator_topic = current.text("originator_topic")
        if originator_topic != AGGREGATE_TOPICS[rule.kind]:
            raise current.fail(
                f"originator_topic {originator_topic!r}: want {AGGREGATE_TOPICS[rule.kind]!r}"
            )
    head = current.head
    if head.role not in rule.roles:
        roles = ", ".join(sorted(rule.roles))
        raise current.fail(f"actor {head.actor_id} has role {head.role}: want one of {roles}")
    return rule.read(current)


def prepare(
    leaf_index: int, originator_id: str, version: int, topic: str, state: object
) -> Prepared | None:
    """The stateless checks of one event, done ahead (e.g. in another process).

    ``originator_id`` is the canonical text of the aggregate's UUID (``str(UUID)``). Returns
    the actor and the fields its topic's rule reads, for ``ReplayChecker.apply_prepared``; or
    ``None`` when a stateless check fails or the topic is unknown, and then the event must go
    through ``ReplayChecker.apply`` (with its decoded state), which reports the failure in
    its place among the stateful checks: this never raises, and never changes a verdict.
    """
    rule = _CREATIONS.get(topic) or _CHANGES.get(topic)
    if rule is None:
        return None
    try:
        current = _Event(leaf_index, originator_id, version, topic, state)
        fields = _check_stateless(current, rule)
    except InvalidReplayError:
        return None
    head = current.head
    return head.actor_id, head.role, head.scope, fields


class ReplayChecker:
    """Replays logged events, in log order, through the aggregates' state machines.

    Feed every event of the log to :meth:`apply` (or, its stateless checks done ahead by
    :func:`prepare`, to :meth:`apply_prepared`), then call :meth:`finish`. The rules are in
    this module's docstring. After an error the checker's state is unspecified: start again.
    """

    def __init__(self) -> None:
        self._aggregates: dict[str, _Aggregate] = {}  # by the canonical text of the UUID
        self._last_leaf: int | None = None
        self._unbound: _Head | None = None  # a ProductFiled awaiting its key event (E5)
        self._unbound_rule = 0  # the key rule it has a reservation event for so far (E5)
        self._v2_may_follow: _Head | None = None  # a filing bound under v1 only so far (K4)
        self._key_rule_in_force = int(KeyRule.V1)  # highest key rule seen in the log (K4)
        # an ObjectionUpheld awaiting its CertificationRevoked (E6), and its certification
        self._upheld: tuple[_Head, str] | None = None
        self._screening = ReplayScreening()  # every filing so far, for C(F) (S1-S3)
        self._annex = AnnexInForce()  # since when annex rule v1 is in force (A1)
        self._disputes = RuleInForce("dispute_rule", "Q1")  # dispute rule v1 (Q1)
        self._events = 0

    def apply(self, event: LoggedEvent) -> None:
        """Check ``event`` against the state so far, then apply it.

        Raises:
            InvalidReplayError: the event breaks a rule; names its aggregate, version and leaf.
        """
        current = _Event(  # (1) the state's common shape (E4)
            event.leaf_index, str(event.originator_id), event.version, event.topic, event.state
        )
        self._apply(current.head, current, ())

    def apply_prepared(
        self, leaf_index: int, originator_id: str, version: int, topic: str, prepared: Prepared
    ) -> None:
        """``apply`` for an event whose stateless checks ``prepare`` passed: same verdict.

        ``originator_id`` is the canonical text of the UUID; ``prepared`` is what ``prepare``
        returned for this very event (never ``None``).

        Raises:
            InvalidReplayError: the event breaks a stateful rule; names it.
        """
        actor_id, role, scope, fields = prepared
        head = _Head(leaf_index, originator_id, version, topic, actor_id, role, scope)
        self._apply(head, None, fields)

    def _apply(self, head: _Head, current: _Event | None, fields: Fields) -> None:
        """Steps (2)-(6) of one event; with ``current`` (its state) also the stateless ones.

        Without ``current``, ``prepare`` passed them and ``fields`` is what they read.
        """
        # (1) the state's common shape (E4, stateless: done by the caller); (2) log order (E1);
        # (3) a filing is bound by the next event (E5), an upheld objection revokes by the next
        # event (E6); (4) topic, aggregate and version (E2, E3); (5) actor role (E4); (6) the
        # event's own rule: its fields (stateless), then the rule against the state; a filing
        # keeps what certification reads of each of its versions.
        leaf_index = head.leaf_index
        if leaf_index < 0 or (self._last_leaf is not None and leaf_index <= self._last_leaf):
            raise head.fail(  # (2)
                f"leaf index {leaf_index} after leaf {self._last_leaf}: want events in "
                "log order, each leaf once"
            )
        topic = head.topic
        self._check_pending_save(head)  # (3)
        existing = self._aggregates.get(head.originator_id)
        creation = _CREATIONS.get(topic)
        if creation is not None:  # (4)
            _require_fitting_id(head)  # E7
            if existing is not None:
                raise head.fail(
                    f"{topic} creates an aggregate that exists ({existing.kind} "
                    f"at v{existing.version})"
                )
            if head.version != 1:
                raise head.fail(f"creation event at version {head.version}: want 1")
            if current is not None:  # originator_topic (E3), (5) and (6)'s fields
                fields = _check_stateless(current, creation)
            aggregate = creation.create(self, head, fields)  # (6)
            self._aggregates[head.originator_id] = aggregate
        else:
            change = _CHANGES.get(topic)
            if change is None:  # (4)
                raise head.fail(f"unknown topic {topic!r}")
            if existing is None:
                raise head.fail(
                    f"first event of an aggregate is {topic}: want a creation event "
                    f"({', '.join(sorted(_CREATIONS))})"
                )
            if existing.kind != change.kind:
                raise head.fail(
                    f"{topic} is a {change.kind} event, but the aggregate is a {existing.kind}"
                )
            if head.version != existing.version + 1:
                raise head.fail(f"version {head.version}: want {existing.version + 1}")
            if current is not None:  # (5) and (6)'s fields
                fields = _check_stateless(current, change)
            change.apply(self, head, fields, existing)  # (6)
            existing.version = head.version
            aggregate = existing
        _remember(aggregate)
        self._last_leaf = leaf_index
        self._events += 1

    def _check_pending_save(self, head: _Head) -> None:
        """(3): the rest of a save that must follow its first event (E5, E6)."""
        unbound, upheld, topic = self._unbound, self._upheld, head.topic
        if topic not in (KEY_RESERVED, KEY_REASSIGNED):
            self._v2_may_follow = None  # K4: only the very next event may bind it under v2
        if unbound is not None and topic not in (KEY_RESERVED, KEY_REASSIGNED):
            raise _unbound_error(unbound, f"the next event (leaf {head.leaf_index}) is {topic}")
        if upheld is not None and (
            topic != CERTIFICATION_REVOKED or head.originator_id != upheld[1]
        ):
            raise _upheld_error(upheld[0], f"the next event (leaf {head.leaf_index}) is {topic}")

    def finish(self) -> ReplaySummary:
        """End of the log: check nothing is left half-saved and summarise the replay.

        Raises:
            InvalidReplayError: the last event is a ProductFiled without its key event (E5) or
                an ObjectionUpheld without its CertificationRevoked (E6).
        """
        if self._unbound is not None:
            raise _unbound_error(self._unbound, "the log ends before it")
        if self._upheld is not None:
            raise _upheld_error(self._upheld[0], "the log ends before it")
        kinds = Counter(aggregate.kind for aggregate in self._aggregates.values())
        statuses: dict[str, Counter[str]] = {kind: Counter() for kind in sorted(kinds)}
        for aggregate in self._aggregates.values():
            statuses[aggregate.kind][aggregate.status] += 1
        return ReplaySummary(
            events=self._events,
            aggregates=MappingProxyType(dict(sorted(kinds.items()))),
            statuses=MappingProxyType(
                {kind: MappingProxyType(dict(sorted(c.items()))) for kind, c in statuses.items()}
            ),
        )

    def _find(self, head: _Head, aggregate_id: str, kind: str, role: str) -> _Aggregate:
        found = self._aggregates.get(aggregate_id)
        if found is None or found.kind != kind:
            raise head.fail(f"{role} {aggregate_id} is not a {kind} in the log before this")
        return found

    # --- filer ------------------------------------------------------------------------------
    def _filer_registered(self, head: _Head, fields: Fields) -> _Aggregate:
        uscc, region_code, kind, rule = fields
        self._annex.require(head, rule)  # A1
        return _Aggregate(
            FILER, 1, PENDING_REVIEW, owner_uscc=uscc, region_code=region_code, filer_kind=kind
        )

    def _filer_verified(self, head: _Head, fields: Fields, filer: _Aggregate) -> None:
        if filer.verified:  # F2
            raise head.fail("filer is already real-name verified: verification happens once")
        filer.verified = True

    def _filer_approved(self, head: _Head, fields: Fields, filer: _Aggregate) -> None:
        head.require_status(filer, PENDING_REVIEW, doing="approving")  # F3
        if not filer.verified:
            raise head.fail("approving a filer that has not passed real-name verification")
        (rule,) = fields
        self._annex.require(head, rule)  # A1
        require_region(head, rule, filer.region_code, filer.owner_uscc, filer.confirmed_region)
        filer.status = APPROVED

    def _filer_rejected(self, head: _Head, fields: Fields, filer: _Aggregate) -> None:
        head.require_status(filer, PENDING_REVIEW, doing="rejecting")  # F3
        filer.status = REJECTED

    def _filer_resubmitted(self, head: _Head, fields: Fields, filer: _Aggregate) -> None:
        head.require_status(filer, REJECTED, doing="resubmitting")  # F3
        head.require_acts_for(filer.owner_uscc)
        rule, kind, region_code = fields
        self._annex.require(head, rule)  # A1
        if rule >= AnnexRule.V1:  # A3: the corrected kind fits the USCC
            misfit = kind_misfit(kind or filer.filer_kind, filer.owner_uscc)
            if misfit is not None:
                raise head.fail(f"{misfit} (A3)")
        filer.filer_kind = kind or filer.filer_kind
        filer.region_code = region_code or filer.region_code
        filer.status = PENDING_REVIEW

    def _move_confirmed(self, head: _Head, fields: Fields, filer: _Aggregate) -> None:
        head.require_status(filer, PENDING_REVIEW, doing="confirming the move of")  # A4
        self._annex.require(head, int(AnnexRule.V1))  # an event only annex rule v1 records
        require_move(head, fields, filer.region_code, filer.owner_uscc)
        filer.confirmed_region = filer.region_code

    # --- product ----------------------------------------------------------------------------
    def _product_filed(self, head: _Head, fields: Fields) -> _Aggregate:
        (filer_uscc, filer_id, data_year, canonical_key, patents, category, figures, inventions,
         submitted_at, name, model, screening_rule, recorded, annex) = fields  # P1  # fmt: skip
        filer = self._find(head, filer_id, FILER, "filer_id")
        if filer.status != APPROVED:
            raise head.fail(
                f"filed by filer {filer_id} while it is {filer.status}: only approved filers file"
            )
        if filer.owner_uscc != filer_uscc:
            raise head.fail(
                f"filer_uscc {filer_uscc}: filer {filer_id} has USCC {filer.owner_uscc}"
            )
        self._screening.require_rule(head, screening_rule)  # S3
        self._annex.require(head, annex)  # A1
        declaration = Declaration(filer_uscc, name, model, patents)
        candidates = self._screening.filed(head, declaration, recorded)  # S1
        self._unbound, self._unbound_rule, self._v2_may_follow = head, 0, None  # E5
        return _Aggregate(
            PRODUCT,
            1,
            PENDING_REVIEW,
            owner_uscc=filer_uscc,
            data_year=data_year,
            canonical_key=canonical_key,
            name=name,
            model=model,
            patents=patents,
            category=category,
            figures=figures,
            inventions=inventions,
            submitted_at=submitted_at,
            candidates=candidates,
        )

    def _filing_approved(self, head: _Head, fields: Fields, product: _Aggregate) -> None:
        approved_at, screening_rule, decisions = fields
        head.require_status(product, PENDING_REVIEW, doing="approving")  # P2
        if not product.patents - product.removed:  # A8
            raise head.fail(
                "approving a filing whose every patent was lost to an upheld ownership claim (A8)"
            )
        blocking = sorted(set(product.open_disputes) - product.pending_disputes)
        if blocking:
            raise head.fail(
                f"approving a product with open ownership dispute(s) {', '.join(blocking)}"
            )
        self._screening.require_rule(head, screening_rule)  # S3
        if screening_rule >= ScreeningRule.V1:  # S2
            product.distinct = require_decisions(
                head, product.candidates, product.distinct, decisions
            )
        product.status = APPROVED
        product.approved_at = approved_at

    def _filing_rejected(self, head: _Head, fields: Fields, product: _Aggregate) -> None:
        (duplicate_of,) = fields
        head.require_status(product, PENDING_REVIEW, doing="rejecting")  # P2
        if duplicate_of is not None:  # S4
            if duplicate_of == head.originator_id:
                raise head.fail(f"duplicate_of {duplicate_of} is the rejected filing itself (S4)")
            self._find(head, duplicate_of, PRODUCT, "duplicate_of")
        product.status = REJECTED
        product.approved_at = None

    def _product_revised(self, head: _Head, fields: Fields, product: _Aggregate) -> None:
        data_year, patents, figures, inventions, submitted_at, annex, category = fields
        head.require_acts_for(product.owner_uscc)  # P3
        head.require_status(product, APPROVED, REJECTED, doing="revising")
        if data_year <= product.data_year:
            raise head.fail(
                f"revising to data year {data_year}: want a year after {product.data_year}"
            )
        self._annex.require(head, annex)  # A1
        if not patents - product.removed:  # A8
            raise head.fail("a revision declaring only patents lost to upheld claims (A8)")
        if category is not None:
            product.category = category
        product.data_year, product.patents, product.status = data_year, patents, PENDING_REVIEW
        product.figures, product.inventions = figures, inventions
        product.submitted_at, product.revised, product.approved_at = submitted_at, True, None

    def _product_withdrawn(self, head: _Head, fields: Fields, product: _Aggregate) -> None:
        head.require_acts_for(product.owner_uscc)  # P4
        head.require_status(product, PENDING_REVIEW, APPROVED, REJECTED, doing="withdrawing")
        product.status = WITHDRAWN
        self._screening.withdrawn(head)  # no candidate of later filings

    def _dispute_raised(self, head: _Head, fields: Fields, product: _Aggregate) -> None:
        dispute_id, numbers, rule, accepted = fields
        self._disputes.require(head, rule)  # Q1
        if rule >= DisputeRule.V1 and head.role == _FILER_ROLE:  # Q2: one open claim per filer
            for open_id, claimant in product.claimants.items():
                if claimant == head.scope:
                    raise head.fail(
                        f"filer {head.scope} already has open dispute {open_id} here (Q2)"
                    )
        head.require_status(  # P5
            product, PENDING_REVIEW, APPROVED, REJECTED, doing="raising a dispute on"
        )
        if dispute_id in product.dispute_ids:
            raise head.fail(f"dispute id {dispute_id} is already used on this product")
        if not numbers or not numbers <= product.patents:
            raise head.fail(
                f"dispute over patents {sorted(numbers)}: want one or more of the declared "
                f"{sorted(product.patents)}"
            )
        for open_id, disputed in sorted(product.open_disputes.items()):
            if numbers & disputed:
                raise head.fail(
                    f"patent(s) {sorted(numbers & disputed)} already in open dispute {open_id}"
                )
        product.open_disputes[dispute_id] = numbers
        product.dispute_ids.add(dispute_id)
        if not accepted:
            product.pending_disputes.add(dispute_id)
        if head.role == _FILER_ROLE and head.scope is not None:
            product.claimants[dispute_id] = head.scope

    def _dispute_accepted(self, head: _Head, fields: Fields, product: _Aggregate) -> None:
        (dispute_id,) = fields  # Q3
        if dispute_id not in product.pending_disputes:
            raise head.fail(f"accepting dispute {dispute_id}, which is no open claim awaiting it")
        product.pending_disputes.discard(dispute_id)

    def _dispute_resolved(self, head: _Head, fields: Fields, product: _Aggregate) -> None:
        dispute_id, outcome, annex, recorded = fields  # P6
        if dispute_id not in product.open_disputes:
            raise head.fail(f"resolving dispute {dispute_id}, which is not open")
        self._annex.require(head, annex)  # A1
        removed = require_removal(  # A7
            head, annex, outcome == "claim_upheld", product.open_disputes[dispute_id],
            product.patents - product.removed, product.status == APPROVED, recorded,
        )  # fmt: skip
        del product.open_disputes[dispute_id]
        product.pending_disputes.discard(dispute_id)
        product.claimants.pop(dispute_id, None)
        product.removed |= removed
        if recorded[1]:
            product.status, product.approved_at = PENDING_REVIEW, None

    # --- statistics publication --------------------------------------------------------------
    def _published(self, head: _Head, fields: Fields) -> _Aggregate:
        (tree_size,) = fields  # M1: computed from events before it
        if tree_size > head.leaf_index:
            raise head.fail(
                f"tree_size {tree_size}: a publication at leaf {head.leaf_index} can only cover "
                "the events before it"
            )
        return _Aggregate(PUBLICATION, 1, PUBLISHED, owner_uscc="")

    # --- reservation ------------------------------------------------------------------------
    def _key_reserved(self, head: _Head, fields: Fields) -> _Aggregate:
        key, filer_uscc, product_id, rule = fields  # K1
        holder = self._bind(head, product_id, key, filer_uscc, rule)
        return _Aggregate(
            RESERVATION, 1, RESERVED, owner_uscc=filer_uscc, canonical_key=key, holder=holder,
            key_rule=rule,
        )  # fmt: skip

    def _key_migrated(self, head: _Head, fields: Fields) -> _Aggregate:
        key, filer_uscc, product_id, rule = fields  # K3
        if rule < KeyRule.V2:
            raise head.fail(f"key_rule {rule}: a migration reserves under v2 or later")
        product = self._find(head, product_id, PRODUCT, "product_id")
        if product.owner_uscc != filer_uscc:
            raise head.fail(
                f"product {product_id} was filed by {product.owner_uscc}: the key belongs to "
                f"{filer_uscc}"
            )
        self._require_key(head, product_id, product, key, rule)
        self._key_rule_in_force = max(self._key_rule_in_force, rule)
        return _Aggregate(
            RESERVATION, 1, RESERVED, owner_uscc=filer_uscc, canonical_key=key,
            holder=product_id, key_rule=rule,
        )  # fmt: skip

    def _key_reassigned(self, head: _Head, fields: Fields, reservation: _Aggregate) -> None:
        previous_id, product_id = fields
        head.require_acts_for(reservation.owner_uscc)  # K2
        if previous_id != reservation.holder:
            raise head.fail(
                f"previous_product_id {previous_id}: the key is held by {reservation.holder}"
            )
        previous = self._find(head, previous_id, PRODUCT, "previous_product_id")
        if previous.status != WITHDRAWN:
            raise head.fail(
                f"reassigning the key while its holder {previous_id} is {previous.status}: "
                "want withdrawn"
            )
        reservation.holder = self._bind(
            head, product_id, reservation.canonical_key, reservation.owner_uscc,
            reservation.key_rule,
        )  # fmt: skip
        reservation.status = REASSIGNED

    def _bind(self, head: _Head, product_id: str, key: str, filer_uscc: str, rule: int) -> str:
        """Check the event binds the ProductFiled just before it, for this key and filer.

        A filing's save holds one key event per rule in force, in rule order (E5): the v1
        event, then the v2 one once v2 is in force. The first v2 key event of the log may
        follow a filing bound under v1 only, and puts v2 in force (K4).
        """
        product = self._find(head, product_id, PRODUCT, "product_id")
        unbound = self._unbound
        if unbound is None and rule >= KeyRule.V2:
            unbound = self._v2_may_follow
        if unbound is None or unbound.originator_id != product_id:
            raise head.fail(
                f"product_id {product_id} is not the filing saved with this event (want the "
                "ProductFiled just before it)"
            )
        bound_so_far = self._unbound_rule if self._unbound is not None else int(KeyRule.V1)
        if rule != bound_so_far + 1:
            raise head.fail(
                f"key_rule {rule}: a filing's key events come one per rule in force, in rule "
                f"order (want v{bound_so_far + 1})"
            )
        self._require_key(head, product_id, product, key, rule)
        if product.owner_uscc != filer_uscc:
            raise head.fail(
                f"product {product_id} was filed by {product.owner_uscc}: the key belongs to "
                f"{filer_uscc}"
            )
        self._key_rule_in_force = max(self._key_rule_in_force, rule)
        self._v2_may_follow = None
        if rule < self._key_rule_in_force:
            self._unbound, self._unbound_rule = unbound, rule  # E5: newer rules' events follow
        else:
            self._unbound, self._unbound_rule = None, 0
            if rule == KeyRule.V1:
                self._v2_may_follow = unbound
        return product_id

    @staticmethod
    def _require_key(
        head: _Head, product_id: str, product: _Aggregate, key: str, rule: int
    ) -> None:
        """K1: the key is the filing's key under the reservation's rule, re-derived here."""
        if rule == KeyRule.V1:
            if product.canonical_key != key:
                raise head.fail(
                    f"product {product_id} has canonical_key {product.canonical_key!r}: "
                    f"want {key!r}"
                )
            return
        try:
            derived = product_key(KeyRule(rule), product.name, product.model)
        except EmptyKeyPartError as exc:
            raise head.fail(f"product {product_id} has no key under rule v{rule}: {exc}") from None
        if derived != key:
            raise head.fail(
                f"key {key!r} under key rule v{rule}: product {product_id}'s name and model "
                f"give {derived!r}"
            )

    # --- conversion -------------------------------------------------------------------------
    def _conversion_opened(self, head: _Head, fields: Fields) -> _Aggregate:
        (uscc,) = fields
        return _Aggregate(CONVERSION, 1, OPENED, owner_uscc=uscc)

    def _conversion_reported(self, head: _Head, fields: Fields, record: _Aggregate) -> None:
        head.require_acts_for(record.owner_uscc)  # C2
        record.status = REPORTED

    # --- certification ----------------------------------------------------------------------
    def _benchmarks_defined(self, head: _Head, fields: Fields) -> _Aggregate:
        (table,) = fields  # B1
        return _Aggregate(BENCHMARKS, 1, DEFINED, owner_uscc="", detail=[table])

    def _benchmarks_revised(self, head: _Head, fields: Fields, benchmarks: _Aggregate) -> None:
        (table,) = fields  # B1
        benchmarks.detail.append(table)
        benchmarks.status = REVISED

    def _round(self, head: _Head, year: int) -> _Aggregate:
        return self._find(head, str(uuid5(ROUND_NAMESPACE, str(year))), ROUND, f"round {year}")

    def _round_opened(self, head: _Head, fields: Fields) -> _Aggregate:
        return _Aggregate(ROUND, 1, ROUND_OPENED_STATUS, owner_uscc="", detail=_Round(*fields))

    def _evaluation_started(self, head: _Head, fields: Fields, round_agg: _Aggregate) -> None:
        version, at = fields  # R2
        head.require_status(round_agg, ROUND_OPENED_STATUS, doing="starting the evaluation of")
        round_: _Round = round_agg.detail
        if at < round_.review_closes:
            raise head.fail(
                f"evaluation started at {at}: want after the review deadline "
                f"(before {round_.review_closes})"
            )
        benchmarks = self._aggregates.get(str(BENCHMARK_TABLE_ID))
        if benchmarks is None or version > benchmarks.version:
            have = 0 if benchmarks is None else benchmarks.version
            raise head.fail(
                f"benchmark_version {version}: the table has {have} version(s) at this point"
            )
        round_.benchmark_version, round_.table = version, benchmarks.detail[version - 1]
        round_agg.status = EVALUATING

    def _list_published(self, head: _Head, fields: Fields, round_agg: _Aggregate) -> None:
        certified, start, end = fields  # R3
        head.require_status(round_agg, EVALUATING, doing="publishing the list of")
        round_: _Round = round_agg.detail
        if certified != sorted(round_.certified):
            missing = sorted(round_.certified - set(certified))
            extra = sorted(set(certified) - round_.certified)
            raise head.fail(
                f"the certified list is not the round's certified products: missing {missing}, "
                f"not certified {extra}"
            )
        round_.window = (start, end)
        round_agg.status = PUBLISHED

    def _opted_in(self, head: _Head, fields: Fields) -> _Aggregate:
        year, product_id, filer_uscc, count, at = fields  # I1
        round_: _Round = self._round(head, year).detail
        if at >= round_.filing_closes:
            raise head.fail(
                f"opted in at {at}: round {year} took opt-ins until its filing deadline "
                f"(before {round_.filing_closes})"
            )
        product = self._find(head, product_id, PRODUCT, "product_id")
        if product.owner_uscc != filer_uscc:
            raise head.fail(
                f"product {product_id} was filed by {product.owner_uscc}, not {filer_uscc}"
            )
        if product.status == WITHDRAWN:
            raise head.fail(f"opting in product {product_id}, which is withdrawn")
        if count is not None and count < len(product.patents):
            raise head.fail(
                f"filer_valid_patents {count}: the product declares {len(product.patents)}"
            )
        return _Aggregate(OPT_IN, 1, OPTED, owner_uscc=filer_uscc, detail=count)

    def _subject(self, head: _Head, subject: Fields) -> tuple[_Round, _Facts, _Aggregate | None]:
        """D1: the decision's round (in evaluation), its filing at the version it read, and the
        opt-in if any."""
        year, data_year, product_id, version, filer_uscc, region_code, category = subject
        round_agg = self._round(head, year)
        head.require_status(round_agg, EVALUATING, doing="deciding in")
        round_: _Round = round_agg.detail
        if data_year != round_.data_year:
            raise head.fail(f"data_year {data_year}: round {year} evaluates {round_.data_year}")
        product = self._find(head, product_id, PRODUCT, "product_id")
        if version > product.version:
            raise head.fail(f"product_version {version}: the filing is at v{product.version}")
        facts = product.history[version - 1]
        if facts.status == WITHDRAWN:
            raise head.fail(f"deciding on filing {product_id}, withdrawn at v{version}")
        if product.owner_uscc != filer_uscc:
            raise head.fail(f"filer_uscc {filer_uscc}: the filing is {product.owner_uscc}'s")
        if facts.category != category:
            raise head.fail(f"category {category}: the filing is in {facts.category}")
        filer = self._aggregates.get(str(uuid5(FILER_NAMESPACE, filer_uscc)))
        if filer is None or filer.region_code != region_code:
            have = None if filer is None else filer.region_code
            raise head.fail(f"region_code {region_code}: the filer's is {have}")
        opt_in = self._aggregates.get(str(uuid5(OPT_IN_NAMESPACE, f"{year}\x1f{product_id}")))
        return round_, facts, opt_in

    def _evaluated(self, head: _Head, fields: Fields, *, certified: bool) -> _Aggregate:
        subject, version, inputs, indicators = fields
        round_, facts, opt_in = self._subject(head, subject)
        reasons = _ineligibility(facts, round_, opted_in=opt_in is not None)  # D2
        if reasons:
            raise head.fail(
                f"the filing at v{subject[3]} is not eligible ({', '.join(reasons)}): "
                "want NotEligible"
            )
        table = round_.table  # D3
        if table is None or version != round_.benchmark_version:
            raise head.fail(
                f"benchmark_version {version}: the round pinned {round_.benchmark_version}"
            )
        want_inputs = _Inputs(
            *facts.figures,
            facts.patents,
            facts.inventions,
            None if opt_in is None else opt_in.detail,
        )
        if inputs != want_inputs:
            raise head.fail(
                f"inputs {inputs._asdict()}: the filing at v{subject[3]} and its opt-in give "
                f"{want_inputs._asdict()}"
            )
        row = table.thresholds[facts.category]
        want = tuple((i, *table.definitions[i], row[i]) for i in sorted(row))
        if indicators != want:
            raise head.fail(
                f"indicators (id, unit, comparison, threshold) {list(indicators)}: benchmark "
                f"version {version} sets {list(want)} for category {facts.category}"
            )
        if certified:
            round_.certified.add(subject[2])
        return _Aggregate(
            CERTIFICATION,
            1,
            CERTIFIED_STATUS if certified else NOT_CERTIFIED_STATUS,
            owner_uscc=subject[4],
            detail=_Decision(head.originator_id, subject[2], subject[5], certified),
        )

    def _certified(self, head: _Head, fields: Fields) -> _Aggregate:
        return self._evaluated(head, fields, certified=True)

    def _not_certified(self, head: _Head, fields: Fields) -> _Aggregate:
        return self._evaluated(head, fields, certified=False)

    def _not_eligible(self, head: _Head, fields: Fields) -> _Aggregate:
        subject, status, data_year, codes = fields
        round_, facts, opt_in = self._subject(head, subject)
        if (status, data_year) != (facts.status, facts.data_year):
            raise head.fail(
                f"product_status {status}, product_data_year {data_year}: the filing at "
                f"v{subject[3]} is {facts.status}, data year {facts.data_year}"
            )
        reasons = _ineligibility(facts, round_, opted_in=opt_in is not None)  # D2
        if codes != reasons:
            raise head.fail(
                f"reasons {list(codes)}: the filing at v{subject[3]} fails {list(reasons)}"
            )
        return _Aggregate(
            CERTIFICATION,
            1,
            NOT_ELIGIBLE_STATUS,
            owner_uscc=subject[4],
            detail=_Decision(head.originator_id, subject[2], subject[5], certified=False),
        )

    def _certification_revoked(
        self, head: _Head, fields: Fields, certification: _Aggregate
    ) -> None:
        (objection_id,) = fields  # D4
        upheld = self._upheld
        if upheld is None:
            raise head.fail("a revocation is saved with the ObjectionUpheld just before it")
        if objection_id != upheld[0].originator_id:
            raise head.fail(
                f"objection_id {objection_id}: the objection upheld just before is "
                f"{upheld[0].originator_id}"
            )
        head.require_status(certification, CERTIFIED_STATUS, doing="revoking")
        certification.status = REVOKED
        self._upheld = None

    def _objection_filed(self, head: _Head, fields: Fields) -> _Aggregate:
        year, certification_id, at = fields  # O1
        round_agg = self._round(head, year)
        head.require_status(round_agg, PUBLISHED, doing="objecting in")
        window = round_agg.detail.window
        if window is None or not window[0] <= at < window[1]:
            raise head.fail(f"objection at {at}: the round's objection window is {window}")
        certification = self._find(head, certification_id, CERTIFICATION, "certification_id")
        decision: _Decision = certification.detail
        if not decision.certified:
            raise head.fail(
                f"objection against a decision that is {certification.status}: want a "
                "certified product"
            )
        if head.role == _FILER_ROLE and head.scope == certification.owner_uscc:
            raise head.fail(f"filer {head.scope} objects to its own product")
        if head.role == _REGIONAL_ADMIN and not decision.region_code.startswith(
            head.scope or "\x00"
        ):
            raise head.fail(
                f"regional administrator for {head.scope} objects to a product of "
                f"{decision.region_code}"
            )
        return _Aggregate(OBJECTION, 1, OBJECTION_OPEN, owner_uscc="", detail=certification_id)

    def _objection_dismissed(self, head: _Head, fields: Fields, objection: _Aggregate) -> None:
        head.require_status(objection, OBJECTION_OPEN, doing="dismissing")  # O2
        objection.status = DISMISSED

    def _objection_upheld(self, head: _Head, fields: Fields, objection: _Aggregate) -> None:
        head.require_status(objection, OBJECTION_OPEN, doing="upholding")  # O2
        certification = self._aggregates[objection.detail]
        head.require_status(certification, CERTIFIED_STATUS, doing="upholding an objection against")
        objection.status = UPHELD
        self._upheld = (head, objection.detail)  # E6


def _ineligibility(facts: _Facts, round_: _Round, *, opted_in: bool) -> tuple[str, ...]:
    """domain.certification.ineligibility: the codes of every rule failed, in order."""
    found: list[str] = []
    if facts.status != APPROVED:
        found.append("not_approved")
    elif facts.approved_at is None or facts.approved_at >= round_.review_closes:
        found.append("approved_after_review_deadline")
    if facts.submitted_at >= round_.filing_closes:
        found.append("submitted_after_filing_deadline")
    if facts.data_year < round_.data_year:
        found.append("data_year_outdated")
    elif facts.data_year > round_.data_year:
        found.append("data_year_newer")
    elif facts.revised and facts.submitted_at >= round_.update_closes:
        found.append("updated_after_window")
    if facts.open_dispute:
        found.append("ownership_dispute_open")
    if round_.opt_in_required and not opted_in:
        found.append("not_opted_in")
    if facts.category == UNCLASSIFIED:  # annex rule v1 (A5): no benchmarks apply
        found.append("unclassified")
    if facts.patents == 0:  # annex rule v1 (A7): every patent lost to upheld claims
        found.append("no_valid_patent")
    return tuple(found)


# --- the stateless half of each rule: the fields it reads, checked ----------------------------
def _read_publication(current: _Event) -> Fields:
    period = current.text("period")  # M1
    if not _PERIOD.fullmatch(period):
        raise current.fail(f"period {period!r}: want YYYY-MM")
    current.require_id(uuid5(PUBLICATION_NAMESPACE, period), f"uuid5 of period {period}")
    tree_size = current.count("tree_size")
    current.mapping("rules")
    for name in ("counts", "cells"):
        if not isinstance(current.field(name), list):
            raise current.fail(f"{name} is {current.field(name)!r}: want a list")
    return (tree_size,)


def _read_nothing(current: _Event) -> Fields:
    return ()


def _read_reason(current: _Event) -> Fields:
    current.text("reason")  # F3, P2, P4: a rejection or withdrawal says why
    return ()


def _read_filing_approved(current: _Event) -> Fields:
    rule = read_screening_rule(current)  # S2
    return current.timestamp(), rule, read_decisions(current, rule)


def _read_filing_rejected(current: _Event) -> Fields:
    current.text("reason")  # P2
    return (read_duplicate_of(current),)  # S4


def _read_filer_registered(current: _Event) -> Fields:
    uscc = current.text("uscc")
    current.require_id(uuid5(FILER_NAMESPACE, uscc), f"uuid5 of USCC {uscc}")  # F1
    current.head.require_acts_for(uscc)
    rule, kind = read_annex_rule(current), current.text("kind")
    require_kind(current, rule, kind, uscc)  # A2
    return uscc, current.text("region_code"), kind, rule


def _read_filer_approved(current: _Event) -> Fields:
    return (read_annex_rule(current),)  # A1


def _read_filer_resubmitted(current: _Event) -> Fields:
    rule = read_annex_rule(current)  # A1
    return rule, *read_corrections(current, rule)  # A3


def _read_move_confirmed(current: _Event) -> Fields:
    return read_move(current)  # A4


def _read_filer_verified(current: _Event) -> Fields:
    current.text("reference")  # F2
    return ()


def _read_product_filed(current: _Event) -> Fields:
    filer_uscc = current.text("filer_uscc")  # P1
    current.head.require_acts_for(filer_uscc)
    filer_id = current.uuid("filer_id")
    name = current.text("name")
    model = current.text("model", empty=True)
    data_year = current.integer("data_year")
    canonical_key = current.text("canonical_key")
    patents = current.patents()
    rule = read_screening_rule(current)  # S1
    annex = read_annex_rule(current)  # A1
    category, figures, at = current.category(), current.figures(), current.timestamp()
    require_category(current, annex, category, current.state.get("finer_code"))  # A5
    require_data(current, annex, data_year, figures[0], at)
    return (
        filer_uscc, filer_id, data_year, canonical_key, patents, category, figures,
        current.inventions(), at, name, model, rule, read_candidates(current, rule), annex,
    )  # fmt: skip


def _read_product_revised(current: _Event) -> Fields:
    data_year, patents = current.integer("data_year"), current.patents()  # P3
    annex = read_annex_rule(current)  # A1
    figures, at = current.figures(), current.timestamp()
    require_data(current, annex, data_year, figures[0], at)  # A6
    category: str | None = None
    if current.state.get("category") is not None:
        if annex == AnnexRule.NONE:
            raise current.fail("a revision's category under annex_rule 0: want none (A6)")
        category = current.category()
        require_category(current, annex, category, current.state.get("finer_code"))
    elif current.state.get("finer_code") is not None:
        raise current.fail("a revision's finer_code without its category (A6)")
    return data_year, patents, figures, current.inventions(), at, annex, category


def _read_dispute_raised(current: _Event) -> Fields:
    dispute_id = current.text("dispute_id")  # P5
    numbers = frozenset(current.texts("patent_numbers"))
    current.text("claimant")
    rule = current.state.get("dispute_rule", int(DisputeRule.NONE))  # Q1
    if isinstance(rule, bool) or rule not in (0, 1):
        raise current.fail(f"dispute_rule {rule!r}: want 0 or 1 (Q1)")
    evidence = current.state.get("evidence_digests", [])
    if not isinstance(evidence, list) or not all(
        isinstance(d, str) and SHA256_HEX.fullmatch(d) for d in evidence
    ):
        raise current.fail(f"evidence_digests {evidence!r}: want SHA-256 hex digests (Q2)")
    if rule >= DisputeRule.V1 and not evidence:
        raise current.fail("a dispute under dispute rule v1 without evidence (Q2)")
    accepted = current.state.get("accepted", True)
    want = accepted_on_raising(rule, current.head.role)
    if accepted is not want:
        raise current.fail(
            f"accepted {accepted!r}: under dispute rule {rule} a dispute raised by a "
            f"{current.head.role} is {'' if want else 'not '}accepted as it is raised (Q2)"
        )
    return dispute_id, numbers, rule, accepted


def _read_dispute_accepted(current: _Event) -> Fields:
    return (current.text("dispute_id"),)  # Q3


def _read_dispute_resolved(current: _Event) -> Fields:
    dispute_id = current.text("dispute_id")  # P6
    outcome = current.text("outcome")
    if outcome not in _DISPUTE_OUTCOMES:
        raise current.fail(f"outcome {outcome!r}: want one of {sorted(_DISPUTE_OUTCOMES)}")
    current.text("note")
    annex = read_annex_rule(current)  # A1
    return dispute_id, outcome, annex, read_resolution(current, annex)  # A7


def _read_key_reserved(current: _Event) -> Fields:
    key, filer_uscc, product_id, rule = _read_key_event(current)  # K1
    current.head.require_acts_for(filer_uscc)
    return key, filer_uscc, product_id, rule


def _read_key_event(current: _Event) -> tuple[str, str, str, int]:
    """A reservation's creation: key, filer, filing and rule; the id is the key's (K1)."""
    key = current.text("canonical_key")
    raw_rule = current.state.get("key_rule", int(KeyRule.V1))  # absent: a v1 event
    if isinstance(raw_rule, bool) or raw_rule not in tuple(int(r) for r in KeyRule):
        raise current.fail(f"key_rule {raw_rule!r}: want one of {[int(r) for r in KeyRule]}")
    rule = KeyRule(raw_rule)
    current.require_id(
        reservation_id(rule, key), f"uuid5 of its canonical_key under key rule v{int(rule)}"
    )
    return key, current.text("filer_uscc"), current.uuid("product_id"), int(rule)


def _read_key_reassigned(current: _Event) -> Fields:
    return current.uuid("previous_product_id"), current.uuid("product_id")  # K2


def _read_conversion_opened(current: _Event) -> Fields:
    uscc = current.text("institution_uscc")  # C1
    patent_number = current.text("patent_number")
    current.require_id(
        uuid5(CONVERSION_NAMESPACE, f"{uscc}\x1f{patent_number}"),
        "uuid5 of institution_uscc and patent_number",
    )
    if uscc[:1] not in _INSTITUTION_AUTHORITIES:
        raise current.fail(
            f"institution_uscc {uscc}: want registration authority 1 or 5 (an institution)"
        )
    current.head.require_acts_for(uscc)
    current.text("region_code")
    return (uscc,)


def _read_conversion_reported(current: _Event) -> Fields:
    category = current.text("category")  # C2
    if category not in _CONVERSION_CATEGORIES:
        raise current.fail(f"category {category!r}: want one of {sorted(_CONVERSION_CATEGORIES)}")
    occurred_on = current.text("occurred_on")
    try:
        valid_date = date.fromisoformat(occurred_on).isoformat() == occurred_on
    except ValueError:
        valid_date = False
    if not valid_date:
        raise current.fail(f"occurred_on {occurred_on!r}: want YYYY-MM-DD")
    amount = current.field("amount_fen")
    if amount is not None and (
        isinstance(amount, bool) or not isinstance(amount, int) or amount < 0
    ):
        raise current.fail(f"amount_fen {amount!r}: want null or a non-negative integer")
    current.text("counterparty")
    return ()


# --- certification: the stateless halves --------------------------------------------------------
def _read_benchmarks(current: _Event) -> Fields:
    current.require_id(BENCHMARK_TABLE_ID, 'uuid5(BENCHMARK_NAMESPACE, "benchmark-table")')  # B1
    definitions: dict[str, tuple[str, str]] = {}
    for indicator, definition in current.mapping("indicators").items():
        known = _INDICATORS.get(indicator) if isinstance(indicator, str) else None
        if known is None:
            raise current.fail(f"indicator {indicator!r}: want one of {sorted(_INDICATORS)}")
        record = current.object_value(f"indicators.{indicator}", definition)
        unit, comparison, formula = (record.get(k) for k in ("unit", "comparison", "formula"))
        if (unit, comparison) != known[:2]:
            raise current.fail(
                f"indicator {indicator} is {unit!r} {comparison!r}: want {known[0]} {known[1]}"
            )
        if not isinstance(formula, str) or not formula:
            raise current.fail(f"indicator {indicator} has formula {formula!r}: want text")
        definitions[indicator] = (known[0], known[1])
    rows = current.mapping("thresholds")
    if set(rows) != _CATEGORIES:
        raise current.fail(f"thresholds for {sorted(map(str, rows))}: want {sorted(_CATEGORIES)}")
    thresholds: dict[str, dict[str, int]] = {}
    for category in sorted(_CATEGORIES):
        row = current.object_value(f"thresholds.{category}", rows[category])
        if not row:
            raise current.fail(f"category {category} has no threshold")
        for indicator, threshold in row.items():
            if indicator not in definitions:
                raise current.fail(f"category {category}: indicator {indicator!r} is not defined")
            ceiling = _BASIS_POINTS if definitions[indicator][0] == "bp" else _INT64_MAX
            if (
                isinstance(threshold, bool)
                or not isinstance(threshold, int)
                or not 0 <= threshold <= ceiling
            ):
                raise current.fail(
                    f"category {category}, {indicator}: threshold {threshold!r}, want an "
                    f"integer 0..{ceiling}"
                )
        thresholds[category] = dict(row)
    unused = set(definitions) - {i for row in thresholds.values() for i in row}
    if unused:
        raise current.fail(f"indicators {sorted(unused)} are defined but have no threshold")
    current.text("note", empty=True)
    return (_Table(thresholds, definitions),)


def _read_round_opened(current: _Event) -> Fields:
    year = current.count("year", low=_FIRST_ROUND_YEAR, high=2100)  # R1
    current.require_id(uuid5(ROUND_NAMESPACE, str(year)), f"uuid5 of year {year}")
    data_year = current.integer("data_year")
    if data_year != year - 1:
        raise current.fail(f"data_year {data_year}: want {year - 1}")
    names = ("update_window_start", "update_window_end", "filing_deadline", "review_deadline")
    days = [current.day(name) for name in names]
    for name, day in zip(names, days, strict=True):
        if day.year != year:
            raise current.fail(f"{name} {day}: want a day of {year}")
    if days != sorted(days):
        raise current.fail(f"want {' <= '.join(names)}, got {', '.join(map(str, days))}")
    opt_in_required = current.boolean("opt_in_required")
    _, update_end, filing, review = (_closes_at(day) for day in days)
    return year, data_year, filing, review, update_end, opt_in_required


def _read_evaluation_started(current: _Event) -> Fields:
    if current.uuid("benchmark_table_id") != str(BENCHMARK_TABLE_ID):  # R2
        raise current.fail(f"benchmark_table_id: want {BENCHMARK_TABLE_ID}")
    return current.count("benchmark_version", low=1), current.timestamp()


def _read_list_published(current: _Event) -> Fields:
    certified = current.texts("certified_product_ids")  # R3
    for product_id in certified:
        if not CANONICAL_UUID.fullmatch(product_id):
            raise current.fail(f"certified product id {product_id!r}: want a UUID")
    if certified != sorted(set(certified)):
        raise current.fail("certified_product_ids: want them sorted, each once")
    days = current.count("objection_days", low=1, high=_OBJECTION_DAYS_MAX)
    start = current.instant("objection_window_start")
    end = current.instant("objection_window_end")
    if start != current.timestamp():
        raise current.fail(f"objection_window_start {start}: want the publication's time")
    if end != start + timedelta(days=days):
        raise current.fail(f"objection_window_end {end}: want {days} days after {start}")
    return certified, start, end


def _read_opted_in(current: _Event) -> Fields:
    year = current.count("round_year", low=_FIRST_ROUND_YEAR, high=2100)  # I1
    product_id = current.uuid("product_id")
    current.require_id(
        uuid5(OPT_IN_NAMESPACE, f"{year}\x1f{product_id}"), "uuid5 of round_year and product_id"
    )
    filer_uscc = current.text("filer_uscc")
    current.head.require_acts_for(filer_uscc)
    count = current.field("filer_valid_patents")
    if count is not None and (
        isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= _INT64_MAX
    ):
        raise current.fail(f"filer_valid_patents {count!r}: want null or a non-negative integer")
    return year, product_id, filer_uscc, count, current.timestamp()


def _read_subject(current: _Event) -> Fields:
    year = current.count("round_year", low=_FIRST_ROUND_YEAR, high=2100)  # D1
    product_id = current.uuid("product_id")
    current.require_id(
        uuid5(CERTIFICATION_NAMESPACE, f"{year}\x1f{product_id}"),
        "uuid5 of round_year and product_id",
    )
    return (
        year, current.integer("data_year"), product_id, current.count("product_version", low=1),
        current.text("filer_uscc"), current.text("region_code"), current.category(),
    )  # fmt: skip


def _read_inputs(current: _Event) -> _Inputs:
    raw = current.mapping("inputs")  # D3
    if set(raw) != set(_INPUTS):
        raise current.fail(f"inputs has {sorted(map(str, raw))}: want {sorted(_INPUTS)}")
    counts: list[int] = []
    for name in _INPUTS:
        value = raw[name]
        if value is None and name == "filer_valid_patents":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _INT64_MAX:
            raise current.fail(f"inputs.{name} is {value!r}: want a non-negative integer")
        counts.append(value)
    sales, exports, profit, ip_spending, patents, inventions = counts[:6]
    valid = counts[6] if len(counts) == len(_INPUTS) else None  # null: unknown
    return _Inputs(sales, exports, profit, ip_spending, patents, inventions, valid)


_INDICATOR_KEYS: Final = frozenset(
    {"indicator", "unit", "comparison", "value", "threshold", "passed"}
)


def _read_indicator(
    current: _Event, record: Mapping[Any, Any], inputs: _Inputs
) -> tuple[tuple[Any, ...], bool | None]:
    """One indicator entry, its value and verdict recomputed (D3): (id, unit, comparison,
    threshold) for the stateful check, and whether it passed (None: unknown)."""
    if set(record) != _INDICATOR_KEYS:
        raise current.fail(f"indicator entry {dict(record)!r}: want {sorted(_INDICATOR_KEYS)}")
    indicator, comparison = record["indicator"], record["comparison"]
    threshold, value, passed = record["threshold"], record["value"], record["passed"]
    formula = _INDICATORS.get(indicator) if isinstance(indicator, str) else None
    if formula is None:
        raise current.fail(f"indicator {indicator!r}: want one of {sorted(_INDICATORS)}")
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        raise current.fail(f"indicator {indicator}: threshold {threshold!r}, want an integer")
    want_value = formula[2](inputs)
    if type(value) is not type(want_value) or value != want_value:
        raise current.fail(
            f"indicator {indicator} has value {value!r}: its formula gives {want_value!r}"
        )
    if comparison not in ("at_least", "at_most"):
        raise current.fail(f"indicator {indicator}: comparison {comparison!r}")
    want_passed: bool | None = None
    if want_value is not None:
        want_passed = (
            want_value >= threshold if comparison == "at_least" else want_value <= threshold
        )
    if passed is not want_passed:
        raise current.fail(f"indicator {indicator} passed={passed!r}: want {want_passed!r}")
    return (indicator, record["unit"], comparison, threshold), want_passed


def _read_evaluated(current: _Event, *, certified: bool) -> Fields:
    subject = _read_subject(current)
    if current.uuid("benchmark_table_id") != str(BENCHMARK_TABLE_ID):  # D3
        raise current.fail(f"benchmark_table_id: want {BENCHMARK_TABLE_ID}")
    version = current.count("benchmark_version", low=1)
    inputs = _read_inputs(current)
    rows: list[tuple[Any, ...]] = []
    known: list[bool] = []
    for record in current.records("indicators"):
        row, passed = _read_indicator(current, record, inputs)
        rows.append(row)
        if passed is not None:
            known.append(passed)
    ids = [row[0] for row in rows]
    if ids != sorted(set(ids)):
        raise current.fail(f"indicators {ids}: want them sorted by id, each once")
    rule = current.text("rule")
    if rule != _RULE:
        raise current.fail(f"rule {rule!r}: want {_RULE!r}")
    if (bool(known) and all(known)) != certified:
        outcome = "Certified" if not certified else "NotCertified"
        raise current.fail(f"the indicators under rule {_RULE}: want {outcome}")
    return subject, version, inputs, tuple(rows)


def _read_certified(current: _Event) -> Fields:
    return _read_evaluated(current, certified=True)


def _read_not_certified(current: _Event) -> Fields:
    return _read_evaluated(current, certified=False)


def _read_not_eligible(current: _Event) -> Fields:
    subject = _read_subject(current)  # D2
    status, data_year = current.text("product_status"), current.integer("product_data_year")
    codes = []
    for record in current.records("reasons"):
        code, detail = record.get("reason"), record.get("detail")
        if not isinstance(code, str) or code not in _INELIGIBILITY:
            raise current.fail(f"reason {code!r}: want one of {list(_INELIGIBILITY)}")
        if not isinstance(detail, str) or not detail:
            raise current.fail(f"reason {code} has detail {detail!r}: want text")
        codes.append(code)
    return subject, status, data_year, tuple(codes)


def _read_revoked(current: _Event) -> Fields:
    current.text("reason")  # D4
    return (current.uuid("objection_id"),)


def _read_objection_filed(current: _Event) -> Fields:
    year = current.count("round_year", low=_FIRST_ROUND_YEAR, high=2100)  # O1
    product_id = current.uuid("product_id")
    certification_id = current.uuid("certification_id")
    if certification_id != str(uuid5(CERTIFICATION_NAMESPACE, f"{year}\x1f{product_id}")):
        raise current.fail(f"certification_id {certification_id}: want uuid5 of year and product")
    current.text("reason")
    return year, certification_id, current.timestamp()


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


def replay(events: Iterable[LoggedEvent]) -> ReplaySummary:
    """Replay a whole log (in log order) and summarise it.

    Raises:
        InvalidReplayError: the first event that breaks a rule of this module.
    """
    checker = ReplayChecker()
    for event in events:
        checker.apply(event)
    return checker.finish()


def _upheld_error(upheld: _Head, what: str) -> InvalidReplayError:
    """E6 failed: the error names the ObjectionUpheld left without its revocation."""
    return upheld.fail(
        "ObjectionUpheld is not followed by the CertificationRevoked of its save: " + what
    )


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


def _unbound_error(filed: _Head, what: str) -> InvalidReplayError:
    """E5 failed: the error names the ProductFiled left without its key event."""
    return filed.fail(
        "ProductFiled is not followed by the ProductKeyReserved or ProductKeyReassigned of its "
        f"save: {what}"
    )


@dataclass(frozen=True, slots=True)
class _Creation:
    kind: str
    roles: frozenset[str]
    read: Callable[[_Event], Fields]
    create: Callable[[ReplayChecker, _Head, Fields], _Aggregate]


@dataclass(frozen=True, slots=True)
class _Change:
    kind: str
    roles: frozenset[str]
    read: Callable[[_Event], Fields]
    apply: Callable[[ReplayChecker, _Head, Fields, _Aggregate], None]


def _roles(*roles: str) -> frozenset[str]:
    return frozenset(roles)


# Topic -> (aggregate kind, roles allowed by the command's actor.require, the fields its rule
# reads (stateless), the rule against the state).
_CREATIONS: Final[Mapping[str, _Creation]] = MappingProxyType(
    {
        FILER_REGISTERED: _Creation(
            FILER,
            _roles(_FILER_ROLE, _REVIEWER),
            _read_filer_registered,
            ReplayChecker._filer_registered,
        ),
        PRODUCT_FILED: _Creation(
            PRODUCT, _roles(_FILER_ROLE), _read_product_filed, ReplayChecker._product_filed
        ),
        KEY_RESERVED: _Creation(
            RESERVATION, _roles(_FILER_ROLE), _read_key_reserved, ReplayChecker._key_reserved
        ),
        KEY_MIGRATED: _Creation(
            RESERVATION, _roles(_SYSTEM), _read_key_event, ReplayChecker._key_migrated
        ),
        CONVERSION_OPENED: _Creation(
            CONVERSION,
            _roles(_INSTITUTION),
            _read_conversion_opened,
            ReplayChecker._conversion_opened,
        ),
        BENCHMARKS_DEFINED: _Creation(
            BENCHMARKS, _roles(_CERTIFIER), _read_benchmarks, ReplayChecker._benchmarks_defined
        ),
        ROUND_OPENED: _Creation(
            ROUND, _roles(_CERTIFIER), _read_round_opened, ReplayChecker._round_opened
        ),
        OPTED_IN: _Creation(OPT_IN, _roles(_FILER_ROLE), _read_opted_in, ReplayChecker._opted_in),
        CERTIFIED: _Creation(
            CERTIFICATION, _roles(_CERTIFIER), _read_certified, ReplayChecker._certified
        ),
        NOT_CERTIFIED: _Creation(
            CERTIFICATION, _roles(_CERTIFIER), _read_not_certified, ReplayChecker._not_certified
        ),
        NOT_ELIGIBLE: _Creation(
            CERTIFICATION, _roles(_CERTIFIER), _read_not_eligible, ReplayChecker._not_eligible
        ),
        STATISTICS_PUBLISHED: _Creation(
            PUBLICATION,
            _roles(_SYSTEM, _REVIEWER),
            _read_publication,
            ReplayChecker._published,
        ),
        OBJECTION_FILED: _Creation(
            OBJECTION,
            _roles(_FILER_ROLE, _INSTITUTION, _REVIEWER, _REGIONAL_ADMIN),
            _read_objection_filed,
            ReplayChecker._objection_filed,
        ),
    }
)
_CHANGES: Final[Mapping[str, _Change]] = MappingProxyType(
    {
        FILER_REAL_NAME_VERIFIED: _Change(
            FILER, _roles(_SYSTEM, _REVIEWER), _read_filer_verified, ReplayChecker._filer_verified
        ),
        FILER_APPROVED: _Change(
            FILER, _roles(_REVIEWER), _read_filer_approved, ReplayChecker._filer_approved
        ),
        FILER_MOVE_CONFIRMED: _Change(
            FILER, _roles(_REVIEWER), _read_move_confirmed, ReplayChecker._move_confirmed
        ),
        FILER_REJECTED: _Change(
            FILER, _roles(_REVIEWER), _read_reason, ReplayChecker._filer_rejected
        ),
        FILER_RESUBMITTED: _Change(
            FILER, _roles(_FILER_ROLE), _read_filer_resubmitted, ReplayChecker._filer_resubmitted
        ),
        FILING_APPROVED: _Change(
            PRODUCT, _roles(_REVIEWER), _read_filing_approved, ReplayChecker._filing_approved
        ),
        FILING_REJECTED: _Change(
            PRODUCT, _roles(_REVIEWER), _read_filing_rejected, ReplayChecker._filing_rejected
        ),
        PRODUCT_REVISED: _Change(
            PRODUCT, _roles(_FILER_ROLE), _read_product_revised, ReplayChecker._product_revised
        ),
        PRODUCT_WITHDRAWN: _Change(
            PRODUCT,
            _roles(_FILER_ROLE, _REVIEWER),
            _read_reason,
            ReplayChecker._product_withdrawn,
        ),
        DISPUTE_RAISED: _Change(
            PRODUCT,
            _roles(_REVIEWER, _FILER_ROLE),
            _read_dispute_raised,
            ReplayChecker._dispute_raised,
        ),
        DISPUTE_RESOLVED: _Change(
            PRODUCT, _roles(_REVIEWER), _read_dispute_resolved, ReplayChecker._dispute_resolved
        ),
        DISPUTE_ACCEPTED: _Change(
            PRODUCT, _roles(_REVIEWER), _read_dispute_accepted, ReplayChecker._dispute_accepted
        ),
        KEY_REASSIGNED: _Change(
            RESERVATION,
            _roles(_FILER_ROLE),
            _read_key_reassigned,
            ReplayChecker._key_reassigned,
        ),
        CONVERSION_REPORTED: _Change(
            CONVERSION,
            _roles(_INSTITUTION),
            _read_conversion_reported,
            ReplayChecker._conversion_reported,
        ),
        BENCHMARKS_REVISED: _Change(
            BENCHMARKS, _roles(_CERTIFIER), _read_benchmarks, ReplayChecker._benchmarks_revised
        ),
        EVALUATION_STARTED: _Change(
            ROUND,
            _roles(_CERTIFIER),
            _read_evaluation_started,
            ReplayChecker._evaluation_started,
        ),
        LIST_PUBLISHED: _Change(
            ROUND, _roles(_CERTIFIER), _read_list_published, ReplayChecker._list_published
        ),
        CERTIFICATION_REVOKED: _Change(
            CERTIFICATION, _roles(_CERTIFIER), _read_revoked, ReplayChecker._certification_revoked
        ),
        OBJECTION_DISMISSED: _Change(
            OBJECTION, _roles(_CERTIFIER), _read_reason, ReplayChecker._objection_dismissed
        ),
        OBJECTION_UPHELD: _Change(
            OBJECTION, _roles(_CERTIFIER), _read_reason, ReplayChecker._objection_upheld
        ),
    }
)
KNOWN_TOPICS: Final = frozenset(_CREATIONS) | frozenset(_CHANGES)
"""Every event topic the replay understands."""
