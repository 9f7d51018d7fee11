"""Personal data: found by column name and by sampled values, and masking verified by querying
the secure views as roles without clearance. Values read from the warehouse are only counted and
matched, never printed or kept."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from meshkit.checks import CheckContext, Violation, rule
from meshkit.checks.registry import Stage
from meshkit.governance.facts import EVERYONE, Facts
from meshkit.governance.patterns import NAME_PATTERNS as NAME_PATTERNS
from meshkit.governance.patterns import personal_kind as personal_kind
from meshkit.governance.patterns import value_kind
from meshkit.governance.policy import Policy


def _located(facts: Facts, domain: str, model: str, column: str) -> dict[str, Any]:
    file, line = facts.declared_at(domain, model, column)
    return {"file": file, "line": line, "domain": domain}


@rule
class PersonalDataByName(Policy):
    """Columns named like personal data carry a classification that masks them."""

    id = "personal_data.by_name"
    defaults: ClassVar[Mapping[str, Any]] = {"extra_patterns": {}}

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        patterns = {**NAME_PATTERNS, **dict(params["extra_patterns"])}
        for ds, c in _unmasked_product_columns(facts, domain):
            kind = personal_kind(c.name, patterns)
            if kind is None:
                continue
            yield self.violation(
                f"column {c.name} of {ds.id} looks like {kind} but is "
                f"{'unclassified' if c.classification is None else c.classification!r}"
                f", shown unmasked",
                fix=f"classify `{c.name}` with a masking classification (e.g. pii)",
                node=ds.unique_id, **_located(facts, domain, ds.name, c.name))


def _unmasked_product_columns(facts: Facts, domain: str) -> Iterator[tuple[Any, Any]]:
    """Each column of the domain's product datasets that its classification leaves unmasked,
    with its dataset."""
    for p in facts.products(domain):
        for ds in p.datasets:
            for c in ds.columns:
                if not facts.masks(c.classification):
                    yield ds, c


@rule
class PersonalDataByLineage(Policy):
    """A product column under a harmless name that carries, value for value or derived, a column
    named like personal data upstream (`birth_date as holder_since`) has a masking classification.

    In any domain and through any number of models; what an aggregate folds is no one's value,
    and the walk stops at another product's dataset (its columns are checked themselves, and
    what derives from their classifications is classification.propagation's). An origin with a
    masking classification is classification.propagation's to report."""

    id = "personal_data.by_lineage"
    reads_compiled_sql = True
    defaults: ClassVar[Mapping[str, Any]] = {"extra_patterns": {}}

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        patterns = {**NAME_PATTERNS, **dict(params["extra_patterns"])}
        for ds, c in _unmasked_product_columns(facts, domain):
            if personal_kind(c.name, patterns):
                continue  # (named like personal data: personal_data.by_name's)
            found = self._origin(facts, ds.unique_id, c.name, patterns)
            if found is None:
                continue
            up, up_col, kind, path = found
            via = " <- ".join(path[1:-1]) or "a direct read"
            yield self.violation(
                f"column {c.name} of {ds.id} derives from {up_col} of {up} (via {via}), "
                f"which looks like {kind}, but is "
                f"{'unclassified' if c.classification is None else repr(c.classification)}"
                ", shown unmasked",
                fix=f"classify `{c.name}` with a masking classification (e.g. pii), or "
                    f"stop deriving it from {up_col}",
                node=ds.unique_id, **_located(facts, domain, ds.name, c.name))

    @staticmethod
    def _origin(facts: Facts, unique_id: str, column: str, patterns: Mapping[str, str]
                ) -> tuple[str, str, str, list[str]] | None:
        for up, up_col, path in facts.origins(unique_id, column, through_aggregates=False):
            if any(node in facts.datasets for node in path[1:]):
                continue
            kind = personal_kind(up_col, patterns)
            if kind is not None and not facts.masks(facts.column_classification(up, up_col)):
                return up, up_col, kind, path
        return None


# Rules that read the built warehouse: not run on a freshly parsed manifest before a build.
WAREHOUSE_STAGES: frozenset[Stage] = frozenset({Stage.CHECK, Stage.SYNC})


