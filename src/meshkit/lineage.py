"""Column-level lineage of dbt models, from their compiled SQL with sqlglot.

A model's compiled SQL is qualified against the columns of the relations it reads (stars
expanded), then every output column is traced back to the columns of those relations. The
columns of a relation come from, in order: its documented columns in the manifest, the warehouse
columns of ``catalog.json``, or — for a model of the same domain read before it — the output
columns this module computed for it. A relation of another domain (a dbt-loom node, which carries
no columns) is resolved to the producing dataset's columns through a :class:`ForeignColumns`
lookup, so lineage crosses domain boundaries.

Each edge says how the value travels (:data:`Transform`): ``identity`` (the value itself, maybe
renamed, cast, trimmed or case-folded, or picked by ``min``/``max``), ``derived`` (computed from
it) or ``aggregate`` (folded into a count, sum, average over many rows). Results are cached per
checksum of the compiled SQL, the dialect and the columns it was resolved against.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson

from meshkit.artifacts import DomainArtifacts, NodeInfo
from meshkit.code_fingerprint import code_fingerprint
from meshkit.files import atomic_write
from meshkit.sqlglot_logging import quiet_sqlglot

if TYPE_CHECKING:
    from sqlglot import exp

Transform = Literal["identity", "derived", "aggregate"]
_ORDER: dict[str, int] = {"identity": 0, "derived": 1, "aggregate": 2}
RelationKey = tuple[str, str, str]
Columns = Sequence[tuple[str, str]]  # (name, data type) in order
# A foreign node's unique_id -> the producing dataset's columns (None if unknown).
ForeignColumns = Callable[[str], Columns | None]
CACHE_FORMAT = 2
# Where a mesh keeps its lineage cache, from its root (one file per domain).
LINEAGE_CACHE_DIR = ".catalog-cache/lineage"
# Fewer queries than this to trace at once are traced in the calling process unless the workers
# already run (starting them would cost more than it saves).
PARALLEL_MIN_QUERIES = 16


def _worker_start() -> None:
    """A forked lineage worker: its own standard streams (the inherited ones may be locked by a
    thread of the parent that the fork did not copy) and the cyclic collector on (a sync pauses
    it; parsed SQL trees are cycles), over its own objects only: what it inherited is frozen, or
    each of its collections would walk the parent's whole heap (the domains read before the pool
    started), touching every page of it. Forked after twelve domains were read, two workers
    traced their lineage in 2.1-3.6 s against 1.6 s in one process; frozen, in 1.5 s."""
    import os
    import sys

    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    gc.freeze()
    gc.enable()


def _lineage_job(job: tuple[str, Mapping[RelationKey, Columns], str | None]) -> ModelLineage | None:
    return query_lineage(*job)


@dataclass(frozen=True)
class ColumnSource:
    """One upstream column an output column is computed from."""

    relation: RelationKey
    column: str  # "*" when the upstream relation's columns are unknown
    transform: Transform


@dataclass(frozen=True)
class ModelLineage:
    """The output columns of one query and, for each, the upstream columns it comes from."""

    columns: tuple[str, ...]
    sources: Mapping[str, tuple[ColumnSource, ...]]


@dataclass(frozen=True)
class ColumnEdge:
    """``upstream.upstream_column`` feeds ``downstream.downstream_column`` (dbt unique_ids)."""

    upstream: str
    upstream_column: str
    downstream: str
    downstream_column: str
    transform: Transform


class LineageCache:
    """Model lineage by checksum: in memory and, when ``directory`` is given, one file per domain
    there, so that a model whose SQL and inputs did not change is not parsed again.

    A domain's file is read once when its lineage starts (:meth:`open`) and rewritten once at the
    end (:meth:`close`) with just the entries that domain used: one read and one write per domain
    instead of a small file per model, and entries of models gone or changed drop out.
    """

    def __init__(self, directory: Path | None = None, processes: int = 1, *,
                 write: bool = True) -> None:
        self.directory = directory
        # Without ``write`` the files are read, never rewritten: a reader whose inputs differ
        # from the sync's (another model of the foreign columns) would replace its entries.
        self.write = write
        # Queries are independent of each other once their inputs' columns are known: those of
        # one wave of a domain's models are traced side by side in ``processes`` workers.
        self.processes = processes
        self._pool: Any = None
        self._memory: dict[str, ModelLineage | None] = {}
        self._shard: str | None = None
        self._used: dict[str, ModelLineage | None] = {}
        self._loaded: set[str] = set()
        # Queries traced in this process (their parsed trees are cycles for the collector).
        self.traced_here = 0

    def _file(self, shard: str) -> Path | None:
        return None if self.directory is None else self.directory / f"{shard}.json"

    def open(self, shard: str) -> None:
        self._shard, self._used, self._loaded = shard, {}, set()
        path = self._file(shard)
        if path is None:
            return
        try:
            data = orjson.loads(path.read_bytes())
            if data.get("format") != CACHE_FORMAT:
                return
            entries = data["entries"]
            for key, body in entries.items():
                self._memory.setdefault(key, _from_json(body))
            self._loaded = set(entries)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return  # a cache that cannot be read only costs time

    def get(self, key: str) -> tuple[bool, ModelLineage | None]:
        if key in self._memory:
            self._used[key] = self._memory[key]
            return True, self._memory[key]
        return False, None

    def put(self, key: str, value: ModelLineage | None) -> None:
        self._memory[key] = self._used[key] = value

    def lineage_of(self, jobs: Mapping[str, tuple[str, Mapping[RelationKey, Columns], str | None]],
                   ) -> dict[str, ModelLineage | None]:
        """The lineage of each job (key -> compiled SQL, input columns, dialect): from the cache,
        else traced, in the worker processes when there are enough to pay for the hand-over."""
        out: dict[str, ModelLineage | None] = {}
        misses = []
        for key, job in jobs.items():
            hit, value = self.get(key)
            if hit:
                out[key] = value
            else:
                misses.append((key, job))
        # Starting the workers pays for itself on a large wave only; once they run, every wave
        # goes to them: the small ones too (most waves of a domain), which in this process left
        # parsed trees for a pass of the collector over the whole domain.
        pool = (self._pool if self._pool is not None and misses
                else self._workers() if len(misses) >= PARALLEL_MIN_QUERIES else None)
        results: list[ModelLineage | None] | None = None
        if pool is not None:
            from concurrent.futures.process import BrokenProcessPool

            chunk = max(1, len(misses) // (self.processes * 4))
            try:
                results = list(pool.map(_lineage_job, [job for _, job in misses],
                                        chunksize=chunk))
            except BrokenProcessPool:  # a worker died (killed, out of memory): do it here
                self._pool, self.processes = None, 1
        if results is None:
            results = []
            for n, (_, job) in enumerate(misses, 1):
                results.append(query_lineage(*job))
                self.traced_here += 1
                if n % 64 == 0 and not gc.isenabled():
                    # A sync pauses the collector; parsed SQL trees are cycles: free them as
                    # they come, not at the end of a 2,000-model domain.
                    gc.collect(0)
        for (key, _), value in zip(misses, results, strict=True):
            self.put(key, value)
            out[key] = value
        return out

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker process, behind the lineage already queued (a
        :class:`concurrent.futures.Future`), or None while no worker runs (none is started for
        it: on a small mesh starting them costs more than anything they would do)."""
        if self._pool is None:
            return None
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._pool.submit(fn, *args)
        except (BrokenProcessPool, RuntimeError):  # a worker died, or the pool is shut down
            return None

    def _workers(self) -> Any:
        import multiprocessing

        if self.processes < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return None  # one CPU, or no fork (Windows): traced in this process
        if self._pool is None:
            from concurrent.futures import ProcessPoolExecutor

            # fork, not spawn or forkserver: those run the caller's main script again in every
            # worker (a user's script without a __main__ guard would sync again). What a forked
            # worker needs is imported here first, so it imports nothing while another thread
            # (the CLI's progress display) may hold a lock the fork copied.
            for dialect in ("duckdb", "snowflake"):
                query_lineage("select a from d.s.t", {("d", "s", "t"): [("a", "int")]}, dialect)
            self._pool = ProcessPoolExecutor(self.processes, initializer=_worker_start,
                                             mp_context=multiprocessing.get_context("fork"))
        return self._pool

    def forget_others(self, shards: Iterable[str]) -> None:
        """Drop the files of shards other than ``shards`` (domains that left the mesh)."""
        if self.directory is None or not self.directory.is_dir():
            return
        keep = {f"{shard}.json" for shard in shards}
        for file in self.directory.glob("*.json"):
            if file.name not in keep:
                file.unlink(missing_ok=True)

    def shutdown(self) -> None:
        """Stops the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def close(self) -> None:
        path = self._file(self._shard) if self._shard else None
        if path is not None and self.write and set(self._used) != self._loaded:
            # A cache that cannot be written only costs time.
            with contextlib.suppress(OSError):
                atomic_write(path, orjson.dumps({
                    "format": CACHE_FORMAT,
                    "entries": {k: _to_json(v) for k, v in sorted(self._used.items())}}),
                    durable=False)
        if path is not None:
            # The domain's entries are in its file: memory holds one domain's, not the mesh's.
            self._memory.clear()
        self._shard, self._used, self._loaded = None, {}, set()


def _to_json(value: ModelLineage | None) -> Any:
    if value is None:
        return None
    return {"columns": list(value.columns),
            "sources": {c: [[list(s.relation), s.column, s.transform] for s in srcs]
                        for c, srcs in value.sources.items()}}


def _from_json(body: Any) -> ModelLineage | None:
    if body is None:
        return None
    return ModelLineage(
        columns=tuple(body["columns"]),
        sources={c: tuple(ColumnSource(relation=tuple(r), column=col, transform=kind)
                          for r, col, kind in srcs)
                 for c, srcs in body["sources"].items()})


def checksum(sql: str, schema: Mapping[RelationKey, Columns], dialect: str | None) -> str:
    # The code that traced it too: a new sqlglot or meshkit traces again.
    h = hashlib.sha256(code_fingerprint(("meshkit.lineage",), ("sqlglot",)))
    h.update(f"{CACHE_FORMAT}\0{dialect}\0{sql}\0".encode())
    h.update(json.dumps(sorted((list(k), [list(c) for c in v]) for k, v in schema.items()))
             .encode())
    return h.hexdigest()


# --- one query ----------------------------------------------------------------------------------


@functools.cache
def _value_aggs() -> tuple[type[exp.Expr], ...]:
    """Aggregates that return one of the rows' values unchanged (they reveal it)."""
    from sqlglot import exp

    return (exp.Min, exp.Max, exp.AnyValue, exp.First, exp.Last, exp.ArgMax, exp.ArgMin,
            exp.ArrayAgg, exp.GroupConcat)


