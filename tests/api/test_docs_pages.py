"""The API reference pages load nothing from another host, under a Content-Security-Policy."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize(("page", "script"), [("/docs", "swagger-ui-bundle.js"),
                                              ("/redoc", "redoc.standalone.js")])  # fmt: skip
def test_a_reference_page_is_served_from_the_package_under_a_policy(api, page, script):
    response = api.client.get(page)
    assert response.status_code == 200
    html = response.text
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", html), "a third-party asset"
    assert f"/static/docs/{script}" in html
    policy = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert all(f'nonce="{nonce.group(1)}"' in attrs for attrs in inline)
    assert inline or page == "/redoc"  # Swagger UI starts from an inline script
    asset = api.client.get(f"/static/docs/{script}")
    assert asset.status_code == 200
    assert len(asset.content) > 100_000
    again = api.client.get(page).headers["content-security-policy"]
    assert again != policy  # a nonce per response
