"""Reading the read models: registries with filters and cursors, statistics, audit trails.

Why here and not in the API: the command line, the API and as-of queries (which run these same
functions on an in-memory replay) all ask the same questions; the answers come from one place.
Every function reads the active generation of its projection.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.certification import CertificationStatus, certification_id_for
from domain.errors import InvalidValueError
from domain.product import ProductStatus
from domain.values import (
    SHANGHAI_CITY_CODE,
    SHANGHAI_DISTRICTS,
    IndustryCategory,
    PatentNumber,
    RegionCode,
)
from projections import (
    audit_trail,
    certification_register,
    conversion_stats,
    filer_registry,
    product_keys,
    product_registry,
    published_stats,
)
from projections import regional_stats as regional
from projections.schema import Row, Table
from projections.store import ProjectionStore

LeafLookup = Callable[[UUID, int], int | None]
"""(aggregate id, version) → leaf index in the Merkle log, or None if not integrated yet."""

MAX_PAGE = 500
_LIKE_ESCAPE = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})
"""A text made literal in a ``LIKE ? ESCAPE '\\'`` pattern: its ``\\``, ``%`` and ``_``."""
_DIGITS = re.compile(r"[0-9]{1,6}")


class QueryError(ValueError):
    """A query parameter that cannot be answered (bad prefix, cursor, page size...)."""


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Row]
    next_cursor: str | None  # pass as ``after`` for the next page; None on the last page


def _page_size(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise QueryError(f"limit {limit}: want 1..{MAX_PAGE}")
    return limit


def region_prefix(prefix: str) -> str:
    """A region code prefix: 1 to 6 ASCII digits (e.g. 31 = Shanghai, 3101, 310115)."""
    if not _DIGITS.fullmatch(prefix):
        raise QueryError(f"region prefix {prefix!r}: want 1 to 6 digits, e.g. 31 or 310115")
    return prefix


def _region_like(prefix: str | None) -> str:
    """The ``region_code LIKE ?`` pattern of the codes under ``prefix`` (all when empty):
    every region filter of the read models is a code prefix, checked by ``region_prefix``."""
    return (region_prefix(prefix) if prefix else "") + "%"


def _in_region(region: str | None) -> tuple[str, str | None]:
    """The ``_filtered_page`` filter on a region code prefix; no filter without one."""
    return ("region_code LIKE ?", _region_like(region) if region else None)


def _one(
    store: ProjectionStore, projection: str, table: Table, column: str, value: object
) -> Row | None:
    """The row of ``table`` whose ``column`` (a key) is ``value``, or None: the read models'
    look-ups of one record by its id, year or version."""
    found = store.select(projection, table, f"{column} = ?", (value,))
    return found[0] if found else None


def _one_or_latest(
    store: ProjectionStore, projection: str, table: Table, column: str, value: object | None
) -> Row | None:
    """``_one``, or with ``value`` None the row of the highest ``column`` (the latest version
    or period), or None when the table is empty."""
    if value is not None:
        return _one(store, projection, table, column, value)
    found = store.select(projection, table, order_by=f"{column} DESC", limit=1)
    return found[0] if found else None


def _filtered_page(
    store: ProjectionStore,
    projection: str,
    table: Any,
    key: str,
    filters: Sequence[tuple[str, Any]],
    after: str | None,
    limit: int,
) -> Page:
    """A page of ``table`` in ``key`` order after ``after``; a filter whose value is None is
    left out, and a clause with several ``?`` takes a tuple of values."""
    size = _page_size(limit)
    clauses: list[str] = []
    parameters: list[Any] = []
    for clause, value in filters:
        if value is not None:
            clauses.append(clause)
            parameters.extend(value if isinstance(value, tuple) else (value,))
    if after is not None:
        clauses.append(f"{key} > ?")
        parameters.append(after)
    rows = store.select(
        projection, table, " AND ".join(clauses), parameters, order_by=key, limit=size + 1
    )
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, rows[-1][key] if more else None)


# --- product registry ---------------------------------------------------------------------------
def product(store: ProjectionStore, product_id: UUID) -> Row | None:
    return _one(
        store, product_registry.ProductRegistry.name, product_registry.PRODUCTS, "product_id",
        str(product_id),
    )  # fmt: skip


def products(
    store: ProjectionStore,
    *,
    status: str | None = None,
    filer_uscc: str | None = None,
    region: str | None = None,
    category: str | None = None,
    data_year: int | None = None,
    listed_status: str | None = None,
    q: str | None = None,
    patent: str | None = None,
    filing_number: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> Page:
    """Filings in product id order, filtered; ``region`` is a code prefix; ``listed_status``
    (``approved``) the filings the public registry lists (approved, or approved before and
    updated under review).

    ``q`` is the registry's text search (``search_filter``); ``patent`` a patent number in
    its canonical form (``PatentNumber``), the filings declaring it now; ``filing_number`` a
    filing number, the one filing holding it. Each only narrows the other filters."""
    patent_ids = None if patent is None else _declaring(store, patent)
    return _filtered_page(
        store,
        product_registry.ProductRegistry.name,
        product_registry.PRODUCTS,
        "product_id",
        [
            ("status = ?", status),
            ("listed_status = ?", listed_status),
            ("filer_uscc = ?", filer_uscc),
            _in_region(region),
            ("category = ?", category),
            ("data_year = ?", data_year),
            ("filing_number = ?", filing_number),
            _among(patent_ids),
            search_filter(store, q),
        ],
        after,
        limit,
    )


SEARCH_MAX = 100
"""The longest ``q`` (code points, after trimming): a name or model is at most 200, but a
search for more than a line of text is a paste, not a question."""


def search_text(q: str) -> str:
    """``q`` trimmed, 1 to ``SEARCH_MAX`` code points.

    Raises:
        QueryError: empty after trimming, or longer.
    """
    text = q.strip()
    if not 1 <= len(text) <= SEARCH_MAX:
        raise QueryError(f"q has {len(text)} characters after trimming: want 1 to {SEARCH_MAX}")
    return text


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its ``%``, ``_`` and ``\\`` literal (the
    clause says ``ESCAPE '\\'``): a search for ``10%`` finds "10%", not "100"."""
    return f"%{text.translate(_LIKE_ESCAPE)}%"


