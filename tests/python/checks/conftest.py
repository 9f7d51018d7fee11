"""Fixtures of the check engine and contract tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def demo_copy(built_demo: Path, tmp_path: Path) -> Path:
    """A private copy of the built demo (artifacts, warehouse, catalog included); its mesh.yml.

    Without the domains' ``dbt_packages``: each holds a symlink to the mesh root (the platform
    package), which a copy would follow into itself. `dbt deps` (or `mesh build`) remakes them.
    """
    dest = tmp_path / "demo"
    shutil.copytree(built_demo.parent, dest, symlinks=True,
                    ignore=shutil.ignore_patterns("*.wal", "logs", "dbt_packages"))
    return dest / "mesh.yml"
