"""The names a domain's YAML gives that mesh.yml or meshkit must know: a column's classification
and regulations, a model's row filter. A name nobody defines is a control that silently does not
apply, so each is an error at its line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from meshkit.artifacts import ColumnInfo
from meshkit.checks import CheckContext, Rule, Scope, Violation, rule
from meshkit.config import REGULATIONS
from meshkit.errors import did_you_mean


@dataclass(frozen=True)
class Declaring:
    """A node of a domain's own that declares names: a model, seed, snapshot or source."""

    domain: str
    unique_id: str
    name: str
    yaml_file: str | None
    columns: tuple[ColumnInfo, ...]
    row_filter: str | None


def declaring(ctx: CheckContext) -> Iterator[Declaring]:
    """Every node of every domain's own package (not installed packages') and its sources."""
    for d, arts in ctx.all_artifacts():
        for n in arts.nodes.values():
            if n.package_name == d.name:
                yield Declaring(d.name, n.unique_id, n.name, n.patch_path, n.columns, n.row_filter)
        for uid, s in arts.sources.items():
            if uid.split(".")[1] == d.name:
                yield Declaring(d.name, uid, s.name, s.original_file_path, s.columns, None)


def _entry(name: str) -> str:
    return rf"^\s*-\s*name:\s*['\"]?{re.escape(name)}['\"]?\s*$"


class _NameRule(Rule):
    scope = Scope.DOMAIN
    # What the name is, and who defines the names it may be.
    kind: str
    defined_in = "mesh.yml"

    def unknown(self, ctx: CheckContext, item: Declaring, column: str | None, value: object,
                known: list[str], fix: str) -> Violation:
        """The violation of ``value``, at the column's entry in the node's YAML (or the node's)."""
        where = f"column {column} of {item.unique_id}" if column else f"model {item.unique_id}"
        line = (ctx.line_of(item.domain, item.yaml_file, _entry(column), after=_entry(item.name))
                if column is not None else
                # (Past the `groups:` a product's model often shares its name with.)
                ctx.line_of(item.domain, item.yaml_file, _entry(item.name),
                            after=r"^(models|seeds|snapshots|sources):"))
        return self.violation(
            f"{where}: {self.kind} {value!r} is not defined in {self.defined_in}"
            f"{did_you_mean(str(value).lower(), known)}", fix=fix,
            node=item.unique_id, domain=item.domain,
            file=ctx.file_of(item.domain, item.yaml_file), line=line)


@rule
class ClassificationDefined(_NameRule):
    """Every classification a column declares (models, seeds, snapshots, sources) is one that
    mesh.yml defines."""

    id = "contract.classification_defined"
    kind = "classification"

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        # A product's secure view refuses to build over such a column, but only when built: this
        # finds it in `mesh check`, before a sync publishes it in a contract, and where no view
        # reads it (an internal model, a source), where propagation would compare a name no
        # masking rule has.
        known = sorted(ctx.config.classifications)
        for item in declaring(ctx):
            for c in item.columns:
                if c.classification is not None and c.classification not in known:
                    yield self.unknown(
                        ctx, item, c.name, c.classification, known,
                        fix=f"use one of {', '.join(known) or '(none defined)'} as "
                            "`config.meta.classification`, or define it under "
                            "`classifications:` in mesh.yml")


@rule
class RegulationKnown(_NameRule):
    """Every regulation a column names is one meshkit enforces (gdpr, ccpa, hipaa, pci_dss)."""

    id = "contract.regulation_known"
    kind = "regulation"
    defined_in = "meshkit"

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        # `GDPR` or `gpdr` would put the column under no regulation's controls, unseen.
        known = list(REGULATIONS)
        for item in declaring(ctx):
            for c in item.columns:
                for r in c.regulations:
                    if r not in known:
                        yield self.unknown(ctx, item, c.name, r, known,
                                           fix=f"use one of {', '.join(known)} (lowercase) in "
                                               "`config.meta.regulations`")


@rule
class RowFilterDefined(_NameRule):
    """A model's ``meta.row_filter`` names a row filter mesh.yml defines, whose column the
    model documents."""

    id = "contract.row_filter_defined"
    kind = "row filter"

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        # The secure view refuses to build with it; on any other model it would filter nothing.
        known = sorted(ctx.config.row_filters)
        for item in declaring(ctx):
            if item.row_filter is not None and item.row_filter not in known:
                yield self.unknown(
                    ctx, item, None, item.row_filter, known,
                    fix=f"use one of {', '.join(known) or '(none defined)'} as "
                        "`config.meta.row_filter`, or define it under `row_filters:` in mesh.yml")
            elif item.row_filter is not None and item.columns:
                # The secure view filters on the column: without it the build stops.
                column = ctx.config.row_filters[item.row_filter].column
                if column.lower() not in {c.name.lower() for c in item.columns}:
                    yield self.violation(
                        f"model {item.unique_id}: row filter {item.row_filter!r} reads column "
                        f"{column!r}, which the model does not document",
                        fix=f"add {column} to the model's columns (and its contract), or use "
                            "another row filter",
                        node=item.unique_id, domain=item.domain,
                        file=ctx.file_of(item.domain, item.yaml_file),
                        line=ctx.line_of(item.domain, item.yaml_file, _entry(item.name),
                                         after=r"^(models|seeds|snapshots|sources):"))
