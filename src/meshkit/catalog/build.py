"""Building the catalog: one domain's artifacts → a projection; all projections → the catalog.

Two passes keep memory flat: :func:`project_domain` turns one domain's artifacts into a small
:class:`DomainProjection` (the raw manifest is dropped right after), and :func:`assemble` joins
the projections mesh-wide (consumers, lineage) and evaluates health at sync time. Projections of
unchanged domains are reused from the previous sync, so only :func:`assemble` always runs.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from meshkit import config as cfg
from meshkit.artifacts import DomainArtifacts, NodeInfo, TestInfo
from meshkit.catalog.model import (
    HEALTH_ORDER,
    AdhocDataset,
    Catalog,
    Column,
    ColumnLineageEdge,
    Consumer,
    Dataset,
    Domain,
    DomainProjection,
    Exposure,
    Health,
    HealthStatus,
    LineageEdge,
    Operational,
    Person,
    Port,
    Product,
    Quality,
    RowFilter,
    Sla,
    Source,
    SyncError,
    TestResult,
    product_status,
    timestamp,
)
from meshkit.lineage import ForeignColumns, LineageCache

NO_COMPILED_SQL = ("none: the artifacts carry no compiled SQL (`dbt parse` only); run `dbt compile` "
                   "or `dbt build` to get column lineage")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
_UNIT_HOURS = {"m": 1 / 60, "h": 1.0, "d": 24.0, "w": 168.0}


def duration_hours(text: str | None) -> float | None:
    """Hours in an SLA duration like ``24h``, ``2d``, ``30m``; None if absent or unreadable.

    >>> duration_hours("24h"), duration_hours("2d"), duration_hours("soon")
    (24.0, 48.0, None)
    """
    match = _DURATION.match(text or "")
    return float(match.group(1)) * _UNIT_HOURS[match.group(2)] if match else None


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _columns(node: NodeInfo, warehouse: Iterable[tuple[str, str]] = ()) -> list[Column]:
    """The node's documented columns, typed from the warehouse (catalog.json) where the YAML
    gives no ``data_type``, followed by undocumented columns the warehouse has."""
    types = {name.lower(): kind for name, kind in warehouse}
    out = [Column(name=c.name, data_type=c.data_type or types.get(c.name.lower()),
                  description=c.description, classification=c.classification,
                  regulations=list(c.regulations), constraints=list(c.constraints))
           for c in node.columns]
    documented = {c.name.lower() for c in node.columns}
    out += [Column(name=name.lower(), data_type=kind or None)
            for name, kind in warehouse if name.lower() not in documented]
    return out


def published_columns(node: NodeInfo,
                      warehouse: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """(name, type) of each column the catalog lists for the node's dataset: what the column
    lineage of a domain reading it traces against (the sync takes them from the producer's
    projection)."""
    return [(c.name, c.data_type or "") for c in _columns(node, warehouse)]


def dataset_id(domain: str, product: str, node: NodeInfo) -> str:
    """``<domain>.<product>.<dataset>``, with ``_v<N>`` for a version of a versioned model."""
    return f"{domain}.{product}.{_relation(node)}"


def _relation(node: NodeInfo) -> str:
    return f"{node.name}_v{node.version}" if node.version is not None else node.name


class _Projector:
    """Projects one domain; a class only to share the indexes its steps need."""

    def __init__(self, mesh: cfg.Mesh, domain: cfg.Domain, arts: DomainArtifacts,
                 domain_names: Iterable[str], foreign_columns: ForeignColumns | None = None,
                 lineage_cache: LineageCache | None = None) -> None:
        self.mesh, self.domain, self.arts = mesh, domain, arts
        self.foreign_columns, self.lineage_cache = foreign_columns, lineage_cache
        self.package = arts.project_name or domain.name
        self.other_domains = set(domain_names) - {domain.name, self.package}
        self.tests_by_node: dict[str, list[TestInfo]] = defaultdict(list)
        for t in arts.tests:
            targets = [t.attached_node] if t.attached_node else list(t.depends_on)
            for uid in targets:
                self.tests_by_node[uid].append(t)

    # -- helpers ---------------------------------------------------------------------------------

    def own(self, node: NodeInfo) -> bool:
        return node.package_name == self.package

    def is_output(self, node: NodeInfo) -> bool:
        return node.group is not None and node.access == "public" and node.resource_type == "model"

    def foreign_domain(self, uid: str) -> str | None:
        node = self.arts.nodes.get(uid)
        if node is not None and node.package_name in self.other_domains:
            return node.package_name
        return None

    def address_of(self, node: NodeInfo, domain: str) -> str | None:
        """The dataset id of a product output (of any domain), else None."""
        if not self.is_output(node):
            return None
        assert node.group is not None
        return dataset_id(domain, node.group, node)

    def quality(self, uid: str) -> Quality:
        results = []
        for t in sorted(self.tests_by_node.get(uid, ()), key=lambda t: t.unique_id):
            r = self.arts.results.get(t.unique_id)
            status = r.status if r is not None else "not_run"
            results.append(TestResult(unique_id=t.unique_id, name=t.name, test_type=t.test_type,
                                      column=t.column_name, severity=t.severity, status=status))
        return summarize_quality(results, keep_tests=True)

    def operational(self, uid: str) -> Operational:
        r = self.arts.results.get(uid)
        op = Operational(row_count=self.arts.row_counts.get(uid))
        if r is None:
            return op
        op.last_build_status = r.status
        op.build_seconds = round(r.execution_time, 3)
        if r.status == "success":
            op.last_success_at = r.completed_at or self.arts.results_generated_at
        return op

    def row_filter(self, node: NodeInfo) -> RowFilter | None:
        """The row filter the dataset declares, as mesh.yml defines it (roles that inherit a
        cleared role see the rows too, so they are listed)."""
        if node.row_filter is None:
            return None
        rf = self.mesh.config.row_filters.get(node.row_filter)
        if rf is None:  # the build refuses it; the catalog still says rows are filtered
            return RowFilter(name=node.row_filter)
        cleared = sorted({h for r in rf.cleared for h in self.mesh.config.roles_granting(r)})
        return RowFilter(name=node.row_filter, column=rf.column,
                         restricted_values=list(rf.restricted_values), cleared=cleared,
                         description=rf.description.strip())

    # -- the projection --------------------------------------------------------------------------

    def project(self, content_hash: str) -> DomainProjection:
        d, arts = self.domain, self.arts
        name = d.name
        models = sorted((n for n in arts.nodes.values()
                         if self.own(n) and n.resource_type == "model"),
                        key=lambda n: n.unique_id)
        parents = {uid: n.depends_on for uid, n in arts.nodes.items()}
        products: dict[str, Product] = {}
        for g in sorted(arts.groups.values(), key=lambda g: g.name):
            meta = g.meta
            sla = meta.get("sla") or {}
            freshness = str(sla.get("freshness")) if isinstance(sla, Mapping) and sla.get(
                "freshness") is not None else None
            products[g.name] = Product(
                address=f"{name}.{g.name}", domain=name, name=g.name,
                owner=Person(name=g.owner_name, email=g.owner_email),
                description=g.description,
                status=product_status(meta),
                tier=None if meta.get("tier") is None else str(meta.get("tier")),
                sla=Sla(freshness=freshness, freshness_hours=duration_hours(freshness)),
                tags=sorted(_as_list(meta.get("tags"))),
                use_cases=_as_list(meta.get("use_cases")),
                kpis=_as_list(meta.get("kpis")),
                support=None if meta.get("support") is None else str(meta.get("support")),
            )
        adhoc: list[AdhocDataset] = []
        lineage: list[LineageEdge] = []
        for node in models:
            product = products.get(node.group) if node.group else None
            wh = arts.warehouse_columns.get(node.unique_id, ())
            if product is None:
                q = self.quality(node.unique_id)
                r = arts.results.get(node.unique_id)
                adhoc.append(AdhocDataset(
                    unique_id=node.unique_id, name=_relation(node), relation=_relation(node),
                    description=node.description, columns=_columns(node, wh),
                    tests_total=len(q.tests), tests_passed=q.passed,
                    last_build_status=r.status if r else None,
                ))
            elif self.is_output(node):
                ds = Dataset(
                    id=dataset_id(name, product.name, node),
                    address=f"{name}.{product.name}.{node.name}",
                    name=node.name, unique_id=node.unique_id, version=node.version,
                    latest_version=node.latest_version,
                    is_latest=node.version is None or node.version == node.latest_version,
                    relation=_relation(node), deprecation_date=node.deprecation_date,
                    description=node.description, contract_enforced=node.contract_enforced,
                    tags=sorted(node.tags), columns=_columns(node, wh),
                    row_filter=self.row_filter(node),
                    quality=self.quality(node.unique_id),
                    operational=self.operational(node.unique_id),
                )
                product.datasets.append(ds)
            else:
                product.internals.append(node.unique_id)
            # Model-level lineage across domains: a direct parent from another domain.
            for parent in node.depends_on:
                up_domain = self.foreign_domain(parent)
                if up_domain is None:
                    continue
                up = arts.nodes[parent]
                lineage.append(LineageEdge(
                    upstream=parent, upstream_domain=up_domain,
                    downstream=node.unique_id, downstream_domain=name,
                    upstream_dataset=self.address_of(up, up_domain),
                    downstream_dataset=(dataset_id(name, product.name, node)
                                        if product is not None and self.is_output(node) else None),
                    downstream_product=product.address if product is not None else None,
                ))
        for product in products.values():
            product.input_ports = self.input_ports(product, parents)
            product.quality = summarize_quality(
                [t for ds in product.datasets for t in ds.quality.tests], keep_tests=False)
        sources = [
            Source(unique_id=s.unique_id, ref=f"{s.source_name}.{s.name}",
                   relation=".".join(
                       p for p in (s.database, s.schema, s.identifier or s.name) if p),
                   description=s.description,
                   freshness_status=(arts.source_freshness[s.unique_id].status
                                     if s.unique_id in arts.source_freshness else None))
            for s in sorted(arts.sources.values(), key=lambda s: s.unique_id)
            if s.unique_id.split(".")[1] == self.package
        ]
        exposures = [
            Exposure(unique_id=e.unique_id, name=e.name, type=e.type,
                     owner=Person(name=e.owner_name, email=e.owner_email), url=e.url,
                     depends_on=sorted(e.depends_on))
            for e in sorted(arts.exposures, key=lambda e: e.unique_id)
        ]
        domain = Domain(
            name=name, owner=Person(name=d.owner.name, email=d.owner.email),
            description=d.description.strip(), artifacts=_relpath(arts.location, self.mesh.root),
            dbt_version=arts.dbt_version, manifest_schema=arts.manifest_schema_version,
            column_lineage=self.lineage_gap(),
            products=list(products.values()), adhoc_datasets=adhoc, sources=sources,
            exposures=exposures,
        )
        column_lineage, foreign_inputs = self.column_lineage()
        return DomainProjection(
            content_hash=content_hash, domain=domain,
            lineage=sorted(lineage, key=lambda e: (e.downstream, e.upstream)),
            column_lineage=column_lineage, foreign_inputs=foreign_inputs,
        )

    def lineage_gap(self) -> str | None:
        """Why no column lineage, or only some, can be read from these artifacts; None when all
        of it can."""
        missing, models = self.arts.uncompiled_models(self.package)
        if not missing:
            return None
        if len(missing) == models:
            return NO_COMPILED_SQL
        return (f"partial: {len(missing)} of {models} models carry no compiled SQL (not compiled "
                f"by the last dbt run, as after `dbt build --select`, nor found in dbt's compiled "
                f"folder beside the manifest; first: {missing[0]}), and "
                "the lineage, and the policies that follow it, stop at them; run `dbt compile` "
                "or `dbt build` in the domain to get all of it")

    @functools.cached_property
    def members_by_group(self) -> dict[str | None, list[str]]:
        """The domain's own models by group: listed once, not scanned again for each product
        (4 s of a sync of fifteen 2,000-model domains)."""
        out: dict[str | None, list[str]] = defaultdict(list)
        for n in self.arts.nodes.values():
            if self.own(n):
                out[n.group].append(n.unique_id)
        return out

    def input_ports(self, product: Product, parents: Mapping[str, Iterable[str]]) -> list[Port]:
        """Sources and upstream products the product's models read (walked within the domain)."""
        members = self.members_by_group.get(product.name, [])
        ports: dict[str, Port] = {}
        seen: set[str] = set()
        stack = [p for m in members for p in parents.get(m, ())]
        while stack:
            uid = stack.pop()
            if uid in seen:
                continue
            seen.add(uid)
            if uid.startswith("source."):
                s = self.arts.sources.get(uid)
                ref = f"{s.source_name}.{s.name}" if s else uid
                ports[uid] = Port(kind="source", ref=ref, unique_id=uid,
                                  domain=uid.split(".")[1])
                continue
            node = self.arts.nodes.get(uid)
            if node is None:
                continue
            up_domain = self.foreign_domain(uid) or (self.domain.name if self.own(node) else None)
            if up_domain is None:
                continue  # a package's model (e.g. a utility package): not a port
            if self.is_output(node) and (up_domain != self.domain.name or
                                         node.group != product.name):
                addr = self.address_of(node, up_domain)
                assert addr is not None
                ports[uid] = Port(kind="product", ref=addr, unique_id=uid, domain=up_domain,
                                  version=node.version)
                continue
            if self.own(node):
                stack.extend(parents.get(uid, ()))
        return sorted(ports.values(), key=lambda p: (p.kind, p.ref))

    def column_lineage(self) -> tuple[list[ColumnLineageEdge], dict[str, str]]:
        """Column-level edges of every model of the domain to its direct parents, in this or
        another domain (an upstream dataset's columns come from ``foreign_columns``)."""
        from meshkit.lineage import domain_lineage

        result = domain_lineage(self.arts, self.package,
                                is_foreign=lambda uid: self.foreign_domain(uid) is not None,
                                foreign_columns=self.foreign_columns, cache=self.lineage_cache)
        domains = {uid: (self.foreign_domain(uid) or
                         (self.domain.name if self.own(n) else None))
                   for uid, n in self.arts.nodes.items()}
        # Each id and column name is in many edges: one string for all of them (the traced
        # edges came from the workers, a new string each).
        edges = [ColumnLineageEdge(
            upstream=sys.intern(e.upstream), upstream_column=sys.intern(e.upstream_column),
            upstream_domain=domains.get(e.upstream, self.domain.name
                                        if e.upstream.startswith("source.") else None),
            downstream=sys.intern(e.downstream), downstream_column=sys.intern(e.downstream_column),
            downstream_domain=self.domain.name, transform=e.transform,
        ) for e in result.edges]
        return edges, result.foreign_inputs


