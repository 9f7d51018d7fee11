"""``sync()``: read every domain's artifacts, build the catalog, write it everywhere or nowhere."""

from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from meshkit import config as cfg
from meshkit import faults
from meshkit.artifact_cache import ArtifactCache, Handover, project_into, ready_for_workers
from meshkit.artifacts import (
    MANIFEST,
    DomainArtifacts,
    LocalArtifacts,
    NodeInfo,
    parse_artifacts,
    read_raw,
)
from meshkit.catalog import metrics, store
from meshkit.catalog.build import (
    assemble,
    domain_cycle,
    duplicate_ids,
    keep_last_success,
    project_domain,
    stale_projection,
)
from meshkit.catalog.changes import CatalogSummary, changes_between, previous_summary
from meshkit.catalog.model import (
    CATALOG_FORMAT,
    Catalog,
    DomainProjection,
    SyncError,
    timestamp,
)
from meshkit.checks import CheckReport
from meshkit.contracts import publish
from meshkit.dbt_manifest import CollectorPause, gc_paused
from meshkit.errors import ArtifactError, MeshError
from meshkit.files import holds

PROCESSED = "processed"
SKIPPED = "skipped (unchanged)"
KEPT = "kept (not selected)"
STALE = "stale (artifacts unreadable: last good entry kept)"


@dataclass(frozen=True)
class DomainSync:
    """What a sync did with one domain."""

    name: str
    status: str
    products: int
    datasets: int
    adhoc: int
    seconds: float
    note: str = ""  # e.g. why the domain has no column lineage


@dataclass
class SyncResult:
    """The outcome of :func:`sync`; the CLI renders it as a table or JSON."""

    sync_id: str
    started_at: str
    finished_at: str
    target: str
    dry_run: bool
    catalog_dir: str
    warehouse: str | None
    catalog: Catalog
    domains: list[DomainSync] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    violations: int = 0
    seconds: float = 0.0
    # Domains whose artifacts could not be read: each kept its last good entry, marked stale.
    failures: list[ArtifactError] = field(default_factory=list)
    # The sync's check report; contract keys published now, and those refused (kept at their
    # last good entry because an error violation names them).
    report: CheckReport | None = None
    published: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    # Secure views withheld until a sync finds their dataset clean: `mesh query` refuses them
    # (DuckDB), or (``guarded``: Snowflake, whose consumers query the views) they serve no row.
    withheld: list[str] = field(default_factory=list)
    guarded: bool = False

    @property
    def exit_code(self) -> int:
        """1 when a domain kept a stale entry (its artifacts could not be read) or the sync's
        checks found an error violation (SPEC.md's exit codes), else 0."""
        if self.failures:
            return 1
        return self.report.exit_code if self.report is not None else 0

    def summary(self) -> dict[str, Any]:
        return {
            "sync_id": self.sync_id, "started_at": self.started_at,
            "finished_at": self.finished_at, "target": self.target, "dry_run": self.dry_run,
            "catalog_dir": self.catalog_dir, "warehouse": self.warehouse,
            "domains": [asdict(d) for d in self.domains],
            "products": len(self.catalog.products()),
            "datasets": len(self.catalog.datasets()),
            "changes": self.changes, "violations": self.violations,
            "errors": self.report.errors if self.report else 0,
            "violation_list": [v.model_dump(mode="json") for v in self.report.violations]
            if self.report else [],
            "published": self.published, "refused": self.refused, "withheld": self.withheld,
            "seconds": round(self.seconds, 3),
            "failures": [{"message": f.message, "file": None if f.file is None else str(f.file),
                          "fix": f.fix} for f in self.failures],
        }


@functools.cache
def _code_hash() -> str:
    """The projection code itself: a meshkit upgrade re-reads every domain."""
    import meshkit.artifacts
    import meshkit.catalog.build
    import meshkit.catalog.model
    import meshkit.lineage

    h = hashlib.sha256()
    for module in (meshkit.artifacts, meshkit.catalog.build, meshkit.catalog.model,
                   meshkit.lineage):
        h.update(Path(str(module.__file__)).read_bytes())
    return h.hexdigest()


