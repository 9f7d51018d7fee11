"""Run the real dbt-snowflake adapter and snowflake-connector-python against fakesnow.

``FakeSnowflake`` patches the connector with ``fakesnow.patch`` and wraps fakesnow's cursor so
that every statement the adapter (or ``mesh apply``) sends is recorded before fakesnow sees it.

What fakesnow cannot run is handled in exactly three ways, all visible here:

* ``NOP_PATTERNS``: roles, database roles, grants, masking / row access policies, tags and
  warehouses succeed without effect (fakesnow's ``nop_regexes``).
* ``executable()``: a ``CREATE SECURE VIEW`` with inline masking / row access policies, tags and
  ``COPY GRANTS`` is executed as the plain ``CREATE VIEW ... AS <same select>``.
* ``IS_ROLE_IN_SESSION(...)`` in a statement (the CCPA opt-out view of a dataset lets its own
  domain's roles through) runs as ``TRUE``: fakesnow has no roles, and its policies are no-ops.

The capture always keeps the statement as sent, so the golden files and the ordering checks see
exactly what a real account would receive.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
TYPE_FIXTURES = HERE / "type_fixtures"
GOLDEN = HERE / "golden"
UPDATE_GOLDEN = os.environ.get("MESH_UPDATE_GOLDEN") == "1"

NOP_PATTERNS = [
    r"\s*(grant|revoke)\s",
    r"\s*(create|alter|drop)\s+(or\s+(replace|alter)\s+)?(database\s+role|role|masking\s+policy|"
    r"row\s+access\s+policy|tag|warehouse)\b",
    r"\s*use\s+(role|warehouse|secondary\s+roles)\b",
]
SECURE_VIEW = re.compile(r"\s*create\s+(or\s+replace\s+)?secure\s+view\b", re.IGNORECASE)
# dbt's query comment and the session-specific parts of a statement.
QUERY_COMMENT = re.compile(r"/\*\s*\{.*?\}\s*\*/", re.DOTALL)
DDL = re.compile(r"\s*(create|alter|drop|grant|revoke|use|insert|merge)\b", re.IGNORECASE)

ENV = {
    "SNOWFLAKE_ACCOUNT": "fakesnow",
    "SNOWFLAKE_USER": "fake",
    "SNOWFLAKE_PASSWORD": "snow",
}


# fakesnow (DuckDB) cannot create or describe GEOGRAPHY / GEOMETRY; VARCHAR stands in for them
# when executing (their values in the fixtures are NULL).
SPATIAL = re.compile(r"(?<![a-z])(geography|geometry)\b", re.IGNORECASE)  # to_geography( too
PLAIN_VIEW = re.compile(r"create\s+or\s+replace\s+view\b", re.IGNORECASE)


def executable(sql: str) -> str:
    """The form of ``sql`` fakesnow can run: a secure view with policies -> a plain view, and
    GEOGRAPHY / GEOMETRY -> VARCHAR."""
    sql = SPATIAL.sub("varchar", sql)
    if "is_role_in_session" in sql.lower() and PLAIN_VIEW.search(sql):
        import sqlglot
        from sqlglot import exp

        def no_roles(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Anonymous) and str(node.this).upper() == "IS_ROLE_IN_SESSION":
                return exp.true()
            return node

        sql = sqlglot.parse_one(sql, read="snowflake").transform(no_roles).sql("snowflake")
    if not SECURE_VIEW.match(sql):
        return sql
    import sqlglot
    from sqlglot import exp

    create = sqlglot.parse_one(QUERY_COMMENT.sub("", sql), read="snowflake")
    assert isinstance(create, exp.Create), sql
    name = create.this.this if isinstance(create.this, exp.Schema) else create.this
    create.set("this", name)
    create.set("properties", None)
    return create.sql("snowflake")


# a string literal (kept) or a line comment (dropped)
LINE_COMMENT = re.compile(r"('(?:[^']|'')*')|--[^\n]*")


def normalise(sql: str) -> str:
    """A captured statement without dbt's query comment and line comments, with its whitespace
    collapsed to one line."""
    text = LINE_COMMENT.sub(lambda m: m.group(1) or "", QUERY_COMMENT.sub("", sql))
    return " ".join(text.split()).rstrip(";").rstrip()


@dataclass
class FakeSnowflake:
    """A fakesnow session whose statements are captured (see the module docstring)."""

    db_path: Path
    statements: list[str] = field(default_factory=list)

    @contextlib.contextmanager
    def running(self) -> Iterator[FakeSnowflake]:
        import fakesnow
        from fakesnow.cursor import FakeSnowflakeCursor

        original = FakeSnowflakeCursor.execute
        capture = self.statements

        def execute(cursor: Any, command: str, *args: Any, **kwargs: Any) -> Any:
            capture.append(command)
            return original(cursor, executable(command), *args, **kwargs)

        self.db_path.mkdir(parents=True, exist_ok=True)
        old_env = {k: os.environ.get(k) for k in ENV}
        os.environ.update(ENV)
        FakeSnowflakeCursor.execute = execute  # type: ignore[method-assign]
        try:
            with fakesnow.patch(db_path=str(self.db_path), nop_regexes=NOP_PATTERNS):
                yield self
        finally:
            FakeSnowflakeCursor.execute = original  # type: ignore[method-assign]
            for k, v in old_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def ddl(self) -> list[str]:
        """The captured DDL / DCL / DML (no introspection), normalised."""
        return [normalise(s) for s in self.statements if DDL.match(s)]

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run ``sql`` through the (patched) connector; call inside ``running()``."""
        import snowflake.connector

        conn = snowflake.connector.connect(account="fakesnow", user="fake", password="snow")
        try:
            cur = conn.cursor()
            cur.execute(sql)
            return list(cur.fetchall())
        finally:
            conn.close()


