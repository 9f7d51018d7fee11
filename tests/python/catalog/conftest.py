"""Fixtures of the catalog tests: the real jaffle_shop artifacts, and a tiny mesh of two real dbt
projects (a producer and a consumer reading it through dbt-loom) built once per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from catalog_support import FIXTURES, REAL_ARTIFACTS, copy_jaffle


@pytest.fixture
def jaffle_mesh(tmp_path: Path) -> Path:
    """A mesh of one domain registered by its artifacts alone: the real jaffle_shop."""
    copy_jaffle(tmp_path / "jaffle_shop")
    (tmp_path / "mesh.yml").write_text(yaml.safe_dump({
        "name": "jaffle_mesh",
        "domains": [{"name": "jaffle_shop", "artifacts": "jaffle_shop",
                     "owner": {"name": "Jaffle Team"}, "description": "Built elsewhere.",
                     "reads_as": []}],
    }, sort_keys=False))
    return tmp_path / "mesh.yml"


@contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _dbt(project: Path, *args: str) -> None:
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke([*args, "--project-dir", str(project),
                                 "--profiles-dir", str(project.parent), "--quiet"])
    assert result.success, f"dbt {' '.join(args)} failed in {project}: {result.exception}"


def _build(project: Path) -> None:
    _dbt(project, "seed")
    _dbt(project, "build")
    # `dbt docs generate` (for catalog.json) overwrites the build's run_results.json.
    build_results = (project / "target" / "run_results.json").read_bytes()
    _dbt(project, "docs", "generate")
    (project / "target" / "run_results.json").write_bytes(build_results)


@pytest.fixture(scope="session")
def built_mesh_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture mesh, built with real dbt once per session (do not write into it)."""
    root = tmp_path_factory.mktemp("fixture_mesh")
    shutil.copytree(FIXTURES, root, dirs_exist_ok=True)
    (root / "warehouse").mkdir()
    with _env(MESH_WAREHOUSE=str(root / "warehouse"), MESH_FIXTURE_ROOT=str(root),
              DBT_LOOM_CONFIG=str(root / "no_loom_config.yml")):
        _build(root / "fx_bank")
    with _env(MESH_WAREHOUSE=str(root / "warehouse"), MESH_FIXTURE_ROOT=str(root),
              DBT_LOOM_CONFIG=str(root / "fx_risk" / "dbt_loom.config.yml")):
        _build(root / "fx_risk")
    if REAL_ARTIFACTS.is_dir():
        copy_jaffle(root / "jaffle_shop")
    else:  # still test the two dbt projects without the shared artifacts
        mesh = yaml.safe_load((root / "mesh.yml").read_text())
        mesh["domains"] = [d for d in mesh["domains"] if d["name"] != "jaffle_shop"]
        (root / "mesh.yml").write_text(yaml.safe_dump(mesh, sort_keys=False))
    return root


@pytest.fixture
def fixture_mesh(built_mesh_template: Path, tmp_path: Path) -> Path:
    """A private copy of the built fixture mesh; returns its mesh.yml."""
    dest = tmp_path / "mesh"
    shutil.copytree(built_mesh_template, dest)
    return dest / "mesh.yml"