def _domain_hash(mesh: cfg.Mesh, domain: cfg.Domain, artifacts_hash: str) -> str:
    """Changes when the artifacts, the domain's mesh.yml entry, the set of domains (which
    decides what is "another domain") or the projection code change."""
    h = hashlib.sha256()
    h.update(f"{CATALOG_FORMAT}\0{_code_hash()}\0{artifacts_hash}\0".encode())
    h.update(domain.model_dump_json().encode())
    # Row filters are resolved into the projection (cleared roles through inheritance).
    h.update(json.dumps([mesh.config.model_dump(mode="json", include={"row_filters", "roles"})],
                        sort_keys=True).encode())
    h.update(",".join(sorted(d.name for d in mesh.config.domains)).encode())
    h.update(str(mesh.root).encode())
    return h.hexdigest()


def _last_target(catalog_dir: Path) -> str | None:
    """The target of the last recorded sync (whose warehouse holds the last snapshot)."""
    try:
        last = (catalog_dir / store.HISTORY_FILE).read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        target = json.loads(last).get("target")
    except (OSError, ValueError, AttributeError):
        return None
    return target if isinstance(target, str) else None


def _with_built_relations(mesh: cfg.Mesh, target: str | None, domain: cfg.Domain,
                          arts: DomainArtifacts) -> DomainArtifacts:
    """Add row counts from the target's warehouse where catalog.json gave none, and the columns
    of the models the manifest has no compiled SQL of (a selective `dbt build --select`
    compiles only what it selects: a parent that documents some of its columns would leave
    the lineage of the models reading it unresolved)."""
    from meshkit.backends import engine_for

    engine = engine_for(mesh, target)
    if not engine.capabilities.built_relations:
        return arts
    own = [n for n in arts.nodes.values() if n.package_name == domain.name]
    built = engine.built_relations(domain, own)
    uncompiled = {n.unique_id for n in own if n.resource_type == "model" and not arts.lineage_sql(n)}
    columns = {uid: cols for uid, cols in built.columns.items() if uid in uncompiled}
    if not built.row_counts and not columns:
        return arts
    return dataclasses.replace(arts, row_counts={**built.row_counts, **arts.row_counts},
                               built_columns=columns)


class _Nodes:
    """Models' nodes by unique_id, from the artifacts the sync read (or, for a domain it did not
    read anew, the artifact cache); None where they cannot be read. One domain's artifacts are
    held at a time: ask in the order of the unique_ids (each load validates a projection)."""

    def __init__(self, mesh: cfg.Mesh, parsed: Handover, artifact_cache: ArtifactCache) -> None:
        self.mesh, self.parsed, self.artifact_cache = mesh, parsed, artifact_cache
        self.held: tuple[str, DomainArtifacts | None] | None = None

    def __call__(self, unique_id: str) -> NodeInfo | None:
        domain = unique_id.split(".")[1] if unique_id.count(".") >= 2 else ""
        if self.held is None or self.held[0] != domain:
            self.held = (domain, self._artifacts(domain))
        arts = self.held[1]
        return None if arts is None else arts.nodes.get(unique_id)

    def _artifacts(self, domain: str) -> DomainArtifacts | None:
        try:
            return self.parsed[domain]
        except KeyError:
            pass
        try:
            location = self.mesh.artifacts_path(self.mesh.config.domain(domain))
            return self.artifact_cache.read(domain, LocalArtifacts(location))
        except MeshError:
            return None


def _query_log_dir(mesh: cfg.Mesh, target: str | None) -> Path | None:
    """The folder of the query audit log (``mesh query`` runs on DuckDB targets only)."""
    from meshkit.backends import engine_for

    engine = engine_for(mesh, target)
    return engine.local_dir if engine.capabilities.query else None


