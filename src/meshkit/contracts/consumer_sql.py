"""Consumer-side checks over each model's compiled SQL, with sqlglot: what a model reads of
another domain must be a product view, read through ``ref()``, and only columns its published
contract has.

Run where dbt compiled the models (`mesh check` and `mesh-sync` after a build); a manifest
without compiled SQL (a bare `dbt parse`) has nothing to check here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from meshkit.artifacts import NodeInfo
from meshkit.checks import CheckContext, Rule, Scope, Stage, Violation, rule
from meshkit.code_fingerprint import code_fingerprint
from meshkit.contracts.model import Contract, contract_key, contract_of
from meshkit.contracts.refs import is_product_dataset
from meshkit.contracts.rules import current_contracts
from meshkit.digest_memo import DigestMemo

if TYPE_CHECKING:
    from sqlglot import exp

# DuckDB table functions that read files or reveal them (core and extensions: a parquet file's
# metadata holds each column's min and max), by name.
FILE_READERS = re.compile(
    r"\b(read_\w+|(?:parquet|csv|arrow|delta|iceberg|sqlite|postgres|mysql)_scan|"
    r"parquet_(?:metadata|schema|file_metadata|kv_metadata|full_metadata|bloom_probe|page_index)|"
    r"iceberg_\w+|glob|sniff_csv|st_read)\s*\(", re.IGNORECASE)
# Table functions that run SQL given as a string: what it reads is not in the model's SQL.
SQL_RUNNERS = re.compile(r"\b(query|query_table)\s*\(", re.IGNORECASE)
# What a file named in place of a table (DuckDB's replacement scans: ``from 'x.parquet'``) has.
FILE_NAMES = (".parquet", ".parq", ".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".xlsx",
              ".arrow", ".avro", ".txt", ".gz", ".zst", "://")
# One scan for all of the above, over the case-folded SQL (which folds every letter the regexes
# match case-insensitively): most models' SQL holds none of it.
_MAYBE_RAW = re.compile("|".join(
    [r"read_", r"_scan", r"parquet_", r"iceberg_", r"glob", r"sniff_csv", r"st_read", r"query",
     *(re.escape(n) for n in FILE_NAMES)]))
# The line of the model's file that says it (none when a macro wrote it).
_RAW_LINE = "(?i)" + "|".join([FILE_READERS.pattern, SQL_RUNNERS.pattern,
                               *(re.escape(n) for n in FILE_NAMES)])
_WHOLE_QUOTED = re.compile(r"'[^']+'|\"[^\"]+\"")
_QUOTED_FILE = re.compile(r"['\"][^'\"]*(" + "|".join(re.escape(n) for n in FILE_NAMES)
                          + r")[^'\"]*['\"]", re.IGNORECASE)


def reads_files(relation: str) -> bool:
    """Whether what a ``source()`` compiles to reads files: a whole reader call, or a whole
    quoted file name (dbt-duckdb quotes a location that calls no reader)."""
    return (relation.rstrip().endswith(")") and FILE_READERS.search(relation) is not None) \
        or _WHOLE_QUOTED.fullmatch(relation) is not None


def quoted_files(text: str) -> list[str]:
    """The quoted strings of ``text`` that name a file (:data:`FILE_NAMES`), without quotes.

    >>> quoted_files("read_csv('../raw/t.csv', delim=',', dateformat='%d/%m')")
    ['../raw/t.csv']
    """
    return [m.group(0)[1:-1] for m in _QUOTED_FILE.finditer(text)]


def own_sql(ctx: CheckContext, domain: str, node: NodeInfo) -> str:
    """The model's compiled SQL without what the domain's ``source()`` calls compile to: a
    source of files compiles to a file reader, the declared way to read one (directly or in an
    ephemeral model compiled into this one)."""
    sql = node.compiled_code or ""
    for relation in _source_relations(ctx, domain):
        sql = sql.replace(relation, " ")
    return sql


def _source_relations(ctx: CheckContext, domain: str) -> list[str]:
    cache: dict[str, list[str]] = ctx.memo.setdefault(_source_relations, {})
    if domain not in cache:
        # Only whole reader calls and whole quoted file names (dbt-duckdb quotes a location
        # that calls no reader): a source named like a bare reader (``read_csv(``) would
        # otherwise strip that name from every model's SQL and hide any call of it.
        names = {s.relation_name for s in ctx.artifacts(domain).sources.values()
                 if s.relation_name and reads_files(s.relation_name)}
        cache[domain] = sorted(names, key=lambda n: (-len(n), n))  # the longest first
    return cache[domain]


_FILE_FIX = ("declare the file as a source of this domain and select from source(); another "
             "domain's data is read through its products")
_STRING_FIX = ("name the relations in the model's SQL (ref() or source()): another domain's data "
               "is read through ref() of its products")


@dataclass(frozen=True)
class RawRead:
    """What a model reads other than relations (``what``, for the violation) and its ``fix``."""

    what: str
    fix: str = _FILE_FIX


def raw_access(sql: str, dialect: str, *, own: Callable[[], str],
               parser: Callable[[], Any] | None = None) -> RawRead | None:
    """What ``sql`` reads other than relations, described for a violation, or None: a file reader
    (:data:`FILE_READERS`), SQL given as a string (:data:`SQL_RUNNERS`), or on DuckDB a file
    named in place of a table. ``own`` gives the SQL without the domain's source() locations
    (asked for only when the full SQL holds something of the kind); ``parser`` a DuckDB
    connection to parse with (else one is opened for the call).

    >>> raw_access("select * from READ_Parquet ('x.parquet')", "duckdb", own=lambda: "")
    >>> raw_access("select * from READ_Parquet ('x.parquet')", "duckdb",
    ...            own=lambda: "select * from READ_Parquet ('x.parquet')").what
    'a raw file directly (READ_Parquet)'
    >>> raw_access("select 1", "duckdb", own=lambda: "select 1")
    """
    if _MAYBE_RAW.search(sql.casefold()) is None:
        return None
    text = own()
    found = FILE_READERS.search(text)
    if found:
        return RawRead(f"a raw file directly ({found.group(1)})")
    found = SQL_RUNNERS.search(text)
    if found:
        return RawRead(f"SQL given as a string ({found.group(1)}): what it reads cannot be "
                       "checked", _STRING_FIX)
    if dialect == "duckdb" and any(n in text.casefold() for n in FILE_NAMES) and \
            _names_a_file(text, parser):
        return RawRead("a raw file by its name in place of a table")
    return None


def run_parser(ctx: CheckContext) -> Any:
    """An empty in-memory DuckDB to parse with, opened once for the check run (10-20 ms) and
    closed with it (not kept for the process: a lineage worker forked later would inherit its
    threads)."""
    return ctx.shared(_open_parser)


def _open_parser(ctx: CheckContext) -> Any:
    import duckdb

    con = duckdb.connect()
    ctx.on_close(con.close)
    return con


def _names_a_file(sql: str, parser: Callable[[], Any] | None = None) -> bool:
    """Whether DuckDB's own parse of ``sql`` has a table named like a file (a replacement scan
    reads it); SQL it cannot parse answers by a quoted file name anywhere in it."""
    import duckdb

    try:
        if parser is not None:
            row = parser().execute("select json_serialize_sql(?)", [sql]).fetchone()
        else:
            with duckdb.connect() as con:
                row = con.execute("select json_serialize_sql(?)", [sql]).fetchone()
        tree = orjson.loads(row[0]) if row else {"error": True}
    except (duckdb.Error, orjson.JSONDecodeError):
        tree = {"error": True}
    if tree.get("error"):
        return _QUOTED_FILE.search(sql) is not None
    stack: list[Any] = [tree.get("statements")]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if (node.get("type") == "BASE_TABLE" and not node.get("schema_name")
                    and not node.get("catalog_name")
                    and any(n in str(node.get("table_name", "")).casefold() for n in FILE_NAMES)):
                return True
            stack.extend(node.values())
    return False


@dataclass(frozen=True)
class ProductView:
    """One relation a consumer may read: a product dataset's (versioned or unversioned) view."""

    domain: str
    node: NodeInfo
    contract: Contract


