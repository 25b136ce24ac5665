"""The product index's two most frequent values, spelled out directly in canonical JSON.

A rebuild encodes, per filing, its registry row (for the row digest) and the value of each of
its product keys — three canonical encodings, most of a rebuild's time when built as dicts
and handed to the generic encoder (``audit.offline.canonical.encode_canonical_plain``). These
functions write the same bytes from the fields: keys in sorted order, text through the JSON
encoder's own string escaping (``ensure_ascii`` off, as the canonical encoding), integers in
decimal. They are an optimisation, not a second definition: the definition is
``encode_canonical_plain`` of ``registry_row`` / ``IndexBuilder.product_key_value``
(docs/product-index.md), and the tests compare the two on generated values.

Standard library only (the offline verifier runs it).
"""

from __future__ import annotations

from collections.abc import Sequence
from json.encoder import encode_basestring
from typing import Final, Protocol

PRODUCT_KEY_VALUE: Final = "ppl-index/product-key/v1"
REGISTRY_ROW: Final = "ppl-registry-row/v1"

_text = encode_basestring  # the C escaping the canonical encoder uses (ensure_ascii off)


class RowFields(Protocol):
    """What a registry row is made of (``product_index.FilingState``)."""

    product_id: str
    filer_uscc: str
    name: str
    model: str
    status: str
    data_year: int
    filing_number: str | None
    patents: list[str]
    removed: list[str]
    leaves: list[int]


def _texts(values: Sequence[str]) -> str:
    return "[" + ",".join(map(_text, values)) + "]"


def _ints(values: Sequence[int]) -> str:
    return "[" + ",".join(map(str, values)) + "]"


def _int(value: int) -> str:
    """An integer as JSON writes it (``bool`` is not one here: the builder checked it)."""
    return str(int(value))


def encode_registry_row(filing: RowFields) -> bytes:
    """``encode_canonical_plain(registry_row(filing))``, written directly."""
    number = "null" if filing.filing_number is None else _text(filing.filing_number)
    return (
        f'{{"data_year":{_int(filing.data_year)},"filer_uscc":{_text(filing.filer_uscc)},'
        f'"filing_number":{number},"format":"{REGISTRY_ROW}","model":{_text(filing.model)},'
        f'"name":{_text(filing.name)},"patents":{_texts(filing.patents)},'
        f'"product_id":{_text(filing.product_id)},"removed_patents":{_texts(filing.removed)},'
        f'"status":{_text(filing.status)},"version":{len(filing.leaves)}}}'
    ).encode()


def encode_filing_entry(product_id: str, leaves: Sequence[int], row: str) -> str:
    """One filing in a product-key value's ``filings``: its id, its events' leaves and its
    registry row's digest (text, to join into ``encode_product_key_value``)."""
    return f'{{"leaves":{_ints(leaves)},"product_id":{_text(product_id)},"row":{_text(row)}}}'


def encode_product_key_value(
    rule: int,
    key: str,
    holder: str | None,
    reservation: tuple[str, Sequence[int]] | None,
    filings: Sequence[str],
) -> bytes:
    """``encode_canonical_plain`` of a product key's value, written directly: ``reservation``
    its id and leaves, ``filings`` each filing's ``encode_filing_entry``, in log order."""
    held = "null" if holder is None else _text(holder)
    reserved = (
        "null"
        if reservation is None
        else f'{{"id":{_text(reservation[0])},"leaves":{_ints(reservation[1])}}}'
    )
    return (
        f'{{"filings":[{",".join(filings)}],"format":"{PRODUCT_KEY_VALUE}","holder":{held},'
        f'"key":{_text(key)},"key_rule":{_int(rule)},"reservation":{reserved}}}'
    ).encode()
