"""``ppl projections``, ``ppl stats``, ``ppl registry`` and ``ppl dispute-check``.

Reading commands first catch the read models up with the ledger (exactly once, so it is safe
beside a running service), then answer from them; ``--as-of`` / ``--tree-size`` answer instead
from a replay of the log's prefix (projections.as_of).

A read model marked failed (projections.failures) still answers, as of the event before the
one it could not apply: reading commands say so on stderr, ``ppl projections status`` shows it
(exit 3), and ``ppl projections rebuild NAME`` recovers it — or, with the fault still there,
names the event and exits 3 (docs/projections.md, "Failure isolation and recovery").
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import typer

from api.bootstrap import (
    CLI_CONNECTIONS,
    SignedPatentLedger,
    leaf_lookup,
    notification_reader,
    open_ledger,
    open_projection_follower,
    open_projection_runner,
    open_projection_store,
    open_transparency_log,
    rebuild_feed,
    verified_checkpoints,
)
from api.cli_common import FormatOption, OutputFormat, catch_up, fail, render
from api.publishing import previous_period, publish_period
from api.settings import get_settings
from audit.log.transparency_log import TransparencyLog
from audit.offline.errors import VerificationError
from audit.offline.verifier import exit_code
from domain.errors import DomainError
from domain.values import YEAR_MAX, YEAR_MIN
from projections import queries
from projections.as_of import AsOf, AsOfError, replay_as_of
from projections.catalog import UnknownProjectionError, models
from projections.dispute_check import ProductNotInRegistryError, dispute_check
from projections.failures import ProjectionFailure, RebuildFailedError
from projections.runner import rebuild
from projections.store import ProjectionNotBuiltError, ProjectionStore

projections_app = typer.Typer(no_args_is_help=True, help="Read models: rebuild, digest, follow")
stats_app = typer.Typer(no_args_is_help=True, help="Regional and conversion statistics")
registry_app = typer.Typer(no_args_is_help=True, help="The product and filer registries")


READ_MODEL_FAILED = 3  # exit code: a read model is marked failed, or a rebuild met its event


@dataclass
class _Context:
    ledger: SignedPatentLedger
    log: TransparencyLog
    store: ProjectionStore


@contextmanager
def _opened() -> Iterator[_Context]:
    settings = get_settings()
    ledger = open_ledger(settings, connections=CLI_CONNECTIONS)
    log = open_transparency_log(ledger, settings)
    store = open_projection_store(settings)
    try:
        yield _Context(ledger, log, store)
    except VerificationError as exc:
        fail(f"integrity: {exc}", exit_code(exc))
    except (ProjectionNotBuiltError, UnknownProjectionError, queries.QueryError) as exc:
        fail(str(exc))
    except RebuildFailedError as exc:  # an as-of replay meets an event a model cannot apply
        fail(str(exc), READ_MODEL_FAILED)
    finally:
        store.db.close()
        log.store.close()
        ledger.close()


def _current(context: _Context) -> ProjectionStore:
    """The served read models, caught up with the ledger first (saying which are stale)."""
    catch_up(open_projection_runner(context.ledger, context.store))
    return context.store


def _as_of_store(context: _Context, as_of: str | None, tree_size: int | None) -> ProjectionStore:
    if as_of is None and tree_size is None:
        return _current(context)
    try:
        point = AsOf(tree_size=tree_size, moment=_moment(as_of) if as_of else None)
    except AsOfError as exc:
        fail(str(exc))
    checkpoints = verified_checkpoints(context.log)
    read = notification_reader(context.ledger)
    try:
        state = replay_as_of(point, read, context.ledger.mapper, checkpoints)
    except AsOfError as exc:
        fail(str(exc))
    typer.echo(
        f"as of {point.describe()}: {state.tree_size} events replayed "
        f"({state.checkpoint_size} under a signed checkpoint), last at {state.last_timestamp}",
        err=True,
    )
    return state.store


@contextmanager
def _answering(as_of: str | None, tree_size: int | None) -> Iterator[ProjectionStore]:
    """What a reading command answers from: the served read models caught up with the ledger,
    or with ``--as-of`` / ``--tree-size`` a replay of the log's prefix."""
    with _opened() as context:
        yield _as_of_store(context, as_of, tree_size)


def _moment(text: str) -> datetime:
    """ISO-8601 with a zone (``Z`` or ``+08:00``), or a date (its end, UTC+8, as notices use)."""
    try:
        if len(text) == 10:
            return datetime.fromisoformat(f"{text}T23:59:59.999999+08:00")
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--as-of {text!r}: want an ISO-8601 time with a zone, or a date YYYY-MM-DD")
    if moment.tzinfo is None:
        fail(f"--as-of {text!r}: give a zone, e.g. 2023-06-30T23:59:59+08:00")
    return moment


AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Answer as of this moment (ISO-8601 with zone, or YYYY-MM-DD = end of that day "
        "in China time), by replaying the log",
    ),
]
TreeSizeOption = Annotated[
    int | None, typer.Option("--tree-size", help="Answer as of the log's first N events")
]


# --- ppl projections -----------------------------------------------------------------------------
@projections_app.command("rebuild")
def projections_rebuild(
    names: Annotated[list[str] | None, typer.Argument(help="Projections (default: all)")] = None,
) -> None:
    """Rebuild from the first event into fresh tables; switch over only when complete.

    A failed read model recovers this way once its cause is fixed. A model that still cannot
    apply some event is not switched over (it keeps serving, and stays marked if it was); the
    event is named and the exit code is 3.
    """
    with _opened() as context:
        feed = rebuild_feed(context.ledger, context.log)
        started = time.perf_counter()
        try:
            result = rebuild(context.store, models(names or ()), feed)
        except RebuildFailedError as exc:
            _report_failed_rebuild(context.store, exc)
            raise  # unreachable: _report_failed_rebuild exits
        elapsed = time.perf_counter() - started
        for name, generation in result.generations.items():
            typer.echo(f"{name}: generation {generation}")
        typer.echo(
            f"{result.events} events in {elapsed:.1f} s ({result.checkpoint_size} trusted by "
            f"the signed checkpoint's root, {result.signature_checked} by signature)"
        )


def _report_failed_rebuild(store: ProjectionStore, error: RebuildFailedError) -> None:
    for name, generation in error.switched.items():
        typer.echo(f"{name}: generation {generation}")
    for failure in error.failures:
        served = store.active_generation(failure.projection)
        still = store.failure(failure.projection, served) if served is not None else None
        keeps = (
            "nothing is served yet" if served is None
            else f"generation {served} keeps serving"
            + (f", still failed at event {still.notification_id}" if still else "")
        )  # fmt: skip
        typer.echo(
            f"error: rebuild of {failure.describe().removeprefix('read model ')}; not switched "
            f"over ({keeps}). Fix the cause, then rebuild {failure.projection} again",
            err=True,
        )
    raise typer.Exit(READ_MODEL_FAILED)


@projections_app.command("digest")
def projections_digest(
    names: Annotated[list[str] | None, typer.Argument(help="Projections (default: all)")] = None,
) -> None:
    """Print ``NAME SHA256`` per projection: the digest of a canonical dump of its rows."""
    with _opened() as context:
        for model in models(names or ()):
            generation = context.store.require_generation(model.name)
            typer.echo(f"{model.name} {context.store.digest(model.name, model.tables, generation)}")


@projections_app.command("status")
def projections_status() -> None:
    """Per projection: state (following, failed, not_built), served generation, last applied
    notification id, events applied, lag; a failed one with the event and the error. Exit
    code 3 when some read model is failed."""
    with _opened() as context:
        head = context.ledger.recorder.max_notification_id() or 0
        failures = context.store.failures()
        document: dict[str, dict[str, Any]] = {}
        for model in models():
            generation = context.store.active_generation(model.name)
            if generation is None:
                document[model.name] = {"state": "not_built", "generation": None}
                continue
            position = context.store.position(model.name, generation)
            failure = failures.get(model.name)
            document[model.name] = {
                "state": "following" if failure is None else "failed",
                "generation": generation,
                "notification_id": position.notification_id,
                "events": position.events,
                "behind": head - position.notification_id,
                **({} if failure is None else {"failed": _failed_at(failure)}),
            }
        typer.echo(json.dumps(document, indent=2))
    if failures:
        raise typer.Exit(READ_MODEL_FAILED)


def _failed_at(failure: ProjectionFailure) -> dict[str, Any]:
    shown = failure.as_json()
    del shown["name"], shown["generation"]
    return shown


