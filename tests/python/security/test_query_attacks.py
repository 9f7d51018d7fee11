"""`mesh query` denies by default: a table of attacks on the built demo, each refused with exit 2
and nothing of the internal tables or of the raw files in the output.

The attacks are tried as an analyst holding no role would: reading internal schemas, table
functions, files by path and glob, CTE and subquery scoping, quoting and case, several
statements, settings, ATTACH / COPY / INSTALL / LOAD / PRAGMA / EXPORT, macros, and the catalog
functions that reveal a view's SQL. ``{data}`` and ``{warehouse}`` stand for the demo's raw-data
and warehouse folders.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from meshkit.backends.duckdb.query import connect
from meshkit.cli.main import cli
from meshkit.config import load_mesh

STG = "consumer_banking.internal.stg_customers"
INTERNAL_V2 = "consumer_banking.internal.consumer_demographics__consumer_demographics_v2"
VIEW = "consumer_banking.consumer_demographics.consumer_demographics"
PARQUET = "{data}/customers.parquet"

ATTACKS: dict[str, str] = {
    "internal schema": f"select * from {STG}",
    "internal table behind a secure view": f"select email from {INTERNAL_V2}",
    "upper case": f"SELECT * FROM {STG.upper()}",
    "quoted parts": 'select * from "consumer_banking"."internal"."stg_customers"',
    "quoted mixed case": 'select * from "Consumer_Banking"."INTERNAL"."Stg_Customers"',
    "one quoted identifier": f'select * from "{STG}"',
    "from-first syntax": f"from {STG}",
    "query_table": f"select * from query_table('{STG}')",
    "query": f"select * from query('select email from {STG}')",
    "read_parquet path": f"select * from read_parquet('{PARQUET}')",
    "read_parquet glob": "select * from read_parquet('{data}/*.parquet')",
    "read_parquet list": f"select * from read_parquet(['{PARQUET}'])",
    "parquet_metadata": f"select * from parquet_metadata('{PARQUET}')",
    "replacement scan, string": f"select * from '{PARQUET}'",
    "replacement scan, identifier": f'select * from "{PARQUET}"',
    "read_csv /etc/passwd": "select * from read_csv('/etc/passwd')",
    "read_text": "select * from read_text('/etc/passwd')",
    "read_blob": "select * from read_blob('/etc/passwd')",
    "read_json": "select * from read_json_auto('/etc/passwd')",
    "glob": "select * from glob('{data}/*')",
    "table function in a scalar subquery": "select (select content from read_text('/etc/passwd'))",
    "table function in IN": "select 1 where 'x' in (select content from read_text('/etc/passwd'))",
    "CTE named like a file, in a subquery, read outside it":
        f'select * from (with "{PARQUET}" as (select 1 as x) select * from "{PARQUET}") s, '
        f"'{PARQUET}'",
    "CTE of a subquery used outside it":
        "select * from (with stg_customers as (select 1) select * from stg_customers) s, "
        "stg_customers",
    "CTE named like DuckDB's catalog view, read outside its subquery":
        "select s.*, sql from (with duckdb_views as (select 1) select * from duckdb_views) s, "
        "duckdb_views",
    # Python's str.lower() folds the Kelvin sign to "k", DuckDB does not (found by a tester)
    "CTE named with a Kelvin sign, hiding DuckDB's catalog view":
        'with "duc\u212adb_views" as (select 1) select view_name, sql from duckdb_views',
    "CTE reading internal": f"with c as (select * from {STG}) select * from c",
    "recursive CTE reading internal":
        f"with recursive r(n) as (select 1 union all select n + 1 from r, {STG} where n < 2) "
        "select * from r",
    "CTE shadowing a qualified name": f"with stg_customers as (select 1) select * from {STG}",
    "union with internal": f"select email from {VIEW} union all select email from {STG}",
    "exists subquery": f"select count(*) from {VIEW} where exists (select 1 from {STG})",
    "lateral join": f"select * from {VIEW} v, lateral (select email from {STG}) s",
    "unnest of a subquery": f"select * from unnest((select list(email) from {STG}))",
    "range of a subquery": f"select * from range((select count(*) from {STG}))",
    "pivot": f"pivot {STG} on region using count(*)",
    "summarize": f"summarize {STG}",
    "describe": f"describe {STG}",
    "show tables": "show all tables",
    "two statements": f"select 1; select * from {STG}",
    "comment hiding a statement": f"select 1 /* ; */ ; select email from {STG}",
    "set external access": "set enable_external_access = true",
    "set after a query": "select 1; set lock_configuration = false",
    "set roles": "set variable mesh_roles = ['compliance_officer']",
    "set clearances": "set variable mesh_clearances = ['cleared_pii', 'cleared_rows_eu_residency']",
    "set clearances after a query": f"select 1 from {VIEW}; set variable mesh_clearances = "
                                    "['cleared_pii']",
    "reset": "reset lock_configuration",
    "pragma": f"pragma table_info('{STG}')",
    "pragma function": f"select * from pragma_table_info('{STG}')",
    "call": f"call pragma_table_info('{STG}')",
    "attach": "attach '{warehouse}/consumer_banking.duckdb' as cb2",
    "detach": "detach consumer_banking",
    "use": "use consumer_banking.internal",
    "copy to file": f"copy (select * from {STG}) to '/tmp/mesh_leak.csv'",
    "copy from file": "copy consumer_banking.internal.stg_customers from '/etc/passwd'",
    "export database": "export database '/tmp/mesh_leak'",
    "install": "install httpfs",
    "load": "load httpfs",
    "create macro": f"create macro leak() as table select * from {STG}",
    "create view": f"create temp view leak as select * from {STG}",
    "qualified macro call": "select consumer_banking.main.leak()",
    "duckdb_views reveals view SQL": "select sql from duckdb_views()",
    "duckdb_functions reveals macro SQL": "select macro_definition from duckdb_functions()",
    "duckdb_tables": "select sql from duckdb_tables()",
    "duckdb_columns": "select * from duckdb_columns()",
    "duckdb_settings": "select * from duckdb_settings()",
    "duckdb_databases paths": "select path from duckdb_databases()",
    "information_schema.views": "select view_definition from information_schema.views",
    "a domain's information_schema":
        "select view_definition from consumer_banking.information_schema.views",
    "sql_auto_complete": "select * from sql_auto_complete('select * from consumer_banking.')",
    "error() oracle": f"select count(*) from {VIEW} where case when city = 'Paris' "
                      "then error('found') end",
    "not SQL": "this is not sql",
}


@pytest.fixture(scope="module")
def secrets(built_demo: Path) -> list[str]:
    """Values that must never appear in the output of a refused query: raw personal data of
    the internal tables and of the raw files, view SQL, and a line of /etc/passwd."""
    mesh = load_mesh(built_demo)
    with connect(mesh, [], locked=False) as con:
        rows = con.execute(f"select email, national_id, full_name from {INTERNAL_V2} limit 20"
                           ).fetchall()
        view_sql = con.execute("select sql from duckdb_views() where view_name = "
                               "'consumer_demographics_v2'").fetchone()
    values = [v for row in rows for v in row if v]
    passwd = Path("/etc/passwd").read_text().splitlines()[0] if Path("/etc/passwd").is_file() else ""
    assert values and view_sql
    return [*values, "list_has_any", "getvariable", *([passwd] if passwd else [])]


def _format(sql: str, mesh_file: Path) -> str:
    return sql.format(data=mesh_file.parent / "data" / "raw",
                      warehouse=mesh_file.parent / "warehouse")


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_refused(built_demo: Path, secrets: list[str], name: str) -> None:
    sql = _format(ATTACKS[name], built_demo)
    for fmt in ("table", "json"):
        result = CliRunner().invoke(cli, ["query", "--mesh", str(built_demo), "--format", fmt, sql])
        assert result.exit_code == 2, f"{name}: exit {result.exit_code}\n{result.output}"
        assert result.exception is None or isinstance(result.exception, SystemExit), name
        assert "Traceback" not in result.output
        leaked = [s for s in secrets if s in result.output]
        assert not leaked, f"{name} leaks {leaked[:3]}"
    assert not Path("/tmp/mesh_leak.csv").exists()


def test_suite_is_large_enough() -> None:
    assert len(ATTACKS) >= 40


ALLOWED = [
    f"select count(*) from {VIEW}",
    f"with c as (select * from {VIEW}) select count(*) from c",
    f"select count(*) from {VIEW} v join consumer_banking.consumer_demographics"
    ".consumer_demographics_v1 w using (customer_id)",
    f"select region, count(*) from {VIEW} group by all order by 1",
    "select * from range(3) t(i) cross join unnest([1, 2]) u(j)",
    "select * from generate_series(1, 2)",
    f"select count(*) from {VIEW} using sample 50%",
    f"select count(*) from (from {VIEW}) union all (with c as (from {VIEW}) select count(*) from c)",
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_reads_of_secure_views_run(built_demo: Path, sql: str) -> None:
    result = CliRunner().invoke(cli, ["query", "--mesh", str(built_demo), "--format", "json", sql])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)


def test_meanwhile_runs_on_a_thread_of_its_own(built_demo: Path) -> None:
    """The work a query is given to do while DuckDB opens its session (the CLI's import of its
    table renderer) runs on another thread and has ended when the query returns (so the process
    can end at once), and the query answers as without it; a refused query waits for it too."""
    import threading

    from meshkit.backends.duckdb.query import query_mesh_file
    from meshkit.errors import UsageError

    seen: list[str] = []
    done = threading.Event()

    def work() -> None:
        seen.append(threading.current_thread().name)
        done.set()

    sql = f"select count(*) from {VIEW}"
    result = query_mesh_file(built_demo, sql, [], meanwhile=work)
    assert done.is_set() and seen == ["meshkit-meanwhile"]  # ended before the query returned
    assert not [t for t in threading.enumerate() if t.name == "meshkit-meanwhile"]
    assert result.rows == query_mesh_file(built_demo, sql, []).rows and result.rows[0][0] > 0
    ended = threading.Event()

    def slow() -> None:
        ended.wait(0.2)
        seen.append("slow")
        ended.set()

    with pytest.raises(UsageError):
        query_mesh_file(built_demo, "select * from consumer_banking.internal.stg_customers", [],
                        meanwhile=slow)
    assert ended.is_set() and seen[-1] == "slow"


def test_session_is_locked_even_if_the_checker_is_bypassed(built_demo: Path) -> None:
    """What runs after the checker: files, settings and attachments are out of reach."""
    mesh = load_mesh(built_demo)
    parquet = built_demo.parent / "data" / "raw" / "customers.parquet"
    with connect(mesh, []) as con:
        for sql in (f"select * from read_parquet('{parquet}')", "select * from read_text('/etc/passwd')",
                    f"attach '{built_demo.parent / 'warehouse' / 'risk.duckdb'}' as r2",
                    "set enable_external_access = true", "set lock_configuration = false",
                    "install httpfs"):
            with pytest.raises(duckdb.Error):
                con.execute(sql)


def test_runtime_error_is_clean_and_quotes_no_value(built_demo: Path) -> None:
    sql = f"select cast(city as integer) from {VIEW}"
    result = CliRunner().invoke(cli, ["query", "--mesh", str(built_demo), sql])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "DuckDB Conversion error" in result.output and "'…'" in result.output


def test_a_runtime_error_names_no_number_of_a_row(built_demo: Path) -> None:
    """A failed cast quotes its value unquoted ("value 741640244 can't be cast"): for a cleared
    session, a national id's digits, which the query log then kept and the sync copied into the
    catalog's warehouse (found by a tester)."""
    import re

    sql = (f"select cast(replace(national_id, '-', '') as bigint)::utinyint from {VIEW} "
           "where national_id like '___-__-____'")
    result = CliRunner().invoke(cli, ["query", "--mesh", str(built_demo),
                                      "--role", "compliance_officer", sql])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "Conversion" in result.output and "…" in result.output
    assert not re.search(r"\d{5,}", result.output), result.output