@dataclass(frozen=True)
class _Warehouse:
    """The run's read-only platform session on the DuckDB warehouse (None: no domain built, or
    a target that is not DuckDB), the domain databases it attached, and every table and view in
    them (database, schema, name; lower-cased, as DuckDB matches names)."""

    target: str
    path: Path | None  # the DuckDB target's folder; None: not DuckDB
    con: Any
    attached: frozenset[str]
    relations: frozenset[tuple[str, str, str]] = frozenset()


def _warehouse(ctx: CheckContext) -> _Warehouse:
    """Opened once per check run (both rules query it), closed with the run."""
    from meshkit.config import DuckDBTarget

    name, target = ctx.config.target(None)
    if not isinstance(target, DuckDBTarget):
        return _Warehouse(name, None, None, frozenset())
    folder = (ctx.mesh.root / target.path).resolve()
    if not any((folder / f"{d.name}.duckdb").is_file() for d in ctx.config.domains):
        return _Warehouse(name, target.path, None, frozenset())
    from meshkit.backends.duckdb.query import connect

    con = connect(ctx.mesh, [], None, locked=True)
    ctx.on_close(con.close)
    attached = frozenset(r[0] for r in con.execute(
        "select database_name from duckdb_databases()").fetchall())
    relations = frozenset((str(db).lower(), str(schema).lower(), str(rel).lower())
                          for db, schema, rel in con.execute(
        "select database_name, schema_name, table_name from duckdb_tables() "
        "union all select database_name, schema_name, view_name from duckdb_views()").fetchall())
    return _Warehouse(name, target.path, con, attached, relations)


def _connection(facts: Facts, domain: str, rule_id: str) -> _Warehouse | None:
    """The run's warehouse session if it attached ``domain``'s database, else None: recorded as
    read nothing (not built, not DuckDB), which `mesh check` notes."""
    warehouse = facts.ctx.shared(_warehouse)
    if domain in warehouse.attached:
        return warehouse
    if warehouse.path is not None:
        facts.ctx.read_nothing(rule_id, domain, f"its warehouse is not built ({warehouse.path}/"
                               f"{domain}.duckdb is missing)", _build_fix(domain))
    else:
        facts.ctx.read_nothing(rule_id, domain, f"target {warehouse.target!r} is not DuckDB, the "
                               "only warehouse these rules query",
                               "check a DuckDB build of the domain")
    return None


def _not_built(facts: Facts, rule_id: str, domain: str, dataset: str) -> None:
    facts.ctx.read_nothing(rule_id, domain, f"dataset {dataset} is not built", _build_fix(domain))


def _build_fix(domain: str) -> str:
    return f"build it (`mesh build --domain {domain}`), then check again"


def _relations(ds_node: Any) -> tuple[Any, Any]:
    """The secure view and the internal table of a product dataset, as sqlglot tables."""
    from sqlglot import exp

    db, schema, name = ds_node.relation_key
    view = exp.table_(name, db=schema, catalog=db, quoted=True)
    internal = exp.table_(f"{schema}__{name}", db="internal", catalog=db, quoted=True)
    return view, internal


def _built_columns(warehouse: _Warehouse, relation: Any) -> set[str] | None:
    """The lower-cased column names of a relation as built, None if it is not built: a column
    documented since the last build (added or renamed, then `dbt parse`) is not in it yet."""
    import duckdb
    from sqlglot import exp

    name = (relation.catalog.lower(), relation.db.lower(), relation.name.lower())
    if name not in warehouse.relations:
        # Not built: known from the one listing of the session's relations, without a query
        # that fails (0.65 ms each, 5,400 of them on a mesh of 15 compiled 2,000-model
        # projects not built yet).
        return None
    try:
        # A view that no longer binds (its table dropped) is not built either.
        cursor = warehouse.con.execute(exp.select(exp.Star()).from_(relation).limit(0)
                                       .sql("duckdb"))
    except duckdb.CatalogException:
        return None
    return {str(d[0]).lower() for d in cursor.description}


# Text, and numbers: a card system may keep card numbers as integers (cast to text, only an
# integer's digits can match, and only the card-number detector).
SAMPLED_FAMILIES = frozenset({"string", "number"})


