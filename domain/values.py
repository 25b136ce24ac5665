"""Value objects of the filing domain: identifiers, codes, amounts and normalised text.

Every value object is a frozen, slotted dataclass that validates in ``__post_init__``, so an
instance that exists is valid: aggregates, projections and the API can pass them around without
re-checking. Constructors take the *canonical* form only; the ``parse`` class methods accept what
people actually type (spaces, prefixes, lower case) and normalise it first. That split keeps the
stored event payloads canonical while staying forgiving at the edge.

Rules raise the typed errors of :mod:`domain.errors` (never ``assert``: it vanishes under
``python -O``), with messages of the form "got X, want Y". No floats are used anywhere: amounts
are integer fen, because a ledger that sums sales must be exact.
"""

from __future__ import annotations

import re
import types
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from audit.offline.annex_rule import (
    BEIJING,
    CURRENT_ANNEX_RULE,
    LEGACY_REGION_CODES,
    UNCLASSIFIED,
    AnnexRule,
    data_year_misfit,
    kind_misfit,
    region_misfit,
    sales_misfit,
    uscc_region,
)
from audit.offline.dispute_rule import CURRENT_DISPUTE_RULE, DisputeRule, accepted_on_raising
from audit.offline.filing_number import (
    CURRENT_FILING_NUMBER_RULE,
    FilingNumberRule,
    approval_year,
    format_filing_number,
    parse_filing_number,
    series_id,
)
from audit.offline.product_key import (
    CURRENT_KEY_RULES,
    PRODUCT_KEY_NAMESPACE,
    PRODUCT_KEY_SEPARATOR,
    EmptyKeyPartError,
    KeyRule,
    reservation_id,
)
from audit.offline.product_key import product_key as _product_key
from audit.offline.screening import (
    CURRENT_SCREENING_RULE,
    Declaration,
    Reason,
    ScreeningIndex,
    ScreeningRule,
)
from domain.categories import (
    ConversionCategory,
    FilerKind,
    IndustryCategory,
    parse_industry,
)
from domain.errors import (
    CategoryInvalidError,
    DigestInvalidError,
    IdNotAllowedError,
    MoneyInvalidError,
    PatentNumberInvalidError,
    RegionCodeInvalidError,
    TextInvalidError,
    UsccInvalidError,
    UsccNotLegalPersonError,
    YearInvalidError,
)
from domain.ranges import FEN, MONEY_MAX_FEN, YEAR_MAX, YEAR_MIN, YEARS

__all__ = [
    "BEIJING",
    "CURRENT_ANNEX_RULE",
    "CURRENT_DISPUTE_RULE",
    "CURRENT_FILING_NUMBER_RULE",
    "CURRENT_KEY_RULES",
    "CURRENT_SCREENING_RULE",
    "LEGACY_REGION_CODES",
    "MONEY_MAX_FEN",
    "NAME_BASED_UUID_VERSIONS",
    "PRODUCT_KEY_NAMESPACE",
    "PRODUCT_KEY_SEPARATOR",
    "SHANGHAI_CITY_CODE",
    "SHANGHAI_DISTRICTS",
    "UNCLASSIFIED",
    "USCC_ALPHABET",
    "YEAR_MAX",
    "YEAR_MIN",
    "AnnexRule",
    "ClientId",
    "ConversionCategory",
    "Declaration",
    "DisputeRule",
    "FilerKind",
    "FilingNumberRule",
    "IndustryCategory",
    "KeyRule",
    "Money",
    "PatentNumber",
    "PatentType",
    "Reason",
    "RegionCode",
    "ScreeningIndex",
    "ScreeningRule",
    "Sha256Digest",
    "Uscc",
    "Year",
    "accepted_on_raising",
    "approval_year",
    "canonical_product_key",
    "chosen_id_misfit",
    "clean_text",
    "data_year_misfit",
    "filing_number_rule_in_force",
    "format_filing_number",
    "kind_misfit",
    "parse_filing_number",
    "parse_industry",
    "patent_check_char",
    "product_key",
    "product_key_id",
    "product_keys",
    "region_misfit",
    "sales_misfit",
    "screening_rule_in_force",
    "series_id",
    "uscc_check_char",
    "uscc_region",
]

