"""The discovery commands through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from catalog_support import REAL_ARTIFACTS
from click.testing import CliRunner

from meshkit.cli.catalog_cmds import catalog, mesh_sync


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(catalog, list(args))
    return result.exit_code, result.output


def test_list_show_search(fixture_mesh: Path) -> None:
    mesh = str(fixture_mesh)
    sync = CliRunner().invoke(mesh_sync, ["--mesh", mesh])
    assert sync.exit_code == 0, sync.output
    assert "fx_bank: processed" in sync.output and "violations" in sync.output

    code, out = _run("list", "--mesh", mesh, "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["domain"], r["product"], r["owner"]["name"], r["status"]) for r in rows] == [
        ("fx_bank", "customer_profile", "Jane Doe", "active"),
        ("fx_risk", "risk_scores", "Sam Risk", "draft")]
    code, out = _run("list", "--mesh", mesh)
    # fx_bank's one ad-hoc model, plus jaffle_shop's 13 when the real artifacts are there.
    adhoc = 14 if REAL_ARTIFACTS.is_dir() else 1
    assert code == 0 and "customer_profile" in out and f"{adhoc} ad-hoc datasets" in out

    code, out = _run("show", "fx_bank.customer_profile.customers", "--mesh", mesh, "--json")
    assert code == 0
    versions = json.loads(out)
    assert [v["id"] for v in versions] == ["fx_bank.customer_profile.customers_v1",
                                           "fx_bank.customer_profile.customers_v2"]
    code, out = _run("show", "customer_profile", "--mesh", mesh)
    assert code == 0 and "Jane Doe" in out and "pii" in out and "gdpr, ccpa" in out
    code, out = _run("show", "scorecard", "--mesh", mesh)
    assert code == 0 and "exposure risk_dashboard" in out

    code, out = _run("search", "credit", "--mesh", mesh, "--json")
    hits = json.loads(out)
    assert code == 0
    assert {h["id"] for h in hits} >= {"fx_bank.customer_profile",
                                       "fx_bank.customer_profile.customers_v2"}
    code, out = _run("search", "jane@example.com", "--mesh", mesh, "--json")
    assert "fx_bank.customer_profile" in {h["id"] for h in json.loads(out)}
    code, out = _run("search", "nothing-like-this", "--mesh", mesh)
    assert code == 0 and "no matches" in out


def test_show_unknown_and_no_catalog_exit_2(fixture_mesh: Path) -> None:
    mesh = str(fixture_mesh)
    code, out = _run("list", "--mesh", mesh)
    assert code == 2 and "run `mesh-sync` first" in out
    CliRunner().invoke(mesh_sync, ["--mesh", mesh])
    code, out = _run("show", "scorecrd", "--mesh", mesh)
    assert code == 2 and "did you mean 'scorecard'?" in out
    # A domain the mesh does not have listed nothing, exit 0: a typo looked like an empty domain.
    code, out = _run("list", "-d", "nope", "--mesh", mesh)
    assert code == 2 and "no domain named 'nope'" in out


def test_text_from_the_artifacts_is_shown_as_written(fixture_mesh: Path) -> None:
    """Rich reads ``[word]`` as markup: a description's "[deprecated]" vanished and a ``[/]``
    ended the command with a traceback; an ESC reached the terminal as an escape sequence."""
    manifest = fixture_mesh.parent / "fx_bank" / "target" / "manifest.json"
    data = json.loads(manifest.read_text())
    group = data["groups"]["group.fx_bank.customer_profile"]
    group["description"] = "[deprecated] One row [/] per customer\x1b[2J."
    group["owner"]["name"] = "Jane [core] Doe"
    manifest.write_text(json.dumps(data))
    mesh = str(fixture_mesh)
    wide = {"COLUMNS": "200"}
    sync = CliRunner().invoke(mesh_sync, ["--mesh", mesh], env=wide)
    assert sync.exit_code == 0, sync.output

    shown = CliRunner().invoke(catalog, ["show", "customer_profile", "--mesh", mesh], env=wide)
    assert shown.exit_code == 0, shown.output
    assert "[deprecated] One row [/] per customer\\x1b[2J." in shown.output
    assert "owner: Jane [core] Doe <jane@example.com>" in shown.output
    listed = CliRunner().invoke(catalog, ["list", "--mesh", mesh], env=wide)
    assert listed.exit_code == 0 and "Jane [core] Doe" in listed.output
    found = CliRunner().invoke(catalog, ["search", "deprecated", "--mesh", mesh], env=wide)
    assert found.exit_code == 0 and "[deprecated] One row [/] per customer" in found.output
    unknown = CliRunner().invoke(catalog, ["show", "nothing\x1b]0;title\x07", "--mesh", mesh])
    assert unknown.exit_code == 2 and "nothing\\x1b]0;title\\x07" in unknown.output
    assert not any("\x1b" in r.output or "\x07" in r.output
                   for r in (sync, shown, listed, found, unknown))
