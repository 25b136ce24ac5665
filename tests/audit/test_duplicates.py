"""Never filed twice, proved from the log: duplicates and forged keys are found, re-filings pass."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.offline.duplicates import (
    DuplicateProduct,
    MismatchedKey,
    ProductRef,
    audit_products,
    canonical_product_key,
    find_duplicate_products,
    find_mismatched_keys,
)
from audit.offline.errors import InvalidReplayError
from audit.offline.replay_base import KEY_REASSIGNED, PRODUCT_FILED
from domain import values
from domain.errors import DuplicateProductError, TextInvalidError
from tests.audit.test_replay import A, B, Forge, logged_events, sample_events
from tests.domain.factories import approved_filer, file, filer_actor, uscc


def product_ref(event: Any) -> ProductRef:
    return ProductRef(event.leaf_index, event.originator_id, event.state["filer_uscc"])


def key_of(event: Any) -> str:
    return str(event.state["canonical_key"])


# --- logs written by the domain ---------------------------------------------------------------


def test_the_sample_log_has_no_duplicate_and_no_forged_key():
    events = sample_events(7)
    # The seed-7 sample withdraws filings and files them again (the key event shows it); its
    # refused duplicate attempts leave no event.
    assert any(event.topic == KEY_REASSIGNED for event in events)

    findings = audit_products(events)

    assert findings.duplicates == ()
    assert findings.mismatched_keys == ()


def test_a_refiling_after_withdrawal_written_by_the_domain_is_not_a_duplicate(ledger):
    code, other = uscc(401), uscc(402)
    filer_id = approved_filer(ledger, code)
    other_id = approved_filer(ledger, other)
    first = file(ledger, code, filer_id, model="TV-100")
    with pytest.raises(DuplicateProductError):
        file(ledger, other, other_id, model="ＴＶ－１００")
    ledger.withdraw_product(filer_actor(code), first, "退市")
    with pytest.raises(DuplicateProductError):  # withdrawal does not free the key for others
        file(ledger, other, other_id, model="tv 100")
    again = file(ledger, code, filer_id, model="tv100")
    events = logged_events(ledger)
    filed = [event for event in events if event.topic == PRODUCT_FILED]
    assert [event.originator_id for event in filed] == [first, again]

    assert audit_products(events).duplicates == ()


# --- forged logs ------------------------------------------------------------------------------


def test_a_second_filing_by_another_filer_is_reported_with_both_filings():
    forge = Forge()
    first = forge.file(A, model="TV-100")
    second = forge.file(B, model="tv 100")

    assert find_duplicate_products(forge.events) == [
        DuplicateProduct(key_of(first), (product_ref(first), product_ref(second)))
    ]
    assert (product_ref(first).filer_uscc, product_ref(second).filer_uscc) == (A, B)


def test_a_second_filing_by_the_same_filer_without_withdrawal_is_reported():
    forge = Forge()
    first = forge.file(A)
    second = forge.file(A)

    assert find_duplicate_products(forge.events) == [
        DuplicateProduct(key_of(first), (product_ref(first), product_ref(second)))
    ]


def test_a_refiling_by_the_same_filer_after_withdrawal_is_not_reported():
    forge = Forge()
    first = forge.file(A)
    forge.withdraw(first.originator_id, A)
    second = forge.file(A)
    forge.withdraw(second.originator_id, A)
    forge.file(A)

    assert find_duplicate_products(forge.events) == []


def test_a_filing_by_another_filer_after_withdrawal_is_reported():
    forge = Forge()
    first = forge.file(A)
    forge.withdraw(first.originator_id, A)
    second = forge.file(B)

    assert find_duplicate_products(forge.events) == [
        DuplicateProduct(key_of(first), (product_ref(first), product_ref(second)))
    ]


def test_a_withdrawal_after_the_second_filing_does_not_excuse_it():
    forge = Forge()
    first = forge.file(A)
    second = forge.file(A)
    forge.withdraw(first.originator_id, A)

    assert find_duplicate_products(forge.events) == [
        DuplicateProduct(key_of(first), (product_ref(first), product_ref(second)))
    ]


def test_a_report_lists_every_filing_of_the_key_including_legitimate_ones():
    forge = Forge()
    first = forge.file(A)
    forge.withdraw(first.originator_id, A)
    refiled = forge.file(A)
    other = forge.file(B)
    forge.file(B, model="X-1")  # another product: not reported

    assert find_duplicate_products(forge.events) == [
        DuplicateProduct(
            key_of(first), (product_ref(first), product_ref(refiled), product_ref(other))
        )
    ]


def test_a_forged_stored_key_is_flagged_and_does_not_hide_the_duplicate():
    forge = Forge()
    first = forge.file(A, model="TV-100")
    forged = forge.file(B, model="TV 100", key="智能温控阀\x1ftv100-forged")

    findings = audit_products(forge.events)

    assert findings.mismatched_keys == (
        MismatchedKey(
            product_ref(forged), "智能温控阀\x1ftv100-forged", key_of(first), 1, forged.leaf_index
        ),
    )
    assert findings.duplicates == (
        DuplicateProduct(key_of(first), (product_ref(first), product_ref(forged))),
    )
    assert find_mismatched_keys(forge.events) == list(findings.mismatched_keys)


def test_a_name_empty_after_normalisation_is_a_mismatch_without_a_derived_key():
    forge = Forge()
    filed = forge.file(A, name="！！", key="x\x1f")

    assert find_mismatched_keys(forge.events) == [
        MismatchedKey(product_ref(filed), "x\x1f", None, 1, filed.leaf_index)
    ]


@pytest.mark.parametrize("missing", ["name", "model", "canonical_key", "filer_uscc"])
def test_a_filing_without_a_field_the_check_reads_is_a_replay_error(missing):
    forge = Forge()
    forge.file(A)
    bad = forge.file(B, model="X", drop=(missing,))

    with pytest.raises(InvalidReplayError, match=f"ProductFiled {missing}") as caught:
        find_duplicate_products(forge.events)

    assert (caught.value.originator_id, caught.value.leaf_index) == (
        bad.originator_id,
        bad.leaf_index,
    )


def test_other_topics_and_unknown_withdrawals_are_ignored():
    forge = Forge()
    forge.approved(A)
    forge.withdraw(uuid4(), A)

    assert audit_products(forge.events).duplicates == ()


# --- the key rule, against the domain's reference -----------------------------------------------

# Examples from docs/never-filed-twice.md.
SAME_PRODUCT = [
    ("华为 Mate 60 Pro", "ALN-AL00"),
    ("华为mate60pro", "aln al00"),
    ("华为Mate60Pro！", "ＡＬＮ－ＡＬ００"),
]


def test_the_documented_spellings_share_one_key():
    keys = {canonical_product_key(name, model) for name, model in SAME_PRODUCT}
    assert keys == {"华为mate60pro\x1falnal00"}
    assert canonical_product_key("X 30", "") != canonical_product_key("X 30 Pro", "")
    assert canonical_product_key("华", "") != canonical_product_key("華", "")
    assert canonical_product_key("A+", "") == "a+\x1f"


@given(st.text(max_size=12), st.text(max_size=12))
def test_the_key_is_the_domains_key(name, model):
    try:
        want: str | None = values.canonical_product_key(name, model)
    except TextInvalidError:
        want = None
    assert canonical_product_key(name, model) == want
