"""Witnessing over HTTP (both stores): the service's own loops get a new checkpoint cosigned by
a witness process; the cosignature is served after the log's signature wherever the
checkpoint goes; `/ready` reports witnessing, degraded when the quorum stays unmet."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tlog_scales.signing import Vkey
from tlog_scales.tlog import Checkpoint as ScalesCheckpoint

from api.app import create_app
from api.bootstrap import load_log_signer
from audit.offline.cosignature import CosignerKey
from domain.actor import Role
from tests.api.conftest import Api, api_settings
from tests.domain.factories import approved_filer, uscc
from tests.witness_peer.peer import SpecWitness


@pytest.fixture
def witnessed(database_url: str, tmp_path: Path) -> Iterator[tuple[Api, SpecWitness]]:
    """The app with its background loops on, a witness in its policy, one filer stored."""
    base = api_settings(database_url, tmp_path)
    log_vkey = load_log_signer(base).verifier_key_string()
    witness = SpecWitness(tmp_path / "witness", "witness.test/http", [log_vkey]).start()
    policy = tmp_path / "policy"
    policy.write_text(f"{witness.policy_line()}\nquorum witness.test-http\n")
    settings = api_settings(
        database_url, tmp_path, PPL_WITNESS_POLICY=str(policy), PPL_SEQUENCE_INTERVAL="0.1",
        PPL_PROJECTION_INTERVAL="0.1", PPL_WITNESS_DEGRADED_AFTER="1",
    )  # fmt: skip
    try:
        with TestClient(create_app(settings)) as client:
            api = Api(client, settings)
            approved_filer(api.state.ledger, uscc(950))
            yield api, witness
    finally:
        witness.stop()


def _cosigned_checkpoint(api: Api, *, lines: int = 2, within: float = 15) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        note = api.client.get("/v1/log/checkpoint").text
        if note.count("\u2014 ") >= lines:
            return note
        time.sleep(0.05)
    raise AssertionError(f"no cosigned checkpoint within {within} s")


def test_the_services_loops_get_each_new_checkpoint_cosigned(witnessed):
    api, witness = witnessed
    deadline = time.monotonic() + 15
    while True:  # the loops may cosign a checkpoint of the filer's first saves, then the last
        parsed = ScalesCheckpoint.from_text(_cosigned_checkpoint(api))
        if parsed.size == api.state.log.size() == 3:
            break
        assert time.monotonic() < deadline, "the checkpoint of every event was not cosigned"
        time.sleep(0.05)
    parsed.verify(Vkey.from_string(witness.vkey))  # an independent implementation
    approved_filer(api.state.ledger, uscc(951))
    grown = parsed.size + 3
    deadline = time.monotonic() + 15
    while ScalesCheckpoint.from_text(_cosigned_checkpoint(api)).size < grown:
        assert time.monotonic() < deadline, "the newer checkpoint was not cosigned"
        time.sleep(0.05)
    ready = _ready(api)
    assert ready["witnessing"]["status"] == "ok"
    assert ready["witnessing"]["witnessed_checkpoint"] == grown
    tiled = api.client.get("/tlog/checkpoint").text  # the tiled log serves the same note
    assert tiled == api.client.get("/v1/log/checkpoint").text
    assert tiled.count("\u2014 ") == 2
    keys = api.client.get("/v1/keys").json()
    assert keys["witnesses"]["keys"] == [witness.vkey]
    assert keys["witnesses"]["quorum"] == CosignerKey.from_vkey(witness.vkey).label


def test_proofs_and_evidence_carry_the_cosigned_checkpoint(witnessed):
    api, _ = witnessed
    note = _cosigned_checkpoint(api)
    filer = approved_filer(api.state.ledger, uscc(952))
    _cosigned_checkpoint(api)
    deadline = time.monotonic() + 15
    while True:
        answer = api.client.get(
            f"/v1/log/proofs/inclusion/event/{filer}/1", headers=api.headers(Role.AUDITOR)
        )
        if answer.status_code == 200 and answer.json()["checkpoint"].count("\u2014 ") == 2:
            break
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.05)
    document = answer.json()
    assert document["evidence"].endswith(document["checkpoint"])
    size = int(note.split("\n")[1])
    assert api.client.get(f"/v1/log/checkpoint?tree_size={size}").text == note
    sized = api.client.get(f"/v1/log/checkpoint?tree_size={size}")
    assert sized.headers["cache-control"] == "public, max-age=60"


def _ready(api: Api) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while (answer := api.client.get("/ready")).status_code != 200:  # read models being built
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.05)
    document: dict[str, Any] = answer.json()
    return document


def test_ready_is_degraded_when_the_quorum_stays_unmet(witnessed):
    api, witness = witnessed
    _cosigned_checkpoint(api)
    witness.stop()
    approved_filer(api.state.ledger, uscc(953))
    deadline = time.monotonic() + 15
    while (ready := _ready(api))["witnessing"]["status"] != "degraded":
        assert time.monotonic() < deadline, ready
        time.sleep(0.1)
    assert ready["status"] == "degraded"  # 200: a witness outage does not take the service out
    assert ready["witnessing"]["unmet_since"] is not None
    published = api.client.get("/v1/log/checkpoint").text
    assert int(published.split("\n")[1]) == ready["witnessing"]["witnessed_checkpoint"]
    assert ready["witnessing"]["witnessed_checkpoint"] < ready["log"]["checkpoint"]


def test_a_policy_file_that_does_not_parse_is_a_settings_error(tmp_path):
    from api.settings import Settings, SettingsError

    policy = tmp_path / "policy"
    policy.write_text("witness w not-a-key\nquorum w\n")
    with pytest.raises(SettingsError, match="PPL_WITNESS_POLICY"):
        Settings.from_environment(
            {"PPL_DATA_DIR": str(tmp_path), "PPL_WITNESS_POLICY": str(policy)}
        )
    with pytest.raises(SettingsError, match="PPL_WITNESS_POLICY"):
        Settings.from_environment(
            {"PPL_DATA_DIR": str(tmp_path), "PPL_WITNESS_POLICY": str(tmp_path / "absent")}
        )
    with pytest.raises(SettingsError, match="PPL_WITNESS_TIMEOUT"):
        Settings.from_environment({"PPL_DATA_DIR": str(tmp_path), "PPL_WITNESS_TIMEOUT": "0"})


def test_ready_reports_witnessing_off_without_a_policy(api):
    api.settle()
    assert api.client.get("/ready").json()["witnessing"] == {
        "status": "off",
        "quorum": "none",
        "witnessed_checkpoint": None,
        "unmet_since": None,
    }
