"""The maps' upper nodes, kept in the indexer's memory between its passes.

Why: every checkpoint's puts walk from the top of each map, so the nodes near the top are read
from the database by every pass, again and again — at 8,000 product keys that read was a fifth
of what indexing a filing cost, and it grows with the map (issue #19's bench). The indexer
wrote those nodes itself, so it can keep them.

What is kept: every stored node of depth below ``UPPER_DEPTHS`` (at most 2^depth per depth, so
at most 2^UPPER_DEPTHS - 1 per map, a few MB), loaded whole by one range read (node keys start
with their depth, big-endian) — so the set is **complete**: a key of that depth missing here is
missing from the store, and the walks never ask the database about the upper depths again.
Deeper nodes are read from the store as before.

When it is right: the nodes are those committed at ``position``, the index position they were
loaded at or last written for. A pass uses them only if the store's position is still that
(another indexer — another process — may have moved it: then they are loaded again), and they
are updated only after the pass's transaction committed; a pass that fails forgets them. A
pass that used them commits by compare-and-set on that same position (audit.log.index_store),
so nodes another writer changed meanwhile can never reach a committed note. The map never
loses a node (entries are only added or replaced), so updating is adding and replacing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from audit.log.index_store import IndexStore
from audit.offline.map_tree import Node

UPPER_DEPTHS = 14  # depths 0..13: at most 16,383 nodes per map


def node_depth(key: bytes) -> int:
    """A node key's depth: its first two bytes, big-endian (audit.offline.map_tree)."""
    return int.from_bytes(key[:2], "big")


@dataclass
class UpperNodes:
    """Each map's committed nodes above ``depths``, as of index position ``position``."""

    depths: int = UPPER_DEPTHS
    position: int | None = None  # None: nothing loaded (or forgotten after a failed pass)
    maps: dict[str, dict[bytes, Node]] = field(default_factory=dict)

    def at(self, store: IndexStore, position: int, map_ids: Sequence[str]) -> None:
        """Make the kept nodes those of ``position``: kept already, or loaded now."""
        if self.position == position and all(name in self.maps for name in map_ids):
            return
        self.forget()
        self.maps = {name: store.nodes_above(name, self.depths) for name in map_ids}
        self.position = position

    def committed(self, position: int, changed: Mapping[str, Mapping[bytes, Node]]) -> None:
        """A pass from ``self.position`` committed at ``position`` with these rewritten nodes."""
        for name, nodes in changed.items():
            kept = self.maps.setdefault(name, {})
            for key, node in nodes.items():
                if node_depth(key) < self.depths:
                    kept[key] = node
        self.position = position

    def forget(self) -> None:
        self.position = None
        self.maps = {}


@dataclass
class UpperFirstSource:
    """A map's nodes as ``MapTree`` reads them: the upper depths from the kept nodes (complete:
    a key not kept is no node), the deeper ones from the store."""

    store: IndexStore
    map_id: str
    upper: Mapping[bytes, Node]
    depths: int

    def nodes(self, keys: Sequence[bytes]) -> dict[bytes, Node]:
        found: dict[bytes, Node] = {}
        deeper: list[bytes] = []
        for key in keys:
            if node_depth(key) < self.depths:
                node = self.upper.get(key)
                if node is not None:
                    found[key] = node
            else:
                deeper.append(key)
        if deeper:
            found.update(self.store.nodes(self.map_id, deeper))
        return found
