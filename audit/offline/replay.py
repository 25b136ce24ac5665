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

Rules (every failure raises ``audit.offline.errors.InvalidReplayError`` naming the event):

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
  Values are the ones the domain's value objects record (audit.offline.replay_values): a
  USCC is 18 characters of the GB 32100-2015 alphabet, characters 3-8 digits, with its check
  character, not of prefix 92 (no legal person); a region code is 6 digits of a province
  (in Shanghai the city, 310000, or a current district); a patent number is CNIPA's
  ``digits.C`` (12 or 8 digits, the mod-11 check, type digit 1, 2, 3, 8 or 9, an application
  year 1985-2100, 1985-2003 for 8 digits); a digest is SHA-256 as 64 lowercase hex
  characters; clean text is not empty, at most the field's length in code points (dispute_id
  64; name, model, variants, reference, claimant, counterparty 200; description, note,
  reason 2000), without surrounding whitespace, control (Cc), surrogate or bidirectional
  control characters (that it is NFC is not re-checked: it depends on the auditor's Unicode
  version); a reason is clean text that is not only whitespace. An honest ledger recorded
  no other value, so these need no rule version. Not checked: the texts of a filer's contact
  and of a licence reference (the domain cleans them only when it parses them).

Filer (domain.filer)
  F1  Registered under id uuid5(FILER_NAMESPACE, uscc) of a USCC, by the filer itself or a
      reviewer, with a known kind, a clean name, a region code (the district certification
      reports count it in) and SHA-256 proof and pledge digests.
  F2  Real-name verification happens once (system or reviewer), with a clean reference.
  F3  Approval only while pending_review and verified; rejection only while pending_review,
      with a reason (reviewer); resubmission only when rejected, by the filer itself, with
      SHA-256 proof and pledge digests.

Product (domain.product)
  P1  Filed by an actor acting for ``filer_uscc``; ``filer_id`` names a filer that exists and
      is approved at that point of the log and has that USCC; a clean name and variants, a
      clean or empty model; at least one patent, none twice, each declared as the domain
      records it: a patent number, the type its number gives, the relation owner or licensee,
      and a licensee's licence reference; a category 01-07, with no finer code or one of 3 to
      6 digits under it; a data year 1985-2100; figures of non-negative integer fen (sales,
      exports, profit, IP spending), exports not above sales; SHA-256 proof digests. Under
      annex rule v1 (recorded after the domain bounded them: domain.ranges) each figure is at
      most 10^15 fen and at most 1,000,000 patents are declared; an event recorded before
      is judged by the signed 64-bit range of its time (docs/api.md, "Ranges"). A wider
      bound in the domain would need a new rule version.
  P2  Approval only while pending_review and with no open dispute; rejection only while
      pending_review, with a reason (reviewer).
  P3  Revision by the filer, only from approved or rejected, to a strictly later data year,
      with patents, data year, figures, finer code and digests as in P1; the filing goes back
      to pending_review.
  The replay keeps, per filing version, what certification reads: status, data year,
  category, figures, patent counts, when its current data were submitted (filed or revised)
  and approved, and whether a dispute is open (rules D2-D3).
  P4  Withdrawal by the filer or a reviewer, with a reason, unless already withdrawn.
  P5  A dispute is raised (reviewer or any filer) on a filing not withdrawn, under a clean id
      never used on it, with a clean claimant and description, over one or more patent
      numbers the filing declares, none already in an open dispute.
  P6  Only an open dispute is resolved (reviewer), with a known outcome and a clean note.
      Like the domain, this is allowed after withdrawal; everything else after withdrawal is
      refused.

Reservation (domain.reservation)
  Key rules: audit.offline.product_key (docs/never-filed-twice.md). A reservation event's
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

Near-duplicate screening (audit.offline.screening, docs/never-filed-twice.md; checked by
audit/offline/replay_screening.py). The replay feeds an ``audit.offline.screening.ScreeningIndex``
in log
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
      are sorted by product_id, each once, each with a reason; under 0 there are none. Under
      1 each names a filing of C(F), and every filing of C(F) is decided on this approval or
      an earlier approval of the same filing (a decision stands).
  S3  Screening is in force from the first ProductFiled or FilingApproved recorded under rule
      1 or later; after it, a ProductFiled or FilingApproved under rule 0 is refused.
  S4  FilingRejected: ``duplicate_of``, if not null, is the UUID of a filing (a Product) in the
      log before the rejection, not the rejected filing itself.

