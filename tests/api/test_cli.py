"""The `ppl` command line against a real store (both backends)."""

from __future__ import annotations

import base64
import json
from uuid import UUID

import pytest
from typer.testing import CliRunner

from api.bootstrap import open_transparency_log
from api.cli import app
from audit.offline.errors import EventTamperedError
from audit.offline.rfc6962 import verify_consistency, verify_inclusion
from tests.audit.test_verifier import _resigned_by_a_stranger
from tests.domain.factories import (
    REVIEWER,
    approved_filer,
    before_filing_numbers,
    file,
    uscc,
    v1_only,
)
from tests.domain.test_tamper import _filer_with_a_changed_byte

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


def test_verify_checks_the_index_at_the_latest_note_only_when_asked(ledger, cli_env, tmp_path):
    code = uscc(372)
    filer_id = approved_filer(ledger, code)
    _run("log", "sequence")
    file(ledger, code, filer_id)
    _run("log", "sequence")
    bundle = tmp_path / "audit.bundle"
    _run("audit", "export", "--out", str(bundle))
    header = json.loads(bundle.read_text().splitlines()[0])
    assert len(header["index_notes"]) == 2
    latest = _run("audit", "verify", str(bundle), "--index-checkpoints", "latest")
    assert latest.exit_code == 0, latest.stderr
    assert "index notes of 1 earlier checkpoints" in latest.stderr
    every = _run("audit", "verify", str(bundle))
    assert every.exit_code == 0
    assert "not re-checked" not in every.stderr
    wrong = _run("audit", "verify", str(bundle), "--index-checkpoints", "some")
    assert wrong.exit_code == 2
    assert "some" in wrong.stderr


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
    assert before["log"]["unlogged"] == 3
    _run("log", "sequence")
    after = json.loads(_run("status").stdout)
    assert after["log"] == {
        **before["log"], "integrated": 3, "latest_checkpoint": 3, "unlogged": 0,
    }  # fmt: skip
    approved_filer(ledger, uscc(374))
    assert json.loads(_run("status").stdout)["log"]["unlogged"] == 3


def test_status_counts_stored_events_apart_from_the_highest_notification_id(
    ledger, cli_env, backend
):
    """On PostgreSQL an aborted insert spends notification ids: ``events`` still counts the
    events stored, and ``max_notification_id`` says what the highest id is."""
    approved_filer(ledger, uscc(375))
    if backend == "postgres":  # spend two ids, as two aborted transactions would
        recorder = ledger.recorder
        table = f"{recorder.datastore.schema}.{recorder.events_table_name}"
        with recorder.datastore.transaction(commit=True) as cursor:
            for _ in range(2):
                cursor.execute(  # table: from the recorder, not from input
                    f"SELECT nextval(pg_get_serial_sequence('{table}', 'notification_id'))"
                )
        approved_filer(ledger, uscc(376))
    stored = len(ledger.recorder.select_notifications(start=1, limit=1_000))
    shown = json.loads(_run("status").stdout)
    assert shown["events"] == stored == (3 if backend == "sqlite" else 6)
    assert shown["max_notification_id"] == (3 if backend == "sqlite" else 8)


# --- every stored event accounted for: the events after the latest checkpoint -------------------


def test_verify_database_names_a_forged_event_stored_after_the_latest_checkpoint(
    ledger, cli_env, settings
):
    approved_filer(ledger, uscc(380))
    assert _run("log", "sequence").exit_code == 0
    forged = _filer_with_a_changed_byte(settings, 381, -1)  # its v2, after the checkpoint
    result = _run("audit", "verify", "--database", settings.database_url)
    assert result.exit_code == 16, result.stdout + result.stderr
    assert f"FAILED: event {forged} v2, stored after the latest checkpoint" in result.stderr
    assert "OK" not in result.stdout
    with pytest.raises(EventTamperedError):  # the sequencer refuses it too: the two agree
        _run("log", "sequence")


