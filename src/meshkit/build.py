"""`mesh build`: build the domains in dependency order, in-process through dbt's runner.

The order comes from the cross-domain refs: a domain depends on the producers named in its
``dbt_loom.config.yml`` (a domain can only ``ref`` a project whose manifest dbt-loom loads).
A failing domain stops its dependents, and only them.
"""

from __future__ import annotations

import contextlib
import enum
import graphlib
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from meshkit import resources
from meshkit.checks.model import Violation
from meshkit.config import Domain, DuckDBTarget, Mesh, check_domain_projects
from meshkit.errors import ConfigError, UsageError
from meshkit.files import read_text

if TYPE_CHECKING:
    from meshkit.dbt_runner import DbtRun

LOOM_CONFIG = "dbt_loom.config.yml"


class Status(enum.StrEnum):
    success = "success"
    failed = "failed"
    skipped = "skipped"


@dataclass
class DomainBuild:
    domain: str
    status: Status
    seconds: float = 0.0
    models: int = 0
    tests: int = 0
    reason: str = ""
    errors: list[str] = field(default_factory=list)
    # What the pre-build checks found in the domain (warnings of a built domain included).
    violations: list[Violation] = field(default_factory=list)


@dataclass
class BuildResult:
    target: str
    domains: list[DomainBuild]

    @property
    def success(self) -> bool:
        return all(d.status is Status.success for d in self.domains)


def upstream_domains(mesh: Mesh, domain: Domain) -> list[str]:
    """The mesh domains this domain reads, from the manifests its dbt-loom config loads."""
    path = mesh.domain_path(domain)
    if path is None:
        return []
    loom = path / LOOM_CONFIG
    if not loom.is_file():
        return []
    try:
        data = yaml.safe_load(read_text(loom)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=loom,
                          fix="correct the YAML syntax") from None
    known = {d.name for d in mesh.config.domains}
    names = [str(m.get("name")) for m in data.get("manifests") or [] if isinstance(m, dict)]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(
            f"manifest {unknown[0]!r} is not a domain of the mesh",
            file=loom, location="manifests",
            fix=f"name one of {', '.join(sorted(known))}, or add the domain to mesh.yml",
        )
    return sorted(set(names))


def build_order(mesh: Mesh, only: list[str] | None = None, upstream: bool = False) -> list[Domain]:
    """Buildable domains (those with a ``path``) in dependency order.

    With ``only``, just those domains, plus everything they read when ``upstream`` is set.
    """
    buildable = {d.name: d for d in mesh.config.domains if d.path is not None}
    deps = {name: [u for u in upstream_domains(mesh, d) if u in buildable]
            for name, d in buildable.items()}
    selected = set(buildable)
    if only:
        for name in only:
            mesh.config.domain(name)  # a clear error for an unknown name
            if name not in buildable:
                raise UsageError(f"domain {name!r} is registered by artifacts and is built elsewhere",
                                 fix="build it where its dbt project lives; `mesh-sync` reads its artifacts")
        selected = set(only)
        if upstream:
            stack = list(only)
            while stack:
                for dep in deps[stack.pop()]:
                    if dep not in selected:
                        selected.add(dep)
                        stack.append(dep)
    sorter = graphlib.TopologicalSorter({n: deps[n] for n in sorted(buildable)})
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        raise ConfigError(f"cross-domain refs form a cycle: {' -> '.join(exc.args[1])}",
                          file=mesh.file, fix="a domain may not read, directly or not, itself") from None
    return [buildable[n] for n in order if n in selected]


def dbt_env(mesh: Mesh, target_name: str | None) -> dict[str, str]:
    """Environment the domains' profiles and packages.yml read: where the platform, the
    warehouse and the raw data are (from the target's engine)."""
    from meshkit.backends import engine_for

    return engine_for(mesh, target_name).dbt_env()


_ENV_DEFAULT = re.compile(r"""env_var\(\s*['"](MESH_[A-Z_]+)['"]\s*,\s*['"]([^'"]*)['"]\s*\)""")


