"""The product page's verification document (api.web.verification): what the browser checks.

Every document is checked here the way an outsider would — the checkpoint opened with the
configured log key, each proof verified against its root, each readable event's signature
verified with the manifest's keys (audit.offline) — and for its shape: who gets the stored
bytes (the filer, its region, the platform) and who only leaf hashes (the public, other
filers). Both backends (tests/conftest.py ``database_url``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient

from api.app import create_app
from api.problems import ApiProblemError
from api.tokens import ANONYMOUS, Principal
from api.web.i18n import label
from api.web.templating import environment
from api.web.verification import FORMAT, configured_keys, router, verification_document
from audit.log.witness_store import StoredCosignature
from audit.offline.checkpoint import verify_checkpoint
from audit.offline.cosignature import CosignerKey, WitnessPolicy
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
from tests.web.cosigner import Cosigner, now, policy_file

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
        "witnesses": {"quorum": None, "witnesses": [], "groups": [], "description": "none"},
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


# --- witnesses ----------------------------------------------------------------------------------
WITNESS_A, WITNESS_B = Cosigner("witness.test/a"), Cosigner("witness.test/b")
ML_DSA_WITNESS = Cosigner("witness.test/pq", mldsa=True)


@pytest.fixture
def witnessed_api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    """The app under a witness policy: 2 of the witnesses a, b and an ML-DSA-44 one."""
    policy = policy_file(tmp_path / "policy", WITNESS_A, WITNESS_B, ML_DSA_WITNESS, threshold=2)
    app = create_app(api_settings(database_url, tmp_path, PPL_WITNESS_POLICY=str(policy)))
    app.include_router(router)
    with TestClient(app) as client:
        yield Api(client, app.state.settings)


def _cosign(api: Api, *witnesses: Cosigner) -> str:
    """Store each witness's cosignature of the latest checkpoint, as the log's witnessing
    does after checking it; the checkpoint's signed note."""
    record = api.state.log.store.latest_checkpoint()
    assert record is not None
    for witness in witnesses:
        key = CosignerKey.from_vkey(witness.vkey)
        stamp = now()
        line = witness.line(record.signed_note, stamp)
        stored = StoredCosignature(
            record.tree_size, key.label, line, stamp, "2026-01-01T00:00:00Z", root=record.root
        )
        api.state.log.witnesses.add_cosignature(stored)
    return str(record.signed_note)


def test_the_document_carries_the_witness_policy_as_data(witnessed_api):
    filed = _fill(witnessed_api)

    policy = verification_document(witnessed_api.state, ANONYMOUS, filed.product_id)["keys"][
        "witnesses"
    ]

    configured = witnessed_api.settings.witness_policy
    assert policy == {
        "quorum": "quorum",
        "witnesses": [
            {"name": "witness.test-a", "vkey": WITNESS_A.vkey},
            {"name": "witness.test-b", "vkey": WITNESS_B.vkey},
            {"name": "witness.test-pq", "vkey": ML_DSA_WITNESS.vkey},
        ],
        "groups": [
            {
                "name": "quorum",
                "threshold": 2,
                "members": ["witness.test-a", "witness.test-b", "witness.test-pq"],
            }
        ],
        "description": configured.describe(),
    }
    assert policy["description"].startswith("2 of [witness.test/a+")
    # the data is the policy: parsed back from it, the same quorum
    lines = [f"witness {w['name']} {w['vkey']}" for w in policy["witnesses"]]
    group = policy["groups"][0]
    lines += [f"group quorum {group['threshold']} {' '.join(group['members'])}", "quorum quorum"]
    assert WitnessPolicy.parse("\n".join(lines)) == configured


def test_the_document_carries_the_checkpoint_the_quorum_cosigned_with_its_cosignatures(
    witnessed_api,
):
    filed = _fill(witnessed_api)
    note = _cosign(witnessed_api, WITNESS_A, WITNESS_B)
    cosigned = witnessed_api.state.log.store.latest_checkpoint()
    logged = _versions(witnessed_api, filed.product_id)
    # a later checkpoint, which no witness cosigned yet
    witnessed_api.state.ledger.approve_product(REVIEWER, filed.product_id)
    witnessed_api.state.log.sequence()
    latest = witnessed_api.state.log.store.latest_checkpoint()
    assert cosigned is not None
    assert latest is not None
    assert latest.tree_size > cosigned.tree_size

    document = verification_document(witnessed_api.state, ANONYMOUS, filed.product_id)

    # the published checkpoint: the quorum's, with both cosignature lines after the log's own
    assert document["tree_size"] == cosigned.tree_size
    assert document["checkpoint"].startswith(note)
    extra = document["checkpoint"].removeprefix(note).splitlines()
    assert sorted(line.split(" ")[1] for line in extra) == [WITNESS_A.name, WITNESS_B.name]
    assert [event["version"] for event in document["events"]] == logged
    assert document["pending"] == _versions(witnessed_api, filed.product_id)[len(logged) :]
    # what an outsider checks: the log's signature, the proofs, and the policy's quorum
    _check(witnessed_api, document)
    valid = witnessed_api.settings.witness_policy.require(document["checkpoint"], now=now())
    assert sorted(c.witness.name for c in valid) == [WITNESS_A.name, WITNESS_B.name]


