"""The OpenAPI document is complete: every operation says what it does and shows examples."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from api.app import create_app
from api.settings import Settings


def _document() -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="ppl-openapi-"))
    return create_app(Settings.from_environment({"PPL_DATA_DIR": str(directory)})).openapi()


def _has_example(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    if "example" in schema or "examples" in schema:
        return True
    reference = schema.get("$ref")
    if reference is None:
        return False
    return _has_example(components[reference.split("/")[-1]], components)


def test_every_operation_has_a_summary_a_description_and_examples():
    document = _document()
    components = document["components"]["schemas"]
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            if not operation.get("summary") or not operation.get("description"):
                missing.append(f"{where}: summary or description")
            body = operation.get("requestBody")
            if body is not None:
                schema = body["content"]["application/json"]["schema"]
                if not _has_example(schema, components):
                    missing.append(f"{where}: request example")
            for status, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    documented = "example" in content or "examples" in content
                    if not documented and not _has_example(content.get("schema", {}), components):
                        missing.append(f"{where}: {status} {media} example")
    assert not missing, "\n".join(missing)


def test_the_screening_operations_show_their_bodies_and_problems():
    paths = _document()["paths"]
    approval = paths["/v1/products/{product_id}/approval"]["post"]
    assert approval["requestBody"].get("required") is not True  # a filing without candidates
    shown = {
        (status, code)
        for path, method in (("/v1/products/{product_id}/approval", "post"),
                             ("/v1/products/{product_id}/rejection", "post"))
        for status, response in paths[path][method]["responses"].items()
        for code in response.get("content", {}).get("application/problem+json", {}).get(
            "examples", {}
        )
    }  # fmt: skip
    assert shown == {
        ("409", "candidates_open"), ("422", "not_a_candidate"), ("422", "duplicate_of_invalid"),
    }  # fmt: skip
    screening = paths["/v1/products/{product_id}/screening"]["get"]
    assert {"200", "401", "403", "404"} <= screening["responses"].keys()
