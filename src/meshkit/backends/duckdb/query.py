"""`mesh query`: run SQL as a role against the whole mesh on DuckDB, denying by default.

Every built domain's database is attached read-only under the domain's name, the role goes into
the session variable ``mesh_roles`` and the clearances it holds into ``mesh_clearances`` (both
tested by the secure views; the clearances read from the governance database when the session
opens, one session per query), and the statement may read the secure views the domains' manifests
declare and nothing else, as Snowflake grants would allow.

DuckDB has no access control, so the statement is checked before it runs, twice:

* with sqlglot's scope analysis: every table a scope reads is either a CTE visible in that scope
  (lexical scoping, not a flat set of names) or a declared secure view;
* with DuckDB's own parser (``json_serialize_sql``), so that a construct the two parsers read
  differently cannot slip through: every base table, table function and qualified function call
  DuckDB sees is checked again.

Table functions are refused except :data:`ALLOWED_TABLE_FUNCTIONS`, which read no data. And after
the attachments the session runs with ``enable_external_access = false`` and
``lock_configuration = true``: a gap in the checker still cannot read a file, attach a
database, load an extension or change a setting.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meshkit.backends.duckdb.query_config import QueryConfig
from meshkit.errors import UsageError, did_you_mean

if TYPE_CHECKING:
    from meshkit.config import Mesh

# Table functions that produce rows from their arguments alone (which are checked like any other
# expression): they read no table, file, setting or catalog. Everything else in FROM that is a
# function (read_parquet, query_table, glob, duckdb_views, ...) is refused.
ALLOWED_TABLE_FUNCTIONS: dict[str, str] = {
    "range": "numbers between its arguments",
    "generate_series": "numbers between its arguments",
    "unnest": "the elements of a list given as its argument",
}
# Scalar functions refused although they read nothing: ``error`` raises a message of the
# caller's choosing, which turns any predicate DuckDB evaluates before the row filter into an
# oracle on the rows the filter hides.
REFUSED_FUNCTIONS: dict[str, str] = {
    "error": "it raises a chosen error, an oracle on rows the row filter hides",
    "getvariable": "it reads the session's variables, the hash mask's secret salt among them",
}
FIX_READS = "query <domain>.<product>.<dataset>; `mesh catalog list` shows what exists"
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
PLAIN_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# DuckDB table references that read nothing by themselves.
HARMLESS_REFS = {"JOIN", "SUBQUERY", "EMPTY", "EXPRESSION_LIST"}


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def warehouse_dir(mesh: Mesh, target: str | None = None) -> Path:
    from meshkit.config import DuckDBTarget

    name, t = mesh.config.target(target)
    if not isinstance(t, DuckDBTarget):
        raise UsageError(f"target {name!r} is not a DuckDB target",
                         fix="`mesh query` runs on DuckDB; on Snowflake use any SQL client with your role")
    return (mesh.root / t.path).resolve()


def _config(mesh: Mesh | QueryConfig, target: str | None) -> QueryConfig:
    return mesh if isinstance(mesh, QueryConfig) else QueryConfig.of(mesh, target)


def connect(mesh: Mesh | QueryConfig, roles: list[str], target: str | None = None, *,
            locked: bool = True, cleared_products: list[str] | None = None,
            into: Any = None) -> Any:
    """An in-memory DuckDB session with every built domain attached read-only, as ``roles``.

    ``locked`` (the default) turns external access off and locks the configuration once the
    databases are attached: the session can then read only what is attached.
    ``cleared_products``: those of :func:`cleared_products_of`, when already known; ``into``: a
    fresh in-memory connection to make the session of (default: a new one).
    """
    import duckdb
    from sqlglot import exp

    from meshkit.backends.duckdb.session import (
        set_cleared_products_sql,
        set_roles,
        set_salt,
        set_token_key_sql,
        token_key_from_env,
    )

    config = _config(mesh, target)
    known = set(config.roles)
    for role in roles:
        if role not in known:
            hint = did_you_mean(role, sorted(known))
            raise UsageError(f"unknown role {role!r}{hint}",
                             file=config.file, location="roles",
                             fix=f"use one of: {', '.join(sorted(known))}")
    folder = config.warehouse
    con = duckdb.connect(":memory:") if into is None else into
    attached = 0
    for name, db in _databases(config):
        attach = exp.Attach(
            this=exp.alias_(exp.Literal.string(str(db)), name),
            expressions=[exp.AttachOption(this=exp.var("READ_ONLY"))],
        )
        _attach(con, attach.sql("duckdb"))
        attached += 1
    if not attached:
        if into is None:
            con.close()
        raise UsageError(f"no domain database found in {folder}",
                         fix="build the mesh first: `mesh build` (or `make demo`)")
    set_roles(con, roles)  # and the clearances they hold, read now: current at every query
    if cleared_products is None:
        cleared_products = cleared_products_of(mesh, roles)
    con.execute(set_cleared_products_sql(cleared_products))
    set_salt(con)
    key = token_key_from_env()
    if key:  # the tokenize mask's key: in this session's memory only
        con.execute(set_token_key_sql(key))
    if locked:
        for setting in ("autoinstall_known_extensions", "autoload_known_extensions",
                        "enable_external_access"):
            con.execute(f"SET {setting} = false")
        con.execute("SET lock_configuration = true")
    return con


def cleared_products_of(mesh: Mesh | QueryConfig, roles: list[str]) -> list[str]:
    """Products the roles are cleared on by approved access requests (:mod:`meshkit.access`)."""
    from meshkit.backends.duckdb.query_config import ACCESS_REQUESTS

    if isinstance(mesh, QueryConfig):
        if not roles or not (mesh.root / ACCESS_REQUESTS).exists():
            return []  # no requests: no grant (the light read is only made without any)
        from meshkit.config import load_mesh

        mesh = load_mesh(mesh.file)  # requests written since: resolve them through the models
    from meshkit.access import cleared_products

    return cleared_products(mesh, roles)


def _attach(con: Any, sql: str) -> None:
    """Attach, waiting for a build that holds the file: a query during `mesh build` then sees the
    database as the model being written left it (old view or new)."""
    from meshkit.backends.duckdb.session import retry_while_locked

    retry_while_locked(lambda: con.execute(sql))


def _databases(config: QueryConfig) -> Iterator[tuple[str, Path]]:
    """The domains' databases, then the governance database their views read clearances from
    (without it every classified value stays masked: the views fail closed)."""
    from meshkit.masking import GOVERNANCE_DB

    found = False
    for domain, _ in config.domains:
        db = config.warehouse / f"{domain}.duckdb"
        if db.is_file():
            found = True
            yield domain, db
    governance = config.warehouse / f"{GOVERNANCE_DB}.duckdb"
    if found and governance.is_file():
        yield GOVERNANCE_DB, governance


def secure_views(mesh: Mesh | QueryConfig) -> set[tuple[str, str, str]]:
    """(domain, product, dataset) of every secure view, from the built domains' manifests.

    A product's public models and, for a versioned one, the unversioned name of its latest
    version; nothing else in a domain's database is a consumer's to read. Each is read from
    the manifest as it is now, at every call.
    """
    from meshkit.dbt_manifest import public_relations

    if isinstance(mesh, QueryConfig):
        domains = list(mesh.domains)
    else:
        domains = [(d.name, mesh.artifacts_path(d)) for d in mesh.config.domains]
    views: set[tuple[str, str, str]] = set()
    for name, folder in domains:
        data = _read_manifest(folder / "manifest.json")
        if data is not None:
            views |= public_relations(data, str(folder), name)
    return views


def _read_manifest(path: Path) -> bytes | None:
    """A domain's manifest, None if absent (not built); unreadable: an error naming it (as
    :class:`meshkit.artifacts.LocalArtifacts` words it)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        from meshkit.artifacts import LocalArtifacts

        return LocalArtifacts(path.parent).read(path.name)


