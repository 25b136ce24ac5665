"""Never filed twice, under concurrency: exactly one of many simultaneous filings wins."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from domain.errors import DuplicateProductError
from domain.values import canonical_product_key
from tests.domain.factories import approved_filer, file, uscc

THREADS = 16


def _products_in_store(ledger, key):
    """Count ProductFiled events for ``key`` by scanning every stored event."""
    count = 0
    start = 1
    while True:
        page = ledger.recorder.select_notifications(start=start, limit=500)
        if not page:
            return count
        for notification in page:
            if notification.topic.endswith(":Product.ProductFiled"):
                event = ledger.mapper.to_domain_event(notification)
                count += event.canonical_key == key
        start = page[-1].id + 1


@pytest.mark.parametrize("same_filer", [True, False], ids=["same-filer", "many-filers"])
def test_simultaneous_filings_of_one_product_have_exactly_one_winner(
    make_ledger, backend, same_filer
):
    setup = make_ledger()
    codes = [uscc(700)] * THREADS if same_filer else [uscc(700 + i) for i in range(THREADS)]
    filer_ids = {code: approved_filer(setup, code) for code in dict.fromkeys(codes)}
    # One application per worker, as separate API processes would have.
    ledgers = [make_ledger() for _ in range(4)]
    barrier = threading.Barrier(THREADS)

    def attempt(index: int) -> str:
        ledger = ledgers[index % len(ledgers)]
        code = codes[index]
        barrier.wait()
        try:
            file(ledger, code, filer_ids[code], name="并发测试产品", model=f"C-{'1' * 1}")
        except DuplicateProductError as exc:
            return f"duplicate:{exc.details['existing_product_id']}"
        return "filed"

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(attempt, range(THREADS)))

    assert outcomes.count("filed") == 1, outcomes
    duplicates = [o for o in outcomes if o.startswith("duplicate:")]
    assert len(duplicates) == THREADS - 1
    reservation = setup.get_reservation("并发测试产品", "C-1")
    assert reservation is not None
    assert set(duplicates) == {f"duplicate:{reservation.product_id}"}
    assert _products_in_store(setup, canonical_product_key("并发测试产品", "C-1")) == 1


SPELLINGS = (  # one product: Latin, Cyrillic look-alikes, traditional characters
    ("精密行星减速器", "PX-4408"),
    ("精密行星减速器", "РХ-4408"),
    ("精密行星減速器", "PX\u22124408"),
    ("精密\u034f行星减速器", "ＰＸ－４４０８"),
)


def test_filers_racing_with_different_spellings_of_one_product_have_exactly_one_winner(
    make_ledger, backend
):
    setup = make_ledger()
    codes = [uscc(750 + i) for i in range(THREADS)]
    filer_ids = {code: approved_filer(setup, code) for code in codes}
    ledgers = [make_ledger() for _ in range(4)]
    barrier = threading.Barrier(THREADS)

    def attempt(index: int) -> str:
        name, model = SPELLINGS[index % len(SPELLINGS)]
        barrier.wait()
        try:
            file(ledgers[index % len(ledgers)], codes[index], filer_ids[codes[index]],
                 name=name, model=model)  # fmt: skip
        except DuplicateProductError:
            return "duplicate"
        return "filed"

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(attempt, range(THREADS)))

    assert outcomes.count("filed") == 1, outcomes
    assert outcomes.count("duplicate") == THREADS - 1