class MeshRelations:
    """Every relation of every domain, by (database, schema, name) lowercased."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx

    @cached_property
    def products(self) -> dict[tuple[str, str, str], ProductView]:
        out: dict[tuple[str, str, str], ProductView] = {}
        for d, arts in self.ctx.all_artifacts():
            for node in arts.nodes.values():
                if node.package_name != d.name or not is_product_dataset(node):
                    continue
                key = contract_key(d.name, node.name, node.version)
                published = self.ctx.registry.latest(key)
                # The declared contract only where none is published: projecting it for every
                # product was 3,000 contracts made and dropped in each sync of the bench's mesh.
                contract = published.contract if published else (
                    current_contracts(self.ctx, d.name).get(key) or contract_of(d.name, node))
                view = ProductView(d.name, node, contract)
                out[node.relation_key] = view
                # The unversioned name points at the latest version (SPEC.md).
                if node.version is not None and node.version == node.latest_version:
                    db, schema, _ = node.relation_key
                    out.setdefault((db, schema, node.name.lower()), view)
        return out

    @cached_property
    def internals(self) -> dict[tuple[str, str, str], tuple[str, NodeInfo]]:
        out: dict[tuple[str, str, str], tuple[str, NodeInfo]] = {}
        for d, arts in self.ctx.all_artifacts():
            for node in arts.nodes.values():
                if node.package_name == d.name and node.relation_key not in self.products:
                    out[node.relation_key] = (d.name, node)
        return out


TableKey = tuple[str, str, str]  # (database, schema, name), lowercased


@dataclass(frozen=True)
class SqlReads:
    """What one model's SQL reads, as written: its tables (CTE names left out) and, for each
    column it reads, the table at the end of that column's chain of sources if there is one
    (through CTEs and subqueries that select ``*`` from one source: dbt's import CTEs).

    A function of the SQL text and dialect alone, so it is kept across syncs by their digest
    (:class:`SqlReadsCache`): only SQL that changed is parsed again.
    """

    tables: tuple[TableKey, ...]
    columns: tuple[tuple[str, TableKey], ...]


def _key(table: exp.Table) -> TableKey:
    return (table.catalog.lower(), table.db.lower(), table.name.lower())


def sql_reads(sql: str, dialect: str) -> SqlReads | None:
    """The :class:`SqlReads` of ``sql`` (None: sqlglot cannot parse it)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.scope import traverse_scope

    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except SqlglotError:
        return None
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    tables = tuple(_key(t) for t in tree.find_all(exp.Table)
                   if t.name and not (not t.db and t.name.lower() in ctes))
    columns: list[tuple[str, TableKey]] = []
    # Scopes of the SQL as written: a `select *` CTE passes its source's columns through, which
    # _source_table follows (qualify would refuse an unknown column outright).
    for scope in traverse_scope(tree):
        for column in scope.columns:
            source = scope.sources.get(column.table) if column.table else (
                next(iter(scope.sources.values())) if len(scope.sources) == 1 else None)
            table = _source_table(source, column.name)
            if table is not None:
                columns.append((column.name, table))
    return SqlReads(tables, tuple(dict.fromkeys(columns)))


def _source_table(source: Any, name: str, depth: int = 0) -> TableKey | None:
    """The table a column read from ``source`` comes from: the table itself, or, through CTEs
    and subqueries that select from one source without naming the column, the table at the end
    of the chain."""
    from sqlglot import exp
    from sqlglot.optimizer.scope import Scope as SqlScope

    if isinstance(source, exp.Table):
        return _key(source)
    if isinstance(source, SqlScope) and depth < 20:
        outputs = {n.lower() for n in getattr(source.expression, "named_selects", [])}
        if (name.lower() in outputs and "*" not in outputs) or len(source.sources) != 1:
            return None
        return _source_table(next(iter(source.sources.values())), name, depth + 1)
    return None


SQL_READS_CACHE = ".catalog-cache/sql-reads.json"
_CACHE_FORMAT = 1


class SqlReadsCache:
    """:class:`SqlReads` by digest of (dialect, SQL), in one file of the mesh's cache folder
    (:class:`~meshkit.digest_memo.DigestMemo`: read once per check run, rewritten at its end by
    a sync only with the entries this run used; a file that cannot be read only costs time)."""

    def __init__(self, path: Path | None) -> None:
        self._memo = DigestMemo(path, fmt=_CACHE_FORMAT, decode=_decode_reads,
                                encode=_encode_reads)

    def reads(self, sql: str, dialect: str) -> SqlReads | None:
        key = hashlib.sha256(code_fingerprint((__name__,), ("sqlglot",))
                             + f"{dialect}\0{sql}".encode()).hexdigest()
        return self._memo.get(key, lambda: sql_reads(sql, dialect))

    def save(self) -> None:
        self._memo.save()


def _decode_reads(v: Any) -> SqlReads | None:
    if v is None:
        return None
    return SqlReads(tuple(_table_key(t) for t in v[0]),
                    tuple((_text(c), _table_key(t)) for c, t in v[1]))


def _encode_reads(v: SqlReads | None) -> Any:
    return None if v is None else [v.tables, v.columns]


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a name")
    return value


def _table_key(value: Any) -> TableKey:
    db, schema, name = value  # a ValueError unless three
    return (_text(db), _text(schema), _text(name))


class ForeignReads:
    """What the models that may read another domain read (:class:`SqlReads`), for both rules.

    A relation of another domain is named by its database, the domain's name: SQL whose text
    does not contain any other domain's name (case-insensitively, anywhere: a superset of every
    way to name it) cannot read one, and is not parsed. Most models of a mesh read only their
    own domain, and parsing is most of these rules' time; of the others, only SQL that changed
    since the last sync is parsed (the summaries are kept in the mesh's cache folder; a sync
    writes it, `mesh check` only reads it).
    """

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self._reads: dict[str, SqlReads | None] = {}
        self._unparsed: set[str] = set()
        self._others: dict[str, re.Pattern[str] | None] = {}
        self._cache = SqlReadsCache(ctx.root / SQL_READS_CACHE)
        if ctx.keep_projections:
            ctx.on_close(self._cache.save)

    @classmethod
    def of(cls, ctx: CheckContext) -> ForeignReads:
        return ctx.shared(cls)

    def may_read_others(self, domain: str, sql: str) -> bool:
        if domain not in self._others:
            # One scan of the text for all the names: a search per name was ten times slower.
            others = sorted(n for n in self.ctx.domain_names_lower if n != domain)
            self._others[domain] = (re.compile("|".join(map(re.escape, others)))
                                    if others else None)
        pattern = self._others[domain]
        return pattern is not None and pattern.search(sql.lower()) is not None

    def reads(self, domain: str, node: NodeInfo) -> SqlReads | None:
        """What the model reads, or None: its SQL names no other domain, or cannot be parsed
        (:meth:`unparsed`)."""
        if node.unique_id not in self._reads:  # both rules ask, of every model
            sql = node.compiled_code
            found = None
            if isinstance(sql, str) and self.may_read_others(domain.lower(), sql):
                found = self._cache.reads(sql, _dialect(self.ctx, domain))
                if found is None:
                    self._unparsed.add(node.unique_id)
            self._reads[node.unique_id] = found
        return self._reads[node.unique_id]

    def unparsed(self, domain: str, node: NodeInfo) -> bool:
        """Whether the model's code names another domain but is not SQL sqlglot parses (a
        Python model, syntax newer than sqlglot's): what it reads there cannot be checked."""
        self.reads(domain, node)
        return node.unique_id in self._unparsed


@rule
class ConsumerReads(Rule):
    """A model reads another domain only through the product views its ref()s name."""

    id = "contract.consumer_reads"
    reads_compiled_sql = True
    scope = Scope.MESH
    stages = frozenset({Stage.CHECK, Stage.SYNC, Stage.BUILD})
    # Code meshkit cannot parse (a Python model) can only be passed by someone who read it.
    waivable = True

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        from meshkit.governance.waivers import waived_nodes

        waived = waived_nodes(ctx, self.id)
        return (v for v in self._found(ctx) if (v.node or "") not in waived)

    def _found(self, ctx: CheckContext) -> Iterator[Violation]:
        relations = ctx.shared(MeshRelations)  # both rules index the same relations
        for domain, node in ctx.nodes.values():
            if not node.compiled_code:
                continue
            # Whatever the case of the call, and wherever it was written (in the model, or in
            # a macro it calls): only a source()'s own location is not a raw read.
            raw = raw_access(node.compiled_code, _dialect(ctx, domain),
                             own=lambda: own_sql(ctx, domain, node),  # noqa: B023 - called now
                             parser=lambda: run_parser(ctx))
            foreign = ForeignReads.of(ctx)
            reads = foreign.reads(domain, node)
            unparsed = reads is None and foreign.unparsed(domain, node)
            if raw is None and reads is None and not unparsed:
                continue
            file = ctx.file_of(domain, node.original_file_path)
            where: dict[str, Any] = {"node": node.unique_id, "domain": domain, "file": file}
            if raw is not None:
                yield self.violation(
                    f"{node.unique_id} reads {raw.what}", fix=raw.fix,
                    line=ctx.line_of(domain, node.original_file_path, _RAW_LINE), **where)
            if unparsed:
                # Not parsed is not "reads nothing": the gate cannot pass what it cannot read.
                yield self.violation(
                    f"{node.unique_id} names another domain in code meshkit cannot parse as "
                    f"{_dialect(ctx, domain)} SQL: what it reads there cannot be checked",
                    fix="read other domains through ref() of their products in SQL sqlglot "
                        "parses; else, once someone has read the code, a waiver in "
                        "governance/waivers.yml (policy contract.consumer_reads, this node, an "
                        "expiry)",
                    line=None, **where)
            if reads is None:
                continue
            for key in reads.tables:
                owner = key[0]
                if owner == domain or owner not in ctx.domain_names:
                    continue
                name = ".".join(p for p in key if p)
                line = ctx.line_of(domain, node.original_file_path,
                                   rf"\b{re.escape(key[2])}\b")
                view = relations.products.get(key)
                if view is None:
                    what = "an internal relation" if key in relations.internals else \
                        "a relation that is not one of its product views"
                    yield self.violation(
                        f"{node.unique_id} reads {name}, {what} of domain {owner}",
                        fix=f"read one of {owner}'s products with ref('{owner}', '<dataset>', "
                            "v=N) (`mesh catalog list -d " + owner + "`)",
                        line=line, **where)
                elif view.node.unique_id not in node.depends_on:
                    yield self.violation(
                        f"{node.unique_id} reads {name} by its name, not through ref(): "
                        f"{owner} cannot see this consumer, nor warn it before a change",
                        fix=f"replace the name with ref('{owner}', '{view.node.name}'"
                            + (f", v={view.node.version})" if view.node.version else ")"),
                        line=line, **where)


@rule
class ConsumerColumns(Rule):
    """Every column a model reads of another domain's dataset is in that dataset's contract."""

    id = "contract.consumer_columns"
    reads_compiled_sql = True
    scope = Scope.MESH

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        relations = ctx.shared(MeshRelations)  # both rules index the same relations
        for domain, node in ctx.nodes.values():
            if not node.compiled_code:
                continue
            reads = ForeignReads.of(ctx).reads(domain, node)
            if reads is None:
                continue
            read = {key: relations.products[key] for key in reads.tables
                    if key[0] != domain and key in relations.products}
            if not read:
                continue
            missing: dict[tuple[str, str], ProductView] = {}
            for name, table in reads.columns:
                view = read.get(table)
                if view is not None and view.contract.column(name) is None:
                    missing[(name.lower(), view.contract.key)] = view
            for (col, _), view in sorted(missing.items()):
                dataset = view.contract.dataset_id or view.contract.key
                yield self.violation(
                    f"{node.unique_id} reads column {col} of {dataset}, which its published "
                    f"contract does not have (it would fail at run time)",
                    fix=f"read a column of {dataset}'s contract (`mesh contract diff "
                        f"{dataset}`), or ask {view.domain} to publish it in a new version",
                    node=node.unique_id,
                    **ctx.place(domain, node.original_file_path, rf"\b{re.escape(col)}\b"))


def _dialect(ctx: CheckContext, domain: str) -> str:
    adapter = ctx.artifacts(domain).adapter_type or "duckdb"
    return "snowflake" if adapter == "snowflake" else "duckdb"
