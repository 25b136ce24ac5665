"""The stateless halves of the replay's rules for filers, filings, key reservations,
conversions and publications: each reads the fields its rule reads, checked, from one event's
state (audit/offline/replay.py's rules F, P, K, S, A, Q, C, M; the certification's are in
audit/offline/replay_certification.py).

Why a module of its own: they read no state, so ``audit.offline.replay.prepare`` runs them in the
verifier's worker processes, and audit/offline/replay.py keeps the rules that read the log so far.
Standard library only.
"""

from __future__ import annotations

from datetime import date
from typing import Final
from uuid import uuid5

from audit.offline.annex_rule import ORGANISATION_TYPES, UNCLASSIFIED, AnnexRule, uscc_region
from audit.offline.dispute_rule import SHA256_HEX, DisputeRule, accepted_on_raising
from audit.offline.product_key import PRODUCT_KEY_NAMESPACE, KeyRule, reservation_name
from audit.offline.replay_annex import (
    read_annex_rule,
    read_corrections,
    read_move,
    read_resolution,
    require_category,
    require_data,
    require_kind,
)
from audit.offline.replay_base import (
    _CONVERSION_CATEGORIES,
    _DISPUTE_OUTCOMES,
    _INSTITUTION_AUTHORITIES,
    _PERIOD,
    CONVERSION_NAMESPACE,
    FILER_NAMESPACE,
    PUBLICATION_NAMESPACE,
    Fields,
    _Event,
)
from audit.offline.replay_screening import (
    read_candidates,
    read_decisions,
    read_duplicate_of,
    read_screening_rule,
)
from audit.offline.replay_values import (
    cell_misfit,
    count_misfit,
    finer_code_misfit,
    patent_misfit,
)
from audit.offline.uuid_text import uuid5_text

# --- the stateless half of each rule: the fields it reads, checked ----------------------------
_KEY_RULES: Final = frozenset(int(rule) for rule in KeyRule)  # the key_rule values known


def _read_publication(current: _Event) -> Fields:
    period = current.text("period")  # M1
    if not _PERIOD.fullmatch(period):
        raise current.fail(f"period {period!r}: want YYYY-MM")
    current.require_id(uuid5(PUBLICATION_NAMESPACE, period), f"uuid5 of period {period}")
    tree_size = current.count("tree_size")
    for rule, value in current.mapping("rules").items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise current.fail(f"rules.{rule} is {value!r}: want an integer")
    for name, misfit_of in (("counts", count_misfit), ("cells", cell_misfit)):
        entries = current.field(name)
        if not isinstance(entries, list):
            raise current.fail(f"{name} is {entries!r}: want a list")
        for number, entry in enumerate(entries):
            misfit = misfit_of(entry)
            if misfit is not None:
                raise current.fail(f"{name}[{number}] is not of the published shape: {misfit}")
    return (tree_size,)


def _read_nothing(current: _Event) -> Fields:
    return ()


def _read_reason(current: _Event) -> Fields:
    current.reason()  # F3, P4, O2: a rejection, withdrawal or decision says why
    return ()


def _read_filing_approved(current: _Event) -> Fields:
    rule = read_screening_rule(current)  # S2
    return current.timestamp(), rule, read_decisions(current, rule)


def _read_filing_rejected(current: _Event) -> Fields:
    current.reason()  # P2
    return (read_duplicate_of(current),)  # S4


def _read_filer_registered(current: _Event) -> Fields:
    uscc = current.uscc("uscc")  # F1
    current.require_id(uuid5_text(FILER_NAMESPACE, uscc), f"uuid5 of USCC {uscc}")
    current.head.require_acts_for(uscc)
    rule, kind = read_annex_rule(current), current.text("kind")
    if kind not in ORGANISATION_TYPES:
        raise current.fail(f"kind {kind!r}: want one of {sorted(ORGANISATION_TYPES)}")
    require_kind(current, rule, kind, uscc)  # A2
    current.clean("name")
    region_code = current.region_code("region_code")
    current.digests("proof_digests")
    current.digest("pledge_digest")
    return uscc, region_code, kind, rule


def _read_filer_approved(current: _Event) -> Fields:
    return (read_annex_rule(current),)  # A1


def _read_filer_resubmitted(current: _Event) -> Fields:
    current.digests("proof_digests")  # F3
    current.digest("pledge_digest")
    rule = read_annex_rule(current)  # A1
    return rule, *read_corrections(current, rule)  # A3


def _read_move_confirmed(current: _Event) -> Fields:
    return read_move(current)  # A4


