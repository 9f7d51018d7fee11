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
    assert_signatures_equal_column_types,
    check_golden,
    copy_fixture_mesh,
    normalise,
)

from meshkit.backends.snowflake.plan import parse_snowflake
from meshkit.build import BuildResult
from meshkit.catalog.store import REPLACED_TABLES, SNAPSHOT_TABLES
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
    assert sync[:2] == ["USE ROLE mesh_catalog_writer", "USE WAREHOUSE mesh_catalog_wh"]
    begin, commit = sync.index("BEGIN"), sync.index("COMMIT")
    for i, sql in enumerate(sync):
        if sql.startswith(("DELETE", "INSERT")):
            assert begin < i < commit, sql
    deletes = [s for s in sync if s.startswith("DELETE FROM mesh_governance.mesh_catalog.")]
    assert len(deletes) == len(SNAPSHOT_TABLES) + len(REPLACED_TABLES)


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
    for column, policy in [("full_name", "mask_pii_varchar"), ("email", "mask_pii_varchar"),
                           ("credit_limit", "mask_confidential_number_12_2"),
                           ("card_number", "mask_sensitive_varchar")]:
        assert re.search(rf"\b{column} with masking policy mesh_governance\.policies\.{policy}\b",
                         v2), column
    assert "with row access policy mesh_governance.policies.rows_eu_residency on (region)" in v2
    assert "copy grants" in v2
    assert "customer_id with masking policy" not in v2  # internal: shown as is
    scorecard = created["sf_risk.risk_scores.scorecard"]
    assert ("score with masking policy mesh_governance.policies.mask_confidential_number_18_5"
            in scorecard)
    # the unversioned alias is tagged like its version, and carries no second policy
    alias = created["sf_bank.customer_profile.customers"]
    assert "email with tag (mesh_governance.policies.classification = 'pii')" in alias
    assert "masking policy" not in alias


def test_masked_strings_are_unbounded_in_the_view(built: Built) -> None:
    """A mask never exceeds the column: masked strings are cast to VARCHAR in the view."""
    v2 = assert_no_exposure_window(built.ddl())["sf_bank.customer_profile.customers_v2"]
    assert "cast(email as varchar) as email" in v2
    assert "cast(card_number as varchar) as card_number" in v2
    assert " region," in v2 and "cast(region" not in v2  # unmasked: as declared


def test_policy_signatures_equal_column_types(built: Built) -> None:
    """The plan of the built mesh (masked columns read from its manifests) creates every policy
    the views attach, each with the exact type of its column as its signature."""
    from meshkit.backends.snowflake.plan import plan_mesh
    from meshkit.config import load_mesh

    plan = plan_mesh(load_mesh(built.mesh_file), "prod")
    assert plan.notes == []
    checked = assert_signatures_equal_column_types([s.sql for s in plan.statements], built.ddl())
    assert checked == 6  # full_name (v1, v2), email, credit_limit, card_number, score


def test_catalog_writer_is_granted_exactly_what_the_sync_runs(built: Built) -> None:
    """`mesh-sync --target prod` runs as the plan's catalog writer; the privileges its captured
    statements need are exactly the ones the plan grants that role."""
    from meshkit.backends.snowflake.plan import CATALOG_WRITER, plan_mesh
    from meshkit.config import load_mesh

    needed: set[str] = set()
    role = warehouse = None
    for sql in built.sync_statements:
        if m := re.match(r"^USE ROLE (\S+)$", sql):
            role = m.group(1)
        elif m := re.match(r"^USE WAREHOUSE (\S+)$", sql):
            warehouse = m.group(1)
            needed.add(f"USAGE ON WAREHOUSE {warehouse}")
        elif m := re.match(r"^CREATE TABLE IF NOT EXISTS (\w+)\.(\w+)\.\w+", sql):
            db, schema = m.groups()
            needed |= {f"USAGE ON DATABASE {db}", f"USAGE ON SCHEMA {db}.{schema}",
                       f"CREATE TABLE ON SCHEMA {db}.{schema}"}
        elif m := re.match(r"^(INSERT INTO|DELETE FROM) (\w+)\.(\w+)\.\w+", sql):
            verb, db, schema = m.groups()
            needed |= {f"USAGE ON DATABASE {db}", f"USAGE ON SCHEMA {db}.{schema}",
                       f"{verb.split()[0]} ON TABLES IN SCHEMA {db}.{schema}"}
        else:
            assert sql in ("BEGIN", "COMMIT"), f"a statement the test does not know: {sql}"
    assert role == CATALOG_WRITER and warehouse

    granted: set[str] = set()
    plan = plan_mesh(load_mesh(built.mesh_file), "prod")
    for s in plan.statements:
        m = re.match(rf"^GRANT (.+?) ON (ALL |FUTURE )?(.+) TO ROLE {CATALOG_WRITER}$", s.sql)
        if m:
            on = m.group(3)
            for privilege in m.group(1).split(", "):
                granted.add(f"{privilege} ON {on}")
    assert granted == needed
    # both the tables it will create and those another role created before
    assert any("ON FUTURE TABLES" in s.sql and CATALOG_WRITER in s.sql for s in plan.statements)
    assert any("ON ALL TABLES" in s.sql and CATALOG_WRITER in s.sql for s in plan.statements)


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
        "      - name: region\n        data_type: varchar\n"
        "        config:\n          meta: {classification: internal}\n",
        "      - name: region\n        data_type: varchar\n"
        "        config:\n          meta: {classification: pii}\n"))
    fake = FakeSnowflake(tmp_path / "fakesnow")
    with fake.running():
        result = build(load_mesh(mesh_file), target="prod", only=["sf_bank"])
    errors = "\n".join(result.domains[0].errors)
    assert not result.success
    assert "column 'region' is classified 'pii' (masked) and is also the row filter's column" in errors
    assert not any("secure view" in s for s in fake.statements)
