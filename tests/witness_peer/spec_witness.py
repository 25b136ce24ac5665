"""A standalone C2SP transparency-log witness, used as an independent test peer.

This module was written from the C2SP specification texts only (tlog-witness,
tlog-cosignature, tlog-checkpoint and signed-note), not from the project's own code, so
that the project's tests can exercise its witness client against an implementation that
shares none of its assumptions or bugs.

It serves:

* ``POST /add-checkpoint`` (c2sp.org/tlog-witness): checks the log's Ed25519 signature
  (signed-note signature type 0x01), the old size against the latest cosigned size, and
  the RFC 6962 consistency proof, then persists the checkpoint and answers with one
  timestamped Ed25519 cosignature (signature type 0x04, c2sp.org/tlog-cosignature);
* ``GET /<lowercase hex SHA-256 of the origin>/checkpoint`` (the monitor retrieval
  mechanism): the latest cosigned checkpoint, with the log signature(s) the witness
  verified and the witness's own cosignature.

Run it as::

    python -m tests.witness_peer.spec_witness --listen 127.0.0.1:0 --name witness.example/w1 \\
        --key-file /tmp/w1.key --log-vkey 'example.com/log+1a2b3c4d+AR...' \\
        --state /tmp/w1-state.json [--delay SECONDS] [--ready-file /tmp/w1.port]

On start it prints one line to stdout, the witness's cosignature verifier key
``<name>+<hex key id>+<base64(0x04 || public key)>`` (also written to
``<key-file>.vkey``), and once listening it writes the bound port to ``--ready-file``.
One line per request is logged to stderr. SIGTERM and SIGINT stop it cleanly.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import IO, Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAX_BODY_BYTES = 64 * 1024
"""Requests with a larger body are refused with 413 before it is read."""

MAX_PROOF_LINES = 63
"""tlog-witness: a client MUST NOT send more than 63 consistency proof lines."""

MAX_TREE_SIZE = 2**64 - 1
"""Tree sizes are uint64 values."""

HASH_SIZE = 32
EMPTY_TREE_ROOT = hashlib.sha256(b"").digest()
"""RFC 6962, Section 2.1: the hash of an empty list is the hash of the empty string."""

SIG_TYPE_ED25519 = 0x01
"""signed-note: Ed25519 note signatures (the log keys)."""

SIG_TYPE_COSIGNATURE_ED25519 = 0x04
"""signed-note / tlog-cosignature: timestamped Ed25519 checkpoint cosignatures."""

SIGNATURE_PREFIX = "\u2014 "
"""A note signature line starts with an em dash (U+2014) and a space."""

PLAIN_TEXT = "text/plain; charset=utf-8"
TLOG_SIZE = "text/x.tlog.size"

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}")
_ORIGIN_HASH = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class WitnessError(Exception):
    """A request the witness refuses, with the HTTP status and body to answer with."""

    def __init__(self, status: int, message: str, content_type: str = PLAIN_TEXT) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.content_type = content_type


class ConfigError(Exception):
    """A command-line value or file the witness cannot start with."""


# --------------------------------------------------------------------------- encodings


def b64decode_strict(text: str) -> bytes:
    """Decode standard base64 (RFC 4648, Section 4), refusing anything non-canonical."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise ValueError(f"not standard base64: {text!r}") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError(f"not canonical base64: {text!r}")
    return raw


def parse_decimal(text: str, what: str) -> int:
    """An ASCII decimal with no leading zeroes (``0`` for zero) that fits in a uint64."""
    if _DECIMAL.fullmatch(text) is None:
        raise WitnessError(400, f"{what} is not a decimal without leading zeroes: {text!r}")
    value = int(text)
    if value > MAX_TREE_SIZE:
        raise WitnessError(400, f"{what} does not fit in 64 bits")
    return value


