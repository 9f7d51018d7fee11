"""The marketplace site as mesh-sync writes it: self-contained, escaped, saying what it must."""

from __future__ import annotations

import re
from pathlib import Path

from market_support import XSS, XSS_PRODUCT

from meshkit.catalog.store import require_catalog
from meshkit.config import load_mesh


def site_files(market: Path) -> dict[str, str]:
    site = market.parent / "catalog" / "site"
    return {str(p.relative_to(site)): p.read_text() for p in site.rglob("*") if p.is_file()}


def test_every_page_is_written_and_nothing_is_loaded_from_elsewhere(market: Path) -> None:
    files = site_files(market)
    catalog = require_catalog(load_mesh(market).catalog_dir)
    expected = {"index.html", "lineage.html", "governance.html", "assets/style.css",
                "assets/app.js", "assets/search-index.js", "assets/domains.css",
                *(f"products/{p.address}.html" for p in catalog.products()),
                *(f"domains/{d.name}.html" for d in catalog.domains)}
    assert set(files) == expected
    for name, text in files.items():
        for url in re.findall(r'(?:src|href)="([^"]*)"', text):
            assert not re.match(r"^(https?:)?//", url), f"{name} loads {url}"
        assert "@import" not in text and "url(http" not in text, name


def test_a_script_in_a_description_is_text_everywhere(market: Path) -> None:
    files = site_files(market)
    assert any(XSS.replace("<", "&lt;").replace(">", "&gt;") in t for t in files.values())
    for name, text in files.items():
        assert XSS not in text, f"{name} carries the script unescaped"
    assert "<b>not bold</b>" not in files[f"products/{XSS_PRODUCT}.html"]


def test_the_catalog_and_the_product_page_say_rows_are_filtered_by_role(market: Path) -> None:
    catalog = require_catalog(load_mesh(market).catalog_dir)
    ds = next(d for d in catalog.datasets()
              if d.id == "consumer_banking.consumer_demographics.consumer_demographics_v2")
    assert ds.row_filter is not None and ds.row_filter.name == "eu_residency"
    assert ds.row_filter.column == "region" and ds.row_filter.restricted_values == ["EU"]
    assert {"eu_data_reader", "compliance_officer"} <= set(ds.row_filter.cleared)
    page = site_files(market)["products/consumer_banking.consumer_demographics.html"]
    assert "filtered by role" in page and "eu_data_reader" in page
    # Who unmasks what, from mesh.yml: pii is unmasked for pii_reader and who holds it.
    clearances = page.split("Who sees what")[1].split("</table>")[0]
    pii_row = next(r for r in clearances.split("<tr>") if "cls-pii" in r)
    assert "pii_reader" in pii_row and "compliance_officer" in pii_row and "analyst" not in pii_row


def test_lineage_is_an_svg_of_the_cross_domain_reads(market: Path) -> None:
    files = site_files(market)
    svg = files["lineage.html"].split('<div class="svgwrap" id="lineage">')[1].split("</svg>")[0]
    assert svg.lstrip().startswith("<svg") and "<path" in svg
    assert "consumer_demographics_v2" in svg and "risk" in svg
