"""What the ``ppl`` command groups share: refusing with an exit code, output formats, catch-up.

Why one module: ``ppl``, ``ppl certify``, ``ppl projections`` / ``stats`` / ``registry`` and
``ppl tokens`` (api.cli, api.cli_certify, api.cli_projections, api.cli_tokens) print tables
and refusals the same way, and an operator's scripts rely on it: ``error: ...`` on stderr with
the exit code, ``--format table|csv|json`` with the same columns and spelling, the same warning
for a read model that answers only up to an event it could not apply.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer

from projections.runner import ProjectionRunner


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code`` (2: refused, 4: not found)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


FormatOption = Annotated[OutputFormat, typer.Option("--format")]


def render(rows: Sequence[dict[str, Any]], columns: Sequence[str], output: OutputFormat) -> str:
    """``rows`` as JSON (every field), or their ``columns`` as CSV or an aligned table (empty
    cells for None)."""
    if output is OutputFormat.JSON:
        return json.dumps(list(rows), ensure_ascii=False, indent=2)
    if output is OutputFormat.CSV:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: "" if row[c] is None else row[c] for c in columns} for row in rows)
        return buffer.getvalue().rstrip("\n")
    cells = [list(columns)] + [
        ["" if row[c] is None else str(row[c]) for c in columns] for row in rows
    ]
    widths = [max(_width(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(
            cell + " " * (width - _width(cell)) for cell, width in zip(line, widths, strict=True)
        ).rstrip()
        for line in cells
    )


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def catch_up(runner: ProjectionRunner) -> None:
    """Catch the read models up with the ledger, warning on stderr of each one marked failed:
    it still answers, as of the event before the one it could not apply."""
    runner.catch_up()
    for failure in runner.failures().values():
        typer.echo(
            f"warning: {failure.describe()}; its answers stop before that event until "
            f"`ppl projections rebuild {failure.projection}` after the fix",
            err=True,
        )