def test_a_mesh_file_of_ones_own_cannot_declare_an_internal_table_a_view(
        built_demo: Path, tmp_path: Path) -> None:
    """`mesh query --mesh` with a mesh.yml and a manifest of one's own, pointed at the domains'
    warehouse, declared an internal table public, and the query checker let it be read as a
    secure view (found by a tester). A domain's internal schema is never a secure view, and
    only models materialized as secure views are."""
    import shutil

    warehouse = tmp_path / "warehouse"
    shutil.copytree(built_demo.parent / "warehouse", warehouse,
                    ignore=shutil.ignore_patterns("*.wal", "mesh_*.json"))
    (tmp_path / "art").mkdir()
    (tmp_path / "mesh.yml").write_text(
        "name: evil\ndomains:\n  - {name: consumer_banking, artifacts: art, "
        "owner: {name: x, email: x@x.example}, description: x}\n"
        f"targets:\n  dev: {{type: duckdb, path: {warehouse}}}\n")
    nodes = {
        "model.consumer_banking.a": {"name": "stg_customers", "schema": "internal",
                                     "config": {"materialized": "secure_view"}},
        "model.consumer_banking.b": {"name": "consumer_demographics", "version": 2,
                                     "latest_version": 2, "alias": "consumer_demographics_v2",
                                     "schema": "consumer_demographics",
                                     "config": {"materialized": "table"}},
    }
    for node in nodes.values():
        node.update(resource_type="model", package_name="consumer_banking",
                    database="consumer_banking", alias=node.get("alias", node["name"]))
        node["config"].update(group="g", access="public")
    (tmp_path / "art" / "manifest.json").write_text(json.dumps({
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
        "nodes": nodes}))
    for sql in (f"select email from {STG}",
                "select email from consumer_banking.consumer_demographics"
                ".consumer_demographics_v2"):
        result = CliRunner().invoke(cli, ["query", "--mesh", str(tmp_path / "mesh.yml"), sql])
        assert result.exit_code == 2, result.output
        assert "not a data product's secure view" in result.output and "@" not in result.output