def search_filter(store: ProjectionStore, q: str | None) -> tuple[str, Any]:
    """The ``_filtered_page`` filter of the registry's text search ``q``; none without one.

    A filing matches when its name, model or filer name contains ``q`` (case-folded on both
    sides: product_registry.fold), or ``q`` is its filer's USCC, one of the patent numbers it
    declares now (spelt any way ``PatentNumber.parse`` reads: ``ZL``, spaces, the dot), or
    its filing number.

    Raises:
        QueryError: ``q`` is empty after trimming or too long (``search_text``).
    """
    if q is None:
        return ("", None)
    text = search_text(q)
    pattern = like_pattern(product_registry.fold(text))
    like = "LIKE ? ESCAPE '\\'"
    clauses = [f"name_folded {like}", f"model_folded {like}", f"filer_name_folded {like}",
               "filer_uscc = ?", "filing_number = ?"]  # fmt: skip
    values: list[Any] = [pattern, pattern, pattern, text.upper(), text]
    try:
        number = PatentNumber.parse(text).value
    except InvalidValueError:
        number = None
    if number is not None:
        ids = _declaring(store, number)
        if ids:
            clauses.append(f"product_id IN ({', '.join('?' for _ in ids)})")
            values.extend(ids)
    return (f"({' OR '.join(clauses)})", tuple(values))


def _declaring(store: ProjectionStore, patent_number: str) -> tuple[str, ...]:
    """The ids of the filings that declare ``patent_number`` now (the ``patents`` table)."""
    return tuple(row["product_id"] for row in products_declaring(store, [patent_number]))


def _among(product_ids: tuple[str, ...] | None) -> tuple[str, Any]:
    """The filter "one of ``product_ids``" (none: no filter; empty: nothing matches)."""
    if product_ids is None:
        return ("", None)
    if not product_ids:
        return ("1 = 0", ())
    return (f"product_id IN ({', '.join('?' for _ in product_ids)})", product_ids)


def products_by_id(store: ProjectionStore, product_ids: Sequence[str]) -> dict[str, Row]:
    """The registry rows of some filings, by id (one read; unknown ids are left out)."""
    if not product_ids:
        return {}
    ids = sorted(set(product_ids))
    rows = store.select(
        product_registry.ProductRegistry.name, product_registry.PRODUCTS,
        f"product_id IN ({', '.join('?' for _ in ids)})", ids,
    )  # fmt: skip
    return {row["product_id"]: row for row in rows}


