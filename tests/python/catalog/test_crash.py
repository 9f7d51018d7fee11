"""Crash consistency: a sync SIGKILLed at every write step (deterministic fault injection, see
meshkit.faults) leaves files and warehouse tables describing the same sync, entirely the old one
or entirely the new one, as the next command sees it; two syncs racing both land."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from meshkit import faults
from meshkit.backends.duckdb.catalog_store import read_table
from meshkit.catalog.model import Catalog
from meshkit.catalog.sync import sync
from meshkit.cli.main import cli
from meshkit.config import load_mesh

# Points reached before the warehouse commits leave the old catalog; the others the new one.
BEFORE_COMMIT = ("sync:locked", "sync:spooled", "stage:catalog", "stage:products", "stage:states",
                 "stage:done", "warehouse:snapshot", "warehouse:run")
AFTER_COMMIT = ("warehouse:committed", "swap:old-moved", "swap:new-in", "sync:done")
# Points after which one more sync is run too (each costs a process start).
RESUMED = ("stage:done", "warehouse:run", "swap:old-moved")


def _mesh_cmd(mesh_file: Path, *args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != faults.ENV}
    if fault is not None:
        env[faults.ENV] = fault
    code = "import sys; from meshkit.cli.main import cli; cli(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args, "--mesh", str(mesh_file)],
                          env=env, capture_output=True, text=True, timeout=120)


def _fail_risk_tests(mesh_file: Path) -> None:
    """Change fx_risk's artifacts so that the next sync writes a different catalog."""
    file = mesh_file.parent / "fx_risk" / "target" / "run_results.json"
    data = orjson.loads(file.read_bytes())
    for r in data["results"]:
        if r["unique_id"].startswith("test.fx_risk."):
            r["status"] = "fail"
    file.write_bytes(orjson.dumps(data))


def _risk_health(catalog: Catalog) -> str:
    return next(p.health.status.value for p in catalog.products()
                if p.address == "fx_risk.risk_scores")


def _state(mesh_file: Path) -> tuple[list[str], str]:
    """After the next command (``mesh catalog list``, which recovers): the ids of the syncs
    recorded, having checked that files and tables agree on them and on the catalog."""
    listed = CliRunner().invoke(cli, ["catalog", "list", "--json", "--mesh", str(mesh_file)])
    assert listed.exit_code == 0, listed.output
    root = mesh_file.parent
    catalog_dir = root / "catalog"
    catalog = Catalog.model_validate_json((catalog_dir / "catalog.json").read_bytes())
    history = [json.loads(line)["id"]
               for line in (catalog_dir / "history.jsonl").read_text().splitlines()]
    warehouse = root / "warehouse" / "mesh_catalog.duckdb"
    runs = [r[0] for r in read_table(warehouse, "sync_runs")]
    assert sorted(history) == sorted(runs), "files and tables record different syncs"
    products = [(r[0], r[15]) for r in read_table(warehouse, "products")]
    assert products == sorted((p.address, p.health.status.value) for p in catalog.products())
    assert {p["address"]: p["health"] for p in json.loads(listed.output)} == dict(products)
    states = sorted(p.name for p in (catalog_dir / "state").iterdir())
    assert states == sorted(f"{d.name}.json" for d in catalog.domains)
    assert not list(root.glob(".catalog.*")) and not list(catalog_dir.glob(".*"))
    return history, _risk_health(catalog)


@pytest.mark.parametrize("point", BEFORE_COMMIT + AFTER_COMMIT)
def test_a_sync_killed_at_each_write_step_leaves_old_or_new_never_a_mix(
        fixture_mesh: Path, point: str) -> None:
    first = sync(load_mesh(fixture_mesh))
    assert _state(fixture_mesh) == ([first.sync_id], "healthy")
    _fail_risk_tests(fixture_mesh)
    killed = _mesh_cmd(fixture_mesh, "sync", fault=point)
    assert killed.returncode == -signal.SIGKILL, (point, killed.stderr[-2000:])
    history, health = _state(fixture_mesh)
    if point in BEFORE_COMMIT:
        assert (history, health) == ([first.sync_id], "healthy")
    else:
        assert len(history) == 2 and history[0] == first.sync_id and health == "degraded"
    if point not in RESUMED:
        return
    again = _mesh_cmd(fixture_mesh, "sync")  # a sync after the kill lands as any other
    assert again.returncode == 0, again.stderr
    history, health = _state(fixture_mesh)
    assert health == "degraded" and len(history) == (2 if point in BEFORE_COMMIT else 3)


@pytest.mark.parametrize("point", ["history:staged", "history:committed"])
def test_an_unchanged_sync_killed_records_it_in_both_or_neither(
        fixture_mesh: Path, point: str) -> None:
    first = sync(load_mesh(fixture_mesh))
    catalog = (fixture_mesh.parent / "catalog" / "catalog.json").read_bytes()
    killed = _mesh_cmd(fixture_mesh, "sync", fault=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    history, _ = _state(fixture_mesh)
    assert len(history) == (1 if point == "history:staged" else 2)
    assert history[0] == first.sync_id
    assert (fixture_mesh.parent / "catalog" / "catalog.json").read_bytes() == catalog


def test_a_recovery_killed_halfway_is_finished_by_the_next_command(fixture_mesh: Path) -> None:
    first = sync(load_mesh(fixture_mesh))
    _fail_risk_tests(fixture_mesh)
    assert _mesh_cmd(fixture_mesh, "sync", fault="swap:old-moved").returncode == -signal.SIGKILL
    assert not (fixture_mesh.parent / "catalog").exists()  # killed between the two renames
    interrupted = _mesh_cmd(fixture_mesh, "catalog", "list", fault="recover:old-moved")
    assert interrupted.returncode == -signal.SIGKILL, interrupted.stderr[-2000:]
    history, health = _state(fixture_mesh)
    assert len(history) == 2 and history[0] == first.sync_id and health == "degraded"


def test_every_fault_point_is_tested() -> None:
    tested = {*BEFORE_COMMIT, *AFTER_COMMIT, "history:staged", "history:committed",
              "recover:old-moved"}
    assert tested == set(faults.POINTS)


def test_two_syncs_racing_both_land_one_after_the_other(fixture_mesh: Path) -> None:
    sync(load_mesh(fixture_mesh))
    _fail_risk_tests(fixture_mesh)
    env = {k: v for k, v in os.environ.items() if k != faults.ENV}
    code = "import sys; from meshkit.cli.main import cli; cli(sys.argv[1:])"
    args = [sys.executable, "-c", code, "sync", "--wait", "120", "--mesh", str(fixture_mesh)]
    racers = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True) for _ in range(2)]
    outcomes = [(p.wait(timeout=180), p.stderr.read() if p.stderr else "") for p in racers]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    history, health = _state(fixture_mesh)
    assert len(history) == 3 and health == "degraded"
