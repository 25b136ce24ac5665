"""The annual certification in the offline replay: rules B1, R1-R3, I1, D1-D4, O1-O2
(audit/offline/replay.py's docstring), a mixin of ``audit.offline.replay.ReplayChecker`` and the
stateless
readers of the certification's events.

Why a module of its own: the certification is a third of the replay (its own aggregates, the
indicators' arithmetic, eligibility), and audit/offline/replay.py passed 2,000 lines with it (issue
#16). Standard library only.

Certification (domain.benchmarks, domain.certification_round, domain.certification_opt_in,
domain.certification, domain.objection; docs/certification.md). Deadlines are days in Beijing
time: "by D" is a timestamp before D + 1 day 00:00 UTC+8.
  B1  BenchmarkTableDefined (id uuid5(BENCHMARK_NAMESPACE, "benchmark-table")) and
      BenchmarkTableRevised (the next version of that table), by the certifier: every
      category 01-07 has at least one threshold; every indicator is one ``_INDICATORS``
      knows, defined in the event with its unit and comparison, and used; thresholds are
      non-negative integers (at most 10000 basis points for shares); the note is clean text
      or empty.
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
  D4  CertificationRevoked: by the certifier, with a reason, on a certified decision, naming
      the objection upheld by the event just before it, which is against this certification
      (E6).
  O1  ObjectionFiled: by a filer (not the product's own), an institution, a reviewer or a
      regional administrator (for a product of its region), during the round's objection
      window, against a decision that was Certified (it may have been revoked since: a
      concurrent objection), naming its certification id uuid5(year, product), with a reason.
  O2  ObjectionDismissed / ObjectionUpheld: by the certifier, with a reason, on an open
      objection; upholding needs the certification still certified.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final
from uuid import uuid5

from audit.offline.annex_rule import UNCLASSIFIED
from audit.offline.logged_event import CANONICAL_UUID
from audit.offline.replay_base import (
    _BASIS_POINTS,
    _CATEGORIES,
    _FILER_ROLE,
    _FIRST_ROUND_YEAR,
    _INDICATORS,
    _INELIGIBILITY,
    _INPUTS,
    _INT64_MAX,
    _OBJECTION_DAYS_MAX,
    _REGIONAL_ADMIN,
    _RULE,
    APPROVED,
    BENCHMARK_TABLE_ID,
    BENCHMARKS,
    CERTIFICATION,
    CERTIFICATION_NAMESPACE,
    CERTIFIED_STATUS,
    DEFINED,
    DISMISSED,
    EVALUATING,
    FILER_NAMESPACE,
    NOT_CERTIFIED_STATUS,
    NOT_ELIGIBLE_STATUS,
    OBJECTION,
    OBJECTION_OPEN,
    OPT_IN,
    OPT_IN_NAMESPACE,
    OPTED,
    PRODUCT,
    PUBLISHED,
    REVISED,
    REVOKED,
    ROUND,
    ROUND_NAMESPACE,
    ROUND_OPENED_STATUS,
    UPHELD,
    WITHDRAWN,
    Fields,
    _Aggregate,
    _closes_at,
    _Decision,
    _Event,
    _Facts,
    _Head,
    _Inputs,
    _Round,
    _Table,
)
from audit.offline.uuid_text import uuid5_text


class CertificationRules:
    """The certification's handlers, mixed into ``ReplayChecker`` (which provides the state)."""

    _aggregates: dict[str, _Aggregate]
    _upheld: tuple[_Head, str] | None

    def _find(self, head: _Head, aggregate_id: str, kind: str, role: str) -> _Aggregate:
        raise NotImplementedError  # ReplayChecker's

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
        filer = self._aggregates.get(uuid5_text(FILER_NAMESPACE, filer_uscc))
        if filer is None or filer.region_code != region_code:
            have = None if filer is None else filer.region_code
            raise head.fail(f"region_code {region_code}: the filer's is {have}")
        opt_in = self._aggregates.get(uuid5_text(OPT_IN_NAMESPACE, f"{year}\x1f{product_id}"))
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
    current.clean("note", empty=True)
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
    current.reason()  # D4
    return (current.uuid("objection_id"),)


def _read_objection_filed(current: _Event) -> Fields:
    year = current.count("round_year", low=_FIRST_ROUND_YEAR, high=2100)  # O1
    product_id = current.uuid("product_id")
    certification_id = current.uuid("certification_id")
    if certification_id != str(uuid5(CERTIFICATION_NAMESPACE, f"{year}\x1f{product_id}")):
        raise current.fail(f"certification_id {certification_id}: want uuid5 of year and product")
    current.reason()
    return year, certification_id, current.timestamp()