def _relpath(location: str, root: Path) -> str:
    try:
        return Path(os.path.relpath(location, root)).as_posix()
    except ValueError:  # another drive on Windows
        return location


def summarize_quality(tests: list[TestResult], *, keep_tests: bool) -> Quality:
    passed = sum(t.status == "pass" for t in tests)
    failed = sum(t.status in ("fail", "error") for t in tests)
    warned = sum(t.status == "warn" for t in tests)
    not_run = len(tests) - passed - failed - warned
    ran = passed + failed + warned
    return Quality(tests=tests if keep_tests else [], passed=passed, failed=failed,
                   warned=warned, not_run=not_run,
                   pass_rate=round(passed / ran, 4) if ran else None)


def project_domain(mesh: cfg.Mesh, domain: cfg.Domain, arts: DomainArtifacts,
                   content_hash: str, *, foreign_columns: ForeignColumns | None = None,
                   lineage_cache: LineageCache | None = None) -> DomainProjection:
    """One domain's artifacts as a :class:`DomainProjection` (no mesh-wide facts yet).

    ``foreign_columns`` gives the columns of another domain's dataset this domain reads, so
    that its column lineage crosses the boundary; without it such edges end at ``*``.
    """
    names = [d.name for d in mesh.config.domains]
    return _Projector(mesh, domain, arts, names, foreign_columns,
                      lineage_cache).project(content_hash)


