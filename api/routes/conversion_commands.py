"""Conversion feedback over HTTP: an institution reports what became of a stock patent.

Only ``institution`` tokens report, and only for the USCC they are scoped to (the domain checks
the scope: 403 ``actor_not_permitted``); enterprises file products instead (422
``institution_not_eligible``). Each institution and patent has one record whose history is
kept, so a report appends and the response gives the record's new version. ``amount_fen`` is
at most ``MONEY_MAX_FEN`` (docs/api.md, "Ranges"): every report adds it to the conversion
statistics' sums.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter

from api.command_bodies import ConversionReported, ReportConversion
from api.command_routes import Call, CommandRoute, declare
from api.deps import Institution
from api.problems import problem_document
from api.writes import Outcome, etag
from domain.ranges import FEN, INT64_MAX

router = APIRouter(prefix="/v1/conversions", tags=["conversions"])

# The refusal of issue #14's incident (2**63 - 1 fen), as a client receives it (OpenAPI example;
# tests/api/test_ranges.py checks it is the API's answer).
AMOUNT_OUT_OF_RANGE = problem_document(
    422, "money_invalid", HTTPStatus(422).phrase,
    f"amount_fen out of range: got {INT64_MAX} fen, want {FEN.minimum}..{FEN.maximum} fen",
    "/v1/conversions",
    details={"field": "amount_fen", "minimum": FEN.minimum, "maximum": FEN.maximum},
)  # fmt: skip


def _report(call: Call[ReportConversion]) -> Outcome:
    """Report one conversion outcome (assigned, licensed, industrialised...) of a patent the
    institution holds (存量专利盘活); earlier reports of the same patent are kept."""
    body, ledger = call.body, call.ledger
    record_id = ledger.report_conversion(
        call.actor,
        institution_uscc=body.institution_uscc,
        patent_number=body.patent_number,
        category=body.category,
        counterparty=body.counterparty,
        occurred_on=body.occurred_on,
        amount_fen=body.amount_fen,
        receipt=call.receipt,
    )
    version = ledger.get_conversion(body.institution_uscc, body.patent_number).version
    reported = ConversionReported(record_id=record_id, version=version)
    return 201, reported.model_dump(mode="json"), etag(version)


declare(
    router,
    CommandRoute(
        name="report_conversion", path="", summary="Report a patent conversion",
        callers=Institution, body=ReportConversion, raw=_report, status=201,
        response_model=ConversionReported,
        problems=(400, 401, 403, 409, 413, 415, 422, 503), examples=[AMOUNT_OUT_OF_RANGE],
    ),
)  # fmt: skip
