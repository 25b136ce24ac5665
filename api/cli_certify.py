"""``ppl certify``: the annual certification of patent-intensive products (docs/certification.md).

The command line is an operator's tool on the store named by PPL_DATABASE_URL. The certifier's
commands act as ``Actor(id=--actor, role=certifier)``; ``opt-in`` acts for the product's filer
(an operator entering a filer's request), ``object`` as ``--role`` (default reviewer). Every
event records that actor. Refused commands print ``error: [code] message`` and exit 2 (4 when
something named does not exist).

The reports (``decisions``, ``reminders``, ``report``) are read from the read models, as the
API reads its lists, after catching them up with the ledger (as ``ppl registry`` does).
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer

from api.bootstrap import (
    CLI_CONNECTIONS,
    SignedPatentLedger,
    open_ledger,
    open_projection_runner,
    open_projection_store,
)
from api.cli_common import FormatOption, OutputFormat, catch_up, render
from api.settings import get_settings
from domain.actor import Actor, Role
from domain.benchmarks import BenchmarkValues
from domain.certification import CertificationStatus, ProductCertification
from domain.certification_round import round_id_for
from domain.errors import CertificationRoundNotFoundError, DomainError, NotFoundError
from projections import queries
from projections.certification_register import CertificationRegister
from projections.product_registry import ProductRegistry
from projections.queries import CertificationReport, Tally
from projections.store import ProjectionStore

certify_app = typer.Typer(no_args_is_help=True, help="Annual certification (专利密集型产品认定)")
benchmarks_app = typer.Typer(no_args_is_help=True, help="The benchmark table (评价基准)")
certify_app.add_typer(benchmarks_app, name="benchmarks")

SAMPLE_BENCHMARKS = Path(__file__).resolve().parents[1] / "domain" / "sample" / "benchmarks.json"
"""The sample's benchmark table (plausible, not official): ``ppl certify benchmarks set`` it."""


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in this environment
        return "cli:operator"


class ObjectorRole(StrEnum):
    """Who may object (domain.certification_commands.OBJECTOR_ROLES)."""

    FILER = Role.FILER.value
    INSTITUTION = Role.INSTITUTION.value
    REVIEWER = Role.REVIEWER.value
    REGIONAL_ADMIN = Role.REGIONAL_ADMIN.value


ActorOption = Annotated[str | None, typer.Option("--actor", help="Actor id (default cli:<user>)")]


def _certifier(actor_id: str | None) -> Actor:
    return Actor(id=actor_id or _operator(), role=Role.CERTIFIER)


@contextmanager
def _ledger() -> Iterator[SignedPatentLedger]:
    """The ledger; a refused command becomes a message and exit code 2 (4: not found)."""
    ledger = open_ledger(get_settings(), connections=CLI_CONNECTIONS)
    try:
        yield ledger
    except DomainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(4 if isinstance(exc, NotFoundError) else 2) from None
    finally:
        ledger.close()


REPORTED_FROM = (CertificationRegister.name, ProductRegistry.name)
"""The read models the reports read: the register's decisions, the registry's filings."""


@contextmanager
def _read_models() -> Iterator[ProjectionStore]:
    """The reports' read models, caught up with the ledger first (saying which are stale)."""
    with _ledger() as ledger:
        store = open_projection_store(get_settings())
        try:
            catch_up(open_projection_runner(ledger, store, REPORTED_FROM))
            yield store
        finally:
            store.db.close()


def _no_round(year: int) -> CertificationRoundNotFoundError:
    """What the ledger says of a round it does not hold (exit 4)."""
    return CertificationRoundNotFoundError(
        f"no certification round {year}", id=str(round_id_for(year))
    )


# --- benchmarks ----------------------------------------------------------------------------------
@benchmarks_app.command("set")
def benchmarks_set(
    file: Annotated[Path, typer.Argument(help=f"Benchmark table (JSON), e.g. {SAMPLE_BENCHMARKS}")],
    actor: ActorOption = None,
) -> None:
    """Set the whole benchmark table as its next version (nothing if it is unchanged)."""
    with _ledger() as ledger:
        values = BenchmarkValues.from_json(file.read_text(encoding="utf-8"))
        version = ledger.certification.set_benchmarks(_certifier(actor), values)
    typer.echo(f"benchmark table version {version} in force")


