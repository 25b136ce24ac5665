"""Numbering a product (filing number rule v1): the steps the approval and the migration share.

Why a module of its own: an approval numbers the product in its own save (``number``), the
migration numbers an older approval on its own (``number_product``), and both retry the one
refusal that is a lost race for the series' next number (``series_moved``); the ledger's
application module keeps only the commands (docs/filing-numbers.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from domain.actor import Actor, Role
from domain.errors import ConcurrentUpdateError, FilingNumberNotAllowedError
from domain.filing_number import NUMBERING, FilingNumberSeries
from domain.product import Product
from domain.values import (
    FilingNumberRule,
    approval_year,
    filing_number_rule_in_force,
    series_id,
)

if TYPE_CHECKING:
    from domain.application import PatentLedger

ATTEMPTS = 8
"""Saves an approval (or the migration's step) tries before its lost races for a series' next
number surface as ``concurrent_update`` (409): each lost race means another save took one."""


def number(ledger: PatentLedger, product: Product, actor: Actor) -> FilingNumberSeries | None:
    """The product's filing number, issued by its series, when filing number rule v1 is in
    force and the product has none (its first approval under the rule, or an approval of a
    product first approved before it): the series, to save with the product.

    Year and region are those of the first approval: the year of its instant in UTC+8, the
    filer's region (an approved filer's region never changes, so it is the one at that
    approval); docs/filing-numbers.md. The events record the system (``NUMBERING``), not
    ``actor``: numbering is the ledger's act, and its events are public evidence.
    """
    numbering = filing_number_rule_in_force()
    approved_at = product.first_approved_at
    if numbering is FilingNumberRule.NONE or product.filing_number is not None:
        return None
    if approved_at is None:  # not approved: the caller checked it is
        raise ValueError(f"product {product.id} is not approved: no filing number")
    year = approval_year(approved_at)
    region_code = ledger.get_filer(product.filer_id).region_code
    series = ledger._find(FilingNumberSeries, series_id(year, region_code), actor=actor)
    numberer = NUMBERING.as_record()
    if series is None:
        series = FilingNumberSeries.open(year, region_code, product.id, numberer)
        issued = series.last_number
    else:
        issued = series.issue(product.id, numberer)
    product.assign_filing_number(issued, int(numbering), numberer)
    return series


def number_product(ledger: PatentLedger, actor: Actor, product_id: UUID) -> str | None:
    """Give one approved product that lacks a filing number its number (the migration's step:
    domain.filing_number_migration); ``None`` when it has one or rule v1 is not in force.
    Retried like an approval when another save takes the series' next number.

    Raises:
        ProductWithdrawnError, FilingNumberNotAllowedError: the product may not take one.
    """
    actor.require(Role.SYSTEM)
    for attempt in range(ATTEMPTS):
        product = ledger.get_product(product_id)
        if product.filing_number is not None:
            return None
        product.check_not_withdrawn()
        if product.first_approved_at is None:
            raise FilingNumberNotAllowedError(
                f"product {product_id} was never approved: only an approved product is numbered",
                product_id=str(product_id),
            )
        series = number(ledger, product, actor)
        if series is None:
            return None
        try:
            ledger._save(product, series)
        except ConcurrentUpdateError:
            if attempt + 1 == ATTEMPTS or not series_moved(ledger, series):
                raise
            continue
        return product.filing_number
    raise ConcurrentUpdateError("unreachable: the last attempt returns or raises")


def series_moved(ledger: PatentLedger, series: FilingNumberSeries) -> bool:
    """Whether another save wrote the series' version this command meant to write: the lost
    race a numbering retries (any other refusal is not retried)."""
    # save() collected the pending event: the series is at the version it tried to write
    return bool(ledger.recorder.select_events(series.id, gt=series.version - 1, limit=1))