def domain_env(env: dict[str, str], project: Path) -> dict[str, str]:
    """``env`` less the variables a hand-run ``dbt build`` in ``project`` would resolve alike.

    dbt keeps its partial-parse state only while the environment variables a project reads keep
    their values: a variable that `mesh build` sets but a domain engineer's shell does not makes
    each of them parse the project from scratch after the other. So a variable is left out when
    the caller's environment does not set it either and every default the project's files give it
    (``env_var('MESH_WAREHOUSE', '../../warehouse')``) points at the same place; otherwise (no
    default, another default, or a shell that sets it) it is passed as computed.
    """
    defaults = _defaults(project)
    out = dict(env)
    for name, value in env.items():
        found = defaults.get(name)
        if name in os.environ or not found:
            continue
        if all((project / d).resolve() == Path(value).resolve() for d in found):
            del out[name]
    return out


def _defaults(project: Path) -> dict[str, set[str]]:
    """The defaults the project's files give each ``MESH_*`` variable they read."""
    defaults: dict[str, set[str]] = {}
    files = [project / "profiles.yml", project / "dbt_project.yml",
             *(project / "models").rglob("*.yml")]
    for f in files:
        try:
            text = f.read_text()
        except (OSError, UnicodeDecodeError):  # (dbt reports a file it cannot read)
            continue
        for name, default in _ENV_DEFAULT.findall(text):
            defaults.setdefault(name, set()).add(default)
    return defaults


def hand_run_env(mesh: Mesh, target_name: str | None) -> dict[str, str]:
    """What a domain engineer sets to run plain ``dbt`` in any domain (``mesh env``): the
    engine's environment less the variables every domain's own defaults already resolve alike,
    so `mesh build` and the hand run give dbt the same values and its partial parsing survives."""
    env = dbt_env(mesh, target_name)
    for domain in mesh.config.domains:
        project = mesh.domain_path(domain)
        if project is None or not (project / "dbt_project.yml").is_file():
            continue
        kept, read = domain_env(env, project), _defaults(project)
        env = {k: v for k, v in env.items() if k in kept or k not in read}
    return env


def target_arg(project: Path, target: str) -> str | None:
    """``target``, or None when it is the default target of the domain's own profiles.yml.

    dbt hashes the ``--target`` *argument* into its partial-parse state, so naming the default
    target explicitly would make `mesh build` and a hand-run `dbt build` re-parse after each other.
    """
    from meshkit.dbt_runner import domain_profile

    profile = domain_profile(project)
    if profile is None or "target" not in profile:
        return target
    return None if profile["target"] == target else target


def _deps_digest(project: Path, env: dict[str, str]) -> str:
    # The platform's folder counts: a new meshkit install (another venv) needs a new link.
    packages = (project / "packages.yml").read_bytes()
    return hashlib.sha256(packages + env.get("MESH_PLATFORM", "").encode()).hexdigest()


def ensure_deps(project: Path, env: dict[str, str], target: str | None = None) -> DbtRun | None:
    """``dbt deps`` when packages.yml (or the platform's folder) changed since the last one;
    None when nothing had to run."""
    from meshkit.dbt_runner import run_dbt

    if not (project / "packages.yml").is_file():
        return None
    stamp = project / "dbt_packages" / ".meshkit-deps"
    digest = _deps_digest(project, env)
    if stamp.is_file() and stamp.read_text() == digest:
        return None
    run = run_dbt(project, ["deps"], target=target, env=env)
    if run.success:
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(digest)
    return run


ProgressHook = Callable[[str, str], None]
# `dbt parse` before the build writes here (inside the domain's target/), so the manifest the
# consumers' dbt-loom reads stays the last built one when the checks refuse the domain.
PARSE_TARGET = "target/meshkit_parse"
PARTIAL_PARSE = "partial_parse.msgpack"


@dataclass
class Precheck:
    """The gate before a domain's `dbt build`: its manifest parsed, the build-stage rules run."""

    passed: bool
    seconds: float
    reason: str = ""
    errors: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    # What the parse produced (dbt's manifest), for the build to run on instead of parsing again.
    manifest: Any = field(default=None, repr=False)


