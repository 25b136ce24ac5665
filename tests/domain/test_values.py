"""Value objects: the known examples of the domain brief, then properties of each scheme."""

from __future__ import annotations

import dataclasses
import hashlib
import string
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.errors import (
    CategoryInvalidError,
    DigestInvalidError,
    DomainError,
    MoneyInvalidError,
    PatentNumberInvalidError,
    RegionCodeInvalidError,
    TextInvalidError,
    UsccInvalidError,
    UsccNotLegalPersonError,
    YearInvalidError,
)
from domain.values import (
    LEGACY_REGION_CODES,
    MONEY_MAX_FEN,
    PRODUCT_KEY_NAMESPACE,
    PRODUCT_KEY_SEPARATOR,
    SHANGHAI_DISTRICTS,
    USCC_ALPHABET,
    ConversionCategory,
    FilerKind,
    IndustryCategory,
    Money,
    PatentNumber,
    PatentType,
    RegionCode,
    Sha256Digest,
    Uscc,
    Year,
    canonical_product_key,
    clean_text,
    parse_industry,
    patent_check_char,
    product_key_id,
    uscc_check_char,
)


def fw(text: str) -> str:
    """Full-width form of ASCII text (U+FF01..U+FF5E), spelled out so the source stays ASCII."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


@contextmanager
def raises_exactly(error_type: type[DomainError], code: str) -> Iterator[None]:
    """Like ``pytest.raises`` but refuses subclasses and checks the stable ``code``."""
    with pytest.raises(error_type) as excinfo:
        yield
    assert type(excinfo.value) is error_type
    assert excinfo.value.code == code


# ---------------------------------------------------------------------------------------------
# USCC
# ---------------------------------------------------------------------------------------------

VALID_USCCS = ["91310115688774070B", "91310115MA1HA5651R", "91440101MA5CJQ4N59"]
LEGAL_PREFIXES = ["91", "12", "51", "52", "53", "11", "31", "Y1"]

uscc_first17 = st.builds(
    lambda prefix, region, org: prefix + region + org,
    st.sampled_from(LEGAL_PREFIXES),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
)


@pytest.mark.parametrize("code", VALID_USCCS)
def test_known_valid_usccs_are_accepted(code):
    assert Uscc(code).value == code
    assert uscc_check_char(code[:17]) == code[17]


@pytest.mark.parametrize("code", VALID_USCCS)
def test_uscc_parse_strips_and_uppercases(code):
    assert Uscc.parse(f"  {code.lower()}\t") == Uscc(code)


def test_uscc_parts_are_exposed_as_properties():
    uscc = Uscc("91310115MA1HA5651R")
    assert uscc.registration_authority == "9"
    assert uscc.organisation_type == "91"
    assert uscc.region_code_part == "310115"
    assert str(uscc) == "91310115MA1HA5651R"


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91310115688774070A", "wrong check character"),
        ("91310115688774070", "17 characters"),
        ("91310115688774070BB", "19 characters"),
        ("", "empty"),
        ("91310115MA1HA5651r", "lower case is not canonical"),
        ("9131011568877407OB", "O is not in the alphabet"),
        ("91310115688774I70B", "I is not in the alphabet"),
        ("913A0115688774070B", "region part must be digits"),
        (" 91310115688774070B", "constructor takes the canonical form only"),
    ],
)
def test_malformed_usccs_are_rejected(code, why):
    with raises_exactly(UsccInvalidError, "uscc_invalid"):
        Uscc(code)


def test_uscc_check_char_rejects_input_outside_the_alphabet_or_of_wrong_length():
    with raises_exactly(UsccInvalidError, "uscc_invalid"):
        uscc_check_char("9131011568877407")
    with raises_exactly(UsccInvalidError, "uscc_invalid"):
        uscc_check_char("9131011568877407O")


def test_uscc_of_an_individual_business_is_rejected_as_not_a_legal_person():
    first17 = "92310115MA1HA5651"
    code = first17 + uscc_check_char(first17)
    with raises_exactly(UsccNotLegalPersonError, "uscc_not_legal_person"):
        Uscc(code)
    with raises_exactly(UsccNotLegalPersonError, "uscc_not_legal_person"):
        Uscc.parse(code.lower())


def test_uscc_with_prefix_92_and_a_wrong_check_is_reported_as_malformed():
    first17 = "92310115MA1HA5651"
    wrong = next(c for c in USCC_ALPHABET if c != uscc_check_char(first17))
    with raises_exactly(UsccInvalidError, "uscc_invalid"):
        Uscc(first17 + wrong)


@given(uscc_first17)
def test_any_17_alphabet_chars_with_their_check_char_form_a_valid_uscc(first17):
    code = first17 + uscc_check_char(first17)
    assert Uscc(code).value == code
    assert Uscc.parse(code.lower()).value == code


@given(
    st.one_of(st.sampled_from(VALID_USCCS), uscc_first17.map(lambda f: f + uscc_check_char(f))),
    st.integers(min_value=0, max_value=17),
    st.data(),
)
def test_changing_any_single_uscc_character_is_detected(code, position, data):
    replacement = data.draw(st.sampled_from([c for c in USCC_ALPHABET if c != code[position]]))
    tampered = code[:position] + replacement + code[position + 1 :]
    with raises_exactly(UsccInvalidError, "uscc_invalid"):
        Uscc(tampered)


def test_uscc_is_immutable():
    uscc = Uscc(VALID_USCCS[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        uscc.value = VALID_USCCS[1]


def test_error_messages_say_what_was_got_and_what_was_wanted():
    with pytest.raises(UsccInvalidError) as excinfo:
        Uscc("91310115688774070A")
    assert "got 'A', want 'B'" in str(excinfo.value)
    assert str(excinfo.value).startswith("[uscc_invalid] ")


# ---------------------------------------------------------------------------------------------
# Patent numbers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical", "patent_type", "year"),
    [
        ("202110182616.5", "202110182616.5", PatentType.invention, 2021),
        ("ZL202322865413.3", "202322865413.3", PatentType.utility_model, 2023),
        ("ZL201811564288.X", "201811564288.X", PatentType.invention, 2018),
        ("ZL99113861.9", "99113861.9", PatentType.invention, 1999),
    ],
)
def test_known_valid_patent_numbers_parse_to_canonical_form(raw, canonical, patent_type, year):
    number = PatentNumber.parse(raw)
    assert number.value == canonical
    assert str(number) == canonical
    assert number.patent_type is patent_type
    assert number.application_year == year
    assert PatentNumber(canonical) == number


def test_known_invalid_patent_number_is_rejected():
    with raises_exactly(PatentNumberInvalidError, "patent_number_invalid"):
        PatentNumber.parse("ZL202310123456.7")


@pytest.mark.parametrize(
    ("digits", "check"),
    [("202110182616", "5"), ("202322865413", "3"), ("201811564288", "X"), ("99113861", "9")],
)
def test_patent_check_char_matches_the_known_examples(digits, check):
    assert patent_check_char(digits) == check


@pytest.mark.parametrize(
    "digits", ["", "2021101826", "2021101826165", "2021101826" + fw("1") + "6", "abcdefgh"]
)
def test_patent_check_char_refuses_anything_but_8_or_12_ascii_digits(digits):
    with raises_exactly(PatentNumberInvalidError, "patent_number_invalid"):
        patent_check_char(digits)


def test_old_form_number_reports_its_parts():
    number = PatentNumber.parse("ZL 99113861.9")
    assert number.is_old_form
    assert number.digits == "99113861"
    assert number.check_char == "9"


def test_lower_case_x_and_full_width_separators_are_normalised():
    assert PatentNumber.parse("zl\u3000201811564288\uff0ex").value == "201811564288.X"
    assert PatentNumber.parse("CN 2021 1018 2616.5").value == "202110182616.5"


def _with_check(digits: str) -> str:
    return f"{digits}.{patent_check_char(digits)}"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("ZL202110182616.5", "constructor takes the canonical form only"),
        ("2021101826165", "canonical form has the dot"),
        ("202110182616.x", "canonical check char is upper case"),
        ("2021101826.1", "10 digits"),
        (_with_check("202140182616"), "type digit 4"),
        (_with_check("202150182616"), "type digit 5"),
        (_with_check("202100182616"), "type digit 0"),
        (_with_check("198410182616"), "new-form year before 1985"),
        (_with_check("210110182616"), "new-form year after 2100"),
        (_with_check("04113861"), "old form ended in 2003"),
        (_with_check("84113861"), "old form started in 1985"),
        (_with_check("99413861"), "old-form type digit 4"),
    ],
)
def test_malformed_patent_numbers_are_rejected(value, why):
    with raises_exactly(PatentNumberInvalidError, "patent_number_invalid"):
        PatentNumber(value)


@pytest.mark.parametrize("raw", ["", "ZL", "CN5", " . ", "ZL202110182616", "ZLZL202110182616.5"])
def test_patent_parse_rejects_fragments_and_double_prefixes(raw):
    with raises_exactly(PatentNumberInvalidError, "patent_number_invalid"):
        PatentNumber.parse(raw)


@pytest.mark.parametrize(
    ("digit", "patent_type"),
    [
        ("1", PatentType.invention),
        ("2", PatentType.utility_model),
        ("3", PatentType.design),
        ("8", PatentType.pct_invention),
        ("9", PatentType.pct_utility_model),
    ],
)
def test_patent_type_comes_from_its_digit_and_back(digit, patent_type):
    assert PatentType.from_type_digit(digit) is patent_type
    assert patent_type.type_digit == digit


@pytest.mark.parametrize("digit", ["0", "4", "5", "6", "7", "", "11", "X"])
def test_unknown_patent_type_digit_is_rejected(digit):
    with raises_exactly(PatentNumberInvalidError, "patent_number_invalid"):
        PatentType.from_type_digit(digit)


TYPE_DIGITS = "12389"
new_form_digits = st.builds(
    lambda year, type_digit, serial: f"{year}{type_digit}{serial}",
    st.integers(min_value=1985, max_value=2100),
    st.sampled_from(TYPE_DIGITS),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
)
old_form_digits = st.builds(
    lambda yy, type_digit, serial: f"{yy:02d}{type_digit}{serial}",
    st.sampled_from([*range(85, 100), *range(4)]),
    st.sampled_from(TYPE_DIGITS),
    st.text(alphabet="0123456789", min_size=5, max_size=5),
)
any_form_digits = st.one_of(new_form_digits, old_form_digits)


@given(new_form_digits)
def test_any_new_form_digits_with_their_check_char_form_a_valid_number(digits):
    number = PatentNumber(_with_check(digits))
    assert number.application_year == int(digits[:4])
    assert number.patent_type.type_digit == digits[4]
    assert not number.is_old_form


@given(old_form_digits)
def test_any_old_form_digits_with_their_check_char_form_a_valid_number(digits):
    number = PatentNumber(_with_check(digits))
    yy = int(digits[:2])
    assert number.application_year == (1900 + yy if yy >= 85 else 2000 + yy)
    assert number.patent_type.type_digit == digits[2]
    assert number.is_old_form


@given(any_form_digits, st.data())
def test_changing_any_single_patent_character_is_detected(digits, data):
    chars = digits + patent_check_char(digits)
    position = data.draw(st.integers(min_value=0, max_value=len(chars) - 1))
    replacement = data.draw(st.sampled_from([c for c in "0123456789X" if c != chars[position]]))
    tampered = chars[:position] + replacement + chars[position + 1 :]
    with raises_exactly(PatentNumberInvalidError, "patent_number_invalid"):
        PatentNumber.parse(tampered)


SEPARATORS = ["", "", "", " ", "\u3000", ".", "\uff0e", "\t"]


@given(
    any_form_digits,
    st.sampled_from(["", "ZL", "zl", "Zl", "CN", "cn"]),
    st.lists(st.sampled_from(SEPARATORS), min_size=15, max_size=15),
    st.booleans(),
)
def test_spaces_dots_and_prefixes_do_not_change_the_canonical_number(
    digits, prefix, separators, lower_case
):
    canonical = _with_check(digits)
    chars = [prefix, *digits, patent_check_char(digits)]
    raw = "".join(sep + char for sep, char in zip(separators, chars, strict=False))
    raw = raw + separators[-1]
    if lower_case:
        raw = raw.lower()
    assert PatentNumber.parse(raw).value == canonical


# ---------------------------------------------------------------------------------------------
# Region codes
# ---------------------------------------------------------------------------------------------

PROVINCE_PREFIXES = [
    *range(11, 16),
    *range(21, 24),
    *range(31, 38),
    *range(41, 47),
    *range(50, 55),
    *range(61, 66),
    71,
    81,
    82,
]


def test_shanghai_has_the_sixteen_districts_of_the_brief():
    assert len(SHANGHAI_DISTRICTS) == 16
    assert SHANGHAI_DISTRICTS["310115"] == "浦东新区"
    assert SHANGHAI_DISTRICTS["310101"].startswith("黄浦")
    assert SHANGHAI_DISTRICTS["310151"].startswith("崇明")


@pytest.mark.parametrize("code", sorted(SHANGHAI_DISTRICTS))
def test_every_shanghai_district_parses_to_itself(code):
    region = RegionCode.parse(code)
    assert region.value == code
    assert region == RegionCode(code)
    assert region.name == SHANGHAI_DISTRICTS[code]
    assert region.province_code == "310000"
    assert region.city_code == "310100"


def test_shanghai_city_code_is_accepted():
    region = RegionCode("310000")
    assert region.name == "上海市"
    assert region.province_code == "310000"


@pytest.mark.parametrize(
    ("legacy", "current"),
    [("310103", "310101"), ("310108", "310106"), ("310119", "310115"), ("310230", "310151")],
)
def test_legacy_shanghai_codes_map_forward(legacy, current):
    assert LEGACY_REGION_CODES[legacy] == current
    assert RegionCode.parse(legacy).value == current
    assert RegionCode.parse(f" {legacy} ").value == current


@pytest.mark.parametrize("legacy", sorted(LEGACY_REGION_CODES))
def test_legacy_shanghai_codes_are_not_valid_region_codes_themselves(legacy):
    with raises_exactly(RegionCodeInvalidError, "region_code_invalid"):
        RegionCode(legacy)


def test_legacy_region_inside_a_uscc_resolves_to_the_current_district():
    first17 = "91310108MA1HA5651"
    uscc = Uscc(first17 + uscc_check_char(first17))
    assert RegionCode.parse(uscc.region_code_part).value == "310106"


ALLOWED_SHANGHAI = {*SHANGHAI_DISTRICTS, "310000"}


@given(st.integers(min_value=0, max_value=9999).map(lambda n: f"31{n:04d}"))
def test_shanghai_codes_outside_the_district_list_are_rejected(code):
    assume(code not in ALLOWED_SHANGHAI)
    with raises_exactly(RegionCodeInvalidError, "region_code_invalid"):
        RegionCode(code)
    if code not in LEGACY_REGION_CODES:
        with raises_exactly(RegionCodeInvalidError, "region_code_invalid"):
            RegionCode.parse(code)


@given(
    st.sampled_from([p for p in PROVINCE_PREFIXES if p != 31]),
    st.integers(min_value=0, max_value=9999),
)
def test_structurally_valid_codes_of_other_provinces_are_accepted(prefix, rest):
    code = f"{prefix:02d}{rest:04d}"
    region = RegionCode.parse(code)
    assert region.value == code
    assert region.province_code == f"{prefix:02d}0000"
    assert region.city_code == code[:4] + "00"
    assert region.name is None


@given(
    st.integers(min_value=0, max_value=99).filter(lambda p: p not in PROVINCE_PREFIXES),
    st.integers(min_value=0, max_value=9999),
)
def test_codes_with_no_such_province_are_rejected(prefix, rest):
    with raises_exactly(RegionCodeInvalidError, "region_code_invalid"):
        RegionCode.parse(f"{prefix:02d}{rest:04d}")


@pytest.mark.parametrize("code", ["", "31011", "3101150", "31011A", fw("310115"), "31 115"])
def test_region_codes_that_are_not_six_ascii_digits_are_rejected(code):
    with raises_exactly(RegionCodeInvalidError, "region_code_invalid"):
        RegionCode.parse(code)


def test_province_level_codes_are_accepted():
    assert RegionCode("440000").province_code == "440000"
    assert RegionCode("110000").city_code == "110000"


# ---------------------------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1234.56", 123456),
        ("1234", 123400),
        ("1234.5", 123450),
        ("0.05", 5),
        ("0", 0),
        (" 12.30 ", 1230),
        ("10000000000000", MONEY_MAX_FEN),
        ("10000000000000.00", MONEY_MAX_FEN),
    ],
)
def test_yuan_text_is_parsed_exactly_into_fen(text, fen):
    assert Money.from_yuan(text) == Money(fen)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-1",
        "+1",
        "1e3",
        "1E3",
        "1.234",
        ".5",
        "1.",
        "1,000",
        "1 000",
        "NaN",
        "inf",
        fw("12"),
        "٣",
        "0x10",
        "1_000",
        "10000000000000.01",  # MONEY_MAX_FEN + 1
        "92233720368547758.07",  # 2**63 - 1 fen, accepted before issue #14
        "9" * 40,
    ],
)
def test_malformed_or_out_of_range_yuan_text_is_rejected(text):
    with raises_exactly(MoneyInvalidError, "money_invalid"):
        Money.from_yuan(text)


def test_money_prints_yuan_with_two_decimals():
    assert str(Money(123456)) == "1234.56"
    assert str(Money(5)) == "0.05"
    assert str(Money(0)) == "0.00"
    assert Money(100).yuan_text == "1.00"


@given(st.integers(max_value=-1))
def test_negative_money_is_rejected(fen):
    with raises_exactly(MoneyInvalidError, "money_invalid"):
        Money(fen)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_float_money_is_rejected(value):
    with raises_exactly(MoneyInvalidError, "money_invalid"):
        Money(value)


@pytest.mark.parametrize("value", [True, False, Decimal("1.00"), Decimal(1), "100", None, 1j])
def test_bools_and_other_non_ints_are_not_money(value):
    with raises_exactly(MoneyInvalidError, "money_invalid"):
        Money(value)


def test_money_above_its_ceiling_is_rejected():
    assert Money(MONEY_MAX_FEN).fen == MONEY_MAX_FEN
    for above in (MONEY_MAX_FEN + 1, 2**63 - 1):
        with raises_exactly(MoneyInvalidError, "money_invalid"):
            Money(above)


@given(st.integers(min_value=0, max_value=MONEY_MAX_FEN))
def test_from_yuan_round_trips_str_of_any_amount(fen):
    money = Money(fen)
    assert Money.from_yuan(str(money)) == money


# ---------------------------------------------------------------------------------------------
# Year and digest
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1985, 2023, 2100])
def test_years_in_range_are_accepted(value):
    assert Year(value).value == value
    assert str(Year(value)) == str(value)


@pytest.mark.parametrize("value", [1984, 2101, 0, -2023, 20233, True, 2023.0, "2023", None])
def test_years_out_of_range_or_not_int_are_rejected(value):
    with raises_exactly(YearInvalidError, "year_invalid"):
        Year(value)


def test_sha256_digest_is_normalised_to_lower_case_by_parse():
    digest = hashlib.sha256(b"proof.pdf").hexdigest()
    assert Sha256Digest(digest).hex == digest
    assert Sha256Digest.parse(f" {digest.upper()} ") == Sha256Digest(digest)
    assert str(Sha256Digest(digest)) == digest


@pytest.mark.parametrize(
    "value",
    [
        "",
        "0" * 63,
        "0" * 65,
        "A" * 64,
        "g" * 64,
        "0" * 63 + "\n",
        hashlib.sha256(b"").hexdigest().upper(),
    ],
)
def test_malformed_sha256_digests_are_rejected(value):
    with raises_exactly(DigestInvalidError, "digest_invalid"):
        Sha256Digest(value)


def test_sha256_parse_still_rejects_wrong_lengths():
    with raises_exactly(DigestInvalidError, "digest_invalid"):
        Sha256Digest.parse("ab" * 31)


# ---------------------------------------------------------------------------------------------
# Categories
# ---------------------------------------------------------------------------------------------


def test_industry_categories_are_the_seven_of_the_2019_classification():
    assert [c.value for c in IndustryCategory] == ["01", "02", "03", "04", "05", "06", "07"]
    assert IndustryCategory("01").label == "ICT manufacturing"
    assert IndustryCategory("07").label == "R&D, design and technical services"
    assert [c.label_zh for c in IndustryCategory] == [
        "信息通信技术制造业",
        "信息通信技术服务业",
        "新装备制造业",
        "新材料制造业",
        "医药医疗产业",
        "环保产业",
        "研发、设计和技术服务业",
    ]
    assert all(c.label for c in IndustryCategory)


@pytest.mark.parametrize(
    ("category", "finer", "expected"),
    [
        ("01", None, (IndustryCategory.ict_manufacturing, None)),
        ("05", "051", (IndustryCategory.pharmaceuticals_and_medical, "051")),
        ("03", "0301", (IndustryCategory.new_equipment_manufacturing, "0301")),
        ("07", "070101", (IndustryCategory.rnd_design_and_technical_services, "070101")),
    ],
)
def test_industry_with_a_finer_code_under_it_is_accepted(category, finer, expected):
    assert parse_industry(category, finer) == expected


@pytest.mark.parametrize(
    ("category", "finer"),
    [
        ("08", None),
        ("00", None),
        ("1", None),
        ("", None),
        ("ICT manufacturing", None),
        ("01", "0201"),
        ("01", "01"),
        ("01", "0101011"),
        ("01", "01a"),
        ("01", fw("0101")),
        ("01", ""),
    ],
)
def test_unknown_industry_or_misplaced_finer_code_is_rejected(category, finer):
    with raises_exactly(CategoryInvalidError, "category_invalid"):
        parse_industry(category, finer)


def test_conversion_categories_carry_the_wording_of_the_feedback_form():
    assert {c.value: c.label_zh for c in ConversionCategory} == {
        "assigned": "已转让",
        "equity_contribution": "已作价入股",
        "open_licence": "已达成开放许可",
        "ordinary_licence": "已达成普通许可",
        "sole_licence": "已达成排他许可",
        "exclusive_licence": "已达成独占许可",
        "industrialised_by_licensee": "已由被许可人实现产业化",
        "industrialised_by_partner": "已通过技术服务合同或技术开发合同约定由合作企业实现产业化",
        "patent_pool": "已参与专利池运营",
    }


def test_conversion_category_parses_known_and_rejects_unknown_values():
    assert ConversionCategory.parse("patent_pool") is ConversionCategory.patent_pool
    with raises_exactly(CategoryInvalidError, "category_invalid"):
        ConversionCategory.parse("sold")
    with raises_exactly(CategoryInvalidError, "category_invalid"):
        ConversionCategory.parse("转让")  # not the form's wording


def test_conversion_category_parses_each_chinese_label_of_the_form_to_its_value():
    # Issue #17: institutions fill the form in Chinese; the event records the value.
    for category in ConversionCategory:
        assert ConversionCategory.parse(category.label_zh) is category
        assert ConversionCategory.parse(f" {category.label_zh} ") is category
    assert len({c.label_zh for c in ConversionCategory}) == len(ConversionCategory)


def test_filer_kinds_are_the_four_eligible_entity_kinds():
    assert [k.value for k in FilerKind] == [
        "enterprise",
        "university_or_institute",
        "new_rnd_institution",
        "social_organization",
    ]
    assert FilerKind.parse("enterprise") is FilerKind.enterprise
    with raises_exactly(CategoryInvalidError, "category_invalid"):
        FilerKind.parse("individual_business")


# ---------------------------------------------------------------------------------------------
# Product key
# ---------------------------------------------------------------------------------------------


def test_spelling_variants_of_one_model_share_a_product_key():
    key = canonical_product_key("华为 Mate 60 Pro", "ALN-AL00")
    assert key == canonical_product_key("华为mate60pro", "aln al00")
    assert key == "华为mate60pro\u001falnal00"


def test_full_width_letters_and_digits_fold_to_ascii():
    assert canonical_product_key(fw("MATE60"), "") == canonical_product_key("mate60", "")


def test_traditional_and_simplified_characters_are_not_folded():
    assert canonical_product_key("華為", "") != canonical_product_key("华为", "")


def test_symbols_are_kept_in_the_product_key():
    assert canonical_product_key("Mate 60+", "") != canonical_product_key("Mate 60", "")


def test_the_name_model_boundary_is_unambiguous():
    assert canonical_product_key("ab", "c") != canonical_product_key("a", "bc")
    assert canonical_product_key("a\u001fb", "") == canonical_product_key("ab", "")


@pytest.mark.parametrize("name", ["", "   ", "---", "\u3000\uff08\uff09", "\u200b\t"])
def test_product_name_empty_after_normalisation_is_rejected(name):
    with raises_exactly(TextInvalidError, "text_invalid"):
        canonical_product_key(name, "X 30")


def test_product_without_a_model_has_a_key():
    assert canonical_product_key("Widget", "") == "widget\u001f"


KEY_TEXT_ALPHABET = (
    string.ascii_letters + string.digits + "华为手机芯片材料+$"
)  # "#" is punctuation: a name of "#" alone has no key
KEY_NOISE = [" ", "\u3000", "\t", "\n", "-", "_", ".", "/", "(", ")", "·", "、", "\uff0c", "\u200b"]


def _noisy(text: str, noise: list[str], flips: list[bool]) -> str:
    return "".join(
        n + (c.swapcase() if flip else c) for n, c, flip in zip(noise, text, flips, strict=False)
    )


@given(
    st.text(alphabet=KEY_TEXT_ALPHABET, min_size=1, max_size=20),
    st.text(alphabet=KEY_TEXT_ALPHABET, max_size=20),
    st.lists(st.sampled_from(["", "", *KEY_NOISE]), min_size=20, max_size=20),
    st.lists(st.booleans(), min_size=20, max_size=20),
)
def test_whitespace_punctuation_and_case_do_not_change_the_product_key(name, model, noise, flips):
    key = canonical_product_key(name, model)
    assert canonical_product_key(_noisy(name, noise, flips), _noisy(model, noise, flips)) == key
    assert canonical_product_key(name.upper(), model.lower()) == key


@given(st.text(), st.text())
def test_product_key_parts_never_contain_whitespace_punctuation_or_controls(name, model):
    try:
        key = canonical_product_key(name, model)
    except TextInvalidError:
        return
    parts = key.split(PRODUCT_KEY_SEPARATOR)
    assert len(parts) == 2
    assert parts[0]
    for part in parts:
        assert not any(c.isspace() for c in part)
        assert not any(unicodedata.category(c)[0] in "PZC" for c in part)


def test_product_key_id_is_a_stable_uuid5_of_the_key():
    key = canonical_product_key("华为 Mate 60 Pro", "ALN-AL00")
    key_id = product_key_id(key)
    assert key_id == uuid.uuid5(PRODUCT_KEY_NAMESPACE, key)
    assert key_id.version == 5
    assert product_key_id(canonical_product_key("华为mate60pro", "aln al00")) == key_id
    assert product_key_id(canonical_product_key("华为mate60", "aln al00")) != key_id


# ---------------------------------------------------------------------------------------------
# Free text
# ---------------------------------------------------------------------------------------------


def test_clean_text_strips_and_composes():
    assert clean_text("  Cafe\u0301 X 30 ", field="name", max_length=20) == "Café X 30"


def test_clean_text_counts_length_after_normalisation():
    assert clean_text("e\u0301" * 3, field="name", max_length=3) == "é" * 3


@pytest.mark.parametrize(
    ("raw", "max_length"),
    [
        ("", 10),
        ("   \u3000 ", 10),
        ("x" * 11, 10),
        ("line\nbreak", 20),
        ("nul\x00", 20),
        ("tab\tinside", 20),
        ("del\x7f", 20),
        ("evil\u202etxt.exe", 30),
        ("lone \ud800 surrogate", 30),
    ],
)
def test_clean_text_rejects_empty_too_long_or_control_characters(raw, max_length):
    with pytest.raises(TextInvalidError) as excinfo:
        clean_text(raw, field="product_name", max_length=max_length)
    assert type(excinfo.value) is TextInvalidError
    assert excinfo.value.code == "text_invalid"
    assert excinfo.value.details["field"] == "product_name"
    assert "product_name" in excinfo.value.message


def test_clean_text_accepts_exactly_max_length():
    assert clean_text("华为手机", field="name", max_length=4) == "华为手机"


def test_clean_text_refuses_a_non_positive_limit_as_a_programming_error():
    with pytest.raises(ValueError, match="max_length"):
        clean_text("x", field="name", max_length=0)