def valid_key_name(name: str) -> bool:
    """signed-note: key names are non-empty, with no Unicode spaces and no plus sign."""
    return (
        bool(name)
        and "+" not in name
        and not any(ch.isspace() for ch in name)
        and _CONTROL.search(name) is None
    )


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    """signed-note: SHA-256(key name || 0x0A || signature type || public key)[:4]."""
    data = name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key
    return hashlib.sha256(data).digest()[:4]


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class LogKey:
    """A trusted log key: signed-note Ed25519 verifier key whose name is the log origin."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> LogKey:
        """Parse ``<name>+<hex key id>+<base64(0x01 || 32-byte public key)>``."""
        # Key names and hex IDs have no '+'; the base64 key material may.
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise ConfigError(f"log vkey must have three '+'-separated parts: {vkey!r}")
        name, hex_id, b64_key = parts
        if not valid_key_name(name):
            raise ConfigError(f"invalid key name in log vkey: {name!r}")
        if _HEX_KEY_ID.fullmatch(hex_id) is None:
            raise ConfigError(f"log vkey key id is not 8 lowercase hex digits: {hex_id!r}")
        try:
            material = b64decode_strict(b64_key)
        except ValueError as exc:
            raise ConfigError(f"log vkey key material: {exc}") from exc
        if len(material) != 1 + 32 or material[0] != SIG_TYPE_ED25519:
            raise ConfigError("log vkey is not an Ed25519 (type 0x01) key of 32 bytes")
        public = material[1:]
        expected = key_id(name, SIG_TYPE_ED25519, public)
        if expected.hex() != hex_id:
            raise ConfigError(
                f"log vkey key id {hex_id} does not match SHA-256(name || 0x0A || 0x01 || key)"
                f"[:4] = {expected.hex()}"
            )
        try:
            public_key = Ed25519PublicKey.from_public_bytes(public)
        except ValueError as exc:
            raise ConfigError(f"log vkey public key: {exc}") from exc
        return cls(name=name, key_id=expected, public_key=public_key)


def load_or_create_seed(path: Path) -> bytes:
    """Read the base64 32-byte Ed25519 seed, creating a fresh one (mode 0600) if absent."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        seed = os.urandom(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(seed).decode("ascii") + "\n")
        return seed
    try:
        seed = b64decode_strict(text)
    except ValueError as exc:
        raise ConfigError(f"key file {path}: {exc}") from exc
    if len(seed) != 32:
        raise ConfigError(f"key file {path}: the seed must be 32 bytes, not {len(seed)}")
    return seed


# --------------------------------------------------------------------------- Merkle trees


