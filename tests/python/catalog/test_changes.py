"""The change list: drawn from each catalog's summary, kept beside catalog.json only for its bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson

from meshkit.catalog.changes import (
    SUMMARY_FILE,
    CatalogSummary,
    changes_between,
    previous_summary,
)
from meshkit.catalog.model import AdhocDataset, Catalog, Consumer, HealthStatus
from meshkit.catalog.sync import sync
from meshkit.config import load_mesh


def _catalog(mesh_file: Path) -> Catalog:
    return Catalog.model_validate_json((mesh_file.parent / "catalog" / "catalog.json").read_bytes())


def test_each_kind_of_change_is_listed(fixture_mesh: Path) -> None:
    sync(load_mesh(fixture_mesh))
    before = _catalog(fixture_mesh)
    after = before.model_copy(deep=True)
    domains = {d.name: d for d in after.domains}
    gone = domains["fx_bank"].products.pop()
    scores = domains["fx_risk"].products[0]
    scores.health.status = HealthStatus.degraded
    card = scores.datasets[0]
    card.columns[0].description = "changed"
    card.contract_enforced = not card.contract_enforced
    card.consumers.append(Consumer(kind="exposure", ref="x", unique_id="exposure.fx_bank.x",
                                   domain="fx_bank"))
    domains["fx_risk"].adhoc_datasets.append(
        AdhocDataset(unique_id="model.fx_risk.scratch", name="scratch", relation="scratch"))

    listed = changes_between(CatalogSummary.of(before, ""), CatalogSummary.of(after, ""))

    assert listed == [
        f"- product {gone.address}",
        f"~ product {scores.address}: health healthy → degraded",
        *sorted(f"- dataset {d.id}" for d in gone.datasets),
        f"~ dataset {card.id}: columns changed",
        f"~ dataset {card.id}: contract enforced {card.contract_enforced}",
        f"~ dataset {card.id}: consumers changed",
        "+ ad-hoc model.fx_risk.scratch",
    ]
    assert changes_between(CatalogSummary.of(after, ""), CatalogSummary.of(after, "")) == []
    assert changes_between(None, CatalogSummary.of(before, "")) == (
        [f"+ product {p.address}" for p in before.products()]
        + [f"+ dataset {d.id}" for d in before.datasets()])


def test_the_summary_is_that_of_the_catalog_json_beside_it(fixture_mesh: Path) -> None:
    sync(load_mesh(fixture_mesh))
    folder = fixture_mesh.parent / "catalog"
    data = (folder / "catalog.json").read_bytes()
    kept = CatalogSummary.model_validate_json((folder / SUMMARY_FILE).read_bytes())
    assert kept.catalog == hashlib.sha256(data).hexdigest()
    assert kept == CatalogSummary.of(_catalog(fixture_mesh), kept.catalog)
    assert previous_summary(folder) == kept


def test_a_summary_not_of_this_catalog_json_is_not_believed(fixture_mesh: Path) -> None:
    mesh = load_mesh(fixture_mesh)
    sync(mesh)
    folder = fixture_mesh.parent / "catalog"
    # catalog.json edited by hand: a product taken out. Its summary still lists the product;
    # the next sync must compare against the file as it is and list the product as new.
    doc = orjson.loads((folder / "catalog.json").read_bytes())
    product = doc["domains"][1]["products"].pop(0)
    (folder / "catalog.json").write_bytes(orjson.dumps(doc))
    assert (folder / SUMMARY_FILE).is_file()

    again = sync(mesh)

    assert f"+ product {product['address']}" in again.changes
    # A damaged summary is made again from catalog.json.
    (folder / SUMMARY_FILE).write_bytes(b"{not json")
    made = previous_summary(folder)
    assert made == CatalogSummary.of(_catalog(fixture_mesh), made.catalog if made else "")