# --------------------------------------------------------------------------------------------
# Unified Social Credit Code (GB 32100-2015)
# --------------------------------------------------------------------------------------------

USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 code characters of GB 32100-2015 (no I, O, S, V, Z: they read like 1, 0, 5, U, 2)."""

_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_LENGTH: Final = 18
_USCC_NOT_LEGAL_PERSON_PREFIX: Final = "92"


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a USCC.

    The check is ``alphabet[(31 - sum(value * weight) mod 31) mod 31]``. Because 31 is prime and
    no weight is 0 mod 31, any single substituted character changes the check, so one typo in a
    filer's code is always caught before it becomes the key of a registration.

    Raises:
        UsccInvalidError: ``first17`` is not 17 characters of the USCC alphabet.
    """
    if len(first17) != _USCC_LENGTH - 1:
        raise UsccInvalidError(
            f"USCC check needs 17 characters: got {len(first17)}, want 17", value=first17
        )
    total = 0
    for position, (char, weight) in enumerate(zip(first17, _USCC_WEIGHTS, strict=True), 1):
        index = USCC_ALPHABET.find(char)
        if index < 0:
            raise UsccInvalidError(
                f"USCC character {position} is not in the code alphabet: got {char!r}, "
                f"want one of {USCC_ALPHABET}",
                value=first17,
            )
        total += index * weight
    return USCC_ALPHABET[(31 - total % 31) % 31]


@dataclass(frozen=True, slots=True)
class Uscc:
    """An 18-character Unified Social Credit Code identifying a filer.

    Layout: registration authority (1) + organisation type (1) + region code (6, GB/T 2260) +
    organisation code (9, GB 11714) + check character (1). Only independent legal entities may
    file, so the prefix ``92`` (individual business, 个体工商户) is refused with its own error:
    the code is well formed, the *filer* is not eligible, and the API should say which.

    Raises:
        UsccInvalidError: wrong length, alphabet, non-digit region part or check character.
        UsccNotLegalPersonError: a well-formed code with prefix ``92``.
    """

    value: str

    def __post_init__(self) -> None:
        value = self.value
        if len(value) != _USCC_LENGTH:
            raise UsccInvalidError(
                f"USCC must be 18 characters: got {len(value)} in {value!r}, want 18", value=value
            )
        for position, char in enumerate(value, 1):
            if char not in USCC_ALPHABET:
                raise UsccInvalidError(
                    f"USCC character {position} is not in the code alphabet: got {char!r} in "
                    f"{value!r}, want one of {USCC_ALPHABET}",
                    value=value,
                )
        region = value[2:8]
        if not region.isdigit():
            raise UsccInvalidError(
                f"USCC characters 3-8 (region code) must be digits: got {region!r}, want 6 digits",
                value=value,
            )
        expected = uscc_check_char(value[:17])
        if value[17] != expected:
            raise UsccInvalidError(
                f"USCC check character mismatch: got {value[17]!r}, want {expected!r}",
                value=value,
            )
        if value.startswith(_USCC_NOT_LEGAL_PERSON_PREFIX):
            raise UsccNotLegalPersonError(
                f"USCC prefix 92 is an individual business, not a legal person: got {value!r}, "
                "want an independent legal entity (e.g. prefix 91, 12, 51, 52, 53)",
                value=value,
            )

    @classmethod
    def parse(cls, raw: str) -> Uscc:
        """Build from user input: surrounding whitespace is stripped and letters uppercased."""
        return cls(raw.strip().upper())

    @property
    def registration_authority(self) -> str:
        """First character: the registering authority (9 = market regulation, 1 = organs...)."""
        return self.value[0]

    @property
    def organisation_type(self) -> str:
        """First two characters, e.g. ``91`` enterprise, ``12`` public institution."""
        return self.value[:2]

    @property
    def region_code_part(self) -> str:
        """Characters 3-8: the GB/T 2260 region at registration time (may be a legacy code)."""
        return self.value[2:8]

    def __str__(self) -> str:
        return self.value


