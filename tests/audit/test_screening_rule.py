"""Screening rule v1 (audit.offline.screening): which earlier filings are near-duplicate
candidates."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.offline.product_key import v2_key_part
from audit.offline.screening import (
    VARIANT_WORDS,
    Declaration,
    Reason,
    ScreeningIndex,
    strip_variant_words,
    within_one_edit,
)

A, B = "91310115000000001X", "91310115000000002X"  # two filers (screening reads USCCs as text)


def _declaration(
    name: str, model: str = "", patents: tuple[str, ...] = ("P-A",), filer: str = A
) -> Declaration:
    return Declaration(filer, name, model, frozenset(patents))


def _screen(earlier: Declaration, later: Declaration) -> tuple[Reason, ...]:
    index = ScreeningIndex()
    index.add("earlier", 1, earlier)
    index.add("later", 2, later)
    return index.candidates_of("later").get("earlier", ())


# Each: the earlier filing, the later one, the reasons the later one has the earlier as a
# candidate. The later filing is by another filer with other patents unless the case says so.
CANDIDATES = [
    pytest.param(
        _declaration("智能温控阀", "TV-100"),
        _declaration("Smart valve", "TV-100", ("P-B",), B),
        (Reason.SAME_MODEL,),
        id="the same model under an English name",
    ),
    pytest.param(
        _declaration("智能温控阀", "TV-100"),
        _declaration("温控阀", "tv 100", ("P-B",), B),
        (Reason.SAME_MODEL,),
        id="the same folded model under a shorter name",
    ),
    pytest.param(
        _declaration("智能温控阀", "TV-100", ("P-1",)),
        _declaration("数字阀门", "DV-7", ("P-1",), B),
        (Reason.SHARED_PATENT,),
        id="a patent declared by another filer",
    ),
    pytest.param(
        _declaration("智能温控阀"),
        _declaration("智能温控阀门", "", ("P-B",), B),
        (Reason.SIMILAR_NAME,),
        id="names one insertion apart, no models",
    ),
    pytest.param(
        _declaration("智能温控阀", "TV-100"),
        _declaration("智能温控阀", "", ("P-B",), B),
        (Reason.SIMILAR_NAME,),
        id="one name with and without a model",
    ),
    pytest.param(
        _declaration("智能温控阀"),
        _declaration("智能恒控阀", "", ("P-B",), B),
        (Reason.SIMILAR_NAME,),
        id="names one substitution apart, no models",
    ),
    pytest.param(
        _declaration("智能温控阀", "TV-100"),
        _declaration("智能温控阀 红色", "TV-100", ("P-B",), B),
        (Reason.SAME_MODEL, Reason.VARIANT_WORDS),
        id="a colour moved into the name",
    ),
    pytest.param(
        _declaration("智能温控阀", "TV-100"),
        _declaration("智能温控阀", "TV-100 Red", ("P-B",), B),
        (Reason.VARIANT_WORDS,),
        id="a colour moved into the model",
    ),
    pytest.param(
        _declaration("智能温控阀", "TV-100"),
        _declaration("智能温控阀", "TV-100 Pro Max", ("P-B",), B),
        (Reason.VARIANT_WORDS,),
        id="configuration words after the model",
    ),
    pytest.param(
        _declaration("便携式超声诊断仪", "CD-9"),
        _declaration("便携式超声诊断仪旗舰版", "CD-9", ("P-B",), B),
        (Reason.SAME_MODEL, Reason.VARIANT_WORDS),
        id="an edition word in the name of the same model",
    ),
    pytest.param(
        _declaration("控制阀", "KZ-1"),
        _declaration("控制閥", "KZ-1", ("P-B",), B),
        (Reason.SAME_KEY,),
        id="one v2 key (only a filing from before v2 can be such an earlier one)",
    ),
    pytest.param(
        _declaration("智能温控阀", "TV-100", ("P-1",)),
        _declaration("Smart valve", "TV-100", ("P-1",), B),
        (Reason.SAME_MODEL, Reason.SHARED_PATENT),
        id="several reasons, sorted",
    ),
]


@pytest.mark.parametrize(("earlier", "later", "reasons"), CANDIDATES)
def test_a_near_duplicate_is_a_candidate_with_its_reasons(earlier, later, reasons):
    assert _screen(earlier, later) == reasons


# Distinct products that screening leaves alone: nothing for a reviewer to decide.
NOT_CANDIDATES = [
    pytest.param(
        _declaration("智能温控阀", "TV-100"),
        _declaration("智能温控阀", "TV-200", ("P-B",), B),
        id="one name, two models: a product line",
    ),
    pytest.param(
        _declaration("智能温控阀", "TV-100", ("P-1",)),
        _declaration("电动执行器", "EA-3", ("P-1",), A),
        id="a patent shared by one filer's products",
    ),
    pytest.param(
        _declaration("红外测温仪", "HW-1"),
        _declaration("测温仪", "HW-2", ("P-B",), B),
        id="a colour character inside a word is no colour word",
    ),
    pytest.param(
        _declaration("Shredder", "SD-1"),
        _declaration("Sh", "SD-1x", ("P-B",), B),
        id="a Latin word inside a model is not cut",
    ),
    pytest.param(
        _declaration("智能温控阀", "TV-100"),
        _declaration("智能温控器", "TV-101", ("P-B",), B),
        id="names one edit apart, both with models",
    ),
    pytest.param(
        _declaration("阀"),
        _declaration("电动执行器", "", ("P-B",), B),
        id="names far apart",
    ),
]


@pytest.mark.parametrize(("earlier", "later"), NOT_CANDIDATES)
def test_distinct_products_are_no_candidates(earlier, later):
    assert _screen(earlier, later) == ()


def test_only_earlier_filings_not_withdrawn_before_are_candidates():
    index = ScreeningIndex()
    index.add("withdrawn-before", 1, _declaration("Valve", "V-1", ("P-1",), B))
    index.add("withdrawn-after", 2, _declaration("Valve", "V-2", ("P-1",), B))
    index.withdraw("withdrawn-before", 3)
    index.add("filing", 4, _declaration("Gate", "G-1", ("P-1",)))
    index.withdraw("withdrawn-after", 5)
    index.add("later", 6, _declaration("Gate", "G-2", ("P-1",), B))
    assert index.candidates_of("filing") == {"withdrawn-after": (Reason.SHARED_PATENT,)}
    # A later filing is never a candidate of an earlier one: the pair is decided once, later.
    assert "later" not in index.candidates_of("filing")
    # A filing about to be made is screened against every filing not withdrawn now.
    assert index.candidates(_declaration("Gate", "G-3", ("P-1",), B)) == {
        "filing": (Reason.SHARED_PATENT,)
    }


def test_a_filing_v2_cannot_fold_is_screened_by_its_patents_only():
    index = ScreeningIndex()
    index.add("invisible", 1, _declaration("\u2800\u3164", "", ("P-1",), B))
    index.add("model", 2, _declaration("Valve", "V-1", ("P-2",), B))
    found = index.candidates(_declaration("Valve", "", ("P-1",)))
    assert found == {"invisible": (Reason.SHARED_PATENT,), "model": (Reason.SIMILAR_NAME,)}


def test_the_variant_words_fold_like_keys_and_cut_only_where_documented():
    assert strip_variant_words(v2_key_part("紅色智能溫控閥")) == v2_key_part("智能温控阀")
    assert strip_variant_words("tv100redpro") == "tv100"
    assert strip_variant_words("protv100") == "tv100"
    assert strip_variant_words("shredder") == "shredder"
    assert strip_variant_words("red") == "red"  # never cut to nothing
    assert strip_variant_words("白色") == "白色"
    assert len(set(VARIANT_WORDS)) == len(VARIANT_WORDS)


def _levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


_TEXT = st.text(alphabet="ab阀门x", max_size=6)


@given(_TEXT, _TEXT)
def test_within_one_edit_is_levenshtein_at_most_one(a, b):
    assert within_one_edit(a, b) is (_levenshtein(a, b) <= 1)


def _brute_force(products: list[tuple[str, Declaration]], index: int) -> dict[str, set[Reason]]:
    """C(F) straight from the definition in audit/offline/screening.py, pair by pair."""
    _, own = products[index]
    own_name, own_model = v2_key_part(own.name), v2_key_part(own.model)
    found: dict[str, set[Reason]] = {}
    for other_id, other in products[:index]:
        name, model = v2_key_part(other.name), v2_key_part(other.model)
        reasons = set()
        if (name, model) == (own_name, own_model):
            reasons.add(Reason.SAME_KEY)
        if model and model == own_model and name != own_name:
            reasons.add(Reason.SAME_MODEL)
        if other.filer_uscc != own.filer_uscc and other.patents & own.patents:
            reasons.add(Reason.SHARED_PATENT)
        if (not model or not own_model) and _levenshtein(name, own_name) <= 1:
            reasons.add(Reason.SIMILAR_NAME)
        stripped = (strip_variant_words(name), strip_variant_words(model))
        own_stripped = (strip_variant_words(own_name), strip_variant_words(own_model))
        if stripped == own_stripped and (name, model) != (own_name, own_model):
            reasons.add(Reason.VARIANT_WORDS)
        if reasons:
            found[other_id] = reasons
    return found


_DECLARATION = st.builds(
    Declaration,
    st.sampled_from([A, B]),
    st.text(alphabet="阀门ab红色", min_size=1, max_size=4),
    st.sampled_from(["", "x1", "x1red", "X-1", "y2"]),
    st.frozensets(st.sampled_from(["P1", "P2", "P3"]), min_size=1, max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_DECLARATION, min_size=1, max_size=8))
def test_the_index_finds_exactly_the_candidates_of_the_definition(declarations):
    products = [(f"f{n}", declaration) for n, declaration in enumerate(declarations)]
    index = ScreeningIndex()
    for position, (product_id, declaration) in enumerate(products):
        index.add(product_id, position, declaration)
    for n, (product_id, _) in enumerate(products):
        found = {other: set(reasons) for other, reasons in index.candidates_of(product_id).items()}
        assert found == _brute_force(products, n)