def _render_site(mesh: cfg.Mesh, catalog: Catalog, query_log_dir: Path | None,
                 report: CheckReport, spool: store.Spool,
                 withheld: Mapping[str, str] | None = None, guarded: bool = False
                 ) -> dict[str, Path]:
    """The marketplace's files, each spooled as it is rendered or, for a page the last sync
    rendered from the same input, that sync's file."""
    from meshkit.marketplace.site import PAGE_CACHE, PageCache, gather_inputs, site_items

    pages = PageCache(mesh.root / PAGE_CACHE, mesh.catalog_dir / store.SITE_DIR)
    inputs = gather_inputs(mesh, query_log_dir)
    inputs.violations = [v.model_dump(mode="json") for v in report.violations]
    inputs.withheld = withheld or {}
    inputs.guarded = guarded
    site = {rel: content if isinstance(content, Path)
            else spool.put(f"{store.SITE_DIR}/{rel}", content)
            for rel, content in site_items(mesh, catalog, inputs, pages)}
    pages.save()
    return site


def _spool_state(spool: store.Spool, projection: DomainProjection) -> Path:
    return spool.put(f"{store.STATE_DIR}/{projection.domain.name}.json",
                     store.projection_bytes(projection))


class ProducerColumns:
    """The columns of every domain's product datasets, for the column lineage of the domains
    that read them: from the projections of this sync, else the last sync's state, else the
    producer's artifacts (read once)."""

    def __init__(self, mesh: cfg.Mesh, catalog_dir: Path) -> None:
        self.mesh, self.catalog_dir = mesh, catalog_dir
        self.known: dict[str, dict[str, list[tuple[str, str]]]] = {}

    def add(self, projection: DomainProjection) -> None:
        self.known[projection.domain.name] = {
            ds.unique_id: [(c.name, c.data_type or "") for c in ds.columns]
            for p in projection.domain.products for ds in p.datasets}

    def __call__(self, unique_id: str) -> list[tuple[str, str]] | None:
        parts = unique_id.split(".")
        domain = parts[1] if len(parts) > 2 else ""
        if domain not in self.known:
            self.known[domain] = {}
            old = store.load_projection(self.catalog_dir, domain)
            if old is not None:
                self.add(old)
            else:
                self._from_artifacts(domain)
        return self.known[domain].get(unique_id)

    def _from_artifacts(self, name: str) -> None:
        domain = next((d for d in self.mesh.config.domains if d.name == name), None)
        if domain is None:
            return
        try:
            arts = parse_artifacts(read_raw(LocalArtifacts(self.mesh.artifacts_path(domain))))
        except MeshError:
            return  # reported when that domain itself is synced
        self.known[name] = {
            uid: [(c.name, c.data_type or "") for c in n.columns]
            for uid, n in arts.nodes.items()
            if n.package_name == arts.project_name and n.access == "public" and n.group}

    def stale(self, projection: DomainProjection) -> bool:
        """True when an upstream dataset's columns changed since the projection's lineage."""
        from meshkit.lineage import columns_checksum

        return any(columns_checksum(self(uid)) != digest
                   for uid, digest in projection.foreign_inputs.items())


