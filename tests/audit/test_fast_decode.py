"""The verifier's fast canonical decoder agrees with the reference decoder, always.

audit.offline.verifier._decode_state parses once and accepts only what it can vouch for, handing
everything else to audit.offline.canonical.decode_canonical; these properties check that the two
give
the same value or the same error on genuine, mutated and hand-written inputs, including
event-shaped states (a top-level timestamp, which its hook-free path revives by itself).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.offline.canonical import decode_canonical, encode_canonical
from audit.offline.verifier import _decode_state


def _outcome(decode, data):
    try:
        value = decode(data)
    except Exception as exc:  # noqa: BLE001 (the error's type is what is compared)
        return ("error", type(exc))
    return ("ok", value)


def _assert_same(data):
    assert _outcome(_decode_state, data) == _outcome(decode_canonical, data), data


# hypothesis takes naive bounds and attaches the time zone itself
EARLIEST = datetime(1, 1, 1)  # noqa: DTZ001
LATEST = datetime(9999, 12, 30)  # noqa: DTZ001
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.text(max_size=8),
    st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.just(UTC)),
    st.uuids(),
)
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
SPELLINGS = [
    "2023-01-05T01:05:20.000000Z", "2023-1-05T01:05:20.000000Z", "2023-02-30T01:05:20.000000Z",
    "2023-01-05T01:05:20.0000Z", "2023-01-05T01:05:20.000000+00:00",
    "0123456789abcdef0123456789ABCDEF", "0123456789abcdef0123456789abcdef",
    "{01234567-89ab-cdef-0123-456789abcdef}", "xyz",
]  # fmt: skip
raw_trees = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
              st.text(max_size=6), st.sampled_from(SPELLINGS)),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["_type_", "_data_", "a", "b"]), children, max_size=3),
        st.fixed_dictionaries(
            {"_type_": st.sampled_from(["datetime_iso", "uuid_hex", "other"]), "_data_": children}
        ),
    ),
    max_leaves=8,
)  # fmt: skip


@settings(max_examples=400, suppress_health_check=list(HealthCheck), deadline=None)
@given(trees, st.integers(0, 10**6), st.sampled_from(["none", "flip", "insert", "delete", "dup"]))
def test_genuine_and_mutated_states_decode_alike(tree, seed, mutation):
    data = bytearray(encode_canonical(tree))
    rng = random.Random(seed)  # noqa: S311 (test mutations, not cryptography)
    if mutation == "flip" and data:
        data[rng.randrange(len(data))] = rng.randrange(256)
    if mutation == "insert":
        data.insert(rng.randrange(len(data) + 1), rng.choice(b' ,:{}[]"0.eE-\\u\xc3'))
    if mutation == "delete" and data:
        del data[rng.randrange(len(data))]
    if mutation == "dup":
        data = bytearray(data.replace(b'{"', b'{"a":1,"a":1,"', 1))
    _assert_same(bytes(data))


@settings(max_examples=400, suppress_health_check=list(HealthCheck), deadline=None)
@given(raw_trees, st.booleans(), st.booleans())
def test_other_spellings_decode_alike(tree, sort, compact):
    text = json.dumps(
        tree, sort_keys=sort, ensure_ascii=not sort,
        separators=(",", ":") if compact else None, allow_nan=True,
    )  # fmt: skip
    _assert_same(text.encode())


@pytest.mark.parametrize(
    "data",
    [
        b'{"t":{"_data_":"2023-01-05T01:05:20.000000Z","_type_":"datetime_iso"}}',
        b'{"t":{"_data_":"0123456789ABCDEF0123456789abcdef","_type_":"uuid_hex"}}',
        b'{"t":{"_data_":"zz","_type_":"uuid_hex"}}',
        b'{"a":1.0}', b'{"a":NaN}', b"\xff", b'{"a":1,"a":1}', b'{"a":"\\u00e9"}',
        '{"a":"é"}'.encode(), b'{"a":"\\ud800"}', b' {"a":1}', b'{"a":1} ',
        b'{"b":1,"a":2}', b'{"a":-0}', b'{"a":1e3}', b'{"a":00}', b'"x"', b"[1]", b"1",
    ],
)  # fmt: skip
def test_hand_written_edge_cases_decode_alike(data):
    _assert_same(data)


event_states = st.fixed_dictionaries(
    {"timestamp": st.one_of(scalars, st.just({"_type_": "datetime_iso", "_data_": "x"}))},
    optional={
        "actor": trees,
        "a": st.sampled_from(["_type_", '"_type_"', "\\u005f", "_data_"]),
        "b": trees,
        "_type_": st.sampled_from(["datetime_iso", "uuid_hex"]),
        "_data_": st.sampled_from(SPELLINGS),
    },
)


@settings(max_examples=400, suppress_health_check=list(HealthCheck), deadline=None)
@given(event_states, st.integers(0, 10**6), st.sampled_from(["none", "flip", "insert", "dup"]))
def test_event_shaped_states_decode_alike(state, seed, mutation):
    data = bytearray(encode_canonical(state))
    rng = random.Random(seed)  # noqa: S311 (test mutations, not cryptography)
    if mutation == "flip" and data:
        data[rng.randrange(len(data))] = rng.randrange(256)
    if mutation == "insert":
        data.insert(rng.randrange(len(data) + 1), rng.choice(b' ,:{}[]"0.eE-\\u\xc3'))
    if mutation == "dup":
        data = bytearray(data.replace(b'{"', b'{"timestamp":1,"', 1))
    _assert_same(bytes(data))


@pytest.mark.parametrize(
    "data",
    [
        b'{"timestamp":{"_data_":"2023-01-05T01:05:20.000000Z","_type_":"datetime_iso"}}',
        b'{"a":"_type_","timestamp":{"_data_":"2023-01-05T01:05:20.000000Z","_type_":"datetime_iso"}}',
        b'{"a":{"_data_":"0123456789abcdef0123456789abcdef","_type_":"uuid_hex"},'
        b'"timestamp":{"_data_":"2023-01-05T01:05:20.000000Z","_type_":"datetime_iso"}}',
        b'{"timestamp":{"_data_":"2023-02-30T01:05:20.000000Z","_type_":"datetime_iso"}}',
        b'{"timestamp":{"_data_":"0000-01-05T01:05:20.000000Z","_type_":"datetime_iso"}}',
        b'{"timestamp":{"_data_":"2023-01-05T01:05:20.000000Z","_type_":"uuid_hex"}}',
        b'{"timestamp":{"_data_":"2023-01-05T01:05:20.000000Z","_type_":"datetime_iso","x":1}}',
        b'{"timestamp":{"_type_":"datetime_iso"}}',
        b'{"timestamp":{"_data_":1,"_type_":"datetime_iso"}}',
        b'{"timestamp":{"_data_":"2023-01-05T01:05:20.000000Z","_type_":"other"}}',
        b'{"t":{"timestamp":{"_data_":"2023-01-05T01:05:20.000000Z","_type_":"datetime_iso"}}}',
        b'[{"_data_":"2023-01-05T01:05:20.000000Z","_type_":"datetime_iso"}]',
    ],
)  # fmt: skip
def test_hand_written_event_states_decode_alike(data):
    _assert_same(data)