# --------------------------------------------------------------------------------------------
# Patent application numbers (CNIPA)
# --------------------------------------------------------------------------------------------


class PatentType(StrEnum):
    """The patent type encoded in the type digit ``T`` of an application number."""

    invention = "invention"
    utility_model = "utility_model"
    design = "design"
    pct_invention = "pct_invention"
    pct_utility_model = "pct_utility_model"

    @classmethod
    def from_type_digit(cls, digit: str) -> PatentType:
        """Map the type digit (1, 2, 3, 8, 9) to the type.

        Raises:
            PatentNumberInvalidError: any other digit.
        """
        try:
            return _PATENT_TYPE_BY_DIGIT[digit]
        except KeyError:
            raise PatentNumberInvalidError(
                f"unknown patent type digit: got {digit!r}, want one of 1, 2, 3, 8, 9",
                type_digit=digit,
            ) from None

    @property
    def type_digit(self) -> str:
        """The digit that encodes this type in an application number."""
        return _PATENT_TYPE_DIGITS[self]


_PATENT_TYPE_DIGITS: Final[Mapping[PatentType, str]] = types.MappingProxyType(
    {
        PatentType.invention: "1",
        PatentType.utility_model: "2",
        PatentType.design: "3",
        PatentType.pct_invention: "8",
        PatentType.pct_utility_model: "9",
    }
)
_PATENT_TYPE_BY_DIGIT: Final[Mapping[str, PatentType]] = types.MappingProxyType(
    {digit: patent_type for patent_type, digit in _PATENT_TYPE_DIGITS.items()}
)

_PATENT_WEIGHTS: Final = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_PATENT_NEW_DIGITS: Final = 12
_PATENT_OLD_DIGITS: Final = 8
_PATENT_CANONICAL_RE: Final = re.compile(r"(?P<digits>[0-9]{12}|[0-9]{8})\.(?P<check>[0-9X])")
_PATENT_PREFIXES: Final = ("ZL", "CN")
_PATENT_IGNORED_CHARS: Final = frozenset(".\uff0e")  # ASCII full stop and full-width U+FF0E
_OLD_FORM_LAST_YEAR: Final = 2003  # the 8-digit form ran until the 2003 switch to 12 digits
_OLD_FORM_FIRST_YEAR: Final = 1985  # the Chinese patent system started on 1 April 1985


def patent_check_char(digits: str) -> str:
    """Return the check character for the 12 (new form) or 8 (old form) digits of a number.

    ``C = sum(digit * weight) mod 11`` with weights 2,3,4,5,6,7,8,9,2,3,4,5 (the old form uses
    the first eight), and 10 is written ``X``. No weight is 0 mod 11 and 11 is prime, so any
    single wrong digit changes the check: a mistyped patent in a declaration is caught here.

    Raises:
        PatentNumberInvalidError: ``digits`` is not 8 or 12 ASCII digits.
    """
    if len(digits) not in (_PATENT_OLD_DIGITS, _PATENT_NEW_DIGITS) or not _is_ascii_digits(digits):
        raise PatentNumberInvalidError(
            f"patent check needs 8 or 12 digits: got {digits!r}, want 8 or 12 ASCII digits",
            value=digits,
        )
    remainder = sum(int(d) * w for d, w in zip(digits, _PATENT_WEIGHTS, strict=False)) % 11
    return "X" if remainder == 10 else str(remainder)


