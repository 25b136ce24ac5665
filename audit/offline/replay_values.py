"""The domain's value rules, as the offline replay re-checks them: a USCC (GB 32100-2015), a
region code (GB/T 2260), a patent application number, a SHA-256 digest, clean text, a finer
industry code, the figures' and patents' bounds, and the shape of a published statistics cell.

Why: the ledger signs only values its value objects accepted (domain/values.py,
domain/categories.py, domain/declarations.py, domain/ranges.py, domain/command_inputs.py), so
a signed event holding any other value was forged or written past the commands. Each function
returns why a value is not one the domain records (``None`` when it is), like
``audit.offline.annex_rule``; the replay's readers (audit/offline/replay_base.py,
audit/offline/replay_readers.py) turn that into an ``InvalidReplayError`` naming the event.
The readers run in the verifier's worker processes for every event: so each check is a
precompiled regular expression, a set lookup or a short loop, never a Unicode table.

Standard library only (the verifier imports nothing from domain/); every constant copied from
the domain is tied to its original, and every function to the value object it mirrors, by
tests/audit/test_replay_copies.py, which fails when the domain's rule changes. A rule the
domain widens must be widened here too, or honest events fail the audit; one it narrows may be
narrowed here only for events recorded after the change, under a rule version (as annex rule
v1 carries the bounds of a filing's figures and patents, rule P1), since older honest events
were recorded under the wider rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from audit.offline.dispute_rule import SHA256_HEX

__all__ = [
    "CELL_KEYS",
    "CELL_LEVELS",
    "COUNT_KEYS",
    "FINER_CODE",
    "MONEY_MAX_FEN",
    "NOT_LEGAL_PERSON_PREFIX",
    "OLD_FORM_LAST_YEAR",
    "PATENT_COUNT_MAX",
    "PATENT_TYPES_BY_DIGIT",
    "PATENT_WEIGHTS",
    "PROVINCE_PREFIXES",
    "SHA256_HEX",
    "SHANGHAI_CITY_CODE",
    "SHANGHAI_DISTRICTS",
    "SUPPRESSIONS",
    "TEXT_LIMITS",
    "USCC_ALPHABET",
    "USCC_WEIGHTS",
    "YEAR_MAX",
    "YEAR_MIN",
    "cell_misfit",
    "count_misfit",
    "finer_code_misfit",
    "patent_misfit",
    "patent_type",
    "region_code_misfit",
    "text_misfit",
    "uscc_misfit",
]

# --- Unified Social Credit Code (domain.values.Uscc) -----------------------------------------
USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # domain.values.USCC_ALPHABET
USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
NOT_LEGAL_PERSON_PREFIX: Final = "92"  # 个体工商户: well formed, never a filer
_USCC_VALUES: Final[Mapping[str, int]] = MappingProxyType(
    {char: value for value, char in enumerate(USCC_ALPHABET)}
)
_USCC_CHAR: Final = "[0-9A-HJ-NP-RTUW-Y]"  # USCC_ALPHABET as a class (no I, O, S, V, Z)
_USCC_SHAPE: Final = re.compile(f"{_USCC_CHAR}{{2}}[0-9]{{6}}{_USCC_CHAR}{{10}}")


def uscc_misfit(value: str) -> str | None:
    """Why ``value`` is not a USCC the domain records (``domain.values.Uscc``), or ``None``.

    18 characters of the code alphabet, characters 3-8 (the region) digits, the GB 32100-2015
    check character last: ``alphabet[(31 - sum(value * weight) mod 31) mod 31]`` over the first
    17; and not of prefix 92 (an individual business is no legal person).
    """
    if _USCC_SHAPE.fullmatch(value) is None:
        return "want 18 characters of the code alphabet, characters 3-8 digits"
    total = sum(
        _USCC_VALUES[char] * weight for char, weight in zip(value, USCC_WEIGHTS, strict=False)
    )
    check = USCC_ALPHABET[-total % 31]
    if value[17] != check:
        return f"check character {value[17]!r}, want {check!r}"
    if value.startswith(NOT_LEGAL_PERSON_PREFIX):
        return "prefix 92 is an individual business, not a legal person"
    return None


# --- region codes (domain.values.RegionCode) --------------------------------------------------
PROVINCE_PREFIXES: Final = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
        "65", "71", "81", "82",
    }
)  # fmt: skip
SHANGHAI_CITY_CODE: Final = "310000"
SHANGHAI_DISTRICTS: Final = frozenset(
    {
        "310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112",
        "310113", "310114", "310115", "310116", "310117", "310118", "310120", "310151",
    }
)  # fmt: skip
_SIX_DIGITS: Final = re.compile(r"[0-9]{6}")


def region_code_misfit(value: str) -> str | None:
    """Why ``value`` is not a region code the domain records (``domain.values.RegionCode``).

    Six ASCII digits of a real province; in Shanghai (31) the city, 310000, or a current
    district (a retired code is mapped forward before it is recorded).
    """
    if _SIX_DIGITS.fullmatch(value) is None:
        return "want 6 digits"
    if value[:2] not in PROVINCE_PREFIXES:
        return f"no province {value[:2]!r}"
    if value[:2] == "31" and value != SHANGHAI_CITY_CODE and value not in SHANGHAI_DISTRICTS:
        return "not a current Shanghai district, nor the city (310000)"
    return None


# --- patent application numbers (domain.values.PatentNumber) ----------------------------------
PATENT_WEIGHTS: Final = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
PATENT_TYPES_BY_DIGIT: Final[Mapping[str, str]] = MappingProxyType(
    {
        "1": "invention",
        "2": "utility_model",
        "3": "design",
        "8": "pct_invention",
        "9": "pct_utility_model",
    }
)
YEAR_MIN: Final = 1985  # domain.ranges: the Chinese patent law took effect in 1985
YEAR_MAX: Final = 2100
OLD_FORM_LAST_YEAR: Final = 2003  # the 8-digit form ran until the 2003 switch to 12 digits
_PATENT_SHAPE: Final = re.compile(r"([0-9]{12}|[0-9]{8})\.([0-9X])")
_NEW_FORM_DIGITS: Final = 12
_CHECK_X: Final = 10  # a remainder of 10 is written X


def patent_misfit(value: str) -> str | None:
    """Why ``value`` is not a patent number the domain records (``domain.values.PatentNumber``),
    or ``None``.

    ``digits.C``: 12 digits (YYYY T NNNNNNN, from 2003) or 8 (YY T NNNNN, 1985-2003), a dot,
    and ``C = sum(digit * weight) mod 11`` (10 written X); a known type digit; a year in
    1985-2100 (new form) or 1985-2003 (old form).
    """
    match = _PATENT_SHAPE.fullmatch(value)
    if match is None:
        return "want 12 or 8 digits, a dot and a check character"
    digits, check = match[1], match[2]
    remainder = sum(int(d) * w for d, w in zip(digits, PATENT_WEIGHTS, strict=False)) % 11
    want = "X" if remainder == _CHECK_X else str(remainder)
    if check != want:
        return f"check character {check!r}, want {want!r}"
    new_form = len(digits) == _NEW_FORM_DIGITS
    type_digit = digits[4] if new_form else digits[2]
    if type_digit not in PATENT_TYPES_BY_DIGIT:
        return f"type digit {type_digit!r}, want 1, 2, 3, 8 or 9"
    return _patent_year_misfit(digits, new_form=new_form)


def _patent_year_misfit(digits: str, *, new_form: bool) -> str | None:
    if new_form:
        year = int(digits[:4])
        if not YEAR_MIN <= year <= YEAR_MAX:
            return f"application year {year}, want {YEAR_MIN}..{YEAR_MAX}"
        return None
    short = int(digits[:2])
    year = 2000 + short if short <= OLD_FORM_LAST_YEAR - 2000 else 1900 + short
    if not YEAR_MIN <= year <= OLD_FORM_LAST_YEAR:
        return f"old-form year {digits[:2]!r}, want 85..99 or 00..03"
    return None


def patent_type(value: str) -> str:
    """The type of patent number ``value``, which :func:`patent_misfit` accepted."""
    return PATENT_TYPES_BY_DIGIT[value[4] if len(value) == _NEW_FORM_DIGITS + 2 else value[2]]


# --- clean text (domain.values.clean_text) ----------------------------------------------------
_NOT_SHOWN: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # Cc: control characters, newlines and tabs included
    "\ud800-\udfff"  # Cs: lone surrogates
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"  # bidirectional marks and controls
)
TEXT_LIMITS: Final[Mapping[str, int]] = MappingProxyType(
    {  # the field's name in the event: its max_length in the domain's clean_text call
        "name": 200,  # a filer's, a filing's
        "model": 200,
        "variants": 200,
        "reference": 200,  # real-name verification
        "dispute_id": 64,
        "claimant": 200,
        "description": 2000,
        "note": 2000,  # a dispute's resolution, a benchmark table's
        "counterparty": 200,
        "reason": 2000,  # domain.command_inputs.REASON_MAX_LENGTH
    }
)
"""The longest text of each field the replay reads as clean text, in code points."""


def text_misfit(value: str, max_length: int) -> str | None:
    """Why ``value`` is not text ``clean_text`` records, or ``None``.

    Not empty, at most ``max_length`` code points, no surrounding whitespace, no control (Cc),
    surrogate (Cs) or bidirectional control character. Not checked: that it is NFC, which
    depends on the Unicode version of the Python running the auditor (a character unassigned
    when the ledger recorded it may have a decomposition in a later version).
    """
    if not value:
        return "empty"
    if len(value) > max_length:
        return f"{len(value)} characters, want at most {max_length}"
    if value[0].isspace() or value[-1].isspace():
        return "surrounding whitespace"
    found = _NOT_SHOWN.search(value)
    if found is not None:
        return f"a control character at position {found.start() + 1}: U+{ord(found[0]):04X}"
    return None


# --- digests, categories, bounds ----------------------------------------------------------------
# SHA256_HEX (domain.values.Sha256Digest: 64 lowercase hex characters) is dispute_rule's.
FINER_CODE: Final = re.compile(r"[0-9]{3,6}")  # domain.categories.parse_industry: 3 to 6 digits


def finer_code_misfit(finer_code: object, category: str) -> str | None:
    """Why ``finer_code`` is not one the domain records under ``category`` (01-07), or
    ``None``: null, or 3 to 6 ASCII digits starting with the category's two."""
    if finer_code is None:
        return None
    if not isinstance(finer_code, str) or FINER_CODE.fullmatch(finer_code) is None:
        return "want 3 to 6 digits"
    if not finer_code.startswith(category):
        return f"want a code starting with {category!r}"
    return None


