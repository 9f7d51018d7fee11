"""``meshkit.Mesh``: the front door of the library.

One object per mesh (its mesh.yml and the folder it lives in) whose methods do all the work and
return result objects; the ``mesh`` CLI parses options, calls one of them and renders the result.
A script, a notebook or a web page does the same::

    from meshkit import Mesh

    mesh = Mesh.load("mesh.yml")
    mesh.build()                                   # domains in dependency order, sync, marts
    rows = mesh.query("select * from risk.credit_risk_scorecard.credit_risk_scorecard",
                      roles=["risk_analyst"]).records()

``Mesh`` is the loaded mesh.yml (:class:`meshkit.config.Mesh`) itself, so every library function
that takes a mesh takes it. Heavy imports (dbt, DuckDB, the Snowflake connector) happen inside the
methods that need them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from meshkit import config as cfg

if TYPE_CHECKING:
    from meshkit.backends import Engine
    from meshkit.backends.duckdb.query import QueryResult
    from meshkit.backends.snowflake.apply import ApplyResult, StatementResult
    from meshkit.backends.snowflake.plan import Plan
    from meshkit.backends.snowflake.profiles import SnowflakeSettings
    from meshkit.build import BuildResult, ProgressHook
    from meshkit.catalog.metrics import ProductMetrics
    from meshkit.catalog.model import Catalog
    from meshkit.catalog.sync import DomainSync, SyncResult
    from meshkit.checks import CheckReport
    from meshkit.dbt_runner import DbtRun
    from meshkit.selfserve.onboard import OnboardResult
    from meshkit.selfserve.render import Written
    from meshkit.selfserve.suggest import Suggestion


@dataclass
class MeshBuildResult:
    """What :meth:`Mesh.build` did: the domains' builds, then (unless skipped) the catalog sync
    and the platform's catalog marts with its governance tests."""

    build: BuildResult
    sync: SyncResult | None = None
    # None when nothing was built (no sync, no domain built, or a target without marts).
    marts: DbtRun | None = None

    @property
    def success(self) -> bool:
        return (self.build.success and (self.marts is None or self.marts.success)
                and (self.sync is None or self.sync.exit_code == 0))

    @property
    def exit_code(self) -> int:
        """0, or 1 for a failed domain build or a failing catalog mart / governance test."""
        return 0 if self.success else 1


@dataclass(frozen=True)
class GenerateResult:
    """The mesh's policy macro, compiled from mesh.yml."""

    path: Path
    changed: bool  # written now (or, for a check, out of date)
    checked: bool = False

    @property
    def exit_code(self) -> int:
        return 1 if self.checked and self.changed else 0