def hash_children(left: bytes, right: bytes) -> bytes:
    """RFC 6962, Section 2.1: MTH of an interior node is SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, proof: list[bytes]
) -> bool:
    """Verify a consistency proof as in RFC 9162, Section 2.1.4.2 (for 0 < first < second).

    The proofs are the RFC 6962, Section 2.1.2 ones; RFC 9162 spells out the verification.
    """
    if not 0 < first < second:
        return False
    # 1. If consistency_path is an empty array, stop and fail the proof verification.
    if not proof:
        return False
    path = list(proof)
    # 2. If first is an exact power of 2, then prepend first_hash to the consistency_path.
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    # 3. Set fn to first - 1 and sn to second - 1.
    fn, sn = first - 1, second - 1
    # 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. Set both fr and sr to the first value in the consistency_path array.
    fr = sr = path[0]
    # 6. For each subsequent value c in the consistency_path array:
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    # 7. Verify fr == first_hash, sr == second_hash and sn == 0.
    return fr == first_hash and sr == second_hash and sn == 0


# --------------------------------------------------------------------------- notes


@dataclass(frozen=True)
class SignatureLine:
    """One signed-note signature line, ``— <key name> base64(key ID || signature)``."""

    name: str
    key_id: bytes
    signature: bytes
    line: str
    """The line as received, newline included."""


@dataclass(frozen=True)
class Checkpoint:
    """A tlog-checkpoint signed note, split into its text and its signature lines."""

    origin: str
    size: int
    root_hash: bytes
    text: str
    """The note text: the checkpoint body up to and including its final newline."""
    signatures: tuple[SignatureLine, ...]


def parse_signature_line(line: str) -> SignatureLine:
    if not line.startswith(SIGNATURE_PREFIX):
        raise WitnessError(400, f"signature line does not start with an em dash: {line!r}")
    name, sep, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not sep or not valid_key_name(name) or " " in encoded:
        raise WitnessError(400, f"malformed signature line: {line!r}")
    try:
        raw = b64decode_strict(encoded)
    except ValueError as exc:
        raise WitnessError(400, f"malformed signature line: {exc}") from exc
    if len(raw) < 5:
        raise WitnessError(400, f"signature too short for a key ID and a signature: {line!r}")
    return SignatureLine(name=name, key_id=raw[:4], signature=raw[4:], line=line + "\n")


def parse_checkpoint_note(note: str) -> Checkpoint:
    """Parse a signed note (signed-note) whose text is a checkpoint (tlog-checkpoint)."""
    if not note.endswith("\n"):
        raise WitnessError(400, "the checkpoint note does not end in a newline")
    # The text is separated from the signatures by the last empty line in the note.
    separator = note.rfind("\n\n")
    if separator < 0:
        raise WitnessError(400, "the checkpoint note has no blank line before its signatures")
    text, signature_block = note[: separator + 1], note[separator + 2 :]
    if not signature_block:
        raise WitnessError(400, "the checkpoint note has no signature lines")
    signatures = tuple(parse_signature_line(line) for line in signature_block[:-1].split("\n"))
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise WitnessError(400, "a checkpoint has at least three lines")
    if any(not line for line in lines):
        raise WitnessError(400, "checkpoint lines (origin, size, root, extensions) are non-empty")
    origin, size_line, root_line = lines[0], lines[1], lines[2]
    size = parse_decimal(size_line, "checkpoint tree size")
    try:
        root_hash = b64decode_strict(root_line)
    except ValueError as exc:
        raise WitnessError(400, f"checkpoint root hash: {exc}") from exc
    if len(root_hash) != HASH_SIZE:
        raise WitnessError(400, "the checkpoint root hash is not 32 bytes")
    return Checkpoint(
        origin=origin, size=size, root_hash=root_hash, text=text, signatures=signatures
    )


@dataclass(frozen=True)
class AddCheckpointRequest:
    old_size: int
    proof: list[bytes]
    checkpoint: Checkpoint


def parse_add_checkpoint(body: bytes) -> AddCheckpointRequest:
    """Parse the tlog-witness add-checkpoint body: old line, proof lines, blank, checkpoint."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WitnessError(400, "the request body is not valid UTF-8") from exc
    if _CONTROL.search(text) is not None:
        raise WitnessError(400, "the request body has control characters other than newline")
    # Proof lines are never empty, so the first blank line ends the proof.
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise WitnessError(400, "no blank line between the old size/proof and the checkpoint")
    lines = head.split("\n")
    old_text = lines[0]
    if not old_text.startswith("old "):
        raise WitnessError(400, "the first line is not 'old <size>'")
    old_size = parse_decimal(old_text[len("old ") :], "old size")
    proof_lines = lines[1:]
    if len(proof_lines) > MAX_PROOF_LINES:
        raise WitnessError(400, f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof: list[bytes] = []
    for line in proof_lines:
        try:
            node = b64decode_strict(line)
        except ValueError as exc:
            raise WitnessError(400, f"consistency proof line: {exc}") from exc
        if len(node) != HASH_SIZE:
            raise WitnessError(400, "a consistency proof line is not a 32-byte hash")
        proof.append(node)
    return AddCheckpointRequest(
        old_size=old_size, proof=proof, checkpoint=parse_checkpoint_note(note)
    )


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class LogState:
    """The latest checkpoint the witness cosigned for one origin."""

    size: int
    root_hash: bytes
    checkpoint: str
    """The checkpoint note with the verified log signature(s) and the witness cosignature."""

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "root_hash": base64.b64encode(self.root_hash).decode("ascii"),
            "checkpoint": self.checkpoint,
        }

    @classmethod
    def from_json(cls, origin: str, value: Any) -> LogState:
        if not isinstance(value, dict):
            raise ConfigError(f"state for {origin!r} is not an object")
        size, root, note = value.get("size"), value.get("root_hash"), value.get("checkpoint")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_TREE_SIZE:
            raise ConfigError(f"state for {origin!r}: bad size")
        if not isinstance(root, str) or not isinstance(note, str):
            raise ConfigError(f"state for {origin!r}: bad root_hash or checkpoint")
        try:
            root_hash = b64decode_strict(root)
        except ValueError as exc:
            raise ConfigError(f"state for {origin!r}: {exc}") from exc
        if len(root_hash) != HASH_SIZE:
            raise ConfigError(f"state for {origin!r}: the root hash is not 32 bytes")
        return cls(size=size, root_hash=root_hash, checkpoint=note)