Annex rule v1 (audit.offline.annex_rule, docs/annex-rules.md; checked by
audit/offline/replay_annex.py). An
``annex_rule`` is 0 or 1 (absent: 0, an event recorded before the rule; so are absent
corrections, ``category`` of a revision, ``removed_patents`` and ``returned_to_review``).
  A1  Annex rule v1 is in force from the first event recorded under it (FilerRegistered,
      FilerApproved, FilerResubmitted, FilerRegionMoveConfirmed, ProductFiled, ProductRevised,
      OwnershipDisputeResolved); after it such an event under rule 0 is refused.
  A2  FilerRegistered under v1: the kind fits the USCC's organisation type.
  A3  FilerResubmitted: corrections (name, kind, region_code, contact) only under v1, each null
      or well formed (a clean name, a known kind, a region code); under v1 the resulting kind
      fits the USCC. Corrected kind and region are
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

Ownership disputes under dispute rule v1 (audit.offline.dispute_rule). A ``dispute_rule`` is 0 or 1
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
      replay checks their shape, not their sums: every count and cell has exactly the keys
      ``publish_statistics`` records, non-negative integer counts, a cell's money as digit
      strings (both null when it is suppressed, primary or secondary), a known level (district,
      city, province) and a 6-digit region code; each of ``rules`` is an integer.

Conversion (domain.conversion)
  C1  ConversionRecordOpened: id uuid5(CONVERSION_NAMESPACE, uscc + U+001F + patent) of a USCC
      and a patent number, by the institution itself, whose registration authority is 1 or 5;
      its region code is the one inside the USCC (a retired one mapped forward).
  C2  ConversionReported: only on an opened record (E3), by its institution, with a known
      category, a clean counterparty, an ISO date and a null or non-negative integer amount.

Certification (domain.benchmarks, domain.certification_round, domain.certification_opt_in,
domain.certification, domain.objection; docs/certification.md): rules B1, R1-R3, I1, D1-D4,
O1-O2, in audit/offline/replay_certification.py's docstring.

Filing numbers (domain.filing_number, docs/filing-numbers.md): rules N1-N5, in
audit/offline/replay_filing_numbers.py's docstring.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from audit.offline.annex_rule import AnnexRule, kind_misfit
from audit.offline.dispute_rule import DisputeRule
from audit.offline.errors import InvalidReplayError
from audit.offline.logged_event import LoggedEvent
from audit.offline.product_key import (
    KeyRule,
)
from audit.offline.replay_annex import (
    require_move,
    require_region,
    require_removal,
)
from audit.offline.replay_base import (
    _CERTIFIER,
    _FILER_ROLE,
    _INSTITUTION,
    _REGIONAL_ADMIN,
    _REVIEWER,
    _SYSTEM,
    AGGREGATE_TOPICS,
    APPROVED,
    BENCHMARKS,
    BENCHMARKS_DEFINED,
    BENCHMARKS_REVISED,
    CERTIFICATION,
    CERTIFICATION_REVOKED,
    CERTIFIED,
    CONVERSION,
    CONVERSION_OPENED,
    CONVERSION_REPORTED,
    DISPUTE_ACCEPTED,
    DISPUTE_RAISED,
    DISPUTE_RESOLVED,
    EVALUATION_STARTED,
    FILER,
    FILER_APPROVED,
    FILER_MOVE_CONFIRMED,
    FILER_REAL_NAME_VERIFIED,
    FILER_REGISTERED,
    FILER_REJECTED,
    FILER_RESUBMITTED,
    FILING_APPROVED,
    FILING_NUMBER_ASSIGNED,
    FILING_REJECTED,
    KEY_MIGRATED,
    KEY_REASSIGNED,
    KEY_RESERVED,
    LIST_PUBLISHED,
    NOT_CERTIFIED,
    NOT_ELIGIBLE,
    NUMBER_ISSUED,
    OBJECTION,
    OBJECTION_DISMISSED,
    OBJECTION_FILED,
    OBJECTION_UPHELD,
    OPENED,
    OPT_IN,
    OPTED_IN,
    PENDING_REVIEW,
    PRODUCT,
    PRODUCT_FILED,
    PRODUCT_REVISED,
    PRODUCT_WITHDRAWN,
    PUBLICATION,
    PUBLISHED,
    REJECTED,
    REPORTED,
    RESERVATION,
    ROUND,
    ROUND_OPENED,
    SERIES,
    SERIES_OPENED,
    STATISTICS_PUBLISHED,
    WITHDRAWN,
    Fields,
    Prepared,
    ReplaySummary,
    RuleInForce,
    _Aggregate,
    _Event,
    _Head,
    _remember,
    _require_fitting_id,
    unbound_error,
    upheld_error,
)
from audit.offline.replay_certification import (
    CertificationRules,
    _read_benchmarks,
    _read_certified,
    _read_evaluation_started,
    _read_list_published,
    _read_not_certified,
    _read_not_eligible,
    _read_objection_filed,
    _read_opted_in,
    _read_revoked,
    _read_round_opened,
)
from audit.offline.replay_filing_numbers import (
    FilingNumberRules,
    ReplayFilingNumbers,
    read_number_assigned,
    read_number_issued,
    read_series_opened,
)
from audit.offline.replay_keys import KeyRules
from audit.offline.replay_readers import (
    _read_conversion_opened,
    _read_conversion_reported,
    _read_dispute_accepted,
    _read_dispute_raised,
    _read_dispute_resolved,
    _read_filer_approved,
    _read_filer_registered,
    _read_filer_resubmitted,
    _read_filer_verified,
    _read_filing_approved,
    _read_filing_rejected,
    _read_key_event,
    _read_key_reassigned,
    _read_key_reserved,
    _read_move_confirmed,
    _read_product_filed,
    _read_product_revised,
    _read_publication,
    _read_reason,
)
from audit.offline.replay_screening import (
    ReplayScreening,
    require_decisions,
)
from audit.offline.screening import Declaration, ScreeningRule


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


