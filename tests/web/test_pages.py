"""The pages as HTTP responses (both stores): what they show to whom, their headers, their
refusals, and the signed-in writes' checks (CSRF, origin, Idempotency-Key, If-Match)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from api.web.session import SESSION_COOKIE, csrf_token
from api.web.templating import CONTENT_SECURITY_POLICY
from audit.offline.note import NoteVerifier
from audit.offline.tlog_proof import verify_event_evidence
from tests.domain.factories import approve_as_distinct
from tests.web.conftest import HOSTILE_NAME, Site

PAGE = {"Accept": "text/html,application/xhtml+xml"}


def _get(site: Site, path: str, token: str | None = None, **headers: str) -> Any:
    site.api.client.cookies.clear()
    if token is not None:
        site.api.client.cookies.set(SESSION_COOKIE, token)
    return site.api.client.get(path, headers={**PAGE, **headers})


def _public_pages(site: Site) -> list[str]:
    return [
        "/", "/?q=温控", f"/products/{site.approved}", f"/products/{site.hostile}",
        f"/products/{site.approved}/certificate", "/rounds", "/statistics", "/statistics/310115",
        "/signin",
    ]  # fmt: skip


def test_every_public_page_renders_with_a_strict_policy(site):
    for path in _public_pages(site):
        response = _get(site, path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "'unsafe-inline'" not in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-language"] == "zh-CN"
        assert '<html lang="zh-CN">' in response.text


class _Scripts(HTMLParser):
    """Every script element and every event-handler attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.handlers: list[tuple[str, str]] = []
        self.urls: list[str] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.handlers += [(tag, name) for name in attributes if name.startswith("on")]
        self.urls += [v for k, v in attributes.items() if k in ("src", "href", "action") and v]
        if tag == "script":
            self._in_script = attributes

    def handle_data(self, data: str) -> None:
        script = self._in_script
        if script is not None and data.strip() and script.get("type") != "application/json":
            self.inline.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None


def test_no_inline_script_no_handler_and_no_other_host_on_any_page(site):
    for path in _public_pages(site):
        parser = _Scripts()
        parser.feed(_get(site, path).text)
        assert parser.inline == [], path
        assert parser.handlers == [], path
        for url in parser.urls:
            own = url.startswith("http://testserver/")  # the certificate prints its site
            assert own or not re.match(r"^(https?:)?//", url), (path, url)
            assert not url.lower().startswith("javascript:"), (path, url)


def test_a_hostile_name_is_escaped_wherever_it_is_shown(site):
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
    for path in ("/", f"/?q={'script'}", f"/products/{site.hostile}",
                 f"/products/{site.hostile}/certificate"):  # fmt: skip
        text = _get(site, path).text
        assert HOSTILE_NAME not in text, path
        assert escaped in text, path
    region = _get(site, "/desk/region", site.regional_admin).text
    assert HOSTILE_NAME not in region
    assert escaped in region


def test_search_finds_by_name_model_patent_and_filer(site):
    for query in ("温控", "TV-100", "上海测试科技"):
        text = _get(site, f"/?q={query}").text
        assert f"/products/{site.approved}" in text, query
    # the pending near-duplicate is not public, whatever matches it
    assert f"/products/{site.flagged}" not in _get(site, "/?q=温控阀门").text
    assert "没有符合条件的备案产品" in _get(site, "/?q=no-such-product-xyz").text