MONEY_MAX_FEN: Final = 10**15  # domain.ranges.MONEY_MAX_FEN (since issue #14's bounds)
PATENT_COUNT_MAX: Final = 1_000_000  # domain.ranges.PATENT_COUNT_MAX (since the same bounds)

# --- a published statistics cell (domain.command_inputs.published_cell, published_count) -----
CELL_KEYS: Final = frozenset(
    {"level", "region_code", "data_year", "filers", "filings", "sales_fen", "exports_fen",
     "suppressed"}
)  # fmt: skip
COUNT_KEYS: Final = frozenset(
    {"level", "region_code", "filers", "products", "pending", "rejected", "withdrawn"}
)
CELL_LEVELS: Final = ("district", "city", "province")
SUPPRESSIONS: Final = ("primary", "secondary")  # tuples: a forged value may be unhashable
_COUNTED: Final = ("filers", "products", "pending", "rejected", "withdrawn")


def _counts(values: tuple[object, ...]) -> bool:
    return all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in values)


def cell_misfit(cell: object) -> str | None:
    """Why ``cell`` is not a cell ``publish_statistics`` records, or ``None``: exactly the
    keys of a cell, its counts non-negative integers, money digit strings (or both null when
    suppressed, ``primary`` or ``secondary``), a known level, a 6-digit region code."""
    if not isinstance(cell, Mapping) or set(cell) != CELL_KEYS:
        return f"{cell!r:.200}, want an object with keys {sorted(CELL_KEYS)}"
    if not _counts((cell["data_year"], cell["filers"], cell["filings"])):
        return "data_year, filers and filings: want non-negative integers"
    money = (cell["sales_fen"], cell["exports_fen"])
    shown = all(isinstance(m, str) and m.isascii() and m.isdigit() for m in money)
    withheld = money == (None, None) and cell["suppressed"] in SUPPRESSIONS
    if not (shown and cell["suppressed"] is None) and not withheld:
        return "money: digit strings, or null when suppressed (primary or secondary)"
    if cell["level"] not in CELL_LEVELS:
        return f"level {cell['level']!r}, want one of {list(CELL_LEVELS)}"
    code = cell["region_code"]
    if not (isinstance(code, str) and _SIX_DIGITS.fullmatch(code)):
        return f"region_code {code!r}, want 6 digits"
    return None


def count_misfit(count: object) -> str | None:
    """Why ``count`` is not a region's counts ``publish_statistics`` records, or ``None``:
    exactly the keys of counts, the five counts non-negative integers."""
    if not isinstance(count, Mapping) or set(count) != COUNT_KEYS:
        return f"{count!r:.200}, want an object with keys {sorted(COUNT_KEYS)}"
    if not _counts(tuple(count[name] for name in _COUNTED)):
        return f"{', '.join(_COUNTED)}: want non-negative integers"
    return None
