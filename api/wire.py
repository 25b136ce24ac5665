"""What every body model shares: the wire's limits, the domain's ranges shown, the examples.

Why one module: the command, certification and read bodies (api.command_bodies,
api.certification_bodies, api.read_bodies, the routes' own documents) state these the same
way, and a client reads them as one contract.

Two limits are the wire's, not the domain's, and so live here: integers must fit in 64 bits and
text must be encodable as UTF-8 (no lone surrogates such as ``"\\ud800"``). Both would otherwise
pass validation and then fail while the request is hashed or its refusal recorded — a 500 for
bad input. The domain's narrower ranges (domain.ranges: money 0..10**15 fen, years...) are
*shown* in the schema as ``minimum``/``maximum`` from the same constants (:func:`shows`), and
judged by the domain: a value outside is its 422 (``money_invalid``...) with ``details`` naming
the field and the bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, ConfigDict, Field, JsonValue

from domain.ranges import Range

_INT64 = 2**63


def _utf8(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return text


Text = Annotated[str, AfterValidator(_utf8)]
"""A JSON string the domain will validate; only its encodability is checked here."""
Integer = Annotated[int, Field(ge=-_INT64, lt=_INT64)]
"""A JSON integer the domain will judge; only the wire's 64 bits are checked here."""
JsonUuid = Annotated[UUID, Field(strict=False)]
"""A UUID given as a JSON string (JSON has no UUID type), in an otherwise strict model."""


def shows(bounds: Range) -> Callable[[dict[str, Any]], None]:
    """A ``json_schema_extra`` stating the domain's range ``bounds`` as minimum and maximum.

    Validation keeps the wire's 64-bit limit; the narrower range is the domain's to judge, so
    that its refusal keeps its code and names the field (docs/api.md, "Ranges").
    """

    def show(schema: dict[str, Any]) -> None:
        schema.pop("exclusiveMaximum", None)
        schema["minimum"], schema["maximum"] = bounds.minimum, bounds.maximum

    return show


def ranged(bounds: Range, description: str) -> Any:
    """The ``Field`` of an ``Integer`` that shows the domain's range ``bounds`` (``shows``)."""
    return Field(ge=-_INT64, lt=_INT64, description=description, json_schema_extra=shows(bounds))


def request_examples(*examples: JsonValue) -> ConfigDict:
    """A request body's config: only the fields it declares, JSON's own types (no ``"12.50"``
    for an integer), and its documented ``examples``."""
    return ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": list(examples)})


def response_examples(*examples: JsonValue) -> ConfigDict:
    """A response document's config: its documented ``examples``."""
    return ConfigDict(json_schema_extra={"examples": list(examples)})