def product_by_filing_number(store: ProjectionStore, filing_number: str) -> Row | None:
    """The filing that holds ``filing_number`` (备案号), or None: a number is unique and never
    reused (docs/filing-numbers.md), so there is at most one."""
    return _one(
        store, product_registry.ProductRegistry.name, product_registry.PRODUCTS,
        "filing_number", filing_number,
    )  # fmt: skip


def products_declaring(store: ProjectionStore, patent_numbers: Sequence[str]) -> list[Row]:
    """(patent number, product id, filer USCC, version) of every filing declaring them."""
    if not patent_numbers:
        return []
    marks = ", ".join("?" for _ in patent_numbers)
    return store.select(
        product_registry.ProductRegistry.name, product_registry.PATENTS,
        f"patent_number IN ({marks})", list(patent_numbers),
        order_by="patent_number, product_id",
    )  # fmt: skip


def canonical_keys(store: ProjectionStore, key_rule: int) -> list[tuple[str, str]]:
    """(product id, key) of every filing that has a key under ``key_rule`` (product_keys)."""
    columns = product_keys.PRODUCT_KEYS.only("product_id", "key_rule", "canonical_key")
    rows = store.select(product_keys.ProductKeys.name, columns, "key_rule = ?", [key_rule])
    return [(row["product_id"], row["canonical_key"]) for row in rows]


def canonical_key_of(store: ProjectionStore, product_id: str, key_rule: int) -> str | None:
    """One filing's key under ``key_rule``, or ``None`` when that rule gives it none."""
    rows = store.select(
        product_keys.ProductKeys.name, product_keys.PRODUCT_KEYS,
        "product_id = ? AND key_rule = ?", [product_id, key_rule],
    )  # fmt: skip
    return str(rows[0]["canonical_key"]) if rows else None


def same_key_groups(store: ProjectionStore, key_rule: int) -> list[dict[str, Any]]:
    """Every key that filings of two or more v1 keys share under ``key_rule``, with its
    filings in the order filed: the groups a reviewer decides (docs/never-filed-twice.md).

    Filings of one v1 key (a filer's re-filing of its withdrawn product) are not listed: they
    are one product under every rule, as the ledger allowed."""
    name = product_keys.ProductKeys.name
    groups = store.select(
        name, product_keys.KEY_GROUPS, "key_rule = ? AND filings > 1", [key_rule],
        order_by="canonical_key",
    )  # fmt: skip
    keys = [group["canonical_key"] for group in groups]
    members: dict[str, list[Row]] = {key: [] for key in keys}
    for start in range(0, len(keys), MAX_PAGE):
        chunk = keys[start : start + MAX_PAGE]
        marks = ", ".join("?" for _ in chunk)
        for row in store.select(
            name, product_keys.PRODUCT_KEYS, f"key_rule = ? AND canonical_key IN ({marks})",
            [key_rule, *chunk], order_by="filed_seq",
        ):  # fmt: skip
            members[row["canonical_key"]].append(row)
    return [
        {"key_rule": key_rule, "canonical_key": key, "filings": members[key]}
        for key in keys
        if len({row["v1_key"] for row in members[key]}) > 1  # else one product under v1 too
    ]


# --- filer registry -----------------------------------------------------------------------------
def filer(store: ProjectionStore, filer_id: UUID) -> Row | None:
    return _one(
        store, filer_registry.FilerRegistry.name, filer_registry.FILERS, "filer_id", str(filer_id)
    )


