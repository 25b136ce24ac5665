"""The product page's verification document (api.web.verification): what the browser checks.

Every document is checked here the way an outsider would — the checkpoint opened with the
configured log key, each proof verified against its root, each readable event's signature
verified with the manifest's keys (audit.offline) — and for its shape: who gets the stored
bytes (the filer, its region, the platform) and who only leaf hashes (the public, other
filers). Both backends (tests/conftest.py ``database_url``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient

from api.app import create_app
from api.problems import ApiProblemError
from api.tokens import ANONYMOUS, Principal
from api.web.verification import FORMAT, configured_keys, router, verification_document
from audit.offline.checkpoint import verify_checkpoint
from audit.offline.errors import EventTamperedError
from audit.offline.event_signature import key_id_of, verify_event
from audit.offline.log_leaf import log_leaf_hash
from audit.offline.note import NoteVerifier
from audit.offline.rfc6962 import verify_inclusion
from domain.actor import Role
from domain.declarations import PatentDeclaration
from tests.api.conftest import Api, api_settings
from tests.domain.factories import (
    REVIEWER,
    approved_filer,
    digest,
    figures,
    file,
    filer_actor,
    own_patent,
    uscc,
)
from tests.domain.test_tamper import _rewrite_state

FILER = uscc(1)  # region 310115
OTHER_FILER = uscc(2, region="440305")
PRODUCT_TOPIC = "domain.product:Product."


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    """The app (background workers off) with the verification route mounted, as the web
    pages mount it."""
    app = create_app(api_settings(database_url, tmp_path))
    app.include_router(router)
    with TestClient(app) as client:
        yield Api(client, app.state.settings)


@dataclass(frozen=True)
class Filed:
    product_id: UUID
    pending_id: UUID  # filed, never approved: not in the public registry


def _fill(api: Api) -> Filed:
    """A filing approved and revised (v1 filed with its two key reservations in one save, v2
    approved, v3 revised: listed, its update under review), and another filer's filing in
    review; everything sequenced and projected."""
    ledger = api.state.ledger
    filer_id = approved_filer(ledger, FILER)
    product_id = file(ledger, FILER, filer_id)
    ledger.approve_product(REVIEWER, product_id)
    ledger.revise_product(
        filer_actor(FILER), product_id, data_year=2023, figures=figures(sales=12_000_000),
        patents=[PatentDeclaration.parse(own_patent(filer_id), "owner")],
        proof_digests=[digest("invoice 2023")],
    )  # fmt: skip
    other_id = approved_filer(ledger, OTHER_FILER, region="440305")
    pending_id = file(
        ledger, OTHER_FILER, other_id, model="TV-900",
        patents=[PatentDeclaration.parse(own_patent(other_id), "owner")],
    )  # fmt: skip
    api.settle()
    return Filed(product_id, pending_id)


def _versions(api: Api, product_id: UUID) -> list[int]:
    """Every version of the product aggregate, 1 to its current one."""
    return list(range(1, api.state.ledger.get_product(product_id).version + 1))


def _trusted(api: Api) -> tuple[NoteVerifier, str, dict[str, Ed25519PublicKey]]:
    keys = configured_keys(api.state)
    log_key = NoteVerifier.from_verifier_key_string(keys["log_key"])
    events = {}
    for text in keys["event_keys"]:
        public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
        events[key_id_of(public_key)] = public_key
    return log_key, log_key.name, events


def _check(api: Api, document: dict[str, Any]) -> None:
    """Verify the document as the browser does, with audit.offline."""
    log_key, origin, event_keys = _trusted(api)
    checkpoint = verify_checkpoint(document["checkpoint"], log_key, origin=origin)
    assert checkpoint.size == document["tree_size"]
    for event in document["events"]:
        proof = [base64.b64decode(node, validate=True) for node in event["proof"]]
        leaf = base64.b64decode(event["leaf_hash"], validate=True)
        if event["content"] == "visible":
            state = base64.b64decode(event["state"], validate=True)
            identity = (UUID(event["originator_id"]), event["version"], event["topic"])
            assert log_leaf_hash(*identity, state) == leaf
            verify_event(*identity, state, event_keys)
        verify_inclusion(event["leaf_index"], checkpoint.size, leaf, proof, checkpoint.root)


def test_configured_keys_are_the_log_key_and_every_manifest_key(api):
    keys = configured_keys(api.state)
    published = api.client.get("/v1/keys").json()
    assert keys == {
        "log_key": published["log"]["verifier_key"],
        "event_keys": [entry["public_key"] for entry in published["keys"]],
    }
    assert NoteVerifier.from_verifier_key_string(keys["log_key"]).name == api.state.log.origin


def test_the_filer_gets_every_event_with_its_stored_bytes(api):
    filed = _fill(api)
    filer = Principal(Role.FILER, FILER, "t-filer")

    document = verification_document(api.state, filer, filed.product_id)

    assert document["format"] == FORMAT
    assert document["product_id"] == str(filed.product_id)
    assert document["keys"] == configured_keys(api.state)
    assert document["pending"] == []
    events = document["events"]
    assert [event["version"] for event in events] == _versions(api, filed.product_id)
    topics = [event["topic"].removeprefix(PRODUCT_TOPIC) for event in events]
    assert topics[0] == "ProductFiled"
    assert topics[-1] == "ProductRevised"
    assert "FilingApproved" in topics
    leaves = [event["leaf_index"] for event in events]
    assert leaves == sorted(leaves)
    assert leaves[-1] < document["tree_size"]
    for event in events:
        assert event["content"] == "visible"
        assert event["originator_id"] == str(filed.product_id)
        assert set(event) == {
            "originator_id", "version", "leaf_index", "leaf_hash", "proof", "content", "topic",
            "state",
        }  # fmt: skip
    _check(api, document)


@pytest.mark.parametrize(
    ("role", "scope"),
    [(Role.REVIEWER, None), (Role.AUDITOR, None), (Role.REGIONAL_ADMIN, "3101")],
)
def test_the_platform_and_the_region_get_the_stored_bytes(api, role, scope):
    filed = _fill(api)
    document = verification_document(api.state, Principal(role, scope, "t"), filed.product_id)
    assert {event["content"] for event in document["events"]} == {"visible"}
    _check(api, document)


@pytest.mark.parametrize(
    "principal",
    [
        ANONYMOUS,
        Principal(Role.FILER, OTHER_FILER, "t-other"),
        Principal(Role.REGIONAL_ADMIN, "4403", "t-shenzhen"),
        Principal(Role.INSTITUTION, uscc(500, prefix="12", region="310110"), "t-tto"),
    ],
    ids=["anonymous", "other-filer", "other-region", "institution"],
)
def test_everyone_else_gets_leaf_hashes_only(api, principal):
    filed = _fill(api)

    document = verification_document(api.state, principal, filed.product_id)

    assert [event["version"] for event in document["events"]] == _versions(api, filed.product_id)
    for event in document["events"]:
        assert event["content"] == "confidential"
        # no topic either: an event's type says what happened to a filing (a dispute raised)
        assert set(event) == {
            "originator_id", "version", "leaf_index", "leaf_hash", "proof", "content",
        }  # fmt: skip
    _check(api, document)


def test_a_product_the_caller_may_not_see_is_not_found(api):
    filed = _fill(api)
    with pytest.raises(ApiProblemError) as raised:
        verification_document(api.state, ANONYMOUS, filed.pending_id)
    assert raised.value.code == "not_found"
    with pytest.raises(ApiProblemError):
        verification_document(api.state, ANONYMOUS, uuid4())
    owner = Principal(Role.FILER, OTHER_FILER, "t-other")
    assert verification_document(api.state, owner, filed.pending_id)["events"]


def test_versions_after_the_latest_checkpoint_are_pending(api):
    filed = _fill(api)
    logged = _versions(api, filed.product_id)
    api.state.ledger.approve_product(REVIEWER, filed.product_id)  # not sequenced
    later = _versions(api, filed.product_id)[len(logged) :]

    document = verification_document(api.state, ANONYMOUS, filed.product_id)

    assert [event["version"] for event in document["events"]] == logged
    assert document["pending"] == later
    api.state.log.sequence()
    after = verification_document(api.state, ANONYMOUS, filed.product_id)
    assert [event["version"] for event in after["events"]] == logged + later
    assert after["pending"] == []
    _check(api, after)


def test_the_route_answers_per_caller_and_is_never_cached(api):
    filed = _fill(api)
    url = f"/products/{filed.product_id}/verification.json"

    public = api.client.get(url)
    own = api.client.get(url, headers=api.headers(Role.FILER, FILER))

    assert public.status_code == 200, public.text
    assert public.headers["cache-control"] == "no-store"
    assert {event["content"] for event in public.json()["events"]} == {"confidential"}
    assert {event["content"] for event in own.json()["events"]} == {"visible"}
    assert api.client.get(f"/products/{filed.pending_id}/verification.json").status_code == 404
    paths = api.client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.endswith("verification.json")]


def test_a_changed_stored_byte_is_served_as_stored_for_the_browser_to_name(api):
    filed = _fill(api)

    def flip(state: bytes) -> bytes:
        return state[:-2] + bytes([state[-2] ^ 0x01]) + state[-1:]

    # the filing's first event: the one the ledger reads to learn whose filing it is
    _rewrite_state(api.settings, filed.product_id, 1, flip)
    filer = Principal(Role.FILER, FILER, "t-filer")

    document = verification_document(api.state, filer, filed.product_id)

    first = document["events"][0]
    assert first["content"] == "visible"
    state = base64.b64decode(first["state"], validate=True)
    with pytest.raises(EventTamperedError) as raised:
        verify_event(filed.product_id, 1, first["topic"], state, _trusted(api)[2])
    assert raised.value.originator_id == filed.product_id
    # the public's document is unchanged: the log's leaf hashes, not the stored bytes
    public = verification_document(api.state, ANONYMOUS, filed.product_id)
    _check(api, public)
