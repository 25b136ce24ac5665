"""The service starts on the configured store, publishes its public keys and says when it is
ready: the store answers and every read model is built."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from api.app import create_app
from audit.offline.keys import KeyManifest
from audit.offline.note import NoteVerifier
from projections.catalog import NAMES
from tests.domain.factories import approved_filer, uscc

PROBLEM = "application/problem+json"


def test_health_readiness_and_public_keys(settings, ledger):
    approved_filer(ledger, uscc(1))
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json() == {"status": "ok"}
        # The background followers (on by default) build the read models and sign the log.
        deadline = time.monotonic() + 10
        while (response := client.get("/ready")).status_code != 200:
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "projection_not_built"
            assert time.monotonic() < deadline, "the read models were never built"
            time.sleep(0.05)
        while (ready := client.get("/ready").json())["log"]["indexed"] != 3:
            assert time.monotonic() < deadline, "the log was never signed and indexed"
            time.sleep(0.05)
        assert ready["status"] == "ready"
        assert ready["events"] == 3
        assert ready["log"] == {"size": 3, "checkpoint": 3, "unlogged": 0, "indexed": 3}
        assert set(ready["projections"]) == set(NAMES)
        published = client.get("/v1/keys").json()
    manifest = KeyManifest.from_json(published)
    assert ledger.keyring.signer.key_id in manifest.trusted_keys
    log_key = NoteVerifier.from_verifier_key_string(published["log"]["verifier_key"])
    assert log_key.name == published["log"]["origin"] == settings.log_origin


def test_not_ready_until_the_read_models_are_built(api):
    approved_filer(api.state.ledger, uscc(2))
    response = api.client.get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "2"
    assert response.json()["code"] == "projection_not_built"
    assert api.client.get("/health").status_code == 200

    api.settle()
    ready = api.client.get("/ready").json()
    assert ready["events"] == 3
    assert ready["log"] == {"size": 3, "checkpoint": 3, "unlogged": 0, "indexed": 3}
    assert ready["projections"] == dict.fromkeys(NAMES, 3)


def test_ready_counts_the_stored_events_not_yet_in_the_log(api):
    approved_filer(api.state.ledger, uscc(3))
    api.settle()
    approved_filer(api.state.ledger, uscc(4))
    ready = api.client.get("/ready").json()
    assert ready["events"] == 6
    assert ready["log"] == {"size": 3, "checkpoint": 3, "unlogged": 3, "indexed": 3}
    api.state.log.sequence()
    assert api.client.get("/ready").json()["log"] == {
        "size": 6, "checkpoint": 6, "unlogged": 0, "indexed": 6,
    }  # fmt: skip