def test_verify_database_counts_the_events_after_the_latest_checkpoint(ledger, cli_env, settings):
    approved_filer(ledger, uscc(382))
    _run("log", "sequence")
    later = approved_filer(ledger, uscc(383))
    live = _run("audit", "verify", "--database", settings.database_url)
    assert live.exit_code == 0, live.stderr
    assert live.stdout.startswith("OK: 3 events of 1 aggregates verified")
    assert "3 events after the latest checkpoint, verified by signature only" in live.stdout
    strict = _run("audit", "verify", "--database", settings.database_url, "--require-logged")
    assert strict.exit_code == 23
    assert "3 stored events are not covered by a signed checkpoint" in strict.stderr
    assert f"event {later} v1" in strict.stderr
    # in the log but under no checkpoint yet: still after the latest checkpoint
    log = open_transparency_log(ledger, settings)
    try:
        assert log.sequencer.catch_up() == 3
    finally:
        log.store.close()
    assert json.loads(_run("status").stdout)["log"]["unlogged"] == 0
    assert _run(
        "audit", "verify", "--database", settings.database_url, "--require-logged"
    ).exit_code == 23  # fmt: skip
    _run("log", "sequence")
    logged = _run("audit", "verify", "--database", settings.database_url, "--require-logged")
    assert logged.exit_code == 0, logged.stderr
    assert "0 events after the latest checkpoint" in logged.stdout


def test_require_logged_needs_a_live_store(ledger, cli_env, tmp_path):
    result = _run("audit", "verify", str(tmp_path / "a.bundle"), "--require-logged")
    assert result.exit_code == 2
    assert "--require-logged needs --database" in result.stderr


# --- duplicates: judged only on a bundle that verifies, with pinned keys ------------------------


def test_duplicates_verifies_the_bundle_with_the_pinned_keys_first(
    ledger, cli_env, settings, tmp_path
):
    approved_filer(ledger, uscc(384))
    _run("log", "sequence")
    bundle = tmp_path / "audit.bundle"
    _run("audit", "export", "--out", str(bundle))
    lines = bundle.read_text().splitlines()
    keys = ("--keys", str(settings.public_keys_file))
    pins = (*keys, "--log-key", json.loads(lines[0])["log_key"])
    genuine = _run("audit", "duplicates", str(bundle), *pins)
    assert genuine.exit_code == 0, genuine.stderr
    assert genuine.stdout.strip() == "no product was filed twice"
    assert "WARNING" not in genuine.stderr

    resigned = tmp_path / "resigned.bundle"
    resigned.write_text("\n".join(_resigned_by_a_stranger(lines)) + "\n")
    fallback = _run("audit", "duplicates", str(resigned))
    assert fallback.exit_code == 0  # it agrees with itself: only pinned keys tell
    assert (
        "WARNING: no pinned event keys (--keys) or log key (--log-key): falling back to the "
        "bundle's own keys"
    ) in fallback.stderr
    refused = _run("audit", "duplicates", str(resigned), *pins)
    assert refused.exit_code == 20, refused.stderr  # checkpoints signed by the stranger's log key
    assert "FAILED" in refused.stderr
    events_only = _run("audit", "duplicates", str(resigned), *keys)
    assert events_only.exit_code == 11  # events signed by the stranger's key
    assert "WARNING: no pinned log key (--log-key)" in events_only.stderr

    deleted = tmp_path / "deleted.bundle"
    deleted.write_text("\n".join(lines[:2] + lines[3:]) + "\n")
    assert _run("audit", "duplicates", str(deleted), *pins).exit_code == 14
    assert _run("audit", "duplicates", str(deleted)).exit_code == 14  # verified even unpinned


# --- key rule v2: the migration and what the auditor says of it ----------------------------------


def _legacy_bypass(ledger) -> tuple[UUID, UUID]:
    """Two filings of one product that v1 let through (filed before v2), by two filers."""
    first, second = uscc(390), uscc(391)
    first_id, second_id = approved_filer(ledger, first), approved_filer(ledger, second)
    with v1_only():
        latin = file(ledger, first, first_id, name="精密行星减速器", model="PX-4408")
        cyrillic = file(ledger, second, second_id, name="精密行星减速器", model="РХ-4408")
    return latin, cyrillic


