"""The pages in a real headless Chromium (Debian's chromium through chromium-driver).

Search → product → certificate; the in-browser verification passes, and after one stored byte
is changed fails naming the event; with witness keys pasted it requires their valid
cosignatures (WebCrypto Ed25519 over cosignature/v1) and names the witnesses; the witness
policy checked is the page's (data-witness-policy), the document's must equal it; a reviewer
approves a flagged filing with its reasons; a regional administrator sees its district only;
hostile names stay text; no request leaves the site. Screenshots are kept in build/screenshots
(PPL_SCREENSHOTS) as artefacts.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from audit.log.witness_store import StoredCosignature
from tests.web.conftest import HOSTILE_NAME, Served, screenshot
from tests.web.cosigner import Cosigner, now

pytestmark = pytest.mark.browser
WAIT = 20  # seconds


def _wait(driver: Any) -> WebDriverWait[Any]:
    return WebDriverWait(driver, WAIT)


def _no_alert(driver: Any) -> None:
    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        return
    text = alert.text
    alert.dismiss()
    pytest.fail(f"a script ran: alert {text!r}")


def _sign_in(driver: Any, served: Served, token: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{served.origin}/signin")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form[action='/signin'] button").click()
    _wait(driver).until(lambda d: "/signin" not in d.current_url)


def test_search_then_product_then_certificate(browser, served):
    site = served.site
    browser.delete_all_cookies()
    browser.get(served.origin + "/")
    box = browser.find_element(By.ID, "q")
    box.send_keys("温控")
    box.submit()
    _wait(browser).until(expected_conditions.presence_of_element_located(
        (By.CSS_SELECTOR, f"a[href='/products/{site.approved}']")))  # fmt: skip
    screenshot(browser, "search")
    browser.find_element(By.CSS_SELECTOR, f"a[href='/products/{site.approved}']").click()
    _wait(browser).until(expected_conditions.title_contains("智能温控阀"))
    assert "审核通过" in browser.find_element(By.CSS_SELECTOR, "table.trail").text
    screenshot(browser, "product")
    browser.find_element(By.CSS_SELECTOR, "a[href$='/certificate']").click()
    number = _wait(browser).until(expected_conditions.presence_of_element_located(
        (By.CSS_SELECTOR, ".filing-number"))).text  # fmt: skip
    assert number.count("-") == 2
    assert number.startswith("20")
    assert browser.find_element(By.CSS_SELECTOR, ".qr svg") is not None
    screenshot(browser, "certificate")
    pdf = browser.execute_script(
        "return fetch(arguments[0]).then(r => [r.status, r.headers.get('content-type')])",
        f"{served.origin}/products/{site.approved}/certificate.pdf",
    )
    assert pdf == [200, "application/pdf"]


def _verify(browser: Any, served: Served, product: Any) -> list[str]:
    browser.get(f"{served.origin}/products/{product}")
    browser.find_element(By.ID, "verify-run").click()
    _wait(browser).until(lambda d: d.find_element(By.ID, "verification").get_attribute(
        "data-state") in ("passed", "failed"))  # fmt: skip
    section = browser.find_element(By.ID, "verification")
    return [section.get_attribute("data-state"), section.text]


def test_verification_passes_and_names_the_event_after_one_byte_changes(browser, served):
    site = served.site
    _sign_in(browser, served, site.regional_admin)  # sees the events' bytes (its region)
    state, text = _verify(browser, served, site.approved)
    assert state == "passed", text
    screenshot(browser, "verification-passed")
    database = urlsplit(site.api.settings.database_url).path
    with sqlite3.connect(database) as conn:
        (table,) = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE '%events' AND type = 'table' "
            "AND name NOT LIKE 'projection%'")][:1]  # fmt: skip
        row = conn.execute(
            f"SELECT rowid, state FROM {table} WHERE originator_id = ? AND originator_version = 1",
            (site.approved.hex,),
        ).fetchone()
        if row is None:
            row = conn.execute(
                f"SELECT rowid, state FROM {table} WHERE originator_id = ? "
                "AND originator_version = 1", (str(site.approved),),
            ).fetchone()  # fmt: skip
        rowid, stored = row
        changed = bytearray(stored)
        changed[-2] ^= 0x01  # one byte of the canonical JSON
        conn.execute(f"UPDATE {table} SET state = ? WHERE rowid = ?", (bytes(changed), rowid))
    try:
        state, text = _verify(browser, served, site.approved)
        screenshot(browser, "verification-failed")
        assert state == "failed", text
        assert f"{site.approved}" in text
        assert "1" in text
    finally:
        with sqlite3.connect(database) as conn:
            conn.execute(f"UPDATE {table} SET state = ? WHERE rowid = ?", (stored, rowid))


def test_pasted_witness_keys_require_their_cosignatures(browser, served):
    site = served.site
    log = site.api.state.log
    record = log.store.latest_checkpoint()
    assert record is not None
    cosigner, absent = Cosigner("witness.test/browser"), Cosigner("witness.test/absent")
    stamp = now()
    label = f"{cosigner.name}+{cosigner.key_id.hex()}"
    line = cosigner.line(record.signed_note, stamp)
    log.witnesses.add_cosignature(
        StoredCosignature(
            record.tree_size, label, line, stamp, "2026-01-01T00:00:00Z", root=record.root
        )
    )

    def verify_with(keys: str, threshold: str) -> tuple[str, str]:
        browser.delete_all_cookies()
        browser.get(f"{served.origin}/products/{site.approved}")
        browser.find_element(By.CSS_SELECTOR, ".verification-override summary").click()
        browser.find_element(By.ID, "verify-witness-keys").send_keys(keys)
        browser.find_element(By.ID, "verify-witness-threshold").send_keys(threshold)
        browser.find_element(By.ID, "verify-run").click()
        _wait(browser).until(lambda d: d.find_element(By.ID, "verification").get_attribute(
            "data-state") in ("passed", "failed"))  # fmt: skip
        state = browser.find_element(By.ID, "verification").get_attribute("data-state")
        return state, browser.find_element(By.CSS_SELECTOR, "li[data-check=witnesses]").text

    state, text = verify_with(f"{cosigner.vkey}\n{absent.vkey}", "1")
    assert state == "passed", text
    assert "见证联署满足要求" in text
    assert cosigner.name in text
    browser.execute_script(
        "arguments[0].scrollIntoView()", browser.find_element(By.ID, "verify-summary")
    )
    screenshot(browser, "verification-witnessed")
    state, text = verify_with(f"{cosigner.vkey}\n{absent.vkey}", "")  # default: all of them
    assert state == "failed", text
    assert "见证联署未满足要求" in text
    assert "缺少见证策略要求的有效联署" in text


def test_the_page_checks_its_own_witness_policy_not_the_documents(browser, served):
    """The section's data-witness-policy, as Chromium parses it, is the document's policy;
    a page showing a quorum the document does not carry fails the verification."""
    site = served.site
    browser.delete_all_cookies()
    browser.get(f"{served.origin}/products/{site.approved}")
    section = browser.find_element(By.ID, "verification")
    document = browser.execute_script(
        "return fetch(arguments[0]).then(r => r.json())", section.get_attribute("data-url")
    )
    shown = json.loads(section.get_attribute("data-witness-policy"))
    served_policy = document["keys"]["witnesses"]
    assert shown == {part: served_policy[part] for part in ("quorum", "witnesses", "groups")}

    cosigner = Cosigner("witness.test/page")
    page_policy = {
        "quorum": "w",
        "witnesses": [{"name": "w", "vkey": cosigner.vkey}],
        "groups": [],
    }  # what a page showing a quorum would hold; the document's has none
    browser.execute_script(
        "arguments[0].setAttribute('data-witness-policy', arguments[1])",
        section,
        json.dumps(page_policy),
    )
    browser.find_element(By.ID, "verify-run").click()
    _wait(browser).until(lambda d: d.find_element(By.ID, "verification").get_attribute(
        "data-state") in ("passed", "failed"))  # fmt: skip

    assert section.get_attribute("data-state") == "failed"
    text = browser.find_element(By.CSS_SELECTOR, "li[data-check=witnesses]").text
    assert "文档中的见证策略与本页显示的见证策略不一致" in text
    assert cosigner.name in text  # the page's quorum, in words


def test_a_reviewer_approves_a_flagged_filing_with_its_reasons(browser, served):
    site = served.site
    _sign_in(browser, served, site.reviewer)
    browser.get(f"{served.origin}/desk/review/{site.flagged}")
    candidate = browser.find_element(By.CSS_SELECTOR, f"[data-candidate='{site.approved}']")
    reasons = [
        e.get_attribute("data-reason") for e in candidate.find_elements(By.CLASS_NAME, "reason")
    ]
    assert reasons, candidate.text
    assert "智能温控阀" in candidate.text
    assert "智能温控阀门" in candidate.text
    screenshot(browser, "review")
    reason = "阀门总成与温控阀不是同一产品"
    browser.find_element(By.ID, f"reason-{site.approved}").send_keys(reason)
    browser.find_element(By.ID, "approve").click()
    _wait(browser).until(lambda d: "decided=approval" in d.current_url)
    assert browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    screening = site.api.state.ledger.screening_of(site.flagged)
    assert [c.distinct_reason for c in screening.candidates] == [reason]
    assert site.api.state.ledger.get_product(site.flagged).status.value == "approved"
    assert set(reasons) == set(screening.candidates[0].reasons)


def test_a_regional_admin_sees_its_district_only(browser, served):
    site = served.site
    _sign_in(browser, served, site.regional_admin)
    assert urlsplit(browser.current_url).path == "/desk/region"
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "智能温控阀" in page
    assert "工业激光切割机" not in page
    screenshot(browser, "region")
    browser.get(f"{served.origin}/desk/review")
    assert "403" in browser.find_element(By.TAG_NAME, "h1").text


def test_a_hostile_name_is_text_on_every_page(browser, served):
    site = served.site
    _sign_in(browser, served, site.regional_admin)
    pages = ["/?q=script", f"/products/{site.hostile}", f"/products/{site.hostile}/certificate",
             "/desk/region"]  # fmt: skip
    for path in pages:
        browser.get(served.origin + path)
        _no_alert(browser)
        assert HOSTILE_NAME in browser.find_element(By.TAG_NAME, "main").text, path
        injected = browser.execute_script(
            "return document.querySelectorAll('main img, main script').length"
        )
        assert injected == 0, path
        for link in browser.find_elements(By.CSS_SELECTOR, "a[href]"):
            assert not link.get_attribute("href").lower().startswith("javascript:"), path


def test_no_page_loads_anything_from_another_host(browser, served):
    site = served.site
    _sign_in(browser, served, site.reviewer)
    browser.get_log("performance")  # drop what came before
    for path in ("/", f"/products/{site.approved}", f"/products/{site.approved}/certificate",
                 "/rounds", "/statistics", "/desk/review", "/desk/audit",
                 f"/desk/review/{site.flagged}"):  # fmt: skip
        browser.get(served.origin + path)
    requested = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            requested.add(message["params"]["request"]["url"])
    assert requested, "no request was recorded"
    foreign = {url for url in requested if not url.startswith((served.origin, "data:"))}
    assert foreign == set(), foreign
    errors = [e for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]
    assert errors == [], errors


def test_the_search_works_from_the_keyboard(browser, served):
    """Tab reaches the skip link first; the search is typed and sent without a mouse."""
    from selenium.webdriver.common.keys import Keys

    browser.delete_all_cookies()
    browser.get(served.origin + "/")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("class") == "skip"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    for _ in range(30):  # on through the header's links to the search box
        if browser.switch_to.active_element.get_attribute("id") == "q":
            break
        browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "q"
    browser.switch_to.active_element.send_keys("温控", Keys.ENTER)
    _wait(browser).until(lambda d: "q=" in d.current_url)
    assert f"/products/{served.site.approved}" in browser.page_source
