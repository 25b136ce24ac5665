"""Canonical JSON: one byte string per value, floats refused, orjson fast path == reference."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.offline.canonical import (
    decode_canonical,
    encode_canonical,
    encode_canonical_plain,
    format_timestamp,
    parse_timestamp,
)
from audit.offline.errors import NonCanonicalValueError
from audit.signing.transcoder import CanonicalTranscoder

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text()
    | st.datetimes(timezones=st.just(UTC))
    | st.uuids(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_fast_transcoder_writes_exactly_the_reference_bytes(value):
    transcoder = CanonicalTranscoder()
    encoded = transcoder.encode({"v": value})
    assert encoded == encode_canonical({"v": value})
    assert transcoder.decode(encoded) == {"v": value}
    assert decode_canonical(encoded) == {"v": value}


def test_keys_are_sorted_and_there_is_no_whitespace():
    assert encode_canonical({"b": 1, "a": [True, None, "é\n"]}) == (
        '{"a":[true,null,"é\\n"],"b":1}'.encode()
    )


@pytest.mark.parametrize("value", [1.5, float("nan"), {"x": 0.0}, {1: "a"}, b"bytes", 2**64])
def test_values_that_cannot_be_signed_are_refused(value):
    with pytest.raises(NonCanonicalValueError):
        encode_canonical(value)
    with pytest.raises(NonCanonicalValueError):
        CanonicalTranscoder().encode(value)


def test_naive_datetime_is_refused():
    with pytest.raises(NonCanonicalValueError):
        encode_canonical(datetime(2023, 8, 31))  # noqa: DTZ001 (the naive value is the point)


def test_timestamps_have_one_spelling_in_utc():
    shanghai = timezone(timedelta(hours=8))
    moment = datetime(2023, 8, 31, 23, 59, 59, tzinfo=shanghai)
    assert format_timestamp(moment) == "2023-08-31T15:59:59.000000Z"
    assert parse_timestamp("2023-08-31T15:59:59.000000Z") == moment
    with pytest.raises(NonCanonicalValueError):
        parse_timestamp("2023-08-31T15:59:59Z")


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1}',
        b'{"b":1,"a":2}',
        b'{"a":1.0}',
        b'{"a":1,"a":1}',
        b'{"a":"\\u00e9"}',
        b"\xff",
        b'{"_type_":"mystery","_data_":1}',
        b'{"_data_":"not-hex","_type_":"uuid_hex"}',
        b'{"_data_":"0000000000000000000000000000000A","_type_":"uuid_hex"}',
        b'{"_data_":"{00000000-0000-0000-0000-00000000000a}","_type_":"uuid_hex"}',
    ],
)
def test_decoder_refuses_other_spellings(data):
    with pytest.raises(NonCanonicalValueError):
        decode_canonical(data)


def test_typed_forms_round_trip():
    value = {"at": datetime(2023, 1, 3, tzinfo=UTC), "id": UUID(int=5)}
    data = encode_canonical(value)
    assert json.loads(data)["id"] == {"_type_": "uuid_hex", "_data_": UUID(int=5).hex}
    assert decode_canonical(data) == value


def test_transcoder_refuses_custom_transcodings():
    from eventsourcing.persistence import DecimalAsStr

    with pytest.raises(NonCanonicalValueError):
        CanonicalTranscoder().register(DecimalAsStr())


plain_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(plain_values)
def test_the_plain_encoding_is_the_canonical_one_for_plain_values(value):
    assert encode_canonical_plain(value) == encode_canonical(value)
