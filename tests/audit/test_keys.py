"""Signing keys: 0600 development key, manifest accumulating every key, rotation."""

from __future__ import annotations

import json
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from audit.offline.errors import KeyConfigurationError
from audit.offline.keys import KeyManifest
from audit.signing.key_files import (
    DEV_KEY_FILENAME,
    create_private_key_file,
    load_or_create_private_key,
    load_private_key,
    open_keyring,
    rotate_signing_key,
)

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def _open(tmp_path, key_file=None):
    return open_keyring(
        signing_key_file=key_file,
        key_dir=tmp_path / "keys",
        manifest_file=tmp_path / "keys" / "public-keys.json",
        now=NOW,
    )


def test_development_key_is_created_once_with_owner_only_permissions(tmp_path):
    first = _open(tmp_path)
    key_file = tmp_path / "keys" / DEV_KEY_FILENAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert _open(tmp_path).signer.key_id == first.signer.key_id
    manifest = json.loads((tmp_path / "keys" / "public-keys.json").read_text())
    assert [k["key_id"] for k in manifest["keys"]] == [first.signer.key_id]
    assert manifest["keys"][0]["added_at"] == "2026-11-21T00:00:00.000000Z"
    assert "PRIVATE" not in json.dumps(manifest)


def test_key_file_readable_by_others_is_refused(tmp_path):
    key_file = tmp_path / "k.pem"
    create_private_key_file(key_file)
    key_file.chmod(0o644)
    with pytest.raises(KeyConfigurationError, match="want 600"):
        load_private_key(key_file)


@pytest.mark.parametrize("content", [b"not a key", b""])
def test_garbage_key_file_is_refused(tmp_path, content):
    key_file = tmp_path / "k.pem"
    key_file.write_bytes(content)
    key_file.chmod(0o600)
    with pytest.raises(KeyConfigurationError):
        load_private_key(key_file)


def test_missing_key_file_is_refused(tmp_path):
    with pytest.raises(KeyConfigurationError):
        _open(tmp_path, tmp_path / "absent.pem")


def test_rotation_retires_the_old_key_and_refuses_to_sign_with_it(tmp_path):
    old = _open(tmp_path)
    new_id = rotate_signing_key(
        new_key_file=tmp_path / "new.pem",
        manifest_file=tmp_path / "keys" / "public-keys.json",
        now=NOW,
    )
    manifest = KeyManifest.load(tmp_path / "keys" / "public-keys.json")
    assert set(manifest.trusted_keys) == {old.signer.key_id, new_id}
    with pytest.raises(KeyConfigurationError, match="retired"):
        _open(tmp_path)
    assert _open(tmp_path, tmp_path / "new.pem").signer.key_id == new_id


def test_manifest_entry_whose_id_does_not_match_its_key_is_refused(tmp_path):
    ring = _open(tmp_path)
    document = ring.manifest.to_json()
    document["keys"][0]["key_id"] = "00" * 8
    with pytest.raises(KeyConfigurationError, match="key id"):
        KeyManifest.from_json(document)


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"keys": [{"algorithm": "rsa"}]},
        {"keys": [{"algorithm": "ed25519", "public_key": "!!"}]},
    ],
)
def test_malformed_manifest_is_refused(document):
    with pytest.raises(KeyConfigurationError):
        KeyManifest.from_json(document)


# --- processes started together on a fresh data directory --------------------------------------
def test_a_key_created_by_many_at_once_is_one_key_written_whole(tmp_path):
    path = tmp_path / "keys" / "dev-log-key.pem"
    barrier = threading.Barrier(8)

    def create(_: int) -> bytes:
        barrier.wait()
        return load_or_create_private_key(path).public_key().public_bytes_raw()

    with ThreadPoolExecutor(8) as pool:
        public_keys = set(pool.map(create, range(8)))
    assert public_keys == {load_private_key(path).public_key().public_bytes_raw()}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    with pytest.raises(FileExistsError):  # creating never overwrites
        create_private_key_file(path)
    assert load_private_key(path).public_key().public_bytes_raw() in public_keys


def test_a_manifest_saved_by_many_at_once_is_whole(tmp_path):
    manifest_file = tmp_path / "keys" / "public-keys.json"
    barrier = threading.Barrier(8)

    def register(_: int) -> None:
        barrier.wait()
        _open(tmp_path)  # each registers the development key, saving the manifest

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(register, range(8)))
    keys = json.loads(manifest_file.read_text())["keys"]
    assert len(keys) == 1
    assert sorted(p.name for p in manifest_file.parent.iterdir()) == sorted(
        [DEV_KEY_FILENAME, manifest_file.name]
    )
    assert stat.S_IMODE(manifest_file.stat().st_mode) == 0o644
