"""On Snowflake the consumers query the secure views themselves: a view the sync withholds serves
no row, by its own guard, until a sync finds its dataset clean.

The fixture mesh, governed by the policies that withhold, with a leak no build gate sees on
Snowflake: a product column derived from an email (``lower(email)``) under a harmless name,
classified internal. Applied, built through dbt-snowflake and synced on fakesnow; the views are
then queried as they are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sf_harness import FakeSnowflake, copy_fixture_mesh

from meshkit.cli.main import cli

pytestmark = pytest.mark.snowflake

# The policies whose error withholds a dataset, and which read only the manifests (the others
# are off: the fixture mesh is not written to pass every policy).
GOVERNED = {"classification.propagation", "personal_data.by_lineage", "personal_data.by_name"}
LEAKING = "sf_bank.customer_profile.customers_v2"
VIEWS = {
    LEAKING: 0,
    "sf_bank.customer_profile.customers": 0,  # its latest version's unversioned name
    "sf_risk.risk_scores.scorecard": 0,       # a product that reads it
    "sf_bank.customer_profile.customers_v1": 2,  # another version, clean: served
}
WITHHELD = sorted(v for v, n in VIEWS.items() if n == 0)


def _governed(root: Path) -> None:
    from meshkit.checks.registry import default_rules
    from meshkit.governance.policy import Policy

    mesh_yml = root / "mesh.yml"
    mesh_yml.write_text(mesh_yml.read_text() + "policies:\n" + "".join(
        f"  {r.id}: {{enabled: {'true' if r.id in GOVERNED else 'false'}}}\n"
        for r in default_rules() if isinstance(r, Policy)))
    # The staging model's columns documented: on Snowflake the lineage resolves against them.
    (root / "domains/sf_bank/models/staging/stg_customers.yml").write_text(
        "models:\n  - name: stg_customers\n"
        "    config: {group: customer_profile, access: protected}\n    columns:\n"
        + "".join(f"      - name: {c}\n" for c in ("customer_id", "full_name"))
        + "      - name: email\n        config:\n          meta: {classification: pii}\n"
        + "".join(f"      - name: {c}\n" for c in ("region", "credit_limit", "card_number")))


def _leak(root: Path) -> dict[Path, str]:
    """Derive a column from the email into the latest version; returns the files as they were."""
    products = root / "domains/sf_bank/models/products"
    sql, yml = products / "customers_v2.sql", products / "customers.yml"
    before = {sql: sql.read_text(), yml: yml.read_text()}
    sql.write_text(before[sql].replace("    card_number\n",
                                       "    card_number,\n    lower(email) as lookup_key\n"))
    yml.write_text(before[yml].replace("    versions:\n", (
        "      - name: lookup_key\n        data_type: varchar\n"
        "        config:\n          meta: {classification: internal}\n    versions:\n")))
    assert sql.read_text() != before[sql] and yml.read_text() != before[yml]
    return before


def _sync(mesh_file: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["sync", "--mesh", str(mesh_file), "--target", "prod",
                                      "--json"])
    return result.exit_code, json.loads(result.stdout)


def _rows(fake: FakeSnowflake) -> dict[str, int]:
    return {view: int(fake.query(f"select count(*) from {view}")[0][0]) for view in VIEWS}


def _listed(fake: FakeSnowflake) -> list[str]:
    return sorted(r[0] for r in fake.query(
        "select view_name from mesh_governance.mesh_catalog.withheld_views"))


def test_a_withheld_view_serves_no_row_until_a_sync_finds_it_clean(tmp_path: Path) -> None:
    from meshkit.build import build
    from meshkit.config import load_mesh

    mesh_file = copy_fixture_mesh(tmp_path / "mesh")
    root = mesh_file.parent
    _governed(root)
    before = _leak(root)
    fake = FakeSnowflake(tmp_path / "fakesnow")
    with fake.running():
        applied = CliRunner().invoke(cli, ["apply", "--mesh", str(mesh_file)])
        assert applied.exit_code == 0, applied.output
        built = build(load_mesh(mesh_file), target="prod")
        # No gate of a Snowflake build traces lineage: the view is built, and serves emails.
        assert built.success, [d.errors for d in built.domains]
        assert _rows(fake) == dict.fromkeys(VIEWS, 2)

        code, out = _sync(mesh_file)
        assert code == 1
        assert [v["rule"] for v in out["violation_list"]] == ["classification.propagation"]
        assert sorted(out["withheld"]) == WITHHELD
        assert _rows(fake) == VIEWS
        assert _listed(fake) == WITHHELD
        page = (root / "catalog/site/products/sf_bank.customer_profile.html").read_text()
        assert ("Withheld: its secure view serves no row</strong> until a sync finds it clean: "
                "classification.propagation: column lookup_key") in page
        shown = CliRunner().invoke(cli, ["catalog", "show", LEAKING, "--mesh", str(mesh_file)],
                                   env={"COLUMNS": "250"})
        assert ("withheld (its secure view serves no row until a sync finds it clean): "
                "classification.propagation: column lookup_key") in shown.output, shown.output
        shown = CliRunner().invoke(cli, ["catalog", "show", "sf_bank.customer_profile",
                                         "--mesh", str(mesh_file), "--json"])
        held = {ds["id"]: ds.get("withheld") for ds in json.loads(shown.stdout)["datasets"]}
        assert held[LEAKING].startswith("classification.propagation: column lookup_key")
        assert held["sf_bank.customer_profile.customers_v1"] is None

        # A sync with nothing changed keeps them withheld, and says so.
        shown = CliRunner().invoke(cli, ["sync", "--mesh", str(mesh_file), "--target", "prod"],
                                   env={"COLUMNS": "250"})
        assert shown.exit_code == 1
        assert (f"withheld {LEAKING}: its secure view serves no row until a sync finds it "
                "clean") in shown.output, shown.output
        assert _rows(fake) == VIEWS
        assert _listed(fake) == WITHHELD

        # Fixed and rebuilt, but synced while the consumer's artifacts cannot be read: the list
        # is only added to (the unreadable domain's views stay withheld).
        for path, text in before.items():
            path.write_text(text)
        built = build(load_mesh(mesh_file), target="prod", only=["sf_bank"])
        assert built.success, [d.errors for d in built.domains]
        manifest = root / "domains/sf_risk/target/manifest.json"
        kept = manifest.read_bytes()
        manifest.write_text("{ not json")
        code, out = _sync(mesh_file)
        assert code == 1 and [d["status"].split()[0] for d in out["domains"]] == ["processed", "stale"]
        assert set(_listed(fake)) == set(WITHHELD)
        assert _rows(fake)["sf_risk.risk_scores.scorecard"] == 0
        shown = CliRunner().invoke(cli, ["catalog", "show", "sf_risk.risk_scores.scorecard",
                                         "--mesh", str(mesh_file)], env={"COLUMNS": "250"})
        assert "withheld (its secure view serves no row" in shown.output, shown.output
        manifest.write_bytes(kept)

        # Fixed, rebuilt, synced: served again, and the list is empty.
        built = build(load_mesh(mesh_file), target="prod")
        assert built.success, [d.errors for d in built.domains]
        code, out = _sync(mesh_file)
        assert code == 0, out["violation_list"]
        assert out["withheld"] == []
        assert _listed(fake) == []
        shown = CliRunner().invoke(cli, ["catalog", "show", LEAKING, "--mesh", str(mesh_file)])
        assert shown.exit_code == 0 and "withheld" not in shown.output, shown.output
        # The consumer built while its input was withheld read no row of it: it is served
        # again, and holds what it read, until its next build.
        assert _rows(fake) == {**dict.fromkeys(VIEWS, 2), "sf_risk.risk_scores.scorecard": 0}
        assert build(load_mesh(mesh_file), target="prod", only=["sf_risk"]).success
        assert _rows(fake) == dict.fromkeys(VIEWS, 2)


def test_a_sync_that_fails_before_its_commit_has_withheld_already(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The views are listed before the catalog's transaction: a sync that stops inside it (its
    rows rolled back) leaves them withheld, never served."""
    from meshkit import faults
    from meshkit.build import build
    from meshkit.config import load_mesh

    mesh_file = copy_fixture_mesh(tmp_path / "mesh")
    root = mesh_file.parent
    _governed(root)
    _leak(root)
    fake = FakeSnowflake(tmp_path / "fakesnow")
    point = faults.point

    def fail_inside_the_transaction(name: str) -> None:
        if name == "warehouse:snapshot":
            raise OSError("connection lost")
        point(name)

    with fake.running():
        applied = CliRunner().invoke(cli, ["apply", "--mesh", str(mesh_file)])
        assert applied.exit_code == 0, applied.output
        assert build(load_mesh(mesh_file), target="prod").success
        monkeypatch.setattr(faults, "point", fail_inside_the_transaction)
        result = CliRunner().invoke(cli, ["sync", "--mesh", str(mesh_file), "--target", "prod"])
        assert result.exit_code != 0 and "connection lost" in repr(result.exception) + result.output
        assert fake.query("select count(*) from mesh_governance.mesh_catalog.sync_runs") == [(0,)]
        assert _rows(fake) == VIEWS
        assert _listed(fake) == WITHHELD
