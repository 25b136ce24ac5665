"""The product-key migration: v2 keys of filings made before v2, reserved by new events.

Each test files "before v2" with ``v1_only`` (the rules the ledger had), then migrates, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from api.bootstrap import open_projection_runner, open_projection_store
from audit.offline.duplicates import audit_products
from audit.offline.replay import replay
from domain.actor import SYSTEM
from domain.errors import ActorNotPermittedError, DuplicateProductError
from domain.sample import load_sample
from domain.values import KeyRule
from projections import queries
from projections.dispute_check import dispute_check
from projections.store import ProjectionStore
from tests.audit.test_replay import logged_events
from tests.domain.factories import REVIEWER, approved_filer, file, filer_actor, uscc, v1_only

# Spellings v1 let through as different products and v2 calls one (docs/never-filed-twice.md)
BYPASSES = (
    (("精密行星减速器", "PX-4408"), ("精密行星减速器", "РХ-4408")),  # Cyrillic look-alikes
    (("控制阀", "KZ-1"), ("控制閥", "KZ-1")),  # traditional spelling
    (("智能温控阀", "TV-100"), ("智能\u034f温控阀", "TV\u2212100")),  # CGJ and a minus sign
)


@pytest.fixture
def store(settings) -> Iterator[ProjectionStore]:
    opened = open_projection_store(settings)
    yield opened
    opened.db.close()


def _file_bypasses(
    ledger, first_code: str = uscc(901), second_code: str = uscc(902)
) -> list[tuple[UUID, UUID]]:
    first_filer = approved_filer(ledger, first_code)
    second_filer = approved_filer(ledger, second_code)
    pairs = []
    with v1_only():
        for (name_a, model_a), (name_b, model_b) in BYPASSES:
            a = file(ledger, first_code, first_filer, name=name_a, model=model_a)
            ledger.approve_product(REVIEWER, a)
            b = file(ledger, second_code, second_filer, name=name_b, model=model_b)
            pairs.append((a, b))
    return pairs


def test_the_migration_reserves_every_v2_key_once_and_reports_the_groups(ledger, store):
    pairs = _file_bypasses(ledger)
    code = uscc(903)
    filer_id = approved_filer(ledger, code)
    with v1_only():
        single = file(ledger, code, filer_id, name="工业机器人控制系统", model="RC-1")

    report = ledger.migrate_product_keys(SYSTEM)

    assert (report.key_rule, report.products, report.reserved) == (2, 7, 4)
    assert report.already_reserved == 0
    assert report.unkeyed == ()
    assert [[f.product_id for f in g.products] for g in report.groups] == [list(p) for p in pairs]
    assert [g.holder for g in report.groups] == [a for a, _ in pairs]  # the first filed
    holder = ledger.get_reservation("精密行星减速器", "PX-4408", KeyRule.V2)
    assert holder is not None
    assert holder.product_id == pairs[0][0]
    assert ledger.get_reservation("工业机器人控制系统", "RC-1", KeyRule.V2).product_id == single

    events_before = ledger.recorder.max_notification_id()
    again = ledger.migrate_product_keys(SYSTEM)  # idempotent: nothing added
    assert ledger.recorder.max_notification_id() == events_before
    assert (again.reserved, again.already_reserved) == (0, 4)
    assert again.groups == report.groups

    # From now on any spelling of a migrated product is refused, for anyone.
    other = uscc(904)
    other_id = approved_filer(ledger, other)
    for (_, _), (name, model) in BYPASSES:
        with pytest.raises(DuplicateProductError) as refused:
            file(ledger, other, other_id, name=name, model=model)
        assert refused.value.details["key_rule"] in (1, 2)
    with pytest.raises(DuplicateProductError):
        file(ledger, other, other_id, name="精密行星减速器", model="ＰＸ－４４０８")

    # The auditor replays it and calls the groups what they are: not duplicates.
    events = logged_events(ledger)
    replay(events)
    findings = audit_products(events)
    assert findings.duplicates == ()
    assert findings.mismatched_keys == ()
    assert [[f.product_id for f in g.products] for g in findings.same_product_groups] == [
        list(p) for p in pairs
    ]

    # Reviewers see the same groups in the read model, with the holder marked.
    open_projection_runner(ledger, store).catch_up()
    groups = queries.same_key_groups(store, 2)
    assert sorted(tuple(row["product_id"] for row in g["filings"]) for g in groups) == sorted(
        (str(a), str(b)) for a, b in pairs
    )
    for group in groups:
        assert [row["holds_key"] for row in group["filings"]] == [1, 0]


def test_a_withdrawn_filing_does_not_hold_its_groups_key_over_a_live_one(ledger):
    (a, b), *_ = _file_bypasses(ledger)
    ledger.withdraw_product(filer_actor(uscc(901)), a, "退市")

    report = ledger.migrate_product_keys(SYSTEM)

    assert report.groups[0].holder == b  # the first filed that is not withdrawn


def test_only_the_system_runs_the_migration(ledger):
    _file_bypasses(ledger)
    before = ledger.recorder.max_notification_id()
    with pytest.raises(ActorNotPermittedError):
        ledger.migrate_product_keys(REVIEWER)
    assert ledger.recorder.max_notification_id() == before


def test_a_filing_v2_cannot_key_is_reported_not_reserved(ledger):
    code = uscc(905)
    filer_id = approved_filer(ledger, code)
    with v1_only():
        blank = file(ledger, code, filer_id, name="智能温控阀", model="-/-")  # v1 allowed it

    report = ledger.migrate_product_keys(SYSTEM)

    assert report.reserved == 0
    (unkeyed,) = report.unkeyed
    assert unkeyed.product.product_id == blank
    assert "model" in unkeyed.reason
    replay(logged_events(ledger))


def test_the_migration_on_the_sample_is_idempotent_and_reports_the_groups(ledger):
    with v1_only():
        summary = load_sample(ledger, 7)
    pairs = _file_bypasses(ledger)

    report = ledger.migrate_product_keys(SYSTEM)

    products = summary.products + 2 * len(pairs)
    assert report.products == products
    assert report.reserved + report.already_reserved < products  # re-filings share a key
    assert report.reserved > 1000
    assert [[f.product_id for f in g.products] for g in report.groups] == [list(p) for p in pairs]
    before = ledger.recorder.max_notification_id()
    again = ledger.migrate_product_keys(SYSTEM)
    assert again.reserved == 0
    assert again.already_reserved == report.reserved
    assert ledger.recorder.max_notification_id() == before
    replay(logged_events(ledger))


def test_the_dispute_check_shows_a_pair_v2_joins_at_distance_zero(ledger, store):
    (latin, cyrillic), *_ = _file_bypasses(ledger)
    open_projection_runner(ledger, store).catch_up()

    check = dispute_check(store, cyrillic, max_distance=0)

    assert [(s["product_id"], s["distance"], s["key_rule"]) for s in check.similar_filings] == [
        (str(latin), 0, 2)
    ]
