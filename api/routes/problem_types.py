"""``GET /problems/{code}``: what each problem ``type`` means, so the URI resolves."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.problems import API_PROBLEMS, ApiProblemError, domain_codes, problem_responses

router = APIRouter(tags=["problems"])


@router.get(
    "/problems/{code}",
    summary="What a problem type means",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {"code": "duplicate_product", "status": 409, "title": "Conflict"}
                }
            }
        },
        **problem_responses(404),
    },
)
def problem_type(code: str) -> dict[str, Any]:
    """The status and title of a problem type (``type`` = ``/problems/<code>``)."""
    if code in API_PROBLEMS:
        status, title = API_PROBLEMS[code]
        return {"code": code, "status": status, "title": title}
    known = domain_codes()
    if code in known:
        status, title = known[code]
        return {"code": code, "status": status, "title": title}
    raise ApiProblemError("not_found", f"no problem type {code!r}")
