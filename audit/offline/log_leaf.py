"""What a leaf of the ledger-wide Merkle log is: the exact signed stored event.

    log_leaf_data = b"ppl/log-leaf/v1\\x00"
                    || originator_id (16 bytes) || originator_version (8 bytes, big-endian)
                    || len(topic) (4 bytes, big-endian) || topic (UTF-8)
                    || stored state (the signed envelope, audit.offline.event_signature)
    leaf hash     = SHA-256(0x00 || log_leaf_data)                    (RFC 6962 leaf)

Because the leaf covers the signed envelope byte for byte, an inclusion proof proves the
*signed* event, and an auditor hashes what is stored without re-serializing anything.
Standard library only.
"""

from __future__ import annotations

from uuid import UUID

from audit.offline.errors import MalformedLeafError
from audit.offline.event_signature import event_frame
from audit.offline.rfc6962 import leaf_hash

LOG_LEAF_CONTEXT = b"ppl/log-leaf/v1\x00"
MAX_LOG_LEAF_SIZE = 2**16 - 1
"""The longest log leaf: a C2SP tlog-tiles entry bundle gives each entry a uint16 length, so
the signing store refuses a save with a longer one (audit.signing.signing_mapper) rather than
keep an event the tiled log could not serve."""


def log_leaf_data(originator_id: UUID, version: int, topic: str, stored_state: bytes) -> bytes:
    """The bytes of the log leaf for one stored event (see the module docstring)."""
    return event_frame(LOG_LEAF_CONTEXT, originator_id, version, topic, stored_state)


def log_leaf_hash(originator_id: UUID, version: int, topic: str, stored_state: bytes) -> bytes:
    return leaf_hash(log_leaf_data(originator_id, version, topic, stored_state))


def identified_log_leaf_hash(identity: bytes, stored_state: bytes) -> bytes:
    """``log_leaf_hash`` of the event that ``identity`` (``event_identity``) names: for a
    caller that already encoded it to check the event's signature."""
    return leaf_hash(LOG_LEAF_CONTEXT + identity + stored_state)


def parse_log_leaf_data(data: bytes) -> tuple[UUID, int, str, bytes]:
    """Inverse of ``log_leaf_data``: (originator id, version, topic, stored state).

    Raises:
        MalformedLeafError: wrong context, or too short for its declared topic length.
    """
    fixed = len(LOG_LEAF_CONTEXT) + 16 + 8 + 4
    if len(data) < fixed or not data.startswith(LOG_LEAF_CONTEXT):
        raise MalformedLeafError(f"got {len(data)} bytes without the log-leaf context")
    offset = len(LOG_LEAF_CONTEXT)
    originator_id = UUID(bytes=data[offset : offset + 16])
    version = int.from_bytes(data[offset + 16 : offset + 24], "big")
    topic_length = int.from_bytes(data[offset + 24 : offset + 28], "big")
    topic_end = fixed + topic_length
    if len(data) < topic_end:
        raise MalformedLeafError(f"topic of {topic_length} bytes: only {len(data) - fixed} left")
    try:
        topic = data[fixed:topic_end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedLeafError("topic is not UTF-8") from exc
    return originator_id, version, topic, data[topic_end:]
