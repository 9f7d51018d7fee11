"""`mesh plan` / `mesh apply --target prod`: the utility plane's DDL, its grants, its execution."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from sf_harness import FIXTURES, FakeSnowflake, check_golden, copy_fixture_mesh

from meshkit.backends.snowflake.plan import (
    CONSUMER_WAREHOUSE,
    MaskedColumn,
    Plan,
    Product,
    parse_snowflake,
    plan_mesh,
    policy_body,
)
from meshkit.backends.snowflake.profiles import SnowflakeSettings
from meshkit.cli.main import cli
from meshkit.config import Mesh, load_mesh
from meshkit.errors import ConfigError

FIXTURE_PRODUCTS = {
    "sf_bank": [Product("customer_profile", "active"), Product("card_lab", "draft")],
    "sf_risk": [Product("risk_scores", "active")],
}
# The masked columns of the fixture's secure views, as the manifests of a build list them.
FIXTURE_MASKED = [
    MaskedColumn("model.sf_bank.customers.v2", "full_name", "pii", "varchar"),
    MaskedColumn("model.sf_bank.customers.v2", "email", "pii", "varchar"),
    MaskedColumn("model.sf_bank.customers.v2", "credit_limit", "confidential", "number(12, 2)"),
    MaskedColumn("model.sf_bank.customers.v2", "card_number", "sensitive", "varchar"),
    MaskedColumn("model.sf_risk.scorecard", "score", "confidential", "number(18, 5)"),
]


def fixture_plan() -> Plan:
    return plan_mesh(load_mesh(FIXTURES / "mesh.yml"), "prod", FIXTURE_PRODUCTS, FIXTURE_MASKED)


def test_plan_matches_golden() -> None:
    check_golden("plan_prod.sql", fixture_plan().script().splitlines())


def test_plan_is_idempotent_ddl() -> None:
    idempotent = re.compile(
        r"^(USE ROLE \w+|CREATE \w+( \w+)*? IF NOT EXISTS |ALTER (MASKING|ROW ACCESS) POLICY \S+ "
        r"SET BODY -> |ALTER TAG \S+ SET ALLOWED_VALUES |GRANT |REVOKE )")
    for s in fixture_plan().statements:
        assert idempotent.match(s.sql), s.sql
        assert "OR REPLACE" not in s.sql  # nothing is dropped and recreated by a re-apply


def test_every_statement_parses_and_bodies_are_expressions() -> None:
    import sqlglot

    for s in fixture_plan().statements:
        parse_snowflake(s.sql)
        if "->" in s.sql:
            body = s.sql.split("->", 1)[1]
            assert sqlglot.parse_one(body, read="snowflake").sql("snowflake") == body.strip()


def test_masking_policy_per_classification_and_family() -> None:
    sql = fixture_plan().script()
    assert ("CREATE MASKING POLICY IF NOT EXISTS mesh_governance.policies.mask_sensitive_varchar "
            "AS (val VARCHAR) RETURNS VARCHAR -> CASE WHEN IS_DATABASE_ROLE_IN_SESSION('CLEARED_SENSITIVE') "
            "THEN val WHEN LENGTH(val) > 4 THEN CONCAT('****', RIGHT(val, 4)) ELSE '****' END;"
            ) in sql
    # one policy per exact type: NUMBER(12,2) and NUMBER(18,5) are two signatures
    assert "mask_confidential_number_12_2 AS (val NUMBER(12,2)) RETURNS NUMBER(12,2)" in sql
    assert "mask_confidential_number_18_5 AS (val NUMBER(18,5)) RETURNS NUMBER(18,5)" in sql
    assert sql.count("CREATE MASKING POLICY") == 4
    assert "mask_public_" not in sql  # mask: none needs no policy
    assert ("CREATE ROW ACCESS POLICY IF NOT EXISTS mesh_governance.policies.rows_eu_residency "
            "AS (region VARCHAR) RETURNS BOOLEAN -> NOT COALESCE(region, '') IN ('EU') "
            "OR IS_DATABASE_ROLE_IN_SESSION('CLEARED_ROWS_EU_RESIDENCY');") in sql
    assert policy_body("__mesh_value__ + 1", "val") == "val + 1"


# --- consumer roles read secure views and nothing else -------------------------------------------

ROLE_GRANT = re.compile(r"^GRANT ROLE (\S+) TO ROLE (\S+)$")
DB_ROLE_GRANT = re.compile(r"^GRANT DATABASE ROLE (\S+) TO ROLE (\S+)$")
PRIVILEGE = re.compile(r"^GRANT (.+?) ON (.+) TO (ROLE|DATABASE ROLE) (\S+)$")


def consumer_privileges(plan: Plan, consumers: list[str]) -> dict[str, set[str]]:
    """Every privilege each consumer role holds, directly or through roles it is granted."""
    held: dict[str, set[str]] = defaultdict(set)  # grantee -> roles / database roles granted
    privileges: dict[str, set[str]] = defaultdict(set)
    for s in plan.statements:
        if m := ROLE_GRANT.match(s.sql) or DB_ROLE_GRANT.match(s.sql):
            held[m.group(2).lower()].add(m.group(1).lower())
        elif m := PRIVILEGE.match(s.sql):
            privileges[m.group(4).lower()].add(f"{m.group(1)} ON {m.group(2)}")
    out = {}
    for consumer in consumers:
        closure, todo = set(), [consumer]
        while todo:
            role = todo.pop()
            if role not in closure:
                closure.add(role)
                todo += held.get(role, ())
        out[consumer] = {p for role in closure for p in privileges.get(role, ())}
        assert not any(r.endswith(("_engineer", "_owner")) for r in closure), closure
    return out


def assert_only_secure_views(mesh: Mesh, plan: Plan) -> None:
    products = {(d, p.lower()) for d, p in _product_schemas(plan)}
    assert products, "the plan has no product schemas to check"
    allowed = [re.compile(p) for p in (
        r"^USAGE ON DATABASE (\w+)$",
        r"^USAGE ON SCHEMA (\w+)\.(\w+)$",
        r"^SELECT ON FUTURE VIEWS IN SCHEMA (\w+)\.(\w+)$",
        rf"^USAGE ON WAREHOUSE {CONSUMER_WAREHOUSE}$",
    )]
    consumers = [r.name for r in mesh.config.roles]
    for role, privs in consumer_privileges(plan, consumers).items():
        assert privs, f"{role} may read nothing"
        for priv in privs:
            match = next((m for a in allowed if (m := a.match(priv))), None)
            assert match is not None, f"{role} holds {priv}"
            assert "internal" not in priv.lower() and "governance" not in priv.lower(), priv
            if len(match.groups()) == 2:
                assert match.groups() in products, f"{role}: {priv} is not a product schema"
            if priv.startswith("USAGE ON DATABASE"):
                assert match.group(1) in {d.name for d in mesh.config.domains}


def _product_schemas(plan: Plan) -> list[tuple[str, str]]:
    out = []
    for s in plan.statements:
        m = re.match(r"^CREATE SCHEMA IF NOT EXISTS (\w+)\.(\w+)$", s.sql)
        if m and m.group(2) != "internal" and m.group(1) != "mesh_governance":
            out.append((m.group(1), m.group(2)))
    return out


def test_consumer_roles_get_nothing_but_secure_views_fixture() -> None:
    mesh = load_mesh(FIXTURES / "mesh.yml")
    plan = fixture_plan()
    assert_only_secure_views(mesh, plan)
    # a draft product is readable by its own team only
    assert "GRANT DATABASE ROLE sf_bank.card_lab_reader TO ROLE analyst" not in plan.script()
    assert "GRANT DATABASE ROLE sf_bank.card_lab_reader TO ROLE sf_bank_owner" in plan.script()


def test_demo_plan_grants_consumer_roles_nothing_outside_secure_views(built_demo: Path) -> None:
    """Acceptance: `mesh plan --target prod` of the demo, products read from its manifests."""
    result = CliRunner().invoke(cli, ["plan", "--mesh", str(built_demo), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["notes"] == []
    plan = Plan(target="prod", statements=[
        type(fixture_plan().statements[0])(s["kind"], s["sql"], s["role"])
        for s in data["statements"]])
    mesh = load_mesh(built_demo)
    assert {d for d, _ in _product_schemas(plan)} == {d.name for d in mesh.config.domains}
    assert_only_secure_views(mesh, plan)


# --- CLI and connection settings -----------------------------------------------------------------


def test_plan_without_manifests_says_so(tmp_path: Path) -> None:
    mesh_file = copy_fixture_mesh(tmp_path)
    result = CliRunner().invoke(cli, ["plan", "--mesh", str(mesh_file)])
    assert result.exit_code == 0, result.output
    assert "-- note: domain sf_bank: no dbt manifest found" in result.stdout
    assert "CREATE DATABASE IF NOT EXISTS sf_bank;" in result.stdout
    assert "sf_bank.customer_profile" not in result.stdout


def test_plan_of_a_duckdb_target_is_bad_input() -> None:
    result = CliRunner().invoke(cli, ["plan", "--mesh", str(FIXTURES / "mesh.yml"),
                                      "--target", "dev"])
    assert result.exit_code == 2
    assert "target 'dev' is of type 'duckdb', not snowflake" in result.output


@pytest.mark.parametrize(("env", "missing"), [
    ({}, "SNOWFLAKE_ACCOUNT"),
    ({"SNOWFLAKE_ACCOUNT": "a"}, "SNOWFLAKE_USER"),
    ({"SNOWFLAKE_ACCOUNT": "a", "SNOWFLAKE_USER": "u"}, "SNOWFLAKE_PASSWORD"),
])
def test_missing_variable_is_named(env: dict[str, str], missing: str) -> None:
    with pytest.raises(ConfigError, match=missing):
        SnowflakeSettings.from_env(env)


def test_settings_for_each_authentication(tmp_path: Path) -> None:
    base = {"SNOWFLAKE_ACCOUNT": "org-acct", "SNOWFLAKE_USER": "u", "SNOWFLAKE_ROLE": "sysadmin"}
    browser = SnowflakeSettings.from_env(base | {"SNOWFLAKE_AUTHENTICATOR": "externalbrowser"})
    assert browser.connect_args()["authenticator"] == "externalbrowser"
    key = tmp_path / "rsa_key.p8"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    pair = SnowflakeSettings.from_env(base | {"SNOWFLAKE_PRIVATE_KEY_PATH": str(key)})
    assert pair.connect_args()["private_key_file"] == str(key)
    assert "password" not in pair.connect_args()
    with pytest.raises(ConfigError, match="SNOWFLAKE_PRIVATE_KEY_PATH"):
        SnowflakeSettings.from_env(base | {"SNOWFLAKE_PRIVATE_KEY_PATH": str(tmp_path / "no")})
    password = SnowflakeSettings.from_env(base | {"SNOWFLAKE_PASSWORD": "s3cret"})
    assert "s3cret" not in password.describe()


def test_apply_without_account_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["apply", "--mesh", str(FIXTURES / "mesh.yml")])
    assert result.exit_code == 2
    assert "SNOWFLAKE_ACCOUNT is not set" in result.output


# --- apply, through the connector, on fakesnow ---------------------------------------------


@pytest.mark.snowflake
def test_apply_runs_every_statement_through_the_connector(tmp_path: Path) -> None:
    from meshkit.backends.snowflake.apply import apply_plan
    from meshkit.backends.snowflake.profiles import connect

    plan = fixture_plan()
    fake = FakeSnowflake(tmp_path / "fakesnow")
    with fake.running():
        connection = connect()
        try:
            result = apply_plan(plan, connection)
            again = apply_plan(plan, connection)  # idempotent: a second run changes nothing
        finally:
            connection.close()
        schemas = fake.query("select catalog_name, schema_name from sf_bank.information_schema"
                             ".schemata order by schema_name")
    assert result.success and again.success, [r for r in result.results if r.error]
    assert fake.statements[: len(plan.statements)] == [s.sql for s in plan.statements]
    assert ("SF_BANK", "CARD_LAB") in schemas and ("SF_BANK", "INTERNAL") in schemas
    assert ("SF_BANK", "CUSTOMER_PROFILE") in schemas


@pytest.mark.snowflake
def test_apply_cli_reports_each_statement(tmp_path: Path) -> None:
    mesh_file = copy_fixture_mesh(tmp_path / "mesh")
    fake = FakeSnowflake(tmp_path / "fakesnow")
    with fake.running():
        result = CliRunner().invoke(cli, ["apply", "--mesh", str(mesh_file)])
        dry = CliRunner().invoke(cli, ["apply", "--mesh", str(mesh_file), "--dry-run"])
        as_json = CliRunner().invoke(cli, ["apply", "--mesh", str(mesh_file), "--json"])
    assert result.exit_code == 0, result.output
    assert "     ok  CREATE DATABASE IF NOT EXISTS sf_bank" in result.stdout
    assert " 0 failed, 0 skipped" in result.stdout
    assert dry.exit_code == 0 and dry.stdout.startswith("-- meshkit plan for target prod")
    report = json.loads(as_json.stdout)
    assert report["success"] and {s["outcome"] for s in report["statements"]} == {"ok"}
