"""What the governance policies read, worked out once per check run: the catalog built in memory
from the current artifacts (products, datasets, columns, tests, column lineage across domains),
each classification's unmasked audience from mesh.yml, and where each model is declared."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from meshkit.code_fingerprint import code_fingerprint
from meshkit.config import MaskRule
from meshkit.digest_memo import DigestMemo

if TYPE_CHECKING:
    from meshkit.artifacts import DomainArtifacts, NodeInfo
    from meshkit.catalog.model import Catalog, ColumnLineageEdge, Dataset, Product
    from meshkit.checks import CheckContext

EVERYONE = "*"  # the audience of an unmasked column


@dataclass
class Facts:
    ctx: CheckContext
    _yaml_index: dict[str, dict[str, list[_YamlEntry]]] = field(default_factory=dict)

    @property
    def mesh(self) -> Any:
        return self.ctx.mesh

    def artifacts(self, domain: str) -> DomainArtifacts:
        arts: DomainArtifacts = self.ctx.artifacts(domain)
        return arts

    @cached_property
    def catalog(self) -> Catalog:
        if self.ctx.catalog_now is not None:
            return self.ctx.catalog_now
        return self._projected()

    def _projected(self) -> Catalog:
        from meshkit.catalog.build import assemble, project_domain, published_columns
        from meshkit.lineage import LINEAGE_CACHE_DIR, LineageCache
        from meshkit.resources import usable_cpus

        # Every domain with artifacts (during a build, those not built yet are left out).
        arts = {d.name: a for d, a in self.ctx.all_artifacts()}

        def foreign(uid: str) -> list[tuple[str, str]] | None:
            parts = uid.split(".")
            producer = arts.get(parts[1]) if len(parts) > 2 else None
            node = producer.nodes.get(uid) if producer is not None else None
            if producer is None or node is None:
                return None
            # As the sync's projection of the producer lists them (typed from its warehouse):
            # the same inputs, the same lineage cache keys.
            return published_columns(node, producer.warehouse_columns.get(uid, ()))

        # Column lineage through the sync's cache (by SQL and input columns: a hit is the
        # lineage of those very bytes), read only: tracing every model of a 50-domain mesh
        # again took 13 s of each sync's and each `mesh check`'s policies.
        lineage = LineageCache(self.mesh.root / LINEAGE_CACHE_DIR, processes=usable_cpus(),
                               write=False)
        try:
            projections = [project_domain(self.mesh, d, arts[d.name], "", foreign_columns=foreign,
                                          lineage_cache=lineage)
                           for d in self.mesh.config.domains if d.name in arts]
        finally:
            lineage.shutdown()
        return assemble(self.mesh, projections)

    @cached_property
    def datasets(self) -> dict[str, tuple[Product, Dataset]]:
        """Product datasets by unique_id."""
        return {ds.unique_id: (p, ds) for p in self.catalog.products() for ds in p.datasets}

    def product_of(self, node: str) -> Product | None:
        hit = self.datasets.get(node)
        if hit is not None:
            return hit[0]
        for p in self.catalog.products():
            if node == p.address or node in p.internals or any(ds.id == node for ds in p.datasets):
                return p
        return None

    def products(self, domain: str) -> list[Product]:
        return [p for p in self.catalog.products() if p.domain == domain]

    @cached_property
    def domains(self) -> list[str]:
        """The domains with artifacts (all of them, except during a build)."""
        return [d.name for d, _ in self.ctx.all_artifacts()]

    def node(self, unique_id: str) -> NodeInfo | None:
        parts = unique_id.split(".")
        if len(parts) < 3 or parts[1] not in self.domains:
            return None
        return self.artifacts(parts[1]).nodes.get(unique_id)

    # --- classification ---------------------------------------------------------------------

    @cached_property
    def _audiences(self) -> dict[str, frozenset[str]]:
        cfg = self.mesh.config
        out: dict[str, frozenset[str]] = {}
        for name, c in cfg.classifications.items():
            if c.mask is MaskRule.none:
                out[name] = frozenset({EVERYONE})
                continue
            roles: set[str] = set()
            for r in c.cleared:
                roles |= cfg.roles_granting(r)
            out[name] = frozenset(roles)
        return out

    def audience(self, classification: str | None) -> frozenset[str]:
        """Roles that see a column of this classification unmasked (``*``: everyone). A column
        with no classification, or one mesh.yml does not define, counts as unmasked here: the
        policies flag it rather than trust a default."""
        if classification is None:
            default = getattr(self.mesh.config, "default_classification", None)
            if default is None:
                return frozenset({EVERYONE})
            classification = default
        return self._audiences.get(classification, frozenset({EVERYONE}))

    def masks(self, classification: str | None) -> bool:
        return EVERYONE not in self.audience(classification)

    def at_least_as_protected(self, down: str | None, up: str | None) -> bool:
        """No role sees ``down`` unmasked that may not see ``up`` unmasked."""
        a_down, a_up = self.audience(down), self.audience(up)
        if EVERYONE in a_up:
            return True
        return EVERYONE not in a_down and a_down <= a_up

    def column_classification(self, unique_id: str, column: str) -> str | None:
        node = self.node(unique_id)
        if node is None:
            return None
        for c in node.columns:
            if c.name.lower() == column.lower():
                return c.classification
        return None

    # --- lineage ----------------------------------------------------------------------------

    @cached_property
    def upstream_edges(self) -> dict[tuple[str, str], list[ColumnLineageEdge]]:
        out: dict[tuple[str, str], list[ColumnLineageEdge]] = {}
        for e in self.catalog.column_lineage:
            out.setdefault((e.downstream, e.downstream_column.lower()), []).append(e)
        return out

    def classified_origins(self, unique_id: str, column: str, *, through_aggregates: bool
                           ) -> Iterator[tuple[str, str, str, list[str]]]:
        """Every classified upstream column of ``unique_id.column``, in any domain, through any
        number of models: (node, column, classification, path of nodes)."""
        for up, up_col, path in self.origins(unique_id, column,
                                             through_aggregates=through_aggregates):
            cls = self.column_classification(up, up_col)
            if cls is not None:
                yield up, up_col, cls, path

    def origins(self, unique_id: str, column: str, *, through_aggregates: bool
                ) -> Iterator[tuple[str, str, list[str]]]:
        """Every upstream column of ``unique_id.column``, in any domain, through any number of
        models, each once: (node, column, path of nodes)."""
        seen: set[tuple[str, str]] = set()
        stack: list[tuple[str, str, list[str]]] = [(unique_id, column.lower(), [unique_id])]
        while stack:
            uid, col, path = stack.pop()
            for e in self.upstream_edges.get((uid, col), ()):
                if e.transform == "aggregate" and not through_aggregates:
                    continue
                key = (e.upstream, e.upstream_column.lower())
                if key in seen:
                    continue
                seen.add(key)
                yield e.upstream, e.upstream_column, [*path, e.upstream]
                stack.append((e.upstream, e.upstream_column.lower(), [*path, e.upstream]))

    # --- where things are declared -----------------------------------------------------------

    def declared_at(self, domain: str, model: str, column: str | None = None
                    ) -> tuple[str | None, int | None]:
        """The YAML file (relative to the mesh) and line declaring a model (or its column)."""
        hit = self._find(domain, model, column)
        return (hit[0], hit[1]) if hit else (None, None)

    def _find(self, domain: str, model: str, column: str | None) -> tuple[str, int] | None:
        """The first entry named ``model`` in the domain's YAML (files in name order): for a
        column, the first such entry whose block names it (its line); for the model itself,
        the first that reads as a model (a group and its model often share a name)."""
        entries = self._yaml_entries(domain).get(model, ())
        if not entries:
            return None
        for entry in entries:
            if column is None and entry.model_like:
                return entry.file, entry.line
            if column is not None and column in entry.names:
                return entry.file, entry.names[column]
        return entries[0].file, entries[0].line

    def _yaml_entries(self, domain: str) -> dict[str, list[_YamlEntry]]:
        """Every ``- name:`` entry of the domain's model YAML by name, read once per check run
        (a look-up per violation read every file again: 80 s of a sync of 15 real 2,000-model
        projects), each file's entries kept between syncs by the digest of its bytes."""
        if domain in self._yaml_index:
            return self._yaml_index[domain]
        memo = self.ctx.shared(_yaml_memo)
        code = code_fingerprint((__name__,))
        index: dict[str, list[_YamlEntry]] = {}
        project = self.ctx.project_dir(domain)
        for file in sorted(project.glob("models/**/*.yml")) if project is not None else ():
            data = file.read_bytes()
            rel = file.relative_to(self.mesh.root).as_posix()
            key = hashlib.sha256(code + rel.encode() + b"\0" + data).hexdigest()
            entries = memo.get(key, functools.partial(_file_entries, data))
            for name, line, model_like, names in entries:
                index.setdefault(name, []).append(_YamlEntry(rel, line, model_like, names))
        self._yaml_index[domain] = index
        return index


