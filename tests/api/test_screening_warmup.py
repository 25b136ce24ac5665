"""The service reads the screening index in as it starts (api/screening_warmup.py): a restarted
service holds every earlier filing before any request, its first filing is screened against
them, and shutting down stops the read; a failed read is logged and leaves the service up."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.screening_warmup import ScreeningWarmUp
from domain.actor import Role
from tests.api.conftest import Api, api_settings
from tests.api.test_screening_routes import _file

WAIT_SECONDS = 30.0


def _until_done(warmup: ScreeningWarmUp) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not warmup.done:
        assert time.monotonic() < deadline, "the screening index was not read in"
        time.sleep(0.01)


def test_a_restarted_service_holds_every_filing_before_any_request(
    database_url: str, tmp_path: Path
) -> None:
    settings = api_settings(database_url, tmp_path)
    with TestClient(create_app(settings)) as client:
        api = Api(client, settings)
        earlier = [_file(api, 700 + n, f"智能温控阀{n}", f"TV-{n}", 700 + n) for n in range(3)]

    with TestClient(create_app(settings)) as client:
        api = Api(client, settings)
        warmup = api.state.screening_warmup
        _until_done(warmup)
        assert api.state.ledger.screening_indexed == len(earlier)
        assert warmup.seconds is not None
        api.settle()  # /ready wants the read models built
        ready = client.get("/ready")
        assert ready.status_code == 200, ready.json()
        assert ready.json()["screening"] == {"read_in": True, "indexed": len(earlier)}
        # The first filing of the new process is screened against the ones read in.
        later = _file(api, 710, "恒温控制阀", "TV-1", 710)
        screening = client.get(
            f"/v1/products/{later}/screening", headers=api.headers(Role.REVIEWER)
        ).json()
        assert [c["product_id"] for c in screening["candidates"]] == [earlier[1]]
        assert api.state.ledger.screening_indexed == len(earlier) + 1


class _SlowLedger:
    """Reads one "page" every 10 ms until told to stop, as a very large store would."""

    screening_indexed = 0

    def __init__(self) -> None:
        self.pages = 0

    def warm_screening(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.pages += 1
            time.sleep(0.01)


class _BrokenLedger:
    screening_indexed = 0

    def warm_screening(self, stop: threading.Event) -> None:
        raise ConnectionError("the database went away")


def test_stopping_ends_the_read_between_pages() -> None:
    ledger = _SlowLedger()
    warmup = ScreeningWarmUp(ledger)  # type: ignore[arg-type]
    warmup.start()
    time.sleep(0.05)
    started = time.perf_counter()
    warmup.stop()
    assert time.perf_counter() - started < 1.0
    assert ledger.pages > 0
    assert not warmup.done  # stopped, not finished: no time is reported


def test_a_failed_read_is_logged_and_leaves_the_first_filing_to_catch_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    warmup = ScreeningWarmUp(_BrokenLedger())  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="ppl.screening"):
        warmup.start()
        warmup.stop()
    assert not warmup.done
    (record,) = [r for r in caplog.records if r.name == "ppl.screening"]
    assert "could not be read in" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ConnectionError)
