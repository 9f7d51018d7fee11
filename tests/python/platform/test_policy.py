"""One policy model: Snowflake bodies, DuckDB derived, the generated macro kept in step."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import sqlglot

from meshkit.backends.duckdb.session import set_roles
from meshkit.config import UNCLASSIFIED, load_mesh
from meshkit.masking import (
    GENERATED_MACRO,
    GOVERNANCE_DB,
    VALUE,
    compile_policy,
    render_policy_macro,
    type_family,
    write_governance,
)
from support import REPO


@pytest.fixture
def gov_con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A session with the demo's governance database attached, as every view reader has it."""
    path = write_governance(load_mesh(REPO / "mesh.yml"), tmp_path)
    con = duckdb.connect()
    con.execute(f"attach '{path}' as {GOVERNANCE_DB} (read_only)")
    yield con
    con.close()


def test_generated_macro_is_in_step_with_mesh_yml() -> None:
    mesh = load_mesh(REPO / "mesh.yml")
    assert (REPO / GENERATED_MACRO).read_text() == render_policy_macro(mesh), (
        f"{GENERATED_MACRO} is stale: run `mesh generate`"
    )


def test_every_snowflake_body_parses_and_duckdb_body_runs(gov_con: duckdb.DuckDBPyConnection) -> None:
    policy = compile_policy(load_mesh(REPO / "mesh.yml"))
    masks = policy["masks"]
    assert isinstance(masks, dict) and masks
    con = gov_con
    samples = {"string": "'4111111111111111'", "number": "12.5", "date": "DATE '2000-01-02'",
               "timestamp": "TIMESTAMP '2000-01-02 03:04:05'", "boolean": "TRUE", "other": "NULL"}
    for rules in masks.values():
        for family, rule in rules.items():
            sqlglot.parse_one(rule["snowflake"].replace(VALUE, "val"), read="snowflake")
            sql = rule["duckdb"].replace(VALUE, samples[family])
            set_roles(con, [])
            masked = con.execute(f"select {sql}").fetchone()
            assert masked is not None
            set_roles(con, ["compliance_officer"])
            raw = con.execute(f"select {sql}").fetchone()
            if rules is masks[UNCLASSIFIED]:  # cleared for nobody: masked for everyone
                assert raw == masked
                continue
            assert raw == con.execute(f"select {samples[family]}").fetchone()
            if family != "other":
                assert masked != raw, (family, rule["duckdb"])


@pytest.mark.parametrize(("roles", "visible"), [
    ([], {"US"}),
    (["analyst"], {"US"}),
    (["eu_data_reader"], {"US", "EU"}),
    (["compliance_officer"], {"US", "EU"}),  # inherits eu_data_reader
    (["risk_engineer"], {"US", "EU"}),  # the risk domain reads as eu_data_reader
    (["consumer_banking_engineer"], {"US"}),
])
def test_row_filter_follows_role_hierarchy(gov_con: duckdb.DuckDBPyConnection, roles: list[str],
                                           visible: set[str]) -> None:
    rf = compile_policy(load_mesh(REPO / "mesh.yml"))["row_filters"]["eu_residency"]  # type: ignore[index]
    con = gov_con
    set_roles(con, roles)
    rows = con.execute(
        f"select region from (values ('EU'), ('US')) t(region) where {rf['duckdb']}"
    ).fetchall()
    assert {r[0] for r in rows} == visible


def test_type_families() -> None:
    assert type_family("VARCHAR") == "string"
    assert type_family("decimal(18,2)") == "number"
    assert type_family("timestamp with time zone") == "timestamp"


@pytest.mark.parametrize(("data_type", "exact"), [
    ("NUMBER", "NUMBER(38,0)"), ("numeric(10)", "NUMBER(10,0)"), ("Decimal(6, 4)", "NUMBER(6,4)"),
    ("byteint", "NUMBER(38,0)"), ("double precision", "FLOAT"), ("float4", "FLOAT"),
    ("string", "VARCHAR"), ("character(10)", "VARCHAR"), ("nvarchar2(5)", "VARCHAR"),
    ("varbinary(16)", "BINARY"), ("datetime", "TIMESTAMP_NTZ(9)"), ("timestamp(3)",
                                                                       "TIMESTAMP_NTZ(3)"),
    ("timestamp_ltz(0)", "TIMESTAMP_LTZ(0)"), ("TIME", "TIME(9)"), ("variant", "VARIANT"),
    ("geometry", "GEOMETRY"),
])
def test_exact_snowflake_types(data_type: str, exact: str) -> None:
    from meshkit.column_types import snowflake_type

    assert snowflake_type(data_type).sql == exact


@pytest.mark.parametrize(("data_type", "why"), [
    ("vector(float, 256)", "do not take VECTOR"),
    ("number(40)", "precision 1-38"),
    ("number(5, 6)", "precision 1-38"),
    ("time(10)", "0-9"),
    ("array(number)", "does not take these parameters"),
    ("integer(5)", "does not take these parameters"),
    ("varchar(max)", "does not take these parameters"),
    ("hugeint", "not a Snowflake type"),
    ("timestamp with time zone", "not a Snowflake type"),
    ("number(12", "not a type name"),
])
def test_types_without_an_exact_policy_are_refused(data_type: str, why: str) -> None:
    from meshkit.column_types import UnsupportedType, snowflake_type

    with pytest.raises(UnsupportedType, match=re.escape(why)):
        snowflake_type(data_type)


