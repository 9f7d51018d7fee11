"""The demo mesh (domains/ built by `mesh build`'s library) synced: its products, datasets,
owners, classifications, versions, consumers and health; warehouse tables; own time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from catalog_support import REPO

from meshkit.backends.duckdb.catalog_store import read_table
from meshkit.catalog.sync import SKIPPED, sync
from meshkit.config import load_mesh

pytestmark = pytest.mark.skipif(not (REPO / "domains").is_dir(), reason="no demo domains/")

DEMO_PRODUCTS = {
    "consumer_banking.consumer_credit_card_profile",
    "consumer_banking.consumer_demographics",
    "asset_management.consumer_asset_profile",
    "risk.credit_risk_scorecard",
}
_SKIP = shutil.ignore_patterns("*.duckdb", "*.duckdb.wal", "dbt_packages", "logs", "compiled",
                               "run", "*.msgpack", "*.gpickle", "data")


@pytest.fixture
def demo_copy(built_demo: Path, tmp_path: Path) -> Path:
    """The built demo's config and artifacts (not its data) in a folder of our own."""
    shutil.copytree(built_demo.parent, tmp_path / "demo", ignore=_SKIP)
    return tmp_path / "demo" / "mesh.yml"


def test_demo_products_consumers_and_health(built_demo: Path) -> None:
    cat = sync(load_mesh(built_demo), dry_run=True).catalog
    products = {p.address: p for p in cat.products()}
    assert set(products) == DEMO_PRODUCTS
    for p in products.values():
        assert p.owner.name and p.owner.email, p.address
        assert p.datasets, p.address
        for ds in p.datasets:
            assert ds.contract_enforced, ds.id
            assert ds.columns and all(c.data_type for c in ds.columns), ds.id
            assert ds.quality.tests and ds.quality.pass_rate is not None, ds.id
            assert ds.operational.last_build_status == "success", ds.id
        assert p.health.status in ("healthy", "caution"), (p.address, p.health.reasons)
    # Risk consumes every other domain's products through cross-domain refs.
    risk = products["risk.credit_risk_scorecard"]
    upstream = {port.domain for port in risk.input_ports if port.kind == "product"}
    assert upstream == {"consumer_banking", "asset_management"}
    for address in DEMO_PRODUCTS - {"risk.credit_risk_scorecard"}:
        assert {c.domain for c in products[address].consumers} == {"risk"}, address
    assert {e.downstream_domain for e in cat.lineage} == {"risk"}
    # Versions and classifications.
    demographics = products["consumer_banking.consumer_demographics"].datasets
    assert len({ds.version for ds in demographics}) > 1
    assert sum(ds.is_latest for ds in demographics) == 1
    classes = {c.classification for p in products.values() for ds in p.datasets
               for c in ds.columns}
    assert {"pii", "confidential"} <= classes


def test_demo_sync_writes_agreeing_tables_fast_and_skips_the_second_time(
        demo_copy: Path) -> None:
    mesh = load_mesh(demo_copy)
    first = sync(mesh)
    # Acceptance: the sync's own time (no dbt) on the demo stays under 2 s.
    assert first.seconds < 2.0, first.seconds
    second = sync(mesh)
    assert {d.status for d in second.domains} == {SKIPPED}
    wh = demo_copy.parent / "warehouse" / "mesh_catalog.duckdb"
    assert {r[0] for r in read_table(wh, "products")} == DEMO_PRODUCTS
    assert {r[0] for r in read_table(wh, "datasets") if r[5] == "product"} == {
        ds.id for ds in second.catalog.datasets()}


def test_row_counts_come_from_the_duckdb_warehouse(built_demo: Path) -> None:
    import duckdb

    mesh = load_mesh(built_demo)
    cat = sync(mesh, dry_run=True).catalog
    checked = 0
    for p in cat.products():
        db = mesh.root / "warehouse" / f"{p.domain}.duckdb"
        with duckdb.connect(str(db), read_only=True) as con:
            for ds in p.datasets:
                schema, name = ds.id.split(".")[1:3]
                (rows,) = con.execute(
                    f'select count(*) from internal."{schema}__{name}"').fetchone() or (None,)
                assert ds.operational.row_count == rows, ds.id
                checked += 1
    assert checked == 8


def test_without_a_warehouse_row_counts_are_unknown(demo_copy: Path) -> None:
    cat = sync(load_mesh(demo_copy), dry_run=True).catalog
    assert all(ds.operational.row_count is None for p in cat.products() for ds in p.datasets)


# Product columns computed from no upstream column: count(*) of the rows.
ROW_COUNTS = {("model.asset_management.consumer_asset_profile", "portfolio_count"),
              ("model.risk.credit_risk_band_summary", "customer_count")}


def test_demo_column_lineage_covers_every_product_column(built_demo: Path) -> None:
    cat = sync(load_mesh(built_demo), dry_run=True).catalog
    feeds: dict[tuple[str, str], set[tuple[str, str, str]]] = {}
    for e in cat.column_lineage:
        feeds.setdefault((e.downstream, e.downstream_column), set()).add(
            (e.upstream, e.upstream_column, e.transform))
    assert all(e.upstream_column != "*" for e in cat.column_lineage)
    for ds in cat.datasets():
        for col in ds.columns:
            key = (ds.unique_id, col.name)
            assert (key in feeds) != (key in ROW_COUNTS), key

    def origins(uid: str, column: str) -> set[tuple[str, str]]:
        ups = feeds.get((uid, column), set())
        if not ups:
            return {(uid, column)}
        return set().union(*(origins(u, c) for u, c, _ in ups))

    # Across two domain boundaries and three models: the scorecard's age band comes from
    # consumer_banking's demographics v2, which derives it from the birth date of its staging.
    assert origins("model.risk.credit_risk_scorecard", "age_band") >= {
        ("model.consumer_banking.stg_customers", "birth_date")}
    assert ("model.consumer_banking.consumer_demographics.v2", "age_band", "identity") in feeds[
        ("model.risk.int_customer_risk_features", "age_band")]
    assert ("model.risk.int_customer_risk_features", "utilization", "derived") in feeds[
        ("model.risk.credit_risk_scorecard", "risk_band")]
