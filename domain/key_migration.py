"""What the product-key migration found: the groups of existing filings that one key names.

Why a report and not a verdict: filings made before key rule v2 were judged by v1, the rule in
force when they were recorded, and stay valid. Where v2 says several of them are one product
(a homoglyph, an invisible character, a traditional spelling...), a reviewer decides; the
migration reserves the key for one of them, so no *new* filing can join the group, and lists
the group. ``group_filings`` is pure so the command, the CLI and tests share it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from domain.errors import TextInvalidError
from domain.values import KeyRule, product_key


@dataclass(frozen=True, slots=True)
class FilingKeyed:
    """One existing filing as the migration reads it (in the order filed)."""

    product_id: UUID
    filer_uscc: str
    name: str
    model: str
    status: str
    v1_key: str


@dataclass(frozen=True, slots=True)
class KeyGroup:
    """Filings that share one key under the migration's rule; ``holder`` gets the key."""

    canonical_key: str
    holder: UUID
    filings: tuple[FilingKeyed, ...]


@dataclass(frozen=True, slots=True)
class UnkeyedFiling:
    """A filing whose name or model folds to nothing under the rule: no key to reserve."""

    filing: FilingKeyed
    reason: str


@dataclass(frozen=True, slots=True)
class KeyMigrationReport:
    """The outcome of one run: what it reserved now, what was reserved before, and the
    groups and unkeyable filings a reviewer should look at (the same on every re-run)."""

    key_rule: int
    filings: int
    reserved: int
    already_reserved: int
    groups: tuple[KeyGroup, ...]
    unkeyed: tuple[UnkeyedFiling, ...]


def group_filings(
    rule: KeyRule, filings: Iterable[FilingKeyed]
) -> tuple[dict[str, list[FilingKeyed]], list[UnkeyedFiling]]:
    """Filings by their key under ``rule``, each list in the order filed; and the unkeyable."""
    by_key: dict[str, list[FilingKeyed]] = {}
    unkeyed: list[UnkeyedFiling] = []
    for filing in filings:
        try:
            key = product_key(rule, filing.name, filing.model)
        except TextInvalidError as exc:
            unkeyed.append(UnkeyedFiling(filing, str(exc)))
            continue
        by_key.setdefault(key, []).append(filing)
    return by_key, unkeyed


def needs_review(filings: list[FilingKeyed]) -> bool:
    """A group a reviewer should see: v2 joins filings v1 kept apart (two or more v1 keys).

    Filings with one v1 key are one product under both rules: a filer's re-filing of its own
    withdrawn product, which the ledger allowed by rule.
    """
    return len({filing.v1_key for filing in filings}) > 1


def holder_of(filings: list[FilingKeyed]) -> FilingKeyed:
    """The filing a group's key is reserved for: the first filed that is not withdrawn (it
    is the one on the market), else the first filed."""
    live = [filing for filing in filings if filing.status != "withdrawn"]
    return (live or filings)[0]
