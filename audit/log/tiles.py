"""C2SP tlog-tiles, server side: tile paths, hash tiles and entry bundles from the log's tables.

A tiled log (c2sp.org/tlog-tiles) serves its Merkle tree as static resources any client can
fetch in parallel and compute every root and proof from. The tile at level ``L``, index ``N``
holds hashes ``i = 0..255`` of

    MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L])

— the perfect subtree of height 8·L at index N·256 + i, which is exactly the stored node
(8·L, N·256 + i) of ``ppl_log_nodes`` (audit.offline.merkle_nodes: node (h, i) covers leaves
[i·2^h, (i+1)·2^h)). So a tile is one ordered range read of stored nodes
(``LogStore.node_range``), never a second copy of the tree. An entry bundle holds the log
leaf data (audit.offline.log_leaf) of leaves N·256 .. N·256 + W - 1, each prefixed with its
length as a big-endian uint16; every entry is checked against its stored level-0 node before
it is served.

Which tiles exist: those the latest *signed* checkpoint covers, and nothing beyond it — a tile
past it would show leaves no checkpoint commits to. The full tile (L, N) exists iff
(N + 1)·256·256^L ≤ size; the partial tile of width W < 256 iff (N·256 + W)·256^L ≤ size.
Every such width is a prefix of a tile that never changes, so every one is served (the spec
asks only for the widths of signed sizes; serving the others costs nothing and is as
immutable). Paths are parsed strictly: one canonical path per tile, as Go's
``sumdb/tlog.ParseTilePath`` insists, so caches hold one copy of each.

Server-side (database reads); the offline verifier never imports this module.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol
from uuid import UUID

from audit.log.log_store import LogStore
from audit.offline.errors import VerificationError
from audit.offline.log_leaf import MAX_LOG_LEAF_SIZE, log_leaf_data
from audit.offline.rfc6962 import HASH_SIZE, leaf_hash

TILE_WIDTH: Final = 256
"""Hashes (or entries) in a full tile."""
TILE_HEIGHT: Final = 8
"""Tree levels one tile spans: level L of tiles is tree level 8·L."""
MAX_TILE_LEVEL: Final = 63
MAX_ENTRY_SIZE: Final = MAX_LOG_LEAF_SIZE
"""The longest entry a bundle can carry (its length prefix is a uint16)."""
FULL_TILE_BYTES: Final = TILE_WIDTH * HASH_SIZE
MAX_TILE_INDEX: Final = 2**56 - 1
"""No tree of at most 2^64 - 1 leaves (a checkpoint's size is a uint64) has a tile beyond it."""
_MAX_GROUPS: Final = (len(str(MAX_TILE_INDEX)) + 2) // 3  # 3-digit groups of the largest index

_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_GROUP = re.compile(r"[0-9]{3}")
_ENTRIES = "entries"


class TilePathError(ValueError):
    """A tile path that is not the canonical form of any tile (the message says what is wrong)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"tile path {path!r}: {reason}")
        self.path = path
        self.reason = reason


class TileNotFoundError(LookupError):
    """A well-formed tile the latest signed checkpoint does not cover (not yet, or never)."""

    def __init__(self, path: str, needs: int, size: int) -> None:
        have = f"the latest signed checkpoint has {size}" if size else "no checkpoint is signed"
        super().__init__(f"{path} needs a tree of {needs} leaves; {have}")
        self.path = path
        self.needs = needs
        self.size = size


class EntryTooLargeError(ValueError):
    """A log leaf longer than an entry bundle's uint16 length prefix can say."""

    def __init__(self, leaf_index: int, size: int) -> None:
        super().__init__(
            f"leaf {leaf_index} has {size:,} bytes of log leaf data; an entry bundle carries "
            f"at most {MAX_ENTRY_SIZE:,}"
        )
        self.leaf_index = leaf_index
        self.size = size


class TileIntegrityError(VerificationError):
    """The stored log cannot give a tile it must have: a node or leaf missing, or a stored
    event that no longer hashes to its leaf. Never served: a tile that does not match the
    signed tree would make clients reject the log, or worse, accept other data."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TilePath:
    """One resource of a tiled log: a hash tile (``entries`` false) or an entry bundle.

    ``level`` is the tile level (0 for an entry bundle, which pairs with the level-0 tile),
    ``index`` the tile's index within its level, ``width`` the number of hashes or entries
    (256: a full tile).

    Raises:
        ValueError: a level outside 0..63 (an entry bundle: not 0), a negative index, or a
            width outside 1..256.
    """

    level: int
    index: int
    width: int = TILE_WIDTH
    entries: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_TILE_LEVEL or (self.entries and self.level):
            raise ValueError(f"level {self.level}: want 0..{MAX_TILE_LEVEL} (0 for entries)")
        if not 0 <= self.index <= MAX_TILE_INDEX:
            raise ValueError(f"index {self.index}: want 0..2^56 - 1")
        if not 1 <= self.width <= TILE_WIDTH:
            raise ValueError(f"width {self.width}: want 1..{TILE_WIDTH}")

    @property
    def partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def leaves_needed(self) -> int:
        """The smallest tree size that holds this tile: (N·256 + W)·256^L."""
        return (self.index * TILE_WIDTH + self.width) << (TILE_HEIGHT * self.level)

    @property
    def first_node(self) -> int:
        """The index of the tile's first hash among the nodes of its tree level (8·L)."""
        return self.index * TILE_WIDTH


def format_tile_path(tile: TilePath) -> str:
    """The tile's path below the log's prefix: ``tile/<L>/<N>[.p/<W>]`` or
    ``tile/entries/<N>[.p/<W>]``, with N in 3-digit groups, all but the last ``x``-prefixed
    (index 1234067: ``x001/x234/067``)."""
    groups = [f"{tile.index % 1000:03d}"]
    rest = tile.index // 1000
    while rest:
        groups.insert(0, f"x{rest % 1000:03d}")
        rest //= 1000
    if tile.partial:
        groups[-1] += ".p"
        groups.append(str(tile.width))
    return "/".join(["tile", _ENTRIES if tile.entries else str(tile.level), *groups])


def parse_tile_path(path: str) -> TilePath:
    """The tile a path below the log's prefix names (the inverse of ``format_tile_path``).

    Only the canonical form is accepted: level 0..63 and width 1..255 in decimal without
    leading zeros, the index in 3-digit groups, all but the last beginning with ``x`` and no
    leading ``x000`` group, ASCII digits only, no empty or extra element. The index is below
    2^56: a larger one is no tile of any tree a checkpoint can sign (its size is a uint64).

    Raises:
        TilePathError: anything else, saying which element is wrong.
    """
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise TilePathError(path, "want tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]")
    kind, groups = parts[1], parts[2:]
    entries = kind == _ENTRIES
    if not entries and (_LEVEL.fullmatch(kind) is None or int(kind) > MAX_TILE_LEVEL):
        raise TilePathError(path, f"level {kind!r}: want 0..{MAX_TILE_LEVEL} or entries")
    width = TILE_WIDTH
    if len(groups) >= 2 and groups[-2].endswith(".p"):
        written = groups[-1]
        if _WIDTH.fullmatch(written) is None or int(written) >= TILE_WIDTH:
            raise TilePathError(path, f"width {written!r}: want 1..{TILE_WIDTH - 1}")
        width = int(written)
        groups = [*groups[:-2], groups[-2].removesuffix(".p")]
    if len(groups) > _MAX_GROUPS:  # before any arithmetic on it
        raise TilePathError(path, f"index of {len(groups)} groups: want at most {_MAX_GROUPS}")
    index = 0
    for position, group in enumerate(groups):
        last = position == len(groups) - 1
        digits = group if last else group.removeprefix("x")
        if (not last and not group.startswith("x")) or _GROUP.fullmatch(digits) is None:
            want = "3 digits" if last else "x and 3 digits"
            raise TilePathError(path, f"index element {group!r}: want {want}")
        index = index * 1000 + int(digits)
    if index > MAX_TILE_INDEX:
        raise TilePathError(path, f"index {index}: want < 2^56 (no tree of 2^64 leaves has it)")
    tile = TilePath(0 if entries else int(kind), index, width, entries)
    if format_tile_path(tile) != path:
        raise TilePathError(path, f"index {index} is written {format_tile_path(tile)!r}")
    return tile


class StoredNotification(Protocol):
    """What an entry needs of a stored event (eventsourcing's ``Notification`` has it)."""

    @property
    def id(self) -> int: ...
    @property
    def originator_id(self) -> UUID | str: ...
    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...


ReadNotifications = Callable[[int, int], Sequence[StoredNotification]]
"""(first notification id, limit) → the stored events from that id on, in order (the
sequencer's reader, api.bootstrap ``notification_reader``)."""


def signed_size(store: LogStore) -> int:
    """The tree size of the latest signed checkpoint (0 before the first): what tiles cover."""
    latest = store.latest_checkpoint()
    return 0 if latest is None else latest.tree_size


class FullTileCache:
    """The most recently served full hash tiles, by (level, index), up to ``capacity``.

    A full tile never changes once the log has it (the log only grows), so a cached one needs
    neither the checkpoint read nor the node read: most tile requests of a busy log are for
    full tiles. Thread-safe (routes run in a thread pool). 1,024 tiles: 8 MiB.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._tiles: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, level: int, index: int) -> bytes | None:
        with self._lock:
            tile = self._tiles.get((level, index))
            if tile is not None:
                self._tiles.move_to_end((level, index))
            return tile

    def put(self, level: int, index: int, tile: bytes) -> None:
        with self._lock:
            self._tiles[(level, index)] = tile
            self._tiles.move_to_end((level, index))
            while len(self._tiles) > self.capacity:
                self._tiles.popitem(last=False)


@dataclass(frozen=True)
class TileReader:
    """Hash tiles and entry bundles of the log, up to its latest signed checkpoint."""

    store: LogStore
    read_notifications: ReadNotifications
    cache: FullTileCache | None = None

    def _check_covered(self, tile: TilePath) -> None:
        size = signed_size(self.store)
        if tile.leaves_needed > size:
            raise TileNotFoundError(format_tile_path(tile), tile.leaves_needed, size)

    def hash_tile(self, tile: TilePath) -> bytes:
        """The tile's hashes, concatenated: 32·W bytes (8,192 for a full tile).

        Raises:
            ValueError: ``tile`` is an entry bundle.
            TileNotFoundError: the latest signed checkpoint does not cover it.
            TileIntegrityError: a node it needs is not stored (the node table is damaged).
        """
        if tile.entries:
            raise ValueError("an entry bundle is no hash tile: use entry_bundle")
        full = tile.width == TILE_WIDTH
        if full and self.cache is not None:
            cached = self.cache.get(tile.level, tile.index)
            if cached is not None:
                return cached
        self._check_covered(tile)
        first = tile.first_node
        nodes = self.store.node_range(TILE_HEIGHT * tile.level, first, first + tile.width)
        if [index for index, _ in nodes] != list(range(first, first + tile.width)) or any(
            len(digest) != HASH_SIZE for _, digest in nodes
        ):
            raise TileIntegrityError(
                format_tile_path(tile),
                f"{len(nodes)} stored nodes of level {TILE_HEIGHT * tile.level} from {first}, "
                f"want {tile.width} of {HASH_SIZE} bytes",
            )
        hashes = b"".join(digest for _, digest in nodes)
        if full and self.cache is not None:
            self.cache.put(tile.level, tile.index, hashes)
        return hashes

    def entry_bundle(self, tile: TilePath) -> bytes:
        """The log leaf data of the tile's leaves, each after its length (uint16, big-endian).

        Steps: (1) the signed checkpoint covers the bundle; (2) its leaves and their stored
        level-0 nodes, one range read each; (3) their events, one read of W notifications from
        the first leaf's; (4) each event is its leaf's (same notification id, originator and
        version) and its log leaf data hashes to the stored node; (5) each fits a uint16.

        Raises:
            ValueError: ``tile`` is a hash tile.
            TileNotFoundError: the latest signed checkpoint does not cover it.
            TileIntegrityError: a leaf, node or event is missing or does not match.
            EntryTooLargeError: an entry is longer than 65,535 bytes (names the leaf).
        """
        if not tile.entries:
            raise ValueError("a hash tile is no entry bundle: use hash_tile")
        path = format_tile_path(tile)
        # (1) covered
        self._check_covered(tile)
        # (2) leaves and nodes
        start, stop = tile.first_node, tile.first_node + tile.width
        leaves = self.store.leaves(start, stop)
        nodes = dict(self.store.node_range(0, start, stop))
        if [leaf.leaf_index for leaf in leaves] != list(range(start, stop)) or len(nodes) != len(
            leaves
        ):
            raise TileIntegrityError(
                path, f"{len(leaves)} leaves and {len(nodes)} level-0 nodes, want {tile.width}"
            )
        # (3) events
        events = self.read_notifications(leaves[0].notification_id, tile.width)
        if len(events) != len(leaves):
            raise TileIntegrityError(
                path, f"{len(events)} stored events from leaf {start}'s, want {tile.width}"
            )
        bundle = bytearray()
        for leaf, event in zip(leaves, events, strict=True):
            # (4) each event is its leaf's
            originator_id = UUID(str(event.originator_id))
            if (event.id, originator_id, event.originator_version) != (
                leaf.notification_id, leaf.originator_id, leaf.originator_version,
            ):  # fmt: skip
                raise TileIntegrityError(
                    path,
                    f"leaf {leaf.leaf_index} is notification {leaf.notification_id} (event "
                    f"{leaf.originator_id} v{leaf.originator_version}); the store has "
                    f"notification {event.id} (event {originator_id} "
                    f"v{event.originator_version}) in its place",
                )
            data = log_leaf_data(originator_id, event.originator_version, event.topic, event.state)
            if leaf_hash(data) != nodes[leaf.leaf_index]:
                raise TileIntegrityError(
                    path,
                    f"the stored event of leaf {leaf.leaf_index} ({originator_id} "
                    f"v{event.originator_version}) no longer hashes to its leaf",
                )
            # (5) fits a uint16
            if len(data) > MAX_ENTRY_SIZE:
                raise EntryTooLargeError(leaf.leaf_index, len(data))
            bundle += len(data).to_bytes(2, "big") + data
        return bytes(bundle)
