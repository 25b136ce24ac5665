"""Dispute check for one filing: everything a reviewer weighs in an ownership dispute.

For the product: its timeline (audit trail); every *other* filing that declares any of the
same patents, by whom and when; filings whose product key (key rule v2, the product_keys read
model) is within a small edit distance of this one's (the same product under another spelling
— the reservation only catches identical keys; a pair filed before v2 that v2 joins shows at
distance 0); its disputes, open and resolved; and the disputes that were open at each of its
certifications. Every statement cites the event it rests on — aggregate id and version, and
its leaf index in the Merkle log once integrated — so each can be proved with an inclusion
proof (``ppl audit prove --event ID:VERSION``).

Edit distances come from rapidfuzz (Levenshtein, C++), over every canonical key in the
registry: one pass, a few milliseconds per 10,000 filings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from domain.values import KeyRule
from projections import queries
from projections.queries import LeafLookup
from projections.schema import Row
from projections.store import ProjectionStore

DEFAULT_MAX_DISTANCE = 2
SIMILARITY_RULES = (int(KeyRule.V2), int(KeyRule.V1))  # key rules, newest first


class ProductNotInRegistryError(LookupError):
    """The product is not in the registry (unknown id, or not projected yet)."""


@dataclass(frozen=True, slots=True)
class Citation:
    """The event a statement rests on."""

    aggregate_id: str
    version: int
    leaf_index: int | None  # None: not yet integrated into the log

    def as_json(self) -> dict[str, Any]:
        return {"aggregate_id": self.aggregate_id, "version": self.version,
                "leaf_index": self.leaf_index}  # fmt: skip


@dataclass(frozen=True, slots=True)
class DisputeCheck:
    product: Row
    timeline: list[Row]
    shared_patents: list[dict[str, Any]]
    similar_filings: list[dict[str, Any]]
    disputes: list[dict[str, Any]]
    certifications: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        keep = ("product_id", "filer_uscc", "filer_name", "name", "model", "status",
                "canonical_key", "data_year", "patents")  # fmt: skip
        return {
            "product": {name: self.product[name] for name in keep},
            "timeline": self.timeline,
            "shared_patents": self.shared_patents,
            "similar_filings": self.similar_filings,
            "disputes": self.disputes,
            "certifications": self.certifications,
        }


def _cite(leaf_index: LeafLookup | None, aggregate_id: str, version: int) -> dict[str, Any]:
    index = leaf_index(UUID(aggregate_id), version) if leaf_index is not None else None
    return Citation(aggregate_id, version, index).as_json()


def dispute_check(
    store: ProjectionStore,
    product_id: UUID,
    *,
    leaf_index: LeafLookup | None = None,
    max_distance: int = DEFAULT_MAX_DISTANCE,
) -> DisputeCheck:
    """Everything above for one product.

    Raises:
        ProductNotInRegistryError: no such product in the registry.
        projections.queries.QueryError: ``max_distance`` outside 0..10.
    """
    if not 0 <= max_distance <= 10:
        raise queries.QueryError(f"max distance {max_distance}: want 0..10")
    product = queries.product(store, product_id)
    if product is None:
        raise ProductNotInRegistryError(f"no product {product_id} in the registry")
    own_id = product["product_id"]
    timeline = queries.audit_trail_of(store, product_id, leaf_index)
    return DisputeCheck(
        product=product,
        timeline=timeline,
        shared_patents=_shared_patents(store, product, leaf_index),
        similar_filings=_similar(store, own_id, max_distance, leaf_index),
        disputes=_disputes(product, leaf_index),
        certifications=_certifications(product, timeline, leaf_index),
    )


def _shared_patents(
    store: ProjectionStore, product: Row, leaf_index: LeafLookup | None
) -> list[dict[str, Any]]:
    numbers = [patent["number"] for patent in product["patents"]]
    found: list[dict[str, Any]] = []
    for row in queries.products_declaring(store, numbers):
        if row["product_id"] == product["product_id"]:
            continue
        other = queries.product(store, UUID(row["product_id"])) or {}
        found.append(
            {
                "patent_number": row["patent_number"],
                "product_id": row["product_id"],
                "filer_uscc": row["filer_uscc"],
                "filer_name": other.get("filer_name"),
                "status": other.get("status"),
                "filed_at": other.get("filed_at"),
                "declared_by": _cite(leaf_index, row["product_id"], row["version"]),
            }
        )
    return found


def _similar(
    store: ProjectionStore, own_id: str, max_distance: int, leaf_index: LeafLookup | None
) -> list[dict[str, Any]]:
    """Filings whose key is within ``max_distance`` edits of this one's, under the newest key
    rule that keys both (v2, else v1): a pair v2 joins but v1 kept apart (filed before v2)
    shows at distance 0."""
    for rule in SIMILARITY_RULES:
        key = queries.canonical_key_of(store, own_id, rule)
        if key is not None:
            break
    else:
        return []
    keys = [(pid, other) for pid, other in queries.canonical_keys(store, rule) if pid != own_id]
    matches = process.extract(
        key,
        [other for _, other in keys],
        scorer=Levenshtein.distance,
        score_cutoff=max_distance,
        limit=None,
    )
    found = []
    for _, distance, position in sorted(matches, key=lambda m: (m[1], keys[m[2]][0])):
        pid, other_key = keys[position]
        other = queries.product(store, UUID(pid)) or {}
        found.append(
            {
                "product_id": pid,
                "canonical_key": other_key,
                "key_rule": rule,
                "distance": int(distance),
                "filer_uscc": other.get("filer_uscc"),
                "status": other.get("status"),
                "filed_at": other.get("filed_at"),
                "filed_by": _cite(leaf_index, pid, 1),
            }
        )
    return found


def _disputes(product: Row, leaf_index: LeafLookup | None) -> list[dict[str, Any]]:
    own = product["product_id"]
    found = []
    for state, disputes in (("open", product["open_disputes"]),
                            ("resolved", product["resolved_disputes"])):  # fmt: skip
        for dispute_id, dispute in sorted(disputes.items()):
            entry = {"dispute_id": dispute_id, "state": state, **dispute}
            entry["raised_by"] = _cite(leaf_index, own, dispute["raised_version"])
            if "resolved_version" in dispute:
                entry["resolved_by"] = _cite(leaf_index, own, dispute["resolved_version"])
            found.append(entry)
    return found


def _certifications(
    product: Row, timeline: list[Row], leaf_index: LeafLookup | None
) -> list[dict[str, Any]]:
    """Each certification with the disputes open on the product at that point of the log.

    An entry is the registry's (projections.product_registry: ``notification_id`` is its
    decision's place in the log), citing the decision and, if revoked, the revocation.
    """
    found = []
    for certification in product["certifications"]:
        at = certification["notification_id"]
        open_then: dict[str, bool] = {}
        for row in timeline:
            if row["notification_id"] >= at:
                break
            dispute_id = row["details"].get("dispute_id")
            if row["event_type"] == "OwnershipDisputeRaised":
                open_then[dispute_id] = True
            elif row["event_type"] == "OwnershipDisputeResolved":
                open_then.pop(dispute_id, None)
        cited = certification["certification_id"]
        entry = {**certification, "open_disputes": sorted(open_then)}
        entry["decided_by"] = _cite(leaf_index, cited, certification["version"])
        if certification.get("revoked_version") is not None:
            entry["revoked_by"] = _cite(leaf_index, cited, certification["revoked_version"])
        found.append(entry)
    return found
