"""The one place that runs dbt: in-process, through dbt's programmatic runner.

Nothing else in meshkit imports dbt-core; the rest of the package reads the artifacts dbt writes.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DbtRun:
    """What one dbt invocation did: counts by resource type and status, and its wall time."""

    command: str
    success: bool
    seconds: float
    models: int = 0
    tests: int = 0
    seeds: int = 0
    errors: list[str] = field(default_factory=list)
    failed_nodes: list[str] = field(default_factory=list)
    # The manifest a ``parse`` produced (dbt's own object, held in memory only): a following
    # invocation of the same project can be given it instead of parsing again.
    manifest: Any = field(default=None, repr=False)


@contextlib.contextmanager
def _in_project(project_dir: Path, env: dict[str, str]) -> Iterator[None]:
    """Run with the project folder as cwd and extra environment variables, then restore both.

    dbt-loom resolves its config (``dbt_loom.config.yml``) and the manifest paths in it against
    the working directory, exactly as when a domain engineer runs ``dbt build`` in the domain,
    so the orchestrator runs each domain from its own folder rather than rewriting those paths.
    """
    old_cwd = Path.cwd()
    old_env = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    os.chdir(project_dir)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def domain_profile(project_dir: Path) -> dict[str, Any] | None:
    """The profile the project's ``dbt_project.yml`` names, as the ``profiles.yml`` beside it
    (where :func:`run_dbt` has dbt read it) holds it, its templates unrendered; None when a file,
    the name or the entry is missing or not YAML."""
    import yaml

    # libyaml when built with it: the checks read every domain's profile on each sync.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        project = yaml.load((project_dir / "dbt_project.yml").read_text(), Loader=loader) or {}
        profiles = yaml.load((project_dir / "profiles.yml").read_text(), Loader=loader) or {}
        profile = profiles[project["profile"]]
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError):
        return None
    return profile if isinstance(profile, dict) else None


def run_dbt(
    project_dir: Path,
    args: list[str],
    *,
    target: str | None = None,
    env: dict[str, str] | None = None,
    quiet: bool = True,
    profiles_dir: Path | None = None,
    manifest: Any = None,
) -> DbtRun:
    """Run ``dbt <args>`` for the project in ``project_dir`` and summarise the result.

    ``profiles.yml`` is read from ``profiles_dir``, by default the project folder itself.
    ``manifest``: the :attr:`DbtRun.manifest` of a ``parse`` of the same project with the same
    arguments and environment, used instead of parsing again.
    """
    from dbt.cli.main import dbtRunner

    _share_parse_caches()
    profiles = profiles_dir if profiles_dir is not None else project_dir
    cli_args = [*args, "--project-dir", str(project_dir), "--profiles-dir", str(profiles)]
    if target:
        cli_args += ["--target", target]
    if quiet:
        # Nothing on the console: the caller reports progress and errors itself (dbt's own
        # errors would print twice). The domain's logs/dbt.log still has everything.
        # (--log-level alone silences the file too: dbt's file level defaults to it.)
        cli_args = ["--log-level", "none", "--log-level-file", "debug", "--no-use-colors",
                    *cli_args]
    started = time.perf_counter()
    with _in_project(project_dir, env or {}):
        try:
            res = dbtRunner(manifest=manifest).invoke(cli_args)
        finally:
            _release_duckdb()
    run = DbtRun(command=" ".join(args), success=bool(res.success),
                 seconds=time.perf_counter() - started)
    if res.exception is not None:
        run.errors.append(str(res.exception))
    if args[:1] == ["parse"] and res.success:
        run.manifest = res.result
    else:
        _count(run, res.result)
    return run


def _share_parse_caches() -> None:
    """Let the dbt projects parsed in this process share dbt's Jinja parse caches.

    Every project a process parses (each domain of a `mesh build`, then the catalog marts) carries
    the same thousand-odd macros of dbt, its adapter and the mesh's packages, and dbt parses them
    all again for each: a third of a domain's parse. dbt-common keeps the Jinja parse trees, the
    top-level blocks of a file and the macro calls of a source text in caches keyed by that text,
    for runs that parse many projects in one process (dbt's own functional tests); they are off
    unless switched on. Keyed by the text (the blocks by a sum of its hash and the arguments'),
    an edited file is parsed again. They are never emptied: a process runs one meshkit command.
    A dbt without the switch only parses as before.
    """
    try:
        from dbt_common.tests import enable_test_caching
    except ImportError:
        return
    enable_test_caching()


def _release_duckdb() -> None:
    try:
        from meshkit.backends.duckdb.dbt_plugin import release_database
    except ImportError:  # dbt-duckdb not installed: nothing is cached
        return
    release_database()


def _count(run: DbtRun, result: Any) -> None:
    results = getattr(result, "results", None) or []
    for r in results:
        node = getattr(r, "node", None)
        rtype = str(getattr(node, "resource_type", ""))
        status = str(getattr(r, "status", ""))
        if rtype.endswith("model"):
            run.models += 1
        elif rtype.endswith("test"):
            run.tests += 1
        elif rtype.endswith("seed"):
            run.seeds += 1
        if status.lower() in ("error", "fail", "runtimeerr"):
            uid = getattr(node, "unique_id", "?")
            run.failed_nodes.append(uid)
            message = getattr(r, "message", None)
            if message:
                run.errors.append(f"{uid}: {message}")