class Mesh(cfg.Mesh):
    """A mesh: its configuration (mesh.yml), its domains' dbt projects and artifacts, its
    catalog, and the backends its targets name."""

    @classmethod
    def load(cls, path: Path | str | None = None) -> Mesh:
        """Load and validate mesh.yml (default: ``./mesh.yml``).

        Raises :class:`~meshkit.errors.ConfigError` naming the file, the line and the fix.
        """
        loaded = cfg.load_mesh(path)
        return cls(config=loaded.config, file=loaded.file, source_sha256=loaded.source_sha256)

    # --- building and syncing -----------------------------------------------------------------

    def build(
        self,
        *,
        target: str | None = None,
        domains: Sequence[str] = (),
        upstream: bool = False,
        sync: bool = True,
        on_progress: ProgressHook | None = None,
        on_built: Callable[[BuildResult], None] | None = None,
        on_sync: Callable[[DomainSync], None] | None = None,
        on_synced: Callable[[SyncResult], None] | None = None,
        jobs: int | None = 1,
    ) -> MeshBuildResult:
        """Build domains in dependency order; then sync the catalog and build the platform's
        catalog marts and governance tests. A failed build syncs too: the last good views serve
        on, and the catalog says which products are degraded and which are at risk downstream
        (a mesh without domains syncs an empty catalog).

        A failing domain skips only the domains that read it (``result.exit_code`` 1). Bad input
        raises a :class:`~meshkit.errors.MeshError` (exit 2) and leaves the catalog untouched.
        The ``on_*`` hooks report progress as each step ends (for a progress display).
        ``jobs`` > 1 builds domains that do not read each other side by side, in this process
        and ``jobs - 1`` worker processes at most; None: as many as
        :func:`meshkit.build.auto_jobs` says (the cores, on DuckDB).
        """
        from meshkit.build import build as build_domains

        built = build_domains(self, target=target, only=list(domains) or None, upstream=upstream,
                              on_progress=on_progress, jobs=jobs)
        if on_built is not None:
            on_built(built)
        result = MeshBuildResult(build=built)
        if sync:
            result.sync = self.sync(target=target, on_domain=on_sync)
            if on_synced is not None:
                on_synced(result.sync)
            result.marts = self.build_catalog_marts(target=target)
        return result

    def build_order(self, domains: Sequence[str] = (), upstream: bool = False) -> list[cfg.Domain]:
        """The domains :meth:`build` would build, in the order it would build them."""
        from meshkit.build import build_order

        return build_order(self, list(domains) or None, upstream)

    def sync(
        self,
        *,
        target: str | None = None,
        domains: Sequence[str] = (),
        dry_run: bool = False,
        on_domain: Callable[[DomainSync], None] | None = None,
        wait: float = 0.0,
    ) -> SyncResult:
        """Read every domain's dbt artifacts and write the catalog (``catalog/`` and the
        ``mesh_catalog`` tables of the target), all or nothing; unchanged domains are skipped.
        A domain whose artifacts cannot be read keeps its last good entry, marked stale
        (``result.failures``, exit code 1). ``wait``: seconds to wait for another sync."""
        from meshkit.catalog.sync import sync

        return sync(self, target=target, domains=list(domains) or None, dry_run=dry_run,
                    on_domain=on_domain, wait=wait)

    def build_catalog_marts(self, *, target: str | None = None) -> DbtRun | None:
        """Build the platform's catalog marts and governance tests over the synced catalog."""
        from meshkit.platform_project import build_catalog_marts

        return build_catalog_marts(self, target)

    def catalog(self) -> Catalog:
        """The catalog the last sync wrote (:class:`~meshkit.errors.UsageError` if none)."""
        from meshkit.catalog.store import require_catalog
        from meshkit.catalog.sync import recover

        recover(self)  # a sync killed midway: see all of the old catalog or all of the new
        return require_catalog(self.catalog_dir)

    # --- checking -----------------------------------------------------------------------------

    def check(self, *, domains: Sequence[str] = (), rules: Sequence[str] = ()) -> CheckReport:
        """Contracts and governance rules over the mesh; writes nothing (the CI gate).

        Runs every registered rule of the check engine (:mod:`meshkit.checks`), or those
        ``rules`` names (ids or dotted prefixes such as ``contract``), over the domains'
        artifacts and the catalog's published contracts; ``domains`` limits the report to
        violations located there. ``report.exit_code`` is 1 when one is an error;
        ``report.notes`` names each domain where a rule reading compiled SQL found none, and
        what the rules querying the built warehouse could not query (a domain or a dataset not
        built, a target that is not DuckDB).
        """
        from meshkit.checks import CheckContext, default_rules, run_checks

        return run_checks(CheckContext(self, domains=list(domains) or None),
                          default_rules(rules or None), note_gaps=True)

    # --- reading ------------------------------------------------------------------------------

    def query(self, sql: str, *, roles: Sequence[str] = (), target: str | None = None) -> QueryResult:
        """Run ``sql`` as ``roles`` (none: the most restrictive view) against the secure views
        of the mesh, on a DuckDB target; anything else it reads is refused."""
        return self.engine(target).query(sql, list(roles))

    def engine(self, target: str | None = None) -> Engine:
        """The engine of a target of mesh.yml (default ``dev``), with its capability flags."""
        from meshkit.backends import engine_for

        return engine_for(self, target)

    def dbt_env(self, target: str | None = None) -> dict[str, str]:
        """What the domains' dbt profiles and packages.yml read (the platform's folder, the
        warehouse, the raw data)."""
        return self.engine(target).dbt_env()

    def hand_run_env(self, target: str | None = None) -> dict[str, str]:
        """What to set to run ``dbt`` in a domain by hand (``eval "$(mesh env)"``): as
        :meth:`dbt_env`, less what the domains' own defaults resolve alike, so `mesh build` and
        the hand run keep each other's partial parsing."""
        from meshkit.build import hand_run_env

        return hand_run_env(self, target)

    # --- generation and provisioning ----------------------------------------------------------

    def generate(self, *, check: bool = False) -> GenerateResult:
        """Compile the mesh's policy macro from mesh.yml; with ``check``, only say whether the
        file on disk is out of date."""
        from meshkit.masking import policy_macro_path, render_policy_macro, write_policy_macro

        path = policy_macro_path(self)
        if check:
            current = path.read_text() if path.is_file() else ""
            return GenerateResult(path, changed=current != render_policy_macro(self), checked=True)
        changed = write_policy_macro(self)
        # The clearances every DuckDB session reads when its roles are set (see meshkit.masking).
        from meshkit.config import DuckDBTarget
        from meshkit.masking import write_governance

        for target in self.config.targets.values():
            if isinstance(target, DuckDBTarget):
                write_governance(self, (self.root / target.path).resolve())
        return GenerateResult(path, changed=changed)

    def plan(self, *, target: str = "prod") -> Plan:
        """The idempotent Snowflake DDL of the utility plane for ``target``."""
        from meshkit.backends.snowflake.plan import plan_mesh

        return plan_mesh(self, target)

    def apply(self, plan: Plan | None = None, *, target: str = "prod",
              settings: SnowflakeSettings | None = None,
              on_result: Callable[[StatementResult], None] | None = None) -> ApplyResult:
        """Run ``plan`` (default: :meth:`plan` of ``target``) on Snowflake, connected from the
        ``SNOWFLAKE_*`` environment; the first failing statement stops the run."""
        from meshkit.backends.snowflake.apply import apply_plan, secrets_of
        from meshkit.backends.snowflake.profiles import connect

        the_plan = plan if plan is not None else self.plan(target=target)
        secrets_of(the_plan)  # a missing secret stops the run before it connects
        # qmark: parameters (the hash salt) are bound server-side, never in the query text
        connection = connect(settings, paramstyle="qmark")
        try:
            return apply_plan(the_plan, connection, on_result=on_result)
        finally:
            connection.close()

    # --- self-serve ---------------------------------------------------------------------------

    @classmethod
    def init(cls, folder: Path | str, *, name: str | None = None,
             description: str | None = None) -> Mesh:
        """A new, empty mesh in ``folder`` (mesh.yml, layout, DuckDB and Snowflake targets)."""
        from meshkit.selfserve.scaffold import init_mesh

        init_mesh(Path(folder), name, description)
        return cls.load(Path(folder) / cfg.DEFAULT_MESH_FILE)

    def new_domain(self, name: str, owner_email: str, *, owner_name: str | None = None,
                   description: str = "", reads: Sequence[str] = ()) -> Written:
        """A domain dbt project wired to the platform, registered in mesh.yml (load the mesh
        again to see it)."""
        from meshkit.selfserve.scaffold import new_domain

        return new_domain(self, name, owner_email, owner_name=owner_name,
                          description=description, reads=list(reads))

    def new_product(self, domain: str, name: str, *, dataset: str | None = None,
                    owner_email: str | None = None) -> Written:
        """A data product in ``domain``: group, owner, a public dataset with its contract."""
        from meshkit.selfserve.scaffold import new_product

        return new_product(self, domain, name, dataset=dataset, owner_email=owner_email)

    def onboard(self, path: Path | str | None = None, *, artifacts: Path | str | None = None,
                owner_email: str | None = None, owner_name: str | None = None) -> OnboardResult:
        """An existing dbt project (or its artifacts) as a domain, with its readiness report."""
        from meshkit.selfserve.onboard import onboard

        return onboard(self, None if path is None else Path(path),
                       artifacts=None if artifacts is None else Path(artifacts),
                       owner_email=owner_email, owner_name=owner_name)

    def suggest_products(self, domain: str, *, models: Sequence[str] = (),
                         write: bool = True) -> Suggestion:
        """Candidate products of ``domain`` with their contract YAML (written unless not
        ``write``)."""
        from meshkit.selfserve.suggest import suggest_products

        return suggest_products(self, domain, only=list(models) or None, write=write)

    def product_metrics(self, *, target: str | None = None) -> dict[str, ProductMetrics]:
        """Each product's success: consumers over time, builds, tests, SLA attainment, reads."""
        from meshkit.catalog.metrics import mesh_reads, product_metrics

        return product_metrics(self.catalog(), self.catalog_dir, mesh_reads(self, target))
