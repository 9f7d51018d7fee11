"""`mesh build` and a domain engineer's own `dbt build` share dbt's partial-parse state.

dbt re-parses a whole project when the environment variables it reads or the ``--target``
argument differ from the last parse, so `mesh build` passes neither where a hand run in the
domain folder would resolve to the same thing (real dbt on a scaffolded domain).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from meshkit.build import domain_env, target_arg
from meshkit.mesh import Mesh


def _hand_parse(project: Path, mesh: Mesh) -> str:
    """`eval "$(mesh env)" && dbt parse` in the domain folder, as its engineer would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESH_")}
    env.update(mesh.hand_run_env())
    dbt = Path(sys.executable).parent / "dbt"
    proc = subprocess.run([str(dbt), "parse", "--log-format", "text"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:]
    log = (project / "logs" / "dbt.log").read_text()
    return log[log.rindex("Running with dbt"):]


def test_mesh_build_then_hand_run_dbt_keeps_partial_parsing(tmp_path: Path) -> None:
    Mesh.init(tmp_path / "acme").new_domain("sales", "sales@acme.example")
    mesh = Mesh.load(tmp_path / "acme" / "mesh.yml")
    assert mesh.build(sync=False).exit_code == 0
    project = tmp_path / "acme" / "domains" / "sales"
    assert "MESH_WAREHOUSE" not in mesh.hand_run_env()  # the profile's default says it all
    log = _hand_parse(project, mesh)
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled" in log
    # and back: a model edited by hand, then `mesh build` (its checks' parse, then the build on
    # that manifest) parses only the change, and so does the next hand run
    model = next((project / "models").rglob("*.sql"))
    model.write_text(model.read_text() + "\n-- edited by hand\n")
    mark = len((project / "logs" / "dbt.log").read_text())
    assert mesh.build(sync=False).exit_code == 0
    log = (project / "logs" / "dbt.log").read_text()[mark:]
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled: 0 files deleted, 0 files added, 1 files changed" in log
    assert "edited by hand" in (project / "target" / "manifest.json").read_text()
    log = _hand_parse(project, mesh)
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled" in log


def test_only_variables_resolved_alike_are_left_out(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "domains" / "d"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: d\nprofile: d\n")
    (project / "profiles.yml").write_text(
        "d:\n  target: dev\n  outputs:\n    dev:\n"
        "      path: \"{{ env_var('MESH_WAREHOUSE', '../../warehouse') }}/d.duckdb\"\n")
    (project / "models" / "_sources.yml").write_text(
        "x: \"{{ env_var('MESH_DATA', '/elsewhere') }}\"\n")
    env = {"MESH_WAREHOUSE": str(tmp_path / "warehouse"), "MESH_DATA": str(tmp_path / "data"),
           "MESH_ROOT": str(tmp_path)}
    monkeypatch.delenv("MESH_WAREHOUSE", raising=False)
    # the warehouse default resolves alike: left out; the data default does not: passed on;
    # MESH_ROOT is read by no file: passed on (harmless, dbt hashes only what it reads)
    assert domain_env(env, project) == {"MESH_DATA": str(tmp_path / "data"), "MESH_ROOT": str(tmp_path)}
    # a shell that sets the variable gets the computed value, whatever the default
    monkeypatch.setenv("MESH_WAREHOUSE", "/from/shell")
    assert "MESH_WAREHOUSE" in domain_env(env, project)
    assert target_arg(project, "dev") is None
    assert target_arg(project, "prod") == "prod"
