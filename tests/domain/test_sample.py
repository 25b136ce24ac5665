"""The sample data set: the published Shanghai numbers, recounted from the store itself.

Counting goes through the stored events and the aggregates rebuilt from them, never through
the summary ``load_sample`` returns, so a wrong plan cannot vouch for itself.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from api.bootstrap import SignedPatentLedger, open_ledger
from api.settings import Settings
from domain.application import PatentLedger
from domain.conversion import PatentConversion
from domain.filer import Filer, FilerStatus
from domain.product import Product, ProductStatus
from domain.sample import (
    SHANGHAI_2023_BY_DISTRICT,
    TARGET_EXPORTS_FEN,
    TARGET_SALES_FEN,
    district_targets,
    load_sample,
)
from domain.values import LEGACY_REGION_CODES, SHANGHAI_DISTRICTS, ConversionCategory

# The CSV lives in shared/, beside the repository (parents[2] is the repository root).
CSV_PATH = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "domain"
    / "shanghai_2023_by_district.csv"
)
WINDOW_OPENS = datetime(2023, 1, 3, tzinfo=UTC)
WINDOW_CLOSES = datetime(2023, 7, 25, tzinfo=UTC)


def read_csv() -> list[dict[str, str]]:
    with CSV_PATH.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def notifications(ledger: PatentLedger) -> list[Any]:
    """Every stored event, in log order."""
    found: list[Any] = []
    start = 1
    while batch := ledger.recorder.select_notifications(start=start, limit=1_000):
        found.extend(batch)
        start = batch[-1].id + 1
    return found


def test_district_constant_is_the_published_table():
    rows = read_csv()
    assert district_targets() == {
        row["region_code"]: (int(row["filers"]), int(row["products"])) for row in rows
    }
    assert [(code, name) for code, name, _, _ in SHANGHAI_2023_BY_DISTRICT] == [
        (row["region_code"], row["district"]) for row in rows
    ]
    assert all(SHANGHAI_DISTRICTS[code] == name for code, name, _, _ in SHANGHAI_2023_BY_DISTRICT)
    assert sum(filers for filers, _ in district_targets().values()) == 443
    assert sum(products for _, products in district_targets().values()) == 1_023


@dataclass(frozen=True)
class Store:
    """What the store holds, rebuilt from its events."""

    events: list[Any]
    aggregates: list[Any]

    @property
    def filers(self) -> dict[str, Filer]:
        return {a.uscc: a for a in self.aggregates if isinstance(a, Filer)}

    @property
    def products(self) -> list[Product]:
        return [a for a in self.aggregates if isinstance(a, Product)]

    @property
    def conversions(self) -> list[PatentConversion]:
        return [a for a in self.aggregates if isinstance(a, PatentConversion)]

    def topic_counts(self) -> Counter[str]:
        return Counter(n.topic.rsplit(".", 1)[-1] for n in self.events)


def read_store(ledger: PatentLedger) -> Store:
    events = notifications(ledger)
    ids = dict.fromkeys(n.originator_id for n in events)
    return Store(events, [ledger.repository.get(aggregate_id) for aggregate_id in ids])


def check_published_counts(store: Store) -> None:
    """Per district: approved filers, and approved (not withdrawn) products by their filers."""
    filers = store.filers
    approved = {uscc for uscc, f in filers.items() if f.status is FilerStatus.APPROVED}
    filed = [p for p in store.products if p.status is ProductStatus.APPROVED]
    filer_counts = Counter(filers[uscc].region_code for uscc in approved)
    product_counts = Counter(filers[p.filer_uscc].region_code for p in filed)
    recounted = {code: (filer_counts[code], product_counts[code]) for code in district_targets()}
    assert recounted == district_targets()
    assert (len(approved), len(filed)) == (443, 1_023)
    assert {p.filer_uscc for p in filed} == approved  # every approved filer has one
    assert all(p.data_year == 2022 for p in filed)
    assert sum(p.figures["sales_fen"] for p in filed) == TARGET_SALES_FEN
    assert sum(p.figures["exports_fen"] for p in filed) == TARGET_EXPORTS_FEN


def check_noise(store: Store) -> None:
    """What must not count: filers in review or rejected, and every kind of other filing."""
    filers = store.filers.values()
    assert any(f.status is FilerStatus.PENDING_REVIEW for f in filers)
    assert any(f.status is FilerStatus.REJECTED for f in filers)
    assert all(f.rejection_reason for f in filers if f.status is FilerStatus.REJECTED)
    products = store.products
    statuses = Counter(p.status for p in products)
    assert statuses[ProductStatus.PENDING_REVIEW] > 0
    assert statuses[ProductStatus.REJECTED] > 0
    assert statuses[ProductStatus.WITHDRAWN] > 0
    topics = store.topic_counts()
    assert topics["ProductRevised"] > 0
    revised = {n.originator_id for n in store.events if n.topic.endswith(".ProductRevised")}
    assert any(
        p.id in revised and p.status is ProductStatus.PENDING_REVIEW and p.data_year == 2022
        for p in products
    )
    assert topics["OwnershipDisputeResolved"] > 0
    assert any(p.resolved_disputes and p.status is ProductStatus.APPROVED for p in products)
    assert any(p.open_disputes and p.status is ProductStatus.APPROVED for p in products)
    assert topics["ProductKeyReassigned"] > 0  # withdrawn, then filed again by the same filer


def check_conversions(store: Store) -> None:
    """Public institutions report patents in every category, some twice (history kept)."""
    conversions = store.conversions
    assert conversions
    assert all(c.institution_uscc.startswith("12") for c in conversions)
    assert {r["category"] for c in conversions for r in c.reports} == set(ConversionCategory)
    assert any(len(c.reports) >= 2 for c in conversions)


def check_realism(store: Store) -> None:
    """Legacy district codes inside some USCCs, every industry, every event in the season."""
    filers = store.filers.values()
    assert any(LEGACY_REGION_CODES.get(f.uscc[2:8]) == f.region_code for f in filers)
    assert all(f.region_code in SHANGHAI_DISTRICTS for f in filers)
    assert {p.category for p in store.products} == {f"{n:02d}" for n in range(1, 8)}
    assert all(
        WINDOW_OPENS <= a.created_on <= a.modified_on < WINDOW_CLOSES for a in store.aggregates
    )


def check_near_duplicates(ledger: PatentLedger, store: Store) -> None:
    """Screening's cases: another filer's model under another name, rejected as a duplicate
    of it or pending with the candidate open; approvals recorded their decisions."""
    by_id = {p.id: p for p in store.products}
    rejected = [p for p in store.products if p.duplicate_of is not None]
    pending = [
        p
        for p in store.products
        if p.status is ProductStatus.PENDING_REVIEW and ledger.screening_of(p.id).open
    ]
    assert len(rejected) == len(pending) == 3
    for product in [*rejected, *pending]:
        (candidate,) = product.screening_candidates
        original = by_id[UUID(candidate["product_id"])]
        assert candidate["reasons"] == ["same_model"]
        assert (original.model, original.status) == (product.model, ProductStatus.APPROVED)
        assert (original.name, original.filer_uscc) != (product.name, product.filer_uscc)
    assert all(p.status is ProductStatus.REJECTED for p in rejected)


def test_sample_recounted_from_the_store_matches_the_published_table(ledger):
    summary = load_sample(ledger, 7)
    store = read_store(ledger)

    assert summary.events_added == len(store.events)
    assert summary.per_district == district_targets()
    assert summary.duplicates_refused > 0  # refused attempts leave no event to count
    check_published_counts(store)
    check_noise(store)
    check_conversions(store)
    check_realism(store)
    check_near_duplicates(ledger, store)

    # Loading the same seed again adds nothing; another seed coexists and adds events.
    last = ledger.recorder.max_notification_id()
    again = load_sample(ledger, 7)
    assert (again.events_added, again.commands_run) == (0, 0)
    assert ledger.recorder.max_notification_id() == last
    other = load_sample(ledger, 8)
    assert other.events_added > 0
    assert ledger.recorder.max_notification_id() > last


# --- determinism ------------------------------------------------------------------------------


def sqlite_settings(directory: Path, key_file: Path | None = None) -> Settings:
    environ = {
        "PPL_DATA_DIR": str(directory / "data"),
        "PPL_DATABASE_URL": f"sqlite:///{directory / 'ledger.sqlite3'}",
    }
    if key_file is not None:
        environ["PPL_SIGNING_KEY_FILE"] = str(key_file)
    return Settings.from_environment(environ)


def event_log(ledger: PatentLedger) -> list[tuple[int, str, Any, int, bytes]]:
    return [
        (n.id, n.topic, n.originator_id, n.originator_version, bytes(n.state))
        for n in notifications(ledger)
    ]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[Any]]]:
    """Seed 3 loaded once into a fresh SQLite store: its signing key and its event log."""
    settings = sqlite_settings(tmp_path_factory.mktemp("reference"))
    ledger = open_ledger(settings)
    try:
        load_sample(ledger, 3)
        yield settings.key_dir / "dev-signing-key.pem", event_log(ledger)
    finally:
        ledger.close()


@pytest.fixture
def fresh_ledger(tmp_path: Path, reference: tuple[Path, list[Any]]) -> Iterator[SignedPatentLedger]:
    """A second, empty SQLite store that signs with the reference store's key."""
    ledger = open_ledger(sqlite_settings(tmp_path, key_file=reference[0]))
    yield ledger
    ledger.close()


def test_same_seed_gives_identical_events_in_two_fresh_stores(fresh_ledger, reference):
    load_sample(fresh_ledger, 3)
    assert event_log(fresh_ledger) == reference[1]


class LoadInterruptedError(Exception):
    pass


def test_interrupted_load_resumes_to_the_same_events(fresh_ledger, reference):
    def stop_midway(done: int, total: int) -> None:
        if done == total // 2:
            raise LoadInterruptedError

    with pytest.raises(LoadInterruptedError):
        load_sample(fresh_ledger, 3, progress=stop_midway)
    assert 0 < len(event_log(fresh_ledger)) < len(reference[1])

    resumed = load_sample(fresh_ledger, 3)
    assert 0 < resumed.commands_run < resumed.steps
    assert event_log(fresh_ledger) == reference[1]
