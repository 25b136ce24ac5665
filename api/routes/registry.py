"""Read-only registry views served from the projections (issue #5 adds roles and the rest).

Until authentication exists (issue #5), only the public fields of a filing are served: no
economic figures, no contact data.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request

from projections import queries
from projections.store import ProjectionNotBuiltError

router = APIRouter(prefix="/v1", tags=["registry"])

PUBLIC_PRODUCT_FIELDS = (
    "product_id", "filer_uscc", "filer_name", "region_code", "name", "model", "variants",
    "category", "finer_code", "status", "data_year", "patents", "filed_at", "updated_at",
    "version",
)  # fmt: skip


def public_product(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in PUBLIC_PRODUCT_FIELDS}


@router.get("/products/{product_id}")
def product(product_id: UUID, request: Request) -> dict[str, Any]:
    """A filing as the registry shows it now (public fields)."""
    try:
        row = queries.product(request.app.state.projections, product_id)
    except ProjectionNotBuiltError as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "1"}) from exc
    if row is None:
        raise HTTPException(404, f"no product {product_id} in the registry")
    return public_product(row)
