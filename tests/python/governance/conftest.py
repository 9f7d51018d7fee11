"""The governance fixture mesh (planted violations), built once per session with real dbt."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

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
    governed = (root / "mesh.yml").read_text()
    # Enforced at build: the planted error violations fail gv_bank before anything is built
    # (its consumer is skipped).
    refused = build(load_mesh(root / "mesh.yml"))
    by_domain = {d.domain: d for d in refused.domains}
    assert by_domain["gv_bank"].status.value == "failed"
    assert any("product.owner" in e for e in by_domain["gv_bank"].errors)
    assert by_domain["gv_shop"].status.value == "skipped"
    assert not (root / "warehouse" / "gv_bank.duckdb").exists()
    # Built without governance (no `policies:`), to plant what only a built warehouse shows.
    data = yaml.safe_load(governed)
    data.pop("policies")
    for d in data["domains"]:
        d.pop("policies", None)
    (root / "mesh.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    mesh = load_mesh(root / "mesh.yml")
    result = build(mesh)
    assert result.success, [(d.domain, d.errors) for d in result.domains]
    (root / "mesh.yml").write_text(governed)
    mesh = load_mesh(root / "mesh.yml")
    yaml_file = root / "domains/gv_bank/models/customers/_customers.yml"
    text = yaml_file.read_text()
    planted = ("PLANTED masking.verified - classified pii after the view was built.\n"
               "        config: {meta: {classification: internal}}")
    assert planted in text
    yaml_file.write_text(text.replace(planted, planted.replace("internal", "pii")))
    parsed = run_dbt(root / "domains/gv_bank", ["parse"], env=dbt_env(mesh, "dev"))
    assert parsed.success, parsed.errors
    yield root / "mesh.yml"
