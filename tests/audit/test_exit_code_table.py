"""docs/audit-bundle.md's table of exit codes is the code's (audit.offline.verifier.EXIT_CODES),
both
ways: every error class it names exits with its row's code, and every class the code maps is
in the table under that code (issue #16: an outside verifier reads the docs, not the code)."""

from __future__ import annotations

import re
from pathlib import Path

from audit.offline import errors
from audit.offline.verifier import EXIT_CODES, exit_code

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit-bundle.md"


def _table() -> dict[str, int]:
    """Error class name -> the code of its row in the table."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Exit codes of `ppl audit verify`", 1)[1].split("\n\n", 1)[0]
    found: dict[str, int] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) < 3 or not cells[0].isdigit():
            continue
        named = re.sub(r"\([^)]*\)", "", cells[2])  # "(an `InvalidReplayError`)": a remark
        for name in re.findall(r"`([A-Za-z]+Error)`", named):
            found[name] = int(cells[0])
    return found


def test_every_documented_error_exits_with_its_documented_code():
    table = _table()
    assert table, "the exit-code table was not found"
    for name, code in table.items():
        kind = getattr(errors, name)
        assert exit_code(kind.__new__(kind)) == code, name


def test_every_mapped_error_is_documented_with_its_code():
    table = _table()
    for kind, code in EXIT_CODES:
        assert table.get(kind.__name__) == code, (kind.__name__, code)
