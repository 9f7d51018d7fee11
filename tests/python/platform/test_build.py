"""`mesh build`: dependency order, failure isolation, exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from meshkit.build import Status, build, build_order
from meshkit.cli.main import cli
from meshkit.config import load_mesh
from support import REPO, copy_mesh


def test_order_follows_cross_domain_refs() -> None:
    mesh = load_mesh(REPO / "mesh.yml")
    order = [d.name for d in build_order(mesh)]
    assert order.index("risk") > order.index("consumer_banking")
    assert order.index("risk") > order.index("asset_management")
    assert [d.name for d in build_order(mesh, ["risk"])] == ["risk"]
    assert {d.name for d in build_order(mesh, ["risk"], upstream=True)} == {
        "risk", "consumer_banking", "asset_management"}


def test_broken_domain_stops_only_its_dependents(built_demo: Path, tmp_path: Path) -> None:
    mesh_file = copy_mesh(tmp_path)
    shutil.copytree(built_demo.parent / "data", tmp_path / "data")
    staging = sorted((tmp_path / "domains" / "consumer_banking" / "models").rglob("stg_*.sql"))
    staging[0].write_text("select * from a_table_that_does_not_exist\n")
    result = build(load_mesh(mesh_file))
    status = {d.domain: d.status for d in result.domains}
    assert status == {"consumer_banking": Status.failed, "asset_management": Status.success,
                      "risk": Status.skipped}
    assert not result.success
    cli_result = CliRunner().invoke(cli, ["build", "--mesh", str(mesh_file), "--no-sync",
                                          "--domain", "consumer_banking"])
    assert cli_result.exit_code == 1, cli_result.output
    assert "failed" in cli_result.output
