"""The root dbt project ``mesh_platform``: building the catalog marts and governance tests.

The root project (``dbt_project.yml`` at the mesh root, its profile in ``profiles/``) reads the
``mesh_catalog`` tables that ``mesh-sync`` writes and builds the analysts' marts
(``marts.mesh_products``, ``mesh_datasets``, ``mesh_classified_columns``,
``mesh_cross_domain_lineage``) beside them, in the same database, then runs its data tests:
key tests on the models and the governance rules in ``tests/dbt/`` (each returns the violating
rows). So it runs after a sync, never before.
"""

from __future__ import annotations

from meshkit.build import dbt_env
from meshkit.catalog.store import SCHEMA
from meshkit.config import DuckDBTarget, Mesh
from meshkit.dbt_runner import DbtRun, run_dbt
from meshkit.errors import ArtifactError

PROJECT_FILE = "dbt_project.yml"
PROFILES_DIR = "profiles"


def build_catalog_marts(mesh: Mesh, target: str | None = None) -> DbtRun | None:
    """``dbt build`` of the root project over the catalog of ``target`` (default ``dev``).

    Returns what dbt did; ``success`` is False when a model or a test failed (a governance
    violation included), with the failing nodes in ``failed_nodes``. No ``dbt deps``: the root
    project has no packages.

    Returns None, building nothing, when
    - the target is not DuckDB: the root profile (``profiles/profiles.yml``) has only a DuckDB
      output, over ``$MESH_WAREHOUSE/mesh_catalog.duckdb``; the Snowflake catalog lives in the
      governance database and the marts are not built there yet;
    - the mesh has no root dbt project (a mesh.yml alone, registering domains by artifacts).

    The root profile's one output is used whatever the mesh target is called: the target only
    chooses the warehouse folder, through ``MESH_WAREHOUSE`` (:func:`meshkit.build.dbt_env`).
    Raises :class:`ArtifactError` when no sync has written the catalog database yet.
    """
    name, mesh_target = mesh.config.target(target)
    if not isinstance(mesh_target, DuckDBTarget):
        return None
    if not (mesh.root / PROJECT_FILE).is_file():
        return None
    env = dbt_env(mesh, name)
    database = (mesh.root / mesh_target.path / f"{SCHEMA}.duckdb").resolve()
    if not database.is_file():
        raise ArtifactError(f"no catalog database for target {name!r}", file=database,
                            fix=f"run `mesh-sync --target {name}` first")
    return run_dbt(mesh.root, ["build"], env=env, profiles_dir=mesh.root / PROFILES_DIR)