# A YAML list entry's name (quoted or not), and the keys that tell a model's entry from a group's.
_NAME_ENTRY = re.compile(r"^\s*-\s*name:\s*['\"]?([^'\"]*?)['\"]?\s*$")
_MODEL_KEYS = re.compile(r"^\s*(config:|columns:|latest_version:)")

# Each YAML file's entries by the digest of its bytes (and its path, and this code): indexing
# the 829,035 lines of the bench's fifteen real 2,000-model projects took about 2 s of every
# sync that located a violation.
YAML_INDEX_CACHE = ".catalog-cache/yaml-index.json"
_YAML_INDEX_FORMAT = 1
_FileEntries = list[tuple[str, int, bool, dict[str, int]]]


def _file_entries(data: bytes) -> _FileEntries:
    """A YAML file's ``- name:`` entries in order: (name, line, whether it reads as a model's,
    the entries in its block by name with the first line of each)."""
    lines = data.decode(errors="replace").splitlines()
    named = [(i, m.group(1)) for i, text in enumerate(lines)
             if (m := _NAME_ENTRY.match(text)) is not None]
    out: _FileEntries = []
    for k, (i, name) in enumerate(named):
        indent = len(lines[i]) - len(lines[i].lstrip())
        end = len(lines)
        for j in range(i + 1, len(lines)):
            line = lines[j]
            if line.strip() and len(line) - len(line.lstrip()) <= indent and \
                    line.lstrip().startswith("- "):
                end = j  # the next entry at this entry's level
                break
        names: dict[str, int] = {}
        t = k + 1
        while t < len(named) and named[t][0] < end:
            names.setdefault(named[t][1], named[t][0] + 1)
            t += 1
        model_like = any(_MODEL_KEYS.match(text) for text in lines[i + 1:i + 4])
        out.append((name, i + 1, model_like, names))
    return out


