"""Classifications follow the data: through column-level lineage across domains."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import orjson

from meshkit.checks import CheckContext, Severity, Violation, rule
from meshkit.code_fingerprint import code_fingerprint
from meshkit.digest_memo import DigestMemo
from meshkit.governance.facts import EVERYONE, Facts
from meshkit.governance.policy import Policy


@rule
class ClassificationPropagation(Policy):
    """A column derived from a classified column, in any domain and through any number of
    models, is at least as protected as it."""

    id = "classification.propagation"
    reads_compiled_sql = True
    # A count, sum or average over many rows is not any one person's value: by default it does
    # not inherit the classification of what it folds (min/max and group keys still do).
    defaults: ClassVar[Mapping[str, Any]] = {"aggregates_declassify": True}

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        through_aggregates = not bool(params["aggregates_declassify"])
        for p in facts.products(domain):
            for ds in p.datasets:
                for c in ds.columns:
                    reported: set[str] = set()
                    for up, up_col, up_cls, path in facts.classified_origins(
                            ds.unique_id, c.name, through_aggregates=through_aggregates):
                        if up_cls in reported or facts.at_least_as_protected(
                                c.classification, up_cls):
                            continue
                        reported.add(up_cls)
                        file, line = facts.declared_at(domain, ds.name, c.name)
                        across = " across domains" if up.split(".")[1] != domain else ""
                        via = " <- ".join(path[1:-1]) or "a direct read"
                        yield self.violation(
                            f"column {c.name} of {ds.id} is "
                            f"{c.classification or 'unclassified'} but derives{across} from "
                            f"{up_cls} column {up_col} of {up} (via {via})",
                            fix=f"classify `{c.name}` at least {up_cls} (no role may see it "
                                f"that may not see {up_col}), or stop deriving it",
                            node=ds.unique_id, domain=domain, file=file, line=line)


@rule
class MaskedPredicate(Policy):
    """A model that joins or filters on another domain's column masked for its build role gets
    NULLs or constants, not the values: warn (use a tokenize mask to join on a personal key)."""

    id = "consumer.masked_predicate"
    default_severity = Severity.WARN

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        arts = facts.artifacts(domain)
        engineer = f"{domain}_engineer"
        dialect = {"duckdb": "duckdb", "snowflake": "snowflake"}.get(arts.adapter_type or "")

        def visible(cls: str | None) -> bool:
            audience = facts.audience(cls)
            return EVERYONE in audience or engineer in audience

        for node in sorted(arts.nodes.values(), key=lambda n: n.unique_id):
            if node.package_name != domain or not node.compiled_code:
                continue
            foreign = {}
            schema: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
            for uid in node.depends_on:
                parent = arts.nodes.get(uid)
                producer = facts.node(uid)
                if parent is None:
                    continue
                cols = producer.columns if producer is not None and \
                    parent.package_name != domain else parent.columns
                schema[parent.relation_key] = [(c.name, c.data_type or "") for c in cols]
                if parent.package_name != domain and producer is not None:
                    foreign[parent.relation_key] = producer
            # Only a column masked for the engineer makes a finding: a model none of whose
            # producers has one (a column it does not declare counts as unclassified) is not
            # parsed at all.
            if not any(not visible(cls) for producer in foreign.values()
                       for cls in {None, *(c.classification for c in producer.columns)}):
                continue
            for rel, column, kind in sorted(_predicates(facts.ctx, node.compiled_code, schema,
                                                        dialect)):
                producer = foreign.get(rel)
                if producer is None:
                    continue
                cls = facts.column_classification(producer.unique_id, column)
                if visible(cls):
                    continue
                path = getattr(node, "original_file_path", None)
                file = facts.ctx.file_of(domain, path) if path else None
                yield self.violation(
                    f"{node.unique_id} {'joins' if kind == 'join' else 'filters'} on "
                    f"{column} of {producer.unique_id}, {cls} and masked for {engineer}: it "
                    f"reads masked values, not the data",
                    fix=f"join on a key the domain may read: ask the producer to publish "
                        f"`{column}` with a tokenize mask, or request clearance for {engineer}",
                    node=node.unique_id, domain=domain, file=file)


PREDICATES_CACHE = ".catalog-cache/predicate-columns.json"
_PREDICATES_FORMAT = 1
Predicates = set[tuple[tuple[str, str, str], str, str]]


def _predicates(ctx: CheckContext, sql: str, schema: Mapping[tuple[str, str, str],
                                                              list[tuple[str, str]]],
                dialect: str | None) -> Predicates:
    """:func:`~meshkit.lineage.predicate_columns`, kept by the digest of its whole input (the
    SQL, the columns and types of what it reads, the dialect, the code): a sync parses again
    only the SQL of models that changed, or whose producers did."""
    from meshkit.lineage import predicate_columns

    memo = ctx.shared(_predicates_memo)
    key = hashlib.sha256(code_fingerprint(("meshkit.lineage",), ("sqlglot",)) + orjson.dumps(
        [dialect, sql, sorted([list(rel), [list(c) for c in cols]]
                              for rel, cols in schema.items())])).hexdigest()
    return memo.get(key, lambda: predicate_columns(sql, schema, dialect))


def _predicates_memo(ctx: CheckContext) -> DigestMemo[Predicates]:
    """The run's :data:`PREDICATES_CACHE`, written back when a sync's run ends (`mesh check`
    only reads it)."""
    memo: DigestMemo[Predicates] = DigestMemo(ctx.root / PREDICATES_CACHE,
                                              fmt=_PREDICATES_FORMAT, decode=_decode_predicates,
                                              encode=_encode_predicates)
    if ctx.keep_projections:
        ctx.on_close(memo.save)
    return memo


def _decode_predicates(kept: Any) -> Predicates:
    out: Predicates = set()
    for (db, sch, name), column, kind in kept:
        if not all(isinstance(x, str) for x in (db, sch, name, column)) or \
                kind not in ("join", "filter"):
            raise ValueError("not a predicate column")
        out.add(((db, sch, name), column, kind))
    return out


def _encode_predicates(found: Predicates) -> Any:
    return sorted([list(rel), column, kind] for rel, column, kind in found)
