"""Swagger UI and ReDoc come from the app itself: the pages name no other address, and every
asset they load is served here."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

#: Any absolute http(s) address.
ADDRESS = re.compile(rb"https?://[^\s\"'<>)]+")
ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_page_and_its_assets_name_no_other_address(client: TestClient, page: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200
    assert "text/html" in answer.headers["content-type"]
    assert ADDRESS.findall(answer.content) == []
    assets = ASSET.findall(answer.text)
    assert len(assets) >= 2, assets  # the script and the icon (and the style sheet)
    assert "/openapi.json" in answer.text
    for asset in assets:
        assert asset.startswith("/docs/assets/"), asset
        fetched = client.get(asset)
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > 0
        if asset.endswith(".css"):
            # a style sheet that loads nothing from elsewhere (fonts, images)
            assert re.findall(rb"url\(\s*[\"']?https?:", fetched.content) == [], asset


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_browser_is_told_to_load_from_the_app_only(client: TestClient, page: str) -> None:
    """ReDoc's script would fetch its logo from a CDN: the policy refuses it."""
    policy = client.get(page).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    for name in ("script-src", "img-src", "connect-src", "font-src", "style-src"):
        sources = directives[name].split()
        assert sources[0] == "'self'", name
        assert not [s for s in sources if s.startswith(("http", "*"))], name
        assert "'unsafe-inline'" not in sources or name == "style-src", name


def test_swagger_ui_asks_no_public_validator(client: TestClient) -> None:
    """Swagger UI would otherwise fetch a badge from validator.swagger.io."""
    assert '"validatorUrl": null' in client.get("/docs").text


def test_the_page_scripts_are_the_packaged_ones(client: TestClient) -> None:
    swagger = client.get("/docs/assets/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in swagger.content
    assert "javascript" in swagger.headers["content-type"]
    redoc = client.get("/docs/assets/redoc.standalone.js")
    assert b"Redoc" in redoc.content
