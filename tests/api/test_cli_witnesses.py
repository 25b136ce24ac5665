"""The command line with witnesses (both stores): `ppl log witness` and `ppl log witnesses`
against a witness process written from the spec, the cosigned checkpoint in bundles and
evidence, `ppl audit verify` / `check-evidence` requiring a quorum (exit 24), and the log's
verifier key in `ppl keys list` and `ppl status`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from api.cli import app
from api.settings import get_settings
from audit.offline.note import NoteSigner
from tests.domain.factories import approved_filer, uscc
from tests.witness_peer.peer import SpecWitness

runner = CliRunner()


def _run(*arguments: str):
    return runner.invoke(app, list(arguments), catch_exceptions=False)


def _log_key() -> str:
    vkey: str = json.loads(_run("keys", "list").stdout)["log"]["verifier_key"]
    return vkey


@pytest.fixture
def peer(ledger, cli_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A spec witness trusting this log, named in PPL_WITNESS_POLICY (quorum: it)."""
    approved_filer(ledger, uscc(901))
    assert _run("log", "sequence").exit_code == 0
    witness = SpecWitness(tmp_path / "witness", "witness.test/cli", [_log_key()]).start()
    policy = tmp_path / "policy"
    policy.write_text(f"{witness.policy_line()}\nquorum witness.test-cli\n")
    monkeypatch.setenv("PPL_WITNESS_POLICY", str(policy))
    get_settings.cache_clear()
    yield witness
    witness.stop()


def _verify_args(settings, *more: str) -> list[str]:
    return ["--keys", str(settings.public_keys_file), "--log-key", _log_key(), *more]


def test_keys_list_and_status_print_the_logs_verifier_key(ledger, cli_env):
    approved_filer(ledger, uscc(900))
    _run("log", "sequence")
    keys = json.loads(_run("keys", "list").stdout)
    vkey = keys["log"]["verifier_key"]
    assert vkey.startswith("ppl.local/patent-product-ledger+")
    assert keys["keys"][0]["algorithm"] == "ed25519"  # still the manifest: loads as --keys
    assert keys["witnesses"] == {"quorum": "none", "keys": []}
    status = json.loads(_run("status").stdout)
    assert status["log"]["verifier_key"] == vkey
    assert status["log"]["witness_quorum"] == "none"
    assert _run("log", "checkpoint").stdout.startswith("ppl.local/patent-product-ledger\n")


def test_unwitnessed_bundles_fail_a_verifier_requiring_witnesses(ledger, peer, settings, tmp_path):
    bundle = tmp_path / "a.bundle"
    assert _run("audit", "export", "--out", str(bundle)).exit_code == 0
    refused = _run("audit", "verify", str(bundle), *_verify_args(settings, "--witness", peer.vkey))
    assert refused.exit_code == 24
    assert "valid cosignatures by none" in refused.stderr
    plain = _run("audit", "verify", str(bundle), *_verify_args(settings))
    assert plain.exit_code == 0  # no policy given: the log's own signature is checked


def test_a_witnessed_bundle_and_evidence_pass_and_name_the_witness(
    ledger, peer, settings, tmp_path
):
    witnessed = _run("log", "witness")
    assert witnessed.exit_code == 0, witnessed.stdout
    assert witnessed.stdout.startswith("witness.test/cli+")
    assert " cosigned size " in witnessed.stdout
    note = _run("log", "checkpoint").stdout
    assert note.count("\u2014 ") == 2
    bundle = tmp_path / "a.bundle"
    _run("audit", "export", "--out", str(bundle))
    header = json.loads(bundle.read_text().splitlines()[0])
    assert header["checkpoints"][-1] == note
    verified = _run("audit", "verify", str(bundle), *_verify_args(settings, "--witness", peer.vkey))
    assert verified.exit_code == 0, verified.stderr
    assert "latest checkpoint cosigned by witness.test/cli+" in verified.stdout
    live = _run("audit", "verify", "--database", settings.database_url, "--witness", peer.vkey)
    assert live.exit_code == 0, live.stderr
    proof = tmp_path / "event.tlog-proof"
    first = json.loads(bundle.read_text().splitlines()[1])
    event = f"{first['originator_id']}:{first['originator_version']}"
    assert _run("audit", "evidence", "--event", event, "--out", str(proof)).exit_code == 0
    assert proof.read_text().endswith(note)  # the evidence carries the cosigned checkpoint
    check = [
        "audit", "check-evidence", str(proof), "--log-key", _log_key(),
        "--origin", header["origin"], "--keys", str(settings.public_keys_file),
    ]  # fmt: skip
    assert _run(*check, "--witness", peer.vkey).exit_code == 0
    stranger = SpecWitness(tmp_path / "stranger", "witness.test/other", [_log_key()]).start()
    stranger.stop()
    refused = _run(*check, "--witness", peer.vkey, "--witness", stranger.vkey)
    assert refused.exit_code == 24  # all of two by default; only one cosigned
    one_of_two = ["--witness", peer.vkey, "--witness", stranger.vkey, "--witness-threshold", "1"]
    assert _run(*check, *one_of_two).exit_code == 0


