"""Identifiers of the sample: pure functions of (seed, index), never of chance.

USCCs, organisation codes and model designations come from bijections of (seed, index), so
seeds that differ modulo :data:`SEED_SPAN` never share one and several seeds can coexist in one
store; filing and dispute ids are :func:`sample_id` (version 8, not name-based, so the
commands accept them as client-chosen ids: domain.values.ClientId); the digests of the fake
documents are named by their parts, so they are stable per seed.
"""

from __future__ import annotations

import hashlib
from typing import Final
from uuid import UUID

from domain.values import USCC_ALPHABET, FilerKind, uscc_check_char

SAMPLE_NAMESPACE: Final = UUID("fcea4ec3-6e52-4d5e-8673-7a72172c50f6")
"""Hashed in front of every :func:`sample_id` label, so sample ids are the sample's alone."""

_VERSION_8: Final = 8 << 76  # RFC 9562 §5.8: custom layout (bits 48-51)
_VARIANT_RFC: Final = 0b10 << 62  # RFC 9562 §4.1: variant bits 64-65
_VERSION_MASK: Final = 0xF << 76
_VARIANT_MASK: Final = 0b11 << 62

SEED_SPAN: Final = 10_000
"""Seeds that differ modulo this number get disjoint USCCs and product keys."""

FILER_SLOTS: Final = 1_000
PRODUCT_SLOTS: Final = 2_048
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code check

USCC_PREFIX: Final[dict[FilerKind, str]] = {
    FilerKind.enterprise: "91",  # enterprise (market regulation)
    FilerKind.university_or_institute: "12",  # public institution
    FilerKind.new_rnd_institution: "52",  # private non-enterprise unit
    FilerKind.social_organization: "51",  # social group
}


def slot_of(seed: int, index: int, slots: int) -> int:
    if not 0 <= index < slots:
        raise ValueError(f"sample index {index}: want 0..{slots - 1}")
    return (seed % SEED_SPAN) * slots + index


def _scramble(slot: int, modulus: int, multiplier: int, offset: int) -> int:
    """``slot -> (slot * multiplier + offset) mod modulus``: a bijection (coprime multiplier).

    It makes consecutive sample indices look unrelated while keeping them distinct.
    """
    return (slot * multiplier + offset) % modulus


def _base31(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 31)
        chars.append(USCC_ALPHABET[digit])
    return "".join(reversed(chars))


def organisation_code(slot: int, *, legacy: bool) -> str:
    """A 9-character GB 11714 code with a valid check character.

    Legacy (pre-2015) codes are 8 digits; newer ones are ``MA`` + 6 characters, like
    ``MA1HA5651``. The two forms never overlap (digits vs. letters in front).
    """
    if legacy:
        body = f"{_scramble(slot, 10**8, 48_271, 13_579_246):08d}"
    else:
        body = "MA" + _base31(_scramble(slot, 31**6, 69_621, 4_242_424), 6)
    remainder = 11 - sum(int(char, 36) * w for char, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    check = {10: "X", 11: "0"}.get(remainder, str(remainder))
    return body + check


def uscc_of(prefix: str, region_part: str, organisation_code: str) -> str:
    body = prefix + region_part + organisation_code
    return body + uscc_check_char(body)


def model_designation(initials: str, slot: int) -> str:
    """A model designation such as ``XJ-307K7Q``, unique per (seed, product index)."""
    value = _scramble(slot, 900 * 31**3, 7_919, 1_234_567)
    series, tag = 100 + value % 900, _base31(value // 900, 3)
    return f"{initials}-{series}{tag}"


def sample_id(label: str) -> UUID:
    """A deterministic UUID for a sample filing or dispute, named by ``label``.

    Why not uuid5: the ledger refuses name-based UUIDs (versions 3 and 5) as client-chosen ids,
    since every id it derives is one (domain.values.chosen_id_misfit). A version 8 UUID (RFC
    9562's custom layout) from SHA-256 of the namespace and the label is as stable per seed and
    never of a derived kind.
    """
    digest = hashlib.sha256(SAMPLE_NAMESPACE.bytes + label.encode()).digest()
    bits = int.from_bytes(digest[:16], "big")
    return UUID(int=(bits & ~_VERSION_MASK & ~_VARIANT_MASK) | _VERSION_8 | _VARIANT_RFC)


def document_digest(*parts: object) -> str:
    """SHA-256 of a fake document, named by its parts so it is stable per seed."""
    return hashlib.sha256(":".join(str(part) for part in parts).encode()).hexdigest()
