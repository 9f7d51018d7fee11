"""`dbt build --target prod` through dbt-snowflake and snowflake-connector-python, on fakesnow.

A producer (sf_bank: a versioned product with every classification and a row filter) and a
consumer (sf_risk: reads it by a cross-domain ref through dbt-loom) are built by ``mesh build``'s
own orchestration; every statement sent is captured (see sf_harness).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sf_harness import (
    DDL,
    GRANT_ON_VIEW,
    FakeSnowflake,
    assert_no_exposure_window,
    check_golden,
    copy_fixture_mesh,
    normalise,
)

from meshkit.backends.snowflake.plan import parse_snowflake
from meshkit.build import BuildResult
from meshkit.catalog.store import SNAPSHOT_TABLES
from meshkit.cli.main import cli

pytestmark = pytest.mark.snowflake



# Read back through the connector in the same fakesnow session, right after the build.
QUERIES = {
    "internal_rows": "select count(*) from sf_bank.internal.customer_profile__customers_v2",
    "consumer_rows": "select customer_id, region from sf_risk.risk_scores.scorecard "
                     "order by customer_id",
    "latest_alias_rows": "select count(*) from sf_bank.customer_profile.customers",
    "catalog_products": "select product_id, status from mesh_governance.mesh_catalog.products "
                        "order by product_id",
    "catalog_syncs": "select target, domains from mesh_governance.mesh_catalog.sync_runs",
}


@dataclass
class Built:
    mesh_file: Path
    fake: FakeSnowflake
    result: BuildResult
    answers: dict[str, list[tuple[object, ...]]]
    sync_statements: list[str]

    def ddl(self) -> list[str]:
        """The DDL / DCL of the dbt builds (not of the sync, nor of the test's queries)."""
        return [s for s in (normalise(x) for x in self.build_statements) if DDL.match(s)]

    @property
    def build_statements(self) -> list[str]:
        return self.fake.statements[self.applied: self.builds]

    applied: int = 0
    builds: int = 0


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    from meshkit.build import build
    from meshkit.config import load_mesh

    root = tmp_path_factory.mktemp("sf_mesh")
    mesh_file = copy_fixture_mesh(root)
    fake = FakeSnowflake(root / "fakesnow")
    mesh = load_mesh(mesh_file)
    with fake.running():
        # provision first, as in a real deployment (the product schemas come with the build)
        applied = CliRunner().invoke(cli, ["apply", "--mesh", str(mesh_file)])
        assert applied.exit_code == 0, applied.output
        n_applied = len(fake.statements)
        result = build(mesh, target="prod")
        builds = len(fake.statements)
        synced = CliRunner().invoke(cli, ["sync", "--mesh", str(mesh_file), "--target", "prod"])
        assert synced.exit_code == 0, synced.output
        sync_statements = [normalise(x) for x in fake.statements[builds:]]
        answers = {name: fake.query(sql) for name, sql in QUERIES.items()}
    yield Built(mesh_file, fake, result, answers, sync_statements, n_applied, builds)


def test_build_succeeds_through_dbt_snowflake(built: Built) -> None:
    failures = {d.domain: d.errors for d in built.result.domains if d.status.value != "success"}
    assert not failures
    assert [d.domain for d in built.result.domains] == ["sf_bank", "sf_risk"]


def test_captured_statements_match_golden(built: Built) -> None:
    check_golden("dbt_build_prod.sql", [f"{s};" for s in built.ddl()])


def test_mesh_sync_writes_the_catalog_to_snowflake(built: Built) -> None:
    """`mesh-sync --target prod` wrote mesh_governance.mesh_catalog: tables created (DDL commits
    implicitly on Snowflake), then every row replaced in one transaction."""
    sync = built.sync_statements
    assert sync[0] == "CREATE SCHEMA IF NOT EXISTS mesh_governance.mesh_catalog"
    begin, commit = sync.index("BEGIN"), sync.index("COMMIT")
    for i, sql in enumerate(sync):
        if sql.startswith(("DELETE", "INSERT")):
            assert begin < i < commit, sql
    deletes = [s for s in sync if s.startswith("DELETE FROM mesh_governance.mesh_catalog.")]
    assert len(deletes) == len(SNAPSHOT_TABLES)


def test_every_captured_statement_parses_as_snowflake(built: Built) -> None:
    for sql in built.fake.statements:
        # pyformat parameters are bound client-side; sqlglot reads them as ``?``
        parse_snowflake(normalise(sql).replace("%s", "?"))


def test_policies_are_in_force_before_any_grant(built: Built) -> None:
    """No exposure window: a view's CREATE carries its policies, and precedes every grant on it;
    no policy is attached later (ALTER ... SET MASKING POLICY) and no view is granted unmasked."""
    ddl = built.ddl()
    created = assert_no_exposure_window(ddl)
    grants = [s for s in ddl if GRANT_ON_VIEW.match(s)]
    assert len(grants) == len(created) == 4  # customers_v1, customers_v2, customers, scorecard
    v2 = created["sf_bank.customer_profile.customers_v2"]
    for column, policy in [("full_name", "mask_pii_string"), ("email", "mask_pii_string"),
                           ("credit_limit", "mask_confidential_number"),
                           ("card_number", "mask_sensitive_string")]:
        assert re.search(rf"\b{column} with masking policy mesh_governance\.policies\.{policy}\b",
                         v2), column
    assert "with row access policy mesh_governance.policies.rows_eu_residency on (region)" in v2
    assert "copy grants" in v2
    assert "customer_id with masking policy" not in v2  # internal: shown as is
    scorecard = created["sf_risk.risk_scores.scorecard"]
    assert ("score with masking policy mesh_governance.policies.mask_confidential_number"
            in scorecard)


def test_rows_land_in_fakesnow_behind_the_views(built: Built) -> None:
    """The internal tables and the (plain, in the emulator) views really exist and answer."""
    assert built.answers == {
        "internal_rows": [(2,)],
        "consumer_rows": [(1, "EU"), (2, "US")],
        "latest_alias_rows": [(2,)],
        "catalog_products": [("sf_bank.card_lab", "draft"),
                             ("sf_bank.customer_profile", "active"),
                             ("sf_risk.risk_scores", "active")],
        "catalog_syncs": [("prod", 2)],
    }


def test_masked_row_filter_column_is_refused_before_reaching_snowflake(tmp_path: Path) -> None:
    """Snowflake rejects a column under both a masking and a row access policy; the macro says
    so at build time, naming the view and the fix."""
    from meshkit.build import build
    from meshkit.config import load_mesh

    mesh_file = copy_fixture_mesh(tmp_path / "mesh")
    yml = tmp_path / "mesh" / "domains" / "sf_bank" / "models" / "products" / "customers.yml"
    yml.write_text(yml.read_text().replace(
        "      - name: region\n        data_type: varchar\n",
        "      - name: region\n        data_type: varchar\n"
        "        config:\n          meta: {classification: pii}\n"))
    fake = FakeSnowflake(tmp_path / "fakesnow")
    with fake.running():
        result = build(load_mesh(mesh_file), target="prod", only=["sf_bank"])
    errors = "\n".join(result.domains[0].errors)
    assert not result.success
    assert "column 'region' is classified 'pii' (masked) and is also the row filter's column" in errors
    assert not any("secure view" in s for s in fake.statements)
