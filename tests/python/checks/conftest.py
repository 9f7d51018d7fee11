"""Fixtures of the check engine and contract tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def demo_copy(built_demo: Path, tmp_path: Path) -> Path:
    """A private copy of the built demo (artifacts, warehouse, catalog included); its mesh.yml."""
    dest = tmp_path / "demo"
    shutil.copytree(built_demo.parent, dest, ignore=shutil.ignore_patterns("*.wal", "logs"))
    return dest / "mesh.yml"