def test_data_is_printed_literally(built_demo: Path) -> None:
    sql = "select '[red]x[/red]' as \"[bold]c\", chr(27) || '[2J' as esc"
    result = CliRunner().invoke(cli, ["query", "--mesh", str(built_demo), sql])
    assert result.exit_code == 0, result.output
    assert "[red]x[/red]" in result.output and "[bold]c" in result.output
    assert "\x1b" not in result.output and "\\x1b[2J" in result.output


@pytest.mark.parametrize("sql", [
    "select * from consumer_banking.internal.stg_customers",
    "select * from read_text('/etc/passwd')",
    "select * from 'x.parquet'",
    "select consumer_banking.main.leak()",
    "select consumer_banking.main.leak() over ()",
    "select error('x')",
    "summarize consumer_banking.internal.stg_customers",
    "select 1; select 2",
    "set enable_external_access = true",
    "select getvariable('mesh_clearances')",
    "select 1 from consumer_banking.consumer_demographics.consumer_demographics "
    "where list_contains(getvariable('mesh_clearances'), 'cleared_pii')",
    "set variable mesh_clearances = ['cleared_pii']",
    "select * from consumer_banking.consumer_demographics.consumer_demographics at (version => 1)",
    # CTE scoping: a CTE covers its own query only; outside it the name is the catalog's
    "select * from (with duckdb_views as (select 1) select * from duckdb_views) s, duckdb_views",
    "select * from (with x as (select 1) select 1) s where exists (select * from duckdb_views)",
    "select (with duckdb_tables as (select 1) select 1), * from duckdb_tables",
    "with a as (select * from b), b as (select 1) select * from a",
    "with x as (select * from x) select * from x",
    "with recursive r(n) as (select * from r union all select n + 1 from r) select * from r",
    "select 1 union all (with duckdb_views as (select 1) select 1) union all "
    "select count(*) from duckdb_views",
])
def test_check_refuses_without_the_session_lock(sql: str) -> None:
    """The check on DuckDB's parse refuses on its own, before any session is locked: CTE names
    out of their scope included (each of those reads a catalog view of DuckDB if run)."""
    from meshkit.backends.duckdb.query import check_reads
    from meshkit.errors import UsageError

    with pytest.raises(UsageError):
        check_reads(sql, {("consumer_banking", "consumer_demographics", "consumer_demographics")})


