"""Builders for certification tests: a certifier, clocks in 2023, benchmarks, filed products."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from domain.actor import Actor, Role
from domain.application import PatentLedger
from domain.benchmarks import BenchmarkValues
from domain.clock import using_clock
from domain.declarations import EconomicFigures, PatentDeclaration
from domain.values import IndustryCategory
from tests.domain.factories import REVIEWER, approved_filer, digest, file, patent, uscc

CERTIFIER = Actor(id="certifier-1", role=Role.CERTIFIER)
SAMPLE_BENCHMARKS = Path(__file__).resolve().parents[2] / "domain" / "sample" / "benchmarks.json"

# Every category: sales >= 50,000 CNY, one invention patent, half the filer's patents used.
THRESHOLDS = {"sales_fen": 5_000_000, "invention_patents": 1, "patent_use_share_bp": 5_000}
BENCHMARKS = BenchmarkValues(
    {category.value: dict(THRESHOLDS) for category in IndustryCategory}, "test benchmarks"
)

BEFORE_DEADLINES = (2023, 3, 1)  # filing and review season of the 2023 round
AFTER_REVIEW = (2023, 9, 5)  # after the 2023 review deadline (31 Aug, Beijing time)


@contextmanager
def at(year: int, month: int, day: int, hour: int = 4) -> Iterator[datetime]:
    """The ledger's clock stands at this UTC moment (12:00 Beijing time by default)."""
    moment = datetime(year, month, day, hour, tzinfo=UTC)
    with using_clock(lambda: moment):
        yield moment


def figures(sales: int = 10_000_000) -> EconomicFigures:
    return EconomicFigures.of_fen(
        sales=sales, exports=sales // 10, profit=sales // 10, ip_spending=sales // 50
    )


def product(
    ledger: PatentLedger,
    serial: int,
    *,
    approve: bool = True,
    sales: int = 10_000_000,
    kinds: str = "12",
    data_year: int = 2022,
    category: str = "03",
    region: str = "310115",
    filed_on: tuple[int, int, int] = BEFORE_DEADLINES,
    approved_on: tuple[int, int, int] | None = None,
) -> tuple[str, UUID]:
    """A filer (USCC serial ``serial``) and its product: one patent per digit of ``kinds``
    (1 invention, 2 utility model, 3 design), filed and (unless ``approve=False``) approved."""
    code = uscc(serial, region=region)
    with at(*filed_on):
        filer_id = approved_filer(ledger, code, region=region)
        product_id = file(
            ledger,
            code,
            filer_id,
            model=f"M-{serial}",
            category=category,
            data_year=data_year,
            figures=figures(sales),
            patents=[
                PatentDeclaration.parse(patent(serial * 10 + i, kind=kind), "owner")
                for i, kind in enumerate(kinds)
            ],
            proof_digests=[digest(f"invoice {serial}")],
        )
    if approve:
        with at(*(approved_on or filed_on)):
            ledger.approve_product(REVIEWER, product_id)
    return code, product_id


def opened_round(ledger: PatentLedger, year: int = 2023, **dates: object) -> None:
    """Benchmarks set and round ``year`` opened, early in that year."""
    with at(year, 1, 2):
        ledger.certification.set_benchmarks(CERTIFIER, BENCHMARKS)
        ledger.certification.open_certification_round(CERTIFIER, year, **dates)  # type: ignore[arg-type]
