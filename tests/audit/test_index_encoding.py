"""The index's values written directly (audit.offline.index_encoding) are byte for byte the
canonical encoding of their definition (``registry_row`` / ``product_key_value`` through
``encode_canonical_plain``), on generated fields: any text (quotes, backslashes, control
characters, U+001F, CJK, astral code points), empty and long lists, absent optional fields."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.offline.canonical import encode_canonical_plain
from audit.offline.index_encoding import encode_registry_row
from audit.offline.product_index import (
    PRODUCT_KEYS,
    FilingState,
    IndexBuilder,
    KeyState,
    product_key_bytes,
    registry_row,
)

TEXT = st.text(max_size=12) | st.sampled_from(['"', "\\", "\x1f", "\x00", "智能\u001fTV", "😀"])
IDS = st.text(min_size=1, max_size=8)
LEAVES = st.lists(st.integers(min_value=0, max_value=2**63 - 1), max_size=5)


@st.composite
def filings(draw: st.DrawFn, product_id: str | None = None) -> FilingState:
    return FilingState(
        product_id if product_id is not None else draw(IDS),
        draw(TEXT), draw(TEXT), draw(TEXT), [[1, draw(TEXT)]],
        status=draw(TEXT), data_year=draw(st.integers(min_value=-(2**70), max_value=2**70)),
        filing_number=draw(st.none() | TEXT), patents=draw(st.lists(TEXT, max_size=4)),
        removed=draw(st.lists(TEXT, max_size=4)), leaves=draw(LEAVES),
    )  # fmt: skip


@settings(max_examples=300)
@given(filings())
def test_a_registry_row_written_directly_is_its_canonical_encoding(filing: FilingState) -> None:
    assert encode_registry_row(filing) == encode_canonical_plain(registry_row(filing))


@settings(max_examples=300)
@given(
    st.data(),
    st.integers(min_value=1, max_value=2),
    TEXT,
    st.lists(IDS, max_size=4, unique=True),
    st.none() | st.tuples(IDS, LEAVES),
)
def test_a_product_key_value_written_directly_is_its_canonical_encoding(
    data: st.DataObject,
    rule: int,
    key: str,
    product_ids: list[str],
    reservation: tuple[str, list[int]] | None,
) -> None:
    builder = IndexBuilder()
    for product_id in product_ids:
        builder.state.filings[product_id] = data.draw(filings(product_id))
    holder = data.draw(st.none() | st.sampled_from(product_ids)) if product_ids else None
    state = KeyState(rule, key, holder, filings=list(product_ids))
    if reservation is not None:
        state.reservation_id, state.reservation_leaves = reservation[0], list(reservation[1])
    entry = product_key_bytes(rule, key)
    builder.state.keys[entry] = state

    written = builder.value(PRODUCT_KEYS, entry)

    assert written == encode_canonical_plain(builder.product_key_value(state))