@functools.cache
def _identity_wrappers() -> tuple[type[exp.Expr], ...]:
    from sqlglot import exp

    return (exp.Cast, exp.TryCast, exp.Lower, exp.Upper, exp.Trim, exp.Paren, exp.Alias,
            *_value_aggs())


def step_transform(expression: exp.Expr) -> Transform:
    """How one projection passes on the columns it reads.

    >>> import sqlglot
    >>> [step_transform(sqlglot.parse_one(f"select {s}").selects[0]) for s in (
    ...     "cast(a as int) as b", "a + 1", "count(case when a then 1 end)", "max(a)", "coalesce(a, 0)")]
    ['identity', 'derived', 'aggregate', 'identity', 'identity']
    """
    from sqlglot import exp

    aggs = list(expression.find_all(exp.AggFunc))
    if any(not isinstance(a, _value_aggs()) for a in aggs):
        return "aggregate"
    node = expression
    while True:
        if isinstance(node, exp.Column | exp.Star):
            return "identity"
        if isinstance(node, _identity_wrappers()):
            node = node.this
            continue
        if isinstance(node, exp.Coalesce):
            rest = node.expressions
            if all(isinstance(r, exp.Literal | exp.Null) for r in rest):
                node = node.this
                continue
        return "derived"


def _sqlglot_schema(schema: Mapping[RelationKey, Columns]) -> dict[str, Any]:
    """Relation columns as sqlglot's nested schema (catalog -> db -> table -> column: type)."""
    nested: dict[str, Any] = {}
    for (db, sch, name), cols in schema.items():
        if cols:  # an empty mapping would make sqlglot fail the whole query
            nested.setdefault(db, {}).setdefault(sch, {})[name] = {
                c.lower(): (t or "text") for c, t in cols}
    return nested


