"""What `mesh query` needs of mesh.yml, read without the pydantic models of :mod:`meshkit.config`.

A query needs little of mesh.yml: its target's warehouse folder, the domains (their database files
and where their manifests are) and the role names (to refuse an unknown one). Importing and
validating the models costs a query more than DuckDB does, so a query reads these values from
mesh.yml itself with libyaml, but only when the mesh.yml bytes are ones a full load has validated:
every full load that builds, generates or queries writes the SHA-256 of the bytes it validated to
``<warehouse>/mesh_query.json``. Anything else (mesh.yml edited since, the file missing, damaged or
written for another mesh file, a shape the read does not expect, or access requests to resolve,
which need the models' role graph) is a full load, which validates the current mesh.yml (an
invalid one is refused as always) and records it.

The values always come from mesh.yml as it is now, never from a file written earlier: a stale or
forged ``mesh_query.json`` can at most spare the validation of bytes whose values then apply as
they are, so it widens nothing. The secure views come, as before, from the domains' current
manifests; the clearances from the governance database.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meshkit.config import Mesh

FILE = "mesh_query.json"
FORMAT = 1
# As meshkit.config declares them: a name's pattern, the targets and a DuckDB target's folder
# when mesh.yml gives none (the light read and the models must agree; a test compares them).
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
DEFAULT_TARGETS: dict[str, Any] = {"dev": {"type": "duckdb"}}
DEFAULT_WAREHOUSE = "warehouse"
# Beside mesh.yml: access requests, whose grants the light read does not resolve.
ACCESS_REQUESTS = Path("access") / "requests.yml"


@dataclass(frozen=True)
class QueryConfig:
    """The values of mesh.yml a query on one DuckDB target uses."""

    file: Path  # mesh.yml, resolved
    name: str
    target: str
    warehouse: Path  # resolved
    domains: tuple[tuple[str, Path], ...]  # (name, artifacts folder), in mesh.yml's order
    roles: tuple[str, ...]  # every role name, the domains' own included

    @property
    def root(self) -> Path:
        return self.file.parent

    @classmethod
    def of(cls, mesh: Mesh, target: str | None = None) -> QueryConfig:
        """From a loaded mesh (an unknown or non-DuckDB target: a typed error, exit 2)."""
        from meshkit.backends.duckdb.query import warehouse_dir

        name, _ = mesh.config.target(target)
        config = mesh.config
        return cls(file=mesh.file, name=config.name, target=name,
                   warehouse=warehouse_dir(mesh, target),
                   domains=tuple((d.name, mesh.artifacts_path(d)) for d in config.domains),
                   roles=tuple(config.all_role_names))


def write(mesh: Mesh, warehouse: Path) -> Path | None:
    """Record in ``warehouse`` that the bytes ``mesh`` was loaded from are valid; None for a mesh
    not loaded from a file (nothing to vouch for)."""
    from meshkit.files import write_if_changed

    if not mesh.source_sha256:
        return None
    path = warehouse / FILE
    data = {"format": FORMAT, "mesh_file": str(mesh.file), "mesh_sha256": mesh.source_sha256}
    write_if_changed(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


def read(mesh_file: Path, target: str | None = None) -> QueryConfig | None:
    """The values of the current ``mesh_file`` for a query of ``target``, if a full load has
    validated these very bytes; None means: make the full load."""
    file = mesh_file.resolve()
    try:
        source = file.read_bytes()
    except OSError:
        return None
    if (file.parent / ACCESS_REQUESTS).exists():
        return None
    try:
        config = _derive(_yaml(source), file, target or "dev")
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if config is None or not _validated(config.warehouse / FILE, file, source):
        return None
    return config


def _yaml(source: bytes) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it
    try:
        return yaml.load(source, Loader=loader)
    except yaml.YAMLError as exc:
        raise ValueError("not YAML") from exc


def _derive(data: Any, file: Path, target: str) -> QueryConfig | None:
    """What :meth:`QueryConfig.of` derives from the models, from mesh.yml's plain data; None for
    a target that is not DuckDB (the full load says why)."""
    root = file.parent
    entry = data.get("targets", DEFAULT_TARGETS)[target]
    if entry.get("type") != "duckdb":
        return None
    warehouse = (root / _string(entry.get("path", DEFAULT_WAREHOUSE))).resolve()
    domains: list[tuple[str, Path]] = []
    own_roles: list[str] = []
    for domain in data["domains"]:
        name = _name(domain["name"])
        path, artifacts = domain.get("path"), domain.get("artifacts")
        if (path is None) == (artifacts is None):
            raise ValueError("path or artifacts")
        folder = root / _string(artifacts) if artifacts is not None else root / _string(path) / "target"
        domains.append((name, folder.resolve()))
        own_roles += [f"{name}_engineer", f"{name}_owner"]
    roles = [_name(r["name"]) for r in data.get("roles") or []]
    return QueryConfig(file=file, name=_name(data["name"]), target=target, warehouse=warehouse,
                       domains=tuple(domains), roles=tuple(roles + own_roles))


def _validated(record: Path, file: Path, source: bytes) -> bool:
    try:
        data = json.loads(record.read_bytes())
    except (OSError, ValueError):
        return False
    return (isinstance(data, dict) and data.get("format") == FORMAT
            and data.get("mesh_file") == str(file)
            and data.get("mesh_sha256") == hashlib.sha256(source).hexdigest())


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _name(value: Any) -> str:
    if not IDENTIFIER.match(_string(value)):
        raise ValueError("not an identifier")
    return value  # type: ignore[no-any-return]
