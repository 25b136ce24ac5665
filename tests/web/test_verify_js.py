"""The browser verifier (api/web/static/js/verify.js) under Node's WebCrypto, against documents
api.web.verification produced from a real ledger.

A document verifies whole; one flipped byte — in an event's stored state, in the checkpoint's
signature, in one proof hash, in the store itself — fails the check it breaks, and the failing
row names the event (record id, version, leaf index) or the checkpoint. The verifier also
passes the RFC 6962 inclusion vectors and the C2SP signed-note vector of ../shared/vectors.

Under a witness policy (c2sp.org/tlog-cosignature) the checkpoint must carry the policy's
quorum of valid cosignatures (else ``witness_quorum``); a policy witness's line that does not
hold — a changed byte, a timestamp above 2^63 - 1 — is ``cosignature_invalid``; one that holds
but is dated 0 or more than 300 s ahead of the clock is not counted, and named; lines by other
keys are ignored; an ML-DSA-44 witness never counts. The policy checked is the one the page
shows (``trusted["witnessPolicy"]``, the section's data-witness-policy): a document whose
``keys.witnesses`` differs — weaker, stronger, missing — is ``witness_policy_mismatch``; a
pinned policy replaces both. Cosignatures are made by tests/web/cosigner.py, written from the
spec.

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
from audit.log.witness_store import StoredCosignature
from audit.offline.cosignature import MAX_CLOCK_SKEW, MAX_TIMESTAMP, WitnessPolicy
from domain.actor import Role
from tests.api.conftest import Api, api_settings
from tests.domain.factories import REVIEWER, approve_as_distinct, approved_filer, file, uscc
from tests.domain.test_tamper import _rewrite_state
from tests.web.cosigner import Cosigner, now, policy_file

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
// the attribute as the template renders it: JSON text (absent when the page has none)
if (input.trusted.witnessPolicy !== undefined) {
  section.dataset.witnessPolicy = typeof input.trusted.witnessPolicy === "string"
    ? input.trusted.witnessPolicy : JSON.stringify(input.trusted.witnessPolicy);
}
const parts = {};
for (const id of ["#verify-run", "#verify-summary", "#verify-checks", "#verify-results tbody",
  "#verify-log-key", "#verify-event-keys", "#verify-witness-keys",
  "#verify-witness-threshold"]) parts[id] = element();
for (const [id, value] of Object.entries(input.pasted || {})) parts[id].value = value;
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
    named: Object.fromEntries(parts["#verify-checks"].children.map((li) =>
      [li.dataset.check, { status: li.className, text: li.textContent }])),
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
        yield Ledger(api, product_id, page_trusted(api))


REVIEWER_PRINCIPAL = Principal(Role.REVIEWER, None, "t-reviewer")


def page_trusted(api: Api) -> dict[str, Any]:
    """What the product page hands the verifier: its configured keys and witness policy (the
    template's data-log-key, data-event-keys and data-witness-policy)."""
    keys = configured_keys(api.state)
    policy = {part: keys["witnesses"][part] for part in ("quorum", "witnesses", "groups")}
    return {"logKey": keys["log_key"], "eventKeys": keys["event_keys"], "witnessPolicy": policy}


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
        assert report["witnesses"]["ok"]  # the server's policy requires no witness
        assert report["witnesses"]["quorum"] == "none"
        assert report["witnesses"]["source"] == "page"
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


# --- witnesses (c2sp.org/tlog-cosignature) ------------------------------------------------------
A, B = Cosigner("witness.test/a"), Cosigner("witness.test/b")
C = Cosigner("witness.test/c")  # in no server policy
PQ = Cosigner("witness.test/pq", mldsa=True)


@pytest.fixture
def witnessed(database_url: str, tmp_path: Path) -> Iterator[Ledger]:
    """As ``ledger``, under a witness policy requiring both a and b; nothing cosigned yet."""
    policy = policy_file(tmp_path / "policy", A, B, threshold="all")
    settings = api_settings(database_url, tmp_path, PPL_WITNESS_POLICY=str(policy))
    with TestClient(create_app(settings)) as client:
        api = Api(client, settings)
        filer_id = approved_filer(api.state.ledger, FILER)
        product_id = file(api.state.ledger, FILER, filer_id)
        api.state.ledger.approve_product(REVIEWER, product_id)
        api.settle()
        yield Ledger(api, product_id, page_trusted(api))


def cosigned(document: dict[str, Any], *lines: str) -> dict[str, Any]:
    """The document with cosignature lines after its checkpoint's signatures."""
    return dict(document, checkpoint=document["checkpoint"] + "".join(lines))


def label(witness: Cosigner) -> str:
    """How the verifier names a witness: ``name+keyid``."""
    return f"{witness.name}+{witness.key_id.hex()}"


def changed_line(line: str, offset: int) -> str:
    """A cosignature line with one bit of its blob's byte ``offset`` flipped."""
    prefix, _, blob = line.rstrip("\n").rpartition(" ")
    return f"{prefix} {flip_base64(blob, offset)}\n"


def test_a_checkpoint_the_quorum_cosigned_passes_and_names_its_witnesses(node, tmp_path, witnessed):
    log = witnessed.api.state.log
    record = log.store.latest_checkpoint()
    assert record is not None
    for witness in (A, B):  # stored as the log's witnessing stores what witnesses return
        stamp = now()
        line = witness.line(record.signed_note, stamp)
        log.witnesses.add_cosignature(
            StoredCosignature(
                record.tree_size,
                label(witness),
                line,
                stamp,
                "2026-01-01T00:00:00Z",
                root=record.root,
            )
        )
    document = witnessed.document(ANONYMOUS)
    assert document["checkpoint"] != record.signed_note  # served with its cosignatures

    zh, en = verify(
        node, tmp_path,
        {"doc": document, "trusted": witnessed.trusted, "lang": "zh"},
        {"doc": document, "trusted": witnessed.trusted, "lang": "en"},
    )  # fmt: skip

    for report in (zh, en):
        assert report["ok"] is True, report
        witnesses = report["witnesses"]
        assert witnesses["ok"] is True
        assert sorted(witnesses["cosigned"]) == [A.name, B.name]
        assert witnesses["quorum"] == document["keys"]["witnesses"]["description"]
        assert witnesses["quorum"] == f"2 of [{label(A)}, {label(B)}]"
        assert witnesses["unverifiable"] == []
        for name in (A.name, B.name, witnesses["quorum"]):
            assert name in witnesses["message"]
    assert en["witnesses"]["message"].startswith("Witness quorum met (this page's")
    assert zh["witnesses"]["message"].startswith("见证联署满足要求")
    assert {row["status"] for row in en["events"]} == {"in_log"}


def test_without_the_quorum_of_valid_cosignatures_the_verification_fails(node, tmp_path, witnessed):
    document = witnessed.document(ANONYMOUS)
    note = document["checkpoint"]
    impostor = Cosigner(A.name)  # a's name, another key: another key id, so ignored
    cases = {
        "none": cosigned(document),
        "wrong-key": cosigned(document, impostor.line(note), C.line(note)),
        "one-of-two": cosigned(document, A.line(note)),
    }

    reports = verify(
        node, tmp_path,
        *({"doc": doc, "trusted": witnessed.trusted, "lang": "en"} for doc in cases.values()),
    )  # fmt: skip

    for case, report in zip(cases, reports, strict=True):
        assert report["ok"] is False, case
        assert report["checkpoint"]["ok"] is True, case
        assert report["witnesses"]["code"] == "witness_quorum", (case, report["witnesses"])
        assert "lacks the valid cosignatures" in report["witnesses"]["message"]
        assert "checks did not pass" in report["summary"]
        # the events are still checked against the checkpoint
        assert {row["status"] for row in report["events"]} == {"in_log"}, case
    none, wrong_key, one_of_two = (report["witnesses"] for report in reports)
    assert none["cosigned"] == wrong_key["cosigned"] == []
    assert one_of_two["cosigned"] == [A.name]
    assert f"valid cosignatures by {label(A)}, want 2 of [" in one_of_two["detail"]


@pytest.mark.parametrize(
    ("case", "detail"),
    [
        ("changed-signature", "does not verify over the checkpoint"),
        ("changed-timestamp", "does not verify over the checkpoint"),
        ("another-checkpoint", "does not verify over the checkpoint"),
        # dated 0 or in the future, but not holding: still invalid, never just not counted
        ("zero-timestamp-changed-signature", "does not verify over the checkpoint"),
        ("future-timestamp-changed-signature", "does not verify over the checkpoint"),
        ("timestamp-above-2^63-1", "want at most 2^63 - 1"),
        ("truncated", "bytes, want 72"),
    ],
)
def test_an_invalid_cosignature_by_a_policy_witness_fails_the_verification(
    node, tmp_path, witnessed, case, detail
):
    document = witnessed.document(ANONYMOUS)
    note = document["checkpoint"]
    bad = {
        "changed-signature": lambda: changed_line(A.line(note), 4 + 8 + 20),
        "changed-timestamp": lambda: changed_line(A.line(note), 4 + 7),
        "another-checkpoint": lambda: A.line("another.test/log\n" + note.split("\n", 1)[1]),
        "zero-timestamp-changed-signature": lambda: changed_line(A.line(note, 0), 4 + 8 + 20),
        "future-timestamp-changed-signature": lambda: changed_line(
            A.line(note, now() + 3600), 4 + 8 + 20
        ),
        "timestamp-above-2^63-1": lambda: A.line(note, 2**63),
        "truncated": lambda: _truncated(A.line(note)),
    }[case]()
    # b's valid cosignature is there too: a's bad line is an error, not skipped
    changed = cosigned(document, bad, B.line(note))

    (report,) = verify(node, tmp_path, {"doc": changed, "trusted": witnessed.trusted, "lang": "zh"})

    assert report["ok"] is False
    witnesses = report["witnesses"]
    assert witnesses["code"] == "cosignature_invalid", witnesses
    assert witnesses["detail"].startswith(f"{label(A)}: ")
    assert detail in witnesses["detail"]
    assert "见证者的联署无效" in witnesses["message"]
    assert report["summary"].startswith("验证未通过")


def _truncated(line: str) -> str:
    prefix, _, blob = line.rstrip("\n").rpartition(" ")
    data = base64.b64decode(blob)[:-1]
    return f"{prefix} {base64.b64encode(data).decode()}\n"


def test_a_cosignature_a_little_ahead_of_the_browser_clock_is_accepted(node, tmp_path, witnessed):
    document = witnessed.document(ANONYMOUS)
    note = document["checkpoint"]
    changed = cosigned(document, A.line(note, now() + 60), B.line(note, 1))

    (report,) = verify(node, tmp_path, {"doc": changed, "trusted": witnessed.trusted, "lang": "en"})

    assert report["ok"] is True, report["witnesses"]
    assert report["witnesses"]["ignored"] == []


@pytest.mark.parametrize(
    ("case", "reason", "words", "detail"),
    [
        ("zero", "no_timestamp", "no timestamp", "timestamp 0 (a witness must say when it"),
        ("future", "future_timestamp", "timestamp in the future", "s in the future (at most 300"),
    ],
)
def test_a_cosignature_dated_zero_or_in_the_future_is_not_counted(
    node, tmp_path, witnessed, case, reason, words, detail
):
    """It holds, so it is no error; it does not count, so the 2-of-2 quorum fails — and the
    result names the witness and why."""
    document = witnessed.document(ANONYMOUS)
    note = document["checkpoint"]
    stamp = 0 if case == "zero" else now() + 3600
    changed = cosigned(document, A.line(note, stamp), B.line(note))

    en, zh = verify(
        node, tmp_path,
        {"doc": changed, "trusted": witnessed.trusted, "lang": "en"},
        {"doc": changed, "trusted": witnessed.trusted, "lang": "zh"},
    )  # fmt: skip

    witnesses = en["witnesses"]
    assert en["ok"] is False
    assert witnesses["code"] == "witness_quorum", witnesses
    assert witnesses["cosigned"] == [B.name]
    (ignored,) = witnesses["ignored"]
    assert (ignored["name"], ignored["label"], ignored["reason"]) == (A.name, label(A), reason)
    assert ignored["timestamp"] == str(stamp)
    assert f"not counted: {label(A)}: " in witnesses["detail"]
    assert detail in witnesses["detail"]
    assert f"Not counted: {label(A)} ({words})." in witnesses["message"]
    assert "lacks the valid cosignatures" in witnesses["message"]
    assert {row["status"] for row in en["events"]} == {"in_log"}
    zh_words = "没有时间戳" if case == "zero" else "时间戳在未来"
    assert f"未计入要求的联署：{label(A)}（{zh_words}）" in zh["witnesses"]["message"]


def test_a_one_of_two_quorum_passes_with_one_valid_and_one_future_cosignature(
    node, tmp_path, witnessed
):
    document = witnessed.document(ANONYMOUS)
    note = document["checkpoint"]
    page = copy.deepcopy(witnessed.trusted["witnessPolicy"])
    page["groups"][0]["threshold"] = 1  # a page (and document) whose policy is 1 of [a, b]
    one_of_two = dict(document, keys={**document["keys"], "witnesses": page})
    trusted = dict(witnessed.trusted, witnessPolicy=page)
    future = A.line(note, now() + 3600)
    cases = [
        cosigned(one_of_two, future, B.line(note)),
        cosigned(one_of_two, future, A.line(note, 0)),  # a's two lines, neither counts
        cosigned(one_of_two, future, A.line(note), B.line(note, 0)),  # a counts after all
    ]

    passed, neither, a_later = verify(
        node, tmp_path, *({"doc": doc, "trusted": trusted, "lang": "en"} for doc in cases)
    )

    assert passed["ok"] is True, passed["witnesses"]
    assert passed["witnesses"]["quorum"] == f"1 of [{label(A)}, {label(B)}]"
    assert passed["witnesses"]["cosigned"] == [B.name]
    assert [(i["name"], i["reason"]) for i in passed["witnesses"]["ignored"]] == [
        (A.name, "future_timestamp")
    ]
    assert passed["witnesses"]["message"].startswith("Witness quorum met (this page's")
    assert passed["witnesses"]["message"].endswith(
        f"Not counted: {label(A)} (timestamp in the future)."
    )
    assert neither["witnesses"]["code"] == "witness_quorum"
    assert [i["reason"] for i in neither["witnesses"]["ignored"]] == ["future_timestamp"]
    assert a_later["ok"] is True, a_later["witnesses"]
    assert a_later["witnesses"]["cosigned"] == [A.name]
    assert [(i["name"], i["reason"]) for i in a_later["witnesses"]["ignored"]] == [
        (B.name, "no_timestamp")
    ]


def test_a_pinned_witness_policy_replaces_the_documents(node, tmp_path, witnessed):
    document = witnessed.document(ANONYMOUS)
    note = document["checkpoint"]
    only_a = cosigned(document, A.line(note))  # the document's policy (a and b) fails
    by_c = cosigned(document, C.line(note))
    no_policy: dict[str, Any] = {
        "quorum": None,
        "witnesses": [],
        "groups": [],
        "description": "none",
    }
    unwitnessed = dict(document, keys={**document["keys"], "witnesses": no_policy})

    def pinned(trusted: dict[str, Any], keys: list[str], k: int | None = None) -> dict[str, Any]:
        return dict(trusted, witnessKeys=keys, witnessThreshold=k)

    a_of_ab, both, c_alone, c_unwitnessed, garbled, too_many = verify(
        node, tmp_path,
        {"doc": only_a, "trusted": pinned(witnessed.trusted, [A.vkey, B.vkey], 1), "lang": "en"},
        {"doc": only_a, "trusted": pinned(witnessed.trusted, [A.vkey, B.vkey]), "lang": "en"},
        {"doc": by_c, "trusted": pinned(witnessed.trusted, [C.vkey]), "lang": "en"},
        {"doc": unwitnessed, "trusted": pinned(witnessed.trusted, [C.vkey]), "lang": "en"},
        {"doc": only_a, "trusted": pinned(witnessed.trusted, [A.vkey[:-4] + "AAA="]), "lang": "en"},
        {"doc": only_a, "trusted": pinned(witnessed.trusted, [A.vkey], 2), "lang": "en"},
    )  # fmt: skip

    assert a_of_ab["ok"] is True, a_of_ab["witnesses"]
    assert a_of_ab["witnesses"]["source"] == "pinned"
    assert a_of_ab["witnesses"]["quorum"] == f"1 of [{label(A)}, {label(B)}]"
    assert a_of_ab["witnesses"]["message"].startswith("Witness quorum met (your witness policy")
    assert both["witnesses"]["code"] == "witness_quorum"  # default K: all the keys pinned
    assert c_alone["ok"] is True, c_alone["witnesses"]  # c: in no server policy, but pinned
    assert c_alone["witnesses"]["cosigned"] == [C.name]
    assert c_unwitnessed["witnesses"]["code"] == "witness_quorum"
    assert garbled["witnesses"]["code"] == "witness_key_malformed"
    assert too_many["witnesses"]["code"] == "witness_policy_malformed"
    assert {r["ok"] for r in (both, c_unwitnessed, garbled, too_many)} == {False}


def test_an_ml_dsa_witness_cannot_be_checked_in_the_browser_and_never_counts(
    node, tmp_path, witnessed
):
    document = witnessed.document(ANONYMOUS)
    note = document["checkpoint"]
    # an ML-DSA-44 line the browser cannot check: its bytes do not matter, it is not counted
    garbage = base64.b64encode(PQ.key_id + (now()).to_bytes(8, "big") + bytes(2420)).decode()
    changed = cosigned(document, A.line(note), f"\u2014 {PQ.name} {garbage}\n")
    policy = {
        "quorum": "q",
        "witnesses": [{"name": "a", "vkey": A.vkey}, {"name": "pq", "vkey": PQ.vkey}],
        "groups": [{"name": "q", "threshold": 2, "members": ["a", "pq"]}],
    }
    one_policy = {**policy, "groups": [{"name": "q", "threshold": 1, "members": ["a", "pq"]}]}
    # pages (and documents) showing these policies
    two = dict(changed, keys={**changed["keys"], "witnesses": policy})
    one = dict(two, keys={**two["keys"], "witnesses": one_policy})
    page_two = dict(witnessed.trusted, witnessPolicy=policy)
    page_one = dict(witnessed.trusted, witnessPolicy=one_policy)

    both_needed, one_needed, zh = verify(
        node, tmp_path,
        {"doc": two, "trusted": page_two, "lang": "en"},
        {"doc": one, "trusted": page_one, "lang": "en"},
        {"doc": one, "trusted": page_one, "lang": "zh"},
    )  # fmt: skip

    assert both_needed["witnesses"]["code"] == "witness_quorum"
    assert both_needed["witnesses"]["cosigned"] == [A.name]
    assert one_needed["ok"] is True, one_needed["witnesses"]
    for report in (both_needed, one_needed):
        assert report["witnesses"]["unverifiable"] == [PQ.name]
        message = report["witnesses"]["message"]
        assert "ML-DSA-44 witnesses cannot be checked in the browser" in message
        assert PQ.name in message
    assert "无法在浏览器中核验" in zh["witnesses"]["message"]


def test_the_page_shows_the_witnesses_and_takes_pinned_witness_keys(node, tmp_path, witnessed):
    document = witnessed.document(ANONYMOUS)
    only_a = cosigned(document, A.line(document["checkpoint"]))
    payload = {"doc": only_a, "trusted": witnessed.trusted, "lang": "en"}

    failed = run_node(node, tmp_path, payload, DOM_DRIVER)
    pasted = {"#verify-witness-keys": f"{A.vkey}\n{B.vkey}\n", "#verify-witness-threshold": "1"}
    passed = run_node(node, tmp_path, dict(payload, pasted=pasted), DOM_DRIVER)

    assert failed["state"] == "failed"
    assert failed["named"]["witnesses"]["status"] == "verify-failed"
    assert "Witness quorum not met" in failed["named"]["witnesses"]["text"]
    assert failed["named"]["checkpoint"]["status"] == "verify-ok"
    assert passed["state"] == "passed", passed
    assert passed["named"]["witnesses"]["status"] == "verify-ok"
    assert A.name in passed["named"]["witnesses"]["text"]
    assert "your witness policy" in passed["named"]["witnesses"]["text"]


# --- the policy the page shows is the policy checked --------------------------------------------
def _weaker(policy: dict[str, Any]) -> dict[str, Any]:
    """1 of [a, b] where the page shows 2 of [a, b]."""
    weaker = copy.deepcopy(policy)
    weaker["groups"][0]["threshold"] = 1
    return weaker


def _other_key(policy: dict[str, Any]) -> dict[str, Any]:
    """b's place held by c's key."""
    other = copy.deepcopy(policy)
    other["witnesses"][1]["vkey"] = C.vkey
    return other


def _a_alone(policy: dict[str, Any]) -> dict[str, Any]:
    """The quorum: witness a alone (its group still listed)."""
    return dict(copy.deepcopy(policy), quorum=policy["witnesses"][0]["name"])


def _stronger(policy: dict[str, Any]) -> dict[str, Any]:
    """c added to the group, all three required: stronger, still not the page's."""
    stronger = copy.deepcopy(policy)
    stronger["witnesses"].append({"name": "witness.test-c", "vkey": C.vkey})
    stronger["groups"][0]["members"].append("witness.test-c")
    stronger["groups"][0]["threshold"] = 3
    return stronger


NO_QUORUM: dict[str, Any] = {"quorum": None, "witnesses": [], "groups": [], "description": "none"}


MISMATCHES = [
    ("weaker-threshold", "(groups)", "got 1 of ["),
    ("another-key", "(witnesses)", f"got 2 of [{label(A)}, {label(C)}], want 2 of ["),
    ("quorum-a-alone", "(quorum)", f"got {label(A)}, want 2 of ["),
    ("stronger", "(witnesses, groups)", "got 3 of ["),
    ("quorum-null", "(quorum, witnesses, groups)", "got none, want 2 of ["),
    ("no-witnesses", "(quorum, witnesses, groups)", "got no witness policy, want 2 of ["),
    ("null-witnesses", "(quorum, witnesses, groups)", "got no witness policy, want"),
    ("not-a-policy", "(quorum, witnesses, groups)", "got a malformed witness policy, want"),
]


@pytest.mark.parametrize(("case", "parts", "got"), MISMATCHES, ids=[m[0] for m in MISMATCHES])
def test_a_document_policy_other_than_the_pages_fails(node, tmp_path, witnessed, case, parts, got):
    """Even cosigned by both a and b — what the page's 2-of-2 quorum needs — a document whose
    policy is not the page's fails: the document never chooses, nor drops, the quorum."""
    document = witnessed.document(ANONYMOUS)
    note = document["checkpoint"]
    page = witnessed.trusted["witnessPolicy"]
    keys = dict(document["keys"])
    if case == "no-witnesses":
        del keys["witnesses"]
    else:
        keys["witnesses"] = {
            "weaker-threshold": lambda: _weaker(page),
            "another-key": lambda: _other_key(page),
            "quorum-a-alone": lambda: _a_alone(page),
            "stronger": lambda: _stronger(page),
            "quorum-null": lambda: NO_QUORUM,
            "null-witnesses": lambda: None,
            "not-a-policy": lambda: "2 of [a, b]",
        }[case]()
    changed = cosigned(dict(document, keys=keys), A.line(note), B.line(note), C.line(note))

    en, zh = verify(
        node, tmp_path,
        {"doc": changed, "trusted": witnessed.trusted, "lang": "en"},
        {"doc": changed, "trusted": witnessed.trusted, "lang": "zh"},
    )  # fmt: skip

    witnesses = en["witnesses"]
    assert en["ok"] is False
    assert witnesses["ok"] is False
    assert witnesses["code"] == "witness_policy_mismatch", witnesses
    assert witnesses["source"] == "page"
    assert witnesses["quorum"] == f"2 of [{label(A)}, {label(B)}]"  # the page's, not the doc's
    assert witnesses["detail"].startswith(
        f"the document's witness policy differs from the page's {parts}: "
    )
    assert got in witnesses["detail"]
    assert "is not the one this page shows" in witnesses["message"]
    assert "Witness quorum not met (this page's witness policy" in witnesses["message"]
    assert "checks did not pass" in en["summary"]
    assert en["checkpoint"]["ok"] is True
    assert {row["status"] for row in en["events"]} == {"in_log"}  # still checked
    assert "文档中的见证策略与本页显示的见证策略不一致" in zh["witnesses"]["message"]


def test_a_document_policy_identical_to_the_pages_passes(node, tmp_path, witnessed):
    document = witnessed.document(ANONYMOUS)
    note = document["checkpoint"]
    # the same policy as data: a copy, in another key order, the description left out
    page = witnessed.trusted["witnessPolicy"]
    same = json.loads(json.dumps({part: page[part] for part in ("groups", "witnesses", "quorum")}))
    changed = cosigned(dict(document, keys={**document["keys"], "witnesses": same}),
                       A.line(note), B.line(note))  # fmt: skip

    (report,) = verify(node, tmp_path, {"doc": changed, "trusted": witnessed.trusted, "lang": "en"})

    assert report["ok"] is True, report["witnesses"]
    assert report["witnesses"]["source"] == "page"
    assert sorted(report["witnesses"]["cosigned"]) == [A.name, B.name]


def test_without_a_quorum_on_the_page_a_document_without_witnesses_passes(node, tmp_path, ledger):
    document = ledger.document(ANONYMOUS)
    keys = {k: v for k, v in document["keys"].items() if k != "witnesses"}
    no_policy = dict(document, keys=keys)
    with_quorum = dict(document, keys={**document["keys"], "witnesses": {
        "quorum": "a", "witnesses": [{"name": "a", "vkey": A.vkey}], "groups": []}})  # fmt: skip

    missing, claimed = verify(
        node, tmp_path,
        {"doc": no_policy, "trusted": ledger.trusted, "lang": "en"},
        {"doc": with_quorum, "trusted": ledger.trusted, "lang": "en"},
    )  # fmt: skip

    assert ledger.trusted["witnessPolicy"]["quorum"] is None
    assert missing["ok"] is True, missing["witnesses"]
    assert missing["witnesses"]["quorum"] == "none"
    assert missing["witnesses"]["message"] == (
        "Witnesses: this page's witness policy requires no witness cosignature."
    )
    # a document asking for more than the page shows is not the page's policy either
    assert claimed["witnesses"]["code"] == "witness_policy_mismatch"


@pytest.mark.parametrize("page", ["absent", "null", "not-json", "malformed"])
def test_without_a_readable_policy_on_the_page_the_witness_check_fails(
    node, tmp_path, witnessed, page
):
    document = witnessed.document(ANONYMOUS)
    doc = cosigned(document, A.line(document["checkpoint"]), B.line(document["checkpoint"]))
    trusted = {k: v for k, v in witnessed.trusted.items() if k != "witnessPolicy"}
    if page != "absent":
        trusted["witnessPolicy"] = {
            "null": None,
            "not-json": "{quorum",  # the DOM driver hands a string through as the attribute
            "malformed": {"quorum": "q", "witnesses": [], "groups": []},
        }[page]

    (report,) = verify(node, tmp_path, {"doc": doc, "trusted": trusted, "lang": "en"})
    dom = run_node(node, tmp_path, {"doc": doc, "trusted": trusted, "lang": "en"}, DOM_DRIVER)

    assert report["ok"] is False
    assert report["witnesses"]["code"] == "witness_policy_malformed", report["witnesses"]
    assert dom["state"] == "failed"
    assert "the witness policy is malformed" in dom["named"]["witnesses"]["text"]


def test_a_pinned_policy_overrides_a_document_policy_other_than_the_pages(
    node, tmp_path, witnessed
):
    document = witnessed.document(ANONYMOUS)
    note = document["checkpoint"]
    weaker = dict(
        document, keys={**document["keys"], "witnesses": _weaker(document["keys"]["witnesses"])}
    )
    only_a = cosigned(weaker, A.line(note))
    missing = cosigned(
        dict(document, keys={k: v for k, v in document["keys"].items() if k != "witnesses"}),
        A.line(note),
    )
    pinned = dict(witnessed.trusted, witnessKeys=[A.vkey, B.vkey], witnessThreshold=1)
    pinned_all = dict(witnessed.trusted, witnessKeys=[A.vkey, B.vkey], witnessThreshold=None)

    weaker_pinned, missing_pinned, weaker_pinned_all = verify(
        node, tmp_path,
        {"doc": only_a, "trusted": pinned, "lang": "en"},
        {"doc": missing, "trusted": pinned, "lang": "en"},
        {"doc": only_a, "trusted": pinned_all, "lang": "en"},
    )  # fmt: skip

    for report in (weaker_pinned, missing_pinned):
        assert report["ok"] is True, report["witnesses"]
        assert report["witnesses"]["source"] == "pinned"
    # the pinned quorum decides: no mismatch error, the quorum's own
    assert weaker_pinned_all["witnesses"]["code"] == "witness_quorum"


def test_the_page_part_fails_a_document_whose_policy_is_not_the_pages(node, tmp_path, witnessed):
    document = witnessed.document(ANONYMOUS)
    note = document["checkpoint"]
    weaker = dict(
        document, keys={**document["keys"], "witnesses": _weaker(document["keys"]["witnesses"])}
    )
    payload = {"doc": cosigned(weaker, A.line(note)), "trusted": witnessed.trusted, "lang": "en"}

    page = run_node(node, tmp_path, payload, DOM_DRIVER)

    assert page["state"] == "failed"
    assert page["named"]["witnesses"]["status"] == "verify-failed"
    assert "is not the one this page shows" in page["named"]["witnesses"]["text"]
    assert page["named"]["checkpoint"]["status"] == "verify-ok"
    assert page["named"]["keys"]["status"] == "verify-ok"


# verify.js's quorum rule against audit.offline.cosignature's, for every set of cosigners
QUORUM_DRIVER = r"""
const fs = require("fs");
const verify = require(process.argv[2]);
const input = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
(async () => {
  const policy = await verify.parseWitnessPolicy(input.policy);
  process.stdout.write(JSON.stringify({
    limits: verify.COSIGNATURE_LIMITS,
    description: verify.describePolicy(policy),
    met: input.subsets.map((names) => verify.quorumMet(policy, new Set(names))),
  }));
})().catch((error) => { console.error(error); process.exit(1); });
"""


def test_the_quorum_rule_and_limits_are_the_offline_verifiers(node, tmp_path):
    d = Cosigner("witness.test/d")
    text = "\n".join([
        f"witness a {A.vkey}", f"witness b {B.vkey}", f"witness c {C.vkey}",
        f"witness d {d.vkey}", f"witness pq {PQ.vkey}",
        "group either 1 a b", "group two-of 2 either c pq", "group top all two-of d",
        "quorum top",
    ])  # fmt: skip
    policy = WitnessPolicy.parse(text)
    data = {
        "quorum": policy.quorum,
        "witnesses": [{"name": w.name, "vkey": w.key.vkey()} for w in policy.witnesses],
        "groups": [
            {"name": g.name, "threshold": g.threshold, "members": list(g.members)}
            for g in policy.groups
        ],
    }
    names = [w.name for w in policy.witnesses]
    subsets = [[n for i, n in enumerate(names) if mask >> i & 1] for mask in range(2 ** len(names))]

    result = run_node(node, tmp_path, {"policy": data, "subsets": subsets}, QUORUM_DRIVER)

    keys = {w.name: w.key for w in policy.witnesses}
    want = [policy.is_met(keys[n] for n in subset) for subset in subsets]
    assert result["met"] == want
    assert True in want
    assert False in want
    assert result["description"] == policy.describe()
    assert result["limits"] == {"maxTimestamp": str(MAX_TIMESTAMP), "maxClockSkew": MAX_CLOCK_SKEW}


# --- the product index (docs/browser-verification.md, "The product index") -------------------
MAP_DRIVER = r"""
const fs = require("fs");
const verify = require(process.argv[2]);
const vectors = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
(async () => {
  const results = [];
  for (const map of vectors.maps) {
    for (const lookup of map.lookups) {
      if (lookup.value === undefined || lookup.value === null) continue;  // absence: none here
      const path = verify.fromHex(lookup.path);
      let derived = null;
      if (lookup.key !== undefined && lookup.key !== null) {
        const key = new TextEncoder().encode(lookup.key);
        derived = verify.toHex(await verify.mapPath(map.map_id, key));
      }
      let failed = null;
      try {
        await verify.verifyMapPresence(verify.fromHex(map.root), path, verify.fromHex(lookup.value),
          verify.fromHex(lookup.proof));
      } catch (error) { failed = error.code; }
      results.push({ kind: "presence", derived, path: lookup.path, failed });
    }
  }
  for (const t of vectors.tampered) {
    if (t.value === null) continue;
    let failed = null;
    try {
      await verify.verifyMapPresence(verify.fromHex(t.root), verify.fromHex(t.path),
        verify.fromHex(t.value), verify.fromHex(t.proof));
    } catch (error) { failed = error.code; }
    results.push({ kind: "tampered", desc: t.desc, failed });
  }
  process.stdout.write(JSON.stringify(results));
})().catch((error) => { console.error(error); process.exit(1); });
"""
MAP_VECTORS = ROOT / "tests" / "testdata" / "sparse_map_vectors.json"


def test_the_browser_checks_the_sparse_map_vectors_proofs_of_presence(node, tmp_path):
    (tmp_path / "driver.js").write_text(MAP_DRIVER, encoding="utf-8")
    done = subprocess.run(  # noqa: S603 (our own script, fixed arguments)
        [node, str(tmp_path / "driver.js"), str(VERIFY_JS), str(MAP_VECTORS)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    presence = [r for r in results if r["kind"] == "presence"]
    tampered = [r for r in results if r["kind"] == "tampered"]
    assert len(presence) >= 10
    assert [r for r in presence if r["failed"] is not None] == []
    assert all(r["derived"] in (None, r["path"]) for r in presence)
    assert len(tampered) >= 5
    assert [r["desc"] for r in tampered if r["failed"] != "index_proof"] == []


def test_a_real_document_proves_the_product_holds_its_key_and_its_trail(node, tmp_path, ledger):
    document = ledger.document(ANONYMOUS)
    assert document["index"] is not None
    zh, en = verify(
        node, tmp_path,
        {"doc": document, "trusted": ledger.trusted, "lang": "zh"},
        {"doc": document, "trusted": ledger.trusted, "lang": "en"},
    )  # fmt: skip
    for report in (zh, en):
        assert report["ok"] is True, report
        assert report["index"]["ok"] is True
        assert report["index"]["events"] == len(document["events"])
    assert "this product holds its product key (key rule v1)" in en["index"]["message"]
    assert "产品索引已验证" in zh["index"]["message"]


def _index_case(ledger, document, change) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    change(changed)
    return {"doc": changed, "trusted": ledger.trusted, "lang": "en"}


def _other_filing_index(ledger) -> dict[str, Any]:
    api = ledger.api
    code = uscc(2)
    other = file(api.state.ledger, code, approved_filer(api.state.ledger, code), model="TV-200")
    approve_as_distinct(api.state.ledger, other)
    api.settle()
    found: dict[str, Any] = verification_document(api.state, REVIEWER_PRINCIPAL, other)["index"]
    return found


def test_a_tampered_or_foreign_index_proof_fails_the_index_check(node, tmp_path, ledger):
    before = ledger.document(ANONYMOUS)  # then another filing: a newer index note
    foreign = _other_filing_index(ledger)

    def drop_index(doc):
        doc["index"] = None

    def flip_value(doc):
        doc["index"]["value_bytes"] = flip_base64(doc["index"]["value_bytes"], 30)

    def flip_proof(doc):
        doc["index"]["proof"] = flip_base64(doc["index"]["proof"], 10)

    def foreign_value(doc):
        doc["index"] = {**foreign}

    def note_of_another_checkpoint(doc):
        doc["index"]["note"] = foreign["note"]

    def hidden_event(doc):
        doc["events"] = doc["events"][:-1]

    cases = {
        "index_missing": drop_index, "index_proof": flip_value, "index_value": foreign_value,
        "index_note": note_of_another_checkpoint, "index_trail": hidden_event,
    }  # fmt: skip
    reports = verify(
        node, tmp_path, *(_index_case(ledger, before, change) for change in cases.values())
    )
    for code, report in zip(cases, reports, strict=True):
        assert report["ok"] is False, code
        assert report["index"]["ok"] is False, code
        assert report["index"]["code"] == code, (code, report["index"])
    flipped = verify(node, tmp_path, _index_case(ledger, before, flip_proof))[0]
    assert flipped["index"]["code"] in {"index_proof", "bad_encoding"}