def query_lineage(sql: str, schema: Mapping[RelationKey, Columns],
                  dialect: str | None) -> ModelLineage | None:
    """Lineage of every output column of ``sql``; None if sqlglot cannot resolve it.

    >>> lin = query_lineage("select a.x as y, count(*) as n, sum(a.z) as s from d.s.t as a group by 1",
    ...                     {("d", "s", "t"): [("x", "int"), ("z", "int")]}, "duckdb")
    >>> [(c, [(s.column, s.transform) for s in lin.sources[c]]) for c in lin.columns]
    [('y', [('x', 'identity')]), ('n', []), ('s', [('z', 'aggregate')])]
    """
    from sqlglot import exp, parse_one
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import build_scope

    nested = _sqlglot_schema(schema)
    with quiet_sqlglot():
        try:
            # One parse, one qualification and one scope tree per query, then every output column
            # traced in a single memoised walk over the scopes (sqlglot's own ``lineage`` builds a
            # node graph per column, several times slower on a mesh of thousands of models).
            expression = qualify(parse_one(sql, dialect=dialect), dialect=dialect, schema=nested,
                                 validate_qualify_columns=False, identify=False,
                                 quote_identifiers=False)
            root = build_scope(expression)
            if root is None or not isinstance(root.expression, exp.Query):
                return None
            walker = _ScopeWalker(exp)
            columns = tuple(sel.alias_or_name for sel in root.expression.selects)
            if not all(columns):
                return None
            sources = {
                column: tuple(ColumnSource(relation=rel, column=col, transform=kind)
                              for (rel, col), kind in sorted(walker.resolve(root, column).items()))
                for column in columns}
        except (SqlglotError, RecursionError, KeyError, ValueError, AttributeError, TypeError):
            return None
    return ModelLineage(columns=columns, sources=sources)


