"""An app that is closed is gone: nothing module-level keeps it, its routes and its stores.

Why: FastAPI keeps every endpoint and dependency it has classified in module-level caches
(``fastapi.dependencies.models``, 4,096 entries each). An endpoint that is a closure over its
app kept that app alive there — every app the test suite built, ~2.8 GB by its end (the docs
pages' endpoints, api/docs_pages.py). A process serves one app, but a process that builds apps
(tests, benchmarks, a supervisor) must not grow with each one.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import api_settings


def test_a_closed_app_is_collected_after_every_page_was_served(tmp_path: Path) -> None:
    def served() -> weakref.ref[object]:
        app = create_app(api_settings(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", tmp_path))
        with TestClient(app) as client:
            for path in ("/health", "/docs", "/redoc", "/openapi.json"):
                assert client.get(path).status_code == 200, path
            for path in ("/v1/products", "/v1/log/checkpoint", "/products"):  # no data: 404, 503
                assert client.get(path).status_code in {200, 404, 503}, path
        return weakref.ref(app)

    gone = served()
    gc.collect()
    assert gone() is None, [type(r).__name__ for r in gc.get_referrers(gone())]
