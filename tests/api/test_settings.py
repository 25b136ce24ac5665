"""PPL_DATABASE_URL alone selects the store."""

from __future__ import annotations

import pytest

from api.settings import Settings, SettingsError


def test_default_store_is_an_sqlite_file_in_the_data_directory(tmp_path):
    settings = Settings.from_environment({"PPL_DATA_DIR": str(tmp_path)})
    env = settings.eventsourcing_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == str(tmp_path / "ledger.sqlite3")


def test_postgres_url_is_translated(tmp_path):
    settings = Settings.from_environment(
        {
            "PPL_DATA_DIR": str(tmp_path),
            "PPL_DATABASE_URL": "postgresql://ledger:s%40cret@db.internal:6543/ppl?schema=s1",
        }
    )
    env = settings.eventsourcing_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.internal",
        "6543",
        "ppl",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("ledger", "s@cret")
    assert env["POSTGRES_SCHEMA"] == "s1"
    assert "POSTGRES_ENABLE_DB_FUNCTIONS" not in env


@pytest.mark.parametrize("url", ["mysql://x/y", "postgresql://host", "sqlite://", "sqlite:///"])
def test_unusable_database_url_is_refused(tmp_path, url):
    with pytest.raises(SettingsError):
        Settings.from_environment({"PPL_DATA_DIR": str(tmp_path), "PPL_DATABASE_URL": url})


def test_production_refuses_the_development_key(tmp_path):
    with pytest.raises(SettingsError, match="PPL_SIGNING_KEY_FILE"):
        Settings.from_environment({"PPL_DATA_DIR": str(tmp_path), "PPL_ENV": "production"})
    with pytest.raises(SettingsError):
        Settings.from_environment({"PPL_DATA_DIR": str(tmp_path), "PPL_ENV": "staging"})


def test_the_api_body_limit_is_a_setting_with_bounds(tmp_path):
    default = Settings.from_environment({"PPL_DATA_DIR": str(tmp_path)})
    assert default.max_body_bytes == 65_536
    larger = Settings.from_environment(
        {"PPL_DATA_DIR": str(tmp_path), "PPL_API_MAX_BODY": "1048576"}
    )
    assert larger.max_body_bytes == 1_048_576
    for bad in ("12", "lots", "-5", str(64 * 1024 * 1024)):
        with pytest.raises(SettingsError, match="PPL_API_MAX_BODY"):
            Settings.from_environment({"PPL_DATA_DIR": str(tmp_path), "PPL_API_MAX_BODY": bad})


@pytest.mark.parametrize(
    "url", ["ftp://ppl.example.cn", "ppl.example.cn", "https://ppl.example.cn/?a=1",
            "https://ppl.example.cn/#x", "https://ppl.example.cn/ a", "https://公示.cn"],
)  # fmt: skip
def test_the_public_url_printed_on_certificates_must_be_a_site_address(tmp_path, url):
    with pytest.raises(SettingsError, match="PPL_PUBLIC_URL"):
        Settings.from_environment({"PPL_DATA_DIR": str(tmp_path), "PPL_PUBLIC_URL": url})


def test_the_public_url_is_kept_without_its_trailing_slash(tmp_path):
    env = {"PPL_DATA_DIR": str(tmp_path), "PPL_PUBLIC_URL": "https://ppl.example.cn/registry/"}
    assert Settings.from_environment(env).public_url == "https://ppl.example.cn/registry"
    assert Settings.from_environment({"PPL_DATA_DIR": str(tmp_path)}).public_url is None
