"""The read models' tables, their generations, and the position each has applied up to.

Why generations: a rebuild writes a fresh set of tables (generation g+1) while generation g
keeps serving; switching over is one catalog update. One older generation is kept for readers
still in flight and dropped at the next rebuild.

Exactly-once: ``commit`` writes a batch's rows and moves the generation's position by
compare-and-set **in the same transaction**. A crash before the commit loses the batch, which
is re-applied from the unchanged position; two runners cannot both apply a batch.

Tables (same database and schema as the events):
* ``ppl_projection_catalog`` — projection name → active generation;
* ``ppl_projection_positions`` — (projection, generation) → last applied notification id and
  number of events applied;
* ``ppl_projection_failures`` — (projection, generation) → the event it could not apply and
  the error (projections.failures); a generation with a row here is no longer followed;
* ``ppl_<projection>_<table>_g<generation>`` — the read model's own tables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson

from audit.database.connections import Database
from projections.failures import ProjectionFailure
from projections.schema import Key, Kind, Row, Table, decode_value, encode_value

_FAILURE_COLUMNS = (
    "f.projection, f.generation, f.notification_id, f.originator_id, f.version, f.topic, "
    "f.error, f.failed_at"
)
COPY_MIN_ROWS = 200  # on PostgreSQL, upsert at least this many rows by COPY (see ``commit``)


@dataclass(frozen=True, slots=True)
class Commit:
    """One projection's part of a commit: its position move and the rows that go with it."""

    projection: str
    expected: Position
    new_position: Position
    changes: Iterable[tuple[Table, list[Row], list[Key]]]


class ProjectionStoreError(Exception):
    """Operational failure of the read models' store."""


class PositionMovedError(ProjectionStoreError):
    """Another runner applied events first (or the generation was switched): re-read."""


class ProjectionNotBuiltError(ProjectionStoreError):
    """A projection has no active generation yet: run ``ppl projections rebuild``."""


@dataclass(frozen=True, slots=True)
class Position:
    generation: int
    notification_id: int
    events: int


def physical_name(projection: str, table: str, generation: int) -> str:
    return f"ppl_{projection}_{table}_g{generation}"


