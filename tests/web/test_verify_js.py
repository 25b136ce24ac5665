"""The browser verifier (api/web/static/js/verify.js) under Node's WebCrypto, against documents
api.web.verification produced from a real ledger.

A document verifies whole; one flipped byte — in an event's stored state, in the checkpoint's
signature, in one proof hash, in the store itself — fails the check it breaks, and the failing
row names the event (record id, version, leaf index) or the checkpoint. The verifier also
passes the RFC 6962 inclusion vectors and the C2SP signed-note vector of ../shared/vectors.

Node 20 is the browser's stand-in (the same WebCrypto API); without it the tests skip, except
under CI=true, where they fail.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from api.app import create_app
from api.tokens import ANONYMOUS, Principal
from api.web.verification import configured_keys, verification_document
from domain.actor import Role
from tests.api.conftest import Api, api_settings
from tests.domain.factories import REVIEWER, approved_filer, file, uscc
from tests.domain.test_tamper import _rewrite_state

ROOT = Path(__file__).resolve().parents[2]
VERIFY_JS = ROOT / "api" / "web" / "static" / "js" / "verify.js"
VECTORS = ROOT.parent / "shared" / "vectors"
FILER = uscc(1)

# Reads {"cases": [{"doc", "trusted", "lang"}]} from argv[2] and prints one report per case;
# with "vectors", checks the RFC 6962 inclusion vectors and the signed-note vector instead.
DRIVER = r"""
const fs = require("fs");
const path = require("path");
const verify = require(process.argv[2]);
const input = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));

async function vectors(root) {
  const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(path.join(dir, entry.name)) : [path.join(dir, entry.name)]);
  const results = [];
  const files = walk(path.join(root, "rfc6962", "inclusion")).filter((f) => f.endsWith(".json"));
  for (const file of files) {
    const t = JSON.parse(fs.readFileSync(file, "utf8"));
    let failed = false;
    try {
      await verify.verifyInclusion(t.leafIdx, t.treeSize, verify.fromBase64(t.leafHash),
        (t.proof || []).map(verify.fromBase64), verify.fromBase64(t.root));
    } catch (error) {
      failed = true;
    }
    results.push({ file: path.relative(root, file), wantErr: t.wantErr, failed });
  }
  const note = JSON.parse(fs.readFileSync(path.join(root, "signed-note.json"), "utf8"));
  const key = await verify.parseVerifierKey(note.verifier_key);
  const text = await verify.openNote(note.signed_note, key);
  return { inclusion: results, noteText: text === note.text };
}

(async () => {
  const output = input.vectors
    ? await vectors(input.vectors)
    : await Promise.all(input.cases.map((c) => verify.verifyDocument(c.doc, c.trusted, c.lang)));
  process.stdout.write(JSON.stringify(output));
})().catch((error) => { console.error(error); process.exit(1); });
"""


# The page part under a stand-in DOM (only what verify.js touches): one click of #verify-run
# fetches the document and fills the section; prints the section's state and texts.
DOM_DRIVER = r"""
const fs = require("fs");
const input = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
globalThis.location = { href: "http://ppl.test/products/x", origin: "http://ppl.test" };
globalThis.fetch = async (url) => ({ ok: true, status: 200, json: async () => input.doc });
const element = () => ({
  children: [], dataset: {}, textContent: "", className: "", value: "",
  append(...c) { this.children.push(...c); }, replaceChildren(...c) { this.children = c; },
  setAttribute() {}, removeAttribute() {}, addEventListener(type, f) { this.clicks.push(f); },
  clicks: [],
});
const document = { readyState: "complete", createElement: element };
const section = Object.assign(element(), { ownerDocument: document });
Object.assign(section.dataset, { url: "/products/x/verification.json", lang: input.lang,
  logKey: input.trusted.logKey, eventKeys: input.trusted.eventKeys.join(" ") });
const parts = {};
for (const id of ["#verify-run", "#verify-summary", "#verify-checks", "#verify-results tbody",
  "#verify-log-key", "#verify-event-keys"]) parts[id] = element();
