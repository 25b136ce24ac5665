"""``str(uuid5(namespace, name))`` without a ``UUID`` object: the replay derives an id for
about half the events (a filer's from its USCC, a reservation's from its key, a series' from
its year and region) and compares it with the event's id as text; building the ``UUID`` and
spelling it cost two thirds of that. tests/audit/test_uuid_text.py checks it against
``uuid.uuid5``. Standard library only.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

_VERSION_5 = 0x5000 << 64  # the version nibble, bits 76-79 of the 128-bit value
_VERSION_MASK = ~(0xF000 << 64)
_VARIANT_RFC_4122 = 0x8000 << 48  # the variant bits 10 at bits 62-63
_VARIANT_MASK = ~(0xC000 << 48)


def uuid5_text(namespace: UUID, name: str) -> str:
    """``str(uuid.uuid5(namespace, name))``: SHA-1 of the namespace's bytes and the name's
    UTF-8, its first 16 bytes with the version (5) and variant (RFC 4122) set, spelt
    8-4-4-4-12 in lowercase hex."""
    digest = hashlib.sha1(namespace.bytes + name.encode("utf-8"), usedforsecurity=False).digest()
    value = int.from_bytes(digest[:16], "big") & _VERSION_MASK & _VARIANT_MASK
    hexed = f"{value | _VERSION_5 | _VARIANT_RFC_4122:032x}"
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"
