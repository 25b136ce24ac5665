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
    INT = "int"  # signed 64-bit (SQLite INTEGER, PostgreSQL bigint)
    JSON = "json"
    SUM = "sum"  # an integer of any size: a sum of amounts (PostgreSQL NUMERIC, SQLite TEXT)


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
        """The row's values in column order, JSON columns as canonical JSON text, sums as
        decimal digits."""
        return tuple(encode_value(c.kind, row[c.name]) for c in self.columns)

    def from_db(self, values: tuple[Any, ...]) -> Row:
        return {
            c.name: decode_value(c.kind, value)
            for c, value in zip(self.columns, values, strict=True)
        }


def encode_value(kind: Kind, value: Any) -> Any:
    """A value as stored: JSON as canonical text, a sum as its decimal digits (SQLite TEXT, or
    a literal PostgreSQL casts to its NUMERIC column), anything else as is."""
    if value is None:
        return None
    if kind is Kind.JSON:
        return encode_json(value)
    if kind is Kind.SUM:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"a sum column holds integers: got {value!r}")
        return str(value)
    return value


def decode_value(kind: Kind, value: Any) -> Any:
    """A stored value read back: JSON parsed, a sum (text or Decimal) as a Python int."""
    if value is None:
        return None
    if kind is Kind.JSON:
        return orjson.loads(value)
    if kind is Kind.SUM:
        return int(value)
    return value


def encode_json(value: Any) -> str:
    """Canonical JSON text (sorted keys, compact, UTF-8, integers only)."""
    if isinstance(value, float):
        raise TypeError("floats are never stored in a read model")
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def text(name: str) -> Column:
    return Column(name, Kind.TEXT)


def integer(name: str) -> Column:
    return Column(name, Kind.INT)


def amount_sum(name: str) -> Column:
    """A sum of amounts that may pass 64 bits (docs/api.md "Ranges"): exact, any size."""
    return Column(name, Kind.SUM)


def json_column(name: str) -> Column:
    return Column(name, Kind.JSON)