@rule
class PersonalDataByValue(Policy):
    """Unmasked text and number columns whose sampled values look personal (emails, card
    numbers, also kept as integers, IBANs, national ids, phone numbers) are flagged; the values
    are never shown."""

    id = "personal_data.by_value"
    stages = WAREHOUSE_STAGES
    defaults: ClassVar[Mapping[str, Any]] = {"sample_rows": 200, "min_share": 0.3}
    stricter_when_larger: ClassVar[Mapping[str, bool]] = {"sample_rows": True, "min_share": False}

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        import duckdb
        from sqlglot import exp

        warehouse = _connection(facts, domain, self.id)
        if warehouse is None:
            return
        con = warehouse.con
        from meshkit.masking import type_family

        for p in facts.products(domain):
            for ds in p.datasets:
                node = facts.node(ds.unique_id)
                if node is None:
                    continue
                _, internal = _relations(node)
                built = _built_columns(warehouse, internal)
                if built is None:  # not built yet: nothing to sample
                    _not_built(facts, self.id, domain, ds.id)
                    continue
                for c in ds.columns:
                    # Columns named like personal data are personal_data.by_name's to report.
                    if facts.masks(c.classification) or personal_kind(c.name) is not None or \
                            type_family(c.data_type or "varchar") not in SAMPLED_FAMILIES or \
                            c.name.lower() not in built:
                        continue
                    column = exp.column(c.name, quoted=True)
                    sql = (exp.select(exp.cast(column, "VARCHAR")).from_(internal)
                           .where(column.is_(exp.null()).not_())
                           .limit(int(params["sample_rows"])).sql("duckdb"))
                    try:
                        values = [r[0] for r in con.execute(sql).fetchall()]
                    except duckdb.CatalogException:  # dropped since: nothing to sample
                        continue
                    found = value_kind(values, float(params["min_share"]))
                    del values
                    if found is None:
                        continue
                    yield self.violation(
                        f"column {c.name} of {ds.id}: {found[1]} of the sampled values look like "
                        f"{found[0]}, shown unmasked",
                        fix=f"classify `{c.name}` with a masking classification (e.g. pii), or "
                            f"stop publishing the values",
                        node=ds.unique_id, **_located(facts, domain, ds.name, c.name))


