"""Keeps the product index (issue #19) in step with the log: one signed index note per checkpoint.

For the checkpoints the index has not reached, in order and in passes of a few: read the
events between the index's position and the pass's last checkpoint (the leaves and events the
sequencer hands over, audit.log.recent_leaves, else the log's leaves and the stored events they
name), apply each checkpoint's events to the builder (audit.offline.product_index) over state
rows read ahead, put each changed entry's value digest into its map (audit.offline.map_tree),
sign that checkpoint's index note with the log's key (audit.offline.index_note); then write the
pass — every note, and the maps as they stand after the last — in one transaction that moves
the index's position by compare-and-set (audit.log.index_store). The auditor rebuilds the same
roots from the same events (audit.offline.verifier); a root that differs is the log's signed
misstatement.

Events are decoded, not verified: the sequencer verified each signature before the event
became a leaf. Server side; the offline verifier never imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

import orjson
from eventsourcing.persistence import Notification

from audit.log.bundle_export import ExportError, leaf_events
from audit.log.index_lookup import likely_depth
from audit.log.index_store import IndexBatch, IndexStore, MapTop, dumps
from audit.log.log_store import CheckpointRecord, LogStore, PositionMovedError
from audit.log.recent_leaves import RecentLeaves
from audit.log.upper_nodes import UpperFirstSource, UpperNodes
from audit.offline.canonical import from_canonical_tree
from audit.offline.errors import VerificationError
from audit.offline.event_signature import parse_envelope
from audit.offline.index_note import IndexNote, MapHead, sign_index_note
from audit.offline.index_rebuild import index_fields
from audit.offline.map_tree import MapStorageError, MapTree
from audit.offline.note import NoteSigner
from audit.offline.product_index import (
    MAPS,
    PRODUCT_KEYS,
    PRODUCT_TOPICS,
    RESERVATION_TOPICS,
    FilingState,
    IndexBuilder,
    IndexedEvent,
    IndexState,
    KeyState,
    PatentState,
    patent_key_bytes,
    product_key_bytes,
)
from audit.offline.sparse_map import map_path, value_digest
from audit.signing.signing_mapper import as_uuid

logger = logging.getLogger("ppl.product_index")
V = TypeVar("V")
K = TypeVar("K", str, bytes)


PASS_CHECKPOINTS = 50  # checkpoints indexed in one pass (one transaction) at most
PASS_EVENTS = 20_000  # events a pass reads at most, unless its first checkpoint has more


class IndexerError(RuntimeError):
    """The index cannot follow the log (a leaf's event is missing from the store)."""


class _RowBacked(MutableMapping[K, V], Generic[K, V]):
    """A mapping over one kind of ``ppl_index_state`` rows: read on first use, written back
    by the batch (``dirty``)."""

    def __init__(
        self,
        store: IndexStore,
        kind: str,
        load: Callable[[Any], V],
        dump: Callable[[V], Any],
        to_id: Callable[[K], str],
    ) -> None:
        self._store = store
        self._kind = kind
        self._load = load
        self._dump = dump
        self._to_id: Callable[[K], str] = to_id
        self._cache: dict[K, V | None] = {}
        self.dirty: set[K] = set()

    def prefetch(self, keys: Sequence[K]) -> None:
        missing = [k for k in keys if k not in self._cache]
        found = self._store.states(self._kind, [self._to_id(k) for k in missing])
        for key in missing:
            raw = found.get(self._to_id(key))
            self._cache[key] = None if raw is None else self._load(raw)

    def __getitem__(self, key: K) -> V:
        if key not in self._cache:
            self.prefetch([key])
        value = self._cache[key]
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self._cache[key] = value
        self.dirty.add(key)

    def __delitem__(self, key: K) -> None:
        raise NotImplementedError("the index never forgets an entry")

    def __iter__(self) -> Iterator[K]:
        return (k for k, v in self._cache.items() if v is not None)

    def __len__(self) -> int:
        return sum(1 for v in self._cache.values() if v is not None)

    def rows(self) -> list[tuple[str, str, str]]:
        written = []
        for key in sorted(self.dirty):
            value = self._cache[key]
            assert value is not None  # noqa: S101 (only set values are dirty)
            written.append((self._kind, self._to_id(key), dumps(self._dump(value))))
        return written


def _uuid_text(text: str) -> str:
    return text


def _hex(key: bytes) -> str:
    return key.hex()


@dataclass
class ProductIndexLog:
    """The indexer: follows the log's checkpoints (``catch_up``)."""

    store: IndexStore
    log_store: LogStore
    read_notifications: Callable[[int, int], Sequence[Notification]]
    signer: NoteSigner
    recent: RecentLeaves | None = None  # the sequencer's last batches, read from memory
    indexed: list[int] = field(default_factory=list)  # sizes indexed by this instance
    failure: str | None = None  # why the last ``follow`` could not index (None: it could)
    upper: UpperNodes = field(default_factory=UpperNodes)  # the maps' top nodes, kept

    @property
    def origin(self) -> str:
        return self.signer.name

    def follow(self) -> int:
        """``catch_up`` for the log's own loop: an event the index cannot read, a missing
        stored event or damaged node rows are logged at ERROR and kept in ``failure`` (for
        ``/ready``) instead of raised — the log must go on sequencing and publishing while the
        index is stuck; it resumes where it stopped once the cause is fixed. Database errors
        propagate, as the sequencer's do."""
        try:
            done = self.catch_up()
        except (VerificationError, IndexerError, MapStorageError) as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
            logger.error("product index stopped at tree size %s: %s", self.store.position(), exc)
            return 0
        self.failure = None
        return done

    def catch_up(self, *, max_retries: int = 3) -> int:
        """Index every checkpoint after the index's position, oldest first; returns how many.

        Checkpoints waiting together are indexed in one pass and one transaction (up to
        ``PASS_CHECKPOINTS`` of them, ``PASS_EVENTS`` events): each gets its own note, with
        the roots after its own events, while a node that several of them rewrite is written
        once, as it stands after the last — the server keeps the maps' current nodes only.

        Raises:
            IndexerError: a leaf's stored event is missing.
        """
        done = 0
        retries = 0
        while True:
            position = self.store.position()
            records = self._pending(position)
            if not records:
                return done
            try:
                self._index(position, records)
            except PositionMovedError:
                retries += 1
                if retries > max_retries:
                    raise
                continue
            done += len(records)

    def _pending(self, position: int) -> list[CheckpointRecord]:
        """The checkpoints after ``position`` for one pass (at least one, if any)."""
        records = self.log_store.checkpoints_after(position, PASS_CHECKPOINTS)
        taken = records[:1]
        for record in records[1:]:
            if record.tree_size - position > PASS_EVENTS:
                break
            taken.append(record)
        return taken

    def _events(self, start: int, stop: int) -> Iterator[IndexedEvent]:
        recent = None if self.recent is None else self.recent.span(start, stop)
        pairs = (
            recent
            if recent is not None
            else leaf_events(self.log_store, self.read_notifications, start, stop)
        )
        try:
            for leaf, n in pairs:
                originator_id = as_uuid(n.originator_id)
                yield IndexedEvent(
                    leaf.leaf_index,
                    str(originator_id),
                    n.originator_version,
                    n.topic,
                    _index_state(originator_id, n.originator_version, n.topic, n.state),
                )
        except ExportError as exc:
            raise IndexerError(str(exc)) from exc

    def _index(self, position: int, records: Sequence[CheckpointRecord]) -> None:
        filings: _RowBacked[str, FilingState] = _RowBacked(
            self.store, "filing", FilingState.from_json, FilingState.to_json, _uuid_text
        )
        keys: _RowBacked[bytes, KeyState] = _RowBacked(
            self.store, "key", KeyState.from_json, KeyState.to_json, _hex
        )
        patents: _RowBacked[bytes, PatentState] = _RowBacked(
            self.store, "patent", PatentState.from_json, PatentState.to_json, _hex
        )
        reservations: _RowBacked[str, bytes] = _RowBacked(
            self.store, "reservation", bytes.fromhex, bytes.hex, _uuid_text
        )
        builder = IndexBuilder(IndexState(filings, keys, patents, reservations))
        events = list(self._events(position, records[-1].tree_size))
        _read_ahead(builder, events, filings, keys, patents, reservations)
        tops = self.store.tops()
        names = [map_id.decode("ascii") for map_id in MAPS]
        self.upper.at(self.store, position, names)
        trees = {
            name: MapTree(
                tops.get(name, MapTop(None, 0)).top,
                UpperFirstSource(self.store, name, self.upper.maps[name], self.upper.depths),
            )
            for name in names
        }
        counts = {name: tops.get(name, MapTop(None, 0)).entries for name in trees}
        entries: dict[tuple[str, bytes], tuple[str, bytes, bytes, bytes]] = {}
        notes: list[tuple[int, str]] = []
        applied = 0
        for record in records:
            while applied < len(events) and events[applied].leaf_index < record.tree_size:
                builder.apply_indexed(events[applied])
                applied += 1
            changed = builder.take_changed()
            filings.prefetch(  # every filing a changed key's value names
                sorted({p for m, k in changed if m == PRODUCT_KEYS for p in keys[k].filings})
            )
            heads: dict[bytes, MapHead] = {}
            for map_id in MAPS:
                name = map_id.decode("ascii")
                tree = trees[name]
                mine = [key for changed_map, key in changed if changed_map == map_id]
                paths = {key: map_path(map_id, key) for key in mine}
                tree.prefetch(paths.values(), likely_depth(counts[name] + len(mine)))
                digests: dict[bytes, bytes] = {}
                for key in mine:
                    path = paths[key]
                    value = builder.value(map_id, key)
                    digests[path] = value_digest(value)
                    entries[(name, path)] = (name, path, key, value)  # the last value wins
                counts[name] += tree.put_many(digests)
                heads[map_id] = MapHead(counts[name], tree.root())
            note = IndexNote(self.origin, record.tree_size, record.root, heads)
            notes.append((record.tree_size, sign_index_note(note, self.signer)))
        rewritten = {name: tree.take_changed() for name, tree in trees.items()}
        nodes = [(name, k, node) for name in trees for k, node in sorted(rewritten[name].items())]
        states = filings.rows() + keys.rows() + patents.rows() + reservations.rows()
        last_size, last_note = notes[-1]
        batch = IndexBatch(
            last_size,
            last_note,
            states,
            [entries[k] for k in sorted(entries)],
            nodes,
            {name: MapTop(tree.top, counts[name]) for name, tree in trees.items()},
            earlier=notes[:-1],
        )
        try:
            self.store.commit(position, batch)
        except BaseException:
            self.upper.forget()  # whether the write landed is unknown: load them again
            raise
        self.upper.committed(last_size, rewritten)
        self.indexed.extend(size for size, _ in notes)


def _index_state(originator_id: UUID, version: int, topic: str, stored: bytes) -> dict[str, Any]:
    """What the index reads of a stored event: nothing of the events it ignores; of the
    others the fields of audit.offline.index_rebuild.index_fields, typed values (the product
    ids of key events) decoded. Parsed with orjson and not re-checked for canonical form: the
    sequencer verified each event's signature over these exact bytes before it became a leaf,
    and the auditor's rebuild decodes them strictly."""
    if topic not in PRODUCT_TOPICS and topic not in RESERVATION_TOPICS:
        return {}
    state = orjson.loads(parse_envelope(originator_id, version, stored).state)
    fields = index_fields(topic, state) or {}
    for name in ("product_id", "previous_product_id"):
        if isinstance(fields.get(name), dict):
            fields[name] = from_canonical_tree(fields[name])
    return fields


@dataclass
class _Wanted:
    """The state rows a batch of events will touch, by kind."""

    product_ids: set[str] = field(default_factory=set)
    reservation_ids: set[str] = field(default_factory=set)
    keys: set[bytes] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)

    def reservation_event(self, event: IndexedEvent) -> None:
        state = event.state
        self.reservation_ids.add(event.originator)
        self.product_ids.add(str(state.get("product_id")))
        if isinstance(state.get("canonical_key"), str):
            self.keys.add(product_key_bytes(state.get("key_rule", 1), state["canonical_key"]))

    def product_event(self, builder: IndexBuilder, event: IndexedEvent) -> None:
        state = event.state
        self.product_ids.add(event.originator)
        records = state.get("patents")
        if isinstance(records, list):
            self.numbers.update(str(r.get("number")) for r in records if isinstance(r, dict))
        removed = state.get("removed_patents")
        if isinstance(removed, list):
            self.numbers.update(str(n) for n in removed)
        name, model = state.get("name"), state.get("model")
        if isinstance(name, str) and isinstance(model, str):
            derived = builder.derived_key(name, model)
            if derived is not None:
                self.keys.add(product_key_bytes(2, derived))
        if isinstance(state.get("canonical_key"), str):
            self.keys.add(product_key_bytes(1, state["canonical_key"]))