def test_migrate_keys_lists_the_groups_and_reruns_as_a_no_op(ledger, cli_env):
    latin, cyrillic = _legacy_bypass(ledger)

    first = _run("registry", "migrate-keys", "--format", "csv")
    assert first.exit_code == 0, first.stderr
    assert "2 filings, 1 keys reserved now, 0 reserved before, 1 group(s)" in first.stderr
    rows = first.stdout.splitlines()
    assert rows[0] == "group,canonical_key,product_id,filer_uscc,status,holds_key,name,model"
    assert [[*row.split(",")[2:4], row.split(",")[5]] for row in rows[1:]] == [
        [str(latin), uscc(390), "1"], [str(cyrillic), uscc(391), "0"],
    ]  # fmt: skip
    again = _run("registry", "migrate-keys")
    assert "0 keys reserved now, 1 reserved before, 1 group(s)" in again.stderr
    groups = _run("registry", "key-groups", "--format", "json")
    assert [f["product_id"] for f in json.loads(groups.stdout)] == [str(latin), str(cyrillic)]
    assert _run("registry", "key-groups", "--key-rule", "1").stderr.startswith("0 group(s)")


def test_duplicates_lists_groups_made_before_v2_and_fails_on_a_v2_duplicate(
    ledger, cli_env, tmp_path
):
    _legacy_bypass(ledger)
    assert _run("registry", "migrate-keys").exit_code == 0
    _run("log", "sequence")
    bundle = tmp_path / "groups.bundle"
    _run("audit", "export", "--out", str(bundle))
    listed = _run("audit", "duplicates", str(bundle), "--workers", "1")
    assert listed.exit_code == 0, listed.stdout + listed.stderr
    assert "same product under key rule v2, filed before it" in listed.stdout
    assert listed.stdout.splitlines()[-1] == "no product was filed twice"


def test_duplicates_fails_on_a_v2_duplicate_of_a_filing_never_migrated(ledger, cli_env, tmp_path):
    code, other = uscc(393), uscc(394)
    filer_id, other_id = approved_filer(ledger, code), approved_filer(ledger, other)
    with v1_only():
        old = file(ledger, code, filer_id, name="精密行星减速器", model="PX-4408")
    # Upgraded without `ppl registry migrate-keys`: the old filing holds no v2 key, so the
    # store lets another spelling through. The auditor judges it by v2, in force by then.
    again = file(ledger, other, other_id, name="精密行星减速器", model="РХ-4408")
    _run("log", "sequence")
    bundle = tmp_path / "unmigrated.bundle"
    _run("audit", "export", "--out", str(bundle))

    found = _run("audit", "duplicates", str(bundle), "--workers", "1")

    assert found.exit_code == 1, found.stdout + found.stderr
    lines = found.stdout.splitlines()
    assert lines[0].startswith("duplicate product key")
    assert lines[0].endswith("(key rule v2):")
    assert [line.split()[3] for line in lines[1:3]] == [str(old), str(again)]


# --- filing numbers: the migration of approvals made before filing number rule v1 -----------------


def test_migrate_filing_numbers_numbers_older_approvals_and_reruns_as_a_no_op(ledger, cli_env):
    code = uscc(392)
    filer_id = approved_filer(ledger, code)
    older = file(ledger, code, filer_id, name="旧产品", model="OLD-1")
    with before_filing_numbers():
        ledger.approve_product(REVIEWER, older)
    assert ledger.get_product(older).filing_number is None

    first = _run("registry", "migrate-filing-numbers", "--format", "csv")
    assert first.exit_code == 0, first.stderr
    assert "1 filings numbered now, 0 numbered before" in first.stderr
    number = ledger.get_product(older).filing_number
    assert first.stdout.splitlines() == ["product_id,filing_number", f"{older},{number}"]
    again = _run("registry", "migrate-filing-numbers")
    assert "0 filings numbered now, 1 numbered before" in again.stderr