_Found = dict[tuple[RelationKey, str], Transform]


def _merge(into: _Found, found: _Found, floor: Transform) -> None:
    """Adds ``found`` reached through a step of kind ``floor``; the weakest path wins."""
    for key, kind in found.items():
        here: Transform = kind if _ORDER[kind] > _ORDER[floor] else floor
        old = into.get(key)
        if old is None or _ORDER[here] < _ORDER[old]:
            into[key] = here


class _ScopeWalker:
    """Traces output columns of a qualified query's scopes to base-table columns, memoised."""

    def __init__(self, exp: Any) -> None:
        self.exp = exp
        self.memo: dict[tuple[int, str], _Found] = {}

    def resolve(self, scope: Any, column: str) -> _Found:
        key = (id(scope), column)
        if key not in self.memo:
            self.memo[key] = {}  # a self-reference (recursive CTE) resolves to nothing more
            self.memo[key] = self._resolve(scope, column)
        return self.memo[key]

    def _resolve(self, scope: Any, column: str) -> _Found:
        exp = self.exp
        query = scope.expression
        if isinstance(query, exp.SetOperation):
            names = [s.alias_or_name for s in query.selects]
            if column not in names:
                return {}
            index = names.index(column)
            found: _Found = {}
            for branch in scope.union_scopes:
                selects = branch.expression.selects
                if index < len(selects):
                    _merge(found, self.resolve(branch, selects[index].alias_or_name), "identity")
            return found
        if not isinstance(query, exp.Select):
            return {}
        projection = next((s for s in query.selects if s.alias_or_name == column), None)
        if projection is None:
            star = next((s for s in query.selects if isinstance(s, exp.Star)), None)
            return self._through_star(scope, column) if star is not None else {}
        step = step_transform(projection)
        found = {}
        if isinstance(projection, exp.Star):  # ``select *`` whose sources' columns are unknown
            for source in scope.sources.values():
                self._star_source(source, step, found)
            return found
        subqueries = {id(s.expression): s for s in scope.subquery_scopes}
        for node in projection.walk():
            if isinstance(node, exp.Subquery | exp.Select) and node is not projection:
                sub = subqueries.get(id(node if isinstance(node, exp.Select) else node.this))
                if sub is not None:
                    for sel in sub.expression.selects:
                        _merge(found, self.resolve(sub, sel.alias_or_name), step)
                continue
            if isinstance(node, exp.Column):
                self._column(scope, node, step, found)
        return found

    def _column(self, scope: Any, column: Any, step: Transform, found: _Found) -> None:
        exp = self.exp
        if column.find_ancestor(exp.Subquery) is not None and \
                column.find_ancestor(exp.Select) is not scope.expression:
            return  # inside a scalar subquery: traced through that subquery's own scope
        table = column.table
        if not table and len(scope.selected_sources) == 1:
            table = next(iter(scope.selected_sources))  # a star over unknown columns stays unqualified
        source = scope.sources.get(table)
        name = column.name
        if isinstance(source, exp.Table):
            _merge(found, {(_table_key(source), name.lower()): "identity"}, step)
        elif source is not None and hasattr(source, "expression"):
            _merge(found, self.resolve(source, name), step)

    def _star_source(self, source: Any, step: Transform, found: _Found) -> None:
        exp = self.exp
        if isinstance(source, exp.Table):
            _merge(found, {(_table_key(source), "*"): "identity"}, step)
        elif source is not None and hasattr(source, "expression"):
            for sel in source.expression.selects:
                _merge(found, self.resolve(source, sel.alias_or_name), step)

    def _through_star(self, scope: Any, column: str) -> _Found:
        """An output column of an unexpanded ``*`` (columns of a source unknown)."""
        exp = self.exp
        found: _Found = {}
        for source in scope.sources.values():
            if isinstance(source, exp.Table):
                _merge(found, {(_table_key(source), column.lower()): "identity"}, "identity")
            elif source is not None and hasattr(source, "expression"):
                _merge(found, self.resolve(source, column), "identity")
        return found