class StateStore:
    """A JSON file of per-origin LogState, replaced atomically on every update.

    An exclusive flock on ``<state>.lock`` keeps a second witness process off the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        lock_path = path.with_name(path.name + ".lock")
        self._lock_file: IO[str] = lock_path.open("a", encoding="utf-8")
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock_file.close()
            raise ConfigError(f"another witness holds {lock_path}") from exc
        self.logs: dict[str, LogState] = self._load()

    def _load(self) -> dict[str, LogState]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"state file {self.path}: {exc}") from exc
        logs = raw.get("logs") if isinstance(raw, dict) else None
        if not isinstance(logs, dict):
            raise ConfigError(f"state file {self.path}: no 'logs' object")
        return {str(origin): LogState.from_json(origin, value) for origin, value in logs.items()}

    def save(self, origin: str, state: LogState) -> None:
        """Write the whole state with ``origin`` updated: temp file, fsync, os.replace."""
        logs = dict(self.logs)
        logs[origin] = state
        data = json.dumps(
            {"logs": {name: value.to_json() for name, value in sorted(logs.items())}},
            indent=2,
            ensure_ascii=False,
        )
        directory = self.path.parent
        fd, tmp_name = tempfile.mkstemp(prefix=self.path.name + ".", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp_name).replace(self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                Path(tmp_name).unlink()
            raise
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self.logs = logs

    def close(self) -> None:
        self._lock_file.close()


# --------------------------------------------------------------------------- witness


class Witness:
    """The add-checkpoint and monitoring logic, independent of HTTP."""

    def __init__(self, name: str, seed: bytes, log_keys: list[LogKey], store: StateStore) -> None:
        if not valid_key_name(name):
            raise ConfigError(f"invalid witness name: {name!r}")
        self.name = name
        self._private_key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = raw_public_key(self._private_key.public_key())
        self.key_id = key_id(name, SIG_TYPE_COSIGNATURE_ED25519, self.public_key)
        self.logs: dict[str, list[LogKey]] = {}
        for log_key in log_keys:
            self.logs.setdefault(log_key.name, []).append(log_key)
        self._store = store
        self.lock = threading.Lock()
        """Held around the compare-and-persist of add-checkpoint (tlog-witness's race)."""

    @property
    def vkey(self) -> str:
        """``<name>+<hex key id>+<base64(0x04 || public key)>``."""
        material = bytes([SIG_TYPE_COSIGNATURE_ED25519]) + self.public_key
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(material).decode('ascii')}"

    def _verify_log_signatures(self, checkpoint: Checkpoint) -> list[SignatureLine]:
        """Return the signature lines from trusted keys; 404/403 as tlog-witness says."""
        keys = self.logs.get(checkpoint.origin)
        if keys is None:
            raise WitnessError(404, f"unknown log origin {checkpoint.origin!r}")
        message = checkpoint.text.encode("utf-8")
        verified: list[SignatureLine] = []
        for sig in checkpoint.signatures:
            for key in keys:
                if sig.name != key.name or sig.key_id != key.key_id:
                    continue  # unknown keys are ignored, even if they share a name or an ID
                try:
                    key.public_key.verify(sig.signature, message)
                except InvalidSignature as exc:
                    raise WitnessError(
                        403, f"the signature from trusted key {key.name} does not verify"
                    ) from exc
                verified.append(sig)
        if not verified:
            raise WitnessError(403, "no signature from a trusted key for this origin")
        return verified

    def cosign(self, checkpoint: Checkpoint, timestamp: int) -> str:
        """tlog-cosignature Ed25519: sign 'cosignature/v1\\ntime <t>\\n' || note text."""
        message = f"cosignature/v1\ntime {timestamp}\n{checkpoint.text}".encode()
        signature = self._private_key.sign(message)
        raw = self.key_id + timestamp.to_bytes(8, "big") + signature
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(raw).decode('ascii')}\n"

    @staticmethod
    def _check_consistency(request: AddCheckpointRequest, old_root: bytes) -> None:
        """The 422 checks of tlog-witness; ``old_root`` is the latest cosigned root."""
        checkpoint = request.checkpoint
        if checkpoint.size == 0 and checkpoint.root_hash != EMPTY_TREE_ROOT:
            raise WitnessError(422, "a size-zero checkpoint must have the empty-tree root")
        if request.old_size == 0:
            if request.proof:
                raise WitnessError(422, "the consistency proof must be empty for old size 0")
            return  # the empty tree is consistent with any tree
        if request.old_size == checkpoint.size:
            if request.proof:
                raise WitnessError(422, "the consistency proof for equal sizes must be empty")
            if checkpoint.root_hash != old_root:
                raise WitnessError(422, "same size as the latest checkpoint, different root")
            return
        if not verify_consistency(
            request.old_size, checkpoint.size, old_root, checkpoint.root_hash, request.proof
        ):
            raise WitnessError(422, "the consistency proof does not verify")

    def add_checkpoint(self, body: bytes) -> str:
        """Handle an add-checkpoint body; return the cosignature line or raise WitnessError."""
        request = parse_add_checkpoint(body)
        checkpoint = request.checkpoint
        verified = self._verify_log_signatures(checkpoint)
        if request.old_size > checkpoint.size:
            raise WitnessError(400, "the old size is larger than the checkpoint size")
        with self.lock:
            latest = self._store.logs.get(checkpoint.origin)
            # Never cosigned: size zero, and the empty tree's root.
            latest_size = latest.size if latest is not None else 0
            latest_root = latest.root_hash if latest is not None else EMPTY_TREE_ROOT
            if request.old_size != latest_size:
                raise WitnessError(409, f"{latest_size}\n", content_type=TLOG_SIZE)
            self._check_consistency(request, latest_root)
            timestamp = max(int(time.time()), 1)
            cosignature = self.cosign(checkpoint, timestamp)
            note = checkpoint.text + "\n" + "".join(sig.line for sig in verified) + cosignature
            self._store.save(
                checkpoint.origin,
                LogState(size=checkpoint.size, root_hash=checkpoint.root_hash, checkpoint=note),
            )
        return cosignature

    def monitoring_checkpoint(self, origin_hash: str) -> str | None:
        """The latest cosigned checkpoint of the origin whose SHA-256 hex is given."""
        with self.lock:
            for origin, state in self._store.logs.items():
                if hashlib.sha256(origin.encode("utf-8")).hexdigest() == origin_hash:
                    return state.checkpoint
        return None