def keep_last_success(projection: DomainProjection, previous: DomainProjection | None) -> None:
    """A failed build's datasets keep the last success time of the previous projection: the
    views of that build still serve (in place)."""
    if previous is None:
        return
    before = {ds.id: ds.operational.last_success_at
              for p in previous.domain.products for ds in p.datasets}
    for product in projection.domain.products:
        for ds in product.datasets:
            if ds.operational.last_success_at is None and before.get(ds.id) is not None:
                ds.operational.last_success_at = before[ds.id]


def stale_projection(mesh: cfg.Mesh, domain: cfg.Domain, previous: DomainProjection | None,
                     error: SyncError) -> DomainProjection:
    """The projection of a domain whose artifacts could not be read: its last good one (or an
    empty entry if it never had one), marked stale with the error."""
    if previous is not None:
        previous.domain.stale = error
        return previous
    return DomainProjection(content_hash="", domain=Domain(
        name=domain.name, owner=Person(name=domain.owner.name, email=domain.owner.email),
        description=domain.description.strip(),
        artifacts=_relpath(str(mesh.artifacts_path(domain)), mesh.root),
        dbt_version="", manifest_schema=0, stale=error))


def domain_cycle(projections: Iterable[DomainProjection]) -> list[LineageEdge] | None:
    """The cross-domain lineage edges of a cycle of domains (A reads B reads A), if any."""
    import graphlib

    edges: dict[tuple[str, str], LineageEdge] = {}
    graph: dict[str, set[str]] = defaultdict(set)
    for p in projections:
        for e in p.lineage:
            if e.upstream_domain != e.downstream_domain:
                graph[e.downstream_domain].add(e.upstream_domain)
                edges.setdefault((e.upstream_domain, e.downstream_domain), e)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle: list[str] = list(exc.args[1])  # cycle[i] is read by cycle[i + 1]
        return [edges[(a, b)] for a, b in itertools.pairwise(cycle)]
    return None


