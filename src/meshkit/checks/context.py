"""What rules read: the mesh, each domain's artifacts, the last catalog. Everything is read on
first use and kept, so a run pays only for what its rules look at, and once."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from meshkit.artifacts import DomainArtifacts, LocalArtifacts, NodeInfo
from meshkit.config import Domain, Mesh, MeshConfig
from meshkit.errors import ArtifactError

T = TypeVar("T")

if TYPE_CHECKING:
    from meshkit.artifact_cache import ArtifactCache
    from meshkit.catalog.model import Catalog
    from meshkit.contracts.registry import ContractRegistry


class CheckContext:
    """The inputs of a check run.

    ``artifacts`` replaces the artifacts of some domains (e.g. a manifest just parsed by
    ``mesh build``, before anything is built); the others are read from each domain's artifact
    location when a rule first asks. ``domains`` limits the report to violations located in
    those domains (rules still see the whole mesh: a consumer's break is found from its
    producer). ``today`` fixes the date for deprecation windows; ``registry`` replaces the
    published contracts of the catalog folder (e.g. those a sync is about to write). With
    ``partial`` (a build in progress), a domain without artifacts yet is left out instead of
    being bad input; ``exclude`` leaves domains out whatever their artifacts (a sync's domains
    whose artifacts it could not read: they keep their last good entry). The artifacts it reads
    are projected through :class:`~meshkit.artifact_cache.ArtifactCache`; new projections are
    kept there only with ``keep_projections`` (a sync: `mesh check` writes nothing); a sync passes
    its own ``artifact_cache``, which knows the files it has just read. ``catalog_now`` is the
    catalog of the very artifacts the run reads, when its caller has just built it (a sync that
    read, or found unchanged, every domain): governance facts take it rather than project every
    domain again.

    >>> from meshkit.config import MeshConfig
    >>> ctx = CheckContext(Mesh(config=MeshConfig(name="m", domains=[]), file=Path("mesh.yml")))
    >>> ctx.config.name, ctx.in_scope("anything")
    ('m', True)
    """

    def __init__(self, mesh: Mesh, *, domains: list[str] | None = None,
                 artifacts: Mapping[str, DomainArtifacts] | None = None,
                 today: date | None = None, registry: ContractRegistry | None = None,
                 partial: bool = False, exclude: frozenset[str] = frozenset(),
                 keep_projections: bool = False,
                 artifact_cache: ArtifactCache | None = None,
                 catalog_now: Catalog | None = None) -> None:
        self.mesh = mesh
        self.catalog_now = catalog_now
        self.keep_projections = keep_projections
        self._artifact_cache = artifact_cache
        self.selected = frozenset(mesh.config.domain(d).name for d in domains) if domains else None
        # Taken from ``artifacts`` when first asked for (a mapping may load them then).
        self._given: Mapping[str, DomainArtifacts] = artifacts or {}
        self._artifacts: dict[str, DomainArtifacts] = {}
        self.today = today or datetime.now(UTC).date()
        self._files: dict[Path, list[str]] = {}
        self._registry = registry
        self.partial = partial or bool(exclude)
        self.exclude = exclude
        self._closers: list[Callable[[], None]] = []
        # What rules derive once per run and share (parsed SQL, projected contracts, indexes),
        # by the function or class that derives it.
        self.memo: dict[object, Any] = {}
        # What rules found nothing to read of, so checked nothing of (the built warehouse, a
        # dataset not built): (domain, what is missing, fix) -> the rules. Noted by `mesh check`:
        # a check that verified nothing is not a pass.
        self.unread: dict[tuple[str, str, str], set[str]] = {}

    def shared(self, make: Callable[[CheckContext], T]) -> T:
        """What ``make`` (a class or a function of the context) derives from this run: made when
        a rule first asks, then shared by every rule that asks."""
        if make not in self.memo:
            self.memo[make] = make(self)
        made: T = self.memo[make]
        return made

    def read_nothing(self, rule_id: str, domain: str, missing: str, fix: str) -> None:
        """Records that rule ``rule_id`` checked nothing of ``domain`` where ``missing`` (e.g.
        "no built warehouse to query") says why; ``fix`` is how to check it after all."""
        self.unread.setdefault((domain, missing, fix), set()).add(rule_id)

    def on_close(self, release: Callable[[], None]) -> None:
        """Registers what a rule opened for the run (e.g. a warehouse session), released by
        :meth:`close` when the run ends: an open DuckDB file would block the next build."""
        self._closers.append(release)

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()

    @property
    def config(self) -> MeshConfig:
        return self.mesh.config

    @property
    def root(self) -> Path:
        return self.mesh.root

    def in_scope(self, domain: str | None) -> bool:
        """Whether violations located in ``domain`` are reported by this run."""
        return self.selected is None or domain is None or domain in self.selected

    # --- artifacts ----------------------------------------------------------------------------

    def artifacts(self, domain: str) -> DomainArtifacts:
        """One domain's artifact projection; a missing or invalid manifest raises
        :class:`~meshkit.errors.ArtifactError` (bad input: the gate cannot decide)."""
        if domain in self.exclude:
            raise ArtifactError(f"domain {domain!r} is left out of this check",
                                fix="check it once its artifacts can be read")
        if domain not in self._artifacts and domain in self._given:
            with contextlib.suppress(KeyError):  # (gone since: read as any other domain)
                self._artifacts[domain] = self._given[domain]
        if domain not in self._artifacts:
            d = self.config.domain(domain)
            # Through the projections kept by content: a sync after one domain changed re-projects
            # that domain only, not the whole mesh its rules read.
            if self._artifact_cache is None:
                from meshkit.artifact_cache import ArtifactCache

                self._artifact_cache = ArtifactCache.of(self.root, write=self.keep_projections)
            arts = self._artifact_cache.read(d.name, LocalArtifacts(self.mesh.artifacts_path(d)))
            if arts.project_name != d.name:
                # As the sync refuses it: another project's rules would be checked as this
                # domain's (its products, its reads), and a clean report would be about them.
                raise ArtifactError(
                    f"domain {d.name!r}: this is a manifest of dbt project "
                    f"{arts.project_name or '(unnamed)'!r}, not of domain {d.name!r}",
                    file=self.mesh.artifacts_path(d) / "manifest.json",
                    fix=f"put {d.name!r}'s own artifacts there (run `dbt build` in its project), "
                        "or point the domain's `path`/`artifacts` in mesh.yml at them")
            self._artifacts[domain] = arts
        return self._artifacts[domain]

    def has_artifacts(self, domain: str) -> bool:
        """Whether the domain's artifacts can be read (always True unless ``partial``: then a
        missing manifest raises when a rule reads it)."""
        if domain in self.exclude:
            return False
        if not self.partial or domain in self._artifacts:
            return True
        try:
            self.artifacts(domain)
        except ArtifactError:
            return False
        return True

    def all_artifacts(self) -> Iterator[tuple[Domain, DomainArtifacts]]:
        """Every domain's artifacts (those that have some, when ``partial``)."""
        for d in self.config.domains:
            if self.has_artifacts(d.name):
                yield d, self.artifacts(d.name)

    @cached_property
    def nodes(self) -> dict[str, tuple[str, NodeInfo]]:
        """Every domain's own models (not those dbt-loom injected), by unique_id, with the domain."""
        out: dict[str, tuple[str, NodeInfo]] = {}
        for d, arts in self.all_artifacts():
            for uid, node in arts.nodes.items():
                if node.package_name == d.name:
                    out[uid] = (d.name, node)
        return out

    def domain_of(self, unique_id: str) -> str | None:
        """The domain owning a node: its package, if that is a domain of the mesh."""
        parts = unique_id.split(".")
        if len(parts) >= 2 and parts[1] in self.domain_names:
            return parts[1]
        return None

    @cached_property
    def domain_names(self) -> frozenset[str]:
        return frozenset(d.name for d in self.config.domains)

    @cached_property
    def domain_names_lower(self) -> frozenset[str]:
        return frozenset(d.name.lower() for d in self.config.domains)

    def project_dir(self, domain: str) -> Path | None:
        """The domain's dbt project folder (None for a domain registered by artifacts)."""
        return self.mesh.domain_path(self.config.domain(domain))

    def file_of(self, domain: str, project_path: str | None) -> str | None:
        """A path inside a domain's project, relative to the mesh root (as violations show it)."""
        if project_path is None:
            return None
        d = self.config.domain(domain)
        base = d.path if d.path is not None else d.artifacts
        return (Path(str(base)) / project_path).as_posix()

    def place(self, domain: str, project_path: str | None, pattern: str) -> dict[str, Any]:
        """A violation's ``domain``, ``file`` and ``line`` (:meth:`file_of`, :meth:`line_of`)."""
        return {"domain": domain, "file": self.file_of(domain, project_path),
                "line": self.line_of(domain, project_path, pattern)}

    def line_of(self, domain: str, project_path: str | None, pattern: str, *,
                after: str | None = None) -> int | None:
        """1-based line of the first match of the regex ``pattern`` in a file of a domain's
        project, past the first line matching ``after`` if given (None if the file or the
        match is absent, as for a domain registered by artifacts)."""
        project = self.project_dir(domain)
        if project is None or project_path is None:
            return None
        lines = self._lines(project / project_path)
        start = 0
        if after is not None:
            begin = re.compile(after)
            start = next((i for i, text in enumerate(lines) if begin.search(text)), 0)
        regex = re.compile(pattern)
        return next((i for i, text in enumerate(lines[start:], start + 1)
                     if regex.search(text)), None)

    def _lines(self, file: Path) -> list[str]:
        if file not in self._files:
            try:
                self._files[file] = file.read_text(errors="replace").splitlines()
            except OSError:
                self._files[file] = []
        return self._files[file]

    # --- the catalog --------------------------------------------------------------------------

    @cached_property
    def catalog(self) -> Catalog | None:
        """The catalog of the last sync, or None if none was written."""
        from meshkit.catalog.store import load_catalog

        return load_catalog(self.mesh.catalog_dir)

    @cached_property
    def registry(self) -> ContractRegistry:
        """The published contracts (``catalog/contracts/``), empty before the first sync."""
        from meshkit.contracts.registry import ContractRegistry

        if self._registry is None:
            self._registry = ContractRegistry.load(self.mesh.catalog_dir)
        return self._registry