@dataclass(frozen=True, slots=True)
class PatentNumber:
    """A Chinese patent application number in canonical form ``digits.C``.

    New form (from October 2003): ``YYYY T NNNNNNN . C``, e.g. ``202110182616.5``. Old form:
    ``YY T NNNNN . C``, e.g. ``99113861.9``. The canonical form drops the ``ZL``/``CN`` prefixes
    and spaces because they are presentation, not identity: the same patent written two ways
    must compare equal, or one patent could be declared twice.

    Raises:
        PatentNumberInvalidError: bad shape, check character, type digit or year.
    """

    value: str

    def __post_init__(self) -> None:
        value = self.value
        match = _PATENT_CANONICAL_RE.fullmatch(value)
        if match is None:
            raise PatentNumberInvalidError(
                f"patent number is not in canonical form: got {value!r}, "
                "want 12 or 8 digits, a dot and a check character (e.g. '202110182616.5')",
                value=value,
            )
        digits, check = match["digits"], match["check"]
        expected = patent_check_char(digits)
        if check != expected:
            raise PatentNumberInvalidError(
                f"patent number check character mismatch in {value!r}: got {check!r}, "
                f"want {expected!r}",
                value=value,
            )
        PatentType.from_type_digit(_type_digit(digits))
        year = _application_year(digits)
        if len(digits) == _PATENT_NEW_DIGITS and not YEAR_MIN <= year <= YEAR_MAX:
            raise PatentNumberInvalidError(
                f"patent application year out of range in {value!r}: got {year}, "
                f"want {YEAR_MIN}..{YEAR_MAX}",
                value=value,
            )
        if len(digits) == _PATENT_OLD_DIGITS and not (
            _OLD_FORM_FIRST_YEAR <= year <= _OLD_FORM_LAST_YEAR
        ):
            raise PatentNumberInvalidError(
                f"old-form (8-digit) patent year out of range in {value!r}: got {digits[:2]!r}, "
                "want 85..99 (1985-1999) or 00..03 (2000-2003)",
                value=value,
            )

    @classmethod
    def parse(cls, raw: str) -> PatentNumber:
        """Build from user input such as ``ZL 2021 1018 2616.5`` or ``cn 202110182616 .5``.

        Whitespace (including the full-width space U+3000) and dots (ASCII and full-width)
        are removed, letters uppercased, and one leading ``ZL`` or ``CN`` dropped; the dot is
        then put back before the last character.
        """
        compact = "".join(
            char for char in raw if not char.isspace() and char not in _PATENT_IGNORED_CHARS
        ).upper()
        for prefix in _PATENT_PREFIXES:
            if compact.startswith(prefix):
                compact = compact[len(prefix) :]
                break
        if len(compact) < 2:
            raise PatentNumberInvalidError(
                f"patent number too short: got {raw!r}, want 12 or 8 digits and a check character",
                value=raw,
            )
        return cls(f"{compact[:-1]}.{compact[-1]}")

    @property
    def digits(self) -> str:
        """The 12 or 8 digits before the dot."""
        return self.value[:-2]

    @property
    def check_char(self) -> str:
        """The check character after the dot (a digit or ``X``)."""
        return self.value[-1]

    @property
    def is_old_form(self) -> bool:
        """True for 8-digit numbers filed before the 2003 switch to 12 digits."""
        return len(self.digits) == _PATENT_OLD_DIGITS

    @property
    def patent_type(self) -> PatentType:
        """Invention, utility model, design or their PCT national-phase variants."""
        return PatentType.from_type_digit(_type_digit(self.digits))

    @property
    def application_year(self) -> int:
        """The four-digit year of filing (old-form ``YY`` expanded to 19YY or 20YY)."""
        return _application_year(self.digits)

    def __str__(self) -> str:
        return self.value


def _type_digit(digits: str) -> str:
    return digits[4] if len(digits) == _PATENT_NEW_DIGITS else digits[2]


def _application_year(digits: str) -> int:
    if len(digits) == _PATENT_NEW_DIGITS:
        return int(digits[:4])
    short = int(digits[:2])
    return 2000 + short if short <= _OLD_FORM_LAST_YEAR - 2000 else 1900 + short


# --------------------------------------------------------------------------------------------
# Region codes (GB/T 2260)
# --------------------------------------------------------------------------------------------

SHANGHAI_CITY_CODE: Final = "310000"

