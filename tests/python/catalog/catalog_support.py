"""Helpers of the catalog tests (importable as ``catalog_support``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
REPO = HERE.parents[2]
# CI clones the repo beside a copy of shared/: <clone>/../shared.
REAL_ARTIFACTS = (REPO / ".." / "shared" / "real-artifacts" / "jaffle_shop").resolve()
JAFFLE_FILES = {"manifest.json": "manifest_dbt1.11.json",
                "run_results.json": "run_results_dbt1.11.json",
                "catalog.json": "catalog_dbt1.11.json"}


def copy_jaffle(dest: Path) -> Path:
    """Copy the real jaffle_shop artifacts into ``dest`` under dbt's file names."""
    if not REAL_ARTIFACTS.is_dir():
        pytest.skip(f"real dbt artifacts not found at {REAL_ARTIFACTS} (shared/ beside the repo)")
    dest.mkdir(parents=True, exist_ok=True)
    for name, src in JAFFLE_FILES.items():
        shutil.copyfile(REAL_ARTIFACTS / src, dest / name)
    return dest