def precheck(mesh: Mesh, domain: Domain, target: str | None, env: dict[str, str]) -> Precheck:
    """Parse the domain (nothing is built) and run the check engine's build-stage rules on the
    parsed manifest, with the other domains as last built and the published contracts: an error
    located in this domain (a breaking change, a read of another domain's internals) fails it
    before anything is built, so its views and its consumers stay as they were."""
    from meshkit.artifacts import LocalArtifacts, read_domain_artifacts
    from meshkit.checks import CheckContext, Severity, Stage, default_rules, run_checks
    from meshkit.dbt_runner import run_dbt

    project = mesh.domain_path(domain)
    assert project is not None
    parse = run_dbt(project, ["parse", "--target-path", PARSE_TARGET], target=target, env=env)
    if not parse.success:
        return Precheck(False, parse.seconds, "dbt parse failed", parse.errors)
    parsed = read_domain_artifacts(LocalArtifacts(project / PARSE_TARGET))
    ctx = CheckContext(mesh, domains=[domain.name], artifacts={domain.name: parsed},
                       partial=True)
    report = run_checks(ctx, default_rules(stage=Stage.BUILD))
    found = [v for v in report.violations if v.domain == domain.name]
    errors = [v for v in found if v.severity is Severity.ERROR]
    if errors:
        return Precheck(False, parse.seconds, f"{len(errors)} contract/policy violation(s)",
                        [f"{v.rule}: {v.location}: {v.message}\n  fix: {v.fix}" for v in errors],
                        found)
    return Precheck(True, parse.seconds, violations=found, manifest=parse.manifest)


def share_partial_parse(project: Path) -> None:
    """Give the domain's ``target/`` the parse state of the precheck's parse.

    The build runs on the precheck's manifest, so dbt writes no ``partial_parse.msgpack`` into
    ``target/`` itself; a domain engineer's own `dbt build` reads it there, and would otherwise
    parse the whole project after every `mesh build` (the state does not depend on the target
    folder: same project, arguments and environment)."""
    from meshkit.files import atomic_write

    source = project / PARSE_TARGET / PARTIAL_PARSE
    if source.is_file():
        atomic_write(project / "target" / PARTIAL_PARSE, source.read_bytes(), durable=False)


def gate_domain(mesh: Mesh, domain: Domain, target_name: str, base_env: dict[str, str],
                notify: ProgressHook) -> DomainBuild | Precheck:
    """A domain's ``dbt deps`` and its checks before the build: the failed :class:`DomainBuild`
    when one stops it, else the passed :class:`Precheck` (its ``seconds`` those of both)."""
    project = mesh.domain_path(domain)
    assert project is not None
    env = domain_env(base_env, project)
    dbt_target = target_arg(project, target_name)
    notify(domain.name, "dbt deps")
    deps = ensure_deps(project, env, dbt_target)
    seconds = 0.0
    if deps is not None:
        seconds += deps.seconds
        if not deps.success:
            return DomainBuild(domain.name, Status.failed, seconds, reason="dbt deps failed",
                               errors=deps.errors)
    notify(domain.name, "dbt parse + checks")
    gate = precheck(mesh, domain, dbt_target, env)
    gate.seconds += seconds
    if not gate.passed:
        return DomainBuild(domain.name, Status.failed, gate.seconds, reason=gate.reason,
                           errors=gate.errors, violations=gate.violations)
    return gate


def build_passed(mesh: Mesh, domain: Domain, target_name: str, base_env: dict[str, str],
                 gate: Precheck, notify: ProgressHook) -> DomainBuild:
    """``dbt build`` of a domain its checks passed, on the manifest they parsed."""
    from meshkit.dbt_runner import run_dbt

    project = mesh.domain_path(domain)
    assert project is not None
    notify(domain.name, "dbt build")
    # On the manifest the checks passed: parsing again would cost as much as the parse did.
    run = run_dbt(project, ["build"], target=target_arg(project, target_name),
                  env=domain_env(base_env, project), manifest=gate.manifest)
    share_partial_parse(project)
    return DomainBuild(
        domain.name, Status.success if run.success else Status.failed, gate.seconds + run.seconds,
        run.models, run.tests,
        reason="" if run.success else f"{len(run.failed_nodes) or 'some'} node(s) failed",
        errors=run.errors, violations=gate.violations,
    )


def blocked_by(mesh: Mesh, domain: Domain, results: dict[str, DomainBuild]) -> DomainBuild | None:
    """The skipped result of a domain one of whose upstream domains did not build, or None."""
    blocked = [u for u in upstream_domains(mesh, domain)
               if u in results and results[u].status is not Status.success]
    if not blocked:
        return None
    return DomainBuild(domain.name, Status.skipped, reason=f"upstream {', '.join(blocked)} failed")