SHANGHAI_DISTRICTS: Final[Mapping[str, str]] = types.MappingProxyType(
    {
        "310101": "黄浦区",
        "310104": "徐汇区",
        "310105": "长宁区",
        "310106": "静安区",
        "310107": "普陀区",
        "310109": "虹口区",
        "310110": "杨浦区",
        "310112": "闵行区",
        "310113": "宝山区",
        "310114": "嘉定区",
        "310115": "浦东新区",
        "310116": "金山区",
        "310117": "松江区",
        "310118": "青浦区",
        "310120": "奉贤区",
        "310151": "崇明区",
    }
)
"""The 16 current Shanghai districts: regional administrators see exactly these regions."""

_SHANGHAI_PREFIX: Final = "31"
_SHANGHAI_CITY_NAME: Final = "上海市"
_PROVINCE_PREFIXES: Final = frozenset(
    f"{n:02d}"
    for n in (
        *range(11, 16),
        *range(21, 24),
        *range(31, 38),
        *range(41, 47),
        *range(50, 55),
        *range(61, 66),
        71,
        81,
        82,
    )
)


@dataclass(frozen=True, slots=True)
class RegionCode:
    """A six-digit GB/T 2260 region code, used to scope what a regional administrator sees.

    Shanghai is checked against its current district list (plus 310000 for the city), because
    the statistics are published per district and a stale or invented code would silently drop
    a filer out of every district's count. Other provinces are accepted by structure only: a
    real province-level prefix and six digits, since we do not carry the national list.

    Raises:
        RegionCodeInvalidError: not six ASCII digits, unknown province prefix, or a Shanghai
            code that is neither the city nor a current district.
    """

    value: str

    def __post_init__(self) -> None:
        value = self.value
        if len(value) != 6 or not _is_ascii_digits(value):
            raise RegionCodeInvalidError(
                f"region code must be 6 digits: got {value!r}, want e.g. '310115'", value=value
            )
        if value[:2] not in _PROVINCE_PREFIXES:
            raise RegionCodeInvalidError(
                f"region code has no such province: got prefix {value[:2]!r}, "
                f"want one of {', '.join(sorted(_PROVINCE_PREFIXES))}",
                value=value,
            )
        if (
            value.startswith(_SHANGHAI_PREFIX)
            and value != SHANGHAI_CITY_CODE
            and value not in SHANGHAI_DISTRICTS
        ):
            hint = (
                f" (retired; use {LEGACY_REGION_CODES[value]})"
                if value in LEGACY_REGION_CODES
                else ""
            )
            raise RegionCodeInvalidError(
                f"not a current Shanghai region code: got {value!r}{hint}, "
                f"want {SHANGHAI_CITY_CODE} or one of {', '.join(SHANGHAI_DISTRICTS)}",
                value=value,
            )

    @classmethod
    def parse(cls, raw: str) -> RegionCode:
        """Build from user input or a USCC region part, mapping retired Shanghai codes forward.

        Only the mapping in :data:`LEGACY_REGION_CODES` is applied; the original code is not
        recorded here (a caller that needs it keeps the raw input, e.g. inside the USCC).
        """
        code = raw.strip()
        return cls(LEGACY_REGION_CODES.get(code, code))

    @property
    def province_code(self) -> str:
        """The province-level code: first two digits + ``0000``."""
        return f"{self.value[:2]}0000"

    @property
    def city_code(self) -> str:
        """The prefecture-level code: first four digits + ``00``."""
        return f"{self.value[:4]}00"

    @property
    def name(self) -> str | None:
        """Chinese name for Shanghai codes (district, or 上海市 for 310000); ``None`` elsewhere."""
        if self.value == SHANGHAI_CITY_CODE:
            return _SHANGHAI_CITY_NAME
        return SHANGHAI_DISTRICTS.get(self.value)

    def __str__(self) -> str:
        return self.value


# --------------------------------------------------------------------------------------------
# Money, years, digests
# --------------------------------------------------------------------------------------------

_YUAN_RE: Final = re.compile(r"(?P<yuan>[0-9]+)(?:\.(?P<fen>[0-9]{1,2}))?")
_YUAN_MAX_CHARS: Final = 32  # far above MONEY_MAX_FEN's 16 digits; bounds work on hostile input


