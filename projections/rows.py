"""The unit of work a read model writes into while it applies a batch of events.

Why: handlers read and change rows as plain dicts; this records what changed so the runner
writes only those rows, together with the new position, in one transaction. Rows it has not
seen are loaded on demand from the store — unless ``complete`` says every row of the
generation is already here (a rebuild into empty tables), which saves a query per new row.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from itertools import islice
from operator import itemgetter
from typing import Any

from projections.schema import Key, Row, Table

Loader = Callable[[Table, Key], Row | None]
_PutSpec = tuple[frozenset[str], Callable[[Row], Key], dict[Key, Row | None], set[Key]]
_ABSENT = object()


class Rows:
    """Cached rows by table and key, with the set of keys changed since the last flush."""

    def __init__(
        self, tables: Mapping[str, Table], loader: Loader | None = None, *, complete: bool = False
    ) -> None:
        self._tables = dict(tables)
        self._loader = loader
        self.complete = complete or loader is None
        self._cache: dict[str, dict[Key, Row | None]] = {name: {} for name in tables}
        self._dirty: dict[str, set[Key]] = {name: set() for name in tables}
        # What ``put`` needs per table, looked up once: it runs for almost every event.
        self._put: dict[str, _PutSpec] = {
            name: (
                frozenset(table.column_names),
                _key_of(table),
                self._cache[name],
                self._dirty[name],
            )
            for name, table in self._tables.items()
        }

    def table(self, name: str) -> Table:
        return self._tables[name]

    def get(self, table: str, *key: object) -> Row | None:
        """The row (a live dict: change it, then ``put`` it), or None."""
        cache = self._cache[table]
        found: Any = cache.pop(key, _ABSENT)  # re-inserted below: the newest in the order
        if found is _ABSENT:
            found = None
            if not self.complete and self._loader is not None:
                found = self._loader(self._tables[table], key)
        cache[key] = found
        return found  # type: ignore[no-any-return]

    def put(self, table: str, row: Row) -> None:
        columns, key_of, cache, dirty = self._put[table]
        if not row.keys() >= columns:
            missing = [name for name in self._tables[table].column_names if name not in row]
            raise KeyError(f"{table}: row without {', '.join(missing)}")
        key = key_of(row)
        cache.pop(key, None)  # the newest in the cache's order: ``trim`` forgets the oldest
        cache[key] = row
        dirty.add(key)

    def delete(self, table: str, *key: object) -> None:
        self._cache[table][key] = None
        self._dirty[table].add(key)

    def changes(self) -> Iterator[tuple[Table, list[Row], list[Key]]]:
        """Per table: rows to upsert and keys to delete since the last ``flushed``."""
        for name, keys in self._dirty.items():
            if not keys:
                continue
            cache = self._cache[name]
            ordered = sorted(keys, key=repr)
            upserts = [row for key in ordered if (row := cache[key]) is not None]
            deletes = [key for key in ordered if cache[key] is None]
            yield self._tables[name], upserts, deletes

    def flushed(self) -> None:
        for keys in self._dirty.values():
            keys.clear()

    def discard(self) -> None:
        """Forget everything (after a failed commit the cache may not match the store)."""
        for name in self._cache:
            self._cache[name].clear()
            self._dirty[name].clear()
        self.complete = self._loader is None

    def size(self) -> int:
        return sum(len(cache) for cache in self._cache.values())

    def estimated_bytes(self, sample: int = 32) -> int:
        """About how much memory the cached rows take: per table, the mean deep size of up to
        ``sample`` rows (spread over the cache) times the rows cached. Rows differ a lot
        between read models (a registry row carries JSON lists, a count row five integers),
        so a bound on their number bounds nothing (issue #14: 8.5 KB per filing)."""
        total = 0
        for cache in self._cache.values():
            count = len(cache)
            if not count:
                continue
            step = max(1, count // sample)
            picked = list(islice(cache.items(), 0, None, step))[:sample]
            mean = sum(_deep_size(key) + _deep_size(row) for key, row in picked) / len(picked)
            total += int(mean * count) + count * _ENTRY_BYTES
        return total

    def trim(self, budget: int) -> int:
        """Forget the oldest cached rows until the estimate is at most half of ``budget``
        (so trims are rare); returns how many were forgotten. Only between batches: rows
        changed since the last flush are kept. Forgotten rows are loaded again when needed,
        so the cache no longer knows every row (``complete`` turns off). ``get`` and ``put``
        move a row to the end of its table's order, so the oldest are the least recently
        used: a district's or a filer's row, read by every filing, stays."""
        estimate = self.estimated_bytes()
        if estimate <= budget:
            return 0
        keep_share = (budget / 2) / estimate
        forgotten = 0
        for name, cache in self._cache.items():
            dirty = self._dirty[name]
            excess = len(cache) - int(len(cache) * keep_share)
            for key in list(islice(cache, excess)):  # dicts keep insertion order: oldest first
                if key not in dirty:
                    del cache[key]
                    forgotten += 1
        if forgotten:
            self.complete = self._loader is None
        return forgotten


_ENTRY_BYTES = 100  # a dict entry and its key tuple, beyond what _deep_size counts


def _deep_size(value: Any) -> int:
    """``sys.getsizeof`` of a row's value and what it holds (JSON: dicts, lists, scalars)."""
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(_deep_size(k) + _deep_size(v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        size += sum(_deep_size(item) for item in value)
    return size


def _key_of(table: Table) -> Callable[[Row], Key]:
    """``table.key_of`` without its generator: one tuple per call."""
    if len(table.key) == 1:
        (name,) = table.key
        return lambda row: (row[name],)
    return itemgetter(*table.key)
