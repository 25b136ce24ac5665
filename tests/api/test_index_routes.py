"""The product index over HTTP (``/v1/index``, api.routes.index), checked offline.

Every answer is verified with audit.offline.index_check and the log's public key alone — the
keys derived here, never taken from the answer; tampered answers, stale answers and rows that
are not the committed ones are refused, naming what failed. Both backends.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from audit.log.witness_store import StoredCosignature
from audit.offline.errors import (
    CheckpointOriginError,
    IndexNoteError,
    InvalidNoteSignatureError,
    MapProofError,
)
from audit.offline.index_check import (
    check_answer,
    patent_map_keys,
    product_map_keys,
)
from audit.offline.product_index import PATENTS, PRODUCT_KEYS, product_key_bytes
from audit.offline.product_key import KeyRule, product_key
from audit.offline.tlog_proof import verify_event_evidence
from domain.actor import Role
from domain.values import PatentNumber
from tests.api.test_tiles_routes import problem
from tests.domain.factories import REVIEWER, approved_filer, file, patent, uscc
from tests.web.cosigner import Cosigner, now

NAME, MODEL = "智能温控阀", "TV-100"


def check(api, answer: dict[str, Any], wanted, **options: Any):
    log = api.state.log
    return check_answer(answer, wanted, log_key=log.signer.verifier(), origin=log.origin, **options)


@pytest.fixture
def filed(api):
    """One filing of NAME / MODEL declaring patent(1), indexed."""
    ledger = api.state.ledger
    code = uscc(801)
    filer_id = approved_filer(ledger, code)
    product_id = file(ledger, code, filer_id, name=NAME, model=MODEL)
    api.settle()
    return code, product_id


def lookup(api, role: Role | None = None, **params: Any):
    headers = api.headers(role) if role is not None else {}
    response = api.client.get("/v1/index/products", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_nothing_is_indexed_before_the_first_checkpoint(api):
    problem(api.client.get("/v1/index"), 404, "index_not_available")
    problem(api.client.get("/v1/index/products", params={"name": NAME}), 404, "index_not_available")


def test_the_head_names_the_latest_indexed_checkpoint(api, filed):
    head = api.client.get("/v1/index").json()
    latest = api.state.log.store.latest_checkpoint()
    assert head["tree_size"] == latest.tree_size
    assert head["checkpoint"].startswith(latest.signed_note.split("\n\n")[0])
    assert head["maps"]["product-keys"]["entries"] == 2  # the v1 and the v2 key
    assert head["maps"]["patents"]["entries"] == 1


def test_answers_carry_their_checkpoint_with_its_cosignatures_and_no_other_roots(api, filed):
    log = api.state.log
    record = log.store.latest_checkpoint()
    lines = {}
    # "witness-test/d" sorts first by code point ("-" < "."), last under a collation that
    # ignores punctuation: lines are in code-point order on both stores
    stored = [
        ("witness.test/b", record.root), ("witness.test/a", record.root),
        ("witness.test/c", b"\x07" * 32), ("witness-test/d", record.root),
    ]  # fmt: skip
    for name, root in stored:
        witness = Cosigner(name)
        lines[name] = witness.line(record.signed_note)
        log.witnesses.add_cosignature(
            StoredCosignature(record.tree_size, name, lines[name], now(), "2026-01-01", root)
        )

    for answer in (api.client.get("/v1/index").json(), lookup(api, name=NAME, model=MODEL)):
        # read with the index in one statement: the same text the log serves for it
        assert answer["checkpoint"] == log.cosigned_note(record)
        assert answer["checkpoint"] == (
            record.signed_note
            + lines["witness-test/d"]
            + lines["witness.test/a"]
            + lines["witness.test/b"]
        )
    check(api, lookup(api, name=NAME, model=MODEL), product_map_keys(NAME, MODEL))


def test_a_filed_product_is_held_by_its_filing_under_both_key_rules(api, filed):
    _, product_id = filed
    answer = lookup(api, name=NAME, model=" ＴＶ－１００ ")  # another spelling, one key
    checked = check(api, answer, product_map_keys(NAME, MODEL))
    assert [c.key for c in checked.keys] == [
        product_key_bytes(KeyRule.V1, product_key(KeyRule.V1, NAME, MODEL)),
        product_key_bytes(KeyRule.V2, product_key(KeyRule.V2, NAME, MODEL)),
    ]
    for found in checked.keys:
        assert found.value is not None
        assert found.value["holder"] == str(product_id)
        assert [f["product_id"] for f in found.value["filings"]] == [str(product_id)]
    assert answer["rows"] == {}  # pending review: the public registry does not show it


def test_rows_come_only_for_filings_the_caller_may_see_and_hash_to_the_commitment(api, filed):
    code, product_id = filed
    for role, scope in ((Role.REVIEWER, None), (Role.FILER, code)):
        response = api.client.get(
            "/v1/index/products", params={"name": NAME, "model": MODEL},
            headers=api.headers(role, scope),
        )  # fmt: skip
        answer = response.json()
        row = answer["rows"][str(product_id)]
        assert row["status"] == "pending_review"
        checked = check(api, answer, product_map_keys(NAME, MODEL), rows=[row])
        assert checked.rows[str(product_id)]["name"] == NAME
    # the registry's own view of the filing is the committed row too
    view = api.client.get(f"/v1/products/{product_id}", headers=api.headers(Role.REVIEWER))
    answer = lookup(api, Role.REVIEWER, name=NAME, model=MODEL)
    check(api, answer, product_map_keys(NAME, MODEL), rows=[view.json()])


def test_a_row_the_registry_shows_after_the_checkpoint_is_not_the_committed_one(api, filed):
    _, product_id = filed
    answer = lookup(api, Role.REVIEWER, name=NAME, model=MODEL)
    api.state.ledger.approve_product(REVIEWER, product_id)
    api.settle()
    newer = api.client.get(f"/v1/products/{product_id}", headers=api.headers(Role.REVIEWER))
    with pytest.raises(MapProofError, match=r"row.*not the one committed"):
        check(api, answer, product_map_keys(NAME, MODEL), rows=[newer.json()])
    # a fresh answer commits to it
    fresh = lookup(api, Role.REVIEWER, name=NAME, model=MODEL)
    check(api, fresh, product_map_keys(NAME, MODEL), rows=[newer.json()])


def test_an_unfiled_product_is_proven_absent(api, filed):
    answer = lookup(api, name=NAME, model="TV-101")
    checked = check(api, answer, product_map_keys(NAME, "TV-101"))
    assert [c.value for c in checked.keys] == [None, None]
    assert all(not lookup_["present"] for lookup_ in answer["lookups"])


def test_lookup_by_key(api, filed):
    key = product_key(KeyRule.V2, NAME, MODEL)
    answer = lookup(api, key_rule=2, key=key)
    checked = check(api, answer, [(PRODUCT_KEYS, product_key_bytes(KeyRule.V2, key))])
    assert checked.keys[0].value is not None


def test_the_trail_is_complete_given_every_event_and_a_stale_answer_misses_one(api, filed):
    _, product_id = filed
    log = api.state.log
    answer = lookup(api, name=NAME, model=MODEL)
    events = [
        verify_event_evidence(
            log.event_evidence(product_id, version), log_key=log.signer.verifier(),
            origin=log.origin, event_keys=api.state.ledger.keyring.trusted_keys,
        )
        for version in (1,)
    ]  # fmt: skip
    checked = check(api, answer, product_map_keys(NAME, MODEL), evidence=events)
    assert checked.complete_trails == [str(product_id)]
    api.state.ledger.approve_product(REVIEWER, product_id)  # FilingApproved, FilingNumberAssigned
    api.settle()
    later = [
        verify_event_evidence(
            log.event_evidence(product_id, version), log_key=log.signer.verifier(),
            origin=log.origin, event_keys=api.state.ledger.keyring.trusted_keys,
        )
        for version in (2, 3)
    ]  # fmt: skip
    with pytest.raises(MapProofError, match=r"trail.*leaves it out"):
        check(api, answer, product_map_keys(NAME, MODEL), evidence=[*events, *later])
    fresh = lookup(api, name=NAME, model=MODEL)
    checked = check(api, fresh, product_map_keys(NAME, MODEL), evidence=[*events, later[0]])
    assert checked.complete_trails == []  # v3 not proven: complete is not claimed
    checked = check(api, fresh, product_map_keys(NAME, MODEL), evidence=[*events, *later])
    assert checked.complete_trails == [str(product_id)]


def test_patents_are_looked_up_as_filings_record_them(api, filed):
    _, product_id = filed
    number = PatentNumber.parse(patent(1)).value
    response = api.client.get(f"/v1/index/patents/ZL {number}")
    assert response.status_code == 200, response.text
    checked = check(api, response.json(), patent_map_keys(number))
    assert checked.keys[0].value is not None
    assert checked.keys[0].value["declared"] == [str(product_id)]
    other = PatentNumber.parse(patent(2)).value
    absent = api.client.get(f"/v1/index/patents/{other}").json()
    assert check(api, absent, patent_map_keys(other)).keys[0].value is None
    problem(api.client.get("/v1/index/patents/ZL123"), 422, "patent_number_invalid")


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"model": MODEL},
        {"name": NAME, "key_rule": 1, "key": "x"},
        {"key": "x"},
        {"key_rule": 1},
        {"name": "-/-"},
        {"key_rule": 1, "key": "a\x1eb"},
    ],
)
def test_a_lookup_that_names_no_key_is_refused(api, filed, params):
    problem(api.client.get("/v1/index/products", params=params), 422, "query_invalid")


@pytest.mark.parametrize(
    "params",
    [
        {"key_rule": 3, "key": "x"},
        {"key_rule": 0, "key": "x"},
        {"name": "x" * 401},
        {"key_rule": 1, "key": "x" * 2001},
    ],
)
def test_a_lookup_outside_the_schema_is_refused(api, filed, params):
    problem(api.client.get("/v1/index/products", params=params), 422, "request_invalid")


def test_a_name_longer_than_a_filing_may_have_is_refused(api, filed):
    problem(api.client.get("/v1/index/products", params={"name": "名" * 201}), 422, "text_invalid")


# --- tampering ---------------------------------------------------------------------------------
def flip(text: str) -> str:
    data = bytearray(base64.b64decode(text))
    data[len(data) // 2] ^= 1
    return base64.b64encode(bytes(data)).decode()


def test_a_changed_value_or_proof_is_refused(api, filed):
    answer = lookup(api, name=NAME, model=MODEL)
    wanted = product_map_keys(NAME, MODEL)
    for field in ("value_bytes", "proof"):
        tampered = copy.deepcopy(answer)
        tampered["lookups"][0][field] = flip(tampered["lookups"][0][field])
        with pytest.raises(MapProofError):
            check(api, tampered, wanted)


def test_an_answer_for_other_keys_or_missing_one_is_refused(api, filed):
    answer = lookup(api, name=NAME, model=MODEL)
    with pytest.raises(MapProofError, match=r"answer.*no lookup"):
        check(api, answer, product_map_keys(NAME, "TV-101"))
    short = copy.deepcopy(answer)
    short["lookups"] = short["lookups"][:1]
    with pytest.raises(MapProofError, match="no lookup"):
        check(api, short, product_map_keys(NAME, MODEL))
    with pytest.raises(MapProofError, match="not asked for"):
        check(api, answer, product_map_keys(NAME, MODEL)[:1])
    absent = lookup(api, name=NAME, model="TV-101")
    swapped = copy.deepcopy(absent)  # the other key's answer under this key's name
    for mine, theirs in zip(swapped["lookups"], answer["lookups"], strict=True):
        mine.update({k: theirs[k] for k in ("value_bytes", "proof", "present")})
    with pytest.raises(MapProofError):
        check(api, swapped, product_map_keys(NAME, "TV-101"))


def test_an_index_note_of_another_checkpoint_or_log_is_refused(api, filed):
    answer = lookup(api, name=NAME, model=MODEL)
    ledger = api.state.ledger
    code = uscc(802)
    file(ledger, code, approved_filer(ledger, code), model="TV-200")
    api.settle()
    newer = lookup(api, name=NAME, model=MODEL)
    mixed = {**answer, "index_note": newer["index_note"]}
    with pytest.raises(IndexNoteError, match="tree size"):
        check(api, mixed, product_map_keys(NAME, MODEL))
    forged = {
        **answer,
        "index_note": answer["index_note"].replace("product-keys 2", "product-keys 3"),
    }
    with pytest.raises(InvalidNoteSignatureError):
        check(api, forged, product_map_keys(NAME, MODEL))
    log = api.state.log
    with pytest.raises(CheckpointOriginError):
        check_answer(
            answer, product_map_keys(NAME, MODEL), log_key=log.signer.verifier(), origin="other"
        )


def test_every_map_key_an_answer_can_name_is_of_the_two_maps(api, filed):
    answer = lookup(api, name=NAME, model=MODEL)
    odd = copy.deepcopy(answer)
    odd["lookups"][0]["map"] = "filers"
    with pytest.raises(MapProofError, match="map 'filers'"):
        check(api, odd, product_map_keys(NAME, MODEL))
    assert (PATENTS, b"x") not in product_map_keys(NAME, MODEL)