def test_an_unknown_product_is_an_html_404_with_the_problem_type(site):
    response = _get(site, "/products/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "/problems/not_found" in response.text
    api = site.api.client.get("/products/00000000-0000-4000-8000-000000000000")
    assert api.headers["content-type"] == "application/problem+json"  # a script gets JSON


@pytest.mark.parametrize(
    "query", ["region=31x", "category=99", "status=nonsense", f"q={'x' * 101}", "cursor=%00"]
)
def test_a_bad_search_is_a_422_page_and_changes_nothing(site, query):
    response = _get(site, f"/?{query}")
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")


def test_english_on_request_chinese_by_default(site):
    assert "备案查询" in _get(site, "/").text
    # Chinese first, whatever the browser prefers; the switch is remembered in a cookie
    assert (
        _get(site, "/", **{"Accept-Language": "en-GB,en;q=0.9"}).headers["content-language"]
        == "zh-CN"
    )
    english = _get(site, "/?lang=en")
    assert english.headers["content-language"] == "en"
    assert "Registry" in english.text
    assert "ppl_lang=en" in english.headers["set-cookie"]
    site.api.client.cookies.set("ppl_lang", "en")
    later = site.api.client.get("/rounds", headers=PAGE)
    assert later.headers["content-language"] == "en"
    site.api.client.cookies.clear()


def test_confidential_figures_only_for_those_who_see_them(site):
    public = _get(site, f"/products/{site.approved}").text
    assert "销售额" not in public
    admin = _get(site, f"/products/{site.approved}", site.regional_admin).text
    assert "销售额" in admin
    assert "万元" in admin


def test_the_public_trail_names_public_events_and_every_leaf_index(site):
    text = _get(site, f"/products/{site.approved}").text
    assert "提交备案" in text
    assert "审核通过" in text
    assert "/v1/log/proofs/inclusion?leaf_index=" in text


def test_signed_in_desks_by_role(site):
    assert _get(site, "/desk/review", site.reviewer).status_code == 200
    assert _get(site, "/desk/review", site.regional_admin).status_code == 403
    assert _get(site, "/desk/review").status_code == 401
    region = _get(site, "/desk/region", site.regional_admin)
    assert region.status_code == 200
    assert f"/products/{site.approved}" in region.text
    assert f"/products/{site.other_district}" not in region.text  # 徐汇区: not its district
    assert f"/products/{site.flagged}" not in region.text
    assert _get(site, "/desk/region", site.reviewer).status_code == 403


def test_a_revoked_or_unknown_session_is_signed_out_not_refused(site):
    response = _get(site, "/", "ppl_0123456789abcdef_" + "A" * 43)
    assert response.status_code == 200
    assert 'href="/signin"' in response.text


def test_signing_in_sets_a_strict_httponly_cookie_and_never_a_url(site):
    client = site.api.client
    client.cookies.clear()
    response = client.post(
        "/signin", data={"token": site.reviewer}, headers={**PAGE, "Origin": "http://testserver"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == "/desk/review"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    assert site.reviewer not in response.headers["location"]
    bad = client.post("/signin", data={"token": "ppl_nope"}, headers=PAGE)
    assert bad.status_code == 401


def _decide(site: Site, action: str, form: dict[str, str], **headers: str) -> Any:
    client = site.api.client
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, site.reviewer)
    return client.post(
        f"/desk/review/{site.flagged}/{action}", data=form, headers={**PAGE, **headers},
        follow_redirects=False,
    )  # fmt: skip


def _approval_form(site: Site, key: str = "page-approval-0001", version: int = 1) -> dict[str, str]:
    return {
        "csrf_token": csrf_token(site.reviewer),
        "idempotency_key": key,
        "version": str(version),
        f"reason:{site.approved}": "型号相同但为阀门总成, 不是同一产品",
    }


def test_a_forged_cross_site_post_is_refused_and_records_nothing(site):
    ledger = site.api.state.ledger
    before = ledger.get_product(site.flagged).version
    forged = [
        _decide(site, "approval", _approval_form(site), Origin="https://evil.example"),
        _decide(site, "approval", _approval_form(site), **{"Sec-Fetch-Site": "cross-site"}),
        _decide(site, "approval", {**_approval_form(site), "csrf_token": "0" * 40}),
        _decide(
            site, "approval", {k: v for k, v in _approval_form(site).items() if k != "csrf_token"}
        ),
    ]
    for response in forged:
        assert response.status_code == 403, response.text[:300]
        assert "/problems/cross_site_request" in response.text
    assert ledger.get_product(site.flagged).version == before


def test_a_page_approval_goes_through_the_api_checks(site):
    ledger = site.api.state.ledger
    stale = _decide(site, "approval", _approval_form(site, "page-approval-stale", version=99))
    assert stale.status_code in (409, 412), stale.text[:300]
    assert ledger.get_product(site.flagged).status.value == "pending_review"
    no_reason = {k: v for k, v in _approval_form(site, "page-approval-open").items()
                 if not k.startswith("reason:")}  # fmt: skip
    refused = _decide(site, "approval", no_reason)
    assert refused.status_code == 409
    assert "candidates_open" in refused.text
    done = _decide(site, "approval", _approval_form(site))
    assert done.status_code == 303, done.text[:300]
    again = _decide(site, "approval", _approval_form(site))  # the same form submitted twice
    assert again.status_code == 303
    product = ledger.get_product(site.flagged)
    assert product.status.value == "approved"
    events = ledger.events.get(site.flagged)
    approvals = [e for e in events if type(e).__name__ == "FilingApproved"]
    assert len(approvals) == 1
    assert approvals[0].distinct == [
        {"product_id": str(site.approved), "reason": "型号相同但为阀门总成, 不是同一产品"}
    ]


def test_published_statistics_only_and_no_money_of_a_lone_filer(site):
    """The pages show publications, never live figures: a district with one filer has its
    money withheld (disclosure control), and a write after the publication changes nothing."""
    before = _get(site, "/statistics").text
    district = _get(site, "/statistics/310104").text  # 徐汇区: one filer
    assert "保密" in district
    assert '"sales_wan": [null]' in district  # the chart's data withholds it too
    assert " 万元</td>" not in district
    ledger = site.api.state.ledger
    approve_as_distinct(ledger, site.flagged)
    site.api.settle()
    assert _get(site, "/statistics").text == before
    assert _get(site, "/statistics/999999").status_code == 422
    assert _get(site, "/statistics/310999").status_code == 404


def test_anyone_checks_a_certificate_with_the_public_keys_alone(site):
    """The certificate's evidence (the product's FilingNumberAssigned event) is public: its
    bytes hold the number and the system as actor, nothing of who approved."""
    state = site.api.state
    site.api.client.cookies.clear()
    path = f"/products/{site.approved}/certificate/evidence.tlog-proof"
    evidence_text = site.api.client.get(path).text
    verified = verify_event_evidence(
        evidence_text,
        log_key=NoteVerifier.from_verifier_key_string(state.log.signer.verifier_key_string()),
        origin=site.api.settings.log_origin,
        event_keys=state.ledger.keyring.trusted_keys,
    )
    assert verified.originator_id == site.approved
    assert verified.topic.endswith("Product.FilingNumberAssigned")
    number = state.ledger.get_product(site.approved).filing_number
    assert verified.state["filing_number"] == number
    assert verified.state["actor"]["role"] == "system"
    page = _get(site, f"/products/{site.approved}/certificate").text
    assert number in page
    pdf = site.api.client.get(f"/products/{site.approved}/certificate.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    # other events of the product stay the filer's, its region's and the platform's
    approval = site.api.client.get(f"/v1/log/proofs/inclusion/event/{site.approved}/2")
    assert approval.status_code == 404
    pending = _get(site, f"/products/{site.flagged}/certificate")
    assert pending.status_code == 404  # not listed, no number


def test_a_hostile_decision_form_is_a_problem_and_records_nothing(site):
    """Whatever a signed-in page's form carries — more fields than any form has, header
    values that are not ASCII — the answer is a 4xx problem, never a 500, and nothing is
    recorded."""
    ledger = site.api.state.ledger
    before = ledger.get_product(site.flagged).version
    crowded = {**_approval_form(site), **{f"reason:{n}": "x" for n in range(300)}}
    assert _decide(site, "approval", crowded).status_code == 422
    for field in ("idempotency_key", "version"):
        typed = {**_approval_form(site, "page-approval-typed"), field: "备案号〇〇一二三四五"}
        response = _decide(site, "approval", typed)
        assert response.status_code == 422, response.text[:300]
    assert ledger.get_product(site.flagged).version == before