def check_reads(sql: str, views: set[tuple[str, str, str]]) -> None:
    """Refuse a statement unless it is one query reading only the secure views of the mesh.

    >>> views = {("consumer_banking", "consumer_demographics", "consumer_demographics")}
    >>> try:
    ...     check_reads("select 1 from consumer_banking.internal.stg_customers", views)
    ... except UsageError as exc:
    ...     print(exc.message)
    reads consumer_banking.internal.stg_customers, which is not a data product's secure view
    >>> check_reads("with c as (select * from consumer_banking.consumer_demographics.consumer_demographics)"
    ...             " select count(*) from c", views)
    """
    _check(sql, views)


def _check(sql: str, views: set[tuple[str, str, str]], con: Any = None) -> Any:
    """:func:`check_reads` (DuckDB's parse made on ``con`` if given); returns sqlglot's parse of
    the statement (normalized names)."""
    statement = _parse_one(sql)
    _check_scopes(statement, views)
    _check_duckdb_ast(sql, views, con)
    return statement


def _parse_one(sql: str) -> Any:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    from meshkit.sqlglot_logging import quiet_sqlglot

    try:
        with quiet_sqlglot():
            statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as exc:
        raise UsageError(f"cannot parse the query: {_first_line(str(exc))}",
                         fix="check the SQL syntax") from None
    if len(statements) != 1:
        raise UsageError(f"{len(statements)} statements given; `mesh query` runs exactly one query",
                         fix="run one SELECT (or WITH … SELECT) at a time")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        kind = statement.name if isinstance(statement, exp.Command) else statement.key
        raise UsageError(f"only queries (SELECT, WITH …) may run through `mesh query`, "
                         f"not {str(kind).upper()}",
                         fix="settings, PRAGMA, ATTACH, COPY, INSTALL, LOAD and DDL are not available")
    # DuckDB identifiers are case-insensitive, quoted or not: compare them as DuckDB does.
    return normalize_identifiers(statement, dialect="duckdb")