# --------------------------------------------------------------------------- HTTP


class WitnessServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], witness: Witness, delay: float) -> None:
        self.witness = witness
        self.delay = delay
        super().__init__(address, WitnessHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One stderr line instead of socketserver's traceback."""
        exc = sys.exc_info()[1]
        sys.stderr.write(f"{client_address[0]} error: {exc.__class__.__name__}: {exc}\n")
        sys.stderr.flush()


class WitnessServer6(WitnessServer):
    address_family = socket.AF_INET6


class _ChunkedBodyError(Exception):
    pass


class WitnessHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "spec-witness/1"
    timeout = 60

    @property
    def witness_server(self) -> WitnessServer:
        return cast("WitnessServer", self.server)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: _respond logs its own line, with the reason for a refusal."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        sys.stderr.write(f"{self.address_string()} {format % args}\n")
        sys.stderr.flush()

    def _respond(self, status: int, body: str, content_type: str = PLAIN_TEXT) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        note = "" if status == 200 else f" {body.strip()!r}"
        try:
            self.end_headers()
            self.wfile.write(data)
        except OSError as exc:  # e.g. a client that timed out during --delay
            self.close_connection = True
            note += f" (client gone: {exc.__class__.__name__})"
        self.log_message('"%s %s" %d%s', self.command, self.path, status, note)

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size_line = self.rfile.readline(1024)
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise _ChunkedBodyError("bad chunk size") from exc
            if size < 0 or len(body) + size > MAX_BODY_BYTES:
                raise _ChunkedBodyError("too large")
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(body)
            body += self.rfile.read(size)
            self.rfile.readline(1024)

    def _read_body(self) -> bytes | None:
        """Read a bounded request body, or answer with an error and return None."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            try:
                return self._read_chunked()
            except _ChunkedBodyError as exc:
                self.close_connection = True
                too_large = str(exc) == "too large"
                self._respond(413 if too_large else 400, f"{exc}\n")
                return None
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self.close_connection = True
            self._respond(411, "a Content-Length is required\n")
            return None
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._respond(400, "bad Content-Length\n")
            return None
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._respond(413, f"the body is limited to {MAX_BODY_BYTES} bytes\n")
            return None
        return self.rfile.read(length)

    def do_POST(self) -> None:
        if self.path != "/add-checkpoint":
            self.close_connection = True
            self._respond(404, "not found\n")
            return
        body = self._read_body()
        if body is None:
            return
        delay = self.witness_server.delay
        if delay > 0:
            time.sleep(delay)
        try:
            cosignature = self.witness_server.witness.add_checkpoint(body)
        except WitnessError as exc:
            message = exc.message if exc.message.endswith("\n") else exc.message + "\n"
            self._respond(exc.status, message, exc.content_type)
            return
        self._respond(200, cosignature)

    def do_GET(self) -> None:
        if self.path == "/add-checkpoint":
            self._respond_405("POST")
            return
        parts = self.path.split("/")
        if len(parts) == 3 and parts[0] == "" and parts[2] == "checkpoint":
            if _ORIGIN_HASH.fullmatch(parts[1]) is not None:
                note = self.witness_server.witness.monitoring_checkpoint(parts[1])
                if note is not None:
                    self._respond(200, note)
                    return
            self._respond(404, "no cosigned checkpoint for this origin\n")
            return
        self._respond(404, "not found\n")

    def _respond_405(self, allow: str) -> None:
        data = b"method not allowed\n"
        self.send_response(405)
        self.send_header("Allow", allow)
        self.send_header("Content-Type", PLAIN_TEXT)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.log_message('"%s %s" 405', self.command, self.path)


# --------------------------------------------------------------------------- main


def parse_listen(value: str) -> tuple[str, int, bool]:
    """``HOST:PORT`` or ``[IPv6]:PORT`` into (host, port, is_ipv6)."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ConfigError(f"--listen must be HOST:PORT, not {value!r}")
    ipv6 = host.startswith("[") and host.endswith("]")
    if ipv6:
        host = host[1:-1]
    port = int(port_text)
    if port > 65535:
        raise ConfigError(f"bad port {port}")
    return host, port, ipv6


def write_atomically(path: Path, text: str) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    Path(tmp_name).replace(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tests.witness_peer.spec_witness",
        description="A C2SP tlog-witness written from the spec text, for tests.",
    )
    parser.add_argument("--listen", required=True, help="HOST:PORT (port 0 picks a free one)")
    parser.add_argument("--name", required=True, help="the witness (cosigner) key name")
    parser.add_argument("--key-file", required=True, type=Path, help="base64 Ed25519 seed")
    parser.add_argument(
        "--log-vkey", required=True, action="append", help="a trusted log's Ed25519 vkey"
    )
    parser.add_argument("--state", required=True, type=Path, help="the JSON state file")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait per request")
    parser.add_argument("--ready-file", type=Path, help="write the bound port here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        host, port, ipv6 = parse_listen(args.listen)
        log_keys = [LogKey.from_vkey(vkey) for vkey in args.log_vkey]
        if args.delay < 0:
            raise ConfigError("--delay must not be negative")
        seed = load_or_create_seed(args.key_file)
        store = StateStore(args.state)
        witness = Witness(args.name, seed, log_keys, store)
    except (ConfigError, OSError) as exc:
        sys.stderr.write(f"spec_witness: {exc}\n")
        return 2

    vkey = witness.vkey
    write_atomically(args.key_file.with_name(args.key_file.name + ".vkey"), vkey + "\n")
    sys.stdout.write(vkey + "\n")
    sys.stdout.flush()

    server_class = WitnessServer6 if ipv6 else WitnessServer
    try:
        server = server_class((host, port), witness, args.delay)
    except OSError as exc:
        sys.stderr.write(f"spec_witness: cannot listen on {args.listen}: {exc}\n")
        store.close()
        return 2

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    serving = threading.Thread(target=server.serve_forever, name="serve", daemon=True)
    serving.start()
    bound_port = server.server_address[1]
    sys.stderr.write(f"spec_witness: {witness.name} listening on {host}:{bound_port}\n")
    sys.stderr.flush()
    if args.ready_file is not None:
        write_atomically(args.ready_file, f"{bound_port}\n")

    while not stop.wait(timeout=1.0):
        pass
    server.shutdown()
    server.server_close()
    # No add-checkpoint is half way through its compare-and-persist once we hold the lock.
    with witness.lock:
        store.close()
        sys.stderr.write("spec_witness: stopped\n")
        sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
