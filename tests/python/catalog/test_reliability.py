"""The catalog as a system of record: identity of domains, isolation of a domain's bad artifacts,
builds that failed, malformed artifact entries (on the real fixture mesh built with dbt)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import orjson
import pytest
import yaml
from click.testing import CliRunner

from meshkit.backends.duckdb.catalog_store import read_table
from meshkit.catalog.build import duplicate_ids
from meshkit.catalog.model import Catalog
from meshkit.catalog.sync import STALE, sync
from meshkit.cli.catalog_cmds import catalog as catalog_cli
from meshkit.cli.catalog_cmds import mesh_sync
from meshkit.config import load_mesh


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _catalog(mesh_file: Path) -> Catalog:
    return Catalog.model_validate_json((mesh_file.parent / "catalog" / "catalog.json").read_bytes())


def _sync(mesh_file: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(mesh_sync, ["--mesh", str(mesh_file), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.output


def _edit_json(file: Path, edit: object) -> None:
    data = orjson.loads(file.read_bytes())
    edit(data)  # type: ignore[operator]
    file.write_bytes(orjson.dumps(data))


def _target(mesh_file: Path, domain: str) -> Path:
    return mesh_file.parent / domain / "target"


# --- identity -------------------------------------------------------------------------------------


def test_a_manifest_of_another_project_is_refused_for_that_domain(fixture_mesh: Path) -> None:
    assert _sync(fixture_mesh)[0] == 0
    before = _catalog(fixture_mesh)
    manifest = _target(fixture_mesh, "fx_risk") / "manifest.json"
    manifest.write_bytes((_target(fixture_mesh, "fx_bank") / "manifest.json").read_bytes())
    code, out = _sync(fixture_mesh)
    assert code == 1
    assert f"{manifest}: domain 'fx_risk': this is a manifest of dbt project 'fx_bank'" in out
    after = _catalog(fixture_mesh)
    # fx_risk keeps its own products (marked stale); no foreign one appears under its name.
    assert [p.address for p in after.domains[1].products] == ["fx_risk.risk_scores"]
    assert after.domains[1].stale is not None
    assert [p.address for p in after.products()] == [p.address for p in before.products()]
    assert duplicate_ids(after) == []


def test_a_domain_named_unlike_its_dbt_project_is_refused_writing_nothing(
        fixture_mesh: Path) -> None:
    assert _sync(fixture_mesh)[0] == 0
    catalog_dir = fixture_mesh.parent / "catalog"
    before = _files(catalog_dir)
    project = fixture_mesh.parent / "fx_bank" / "dbt_project.yml"
    project.write_text(project.read_text().replace("name: fx_bank", "name: fx_bank_core"))
    code, out = _sync(fixture_mesh)
    assert code == 2
    line = fixture_mesh.read_text().splitlines().index("  - name: fx_bank") + 1
    assert f"{fixture_mesh}:{line}: domain 'fx_bank' is the dbt project 'fx_bank_core'" in out
    assert "rename the domain to 'fx_bank_core' in mesh.yml, or set `name: fx_bank`" in out
    assert _files(catalog_dir) == before


def test_two_domains_of_one_dbt_project_are_refused(fixture_mesh: Path) -> None:
    data = yaml.safe_load(fixture_mesh.read_text())
    data["domains"][1]["path"] = "fx_bank"
    fixture_mesh.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out = _sync(fixture_mesh)
    assert code == 2
    assert "domains 'fx_bank' and 'fx_risk' are the same dbt project 'fx_bank'" in out
    assert "fix: give each domain its own dbt project" in out
    assert not (fixture_mesh.parent / "catalog").exists()


def test_a_cycle_of_domains_in_the_artifacts_is_refused_writing_nothing(
        fixture_mesh: Path) -> None:
    assert _sync(fixture_mesh)[0] == 0
    catalog_dir = fixture_mesh.parent / "catalog"
    before = _files(catalog_dir)
    risk = orjson.loads((_target(fixture_mesh, "fx_risk") / "manifest.json").read_bytes())
    scorecard = risk["nodes"]["model.fx_risk.scorecard"]

    def read_the_consumer(manifest: dict) -> None:  # type: ignore[type-arg]
        # As dbt-loom injects an upstream project's public model, and a model refs it.
        manifest["nodes"]["model.fx_risk.scorecard"] = scorecard
        manifest["nodes"]["model.fx_bank.region_counts"]["depends_on"]["nodes"].append(
            "model.fx_risk.scorecard")

    _edit_json(_target(fixture_mesh, "fx_bank") / "manifest.json", read_the_consumer)
    code, out = _sync(fixture_mesh)
    assert code == 2
    assert "domains read each other in a cycle: fx_bank -> fx_risk -> fx_bank" in out \
        or "domains read each other in a cycle: fx_risk -> fx_bank -> fx_risk" in out
    assert "fix: a domain may not read, directly or not, itself" in out
    assert _files(catalog_dir) == before


def test_every_id_of_the_catalog_is_unique_mesh_wide(fixture_mesh: Path) -> None:
    cat = sync(load_mesh(fixture_mesh)).catalog
    assert duplicate_ids(cat) == []
    twice = cat.model_copy(update={"domains": [*cat.domains, cat.domains[0]]})
    assert "fx_bank.customer_profile" in duplicate_ids(twice)
    warehouse = fixture_mesh.parent / "warehouse" / "mesh_catalog.duckdb"
    ids = [r[0] for r in read_table(warehouse, "datasets")]
    assert len(ids) == len(set(ids))


# --- isolation ------------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["missing", "schema v9", "wrong shape", "not json"])
def test_a_domain_with_bad_artifacts_keeps_its_last_good_entry(fixture_mesh: Path,
                                                                damage: str) -> None:
    assert _sync(fixture_mesh)[0] == 0
    before = _catalog(fixture_mesh)
    manifest = _target(fixture_mesh, "fx_bank") / "manifest.json"
    if damage == "missing":
        manifest.unlink()
    elif damage == "schema v9":
        _edit_json(manifest, lambda m: m["metadata"].update(
            dbt_schema_version="https://schemas.getdbt.com/dbt/manifest/v9.json"))
    elif damage == "wrong shape":
        _edit_json(manifest, lambda m: m.update(nodes=[1, 2]))
    else:
        manifest.write_text("{")
    code, out = _sync(fixture_mesh)
    assert code == 1, out
    assert f"{manifest}: domain 'fx_bank': " in out and "fix: " in out
    after = _catalog(fixture_mesh)
    bank = after.domains[0]
    assert bank.stale is not None and bank.stale.file == str(manifest) and bank.stale.fix
    assert bank.model_copy(update={"stale": None}) == before.domains[0]
    assert after.domains[1:] == before.domains[1:]
    state = json.loads(_sync(fixture_mesh, "--json")[1])
    assert [f["file"] for f in state["failures"]] == [str(manifest)]
    assert {d["name"]: d["status"] for d in state["domains"]}["fx_bank"] == STALE


def test_a_domain_never_synced_is_listed_stale_and_empty(fixture_mesh: Path) -> None:
    (_target(fixture_mesh, "fx_risk") / "manifest.json").unlink()
    code, out = _sync(fixture_mesh)
    assert code == 1
    assert "domain 'fx_risk': no dbt manifest found" in out
    risk = _catalog(fixture_mesh).domains[1]
    assert risk.name == "fx_risk" and risk.products == [] and risk.stale is not None
    assert [p.address for p in _catalog(fixture_mesh).products()] == ["fx_bank.customer_profile"]


def test_malformed_run_results_and_catalog_entries_do_not_traceback(fixture_mesh: Path) -> None:
    def drop_ids(results: dict) -> None:  # type: ignore[type-arg]
        results["results"][0].pop("unique_id")
        results["results"].append({"status": "success"})
        results["results"].append("not a result")

    def drop_column_names(catalog: dict) -> None:  # type: ignore[type-arg]
        for entry in catalog["nodes"].values():
            for column in entry["columns"].values():
                column.pop("name")
                break

    _edit_json(_target(fixture_mesh, "fx_bank") / "run_results.json", drop_ids)
    _edit_json(_target(fixture_mesh, "fx_bank") / "catalog.json", drop_column_names)
    code, out = _sync(fixture_mesh)
    assert code == 0, out
    assert [p.address for p in _catalog(fixture_mesh).products()] == [
        "fx_bank.customer_profile", "fx_risk.risk_scores"]


# --- builds ---------------------------------------------------------------------------------------


def test_a_failed_build_keeps_the_last_success_and_puts_downstream_at_risk(
        fixture_mesh: Path) -> None:
    first = sync(load_mesh(fixture_mesh)).catalog
    [_v1, v2] = first.domains[0].products[0].datasets
    assert v2.operational.last_success_at is not None

    def fail_v2(results: dict) -> None:  # type: ignore[type-arg]
        for r in results["results"]:
            if r["unique_id"] == "model.fx_bank.customers.v2":
                r["status"] = "error"
                r["message"] = "Runtime Error"

    _edit_json(_target(fixture_mesh, "fx_bank") / "run_results.json", fail_v2)
    again = sync(load_mesh(fixture_mesh)).catalog
    bank, risk = again.domains[0].products[0], again.domains[1].products[0]
    new_v2 = bank.datasets[1]
    assert new_v2.operational.last_build_status == "error"
    assert new_v2.operational.last_success_at == v2.operational.last_success_at
    assert bank.health.status == "degraded"
    assert risk.health.status == "caution"
    assert "at risk: upstream product fx_bank.customer_profile is degraded" in risk.health.reasons


def test_a_build_refuses_a_domain_named_unlike_its_dbt_project(fixture_mesh: Path) -> None:
    from meshkit.build import build
    from meshkit.errors import ConfigError

    project = fixture_mesh.parent / "fx_risk" / "dbt_project.yml"
    project.write_text(project.read_text().replace("name: fx_risk", "name: risk_core"))
    with pytest.raises(ConfigError, match="domain 'fx_risk' is the dbt project 'risk_core'"):
        build(load_mesh(fixture_mesh))


def test_a_catalog_warehouse_duckdb_cannot_open_is_bad_input_and_loses_nothing(
        fixture_mesh: Path) -> None:
    """Its history (sync runs, contracts, violations) is not derivable from the catalog: the sync
    exits 2 naming it, replaces nothing, and the catalog folder stays as it was; moved aside, the
    next sync writes a new one."""
    assert _sync(fixture_mesh)[0] == 0
    catalog_dir = fixture_mesh.parent / "catalog"
    before = _files(catalog_dir)
    store = fixture_mesh.parent / "warehouse" / "mesh_catalog.duckdb"
    store.write_bytes(store.read_bytes()[:100])
    (_target(fixture_mesh, "fx_bank") / "run_results.json").touch()  # something to write
    for _ in range(2):  # and the staged folder the first attempt left is not taken as committed
        code, out = _sync(fixture_mesh)
        assert code == 2, out
        # (The second time, as the warehouse that must say whether the staged sync committed.)
        assert out.count(f"{store}: ") == 1 and "cannot open the catalog's warehouse" in out
        assert "move it aside" in out
        after = _files(catalog_dir)  # (and what it staged, rolled back once the store opens)
        assert {name: after.get(name) for name in before} == before
    store.rename(store.with_suffix(".bad"))
    assert _sync(fixture_mesh)[0] == 0
    assert list(read_table(store, "sync_runs"))
    assert not [name for name in _files(catalog_dir) if ".tmp-" in name]


def test_a_sync_to_a_warehouse_it_cannot_sign_in_to_stages_nothing(
        fixture_mesh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Snowflake's settings the sync stops before staging anything, so the local catalog
    stays readable; a staged sync only that warehouse can vouch for (a sync killed after
    staging) keeps every reader out, saying why and what then finishes it."""
    for name in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert _sync(fixture_mesh)[0] == 0
    text = fixture_mesh.read_text()
    dev = "  dev: {type: duckdb, path: warehouse}\n"
    assert dev in text
    fixture_mesh.write_text(text.replace(
        dev, dev + "  prod: {type: snowflake, governance_database: fx_governance}\n"))
    root = fixture_mesh.parent
    code, out = _sync(fixture_mesh, "--target", "prod")
    assert code == 2 and "environment variable SNOWFLAKE_ACCOUNT is not set" in out, out
    assert not list(root.glob(".catalog.*"))
    listed = CliRunner().invoke(catalog_cli, ["list", "--mesh", str(fixture_mesh)])
    assert listed.exit_code == 0, listed.output
    # What a sync to prod killed between its staging and its commit leaves.
    staged = root / ".catalog.tmp-20261128T000000-deadbeef"
    shutil.copytree(root / "catalog", staged)
    with (staged / "history.jsonl").open("a") as history:
        history.write(json.dumps({"id": "20261128T000000-deadbeef", "target": "prod"}) + "\n")
    listed = CliRunner().invoke(catalog_cli, ["list", "--mesh", str(fixture_mesh)])
    assert listed.exit_code == 2, listed.output
    assert "sync 20261128T000000-deadbeef to target 'prod' stopped after staging the catalog" \
        in listed.output and "then run the command again" in listed.output
    assert staged.is_dir()
