"""The product index v1 (audit.offline.product_index): what each key and patent maps to,
checked against the domain's own aggregates on logs the domain wrote."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4

import pytest

from audit.offline.errors import InvalidReplayError
from audit.offline.index_rebuild import IndexRebuild, InMemoryIndex
from audit.offline.logged_event import LoggedEvent
from audit.offline.product_index import (
    PATENTS,
    PRODUCT_KEYS,
    IndexBuilder,
    IndexedEvent,
    keys_of,
    patent_key_bytes,
    product_key_bytes,
    registry_row,
    row_digest,
)
from audit.offline.product_key import KeyRule
from audit.offline.replay_base import KEY_REASSIGNED, KEY_RESERVED, PRODUCT_FILED
from domain.declarations import PatentDeclaration
from domain.values import PatentNumber
from tests.audit.test_replay import logged_events, sample_events
from tests.domain.factories import (
    REVIEWER,
    approve_as_distinct,
    approved_filer,
    digest,
    figures,
    file,
    filer_actor,
    patent,
    uscc,
)


def built(events: Any) -> IndexBuilder:
    builder = IndexBuilder()
    for event in events:
        builder.apply(event)
    return builder


def value(builder: IndexBuilder, map_id: bytes, key: bytes) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(builder.value(map_id, key))
    return loaded


def key_value(builder: IndexBuilder, name: str, model: str, rule: KeyRule) -> dict[str, Any]:
    return value(builder, PRODUCT_KEYS, product_key_bytes(rule, keys_of(name, model)[rule]))


def number(serial: int) -> str:
    """The patent number as the domain records it (canonical form)."""
    return PatentNumber.parse(patent(serial)).value


def declare(*serials: int) -> list[PatentDeclaration]:
    return [PatentDeclaration.parse(patent(s), "owner") for s in serials]


def test_a_filings_row_and_trail_follow_the_domain_through_its_life(ledger):
    code = uscc(701)
    filer_id = approved_filer(ledger, code)
    product_id = file(ledger, code, filer_id, patents=declare(1, 2))
    approve_as_distinct(ledger, product_id)
    ledger.revise_product(
        filer_actor(code), product_id, data_year=2023, figures=figures(),
        patents=declare(2, 3), proof_digests=[digest("invoice 2023")],
    )  # fmt: skip
    approve_as_distinct(ledger, product_id)
    dispute = ledger.raise_dispute(
        REVIEWER, product_id, patent_numbers=[patent(2)], claimant="某研究院",
        description="权属争议", evidence_digests=[digest("evidence")],
    )  # fmt: skip
    ledger.resolve_dispute(REVIEWER, product_id, dispute, "claim_upheld", "权利人为某研究院")
    events = logged_events(ledger)

    builder = built(events)
    found = key_value(builder, "智能温控阀", "TV-100", KeyRule.V1)

    product = ledger.get_product(product_id)
    (filing,) = found["filings"]
    assert filing["product_id"] == str(product_id)
    assert found["holder"] == str(product_id)
    # every event of the filing, versions 1..n, at their leaves
    assert filing["leaves"] == [e.leaf_index for e in events if e.originator_id == product_id]
    assert len(filing["leaves"]) == product.version
    row = registry_row(builder.state.filings[str(product_id)])
    assert filing["row"] == row_digest(row)
    assert row["status"] == product.status.value
    assert row["data_year"] == product.data_year == 2023
    assert row["filing_number"] == product.filing_number is not None
    assert row["patents"] == sorted(p["number"] for p in product.patents)
    assert row["removed_patents"] == sorted(product.removed_patents) == [number(2)]
    assert row["version"] == product.version
    # the reservation's events are the key's: the v1 reservation was made in the filing's save
    reservation = ledger.get_reservation("智能温控阀", "TV-100")
    assert found["reservation"]["id"] == str(reservation.id)
    assert found["reservation"]["leaves"] == [
        e.leaf_index for e in events if e.originator_id == reservation.id
    ]
    # patents: 1 dropped by the revision, 2 lost to the upheld claim, 3 declared
    standing = {
        serial: value(builder, PATENTS, patent_key_bytes(number(serial))) for serial in (1, 2, 3)
    }
    assert standing[1]["formerly"] == [str(product_id)]
    assert standing[1]["declared"] == []
    assert standing[2]["lost"] == [str(product_id)]
    assert standing[2]["declared"] == []
    assert standing[3]["declared"] == [str(product_id)]


def test_a_refiling_holds_the_key_after_the_withdrawn_filing(ledger):
    code = uscc(702)
    filer_id = approved_filer(ledger, code)
    first = file(ledger, code, filer_id)
    ledger.withdraw_product(filer_actor(code), first, "退市")
    second = file(ledger, code, filer_id, model="ＴＶ－１００")  # the same key, full width
    events = logged_events(ledger)
    assert any(e.topic == KEY_REASSIGNED for e in events)

    builder = built(events)

    for rule in (KeyRule.V1, KeyRule.V2):
        found = key_value(builder, "智能温控阀", "TV-100", rule)
        assert found["holder"] == str(second)
        assert [f["product_id"] for f in found["filings"]] == [str(first), str(second)]
        rows = [builder.state.filings[f["product_id"]] for f in found["filings"]]
        assert [r.status for r in rows] == ["withdrawn", "pending_review"]


def test_filings_before_key_rule_v2_that_v2_calls_one_product_share_a_v2_entry():
    events = sample_events(7)
    builder = built(events)
    filed = [e for e in events if e.topic == PRODUCT_FILED]
    by_v2: dict[str, list[str]] = defaultdict(list)
    for event in filed:
        derived = keys_of(event.state["name"], event.state["model"]).get(KeyRule.V2)
        if derived is not None:
            by_v2[derived].append(str(event.originator_id))
    for key, product_ids in by_v2.items():
        found = value(builder, PRODUCT_KEYS, product_key_bytes(KeyRule.V2, key))
        assert [f["product_id"] for f in found["filings"]] == product_ids
    # every v1 key recorded is in the map, with its filings in log order
    for event in filed:
        found = value(
            builder, PRODUCT_KEYS, product_key_bytes(KeyRule.V1, event.state["canonical_key"])
        )
        assert str(event.originator_id) in [f["product_id"] for f in found["filings"]]


def test_every_reservation_holder_has_the_key_and_every_trail_is_complete():
    events = sample_events(7)
    builder = built(events)
    versions: dict[UUID, list[int]] = defaultdict(list)
    for event in events:
        versions[event.originator_id].append(event.leaf_index)
    reserved = {e.originator_id for e in events if e.topic == KEY_RESERVED}
    assert reserved
    for key in builder.state.keys.values():
        for product_id in key.filings:
            assert builder.state.filings[product_id].leaves == versions[UUID(product_id)]
        if key.reservation_id is not None:
            assert key.holder in key.filings
            assert key.reservation_leaves == versions[UUID(key.reservation_id)]


def test_roots_are_a_function_of_the_events_and_change_with_any_of_them():
    events = sample_events(7)
    first, second = InMemoryIndex(), InMemoryIndex()
    for event in events:
        first.apply(event)
        second.apply(event)
    assert first.roots() == second.roots()
    # the last event of a filing left out: its trail, so its keys' values and the root, differ
    last: dict[UUID, int] = {e.originator_id: i for i, e in enumerate(events)}
    filings = {e.originator_id for e in events if e.topic == PRODUCT_FILED}
    dropped_at = next(
        i for o, i in last.items() if o in filings and events[i].topic != PRODUCT_FILED
    )
    dropped = InMemoryIndex()
    for index, event in enumerate(events):
        if index != dropped_at:
            dropped.apply(event)
    assert dropped.roots()[PRODUCT_KEYS] != first.roots()[PRODUCT_KEYS]


def test_roots_settle_incrementally_as_at_once():
    """The incremental rebuild (changes tracked, each map a MapTree) and the one at once (no
    tracking, every entry valued, the fold) agree at every step they are asked."""
    events = sample_events(7)
    stepwise, at_once, incremental = InMemoryIndex(), InMemoryIndex(), IndexRebuild()
    for number, event in enumerate(events):
        stepwise.apply(event)
        incremental.apply(event)
        if number % 41 == 0:  # every event type comes up; each check values every map (slow)
            assert stepwise.heads() == incremental.heads()
        at_once.apply(event)
    assert stepwise.roots() == at_once.roots()
    assert stepwise.sizes() == at_once.sizes()
    assert at_once.heads() == incremental.heads()
    assert at_once.builder.take_changed() == []  # nothing tracked
    assert sum(at_once.sizes().values()) > 0


def test_an_event_of_an_unknown_filing_is_refused():
    events = sample_events(7)
    filed = next(e for e in events if e.topic == PRODUCT_FILED)
    later = next(e for e in events if e.originator_id == filed.originator_id and e.version == 2)
    with pytest.raises(InvalidReplayError, match="never filed"):
        built([replace(later, originator_id=uuid4())])


def test_a_reservation_for_a_filing_without_the_key_is_refused():
    events = sample_events(7)
    filed = [e for e in events if e.topic == PRODUCT_FILED][:2]
    reservation = next(
        e
        for e in events
        if e.topic == KEY_RESERVED and str(e.state["product_id"]) == str(filed[1].originator_id)
    )
    forged = LoggedEvent(
        reservation.leaf_index,
        reservation.originator_id,
        1,
        KEY_RESERVED,
        {**reservation.state, "product_id": str(filed[0].originator_id)},
    )
    with pytest.raises(InvalidReplayError, match="does not have key"):
        built([*filed, forged])


@pytest.mark.parametrize(
    ("field", "bad"),
    [("name", None), ("canonical_key", 7), ("patents", "ZL1"), ("data_year", "2022")],
)
def test_a_filing_the_index_cannot_read_is_refused(field, bad):
    filed = next(e for e in sample_events(7) if e.topic == PRODUCT_FILED)
    with pytest.raises(InvalidReplayError, match=field):
        built([replace(filed, state={**filed.state, field: bad})])


def test_ids_as_text_give_the_index_that_ids_as_uuids_give():
    """The verifier hands events over with ids as canonical text (``apply_indexed``); the
    server as ``UUID`` objects (``apply``): the same entries and roots. A product id spelt
    otherwise (upper case, braces) is read as its UUID; anything else is refused, naming the
    event."""
    events = sample_events(7)
    as_uuids, as_text = InMemoryIndex(), InMemoryIndex()
    for event in events:
        as_uuids.apply(event)
        state = dict(event.state)
        if isinstance(state.get("product_id"), UUID):
            state["product_id"] = str(state["product_id"])
        as_text.apply_indexed(
            IndexedEvent(event.leaf_index, str(event.originator_id), event.version,
                         event.topic, state)
        )  # fmt: skip
    assert as_text.heads() == as_uuids.heads()
    filed = next(e for e in events if e.topic == PRODUCT_FILED)
    reservation = next(
        e for e in events
        if e.topic == KEY_RESERVED and str(e.state["product_id"]) == str(filed.originator_id)
    )  # fmt: skip
    for spelling in (str(filed.originator_id).upper(), "{" + str(filed.originator_id) + "}"):
        builder = IndexBuilder()
        builder.apply(filed)
        builder.apply(replace(reservation, state={**reservation.state, "product_id": spelling}))
        key = builder.state.keys[product_key_bytes(1, reservation.state["canonical_key"])]
        assert key.holder == str(filed.originator_id)
    builder = IndexBuilder()
    builder.apply(filed)
    with pytest.raises(InvalidReplayError, match="want a UUID") as caught:
        builder.apply(replace(reservation, state={**reservation.state, "product_id": "ZL-1"}))
    assert caught.value.leaf_index == reservation.leaf_index
