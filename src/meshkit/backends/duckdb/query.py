"""`mesh query`: run SQL as a role against the whole mesh on DuckDB, denying by default.

Every built domain's database is attached read-only under the domain's name, the role goes into
the session variable ``mesh_roles`` and the clearances it holds into ``mesh_clearances`` (both
tested by the secure views; the clearances read from the governance database when the session
opens, one session per query), and the statement may read the secure views the domains' manifests
declare and nothing else, as Snowflake grants would allow.

DuckDB has no access control, so the statement is checked before it runs, on DuckDB's own parse
of it (``json_serialize_sql``: the tree DuckDB then binds and runs, so no other parser's reading
can differ from it): one SELECT; every base table it reads is a declared secure view, or a CTE
visible where it is read (lexical scoping, as DuckDB's binder resolves names, never wider: a CTE
of a subquery does not cover a name outside it); no function of a domain's database; table
functions refused except :data:`ALLOWED_TABLE_FUNCTIONS`, which read no data; any other kind of
table reference refused. The check imports nothing beyond DuckDB, so that a query costs little
more than DuckDB does.

And after the attachments the session runs with ``enable_external_access = false`` and
``lock_configuration = true``: a gap in the checker still cannot read a file, attach a
database, load an extension or change a setting.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meshkit.backends.duckdb.query_config import QueryConfig
from meshkit.errors import ArtifactError, UsageError, did_you_mean

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
# In the warehouse folder, beside the databases and the query log: the secure views each domain's
# manifest declares, by the SHA-256 of the manifest's bytes, under the fingerprint of the code that
# read them, so that a query hashes a manifest it has seen instead of parsing it. As trusted as
# the databases beside it: whoever can write the one can rewrite the views themselves.
VIEWS_SUMMARY = "mesh_secure_views.json"
VIEWS_SUMMARY_FORMAT = 1
# DuckDB table references that read nothing by themselves.
HARMLESS_REFS = {"JOIN", "SUBQUERY", "EMPTY", "EXPRESSION_LIST"}
# Table references refused, by the statements that make them (DuckDB's kind names neither).
REF_NAMES = {"SHOW_REF": "DESCRIBE, SHOW and SUMMARIZE are", "PIVOT": "PIVOT and UNPIVOT are"}


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

    from meshkit.backends.duckdb.session import (
        set_cleared_products,
        set_roles,
        set_salt,
        set_token_key,
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
        _attach(con, name, db)
        attached += 1
    if not attached:
        if into is None:
            con.close()
        raise UsageError(f"no domain database found in {folder}",
                         fix="build the mesh first: `mesh build` (or `make demo`)")
    set_roles(con, roles)  # and the clearances they hold, read now: current at every query
    if cleared_products is None:
        cleared_products = cleared_products_of(mesh, roles)
    set_cleared_products(con, cleared_products)
    set_salt(con)
    key = token_key_from_env()
    if key:  # the tokenize mask's key: in this session's memory only
        set_token_key(con, key)
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


def _attach(con: Any, name: str, db: Path) -> None:
    """Attach ``db`` read-only as ``name``, waiting for a build that holds the file: a query
    during `mesh build` then sees the database as the model being written left it (old view or
    new).

    The path is bound as a parameter; the name, an identifier (which DuckDB cannot bind), is a
    domain's name, validated by mesh.yml's models as a plain lower-case identifier, and checked
    again here so that nothing else ever reaches the SQL text.
    """
    from meshkit.backends.duckdb.session import retry_while_locked

    if not PLAIN_NAME.match(name):
        raise UsageError(f"cannot attach a database as {name!r}: not a plain identifier",
                         fix="name domains with lower-case letters, digits and underscores")
    import duckdb

    sql = f'ATTACH ? AS "{name}" (READ_ONLY)'  # quoted: a domain may be named like a keyword
    try:
        retry_while_locked(lambda: con.execute(sql, [str(db)]))
    except duckdb.Error as exc:  # not a database DuckDB can read (truncated, another format)
        from meshkit.masking import GOVERNANCE_DB

        governance = name == GOVERNANCE_DB
        what = "the governance database" if governance else "the domain's database"
        raise ArtifactError(
            f"cannot open {what}: {_first_line(str(exc))}", file=db,
            fix="`mesh generate` writes it anew from mesh.yml" if governance
            else f"rebuild it: `mesh build -d {name}`") from None


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


def secure_views(mesh: Mesh | QueryConfig, *, kept_in: Path | None = None
                 ) -> set[tuple[str, str, str]]:
    """(domain, product, dataset) of every secure view, from the built domains' manifests.

    A product's public models and, for a versioned one, the unversioned name of its latest
    version; nothing else in a domain's database is a consumer's to read. Each is read from
    the manifest as it is now, at every call. ``kept_in``: the warehouse folder whose
    :data:`VIEWS_SUMMARY` answers for manifests whose very bytes it was read from (and is
    brought up to date, as far as the folder lets the session write); None: every manifest
    parsed.
    """
    import hashlib

    if isinstance(mesh, QueryConfig):
        domains = list(mesh.domains)
    else:
        domains = [(d.name, mesh.artifacts_path(d)) for d in mesh.config.domains]
    kept = _kept_views(kept_in / VIEWS_SUMMARY) if kept_in is not None else {}
    current: dict[str, tuple[str, set[tuple[str, str, str]]]] = {}
    views: set[tuple[str, str, str]] = set()
    for name, folder in domains:
        data = _read_manifest(folder / "manifest.json")
        if data is None:
            continue
        digest = hashlib.sha256(data).hexdigest()
        entry = kept.get(name)
        if entry is None or entry[0] != digest:
            from meshkit.dbt_manifest import public_relations

            entry = (digest, public_relations(data, str(folder), name))
        current[name] = entry
        views |= entry[1]
    if kept_in is not None and current != kept:
        _keep_views(kept_in / VIEWS_SUMMARY, current)
    return views


def _summary_code() -> str:
    from meshkit.code_fingerprint import code_fingerprint

    return code_fingerprint(("meshkit.dbt_manifest", __name__)).hex()


def _kept_views(path: Path) -> dict[str, tuple[str, set[tuple[str, str, str]]]]:
    """The summary's entries by domain: (manifest digest, views); none at all if the file is
    missing, unreadable, of another format or code, or malformed anywhere."""
    import orjson

    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if (not isinstance(data, dict) or data.get("format") != VIEWS_SUMMARY_FORMAT
            or data.get("code") != _summary_code() or not isinstance(data.get("domains"), dict)):
        return {}
    out: dict[str, tuple[str, set[tuple[str, str, str]]]] = {}
    for name, entry in data["domains"].items():
        if not (isinstance(entry, dict) and isinstance(entry.get("manifest_sha256"), str)
                and isinstance(entry.get("views"), list)
                and all(isinstance(v, list) and len(v) == 3 and all(isinstance(p, str) for p in v)
                        for v in entry["views"])):
            return {}
        out[name] = (entry["manifest_sha256"], {(v[0], v[1], v[2]) for v in entry["views"]})
    return out


def _keep_views(path: Path, entries: dict[str, tuple[str, set[tuple[str, str, str]]]]) -> None:
    """Write the summary; a warehouse the session cannot write to only costs the next query a
    parse of each manifest."""
    import orjson

    from meshkit.files import atomic_write

    data = {"format": VIEWS_SUMMARY_FORMAT, "code": _summary_code(),
            "domains": {name: {"manifest_sha256": digest, "views": sorted(views)}
                        for name, (digest, views) in sorted(entries.items())}}
    with contextlib.suppress(OSError):
        atomic_write(path, orjson.dumps(data), durable=False)


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


def check_reads(sql: str, views: set[tuple[str, str, str]], con: Any = None) -> list[str]:
    """Refuse a statement unless it is one query reading only the secure views of the mesh;
    return the secure views it reads, as ``domain.product.dataset`` (for the audit log).

    DuckDB parses the statement on ``con`` (the query's session, not yet attached to anything;
    it never binds nor runs it there) or on a connection of its own.

    >>> views = {("consumer_banking", "consumer_demographics", "consumer_demographics")}
    >>> try:
    ...     check_reads("select 1 from consumer_banking.internal.stg_customers", views)
    ... except UsageError as exc:
    ...     print(exc.message)
    reads consumer_banking.internal.stg_customers, which is not a data product's secure view
    >>> check_reads("with c as (select * from consumer_banking.consumer_demographics.consumer_demographics)"
    ...             " select count(*) from c", views)
    ['consumer_banking.consumer_demographics.consumer_demographics']
    """
    import duckdb
    import orjson

    if con is None:
        with duckdb.connect(":memory:") as own:
            return check_reads(sql, views, own)
    _check_one_query(sql, con)
    row = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    too_deep = UsageError("the query is nested too deeply to be checked",
                          fix="simplify the query: fewer nested subqueries")
    try:
        tree = orjson.loads(row[0]) if row else {"error": True, "error_message": "no result"}
    except orjson.JSONDecodeError:  # its depth limit
        raise too_deep from None
    if tree.get("error"):
        raise UsageError(f"DuckDB refuses the statement: {tree.get('error_message')}",
                         fix="run one SELECT (or WITH … SELECT) at a time")
    statements = tree.get("statements")
    if not isinstance(statements, list) or len(statements) != 1:
        raise UsageError("DuckDB does not read exactly one statement; `mesh query` runs one",
                         fix="run one SELECT (or WITH … SELECT) at a time")
    reads: set[str] = set()
    try:
        _check_tree(statements[0], frozenset(), views, reads)
    except RecursionError:
        raise too_deep from None
    return sorted(reads)


def _check_one_query(sql: str, con: Any) -> None:
    """One statement, a query (DuckDB's statement types: the parser the session runs)."""
    import duckdb

    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise UsageError(f"cannot parse the query: {_first_line(str(exc))}",
                         fix="check the SQL syntax") from None
    if len(statements) != 1:
        raise UsageError(f"{len(statements)} statements given; `mesh query` runs exactly one query",
                         fix="run one SELECT (or WITH … SELECT) at a time")
    statement = statements[0]
    try:
        kind = statement.type
    except ValueError:  # a kind DuckDB's Python enum lacks (UPDATE EXTENSIONS): not a query
        kind = None
    if kind != duckdb.StatementType.SELECT:
        raise UsageError(f"only queries (SELECT, WITH …) may run through `mesh query`, "
                         f"not {_statement_name(statement.query, kind)}",
                         fix="settings, PRAGMA, ATTACH, COPY, INSTALL, LOAD and DDL are not available")


def _statement_name(query: str, kind: Any) -> str:
    """How a refused statement is named: DuckDB's kind, or the statement's own leading word where
    one kind stands for several statements (SET: SET, RESET, USE; LOAD: LOAD, INSTALL, FORCE
    INSTALL; MULTI: PIVOT) or for none the enum knows.

    >>> import duckdb
    >>> _statement_name("use db.internal", duckdb.StatementType.SET)
    'USE'
    >>> _statement_name("force install x", duckdb.StatementType.LOAD)
    'FORCE INSTALL'
    >>> _statement_name("update extensions", None)
    'UPDATE EXTENSIONS'
    >>> _statement_name("with c as (select 1) insert into t select 1", duckdb.StatementType.INSERT)
    'INSERT'
    """
    import duckdb

    shared = (duckdb.StatementType.SET, duckdb.StatementType.LOAD, duckdb.StatementType.MULTI)
    if kind is not None and kind not in shared:
        return str(kind.name)
    text = re.sub(r"\A(\s|--[^\n]*|/\*.*?\*/)+", "", query, flags=re.DOTALL)  # comments first
    words = re.findall(r"[A-Za-z_]+", text)[:2]
    if not words:
        return "this statement"
    # Two words where the first alone does not say what runs (FORCE INSTALL, UPDATE EXTENSIONS).
    count = 2 if kind is None or words[0].upper() == "FORCE" else 1
    return " ".join(words[:count]).upper()


# The schema of a domain's database where every relation but the secure views lands (the
# platform's generate_schema_name).
INTERNAL_SCHEMA = "internal"

# DuckDB matches identifiers case-insensitively in ASCII only: Python's str.lower() also folds
# letters such as the Kelvin sign (U+212A) to ASCII, which would make a CTE named with it hide
# the catalog object DuckDB actually reads (found by a tester).
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(name: object) -> str:
    """An identifier as DuckDB compares it.

    >>> _fold("Duc\u212adb_Views") == "duc\u212adb_views", _fold("Duc\u212adb_Views") == "duckdb_views"
    (True, False)
    """
    return str(name).translate(_ASCII_LOWER)


def _check_tree(node: Any, visible: frozenset[str], views: set[tuple[str, str, str]],
                reads: set[str]) -> None:
    """Check every node of DuckDB's parse under ``node``, where the CTEs ``visible`` are in
    scope; add the secure views read to ``reads``.

    A WITH clause (``cte_map`` of a query node) puts its CTEs in scope for the node's own body
    and everything nested in it; each CTE's query sees the CTEs before it. A recursive CTE sees
    itself in its recursive part only. Anything DuckDB's binder might resolve otherwise is then a
    name out of scope, checked as a table of the catalog: refused (never wider than DuckDB).
    """
    if isinstance(node, list):
        for item in node:
            _check_tree(item, visible, views, reads)
        return
    if not isinstance(node, dict):
        return
    cte_map = node.get("cte_map")
    if isinstance(cte_map, dict):
        scope = set(visible)
        for entry in cte_map.get("map") or []:
            _check_tree(entry.get("value"), frozenset(scope), views, reads)
            scope.add(_fold(entry.get("key", "")))
        visible = frozenset(scope)
    _check_node(node, visible, views, reads)
    recursive = node.get("type") == "RECURSIVE_CTE_NODE"
    for key, value in node.items():
        if key == "cte_map":
            continue
        if recursive and key == "right":
            _check_tree(value, visible | {_fold(node.get("cte_name", ""))}, views, reads)
        else:
            _check_tree(value, visible, views, reads)


def _check_node(node: dict[str, Any], visible: frozenset[str],
                views: set[tuple[str, str, str]], reads: set[str]) -> None:
    """One node: a function call (plain or windowed), or a table reference."""
    if "class" in node and "function_name" in node:
        name = str(node.get("function_name", "")).lower()
        if node.get("catalog") or node.get("schema"):
            path = (node.get("qualified_name") or {}).get("path") or [name]
            raise UsageError(f"calls {'.'.join(map(str, path))}(): functions and macros of the "
                             "domains' databases are not available",
                             fix="use built-in functions only")
        if name in REFUSED_FUNCTIONS:
            raise UsageError(f"function {name}() is not available through `mesh query`: "
                             f"{REFUSED_FUNCTIONS[name]}", fix="remove it from the query")
    kind = node.get("type")
    # Base tables and table functions are checked wherever they appear. Any other table
    # reference (a string type and an alias, neither an expression ("class") nor a query node
    # ("from_table")) is refused unless it reads nothing itself; a value's type is an object
    # (USING SAMPLE 10%).
    if kind not in ("BASE_TABLE", "TABLE_FUNCTION") and (
            not isinstance(kind, str) or kind in HARMLESS_REFS or "alias" not in node
            or "class" in node or "from_table" in node):
        return
    if kind == "BASE_TABLE":
        parts = [_fold(node.get(k) or "") for k in ("catalog_name", "schema_name", "table_name")]
        path = (node.get("qualified_name") or {}).get("path")
        if ((path is not None and [_fold(p) for p in path] != [p for p in parts if p])
                or node.get("at_clause") is not None):
            raise UsageError(f"cannot tell what {'.'.join(p for p in parts if p)} reads",
                             fix="read secure views by name in FROM / JOIN")
        if not parts[0] and not parts[1] and parts[2] in visible:
            if not PLAIN_NAME.match(parts[2]):
                raise UsageError(f"the CTE name {parts[2]!r} is not a plain identifier",
                                 fix="name CTEs with letters, digits and underscores")
            return
        # A domain's internal schema holds its raw tables: never a secure view, whatever a
        # manifest (or a mesh.yml passed with --mesh) declares.
        if parts[1] == INTERNAL_SCHEMA or (parts[0], parts[1], parts[2]) not in views:
            raise _refuse_read(parts, views)
        reads.add(".".join(parts))
    elif kind == "TABLE_FUNCTION":
        function = node.get("function") or {}
        name = str(function.get("function_name", "")).lower()
        if function.get("catalog") or function.get("schema") or name not in ALLOWED_TABLE_FUNCTIONS:
            raise _refuse_function(name)
    else:
        shown = REF_NAMES.get(kind, kind.lower().replace("_", " ") + " is")
        raise UsageError(f"{shown} not available through `mesh query`",
                         fix="read secure views in FROM / JOIN")


def _refuse_read(parts: list[str], views: set[tuple[str, str, str]]) -> UsageError:
    shown = ".".join(p for p in parts if p)
    hint = did_you_mean(shown.lower(), sorted(".".join(v) for v in views), quote=False)
    return UsageError(f"reads {shown}, which is not a data product's secure view{hint}",
                      fix=FIX_READS)


def _refuse_function(name: str) -> UsageError:
    allowed = ", ".join(sorted(ALLOWED_TABLE_FUNCTIONS))
    return UsageError(f"table function {name}() is not available through `mesh query`",
                      fix=f"read secure views only; the table functions allowed are: {allowed}")


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
            # A failed cast names the value unquoted ("value 741640244 can't be cast").
            message = re.sub(r"(?<![\w.])[-+]?\d[\d.,:eE+-]{3,}", "…", message)
        message = CONTROL_CHARS.sub(lambda m: m.group().encode("unicode_escape").decode(), message)
        raise UsageError(f"DuckDB {kind} error: {message}",
                         fix="correct the query; `mesh catalog show <dataset>` lists its columns",
                         ) from None


def query(mesh: Mesh | QueryConfig, sql: str, roles: list[str], target: str | None = None, *,
          views: set[tuple[str, str, str]] | None = None, client: str = "query",
          meanwhile: Callable[[], None] | None = None) -> QueryResult:
    """Run ``sql`` as ``roles`` (none: the most restrictive view) and return the rows.

    Every call is written to the query audit log (:mod:`meshkit.query_log`) before it returns,
    refused ones too; ``views`` saves re-reading the manifests (``mesh shell`` passes them). A
    loaded mesh also refreshes what :func:`query_mesh_file` reads instead of loading it
    (:mod:`meshkit.backends.duckdb.query_config`). ``meanwhile``: work run on a thread of its own
    while DuckDB opens the session, which releases the GIL for about 20 ms (the CLI imports its
    table renderer then); it has ended when this returns or raises.
    """
    import time

    import duckdb

    from meshkit import query_log
    from meshkit.backends.duckdb import withheld

    config = _config(mesh, target)
    if not isinstance(mesh, QueryConfig) and config.warehouse.is_dir():
        _write_query_config(mesh, config.warehouse)
    views = secure_views(config, kept_in=config.warehouse) if views is None else views
    folder = config.warehouse
    entry = query_log.QueryLogEntry(
        at=query_log.now_iso(), user=query_log.current_user(), roles=list(roles), datasets=[],
        rows=None, seconds=0.0, status="ok", sql=sql, client=client)
    start = time.perf_counter()
    side = None
    if meanwhile is not None:
        import threading

        side = threading.Thread(target=meanwhile, name="meshkit-meanwhile")
        side.start()
    try:
        # One in-memory database for DuckDB's parse of the statement and then its session.
        with duckdb.connect(":memory:") as con:
            entry.datasets = check_reads(sql, views, con)
            held = withheld.read(folder)
            for name in entry.datasets:
                if name in held:
                    raise held[name].refusal()
            entry.cleared_products = cleared_products_of(mesh, roles)
            connect(config, roles, cleared_products=entry.cleared_products, into=con)
            result = run_sql(con, sql)
    except Exception as exc:
        entry.status = "refused" if isinstance(exc, UsageError) else "error"
        entry.error = str(getattr(exc, "message", exc))[:500]
        entry.seconds = round(time.perf_counter() - start, 4)
        query_log.record(folder, entry)
        raise
    finally:
        if side is not None:
            side.join()
    entry.rows = len(result.rows)
    entry.seconds = round(time.perf_counter() - start, 4)
    query_log.record(folder, entry)
    return result


def query_mesh_file(mesh_file: Path, sql: str, roles: list[str], target: str | None = None, *,
                    meanwhile: Callable[[], None] | None = None) -> QueryResult:
    """:func:`query` on the mesh of ``mesh_file``, without loading its models when the values a
    query needs were written from its current bytes (``mesh query``: see
    :mod:`meshkit.backends.duckdb.query_config`); else through a full load, which validates it."""
    from meshkit.backends.duckdb.query_config import read

    config = read(mesh_file, target)
    if config is None:
        from meshkit.mesh import Mesh

        return Mesh.load(mesh_file).query(sql, roles=roles, target=target)
    return query(config, sql, roles, target, meanwhile=meanwhile)


def _write_query_config(mesh: Mesh, warehouse: Path) -> None:
    """Refresh the light read's file; a warehouse that cannot take it only costs later queries
    the full load."""
    from meshkit.backends.duckdb.query_config import write

    with contextlib.suppress(OSError):
        write(mesh, warehouse)
