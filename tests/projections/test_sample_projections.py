"""The read models over the sample data: the published district table, digests, as-of, proofs.

The sample (seed 1) is loaded once per backend, both signed with the same key, so the two
stores hold byte-identical events and every projection must have the same digest on both.
"""

from __future__ import annotations

import csv
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from api.bootstrap import (
    SignedPatentLedger,
    latest_verified_checkpoint,
    open_ledger,
    open_projection_runner,
    open_projection_store,
    open_transparency_log,
    rebuild_feed,
)
from api.settings import Settings
from audit.log.transparency_log import TransparencyLog
from audit.offline.rfc6962 import verify_inclusion
from audit.signing.key_files import create_private_key_file
from domain.sample import TARGET_EXPORTS_FEN, TARGET_SALES_FEN, load_sample
from projections import queries
from projections.as_of import AsOf, replay_as_of
from projections.catalog import models
from projections.dispute_check import dispute_check
from projections.runner import RebuildResult, rebuild
from projections.store import ProjectionStore

DISTRICTS_CSV = Path(__file__).parents[3] / "shared" / "domain" / "shanghai_2023_by_district.csv"


@dataclass
class SampleStore:
    ledger: SignedPatentLedger
    log: TransparencyLog
    store: ProjectionStore

    def read(self, start: int, limit: int) -> Sequence[Any]:
        return self.ledger.recorder.select_notifications(start=start, limit=limit)

    def digests(self, store: ProjectionStore | None = None) -> dict[str, str]:
        target = store or self.store
        return {
            m.name: target.digest(m.name, m.tables, target.require_generation(m.name))
            for m in models()
        }

    def leaf_index(self, aggregate_id: UUID, version: int) -> int | None:
        leaf = self.log.store.leaf_for_event(aggregate_id, version)
        return None if leaf is None else leaf.leaf_index


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "signing.pem"
    create_private_key_file(path)
    return path


def _open(settings: Settings) -> Iterator[SampleStore]:
    ledger = open_ledger(settings)
    load_sample(ledger, 1)
    log = open_transparency_log(ledger, settings)
    log.sequence()
    store = open_projection_store(settings)
    open_projection_runner(ledger, store).catch_up()
    yield SampleStore(ledger, log, store)
    store.db.close()
    log.store.close()
    ledger.close()


def _settings(directory: Path, url: str, key: Path) -> Settings:
    return Settings.from_environment(
        {"PPL_DATA_DIR": str(directory), "PPL_DATABASE_URL": url, "PPL_SIGNING_KEY_FILE": str(key)}
    )


@pytest.fixture(scope="module")
def sqlite_sample(
    tmp_path_factory: pytest.TempPathFactory, key_file: Path
) -> Iterator[SampleStore]:
    directory = tmp_path_factory.mktemp("sqlite-sample")
    yield from _open(_settings(directory, f"sqlite:///{directory / 'ledger.sqlite3'}", key_file))


@pytest.fixture(scope="module")
def postgres_sample(
    tmp_path_factory: pytest.TempPathFactory, key_file: Path, postgres_database: str
) -> Iterator[SampleStore]:
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    directory = tmp_path_factory.mktemp("postgres-sample")
    yield from _open(_settings(directory, f"{postgres_database}?schema={schema}", key_file))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sample(request: pytest.FixtureRequest) -> SampleStore:
    found: SampleStore = request.getfixturevalue(f"{request.param}_sample")
    return found


def test_district_table_comes_out_of_the_sample_exactly(sample: SampleStore) -> None:
    with DISTRICTS_CSV.open(encoding="utf-8") as handle:
        published = {
            row["region_code"]: (int(row["filers"]), int(row["products"]))
            for row in csv.DictReader(handle)
        }
    regions = queries.region_statistics(sample.store, prefix="31")
    assert {r.region_code: (r.filers, r.products) for r in regions} == published
    (city,) = queries.region_statistics(sample.store, prefix="31", level=queries.Level.CITY)
    assert (city.region_code, city.filers, city.products) == ("310100", 443, 1_023)
    # The published totals are the figures of data year 2022; by default the 2021 figures of
    # the filings approved on 2021 data whose 2022 update is under review come in too, and the
    # answer says so instead of calling the mix one year.
    (of_2022,) = queries.region_statistics(
        sample.store, prefix="31", level=queries.Level.CITY, data_year=2022
    )
    assert (of_2022.figures_products, of_2022.sales_fen, of_2022.exports_fen) == (
        1_023, TARGET_SALES_FEN, TARGET_EXPORTS_FEN,
    )  # fmt: skip
    assert (city.data_year, city.data_years) == (None, [2021, 2022])
    assert city.sales_fen > TARGET_SALES_FEN


