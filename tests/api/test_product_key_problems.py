"""Every spelling of a filed product is a 409 ``duplicate_product`` problem over HTTP, every
name or model that folds to nothing a 422 ``text_invalid``; nothing is stored for either.

The cases are tests/testdata/product_keys.json, the same data the domain tests run.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from audit.offline.product_key import KeyRule, product_key
from domain.actor import SYSTEM, Role
from tests.api.test_command_rejections import assert_problem, stored
from tests.api.test_commands import approved_filer, product_body
from tests.domain.factories import file, uscc, v1_only
from tests.domain.test_product_keys import CASES

PRODUCTS = "/v1/products"


def test_each_bypass_of_the_product_key_is_a_409_problem_and_stores_nothing(api):
    first, second = uscc(860), uscc(861)
    first_filer, second_filer = approved_filer(api, first), approved_filer(api, second)
    filed: set[str] = set()  # the first filings' keys: some cases share one product
    for case in CASES["same"]:
        name, model = case["first"]
        if product_key(KeyRule.V2, name, model) not in filed:
            body = product_body(first_filer, name=name, model=model)
            assert api.post(PRODUCTS, body, Role.FILER, first).status_code == 201, case["desc"]
            filed.add(product_key(KeyRule.V2, name, model))
        before = stored(api)
        name, model = case["second"]
        response = api.post(
            PRODUCTS, product_body(second_filer, name=name, model=model), Role.FILER, second
        )
        problem: dict[str, Any] = assert_problem(response, 409, case["want_error"])
        assert problem["details"]["existing_filer_uscc"] == first, case["desc"]
        assert stored(api) == before, case["desc"]


def test_each_name_or_model_that_folds_to_nothing_is_a_422_problem(api):
    code = uscc(862)
    filer_id = approved_filer(api, code)
    for case in CASES["empty"]:
        before = stored(api)
        body = product_body(filer_id, name=case["name"], model=case["model"])
        problem = assert_problem(
            api.post(PRODUCTS, body, Role.FILER, code), 422, case["want_error"]
        )
        assert problem["details"]["field"] == case["field"], case["desc"]
        assert stored(api) == before, case["desc"]


def test_reviewers_read_the_groups_the_migration_reported(api):
    ledger = api.state.ledger
    first, second = uscc(863), uscc(864)
    first_id, second_id = approved_filer(api, first), approved_filer(api, second)
    with v1_only():  # filed before key rule v2
        latin = file(ledger, first, UUID(first_id), name="精密行星减速器", model="PX-4408")
        cyrillic = file(ledger, second, UUID(second_id), name="精密行星减速器", model="РХ-4408")
    ledger.migrate_product_keys(SYSTEM)
    api.settle()

    response = api.client.get("/v1/review/key-groups", headers=api.headers(Role.REVIEWER))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["key_rule"] == 2
    (group,) = body["groups"]
    assert [(f["product_id"], f["holds_key"]) for f in group["filings"]] == [
        (str(latin), True), (str(cyrillic), False),
    ]  # fmt: skip
    assert len({f["v1_key"] for f in group["filings"]}) == 2
    assert_problem(
        api.client.get("/v1/review/key-groups", params={"key_rule": 1},
                       headers=api.headers(Role.REVIEWER)), 422, "request_invalid",
    )  # fmt: skip
    assert_problem(
        api.client.get("/v1/review/key-groups", headers=api.headers(Role.FILER, first)), 403
    )