def _refuse_read(parts: list[str], views: set[tuple[str, str, str]]) -> UsageError:
    shown = ".".join(p for p in parts if p)
    hint = did_you_mean(shown.lower(), sorted(".".join(v) for v in views), quote=False)
    return UsageError(f"reads {shown}, which is not a data product's secure view{hint}",
                      fix=FIX_READS)


def _refuse_function(name: str) -> UsageError:
    allowed = ", ".join(sorted(ALLOWED_TABLE_FUNCTIONS))
    return UsageError(f"table function {name}() is not available through `mesh query`",
                      fix=f"read secure views only; the table functions allowed are: {allowed}")


def _check_scopes(statement: Any, views: set[tuple[str, str, str]]) -> None:
    """Each table of each scope is a CTE visible in that scope, or a secure view."""
    from sqlglot import exp
    from sqlglot.errors import OptimizeError
    from sqlglot.optimizer.scope import Scope, traverse_scope

    for node in statement.find_all(exp.Func):
        name = _function_name(node)
        if name in REFUSED_FUNCTIONS:
            raise UsageError(f"function {name}() is not available through `mesh query`: "
                             f"{REFUSED_FUNCTIONS[name]}", fix="remove it from the query")
    try:
        scopes = traverse_scope(statement)
    except OptimizeError as exc:
        raise UsageError(f"cannot resolve the query's names: {exc}",
                         fix="qualify every table as <domain>.<product>.<dataset>") from None
    checked: set[int] = set()
    for scope in scopes:
        for table in scope.tables:
            checked.add(id(table))
            if isinstance(table.this, exp.Func):
                name = _function_name(table.this)
                if name not in ALLOWED_TABLE_FUNCTIONS:
                    raise _refuse_function(name)
                continue
            source = scope.sources.get(table.alias_or_name)
            if isinstance(source, Scope) and not table.db and not table.catalog:
                if not PLAIN_NAME.match(table.name):
                    raise UsageError(f"the CTE name {table.name!r} is not a plain identifier",
                                     fix="name CTEs with letters, digits and underscores")
                continue
            ref = (table.catalog, table.db, table.name)
            if ref not in views:
                raise _refuse_read(list(ref), views)
        for unnest in scope.expression.find_all(exp.Unnest):
            checked.add(id(unnest))
    # A table that no scope accounted for is a construct the checker does not understand.
    for table in statement.find_all(exp.Table):
        if id(table) not in checked:
            raise UsageError(f"cannot tell what {table.sql('duckdb')} reads",
                             fix="simplify the query: read secure views in FROM / JOIN")


def _function_name(node: Any) -> str:
    from sqlglot import exp

    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.GenerateSeries):
        return "range" if node.args.get("is_end_exclusive") else "generate_series"
    if isinstance(node, exp.Unnest | exp.Explode):
        return "unnest"
    return str(node.sql_name()).lower()


def _check_duckdb_ast(sql: str, views: set[tuple[str, str, str]], con: Any = None) -> None:
    """The same rules on DuckDB's own parse of ``sql`` (it never binds nor runs it), on ``con``
    (the query's session, not yet attached to anything) or a connection of its own."""
    import duckdb
    import orjson

    if con is None:
        with duckdb.connect(":memory:") as own:
            row = own.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    else:
        row = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    tree = orjson.loads(row[0]) if row else {"error": True, "error_message": "no result"}
    if tree.get("error"):
        raise UsageError(f"DuckDB refuses the statement: {tree.get('error_message')}",
                         fix="run one SELECT (or WITH … SELECT) at a time")
    if len(tree["statements"]) != 1:
        raise UsageError("DuckDB reads more than one statement; `mesh query` runs exactly one",
                         fix="run one SELECT (or WITH … SELECT) at a time")
    ctes = {str(key).lower() for key in _cte_names(tree)}
    for node in _dicts(tree):
        kind = node.get("type")
        if node.get("class") == "FUNCTION":
            name = str(node.get("function_name", "")).lower()
            if node.get("catalog") or node.get("schema"):
                raise UsageError(f"calls {'.'.join(node['qualified_name']['path'])}(): functions "
                                 "and macros of the domains' databases are not available",
                                 fix="use built-in functions only")
            if name in REFUSED_FUNCTIONS:
                raise UsageError(f"function {name}() is not available through `mesh query`: "
                                 f"{REFUSED_FUNCTIONS[name]}", fix="remove it from the query")
        if "from_table" in node or kind in HARMLESS_REFS or "alias" not in node or "class" in node:
            continue
        if kind == "BASE_TABLE":
            parts = [str(node.get(k) or "").lower() for k in ("catalog_name", "schema_name",
                                                               "table_name")]
            if not parts[0] and not parts[1] and parts[2] in ctes and PLAIN_NAME.match(parts[2]):
                continue
            if (parts[0], parts[1], parts[2]) not in views:
                raise _refuse_read(parts, views)
        elif kind == "TABLE_FUNCTION":
            function = node.get("function") or {}
            name = str(function.get("function_name", "")).lower()
            if function.get("catalog") or function.get("schema") or name not in ALLOWED_TABLE_FUNCTIONS:
                raise _refuse_function(name)
        elif kind is not None:
            raise UsageError(f"{str(kind).lower().replace('_', ' ')} is not available through "
                             "`mesh query`", fix="read secure views in FROM / JOIN")


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _dicts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _dicts(v)


