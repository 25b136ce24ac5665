"""Patent conversion feedback (存量专利盘活): history kept, never overwritten."""

from __future__ import annotations

import pytest

from domain.actor import Actor, Role
from domain.errors import (
    ActorNotPermittedError,
    CategoryInvalidError,
    DateInvalidError,
    InstitutionNotEligibleError,
    MoneyInvalidError,
)
from tests.domain.factories import patent, uscc

UNIVERSITY = uscc(500, prefix="12", region="310110")


def _institution(code: str = UNIVERSITY) -> Actor:
    return Actor(id=f"tto-{code}", role=Role.INSTITUTION, scope=code)


def _report(ledger, category="ordinary_licence", *, actor=None, code=UNIVERSITY, **override):
    arguments = {
        "institution_uscc": code,
        "patent_number": patent(7),
        "category": category,
        "counterparty": "上海某某制造有限公司",
        "occurred_on": "2023-05-04",
        "amount_fen": 5_000_000,
    }
    arguments.update(override)
    return ledger.report_conversion(actor or _institution(code), **arguments)


def test_later_reports_are_kept_as_history(ledger):
    record_id = _report(ledger, "ordinary_licence")
    assert _report(ledger, "industrialised_by_licensee", amount_fen=None) == record_id
    record = ledger.get_conversion(UNIVERSITY, patent(7))
    assert [r["category"] for r in record.reports] == [
        "ordinary_licence",
        "industrialised_by_licensee",
    ]
    assert record.reports[0]["amount_fen"] == 5_000_000
    assert record.latest["amount_fen"] is None
    assert record.region_code == "310110"
    names = [type(e).__name__ for e in ledger.events.get(record_id)]
    assert names == ["ConversionRecordOpened", "ConversionReported", "ConversionReported"]


def test_legacy_region_inside_uscc_maps_forward(ledger):
    code = uscc(501, prefix="12", region="310230")
    _report(ledger, code=code)
    assert ledger.get_conversion(code, patent(7)).region_code == "310151"


def test_enterprises_do_not_report_stock_patent_conversion(ledger):
    code = uscc(502, prefix="91")
    with pytest.raises(InstitutionNotEligibleError):
        _report(ledger, code=code)


def test_institution_reports_only_for_itself(ledger):
    with pytest.raises(ActorNotPermittedError):
        _report(ledger, actor=_institution(uscc(503, prefix="12")))
    with pytest.raises(ActorNotPermittedError):
        _report(ledger, actor=Actor(id="f", role=Role.FILER, scope=UNIVERSITY))


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"category": "sold"}, CategoryInvalidError),
        ({"occurred_on": "2023-13-01"}, DateInvalidError),
        ({"amount_fen": -1}, MoneyInvalidError),
    ],
)
def test_invalid_reports_store_nothing(ledger, override, error):
    before = ledger.recorder.max_notification_id()
    with pytest.raises(error):
        _report(ledger, **override)
    assert ledger.recorder.max_notification_id() == before
