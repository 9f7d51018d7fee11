"""Consumer-side checks over each model's compiled SQL, with sqlglot: what a model reads of
another domain must be a product view, read through ``ref()``, and only columns its published
contract has.

Run where dbt compiled the models (`mesh check` and `mesh-sync` after a build); a manifest
without compiled SQL (a bare `dbt parse`) has nothing to check here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from meshkit.artifacts import NodeInfo
from meshkit.checks import CheckContext, Rule, Scope, Stage, Violation, rule
from meshkit.contracts.model import Contract, contract_key, contract_of
from meshkit.contracts.refs import is_product_dataset
from meshkit.contracts.rules import current_contracts

if TYPE_CHECKING:
    from sqlglot import exp

# DuckDB table functions that read files (and their Snowflake kin would be stages).
FILE_READERS = re.compile(r"\b(read_(csv|csv_auto|parquet|json|json_auto|ndjson|text|blob)|"
                          r"parquet_scan|csv_scan)\s*\(", re.IGNORECASE)


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
                declared = current_contracts(self.ctx, d.name).get(key) or contract_of(d.name, node)
                published = self.ctx.registry.latest(key)
                contract = published.contract if published else declared
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


def _tables(sql: str, dialect: str) -> tuple[exp.Expr, list[exp.Table]] | None:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except SqlglotError:
        return None
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    tables = [t for t in tree.find_all(exp.Table)
              if t.name and not (not t.db and t.name.lower() in ctes)]
    return tree, tables


class ForeignReads:
    """The parsed SQL of the models that may read another domain, parsed once for both rules.

    A relation of another domain is named by its database, the domain's name: SQL whose text
    does not contain any other domain's name (case-insensitively, anywhere: a superset of every
    way to name it) cannot read one, and is not parsed. Most models of a mesh read only their
    own domain, and parsing is most of these rules' time.
    """

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self._parsed: dict[str, tuple[exp.Expr, list[exp.Table]] | None] = {}

    @classmethod
    def of(cls, ctx: CheckContext) -> ForeignReads:
        if cls not in ctx.memo:
            ctx.memo[cls] = cls(ctx)
        found: ForeignReads = ctx.memo[cls]
        return found

    def may_read_others(self, domain: str, sql: str) -> bool:
        text = sql.lower()
        return any(other in text for other in self.ctx.domain_names_lower if other != domain)

    def parsed(self, domain: str, node: NodeInfo) -> tuple[exp.Expr, list[exp.Table]] | None:
        if node.unique_id not in self._parsed:  # both rules ask, of every model
            sql = node.compiled_code
            self._parsed[node.unique_id] = (
                _tables(sql, _dialect(self.ctx, domain))
                if isinstance(sql, str) and self.may_read_others(domain.lower(), sql) else None)
        return self._parsed[node.unique_id]


@rule
class ConsumerReads(Rule):
    """A model reads another domain only through the product views its ref()s name."""

    id = "contract.consumer_reads"
    scope = Scope.MESH
    stages = frozenset({Stage.CHECK, Stage.SYNC, Stage.BUILD})

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        relations = MeshRelations(ctx)
        for domain, node in ctx.nodes.values():
            if not node.compiled_code:
                continue
            file = ctx.file_of(domain, node.original_file_path)
            where: dict[str, Any] = {"node": node.unique_id, "domain": domain, "file": file}
            if FILE_READERS.search(node.compiled_code):
                line = ctx.line_of(domain, node.original_file_path, FILE_READERS.pattern)
                if line is not None:  # written in the model itself, not a source()'s location
                    yield self.violation(
                        f"{node.unique_id} reads a raw file directly",
                        fix="declare the file as a source of this domain and select from "
                            "source(); another domain's data is read through its products",
                        line=line, **where)
            parsed = ForeignReads.of(ctx).parsed(domain, node)
            if parsed is None:
                continue
            _, tables = parsed
            for table in tables:
                key = (str(getattr(table, "catalog", "")).lower(),
                       str(getattr(table, "db", "")).lower(), str(getattr(table, "name", "")).lower())
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
    scope = Scope.MESH

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        from sqlglot.optimizer.scope import traverse_scope

        relations = MeshRelations(ctx)
        for domain, node in ctx.nodes.values():
            if not node.compiled_code:
                continue
            parsed = ForeignReads.of(ctx).parsed(domain, node)
            if parsed is None:
                continue
            tree, tables = parsed
            read: dict[tuple[str, str, str], ProductView] = {}
            for table in tables:
                key = (str(getattr(table, "catalog", "")).lower(),
                       str(getattr(table, "db", "")).lower(), str(getattr(table, "name", "")).lower())
                if key[0] != domain and key in relations.products:
                    read[key] = relations.products[key]
            if not read:
                continue
            missing: dict[tuple[str, str], ProductView] = {}
            # Scopes of the SQL as written: a `select *` CTE passes its source's columns through,
            # which _lacking follows (qualify would refuse an unknown column outright).
            for scope in traverse_scope(tree):
                for column in scope.columns:
                    source = scope.sources.get(column.table) if column.table else (
                        next(iter(scope.sources.values())) if len(scope.sources) == 1 else None)
                    hit = _lacking(source, column.name, read)
                    if hit is not None:
                        missing[(column.name.lower(), hit.contract.key)] = hit
            for (col, _), view in sorted(missing.items()):
                dataset = view.contract.dataset_id or view.contract.key
                yield self.violation(
                    f"{node.unique_id} reads column {col} of {dataset}, which its published "
                    f"contract does not have (it would fail at run time)",
                    fix=f"read a column of {dataset}'s contract (`mesh contract diff "
                        f"{dataset}`), or ask {view.domain} to publish it in a new version",
                    node=node.unique_id, domain=domain,
                    file=ctx.file_of(domain, node.original_file_path),
                    line=ctx.line_of(domain, node.original_file_path, rf"\b{re.escape(col)}\b"))


def _lacking(source: Any, name: str, read: dict[tuple[str, str, str], ProductView],
             depth: int = 0) -> ProductView | None:
    """The product dataset a column read from ``source`` should come from but that lacks it:
    the table itself, or, through CTEs and subqueries that select from one source (dbt's
    ``select * from {{ ref(...) }}`` import CTEs), the product table at the end of the
    chain."""
    from sqlglot import exp
    from sqlglot.optimizer.scope import Scope as SqlScope

    if isinstance(source, exp.Table):
        view = read.get((source.catalog.lower(), source.db.lower(), source.name.lower()))
        return view if view is not None and view.contract.column(name) is None else None
    if isinstance(source, SqlScope) and depth < 20:
        outputs = {n.lower() for n in getattr(source.expression, "named_selects", [])}
        if (name.lower() in outputs and "*" not in outputs) or len(source.sources) != 1:
            return None
        return _lacking(next(iter(source.sources.values())), name, read, depth + 1)
    return None


def _dialect(ctx: CheckContext, domain: str) -> str:
    adapter = ctx.artifacts(domain).adapter_type or "duckdb"
    return "snowflake" if adapter == "snowflake" else "duckdb"