def _require_project(mesh: Mesh, domain: Domain) -> None:
    project = mesh.domain_path(domain)
    assert project is not None
    if not (project / "dbt_project.yml").is_file():
        raise ConfigError(f"domain {domain.name!r}: no dbt_project.yml in {project}",
                          file=mesh.file, location=f"domains.{domain.name}.path",
                          fix="point `path` at the domain's dbt project")


# What a build process may take: a demo domain's worker peaks at ~260 MB; a project of
# thousands of models holds a manifest several times that size while it parses.
MEMORY_PER_JOB = 1 << 30


def auto_jobs(mesh: Mesh, target: str) -> int:
    """How many processes a build uses unless told.

    On DuckDB, the cores this process may run on (the work is local: dbt's Python and DuckDB;
    a worker's ~2 s of dbt start-up is gained back from two cores on), but no more than the
    available memory holds at :data:`MEMORY_PER_JOB` each, both as the process's cgroup limits
    them too (:mod:`meshkit.resources`: a container sees the node's cores and memory).
    Elsewhere one, since each process authenticates on its own (a browser sign-in would open
    once per worker)."""
    _, target_config = mesh.config.target(target)
    if not isinstance(target_config, DuckDBTarget):
        return 1
    cores = resources.usable_cpus()
    available = resources.available_memory()
    if available is None:
        return cores
    return max(1, min(cores, available // MEMORY_PER_JOB))


def build(
    mesh: Mesh,
    *,
    target: str | None = None,
    only: list[str] | None = None,
    upstream: bool = False,
    on_progress: ProgressHook | None = None,
    jobs: int | None = 1,
) -> BuildResult:
    """Build the selected domains in order; a failure skips only the domains that read it.

    ``jobs`` > 1 builds domains that do not read each other side by side, in this process and
    ``jobs - 1`` worker processes (:mod:`meshkit.build_pool`); 1 builds them one after the other
    in this process; None: :func:`auto_jobs`."""
    from meshkit.backends import engine_for
    from meshkit.masking import write_policy_macro

    engine = engine_for(mesh, target)
    target_name = engine.name
    engine.check_ready()
    # A domain built as a dbt project of another name would land under the wrong database.
    check_domain_projects(mesh)
    order = build_order(mesh, only, upstream)
    notify = on_progress or (lambda domain, message: None)
    if jobs is None:
        jobs = auto_jobs(mesh, target_name)
    with contextlib.ExitStack() as stack:
        pool = None
        if jobs > 1:
            from meshkit.build_pool import Lanes, build_side_by_side, lanes_for, waves

            # Read once (dbt-loom configs, profiles): the lanes' count and the build use them.
            groups = waves(mesh, order)
            lanes = lanes_for(groups, jobs)
            if lanes > 1:
                # Started first: they import dbt while the policy is written.
                pool = stack.enter_context(Lanes(lanes))
        write_policy_macro(mesh)
        _, target_config = mesh.config.target(target_name)
        if isinstance(target_config, DuckDBTarget):
            # Clearances are read by every view at query time: current for every domain, not
            # only the ones rebuilt now.
            from meshkit.masking import write_governance

            write_governance(mesh, (mesh.root / target_config.path).resolve())
        base_env = engine.dbt_env()
        for domain in order:
            _require_project(mesh, domain)
        if pool is not None:
            side_by_side = build_side_by_side(mesh, groups, target_name, base_env, pool, notify)
            return BuildResult(target=target_name, domains=[side_by_side[d.name] for d in order])
    results: dict[str, DomainBuild] = {}
    for domain in order:
        skipped = blocked_by(mesh, domain, results)
        if skipped is not None:
            results[domain.name] = skipped
            notify(domain.name, "skipped")
            continue
        gated = gate_domain(mesh, domain, target_name, base_env, notify)
        done = gated if isinstance(gated, DomainBuild) else \
            build_passed(mesh, domain, target_name, base_env, gated, notify)
        results[domain.name] = done
        notify(domain.name, done.status.value)
    return BuildResult(target=target_name, domains=[results[d.name] for d in order])