@projections_app.command("follow")
def projections_follow(
    interval: Annotated[float, typer.Option(help="Seconds between polls")] = 0.25,
) -> None:
    """Keep every read model up with the ledger until interrupted (beside or instead of
    the one ``ppl serve`` runs)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = get_settings()
    with _opened() as context:
        follower = open_projection_follower(context.ledger, settings, context.store)
        follower.interval = interval
        try:
            follower.run()
        except KeyboardInterrupt:
            follower.stop()


# --- ppl stats -----------------------------------------------------------------------------------
REGION_COLUMNS = (
    "region_code", "name", "filers", "products", "pending", "rejected", "withdrawn",
    "data_years", "figures_products", "sales_fen", "exports_fen",
)  # fmt: skip


@stats_app.command("regions")
def stats_regions(
    prefix: Annotated[str, typer.Option(help="Region code prefix, e.g. 31 or 3101")] = "",
    level: Annotated[queries.Level, typer.Option(help="Roll up to this level")] = (
        queries.Level.DISTRICT
    ),
    output: FormatOption = OutputFormat.TABLE,
    as_of: AsOfOption = None,
    tree_size: TreeSizeOption = None,
    data_year: Annotated[
        int | None,
        typer.Option(
            min=YEAR_MIN,
            max=YEAR_MAX,
            help="Figures of this data year (default: each filing's latest approved figures, "
            "with the data years they come from)",
        ),
    ] = None,
) -> None:
    """备案单位 (approved filers) and 备案产品 (approved, not withdrawn) per region, and their
    sales and exports: of one data year, or each filing's latest approved figures."""
    with _answering(as_of, tree_size) as store:
        found = queries.region_statistics(store, prefix=prefix, level=level, data_year=data_year)
        rows = [r.as_row() for r in found]
    if output is not OutputFormat.JSON:  # one cell: "2022" or "2022,2023"
        for row in rows:
            row["data_years"] = ",".join(str(year) for year in row["data_years"])
    typer.echo(render(rows, REGION_COLUMNS, output))


@stats_app.command("publish")
def stats_publish(
    period: Annotated[
        str | None, typer.Option(help="YYYY-MM (default: the month just ended, Beijing time)")
    ] = None,
) -> None:
    """Publish the regional statistics of a month: one signed event with the disclosure-
    controlled cells (docs/statistics.md); what the public reads until the next one."""
    settings = get_settings()
    wanted = period or previous_period(datetime.now(UTC))
    with _opened() as context:
        try:
            publish_period(context.ledger, context.store, wanted, settings.disclosure)
        except DomainError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(2) from None
        published = context.ledger.get_publication(wanted)
    withheld = sum(1 for cell in published.cells if cell["suppressed"] is not None)
    typer.echo(
        f"published {wanted}: {len(published.cells)} cells ({withheld} withheld), "
        f"{len(published.counts)} regions, log size {published.tree_size}"
    )


@stats_app.command("conversions")
def stats_conversions(
    by: Annotated[queries.ConversionGrouping, typer.Option()] = queries.ConversionGrouping.CATEGORY,
    output: FormatOption = OutputFormat.TABLE,
    as_of: AsOfOption = None,
    tree_size: TreeSizeOption = None,
) -> None:
    """Conversion feedback: reports, patents and amounts per category (and institution/region)."""
    with _answering(as_of, tree_size) as store:
        rows = queries.conversion_statistics(store, by=by)
    columns = {"category": ("category",), "institution": ("institution_uscc", "category"),
               "region": ("region_code", "category")}[by.value]  # fmt: skip
    typer.echo(render(rows, (*columns, "reports", "patents", "amount_fen"), output))


# --- ppl registry --------------------------------------------------------------------------------
@registry_app.command("product")
def registry_product(
    product_id: Annotated[UUID, typer.Argument()],
    as_of: AsOfOption = None,
    tree_size: TreeSizeOption = None,
) -> None:
    """One filing as the registry shows it (now, or as of a past point)."""
    with _answering(as_of, tree_size) as store:
        row = queries.product(store, product_id)
    if row is None:
        fail(f"no product {product_id} in the registry", 4)
    typer.echo(json.dumps(row, ensure_ascii=False, indent=2))


@registry_app.command("products")
def registry_products(
    status: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option(help="Region code prefix")] = None,
    filer: Annotated[str | None, typer.Option(help="Filer USCC")] = None,
    limit: Annotated[int, typer.Option()] = 50,
    after: Annotated[str | None, typer.Option(help="Cursor from the previous page")] = None,
    output: FormatOption = OutputFormat.TABLE,
    as_of: AsOfOption = None,
    tree_size: TreeSizeOption = None,
) -> None:
    """Filings, filtered, a page at a time (``--after`` the cursor printed last)."""
    with _answering(as_of, tree_size) as store:
        page = queries.products(
            store, status=status, region=region, filer_uscc=filer, after=after, limit=limit
        )
    columns = ("product_id", "filer_uscc", "region_code", "status", "data_year", "name", "model")
    typer.echo(render(page.rows, columns, output))
    if page.next_cursor:
        typer.echo(f"next page: --after {page.next_cursor}", err=True)


