"""`mesh onboard`: an existing dbt project becomes a domain in one command.

What the platform needs is added around the project, never in its models: the platform package
(packages.yml), profiles for both targets (profiles.yml; an existing one is kept beside it), the
macro shim, the platform's models disabled (dbt_project.yml), and its dbt-loom manifests named
after the mesh's domains. What the project still lacks to publish data products is reported as
check-engine violations with their fixes (:mod:`meshkit.selfserve.readiness`).

A project built elsewhere is registered from its artifacts alone (``--artifacts``): its models
appear in the catalog as ad-hoc data until it declares products.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meshkit.artifacts import MANIFEST, LocalArtifacts, read_domain_artifacts
from meshkit.config import Mesh, is_identifier, load_mesh
from meshkit.errors import ConfigError, UsageError
from meshkit.files import read_text
from meshkit.selfserve import meshfile
from meshkit.selfserve.render import Written, render, write_new, write_text
from meshkit.selfserve.scaffold import PLATFORM_PROJECT, _warehouse, policy_local_path

LOOM_CONFIG = "dbt_loom.config.yml"
SHIM_FILE = "_mesh_platform.sql"
PROFILES_BACKUP = "profiles.yml.pre-mesh"
_TWO_ARG_REF = re.compile(r"""\bref\(\s*['"]([A-Za-z_][\w]*)['"]\s*,""")
_GENERATE_SCHEMA = re.compile(r"\{%-?\s*macro\s+generate_schema_name\s*\(")


@dataclass
class OnboardResult:
    """What onboarding did: the domain registered, the files written, the readiness report."""

    domain: str
    mesh: Mesh
    written: Written
    report: Any = None  # a meshkit.checks CheckReport
    reads: list[str] = field(default_factory=list)


def onboard(mesh: Mesh, path: Path | None = None, *, artifacts: Path | None = None,
            owner_email: str | None = None, owner_name: str | None = None,
            description: str = "", parse: bool = True) -> OnboardResult:
    """Register the dbt project at ``path`` (or the artifacts at ``artifacts``) as a domain."""
    if (path is None) == (artifacts is None):
        raise UsageError("give a dbt project folder or --artifacts DIR (one of the two)",
                         fix="mesh onboard PATH/TO/PROJECT, or mesh onboard --artifacts DIR")
    if artifacts is not None:
        return _onboard_artifacts(mesh, artifacts.resolve(), owner_email, owner_name, description)
    assert path is not None
    return _onboard_project(mesh, path.resolve(), owner_email, owner_name, description, parse)


def _owner(name: str, owner_email: str | None, owner_name: str | None) -> dict[str, str]:
    owner = {"name": owner_name or f"{name} domain team"}
    if owner_email:
        if "@" not in owner_email:
            raise UsageError(f"owner {owner_email!r} is not an email address",
                             fix="pass --owner someone@example.com")
        owner["email"] = owner_email
    return owner


def _check_new_name(mesh: Mesh, name: str, file: Path) -> None:
    if not is_identifier(name):
        raise ConfigError(f"the dbt project name {name!r} cannot be a domain name", file=file,
                          location="name", fix="rename the project to a lowercase identifier "
                                               "(letters, digits, underscores)")
    if any(d.name == name for d in mesh.config.domains):
        raise UsageError(f"a domain named {name!r} is already in the mesh", file=mesh.file,
                         location="domains", fix="it is onboarded already; `mesh build` builds it")


# --- by artifacts ---------------------------------------------------------------------------


def _onboard_artifacts(mesh: Mesh, folder: Path, owner_email: str | None,
                       owner_name: str | None, description: str) -> OnboardResult:
    if not (folder / MANIFEST).is_file():
        variants = sorted(p.name for p in folder.glob("manifest*.json")) if folder.is_dir() else []
        fix = (f"copy {variants[-1]} to {MANIFEST} (meshkit reads dbt's own file names)"
               if variants else "point --artifacts at a dbt target/ folder (manifest.json, "
                                "run_results.json, catalog.json)")
        raise UsageError("no dbt manifest in the artifacts folder", file=folder / MANIFEST,
                         fix=fix)
    arts = read_domain_artifacts(LocalArtifacts(folder))
    name = arts.project_name
    _check_new_name(mesh, name, folder / MANIFEST)
    updated = meshfile.add_domain(mesh, {
        "name": name, "artifacts": os.path.relpath(folder, mesh.root),
        "owner": _owner(name, owner_email, owner_name),
        "description": description or f"Onboarded from the artifacts of dbt project {name}.",
    })
    written = Written(changed=[mesh.file])
    result = OnboardResult(domain=name, mesh=updated, written=written)
    result.report = _readiness(updated, name, arts)
    return result


# --- a dbt project --------------------------------------------------------------------------


def _onboard_project(mesh: Mesh, project: Path, owner_email: str | None, owner_name: str | None,
                     description: str, parse: bool) -> OnboardResult:
    project_file = project / "dbt_project.yml"
    if not project_file.is_file():
        raise UsageError("not a dbt project: no dbt_project.yml", file=project_file,
                         fix="give the folder that holds the project's dbt_project.yml")
    settings = _read_yaml(project_file)
    name = str(settings.get("name") or "")
    _check_new_name(mesh, name, project_file)
    profile = str(settings.get("profile") or name)
    written = Written()
    reads = _rewrite_loom_config(mesh, project, written)
    _write_profiles(mesh, project, name, profile, reads, written)
    _add_platform_package(mesh, project, written)
    _add_schema_shim(project, settings, written)
    _disable_platform_models(project_file, written)
    updated = meshfile.add_domain(mesh, {
        "name": name, "path": os.path.relpath(project, mesh.root),
        "owner": _owner(name, owner_email, owner_name),
        "description": description or f"Onboarded dbt project {name}.",
    })
    written.changed.append(mesh.file)
    result = OnboardResult(domain=name, mesh=updated, written=written, reads=reads)
    arts = _parse(updated, name, written) if parse else None
    result.report = _readiness(updated, name, arts)
    return result


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(read_text(file)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=file, fix="correct the YAML") from None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping", file=file, fix="correct the file")
    return data


def _project_name_at(folder: Path) -> str | None:
    file = folder / "dbt_project.yml"
    if file.is_file():
        try:
            data = yaml.safe_load(file.read_text()) or {}
        except (yaml.YAMLError, UnicodeDecodeError):
            return None
        return str(data.get("name")) if isinstance(data, dict) and data.get("name") else None
    return None


def _domain_of_manifest(mesh: Mesh, manifest: Path) -> str | None:
    """The mesh domain whose manifest ``manifest`` is: by location, else by project name."""
    for d in mesh.config.domains:
        if (mesh.artifacts_path(d) / MANIFEST).resolve() == manifest.resolve():
            return d.name
    names = {d.name for d in mesh.config.domains}
    if manifest.is_file():
        try:
            import orjson

            project = orjson.loads(manifest.read_bytes()).get("metadata", {}).get("project_name")
        except (OSError, ValueError):
            project = None
        if project in names:
            return str(project)
    # ../<project>/target/manifest.json of a project not built yet: its dbt_project.yml
    project = _project_name_at(manifest.parent.parent)
    return project if project in names else None


def _rewrite_loom_config(mesh: Mesh, project: Path, written: Written) -> list[str]:
    """Name each dbt-loom manifest after its mesh domain; drop optional entries the project
    never refs (an unused optional upstream can make a cycle of domains). Returns the domains
    read."""
    file = project / LOOM_CONFIG
    if not file.is_file():
        return []
    doc = meshfile.load_document(file)
    entries = (doc or {}).get("manifests") or []
    used = _cross_project_refs(project)
    reads: list[str] = []
    keep = []
    for entry in entries:
        label = str(entry.get("name"))
        config = entry.get("config") or {}
        kind = str(entry.get("type") or "file")
        domain = None
        if kind == "file" and config.get("path"):
            domain = _domain_of_manifest(mesh, (project / str(config["path"])).resolve())
        if domain is None:
            if entry.get("optional") or label not in used:
                written.notes.append(f"{LOOM_CONFIG}: removed manifest {label!r}: not a domain "
                                     "of the mesh and not read by the project's models")
                continue
            raise UsageError(
                f"the project reads {label!r} (dbt-loom manifest), which is not a domain of the mesh",
                file=file, location=f"manifests.{label}",
                fix=f"onboard {label!r} first (`mesh onboard PATH`), then onboard this project")
        if domain not in used and entry.get("optional"):
            written.notes.append(f"{LOOM_CONFIG}: removed optional manifest {label!r}: the "
                                 "project's models never ref it")
            continue
        if label != domain:
            entry["name"] = domain
            written.notes.append(f"{LOOM_CONFIG}: manifest {label!r} renamed to the domain "
                                 f"{domain!r}")
        if kind == "file":
            # `mesh build` runs dbt in the project folder: keep the path relative to it.
            config["path"] = os.path.relpath(mesh.artifacts_path(mesh.config.domain(domain))
                                             / MANIFEST, project)
        keep.append(entry)
        reads.append(domain)
    if len(keep) != len(entries) or written.notes:
        entries[:] = keep
        write_text(file, meshfile.dump_document(doc))
        written.changed.append(file)
    return sorted(set(reads))


def _cross_project_refs(project: Path) -> set[str]:
    """Project names the models ref with two-argument refs (``ref('other', 'model')``)."""
    found: set[str] = set()
    for sql in project.rglob("*.sql"):
        if any(part in ("target", "dbt_packages", "logs") for part in sql.parts):
            continue
        found.update(_TWO_ARG_REF.findall(sql.read_text(errors="replace")))
    return found


def _write_profiles(mesh: Mesh, project: Path, name: str, profile: str, reads: list[str],
                    written: Written) -> None:
    file = project / "profiles.yml"
    text = render("domain/profiles.yml.j2", name=name, profile=profile, reads=reads,
                  warehouse_default=os.path.relpath(_warehouse(mesh), project))
    if file.is_file():
        if file.read_text() == text:
            return
        backup = project / PROFILES_BACKUP
        os.replace(file, backup)
        written.notes.append(f"the project's own profiles.yml is kept as {PROFILES_BACKUP}")
        written.changed.append(file)
    else:
        written.created.append(file)
    write_text(file, text)


PLATFORM_ENTRY = "{{ env_var('MESH_PLATFORM') }}"


def _add_platform_package(mesh: Mesh, project: Path, written: Written) -> None:
    """packages.yml installs the platform (through ``MESH_PLATFORM``) and the mesh's policy."""
    from meshkit.masking import POLICY_PACKAGE

    file = project / "packages.yml"
    policy = policy_local_path(mesh, project)
    if not file.is_file():
        write_new(project, {"packages.yml": render("domain/packages.yml.j2", policy=policy)},
                  written)
        return
    doc = meshfile.load_document(file) or {}
    packages = doc.setdefault("packages", [])
    locals_ = [str(entry["local"]) for entry in packages if "local" in entry]
    wanted = []
    if not any("MESH_PLATFORM" in local for local in locals_):
        wanted.append(PLATFORM_ENTRY)
    if not any((project / local).resolve() == (mesh.root / POLICY_PACKAGE).resolve()
               for local in locals_ if "{{" not in local):
        wanted.append(policy)
    if not wanted:
        return
    from ruamel.yaml.comments import CommentedMap

    for local in wanted:
        packages.append(CommentedMap(local=local))
    write_text(file, meshfile.dump_document(doc))
    written.changed.append(file)


def _add_schema_shim(project: Path, settings: dict[str, Any], written: Written) -> None:
    """The one-line generate_schema_name delegating to the platform, unless the project has its
    own (then the readiness report says to delegate it)."""
    macro_dirs = [project / str(p) for p in settings.get("macro-paths") or ["macros"]]
    for folder in macro_dirs:
        for sql in folder.rglob("*.sql") if folder.is_dir() else ():
            if _GENERATE_SCHEMA.search(sql.read_text(errors="replace")):
                if "mesh_platform.generate_schema_name" not in sql.read_text(errors="replace"):
                    written.notes.append(
                        f"{sql.relative_to(project)} defines its own generate_schema_name: make "
                        "it return mesh_platform.generate_schema_name(custom_schema_name, node) "
                        "so products land in their own schema")
                return
    from meshkit.selfserve.render import template_text

    write_new(macro_dirs[0], {SHIM_FILE: template_text("domain/macros/mesh.sql")}, written)


def _disable_platform_models(project_file: Path, written: Written) -> None:
    """``models: mesh_platform: +enabled: false``: the platform's catalog marts are built at the
    mesh root, never inside a domain."""
    from ruamel.yaml.comments import CommentedMap

    doc = meshfile.load_document(project_file)
    models = doc.get("models")
    if models is None:
        models = CommentedMap()
        doc["models"] = models
    current = models.get(PLATFORM_PROJECT)
    if isinstance(current, dict) and current.get("+enabled") is False:
        return
    models.insert(0, PLATFORM_PROJECT, CommentedMap({"+enabled": False}))
    write_text(project_file, meshfile.dump_document(doc))
    written.changed.append(project_file)


def _parse(mesh: Mesh, name: str, written: Written) -> Any:
    """``dbt deps`` and ``dbt parse`` of the onboarded project, for the readiness report (and
    for the domains that read it: its target/manifest.json is what their dbt-loom loads)."""
    from meshkit.build import dbt_env, ensure_deps
    from meshkit.dbt_runner import run_dbt
    from meshkit.masking import write_policy_macro

    domain = mesh.config.domain(name)
    project = mesh.domain_path(domain)
    assert project is not None
    write_policy_macro(mesh)  # the mesh_policy package the domain's packages.yml installs
    env = dbt_env(mesh, "dev")
    for command in (["deps"], ["parse"]):
        run = ensure_deps(project, env) if command == ["deps"] else run_dbt(project, command,
                                                                            env=env)
        if run is not None and not run.success:
            written.notes.append(f"`dbt {command[0]}` failed, so the readiness report is "
                                 f"incomplete: {'; '.join(run.errors)[:400]}")
            return None
    return read_domain_artifacts(LocalArtifacts(mesh.artifacts_path(domain)))


def _readiness(mesh: Mesh, name: str, arts: Any) -> Any:
    if arts is None:
        return None
    from meshkit.checks import CheckContext, run_checks
    from meshkit.selfserve.readiness import readiness_rules

    ctx = CheckContext(mesh, domains=[name], artifacts={name: arts})
    return run_checks(ctx, readiness_rules())


def reload(mesh: Mesh) -> Mesh:
    return load_mesh(mesh.file)