def duplicate_ids(catalog: Catalog) -> list[str]:
    """Ids given to more than one entry of the catalog (products, datasets, ad-hoc datasets):
    each must be unique mesh-wide."""
    ids = [p.address for p in catalog.products()] + [ds.id for ds in catalog.datasets()] + [
        a.unique_id for d in catalog.domains for a in d.adhoc_datasets]
    seen: set[str] = set()
    return sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]


def _mark_at_risk(products: list[Product]) -> None:
    """A product reading a degraded product, directly or through others, is at risk."""
    by_dataset = {ds.id: p for p in products for ds in p.datasets}
    upstream = {p.address: sorted({by_dataset[port.ref].address for port in p.input_ports
                                   if port.kind == "product" and port.ref in by_dataset})
                for p in products}
    degraded = {p.address for p in products if p.health.status == HealthStatus.degraded}
    at_risk: dict[str, str] = {}  # product -> the degraded product it depends on
    changed = True
    while changed:
        changed = False
        for p in products:
            if p.address in at_risk or p.address in degraded:
                continue
            for up in upstream[p.address]:
                cause = up if up in degraded else at_risk.get(up)
                if cause is not None:
                    at_risk[p.address] = cause
                    changed = True
                    break
    for p in products:
        cause = at_risk.get(p.address)
        if cause is not None:
            p.health = Health(
                status=max(p.health.status, HealthStatus.caution, key=HEALTH_ORDER.__getitem__),
                reasons=[*p.health.reasons, f"at risk: upstream product {cause} is degraded"])