class ReadAhead:
    """The artifacts of the domains a sync reads next, projected into the artifact cache by the
    lineage workers once they run, while this process works on the domain before. A cold sync of
    50 domains spent 2.3 s of this process's time projecting artifacts while one core idled
    (this process builds a domain's catalog entry alone between the waves of its lineage).

    Two domains are kept ahead (the workers take them behind the lineage already queued); a
    domain whose files are known by their ``stat`` and whose projection the cache holds is not
    read ahead. The sync waits for a domain's job before reading it, then reads it as always:
    the projection is taken from the cache by the key of the bytes it reads, so what the worker
    projected counts only if it is of the same bytes, and a job that failed costs nothing but
    the time (the sync's own read reports what is wrong)."""

    AHEAD = 2

    def __init__(self, mesh: cfg.Mesh, domains: list[cfg.Domain], lineage_cache: Any,
                 artifact_cache: ArtifactCache) -> None:
        self.mesh, self.lineage_cache, self.cache = mesh, lineage_cache, artifact_cache
        self._next = list(domains)
        self._jobs: dict[str, Any] = {}
        self.enabled = artifact_cache.directory is not None and artifact_cache.write
        if self.enabled:
            ready_for_workers()

    def wait(self, domain: str) -> None:
        """Wait for the job reading ``domain`` ahead, if any (the sync reads it next)."""
        import concurrent.futures

        job = self._jobs.pop(domain, None)
        if job is not None:
            concurrent.futures.wait([job])
        self._next = [d for d in self._next if d.name != domain]

    def advance(self) -> None:
        """Keep the next domains going, once the workers run (after each domain: the lineage
        of one may have started them)."""
        if not self.enabled:
            return
        while len(self._jobs) < self.AHEAD and self._next:
            d = self._next[0]
            location = self.mesh.artifacts_path(d)
            known = self.cache.digests.content_hash(location)
            if known is not None and self.cache.holds(d.name, known):
                self._next.pop(0)
                continue
            job = self.lineage_cache.submit(project_into, str(self.cache.directory), d.name,
                                            str(location))
            if job is None:
                return  # no worker runs (yet)
            self._jobs[d.name] = job
            self._next.pop(0)


def _read_domain(mesh: cfg.Mesh, domain: cfg.Domain, target: str | None,
                 old: DomainProjection | None, producers: ProducerColumns,
                 lineage_cache: Any, parsed: Handover,
                 artifact_cache: ArtifactCache) -> tuple[DomainProjection, str]:
    """The domain's projection and its status (the artifacts read go in ``parsed``, for the
    sync's checks to use rather than read and project them again); raises
    :class:`ArtifactError` (naming the domain, the file and the fix) if its artifacts are
    missing, unreadable, of another project or of a shape the projection cannot take."""
    location = mesh.artifacts_path(domain)
    manifest = location / MANIFEST
    try:
        # Known unchanged by the files' stat (FileDigests), without reading them.
        known = artifact_cache.digests.content_hash(location)
        if (known is not None and old is not None
                and old.content_hash == _domain_hash(mesh, domain, known)
                and not producers.stale(old)):
            return old, SKIPPED
        raw = artifact_cache.digests.read(
            LocalArtifacts(location),
            hint="dbt build" if domain.path else "dbt build` or `dbt parse")
        content_hash = _domain_hash(mesh, domain, raw.content_hash)
        if (old is not None and old.content_hash == content_hash
                and not producers.stale(old)):
            return old, SKIPPED
        arts = artifact_cache.project(domain.name, raw)
        raw_hash = raw.content_hash
        del raw
        if arts.project_name != domain.name:
            raise ArtifactError(
                f"this is a manifest of dbt project {arts.project_name or '(unnamed)'!r}, "
                f"not of domain {domain.name!r}",
                file=manifest,
                fix=f"put {domain.name!r}'s own artifacts there (run `dbt build` in its project), "
                    "or point the domain's `path`/`artifacts` in mesh.yml at them",
            )
        parsed.add(domain.name, raw_hash, arts)
        arts = _with_built_relations(mesh, target, domain, arts)
        proj = project_domain(mesh, domain, arts, content_hash,
                              foreign_columns=producers, lineage_cache=lineage_cache)
    except ArtifactError as exc:
        exc.message = f"domain {domain.name!r}: {exc.message}"
        raise
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        # A manifest of dbt's schema whose values are not of the types dbt writes (a pydantic
        # ValidationError is a ValueError).
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ArtifactError(
            f"domain {domain.name!r}: unexpected content ({type(exc).__name__}: {first})",
            file=manifest, fix="regenerate it: run `dbt build` (or `dbt parse`) in the domain",
        ) from None
    keep_last_success(proj, old)
    return proj, PROCESSED


