"""The marketplace in a real headless Chromium (Debian's package, driven by Playwright), served
by `mesh serve`. Screenshots are kept under test-artifacts/marketplace/ (gitignored)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from market_support import XSS, XSS_PRODUCT

from support import REPO

pytestmark = pytest.mark.browser
ARTIFACTS = Path(os.environ.get("MESH_TEST_ARTIFACTS", REPO / "test-artifacts")) / "marketplace"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def server(market: Path) -> Iterator[str]:
    """`mesh serve --port 0` on the synced demo; yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "meshkit.cli.main", "serve", "--mesh", str(market), "--port", "0"],
        stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, f"mesh serve said: {line}"
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    exe = _chromium()
    if exe is None:
        pytest.skip("Debian's chromium is not installed (`make test` installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    errors: list[str] = []
    dialogs: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    yield p
    context.close()
    assert not errors, f"script errors: {errors}"
    assert not dialogs, f"a dialog opened: {dialogs}"


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_search_finds_a_product_by_a_column_name(server: str, page: Any) -> None:
    page.goto(server + "index.html")
    page.fill("#search", "national_id")
    results = page.locator("#results .hit")
    results.first.wait_for()
    texts = results.all_inner_texts()
    assert any("consumer_banking.consumer_demographics" in t and "column: national_id" in t
               for t in texts), texts
    visible = [c.get_attribute("data-address") for c in page.locator(".product-card:visible").all()]
    assert visible == ["consumer_banking.consumer_demographics"]
    shot(page, "search-national_id")
    page.fill("#search", "")
    page.select_option("#filter-classification", "sensitive")
    visible = [c.get_attribute("data-address") for c in page.locator(".product-card:visible").all()]
    assert visible == ["consumer_banking.consumer_credit_card_profile"]
    page.select_option("#filter-classification", "")
    page.select_option("#filter-domain", "risk")
    assert page.locator(".product-card:visible").count() == 1


def test_product_page_shows_schema_badges_consumers_and_lineage(server: str, page: Any) -> None:
    page.goto(server + "products/consumer_banking.consumer_demographics.html")
    schema = page.locator("#consumer_demographics_v2 table.schema")
    email = schema.locator("tr", has_text="email")
    assert email.locator(".badge.cls-pii").inner_text() == "pii"
    assert schema.locator(".badge.cls-internal").count() >= 3
    assert "GDPR" in email.inner_text().upper()
    consumers = page.locator("#consumers").inner_text()
    assert "risk" in consumers and "credit_risk_scorecard" in consumers
    svg = page.locator("#lineage svg.lineage")
    assert svg.count() == 1 and svg.locator("g.node").count() >= 2
    assert svg.bounding_box()["width"] > 200
    assert "filtered by role" in page.locator("#consumer_demographics_v2").inner_text()
    shot(page, "product-consumer_demographics")
    page.goto(server + "lineage.html")
    assert page.locator("#lineage svg g.node").count() >= 3
    shot(page, "lineage")
    page.goto(server + "governance.html")
    shot(page, "governance")


def test_a_script_in_a_description_renders_as_text(server: str, page: Any) -> None:
    page.goto(server + f"products/{XSS_PRODUCT}.html")
    assert XSS in page.locator("#description").inner_text()
    assert page.locator("#description script").count() == 0
    assert page.evaluate("document.querySelectorAll('main script').length") == 0
    page.goto(server + "index.html")
    page.fill("#search", "alert")  # the search index carries it too: shown as text
    page.locator("#results .hit").first.wait_for()
    assert XSS in page.locator("#results").inner_text()
    shot(page, "xss-as-text")
