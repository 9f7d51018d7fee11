"""Paths and helpers shared by the tests (importable: pytest puts tests/python on the path)."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
# A mesh: its mesh.yml, its generated policy package, its domains and its governance folder (the
# platform dbt project is used where meshkit installs it, never copied).
MESH_FILES = ("mesh.yml",)
MESH_DIRS = ("mesh_policy", "domains", "governance")
IGNORE = shutil.ignore_patterns("target", "dbt_packages", "logs", "*.duckdb", "*.wal",
                                "package-lock.yml", ".user.yml")


def copy_mesh(dest: Path, src: Path = REPO) -> Path:
    """Copy a mesh (its config, policy package and domains) to ``dest``; returns mesh.yml."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in MESH_FILES:
        shutil.copy2(src / name, dest / name)
    for name in MESH_DIRS:
        if (src / name).is_dir():
            shutil.copytree(src / name, dest / name, ignore=IGNORE)
    return dest / "mesh.yml"