def _decode_entries(value: Any) -> _FileEntries:
    out: _FileEntries = []
    for name, line, model_like, names in value:  # a ValueError unless four
        # (type, not isinstance: JSON's true is no line number)
        if not (isinstance(name, str) and type(line) is int and isinstance(model_like, bool)
                and isinstance(names, dict)
                and all(isinstance(n, str) and type(v) is int for n, v in names.items())):
            raise TypeError("not an entry")
        out.append((name, line, model_like, names))
    return out


def _yaml_memo(ctx: CheckContext) -> DigestMemo[_FileEntries]:
    """The run's kept YAML entries: a sync rewrites the file at the end of its checks with the
    entries it used, `mesh check` only reads it."""
    memo: DigestMemo[_FileEntries] = DigestMemo(
        ctx.root / YAML_INDEX_CACHE, fmt=_YAML_INDEX_FORMAT, decode=_decode_entries,
        encode=list)
    if ctx.keep_projections:
        ctx.on_close(memo.save)
    return memo


@dataclass(frozen=True)
class _YamlEntry:
    file: str
    line: int
    model_like: bool
    names: dict[str, int]  # the entries in its block, by name: the first line of each


def facts_of(ctx: CheckContext) -> Facts:
    """The facts of a check run, computed once and shared by every policy of the run (kept in
    the run's memo, which the sync clears to let go of the mesh's artifacts: facts refer back
    to the context)."""
    return ctx.shared(Facts)
