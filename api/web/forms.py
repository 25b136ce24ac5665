"""Reading a page's form: ``application/x-www-form-urlencoded`` only, parsed strictly.

Why not FastAPI's ``Form``: it needs python-multipart for every request body it reads, and the
pages' forms are small URL-encoded ones that the standard library parses; a multipart or JSON
body on a page is refused (415), the body size is bounded by api.limits as for the API.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import Request

from api.problems import ApiProblemError

FORM: str = "application/x-www-form-urlencoded"
MAX_FIELDS = 200  # a decision form has a reason per candidate; far fewer in practice


async def form_fields(request: Request) -> dict[str, list[str]]:
    """The form's fields, each with every value it was sent with."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM:
        raise ApiProblemError("unsupported_media_type", f"a page's form is sent as {FORM}")
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblemError("request_invalid", "the form is not UTF-8") from None
    try:
        return parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:  # more fields than any page's form has
        raise ApiProblemError(
            "request_invalid", f"a page's form has at most {MAX_FIELDS} fields"
        ) from None


def one(fields: dict[str, list[str]], name: str) -> str | None:
    """The single value of a field (None if absent); a field sent twice is a 422."""
    values = fields.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise ApiProblemError("request_invalid", f"{name}: sent {len(values)} times")
    return values[0]
