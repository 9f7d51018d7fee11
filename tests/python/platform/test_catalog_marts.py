"""The root project's catalog marts and governance tests, built with the real dbt over the
catalog of the built demo: the marts agree with catalog.json, and a governance violation
planted in the catalog tables fails `dbt build` on exactly that rule."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from meshkit.catalog.model import Catalog
from meshkit.catalog.sync import sync
from meshkit.config import load_mesh
from meshkit.platform_project import build_catalog_marts

DEMO_PRODUCTS = {
    "consumer_banking.consumer_credit_card_profile",
    "consumer_banking.consumer_demographics",
    "asset_management.consumer_asset_profile",
    "risk.credit_risk_scorecard",
}
GOVERNANCE = "test.mesh_platform.{}"
# Config, root project and artifacts of the built demo; not its data or warehouse.
_SKIP = shutil.ignore_patterns("*.duckdb", "*.duckdb.wal", "dbt_packages", "logs", "compiled",
                               "run", "*.msgpack", "*.gpickle", "data")


@pytest.fixture
def synced_demo(built_demo: Path, tmp_path: Path) -> Path:
    """A copy of the built demo synced into its own catalog (built_demo stays read-only)."""
    shutil.copytree(built_demo.parent, tmp_path / "demo", ignore=_SKIP)
    mesh_file = tmp_path / "demo" / "mesh.yml"
    sync(load_mesh(mesh_file))
    return mesh_file


def _rows(mesh_file: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(mesh_file.parent / "warehouse" / "mesh_catalog.duckdb"),
                         read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_marts_agree_with_catalog_json(synced_demo: Path) -> None:
    mesh = load_mesh(synced_demo)
    run = build_catalog_marts(mesh)
    assert run is not None
    assert run.success, run.errors
    assert run.models == 12 and run.tests > 20 and not run.failed_nodes
    catalog = Catalog.model_validate_json((synced_demo.parent / "catalog" / "catalog.json")
                                          .read_bytes())

    products = {r[0]: r[1:] for r in _rows(synced_demo, """
        select product_id, owner_email, tier, datasets_count, pass_rate, health,
               consumer_products_count
        from mesh_catalog.marts.mesh_products""")}
    assert set(products) == DEMO_PRODUCTS == {p.address for p in catalog.products()}
    for p in catalog.products():
        consumers = {c.product for ds in p.datasets for c in ds.consumers}
        assert products[p.address] == (p.owner.email, p.tier, len(p.datasets),
                                       p.quality.pass_rate, p.health.status.value,
                                       len(consumers)), p.address
    assert products["risk.credit_risk_scorecard"][-1] == 0
    # The demo complies with every contract and governance policy (one reviewed waiver).
    assert dict(_rows(synced_demo, """
        select product_id, compliance from mesh_catalog.marts.mesh_product_compliance""")) == {
        address: "compliant" for address in DEMO_PRODUCTS}
    # The regulation controls seed, joined to the regulated columns.
    controls = set(_rows(synced_demo, """
        select column_name, regulation, control from mesh_catalog.marts.mesh_regulated_columns
        where dataset_id = 'consumer_banking.consumer_demographics.consumer_demographics_v2'"""))
    assert {("email", "gdpr", "retention_declared"), ("email", "ccpa", "opt_out_honoured"),
            ("email", "gdpr", "residency_row_filter")} <= controls

    datasets = {r[0]: r[1:] for r in _rows(synced_demo, """
        select dataset_id, contract_enforced, columns_count, versions_count, is_deprecated
        from mesh_catalog.marts.mesh_datasets""")}
    assert set(datasets) == {ds.id for ds in catalog.datasets()}
    for ds in catalog.datasets():
        assert datasets[ds.id][:2] == (ds.contract_enforced, len(ds.columns)), ds.id
    v1 = datasets["consumer_banking.consumer_demographics.consumer_demographics_v1"]
    assert v1[2:] == (2, True)

    masked = {name for name, c in mesh.config.classifications.items() if c.mask != "none"}
    assert masked == {"pii", "sensitive", "confidential"}
    expected = {(ds.id, c.name, c.classification, ", ".join(c.regulations) or None)
                for ds in catalog.datasets() for c in ds.columns if c.classification in masked}
    expected |= {(a.unique_id, c.name, c.classification, ", ".join(c.regulations) or None)
                 for d in catalog.domains for a in d.adhoc_datasets for c in a.columns
                 if c.classification in masked}
    classified = set(_rows(synced_demo, """
        select dataset_id, column_name, classification, regulations
        from mesh_catalog.marts.mesh_classified_columns"""))
    assert classified == expected
    assert {"pii", "sensitive", "confidential"} == {row[2] for row in classified}

    edges = set(_rows(synced_demo, """
        select upstream_dataset_id, downstream_unique_id, downstream_product_id
        from mesh_catalog.marts.mesh_cross_domain_lineage"""))
    assert edges == {(e.upstream_dataset, e.downstream, e.downstream_product)
                     for e in catalog.lineage}
    assert {e[2] for e in edges} == {"risk.credit_risk_scorecard"}


def test_governance_violation_fails_the_build(synced_demo: Path) -> None:
    # Plant two violations in the synced tables: an active product without an owner email, and
    # a pii column without a regulation.
    con = duckdb.connect(str(synced_demo.parent / "warehouse" / "mesh_catalog.duckdb"))
    try:
        con.execute("""update mesh_catalog.mesh_catalog.products set owner_email = null
                       where product_id = 'risk.credit_risk_scorecard'""")
        con.execute("""update mesh_catalog.mesh_catalog.columns set regulations = '[]'
                       where column_name = 'email' and classification = 'pii'""")
    finally:
        con.close()
    run = build_catalog_marts(load_mesh(synced_demo))
    assert run is not None and not run.success
    assert set(run.failed_nodes) == {GOVERNANCE.format("active_products_have_owner_email"),
                                     GOVERNANCE.format("pii_columns_have_regulations")}
    assert any("active_products_have_owner_email" in e and "Got 1 result" in e
               for e in run.errors), run.errors


def test_no_marts_off_duckdb(built_demo: Path) -> None:
    # The demo's prod target is Snowflake: the root profile has only a DuckDB output.
    assert build_catalog_marts(load_mesh(built_demo), "prod") is None