def test_a_witness_policy_file_and_bad_witness_options(ledger, peer, settings, tmp_path):
    _run("log", "witness")
    bundle = tmp_path / "a.bundle"
    _run("audit", "export", "--out", str(bundle))
    policy = tmp_path / "auditor.policy"
    policy.write_text(f"witness mine {peer.vkey}\nquorum mine\n")
    ok = _run(
        "audit", "verify", str(bundle), *_verify_args(settings, "--witness-policy", str(policy))
    )
    assert ok.exit_code == 0, ok.stderr
    for options, message in [
        (["--witness", "garbage"], "witness key"),
        (["--witness-threshold", "1"], "needs at least one --witness"),
        (["--witness", peer.vkey, "--witness-threshold", "2"], "want 1..1"),
        (["--witness-policy", str(policy), "--witness", peer.vkey], "not both"),
        (["--witness-policy", str(tmp_path / "absent")], "absent"),
    ]:
        result = _run("audit", "verify", str(bundle), *_verify_args(settings, *options))
        assert result.exit_code == 3, options
        assert message in result.stderr, (options, result.stderr)


def test_a_tampered_cosignature_fails_with_exit_24(ledger, peer, settings, tmp_path):
    _run("log", "witness")
    bundle = tmp_path / "a.bundle"
    _run("audit", "export", "--out", str(bundle))
    lines = bundle.read_text().splitlines()
    header = json.loads(lines[0])
    note = header["checkpoints"][-1]
    head, cosignature = note.rstrip("\n").rsplit("\n", 1)
    flipped = cosignature[:-6] + ("A" if cosignature[-6] != "A" else "B") + cosignature[-5:]
    header["checkpoints"][-1] = f"{head}\n{flipped}\n"
    bundle.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    result = _run("audit", "verify", str(bundle), *_verify_args(settings, "--witness", peer.vkey))
    assert result.exit_code == 24
    assert "cosignature by witness.test/cli+" in result.stderr


def test_log_witnesses_reports_each_witness_and_the_quorum(ledger, peer):
    before = _run("log", "witnesses")
    assert before.exit_code == 0
    assert before.stdout.startswith("witnessing pending: quorum witness.test/cli+")
    assert "cosigned 0  lag " in before.stdout
    _run("log", "witness")
    report = json.loads(_run("log", "witnesses", "--format", "json").stdout)
    assert report["status"] == "ok"
    (line,) = report["witnesses"]
    assert (line["lag"], line["failures"]) == (0, 0)
    assert line["cosigned_size"] == report["latest_checkpoint"] == report["witnessed_checkpoint"]
    peer.stop()
    approved_filer(ledger, uscc(902))
    _run("log", "sequence")
    failed = _run("log", "witness")
    assert failed.exit_code == 1
    assert "failed" in failed.stdout
    assert "unreachable" in failed.stdout
    table = _run("log", "witnesses").stdout
    assert "failures 1" in table
    assert "last error: unreachable" in table
    assert _run("log", "witnesses", "--format", "xml").exit_code == 2


def test_log_witness_without_witnesses_says_so(ledger, cli_env):
    result = _run("log", "witness")
    assert result.exit_code == 2
    assert "names no witness" in result.stderr


def test_a_policy_listing_logs_pins_the_log_key_or_refuses_another(
    ledger, peer, settings, tmp_path
):
    _run("log", "witness")
    bundle = tmp_path / "a.bundle"
    _run("audit", "export", "--out", str(bundle))
    keys = ["--keys", str(settings.public_keys_file)]
    listed = tmp_path / "listed.policy"
    listed.write_text(f"log {_log_key()}\nwitness w {peer.vkey}\nquorum w\n")
    pinned = _run("audit", "verify", str(bundle), *keys, "--witness-policy", str(listed))
    assert pinned.exit_code == 0, pinned.stderr
    assert "log key taken from the bundle" not in pinned.stderr  # the policy's log pins it
    other = NoteSigner(
        json.loads(_run("status").stdout)["log"]["origin"], Ed25519PrivateKey.generate()
    )
    stranger = tmp_path / "stranger.policy"
    stranger.write_text(f"log {other.verifier_key_string()}\nwitness w {peer.vkey}\nquorum w\n")
    refused = _run(
        "audit", "verify", str(bundle), *keys, "--log-key", _log_key(),
        "--witness-policy", str(stranger),
    )  # fmt: skip
    assert refused.exit_code == 3
    assert "not one of the witness policy's logs" in refused.stderr
    forged = _run("audit", "verify", str(bundle), *keys, "--witness-policy", str(stranger))
    assert forged.exit_code == 20  # the policy's log did not sign these checkpoints