# --- the mesh-wide pass -------------------------------------------------------------------------


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _worst(*healths: Health) -> HealthStatus:
    return max((h.status for h in healths), key=HEALTH_ORDER.__getitem__,
               default=HealthStatus.healthy)


def dataset_health(ds: Dataset, sla_hours: float | None, now: datetime) -> Health:
    """Health of one dataset with the reasons: failing tests or builds degrade; staleness,
    missing results, passed deprecation dates, warnings and missing tests call for caution."""
    degraded: list[str] = []
    caution: list[str] = []
    q, op = ds.quality, ds.operational
    if q.failed:
        degraded.append(f"{q.failed} failing test(s)")
    if op.last_build_status in ("error", "fail", "skipped"):  # skipped: an upstream failed
        degraded.append(f"last build {op.last_build_status}")
    elif op.last_build_status is None:
        caution.append("no build results")
    if q.warned:
        caution.append(f"{q.warned} test warning(s)")
    if not q.tests:
        caution.append("no tests")
    elif q.not_run:
        caution.append(f"{q.not_run} test(s) without results")
    if not ds.contract_enforced:
        caution.append("contract not enforced")
    if op.fresh is False:
        caution.append(f"stale: last built {op.last_success_at}, SLA {sla_hours:g}h"
                       if sla_hours is not None else "stale")
    deprecation = _parse_time(ds.deprecation_date)
    if deprecation is not None and deprecation <= now:
        caution.append(f"version {ds.version} past its deprecation date "
                       f"{deprecation.date().isoformat()}")
    status = (HealthStatus.degraded if degraded else
              HealthStatus.caution if caution else HealthStatus.healthy)
    return Health(status=status, reasons=degraded + caution)


