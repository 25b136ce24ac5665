"""A witness for the web tests, written from c2sp.org/tlog-cosignature (never the log's code).

Ed25519 cosignatures (vkey type 0x04, ``cosignature/v1``) over a checkpoint's text, and the
vkey of an ML-DSA-44 witness (type 0x06), which the browser cannot check. A witness policy file
(C2SP tlog-policy) names them for ``PPL_WITNESS_POLICY``.
"""

from __future__ import annotations

import base64
import hashlib
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.mldsa import MLDSA44PrivateKey

ED25519, MLDSA44 = 0x04, 0x06


def now() -> int:
    return int(time.time())


class Cosigner:
    """A witness: its name, key, key id SHA-256(name || 0x0A || type || key)[:4] and vkey."""

    def __init__(self, name: str, *, mldsa: bool = False) -> None:
        self.name = name
        self.type = MLDSA44 if mldsa else ED25519
        self._ed25519 = None if mldsa else Ed25519PrivateKey.generate()
        public = (
            MLDSA44PrivateKey.generate().public_key().public_bytes_raw()
            if self._ed25519 is None
            else self._ed25519.public_key().public_bytes_raw()
        )
        digest = hashlib.sha256(name.encode() + b"\n" + bytes([self.type]) + public).digest()
        self.key_id = digest[:4]
        encoded = base64.b64encode(bytes([self.type]) + public).decode()
        self.vkey = f"{name}+{self.key_id.hex()}+{encoded}"

    def line(self, signed_note: str, timestamp: int | None = None) -> str:
        """``— <name> base64(key id || u64 T || Ed25519(cosignature/v1 message))``, the
        message being ``"cosignature/v1\\ntime <T>\\n"`` and the note's text (up to and with
        the newline before the empty line)."""
        if self._ed25519 is None:
            raise ValueError("the tests make Ed25519 cosignatures only")
        stamp = now() if timestamp is None else timestamp
        text = signed_note[: signed_note.index("\n\n") + 1]
        signature = self._ed25519.sign(f"cosignature/v1\ntime {stamp}\n{text}".encode())
        blob = self.key_id + stamp.to_bytes(8, "big") + signature
        return f"\u2014 {self.name} {base64.b64encode(blob).decode()}\n"


def policy_file(path: Path, *witnesses: Cosigner, threshold: int | str = "all") -> Path:
    """A tlog-policy file: each witness, one group of ``threshold`` of them, the quorum."""
    lines = [f"witness {w.name.replace('/', '-')} {w.vkey}" for w in witnesses]
    names = " ".join(w.name.replace("/", "-") for w in witnesses)
    lines += [f"group quorum {threshold} {names}", "quorum quorum"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