def filers(
    store: ProjectionStore,
    *,
    status: str | None = None,
    region: str | None = None,
    uscc: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> Page:
    return _filtered_page(
        store,
        filer_registry.FilerRegistry.name,
        filer_registry.FILERS,
        "filer_id",
        [
            ("status = ?", status),
            _in_region(region),
            ("uscc = ?", uscc),
        ],
        after,
        limit,
    )


# --- regional statistics ------------------------------------------------------------------------
class Level(StrEnum):
    DISTRICT = "district"
    CITY = "city"
    PROVINCE = "province"


@dataclass
class RegionStatistics:
    region_code: str
    name: str | None
    filers: int = 0
    products: int = 0
    pending: int = 0
    rejected: int = 0
    withdrawn: int = 0
    # the figures: of one data year when one was asked for, else each filing's latest
    # approved figures, with the data years they come from (never a mix shown as one year)
    data_year: int | None = None  # the year asked for, or the only year of the figures
    data_years: list[int] = field(default_factory=list)
    figures_products: int = 0  # filings whose figures are summed
    sales_fen: int = 0
    exports_fen: int = 0

    def as_row(self) -> dict[str, Any]:
        """The fields by name, in declaration order (``data_years`` a copy)."""
        return asdict(self)


def _rolled_up(code: str, level: Level) -> str:
    if level is Level.PROVINCE:
        return f"{code[:2]}0000"
    if level is Level.CITY:
        return f"{code[:4]}00"
    return code


def _region_name(code: str) -> str | None:
    """Chinese name where known: a Shanghai district, or 上海市 for the city and province."""
    if code in ("310000", "310100"):
        return RegionCode(SHANGHAI_CITY_CODE).name
    return SHANGHAI_DISTRICTS.get(code)


def region_statistics(
    store: ProjectionStore,
    *,
    prefix: str = "",
    level: Level = Level.DISTRICT,
    data_year: int | None = None,
) -> list[RegionStatistics]:
    """Counts and figures per region under ``prefix``, rolled up to ``level``.

    Figures: with ``data_year``, the figures approved for that year (a filing revised to a
    newer year keeps its figures of this one); without, each filing's latest approved figures,
    with ``data_years`` saying which years they are (``data_year`` only when there is one).
    """
    like = _region_like(prefix)
    name = regional.RegionalStatistics.name
    counts = store.select(name, regional.REGIONS, "region_code LIKE ?", (like,))
    if data_year is None:
        figures = store.select(name, regional.LATEST_FIGURES, "region_code LIKE ?", (like,))
    else:
        figures = store.select(
            name, regional.FIGURES, "region_code LIKE ? AND data_year = ?", (like, data_year)
        )
    regions: dict[str, RegionStatistics] = {}
    for row in counts:
        code = _rolled_up(row["region_code"], level)
        region = regions.setdefault(code, RegionStatistics(code, _region_name(code)))
        for column in ("filers", "products", "pending", "rejected", "withdrawn"):
            setattr(region, column, getattr(region, column) + row[column])
    for row in figures:
        code = _rolled_up(row["region_code"], level)
        region = regions.setdefault(code, RegionStatistics(code, _region_name(code)))
        region.figures_products += row["products"]
        region.sales_fen += row["sales_fen"]
        region.exports_fen += row["exports_fen"]
        if row["data_year"] not in region.data_years:
            region.data_years = sorted([*region.data_years, row["data_year"]])
    for region in regions.values():
        if data_year is not None:
            region.data_year, region.data_years = data_year, [data_year]
        elif len(region.data_years) == 1:
            region.data_year = region.data_years[0]
    return [regions[code] for code in sorted(regions)]


# --- conversion statistics ----------------------------------------------------------------------
class ConversionGrouping(StrEnum):
    CATEGORY = "category"
    INSTITUTION = "institution"
    REGION = "region"


def conversion_statistics(
    store: ProjectionStore,
    *,
    by: ConversionGrouping = ConversionGrouping.CATEGORY,
    institution_uscc: str | None = None,
    region: str | None = None,
) -> list[Row]:
    name = conversion_stats.ConversionStatistics.name
    if by is ConversionGrouping.CATEGORY:
        return store.select(name, conversion_stats.BY_CATEGORY, order_by="category")
    if by is ConversionGrouping.INSTITUTION:
        where, parameters = (
            ("institution_uscc = ?", [institution_uscc]) if institution_uscc else ("", [])
        )
        return store.select(
            name, conversion_stats.BY_INSTITUTION, where, parameters,
            order_by="institution_uscc, category",
        )  # fmt: skip
    like = _region_like(region)
    return store.select(
        name, conversion_stats.BY_REGION, "region_code LIKE ?", (like,),
        order_by="region_code, category",
    )  # fmt: skip


# --- audit trail --------------------------------------------------------------------------------
def audit_trail_of(
    store: ProjectionStore, product_id: UUID, leaf_index: LeafLookup | None = None
) -> list[Row]:
    """The product's events in log order, each with its leaf index (None: not integrated)."""
    rows = store.select(
        audit_trail.AuditTrail.name, audit_trail.EVENTS, "product_id = ?", (str(product_id),),
        order_by="notification_id",
    )  # fmt: skip
    for row in rows:
        row["leaf_index"] = (
            leaf_index(UUID(row["originator_id"]), row["version"]) if leaf_index else None
        )
    return rows


# --- certification register ---------------------------------------------------------------------
_REGISTER = certification_register.CertificationRegister.name


def certification_rounds(store: ProjectionStore) -> list[Row]:
    """Every round, by year."""
    return store.select(_REGISTER, certification_register.ROUNDS, order_by="year")


def certification_round(store: ProjectionStore, year: int) -> Row | None:
    return _one(store, _REGISTER, certification_register.ROUNDS, "year", year)


def benchmark_table(store: ProjectionStore, version: int | None = None) -> Row | None:
    """A version of the benchmark table (default: the latest), or None."""
    return _one_or_latest(store, _REGISTER, certification_register.BENCHMARKS, "version", version)


def certification_decision(store: ProjectionStore, year: int, product_id: UUID) -> Row | None:
    """Round ``year``'s decision on a product (with its name, model and filer name)."""
    found = store.select(
        _REGISTER, certification_register.DECISIONS, "certification_id = ?",
        (str(certification_id_for(year, product_id)),),
    )  # fmt: skip
    return _with_products(store, found)[0] if found else None


def _decisions(
    store: ProjectionStore,
    year: int,
    status: str,
    own: tuple[str, Any],
    *,
    category: str | None,
    region: str | None,
    filer_uscc: str | None,
    after: str | None,
    limit: int,
) -> Page:
    """A page of round ``year``'s decisions of ``status``: ``own`` is the list's own filter
    (published, a failed rule), then the filters every list of decisions takes."""
    page = _filtered_page(
        store, _REGISTER, certification_register.DECISIONS, "product_id",
        [("round_year = ?", year), ("status = ?", status), own, ("category = ?", category),
         _in_region(region), ("filer_uscc = ?", filer_uscc)],
        after, limit,
    )  # fmt: skip
    return Page(_with_products(store, page.rows), page.next_cursor)


def certified_products(
    store: ProjectionStore,
    year: int,
    *,
    published_only: bool = True,
    category: str | None = None,
    region: str | None = None,
    filer_uscc: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> Page:
    """Products certified in round ``year`` (not revoked), in product id order, filtered.

    ``published_only``: only those on the round's published list (公示); before publication
    that is none. ``region`` is a district code prefix (the filer's, at the decision).
    """
    return _decisions(
        store, year, CertificationStatus.CERTIFIED.value,
        ("published = ?", 1 if published_only else None),
        category=category, region=region, filer_uscc=filer_uscc, after=after, limit=limit,
    )  # fmt: skip


def ineligible_products(
    store: ProjectionStore,
    year: int,
    *,
    reason: str | None = None,
    category: str | None = None,
    region: str | None = None,
    filer_uscc: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> Page:
    """Products round ``year`` found not eligible, with their reasons; ``reason`` = those
    that failed that rule (among others)."""
    wanted = None
    if reason is not None:
        wanted = '%"reason":"' + reason.translate(_LIKE_ESCAPE) + '"%'
    return _decisions(
        store, year, CertificationStatus.NOT_ELIGIBLE.value,
        ("reasons LIKE ? ESCAPE '\\'", wanted),
        category=category, region=region, filer_uscc=filer_uscc, after=after, limit=limit,
    )  # fmt: skip


def _with_products(store: ProjectionStore, rows: list[Row]) -> list[Row]:
    """``rows`` with the name, model, filer name and finer code of their product (registry)."""
    if not rows:
        return rows
    ids = sorted({row["product_id"] for row in rows})
    columns = product_registry.PRODUCTS.only(
        "product_id", "name", "model", "filer_name", "finer_code"
    )
    marks = ", ".join("?" for _ in ids)
    selected = store.select(
        product_registry.ProductRegistry.name, columns, f"product_id IN ({marks})", ids
    )
    found = {row["product_id"]: row for row in selected}
    empty = dict.fromkeys(("name", "model", "filer_name", "finer_code"))
    return [
        {**row, **{k: v for k, v in found.get(row["product_id"], empty).items() if k in empty}}
        for row in rows
    ]


def objection(store: ProjectionStore, objection_id: UUID) -> Row | None:
    return _one(
        store, _REGISTER, certification_register.OBJECTIONS, "objection_id", str(objection_id)
    )


def objections(
    store: ProjectionStore,
    year: int,
    *,
    status: str | None = None,
    product_id: UUID | None = None,
    region: str | None = None,
    party: tuple[str, str] | None = None,
    after: str | None = None,
    limit: int = 50,
) -> Page:
    """Objections of round ``year`` in objection id order, filtered.

    ``party`` = (role, USCC): only objections against that filer's products or filed by it
    in that role; ``region``: against products of that district prefix.
    """
    party_clause = None
    if party is not None:
        role, uscc = party
        party_clause = (uscc, role, uscc)
    return _filtered_page(
        store,
        _REGISTER,
        certification_register.OBJECTIONS,
        "objection_id",
        [
            ("round_year = ?", year),
            ("status = ?", status),
            ("product_id = ?", None if product_id is None else str(product_id)),
            _in_region(region),
            ("(filer_uscc = ? OR (objector_role = ? AND objector_scope = ?))", party_clause),
        ],
        after,
        limit,
    )


# --- certification reports (``ppl certify decisions``, ``reminders``, ``report``) ---------------
def certification_decisions(
    store: ProjectionStore, year: int, *, status: str | None = None
) -> list[Row]:
    """Every decision of round ``year`` (``status``: only those), in the order they were made:
    within a run, the order the products were filed."""
    where: tuple[str, tuple[Any, ...]] = ("round_year = ?", (year,))
    if status is not None:
        where = ("round_year = ? AND status = ?", (year, status))
    return store.select(
        _REGISTER, certification_register.DECISIONS, *where, order_by="notification_id"
    )


@dataclass(frozen=True, slots=True)
class UpdateReminder:
    """A filing that must be revised to the round's data year (年度更新)."""

    filer_uscc: str
    filer_name: str
    product_id: UUID
    product_name: str
    model: str
    status: str
    data_year: int
    wanted_data_year: int
    update_window_end: str


def certification_reminders(store: ProjectionStore, year: int) -> list[UpdateReminder] | None:
    """Filings not withdrawn whose data are older than round ``year``'s data year, by filer,
    product name and model; the filer's name as it is now. None: there is no such round."""
    round_ = certification_round(store, year)
    if round_ is None:
        return None
    registry = product_registry.ProductRegistry.name
    columns = product_registry.PRODUCTS.only(
        "product_id", "filer_id", "filer_uscc", "name", "model", "status", "data_year"
    )
    outdated = store.select(
        registry, columns, "status <> ? AND data_year < ?",
        (ProductStatus.WITHDRAWN.value, round_["data_year"]),
    )  # fmt: skip
    names = {
        row["filer_id"]: row["name"] for row in store.select(registry, product_registry.FILERS)
    }
    reminders = [
        UpdateReminder(
            filer_uscc=row["filer_uscc"],
            filer_name=names.get(row["filer_id"]) or "",
            product_id=UUID(row["product_id"]),
            product_name=row["name"],
            model=row["model"],
            status=row["status"],
            data_year=row["data_year"],
            wanted_data_year=round_["data_year"],
            update_window_end=round_["update_window_end"],
        )
        for row in outdated
    ]
    return sorted(reminders, key=lambda r: (r.filer_uscc, r.product_name, r.model))


@dataclass(frozen=True, slots=True)
class Tally:
    """Decisions of a round in one category or district; ``certified`` excludes revoked."""

    key: str
    name: str
    certified: int
    not_certified: int
    revoked: int
    not_eligible: int

    def as_row(self) -> dict[str, Any]:
        """The fields by name, in declaration order (the report's columns)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class CertificationReport:
    year: int
    by_category: list[Tally]
    by_district: list[Tally]
    total: Tally


def certification_report(store: ProjectionStore, year: int) -> CertificationReport | None:
    """Round ``year``'s decisions counted per industry category (every one, in code order) and
    per district (the filer's at the decision, in code order). None: there is no such round."""
    if certification_round(store, year) is None:
        return None
    columns = certification_register.DECISIONS.only(
        "certification_id", "category", "region_code", "status"
    )
    decisions = store.select(_REGISTER, columns, "round_year = ?", (year,))
    districts = sorted({row["region_code"] for row in decisions})
    return CertificationReport(
        year=year,
        by_category=[
            _tally(c.value, c.label_zh, [d for d in decisions if d["category"] == c.value])
            for c in IndustryCategory
        ],
        by_district=[
            _tally(code, _district_name(code), [d for d in decisions if d["region_code"] == code])
            for code in districts
        ],
        total=_tally("total", "合计", decisions),
    )


def _tally(key: str, name: str, decisions: list[Row]) -> Tally:
    counts = Counter(row["status"] for row in decisions)
    return Tally(
        key=key,
        name=name,
        certified=counts[CertificationStatus.CERTIFIED.value],
        not_certified=counts[CertificationStatus.NOT_CERTIFIED.value],
        revoked=counts[CertificationStatus.REVOKED.value],
        not_eligible=counts[CertificationStatus.NOT_ELIGIBLE.value],
    )


def _district_name(region_code: str) -> str:
    try:
        return RegionCode(region_code).name or ""
    except InvalidValueError:  # recorded codes were valid when recorded; names may change
        return ""


# --- published statistics ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Publication:
    period: str
    tree_size: int
    rules: dict[str, int]
    published_at: str


def publication(store: ProjectionStore, period: str | None) -> Publication | None:
    """The publication of ``period``, or the latest one (None: nothing published yet)."""
    row = _one_or_latest(
        store, published_stats.PublishedStatistics.name, published_stats.PUBLICATIONS, "period",
        period,
    )  # fmt: skip
    return None if row is None else _publication(row)


def published_region_statistics(
    store: ProjectionStore,
    period: str,
    *,
    prefix: str = "",
    level: Level = Level.DISTRICT,
    data_year: int | None = None,
) -> tuple[int | None, list[dict[str, Any]]]:
    """A publication's rows under ``prefix`` at ``level``, for ``data_year`` (default: the
    latest data year it has figures of): (the data year, rows). Money as published: digit
    strings, or None with the suppression's kind."""
    name = published_stats.PublishedStatistics.name
    like = _region_like(prefix)
    if data_year is None:
        years = store.select(
            name, published_stats.CELLS.only("period", "level", "region_code", "data_year"),
            "period = ?", (period,), order_by="data_year DESC", limit=1,
        )  # fmt: skip
        data_year = years[0]["data_year"] if years else None
    counts = store.select(
        name, published_stats.COUNTS, "period = ? AND level = ? AND region_code LIKE ?",
        (period, level.value, like),
    )  # fmt: skip
    cells = {
        row["region_code"]: row
        for row in store.select(
            name, published_stats.CELLS,
            "period = ? AND level = ? AND region_code LIKE ? AND data_year = ?",
            (period, level.value, like, data_year),
        )
    }  # fmt: skip
    rows = []
    for count in sorted(counts, key=lambda row: row["region_code"]):
        code = count["region_code"]
        cell = cells.get(code)
        rows.append({
            "region_code": code, "name": _region_name(code),
            **{k: count[k] for k in ("filers", "products", "pending", "rejected", "withdrawn")},
            "data_year": data_year, "data_years": [] if data_year is None else [data_year],
            "figures_products": 0 if cell is None else cell["filings"],
            "sales_fen": "0" if cell is None else cell["sales_fen"],
            "exports_fen": "0" if cell is None else cell["exports_fen"],
            "suppressed": None if cell is None else cell["suppressed"],
        })  # fmt: skip
    return data_year, rows


def publication_periods(store: ProjectionStore) -> list[Publication]:
    """Every monthly publication, oldest first (the web pages' monthly series)."""
    rows = store.select(
        published_stats.PublishedStatistics.name, published_stats.PUBLICATIONS,
        order_by="period",
    )  # fmt: skip
    return [_publication(row) for row in rows]


def _publication(row: Row) -> Publication:
    return Publication(row["period"], row["tree_size"], row["rules"], row["published_at"])
