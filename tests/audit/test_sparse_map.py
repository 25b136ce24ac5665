"""Sparse map v1 (audit.offline.sparse_map) against a reference written from its specification.

The reference below reads docs/product-index.md, "The map (sparse_map v1)", literally: a root
is a recursion over bit prefixes, a proof is the walk down the uncompressed tree along the
path's bits until one leaf or none is left, encoded byte by byte as the docs say. Random maps
(hypothesis) mix random paths with paths crafted to share 1 to 256 leading bits with a base
path, so deep one-sided chains, depth-256 leaves and EMPTY terminals deep down all occur.

Known answers: tests/testdata/sparse_map_vectors.json (maps, roots, the encoded proof of each
lookup, and tampered proofs with the element that must fail), described in
docs/product-index.md, "Test vectors". They were produced once by audit.offline.sparse_map and
are checked here against the reference as well, so neither can drift alone.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.offline.errors import MapProofError, VerificationError
from audit.offline.sparse_map import (
    EMPTY,
    MapProof,
    MapProver,
    TerminalKind,
    leaf_hash,
    map_path,
    map_root,
    prove,
    value_digest,
    verify_absence,
    verify_presence,
)

VECTORS = json.loads(
    (Path(__file__).resolve().parents[1] / "testdata" / "sparse_map_vectors.json").read_text(
        "utf-8"
    )
)


# --- the reference, from the docs ---------------------------------------------------------------
def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def ref_path(map_id: bytes, key: bytes) -> bytes:
    return _sha(b"ppl/map-key/v1\x00" + map_id + b"\x00" + key)


def ref_leaf(path: bytes, value: bytes) -> bytes:
    return _sha(b"ppl/map-leaf/v1\x00" + path + _sha(value))


def ref_node(left: bytes, right: bytes) -> bytes:
    return _sha(b"ppl/map-node/v1\x00" + left + right)


def bit(path: bytes, i: int) -> int:
    return (path[i // 8] >> (7 - i % 8)) & 1


def ref_root(entries: dict[bytes, bytes], depth: int = 0) -> bytes:
    """No leaf: 32 zero bytes; one leaf: its hash; more: a node over the two halves."""
    if not entries:
        return bytes(32)
    if len(entries) == 1:
        [(path, value)] = entries.items()
        return ref_leaf(path, value)
    halves: tuple[dict[bytes, bytes], dict[bytes, bytes]] = ({}, {})
    for path, value in entries.items():
        halves[bit(path, depth)][path] = value
    return ref_node(ref_root(halves[0], depth + 1), ref_root(halves[1], depth + 1))


def ref_proof(entries: dict[bytes, bytes], path: bytes) -> bytes:
    """Walk down along ``path`` while two or more leaves are left, then encode the walk."""
    here, siblings, depth = dict(entries), [], 0
    while len(here) >= 2:
        same = {p: v for p, v in here.items() if bit(p, depth) == bit(path, depth)}
        other = {p: v for p, v in here.items() if bit(p, depth) != bit(path, depth)}
        siblings.append(ref_root(other, depth + 1))
        here, depth = same, depth + 1
    bitmap = bytearray((depth + 7) // 8)
    for i, sibling in enumerate(siblings):
        if sibling != bytes(32):
            bitmap[i // 8] |= 1 << (7 - i % 8)
    encoded = b"\x01" + depth.to_bytes(2, "big") + bytes(bitmap)
    encoded += b"".join(s for s in siblings if s != bytes(32))
    if not here:
        return encoded + b"\x00"
    [(leaf, value)] = here.items()
    if leaf == path:
        return encoded + b"\x01"
    return encoded + b"\x02" + leaf + _sha(value)


# --- maps for the properties --------------------------------------------------------------------
FULL = 2**256 - 1


@st.composite
def crafted_maps(draw, max_size: int = 24) -> tuple[dict[bytes, bytes], list[bytes]]:
    """A map whose paths share 0-256 leading bits with one base path, and absent paths too."""
    base: int = draw(st.integers(0, FULL))
    shared = st.sampled_from([0, 1, 2, 7, 8, 9, 64, 200, 254, 255, 256]) | st.integers(0, 256)

    def near() -> bytes:
        noise: int = draw(st.integers(0, FULL))
        kept: int = draw(shared)
        return (base ^ (noise >> kept)).to_bytes(32, "big")

    entries = {near(): draw(st.binary(max_size=8)) for _ in range(draw(st.integers(0, max_size)))}
    absent = [p for p in (near() for _ in range(4)) if p not in entries]
    absent += [bytes(32), b"\xff" * 32]
    for path in list(entries)[:3]:  # the key's neighbour at the last bit, and at a middle bit
        for flip in (255, 128):
            other = (int.from_bytes(path, "big") ^ (1 << (255 - flip))).to_bytes(32, "big")
            if other not in entries:
                absent.append(other)
    return entries, [p for p in absent if p not in entries]


@given(crafted_maps())
def test_map_root_is_the_reference_root(case):
    entries, _ = case
    assert map_root(entries) == ref_root(entries)
    assert MapProver(entries).root == map_root(entries)


@given(crafted_maps(max_size=12))
@settings(max_examples=60)
def test_every_key_and_absent_path_has_the_reference_proof_and_it_verifies(case):
    entries, absent = case
    prover = MapProver(entries)
    root = prover.root
    for path, value in entries.items():
        proof = prover.prove(path)
        assert proof.encode() == ref_proof(entries, path)
        assert MapProof.decode(proof.encode()) == proof
        verify_presence(root, path, value, proof)
        with pytest.raises(MapProofError) as caught:
            verify_absence(root, path, proof)
        assert caught.value.element == "terminal"
    for path in absent:
        proof = prover.prove(path)
        assert proof.encode() == ref_proof(entries, path)
        assert MapProof.decode(proof.encode()) == proof
        verify_absence(root, path, proof)
        with pytest.raises(MapProofError) as caught:
            verify_presence(root, path, b"", proof)
        assert caught.value.element == "terminal"


def test_the_root_does_not_depend_on_the_order_entries_are_given_in():
    entries = {map_path(b"product-keys", b"k%d" % i): b"v%d" % i for i in range(50)}
    backwards = dict(reversed(list(entries.items())))
    assert map_root(entries) == map_root(backwards) == ref_root(entries)


# --- edge maps ----------------------------------------------------------------------------------
def test_the_empty_map_has_the_empty_root_and_proves_every_path_absent():
    assert map_root({}) == EMPTY == bytes(32)
    path = map_path(b"product-keys", b"anything")
    proof = prove({}, path)
    assert proof == MapProof(0, b"", (), TerminalKind.EMPTY)
    assert proof.encode() == bytes.fromhex("01000000")
    verify_absence(EMPTY, path, proof)
    with pytest.raises(MapProofError, match="terminal"):
        verify_presence(EMPTY, path, b"", proof)


def test_a_one_entry_map_is_its_leaf_and_proves_at_depth_zero():
    path, other = map_path(b"patents", b"ZL1"), map_path(b"patents", b"ZL2")
    entries = {path: b"filing"}
    root = map_root(entries)
    assert root == leaf_hash(path, value_digest(b"filing")) == ref_leaf(path, b"filing")
    present = prove(entries, path)
    assert present.encode() == bytes.fromhex("01000001")
    verify_presence(root, path, b"filing", present)
    absent = prove(entries, other)
    assert absent == MapProof(0, b"", (), TerminalKind.OTHER_LEAF, path, _sha(b"filing"))
    verify_absence(root, other, absent)
    with pytest.raises(MapProofError, match="root"):
        verify_presence(root, path, b"another filing", present)


def test_two_paths_differing_in_the_last_bit_sit_at_depth_256():
    low, high = bytes(32), bytes(31) + b"\x01"
    entries = {low: b"a", high: b"b"}
    proof = prove(entries, high)
    assert proof.depth == 256
    assert proof.siblings == (ref_leaf(low, b"a"),)
    assert proof.bitmap == bytes(31) + b"\x01"
    verify_presence(map_root(entries), high, b"b", proof)
    beside = bytes(31) + b"\x02"  # parts from both at bit 254: EMPTY at depth 255
    absent = prove(entries, beside)
    assert (absent.depth, absent.terminal) == (255, TerminalKind.EMPTY)
    verify_absence(map_root(entries), beside, absent)


def test_map_paths_are_the_reference_paths_and_keep_maps_apart():
    assert map_path(b"product-keys", b"k") == ref_path(b"product-keys", b"k")
    assert map_path(b"product-keys", b"k") != map_path(b"patents", b"k")
    # The 0x00 after the map id: ("a", "b\0c") and ("a\0b", "c") cannot both be written.
    with pytest.raises(ValueError, match="printable ASCII"):
        map_path(b"a\x00b", b"c")


@pytest.mark.parametrize("map_id", [b"", b"x" * 65, b"has space", "产品".encode(), b"tab\t"])
def test_a_map_id_must_be_short_printable_ascii(map_id):
    with pytest.raises(ValueError, match="map id"):
        map_path(map_id, b"key")


def test_paths_that_are_not_32_bytes_are_refused_by_the_builders():
    with pytest.raises(ValueError, match="31 bytes, want 32"):
        map_root({bytes(31): b"v"})
    with pytest.raises(ValueError, match="33 bytes, want 32"):
        prove({}, bytes(33))


def test_a_path_or_root_of_the_wrong_size_is_refused_by_the_verifiers():
    proof = prove({}, bytes(32))
    with pytest.raises(MapProofError) as caught:
        verify_absence(EMPTY, bytes(31), proof)
    assert caught.value.element == "path"
    with pytest.raises(MapProofError) as caught:
        verify_absence(bytes(31), bytes(32), proof)
    assert caught.value.element == "root"


# --- tampering ----------------------------------------------------------------------------------
def _tamper_map() -> dict[bytes, bytes]:
    """40 derived keys, plus paths crafted beside one of them (at bits 255, 254, 200 and 9)."""
    entries = {map_path(b"product-keys", b"product-%d" % i): b"filing-%d" % i for i in range(40)}
    anchor = int.from_bytes(next(iter(entries)), "big")
    for flip in (255, 254, 200, 9):
        entries[(anchor ^ (1 << (255 - flip))).to_bytes(32, "big")] = b"crafted-%d" % flip
    return entries


TAMPER = _tamper_map()
TAMPER_PROVER = MapProver(TAMPER)
ROOT = TAMPER_PROVER.root
ABSENT = [map_path(b"product-keys", b"never-%d" % i) for i in range(20)] + [
    (int.from_bytes(next(iter(TAMPER)), "big") ^ 1 << k).to_bytes(32, "big") for k in (2, 40, 100)
]
PRESENT_CASES = [(path, value, TAMPER_PROVER.prove(path)) for path, value in TAMPER.items()]
ABSENT_CASES = [(path, None, TAMPER_PROVER.prove(path)) for path in ABSENT]
ALL_CASES = PRESENT_CASES + ABSENT_CASES


def _verify(root: bytes, path: bytes, value: bytes | None, proof: MapProof) -> None:
    if value is None:
        verify_absence(root, path, proof)
    else:
        verify_presence(root, path, value, proof)


def _fails(element: str, path: bytes, value: bytes | None, proof: MapProof, root=ROOT) -> None:
    with pytest.raises(MapProofError) as caught:
        _verify(root, path, value, proof)
    assert caught.value.element == element, str(caught.value)
    assert caught.value.path == path.hex()


def test_the_tamper_map_has_every_kind_of_terminal():
    kinds = {proof.terminal for _, _, proof in ALL_CASES}
    assert kinds == set(TerminalKind)
    assert max(proof.depth for _, _, proof in ALL_CASES) == 256
    for path, value, proof in ALL_CASES:
        _verify(ROOT, path, value, proof)


def test_every_sibling_flipped_changes_the_root():
    for path, value, proof in ALL_CASES:
        for index, sibling in enumerate(proof.siblings):
            changed = bytes([sibling[0] ^ 0x01]) + sibling[1:]
            siblings = (*proof.siblings[:index], changed, *proof.siblings[index + 1 :])
            _fails("root", path, value, replace(proof, siblings=siblings))


def test_a_sibling_replaced_by_empty_is_named():
    for path, value, proof in ALL_CASES:
        for index in range(len(proof.siblings)):
            siblings = (*proof.siblings[:index], EMPTY, *proof.siblings[index + 1 :])
            _fails(f"sibling {index}", path, value, replace(proof, siblings=siblings))


def _with_bit(bitmap: bytes, i: int) -> bytes:
    flipped = bytearray(bitmap)
    flipped[i // 8] ^= 0x80 >> (i % 8)
    return bytes(flipped)


def test_every_bitmap_bit_flipped_is_refused():
    for path, value, proof in ALL_CASES:
        for i in range(len(proof.bitmap) * 8):
            tampered = replace(proof, bitmap=_with_bit(proof.bitmap, i))
            # past the depth, or the deepest sibling cleared: the bitmap; else the count
            element = "bitmap" if i >= proof.depth - 1 else "siblings"
            _fails(element, path, value, tampered)


def test_a_sibling_moved_to_another_depth_changes_the_root():
    for path, value, proof in ALL_CASES:
        set_bits = [i for i in range(proof.depth - 1) if bit(proof.bitmap, i)]
        clear_bits = [i for i in range(proof.depth - 1) if not bit(proof.bitmap, i)]
        if set_bits and clear_bits:
            moved = _with_bit(_with_bit(proof.bitmap, set_bits[0]), clear_bits[-1])
            _fails("root", path, value, replace(proof, bitmap=moved))


def _bitmap(bits: str) -> bytes:
    """A bitmap from its bits as a string of 0 and 1, padded with zero bits."""
    length = (len(bits) + 7) // 8
    return int(bits.ljust(length * 8, "0") or "0", 2).to_bytes(length, "big")


def test_a_changed_depth_is_refused():
    extra = _sha(b"a sibling that is not there")
    for path, value, proof in ALL_CASES:
        bits = "".join(str(bit(proof.bitmap, i)) for i in range(proof.depth))
        if proof.depth == 256:
            _fails("depth", path, value, replace(proof, depth=257, bitmap=_bitmap(bits + "1")))
        else:
            # one level deeper: with an EMPTY sibling there, or with one more sibling
            deeper = replace(proof, depth=proof.depth + 1, bitmap=_bitmap(bits + "0"))
            _fails("bitmap", path, value, deeper)
            deeper = replace(
                proof,
                depth=proof.depth + 1,
                bitmap=_bitmap(bits + "1"),
                siblings=(*proof.siblings, extra),
            )
            shared = (
                256 - (int.from_bytes(path) ^ int.from_bytes(proof.leaf_path or path)).bit_length()
            )
            too_few = proof.terminal is TerminalKind.OTHER_LEAF and shared <= proof.depth
            _fails("terminal" if too_few else "root", path, value, deeper)
        if proof.depth == 0:
            _fails("depth", path, value, replace(proof, depth=-1))
            continue
        # one level shallower: keeping every sibling, or dropping the deepest
        shallower = replace(proof, depth=proof.depth - 1, bitmap=_bitmap(bits[:-1]))
        deepest_clear = proof.depth >= 2 and bits[-2] == "0"
        _fails("bitmap" if deepest_clear else "siblings", path, value, shallower)
        shallower = replace(shallower, siblings=proof.siblings[:-1])
        _fails("bitmap" if deepest_clear else "root", path, value, shallower)
        # same bitmap, other depth
        with pytest.raises(MapProofError):
            _verify(ROOT, path, value, replace(proof, depth=proof.depth - 1))


def test_a_changed_value_or_root_is_refused():
    for path, value, proof in PRESENT_CASES:
        _fails("root", path, value + b"!", proof)
        _fails("root", path, value, proof, root=_sha(ROOT))


def test_a_swapped_terminal_is_refused():
    for path, value, proof in PRESENT_CASES:
        _fails("terminal", path, value, replace(proof, terminal=TerminalKind.EMPTY))
        _fails("terminal", path, None, proof)  # presence offered as absence
        as_other = replace(
            proof, terminal=TerminalKind.OTHER_LEAF, leaf_path=path, leaf_value_digest=_sha(value)
        )
        _fails("terminal", path, None, as_other)  # "another leaf" that is the key's own
    for path, _, proof in ABSENT_CASES:
        _fails("terminal", path, b"value", proof)  # absence offered as presence
        _fails("terminal", path, None, replace(proof, terminal=TerminalKind.KEY_LEAF))
        if proof.terminal is TerminalKind.OTHER_LEAF:
            _fails("terminal", path, None, replace(proof, terminal=TerminalKind.EMPTY))
            _fails("root", path, None, replace(proof, leaf_value_digest=_sha(b"other")))
            far = (int.from_bytes(path, "big") ^ 1 << 255).to_bytes(32, "big")
            _fails("terminal", path, None, replace(proof, leaf_path=far))  # shares 0 bits
        elif proof.depth < 256:
            leaf = path[:-1] + bytes([path[-1] ^ 1])  # shares 255 bits: a leaf that is not there
            other = replace(
                proof, terminal=TerminalKind.OTHER_LEAF, leaf_path=leaf, leaf_value_digest=EMPTY
            )
            _fails("root", path, None, other)


def test_every_truncated_or_extended_encoding_is_refused():
    for path, value, proof in ALL_CASES:
        data = proof.encode()
        for cut in range(len(data)):
            with pytest.raises(MapProofError) as caught:
                MapProof.decode(data[:cut])
            assert caught.value.path is None
        for extra in (b"\x00", b"\x01", EMPTY):
            with pytest.raises(MapProofError) as caught:
                MapProof.decode(data + extra)
            assert caught.value.element == "trailing bytes"
        assert MapProof.decode(data) == proof
        _verify(ROOT, path, value, MapProof.decode(data))


def _hex(text: str) -> bytes:
    return bytes.fromhex(text)


MALFORMED = [
    ("nothing", b"", "format"),
    ("no depth", _hex("0100"), "format"),
    ("format byte 0x02", _hex("02000000"), "format"),
    ("depth 257", _hex("01010100"), "depth"),
    ("terminal kind 3", _hex("01000003"), "terminal"),
    ("no kind byte", _hex("010000"), "terminal"),
    ("depth 1, no bitmap byte", _hex("010001"), "bitmap"),
    ("depth 1, its one sibling EMPTY", _hex("0100010000"), "bitmap"),
    ("depth 1, a bit past it", _hex("010001c000"), "bitmap"),
    ("depth 1, one sibling announced, none there", _hex("0100018000"), "siblings"),
    ("an encoded EMPTY sibling", _hex("01000180") + EMPTY + b"\x00", "sibling 0"),
    ("another leaf, one byte short", _hex("01000002") + b"\x11" * 63, "terminal"),
    (
        "EMPTY at depth 256",
        _hex("010100") + bytes(31) + b"\x01" + b"\x11" * 32 + b"\x00",
        "terminal",
    ),
]


@pytest.mark.parametrize(
    ("data", "element"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED]
)
def test_malformed_encodings_name_their_element(data, element):
    with pytest.raises(MapProofError) as caught:
        MapProof.decode(data)
    assert caught.value.element == element, str(caught.value)


def test_encode_refuses_a_proof_the_format_cannot_carry():
    with pytest.raises(MapProofError, match="bitmap"):
        MapProof(3, b"", (), TerminalKind.EMPTY).encode()


def test_the_error_is_a_verification_error_and_survives_pickling():
    with pytest.raises(VerificationError) as caught:
        verify_absence(ROOT, *ALL_CASES[0][::2])
    error = caught.value
    assert isinstance(error, MapProofError)
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own error, round-tripped
    assert (again.path, again.element, again.depth, again.reason, str(again)) == (
        error.path,
        error.element,
        error.depth,
        error.reason,
        str(error),
    )


# --- known answers ------------------------------------------------------------------------------
def _entries(case: dict[str, Any]) -> dict[bytes, bytes]:
    return {bytes.fromhex(e["path"]): bytes.fromhex(e["value"]) for e in case["entries"]}


@pytest.mark.parametrize("case", VECTORS["maps"], ids=lambda case: case["desc"])
def test_known_answer_maps_roots_and_proofs(case):
    entries = _entries(case)
    for entry in case["entries"]:
        if "key" in entry:
            assert map_path(case["map_id"].encode(), entry["key"].encode()) == bytes.fromhex(
                entry["path"]
            )
    root = bytes.fromhex(case["root"])
    assert map_root(entries) == root == ref_root(entries)
    prover = MapProver(entries)
    for lookup in case["lookups"]:
        path = bytes.fromhex(lookup["path"])
        if "key" in lookup:
            assert map_path(case["map_id"].encode(), lookup["key"].encode()) == path
        proof = bytes.fromhex(lookup["proof"])
        assert prover.prove(path).encode() == proof == ref_proof(entries, path), lookup["desc"]
        value = lookup.get("value")
        assert (value is not None) == (path in entries)
        _verify(root, path, None if value is None else bytes.fromhex(value), MapProof.decode(proof))


@pytest.mark.parametrize("case", VECTORS["tampered"], ids=lambda case: case["desc"])
def test_known_tampered_proofs_fail_at_their_element(case):
    path, root = bytes.fromhex(case["path"]), bytes.fromhex(case["root"])
    value = None if case["value"] is None else bytes.fromhex(case["value"])
    with pytest.raises(MapProofError) as caught:
        _verify(root, path, value, MapProof.decode(bytes.fromhex(case["proof"])))
    assert caught.value.element == case["want_error"], str(caught.value)