class ReplayChecker(CertificationRules, FilingNumberRules, KeyRules):
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
        self._annex = RuleInForce("annex_rule", "annex rule v1", "A1")
        self._disputes = RuleInForce("dispute_rule", "dispute rule v1", "Q1")
        self._numbers = ReplayFilingNumbers()  # N1-N5
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
        self._numbers.before(head)  # N3, N5
        if topic not in (KEY_RESERVED, KEY_REASSIGNED):
            self._v2_may_follow = None  # K4: only the very next event may bind it under v2
        if unbound is not None and topic not in (KEY_RESERVED, KEY_REASSIGNED):
            raise unbound_error(unbound, f"the next event (leaf {head.leaf_index}) is {topic}")
        if upheld is not None and (
            topic != CERTIFICATION_REVOKED or head.originator_id != upheld[1]
        ):
            raise upheld_error(upheld[0], f"the next event (leaf {head.leaf_index}) is {topic}")

    def finish(self) -> ReplaySummary:
        """End of the log: check nothing is left half-saved and summarise the replay.

        Raises:
            InvalidReplayError: the last event is a ProductFiled without its key event (E5) or
                an ObjectionUpheld without its CertificationRevoked (E6).
        """
        if self._unbound is not None:
            raise unbound_error(self._unbound, "the log ends before it")
        if self._upheld is not None:
            raise upheld_error(self._upheld[0], "the log ends before it")
        self._numbers.finish()  # N3, N5
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
        self._first_approval(head, product, approved_at)  # N2, N5

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

    # --- conversion -------------------------------------------------------------------------
    def _conversion_opened(self, head: _Head, fields: Fields) -> _Aggregate:
        (uscc,) = fields
        return _Aggregate(CONVERSION, 1, OPENED, owner_uscc=uscc)

    def _conversion_reported(self, head: _Head, fields: Fields, record: _Aggregate) -> None:
        head.require_acts_for(record.owner_uscc)  # C2
        record.status = REPORTED

    # --- certification ----------------------------------------------------------------------


def replay(events: Iterable[LoggedEvent]) -> ReplaySummary:
    """Replay a whole log (in log order) and summarise it.

    Raises:
        InvalidReplayError: the first event that breaks a rule of this module.
    """
    checker = ReplayChecker()
    for event in events:
        checker.apply(event)
    return checker.finish()


def _roles(*roles: str) -> frozenset[str]:
    return frozenset(roles)


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
            PUBLICATION, _roles(_SYSTEM, _REVIEWER), _read_publication, ReplayChecker._published
        ),
        SERIES_OPENED: _Creation(
            SERIES, _roles(_SYSTEM), read_series_opened, ReplayChecker._series_opened
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
            PRODUCT, _roles(_FILER_ROLE, _REVIEWER), _read_reason, ReplayChecker._product_withdrawn
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
        FILING_NUMBER_ASSIGNED: _Change(
            PRODUCT,
            _roles(_SYSTEM),
            read_number_assigned,
            ReplayChecker._number_assigned,
        ),
        NUMBER_ISSUED: _Change(
            SERIES, _roles(_SYSTEM), read_number_issued, ReplayChecker._number_issued
        ),
        KEY_REASSIGNED: _Change(
            RESERVATION, _roles(_FILER_ROLE), _read_key_reassigned, ReplayChecker._key_reassigned
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
            ROUND, _roles(_CERTIFIER), _read_evaluation_started, ReplayChecker._evaluation_started
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