section.querySelector = (query) => parts[query] || null;
document.getElementById = (id) => (id === "verification" ? section : null);
const verify = require(process.argv[2]);
verify.install(document);
verify.install(document); // loaded twice: still one handler
(async () => {
  for (const click of parts["#verify-run"].clicks) await click();
  process.stdout.write(JSON.stringify({
    clicks: parts["#verify-run"].clicks.length,
    state: section.dataset.state,
    summary: parts["#verify-summary"].textContent,
    checks: parts["#verify-checks"].children.map((li) => li.textContent),
    rows: parts["#verify-results tbody"].children.map((tr) => ({
      status: tr.className, cells: tr.children.map((td) => td.textContent) })),
  }));
})();
"""


@pytest.fixture
def backend() -> str:
    """The verifier reads a document, not a store: SQLite suffices here (the documents are
    tested on both backends in test_verification_document.py)."""
    return "sqlite"


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node") or "/usr/bin/node"
    if not Path(found).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("node (v20+, WebCrypto Ed25519) is needed to test verify.js", pytrace=False)
        pytest.skip("node is not installed: verify.js is not tested")
    return found


def run_node(node: str, tmp_path: Path, payload: dict[str, Any], driver: str = DRIVER) -> Any:
    (tmp_path / "driver.js").write_text(driver, encoding="utf-8")
    (tmp_path / "input.json").write_text(json.dumps(payload), encoding="utf-8")
    done = subprocess.run(  # noqa: S603 (our own script, fixed arguments)
        [node, str(tmp_path / "driver.js"), str(VERIFY_JS), str(tmp_path / "input.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@dataclass(frozen=True)
class Ledger:
    api: Api
    product_id: UUID
    trusted: dict[str, Any]

    def document(self, principal: Principal) -> dict[str, Any]:
        return verification_document(self.api.state, principal, self.product_id)


@pytest.fixture
def ledger(database_url: str, tmp_path: Path) -> Iterator[Ledger]:
    """A filing (saved with its two key reservations: an in-save proof of 2 hashes),
    approved; sequenced and projected."""
    settings = api_settings(database_url, tmp_path)
    with TestClient(create_app(settings)) as client:
        api = Api(client, settings)
        filer_id = approved_filer(api.state.ledger, FILER)
        product_id = file(api.state.ledger, FILER, filer_id)
        api.state.ledger.approve_product(REVIEWER, product_id)
        api.settle()
        keys = configured_keys(api.state)
        trusted = {"logKey": keys["log_key"], "eventKeys": keys["event_keys"]}
        yield Ledger(api, product_id, trusted)


REVIEWER_PRINCIPAL = Principal(Role.REVIEWER, None, "t-reviewer")


def verify(node: str, tmp_path: Path, *cases: dict[str, Any]) -> list[dict[str, Any]]:
    reports: list[dict[str, Any]] = run_node(node, tmp_path, {"cases": list(cases)})
    return reports


def flip_base64(text: str, offset: int) -> str:
    """``text`` (base64) with one bit of byte ``offset`` flipped, canonical again."""
    data = bytearray(base64.b64decode(text))
    data[offset] ^= 0x01
    return base64.b64encode(bytes(data)).decode("ascii")


def named(row: dict[str, Any], product_id: UUID, version: int) -> None:
    """The row fails and its message names the event: record id, version and leaf index."""
    assert row["status"] == "failed", row
    assert (row["originator_id"], row["version"]) == (str(product_id), version)
    for part in (str(product_id), f" {version} ", f" {row['leaf_index']}"):
        assert part in row["message"], (part, row["message"])


def test_the_verifier_passes_the_shared_vectors(node, tmp_path):
    result = run_node(node, tmp_path, {"vectors": str(VECTORS)})
    assert result["noteText"] is True
    assert len(result["inclusion"]) > 50
    wrong = [r["file"] for r in result["inclusion"] if r["failed"] != r["wantErr"]]
    assert wrong == []


def test_a_real_document_verifies_for_the_filer_side_and_the_public(node, tmp_path, ledger):
    visible = ledger.document(REVIEWER_PRINCIPAL)
    public = ledger.document(ANONYMOUS)
    versions = list(range(1, len(visible["events"]) + 1))
    assert len(versions) >= 2

    zh, en, anonymous = verify(
        node, tmp_path,
        {"doc": visible, "trusted": ledger.trusted, "lang": "zh"},
        {"doc": visible, "trusted": ledger.trusted, "lang": "en"},
        {"doc": public, "trusted": ledger.trusted, "lang": "en"},
    )  # fmt: skip

    for report in (zh, en, anonymous):
        assert report["ok"] is True, report
        assert report["keys"]["ok"]
        assert report["checkpoint"]["ok"]
        assert report["checkpoint"]["size"] == str(visible["tree_size"])
        assert [row["version"] for row in report["events"]] == versions
    assert {row["status"] for row in zh["events"]} == {"verified"}
    assert zh["events"][0]["event"] == "ProductFiled"
    assert "已验证" in zh["events"][0]["message"]
    assert "第 1 版" in zh["events"][0]["message"]
    assert "verified" in en["events"][0]["message"]
    assert {row["status"] for row in anonymous["events"]} == {"in_log"}
    assert anonymous["events"][0]["message"].endswith(
        "in the log; contents and signature verifiable by the filer, its region or the platform"
    )


@pytest.mark.parametrize(
    ("offset", "codes"),
    [
        (-2, {"root_mismatch", "event_bad_signature"}),  # the canonical JSON
        (20, {"root_mismatch", "event_bad_signature"}),  # the save's signature
        (90, {"root_mismatch", "event_bad_signature"}),  # the in-save proof (v1: a save of 3)
        (5, {"root_mismatch", "event_unknown_key"}),  # the key id
    ],
    ids=["state", "signature", "save-proof", "key-id"],
)
def test_a_changed_byte_of_a_stored_event_names_the_event(node, tmp_path, ledger, offset, codes):
    document = ledger.document(REVIEWER_PRINCIPAL)
    changed = copy.deepcopy(document)
    state = changed["events"][0]["state"]
    changed["events"][0]["state"] = flip_base64(state, offset % len(base64.b64decode(state)))

    (report,) = verify(node, tmp_path, {"doc": changed, "trusted": ledger.trusted, "lang": "en"})

    assert report["ok"] is False
    first, *rest = report["events"]
    named(first, ledger.product_id, 1)
    assert {failure["code"] for failure in first["failures"]} == codes
    assert {row["status"] for row in rest} == {"verified"}
    assert report["checkpoint"]["ok"] is True


def test_a_changed_proof_hash_names_the_event(node, tmp_path, ledger):
    for principal in (REVIEWER_PRINCIPAL, ANONYMOUS):
        changed = ledger.document(principal)
        changed["events"][1]["proof"][0] = flip_base64(changed["events"][1]["proof"][0], 31)

        (report,) = verify(
            node, tmp_path, {"doc": changed, "trusted": ledger.trusted, "lang": "zh"}
        )

        first, second, *rest = report["events"]
        assert {row["status"] for row in (first, *rest)} <= {"verified", "in_log"}
        named(second, ledger.product_id, 2)
        assert [failure["code"] for failure in second["failures"]] == ["root_mismatch"]
        assert "根哈希" in second["message"]


def test_a_changed_leaf_hash_of_a_confidential_event_names_the_event(node, tmp_path, ledger):
    changed = ledger.document(ANONYMOUS)
    changed["events"][0]["leaf_hash"] = flip_base64(changed["events"][0]["leaf_hash"], 0)

    (report,) = verify(node, tmp_path, {"doc": changed, "trusted": ledger.trusted, "lang": "en"})

    named(report["events"][0], ledger.product_id, 1)
    assert {row["status"] for row in report["events"][1:]} == {"in_log"}


def test_a_changed_checkpoint_signature_fails_the_checkpoint(node, tmp_path, ledger):
    document = ledger.document(ANONYMOUS)
    text, _, signature_line = document["checkpoint"].rstrip("\n").rpartition("\n")
    prefix, _, blob = signature_line.rpartition(" ")
    changed = dict(document, checkpoint=f"{text}\n{prefix} {flip_base64(blob, 10)}\n")

    (report,) = verify(node, tmp_path, {"doc": changed, "trusted": ledger.trusted, "lang": "en"})

    assert report["ok"] is False
    assert report["checkpoint"]["code"] == "note_bad_signature"
    assert "checkpoint" in report["checkpoint"]["message"]
    assert {row["status"] for row in report["events"]} == {"unchecked"}
    assert "checks did not pass" in report["summary"]


def test_a_changed_checkpoint_root_fails_the_checkpoint(node, tmp_path, ledger):
    document = ledger.document(ANONYMOUS)
    origin, size, root, rest = document["checkpoint"].split("\n", 3)
    changed = dict(document, checkpoint="\n".join((origin, size, flip_base64(root, 3), rest)))

    (report,) = verify(node, tmp_path, {"doc": changed, "trusted": ledger.trusted, "lang": "zh"})

    assert report["checkpoint"]["code"] == "note_bad_signature"
    assert "检查点" in report["checkpoint"]["message"]


def test_keys_other_than_the_configured_ones_are_reported(node, tmp_path, ledger):
    document = ledger.document(REVIEWER_PRINCIPAL)
    stranger = base64.b64encode(
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode("ascii")
    pasted_event_key = dict(ledger.trusted, eventKeys=[stranger])
    lying = dict(document, keys={**document["keys"], "event_keys": [stranger]})

    wrong_key, wrong_claim = verify(
        node, tmp_path,
        {"doc": document, "trusted": pasted_event_key, "lang": "en"},
        {"doc": lying, "trusted": ledger.trusted, "lang": "en"},
    )  # fmt: skip

    # an auditor's own key that did not sign these events: each is named, unknown key
    assert wrong_key["keys"]["code"] == "keys_differ"
    for version, row in enumerate(wrong_key["events"], 1):
        named(row, ledger.product_id, version)
        assert [failure["code"] for failure in row["failures"]] == ["event_unknown_key"]
    # a document naming a key the page does not trust: reported, never used
    assert wrong_claim["keys"]["code"] == "keys_differ"
    assert {row["status"] for row in wrong_claim["events"]} == {"verified"}
    assert wrong_claim["ok"] is False


def test_a_byte_changed_in_the_store_reaches_the_browser_and_is_named(node, tmp_path, ledger):
    def flip(state: bytes) -> bytes:
        return state[:-2] + bytes([state[-2] ^ 0x01]) + state[-1:]

    _rewrite_state(ledger.api.settings, ledger.product_id, 1, flip)
    filer = Principal(Role.FILER, FILER, "t-filer")
    document = ledger.document(filer)  # the server does not stop it: the browser names it
    assert document["events"][0]["content"] == "visible"

    (report,) = verify(node, tmp_path, {"doc": document, "trusted": ledger.trusted, "lang": "en"})

    named(report["events"][0], ledger.product_id, 1)
    assert {row["status"] for row in report["events"][1:]} == {"verified"}


def test_the_page_part_writes_one_row_per_event_and_the_pending_versions(node, tmp_path, ledger):
    ledger.api.state.ledger.withdraw_product(REVIEWER, ledger.product_id, "patents lapsed")
    document = ledger.document(REVIEWER_PRINCIPAL)
    assert document["pending"]
    payload = {"doc": document, "trusted": ledger.trusted, "lang": "zh"}

    page = run_node(node, tmp_path, payload, DOM_DRIVER)

    assert page["clicks"] == 1
    assert page["state"] == "passed", page
    assert page["summary"].startswith("全部通过")
    assert any(f"第 {document['pending'][0]} 版尚未纳入" in line for line in page["checks"])
    assert len(page["rows"]) == len(document["events"])
    first = page["rows"][0]
    assert first["status"] == "verify-verified"
    assert first["cells"][:4] == [
        str(ledger.product_id),
        "1",
        str(document["events"][0]["leaf_index"]),
        "ProductFiled",
    ]
