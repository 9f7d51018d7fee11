"""Engine backends: DuckDB (local work, tests) and Snowflake (production).

Everything the rest of meshkit needs from an engine goes through :class:`Engine`: the
environment its dbt profiles read, a session as a set of roles over the attached domains, the
catalog's warehouse store, row counts, and the capability flags where engines differ. Each
backend is a subpackage (``backends/<engine>/``) that imports the engine-agnostic core (config,
catalog, masking); the core reaches a backend only through :func:`engine_for`, imported on use,
so a DuckDB-only mesh never loads the Snowflake connector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meshkit.errors import UsageError

if TYPE_CHECKING:
    from meshkit import config as cfg
    from meshkit.artifacts import NodeInfo
    from meshkit.backends.duckdb.query import QueryResult
    from meshkit.catalog.store import CatalogStore


@dataclass(frozen=True)
class Capabilities:
    """Where engines differ."""

    # `mesh query`: SQL run in-process as a set of roles over every domain (DuckDB).
    query: bool = False
    # Consumers are kept from everything but the secure views by the engine's grants
    # (Snowflake); without it the views alone mask and filter (DuckDB).
    access_control: bool = False
    # The platform's catalog marts and governance tests are built over the catalog tables.
    catalog_marts: bool = False
    # Row counts and columns of the models as built, read from the warehouse (dbt reports no
    # row counts on DuckDB; a selective build leaves the manifest without its parents' SQL).
    built_relations: bool = False


@dataclass(frozen=True)
class BuiltRelations:
    """What a domain's warehouse says of its models as built, by unique_id."""

    row_counts: Mapping[str, int] = field(default_factory=dict)
    columns: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)


class Engine:
    """One target of mesh.yml on its engine. Subclasses live in ``backends/<engine>/``."""

    capabilities = Capabilities()

    def __init__(self, mesh: cfg.Mesh, name: str, target: Any) -> None:
        self.mesh = mesh
        self.name = name
        self.target = target

    @property
    def local_dir(self) -> Path | None:
        """The folder of the target's files on this machine (databases, the query audit log);
        None for an engine that keeps nothing locally."""
        return None

    def dbt_env(self) -> dict[str, str]:
        """The environment the domains' dbt profiles and packages.yml read."""
        from meshkit.platform_project import platform_env

        root = self.mesh.root
        return {"MESH_ROOT": str(root), "MESH_DATA": str(root / "data" / "raw"), **platform_env()}

    def check_ready(self) -> None:
        """Raise a MeshError naming what is missing before a build starts (e.g. credentials)."""

    def catalog_store(self) -> CatalogStore:
        raise UsageError(f"target {self.name!r} ({self.target.type}) has no mesh_catalog writer yet",
                         file=self.mesh.file,
                         fix="sync against a DuckDB target (e.g. --target dev) for now")

    def built_relations(self, domain: cfg.Domain, nodes: Iterable[NodeInfo]) -> BuiltRelations:
        """The rows and columns of the domain's models as built, where the warehouse tells."""
        return BuiltRelations()

    def require_catalog_database(self) -> None:
        """Raise ArtifactError when no sync has written the catalog's warehouse copy yet."""

    def query(self, sql: str, roles: list[str]) -> QueryResult:
        """Run ``sql`` as ``roles`` over the secure views of every built domain (``query``
        capability); anything else it reads is refused."""
        raise UsageError(f"target {self.name!r} is not a DuckDB target",
                         fix="`mesh query` runs on DuckDB; on Snowflake use any SQL client "
                             "with your role")


def _duckdb(mesh: cfg.Mesh, name: str, target: Any) -> Engine:
    from meshkit.backends.duckdb.engine import DuckDBEngine

    return DuckDBEngine(mesh, name, target)


def _snowflake(mesh: cfg.Mesh, name: str, target: Any) -> Engine:
    from meshkit.backends.snowflake.engine import SnowflakeEngine

    return SnowflakeEngine(mesh, name, target)


# Target ``type`` of mesh.yml -> its engine (imported on use).
ENGINES: dict[str, Callable[[cfg.Mesh, str, Any], Engine]] = {
    "duckdb": _duckdb,
    "snowflake": _snowflake,
}


def engine_for(mesh: cfg.Mesh, target: str | None = None) -> Engine:
    """The engine of the target ``target`` of mesh.yml (default ``dev``)."""
    name, config = mesh.config.target(target)
    factory = ENGINES.get(config.type)
    if factory is None:
        raise UsageError(f"target {name!r}: no backend for type {config.type!r}",
                         file=mesh.file, fix=f"use one of: {', '.join(ENGINES)}")
    return factory(mesh, name, config)


def store_for(mesh: cfg.Mesh, target_name: str | None) -> tuple[str, CatalogStore]:
    """The catalog store of the target ``target_name`` (default ``dev``)."""
    engine = engine_for(mesh, target_name)
    return engine.name, engine.catalog_store()