@registry_app.command("trail")
def registry_trail(product_id: Annotated[UUID, typer.Argument()]) -> None:
    """A filing's audit trail: every event, with actor, time, event hash and leaf index."""
    with _opened() as context:
        rows = queries.audit_trail_of(_current(context), product_id, leaf_lookup(context.log))
    if not rows:
        fail(f"no events for product {product_id}", 4)
    typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))


_GROUP_COLUMNS = ("group", "canonical_key", "product_id", "filer_uscc", "status", "holds_key",
                  "name", "model")  # fmt: skip


def _group_rows(groups: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per filing of each group, numbered by group (a table a reviewer can read)."""
    return [
        {"group": number, **{column: product[column] for column in _GROUP_COLUMNS[1:]}}
        for number, group in enumerate(groups, 1)
        for product in group["filings"]
    ]


@registry_app.command("migrate-keys")
def registry_migrate_keys(
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Reserve the key rule v2 key of every filing made before v2 (new events; re-running
    adds nothing), then list the groups of existing filings that v2 says are one product."""
    from domain.actor import SYSTEM  # noqa: PLC0415 (only this command acts)

    with _opened() as context:
        started = time.monotonic()
        report = context.ledger.migrate_product_keys(SYSTEM)
        seconds = time.monotonic() - started
    groups = [
        {
            "canonical_key": group.canonical_key,
            "filings": [
                {
                    "canonical_key": group.canonical_key,
                    "product_id": str(f.product_id),
                    "filer_uscc": f.filer_uscc,
                    "status": f.status,
                    "holds_key": int(f.product_id == group.holder),
                    "name": f.name,
                    "model": f.model,
                }
                for f in group.products
            ],
        }
        for group in report.groups
    ]
    typer.echo(
        f"key rule v{report.key_rule}: {report.products} filings, {report.reserved} keys "
        f"reserved now, {report.already_reserved} reserved before, {len(report.groups)} "
        f"group(s) of filings v{report.key_rule} says are one product, {len(report.unkeyed)} "
        f"filing(s) without a v{report.key_rule} key ({seconds:.1f} s)",
        err=True,
    )
    for unkeyed in report.unkeyed:
        typer.echo(f"no key: filing {unkeyed.product.product_id}: {unkeyed.reason}", err=True)
    if groups:
        typer.echo(render(_group_rows(groups), _GROUP_COLUMNS, output))


@registry_app.command("migrate-filing-numbers")
def registry_migrate_filing_numbers(
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Give every approved filing without a filing number (approved before filing number
    rule v1) its number, in order of first approval, as new events; re-running adds nothing
    (docs/filing-numbers.md). Lists the numbers given."""
    from domain.actor import SYSTEM  # noqa: PLC0415 (only this command acts)

    with _opened() as context:
        started = time.monotonic()
        report = context.ledger.migrate_filing_numbers(SYSTEM)
        seconds = time.monotonic() - started
    typer.echo(
        f"filing number rule v{report.rule}: {len(report.numbered)} filings numbered now, "
        f"{report.already_numbered} numbered before, {report.withdrawn} withdrawn left "
        f"without one ({seconds:.1f} s)",
        err=True,
    )
    rows = [
        {"product_id": str(product_id), "filing_number": number}
        for product_id, number in report.numbered
    ]
    if rows:
        typer.echo(render(rows, ("product_id", "filing_number"), output))


@registry_app.command("key-groups")
def registry_key_groups(
    key_rule: Annotated[int, typer.Option(help="Key rule version")] = 2,
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Filings that share one product key under a rule (for a reviewer), from the read model."""
    with _opened() as context:
        groups = queries.same_key_groups(_current(context), key_rule)
    typer.echo(f"{len(groups)} group(s) under key rule v{key_rule}", err=True)
    if groups:
        typer.echo(render(_group_rows(groups), _GROUP_COLUMNS, output))


def dispute_check_command(
    product_id: Annotated[UUID, typer.Argument()],
    max_distance: Annotated[
        int, typer.Option(help="Largest edit distance between canonical keys")
    ] = 2,
) -> None:
    """Timeline, shared patents, near-duplicate filings and disputes of one filing, each
    statement citing its event's leaf index for an inclusion proof."""
    with _opened() as context:
        try:
            check = dispute_check(
                _current(context),
                product_id,
                leaf_index=leaf_lookup(context.log),
                max_distance=max_distance,
            )
        except ProductNotInRegistryError as exc:
            fail(str(exc), 4)
    typer.echo(json.dumps(check.as_json(), ensure_ascii=False, indent=2))
