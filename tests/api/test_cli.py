"""The `ppl` command line against a real store (both backends)."""

from __future__ import annotations

import base64
import json

import pytest
from typer.testing import CliRunner

from api.cli import app
from audit.rfc6962 import verify_consistency, verify_inclusion
from tests.domain.factories import approved_filer, uscc

runner = CliRunner()


def _run(*arguments):
    return runner.invoke(app, list(arguments), catch_exceptions=False)


def _b64(text):
    return base64.b64decode(text)


def test_sequence_then_prove_inclusion_and_consistency(ledger, cli_env):
    filer_id = approved_filer(ledger, uscc(360))
    first = _run("log", "sequence")
    assert first.exit_code == 0
    assert first.stdout.splitlines()[1] == "3"
    approved_filer(ledger, uscc(361))
    assert _run("log", "sequence").exit_code == 0

    included = json.loads(_run("audit", "prove", "--leaf", "1", "--size", "5").stdout)
    assert set(included) == {"leafIdx", "treeSize", "root", "leafHash", "proof"}
    verify_inclusion(
        included["leafIdx"],
        included["treeSize"],
        _b64(included["leafHash"]),
        [_b64(h) for h in included["proof"]],
        _b64(included["root"]),
    )
    by_event = json.loads(_run("audit", "prove", "--event", f"{filer_id}:2").stdout)
    assert by_event["leafIdx"] == 1
    assert by_event["treeSize"] == 6

    consistent = json.loads(_run("audit", "prove", "--from", "3", "--to", "6").stdout)
    assert set(consistent) == {"size1", "size2", "root1", "root2", "proof"}
    verify_consistency(
        3, 6, [_b64(h) for h in consistent["proof"]], _b64(consistent["root1"]),
        _b64(consistent["root2"]),
    )  # fmt: skip
    listed = _run("log", "checkpoints").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["3", "6"]
    assert _run("log", "checkpoint", "--size", "3").stdout == first.stdout


@pytest.mark.parametrize(
    "arguments",
    [
        ("audit", "prove"),
        ("audit", "prove", "--leaf", "1", "--from", "1", "--to", "2"),
        ("audit", "prove", "--from", "1"),
        ("audit", "prove", "--leaf", "50"),
        ("audit", "prove", "--event", "not-a-uuid:1"),
        ("audit", "prove", "--from", "3", "--to", "2"),
        ("log", "checkpoint", "--size", "2"),
    ],
)
def test_bad_proof_requests_exit_2_with_a_message(ledger, cli_env, arguments):
    approved_filer(ledger, uscc(362))
    _run("log", "sequence")
    result = _run(*arguments)
    assert result.exit_code == 2
    assert "error:" in result.stderr


def test_export_then_verify_offline_and_against_the_live_store(ledger, cli_env, settings, tmp_path):
    approved_filer(ledger, uscc(370))
    assert _run("log", "sequence").exit_code == 0
    bundle = tmp_path / "audit.bundle"
    assert _run("audit", "export", "--out", str(bundle)).exit_code == 0
    verified = _run("audit", "verify", str(bundle), "--workers", "1")
    assert verified.exit_code == 0, verified.stderr
    assert verified.stdout.startswith("OK: 3 events of 1 aggregates verified")
    assert "taken from the bundle itself" in verified.stderr
    pinned = _run(
        "audit", "verify", str(bundle), "--keys", str(settings.public_keys_file),
        "--log-key", json.loads(bundle.read_text().splitlines()[0])["log_key"],
    )  # fmt: skip
    assert pinned.exit_code == 0
    assert "taken from the bundle" not in pinned.stderr
    live = _run("audit", "verify", "--database", settings.database_url)
    assert live.exit_code == 0, live.stderr
    assert _run("audit", "duplicates", str(bundle)).stdout.strip() == "no product was filed twice"


def test_verify_exits_with_the_failure_kind(ledger, cli_env, tmp_path):
    approved_filer(ledger, uscc(371))
    _run("log", "sequence")
    bundle = tmp_path / "audit.bundle"
    _run("audit", "export", "--out", str(bundle))
    lines = bundle.read_text().splitlines()
    bundle.write_text("\n".join(lines[:2] + lines[3:]) + "\n")
    result = _run("audit", "verify", str(bundle))
    assert result.exit_code == 14
    assert "FAILED: leaf index 2: want 1" in result.stderr
    missing = _run("audit", "verify", str(tmp_path / "absent.bundle"))
    assert missing.exit_code == 2


def test_export_needs_a_checkpoint(ledger, cli_env, tmp_path):
    result = _run("audit", "export", "--out", str(tmp_path / "x.bundle"))
    assert result.exit_code == 2
    assert "no checkpoint" in result.stderr


def test_evidence_round_trip_through_the_command_line(ledger, cli_env, settings, tmp_path):
    filer_id = approved_filer(ledger, uscc(372))
    _run("log", "sequence")
    proof = tmp_path / "event.tlog-proof"
    assert _run("audit", "evidence", "--event", f"{filer_id}:3", "--out", str(proof)).exit_code == 0
    log_key = _run("log", "checkpoint").stdout  # the log key comes from the bundle header below
    bundle = tmp_path / "a.bundle"
    _run("audit", "export", "--out", str(bundle))
    header = json.loads(bundle.read_text().splitlines()[0])
    checked = _run(
        "audit", "check-evidence", str(proof), "--log-key", header["log_key"],
        "--origin", header["origin"], "--keys", str(settings.public_keys_file),
    )  # fmt: skip
    assert checked.exit_code == 0, checked.stderr
    shown = json.loads(checked.stdout)
    assert (shown["originator_id"], shown["originator_version"]) == (str(filer_id), 3)
    assert shown["topic"].endswith("FilerApproved")
    assert log_key.splitlines()[1] == str(shown["tree_size"])
    proof.write_text(proof.read_text().replace("index 2\n", "index 1\n"))
    refused = _run(
        "audit", "check-evidence", str(proof), "--log-key", header["log_key"],
        "--origin", header["origin"], "--keys", str(settings.public_keys_file),
    )  # fmt: skip
    assert refused.exit_code == 22
    assert _run("audit", "evidence", "--event", "nope").exit_code == 2


def test_status_reports_store_events_and_log(ledger, cli_env):
    approved_filer(ledger, uscc(373))
    before = json.loads(_run("status").stdout)
    assert before["events"] == 3
    assert before["log"]["integrated"] == 0
    assert before["log"]["latest_checkpoint"] is None
    _run("log", "sequence")
    after = json.loads(_run("status").stdout)
    assert after["log"] == {**before["log"], "integrated": 3, "latest_checkpoint": 3}
