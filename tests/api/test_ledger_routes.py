"""The transparency log over HTTP: every document verifies with the published keys.

Checkpoints are opened with the log key of ``GET /v1/keys``
(audit.offline.note/audit.offline.checkpoint),
proofs are checked with audit.offline.rfc6962 against those checkpoints' roots, event evidence with
audit.offline.tlog_proof, the audit bundle with the offline verifier — never by comparing with what
the server says about itself. Both backends (the ``api`` fixture).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from api.settings import get_settings
from audit.offline.checkpoint import Checkpoint, verify_checkpoint
from audit.offline.keys import KeyManifest
from audit.offline.log_leaf import log_leaf_hash
from audit.offline.note import NoteVerifier
from audit.offline.rfc6962 import verify_consistency, verify_inclusion
from audit.offline.tlog_proof import verify_event_evidence
from audit.offline.verifier import verify_bundle
from domain.actor import Actor, Role
from domain.declarations import PatentDeclaration
from domain.values import product_key_id
from tests.domain.factories import REVIEWER, approved_filer, file, own_patent, patent, uscc

PROBLEM = "application/problem+json"
FILER_A = uscc(1)  # region 310115 (Shanghai Pudong)
FILER_B = uscc(2, region="440305")  # region 440305 (Shenzhen Nanshan)
UNIVERSITY = uscc(500, prefix="12", region="310110")


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


@dataclass(frozen=True)
class Published:
    """What GET /v1/keys publishes: the keys a client pins."""

    log_key: NoteVerifier
    origin: str
    manifest: KeyManifest
    raw: dict[str, object]

    def open(self, signed_note: str) -> Checkpoint:
        return verify_checkpoint(signed_note, self.log_key, origin=self.origin)


def _published(api) -> Published:
    keys = api.client.get("/v1/keys").json()
    return Published(
        NoteVerifier.from_verifier_key_string(keys["log"]["verifier_key"]),
        keys["log"]["origin"],
        KeyManifest.from_json(keys),
        keys,
    )


def _checkpoint(api, tree_size: int | None = None) -> Checkpoint:
    params = {} if tree_size is None else {"tree_size": tree_size}
    response = api.client.get("/v1/log/checkpoint", params=params)
    assert response.status_code == 200, response.text
    return _published(api).open(response.text)


def _problem(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


@dataclass(frozen=True)
class Ledger:
    filer_a: UUID
    product_a: UUID
    filer_b: UUID
    product_b: UUID
    conversion: UUID


def _fill(api) -> Ledger:
    """Two filers in two regions, a filing each (both approved), a conversion report: 20 events."""
    ledger = api.state.ledger
    filer_a = approved_filer(ledger, FILER_A)  # 1-3
    product_a = file(ledger, FILER_A, filer_a, model="TV-100")  # 4-6 (filing, v1 and v2 keys)
    ledger.approve_product(REVIEWER, product_a)  # 7-9 (approval, number, its series)
    filer_b = approved_filer(ledger, FILER_B, region="440305")  # 10-12
    product_b = file(
        ledger, FILER_B, filer_b, model="TV-200",
        patents=[PatentDeclaration.parse(own_patent(filer_b), "owner")],
    )  # fmt: skip  # 13-15; a patent of B's own: A's filing is no near-duplicate candidate
    conversion = ledger.report_conversion(
        Actor(id="tto", role=Role.INSTITUTION, scope=UNIVERSITY),
        institution_uscc=UNIVERSITY, patent_number=patent(7), category="assigned",
        counterparty="上海某某制造有限公司", occurred_on="2023-05-04", amount_fen=2_000_000,
    )  # fmt: skip  # 16-17
    ledger.approve_product(REVIEWER, product_b)  # 18-20
    return Ledger(filer_a, product_a, filer_b, product_b, conversion)


# --- checkpoints --------------------------------------------------------------------------------
def test_checkpoint_is_a_signed_note_that_opens_with_the_published_log_key(api):
    _problem(api.client.get("/v1/log/checkpoint"), 404, "log_not_available")
    _fill(api)
    api.settle()

    response = api.client.get("/v1/log/checkpoint")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    head = _published(api).open(response.text)
    assert head.size == 20
    assert head.origin == api.settings.log_origin

    again = api.client.get("/v1/log/checkpoint", params={"tree_size": 20})
    assert again.text == response.text
    assert again.headers["cache-control"] == "public, max-age=60"  # a witness may cosign later
    _problem(
        api.client.get("/v1/log/checkpoint", params={"tree_size": 15}), 404, "log_not_available"
    )
    for bad in (-1, 2**63, "x"):
        _problem(
            api.client.get("/v1/log/checkpoint", params={"tree_size": bad}), 422, "request_invalid"
        )
    _problem(
        api.client.get("/v1/log/checkpoint", params={"tree_size": 2**63 - 1}),
        404,
        "log_not_available",
    )


def test_tampered_checkpoint_text_does_not_open(api):
    _fill(api)
    api.settle()
    note = api.client.get("/v1/log/checkpoint").text
    with pytest.raises(Exception, match="signature"):
        _published(api).open(note.replace("\n20\n", "\n21\n"))


def test_checkpoint_history_pages_oldest_first_and_every_note_opens(api):
    ledger = api.state.ledger
    for serial in range(3):
        approved_filer(ledger, uscc(10 + serial))  # 3 events each
        api.settle()
    published = _published(api)

    seen, after = [], 0
    while True:
        page = api.client.get("/v1/log/checkpoints", params={"after": after, "limit": 2}).json()
        for entry in page["checkpoints"]:
            head = published.open(entry["signed_note"])
            assert (head.size, head.root) == (entry["tree_size"], _b64(entry["root"]))
            assert entry["created_at"].endswith("Z")
            seen.append(entry["tree_size"])
        if page["next_cursor"] is None:
            break
        after = page["next_cursor"]
    assert seen == [3, 6, 9]

    assert api.client.get("/v1/log/checkpoints", params={"after": 9}).json() == {
        "checkpoints": [],
        "next_cursor": None,
    }
    for bad in ({"limit": 0}, {"limit": 1001}, {"after": -1}, {"after": "x"}, {"after": 2**63}):
        _problem(api.client.get("/v1/log/checkpoints", params=bad), 422, "request_invalid")


# --- proofs by leaf and between sizes -----------------------------------------------------------
def test_inclusion_proofs_verify_against_signed_checkpoint_roots(api):
    ledger = api.state.ledger
    approved_filer(ledger, uscc(20))
    api.settle()  # signed at 3
    _fill(api)
    api.settle()  # signed at 23
    old, new = _checkpoint(api, 3), _checkpoint(api)
    assert new.size == 23

    for head in (old, new):
        for index in range(head.size):
            proof = api.client.get(
                "/v1/log/proofs/inclusion", params={"leaf_index": index, "tree_size": head.size}
            ).json()
            assert (proof["leafIdx"], proof["treeSize"]) == (index, head.size)
            verify_inclusion(
                index, head.size, _b64(proof["leafHash"]), [_b64(h) for h in proof["proof"]],
                head.root,
            )  # fmt: skip
    latest = api.client.get("/v1/log/proofs/inclusion", params={"leaf_index": 22}).json()
    assert latest["treeSize"] == 23
    assert _b64(latest["root"]) == new.root


def test_consistency_proofs_verify_between_signed_checkpoints(api):
    ledger = api.state.ledger
    approved_filer(ledger, uscc(21))
    api.settle()
    _fill(api)
    api.settle()
    old, new = _checkpoint(api, 3), _checkpoint(api)

    proof = api.client.get("/v1/log/proofs/consistency", params={"first": 3}).json()
    assert (proof["size1"], proof["size2"]) == (3, 23)
    verify_consistency(3, 23, [_b64(h) for h in proof["proof"]], old.root, new.root)
    for first in range(1, 20):
        proof = api.client.get(
            "/v1/log/proofs/consistency", params={"first": first, "second": 23}
        ).json()
        verify_consistency(
            first, 23, [_b64(h) for h in proof["proof"]], _b64(proof["root1"]), new.root
        )


def test_bad_proof_parameters_are_422_problems_never_500(api):
    for path, params in (
        ("/v1/log/proofs/inclusion", {"leaf_index": 0}),
        ("/v1/log/proofs/consistency", {"first": 1}),
    ):
        _problem(api.client.get(path, params=params), 404, "log_not_available")
    approved_filer(api.state.ledger, uscc(22))
    api.settle()  # size 3

    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/v1/log/proofs/inclusion", {}, "request_invalid"),
        ("/v1/log/proofs/inclusion", {"leaf_index": -1}, "request_invalid"),
        ("/v1/log/proofs/inclusion", {"leaf_index": "one"}, "request_invalid"),
        ("/v1/log/proofs/inclusion", {"leaf_index": "1.5"}, "request_invalid"),
        ("/v1/log/proofs/inclusion", {"leaf_index": 3}, "proof_unavailable"),
        ("/v1/log/proofs/inclusion", {"leaf_index": 0, "tree_size": 0}, "request_invalid"),
        ("/v1/log/proofs/inclusion", {"leaf_index": 0, "tree_size": 4}, "proof_unavailable"),
        ("/v1/log/proofs/inclusion", {"leaf_index": 2, "tree_size": 2}, "proof_unavailable"),
        ("/v1/log/proofs/inclusion", {"leaf_index": 2**63}, "request_invalid"),
        ("/v1/log/proofs/inclusion", {"leaf_index": 2**63 - 1}, "proof_unavailable"),
        ("/v1/log/proofs/consistency", {}, "request_invalid"),
        ("/v1/log/proofs/consistency", {"first": 1, "second": 2**64}, "request_invalid"),
        ("/v1/log/proofs/consistency", {"first": 0}, "request_invalid"),
        ("/v1/log/proofs/consistency", {"first": 3, "second": 2}, "proof_unavailable"),
        ("/v1/log/proofs/consistency", {"first": 4}, "proof_unavailable"),
        ("/v1/log/proofs/consistency", {"first": 1, "second": 4}, "proof_unavailable"),
        ("/v1/log/proofs/consistency", {"first": "a", "second": 2}, "request_invalid"),
    ]
    for path, params, code in cases:
        _problem(api.client.get(path, params=params), 422, code)


def test_proofs_before_a_checkpoint_cover_only_signed_sizes(api):
    approved_filer(api.state.ledger, uscc(23))
    api.settle()  # signed at 3
    approved_filer(api.state.ledger, uscc(24))
    api.state.log.sequencer.integrate_batch()  # integrated to 6, not signed
    assert api.state.log.size() == 6
    for params in ({"leaf_index": 4}, {"leaf_index": 0, "tree_size": 6}):
        _problem(
            api.client.get("/v1/log/proofs/inclusion", params=params), 422, "proof_unavailable"
        )


# --- the CLI and the API give the same documents ------------------------------------------------
def test_api_documents_are_the_cli_documents(api, monkeypatch):
    ids = _fill(api)
    api.settle()
    monkeypatch.setenv("PPL_DATA_DIR", str(api.settings.data_dir))
    monkeypatch.setenv("PPL_DATABASE_URL", api.settings.database_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def ppl(*arguments: str) -> str:
        result = runner.invoke(cli, list(arguments), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    try:
        assert ppl("log", "checkpoint") == api.client.get("/v1/log/checkpoint").text
        by_leaf = api.client.get("/v1/log/proofs/inclusion", params={"leaf_index": 5}).json()
        assert json.loads(ppl("audit", "prove", "--leaf", "5")) == by_leaf
        consistent = api.client.get(
            "/v1/log/proofs/consistency", params={"first": 2, "second": 9}
        ).json()
        assert json.loads(ppl("audit", "prove", "--from", "2", "--to", "9")) == consistent
        event = f"{ids.product_a}:1"
        by_event = api.client.get(
            f"/v1/log/proofs/inclusion/event/{ids.product_a}/1", headers=api.headers("auditor")
        ).json()
        cli_event = json.loads(ppl("audit", "prove", "--event", event))
        assert {name: by_event[name] for name in cli_event} == cli_event
        assert by_event["evidence"] == ppl("audit", "evidence", "--event", event)
    finally:
        get_settings.cache_clear()


# --- proofs by event ----------------------------------------------------------------------------
def test_event_proof_carries_the_signed_event_and_verifies_offline(api):
    ids = _fill(api)
    api.settle()
    published = _published(api)
    head = _checkpoint(api)

    response = api.client.get(
        f"/v1/log/proofs/inclusion/event/{ids.product_a}/1", headers=api.headers("reviewer")
    )
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["leafIdx"] == 3
    assert document["treeSize"] == head.size
    assert published.open(document["checkpoint"]) == head
    event = document["event"]
    assert (event["originator_id"], event["originator_version"]) == (str(ids.product_a), 1)
    assert event["topic"].endswith("Product.ProductFiled")
    # (1) the leaf is the stored signed event's, (2) it is in the signed tree,
    # (3) the offline evidence checks out with the published keys alone.
    leaf = log_leaf_hash(ids.product_a, 1, event["topic"], _b64(event["state"]))
    assert _b64(document["leafHash"]) == leaf
    verify_inclusion(3, head.size, leaf, [_b64(h) for h in document["proof"]], head.root)
    verified = verify_event_evidence(
        document["evidence"],
        log_key=published.log_key,
        origin=published.origin,
        event_keys=published.manifest.trusted_keys,
    )
    assert (verified.leaf_index, verified.originator_id, verified.version) == (3, ids.product_a, 1)
    assert (
        verified.state["figures"]["sales_fen"] == 10_000_000
    )  # the confidential figures travel with it

    older = api.client.get(
        f"/v1/log/proofs/inclusion/event/{ids.product_a}/1",
        params={"tree_size": head.size - 1},
        headers=api.headers("reviewer"),
    )
    _problem(older, 422, "proof_unavailable")  # no checkpoint of that size


def test_event_proof_follows_the_visibility_of_the_record(api):
    ids = _fill(api)
    api.settle()
    reservation = product_key_id(api.state.ledger.get_product(ids.product_a).canonical_key)
    records = {
        "filer_a": ids.filer_a, "product_a": ids.product_a, "reservation_a": reservation,
        "filer_b": ids.filer_b, "product_b": ids.product_b, "conversion": ids.conversion,
    }  # fmt: skip
    everything = set(records)
    sees = {
        ("reviewer", None): everything,
        ("certifier", None): everything,
        ("auditor", None): everything,
        ("filer", FILER_A): {"filer_a", "product_a", "reservation_a"},
        ("filer", FILER_B): {"filer_b", "product_b"},
        ("institution", UNIVERSITY): {"conversion"},
        ("institution", FILER_A): set(),
        ("regional_admin", "31"): {"filer_a", "product_a", "reservation_a", "conversion"},
        ("regional_admin", "310115"): {"filer_a", "product_a", "reservation_a"},
        ("regional_admin", "44"): {"filer_b", "product_b"},
        ("regional_admin", "11"): set(),
    }
    hidden = None
    for (role, scope), visible in sees.items():
        headers = api.headers(role, scope)
        for name, record in records.items():
            response = api.client.get(f"/v1/log/proofs/inclusion/event/{record}/1", headers=headers)
            if name in visible:
                assert response.status_code == 200, (role, scope, name, response.text)
            else:
                body = _problem(response, 404, "log_not_available")
                hidden = body["detail"].replace(str(record), "ID")

    # Hidden looks exactly like absent: same problem for an id that does not exist.
    absent = uuid4()
    body = _problem(
        api.client.get(
            f"/v1/log/proofs/inclusion/event/{absent}/1", headers=api.headers("filer", FILER_A)
        ),
        404,
        "log_not_available",
    )
    assert body["detail"].replace(str(absent), "ID") == hidden
    # Anonymous: a filing's events are hidden like any other (the filing number events are
    # the public exception: tests/web/test_pages.py, a certificate's evidence).
    anonymous = _problem(
        api.client.get(f"/v1/log/proofs/inclusion/event/{ids.product_a}/1"),
        404,
        "log_not_available",
    )
    assert anonymous["detail"].replace(str(ids.product_a), "ID") == hidden
    bad_token = {"Authorization": "Bearer ppl_0000000000000000_nope"}
    _problem(
        api.client.get(f"/v1/log/proofs/inclusion/event/{ids.product_a}/1", headers=bad_token),
        401,
        "token_invalid",
    )


def test_event_not_yet_under_a_checkpoint_and_bad_paths_are_refused(api):
    ids = _fill(api)
    api.settle()
    api.state.ledger.withdraw_product(
        Actor(id="u", role=Role.FILER, scope=FILER_A), ids.product_a, reason="discontinued"
    )
    reviewer = api.headers("reviewer")
    path = f"/v1/log/proofs/inclusion/event/{ids.product_a}"
    # v4 (the withdrawal) is stored, then integrated, then signed: proven only at the end.
    _problem(api.client.get(f"{path}/4", headers=reviewer), 404, "log_not_available")
    api.state.log.sequencer.integrate_batch()
    _problem(api.client.get(f"{path}/4", headers=reviewer), 404, "log_not_available")
    api.settle()
    assert api.client.get(f"{path}/4", headers=reviewer).json()["leafIdx"] == 20
    _problem(api.client.get(f"{path}/5", headers=reviewer), 404, "log_not_available")
    _problem(api.client.get(f"{path}/0", headers=reviewer), 422, "request_invalid")
    _problem(api.client.get(f"{path}/x", headers=reviewer), 422, "request_invalid")
    _problem(
        api.client.get("/v1/log/proofs/inclusion/event/not-a-uuid/1", headers=reviewer),
        422,
        "request_invalid",
    )
    _problem(
        api.client.get(f"{path}/1", params={"tree_size": 99}, headers=reviewer),
        422,
        "proof_unavailable",
    )


# --- the audit bundle ---------------------------------------------------------------------------
def test_audit_bundle_downloads_for_auditors_and_verifies_offline(api, tmp_path):
    _problem(
        api.client.get("/v1/audit/bundle", headers=api.headers("auditor")),
        404,
        "log_not_available",
    )
    _fill(api)
    api.settle()
    published = _published(api)

    response = api.client.get("/v1/audit/bundle", headers=api.headers("auditor"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    assert 'filename="ppl-audit-20.bundle"' in response.headers["content-disposition"]
    bundle = tmp_path / "downloaded.bundle"
    bundle.write_bytes(response.content)
    report = verify_bundle(
        bundle, event_keys=published.manifest, log_key=published.log_key, workers=1
    )
    assert (report.events, report.checkpoints) == (20, [20])
    assert not report.warnings
    # The export's scratch files are gone once the bundle is sent.
    assert not list(api.settings.data_dir.glob("audit-export-*"))

    # And `ppl audit verify` agrees, with the keys pinned from GET /v1/keys.
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": published.raw["keys"]}), encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["audit", "verify", str(bundle), "--keys", str(keys), "--log-key",
         published.log_key.verifier_key_string(), "--workers", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "OK: 20 events" in result.stdout


def test_audit_bundle_is_for_auditors_only(api):
    _fill(api)
    api.settle()
    _problem(api.client.get("/v1/audit/bundle"), 401, "not_authenticated")
    for role, scope in (
        ("filer", FILER_A), ("institution", UNIVERSITY), ("reviewer", None),
        ("certifier", None), ("regional_admin", "31"),
    ):  # fmt: skip
        _problem(
            api.client.get("/v1/audit/bundle", headers=api.headers(role, scope)), 403, "forbidden"
        )


# --- the OpenAPI document -----------------------------------------------------------------------
def test_every_ledger_route_is_documented_with_its_problems(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    expected = {
        "/v1/log/checkpoint": {"404", "503"},
        "/v1/log/checkpoints": {"422", "503"},
        "/v1/log/proofs/inclusion": {"404", "422", "503"},
        "/v1/log/proofs/inclusion/event/{aggregate_id}/{version}": {"401", "404", "422", "503"},
        "/v1/log/proofs/consistency": {"404", "422", "503"},
        "/v1/audit/bundle": {"401", "403", "404", "503"},
        "/health": set(),
        "/ready": {"503"},
    }
    for path, statuses in expected.items():
        operation = paths[path]["get"]
        assert operation["summary"], path
        assert len(operation["description"]) > 40, path
        assert statuses <= set(operation["responses"]), path
        for status in statuses:
            assert PROBLEM in operation["responses"][status]["content"], (path, status)