def test_rebuild_twice_gives_the_follower_s_digests(sample: SampleStore) -> None:
    followed = sample.digests()
    before = {m.name: sample.store.require_generation(m.name) for m in models()}
    for _ in range(2):
        result = rebuild_and_switch(sample)
        assert result.checkpoint_size == result.events > 5_000  # all under the checkpoint
        assert sample.digests() == followed
    after = {m.name: sample.store.require_generation(m.name) for m in models()}
    assert all(after[name] == before[name] + 2 for name in before)


def rebuild_and_switch(sample: SampleStore) -> RebuildResult:
    return rebuild(sample.store, models(), rebuild_feed(sample.ledger, sample.log))


@pytest.mark.postgres
def test_digests_are_identical_on_sqlite_and_postgresql(
    sqlite_sample: SampleStore, postgres_sample: SampleStore
) -> None:
    assert sqlite_sample.digests() == postgres_sample.digests()


def test_as_of_the_whole_log_is_the_served_state(sample: SampleStore) -> None:
    checkpoint = latest_verified_checkpoint(sample.log)
    assert checkpoint is not None
    size = sample.log.size()
    state = replay_as_of(AsOf(tree_size=size), sample.read, sample.ledger.mapper, [checkpoint])
    assert (state.tree_size, state.checkpoint_size) == (size, size)
    assert sample.digests(state.store) == sample.digests()


def test_as_of_a_past_moment_returns_the_earlier_state(sample: SampleStore) -> None:
    moment = datetime(2023, 4, 1, tzinfo=UTC)
    state = replay_as_of(AsOf(moment=moment), sample.read, sample.ledger.mapper, [])
    assert 0 < state.tree_size < sample.log.size()
    assert state.last_timestamp is not None
    assert state.last_timestamp <= "2023-04-01T00:00:00"
    earlier = queries.region_statistics(state.store, prefix="31", level=queries.Level.CITY)[0]
    now = queries.region_statistics(sample.store, prefix="31", level=queries.Level.CITY)[0]
    assert earlier.products < now.products
    # a filing made after the moment is not in the earlier registry, and is in today's
    later = [row for row in queries.products(sample.store, limit=500).rows
             if row["filed_at"] > "2023-04-01T00:00:00.000000Z"]  # fmt: skip
    assert later
    assert queries.product(state.store, UUID(later[0]["product_id"])) is None


def test_as_of_a_tree_size_matches_replaying_that_prefix(sample: SampleStore) -> None:
    state = replay_as_of(AsOf(tree_size=2_500), sample.read, sample.ledger.mapper, [])
    events = list(sample.read(1, 2_500))
    filed = {str(n.originator_id) for n in events if n.topic.endswith("Product.ProductFiled")}
    rows = queries.products(state.store, limit=500)
    found: set[str] = set()
    page: queries.Page | None = rows
    while page is not None:
        found |= {row["product_id"] for row in page.rows}
        page = (
            queries.products(state.store, after=page.next_cursor, limit=500)
            if page.next_cursor
            else None
        )
    assert found == filed


def test_dispute_check_cites_events_whose_inclusion_proofs_verify(sample: SampleStore) -> None:
    disputed = next(
        row
        for row in all_products(sample.store)
        if row["resolved_disputes"] or row["open_disputes"]
    )
    check = dispute_check(sample.store, UUID(disputed["product_id"]), leaf_index=sample.leaf_index)
    assert check.disputes
    citations = [d["raised_by"] for d in check.disputes]
    citations += [s["declared_by"] for s in check.shared_patents]
    assert all(c["leaf_index"] is not None for c in citations)
    trail_hashes = {
        (row["originator_id"], row["version"]): row["event_hash"] for row in check.timeline
    }
    for citation in citations:
        proof = sample.log.inclusion_proof(citation["leaf_index"])
        verify_inclusion(
            proof.leaf_index, proof.tree_size, proof.leaf_hash, proof.proof, proof.root
        )
        key = (citation["aggregate_id"], citation["version"])
        if key in trail_hashes:  # the trail's event hash is the leaf the proof proves
            assert bytes.fromhex(trail_hashes[key]) == proof.leaf_hash


def test_audit_trail_hashes_are_the_log_leaves(sample: SampleStore) -> None:
    product = all_products(sample.store)[7]
    trail = queries.audit_trail_of(sample.store, UUID(product["product_id"]), sample.leaf_index)
    assert [row["version"] for row in trail if row["originator_id"] == product["product_id"]] == (
        list(range(1, product["version"] + 1))
    )
    for row in trail:
        leaf = sample.log.store.leaf(row["leaf_index"])
        assert leaf is not None
        assert leaf.leaf_hash.hex() == row["event_hash"]


def all_products(store: ProjectionStore) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = queries.products(store, after=after, limit=500)
        rows += page.rows
        if page.next_cursor is None:
            return rows
        after = page.next_cursor