@dataclass(frozen=True, slots=True)
class Money:
    """A non-negative amount in fen (0.01 CNY), the unit of sales, exports, profit and IP spend.

    Integer fen only: floats cannot represent 0.1 exactly and regional totals are sums of
    thousands of filings, so a float anywhere would make the published statistics drift.
    ``bool`` is refused although it is an ``int`` subclass, since ``True`` is never an amount.
    At most ``MONEY_MAX_FEN`` (10**15 fen), so that the read models' sums fit 64 bits
    (domain.ranges; docs/api.md, "Ranges").

    Raises:
        MoneyInvalidError: not an ``int`` (or a ``bool``), negative, or above ``MONEY_MAX_FEN``.
    """

    fen: int

    def __post_init__(self) -> None:
        FEN.check(self.fen, field="amount", error=MoneyInvalidError)

    @classmethod
    def of(cls, fen: object, *, field: str) -> Money:
        """The amount a command input ``field`` states (e.g. ``"figures.sales_fen"``).

        Raises:
            MoneyInvalidError: as the constructor, with ``details["field"]`` naming ``field``
                and, out of range, ``details["minimum"]`` and ``details["maximum"]``.
        """
        return cls(FEN.check(fen, field=field, error=MoneyInvalidError))

    @classmethod
    def from_yuan(cls, text: str) -> Money:
        """Parse a yuan amount such as ``"1234.56"`` or ``"1234"`` exactly, without floats.

        Accepted: ASCII digits, optionally a dot and one or two decimals. Refused: signs,
        exponents, thousands separators, a bare or trailing dot, more than two decimals
        (rounding would invent or lose fen). Surrounding whitespace is stripped.

        Raises:
            MoneyInvalidError: the text is not such an amount, or it is too large.
        """
        stripped = text.strip()
        match = _YUAN_RE.fullmatch(stripped) if len(stripped) <= _YUAN_MAX_CHARS else None
        if match is None:
            raise MoneyInvalidError(
                f"not a yuan amount: got {text!r}, want digits with at most 2 decimals "
                "(e.g. '1234.56')",
                value=text,
            )
        fen_text = (match["fen"] or "").ljust(2, "0")
        return cls(int(match["yuan"]) * 100 + int(fen_text))

    @property
    def yuan_text(self) -> str:
        """Yuan with exactly two decimals, e.g. ``"1234.56"``."""
        yuan, fen = divmod(self.fen, 100)
        return f"{yuan}.{fen:02d}"

    def __str__(self) -> str:
        return self.yuan_text


@dataclass(frozen=True, slots=True)
class Year:
    """A calendar year of data or certification, bounded so typos like 20233 are refused.

    Raises:
        YearInvalidError: not an ``int`` (or a ``bool``), or outside 1985..2100.
    """

    value: int

    def __post_init__(self) -> None:
        YEARS.check(self.value, field="year", error=YearInvalidError)

    @classmethod
    def of(cls, value: object, *, field: str) -> Year:
        """The year a command input ``field`` states (e.g. ``"data_year"``).

        Raises:
            YearInvalidError: as the constructor, with ``details["field"]`` naming ``field``
                and, out of range, ``details["minimum"]`` and ``details["maximum"]``.
        """
        return cls(YEARS.check(value, field=field, error=YearInvalidError))

    def __str__(self) -> str:
        return str(self.value)


_SHA256_HEX_RE: Final = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Sha256Digest:
    """A SHA-256 digest of a proof document, as 64 lowercase hex characters.

    One spelling only (lowercase) so that equal digests are equal strings: the audit log
    hashes stored bytes, and two spellings of one digest would hash differently.

    Raises:
        DigestInvalidError: not exactly 64 lowercase hex characters.
    """

    hex: str  # the name callers expect (like hashlib's hexdigest); shadowing is attribute-only

    def __post_init__(self) -> None:
        if _SHA256_HEX_RE.fullmatch(self.hex) is None:
            raise DigestInvalidError(
                f"SHA-256 digest must be 64 lowercase hex characters: got {self.hex!r} "
                f"({len(self.hex)} characters), want [0-9a-f]{{64}}",
                value=self.hex,
            )

    @classmethod
    def parse(cls, raw: str) -> Sha256Digest:
        """Build from user input: whitespace stripped, hex letters lowercased."""
        return cls(raw.strip().lower())

    def __str__(self) -> str:
        return self.hex