@benchmarks_app.command("show")
def benchmarks_show(
    version: Annotated[int | None, typer.Option(help="Version (default: the latest)")] = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Print a version of the benchmark table: per category, per indicator, the threshold."""
    with _ledger() as ledger:
        table = ledger.certification.get_benchmarks(version)
    if output is OutputFormat.JSON:
        document = {"version": table.version, "note": table.note, "indicators": table.indicators,
                    "thresholds": table.thresholds}  # fmt: skip
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    indicators = sorted(table.indicators)
    rows = [{"category": category, **{i: row.get(i) for i in indicators}}
            for category, row in sorted(table.thresholds.items())]  # fmt: skip
    typer.echo(f"benchmark table version {table.version}: {table.note}")
    typer.echo(render(rows, ["category", *indicators], output))


# --- rounds --------------------------------------------------------------------------------------
@certify_app.command("open")
def open_round(
    year: Annotated[int, typer.Argument(help="Round year (data year = year - 1)")],
    filing_deadline: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    review_deadline: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    opt_in: Annotated[
        bool | None, typer.Option("--opt-in/--no-opt-in", help="Filers must opt in")
    ] = None,
    update_window_start: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    update_window_end: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    actor: ActorOption = None,
) -> None:
    """Open a round; unset dates take the notices' defaults (2023; from 2024 opt-in)."""
    with _ledger() as ledger:
        ledger.certification.open_certification_round(
            _certifier(actor),
            year,
            filing_deadline=filing_deadline,
            review_deadline=review_deadline,
            opt_in_required=opt_in,
            update_window_start=update_window_start,
            update_window_end=update_window_end,
        )
        round_ = ledger.certification.get_round(year)
    typer.echo(json.dumps(_round_document(round_), ensure_ascii=False, indent=2))


@certify_app.command("round")
def show_round(year: Annotated[int, typer.Argument()]) -> None:
    """Print a round: calendar, status, pinned benchmark version, objection window."""
    with _ledger() as ledger:
        round_ = ledger.certification.get_round(year)
    typer.echo(json.dumps(_round_document(round_), ensure_ascii=False, indent=2))


def _round_document(round_: Any) -> dict[str, Any]:
    window = (round_.objection_window_start, round_.objection_window_end)
    return {
        "year": round_.year,
        "data_year": round_.data_year,
        "status": round_.status.value,
        "filing_deadline": round_.filing_deadline,
        "review_deadline": round_.review_deadline,
        "opt_in_required": round_.opt_in_required,
        "update_window": [round_.update_window_start, round_.update_window_end],
        "benchmark_version": round_.benchmark_version,
        "certified_published": len(round_.certified_product_ids),
        "objection_window": None if window[0] is None else [str(moment) for moment in window],
    }


@certify_app.command("opt-in")
def opt_in(
    year: Annotated[int, typer.Argument()],
    product: Annotated[UUID, typer.Argument(help="Filing id")],
    filer_valid_patents: Annotated[
        int | None, typer.Option(help="Valid patents the filer holds (owned or licensed)")
    ] = None,
    actor: ActorOption = None,
) -> None:
    """Opt a product in to a round, on behalf of its filer (required from 2024)."""
    with _ledger() as ledger:
        uscc = ledger.get_product(product).filer_uscc
        filer = Actor(id=actor or _operator(), role=Role.FILER, scope=uscc)
        ledger.certification.opt_in_to_certification(
            filer, year, product, filer_valid_patents=filer_valid_patents
        )
    typer.echo(f"product {product} opted in to round {year}")


# --- evaluation ----------------------------------------------------------------------------------
@certify_app.command("run")
def run(
    year: Annotated[int, typer.Argument()],
    benchmark_version: Annotated[
        int | None, typer.Option(help="Pin this version (first run only; default: latest)")
    ] = None,
    list_ineligible: Annotated[
        bool, typer.Option("--list-ineligible", help="List each ineligible product")
    ] = False,
    actor: ActorOption = None,
) -> None:
    """Evaluate every filing not yet decided; re-running decides nothing twice."""
    with _ledger() as ledger:
        report = ledger.certification.run_certification(
            _certifier(actor), year, benchmark_version=benchmark_version
        )
        round_ = ledger.certification.get_round(year)
    typer.echo(
        f"round {year} (data year {round_.data_year}), benchmark version {report.benchmark_version}"
    )
    rows: list[dict[str, Any]] = [
        {"outcome": "certified", "products": len(report.certified)},
        {"outcome": "not_certified", "products": len(report.not_certified)},
        {"outcome": "not_eligible", "products": len(report.not_eligible)},
        *(
            {"outcome": f"  {reason}", "products": count}
            for reason, count in sorted(report.not_eligible_by_reason().items())
        ),
        {"outcome": "already_decided", "products": report.already_decided},
        {"outcome": "withdrawn (not considered)", "products": report.withdrawn},
    ]
    typer.echo(render(rows, ("outcome", "products"), OutputFormat.TABLE))
    if list_ineligible:
        for product_id, reasons in report.not_eligible:
            typer.echo(f"{product_id}\t" + "; ".join(r["detail"] for r in reasons))


DECISION_COLUMNS = ("product_id", "filer_uscc", "region_code", "category", "status", "reasons")


@certify_app.command("decisions")
def decisions(
    year: Annotated[int, typer.Argument()],
    status: Annotated[CertificationStatus | None, typer.Option(help="Only this outcome")] = None,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Every decision of a round in the order made (ineligible ones with their reasons)."""
    with _read_models() as store:
        found = queries.certification_decisions(
            store, year, status=None if status is None else status.value
        )
    rows = [
        {
            "product_id": row["product_id"],
            "filer_uscc": row["filer_uscc"],
            "region_code": row["region_code"],
            "category": row["category"],
            "status": row["status"],
            "reasons": ",".join(r["reason"] for r in row["reasons"]),
        }
        for row in found
    ]
    typer.echo(render(rows, DECISION_COLUMNS, output))


@certify_app.command("show")
def show(
    year: Annotated[int, typer.Argument()],
    product: Annotated[UUID, typer.Argument(help="Filing id")],
) -> None:
    """Explain one decision: its indicators and thresholds, or why it was not eligible."""
    with _ledger() as ledger:
        decision = ledger.certification.get_certification(year, product)
    typer.echo(json.dumps(_decision_document(decision), ensure_ascii=False, indent=2))


def _decision_document(decision: ProductCertification) -> dict[str, Any]:
    return {
        "round_year": decision.round_year,
        "product_id": str(decision.product_id),
        "product_version": decision.product_version,
        "filer_uscc": decision.filer_uscc,
        "region_code": decision.region_code,
        "category": decision.category,
        "status": decision.status.value,
        "benchmark_version": decision.benchmark_version,
        "indicators": decision.indicators,
        "reasons": decision.reasons,
        "revoked_by_objection": decision.revoked_by,
        "revocation_reason": decision.revocation_reason,
        "decided_at": str(decision.created_on),
    }


# --- publication and objections ------------------------------------------------------------------
@certify_app.command("publish")
def publish(
    year: Annotated[int, typer.Argument()],
    objection_days: Annotated[int, typer.Option(help="Length of the objection window")] = 7,
    actor: ActorOption = None,
) -> None:
    """Publish the certified list (公示) and open the objection window."""
    with _ledger() as ledger:
        ledger.certification.publish_certified_list(
            _certifier(actor), year, objection_days=objection_days
        )
        round_ = ledger.certification.get_round(year)
    typer.echo(
        f"round {year}: {len(round_.certified_product_ids)} certified products published; "
        f"objections until {round_.objection_window_end}"
    )


@certify_app.command("object")
def object_(
    year: Annotated[int, typer.Argument()],
    product: Annotated[UUID, typer.Argument(help="Filing id")],
    reason: Annotated[str, typer.Option(help="The grounds of the objection")],
    role: Annotated[ObjectorRole, typer.Option(help="Who objects")] = ObjectorRole.REVIEWER,
    scope: Annotated[
        str | None, typer.Option(help="USCC (filer, institution) or region prefix (admin)")
    ] = None,
    actor: ActorOption = None,
) -> None:
    """File an objection (异议) against a certified product during the objection window."""
    with _ledger() as ledger:
        objector = Actor(id=actor or _operator(), role=Role(role.value), scope=scope)
        objection_id = ledger.certification.file_objection(objector, year, product, reason)
    typer.echo(str(objection_id))


@certify_app.command("uphold")
def uphold(
    year: Annotated[int, typer.Argument()],
    objection: Annotated[UUID, typer.Argument(help="Objection id")],
    reason: Annotated[str, typer.Option(help="Why: recorded with the revocation")],
    actor: ActorOption = None,
) -> None:
    """Uphold an objection: the product's certification is revoked, with the reason."""
    with _ledger() as ledger:
        ledger.certification.uphold_objection(_certifier(actor), objection, reason, year=year)
    typer.echo(f"objection {objection} upheld: certification revoked")


@certify_app.command("dismiss")
def dismiss(
    year: Annotated[int, typer.Argument()],
    objection: Annotated[UUID, typer.Argument(help="Objection id")],
    reason: Annotated[str, typer.Option(help="Why it is dismissed")],
    actor: ActorOption = None,
) -> None:
    """Dismiss an objection: the certification stands."""
    with _ledger() as ledger:
        ledger.certification.dismiss_objection(_certifier(actor), objection, reason, year=year)
    typer.echo(f"objection {objection} dismissed")


# --- annual update and reports -------------------------------------------------------------------
REMINDER_COLUMNS = ("filer_uscc", "filer_name", "product_id", "product_name", "model", "status",
                    "data_year", "wanted_data_year", "update_window_end")  # fmt: skip


@certify_app.command("reminders")
def reminders(
    year: Annotated[int, typer.Argument()],
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Who must update: filings whose data are older than the round's data year."""
    with _read_models() as store:
        found = queries.certification_reminders(store, year)
        if found is None:
            raise _no_round(year)
    rows = [{c: str(getattr(r, c)) for c in REMINDER_COLUMNS} for r in found]
    typer.echo(render(rows, REMINDER_COLUMNS, output))


TALLY_COLUMNS = ("key", "name", "certified", "not_certified", "revoked", "not_eligible")


@certify_app.command("report")
def report(
    year: Annotated[int, typer.Argument()],
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Decisions of a round per industry category and per district (the filer's region)."""
    with _read_models() as store:
        found = queries.certification_report(store, year)
        if found is None:
            raise _no_round(year)
    typer.echo(render_report(found, output))


def render_report(found: CertificationReport, output: OutputFormat) -> str:
    """The report as a table (two, with totals), one CSV (a ``group`` column) or JSON."""

    def rows(tallies: list[Tally]) -> list[dict[str, Any]]:
        return [t.as_row() for t in tallies]

    if output is OutputFormat.JSON:
        document = {
            "year": found.year,
            "by_category": rows(found.by_category),
            "by_district": rows(found.by_district),
            "total": found.total.as_row(),
        }
        return json.dumps(document, ensure_ascii=False, indent=2)
    if output is OutputFormat.CSV:
        grouped = [
            *({"group": "category", **row} for row in rows(found.by_category)),
            *({"group": "district", **row} for row in rows(found.by_district)),
            {"group": "total", **found.total.as_row()},
        ]
        return render(grouped, ("group", *TALLY_COLUMNS), output)
    by_category = render(rows([*found.by_category, found.total]), TALLY_COLUMNS, output)
    by_district = render(rows([*found.by_district, found.total]), TALLY_COLUMNS, output)
    return (
        f"round {found.year}: by industry category\n{by_category}\n\n"
        f"round {found.year}: by district\n{by_district}"
    )
