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

from support import REPO

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
UPDATE_GOLDEN = os.environ.get("MESH_UPDATE_GOLDEN") == "1"

NOP_PATTERNS = [
    r"\s*(grant|revoke)\s",
    r"\s*(create|alter|drop)\s+(or\s+replace\s+)?(database\s+role|role|masking\s+policy|"
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


PLAIN_VIEW = re.compile(r"create\s+or\s+replace\s+view\b", re.IGNORECASE)


def executable(sql: str) -> str:
    """The form of ``sql`` fakesnow can run: a secure view with policies -> a plain view."""
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


def copy_fixture_mesh(dest: Path) -> Path:
    """The fixture mesh with the repository's root dbt project (the platform macros) beside it,
    as a mesh is laid out; returns its mesh.yml."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(FIXTURES, dest, dirs_exist_ok=True)
    shutil.copy2(REPO / "dbt_project.yml", dest / "dbt_project.yml")
    shutil.copytree(REPO / "macros", dest / "macros")
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
        assert not re.match(r"\s*grant\b.*\bon\s+(table|schema\s+\S+\.internal)\b", sql,
                            re.IGNORECASE), f"grant outside the secure views: {sql}"
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