# --------------------------------------------------------------------------------------------
# Client-chosen aggregate ids (RFC 9562)
# --------------------------------------------------------------------------------------------

NAME_BASED_UUID_VERSIONS: Final = frozenset({3, 5})
"""Versions of UUIDs derived from a name (RFC 9562 §5.3 MD5, §5.5 SHA-1): the ledger's own."""

_UUID_MAX_INT: Final = (1 << 128) - 1


def chosen_id_misfit(value: uuid.UUID) -> str | None:
    """Why ``value`` cannot be an aggregate id chosen by a client, or ``None`` when it can.

    Refused: a name-based UUID (version 3 or 5), since every id the ledger derives is a uuid5
    and a client id among them would squat a record the ledger creates later (a round, a
    filer, a reservation...); the nil and max UUIDs (RFC 9562 §5.9, §5.10), placeholders that
    no generator draws. The version is read from bits 48-51 whatever the variant, so an outside
    implementation looks at one hex digit. The offline replay keeps a standard-library copy
    (audit/offline/replay.py, rule E7); tests/domain/test_ids.py checks the two agree.
    """
    if value.int == 0:
        return "the nil UUID"
    if value.int == _UUID_MAX_INT:
        return "the max UUID"
    version = (value.int >> 76) & 0xF
    if version in NAME_BASED_UUID_VERSIONS:
        return f"a name-based UUID (version {version}), the kind of id the ledger derives"
    return None


@dataclass(frozen=True, slots=True)
class ClientId:
    """An aggregate id chosen by a client (a filing's, an objection's): never a derived one.

    Why a value object: the commands that accept a chosen id (``file_product``,
    ``file_objection``) build one, so the API, the command line and the sample loader all meet
    the rule of :func:`chosen_id_misfit`; ids the ledger derives stay out of clients' reach.
    ``field`` names the request field in the message.

    Raises:
        IdNotAllowedError: a name-based (version 3 or 5), nil or max UUID.
    """

    value: uuid.UUID
    field: str = "id"

    def __post_init__(self) -> None:
        misfit = chosen_id_misfit(self.value)
        if misfit is not None:
            raise IdNotAllowedError(
                f"{self.field} {self.value} is {misfit}: want a random UUID (e.g. version 4)",
                field=self.field,
                id=str(self.value),
            )

    @classmethod
    def or_new(cls, chosen: uuid.UUID | None, *, field: str) -> uuid.UUID:
        """The client's id once checked, or a fresh random one (version 4) if it chose none."""
        return uuid.uuid4() if chosen is None else cls(chosen, field).value


# Categories: domain/categories.py (re-exported above)

# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------


def product_key(rule: KeyRule, name: str, model: str) -> str:
    """Return the key under ``rule`` of a product (相同产品不得重复备案).

    The rules themselves live in :mod:`audit.offline.product_key`, the one module the ledger and the
    offline auditor share (docs/never-filed-twice.md): v1 (NFKC, casefold, drop P*/Z*/C*)
    and v2 (the pinned Unicode / UTS #39 confusables / OpenCC table). This wrapper turns a
    name or model that folds to nothing into the domain's ``text_invalid`` refusal.

    Raises:
        TextInvalidError: the name, or under v2 a non-blank model, is empty after the rule.
    """
    try:
        return _product_key(rule, name, model)
    except EmptyKeyPartError as exc:
        raise TextInvalidError(str(exc), field=exc.field, key_rule=int(exc.rule)) from None


def product_keys(name: str, model: str) -> dict[KeyRule, str]:
    """The keys a new filing reserves: one per rule in force (``CURRENT_KEY_RULES``).

    Raises:
        TextInvalidError: as :func:`product_key`, under any rule.
    """
    return {rule: product_key(rule, name, model) for rule in CURRENT_KEY_RULES}


