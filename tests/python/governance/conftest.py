"""The governance fixture mesh (planted violations), built once per session with real dbt."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures"
IGNORE = shutil.ignore_patterns("target", "dbt_packages", "logs", "*.duckdb", "*.wal",
                                "package-lock.yml", ".user.yml")


@pytest.fixture(scope="session")
def governance_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The fixture mesh (its mesh.yml, waivers and two domains), built with
    `mesh build`'s library, then one classification changed without rebuilding the view (the
    planted masking leak) and the manifest re-parsed. Yields its mesh.yml; treat as read-only."""
    from meshkit.build import build, dbt_env
    from meshkit.config import load_mesh
    from meshkit.dbt_runner import run_dbt

    root = tmp_path_factory.mktemp("governance_mesh")
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True, ignore=IGNORE)
    mesh = load_mesh(root / "mesh.yml")
    result = build(mesh)
    assert result.success, [(d.domain, d.errors) for d in result.domains]
    yaml_file = root / "domains/gv_bank/models/customers/_customers.yml"
    text = yaml_file.read_text()
    planted = ("PLANTED masking.verified - classified pii after the view was built.\n"
               "        config: {meta: {classification: internal}}")
    assert planted in text
    yaml_file.write_text(text.replace(planted, planted.replace("internal", "pii")))
    parsed = run_dbt(root / "domains/gv_bank", ["parse"], env=dbt_env(mesh, "dev"))
    assert parsed.success, parsed.errors
    yield root / "mesh.yml"