def _read_filer_verified(current: _Event) -> Fields:
    current.clean("reference")  # F2
    return ()


def _read_product_filed(current: _Event) -> Fields:
    filer_uscc = current.text("filer_uscc")  # P1
    current.head.require_acts_for(filer_uscc)
    filer_id = current.uuid("filer_id")
    name = current.clean("name")
    model = current.clean("model", empty=True)
    current.clean_texts("variants")
    data_year = current.data_year()
    canonical_key = current.text("canonical_key")
    rule = read_screening_rule(current)  # S1
    annex = read_annex_rule(current)  # A1
    patents = current.patents(annex)
    category, figures, at = current.category(), current.figures(annex), current.timestamp()
    _require_finer_code(current, category)
    require_category(current, annex, category, current.state.get("finer_code"))  # A5
    require_data(current, annex, data_year, figures[0], at)
    current.digests("proof_digests")
    return (
        filer_uscc, filer_id, data_year, canonical_key, patents, category, figures,
        current.inventions(), at, name, model, rule, read_candidates(current, rule), annex,
    )  # fmt: skip


def _read_product_revised(current: _Event) -> Fields:
    data_year = current.data_year()  # P3
    annex = read_annex_rule(current)  # A1
    patents = current.patents(annex)
    figures, at = current.figures(annex), current.timestamp()
    require_data(current, annex, data_year, figures[0], at)  # A6
    category: str | None = None
    if current.state.get("category") is not None:
        if annex == AnnexRule.NONE:
            raise current.fail("a revision's category under annex_rule 0: want none (A6)")
        category = current.category()
        _require_finer_code(current, category)
        require_category(current, annex, category, current.state.get("finer_code"))
    elif current.state.get("finer_code") is not None:
        raise current.fail("a revision's finer_code without its category (A6)")
    current.digests("proof_digests")
    return data_year, patents, figures, current.inventions(), at, annex, category


def _require_finer_code(current: _Event, category: str) -> None:
    """P1, P3: a filing's finer industry code is null or lies under its category (01-07);
    an unclassified filing has none (A5)."""
    finer_code = current.state.get("finer_code")
    if category != UNCLASSIFIED:
        misfit = finer_code_misfit(finer_code, category)
        if misfit is not None:
            raise current.fail(
                f"finer_code {finer_code!r} is not under category {category}: {misfit}"
            )


def _read_dispute_raised(current: _Event) -> Fields:
    dispute_id = current.clean("dispute_id")  # P5
    listed = current.texts("patent_numbers")
    for number in listed:
        misfit = patent_misfit(number)
        if misfit is not None:
            raise current.fail(f"patent number {number!r} is not a patent number: {misfit}")
    numbers = frozenset(listed)
    current.clean("claimant")
    current.clean("description")
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
    current.clean("note")
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
    if isinstance(raw_rule, bool) or raw_rule not in _KEY_RULES:
        raise current.fail(f"key_rule {raw_rule!r}: want one of {sorted(_KEY_RULES)}")
    rule = KeyRule(raw_rule)
    current.require_id(  # = str(reservation_id(rule, key))
        uuid5_text(PRODUCT_KEY_NAMESPACE, reservation_name(rule, key)),
        f"uuid5 of its canonical_key under key rule v{int(rule)}",
    )
    return key, current.text("filer_uscc"), current.uuid("product_id"), int(rule)


def _read_key_reassigned(current: _Event) -> Fields:
    return current.uuid("previous_product_id"), current.uuid("product_id")  # K2


def _read_conversion_opened(current: _Event) -> Fields:
    uscc = current.uscc("institution_uscc")  # C1
    patent_number = current.text("patent_number")
    misfit = patent_misfit(patent_number)
    if misfit is not None:
        raise current.fail(f"patent_number {patent_number!r} is not a patent number: {misfit}")
    current.require_id(
        uuid5_text(CONVERSION_NAMESPACE, f"{uscc}\x1f{patent_number}"),
        "uuid5 of institution_uscc and patent_number",
    )
    if uscc[:1] not in _INSTITUTION_AUTHORITIES:
        raise current.fail(
            f"institution_uscc {uscc}: want registration authority 1 or 5 (an institution)"
        )
    current.head.require_acts_for(uscc)
    region_code = current.region_code("region_code")
    if region_code != uscc_region(uscc):
        raise current.fail(
            f"region_code {region_code}: want {uscc_region(uscc)}, the region inside "
            f"institution_uscc {uscc}"
        )
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
    current.clean("counterparty")
    return ()
