"""The marketplace site as mesh-sync writes it: self-contained, escaped, saying what it must."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from market_support import XSS, XSS_PRODUCT, copy_built
from markupsafe import escape

from meshkit.catalog.store import require_catalog
from meshkit.catalog.sync import sync
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


def test_product_pages_kept_from_the_last_sync_are_the_pages_it_would_render(
        market: Path, tmp_path: Path) -> None:
    """A product page, or the governance page, is taken from the last sync's folder only while
    everything it shows is as it was: the site is byte for byte the one rendered without the
    cache, one product's change renders that page only, a change every page shows renders them
    all, a violation recorded renders the governance page, and a page edited by hand in the
    folder is rendered again."""
    from meshkit.marketplace.site import PageCache, gather_inputs, product_page, render_site

    mesh = load_mesh(market)
    catalog = require_catalog(mesh.catalog_dir)
    inputs = gather_inputs(mesh, None)
    fresh = render_site(mesh, catalog, inputs)
    products = [product_page(p.address) for p in catalog.products()]
    assert len(products) >= 4
    kept = [*products, "governance.html"]
    previous = tmp_path / "site"
    for rel, data in fresh.items():
        (previous / rel).parent.mkdir(parents=True, exist_ok=True)
        (previous / rel).write_bytes(data)
    record = tmp_path / "pages.json"

    def render(cat: object, ins: object = inputs) -> tuple[dict[str, bytes], int]:
        pages = PageCache(record, previous)
        out = render_site(mesh, cat, ins, pages)  # type: ignore[arg-type]
        pages.save()
        return out, pages.served

    assert render(catalog) == (fresh, 0)  # nothing recorded yet
    assert render(catalog) == (fresh, len(kept))

    (previous / products[0]).write_text("<p>edited by hand</p>")
    assert render(catalog) == (fresh, len(kept) - 1)
    assert render(catalog) == (fresh, len(kept) - 1)  # the hand edit is still not believed
    (previous / products[0]).write_bytes(fresh[products[0]])
    render(catalog)

    changed = catalog.model_copy(deep=True)
    target = changed.products()[1]
    target.description = "Described anew by its domain."
    out, served = render(changed)
    assert out == render_site(mesh, changed, inputs) and served == len(kept) - 1
    assert b"Described anew by its domain." in out[product_page(target.address)]

    render(catalog)
    flagged = dataclasses.replace(inputs, violations=[
        {"rule": "product.description", "severity": "error", "domain": "risk",
         "node": "group.risk.credit_risk_scorecard", "message": "Recorded by this sync.",
         "fix": "describe it"}])
    out, served = render(catalog, flagged)
    assert out == render_site(mesh, catalog, flagged) and served == len(products)
    assert b"Recorded by this sync." in out["governance.html"]
    assert out["governance.html"] != fresh["governance.html"]

    renamed = catalog.model_copy(update={"mesh": "another_mesh"})  # in every page's header
    out, served = render(renamed)
    assert out == render_site(mesh, renamed, inputs) and served == 0

    from meshkit.marketplace.site import SiteInputs

    read = catalog.products()[2]
    entry = {"product": read.address, "event": "approved", "role": "analyst", "at": "2026-11-01"}
    audited = SiteInputs(grants=inputs.grants, requests=inputs.requests,
                         audit={**inputs.audit, read.address: [entry]},
                         reads=inputs.reads, waivers=inputs.waivers)
    render(catalog)
    out, served = render(catalog, audited)
    assert out == render_site(mesh, catalog, audited) and served == len(kept) - 1


def test_a_product_page_is_given_everything_it_shows(market: Path) -> None:
    """What each cached page's template (the product page's, the governance page's, and the
    page they extend) names is in the context the cache's digest covers: a name added to the
    template without its value would render as empty."""
    import jinja2.meta

    from meshkit.marketplace.site import (
        PRODUCT_TEMPLATE,
        PageCache,
        _env,
        gather_inputs,
        render_site,
    )

    env = _env()

    def named(template: str) -> set[str]:
        names: set[str] = set()
        for name in (template, "base.html.j2", "_macros.html.j2"):
            source = env.loader.get_source(env, name)[0]
            names |= jinja2.meta.find_undeclared_variables(env.parse(source))
        return names - {"m"}  # m: the macros the template imports

    given: dict[str, set[str]] = {}

    class Recording(PageCache):
        def key(self, template: str, context: object) -> str | None:  # type: ignore[override]
            given.setdefault(template, set()).update(context)  # type: ignore[arg-type]
            return super().key(template, context)  # type: ignore[arg-type]

    mesh = load_mesh(market)
    render_site(mesh, require_catalog(mesh.catalog_dir), gather_inputs(mesh, None),
                Recording(None, None))
    assert set(given) == {PRODUCT_TEMPLATE, "governance.html.j2"}
    for template, context in given.items():
        assert named(template) <= context, template
    assert {"catalog", "product"} <= given[PRODUCT_TEMPLATE]
    assert {"catalog", "governance"} <= given["governance.html.j2"]


def test_the_governance_page_shows_the_violations_the_sync_recorded(built_demo: Path,
                                                                    tmp_path: Path) -> None:
    mesh_file = copy_built(built_demo, tmp_path / "mesh")
    catalog_dir = mesh_file.parent / "catalog"
    sync(load_mesh(mesh_file))
    clean = (catalog_dir / "site" / "governance.html").read_text()
    assert '<span class="n">0</span><span>violations' in clean
    assert "No policy check is recorded" not in clean  # a check ran and found nothing
    # A product left without a description, as a domain built elsewhere could deliver it.
    manifest = mesh_file.parent / "domains" / "risk" / "target" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["groups"]["group.risk.credit_risk_scorecard"]["description"] = ""
    manifest.write_text(json.dumps(data))

    sync(load_mesh(mesh_file))

    recorded = json.loads((catalog_dir / "violations.json").read_text())["violations"]
    assert any(v["rule"] == "product.description" and v["domain"] == "risk" for v in recorded)
    page = (catalog_dir / "site" / "governance.html").read_text()
    assert f'<span class="n">{len(recorded)}</span><span>violations' in page
    for v in recorded:
        assert str(escape(v["message"])) in page  # as Jinja escapes it
    assert "<td>risk</td>" in page.split("Violations by domain")[1].split("</table>")[0]


def test_the_server_answers_only_requests_addressed_to_the_loopback(tmp_path: Path) -> None:
    """A page elsewhere that points a name of its own at 127.0.0.1 (DNS rebinding) gets nothing:
    its requests carry that name in Host."""
    import http.client
    import threading

    from meshkit.marketplace.serve import make_server

    (tmp_path / "index.html").write_text("<p>catalog</p>")
    server = make_server(tmp_path, port=0)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def status(host: str | None, method: str = "GET") -> int:
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            con.putrequest(method, "/index.html", skip_host=True)
            if host is not None:
                con.putheader("Host", host)
            con.endheaders()
            response = con.getresponse()
            body = response.read()
            assert (b"catalog" in body) == (response.status == 200 and method == "GET")
            return response.status
        finally:
            con.close()

    try:
        assert status(f"127.0.0.1:{port}") == 200
        assert status(f"LOCALHOST:{port}") == 200
        assert status(f"127.0.0.1:{port}", "HEAD") == 200
        assert status(f"rebind.example:{port}") == 403
        assert status(f"rebind.example:{port}", "HEAD") == 403
        assert status("127.0.0.1:1") == 403
        assert status(None) == 403
    finally:
        server.shutdown()
        server.server_close()
