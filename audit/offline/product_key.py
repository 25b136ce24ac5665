"""The product key rules (相同产品不得重复备案): one module for the ledger and its auditors.

Why here: the key decides, for ever, which filings are one product. The domain reserves keys
with it and the offline auditor re-derives them with it, so the rule exists once. It imports
only the standard library (the auditor's contract) and ``domain`` may import it too: it is a
leaf with no state but its pinned table.

Two rule versions are in force; a filing made today holds a key under each, and an event is
judged by the rules in force when it was recorded (docs/never-filed-twice.md):

- **v1** (every filing): NFKC, ``str.casefold``, then drop every character of Unicode general
  category P*, Z* or C* and any whitespace. It reads Python's own Unicode database, which is
  why it is frozen: ``unicodedata.unidata_version`` names the data it was defined on.
- **v2** (filings from key rule v2 on, and existing filings through the migration): every code
  point is replaced by its entry in the pinned table ``product_key_v2.json`` (NFKD, default-
  ignorable and visible-blank removal, OpenCC traditional → simplified, UTS #39 confusable
  skeleton, full case folding and P/Z/C removal, iterated to a fixed point by
  scripts/product_key_tables.py from the pinned Unicode, confusables and OpenCC files); Hangul
  syllables are first decomposed by the algorithm of Unicode chapter 3.12; then marks are put
  in canonical order. No ``unicodedata`` call: the result does not depend on the Python.

A key is ``name_part + U+001F + model_part``. Under v2 a name, or a model given as non-blank
text, that folds to nothing is refused (:class:`EmptyKeyPartError`): such a text looks empty
or is only punctuation, so it cannot say which product it is.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cache
from pathlib import Path
from typing import Final
from uuid import UUID, uuid5

PRODUCT_KEY_SEPARATOR: Final = "\u001f"
PRODUCT_KEY_NAMESPACE: Final = UUID("6f1c2b1e-5d0a-5b8e-9c39-2f4f7e6a0d11")
_RULE_PREFIX_SEPARATOR: Final = "\u001e"  # never in a key: every C* character is removed

TABLE_FILE: Final = Path(__file__).with_name("product_key_v2.json")
TABLE_SHA256: Final = "f71b615cf70c61eb67cb47f478dfb37e7281f31457b263e3ea6b7c0f906ed407"
"""SHA-256 of the shipped v2 table; also in docs/never-filed-twice.md. A changed table is a
new rule version, never an edit of this one."""

_V1_REMOVED_PREFIXES: Final = ("P", "Z", "C")
_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_L_BASE, _V_BASE, _T_BASE = 0x1100, 0x1161, 0x11A7
_V_COUNT, _T_COUNT = 21, 28


class KeyRule(IntEnum):
    """A product key rule version. Keys made under a version stay valid for ever."""

    V1 = 1
    V2 = 2


CURRENT_KEY_RULES: Final[tuple[KeyRule, ...]] = (KeyRule.V1, KeyRule.V2)
"""The rules a new filing reserves a key under, in the order its save records them."""


class EmptyKeyPartError(ValueError):
    """A name (or a non-blank model) has nothing left after the rule's folding.

    ``field`` is ``"name"`` or ``"model"``; ``rule`` the key rule version.
    """

    def __init__(self, field: str, rule: KeyRule, text: str) -> None:
        super().__init__(
            f"product {field} is empty after key rule v{int(rule)}: got {text!r}, "
            "want at least one letter, digit or symbol"
        )
        self.field = field
        self.rule = rule


class KeyTableError(RuntimeError):
    """The shipped v2 table is not the pinned one (its SHA-256 differs) or is malformed."""


class _Folding(dict[int, str]):
    """Step 1 of rule v2 as a ``str.translate`` table: each code point's output computed the
    first time the code point is met (``__missing__``), then looked up by translate's C loop."""

    __slots__ = ("table",)

    def __init__(self, table: _Table) -> None:
        super().__init__()
        self.table = table

    def __missing__(self, point: int) -> str:
        piece = self[point] = _fold_point(self.table, chr(point))
        return piece


@dataclass(frozen=True, slots=True)
class _Table:
    mapped: dict[str, str]
    removed_starts: list[int]
    removed_ends: list[int]
    combining_class: dict[str, int]
    marks: frozenset[str] = frozenset()  # the code points with a combining class
    folded: _Folding = field(init=False)  # code point -> its output, as met

    def __post_init__(self) -> None:
        object.__setattr__(self, "folded", _Folding(self))


