"""Helpers of the marketplace tests (importable: pytest puts this folder on the path)."""

from __future__ import annotations

import shutil
from pathlib import Path

XSS = "<script>alert(1)</script>"
XSS_PRODUCT = "risk.credit_risk_scorecard"


def copy_built(built_demo: Path, dest: Path) -> Path:
    """The built demo (warehouse, artifacts and all) copied to ``dest``; returns its mesh.yml.

    Not ``dbt_packages``: each domain's holds the platform as a symlink to the mesh root (a
    loop), and nothing here runs dbt. Symlinks are copied as links, never followed.
    """
    shutil.copytree(built_demo.parent, dest, symlinks=True,
                    ignore=shutil.ignore_patterns("logs", "*.wal", "dbt_packages", "target_*"))
    return dest / "mesh.yml"
