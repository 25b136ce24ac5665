"""Published statistics (issue #15, parts 1-2) on the sample, on both stores: what the public
reads is a signed monthly publication with disclosure control; it does not move between
publications; 虹口区 (one filer) never shows its money figures to the public; platform roles
and a region's admin read live, unsuppressed figures."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from api.bootstrap import open_ledger
from api.publishing import StatisticsPublisher, previous_period, publish_period
from audit.offline.replay import replay
from audit.signing.key_files import create_private_key_file
from domain.actor import Role
from domain.errors import StatisticsAlreadyPublishedError
from domain.sample import load_sample
from projections.disclosure import Rules
from tests.api.conftest import Api, api_settings
from tests.audit.test_replay import logged_events
from tests.domain.factories import REVIEWER, approved_filer, file, uscc

HONGKOU = "310109"  # one filer in the sample
PERIOD = "2023-07"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def sample_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    directory = tmp_path_factory.mktemp(f"publication-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{directory / 'ledger.sqlite3'}"
    else:
        base = request.getfixturevalue("postgres_database")
        schema = f"pub_{secrets.token_hex(5)}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        url = f"{base}?schema={schema}"
    key = directory / "signing.pem"
    create_private_key_file(key)
    settings = api_settings(url, directory, PPL_SIGNING_KEY_FILE=str(key))
    ledger = open_ledger(settings)
    load_sample(ledger, 1)
    ledger.close()
    with TestClient(create_app(settings)) as client:
        api = Api(client, settings)
        api.settle()
        publish_period(api.state.ledger, api.state.projections, PERIOD, Rules())
        api.settle()
        yield api


def _public(api: Api, **params: Any) -> Any:
    response = api.client.get("/v1/statistics/regions", params=params)
    assert response.status_code == 200, response.text
    return response


def test_the_public_reads_the_publication_and_hongkou_s_money_is_withheld(sample_api):
    for params in ({}, {"level": "district"}, {"data_year": 2022}, {"period": PERIOD},
                   {"prefix": "3101"}):  # fmt: skip
        body = _public(sample_api, **params).json()
        assert body["period"] == PERIOD
        assert body["published"]["rules"] == {"min_filers": 3, "dominance_bp": 8500}
        (hongkou,) = [row for row in body["regions"] if row["region_code"] == HONGKOU]
        assert hongkou["filers"] >= 1  # counts are public
        assert (hongkou["sales_fen"], hongkou["exports_fen"]) == (None, None)
        assert hongkou["suppressed"] == "primary"
    for role, scope in ((Role.FILER, uscc(1)), (Role.INSTITUTION, uscc(2, prefix="12"))):
        response = sample_api.client.get(
            "/v1/statistics/regions", headers=sample_api.headers(role, scope)
        )
        assert response.json()["period"] == PERIOD  # filers and institutions: published only


def test_no_published_total_gives_a_withheld_cell_by_subtraction(sample_api):
    for level, parent_level in (("district", "city"), ("city", "province")):
        parts = _public(sample_api, level=level, data_year=2022).json()["regions"]
        totals = {
            row["region_code"]: row
            for row in _public(sample_api, level=parent_level, data_year=2022).json()["regions"]
        }
        by_parent: dict[str, list[dict[str, Any]]] = {}
        for row in parts:
            parent = row["region_code"][:4] + "00" if level == "district" else (
                row["region_code"][:2] + "0000")  # fmt: skip
            by_parent.setdefault(parent, []).append(row)
        for parent, rows in by_parent.items():
            withheld = [row for row in rows if row["sales_fen"] is None]
            if totals[parent]["sales_fen"] is not None:
                assert len(withheld) != 1, (parent, [row["region_code"] for row in withheld])


def test_public_figures_do_not_move_between_publications(sample_api):
    before = _public(sample_api).content
    ledger = sample_api.state.ledger
    code = uscc(901, region=HONGKOU)
    filer_id = approved_filer(ledger, code, region=HONGKOU)
    product_id = file(ledger, code, filer_id, model="DIFF-1")
    ledger.approve_product(REVIEWER, product_id)
    sample_api.settle()
    assert _public(sample_api).content == before  # identical bytes: nothing to difference
    live = sample_api.client.get(
        "/v1/statistics/regions", headers=sample_api.headers(Role.REVIEWER)
    ).json()
    assert live["period"] is None  # the platform reads live figures


def test_a_regional_admin_reads_live_unsuppressed_figures_of_its_region(sample_api):
    admin = sample_api.headers(Role.REGIONAL_ADMIN, HONGKOU)
    mine = sample_api.client.get("/v1/statistics/regions", headers=admin).json()
    assert mine["period"] is None
    (row,) = mine["regions"]
    assert isinstance(row["sales_fen"], int)
    elsewhere = sample_api.client.get(
        "/v1/statistics/regions", headers=admin, params={"prefix": "310115"}
    )
    public = sample_api.client.get("/v1/statistics/regions", params={"prefix": "310115"})
    assert elsewhere.json() == public.json()  # never less than the public
    as_of = sample_api.client.get(
        "/v1/statistics/regions", headers=sample_api.headers(Role.FILER, uscc(1)),
        params={"tree_size": 5},
    )  # fmt: skip
    assert as_of.status_code == 403


def test_a_period_is_published_once_and_the_log_replays(sample_api):
    ledger = sample_api.state.ledger
    with pytest.raises(StatisticsAlreadyPublishedError):
        publish_period(ledger, sample_api.state.projections, PERIOD, Rules())
    missing = sample_api.client.get("/v1/statistics/regions", params={"period": "2021-01"})
    assert missing.status_code == 404
    summary = replay(logged_events(ledger))
    assert summary.aggregates["statistics_publication"] == 1
    published = ledger.get_publication(PERIOD)
    assert all(
        (cell["sales_fen"] is None) == (cell["suppressed"] is not None) for cell in published.cells
    )


def test_the_schedule_publishes_the_month_just_ended():
    assert previous_period(datetime(2023, 8, 1, 0, 30, tzinfo=UTC)) == "2023-07"
    assert previous_period(datetime(2023, 7, 31, 16, 30, tzinfo=UTC)) == "2023-07"  # Aug 1 +8
    assert previous_period(datetime(2024, 1, 15, tzinfo=UTC)) == "2023-12"


def test_a_fresh_ledger_publishes_nothing_until_asked(tmp_path: Path, database_url: str):
    settings = api_settings(database_url, tmp_path)
    with TestClient(create_app(settings)) as client:
        Api(client, settings).settle()  # the read models built, no publication
        response = client.get("/v1/statistics/regions")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_the_services_schedule_publishes_a_due_month_once(sample_api):
    """(Last in this module: it adds a publication.)"""
    publisher = StatisticsPublisher(
        sample_api.state.ledger, sample_api.state.projections, Rules(), interval=3600
    )
    assert publisher.publish_due(datetime(2023, 8, 5, tzinfo=UTC)) is None  # 2023-07: done
    assert publisher.publish_due(datetime(2023, 9, 2, tzinfo=UTC)) == "2023-08"
    assert publisher.publish_due(datetime(2023, 9, 20, tzinfo=UTC)) is None
    assert publisher.failures == 0
    sample_api.settle()
    assert _public(sample_api).json()["period"] == "2023-08"  # the latest publication