@rule
class MaskingVerified(Policy):
    """Classified columns are masked, and restricted rows hidden, for roles without clearance:
    checked by querying the secure views (DuckDB) against the internal tables."""

    id = "masking.verified"
    stages = WAREHOUSE_STAGES

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        from meshkit.backends.duckdb.session import set_roles

        warehouse = _connection(facts, domain, self.id)
        if warehouse is None:
            return
        con = warehouse.con
        cfg = facts.mesh.config
        consumer_roles = [r.name for r in cfg.roles]
        try:
            for p in facts.products(domain):
                for ds in p.datasets:
                    node = facts.node(ds.unique_id)
                    if node is None:
                        continue
                    view, internal = _relations(node)
                    # The sessions each classified column is read in: none, then every consumer
                    # role outside its audience.
                    columns = [(c, [[], *([r] for r in consumer_roles if r not in audience)])
                               for c in ds.columns
                               if EVERYONE not in (audience := facts.audience(c.classification))]
                    leaks = self._leaks(warehouse, view, internal, columns)
                    if leaks is None:  # not built: nothing to verify
                        _not_built(facts, self.id, domain, ds.id)
                        leaks = {}
                    for c, sessions in columns:
                        # The first session, in order, that sees a raw value of the column.
                        found = next(((roles, n) for roles in sessions
                                      if (n := leaks.get((c.name, tuple(roles)), 0))), None)
                        if found is None:
                            continue
                        roles, n = found
                        who = roles[0] if roles else "a session without roles"
                        yield self.violation(
                            f"column {c.name} of {ds.id} ({c.classification}) shows {n} "
                            f"raw value(s) to {who}",
                            fix="rebuild the domain so its secure view masks the column "
                                "(`mesh build --domain ...`), and check its data_type",
                            node=ds.unique_id,
                            **_located(facts, domain, ds.name, c.name))
                    yield from self._rows(warehouse, facts, domain, ds, node, view,
                                          consumer_roles)
        finally:
            set_roles(con, [])

    @staticmethod
    def _leaks(warehouse: _Warehouse, view: Any, internal: Any,
               columns: list[tuple[Any, list[list[str]]]]
               ) -> dict[tuple[str, tuple[str, ...]], int] | None:
        """For each column and each session it is read in: how many of the view's values of the
        column are raw values of the internal table. One scan of the view per session (all its
        columns counted together; a query per column and session was most of a sync). None when
        the view or the table is not built."""
        import duckdb
        from sqlglot import exp

        from meshkit.backends.duckdb.session import set_roles

        view_columns = _built_columns(warehouse, view)
        table_columns = _built_columns(warehouse, internal)
        if view_columns is None or table_columns is None:
            return None
        con = warehouse.con
        sessions: dict[tuple[str, ...], list[str]] = {}
        for c, column_sessions in columns:
            # A column documented since the build is in neither yet: nothing shows under its
            # name (each column built is still verified).
            if c.name.lower() not in view_columns & table_columns:
                continue
            for session in column_sessions:
                sessions.setdefault(tuple(session), []).append(c.name)
        out: dict[tuple[str, tuple[str, ...]], int] = {}
        for roles, names in sessions.items():
            counts = []
            for name in names:
                column = exp.column(name, quoted=True)
                raw = exp.select(column).from_(internal).where(column.is_(exp.null()).not_())
                counts.append(exp.Filter(
                    this=exp.func("count", exp.Star()),
                    expression=exp.Where(this=exp.and_(
                        column.is_(exp.null()).not_(),
                        exp.In(this=column.copy(), query=raw.subquery())))))
            set_roles(con, list(roles))
            try:
                row = con.execute(exp.select(*counts).from_(view).sql("duckdb")).fetchone()
            except duckdb.CatalogException:
                return None
            out.update({(name, roles): int(n or 0) for name, n in zip(names, row, strict=True)})
        return out

    def _rows(self, warehouse: _Warehouse, facts: Facts, domain: str, ds: Any, node: Any,
              view: Any, consumer_roles: list[str]) -> Iterator[Violation]:
        import duckdb
        from sqlglot import exp

        from meshkit.backends.duckdb.session import set_roles

        name = node.meta.get("row_filter")
        rf = facts.mesh.config.row_filters.get(str(name)) if name else None
        if rf is None:
            return
        con = warehouse.con
        built = _built_columns(warehouse, view)
        if built is None:  # not built: nothing to verify
            _not_built(facts, self.id, domain, ds.id)
            return
        if rf.column.lower() not in built:
            # mesh.yml's filter reads a column the built view does not have: its rows cannot be
            # verified, and the view's next build is refused. (This queried the column and
            # ended the sync in DuckDB's BinderException.)
            file, line = facts.declared_at(domain, ds.name)
            yield self.violation(
                f"{ds.id} cannot be checked against row filter {name}: it has no column "
                f"{rf.column} (as built)",
                fix=f"add {rf.column} to the dataset, or point row filter {name} in mesh.yml at "
                    "a column it has, then rebuild the domain",
                node=ds.unique_id, domain=domain, file=file, line=line)
            return
        cleared: set[str] = set()
        for r in rf.cleared:
            cleared |= facts.mesh.config.roles_granting(r)
        column = exp.column(rf.column, quoted=True)
        seen = exp.select(exp.func("count", exp.Star())).from_(view).where(
            exp.In(this=column, expressions=[exp.Literal.string(v)
                                              for v in rf.restricted_values]))
        sessions: list[list[str]] = [[], *([r] for r in consumer_roles if r not in cleared)]
        for roles in sessions:
            set_roles(con, roles)
            try:
                n = con.execute(seen.sql("duckdb")).fetchone()[0]
            except duckdb.CatalogException:  # not built: nothing to verify
                return
            if n:
                file, line = facts.declared_at(domain, ds.name)
                yield self.violation(
                    f"{ds.id} shows {n} row(s) restricted by {name} to "
                    f"{roles[0] if roles else 'a session without roles'}",
                    fix="rebuild the domain so its secure view filters the rows",
                    node=ds.unique_id, domain=domain, file=file, line=line)
                return
