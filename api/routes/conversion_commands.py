"""Conversion feedback over HTTP: an institution reports what became of a stock patent.

Only ``institution`` tokens report, and only for the USCC they are scoped to (the domain checks
the scope: 403 ``actor_not_permitted``); enterprises file products instead (422
``institution_not_eligible``). Each institution and patent has one record whose history is
kept, so a report appends and the response gives the record's new version.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.command_bodies import ConversionReported, ReportConversion
from api.deps import Institution
from api.problems import problem_responses
from api.responses import OrjsonResponse
from api.writes import Outcome, etag, execute
from domain.application import PatentLedger

router = APIRouter(prefix="/v1/conversions", tags=["conversions"])


@router.post(
    "",
    status_code=201,
    response_model=ConversionReported,
    summary="Report a patent conversion",
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 503),
)
def report_conversion(
    body: ReportConversion, request: Request, principal: Institution
) -> OrjsonResponse:
    """Report one conversion outcome (assigned, licensed, industrialised...) of a patent the
    institution holds (存量专利盘活); earlier reports of the same patent are kept."""
    ledger: PatentLedger = request.app.state.ledger

    def command() -> Outcome:
        record_id = ledger.report_conversion(
            principal.actor(),
            institution_uscc=body.institution_uscc,
            patent_number=body.patent_number,
            category=body.category,
            counterparty=body.counterparty,
            occurred_on=body.occurred_on,
            amount_fen=body.amount_fen,
        )
        version = ledger.get_conversion(body.institution_uscc, body.patent_number).version
        reported = ConversionReported(record_id=record_id, version=version)
        return 201, reported.model_dump(mode="json"), etag(version)

    return execute(request, principal, body, command)