def _committed(mesh: cfg.Mesh) -> store.Committed:
    """Asks the warehouse of a staged sync's target whether that sync committed."""
    def committed(sync_id: str, target: str) -> bool:
        from meshkit.backends import store_for

        try:
            _, warehouse = store_for(mesh, target)
        except MeshError:  # the target left mesh.yml: its sync cannot be finished
            return False
        try:
            return warehouse.committed(sync_id)
        except MeshError as exc:  # (fail closed: no reader sees a catalog it cannot vouch for)
            raise type(exc)(
                f"sync {sync_id} to target {target!r} stopped after staging the catalog, and "
                f"only that target's warehouse says whether it committed: {exc.message}",
                file=exc.file, location=exc.location,
                fix=f"{exc.fix or 'make the warehouse reachable'}; then run the command again "
                    "(it finishes or undoes that sync)") from None
    return committed


def recover(mesh: cfg.Mesh) -> None:
    """Finish or undo what a killed sync left, if no sync is running (for readers of the
    catalog, so the next command sees entirely the old or entirely the new catalog)."""
    if not any(mesh.catalog_dir.parent.glob(f".{mesh.catalog_dir.name}.*")) and not any(
            mesh.catalog_dir.glob(f".{store.HISTORY_FILE}.tmp-*")):
        return
    with store.sync_lock(mesh.catalog_dir, wait=-1) as locked:
        if locked:
            store.recover(mesh.catalog_dir, _committed(mesh))


