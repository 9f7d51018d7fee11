"""Engine backends: DuckDB (local work, tests) and Snowflake (production).

Each backend is a subpackage that imports the engine-agnostic core (config, catalog, masking);
the core never imports a backend at module level, so there is no cycle and a DuckDB-only mesh
never loads the Snowflake connector.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from meshkit import config as cfg
from meshkit.catalog.store import CatalogStore
from meshkit.errors import UsageError


def _duckdb_store(mesh: cfg.Mesh, target: Any) -> CatalogStore:
    from meshkit.backends.duckdb.catalog_store import duckdb_store

    return duckdb_store(mesh, target)


def _snowflake_store(mesh: cfg.Mesh, target: Any) -> CatalogStore:
    # Imported on use: the Snowflake connector is heavy and only prod syncs need it.
    from meshkit.backends.snowflake.catalog_store import snowflake_store

    return snowflake_store(mesh, target)


# Target type → factory of its catalog store.
CATALOG_STORES: dict[str, Callable[[cfg.Mesh, Any], CatalogStore]] = {
    "duckdb": _duckdb_store,
    "snowflake": _snowflake_store,
}


def store_for(mesh: cfg.Mesh, target_name: str | None) -> tuple[str, CatalogStore]:
    """The catalog store of the target ``target_name`` (default ``dev``)."""
    name, target = mesh.config.target(target_name)
    factory = CATALOG_STORES.get(target.type)
    if factory is None:
        raise UsageError(
            f"target {name!r} ({target.type}) has no mesh_catalog writer yet",
            file=mesh.file, fix="sync against a DuckDB target (e.g. --target dev) for now",
        )
    return name, factory(mesh, target)
