"""Canonical JSON: the exact bytes that are signed and hashed.

An outside verifier must be able to rebuild these bytes from the logical event, so the rule is
small and fixed (see docs/canonical-encoding.md):

* UTF-8; objects with keys sorted by code point; no insignificant whitespace
  (separators ``,`` and ``:``); non-ASCII characters written as themselves; only ``"``, ``\\``
  and control characters below U+0020 are escaped (``\\n`` style where JSON has one, else
  ``\\u00XX`` lowercase).
* Values: objects with string keys, arrays, strings, integers, ``true``/``false``/``null``.
  **No floats** (money is integer fen). Two typed forms, in the eventsourcing convention:
  ``{"_type_": "datetime_iso", "_data_": "YYYY-MM-DDTHH:MM:SS.ffffffZ"}`` (always UTC, always six
  fractional digits) and ``{"_type_": "uuid_hex", "_data_": "<32 lowercase hex>"}``.

This module uses only the standard library so the offline verifier can import it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from audit.offline.errors import NonCanonicalValueError

_TYPE = "_type_"
_DATA = "_data_"
DATETIME_TYPE = "datetime_iso"
UUID_TYPE = "uuid_hex"
_MAX_INT = 2**63 - 1

_encoder = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def format_timestamp(moment: datetime) -> str:
    """UTC timestamp with six fractional digits and ``Z``: one spelling per instant.

    Raises:
        NonCanonicalValueError: for a naive datetime (its instant is unknown).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NonCanonicalValueError(f"naive datetime {moment.isoformat()}: want a UTC instant")
    utc = moment.astimezone(UTC)
    # Explicit widths: strftime("%Y") does not zero-pad years below 1000 on every platform.
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}Z"
    )


def parse_timestamp(text: str) -> datetime:
    """Inverse of :func:`format_timestamp`; rejects any other spelling."""
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise NonCanonicalValueError(
            f"timestamp {text!r}: want YYYY-MM-DDTHH:MM:SS.ffffffZ"
        ) from exc
    if format_timestamp(moment) != text:
        raise NonCanonicalValueError(f"timestamp {text!r} is not in canonical form")
    return moment


def to_canonical_tree(value: Any) -> Any:
    """Convert ``value`` into the JSON-native tree that is serialized, refusing what may not be.

    Raises:
        NonCanonicalValueError: for floats, naive datetimes, non-string keys, integers outside
            the signed 64-bit range, or any other unsupported type.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if not -_MAX_INT - 1 <= value <= _MAX_INT:
            raise NonCanonicalValueError(f"integer {value} outside the signed 64-bit range")
        return value
    if isinstance(value, dict):
        tree: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NonCanonicalValueError(f"object key {key!r} is not a string")
            tree[key] = to_canonical_tree(item)
        return tree
    if isinstance(value, list | tuple):
        return [to_canonical_tree(item) for item in value]
    if isinstance(value, datetime):
        return {_TYPE: DATETIME_TYPE, _DATA: format_timestamp(value)}
    if isinstance(value, UUID):
        return {_TYPE: UUID_TYPE, _DATA: value.hex}
    raise NonCanonicalValueError(
        f"value of type {type(value).__name__} cannot be signed: want str, int, bool, None, "
        "list, dict, UTC datetime or UUID (never float)"
    )


def _parse_uuid_hex(text: str) -> UUID:
    """32 lowercase hex digits, nothing else: one spelling per UUID."""
    try:
        value = UUID(hex=text)
    except ValueError as exc:
        raise NonCanonicalValueError(f"uuid {text!r}: want 32 lowercase hex digits") from exc
    if value.hex != text:
        raise NonCanonicalValueError(f"uuid {text!r}: want 32 lowercase hex digits")
    return value


def from_canonical_tree(tree: Any) -> Any:
    """Revive the typed forms (datetime, UUID) of a decoded canonical tree."""
    if isinstance(tree, dict):
        if len(tree) == 2 and _TYPE in tree and _DATA in tree:
            kind, data = tree[_TYPE], tree[_DATA]
            if kind == DATETIME_TYPE and isinstance(data, str):
                return parse_timestamp(data)
            if kind == UUID_TYPE and isinstance(data, str):
                return _parse_uuid_hex(data)
            raise NonCanonicalValueError(f"unknown typed value {kind!r}")
        return {key: from_canonical_tree(item) for key, item in tree.items()}
    if isinstance(tree, list):
        return [from_canonical_tree(item) for item in tree]
    return tree


def encode_canonical(value: Any) -> bytes:
    """The canonical bytes of ``value`` (reference implementation, standard library only)."""
    return _encoder.encode(to_canonical_tree(value)).encode("utf-8")


def encode_canonical_plain(value: Any) -> bytes:
    """``encode_canonical`` of a value made only of objects with text keys, arrays, text,
    integers, booleans and null — no UUID, datetime or float anywhere: the same bytes, without
    the walk that converts typed values (a third of the product index's rebuild time). The
    caller guarantees the shape; the product index builds its values from fields it checked.
    """
    return _encoder.encode(value).encode("utf-8")


def _refuse_float(text: str) -> Any:
    raise NonCanonicalValueError(f"number {text} is not an integer: floats are never signed")


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise NonCanonicalValueError("object has duplicate keys")
    return result


def decode_canonical(data: bytes) -> Any:
    """Parse canonical bytes back into values; refuses floats, duplicate keys and other spellings.

    Raises:
        NonCanonicalValueError: if ``data`` is not exactly the canonical encoding of its value.
    """
    try:
        tree = json.loads(
            data.decode("utf-8"),
            parse_float=_refuse_float,
            parse_constant=_refuse_float,
            object_pairs_hook=_refuse_duplicate_keys,
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NonCanonicalValueError(f"not canonical JSON: {exc}") from exc
    value = from_canonical_tree(tree)
    if _encoder.encode(tree).encode("utf-8") != data:
        raise NonCanonicalValueError("bytes are valid JSON but not in canonical form")
    return value
