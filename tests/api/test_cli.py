"""The `ppl` command line against a real store (both backends)."""

from __future__ import annotations

import base64
import json

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.settings import get_settings
from audit.rfc6962 import verify_consistency, verify_inclusion
from tests.domain.factories import approved_filer, uscc

runner = CliRunner()


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("PPL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PPL_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


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