class ProjectionStore:
    """Catalog, positions and rows of every read model, on one ``Database``."""

    def __init__(self, database: Database, *, create: bool = True) -> None:
        """``create=False``: the tables exist and may not be created here — a read-only
        streaming replica of the primary (api.read_routing), where even ``CREATE TABLE IF NOT
        EXISTS`` is refused."""
        self.db = database
        big = database.int_type
        if not create:
            return
        with database.schema_transaction() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS ppl_projection_catalog (projection TEXT PRIMARY KEY, "
                f"generation {big} NOT NULL)"
            )
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS ppl_projection_positions (projection TEXT NOT NULL, "
                f"generation {big} NOT NULL, notification_id {big} NOT NULL, "
                f"events {big} NOT NULL, PRIMARY KEY (projection, generation))"
            )
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS ppl_projection_failures (projection TEXT NOT NULL, "
                f"generation {big} NOT NULL, notification_id {big} NOT NULL, "
                f"originator_id TEXT NOT NULL, version {big} NOT NULL, topic TEXT NOT NULL, "
                "error TEXT NOT NULL, failed_at TEXT NOT NULL, "
                "PRIMARY KEY (projection, generation))"
            )

    # --- generations --------------------------------------------------------------------------
    def active_generation(self, projection: str) -> int | None:
        with self.db.autocommit() as cursor:
            cursor.execute(
                self.db.q("SELECT generation FROM ppl_projection_catalog WHERE projection = ?"),
                (projection,),
            )
            row = cursor.fetchone()
        return None if row is None else int(row[0])

    def active_generations(self) -> dict[str, int]:
        """Every built projection's active generation, in one query (a follower's round)."""
        with self.db.autocommit() as cursor:
            cursor.execute("SELECT projection, generation FROM ppl_projection_catalog")
            return {str(name): int(generation) for name, generation in cursor.fetchall()}

    def require_generation(self, projection: str) -> int:
        generation = self.active_generation(projection)
        if generation is None:
            raise ProjectionNotBuiltError(
                f"projection {projection} is not built yet: run `ppl projections rebuild`"
            )
        return generation

    def generations(self, projection: str) -> list[int]:
        with self.db.autocommit() as cursor:
            cursor.execute(
                self.db.q(
                    "SELECT generation FROM ppl_projection_positions WHERE projection = ? "
                    "ORDER BY generation"
                ),
                (projection,),
            )
            return [int(row[0]) for row in cursor.fetchall()]

    def create_generation(self, projection: str, tables: Sequence[Table]) -> int:
        """Empty tables for a new generation at position 0 (not active yet)."""
        with self.db.schema_transaction() as cursor:
            cursor.execute(
                self.db.q(
                    "SELECT COALESCE(MAX(generation), 0) FROM ppl_projection_positions "
                    "WHERE projection = ?"
                ),
                (projection,),
            )
            generation = int(cursor.fetchone()[0]) + 1
            for table in tables:
                name = physical_name(projection, table.name, generation)
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
                cursor.execute(self._create_table(name, table))
                for number, columns in enumerate(table.indexes):
                    cursor.execute(
                        f"CREATE INDEX {name}_i{number} ON {name} ({', '.join(columns)})"
                    )
            cursor.execute(
                self.db.q(
                    "INSERT INTO ppl_projection_positions (projection, generation, "
                    "notification_id, events) VALUES (?, ?, 0, 0)"
                ),
                (projection, generation),
            )
        return generation

    def _create_table(self, name: str, table: Table) -> str:
        types = {
            Kind.TEXT: "TEXT",
            Kind.INT: self.db.int_type,
            Kind.JSON: "TEXT",
            Kind.SUM: "NUMERIC" if self.db.is_postgres else "TEXT",
        }
        columns = ", ".join(
            f"{c.name} {types[c.kind]}{' NOT NULL' if c.name in table.key else ''}"
            for c in table.columns
        )
        return f"CREATE TABLE {name} ({columns}, PRIMARY KEY ({', '.join(table.key)}))"

    def analyze(self, projection: str, generation: int, tables: Sequence[str]) -> None:
        """Gather the planner's statistics of a generation's tables (``ANALYZE``).

        Why: a rebuild fills new tables in one go, and PostgreSQL's autovacuum analyses them
        only later; until then the planner guesses, and searches over the fresh registry took
        25.9 ms instead of 2.1 ms (bench/reads.py on the 206,268-event sample). Run before the
        generation is switched in, so its first reads are planned on real figures. SQLite's
        ``ANALYZE`` keeps its own statistics (``sqlite_stat1``) the same way.
        """
        with self.db.autocommit() as cursor:
            for table in tables:
                cursor.execute(f"ANALYZE {physical_name(projection, table, generation)}")

    def activate(self, projection: str, generation: int, expected: Position) -> None:
        """Make ``generation`` the served one, if its position is still ``expected``.

        Clears the failure marks of the generations it replaces (a rebuild is how a failed
        read model recovers) and drops generations older than the one it replaces.

        Raises:
            PositionMovedError: the generation moved on since ``expected`` was read.
        """
        with self.db.transaction(write=True) as cursor:
            self._check_position(cursor, projection, expected)
            cursor.execute(
                self.db.q(
                    "INSERT INTO ppl_projection_catalog (projection, generation) VALUES (?, ?) "
                    "ON CONFLICT (projection) DO UPDATE SET generation = excluded.generation"
                ),
                (projection, generation),
            )
            cursor.execute(
                self.db.q(
                    "DELETE FROM ppl_projection_failures WHERE projection = ? AND generation <> ?"
                ),
                (projection, generation),
            )
        self.drop_older(projection, keep=2)

    def drop_older(self, projection: str, *, keep: int) -> None:
        """Drop all but the ``keep`` newest generations up to the active one."""
        active = self.active_generation(projection)
        generations = self.generations(projection)
        doomed = [
            g for g in generations if active is not None and g < active and g <= active - keep
        ]
        self._drop(projection, doomed, ())

    def drop_generation(self, projection: str, generation: int, tables: Sequence[str]) -> None:
        """Drop one generation that is not active (an abandoned rebuild)."""
        if self.active_generation(projection) == generation:
            raise ProjectionStoreError(f"generation {generation} of {projection} is active")
        self._drop(projection, [generation], tables)

    def _drop(self, projection: str, generations: Iterable[int], tables: Sequence[str]) -> None:
        with self.db.schema_transaction() as cursor:
            for generation in generations:
                for table in tables or self._table_names(cursor, projection, generation):
                    cursor.execute(
                        f"DROP TABLE IF EXISTS {physical_name(projection, table, generation)}"
                    )
                for table in ("ppl_projection_positions", "ppl_projection_failures"):
                    cursor.execute(
                        self.db.q(f"DELETE FROM {table} WHERE projection = ? AND generation = ?"),  # noqa: S608 (fixed names)
                        (projection, generation),
                    )

    def _table_names(self, cursor: Any, projection: str, generation: int) -> list[str]:
        prefix, suffix = f"ppl_{projection}_", f"_g{generation}"
        if self.db.is_postgres:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return [
            str(name)[len(prefix) : -len(suffix)]
            for (name,) in cursor.fetchall()
            if str(name).startswith(prefix) and str(name).endswith(suffix)
        ]

    # --- positions ----------------------------------------------------------------------------
    def applied_position(self) -> int:
        """The notification id every healthy read model has applied (the least of their
        positions; 0 before any is built): a read of these tables reflects every event up to
        it. A model marked failed is left out — it stands still until repaired, and reads of
        it say so (/ready) — so that it does not hold every other read back."""
        with self.db.autocommit() as cursor:
            cursor.execute(
                "SELECT MIN(p.notification_id) FROM ppl_projection_catalog c "
                "JOIN ppl_projection_positions p "
                "ON p.projection = c.projection AND p.generation = c.generation "
                "WHERE NOT EXISTS (SELECT 1 FROM ppl_projection_failures f "
                "WHERE f.projection = c.projection AND f.generation = c.generation)"
            )
            row = cursor.fetchone()
        return 0 if row is None or row[0] is None else int(row[0])

    def position(self, projection: str, generation: int) -> Position:
        with self.db.autocommit() as cursor:
            return self._position(cursor, projection, generation)

    def _position(self, cursor: Any, projection: str, generation: int) -> Position:
        cursor.execute(
            self.db.q(
                "SELECT notification_id, events FROM ppl_projection_positions "
                "WHERE projection = ? AND generation = ?"
            ),
            (projection, generation),
        )
        row = cursor.fetchone()
        if row is None:
            raise PositionMovedError(f"generation {generation} of {projection} does not exist")
        return Position(generation, int(row[0]), int(row[1]))

    def _check_position(self, cursor: Any, projection: str, expected: Position) -> None:
        cursor.execute(
            self.db.q(
                "UPDATE ppl_projection_positions SET notification_id = notification_id "
                "WHERE projection = ? AND generation = ? AND notification_id = ?"
            ),
            (projection, expected.generation, expected.notification_id),
        )
        if cursor.rowcount != 1:
            raise PositionMovedError(f"{projection} moved from {expected}")

    # --- failures -----------------------------------------------------------------------------
    def mark_failed(self, failure: ProjectionFailure, expected: Position) -> ProjectionFailure:
        """Record that ``failure.generation`` stopped at an event, if it still stands at
        ``expected`` (the event before); returns the mark now stored.

        Compare-and-set like ``commit``: a runner whose view is stale (another one moved the
        generation on) cannot mark it. The first mark stands: a second runner that meets the
        same event gets the stored one back.

        Raises:
            PositionMovedError: the generation is no longer at ``expected``; nothing is written.
        """
        with self.db.transaction(write=True) as cursor:
            self._check_position(cursor, failure.projection, expected)
            cursor.execute(
                self.db.q(
                    "INSERT INTO ppl_projection_failures (projection, generation, "
                    "notification_id, originator_id, version, topic, error, failed_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (projection, generation) DO NOTHING"
                ),
                (failure.projection, failure.generation, failure.notification_id,
                 failure.originator_id, failure.version, failure.topic, failure.error,
                 failure.failed_at),
            )  # fmt: skip
            stored = self._failures(cursor, "f.projection = ? AND f.generation = ?",
                                    (failure.projection, failure.generation))  # fmt: skip
        return stored[0]

    def failure(self, projection: str, generation: int) -> ProjectionFailure | None:
        """The failure mark of one generation, or None if it is following normally."""
        with self.db.autocommit() as cursor:
            found = self._failures(
                cursor, "f.projection = ? AND f.generation = ?", (projection, generation)
            )
        return found[0] if found else None

    def failures(self) -> dict[str, ProjectionFailure]:
        """The failed read models among those served (their active generation is marked)."""
        with self.db.autocommit() as cursor:
            found = self._failures(
                cursor,
                "EXISTS (SELECT 1 FROM ppl_projection_catalog c "
                "WHERE c.projection = f.projection AND c.generation = f.generation)",
                (),
            )
        return {failure.projection: failure for failure in found}

    def _failures(
        self, cursor: Any, where: str, parameters: Sequence[Any]
    ) -> list[ProjectionFailure]:
        select = f"SELECT {_FAILURE_COLUMNS} FROM ppl_projection_failures f WHERE {where}"  # noqa: S608 (fixed conditions)
        cursor.execute(self.db.q(f"{select} ORDER BY f.projection"), tuple(parameters))
        return [
            ProjectionFailure(str(name), int(generation), int(notification_id), str(originator),
                              int(version), str(topic), str(error), str(failed_at))
            for name, generation, notification_id, originator, version, topic, error, failed_at
            in cursor.fetchall()
        ]  # fmt: skip

    # --- rows ---------------------------------------------------------------------------------
    def commit(
        self,
        projection: str,
        expected: Position,
        new_position: Position,
        changes: Iterable[tuple[Table, list[Row], list[Key]]],
    ) -> None:
        """Write changed rows and move the position, atomically, if nobody moved it first.

        The first commit into a generation (``expected`` at notification 0 and 0 events:
        nothing was ever committed to it) writes into the empty tables ``create_generation``
        made, so it has nothing to delete; on PostgreSQL its rows go in by ``COPY`` (a row that
        is somehow there already fails the ``COPY`` on its primary key and nothing is
        written), as do large batches later, through a temporary table and one
        ``INSERT ... ON CONFLICT``. That keeps a rebuild's writes to a few statements per table
        instead of one per row (docs/benchmarks.md, "Projections").

        Raises:
            PositionMovedError: the stored position is not ``expected``; nothing is written.
        """
        with self.db.transaction(write=True) as cursor:
            self._commit(cursor, Commit(projection, expected, new_position, changes))

    def commit_together(self, commits: Sequence[Commit]) -> None:
        """``commit`` for several projections in one transaction: all move, or none does.

        Why: a follower's round moves every read model over the same few events; one
        transaction (one BEGIN, one COMMIT, one WAL flush) instead of one per model.

        Raises:
            PositionMovedError: some stored position was not as expected; nothing is written.
        """
        if not commits:
            return
        with self.db.transaction(write=True) as cursor:
            for commit in commits:
                self._commit(cursor, commit)

    def _commit(self, cursor: Any, commit: Commit) -> None:
        expected, new_position = commit.expected, commit.new_position
        generation = expected.generation
        fresh = expected.notification_id == 0 and expected.events == 0
        cursor.execute(
            self.db.q(
                "UPDATE ppl_projection_positions SET notification_id = ?, events = ? "
                "WHERE projection = ? AND generation = ? AND notification_id = ?"
            ),
            (new_position.notification_id, new_position.events, commit.projection, generation,
             expected.notification_id),
        )  # fmt: skip
        if cursor.rowcount != 1:
            raise PositionMovedError(f"{commit.projection} moved from {expected}")
        for table, upserts, deletes in commit.changes:
            name = physical_name(commit.projection, table.name, generation)
            if deletes and not fresh:  # a fresh generation's tables hold nothing to delete
                where = " AND ".join(f"{column} = ?" for column in table.key)
                cursor.executemany(
                    self.db.q(f"DELETE FROM {name} WHERE {where}"),  # noqa: S608 (declared names)
                    deletes,
                )
            if upserts:
                self._write(cursor, name, table, upserts, fresh=fresh)

    def _write(self, cursor: Any, name: str, table: Table, rows: list[Row], *, fresh: bool) -> None:
        """Upsert ``rows`` into the table ``name`` (empty if ``fresh``)."""
        encode = _encoder(table)
        if not self.db.is_postgres or not (fresh or len(rows) >= COPY_MIN_ROWS):
            # One multi-row statement per slice, not one statement per row: a follower's round
            # writes a few rows per table (docs/benchmarks.md "API").
            columns = ", ".join(table.column_names)
            self.db.execute_rows(
                cursor,
                f"INSERT INTO {name} ({columns})",
                [encode(row) for row in rows],
                f"ON CONFLICT ({', '.join(table.key)}) {_conflict_action(table)}",
            )
            return
        columns = ", ".join(table.column_names)
        target = name if fresh else f"{name}_upsert"
        if not fresh:
            cursor.execute(f"CREATE TEMPORARY TABLE {target} (LIKE {name}) ON COMMIT DROP")
        with cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(encode(row))
        if not fresh:
            cursor.execute(
                f"INSERT INTO {name} ({columns}) SELECT {columns} FROM {target} "  # noqa: S608 (declared names)
                f"ON CONFLICT ({', '.join(table.key)}) {_conflict_action(table)}"
            )
            cursor.execute(f"DROP TABLE {target}")

    def load(self, projection: str, generation: int, table: Table, key: Key) -> Row | None:
        name = physical_name(projection, table.name, generation)
        where = " AND ".join(f"{column} = ?" for column in table.key)
        with self.db.autocommit() as cursor:
            cursor.execute(
                self.db.q(
                    f"SELECT {', '.join(table.column_names)} FROM {name} WHERE {where}"  # noqa: S608
                ),
                key,
            )
            found = cursor.fetchone()
        return None if found is None else table.from_db(tuple(found))

    def select(
        self,
        projection: str,
        table: Table,
        where: str = "",
        parameters: Sequence[Any] = (),
        *,
        order_by: str = "",
        limit: int | None = None,
        generation: int | None = None,
    ) -> list[Row]:
        """Rows of the active generation (``where``/``order_by`` use declared columns only)."""
        gen = generation if generation is not None else self.require_generation(projection)
        name = physical_name(projection, table.name, gen)
        statement = f"SELECT {', '.join(table.column_names)} FROM {name}"  # noqa: S608
        if where:
            statement += f" WHERE {where}"
        if order_by:
            statement += f" ORDER BY {order_by}"
        if limit is not None:
            statement += f" LIMIT {int(limit)}"
        with self.db.autocommit() as cursor:
            cursor.execute(self.db.q(statement), tuple(parameters))
            return [table.from_db(tuple(row)) for row in cursor.fetchall()]

    # --- digest -------------------------------------------------------------------------------
    def dump(self, projection: str, tables: Sequence[Table], generation: int) -> Iterator[bytes]:
        """The canonical dump: per table (by name), a header line then rows sorted by key.

        Rows are sorted here, not by the database, whose text collation differs between
        SQLite and PostgreSQL. Each line is a compact JSON array; JSON columns appear as the
        canonical text they are stored as, sums of amounts as their decimal digits (text: the
        same from SQLite's TEXT and PostgreSQL's NUMERIC, and any size).
        """
        for table in sorted(tables, key=lambda t: t.name):
            yield orjson.dumps(["table", table.name, list(table.column_names)]) + b"\n"
            name = physical_name(projection, table.name, generation)
            with self.db.autocommit() as cursor:
                cursor.execute(f"SELECT {', '.join(table.column_names)} FROM {name}")  # noqa: S608
                rows = [tuple(row) for row in cursor.fetchall()]
            sums = {i for i, column in enumerate(table.columns) if column.kind is Kind.SUM}
            if sums:
                rows = [
                    tuple(
                        encode_value(Kind.SUM, decode_value(Kind.SUM, v)) if i in sums else v
                        for i, v in enumerate(row)
                    )
                    for row in rows
                ]
            positions = [table.column_names.index(column) for column in table.key]
            rows.sort(key=lambda row: tuple(_sort_key(row[p]) for p in positions))
            for row in rows:
                yield orjson.dumps(list(row)) + b"\n"

    def digest(self, projection: str, tables: Sequence[Table], generation: int) -> str:
        """SHA-256 (hex) of ``dump``."""
        hasher = hashlib.sha256()
        for line in self.dump(projection, tables, generation):
            hasher.update(line)
        return hasher.hexdigest()


def _conflict_action(table: Table) -> str:
    updates = [c for c in table.column_names if c not in table.key]
    if not updates:  # a key-only table has nothing to update
        return "DO NOTHING"
    return "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updates)


@lru_cache(maxsize=256)
def _encoder(table: Table) -> Callable[[Row], tuple[Any, ...]]:
    """``table.to_db`` as one function per table: the values in column order, JSON as text."""
    get = itemgetter(*table.column_names)
    single = len(table.columns) == 1
    encoded = [
        (i, column.kind)
        for i, column in enumerate(table.columns)
        if column.kind in (Kind.JSON, Kind.SUM)
    ]

    def encode(row: Row) -> tuple[Any, ...]:
        values = (get(row),) if single else get(row)
        if not encoded:
            return values
        found = list(values)
        for index, kind in encoded:
            found[index] = encode_value(kind, found[index])
        return tuple(found)

    return encode


def _sort_key(value: Any) -> tuple[int, Any]:
    # Keys are text or integers (never null); text compares by code point on both stores.
    return (0, value) if isinstance(value, int) else (1, str(value))