def sync(
    mesh: cfg.Mesh,
    *,
    target: str | None = None,
    domains: list[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    on_domain: Callable[[DomainSync], None] | None = None,
    wait: float = 0.0,
) -> SyncResult:
    """Build the catalog from every domain's artifacts and write it (unless ``dry_run``).

    Domains whose artifacts are unchanged since the last sync are not re-read. With ``domains``,
    only those are read; the others keep their previous projection. A domain whose artifacts
    cannot be read keeps its last good projection, marked stale, and is listed in
    ``failures`` while the rest of the mesh syncs. Raises :class:`~meshkit.errors.ConfigError`
    on bad mesh-wide input (and a cycle of domains), in which case nothing is written.

    The whole sync holds the catalog's lock (waiting up to ``wait`` seconds for another sync):
    what it reads of the previous catalog is what it replaces.
    """
    cfg.check_domain_projects(mesh)
    selected = {mesh.config.domain(n).name for n in domains} if domains else None
    if dry_run:
        with gc_paused() as collector:
            return _sync(mesh, target, selected, True, now, on_domain, collector)
    with store.sync_lock(mesh.catalog_dir, wait=wait), gc_paused() as collector:
        faults.point("sync:locked")
        store.recover(mesh.catalog_dir, _committed(mesh))
        spool = store.Spool(mesh.catalog_dir)
        try:
            return _sync(mesh, target, selected, False, now, on_domain, collector, spool)
        finally:
            spool.remove()


def _sync(mesh: cfg.Mesh, target: str | None, selected: set[str] | None, dry_run: bool,
          now: datetime | None, on_domain: Callable[[DomainSync], None] | None,
          collector: CollectorPause, spool: store.Spool | None = None) -> SyncResult:
    clock = time.perf_counter()
    start = now or datetime.now(UTC)
    sync_id = start.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    from meshkit.backends import engine_for  # backends import the catalog, not the reverse
    from meshkit.lineage import LINEAGE_CACHE_DIR, LineageCache
    from meshkit.resources import usable_cpus

    engine = engine_for(mesh, target)
    target_name, warehouse = engine.name, engine.catalog_store()
    if not dry_run:
        warehouse.ready()
    catalog_dir = mesh.catalog_dir

    projections: list[DomainProjection] = []
    producers = ProducerColumns(mesh, catalog_dir)
    lineage_cache = LineageCache(None if dry_run else mesh.root / LINEAGE_CACHE_DIR,
                                 processes=usable_cpus())
    artifact_cache = ArtifactCache.of(mesh.root, write=not dry_run)
    # Each domain's catalog/state file, taken before assemble() fills the projections in:
    # spooled to disk for a domain read now, the previous file for one left as it was.
    states: dict[str, bytes | Path] = {}
    statuses: list[DomainSync] = []
    failures: list[ArtifactError] = []
    parsed = Handover(artifact_cache)
    ahead = ReadAhead(mesh, [d for d in mesh.config.domains
                             if selected is None or d.name in selected],
                      lineage_cache, artifact_cache)
    try:
        for domain in mesh.config.domains:
            t0 = time.perf_counter()
            traced = lineage_cache.traced_here
            old = store.load_projection(catalog_dir, domain.name)
            if selected is not None and domain.name not in selected and old is not None:
                proj, status = old, KEPT
            else:
                ahead.wait(domain.name)
                try:
                    proj, status = _read_domain(mesh, domain, target, old, producers,
                                                lineage_cache, parsed, artifact_cache)
                except ArtifactError as exc:
                    failures.append(exc)
                    error = SyncError(message=exc.message, fix=exc.fix,
                                      file=None if exc.file is None else str(exc.file))
                    proj, status = stale_projection(mesh, domain, old, error), STALE
            producers.add(proj)
            del old
            # The collector is paused for the sync (its passes over the mesh's millions of
            # acyclic objects were a sixth of it): the cycles of a domain read now (the SQL it
            # parsed here) go now; a domain kept or skipped, or whose lineage came from the cache
            # or the workers, made none worth a pass.
            if status == PROCESSED and lineage_cache.traced_here != traced:
                gc.collect(1)
            if spool is not None:
                if status == PROCESSED:
                    states[domain.name] = _spool_state(spool, proj)
                    faults.point("sync:spooled")
                elif store.state_file(catalog_dir, domain.name).is_file():
                    states[domain.name] = store.state_file(catalog_dir, domain.name)
            projections.append(proj)
            d = DomainSync(
                name=domain.name, status=status, products=len(proj.domain.products),
                datasets=sum(len(p.datasets) for p in proj.domain.products),
                adhoc=len(proj.domain.adhoc_datasets), seconds=round(time.perf_counter() - t0, 3),
                note=f"column lineage {proj.domain.column_lineage}" if proj.domain.column_lineage else "",
            )
            statuses.append(d)
            ahead.advance()
            if on_domain is not None:
                on_domain(d)

        # A domain read before a producer that changed in this sync traced its columns against the
        # producer's previous datasets: project it again, now that every producer is current.
        for i, (domain, proj) in enumerate(zip(mesh.config.domains, projections, strict=True)):
            if statuses[i].status in (KEPT, STALE) or not producers.stale(proj):
                continue
            try:
                previous = store.load_projection(catalog_dir, domain.name)
                projections[i], _ = _read_domain(mesh, domain, target, previous, producers,
                                                 lineage_cache, parsed, artifact_cache)
            except ArtifactError as exc:  # read a moment ago: changed under the sync
                failures.append(exc)
                error = SyncError(message=exc.message, fix=exc.fix,
                                  file=None if exc.file is None else str(exc.file))
                projections[i] = stale_projection(mesh, domain, proj, error)
                statuses[i] = dataclasses.replace(statuses[i], status=STALE)
                continue
            statuses[i] = dataclasses.replace(statuses[i], status=PROCESSED)
            if spool is not None:
                states[domain.name] = _spool_state(spool, projections[i])
    finally:
        lineage_cache.shutdown()  # its worker processes
    if not dry_run:  # what the caches hold of domains that left the mesh
        names = [d.name for d in mesh.config.domains]
        lineage_cache.forget_others(names)
        artifact_cache.forget_others(names)
    del lineage_cache, producers  # what is left of them is the mesh's, not needed any more

    cycle = domain_cycle(projections)
    if cycle is not None:
        names = [cycle[0].upstream_domain, *(e.downstream_domain for e in cycle)]
        first = cycle[-1]
        raise ArtifactError(
            f"domains read each other in a cycle: {' -> '.join(names)} "
            f"({first.downstream} reads {first.upstream})",
            file=mesh.artifacts_path(mesh.config.domain(first.downstream_domain)) / MANIFEST,
            location=first.downstream,
            fix="a domain may not read, directly or not, itself: remove one of these "
                "cross-domain refs (or move the shared model into one domain)",
        )
    catalog = assemble(mesh, projections, now=start)  # consumes the projections
    del projections
    dupes = duplicate_ids(catalog)
    if dupes:  # cannot happen with one project per domain; the tables would be corrupt
        raise ArtifactError(f"ids given twice in the catalog: {', '.join(dupes[:5])}",
                            file=mesh.file,
                            fix="give each domain its own dbt project, named as the domain")
    # No domain read anew: the catalog may still be that of the last sync. Health depends on
    # the time of the sync, so only its bytes tell. (Otherwise they are streamed to the file.)
    data = (store.catalog_bytes(catalog)
            if not dry_run and all(s.status != PROCESSED for s in statuses) else None)
    # What is alive now (the catalog) stays alive through the checks and is acyclic: the pass
    # after them need not scan it (0.1 s of a sync after one domain of 50 changed, 0.3 s of a
    # cold one).
    collector.freeze()
    # Contracts to publish and the violations to record, decided before anything is written.
    ledger = publish.prepare(mesh, catalog_dir, sync_id=sync_id, published_at=timestamp(start),
                             stale=frozenset(s.name for s in statuses if s.status == STALE),
                             artifacts=parsed, artifact_cache=artifact_cache,
                             # The catalog of what the checks read only if every domain was read
                             # now or is as its state was written: not one kept as it was while
                             # its files may have changed, nor one whose artifacts are unreadable.
                             catalog=catalog if all(s.status in (PROCESSED, SKIPPED)
                                                    for s in statuses) else None)
    from meshkit.backends.duckdb import withheld

    # The views withheld (named from the models' nodes, as `mesh query` names the secure views;
    # a dry run lists them only): `mesh query`'s, where a DuckDB target's warehouse is; on an
    # engine whose consumers read the views themselves (Snowflake), the views' own guard's.
    query_log_dir = _query_log_dir(mesh, target)
    held_in = query_log_dir if query_log_dir is not None and query_log_dir.is_dir() else None
    guarded = engine.capabilities.access_control
    held = [] if held_in is None and not guarded else withheld.withheld_views(
        catalog, ledger.report.violations, _Nodes(mesh, parsed, artifact_cache),
        None if held_in is None else withheld.named_before(
            held_in, (s.name for s in statuses if s.status == SKIPPED)))
    del parsed
    artifact_cache.digests.save()  # a dry run's cache writes nothing
    collector.release()  # the checks' cycles (parsed SQL), and what they held (every domain's nodes)
    # The datasets withheld, as the marketplace and `mesh catalog show` name them: what the lists
    # that withhold them will hold (while a domain cannot be read they keep its entries, on
    # Snowflake every entry).
    findings = {w.dataset: f"{w.rule}: {w.message}" for w in held}
    stale = {s.name for s in statuses if s.status == STALE}
    if stale:
        _, before = store.withheld_datasets(catalog_dir)
        findings = {**{ds: f for ds, f in before.items()
                       if guarded or ds.split(".")[0] in stale}, **findings}
    # The marketplace shows access decisions and reads too, which change without the catalog,
    # and the violations the checks just recorded.
    site = None if spool is None else _render_site(mesh, catalog, query_log_dir, ledger.report,
                                                   spool, findings, guarded)
    ledger_files = ledger.files()
    ledger_files[store.WITHHELD_FILE] = store.withheld_bytes(guarded, findings)
    unchanged = (data is not None and _last_target(catalog_dir) == target_name
                 and store.catalog_dir_holds(catalog_dir, catalog, data, states)
                 and site is not None and store.site_holds(catalog_dir, site)
                 and not ledger.published
                 and all(holds(catalog_dir / name, ledger_files[name])
                         for name in (publish.VIOLATIONS_FILE, store.WITHHELD_FILE))
                 # Views withheld by their own guard: listed again at every sync's commit, so a
                 # row deleted from that table by hand does not stay deleted.
                 and not (guarded and held))
    # Its catalog digest is that of the bytes staged.
    summary = None if unchanged else CatalogSummary.of(catalog, "")
    changes = [] if summary is None else changes_between(previous_summary(catalog_dir), summary)
    finished = datetime.now(UTC) if now is None else start
    result = SyncResult(
        sync_id=sync_id, started_at=timestamp(start), finished_at=timestamp(finished),
        target=target_name, dry_run=dry_run, catalog_dir=str(catalog_dir),
        warehouse=None if dry_run else warehouse.location, catalog=catalog,
        domains=statuses, changes=changes, failures=failures,
        violations=len(ledger.report.violations), report=ledger.report,
        published=[e.key for e in ledger.published], refused=ledger.refused,
        withheld=[w.view for w in held], guarded=guarded,
    )
    if not dry_run:
        if held_in is not None:
            # What this sync withholds, with what the last one did until this one commits: a
            # sync stopped on the way leaves more withheld, never less.
            withheld.write(held_in, held, keep=lambda _: True)
        held_rows = [(sync_id, w.view, w.dataset, w.rule, w.message) for w in held]
        processed = sum(s.status == PROCESSED for s in statuses)
        run = store.SyncRun(
            sync_id=sync_id, started_at=result.started_at, finished_at=result.finished_at,
            target=target_name, domains=len(statuses), processed=processed,
            skipped=len(statuses) - processed, products=len(catalog.products()),
            datasets=len(catalog.datasets()), changes=len(changes),
        )
        history = {"id": sync_id, "started_at": result.started_at,
                   "finished_at": result.finished_at, "target": target_name,
                   "domains": {s.name: s.status for s in statuses}, "changes": changes,
                   # product success over time (meshkit.catalog.metrics)
                   metrics.OBSERVATIONS_KEY: metrics.observe(catalog)}
        # Files staged, then the warehouse transaction (the commit point), then the files
        # swapped in: a kill anywhere is rolled back or forward by store.recover().
        if unchanged:
            # Same catalog as the last sync, to the byte: its files and snapshot tables
            # stay; the sync is still recorded (a sync_runs row, a history line).
            staged = store.stage_history(catalog_dir, history)
            warehouse.append_run(catalog, run)
            faults.point("history:committed")
            store.commit_history(catalog_dir, staged)
        else:
            # Withheld at once where the views read the list themselves (then replaced at the
            # commit by exactly this sync's; kept as they are while a domain is unreadable).
            warehouse.withhold(held_rows)
            replaced = {"violations": list(ledger.violation_rows(sync_id))}
            if not stale:
                replaced[store.WITHHELD_TABLE] = held_rows
            folder = store.stage_catalog_dir(
                catalog_dir, catalog, states, history, None if data is None else [data],
                site=site, extra_files={**publish.carried_files(catalog_dir), **ledger_files},
                summary=summary)
            # Staged: their bytes are on disk now; the warehouse write is the sync's peak.
            del states, site, data, ledger_files
            collector.release()
            warehouse.write(catalog, run, {"contracts": list(ledger.contract_rows()), **replaced})
            store.swap_in(catalog_dir, folder, sync_id)
        # The query audit log's queryable copy: the file stays the record, so this commits
        # after the catalog, in its own transaction (rebuilt in full by the next sync anyway).
        from meshkit.backends.duckdb.catalog_store import DuckDBCatalogStore

        if query_log_dir is not None and isinstance(warehouse, DuckDBCatalogStore):
            from meshkit import query_log

            query_log.load_into_warehouse(warehouse.path, query_log.read_log(query_log_dir))
        if held_in is not None:
            # A domain whose artifacts could not be read now keeps what it had withheld.
            withheld.write(held_in, held, keep=lambda w: w.dataset.split(".")[0] in stale)
        faults.point("sync:done")
    result.seconds = time.perf_counter() - clock
    return result