def _table_key(table: Any) -> RelationKey:
    return ((table.catalog or "").lower(), (table.db or "").lower(), table.name.lower())


# --- a domain -----------------------------------------------------------------------------------


def _dialect(arts: DomainArtifacts) -> str | None:
    return {"duckdb": "duckdb", "snowflake": "snowflake"}.get(arts.adapter_type or "")


def _waves(models: Iterable[NodeInfo]) -> list[list[NodeInfo]]:
    """The models in waves: each wave's models read only models of earlier waves (dbt forbids
    cycles; should a manifest have one anyway, its models come last, one by one, by name)."""
    import graphlib

    by_uid = {n.unique_id: n for n in models}
    sorter = graphlib.TopologicalSorter(
        {uid: [p for p in n.depends_on if p in by_uid] for uid, n in sorted(by_uid.items())})
    try:
        sorter.prepare()
    except graphlib.CycleError:
        return [[by_uid[uid]] for uid in sorted(by_uid)]
    waves = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        waves.append([by_uid[uid] for uid in ready])
        sorter.done(*ready)
    return waves


@dataclass
class DomainLineage:
    """Column edges of one domain's models, and the columns each model was resolved to."""

    edges: list[ColumnEdge]
    columns: dict[str, tuple[str, ...]]
    foreign_inputs: dict[str, str]  # foreign unique_id -> checksum of the columns used


def columns_checksum(columns: Columns | None) -> str:
    return hashlib.sha256(json.dumps([list(c) for c in columns or ()]).encode()).hexdigest()[:16]


