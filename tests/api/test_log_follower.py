"""The service keeps the Merkle log up with new events, and survives failing rounds."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.log_follower import LogFollower
from api.settings import Settings, SettingsError
from tests.domain.factories import approved_filer, uscc


def test_running_service_sequences_new_events_within_a_second(settings, ledger):
    app = create_app(replace(settings, sequence_interval=0.05))
    with TestClient(app):
        approved_filer(ledger, uscc(380))
        deadline = time.monotonic() + 5
        latest = None
        while time.monotonic() < deadline:
            latest = app.state.log.store.latest_checkpoint()
            if latest is not None and latest.tree_size == 3:
                break
            time.sleep(0.05)
        assert latest is not None
        assert latest.tree_size == 3


class FakeLog:
    """Fails its first round, as a log whose database is briefly down would."""

    def __init__(self):
        self.calls = 0

    def sequence(self):
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("database unavailable")
        return type("Record", (), {"tree_size": 7})()


def test_a_failing_round_is_logged_and_the_next_one_runs(caplog):
    follower = LogFollower(FakeLog(), 0.01)  # type: ignore[arg-type]
    assert follower.run_once() == 0
    assert follower.failures == 1
    assert "sequencing failed" in caplog.text
    assert follower.run_once() == 7


def test_follower_thread_stops_when_asked():
    log = FakeLog()
    follower = LogFollower(log, 0.01)  # type: ignore[arg-type]
    follower.start()
    time.sleep(0.1)
    follower.stop()
    calls = log.calls
    time.sleep(0.05)
    assert calls >= 2
    assert log.calls == calls


@pytest.mark.parametrize("value", ["-1", "abc", "99999"])
def test_bad_sequence_interval_is_refused(tmp_path, value):
    with pytest.raises(SettingsError, match="PPL_SEQUENCE_INTERVAL"):
        Settings.from_environment({"PPL_DATA_DIR": str(tmp_path), "PPL_SEQUENCE_INTERVAL": value})
