"""How a read model declares its tables, and the one encoding of their values.

Why: the same declaration creates the tables on SQLite and PostgreSQL, writes rows, reads them
back and dumps them for the digest. Values are limited to text, integers and JSON (stored as
canonical JSON text: sorted keys, no floats), so a row reads back identically from either
store and two rebuilds of one log dump the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

Row = dict[str, Any]
Key = tuple[Any, ...]


class Kind(StrEnum):
    TEXT = "text"
    INT = "int"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True, slots=True)
class Table:
    """One table of a read model. ``key`` columns form the primary key (never null)."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        names = [column.name for column in self.columns]
        missing = [name for name in (*self.key, *sum(self.indexes, ())) if name not in names]
        if missing or len(set(names)) != len(names) or not self.key:
            raise ValueError(f"table {self.name}: bad key, index or duplicate columns")

    def only(self, *names: str) -> Table:
        """The same table, reading only ``names`` (which must include the key)."""
        return Table(self.name, tuple(c for c in self.columns if c.name in names), self.key)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def key_of(self, row: Row) -> Key:
        return tuple(row[name] for name in self.key)

    def to_db(self, row: Row) -> tuple[Any, ...]:
        """The row's values in column order, JSON columns as canonical JSON text."""
        return tuple(
            encode_json(row[c.name]) if c.kind is Kind.JSON else row[c.name] for c in self.columns
        )

    def from_db(self, values: tuple[Any, ...]) -> Row:
        return {
            c.name: orjson.loads(value) if c.kind is Kind.JSON and value is not None else value
            for c, value in zip(self.columns, values, strict=True)
        }


def encode_json(value: Any) -> str:
    """Canonical JSON text (sorted keys, compact, UTF-8, integers only)."""
    if isinstance(value, float):
        raise TypeError("floats are never stored in a read model")
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def text(name: str) -> Column:
    return Column(name, Kind.TEXT)


def integer(name: str) -> Column:
    return Column(name, Kind.INT)


def json_column(name: str) -> Column:
    return Column(name, Kind.JSON)
