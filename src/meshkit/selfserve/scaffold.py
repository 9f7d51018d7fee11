"""`mesh init`, `mesh new domain`, `mesh new product`: a new mesh and the dbt projects in it,
wired to the platform as installed with meshkit, each building clean at once."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from meshkit.config import IDENTIFIER, Mesh, domain_name_problem, is_identifier
from meshkit.errors import UsageError
from meshkit.selfserve import meshfile
from meshkit.selfserve.render import Written, render, render_tree, write_new

EXAMPLE_DATA = "records.csv"
EXAMPLE_STAGING = "stg_records"
PLATFORM_PROJECT = "mesh_platform"


def _identifier(value: str, what: str) -> str:
    if not is_identifier(value):
        raise UsageError(f"{what} {value!r} is not a lowercase identifier",
                         fix="use letters, digits and underscores, starting with a letter "
                             f"(pattern {IDENTIFIER})")
    return value


def default_name(folder: Path) -> str:
    """A mesh name from its folder's name.

    >>> default_name(Path("/tmp/My Mesh-2"))
    'my_mesh_2'
    """
    name = re.sub(r"[^a-z0-9_]+", "_", folder.name.lower()).strip("_")
    return name if is_identifier(name) else f"mesh_{name}" if name else "mesh"


# --- the platform ---------------------------------------------------------------------------


def policy_local_path(mesh: Mesh, project: Path) -> str:
    """The ``local:`` path of the mesh's policy package in a domain's packages.yml (the
    platform itself is found through ``MESH_PLATFORM``, :mod:`meshkit.platform_project`)."""
    from meshkit.masking import POLICY_PACKAGE

    return os.path.relpath(mesh.root / POLICY_PACKAGE, project)


# --- mesh init ------------------------------------------------------------------------------


def init_mesh(folder: Path, name: str | None = None, description: str | None = None) -> Written:
    """A new, empty mesh in ``folder`` (which may exist, empty)."""
    folder = folder.resolve()
    if folder.exists() and any(folder.iterdir()):
        raise UsageError("the folder is not empty", file=folder,
                         fix="give a new or empty folder to `mesh init`")
    name = _identifier(name or default_name(folder), "mesh name")
    files = render_tree("mesh", name=name,
                        description=description or f"The {name} data mesh.")
    files[".gitignore"] = files.pop("gitignore")
    files["warehouse/.gitkeep"] = ""
    files["domains/README.md"] = (
        "# Domains\n\nOne dbt project per domain: `mesh new domain NAME --owner EMAIL` adds one, "
        "`mesh onboard PATH` brings an existing dbt project in.\n")
    written = Written()
    write_new(folder, files, written)
    return written


# --- mesh new domain ------------------------------------------------------------------------


def new_domain(mesh: Mesh, name: str, owner_email: str, *, owner_name: str | None = None,
               description: str = "", reads: list[str] | None = None,
               path: Path | None = None) -> Written:
    """A domain dbt project wired to the platform, registered in mesh.yml."""
    problem = domain_name_problem(name)
    if problem is not None:
        raise UsageError(f"domain name {problem}", fix="choose another name")
    if any(d.name == name for d in mesh.config.domains):
        raise UsageError(f"domain {name!r} is already in the mesh", file=mesh.file,
                         location="domains", fix="choose another name")
    if "@" not in owner_email:
        raise UsageError(f"owner {owner_email!r} is not an email address",
                         fix="pass --owner someone@example.com")
    reads = list(reads or [])
    for producer in reads:
        mesh.config.domain(producer)  # an unknown name fails with did-you-mean
    rel = path or Path("domains") / name
    project = (mesh.root / rel).resolve()
    if project.exists() and any(project.iterdir()):
        raise UsageError("the domain folder exists and is not empty", file=project,
                         fix="choose another name, or `mesh onboard` an existing dbt project")
    manifest_paths = {p: os.path.relpath(_manifest_of(mesh, p), project) for p in reads}
    context: dict[str, Any] = {
        "name": name, "profile": name, "reads": reads, "manifest_paths": manifest_paths,
        "warehouse_default": os.path.relpath(_warehouse(mesh), project),
        "data_default": os.path.relpath(mesh.root / "data" / "raw", project),
        "policy": policy_local_path(mesh, project),
    }
    files = render_tree("domain", **context)
    example = files.pop(f"data/{EXAMPLE_DATA}")
    written = Written()
    write_new(project, files, written)
    data = mesh.root / "data" / "raw" / name / EXAMPLE_DATA
    if not data.exists():
        write_new(data.parent, {data.name: example}, written)
    meshfile.add_domain(mesh, {
        "name": name, "path": os.path.relpath(project, mesh.root),
        "owner": {"name": owner_name or f"{name} domain team", "email": owner_email},
        "description": description or f"TODO: what the {name} domain owns.",
    })
    written.changed.append(mesh.file)
    return written


def _warehouse(mesh: Mesh) -> Path:
    from meshkit.config import DuckDBTarget

    for target in mesh.config.targets.values():
        if isinstance(target, DuckDBTarget):
            return (mesh.root / target.path).resolve()
    return (mesh.root / "warehouse").resolve()


def _manifest_of(mesh: Mesh, domain: str) -> Path:
    return mesh.artifacts_path(mesh.config.domain(domain)) / "manifest.json"


# --- mesh new product -----------------------------------------------------------------------


PRODUCT_COLUMNS_FROM_STAGING = [
    {"name": "record_id", "data_type": "integer", "description": "The record's key.",
     "tests": ["unique", "not_null"], "classification": "public", "regulations": []},
    {"name": "record_type", "data_type": "varchar", "description": "purchase or refund.",
     "tests": ["not_null"], "classification": "internal", "regulations": []},
    {"name": "contact_email", "data_type": "varchar",
     "description": "Who to contact about the record (personal data: masked unless cleared).",
     "tests": [], "classification": "pii", "regulations": ["gdpr"]},
    {"name": "amount", "data_type": "decimal(12, 2)", "description": "The amount, in USD.",
     "tests": [], "classification": "confidential", "regulations": []},
    {"name": "recorded_at", "data_type": "timestamp", "description": "When it happened.",
     "tests": [], "classification": "internal", "regulations": []},
]


def _literal_columns(dataset: str) -> list[dict[str, Any]]:
    columns = [dict(c) for c in PRODUCT_COLUMNS_FROM_STAGING]
    columns[0].update(name=f"{dataset}_id", description="The row's key.")
    columns[1].update(name="label", description="TODO", tests=["not_null"])
    columns[2]["tests"] = []
    return columns


def new_product(mesh: Mesh, domain_name: str, product: str, *, dataset: str | None = None,
                owner_email: str | None = None, owner_name: str | None = None) -> Written:
    """A data product in a domain: a group with its owner and metadata to fill in, and one
    public dataset with an enforced contract, classified columns and tests."""
    domain = mesh.config.domain(domain_name)
    project = mesh.domain_path(domain)
    if project is None:
        raise UsageError(f"domain {domain_name!r} is registered by artifacts; its dbt project "
                         "lives elsewhere", fix="add the product in that project")
    _identifier(product, "product name")
    dataset = _identifier(dataset or product, "dataset name")
    taken = _names_in_project(project)
    for kind, value in (("group", product), ("model", dataset)):
        if value in taken[kind]:
            raise UsageError(f"the project already has a {kind} named {value!r}",
                             file=project, fix="choose another name")
    staging = EXAMPLE_STAGING if EXAMPLE_STAGING in taken["model"] else None
    columns = [dict(c) for c in (PRODUCT_COLUMNS_FROM_STAGING if staging
                                 else _literal_columns(dataset))]
    # The example personal column is GDPR data: regulation.gdpr wants a retention and EU rows
    # filtered, so the first build passes the mesh's policies. The filter is the mesh's own
    # restricting EU rows, on a column of its name added to the dataset.
    eu_filter = next(((name, rf.column) for name, rf in sorted(mesh.config.row_filters.items())
                      if "eu" in {str(v).lower() for v in rf.restricted_values}), None)
    if eu_filter is not None and eu_filter[1] not in {c["name"] for c in columns}:
        columns.insert(-1, {
            "name": eu_filter[1], "data_type": "varchar",
            "description": "Where the person resides (EU rows are shown only to roles cleared "
                           "for them).", "tests": [], "classification": "internal",
            "regulations": [], "value": "US"})
    context = {
        "domain": domain.name, "product": product, "dataset": dataset, "staging": staging,
        "row_filter": eu_filter[0] if eu_filter else None,
        "owner_email": owner_email or domain.owner.email or "TODO@example.com",
        "owner_name": owner_name or domain.owner.name, "columns": columns,
    }
    folder = project / "models" / "marts" / product
    written = Written()
    write_new(folder, {
        f"_{product}.yml": render("product/product.yml.j2", **context),
        f"{dataset}.sql": render("product/product.sql.j2", **context),
    }, written)
    return written


def _names_in_project(project: Path) -> dict[str, set[str]]:
    """Group and model names the project declares (from its YAML and SQL files)."""
    names: dict[str, set[str]] = {"group": set(), "model": set()}
    models = project / "models"
    for sql in models.rglob("*.sql"):
        names["model"].add(sql.stem)
    for yml in [*models.rglob("*.yml"), *models.rglob("*.yaml")]:
        try:
            data = yaml.safe_load(yml.read_text()) or {}
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        if not isinstance(data, dict):
            continue
        for kind, key in (("group", "groups"), ("model", "models")):
            for entry in data.get(key) or ():
                if isinstance(entry, dict) and entry.get("name"):
                    names[kind].add(str(entry["name"]))
    return names