def assemble(mesh: cfg.Mesh, projections: Iterable[DomainProjection],
             now: datetime | None = None) -> Catalog:
    """The catalog from the domains' projections: consumers, lineage and health, mesh-wide.

    The projections are consumed: the catalog is built from their objects, not from copies
    (a deep copy of every domain doubled the memory of a sync), and consumers, freshness and
    health are filled in in place. A caller that needs a projection as it was (e.g. to write
    ``catalog/state``) serializes it before calling this.
    """
    now = now or datetime.now(UTC)
    projs = sorted(projections, key=lambda p: p.domain.name)
    by_uid: dict[str, tuple[Product, Dataset]] = {}
    for p in projs:
        for product in p.domain.products:
            for ds in product.datasets:
                by_uid[ds.unique_id] = (product, ds)
    lineage = sorted((e for p in projs for e in p.lineage),
                     key=lambda e: (e.upstream, e.downstream))
    for edge in lineage:
        hit = by_uid.get(edge.upstream)
        if hit is None:
            continue
        product, ds = hit
        consumer = Consumer(kind="dataset", ref=edge.downstream_dataset or edge.downstream,
                            unique_id=edge.downstream, domain=edge.downstream_domain,
                            product=edge.downstream_product)
        ds.consumers.append(consumer)
        if all(c.unique_id != consumer.unique_id for c in product.consumers):
            product.consumers.append(consumer)
    for p in projs:
        for e in p.domain.exposures:
            for uid in e.depends_on:
                hit = by_uid.get(uid)
                if hit is None:
                    continue
                product, ds = hit
                consumer = Consumer(kind="exposure", ref=e.name, unique_id=e.unique_id,
                                    domain=p.domain.name, type=e.type, owner=e.owner)
                ds.consumers.append(consumer)
                if all(c.unique_id != consumer.unique_id for c in product.consumers):
                    product.consumers.append(consumer)
    for p in projs:
        for product in p.domain.products:
            sla_hours = product.sla.freshness_hours
            for ds in product.datasets:
                ds.consumers.sort(key=lambda c: (c.kind, c.ref))
                built = _parse_time(ds.operational.last_success_at)
                if built is not None and sla_hours is not None:
                    stale_after = built + timedelta(hours=sla_hours)
                    ds.operational.stale_after = timestamp(stale_after)
                    ds.operational.fresh = now <= stale_after
                ds.health = dataset_health(ds, sla_hours, now)
            product.consumers.sort(key=lambda c: (c.kind, c.ref))
            reasons = [f"{ds.relation}: {r}" for ds in product.datasets for r in ds.health.reasons]
            status = _worst(*(ds.health for ds in product.datasets))
            if not product.datasets:
                reasons.append("no public datasets")
                status = max(status, HealthStatus.caution, key=HEALTH_ORDER.__getitem__)
            if product.status == "deprecated":
                reasons.append("product is deprecated")
                status = max(status, HealthStatus.caution, key=HEALTH_ORDER.__getitem__)
            product.health = Health(status=status, reasons=reasons)
    _mark_at_risk([product for p in projs for product in p.domain.products])
    return Catalog(
        mesh=mesh.config.name, description=mesh.config.description.strip(),
        domains=[p.domain for p in projs], lineage=lineage,
        column_lineage=sorted((e for p in projs for e in p.column_lineage),
                              key=lambda e: (e.downstream, e.downstream_column, e.upstream,
                                             e.upstream_column)),
    )
