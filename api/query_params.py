"""Query parameters the read routes share: keyed pages and the USCC, region and category filters.

Why one module: the registry's lists and the certification register's lists page and filter
the same way (api.routes.registry, api.routes.certification), and a client holds them to one
contract — a cursor from any list is the same opaque token, a USCC filter is checked and
spelled the same everywhere. Each rule is written here once.

Cursors are opaque (base64url of the last key of the page); they stay valid across writes,
since pages are keyed, not offset. The parameters carry their patterns in the OpenAPI
document (422 request_invalid outside them); what a pattern cannot say — a USCC's check
character — is 422 query_invalid.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query

from domain.errors import InvalidValueError
from domain.values import IndustryCategory, Uscc
from projections import queries
from projections.queries import QueryError

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{22}$"
REGION_PREFIX_PATTERN = r"^[0-9]{1,6}$"
_USCC_CHAR = "[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]"  # domain.values.USCC_ALPHABET, either case
USCC_PATTERN = rf"^{_USCC_CHAR}{{2}}[0-9]{{6}}{_USCC_CHAR}{{10}}$"
FILING_NUMBER_PATTERN = r"^[0-9]{4}-[0-9]{6}-(?:[0-9]{5}|[1-9][0-9]{5,})$"
"""A filing number's shape (audit.offline.filing_number.FILING_NUMBER)."""

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1..{MAX_LIMIT}")]
Cursor = Annotated[
    str | None,
    Query(pattern=CURSOR_PATTERN, description="``next_cursor`` of the previous page (opaque)"),
]
RegionPrefix = Annotated[
    str | None,
    Query(
        pattern=REGION_PREFIX_PATTERN,
        description="Region code prefix, 1-6 digits: 31 = Shanghai, 310115 = 浦东新区",
        examples=["3101"],
    ),
]
UsccFilter = Annotated[
    str | None,
    Query(
        pattern=USCC_PATTERN,
        description="18-character USCC (a wrong check character is 422 query_invalid)",
        examples=["91310115000000001U"],
    ),
]
CategoryFilter = Annotated[
    IndustryCategory | None, Query(description="Industry category code, 01-07")
]


def encode_cursor(key: str) -> str:
    """The opaque cursor of a page ending at ``key`` (a UUID): its 16 bytes, base64url."""
    return base64.urlsafe_b64encode(UUID(key).bytes).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str | None) -> str | None:
    """The key a cursor stands for. Every string of CURSOR_PATTERN is some position in id
    order, so a cursor the schema accepts is always answered (pages are keyed, not offset).

    Raises:
        QueryError: not a cursor (FastAPI's pattern check normally refuses it first).
    """
    if cursor is None:
        return None
    try:
        return str(UUID(bytes=base64.urlsafe_b64decode(cursor + "==")))
    except (ValueError, binascii.Error):
        raise QueryError(f"cursor {cursor!r}: want the next_cursor of a previous page") from None


def page_body(page: queries.Page, items: list[dict[str, Any]]) -> dict[str, Any]:
    """``items`` and the opaque cursor of ``page.next_cursor`` (the page's last key)."""
    following = None if page.next_cursor is None else encode_cursor(page.next_cursor)
    return {"items": items, "next_cursor": following}


def uscc_filter(parameter: str, value: str | None) -> str | None:
    """The USCC filter ``parameter`` in its one spelling (QueryError → 422 if it is not a USCC:
    the pattern lets a wrong check character through)."""
    if value is None:
        return None
    try:
        return Uscc.parse(value).value
    except InvalidValueError as exc:
        raise QueryError(f"{parameter}: {exc.message}") from None
