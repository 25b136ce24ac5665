"""The server's signing keys: loading, creating (once, mode 0600), the key ring, rotation.

Why apart from audit.offline.keys: an auditor verifies with public keys only; nothing it runs
should be able to create or read a private key. Standard library and ``cryptography``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from audit.offline.errors import KeyConfigurationError
from audit.offline.event_signature import EventSigner, key_id_of
from audit.offline.keys import KeyManifest

DEV_KEY_FILENAME = "dev-signing-key.pem"


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Load an unencrypted PKCS#8 PEM Ed25519 key that only its owner can read.

    Raises:
        KeyConfigurationError: if the file is missing, readable by group or others, not PEM,
            or not an Ed25519 key.
    """
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KeyConfigurationError(f"cannot read signing key file {path}: {exc}") from exc
    if mode & 0o077:
        raise KeyConfigurationError(
            f"signing key file {path} has mode {mode & 0o777:o}: want 600 (owner only)"
        )
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyConfigurationError(f"signing key file {path} is not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyConfigurationError(f"signing key file {path}: want an Ed25519 key")
    return key


def create_private_key_file(path: Path) -> Ed25519PrivateKey:
    """Generate an Ed25519 key and write it with mode 0600; never overwrites a file.

    The key is written whole to a private temporary file and published under ``path`` with a
    hard link, so no reader ever sees half a key file, and of two processes creating the same
    file one wins and the other gets FileExistsError.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:  # mkstemp: mode 0600 already
            handle.write(pem)
        path.hardlink_to(temporary)
    finally:
        temporary.unlink()
    return key


def load_or_create_private_key(path: Path) -> Ed25519PrivateKey:
    """The development key at ``path``, created on first use — once, however many race for it.

    Why: ``ppl serve`` and its ``ppl`` followers started together on a fresh data directory
    all find no key; without this, all but one failed on the file the first one created.
    """
    if path.exists():
        return load_private_key(path)
    try:
        return create_private_key_file(path)
    except FileExistsError:  # another process published its key first: everyone uses that one
        return load_private_key(path)


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The current signer and every trusted public key."""

    signer: EventSigner
    manifest: KeyManifest
    # Built once: every event read looks its key up here.
    trusted_keys: Mapping[str, Ed25519PublicKey] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "trusted_keys", MappingProxyType(self.manifest.trusted_keys))


def open_keyring(
    *, signing_key_file: Path | None, key_dir: Path, manifest_file: Path, now: datetime
) -> KeyRing:
    """Load (or, in development, create) the signing key and register it in the manifest.

    With ``signing_key_file`` unset a development key is created in ``key_dir`` on first run.
    The signer's public key is added to the manifest if new, so the manifest accumulates every
    key that ever signed.

    Raises:
        KeyConfigurationError: if the key cannot be loaded or has been retired.
    """
    if signing_key_file is None:
        dev_key = key_dir / DEV_KEY_FILENAME
        private_key = load_or_create_private_key(dev_key)
    else:
        private_key = load_private_key(signing_key_file)
    signer = EventSigner(private_key)
    manifest = KeyManifest.load(manifest_file)
    record = manifest.get(signer.key_id)
    if record is not None and record.retired_at is not None:
        raise KeyConfigurationError(
            f"signing key {signer.key_id} was retired at {record.retired_at}: "
            "configure the current key (see `ppl keys list`)"
        )
    updated = manifest.with_key(private_key.public_key(), now)
    if updated is not manifest:
        updated.save(manifest_file)
    return KeyRing(signer, updated)


def rotate_signing_key(*, new_key_file: Path, manifest_file: Path, now: datetime) -> str:
    """Create a new signing key, trust it, retire the others; returns the new key id.

    Old events remain verifiable because retired keys stay in the manifest.
    """
    key = create_private_key_file(new_key_file)
    manifest = KeyManifest.load(manifest_file).with_key(key.public_key(), now)
    new_id = key_id_of(key.public_key())
    manifest.retiring_all_but(new_id, now).save(manifest_file)
    return new_id
