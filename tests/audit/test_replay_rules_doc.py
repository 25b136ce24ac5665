"""docs/replay-rules.md is generated from the one source of the replay's rules: the rules
text of audit/offline/replay.py (and of audit/offline/replay_certification.py and
audit/offline/replay_filing_numbers.py, its parts), the topic
tables
(kind, roles, creation or change) and the fields each event's class records. A change of any
of them fails this test until the document is generated again:

    .venv/bin/python -m tests.audit.test_replay_rules_doc

(issue #16: an auditor writing a verifier from docs/ alone must find every rule there).
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path

from eventsourcing.utils import resolve_topic

from audit.offline import replay, replay_certification, replay_filing_numbers
from audit.offline.verifier import EXIT_CODES

DOC = Path(__file__).resolve().parents[2] / "docs" / "replay-rules.md"
_ENVELOPE = {
    "originator_id", "originator_version", "timestamp", "originator_topic", "originator_id_type",
}  # fmt: skip


def _fields(topic: str) -> str:
    """The event's own fields as its class declares them (after upcasting), with types."""
    cls = resolve_topic(topic)
    hints = typing.get_type_hints(cls)
    names = [name for name in hints if name not in _ENVELOPE]
    return ", ".join(f"`{name}`" for name in names) or "—"


def render() -> str:
    rows = []
    entries: list[tuple[str, str, str, frozenset[str]]] = [
        *((topic, "creation", rule.kind, rule.roles) for topic, rule in replay._CREATIONS.items()),
        *((topic, "change", rule.kind, rule.roles) for topic, rule in replay._CHANGES.items()),
    ]
    for topic, what, kind, roles in sorted(entries, key=lambda e: (e[1] != "creation", e[0])):
        rows.append(
            f"| `{topic.rsplit(':', 1)[1]}` | {kind} | {what} | "
            f"{', '.join(sorted(roles))} | {_fields(topic)} |"
        )
    codes = "\n".join(f"| {code} | `{kind.__name__}` |" for kind, code in EXIT_CODES)
    return f"""# Replay rules (generated)

Generated from `audit/offline/replay.py`, `audit/offline/replay_certification.py` and
`audit/offline/replay_filing_numbers.py` by
`python -m tests.audit.test_replay_rules_doc`; tests/audit/test_replay_rules_doc.py fails when
this file and the code disagree. Every failure is an `InvalidReplayError` naming the event
(aggregate id, version, leaf index): exit 15 of `ppl audit verify` (17 for rule E7's
`MisfitIdError`), see [audit-bundle.md](audit-bundle.md).

## Events: who may cause them and what they record

Topic = `module:Class.Event` of the domain (e.g. `domain.product:Product.ProductFiled`). Every
state also carries `timestamp` (UTC, chosen by the signer: the retired-key rule compares it
with the key's retirement, and it is anchored by the signed checkpoints that cover the event)
and `actor` `{{id, role, scope}}`; a creation event carries `originator_topic`. A save's events
are contiguous in the log; rules E5 and E6 say which events must follow which.

| event | aggregate | kind | roles | fields |
|---|---|---|---|---|
{chr(10).join(rows)}

## The rules

```text
{replay.__doc__.split("Rules (every failure", 1)[1].strip()}
```

### The certification (`audit/offline/replay_certification.py`)

```text
{replay_certification.__doc__.split(chr(10) + chr(10), 3)[-1].strip()}
```

### Filing numbers (`audit/offline/replay_filing_numbers.py`)

```text
{replay_filing_numbers.__doc__.split(chr(10) + chr(10), 2)[-1].strip()}
```

## Exit codes (`audit.offline.verifier.EXIT_CODES`, first match wins)

| code | error |
|---|---|
{codes}
"""


def test_the_document_is_the_code():
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/replay-rules.md is stale: run .venv/bin/python -m tests.audit.test_replay_rules_doc"
    )


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {DOC}\n")