@pytest.mark.parametrize(("sql", "shown"), [("use consumer_banking.internal", "USE"),
                                           ("set variable mesh_roles = []", "SET"),
                                           ("reset variable mesh_roles", "RESET"),
                                           ("attach 'x.db' as x", "ATTACH"),
                                           ("install httpfs", "INSTALL"),
                                           ("force install httpfs", "FORCE INSTALL"),
                                           # A kind DuckDB's Python enum does not know: it
                                           # used to end `mesh query` in a traceback, exit 1.
                                           ("update extensions", "UPDATE EXTENSIONS"),
                                           ("/* why */ -- not\n use consumer_banking.internal",
                                            "USE"),
                                           ("with c as (select 1) insert into t select 1",
                                            "INSERT")])
def test_a_statement_refused_is_named_as_written(sql: str, shown: str) -> None:
    from meshkit.backends.duckdb.query import check_reads
    from meshkit.errors import UsageError

    with pytest.raises(UsageError) as refused:
        check_reads(sql, set())
    assert refused.value.message.endswith(f"may run through `mesh query`, not {shown}")


@pytest.mark.parametrize(("sql", "shown"), [
    ("summarize consumer_banking.internal.int_customers_enriched", "DESCRIBE, SHOW and SUMMARIZE"),
    ("describe consumer_banking.internal.int_customers_enriched", "DESCRIBE, SHOW and SUMMARIZE"),
    ("unpivot consumer_banking.internal.int_customers_enriched on columns(*) into name k value v",
     "PIVOT and UNPIVOT")])