def canonical_product_key(name: str, model: str) -> str:
    """The key rule v1 key (kept for v1 reservations, which stay valid for ever).

    Raises:
        TextInvalidError: the name is empty after normalisation.
    """
    return product_key(KeyRule.V1, name, model)


def product_key_id(key: str, rule: KeyRule = KeyRule.V1) -> uuid.UUID:
    """Return the id of the uniqueness index record for a product key under ``rule``.

    A deterministic id lets the index aggregate be saved in the same transaction as the
    filing, so a second filing of the same key fails on the id, even under concurrency.
    """
    return reservation_id(rule, key)


_BIDI_CONTROLS: Final = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def clean_text(raw: str, *, field: str, max_length: int) -> str:
    """Return ``raw`` stripped and NFC-normalised, refusing what cannot be shown faithfully.

    Refused: empty text, text longer than ``max_length`` code points (after normalisation),
    control characters (category ``Cc``, including newlines and tabs), lone surrogates (they
    cannot be stored as UTF-8) and bidirectional embedding/override/isolate/mark characters
    (they make displayed text differ from stored text, which an audit trail cannot allow).

    Raises:
        TextInvalidError: any of the above; ``details["field"]`` names the field.
        ValueError: ``max_length`` is not positive (a programming error, not user input).
    """
    if max_length < 1:
        raise ValueError(f"max_length must be positive: got {max_length}, want >= 1")
    text = unicodedata.normalize("NFC", raw.strip())
    if not text:
        raise TextInvalidError(f"{field} must not be empty: got {raw!r}, want text", field=field)
    if len(text) > max_length:
        raise TextInvalidError(
            f"{field} is too long: got {len(text)} characters, want at most {max_length}",
            field=field,
        )
    for position, char in enumerate(text, 1):
        if unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI_CONTROLS:
            raise TextInvalidError(
                f"{field} contains a control character at position {position}: "
                f"got U+{ord(char):04X}, want printable text",
                field=field,
            )
    return text


def _is_ascii_digits(text: str) -> bool:
    """``str.isdigit`` also accepts e.g. U+0661 or U+00B2; codes must be ASCII digits only."""
    return text.isascii() and text.isdigit()


def screening_rule_in_force() -> ScreeningRule:
    """The near-duplicate screening rule new filings and approvals are recorded under.

    A function, not the constant, so tests of logs made before screening can patch
    ``CURRENT_SCREENING_RULE`` here (tests.domain.factories.before_screening).
    """
    return CURRENT_SCREENING_RULE


def annex_rule_in_force() -> AnnexRule:
    """The annex rule new filer and filing events are recorded under (audit.offline.annex_rule).

    A function, not the constant, so tests of logs made before annex rule v1 can patch
    ``CURRENT_ANNEX_RULE`` here (tests.domain.factories.before_annex_rule).
    """
    return CURRENT_ANNEX_RULE


def parse_product_category(
    category: str, finer_code: str | None, rule: AnnexRule
) -> tuple[str, str | None]:
    """A filing's category: 01-07 with an optional finer code, or (from annex rule v1)
    ``unclassified`` with none ("不受产业分类限制": any industry may file).

    Raises:
        CategoryInvalidError: as ``parse_industry``; or a finer code under ``unclassified``.
    """
    if rule is not AnnexRule.NONE and category.strip() == UNCLASSIFIED:
        if finer_code is not None:
            raise CategoryInvalidError(
                f"an unclassified filing has no finer code: got {finer_code!r}",
                value=finer_code,
            )
        return UNCLASSIFIED, None
    industry, finer = parse_industry(category, finer_code)
    return industry.value, finer


def dispute_rule_in_force() -> DisputeRule:
    """The dispute rule new disputes are recorded under (audit.offline.dispute_rule); patchable by
    tests of logs made before it (tests.domain.factories.before_dispute_rule)."""
    return CURRENT_DISPUTE_RULE


def filing_number_rule_in_force() -> FilingNumberRule:
    """The filing number rule approvals are recorded under (audit.offline.filing_number);
    patchable by tests of logs made before it (tests.domain.factories.before_filing_numbers)."""
    return CURRENT_FILING_NUMBER_RULE
