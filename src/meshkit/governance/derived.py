"""Derived personal data, decided for one model at its build: the column lineage of its compiled
SQL, traced against its parents' columns as they are built, says which columns a secure view
would show as is while they derive from personal data. The secure_view materialization asks
before the view is replaced (through the dbt-duckdb plugin's function), so a domain engineer's
own ``dbt build`` cannot publish ``split_part(email, '@', 1)`` under a harmless name and a
classification that does not mask; the sync's personal_data.by_lineage and
classification.propagation report the same, through any number of models, once it runs.

One hop only: what a parent derived from further up is that parent's own build's to refuse (a
product dataset) or the sync's to report (an internal model)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshkit.governance.patterns import NAME_PATTERNS, personal_kind
from meshkit.lineage import RelationKey, query_lineage

BY_LINEAGE = "personal_data.by_lineage"
PROPAGATION = "classification.propagation"


@dataclass(frozen=True)
class Parent:
    """A relation the model reads: the classification of each documented column (lower-cased
    names) and whether it is another product's dataset (its own columns are checked at its
    build: what derives from them answers to their classifications only)."""

    classifications: Mapping[str, str]
    product: bool


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


def find(sql: str, columns: Sequence[Sequence[str]], parents: Mapping[RelationKey, Parent],
         candidates: Sequence[str], policies: Mapping[str, Mapping[str, Any]]
         ) -> Finding | None:
    """The first column of ``candidates`` (shown as is by the view) that derives, not through
    an aggregate, from a parent column whose classification masks (classification.propagation)
    or, outside another product's dataset, whose name looks like personal data
    (personal_data.by_lineage); a candidate whose lineage cannot be traced is a finding too
    (fail closed). ``columns``: (database, schema, table, column, type) of every parent as
    built; ``policies``: the enforced ones of the two, with their parameters (by_lineage's
    ``extra_patterns``, beside meshkit's own; propagation's ``masked`` classifications and
    ``through_aggregates``).

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
    """
    schema: dict[RelationKey, list[tuple[str, str]]] = {}
    for db, sch, name, column, data_type in columns:
        schema.setdefault(_key((db, sch, name)), []).append((column, data_type))
    lineage = query_lineage(sql, schema, "duckdb")
    traced = {} if lineage is None else {c.lower(): s for c, s in lineage.sources.items()}
    lineage_policy = BY_LINEAGE if BY_LINEAGE in policies else PROPAGATION
    for column in candidates:
        sources = traced.get(column.lower())
        if sources is None or any(s.column == "*" for s in sources):
            return Finding(lineage_policy, column,
                           "its column lineage cannot be traced (the model's SQL does not resolve "
                           "against its parents' columns), so whether it derives from personal "
                           "data is unknown")
        for s in sources:
            rel = ".".join(s.relation)
            parent = parents.get(s.relation)
            upstream = s.column.lower()
            cls = None if parent is None else parent.classifications.get(upstream)
            if PROPAGATION in policies and cls is not None and cls in policies[PROPAGATION].get(
                    "masked", ()) and (s.transform != "aggregate"
                                       or policies[PROPAGATION].get("through_aggregates")):
                return Finding(PROPAGATION, column,
                               f"it derives from {cls} column {s.column} of {rel}")
            if BY_LINEAGE in policies and s.transform != "aggregate" and not (
                    parent is not None and parent.product):
                extra = policies[BY_LINEAGE].get("extra_patterns") or {}
                kind = personal_kind(upstream, {**NAME_PATTERNS, **extra})
                if kind is not None:
                    return Finding(BY_LINEAGE, column,
                                   f"it derives from {s.column} of {rel}, which looks like {kind}")
    return None


def decide(request: str | None, columns: str | None) -> str | None:
    """:func:`find` over the JSON the secure_view materialization sends (``request``: sql,
    parents, candidates, policies, the masking classifications; ``columns``: the parents'
    columns as DuckDB lists them); ``policy|column|what`` or None. Never returns a value of the
    data: it reads none."""
    body = json.loads(request or "{}")
    policies = {str(k): dict(v) for k, v in (body.get("policies") or {}).items()}
    if PROPAGATION in policies:
        policies[PROPAGATION]["masked"] = list(body.get("masked") or [])
    parents = {}
    for p in body.get("parents", []):
        parent = Parent({str(k).lower(): str(v) for k, v in (p.get("classes") or {}).items()
                         if v is not None}, bool(p.get("product")))
        for key in p.get("keys", []):
            parents[_key(key)] = parent
    found = find(str(body.get("sql") or ""), json.loads(columns or "[]") or [], parents,
                 [str(c) for c in body.get("candidates", [])], policies)
    return None if found is None else found.encoded()