def test_a_table_reference_refused_is_named_by_its_statement(sql: str, shown: str) -> None:
    from meshkit.backends.duckdb.query import check_reads
    from meshkit.errors import UsageError

    with pytest.raises(UsageError) as refused:
        check_reads(sql, set())
    assert refused.value.message == f"{shown} are not available through `mesh query`"


@pytest.mark.parametrize(("sql", "reads"), [
    ("with c as (select 1) select * from c, range(2), "
     "consumer_banking.consumer_demographics.consumer_demographics", [VIEW]),
    ("with a as (select 1), b as (select * from a) select * from b", []),
    ("with c as (select 1) select * from (select * from c) s where exists (select * from c)", []),
    ("with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) "
     "select * from r", []),
    (f"select * from {VIEW.upper()} union all (with c as (select * from {VIEW}) select * from c)",
     [VIEW]),
])
def test_check_allows_ctes_in_scope_and_names_the_views_read(sql: str, reads: list[str]) -> None:
    from meshkit.backends.duckdb.query import check_reads

    assert check_reads(sql, {tuple(VIEW.split("."))}) == reads  # type: ignore[arg-type]


def test_base_tables_are_checked_wherever_the_tree_has_them() -> None:
    """A base table or table function in DuckDB's tree is checked even where it lacks the
    alias that marks other table references (a later DuckDB may serialize it so)."""
    from meshkit.backends.duckdb.query import _check_tree
    from meshkit.errors import UsageError

    views = {tuple(VIEW.split("."))}
    for ref in ({"type": "BASE_TABLE", "catalog_name": "consumer_banking",
                 "schema_name": "internal", "table_name": "stg_customers"},
                {"type": "TABLE_FUNCTION", "function": {"function_name": "read_text"}}):
        node = {"type": "SELECT_NODE", "cte_map": {"map": []}, "from_table": ref}
        with pytest.raises(UsageError):
            _check_tree(node, frozenset(), views, set())  # type: ignore[arg-type]


def test_a_cte_out_of_scope_would_read_duckdbs_catalog() -> None:
    """Why the scoping matters: run as is, a name whose CTE is out of scope reads DuckDB's own
    view of the catalog (view definitions), which a flat list of CTE names would have let by."""
    sql = ("select sql from (with duckdb_views as (select 1) select * from duckdb_views) s, "
           "duckdb_views where view_name = 'leak'")
    con = duckdb.connect()
    con.execute("create view leak as select 'secret' as s")
    assert con.execute(sql).fetchall()  # the catalog's view, not the CTE


@pytest.mark.parametrize(("depth", "why"), [(400, "nested too deeply"), (3000, "cannot parse")])
def test_a_deeply_nested_query_is_refused_cleanly(depth: int, why: str) -> None:
    """Deeper than the checker walks (its own limit) or than DuckDB parses: refused, no crash."""
    from meshkit.backends.duckdb.query import check_reads
    from meshkit.errors import UsageError

    sql = "select " + "(select " * depth + "1" + ")" * depth
    with pytest.raises(UsageError, match=why):
        check_reads(sql, set())


