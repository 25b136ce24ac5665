"""Files holding ledger data are the owner's alone, and no message shows a database password
(issue #15, part 6)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.bootstrap import export_audit_bundle, open_ledger, open_transparency_log
from api.cli import app as cli_app
from api.settings import Settings, SettingsError
from tests.domain.factories import approved_filer, uscc


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_store_its_journal_and_a_bundle_are_0600_in_a_0700_folder(tmp_path):
    data_dir = tmp_path / "fresh" / "ledger-data"
    settings = Settings.from_environment({"PPL_DATA_DIR": str(data_dir)})
    ledger = open_ledger(settings)
    try:
        approved_filer(ledger, uscc(1))
        log = open_transparency_log(ledger, settings)
        log.sequence()
        bundle = tmp_path / "exports" / "bundle.jsonl"
        export_audit_bundle(ledger, log, settings, bundle)
        store = data_dir / "ledger.sqlite3"
        files = [store, Path(f"{store}-wal"), Path(f"{store}-shm"), bundle]
        assert {str(f): oct(mode(f)) for f in files if f.exists()} == {
            str(f): "0o600" for f in files if f.exists()
        }
        assert Path(f"{store}-wal").exists()
        assert (oct(mode(data_dir)), oct(mode(data_dir.parent))) == ("0o700", "0o700")
        assert oct(mode(bundle.parent)) == "0o700"
        log.store.close()
    finally:
        ledger.close()


@pytest.mark.parametrize(
    "url",
    ["postgresql://ppl:s3cr3t-pw@db.example/", "sqlite://ppl:s3cr3t-pw@host/relative"],
)
def test_a_settings_error_never_shows_the_database_password(url, tmp_path):
    with pytest.raises(SettingsError) as refused:
        Settings.from_environment({"PPL_DATA_DIR": str(tmp_path), "PPL_DATABASE_URL": url})
    assert "s3cr3t-pw" not in str(refused.value)
    assert "***" in str(refused.value)


def test_the_cli_never_prints_the_database_password(tmp_path):
    """A store that refuses the connection: the error names the server, not the password."""
    env = {
        "PPL_DATA_DIR": str(tmp_path),
        "PPL_DATABASE_URL": "postgresql://ppl:s3cr3t-pw@127.0.0.1:9/ledger",  # port 9: closed
    }
    result = CliRunner().invoke(cli_app, ["status"], env=env)
    assert result.exit_code != 0
    assert "s3cr3t-pw" not in result.output
