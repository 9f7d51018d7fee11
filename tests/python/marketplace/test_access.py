"""Access requests end to end on the built demo: request, deny, approve by the owner only, the
effect on what `mesh query --role R` returns, the audit log, the Snowflake plan's grant."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from market_support import copy_built

from meshkit.cli.main import cli

PRODUCT = "consumer_banking.consumer_demographics"
OWNER = "maria.keller@finserv.example"
VIEW = f"{PRODUCT}.consumer_demographics"
# What a role sees of the product: distinct emails (1 when all are masked) and EU rows (0 when
# the row filter hides them).
SQL = (f"select count(*) as n, count(distinct email) as emails, "
       f"count(*) filter (where region = 'EU') as eu from {VIEW}")
OTHER = ("select count(*) filter (where region = 'EU') as eu from "
         "consumer_banking.consumer_credit_card_profile.consumer_credit_card_profile")


@pytest.fixture(scope="module")
def mesh_file(built_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from meshkit.catalog.sync import sync
    from meshkit.config import load_mesh

    mesh_file = copy_built(built_demo, tmp_path_factory.mktemp("access") / "mesh")
    sync(load_mesh(mesh_file))
    return mesh_file


def mesh(mesh_file: Path, *args: str, ok: bool = True) -> str:
    """Run ``mesh ARGS --mesh MESH_FILE``; the output, or ``exit N: output`` when not ``ok``."""
    depth = 2 if args[0] == "access" else 1  # --mesh is an option of the subcommand
    result = CliRunner().invoke(cli, [*args[:depth], "--mesh", str(mesh_file), *args[depth:]])
    if ok:
        assert result.exit_code == 0, result.output
        return result.stdout
    return f"exit {result.exit_code}: {result.output}"


def seen(mesh_file: Path, role: str | None, sql: str = SQL) -> dict[str, int]:
    roles = ["--role", role] if role else []
    return json.loads(mesh(mesh_file, "query", *roles, "--format", "json", sql))[0]


def request(mesh_file: Path, role: str, reason: str) -> str:
    out = mesh(mesh_file, "access", "request", "--product", PRODUCT, "--role", role,
               "--reason", reason, "--as", "ana@finserv.example", "--json")
    return str(json.loads(out)["id"])


def test_denied_changes_nothing_approved_clears_the_role_on_that_product(mesh_file: Path) -> None:
    before = seen(mesh_file, "analyst")
    assert before["emails"] == 1 and before["eu"] == 0  # masked, EU rows hidden
    nobody = seen(mesh_file, None)
    other_before = seen(mesh_file, "analyst", OTHER)

    denied = request(mesh_file, "analyst", "churn model")
    assert "pending" in mesh(mesh_file, "access", "list")
    mesh(mesh_file, "access", "deny", denied, "--as", OWNER, "--note", "use the aggregates")
    assert seen(mesh_file, "analyst") == before

    approved = request(mesh_file, "analyst", "KYC review")
    refused = mesh(mesh_file, "access", "approve", approved, "--as", "ana@finserv.example", ok=False)
    assert refused.startswith("exit 2") and "not the owner" in refused and OWNER in refused
    assert seen(mesh_file, "analyst") == before
    mesh(mesh_file, "access", "approve", approved, "--as", OWNER.upper())  # emails: any case

    after = seen(mesh_file, "analyst")
    assert after["n"] > before["n"] and after["eu"] > 0 and after["emails"] == after["n"]
    assert seen(mesh_file, "pii_reader")["eu"] == after["eu"]  # pii_reader holds analyst
    assert seen(mesh_file, None) == nobody  # no role: still the most restrictive view
    assert seen(mesh_file, "pci_reader") == nobody  # a role not holding analyst: unchanged
    assert seen(mesh_file, "analyst", OTHER) == other_before  # another product: unchanged

    again = mesh(mesh_file, "access", "deny", approved, "--as", OWNER, ok=False)
    assert again.startswith("exit 2") and "already approved" in again

    events = [json.loads(line) for line in
              (mesh_file.parent / "access" / "audit.jsonl").read_text().splitlines()]
    assert [(e["event"], e["id"]) for e in events] == [
        ("request", denied), ("deny", denied), ("request", approved), ("approve", approved)]
    assert events[1]["by"] == OWNER and events[1]["note"] == "use the aggregates"
    requests = yaml.safe_load((mesh_file.parent / "access" / "requests.yml").read_text())
    assert {r["id"]: r["status"] for r in requests["requests"]} == {
        denied: "denied", approved: "approved"}

    # The Snowflake plan grants the product's reader database role to the approved role.
    plan = json.loads(mesh(mesh_file, "plan", "--target", "prod", "--json"))
    grants = [s["sql"] for s in plan["statements"] if s["kind"] == "access_grant"]
    assert grants == [f"GRANT DATABASE ROLE {PRODUCT}_reader TO ROLE analyst"]
    assert any(approved in note for note in plan["notes"])


def test_an_approval_missing_from_the_audit_log_grants_nothing(
        built_demo: Path, tmp_path: Path) -> None:
    from meshkit.catalog.sync import sync
    from meshkit.config import load_mesh

    mesh_file = copy_built(built_demo, tmp_path / "mesh")
    sync(load_mesh(mesh_file))
    before = seen(mesh_file, "risk_analyst")
    rid = request(mesh_file, "risk_analyst", "scorecard backtest")
    file = mesh_file.parent / "access" / "requests.yml"
    file.write_text(file.read_text().replace("status: pending", "status: approved\n"
                                             f"  decided_by: {OWNER}"))
    assert seen(mesh_file, "risk_analyst") == before  # a hand edit alone is not a grant
    file.write_text("requests: [{id: x}]\n")  # malformed: an error, never "no restriction"
    out = mesh(mesh_file, "query", "--role", "risk_analyst", SQL, ok=False)
    assert out.startswith("exit 2") and "requests.yml" in out and rid not in out


def test_every_query_is_audited_even_with_the_catalog_warehouse_locked(mesh_file: Path) -> None:
    from meshkit.catalog.sync import sync
    from meshkit.config import load_mesh
    from meshkit.query_log import read_log

    db = mesh_file.parent / "warehouse" / "mesh_catalog.duckdb"
    holder = subprocess.Popen(  # another process writing the catalog warehouse
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
         "c.execute('begin transaction'); print('locked', flush=True); sys.stdin.read()", str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        rows = seen(mesh_file, "risk_analyst")
        refused = mesh(mesh_file, "query", "select * from consumer_banking.internal.x", ok=False)
        assert refused.startswith("exit 2")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    log = read_log(mesh_file.parent / "warehouse")
    ok = [e for e in log if e.roles == ["risk_analyst"] and e.status == "ok"][-1]
    assert ok.datasets == [VIEW] and ok.rows == 1 and ok.user and ok.at
    assert log[-1].status == "refused" and log[-1].datasets == []

    sync(load_mesh(mesh_file))  # the sync loads the log into the catalog warehouse
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = con.execute("select user_name, roles, datasets, rows_returned, status "
                             "from mesh_catalog.mesh_catalog.query_log").fetchall()
    finally:
        con.close()
    assert len(stored) == len(log)
    assert (ok.user, '["risk_analyst"]', f'["{VIEW}"]', 1, "ok") in stored
    page = (mesh_file.parent / "catalog" / "site" / "products" / f"{PRODUCT}.html").read_text()
    assert 'id="reads"' in page and "risk_analyst" in page.split('id="reads"')[1]
    assert rows["n"] > 0
