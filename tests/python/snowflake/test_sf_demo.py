"""The demo mesh on "Snowflake": `mesh apply`, then `mesh build --target prod` of every demo
domain through dbt-snowflake and snowflake-connector-python on fakesnow, then
`mesh-sync --target prod`. The raw Parquet files are landed as ``<domain>.raw.<table>`` first,
as the ingestion job would in an account.

No golden file here (the demo's models change with the demo); the fixture mesh's build is the
golden one (test_sf_dbt.py). These tests check what must hold for any mesh.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from sf_harness import DDL, FakeSnowflake, assert_no_exposure_window, load_raw_tables, normalise

from meshkit.backends.snowflake.plan import parse_snowflake
from meshkit.build import BuildResult
from meshkit.cli.main import cli
from support import copy_mesh

pytestmark = pytest.mark.snowflake

@dataclass
class DemoOnSnowflake:
    fake: FakeSnowflake
    result: BuildResult
    synced: int
    products: list[tuple[object, ...]]

    def ddl(self) -> list[str]:
        return [s for s in (normalise(x) for x in self.fake.statements) if DDL.match(s)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoOnSnowflake]:
    from meshkit.backends.snowflake.profiles import connect
    from meshkit.build import build
    from meshkit.config import load_mesh
    from meshkit.demo.generate import generate

    root = tmp_path_factory.mktemp("sf_demo")
    mesh_file = copy_mesh(root)
    generate(root / "data" / "raw", scale=0.05)
    mesh = load_mesh(mesh_file)
    fake = FakeSnowflake(root / "fakesnow")
    with fake.running():
        applied = CliRunner().invoke(cli, ["apply", "--mesh", str(mesh_file)])
        assert applied.exit_code == 0, applied.output
        connection = connect()
        try:
            load_raw_tables(mesh, connection.cursor())
        finally:
            connection.close()
        result = build(mesh, target="prod")
        synced = CliRunner().invoke(cli, ["sync", "--mesh", str(mesh_file), "--target", "prod"])
        products = fake.query("select product_id from mesh_governance.mesh_catalog.products "
                              "order by 1") if synced.exit_code == 0 else []
    yield DemoOnSnowflake(fake, result, synced.exit_code, products)


def test_every_demo_domain_builds_on_dbt_snowflake(demo: DemoOnSnowflake) -> None:
    failures = {d.domain: d.errors[:2] for d in demo.result.domains
                if d.status.value != "success"}
    assert not failures, failures
    assert {d.domain for d in demo.result.domains} == {
        "consumer_banking", "asset_management", "risk"}


def test_demo_views_carry_their_policies_before_any_grant(demo: DemoOnSnowflake) -> None:
    created = assert_no_exposure_window(demo.ddl())
    assert created, "no secure view was created"
    classified = [sql for sql in created.values() if "with masking policy" in sql]
    assert classified, "no demo dataset has a masked column"


def test_demo_statements_parse_as_snowflake(demo: DemoOnSnowflake) -> None:
    for sql in demo.fake.statements:
        parse_snowflake(normalise(sql).replace("%s", "?"))


def test_demo_catalog_synced_to_snowflake(demo: DemoOnSnowflake) -> None:
    assert demo.synced == 0
    assert {str(p[0]).split(".")[0] for p in demo.products} == {
        "consumer_banking", "asset_management", "risk"}