def domain_lineage(arts: DomainArtifacts, package: str, *,
                   is_foreign: Callable[[str], bool],
                   foreign_columns: ForeignColumns | None = None,
                   cache: LineageCache | None = None) -> DomainLineage:
    """Column lineage of every model the domain owns, to its direct parents in any domain."""
    cache = cache or LineageCache()
    cache.open(package)
    try:
        return _domain_lineage(arts, package, is_foreign, foreign_columns, cache)
    finally:
        cache.close()


def _domain_lineage(arts: DomainArtifacts, package: str, is_foreign: Callable[[str], bool],
                    foreign_columns: ForeignColumns | None, cache: LineageCache) -> DomainLineage:
    dialect = _dialect(arts)
    models = [n for n in arts.nodes.values()
              if n.package_name == package and n.resource_type == "model"]
    resolved: dict[str, tuple[tuple[str, str], ...]] = {}
    foreign_inputs: dict[str, str] = {}

    def columns_of(uid: str) -> tuple[tuple[str, str], ...] | None:
        if uid in resolved:
            return resolved[uid]
        if is_foreign(uid):
            cols = foreign_columns(uid) if foreign_columns is not None else None
            foreign_inputs[uid] = columns_checksum(cols)
            return tuple(cols) if cols else None
        node = arts.nodes.get(uid)
        documented = (node.columns if node is not None else
                      arts.sources[uid].columns if uid in arts.sources else ())
        warehouse = dict(arts.warehouse_columns.get(uid, ()) or arts.built_columns.get(uid, ()))
        if documented:
            # A model's YAML may document only some of its columns: the warehouse lists the rest
            # (a `select *` over it, and `parent.column`, resolve only against all of them).
            named = {c.name.lower() for c in documented}
            return (*((c.name, c.data_type or warehouse.get(c.name, "")) for c in documented),
                    *((n, t) for n, t in warehouse.items() if n.lower() not in named))
        return tuple(warehouse.items()) or None

    def relation_of(uid: str) -> RelationKey | None:
        node = arts.nodes.get(uid)
        if node is not None:
            return node.relation_key
        src = arts.sources.get(uid)
        if src is not None:
            return ((src.database or "").lower(), (src.schema or "").lower(),
                    (src.identifier or src.name).lower())
        return None

    edges: list[ColumnEdge] = []

    def inputs_of(node: NodeInfo) -> tuple[dict[RelationKey, Columns], dict[RelationKey, str]]:
        schema: dict[RelationKey, Columns] = {}
        by_relation: dict[RelationKey, str] = {}
        for parent in node.depends_on:
            rel = relation_of(parent)
            if rel is None:
                continue
            by_relation[rel] = parent
            cols = columns_of(parent)
            if cols:
                schema[rel] = cols
            # A domain reads its own secure views through their internal tables (mesh_ref).
            behind = _internal_table(arts.nodes.get(parent))
            if behind is not None and arts.nodes[parent].package_name == node.package_name:
                by_relation[behind] = parent
                if cols:
                    schema[behind] = cols
        return schema, by_relation

    def record(node: NodeInfo, result: ModelLineage | None,
                by_relation: dict[RelationKey, str]) -> None:
        if result is None:
            return
        # Output columns: what the SQL yields (documentation of a model without a contract may
        # list only some), else the documented or warehouse ones if a star stayed unresolved.
        types = {c.name.lower(): c.data_type or "" for c in node.columns}
        if "*" not in result.columns:
            resolved[node.unique_id] = tuple((c, types.get(c, "")) for c in result.columns)
        elif (fallback := columns_of(node.unique_id)) is not None:
            resolved[node.unique_id] = fallback
        for column in result.columns:
            for src in result.sources[column]:
                parent_uid = by_relation.get(src.relation) or _by_name(by_relation, src.relation)
                if parent_uid is None:
                    continue
                edges.append(ColumnEdge(upstream=parent_uid, upstream_column=src.column,
                                        downstream=node.unique_id, downstream_column=column,
                                        transform=src.transform))

    # A model's inputs are its parents' columns, resolved in an earlier wave: the queries of a
    # wave are traced together (side by side when the cache has workers), then recorded in order.
    for wave in _waves(models):
        inputs: list[tuple[NodeInfo, str, dict[RelationKey, str]]] = []
        jobs: dict[str, tuple[str, Mapping[RelationKey, Columns], str | None]] = {}
        for node in wave:
            sql = arts.lineage_sql(node)
            if not sql:
                continue
            schema, by_relation = inputs_of(node)
            key = checksum(sql, schema, dialect)
            jobs[key] = (sql, schema, dialect)
            inputs.append((node, key, by_relation))
        traced = cache.lineage_of(jobs)
        for node, key, by_relation in inputs:
            record(node, traced[key], by_relation)
    return DomainLineage(
        edges=sorted(set(edges), key=lambda e: (e.downstream, e.downstream_column, e.upstream,
                                                e.upstream_column)),
        columns={uid: tuple(c for c, _ in cols) for uid, cols in resolved.items()},
        foreign_inputs=dict(sorted(foreign_inputs.items())),
    )


