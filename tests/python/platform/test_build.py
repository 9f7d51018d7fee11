"""`mesh build`: dependency order, failure isolation, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from meshkit.build import Status, auto_jobs, build, build_order
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


def test_domains_parsed_in_one_process_keep_their_own_macros(built_demo: Path) -> None:
    """The demo's domains were parsed one after the other in this process, sharing dbt's Jinja
    parse caches (meshkit.dbt_runner), and all carry the same ``macros/mesh.sql`` text: each
    manifest still holds the ``ref`` override as its own package's macro."""
    from dbt_common.tests import test_caching_enabled

    assert test_caching_enabled()
    domains = built_demo.parent / "domains"
    for name in ("consumer_banking", "asset_management", "risk"):
        manifest = json.loads((domains / name / "target" / "manifest.json").read_text())
        macro = manifest["macros"][f"macro.{name}.ref"]
        assert (macro["package_name"], macro["original_file_path"]) == (name, "macros/mesh.sql")
        assert macro["macro_sql"] in (domains / name / "macros" / "mesh.sql").read_text()


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


def test_domains_not_reading_each_other_go_in_one_wave() -> None:
    from meshkit.build_pool import lanes_for, waves

    mesh = load_mesh(REPO / "mesh.yml")
    order = build_order(mesh)
    assert [[d.name for d in w] for w in waves(mesh, order)] == [
        ["asset_management", "consumer_banking"], ["risk"]]
    assert lanes_for(waves(mesh, order), 8) == 2
    assert lanes_for(waves(mesh, build_order(mesh, ["risk"])), 8) == 1  # nothing to run beside it


def _attach(profiles: Path, domain: str) -> None:
    """Add to the dev output of a domain's profile an attachment of ``domain``'s database."""
    text = profiles.read_text()
    entry = ("      attach:\n"
             f"        - path: \"{{{{ env_var('MESH_WAREHOUSE', '../../warehouse') }}}}/{domain}.duckdb\"\n"
             "          read_only: true\n")
    marker = "_engineer]\n"
    assert marker in text
    profiles.write_text(text.replace(marker, marker + entry, 1))


def test_a_domain_attaching_another_ones_database_is_never_built_beside_it(tmp_path: Path) -> None:
    """No dbt-loom entry, only an `attach` in the profile: DuckDB would refuse to open the file
    the other domain's process is writing ("Conflicting lock is held")."""
    from meshkit.build_pool import attached_domains, lanes_for, waves

    mesh_file = copy_mesh(tmp_path)
    domains = tmp_path / "domains"
    _attach(domains / "asset_management" / "profiles.yml", "consumer_banking")
    mesh = load_mesh(mesh_file)
    order = build_order(mesh)
    assert attached_domains(mesh, mesh.config.domain("asset_management")) == ["consumer_banking"]
    assert [[d.name for d in w] for w in waves(mesh, order)] == [
        ["consumer_banking"], ["asset_management"], ["risk"]]
    assert lanes_for(waves(mesh, order), 8) == 1
    # each attaching the other's: one at a time, in the build order, and the waves end
    _attach(domains / "consumer_banking" / "profiles.yml", "asset_management")
    mesh = load_mesh(mesh_file)
    assert [[d.name for d in w] for w in waves(mesh, build_order(mesh))] == [
        ["asset_management"], ["consumer_banking"], ["risk"]]


def test_side_by_side_a_failure_skips_only_its_dependents(built_demo: Path, tmp_path: Path) -> None:
    mesh_file = copy_mesh(tmp_path)
    shutil.copytree(built_demo.parent / "data", tmp_path / "data")
    staging = sorted((tmp_path / "domains" / "consumer_banking" / "models").rglob("stg_*.sql"))
    staging[0].write_text("select * from a_table_that_does_not_exist\n")
    seen: list[tuple[str, str]] = []
    result = build(load_mesh(mesh_file), jobs=2, on_progress=lambda d, m: seen.append((d, m)))
    by_name = {d.domain: d for d in result.domains}
    assert {n: d.status for n, d in by_name.items()} == {
        "consumer_banking": Status.failed, "asset_management": Status.success,
        "risk": Status.skipped}
    assert by_name["consumer_banking"].errors and by_name["asset_management"].models == 5
    assert by_name["risk"].reason == "upstream consumer_banking failed"
    # built in its worker on the manifest its checks parsed: the artifacts a sync reads are there
    target = tmp_path / "domains" / "asset_management" / "target"
    assert (target / "run_results.json").is_file() and (target / "partial_parse.msgpack").is_file()
    assert (tmp_path / "warehouse" / "asset_management.duckdb").is_file()
    # both checked before either was built; the skip is reported after the failure
    assert seen.index(("consumer_banking", "dbt deps, parse + checks")) < seen.index(
        ("asset_management", "dbt build"))
    assert seen.index(("consumer_banking", "failed")) < seen.index(("risk", "skipped"))


def test_a_worker_lane_that_dies_is_reported_and_this_process_runs_its_own_call() -> None:
    from meshkit.build_pool import LaneDied, Lanes, _check

    with Lanes(2) as pool:
        assert len(pool) == 2  # this process and one worker
        worker = pool._lanes[0].proc
        worker.kill()
        worker.wait()
        out = pool.run([(len, ([1, 2, 3],)), (_check, (None, "d", "dev", {}))])
        assert out[0] == 3 and isinstance(out[1], LaneDied)
        assert pool._lanes[0].proc.poll() is None  # started again for the next call


def test_jobs_default_to_the_cores_the_memory_holds_on_duckdb_and_one_elsewhere(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import meshkit.resources
    from meshkit.build import MEMORY_PER_JOB

    mesh = load_mesh(REPO / "mesh.yml")
    cores = meshkit.resources.usable_cpus()
    assert 1 <= cores <= len(os.sched_getaffinity(0))
    assert (meshkit.resources.available_memory() or 0) > 0  # read from /proc/meminfo
    for available, expected in ((None, cores), (1000 * MEMORY_PER_JOB, cores),
                                (MEMORY_PER_JOB + 1, 1), (MEMORY_PER_JOB // 2, 1)):
        monkeypatch.setattr(meshkit.resources, "available_memory", lambda a=available: a)
        assert auto_jobs(mesh, "dev") == expected
    assert auto_jobs(mesh, "prod") == 1  # Snowflake: each process would sign in on its own
    for bad in ("0", "-1", "many"):
        result = CliRunner().invoke(cli, ["build", "--mesh", str(REPO / "mesh.yml"), "-j", bad])
        assert result.exit_code == 2
        assert "neither a number of processes (1 or more) nor 'auto'" in result.output


def test_side_by_side_from_the_command_line_ends_cleanly(built_demo: Path, tmp_path: Path) -> None:
    """`mesh build -j 2` as a user runs it, its stderr read to the end (which waits for every
    process holding it): a worker that skipped its exit handlers left dbt's semaphores to
    multiprocessing's resource tracker, which warned of them as leaked on the user's terminal."""
    mesh_file = copy_mesh(tmp_path)
    shutil.copytree(built_demo.parent / "data", tmp_path / "data")
    proc = subprocess.run(
        [sys.executable, "-m", "meshkit.cli.main", "build", "--mesh", str(mesh_file), "--no-sync",
         "-j", "2", "-d", "asset_management", "-d", "consumer_banking"],
        capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "✓ asset_management success" in proc.stderr
    assert "✓ consumer_banking success" in proc.stderr
    assert "resource_tracker" not in proc.stderr and "leaked" not in proc.stderr, proc.stderr