def copy_fixture_mesh(dest: Path, fixtures: Path = FIXTURES) -> Path:
    """A fixture mesh (its domains use the platform as installed with meshkit, and the policy
    `mesh build` generates from its mesh.yml); returns its mesh.yml."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(fixtures, dest, dirs_exist_ok=True)
    return dest / "mesh.yml"


def check_golden(name: str, lines: list[str]) -> None:
    """Compare ``lines`` with golden/<name> (MESH_UPDATE_GOLDEN=1 rewrites it)."""
    path = GOLDEN / name
    text = "\n".join(lines) + "\n"
    if UPDATE_GOLDEN or not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.is_file()
        path.write_text(text)
        if not existed and not UPDATE_GOLDEN:
            raise AssertionError(f"{path} did not exist and was written: review and commit it")
    assert path.read_text() == text, (
        f"{path} differs from this run; if the change is intended, rerun with "
        "MESH_UPDATE_GOLDEN=1 and review the diff")


CREATE_SECURE_VIEW = re.compile(r"create or replace secure view (\S+)", re.IGNORECASE)
GRANT_ON_VIEW = re.compile(r"grant select on view (\S+) to database role (\S+)", re.IGNORECASE)
# The one table a role is granted: the withheld list, to the domains' engineers, as the owners
# of the views whose guard reads it.
WITHHELD_READ = re.compile(r"\s*grant select on table \S+\.mesh_catalog\.withheld_views "
                           r"to role \w+_engineer\s*$", re.IGNORECASE)
LATE_POLICY = re.compile(r"\b(set|add)\s+(masking|row\s+access)\s+policy\b", re.IGNORECASE)


def assert_no_exposure_window(ddl: list[str]) -> dict[str, str]:
    """Every GRANT on a view follows the view's CREATE (which carries its policies), and no
    policy is attached afterwards. Returns the CREATE of each view by name."""
    created: dict[str, str] = {}
    for sql in ddl:
        assert not LATE_POLICY.search(sql), f"policy attached after creation: {sql}"
        if m := CREATE_SECURE_VIEW.match(sql):
            created[m.group(1).lower()] = sql
        if m := GRANT_ON_VIEW.match(sql):
            view = m.group(1).lower()
            assert view in created, f"grant before the view exists: {sql}"
            assert m.group(2).lower() == ".".join(view.split(".")[:2]) + "_reader", sql
        assert WITHHELD_READ.match(sql) or not re.match(
            r"\s*grant\b.*\bon\s+(table|schema\s+\S+\.internal)\b", sql, re.IGNORECASE), \
            f"grant outside the secure views: {sql}"
    return created


def load_raw_tables(mesh: Any, cursor: Any) -> None:
    """Land each domain's raw Parquet files as ``<domain>.raw.<table>`` in fakesnow, with
    Snowflake's upper-case column names (as an ingestion job would)."""
    import duckdb
    import yaml

    for d in mesh.config.domains:
        sources = yaml.safe_load(
            (mesh.domain_path(d) / "models" / "staging" / "_sources.yml").read_text())["sources"]
        cursor.execute(f"create schema if not exists {d.name}.raw")
        for source in sources:
            for t in source["tables"]:
                f = mesh.root / "data" / "raw" / f"{t['name']}.parquet"
                names = [r[0] for r in duckdb.sql(
                    f"describe select * from read_parquet('{f}')").fetchall()]
                select = ", ".join(f'"{c}" as {c}' for c in names)
                cursor.execute(f"create or replace table {d.name}.raw.{t['name']} as "
                               f"select {select} from read_parquet('{f}')")


# --- masking policy signatures against the columns they are attached to ---------------------------

