"""Fixtures for the web pages: a seeded ledger behind the app, and a real headless Chromium.

``site`` holds what the page tests look at: two filers in two districts, an approved product,
one with a hostile name, a near-duplicate awaiting review, published statistics, and tokens of
a reviewer and of a regional administrator. ``served`` runs the same app under uvicorn on a
free local port for the browser; ``browser`` is Debian's chromium driven by Selenium through
chromium-driver (no browser download at run time). With CI=true a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.publishing import publish_period
from domain.actor import Role
from domain.declarations import PatentDeclaration
from tests.api.conftest import Api, api_settings
from tests.domain.factories import (
    approve_as_distinct,
    approved_filer,
    file,
    patent,
    uscc,
)
from tests.served import serve

HOSTILE_NAME = "<script>alert(1)</script><img src=x onerror=alert(2)>javascript:alert(3)"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(os.environ.get("PPL_SCREENSHOTS", "build/screenshots"))


@dataclass
class Site:
    api: Api
    approved: UUID  # 浦东新区, approved, with a filing number
    hostile: UUID  # 浦东新区, approved, named HOSTILE_NAME
    flagged: UUID  # 徐汇区, pending review, a near-duplicate of ``approved``
    other_district: UUID  # 徐汇区, approved
    reviewer: str
    regional_admin: str  # of 310115 (浦东新区)


def seed(api: Api) -> Site:
    ledger = api.state.ledger
    pudong, xuhui = uscc(701, region="310115"), uscc(702, region="310104")
    pudong_filer = approved_filer(ledger, pudong, region="310115")
    xuhui_filer = approved_filer(ledger, xuhui, region="310104")
    approved = file(ledger, pudong, pudong_filer, name="智能温控阀", model="TV-100",
                    patents=[_owned(patent(701))])  # fmt: skip
    approve_as_distinct(ledger, approved)
    hostile = file(ledger, pudong, pudong_filer, name=HOSTILE_NAME, model="javascript:alert(4)",
                   patents=[_owned(patent(703))])  # fmt: skip
    approve_as_distinct(ledger, hostile)
    other = file(ledger, xuhui, xuhui_filer, name="工业激光切割机", model="LC-9",
                 patents=[_owned(patent(704))])  # fmt: skip
    approve_as_distinct(ledger, other)
    # the same model under another name, by another filer: screening flags it (same_model)
    flagged = file(ledger, xuhui, xuhui_filer, name="智能温控阀门", model="TV-100",
                   patents=[_owned(patent(705))])  # fmt: skip
    api.settle()
    publish_period(api.state.ledger, api.state.projections, "2026-11", api.settings.disclosure)
    api.settle()
    return Site(
        api=api,
        approved=approved,
        hostile=hostile,
        flagged=flagged,
        other_district=other,
        reviewer=api.token(Role.REVIEWER),
        regional_admin=api.token(Role.REGIONAL_ADMIN, "310115"),
    )


def _owned(number: str) -> PatentDeclaration:
    return PatentDeclaration.parse(number, "owner")


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    settings = api_settings(database_url, tmp_path)
    with TestClient(create_app(settings)) as client:
        yield seed(Api(client, settings))


# --- the browser --------------------------------------------------------------------------------
@dataclass
class Served:
    site: Site
    origin: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The seeded app (SQLite) under uvicorn, for the browser: one per test module."""
    root = tmp_path_factory.mktemp("served")
    settings = api_settings(f"sqlite:///{root / 'ledger.sqlite3'}", root)
    app = create_app(settings)
    with serve(app) as origin, TestClient(app) as client:  # one app object: one state
        site = seed(Api(client, settings))
        yield Served(site, origin)


def _browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            return f"{path} is not installed (Debian packages chromium and chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _browser_missing()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,1600", "--lang=zh-CN"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str) -> Path:
    """Keep a screenshot of the page as a test artefact (build/screenshots by default)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
