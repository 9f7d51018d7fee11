"""Derived personal data, decided for one model at its build: the column lineage of its compiled
SQL, traced against its parents' columns as they are built, and on through the internal models
of its domain (each from the statement dbt last built it with, else the SQL dbt last compiled
it to), says which columns a secure view
would show as is while they derive from personal data. The secure_view materialization asks
before the view is replaced (through the dbt-duckdb plugin's function), so a domain engineer's
own ``dbt build`` cannot publish ``split_part(email, '@', 1)`` under a harmless name and a
classification that does not mask, whether the model does so itself or reads it from an
internal model that did; the sync's personal_data.by_lineage and classification.propagation
report the same across domains once it runs.

The walk stops at another product's dataset (its own build checked its columns), at a source,
seed or snapshot (their columns are what they are named and classified), and at an internal
model whose lineage cannot be traced: there, fail closed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshkit.governance.patterns import NAME_PATTERNS, personal_kind
from meshkit.lineage import ColumnSource, RelationKey, query_lineage
from meshkit.sqlglot_logging import quiet_sqlglot

BY_LINEAGE = "personal_data.by_lineage"
PROPAGATION = "classification.propagation"


@dataclass(frozen=True)
class Parent:
    """A relation upstream of the model: the classification of each documented column
    (lower-cased names); whether it is another product's dataset (its own columns are checked at
    its build: what derives from them answers to their classifications only); and, for an
    internal model of the domain, the files of its compiled SQL and of the statement that built
    it, and the relations it reads (their keys), to trace it further up."""

    classifications: Mapping[str, str]
    product: bool
    sql_file: str | None = None
    reads: tuple[RelationKey, ...] = ()
    # The statement dbt ran to build it last (target/run), which the compiled file need not be
    # (a model edited and compiled since, not built).
    run_file: str | None = None


@dataclass(frozen=True)
class Finding:
    policy: str
    column: str
    what: str

    def encoded(self) -> str:
        return f"{self.policy}|{self.column}|{self.what}"


def _key(parts: Sequence[str]) -> RelationKey:
    db, schema, name = (str(p).lower() for p in parts)
    return db, schema, name


UNTRACEABLE = ("its column lineage cannot be traced (the model's SQL does not resolve against "
               "its parents' columns), so whether it derives from personal data is unknown")


# The lineage of an internal model, by its SQL and its inputs' columns: the products of a domain
# built in one dbt process read the same staging and intermediate models.
_TRACED: dict[tuple[str, str], dict[str, tuple[ColumnSource, ...]] | None] = {}
_TRACED_MAX = 256
_TRACED_LOCK = threading.Lock()


class _Tracer:
    """The lineage of the model's SQL and of each internal model it reads, traced once each
    against the columns of the relations it reads, as built."""

    def __init__(self, columns: Sequence[Sequence[str]], parents: Mapping[RelationKey, Parent]):
        self.schema: dict[RelationKey, list[tuple[str, str]]] = {}
        for db, sch, name, column, data_type in columns:
            self.schema.setdefault(_key((db, sch, name)), []).append((column, data_type))
        self.parents = parents
        self.traced: dict[RelationKey, dict[str, tuple[ColumnSource, ...]] | None] = {}

    def trace(self, sql: str, reads: Sequence[RelationKey] | None = None
              ) -> dict[str, tuple[ColumnSource, ...]] | None:
        schema = (self.schema if reads is None
                  else {k: self.schema[k] for k in reads if k in self.schema})
        key = (sql, repr(sorted((k, tuple(v)) for k, v in schema.items())))
        with _TRACED_LOCK:
            if key in _TRACED:
                return _TRACED[key]
        lineage = query_lineage(sql, schema, "duckdb")
        traced = None if lineage is None else {c.lower(): s for c, s in lineage.sources.items()}
        with _TRACED_LOCK:  # (dbt builds models on threads)
            if len(_TRACED) >= _TRACED_MAX:
                _TRACED.pop(next(iter(_TRACED)))
            _TRACED[key] = traced
        return traced

    def of_parent(self, key: RelationKey) -> dict[str, tuple[ColumnSource, ...]] | None:
        """The lineage of an internal model by its relation; None if its SQL cannot be read
        or traced."""
        if key not in self.traced:
            parent = self.parents[key]
            sql = built_query(_read(parent.run_file)) or _read(parent.sql_file)
            self.traced[key] = None if not sql else self.trace(sql, parent.reads)
        return self.traced[key]


def _read(path: str | None) -> str | None:
    if path is None:
        return None
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return Path(path).read_text(encoding="utf-8")
    return None


@functools.lru_cache(maxsize=256)  # (the products of a domain read the same models)
def built_query(statement: str | None) -> str | None:
    """The query of a ``CREATE TABLE|VIEW ... AS <query>`` dbt ran to build a model (its file
    under target/run); None for anything else (an incremental model's insert or merge reads a
    temporary table: its compiled SQL says more).

    >>> built_query('create  table "d"."internal"."m__dbt_tmp" as (select a as b from d.s.t)')
    'SELECT a AS b FROM d.s.t'
    >>> built_query('insert into "d"."internal"."m" select * from "m__dbt_tmp"') is None
    True
    """
    if not statement:
        return None
    from sqlglot import exp, parse
    from sqlglot.errors import SqlglotError

    with quiet_sqlglot():
        try:
            statements = [e for e in parse(statement, dialect="duckdb") if e is not None]
        except SqlglotError:
            return None
    if len(statements) != 1 or not isinstance(statements[0], exp.Create):
        return None
    create = statements[0]
    query = create.expression
    while isinstance(query, exp.Subquery):
        query = query.this
    if str(create.args.get("kind") or "").upper() not in ("TABLE", "VIEW") or not isinstance(
            query, exp.Query):
        return None
    return query.sql(dialect="duckdb")


def find(sql: str, columns: Sequence[Sequence[str]], parents: Mapping[RelationKey, Parent],
         candidates: Sequence[str], policies: Mapping[str, Mapping[str, Any]]
         ) -> Finding | None:
    """The first column of ``candidates`` (shown as is by the view) that derives, not through
    an aggregate, from an upstream column whose classification masks
    (classification.propagation) or, outside another product's dataset, whose name looks like
    personal data (personal_data.by_lineage); followed through internal models (``parents``
    with a ``sql_file``) up to sources, seeds and other products. A candidate whose lineage
    cannot be traced, at the model or at an internal model on its way up, is a finding too
    (fail closed). ``columns``: (database, schema, table, column, type) of every upstream
    relation as built; ``policies``: the enforced ones of the two, with their parameters
    (by_lineage's ``extra_patterns``, beside meshkit's own; propagation's ``masked``
    classifications and ``through_aggregates``).

    >>> cols = [("d", "s", "c", "email", "varchar"), ("d", "s", "c", "region", "varchar")]
    >>> parents = {("d", "s", "c"): Parent({"email": "pii"}, product=False)}
    >>> pol = {BY_LINEAGE: {"extra_patterns": {}}, PROPAGATION: {"masked": ["pii"]}}
    >>> find("select split_part(email, '@', 1) as handle, region from d.s.c", cols, parents,
    ...      ["handle", "region"], pol).encoded()
    'classification.propagation|handle|it derives from pii column email of d.s.c'
    >>> find("select split_part(email, '@', 1) as handle from d.s.c", cols, parents, ["handle"],
    ...      {BY_LINEAGE: pol[BY_LINEAGE]}).encoded()
    'personal_data.by_lineage|handle|it derives from email of d.s.c, which looks like email'
    >>> find("select * from read_csv('x.csv')", cols, parents, ["handle"], pol).what[:40]
    'its column lineage cannot be traced (the'
    >>> find("select region, count(email) as n from d.s.c group by 1", cols, parents,
    ...      ["region", "n"], pol) is None
    True

    Two models up: an internal model derived the handle, the product shows it as is.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
    ...     _ = f.write("select split_part(email, '@', 1) as handle_part from d.s.c")
    >>> cols.append(("d", "internal", "h", "handle_part", "varchar"))
    >>> parents[("d", "internal", "h")] = Parent({}, False, f.name, (("d", "s", "c"),))
    >>> find("select handle_part as handle from d.internal.h", cols, parents, ["handle"],
    ...      {BY_LINEAGE: pol[BY_LINEAGE]}).what
    'it derives from email of d.s.c (via d.internal.h), which looks like email'
    >>> parents[("d", "internal", "h")] = Parent({}, False, f.name + ".gone", (("d", "s", "c"),))
    >>> find("select handle_part as handle from d.internal.h", cols, parents, ["handle"],
    ...      {BY_LINEAGE: pol[BY_LINEAGE]}).what[:58]
    'its column lineage cannot be traced through d.internal.h ('

    An internal model that reads a file rather than a model or source is traced too.

    >>> with open(f.name, "w") as out:
    ...     _ = out.write("select split_part(contact_email, '@', 1) as handle_part "
    ...                   "from read_csv('contacts.csv')")
    >>> parents[("d", "internal", "h")] = Parent({}, False, f.name, ())
    >>> find("select handle_part as handle from d.internal.h", cols, parents, ["handle"],
    ...      {BY_LINEAGE: pol[BY_LINEAGE]}).what
    'it derives from contact_email of a file or function it reads (via d.internal.h), which looks like email'
    """
    tracer = _Tracer(columns, parents)
    traced = tracer.trace(sql) or {}
    lineage_policy = BY_LINEAGE if BY_LINEAGE in policies else PROPAGATION
    propagation = policies.get(PROPAGATION)
    through_aggregates = bool(propagation and propagation.get("through_aggregates"))
    masked = set(propagation.get("masked", ())) if propagation else set()
    extra = (policies[BY_LINEAGE].get("extra_patterns") or {}) if BY_LINEAGE in policies else {}
    patterns = {**NAME_PATTERNS, **extra}
    for column in candidates:
        sources = traced.get(column.lower())
        if sources is None or any(s.column == "*" for s in sources):
            return Finding(lineage_policy, column, UNTRACEABLE)
        # (relation, column, through an aggregate, internal models on the way)
        stack: list[tuple[RelationKey, str, bool, tuple[str, ...]]] = [
            (s.relation, s.column, s.transform == "aggregate", ()) for s in sources]
        seen: set[tuple[RelationKey, str, bool]] = set()
        while stack:
            relation, upstream, aggregated, via = stack.pop()
            if (relation, upstream.lower(), aggregated) in seen:
                continue
            seen.add((relation, upstream.lower(), aggregated))
            rel = ".".join(relation) if any(relation) else "a file or function it reads"
            shown = rel if not via else f"{rel} (via {', '.join(via)})"
            parent = parents.get(relation)
            cls = None if parent is None else parent.classifications.get(upstream.lower())
            if (propagation is not None and cls is not None and cls in masked
                    and (not aggregated or through_aggregates)):
                return Finding(PROPAGATION, column,
                               f"it derives from {cls} column {upstream} of {shown}")
            if BY_LINEAGE in policies and not aggregated and not (
                    parent is not None and parent.product):
                kind = personal_kind(upstream.lower(), patterns)
                if kind is not None:
                    return Finding(BY_LINEAGE, column,
                                   f"it derives from {upstream} of {shown}, which looks like {kind}")
            if parent is None or parent.product or parent.sql_file is None or (
                    aggregated and not through_aggregates):
                continue  # (a source, seed or snapshot; a product; or nothing more to find)
            lineage = tracer.of_parent(relation)
            up_sources = None if lineage is None else lineage.get(upstream.lower())
            if up_sources is None or any(s.column == "*" for s in up_sources):
                return Finding(lineage_policy, column, (
                    f"its column lineage cannot be traced through {rel} (the SQL dbt last "
                    "built or compiled it from, under target/, is missing or does not resolve "
                    "against the columns it reads: build the model with its parents, "
                    "`dbt build --select +<model>`), so whether it derives from personal data "
                    "is unknown"))
            for s in up_sources:
                stack.append((s.relation, s.column, aggregated or s.transform == "aggregate",
                              (*via, rel)))
    return None


def decide(request: str | None, columns: str | None) -> str | None:
    """:func:`find` over the JSON the secure_view materialization sends (``request``: sql,
    the relations upstream, candidates, policies, the masking classifications, and the project
    folder, target path and package that locate dbt's compiled files; ``columns``: the upstream
    relations' columns as DuckDB lists them); ``policy|column|what`` or None. Never returns a
    value of the data: it reads none."""
    body = json.loads(request or "{}")
    policies = {str(k): dict(v) for k, v in (body.get("policies") or {}).items()}
    if PROPAGATION in policies:
        policies[PROPAGATION]["masked"] = list(body.get("masked") or [])
    # Where dbt writes a model's compiled SQL: <project>/<target-path>/compiled/<package>/<path>.
    root, target_path, package = [*(body.get("compiled") or []), "", "", ""][:3]
    compiled = Path(str(root)) / str(target_path) / "compiled" / str(package)
    ran = Path(str(root)) / str(target_path) / "run" / str(package)
    parents = {}
    for p in body.get("parents", []):
        file = p.get("file")
        parent = Parent({str(k).lower(): str(v) for k, v in (p.get("classes") or {}).items()
                         if v is not None}, bool(p.get("product")),
                        None if not file or not root else str(compiled / str(file)),
                        tuple(_key(k) for k in p.get("reads") or ()),
                        None if not file or not root else str(ran / str(file)))
        for key in p.get("keys", []):
            parents[_key(key)] = parent
    found = find(str(body.get("sql") or ""), json.loads(columns or "[]") or [], parents,
                 [str(c) for c in body.get("candidates", [])], policies)
    return None if found is None else found.encoded()