# Snowflake's documented data type synonyms and defaults ("Summary of data types"), written out
# here apart from meshkit.column_types: the oracle every generated signature is held against.
# A bare TIMESTAMP follows TIMESTAMP_TYPE_MAPPING, whose default (assumed) is TIMESTAMP_NTZ.
_FIXED = {"NUMBER", "DECIMAL", "DEC", "NUMERIC"}
_INTEGER = {"INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "BYTEINT"}
_FLOAT = {"FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "DOUBLE PRECISION", "REAL"}
_TEXT = {"VARCHAR", "STRING", "TEXT", "NVARCHAR", "NVARCHAR2", "CHAR VARYING", "NCHAR VARYING"}
_CHAR = {"CHAR", "CHARACTER", "NCHAR"}  # CHAR without a length is VARCHAR(1)
_TIMES = {"TIME": "TIME", "TIMESTAMP": "TIMESTAMP_NTZ", "DATETIME": "TIMESTAMP_NTZ",
          "TIMESTAMP_NTZ": "TIMESTAMP_NTZ", "TIMESTAMP_LTZ": "TIMESTAMP_LTZ",
          "TIMESTAMP_TZ": "TIMESTAMP_TZ",
          # sqlglot's spellings, as it regenerates a parsed column definition
          "TIMESTAMPNTZ": "TIMESTAMP_NTZ", "TIMESTAMPLTZ": "TIMESTAMP_LTZ",
          "TIMESTAMPTZ": "TIMESTAMP_TZ"}


def documented_type(data_type: str) -> str:
    """A Snowflake type as Snowflake stores it, e.g. ``int`` -> ``NUMBER(38,0)``, ``text`` ->
    ``VARCHAR(16777216)``, ``char(4)`` -> ``VARCHAR(4)``, ``time`` -> ``TIME(9)``."""
    m = re.fullmatch(r"\s*([a-z_][a-z0-9_ ]*?)\s*(?:\(([^)]*)\))?\s*", data_type.lower())
    assert m, data_type
    name, args = m.group(1).upper(), [a.strip() for a in (m.group(2) or "").split(",") if a.strip()]
    if name in _FIXED:
        p, s = (args + ["38", "0"][len(args):])[:2]
        return f"NUMBER({p},{s})"
    if name in _INTEGER:
        return "NUMBER(38,0)"
    if name in _FLOAT:
        return "FLOAT"
    if name in _TEXT:
        return f"VARCHAR({args[0] if args else 16777216})"
    if name in _CHAR:
        return f"VARCHAR({args[0] if args else 1})"
    if name in ("BINARY", "VARBINARY"):
        return f"BINARY({args[0] if args else 8388608})"
    if name in _TIMES:
        return f"{_TIMES[name]}({args[0] if args else 9})"
    assert not args, data_type
    return name


POLICY_DEF = re.compile(
    r"^CREATE MASKING POLICY IF NOT EXISTS (\S+) AS \(val (.+?)\) RETURNS (.+?) -> ")


def policy_signatures(statements: list[str]) -> dict[str, tuple[str, str]]:
    """Masking policy name -> (argument type, return type) of the plan's CREATE statements."""
    return {m.group(1).lower(): (m.group(2), m.group(3))
            for s in statements if (m := POLICY_DEF.match(s))}


def masked_view_columns(ddl: list[str]) -> list[tuple[str, str, str, str]]:
    """(view, column, masking policy, the column's type as declared or cast) of every masked
    column of the captured secure views, from the internal tables' CREATE and the views' select."""
    import sqlglot
    from sqlglot import exp

    tables: dict[str, dict[str, str]] = {}
    out = []
    for sql in ddl:
        if re.match(r"create or replace transient table", sql, re.IGNORECASE):
            create = sqlglot.parse_one(sql, read="snowflake")
            name = create.this.this.sql("snowflake").lower().removesuffix("__dbt_tmp")
            tables[name] = {c.name.lower(): c.args["kind"].sql("snowflake")
                            for c in create.this.expressions if isinstance(c, exp.ColumnDef)}
        elif SECURE_VIEW.match(sql):
            create = sqlglot.parse_one(sql, read="snowflake")
            if not isinstance(create.this, exp.Schema):
                continue
            view = create.this.this.sql("snowflake").lower()
            select = create.expression
            source = tables.get(select.args["from_"].this.sql("snowflake").lower(), {})
            projections = {e.alias_or_name.lower(): e for e in select.expressions}
            for column in create.this.expressions:
                if not isinstance(column, exp.ColumnDef):
                    continue  # a bare identifier: no policy
                policies = [c.kind.this.sql("snowflake").lower() for c in column.constraints
                            if isinstance(c.kind, exp.MaskingPolicyColumnConstraint)]
                if not policies:
                    continue
                expr = projections[column.name.lower()]
                expr = expr.this if isinstance(expr, exp.Alias) else expr
                if isinstance(expr, exp.Cast):
                    column_type = expr.to.sql("snowflake")
                else:
                    column_type = source.get(column.name.lower(), "")  # a view over a view: none
                out.append((view, column.name.lower(), policies[0], column_type))
    return out


def assert_signatures_equal_column_types(plan_statements: list[str], ddl: list[str]) -> int:
    """Every masking policy a captured view attaches is created by the plan, and its signature
    (argument and return type) is the column's type, as Snowflake documents the types. Returns
    how many masked columns were checked."""
    signatures = policy_signatures(plan_statements)
    checked = 0
    for view, column, policy, column_type in masked_view_columns(ddl):
        assert policy in signatures, f"{view}.{column}: {policy} is not created by the plan"
        argument, returns = signatures[policy]
        assert column_type, f"{view}.{column}: no type found"
        expected = documented_type(column_type)
        assert documented_type(argument) == documented_type(returns) == expected, (
            f"{view}.{column} is {column_type} ({expected}) but {policy} takes {argument} "
            f"and returns {returns}")
        checked += 1
    return checked
