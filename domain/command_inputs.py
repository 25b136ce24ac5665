"""What every command checks of its inputs before acting: the version the caller read, who
acts on a filing, a reason, digests, patent declarations, dates, a publication's cells.

Why a module of its own: the filing commands (domain/application.py) and the certification's
(domain/certification_commands.py) had a copy each of these checks (issue #16); the error each
raises is the same wherever the input comes in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from domain.actor import Actor
from domain.clock import now
from domain.declarations import EconomicFigures, PatentDeclaration
from domain.errors import (
    DataYearInFutureError,
    DateInvalidError,
    DuplicatePatentError,
    NoMarketReturnsError,
    NoValidPatentError,
    PatentCountInvalidError,
    ProductNotOwnedError,
    PublicationInvalidError,
    ReasonRequiredError,
    VersionMismatchError,
)
from domain.product import Product
from domain.ranges import DECLARED_PATENTS
from domain.values import (
    BEIJING,
    AnnexRule,
    Sha256Digest,
    clean_text,
    data_year_misfit,
    sales_misfit,
)


def expect_version(aggregate: Any, expected_version: int | None) -> None:
    """Refuse to act on a record that moved on since the caller read ``expected_version``.

    The check is on the version just read; a change saved between this read and our save is
    caught by the store's optimistic concurrency (``ConcurrentUpdateError``).
    """
    if expected_version is not None and aggregate.version != expected_version:
        raise VersionMismatchError(
            f"{type(aggregate).__name__.lower()} {aggregate.id} is at version "
            f"{aggregate.version}, not {expected_version}: re-read it and decide again",
            id=str(aggregate.id),
            current_version=aggregate.version,
            expected_version=expected_version,
        )


def check_owns(actor: Actor, product: Product) -> None:
    """Refuse a filer acting on a filing it did not file (revising, withdrawing, opting in).

    Raises:
        ProductNotOwnedError: ``actor``'s scope is not the USCC of the filing's filer.
    """
    if actor.scope != product.filer_uscc:
        raise ProductNotOwnedError(
            f"product {product.id} belongs to another filer", product_id=str(product.id)
        )


_CELL_KEYS = frozenset(
    {"level", "region_code", "data_year", "filers", "filings", "sales_fen", "exports_fen",
     "suppressed"}
)  # fmt: skip


_COUNT_KEYS = frozenset(
    {"level", "region_code", "filers", "products", "pending", "rejected", "withdrawn"}
)


def published_count(count: Mapping[str, Any]) -> dict[str, Any]:
    """A region's counts as a publication records them (public: never suppressed)."""
    if set(count) != _COUNT_KEYS:
        raise PublicationInvalidError(f"counts keys {sorted(count)}: want {sorted(_COUNT_KEYS)}")
    numbers = [count[k] for k in ("filers", "products", "pending", "rejected", "withdrawn")]
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in numbers):
        raise PublicationInvalidError(f"counts of {count['region_code']!r}: want integers")
    return dict(count)


def published_cell(cell: Mapping[str, Any]) -> dict[str, Any]:
    """A cell as a publication records it: known keys, counts, digit strings or null."""
    if set(cell) != _CELL_KEYS:
        raise PublicationInvalidError(f"a cell has keys {sorted(cell)}: want {sorted(_CELL_KEYS)}")
    counts = (cell["data_year"], cell["filers"], cell["filings"])
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in counts):
        raise PublicationInvalidError(f"cell {cell['region_code']!r}: counts must be integers")
    money = (cell["sales_fen"], cell["exports_fen"])
    shown = all(isinstance(m, str) and m.isascii() and m.isdigit() for m in money)
    withheld = all(m is None for m in money) and cell["suppressed"] in ("primary", "secondary")
    if not (shown and cell["suppressed"] is None) and not withheld:
        raise PublicationInvalidError(
            f"cell {cell['region_code']!r}: money is digit strings, or null when suppressed"
        )
    if cell["level"] not in ("district", "city", "province"):
        raise PublicationInvalidError(f"cell level {cell['level']!r}")
    code = cell["region_code"]
    if not (isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()):
        raise PublicationInvalidError(f"cell region_code {code!r}: want 6 digits")
    return dict(cell)


def patent_records(patents: Sequence[PatentDeclaration]) -> list[dict[str, Any]]:
    if not patents:
        raise NoValidPatentError("a product must declare at least one valid patent")
    # Bounded so that an opt-in's filer_valid_patents (at least these) always has a range.
    DECLARED_PATENTS.check(len(patents), field="patents", error=PatentCountInvalidError)
    numbers = [patent.number.value for patent in patents]
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        raise DuplicatePatentError(f"patents declared twice: {', '.join(repeated)}")
    return [patent.as_record() for patent in patents]


def digests(digests: Sequence[str]) -> list[str]:
    return [Sha256Digest.parse(digest).hex for digest in digests]


REASON_MAX_LENGTH = 2000
"""The longest reason (a rejection's, a withdrawal's, a "distinct product" decision's)."""


def reason_text(reason: str) -> str:
    if not reason.strip():
        raise ReasonRequiredError("a reason is required", field="reason")
    return clean_text(reason, field="reason", max_length=REASON_MAX_LENGTH)


def iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except (TypeError, ValueError):
        raise DateInvalidError(f"date {text!r}: want YYYY-MM-DD") from None


def annex_figures(annex: AnnexRule, data_year: int, figures: EconomicFigures) -> None:
    """Annex rule v1 on a filing's or revision's data: sales above zero in a data year that
    is not after the current one (audit.offline.annex_rule; the replay checks the same)."""
    if annex is AnnexRule.NONE:
        return
    misfit = sales_misfit(figures.sales.fen)
    if misfit is not None:
        raise NoMarketReturnsError(misfit, field="figures.sales_fen", minimum=1)
    misfit = data_year_misfit(data_year, now())
    if misfit is not None:
        raise DataYearInFutureError(
            misfit, field="data_year", maximum=now().astimezone(BEIJING).year
        )
