"""The unit of work a read model writes into while it applies a batch of events.

Why: handlers read and change rows as plain dicts; this records what changed so the runner
writes only those rows, together with the new position, in one transaction. Rows it has not
seen are loaded on demand from the store — unless ``complete`` says every row of the
generation is already here (a rebuild into empty tables), which saves a query per new row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from operator import itemgetter

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
        found = cache.get(key, _ABSENT)
        if found is _ABSENT:
            found = None
            if not self.complete and self._loader is not None:
                found = self._loader(self._tables[table], key)
            cache[key] = found
        return found  # type: ignore[return-value]

    def put(self, table: str, row: Row) -> None:
        columns, key_of, cache, dirty = self._put[table]
        if not row.keys() >= columns:
            missing = [name for name in self._tables[table].column_names if name not in row]
            raise KeyError(f"{table}: row without {', '.join(missing)}")
        key = key_of(row)
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


def _key_of(table: Table) -> Callable[[Row], Key]:
    """``table.key_of`` without its generator: one tuple per call."""
    if len(table.key) == 1:
        (name,) = table.key
        return lambda row: (row[name],)
    return itemgetter(*table.key)
