"""Problem titles in the caller's language (issue #17, part 5): Chinese or English by
Accept-Language, ``type`` and ``code`` unchanged; conversion categories by their Chinese label."""

from __future__ import annotations

import pytest

from api.problem_language import (
    ZH_API_TITLES,
    ZH_STATUS_TITLES,
    Language,
    language_of,
)
from api.problems import _STATUS_OF, ALWAYS_POSSIBLE, API_PROBLEMS
from domain.actor import Role
from tests.api.test_command_rejections import stored
from tests.api.test_commands import INSTITUTION_USCC, conversion_body, filer_body
from tests.domain.factories import patent, uscc

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, Language.EN),
        ("", Language.EN),
        ("zh-CN,zh;q=0.9,en;q=0.8", Language.ZH),
        ("zh", Language.ZH),
        ("zh-TW", Language.ZH),
        ("ZH-hans-cn", Language.ZH),
        ("en-US,en;q=0.9", Language.EN),
        ("en-GB;q=0.9, zh-CN;q=0.3", Language.EN),  # preference, not exactness, decides
        ("zh-CN;q=0.2, en-US;q=0.9", Language.EN),
        ("en;q=0.5, zh;q=0.9", Language.ZH),
        ("fr-FR, zh;q=0.4", Language.ZH),  # the first of ours in the caller's order
        ("fr-FR", Language.EN),
        ("zh;q=0, en;q=0.1", Language.EN),  # q=0: "not acceptable"
        ("*", Language.EN),
        ("garbage;;;,,", Language.EN),
    ],
)
def test_the_language_is_the_callers_first_of_ours(header, language):
    assert language_of(header) is language


def test_every_api_problem_and_every_status_has_a_chinese_title():
    assert set(ZH_API_TITLES) == set(API_PROBLEMS)
    statuses = {status for status, _ in API_PROBLEMS.values()} | set(_STATUS_OF.values())
    assert statuses | set(ALWAYS_POSSIBLE) | {422} <= set(ZH_STATUS_TITLES)
    assert all(title.strip() for title in [*ZH_API_TITLES.values(), *ZH_STATUS_TITLES.values()])


def test_an_api_problem_is_titled_in_chinese_for_a_chinese_caller(api):
    english = api.client.get("/v1/filers")
    chinese = api.client.get("/v1/filers", headers=ZH)
    assert english.status_code == chinese.status_code == 401
    assert english.json()["title"] == API_PROBLEMS["not_authenticated"][1]
    assert chinese.json()["title"] == ZH_API_TITLES["not_authenticated"]
    for field in ("type", "code", "status", "detail", "instance"):
        assert chinese.json()[field] == english.json()[field]
    assert chinese.headers["content-language"] == "zh-CN"
    assert english.headers["content-language"] == "en"
    assert "accept-language" in chinese.headers["vary"].lower()


def test_a_domain_refusal_is_titled_in_chinese_and_replayed_as_first_given(api):
    code = uscc(61)
    body = filer_body(code)
    assert api.post("/v1/filers", body, Role.REVIEWER).status_code == 201
    before = stored(api)
    again = api.post("/v1/filers", body, Role.REVIEWER, idempotency_key="zh-refusal-61", **_zh())
    assert again.status_code == 409, again.text
    assert (again.json()["code"], again.json()["title"]) == ("filer_already_registered", "冲突")
    assert again.json()["type"] == "/problems/filer_already_registered"
    assert again.headers["content-language"] == "zh-CN"
    assert stored(api) == before
    # The retry with the same key gets the first response, in the language it was given.
    retry = api.post("/v1/filers", body, Role.REVIEWER, idempotency_key="zh-refusal-61")
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == again.json()


def test_a_refusal_before_any_route_is_titled_in_chinese_too(api):
    big = {"padding": "x" * 70_000}
    refused = api.post("/v1/filers", big, Role.REVIEWER, **_zh())
    assert refused.status_code == 413
    assert refused.json()["title"] == ZH_API_TITLES["body_too_large"]
    assert refused.headers["content-language"] == "zh-CN"


def test_a_conversion_is_reported_by_its_chinese_category_and_records_the_value(api):
    body = conversion_body(patent_number=patent(31), category="已转让")
    reported = api.post("/v1/conversions", body, Role.INSTITUTION, INSTITUTION_USCC)
    assert reported.status_code == 201, reported.text
    record = api.state.ledger.get_conversion(INSTITUTION_USCC, patent(31))
    assert [r["category"] for r in record.reports] == ["assigned"]


def test_a_label_that_is_no_category_is_refused_and_stores_nothing(api):
    before = stored(api)
    body = conversion_body(patent_number=patent(32), category="转让")
    refused = api.post("/v1/conversions", body, Role.INSTITUTION, INSTITUTION_USCC)
    assert refused.status_code == 422
    assert refused.json()["code"] == "category_invalid"
    assert stored(api) == before


def _zh() -> dict[str, str]:
    """``ZH`` as api.post's keyword arguments (underscores become dashes)."""
    return {"accept_language": ZH["Accept-Language"]}