def _cte_names(tree: Any) -> Iterator[str]:
    for node in _dicts(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map", []):
                yield entry["key"]


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def run_sql(con: Any, sql: str) -> QueryResult:
    """Run ``sql`` on ``con``; a DuckDB error becomes a :class:`UsageError` (exit 2).

    An error raised while rows are computed (a failed cast, say) may quote a value of a row the
    session may not see, so the quoted literals of such messages are blanked out.
    """
    import duckdb

    try:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description or []]
        return QueryResult(columns, cursor.fetchall())
    except duckdb.Error as exc:
        kind = type(exc).__name__.removesuffix("Exception").removesuffix("Error") or "Error"
        message = _first_line(str(exc))
        if not isinstance(exc, duckdb.ParserException | duckdb.BinderException
                          | duckdb.CatalogException):
            message = re.sub(r"'(?:[^']|'')*'", "'…'", message)
            message = re.sub(r'"(?:[^"]|"")*"', '"…"', message)
        message = CONTROL_CHARS.sub(lambda m: m.group().encode("unicode_escape").decode(), message)
        raise UsageError(f"DuckDB {kind} error: {message}",
                         fix="correct the query; `mesh catalog show <dataset>` lists its columns",
                         ) from None


def query(mesh: Mesh | QueryConfig, sql: str, roles: list[str], target: str | None = None, *,
          views: set[tuple[str, str, str]] | None = None, client: str = "query") -> QueryResult:
    """Run ``sql`` as ``roles`` (none: the most restrictive view) and return the rows.

    Every call is written to the query audit log (:mod:`meshkit.query_log`) before it returns,
    refused ones too; ``views`` saves re-reading the manifests (``mesh shell`` passes them). A
    loaded mesh also refreshes what :func:`query_mesh_file` reads instead of loading it
    (:mod:`meshkit.backends.duckdb.query_config`).
    """
    import time

    import duckdb

    from meshkit import query_log

    config = _config(mesh, target)
    if not isinstance(mesh, QueryConfig) and config.warehouse.is_dir():
        _write_query_config(mesh, config.warehouse)
    views = secure_views(config) if views is None else views
    folder = config.warehouse
    entry = query_log.QueryLogEntry(
        at=query_log.now_iso(), user=query_log.current_user(), roles=list(roles), datasets=[],
        rows=None, seconds=0.0, status="ok", sql=sql, client=client)
    start = time.perf_counter()
    try:
        # One in-memory database for DuckDB's parse of the statement and then its session.
        with duckdb.connect(":memory:") as con:
            statement = _check(sql, views, con)
            entry.datasets = query_log.datasets_in([statement], views)
            entry.cleared_products = cleared_products_of(mesh, roles)
            connect(config, roles, cleared_products=entry.cleared_products, into=con)
            result = run_sql(con, sql)
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


def query_mesh_file(mesh_file: Path, sql: str, roles: list[str], target: str | None = None
                    ) -> QueryResult:
    """:func:`query` on the mesh of ``mesh_file``, without loading its models when the values a
    query needs were written from its current bytes (``mesh query``: see
    :mod:`meshkit.backends.duckdb.query_config`); else through a full load, which validates it."""
    from meshkit.backends.duckdb.query_config import read

    config = read(mesh_file, target)
    if config is None:
        from meshkit.mesh import Mesh

        return Mesh.load(mesh_file).query(sql, roles=roles, target=target)
    return query(config, sql, roles, target)


def _write_query_config(mesh: Mesh, warehouse: Path) -> None:
    """Refresh the light read's file; a warehouse that cannot take it only costs later queries
    the full load."""
    from meshkit.backends.duckdb.query_config import write

    with contextlib.suppress(OSError):
        write(mesh, warehouse)
