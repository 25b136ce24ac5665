"""Near-duplicate screening (疑似重复备案筛查): what a product key cannot decide goes to a person.

Why here: the candidates of a filing decide which "distinct product" decisions a reviewer must
record before approving it, and the offline auditor re-computes them to judge each approval.
Like ``audit.offline.product_key`` this is a standard-library leaf shared by ``domain`` and the
auditor, so the rule exists once (docs/never-filed-twice.md, "Near-duplicate screening").

Screening rule v1. The candidates C(F) of a filing F are the filings G recorded **before** F
in the log and not withdrawn before F, G != F, with at least one reason:

- ``same_key``: G's key rule v2 key is F's (only a filing made before v2 can be such a G);
- ``same_model``: F and G have one non-empty v2 model part under different v2 name parts;
- ``shared_patent``: G was filed by another filer and declares a patent F declares;
- ``similar_name``: F or G has no model, and their v2 name parts are within Levenshtein
  distance 1 (distance 0 included: a name filed once with and once without a model);
- ``variant_words``: after removing the colour, size and configuration words of
  ``VARIANT_WORDS`` from both v2 parts (``strip_variant_words``), F and G are equal, while
  their v2 keys differ.

A filing whose name or model key rule v2 cannot fold (an old filing made only of invisible
characters) is screened by its patents only. C(F) depends on nothing but the events before F,
so it is fixed the moment F is recorded: the ledger records it at approval, the auditor
re-derives it, and the two can never disagree because of a race.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import cache, lru_cache
from typing import Final

from audit.offline.product_key import v2_key_part


class ScreeningRule(IntEnum):
    """A screening rule version; an approval is judged by the version it was recorded under.

    ``NONE`` is the rule of events recorded before screening existed (no decisions needed).
    """

    NONE = 0
    V1 = 1


CURRENT_SCREENING_RULE: Final = ScreeningRule.V1


class Reason(StrEnum):
    """Why a filing is a candidate of another: the names recorded in events."""

    SAME_KEY = "same_key"
    SAME_MODEL = "same_model"
    SHARED_PATENT = "shared_patent"
    SIMILAR_NAME = "similar_name"
    VARIANT_WORDS = "variant_words"


VARIANT_WORDS: Final[tuple[str, ...]] = (
    # colours
    "红色", "黑色", "白色", "灰色", "银色", "金色", "蓝色", "绿色", "黄色", "紫色", "粉色",
    "橙色", "棕色", "青色", "米色", "银灰色", "深灰色", "浅灰色", "深空灰", "香槟色", "玫瑰金",
    "red", "black", "white", "grey", "gray", "silver", "gold", "blue", "green", "yellow",
    "purple", "pink", "orange", "brown",
    # sizes
    "大号", "中号", "小号", "加大号", "特大号", "迷你", "加长", "mini", "small", "medium",
    "large", "xl", "xxl",
    # configurations
    "标准版", "基础版", "入门版", "青春版", "经典版", "专业版", "豪华版", "旗舰版", "高配版",
    "低配版", "顶配版", "升级版", "增强版", "尊享版", "标配", "高配", "低配", "顶配",
    "standard", "basic", "lite", "plus", "pro", "max", "ultra", "premium", "deluxe",
)  # fmt: skip
"""Screening rule v1's colour, size and configuration words, as written; each is folded by key
rule v2 before use. A word in Han script is removed wherever it occurs in a folded part; any
other word only at the start or the end (``"tv100red"`` -> ``"tv100"``), because Latin words
lose their spaces in a folded part and would otherwise cut others (``"shredder"``). A changed
list is a new screening rule version, never an edit of this one."""


@cache
def _folded_words() -> tuple[tuple[str, ...], tuple[str, ...], re.Pattern[str]]:
    """The words folded by key rule v2, longest first: (Han words, other words), and a
    pattern that finds any Han word (a fast first look; the removal is the loop below)."""
    folded = {v2_key_part(word) for word in VARIANT_WORDS}
    ordered = sorted(folded, key=lambda word: (-len(word), word))
    han = tuple(word for word in ordered if all(_is_han(char) for char in word))
    other = tuple(word for word in ordered if word not in han)
    return han, other, re.compile("|".join(re.escape(word) for word in han))


def _is_han(char: str) -> bool:
    point = ord(char)
    return 0x4E00 <= point <= 0x9FFF or 0x3400 <= point <= 0x4DBF or 0x20000 <= point <= 0x3134F


@lru_cache(maxsize=8192)
def strip_variant_words(part: str) -> str:
    """``part`` (a v2-folded name or model) without screening rule v1's variant words.

    In each pass, each Han word (longest first, then by code point) is removed wherever it
    occurs, then each other word at the end and then at the start; passes repeat until
    nothing changes. A removal that would leave nothing is not made.
    """
    han, other, any_han = _folded_words()
    while True:
        before = part
        if any_han.search(part):  # else the loop below would change nothing
            for word in han:
                if word in part and part.replace(word, ""):
                    part = part.replace(word, "")
        if part.endswith(other) or part.startswith(other):  # likewise
            for word in other:
                if len(part) > len(word) and part.endswith(word):
                    part = part[: -len(word)]
                if len(part) > len(word) and part.startswith(word):
                    part = part[len(word) :]
        if part == before:
            return part


def within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance of ``a`` and ``b`` (code points) is at most 1."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    start = 0
    while start < len(a) and a[start] == b[start]:
        start += 1
    if len(a) == len(b):
        return a[start + 1 :] == b[start + 1 :]
    return a[start:] == b[start + 1 :]


def _deletions(text: str) -> set[str]:
    """``text`` and each text one code point shorter: two texts within one edit share one."""
    return {text, *(text[:i] + text[i + 1 :] for i in range(len(text)))}


@dataclass(frozen=True, slots=True)
class Declaration:
    """What screening reads of a filing, as filed: who filed it, its name, model and patents."""

    filer_uscc: str
    name: str
    model: str
    patents: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Entry:
    position: int
    filer_uscc: str
    name_part: str | None  # None: key rule v2 cannot fold the name or the model
    model_part: str
    stripped: tuple[str, str]
    patents: frozenset[str]


@lru_cache(maxsize=4096)
def _folded(name: str, model: str) -> tuple[str, str, tuple[str, str]] | None:
    """The v2 parts of a name and model and their stripped forms; ``None`` if v2 cannot fold
    them. Cached: a filing is folded when screened and again when indexed."""
    name_part, model_part = v2_key_part(name), v2_key_part(model)
    if not name_part or (model.strip() and not model_part):
        return None
    return name_part, model_part, (strip_variant_words(name_part), strip_variant_words(model_part))


def _entry(position: int, declaration: Declaration) -> _Entry:
    folded = _folded(declaration.name, declaration.model)
    if folded is None:
        return _Entry(position, declaration.filer_uscc, None, "", ("", ""), declaration.patents)
    name_part, model_part, stripped = folded
    return _Entry(
        position, declaration.filer_uscc, name_part, model_part, stripped, declaration.patents
    )


Candidates = Mapping[str, tuple[Reason, ...]]
"""Candidate filing id (canonical UUID text) -> its reasons, sorted."""


class ScreeningIndex:
    """Every filing seen so far, indexed for screening rule v1; fed in log order.

    ``position`` is any number that increases in log order (a notification id in the ledger,
    a leaf index in the auditor): C(F) depends on the order only.
    """

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._withdrawn_at: dict[str, int] = {}
        self._by_key: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._by_model: dict[str, list[str]] = defaultdict(list)
        self._by_patent: dict[str, list[str]] = defaultdict(list)
        self._by_stripped: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._by_name: dict[str, list[str]] = defaultdict(list)
        self._names_by_deletion: dict[str, set[str]] = defaultdict(set)
        self._modelless_by_deletion: dict[str, set[str]] = defaultdict(set)
        self._modelless_by_name: dict[str, list[str]] = defaultdict(list)

    def __contains__(self, product_id: object) -> bool:
        return product_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def position_of(self, product_id: str) -> int | None:
        entry = self._entries.get(product_id)
        return None if entry is None else entry.position

    def add(self, product_id: str, position: int, declaration: Declaration) -> None:
        """Index a filing recorded at ``position`` (after every filing added before it)."""
        if product_id in self._entries:
            return  # seen already (a filing this process saved, then read back)
        entry = _entry(position, declaration)
        self._entries[product_id] = entry
        for number in entry.patents:
            self._by_patent[number].append(product_id)
        if entry.name_part is None:
            return
        self._by_key[(entry.name_part, entry.model_part)].append(product_id)
        self._by_stripped[entry.stripped].append(product_id)
        if entry.model_part:
            self._by_model[entry.model_part].append(product_id)
        name = entry.name_part
        if name not in self._by_name:
            for deletion in _deletions(name):
                self._names_by_deletion[deletion].add(name)
        self._by_name[name].append(product_id)
        if not entry.model_part:
            if name not in self._modelless_by_name:
                for deletion in _deletions(name):
                    self._modelless_by_deletion[deletion].add(name)
            self._modelless_by_name[name].append(product_id)

    def withdraw(self, product_id: str, position: int) -> None:
        """The filing was withdrawn at ``position``: no candidate of filings recorded after."""
        if product_id in self._entries:
            self._withdrawn_at.setdefault(product_id, position)

    def candidates_of(
        self, product_id: str, *, include_withdrawn: bool = False
    ) -> dict[str, tuple[Reason, ...]]:
        """C(F) of a filing already indexed: against the filings recorded before it.

        ``include_withdrawn`` keeps filings withdrawn before F: what a filing may record as
        its candidates at filing, when the ledger's index had not yet read a withdrawal
        (domain/screening_feed.py); the approval needs decisions on C(F) only.

        Raises:
            KeyError: ``product_id`` is not indexed.
        """
        entry = self._entries[product_id]
        return self._candidates(entry, product_id, include_withdrawn=include_withdrawn)

    def candidates(self, declaration: Declaration) -> dict[str, tuple[Reason, ...]]:
        """The candidates of a filing about to be recorded: every filing indexed so far."""
        return self._candidates(_entry(2**63, declaration), None)

    def _candidates(
        self, entry: _Entry, own_id: str | None, *, include_withdrawn: bool = False
    ) -> dict[str, tuple[Reason, ...]]:
        found: dict[str, set[Reason]] = defaultdict(set)
        for number in entry.patents:
            for other in self._by_patent.get(number, ()):
                if self._entries[other].filer_uscc != entry.filer_uscc:
                    found[other].add(Reason.SHARED_PATENT)
        name = entry.name_part
        if name is not None:
            for other in self._by_key.get((name, entry.model_part), ()):
                found[other].add(Reason.SAME_KEY)
            if entry.model_part:
                for other in self._by_model.get(entry.model_part, ()):
                    if self._entries[other].name_part != name:
                        found[other].add(Reason.SAME_MODEL)
            for other in self._by_stripped.get(entry.stripped, ()):
                other_entry = self._entries[other]
                if (other_entry.name_part, other_entry.model_part) != (name, entry.model_part):
                    found[other].add(Reason.VARIANT_WORDS)
            for other in self._similar_names(name, modelless=not entry.model_part):
                found[other].add(Reason.SIMILAR_NAME)
        return {
            other: tuple(sorted(reasons))
            for other, reasons in sorted(found.items())
            if other != own_id and self._before(other, entry.position, include_withdrawn)
        }

    def _similar_names(self, name: str, *, modelless: bool) -> Iterable[str]:
        """Filings whose name is within one edit of ``name``, with no model unless
        ``modelless`` (then any model)."""
        by_deletion = self._names_by_deletion if modelless else self._modelless_by_deletion
        by_name = self._by_name if modelless else self._modelless_by_name
        names: set[str] = set()
        for deletion in _deletions(name):
            names.update(by_deletion.get(deletion, ()))
        for other_name in sorted(names):
            if within_one_edit(name, other_name):
                yield from by_name[other_name]

    def _before(self, other: str, position: int, include_withdrawn: bool) -> bool:
        """``other`` was recorded before ``position`` and (unless ``include_withdrawn``) not
        withdrawn before it."""
        if self._entries[other].position >= position:
            return False
        if include_withdrawn:
            return True
        withdrawn = self._withdrawn_at.get(other)
        return withdrawn is None or withdrawn > position


def reasons_text(reasons: Iterable[str]) -> str:
    """Reasons as one comma-separated text, for tables."""
    return ", ".join(reasons)
