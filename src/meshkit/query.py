"""`mesh query`: run SQL as a role against the whole mesh on DuckDB.

Every built domain's database is attached read-only under the domain's name, the role goes into
the session variable ``mesh_roles`` that the secure views test, and the statement may read
product schemas only: a reference to a domain's ``internal`` schema (or to anything that is not
a secure view of the mesh) is refused before it runs, as Snowflake grants would refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshkit.config import DuckDBTarget, Mesh
from meshkit.errors import UsageError


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def warehouse_dir(mesh: Mesh, target: str | None = None) -> Path:
    name, t = mesh.config.target(target)
    if not isinstance(t, DuckDBTarget):
        raise UsageError(f"target {name!r} is not a DuckDB target",
                         fix="`mesh query` runs on DuckDB; on Snowflake use any SQL client with your role")
    return (mesh.root / t.path).resolve()


def connect(mesh: Mesh, roles: list[str], target: str | None = None) -> Any:
    """An in-memory DuckDB session with every built domain attached read-only, as ``roles``."""
    import duckdb
    from sqlglot import exp

    from meshkit.dbt_duckdb_plugin import set_roles_sql

    known = set(mesh.config.all_role_names)
    for role in roles:
        if role not in known:
            import difflib

            close = difflib.get_close_matches(role, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(f"unknown role {role!r}{hint}",
                             file=mesh.file, location="roles",
                             fix=f"use one of: {', '.join(sorted(known))}")
    folder = warehouse_dir(mesh, target)
    con = duckdb.connect(":memory:")
    attached = 0
    for domain in mesh.config.domains:
        db = folder / f"{domain.name}.duckdb"
        if db.is_file():
            attach = exp.Attach(
                this=exp.alias_(exp.Literal.string(str(db)), domain.name),
                expressions=[exp.AttachOption(this=exp.var("READ_ONLY"))],
            )
            con.execute(attach.sql("duckdb"))
            attached += 1
    if not attached:
        raise UsageError(f"no domain database found in {folder}",
                         fix="build the mesh first: `mesh build` (or `make demo`)")
    con.execute(set_roles_sql(roles))
    con.execute(set_cleared_products_sql(cleared_products_of(mesh, roles)))
    return con


def cleared_products_of(mesh: Mesh, roles: list[str]) -> list[str]:
    """Products the roles are cleared on by approved access requests (:mod:`meshkit.access`)."""
    from meshkit.access import cleared_products

    return cleared_products(mesh, roles)


def set_cleared_products_sql(products: list[str]) -> str:
    """``SET VARIABLE mesh_cleared_products = [...]`` (product addresses are data, not SQL).

    >>> set_cleared_products_sql([])
    'SET VARIABLE mesh_cleared_products = CAST([] AS TEXT[])'
    """
    from sqlglot import exp

    from meshkit.policy import CLEARED_PRODUCTS_VARIABLE

    array = exp.cast(exp.Array(expressions=[exp.Literal.string(p) for p in products]),
                     "VARCHAR[]")
    return f"SET VARIABLE {CLEARED_PRODUCTS_VARIABLE} = {array.sql('duckdb')}"


def secure_views(mesh: Mesh) -> set[tuple[str, str, str]]:
    """(domain, product, dataset) of every secure view, from the built domains' manifests.

    A product's public models and, for a versioned one, the unversioned name of its latest
    version; nothing else in a domain's database is a consumer's to read.
    """
    from meshkit.artifacts import LocalArtifacts, read_domain_artifacts

    views: set[tuple[str, str, str]] = set()
    for domain in mesh.config.domains:
        if not (mesh.artifacts_path(domain) / "manifest.json").is_file():
            continue
        arts = read_domain_artifacts(LocalArtifacts(mesh.artifacts_path(domain)))
        for node in arts.nodes.values():
            if node.package_name != domain.name or node.access != "public" or not node.group:
                continue
            database, schema, name = node.relation_key
            views.add((database, schema, name))
            if node.version is not None and node.version == node.latest_version:
                views.add((database, schema, node.name.lower()))
    return views


def check_reads(sql: str, views: set[tuple[str, str, str]]) -> None:
    """Refuse statements that read anything but the secure views of the mesh.

    >>> views = {("consumer_banking", "consumer_demographics", "consumer_demographics")}
    >>> try:
    ...     check_reads("select 1 from consumer_banking.internal.stg_customers", views)
    ... except UsageError as exc:
    ...     print(exc.message)
    reads consumer_banking.internal.stg_customers, which is not a data product's secure view
    >>> check_reads("with c as (select * from consumer_banking.consumer_demographics.consumer_demographics)"
    ...             " select count(*) from c", views)
    """
    import difflib

    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except ParseError as exc:
        raise UsageError(f"cannot parse the query: {exc}", fix="check the SQL syntax") from None
    addresses = sorted(".".join(v) for v in views)
    for statement in statements:
        if statement is None:
            continue
        if not isinstance(statement, exp.Query):
            raise UsageError("only queries (SELECT, WITH …) may run through `mesh query`",
                             fix="remove the statement that is not a query")
        ctes = {cte.alias_or_name for cte in statement.find_all(exp.CTE)}
        for table in statement.find_all(exp.Table):
            if isinstance(table.this, exp.Func):  # table functions, e.g. range(10)
                continue
            if not table.db and table.name in ctes:
                continue
            ref = (table.catalog.lower(), table.db.lower(), table.name.lower())
            if ref in views:
                continue
            shown = ".".join(p for p in (table.catalog, table.db, table.name) if p)
            close = difflib.get_close_matches(shown.lower(), addresses, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise UsageError(
                f"reads {shown}, which is not a data product's secure view{hint}",
                fix="query <domain>.<product>.<dataset>; `mesh catalog list` shows what exists",
            )


def query(mesh: Mesh, sql: str, roles: list[str], target: str | None = None, *,
          views: set[tuple[str, str, str]] | None = None, client: str = "query") -> QueryResult:
    """Run ``sql`` as ``roles`` (none: the most restrictive view) and return the rows.

    Every call is written to the query audit log (:mod:`meshkit.query_log`) before it returns,
    refused ones too; ``views`` saves re-reading the manifests (``mesh shell`` passes them).
    """
    import time

    from meshkit import query_log

    views = secure_views(mesh) if views is None else views
    folder = warehouse_dir(mesh, target)
    entry = query_log.QueryLogEntry(
        at=query_log.now_iso(), user=query_log.current_user(), roles=list(roles), datasets=[],
        rows=None, seconds=0.0, status="ok", sql=sql, client=client)
    start = time.perf_counter()
    try:
        check_reads(sql, views)
        entry.datasets = query_log.datasets_read(sql, views)
        con = connect(mesh, roles, target)
        try:
            entry.cleared_products = cleared_products_of(mesh, roles)
            cursor = con.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            result = QueryResult(columns, cursor.fetchall())
        finally:
            con.close()
    except Exception as exc:
        entry.status = "refused" if isinstance(exc, UsageError) else "error"
        entry.error = str(getattr(exc, "message", exc))[:500]
        entry.seconds = round(time.perf_counter() - start, 4)
        query_log.record(folder, entry)
        raise
    entry.rows = len(result.rows)
    entry.seconds = round(time.perf_counter() - start, 4)
    query_log.record(folder, entry)
    return result