def _internal_table(node: NodeInfo | None) -> RelationKey | None:
    """The internal table behind a secure view: <db>.internal.<product>__<dataset>."""
    if node is None or node.materialized != "secure_view":
        return None
    db, schema, name = node.relation_key
    return (db, "internal", f"{schema}__{name}")


def _by_name(by_relation: Mapping[RelationKey, str], rel: RelationKey) -> str | None:
    """A relation written with fewer parts than dbt renders (``schema.table``, ``table``)."""
    hits = [uid for (db, sch, name), uid in by_relation.items()
            if name == rel[2] and (not rel[1] or sch == rel[1]) and (not rel[0] or db == rel[0])]
    return hits[0] if len(hits) == 1 else None


def predicate_columns(sql: str, schema: Mapping[RelationKey, Columns],
                      dialect: str | None) -> set[tuple[RelationKey, str, str]]:
    """Upstream columns a query joins or filters on: (relation, column, "join" | "filter"),
    traced through CTEs and subqueries to the relations read. Empty if sqlglot cannot resolve.

    >>> sorted(predicate_columns(
    ...     "with c as (select * from d.s.t) select c.x from c join d.s.u as u on c.k = u.k "
    ...     "where c.y > 0", {("d", "s", "t"): [("x", "int"), ("k", "int"), ("y", "int")],
    ...                      ("d", "s", "u"): [("k", "int")]}, "duckdb"))
    [(('d', 's', 't'), 'k', 'join'), (('d', 's', 't'), 'y', 'filter'), (('d', 's', 'u'), 'k', 'join')]
    """
    from sqlglot import exp, parse_one
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import Scope, traverse_scope

    nested = _sqlglot_schema(schema)
    with quiet_sqlglot():
        try:
            tree = qualify(parse_one(sql, dialect=dialect), schema=dict(nested), dialect=dialect,
                           validate_qualify_columns=False, identify=False)
            scopes = traverse_scope(tree)
        except (SqlglotError, RecursionError, KeyError, ValueError, AttributeError, TypeError):
            return set()

    def origins(scope: Scope, table: str, column: str, depth: int = 0
                ) -> Iterator[tuple[RelationKey, str]]:
        source = scope.sources.get(table)
        if depth > 50 or source is None:
            return
        if isinstance(source, exp.Table):
            yield ((source.catalog or "").lower(), (source.db or "").lower(),
                   source.name.lower()), column.lower()
            return
        inner = source.expression if isinstance(source, Scope) else None
        if not isinstance(inner, exp.Select):
            return
        for projection in inner.selects:
            if projection.alias_or_name.lower() == column.lower():
                for col in projection.find_all(exp.Column):
                    yield from origins(source, col.table, col.name, depth + 1)

    found: set[tuple[RelationKey, str, str]] = set()
    for scope in scopes:
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        clauses: list[tuple[exp.Expr, str]] = [
            (j.args["on"], "join") for j in select.args.get("joins") or () if j.args.get("on")]
        if select.args.get("where") is not None:
            clauses.append((select.args["where"], "filter"))
        for clause, kind in clauses:
            for col in clause.find_all(exp.Column):
                for rel, name in origins(scope, col.table, col.name):
                    found.add((rel, name, kind))
    return found
