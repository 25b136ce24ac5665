"""Never filed twice under key rule v2: every spelling of one product is refused, on both stores.

The cases are data (tests/testdata/product_keys.json, with ``desc`` and ``want_error``) so an
outside implementation of the rule can run them too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from domain.errors import DomainError, DuplicateProductError, TextInvalidError
from domain.values import KeyRule
from tests.domain.factories import REVIEWER, approved_filer, file, filer_actor, uscc

CASES: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "testdata" / "product_keys.json").read_text("utf-8")
)


def _two_filers(ledger, serial: int) -> list[tuple[str, Any]]:
    """Two approved filers (USCC, filer id), of serials ``serial`` and ``serial + 1``."""
    return [(uscc(n), approved_filer(ledger, uscc(n))) for n in (serial, serial + 1)]


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["desc"] for case in cases]


@pytest.mark.parametrize("case", CASES["same"], ids=_ids(CASES["same"]))
def test_another_spelling_of_a_filed_product_is_refused_as_a_duplicate(ledger, case):
    (first_code, first_filer), (second_code, second_filer) = _two_filers(ledger, 810)
    name, model = case["first"]
    first = file(ledger, first_code, first_filer, name=name, model=model)
    ledger.approve_product(REVIEWER, first)
    before = ledger.recorder.max_notification_id()

    name, model = case["second"]
    with pytest.raises(DuplicateProductError) as refused:
        file(ledger, second_code, second_filer, name=name, model=model)

    assert refused.value.code == case["want_error"]
    assert refused.value.details["existing_product_id"] == str(first)
    assert ledger.recorder.max_notification_id() == before  # nothing stored
    with pytest.raises(DuplicateProductError):  # nor by the filer of the first filing
        file(ledger, first_code, first_filer, name=name, model=model)


@pytest.mark.parametrize("case", CASES["distinct"], ids=_ids(CASES["distinct"]))
def test_distinct_products_that_share_a_model_a_name_or_a_patent_are_both_accepted(ledger, case):
    (first_code, first_filer), (second_code, second_filer) = _two_filers(ledger, 820)
    name, model = case["first"]
    first = file(ledger, first_code, first_filer, name=name, model=model)
    name, model = case["second"]
    second = file(ledger, second_code, second_filer, name=name, model=model)  # the same patent

    assert first != second
    assert ledger.get_product(second).model == model


@pytest.mark.parametrize("case", CASES["empty"], ids=_ids(CASES["empty"]))
def test_a_name_or_model_that_folds_to_nothing_is_refused(ledger, case):
    code = uscc(830)
    filer_id = approved_filer(ledger, code)
    before = ledger.recorder.max_notification_id()

    with pytest.raises(TextInvalidError) as refused:
        file(ledger, code, filer_id, name=case["name"], model=case["model"])

    error: DomainError = refused.value
    assert (error.code, error.details["field"]) == (case["want_error"], case["field"])
    assert ledger.recorder.max_notification_id() == before


def test_a_filing_reserves_its_key_under_both_rules_and_names_the_rule_that_refused(ledger):
    code, other = uscc(840), uscc(841)
    filer_id, other_id = approved_filer(ledger, code), approved_filer(ledger, other)
    file(ledger, code, filer_id, name="精密行星减速器", model="PX-4408")

    assert ledger.get_reservation("精密行星减速器", "PX-4408") is not None  # v1
    v2 = ledger.get_reservation("精密行星减速器", "РХ-4408", KeyRule.V2)  # Cyrillic
    assert v2 is not None
    assert v2.key_rule is KeyRule.V2
    with pytest.raises(DuplicateProductError) as by_v1:
        file(ledger, other, other_id, name="精密行星减速器", model="px 4408")
    assert by_v1.value.details["key_rule"] == 1
    with pytest.raises(DuplicateProductError) as by_v2:
        file(ledger, other, other_id, name="精密行星减速器", model="РХ-4408")
    assert by_v2.value.details["key_rule"] == 2


def test_a_refused_duplicate_spends_no_notification_id(ledger):
    """Refusals are decided before the save: on PostgreSQL a refused insert would still spend
    notification ids, leaving gaps that make read models differ between the stores."""
    code, other = uscc(850), uscc(851)
    filer_id, other_id = approved_filer(ledger, code), approved_filer(ledger, other)
    first = file(ledger, code, filer_id, name="精密行星减速器", model="PX-4408")
    ledger.withdraw_product(filer_actor(code), first, "退市")
    for name, model in (("精密行星减速器", "РХ-4408"), ("精密行星減速器", "PX\u22124408")):
        with pytest.raises(DuplicateProductError):
            file(ledger, other, other_id, name=name, model=model)
    file(ledger, code, filer_id, name="精密行星减速器", model="РХ-4408")  # the filer's re-filing
    before = ledger.recorder.max_notification_id()

    file(ledger, other, other_id, name="工业机器人控制系统", model="RC-1")

    ids = [n.id for n in ledger.recorder.select_notifications(start=1, limit=1000)]
    assert ids == list(range(1, len(ids) + 1))  # no gap
    assert ledger.recorder.max_notification_id() == before + 3
