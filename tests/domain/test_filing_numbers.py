"""Filing numbers (备案号, docs/filing-numbers.md): assigned by an event at the first approval,
unique by the store, never reused; the migration numbers older approvals; the replay re-checks
every number (rules N1-N5). On SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

import domain.values
from audit.offline.errors import InvalidReplayError
from audit.offline.filing_number import parse_filing_number, series_id
from audit.offline.logged_event import LoggedEvent
from audit.offline.replay import replay
from domain import clock
from domain.actor import SYSTEM
from domain.declarations import PatentDeclaration
from domain.errors import ConcurrentUpdateError, FilingNumberNotAllowedError
from domain.filing_number import FilingNumberSeries
from tests.audit.test_replay import logged_events
from tests.domain.factories import (
    REVIEWER,
    approved_filer,
    before_filing_numbers,
    digest,
    figures,
    file,
    filer_actor,
    patent,
    uscc,
)

A, B = uscc(901), uscc(902, region="310104")


@contextlib.contextmanager
def at(moment: datetime) -> Iterator[None]:
    with clock.using_clock(lambda: moment):
        yield


def _file(ledger: Any, code: str, filer_id: Any, serial: int) -> Any:
    """A product of its own (own name, model and patent: no near-duplicate candidate)."""
    return file(
        ledger, code, filer_id, name=f"产品{serial}", model=f"M-{serial}",
        patents=[PatentDeclaration.parse(patent(serial), "owner")],
    )  # fmt: skip


def test_the_first_approval_numbers_the_product_by_its_year_in_utc8_and_region(ledger):
    a = approved_filer(ledger, A)
    b = approved_filer(ledger, B, region="310104")
    first, second, other = _file(ledger, A, a, 1), _file(ledger, A, a, 2), _file(ledger, B, b, 3)
    with at(datetime(2023, 12, 31, 16, 0, tzinfo=UTC)):  # 1 Jan 2024 00:00 in Beijing
        ledger.approve_product(REVIEWER, first)
        ledger.approve_product(REVIEWER, second)
        ledger.approve_product(REVIEWER, other)
    assert ledger.get_product(first).filing_number == "2024-310115-00001"
    assert ledger.get_product(second).filing_number == "2024-310115-00002"
    assert ledger.get_product(other).filing_number == "2024-310104-00001"  # its own series
    series = ledger.repository.get(series_id(2024, "310115"))
    assert isinstance(series, FilingNumberSeries)
    assert (series.version, series.issued) == (2, 2)
    replay(logged_events(ledger))


def test_an_approval_on_the_last_day_of_2023_in_beijing_is_numbered_2023(ledger):
    a = approved_filer(ledger, A)
    product = _file(ledger, A, a, 1)
    with at(datetime(2023, 12, 31, 15, 59, 59, tzinfo=UTC)):
        ledger.approve_product(REVIEWER, product)
    assert ledger.get_product(product).filing_number == "2023-310115-00001"


def test_the_annual_update_keeps_the_number_and_withdrawal_never_frees_it(ledger):
    a = approved_filer(ledger, A)
    first, second = _file(ledger, A, a, 1), _file(ledger, A, a, 2)
    with at(datetime(2023, 5, 1, tzinfo=UTC)):
        ledger.approve_product(REVIEWER, first)
    with at(datetime(2024, 2, 1, tzinfo=UTC)):
        ledger.revise_product(
            filer_actor(A), first, data_year=2023, figures=figures(),
            patents=[PatentDeclaration.parse(patent(1), "owner")], proof_digests=[digest("u")],
        )  # fmt: skip
        version = ledger.approve_product(REVIEWER, first)  # a later approval: no new number
    product = ledger.get_product(first)
    assert (product.filing_number, product.version) == ("2023-310115-00001", version)
    ledger.withdraw_product(filer_actor(A), first, "停产")
    with at(datetime(2023, 6, 1, tzinfo=UTC)):
        ledger.approve_product(REVIEWER, second)
    assert ledger.get_product(second).filing_number == "2023-310115-00002"  # 00001 is taken
    assert ledger.get_product(first).filing_number == "2023-310115-00001"
    replay(logged_events(ledger))


def test_two_approvals_racing_on_one_series_cannot_take_one_number(make_ledger):
    setup = make_ledger()
    a = approved_filer(setup, A)
    first, second = _file(setup, A, a, 1), _file(setup, A, a, 2)
    one, two = make_ledger(), make_ledger()  # two API processes
    products = []
    for ledger, product_id in ((one, first), (two, second)):
        product = ledger.get_product(product_id)
        rule = domain.values.screening_rule_in_force()
        product.approve(REVIEWER.as_record(), screening_rule=rule, candidates={}, distinct={})
        products.append((ledger, product, ledger._number(product, REVIEWER)))
    # both read the series as it was (none yet): both mean to take its first number
    assert products[0][1].filing_number == products[1][1].filing_number
    (l1, p1, s1), (l2, p2, s2) = products
    l1._save(p1, s1)
    with pytest.raises(ConcurrentUpdateError):
        l2._save(p2, s2)  # the store refuses the second taker: no approval, no number
    assert setup.get_product(second).filing_number is None
    assert setup.get_product(second).status.value == "pending_review"
    two.approve_product(REVIEWER, second)  # approved again: the series' next number
    numbers = {setup.get_product(p).filing_number for p in (first, second)}
    assert {parse_filing_number(n).sequence for n in numbers if n} == {1, 2}


def test_simultaneous_approvals_in_one_series_get_distinct_consecutive_numbers(make_ledger):
    setup = make_ledger()
    a = approved_filer(setup, A)
    products = [_file(setup, A, a, serial) for serial in range(1, 9)]
    ledgers = [make_ledger() for _ in range(4)]
    barrier = threading.Barrier(len(products))

    def approve(index: int) -> None:
        barrier.wait()
        ledgers[index % len(ledgers)].approve_product(REVIEWER, products[index])

    with ThreadPoolExecutor(len(products)) as pool:
        list(pool.map(approve, range(len(products))))
    numbers = [setup.get_product(p).filing_number for p in products]
    assert all(numbers)
    assert sorted(parse_filing_number(n).sequence for n in numbers if n) == list(range(1, 9))
    replay(logged_events(setup))


def test_the_migration_numbers_older_approvals_in_order_of_first_approval(ledger):
    a = approved_filer(ledger, A)
    b = approved_filer(ledger, B, region="310104")
    older, newer, gone, pending = (_file(ledger, A, a, n) for n in (1, 2, 3, 4))
    elsewhere = _file(ledger, B, b, 5)
    with before_filing_numbers():
        with at(datetime(2023, 3, 1, tzinfo=UTC)):
            ledger.approve_product(REVIEWER, newer)  # approved first: numbered first
        with at(datetime(2023, 4, 1, tzinfo=UTC)):
            ledger.approve_product(REVIEWER, older)
            ledger.approve_product(REVIEWER, gone)
            ledger.approve_product(REVIEWER, elsewhere)
        ledger.withdraw_product(filer_actor(A), gone, "停产")
    assert ledger.get_product(newer).filing_number is None
    replay(logged_events(ledger))  # no number, and no rule in force yet

    report = ledger.migrate_filing_numbers(SYSTEM)

    assert [number for _, number in report.numbered] == [
        "2023-310115-00001", "2023-310115-00002", "2023-310104-00001",
    ]  # fmt: skip
    assert [pid for pid, _ in report.numbered] == [newer, older, elsewhere]
    assert (report.withdrawn, report.already_numbered) == (1, 0)
    assert ledger.get_product(gone).filing_number is None
    assert ledger.get_product(pending).filing_number is None
    again = ledger.migrate_filing_numbers(SYSTEM)
    assert (again.numbered, again.already_numbered) == ((), 3)
    with pytest.raises(FilingNumberNotAllowedError):
        ledger.number_product(SYSTEM, pending)  # never approved
    replay(logged_events(ledger))


def test_after_the_rule_an_unnumbered_older_product_is_numbered_at_its_next_approval(ledger):
    a = approved_filer(ledger, A)
    old = _file(ledger, A, a, 1)
    with before_filing_numbers(), at(datetime(2022, 8, 1, tzinfo=UTC)):
        ledger.approve_product(REVIEWER, old)
    with at(datetime(2023, 2, 1, tzinfo=UTC)):
        ledger.revise_product(
            filer_actor(A), old, data_year=2023, figures=figures(),
            patents=[PatentDeclaration.parse(patent(1), "owner")], proof_digests=[digest("u")],
        )  # fmt: skip
        ledger.approve_product(REVIEWER, old)
    assert ledger.get_product(old).filing_number == "2022-310115-00001"  # its first approval's
    replay(logged_events(ledger))


# --- the replay catches forged numbers (N1-N5) --------------------------------------------------
def _two_numbered(ledger: Any) -> tuple[list[LoggedEvent], Any, Any]:
    """A log with two products numbered 00001 and 00002 of 2023-310115, and a third pending."""
    a = approved_filer(ledger, A)
    first, second, third = _file(ledger, A, a, 1), _file(ledger, A, a, 2), _file(ledger, A, a, 3)
    with at(datetime(2023, 5, 1, tzinfo=UTC)):
        ledger.approve_product(REVIEWER, first)
        ledger.approve_product(REVIEWER, second)
    return logged_events(ledger), second, third


def _edited(events: list[LoggedEvent], topic_end: str, product: Any, **state: Any) -> list[Any]:
    """``events`` with the state of the ``topic_end`` event of ``product`` (or naming it)
    changed."""
    out = []
    for e in events:
        names = e.originator_id == product or e.state.get("product_id") == str(product)
        if e.topic.endswith(topic_end) and names:
            e = dataclasses.replace(e, state={**e.state, **state})  # noqa: PLW2901
        out.append(e)
    return out


def _refused(events: list[Any], rule: str) -> InvalidReplayError:
    with pytest.raises(InvalidReplayError) as caught:
        replay(events)
    assert f"({rule})" in caught.value.reason, caught.value.reason
    return caught.value


def test_the_honest_log_replays(ledger):
    events, _, _ = _two_numbered(ledger)
    replay(events)


def test_the_replay_refuses_a_number_issued_twice(ledger):
    events, second, _ = _two_numbered(ledger)
    forged = _edited(events, ".FilingNumberAssigned", second, filing_number="2023-310115-00001")
    forged = _edited(forged, ".FilingNumberIssued", second, filing_number="2023-310115-00001",
                     sequence=1)  # fmt: skip
    error = _refused(forged, "N3")
    assert error.originator_id == series_id(2023, "310115")


def test_the_replay_refuses_a_gap_in_a_series(ledger):
    events, second, _ = _two_numbered(ledger)
    forged = _edited(events, ".FilingNumberAssigned", second, filing_number="2023-310115-00003")
    forged = _edited(forged, ".FilingNumberIssued", second, filing_number="2023-310115-00003",
                     sequence=3)  # fmt: skip
    _refused(forged, "N3")


def test_the_replay_refuses_a_number_of_another_year(ledger):
    events, second, _ = _two_numbered(ledger)
    forged = _edited(events, ".FilingNumberAssigned", second, filing_number="2022-310115-00002")
    error = _refused(forged, "N2")
    assert error.originator_id == second


def test_the_replay_refuses_a_number_of_another_region(ledger):
    events, second, _ = _two_numbered(ledger)
    forged = _edited(events, ".FilingNumberAssigned", second, filing_number="2023-310104-00002")
    _refused(forged, "N2")


def test_the_replay_refuses_a_malformed_number(ledger):
    events, second, _ = _two_numbered(ledger)
    for bad in ("2023-310115-0002", "2023-310115-00000", "2023-310115-012345", "23-310115-00002"):
        forged = _edited(events, ".FilingNumberAssigned", second, filing_number=bad)
        _refused(forged, "N1")


def test_the_replay_refuses_a_number_on_an_unapproved_product(ledger):
    events, second, third = _two_numbered(ledger)
    # the second product's approval left out, its numbering moved onto the pending third
    # one by the system (the migration's actor)
    numbered = (".FilingNumberAssigned", ".FilingNumberIssued")
    assigned, issued = [e for e in events if e.topic.endswith(numbered)][-2:]
    approval = next(
        e for e in events if e.originator_id == second and e.topic.endswith(".FilingApproved")
    )
    third_version = max(e.version for e in events if e.originator_id == third)
    system = {"id": SYSTEM.id, "role": "system", "scope": None}
    forged = [e for e in events if e not in (assigned, issued, approval)]
    forged.append(dataclasses.replace(
        assigned, originator_id=third, version=third_version + 1,
        state={**assigned.state, "actor": system},
    ))  # fmt: skip
    forged.append(dataclasses.replace(
        issued, state={**issued.state, "product_id": str(third), "actor": system},
    ))  # fmt: skip
    forged = [dataclasses.replace(e, leaf_index=i) for i, e in enumerate(forged)]
    error = _refused(forged, "N1")
    assert error.originator_id == third


def test_the_replay_refuses_an_approval_without_its_number_once_the_rule_is_in_force(ledger):
    events, second, _ = _two_numbered(ledger)
    forged = [
        e for e in events
        if not (e.topic.endswith(".FilingNumberAssigned") and e.originator_id == second)
        and not e.topic.endswith(".FilingNumberIssued")
    ]  # fmt: skip
    forged = [dataclasses.replace(e, leaf_index=i) for i, e in enumerate(forged)]
    error = _refused(forged, "N5")
    assert error.originator_id == second


def test_the_replay_refuses_a_series_event_alone(ledger):
    events, second, _ = _two_numbered(ledger)
    forged = [
        e for e in events
        if not (e.topic.endswith(".FilingNumberAssigned") and e.originator_id == second)
    ]  # fmt: skip
    forged = [dataclasses.replace(e, leaf_index=i) for i, e in enumerate(forged)]
    _refused(forged, "N3")
