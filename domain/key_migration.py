"""What the product-key migration found: the groups of existing products that one key names.

Why a report and not a verdict: filings made before key rule v2 were judged by v1, the rule in
force when they were recorded, and stay valid. Where v2 says several of them are one product
(a homoglyph, an invisible character, a traditional spelling...), a reviewer decides; the
migration reserves the key for one of them, so no *new* filing can join the group, and lists
the group. ``group_products`` is pure so the command, the CLI and tests share it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from domain.errors import TextInvalidError
from domain.values import KeyRule, product_key


@dataclass(frozen=True, slots=True)
class ProductKeyed:
    """One existing product as the migration reads it (in the order filed)."""

    product_id: UUID
    filer_uscc: str
    name: str
    model: str
    status: str
    v1_key: str


@dataclass(frozen=True, slots=True)
class KeyGroup:
    """Products that share one key under the migration's rule; ``holder`` gets the key."""

    canonical_key: str
    holder: UUID
    products: tuple[ProductKeyed, ...]


@dataclass(frozen=True, slots=True)
class UnkeyedProduct:
    """A product whose name or model folds to nothing under the rule: no key to reserve."""

    product: ProductKeyed
    reason: str


@dataclass(frozen=True, slots=True)
class KeyMigrationReport:
    """The outcome of one run: what it reserved now, what was reserved before, and the
    groups and unkeyable products a reviewer should look at (the same on every re-run)."""

    key_rule: int
    products: int
    reserved: int
    already_reserved: int
    groups: tuple[KeyGroup, ...]
    unkeyed: tuple[UnkeyedProduct, ...]


def group_products(
    rule: KeyRule, products: Iterable[ProductKeyed]
) -> tuple[dict[str, list[ProductKeyed]], list[UnkeyedProduct]]:
    """Products by their key under ``rule``, each list in the order filed; and the unkeyable."""
    by_key: dict[str, list[ProductKeyed]] = {}
    unkeyed: list[UnkeyedProduct] = []
    for product in products:
        try:
            key = product_key(rule, product.name, product.model)
        except TextInvalidError as exc:
            unkeyed.append(UnkeyedProduct(product, str(exc)))
            continue
        by_key.setdefault(key, []).append(product)
    return by_key, unkeyed


def needs_review(products: list[ProductKeyed]) -> bool:
    """A group a reviewer should see: v2 joins products v1 kept apart (two or more v1 keys).

    Products with one v1 key are one product under both rules: a filer's re-filing of its own
    withdrawn product, which the ledger allowed by rule.
    """
    return len({product.v1_key for product in products}) > 1


def holder_of(products: list[ProductKeyed]) -> ProductKeyed:
    """The product a group's key is reserved for: the first filed that is not withdrawn (it
    is the one on the market), else the first filed."""
    live = [product for product in products if product.status != "withdrawn"]
    return (live or products)[0]