@cache
def _table() -> _Table:
    data = TABLE_FILE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != TABLE_SHA256:
        raise KeyTableError(f"{TABLE_FILE.name}: SHA-256 {digest}, want {TABLE_SHA256}")
    raw = json.loads(data)
    if raw.get("rule") != "product-key-v2":
        raise KeyTableError(f"{TABLE_FILE.name}: rule {raw.get('rule')!r}, want product-key-v2")
    mapped = {
        chr(int(source, 16)): "".join(chr(int(part, 16)) for part in target.split())
        for source, target in raw["mapped"].items()
    }
    ranges = [(int(first, 16), int(last, 16)) for first, last in raw["removed"]]
    combining = {chr(int(point, 16)): int(ccc) for point, ccc in raw["combining_class"].items()}
    return _Table(
        mapped, [a for a, _ in ranges], [b for _, b in ranges], combining, frozenset(combining)
    )


def v1_key_part(text: str) -> str:
    """Key rule v1 on one part (name or model): NFKC, casefold, drop P*, Z*, C*, whitespace."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(
        char
        for char in folded
        if not unicodedata.category(char).startswith(_V1_REMOVED_PREFIXES) and not char.isspace()
    )


def _hangul(point: int) -> str:
    index = point - _HANGUL_FIRST
    jamo = chr(_L_BASE + index // (_V_COUNT * _T_COUNT))
    jamo += chr(_V_BASE + (index % (_V_COUNT * _T_COUNT)) // _T_COUNT)
    if index % _T_COUNT:
        jamo += chr(_T_BASE + index % _T_COUNT)
    return jamo


def _canonical_order(chars: list[str], combining: dict[str, int]) -> str:
    """Stable sort of each run of marks with a non-zero combining class (Unicode 3.11)."""
    if not any(char in combining for char in chars):
        return "".join(chars)
    out: list[str] = []
    run: list[str] = []
    for char in chars:
        if char in combining:
            run.append(char)
            continue
        out.extend(sorted(run, key=combining.__getitem__))
        run = []
        out.append(char)
    out.extend(sorted(run, key=combining.__getitem__))
    return "".join(out)


def _fold_point(table: _Table, char: str) -> str:
    """Step 1 of rule v2 for one code point: its jamo (a Hangul syllable), its mapping, nothing
    (a removed code point) or itself."""
    point = ord(char)
    if _HANGUL_FIRST <= point <= _HANGUL_LAST:
        return "".join(table.mapped.get(jamo, jamo) for jamo in _hangul(point))
    target = table.mapped.get(char)
    if target is not None:
        return target
    slot = bisect_right(table.removed_starts, point) - 1
    if slot < 0 or point > table.removed_ends[slot]:
        return char
    return ""


def v2_key_part(text: str) -> str:
    """Key rule v2 on one part: the pinned table per code point, then canonical order.

    Each code point's output is remembered (``_Table.folded``, applied by ``str.translate``): a
    rule that is a pure function of the code point, computed once per code point met instead
    of once per occurrence (the auditor's rebuild of the product index derives a key for every
    filing of the log).

    Raises:
        KeyTableError: the shipped table is not the pinned one.
    """
    table = _table()
    joined = text.translate(table.folded)
    if table.marks.isdisjoint(joined):
        return joined
    return _canonical_order(list(joined), table.combining_class)


def key_part(rule: KeyRule, text: str) -> str:
    """One part of a key (a name or a model) under ``rule``."""
    return v1_key_part(text) if rule is KeyRule.V1 else v2_key_part(text)


def product_key(rule: KeyRule, name: str, model: str) -> str:
    """The key under ``rule`` of a product named ``name`` of model ``model``.

    An empty (or blank) model is allowed under both rules: some products have none.

    Raises:
        EmptyKeyPartError: the name folds to nothing (both rules), or under v2 a non-blank
            model folds to nothing.
        KeyTableError: the shipped v2 table is not the pinned one.
    """
    name_part = key_part(rule, name)
    if not name_part:
        raise EmptyKeyPartError("name", rule, name)
    model_part = key_part(rule, model)
    if rule is KeyRule.V2 and not model_part and model.strip():
        raise EmptyKeyPartError("model", rule, model)
    return f"{name_part}{PRODUCT_KEY_SEPARATOR}{model_part}"


def reservation_name(rule: KeyRule, key: str) -> str:
    """The uuid5 name of a key's reservation: the key itself under v1, ``"v2" U+001E key``
    under v2, so a key string made under two rules never names one reservation."""
    if rule is KeyRule.V1:
        return key
    return f"v{int(rule)}{_RULE_PREFIX_SEPARATOR}{key}"


def reservation_id(rule: KeyRule, key: str) -> UUID:
    """The id of the reservation of ``key`` under ``rule`` (uuid5 in the product-key
    namespace), so two filings of one product collide on one id in the store."""
    return uuid5(PRODUCT_KEY_NAMESPACE, reservation_name(rule, key))
