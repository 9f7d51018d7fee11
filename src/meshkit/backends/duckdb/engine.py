"""The DuckDB engine: one ``<domain>.duckdb`` file per domain in the target's folder."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from meshkit import config as cfg
from meshkit.backends import BuiltRelations, Capabilities, Engine

if TYPE_CHECKING:
    from meshkit.artifacts import NodeInfo
    from meshkit.backends.duckdb.catalog_store import DuckDBCatalogStore
    from meshkit.backends.duckdb.query import QueryResult


class DuckDBEngine(Engine):
    # DuckDB has no access control: masking and filtering are the views' alone, and anyone
    # who opens the files can read `internal` (README, known limits).
    capabilities = Capabilities(query=True, access_control=False, catalog_marts=True,
                                built_relations=True)
    target: cfg.DuckDBTarget

    @property
    def warehouse(self) -> Path:
        """The folder of the domains' database files."""
        return (self.mesh.root / self.target.path).resolve()

    @property
    def local_dir(self) -> Path:
        return self.warehouse

    def database(self, name: str) -> Path:
        return self.warehouse / f"{name}.duckdb"

    def dbt_env(self) -> dict[str, str]:
        self.warehouse.mkdir(parents=True, exist_ok=True)
        return {**super().dbt_env(), "MESH_WAREHOUSE": str(self.warehouse)}

    def catalog_store(self) -> DuckDBCatalogStore:
        from meshkit.backends.duckdb.catalog_store import DuckDBCatalogStore
        from meshkit.catalog.store import SCHEMA

        return DuckDBCatalogStore(self.database(SCHEMA))

    def require_catalog_database(self) -> None:
        from meshkit.catalog.store import SCHEMA
        from meshkit.errors import ArtifactError

        database = self.database(SCHEMA)
        if not database.is_file():
            raise ArtifactError(f"no catalog database for target {self.name!r}", file=database,
                                fix=f"run `mesh-sync --target {self.name}` first")

    def built_relations(self, domain: cfg.Domain, nodes: Iterable[NodeInfo]) -> BuiltRelations:
        from meshkit.backends.duckdb.built_relations import duckdb_built_relations

        return duckdb_built_relations(self.database(domain.name), nodes)

    def query(self, sql: str, roles: list[str]) -> QueryResult:
        from meshkit.backends.duckdb.query import query

        return query(self.mesh, sql, roles, self.name)