@pytest.mark.parametrize("family", ["string", "number"])
def test_without_its_clearances_a_session_sees_every_body_masked(
        gov_con: duckdb.DuckDBPyConnection, tmp_path: Path, family: str) -> None:
    """Roles alone unmask nothing: the views test the clearances the session read when its roles
    were set; without them (roles set by hand, no governance database, a broken relation) every
    classified value is masked."""
    rule = compile_policy(load_mesh(REPO / "mesh.yml"))["masks"]["pii"][family]  # type: ignore[index]
    value = {"string": "'x'", "number": "12.5"}[family]
    expr = f"select {rule['duckdb'].replace(VALUE, value)}"
    set_roles(gov_con, ["compliance_officer"])
    cleared = gov_con.execute(expr).fetchone()
    assert cleared is not None and cleared[0] is not None and "MASKED" not in str(cleared[0])
    masked = {"string": "***MASKED***", "number": None}[family]
    # mesh_roles set by hand, as another SQL client would
    gov_con.execute("reset variable mesh_clearances")
    gov_con.execute("set variable mesh_roles = ['compliance_officer']")
    assert gov_con.execute(expr).fetchone() == (masked,)
    # no governance database attached
    bare = duckdb.connect()
    set_roles(bare, ["compliance_officer"])
    assert bare.execute("select getvariable('mesh_clearances')").fetchone() == (None,)
    assert bare.execute(expr).fetchone() == (masked,)
    # a governance database without the clearances relation's columns
    bare.execute(f"attach '{tmp_path / 'forged.duckdb'}' as {GOVERNANCE_DB}")
    bare.execute(f"create table {GOVERNANCE_DB}.main.clearances (name varchar)")
    set_roles(bare, ["compliance_officer"])
    assert bare.execute(expr).fetchone() == (masked,)


def test_clearances_are_read_when_roles_are_set(gov_con: duckdb.DuckDBPyConnection) -> None:
    """Changing roles changes the clearances held: a role switch never keeps the previous
    role's clearances."""
    rule = compile_policy(load_mesh(REPO / "mesh.yml"))["masks"]["pii"]["string"]  # type: ignore[index]
    expr = f"select {rule['duckdb'].replace(VALUE, repr('x'))}"
    set_roles(gov_con, ["compliance_officer"])
    assert gov_con.execute(expr).fetchone() == ("x",)
    set_roles(gov_con, ["analyst"])
    assert gov_con.execute(expr).fetchone() == ("***MASKED***",)
    set_roles(gov_con, [])
    assert gov_con.execute("select getvariable('mesh_clearances')").fetchone() == (None,)


def test_session_clearances_statement_is_the_one_sqlglot_builds() -> None:
    """The statement every session runs is written out (a query does not import sqlglot to
    build it): it must stay the statement built from the roles expression the views test."""
    from sqlglot import exp

    from meshkit.masking import (
        CLEARANCES,
        CLEARANCES_VARIABLE,
        SESSION_CLEARANCES_SQL,
        _session_roles,
    )

    held = sqlglot.select("list(DISTINCT clearance)").from_(
        f"{GOVERNANCE_DB}.main.{CLEARANCES}").where(
        exp.Anonymous(this="list_contains", expressions=[_session_roles(), exp.column("role")]))
    built = f"SET VARIABLE {CLEARANCES_VARIABLE} = {exp.Subquery(this=held).sql('duckdb')}"
    assert built == SESSION_CLEARANCES_SQL


def test_roles_with_quotes_are_data(gov_con: duckdb.DuckDBPyConnection) -> None:
    """Role names, cleared products and the token key are bound as parameters, never SQL."""
    from meshkit.backends.duckdb.session import set_cleared_products, set_token_key

    set_roles(gov_con, ["x'] ; select 1 --", "compliance_officer"])
    assert gov_con.execute("select getvariable('mesh_roles')").fetchone() == (
        ["x'] ; select 1 --", "compliance_officer"],)
    assert "cleared_pii" in gov_con.execute("select getvariable('mesh_clearances')").fetchone()[0]
    set_cleared_products(gov_con, ["a'b.c"])
    assert gov_con.execute("select getvariable('mesh_cleared_products')").fetchone() == (["a'b.c"],)
    set_cleared_products(gov_con, [])
    assert gov_con.execute("select getvariable('mesh_cleared_products')").fetchone() == ([],)
    set_token_key(gov_con, "k'ey")
    assert gov_con.execute("select getvariable('mesh_token_key')").fetchone() == ("k'ey",)
    set_token_key(gov_con, None)
    assert gov_con.execute("select getvariable('mesh_token_key')").fetchone() == (None,)
