"""Aggregates, value objects and rules import the standard library and eventsourcing.domain only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
# The eventsourcing Application is command side. So is the sample loader, the package
# domain/sample/, which DOMAIN.glob("*.py") does not descend into.
COMMAND_SIDE = {"application.py"}
# The product key rules are one standard-library module shared with the offline auditor
# (docs/decisions.md); it imports nothing but the standard library (checked below).
SHARED_RULES = {
    "audit.offline.product_key",
    "audit.offline.screening",
    "audit.offline.annex_rule",
    "audit.offline.filing_number",
    "audit.offline.dispute_rule",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "module",
    sorted(p.name for p in DOMAIN.glob("*.py") if p.name not in COMMAND_SIDE),
)
def test_domain_module_uses_only_eventsourcing_domain(module):
    third_party = {
        name
        for name in _imports(DOMAIN / module)
        if name.split(".")[0] not in {"domain", "__future__"}
        and name.split(".")[0] not in __import__("sys").stdlib_module_names
    }
    assert third_party <= {"eventsourcing.domain"} | SHARED_RULES, third_party


@pytest.mark.parametrize(
    "module",
    ["product_key.py", "screening.py", "annex_rule.py", "dispute_rule.py", "filing_number.py"],
)
def test_the_shared_rules_import_the_standard_library_only(module):
    path = DOMAIN.parent / "audit" / "offline" / module
    imported = {name.split(".")[0] for name in _imports(path)} - {"__future__", "audit"}
    assert imported <= __import__("sys").stdlib_module_names, imported
    shared = {name for name in _imports(path) if name.startswith("audit")}
    assert shared <= SHARED_RULES, shared
