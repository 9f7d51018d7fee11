"""A Snowflake password never appears in output, logs, artifacts, the catalog (files and the
Snowflake tables) or anything else written: every ``--target prod`` command is run with a
recognizable password, on fakesnow where a connection is made."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from sf_harness import FakeSnowflake, copy_fixture_mesh

from meshkit.backends import store_for
from meshkit.catalog.store import SNAPSHOT_TABLES
from meshkit.cli.main import cli
from meshkit.config import load_mesh

pytestmark = pytest.mark.snowflake

SECRET = "Pw-7f3c9e21-LEAKCHECK-a94b"


def test_the_snowflake_password_never_leaks(tmp_path: Path) -> None:
    mesh_file = copy_fixture_mesh(tmp_path / "mesh")
    fake = FakeSnowflake(tmp_path / "fakesnow")
    outputs: dict[str, str] = {}
    stdouts: dict[str, str] = {}
    with fake.running():
        os.environ["SNOWFLAKE_PASSWORD"] = SECRET  # fake.running() restores it after
        runner = CliRunner()
        for name, args in {
            "plan": ["plan", "--target", "prod"],
            "plan --json": ["plan", "--target", "prod", "--json"],
            "apply": ["apply", "--target", "prod"],
            "build --target prod": ["build", "--target", "prod"],
            "mesh-sync --target prod": ["sync", "--target", "prod"],
            "mesh-sync --target prod --json": ["sync", "--target", "prod", "--json"],
            "catalog list": ["catalog", "list", "--json"],
        }.items():
            result = runner.invoke(cli, [*args, "--mesh", str(mesh_file)])
            assert result.exit_code == 0, (name, result.output, result.exc_info)
            outputs[name] = result.output + (result.stderr if result.stderr_bytes else "")
            stdouts[name] = result.stdout
        tables = {t: fake.query(f"select * from mesh_governance.mesh_catalog.{t}")
                  for t in [*SNAPSHOT_TABLES, "sync_runs"]}
        # The commit record recovery asks Snowflake for (meshkit.catalog.store.recover).
        _, store = store_for(load_mesh(mesh_file), "prod")
        last = json.loads(stdouts["mesh-sync --target prod --json"])["sync_id"]
        assert store.committed(last) and not store.committed("20000101T000000-00000000")
    assert tables["products"], "the catalog reached Snowflake"
    assert any(s.lower().startswith("create") for s in fake.statements)
    for name, text in outputs.items():
        assert SECRET not in text, f"`mesh {name}` printed the password"
    for table, rows in tables.items():
        assert SECRET not in repr(rows), f"mesh_catalog.{table} holds the password"
    assert SECRET not in "\n".join(fake.statements), "a statement carried the password"
    # Every file written under the mesh: logs, dbt artifacts, the catalog, a site if any.
    written = [p for p in (tmp_path / "mesh").rglob("*") if p.is_file()]
    assert any(p.name == "catalog.json" and p.parent.name == "catalog" for p in written)
    assert any(p.suffix == ".log" for p in written), "dbt wrote its logs"
    leaking = [str(p) for p in written if SECRET.encode() in p.read_bytes()]
    assert leaking == []
