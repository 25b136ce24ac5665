"""The public-key manifest that makes old events verifiable forever.

Trust does not come from the database: the private key is a PEM file named by a setting, and
every public key that ever signed an event is listed in a JSON manifest (``public-keys.json``)
kept beside the data, published by the API and copied into audit bundles. Rotation adds a key
and marks the previous one retired; retired keys stay trusted for reading what they signed.

Manifest format (docs/event-signatures.md)::

    {"keys": [{"algorithm": "ed25519", "key_id": "<16 hex>", "public_key": "<base64 raw 32 B>",
               "added_at": "<UTC timestamp>", "retired_at": null | "<UTC timestamp>"}]}

Standard library and ``cryptography`` only. The private keys (loading, creating, rotating)
are the server's: audit.signing.key_files.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.offline.canonical import format_timestamp
from audit.offline.errors import KeyConfigurationError
from audit.offline.event_signature import key_id_of, raw_public_key

MANIFEST_FILENAME = "public-keys.json"


@dataclass(frozen=True, slots=True)
class PublicKeyRecord:
    """One trusted public key and the period in which it may sign."""

    key_id: str
    public_key: Ed25519PublicKey
    added_at: str
    retired_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "algorithm": "ed25519",
            "key_id": self.key_id,
            "public_key": base64.b64encode(raw_public_key(self.public_key)).decode("ascii"),
            "added_at": self.added_at,
            "retired_at": self.retired_at,
        }

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> PublicKeyRecord:
        """Parse one manifest entry, checking that the key id matches the key.

        Raises:
            KeyConfigurationError: on an unknown algorithm, bad base64, a key of the wrong
                length, or a key id that is not derived from the key.
        """
        if item.get("algorithm") != "ed25519":
            raise KeyConfigurationError(f"key algorithm {item.get('algorithm')!r}: want 'ed25519'")
        try:
            raw = base64.b64decode(str(item["public_key"]), validate=True)
            public_key = Ed25519PublicKey.from_public_bytes(raw)
            record = cls(
                key_id=str(item["key_id"]),
                public_key=public_key,
                added_at=str(item["added_at"]),
                retired_at=None if item.get("retired_at") is None else str(item["retired_at"]),
            )
        except (KeyError, ValueError, binascii.Error) as exc:
            raise KeyConfigurationError(f"malformed public key entry {item!r}: {exc}") from exc
        if key_id_of(public_key) != record.key_id:
            raise KeyConfigurationError(
                f"key id {record.key_id}: got a key whose id is {key_id_of(public_key)}"
            )
        return record


@dataclass(frozen=True, slots=True)
class KeyManifest:
    """The set of trusted public keys, by key id."""

    records: tuple[PublicKeyRecord, ...] = ()

    @property
    def trusted_keys(self) -> dict[str, Ed25519PublicKey]:
        return {record.key_id: record.public_key for record in self.records}

    def get(self, key_id: str) -> PublicKeyRecord | None:
        return next((r for r in self.records if r.key_id == key_id), None)

    def with_key(self, public_key: Ed25519PublicKey, added_at: datetime) -> KeyManifest:
        """Add a key (no-op if present)."""
        if self.get(key_id_of(public_key)) is not None:
            return self
        record = PublicKeyRecord(key_id_of(public_key), public_key, format_timestamp(added_at))
        return KeyManifest((*self.records, record))

    def retiring_all_but(self, key_id: str, retired_at: datetime) -> KeyManifest:
        """Mark every active key except ``key_id`` retired at ``retired_at``."""
        when = format_timestamp(retired_at)
        return KeyManifest(
            tuple(
                r if r.key_id == key_id or r.retired_at else replace(r, retired_at=when)
                for r in self.records
            )
        )

    def to_json(self) -> dict[str, Any]:
        return {"keys": [record.to_json() for record in self.records]}

    @classmethod
    def from_json(cls, document: Any) -> KeyManifest:
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise KeyConfigurationError('key manifest: want an object {"keys": [...]}')
        return cls(tuple(PublicKeyRecord.from_json(item) for item in document["keys"]))

    @classmethod
    def load(cls, path: Path) -> KeyManifest:
        """Read a manifest; a missing file is an empty manifest."""
        if not path.exists():
            return cls()
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyConfigurationError(f"cannot read key manifest {path}: {exc}") from exc
        return cls.from_json(document)

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename) so a crash never leaves half a manifest.

        The temporary file is this writer's own: processes started together on a fresh data
        directory each register the same development key, and must not rename each other's
        half-written file.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        temporary = Path(name)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
            temporary.chmod(0o644)  # public keys: readable, as a plain write would leave them
            temporary.replace(path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