def _read_ahead(
    builder: IndexBuilder,
    events: Sequence[IndexedEvent],
    filings: _RowBacked[str, FilingState],
    keys: _RowBacked[bytes, KeyState],
    patents: _RowBacked[bytes, PatentState],
    reservations: _RowBacked[str, bytes],
) -> None:
    """Read the state rows a batch of events will touch, a few queries in all, instead of
    one query per row as the builder meets them (measured on PostgreSQL: the difference
    between the index halving the ledger's throughput and costing a few per cent)."""
    wanted = _Wanted()
    for event in events:
        if event.topic in RESERVATION_TOPICS:
            wanted.reservation_event(event)
        elif event.topic in PRODUCT_TOPICS:
            wanted.product_event(builder, event)
    filings.prefetch(sorted(wanted.product_ids))
    reservations.prefetch(sorted(wanted.reservation_ids))
    for product_id in wanted.product_ids:
        filing = filings.get(product_id)
        if filing is not None:
            wanted.keys.update(product_key_bytes(rule, key) for rule, key in filing.keys)
            wanted.numbers.update(filing.ever)
    for reservation_id in wanted.reservation_ids:
        entry = reservations.get(reservation_id)
        if entry is not None:
            wanted.keys.add(entry)
    keys.prefetch(sorted(wanted.keys))
    patents.prefetch(sorted(patent_key_bytes(n) for n in wanted.numbers))
