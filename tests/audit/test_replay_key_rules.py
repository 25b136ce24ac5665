"""Key rules in the offline replay and the duplicates audit: forged logs are caught.

Logs written event by event (tests.audit.test_replay.Forge): before v2 a filing's save holds its
v1 key event; from the first v2 key event on, its v1 then its v2 key event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from audit.offline.duplicates import SameProductGroup, audit_products
from audit.offline.errors import InvalidReplayError
from audit.offline.replay import replay
from domain.values import KeyRule, product_key, product_key_id
from tests.audit.test_replay import REVIEWER_RECORD, A, B, Forge, as_filer


def _legacy_then_v2() -> tuple[Forge, Any, Any]:
    """Two filings of one product (Latin / Cyrillic model) made under v1, a third one (B's
    ``ZZ-1``, ``forge.unmigrated``) whose v2 key is not reserved yet, then the migration of the
    first."""
    forge = Forge()
    forge.approved(A)
    forge.approved(B)
    latin = forge.file(A, model="PX-4408")
    forge.reserve(latin)
    cyrillic = forge.file(B, model="РХ-4408")
    forge.reserve(cyrillic)
    unmigrated = forge.file(B, model="ZZ-1")
    forge.reserve(unmigrated)
    forge.migrate(latin)
    forge.unmigrated = unmigrated  # type: ignore[attr-defined]
    return forge, latin, cyrillic


def test_an_honest_upgrade_replays_and_reports_the_group_not_a_duplicate():
    forge, latin, cyrillic = _legacy_then_v2()
    later = forge.file(A, model="TV-200")
    forge.reserve(later)
    forge.reserve_v2(later)

    summary = replay(forge.events)
    findings = audit_products(forge.events)

    assert summary.aggregates["reservation"] == 6  # 4 v1, the migrated v2, the later v2
    assert findings.duplicates == ()
    assert findings.mismatched_keys == ()
    (group,) = findings.same_product_groups
    assert isinstance(group, SameProductGroup)
    assert [f.product_id for f in group.products] == [latin.originator_id, cyrillic.originator_id]


def test_the_first_v2_filing_of_a_log_may_bring_v2_into_force():
    forge = Forge()
    forge.approved(A)
    old = forge.file(A, model="TV-100")
    forge.reserve(old)
    first_v2 = forge.file(A, model="TV-200")
    forge.reserve(first_v2)
    forge.reserve_v2(first_v2)
    replay(forge.events)


def _v1_only_after_v2(forge: Forge) -> None:
    filed = forge.file(A, model="TV-300")
    forge.reserve(filed)  # no v2 key event, though v2 is in force


def _v2_before_v1(forge: Forge) -> None:
    filed = forge.file(A, model="TV-300")
    forge.reserve_v2(filed)
    forge.reserve(filed)


def _v2_key_not_the_filings(forge: Forge) -> None:
    filed = forge.file(A, model="TV-300")
    forge.reserve(filed)
    key = product_key(KeyRule.V2, "智能温控阀", "TV-301")
    forge.reserve_v2(filed, canonical_key=key, aggregate_id=product_key_id(key, KeyRule.V2))


def _v2_id_of_the_v1_rule(forge: Forge) -> None:
    filed = forge.file(A, model="TV-300")
    forge.reserve(filed)
    key = product_key(KeyRule.V2, "智能温控阀", "TV-300")
    forge.reserve_v2(filed, aggregate_id=product_key_id(key, KeyRule.V1))


def _unknown_key_rule(value: object) -> Callable[[Forge], None]:
    def forge_it(forge: Forge) -> None:
        filed = forge.file(A, model="TV-300")
        forge.reserve(filed)
        forge.reserve_v2(filed, key_rule=value)

    return forge_it


def _migration_by_a_filer(forge: Any) -> None:
    forge.migrate(forge.unmigrated, actor=as_filer(B))


def _migration_of_another_key(forge: Any) -> None:
    key = product_key(KeyRule.V2, "智能温控阀", "XX-1")
    forge.migrate(forge.unmigrated, canonical_key=key, aggregate_id=product_key_id(key, KeyRule.V2))


def _migration_for_another_filer(forge: Any) -> None:
    forge.migrate(forge.unmigrated, filer_uscc=A)


def _migration_under_v1(forge: Any) -> None:
    forge.migrate(forge.unmigrated, key_rule=1, canonical_key="zz\x1f",
                  aggregate_id=product_key_id("zz\x1f"))  # fmt: skip


def _migration_twice(forge: Any) -> None:
    forge.migrate(forge.events[8])  # the Cyrillic filing: its v2 key is the Latin one's


FORGED = [
    ("a filing without its v2 key event after v2 is in force", _v1_only_after_v2,
     "ProductFiled is not followed"),
    ("the v2 key event before the v1 one", _v2_before_v1, "want v1"),
    ("a v2 key that is not the filing's", _v2_key_not_the_filings, "name and model give"),
    ("a v2 key under the v1 reservation id", _v2_id_of_the_v1_rule, "under key rule v2"),
    ("key_rule 3", _unknown_key_rule(3), "key_rule 3"),
    ("key_rule as text", _unknown_key_rule("2"), "key_rule '2'"),
    ("key_rule true", _unknown_key_rule(True), "key_rule True"),
    ("a migration by a filer", _migration_by_a_filer, "role"),
    ("a migration of a key that is not the filing's", _migration_of_another_key,
     "name and model give"),
    ("a migration for another filer", _migration_for_another_filer, "the key belongs to"),
    ("a migration under v1", _migration_under_v1, "v2 or later"),
    ("a migration of a key already reserved", _migration_twice, "exists"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("forge_it", "want_error"), [c[1:] for c in FORGED], ids=[c[0] for c in FORGED]
)
def test_a_forged_key_event_is_refused_naming_its_leaf(forge_it, want_error):
    forge, _, _ = _legacy_then_v2()
    forge_it(forge)

    with pytest.raises(InvalidReplayError) as refused:
        replay(forge.events)

    assert want_error in str(refused.value)
    assert refused.value.leaf_index >= 7  # an event of the forged part, named


def test_a_v2_era_filing_of_an_unmigrated_product_is_a_duplicate_under_v2():
    forge = Forge()
    forge.approved(A)
    forge.approved(B)
    old = forge.file(A, model="PX-4408")  # before v2, never migrated
    forge.reserve(old)
    bridge = forge.file(A, model="TV-1")
    forge.reserve(bridge)
    forge.reserve_v2(bridge)  # v2 in force
    again = forge.file(B, model="РХ-4408")  # v2 says: the same product as `old`
    forge.reserve(again)
    forge.reserve_v2(again)

    replay(forge.events)  # every event is well formed...
    (duplicate,) = audit_products(forge.events).duplicates  # ...but the product is filed twice
    assert duplicate.key_rule == 2
    assert [f.product_id for f in duplicate.products] == [old.originator_id, again.originator_id]


def test_a_forged_v2_key_is_a_mismatch_and_does_not_hide_the_duplicate():
    forge = Forge()
    forge.approved(A)
    forge.approved(B)
    first = forge.file(A, model="PX-4408")
    forge.reserve(first)
    forge.reserve_v2(first)
    second = forge.file(B, model="РХ-4408")
    forge.reserve(second)
    forged_key = product_key(KeyRule.V2, "别的产品", "Q-1")
    forge.reserve_v2(second, canonical_key=forged_key,
                     aggregate_id=product_key_id(forged_key, KeyRule.V2))  # fmt: skip

    findings = audit_products(forge.events)

    (mismatch,) = findings.mismatched_keys
    assert (mismatch.key_rule, mismatch.stored_key, mismatch.leaf_index) == (
        2, forged_key, forge.events[-1].leaf_index,
    )  # fmt: skip
    (duplicate,) = findings.duplicates
    assert duplicate.key_rule == 2
    with pytest.raises(InvalidReplayError, match="name and model give"):
        replay(forge.events)


def test_a_reviewer_cannot_reserve_a_filings_key():
    forge, _, _ = _legacy_then_v2()
    filed = forge.file(A, model="TV-9")
    forge.reserve(filed)
    forge.reserve_v2(filed, actor=REVIEWER_RECORD)
    with pytest.raises(InvalidReplayError, match="role"):
        replay(forge.events)