def test_before_any_quorum_the_latest_checkpoint_is_served_with_what_cosigned_it(witnessed_api):
    filed = _fill(witnessed_api)
    note = _cosign(witnessed_api, WITNESS_A)  # 1 of the 2 required

    document = verification_document(witnessed_api.state, ANONYMOUS, filed.product_id)

    assert document["checkpoint"] == note + WITNESS_A.line(note, _stamp(document, WITNESS_A))
    _check(witnessed_api, document)


def _stamp(document: dict[str, Any], witness: Cosigner) -> int:
    """The timestamp of ``witness``'s cosignature line in the document's checkpoint."""
    for line in document["checkpoint"].splitlines():
        if line.startswith(f"\u2014 {witness.name} "):
            blob = base64.b64decode(line.rsplit(" ", 1)[1], validate=True)
            return int.from_bytes(blob[4:12], "big")
    raise AssertionError(f"no line by {witness.name}")


def test_the_product_page_shows_the_witness_quorum_and_takes_witness_keys(witnessed_api):
    filed = _fill(witnessed_api)
    description = witnessed_api.settings.witness_policy.describe()

    zh = witnessed_api.client.get(f"/products/{filed.product_id}")
    en = witnessed_api.client.get(f"/products/{filed.product_id}?lang=en")

    for page in (zh, en):
        assert page.status_code == 200, page.text
        html = page.text
        assert html.count(description) == 1  # autoescaped text: no markup in it to escape
        for witness in (WITNESS_A, WITNESS_B, ML_DSA_WITNESS):
            assert f"<code>{witness.vkey}</code>" in html
        assert 'id="verify-witness-keys"' in html
        assert 'id="verify-witness-threshold"' in html
    assert "见证联署要求" in zh.text
    assert "Witness quorum" in en.text
    assert "How many of them must validly cosign" in en.text


class _Section(HTMLParser):
    """The attributes of the page's <section id="verification">, as a browser parses them."""

    def __init__(self) -> None:
        super().__init__()
        self.attributes: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section" and ("id", "verification") in attrs:
            self.attributes = dict(attrs)


def _page_policy(html: str) -> dict[str, Any]:
    """The witness policy the page hands verify.js: its data-witness-policy, parsed."""
    section = _Section()
    section.feed(html)
    attribute = section.attributes.get("data-witness-policy")
    assert attribute is not None, section.attributes
    policy = json.loads(attribute)
    assert isinstance(policy, dict), attribute
    return policy


def _policy_part(policy: dict[str, Any]) -> dict[str, Any]:
    return {part: policy[part] for part in ("quorum", "witnesses", "groups")}


def _rendered_policy(served: Api) -> dict[str, Any]:
    """The policy the product page renders into data-witness-policy (the same in both
    languages), checked to be configured_keys' and the document's — without the description:
    verify.js describes what it checks itself."""
    filed = _fill(served)
    document = verification_document(served.state, ANONYMOUS, filed.product_id)
    zh, en = (
        _page_policy(served.client.get(f"/products/{filed.product_id}?lang={lang}").text)
        for lang in ("zh", "en")
    )
    assert zh == en == _policy_part(configured_keys(served.state)["witnesses"])
    assert zh == _policy_part(document["keys"]["witnesses"])
    return zh


def test_the_page_renders_its_witness_policy_for_the_verifier(witnessed_api):
    page = _rendered_policy(witnessed_api)

    assert page["quorum"] == "quorum"
    assert [w["vkey"] for w in page["witnesses"]] == [
        WITNESS_A.vkey, WITNESS_B.vkey, ML_DSA_WITNESS.vkey
    ]  # fmt: skip
    assert page["groups"][0]["threshold"] == 2


def test_the_page_renders_no_quorum_when_no_witness_is_required(api):
    assert _rendered_policy(api) == {"quorum": None, "witnesses": [], "groups": []}


def test_the_witness_policy_attribute_holds_any_text():
    """tojson escapes < > & ' (and the attribute is single-quoted): a name with quotes and
    markup stays data, read back whole."""
    hostile = "a'b\"c<script>&amp;"
    policy = {
        "quorum": hostile,
        "witnesses": [{"name": hostile, "vkey": "x'+<y>"}],
        "groups": [],
        "description": "none",
    }
    configured = {"log_key": "log+00000000+AQ==", "event_keys": [], "witnesses": policy}
    html = (
        environment()
        .get_template("_verification.html")
        .render(
            product_id=uuid4(), verification_url="/v.json", configured=configured, lang="en",
            t=lambda key: label("en", key),
        )
    )  # fmt: skip

    assert "<script>" not in html.split("data-lang")[0]
    assert _page_policy(html) == _policy_part(policy)
