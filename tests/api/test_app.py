"""The service starts on the configured store and publishes its public keys."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from audit.keys import KeyManifest
from audit.note import NoteVerifier
from tests.domain.factories import approved_filer, uscc


def test_health_readiness_and_public_keys(settings, ledger):
    approved_filer(ledger, uscc(1))
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/ready").json() == {"status": "ready", "events": 3}
        published = client.get("/v1/keys").json()
    manifest = KeyManifest.from_json(published)
    assert ledger.keyring.signer.key_id in manifest.trusted_keys
    log_key = NoteVerifier.from_verifier_key_string(published["log"]["verifier_key"])
    assert log_key.name == published["log"]["origin"] == settings.log_origin
