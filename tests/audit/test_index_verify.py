"""``ppl audit verify`` re-checks the product index (audit.offline.index_rebuild, step 7 of
audit.offline.verifier): it rebuilds both maps from the bundle's events and refuses, with exit
code 26 and the tree size, the first checkpoint whose signed index note states a wrong root.

Tampered notes are signed with the log's own key: what is tested is the rebuild, not the
signature (a log that signs a wrong index is exactly what an auditor must catch).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.bootstrap import export_audit_bundle, open_transparency_log
from audit.offline.errors import (
    IndexNoteError,
    IndexRootError,
    InvalidNoteSignatureError,
    UnverifiedNoteError,
)
from audit.offline.index_note import IndexNote, MapHead, parse_index_note, sign_index_note
from audit.offline.note import NoteSigner, split_note
from audit.offline.product_index import (
    MAPS,
    PATENTS,
    PRODUCT_KEYS,
    IndexBuilder,
    product_key_bytes,
)
from audit.offline.product_key import KeyRule
from audit.offline.sparse_map import map_path, map_root_of_digests, value_digest
from audit.offline.verifier import exit_code, verify_bundle
from tests.audit.test_replay import logged_events
from tests.domain.factories import approve_as_distinct, approved_filer, file, filer_actor, uscc

Digests = dict[bytes, dict[bytes, bytes]]


@pytest.fixture
def bundle(ledger, settings, tmp_path):
    """Two filers; a filing withdrawn and filed again (the key moves), one approved; several
    checkpoints, every one indexed; exported."""
    log = open_transparency_log(ledger, settings)
    log.sequencer.batch_size = 5
    first, second = uscc(901), uscc(902)
    first_id, second_id = approved_filer(ledger, first), approved_filer(ledger, second)
    withdrawn = file(ledger, first, first_id, model="IX-1")
    ledger.withdraw_product(filer_actor(first), withdrawn, "退市")
    file(ledger, first, first_id, model="IX-1")
    other = file(ledger, second, second_id, model="IX-2", name="另一产品")
    approve_as_distinct(ledger, other)
    log.sequence()
    path = tmp_path / "ledger.bundle"
    export_audit_bundle(ledger, log, settings, path)
    return path, log, logged_events(ledger)


def header_of(path: Path) -> tuple[dict[str, Any], list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return json.loads(lines[0]), lines


def written(path: Path, header: dict[str, Any], lines: list[str]) -> Path:
    out = path.with_name("tampered.bundle")
    out.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n", encoding="utf-8")
    return out


def sizes(header: dict[str, Any]) -> list[int]:
    return sorted(int(note.split("\n")[1]) for note in header["checkpoints"])


def honest(events, size: int) -> tuple[IndexBuilder, Digests]:
    builder = IndexBuilder()
    for event in events[:size]:
        builder.apply(event)
    digests: Digests = {map_id: {} for map_id in MAPS}
    for map_id in MAPS:
        for _key, path, value in builder.entries(map_id):
            digests[map_id][path] = value_digest(value)
    return builder, digests


def replace_note(header, log, size: int, digests: Digests, signer: NoteSigner | None = None):
    checkpoint = next(n for n in header["checkpoints"] if int(n.split("\n")[1]) == size)
    record = log.store.checkpoint(size)
    heads = {m: MapHead(len(digests[m]), map_root_of_digests(digests[m])) for m in MAPS}
    note = sign_index_note(IndexNote(log.origin, size, record.root, heads), signer or log.signer)
    index = [int(n.split("\n")[2]) for n in header["index_notes"]].index(size)
    assert checkpoint  # the note replaces the one of this checkpoint
    header["index_notes"][index] = note


def test_a_genuine_bundle_has_every_checkpoint_indexed_and_verifies(bundle):
    path, _, _ = bundle
    header, _ = header_of(path)
    assert len(header["index_notes"]) == len(header["checkpoints"]) >= 3
    report = verify_bundle(path)
    assert report.index_checked == sizes(header)
    assert not any("index" in warning for warning in report.warnings)


def _omit_a_key(builder: IndexBuilder, digests: Digests) -> None:
    digests[PRODUCT_KEYS].pop(next(iter(sorted(digests[PRODUCT_KEYS]))))


def _add_a_key(builder: IndexBuilder, digests: Digests) -> None:
    digests[PRODUCT_KEYS][map_path(PRODUCT_KEYS, b"1\x1enever\x1ffiled")] = value_digest(b"{}")


def _point_a_key_to_another_filing(builder: IndexBuilder, digests: Digests) -> None:
    key = next(k for k in builder.state.keys.values() if k.reservation_id is not None)
    value = builder.product_key_value(key)
    others = [p for p in builder.state.filings if p != key.holder]
    value["holder"] = others[0]
    entry = product_key_bytes(key.rule, key.key)
    digests[PRODUCT_KEYS][map_path(PRODUCT_KEYS, entry)] = value_digest(
        json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )


def _leave_out_an_event(builder: IndexBuilder, digests: Digests) -> None:
    for key in builder.state.keys.values():
        value = builder.product_key_value(key)
        if len(value["filings"][0]["leaves"]) > 1:
            value["filings"][0]["leaves"] = value["filings"][0]["leaves"][:-1]
            entry = product_key_bytes(key.rule, key.key)
            digests[PRODUCT_KEYS][map_path(PRODUCT_KEYS, entry)] = value_digest(
                json.dumps(
                    value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                ).encode()
            )
            return
    raise AssertionError("no filing with two events at this size")


def _forget_a_patent(builder: IndexBuilder, digests: Digests) -> None:
    digests[PATENTS].clear()


TAMPERS: dict[str, Callable[[IndexBuilder, Digests], None]] = {
    "a root that omits a key": _omit_a_key,
    "a root that adds a key": _add_a_key,
    "a key pointed to the wrong filing": _point_a_key_to_another_filing,
    "an event of a filing left out": _leave_out_an_event,
    "a patent map without its patents": _forget_a_patent,
}


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_a_misstated_root_is_refused_at_the_first_checkpoint_it_is_wrong(bundle, case):
    path, log, events = bundle
    header, lines = header_of(path)
    # the last two checkpoints both misstated: the earlier one is named
    for size in sizes(header)[-2:]:
        builder, digests = honest(events, size)
        TAMPERS[case](builder, digests)
        replace_note(header, log, size, digests)
    with pytest.raises(IndexRootError) as caught:
        verify_bundle(written(path, header, lines))
    assert caught.value.tree_size == sizes(header)[-2]
    assert caught.value.map_id == ("patents" if "patent" in case else "product-keys")
    assert exit_code(caught.value) == 26


def test_an_honest_rebuild_signed_again_still_verifies(bundle):
    """The tamper tests' own construction, without a tamper, is the log's note byte for byte."""
    path, log, events = bundle
    header, lines = header_of(path)
    size = sizes(header)[-1]
    original = list(header["index_notes"])
    replace_note(header, log, size, honest(events, size)[1])
    assert header["index_notes"] == original
    verify_bundle(written(path, header, lines))


def test_a_wrong_entry_count_with_the_right_root_is_refused(bundle):
    path, log, _ = bundle
    header, lines = header_of(path)
    size = sizes(header)[-1]
    index = len(header["index_notes"]) - 1
    note = header["index_notes"][index]
    body = note.split("\n\n")[0] + "\n"
    lines_ = body.split("\n")
    name, count, root = lines_[4].split(" ")
    lines_[4] = f"{name} {int(count) + 1} {root}"
    header["index_notes"][index] = log.signer.sign("\n".join(lines_))
    with pytest.raises(IndexNoteError, match="entries") as caught:
        verify_bundle(written(path, header, lines))
    assert caught.value.tree_size == size
    assert exit_code(caught.value) == 26


def test_a_checkpoint_before_the_latest_note_without_one_is_refused(bundle):
    path, _, _ = bundle
    header, lines = header_of(path)
    del header["index_notes"][0]
    with pytest.raises(IndexNoteError, match="no index note") as caught:
        verify_bundle(written(path, header, lines))
    assert caught.value.tree_size == sizes(header)[0]


def test_checkpoints_after_the_latest_note_are_reported_unchecked(bundle):
    path, _, _ = bundle
    header, lines = header_of(path)
    del header["index_notes"][-1]
    report = verify_bundle(written(path, header, lines))
    assert report.index_checked == sizes(header)[:-1]
    assert any("no index note yet" in warning for warning in report.warnings)


def test_a_bundle_without_the_index_verifies_with_a_warning(bundle):
    path, _, _ = bundle
    header, lines = header_of(path)
    del header["index_notes"]
    report = verify_bundle(written(path, header, lines))
    assert report.index_checked == []
    assert any("index is unchecked" in warning for warning in report.warnings)


def test_a_note_of_another_key_or_another_checkpoint_is_refused(bundle):
    path, log, events = bundle
    header, lines = header_of(path)
    size = sizes(header)[-1]
    stranger = NoteSigner(log.origin, Ed25519PrivateKey.generate())
    replace_note(header, log, size, honest(events, size)[1], signer=stranger)
    with pytest.raises((InvalidNoteSignatureError, UnverifiedNoteError)):
        verify_bundle(written(path, header, lines), log_key=log.signer.verifier())
    header, lines = header_of(path)
    header["index_notes"][-1] = header["index_notes"][0]  # two notes of one size
    with pytest.raises(IndexNoteError, match="two notes"):
        verify_bundle(written(path, header, lines))
    assert KeyRule.V1  # (the map keys above are of rule v1)


def test_a_note_of_another_root_than_its_checkpoint_is_refused(bundle):
    path, log, _ = bundle
    header, lines = header_of(path)
    first = parse_index_note(split_note(header["index_notes"][0])[0])
    header["index_notes"][0] = sign_index_note(replace(first, log_root=bytes(32)), log.signer)
    with pytest.raises(IndexNoteError, match="log root") as caught:
        verify_bundle(written(path, header, lines))
    assert caught.value.tree_size == first.tree_size
    assert exit_code(caught.value) == 26


# --- --index-checkpoints latest: one rebuild, at the latest note ---------------------------------
def test_latest_only_checks_the_latest_note_and_names_the_others_unchecked(bundle):
    path, _, _ = bundle
    header, _ = header_of(path)

    report = verify_bundle(path, index_every_checkpoint=False)

    assert report.index_checked == sizes(header)[-1:]
    earlier = sizes(header)[:-1]
    assert any(
        f"index notes of {len(earlier)} earlier checkpoints ({earlier[0]}..{earlier[-1]})" in w
        and "not re-checked" in w
        for w in report.warnings
    )


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_latest_only_refuses_a_misstated_latest_root(bundle, case):
    path, log, events = bundle
    header, lines = header_of(path)
    size = sizes(header)[-1]
    builder, digests = honest(events, size)
    TAMPERS[case](builder, digests)
    replace_note(header, log, size, digests)
    with pytest.raises(IndexRootError) as caught:
        verify_bundle(written(path, header, lines), index_every_checkpoint=False)
    assert caught.value.tree_size == size
    assert exit_code(caught.value) == 26


def test_latest_only_leaves_an_earlier_misstatement_to_the_full_check(bundle):
    """What the mode gives up, as its warning says: an earlier wrong note passes it, and the
    default check still names that note."""
    path, log, events = bundle
    header, lines = header_of(path)
    size = sizes(header)[0]
    builder, digests = honest(events, size)
    _add_a_key(builder, digests)
    replace_note(header, log, size, digests)
    tampered = written(path, header, lines)
    report = verify_bundle(tampered, index_every_checkpoint=False)
    assert report.index_checked == sizes(header)[-1:]
    assert any("not re-checked" in warning for warning in report.warnings)
    with pytest.raises(IndexRootError) as caught:
        verify_bundle(tampered)
    assert caught.value.tree_size == size


def test_latest_only_refuses_a_wrong_count_and_checks_a_bundle_without_notes(bundle):
    path, log, _ = bundle
    header, lines = header_of(path)
    size = sizes(header)[-1]
    note = parse_index_note(split_note(header["index_notes"][-1])[0])
    heads = {m: MapHead(note.head(m).entries + 1, note.head(m).root) for m in MAPS}
    header["index_notes"][-1] = sign_index_note(replace(note, maps=heads), log.signer)
    with pytest.raises(IndexNoteError, match="entries") as caught:
        verify_bundle(written(path, header, lines), index_every_checkpoint=False)
    assert caught.value.tree_size == size
    header, lines = header_of(path)
    del header["index_notes"]
    report = verify_bundle(written(path, header, lines), index_every_checkpoint=False)
    assert report.index_checked == []
    assert any("index is unchecked" in warning for warning in report.warnings)
