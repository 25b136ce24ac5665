"""`ppl audit check-product` and `ppl audit check-patent` on answers saved from the API (both
stores): what they prove, their verdicts and their exit codes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from audit.offline.index_check import CheckedKey, judge_key
from audit.offline.product_index import PRODUCT_KEYS
from domain.actor import Role
from domain.values import PatentNumber
from tests.domain.factories import approved_filer, file, filer_actor, patent, uscc

runner = CliRunner()
NAME, MODEL = "智能温控阀", "TV-100"


def _run(*arguments: str):
    return runner.invoke(app, list(arguments), catch_exceptions=False)


@pytest.fixture
def refiled(api):
    """A filing withdrawn and filed again by its filer (the key moved), indexed."""
    ledger = api.state.ledger
    code = uscc(811)
    filer_id = approved_filer(ledger, code)
    first = file(ledger, code, filer_id, name=NAME, model=MODEL)
    ledger.withdraw_product(filer_actor(code), first, "退市")
    second = file(ledger, code, filer_id, name=NAME, model=MODEL)
    api.settle()
    return code, first, second


def save(tmp_path: Path, api, url: str, role: Role | None = None, **params: Any) -> Path:
    headers = api.headers(role) if role is not None else {}
    response = api.client.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    path = tmp_path / f"answer-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(response.text, encoding="utf-8")
    return path


def trust(api) -> list[str]:
    log = api.state.log
    return ["--log-key", log.signer.verifier_key_string(), "--origin", log.origin]


def test_a_re_filing_is_one_product_with_one_holder(api, refiled, tmp_path):
    _, first, second = refiled
    answer = save(tmp_path, api, "/v1/index/products", Role.REVIEWER, name=NAME, model=MODEL)
    result = _run("audit", "check-product", NAME, MODEL, "--answer", str(answer), *trust(api))
    assert result.exit_code == 0, result.output
    assert "index note verified" in result.stdout
    assert result.stdout.count("re-filed by its filer after withdrawal") == 2  # v1 and v2
    assert f"held by {second}" in result.stdout
    assert f"filing {first} withdrawn" in result.stdout
    assert f"row of {second}: the committed one" in result.stdout


def test_without_the_rows_a_second_filing_is_not_judged(api, refiled, tmp_path):
    answer = save(tmp_path, api, "/v1/index/products", name=NAME, model=MODEL)  # anonymous
    result = _run("audit", "check-product", NAME, MODEL, "--answer", str(answer), *trust(api))
    assert result.exit_code == 0, result.output
    assert "rows not shown, not judged" in result.stdout


def test_an_unfiled_product_is_absent(api, refiled, tmp_path):
    answer = save(tmp_path, api, "/v1/index/products", name=NAME, model="TV-9")
    result = _run("audit", "check-product", NAME, "TV-9", "--answer", str(answer), *trust(api))
    assert result.exit_code == 0, result.output
    assert result.stdout.count("absent: no filing has this key") == 2


def test_the_trail_is_complete_with_every_event_proven(api, refiled, tmp_path, monkeypatch):
    _, _, second = refiled
    answer = save(tmp_path, api, "/v1/index/products", name=NAME, model=MODEL)
    log = api.state.log
    evidence = []
    for version in (1,):
        path = tmp_path / f"event-{version}.tlog-proof"
        path.write_text(log.event_evidence(second, version), encoding="utf-8")
        evidence += ["--evidence", str(path)]
    keys = ["--keys", str(api.settings.public_keys_file)]
    result = _run(
        "audit", "check-product", NAME, MODEL, "--answer", str(answer), *trust(api),
        *evidence, *keys,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"filing {second} (trail complete)" in result.stdout
    no_keys = _run(
        "audit", "check-product", NAME, MODEL, "--answer", str(answer), *trust(api), *evidence
    )
    assert no_keys.exit_code == 3
    assert "--keys" in no_keys.stderr


def test_another_spelling_is_the_same_product(api, refiled, tmp_path):
    answer = save(tmp_path, api, "/v1/index/products", name=NAME, model=MODEL)
    result = _run(
        "audit", "check-product", NAME, "ＴＶ－１００", "--answer", str(answer), *trust(api)
    )
    assert result.exit_code == 0, result.output


def test_an_answer_for_another_product_is_refused(api, refiled, tmp_path):
    answer = save(tmp_path, api, "/v1/index/products", name=NAME, model=MODEL)
    result = _run("audit", "check-product", NAME, "TV-9", "--answer", str(answer), *trust(api))
    assert result.exit_code == 25
    assert "no lookup of this key" in result.stderr


def test_a_tampered_answer_is_refused_with_its_exit_code(api, refiled, tmp_path):
    path = save(tmp_path, api, "/v1/index/products", name=NAME, model=MODEL)
    answer = json.loads(path.read_text(encoding="utf-8"))
    data = bytearray(base64.b64decode(answer["lookups"][0]["value_bytes"]))
    data[10] ^= 1
    answer["lookups"][0]["value_bytes"] = base64.b64encode(bytes(data)).decode()
    path.write_text(json.dumps(answer), encoding="utf-8")
    result = _run("audit", "check-product", NAME, MODEL, "--answer", str(path), *trust(api))
    assert result.exit_code == 25
    assert "FAILED: map proof" in result.stderr


def test_another_logs_key_is_refused(api, refiled, tmp_path):
    answer = save(tmp_path, api, "/v1/index/products", name=NAME, model=MODEL)
    log = api.state.log
    result = _run(
        "audit", "check-product", NAME, MODEL, "--answer", str(answer),
        "--log-key", log.signer.verifier_key_string(), "--origin", "another.example/log",
    )  # fmt: skip
    assert result.exit_code == 20


def test_a_note_of_another_checkpoint_is_refused(api, refiled, tmp_path):
    old = json.loads(
        save(tmp_path, api, "/v1/index/products", name=NAME, model=MODEL).read_text("utf-8")
    )
    ledger = api.state.ledger
    code = uscc(812)
    file(ledger, code, approved_filer(ledger, code), model="TV-300")
    api.settle()
    new = json.loads(
        save(tmp_path, api, "/v1/index/products", name=NAME, model=MODEL).read_text("utf-8")
    )
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps({**old, "index_note": new["index_note"]}), encoding="utf-8")
    result = _run("audit", "check-product", NAME, MODEL, "--answer", str(mixed), *trust(api))
    assert result.exit_code == 26


def test_a_row_that_is_not_the_committed_one_is_refused(api, refiled, tmp_path):
    _, _, second = refiled
    answer = save(tmp_path, api, "/v1/index/products", name=NAME, model=MODEL)
    view = api.client.get(f"/v1/products/{second}", headers=api.headers(Role.REVIEWER)).json()
    row = tmp_path / "row.json"
    row.write_text(json.dumps(view), encoding="utf-8")
    arguments = ("audit", "check-product", NAME, MODEL, "--answer", str(answer), *trust(api))
    ok = _run(*arguments, "--row", str(row))
    assert ok.exit_code == 0, ok.output
    row.write_text(json.dumps({**view, "status": "approved"}), encoding="utf-8")
    bad = _run(*arguments, "--row", str(row))
    assert bad.exit_code == 25
    assert "not the one committed" in bad.stderr


def test_check_patent(api, refiled, tmp_path):
    _, first, second = refiled
    number = PatentNumber.parse(patent(1)).value
    answer = save(tmp_path, api, f"/v1/index/patents/{number}")
    result = _run("audit", "check-patent", f"zl {number}", "--answer", str(answer), *trust(api))
    assert result.exit_code == 0, result.output
    assert f"declared by filing {first}" in result.stdout
    assert f"declared by filing {second}" in result.stdout
    other = PatentNumber.parse(patent(7)).value
    absent = save(tmp_path, api, f"/v1/index/patents/{other}")
    result = _run("audit", "check-patent", other, "--answer", str(absent), *trust(api))
    assert "no filing ever declared it" in result.stdout
    wrong = _run("audit", "check-patent", other, "--answer", str(answer), *trust(api))
    assert wrong.exit_code == 25


# --- the verdict, on values no honest store can hold ------------------------------------------
def _key(holder: str | None, *filings: str) -> CheckedKey:
    value = {
        "holder": holder,
        "filings": [{"product_id": p, "leaves": [0], "row": "00"} for p in filings],
    }
    return CheckedKey(PRODUCT_KEYS, b"1\x1ek\x1fm", value)


def _row(status: str, filer: str = "A") -> dict[str, Any]:
    return {"status": status, "filer_uscc": filer}


def test_two_live_filings_of_one_key_are_filed_twice():
    verdict = judge_key(_key("b", "a", "b"), {"a": _row("approved"), "b": _row("pending_review")})
    assert verdict.filed_twice
    assert verdict.judgement == "FILED TWICE"


def test_another_filers_withdrawn_filing_is_still_filed_twice():
    rows = {"a": _row("withdrawn", "B"), "b": _row("approved")}
    assert judge_key(_key("b", "a", "b"), rows).filed_twice


def test_filings_from_before_the_rule_are_for_a_reviewer():
    verdict = judge_key(_key(None, "a", "b"), {})
    assert not verdict.filed_twice
    assert "before key rule v1" in verdict.judgement


@pytest.mark.parametrize(
    "change",
    [
        lambda answer: [answer],  # not an object
        lambda answer: {**answer, "rows": ["a row"]},  # rows not an object
        lambda answer: {**answer, "rows": {"x": "a row"}},  # a row not an object
        lambda answer: {**answer, "lookups": "none"},
        lambda answer: {**answer, "lookups": [{**answer["lookups"][0], "proof": 7}]},
        lambda answer: {**answer, "lookups": [{**answer["lookups"][0], "value_bytes": ["x"]}]},
    ],
    ids=["list", "rows list", "row text", "lookups text", "proof number", "value list"],
)
def test_an_answer_of_the_wrong_shape_is_refused_with_the_proof_exit_code(
    api, refiled, tmp_path, change
):
    path = save(tmp_path, api, "/v1/index/products", Role.REVIEWER, name=NAME, model=MODEL)
    answer = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(change(answer)), encoding="utf-8")
    result = _run("audit", "check-product", NAME, MODEL, "--answer", str(path), *trust(api))
    assert result.exit_code == 25, result.output
    assert result.stderr.startswith("FAILED: map proof")
