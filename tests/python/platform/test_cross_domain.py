"""The consumer domain reads producers only through their secure views."""

from __future__ import annotations

from pathlib import Path

import orjson
import sqlglot
from sqlglot import exp

from meshkit.config import load_mesh


def test_risk_compiled_sql_reads_only_producer_secure_views(built_demo: Path) -> None:
    mesh = load_mesh(built_demo)
    views: set[tuple[str, str, str]] = set()
    for name in ("consumer_banking", "asset_management"):
        manifest = orjson.loads(
            (mesh.artifacts_path(mesh.config.domain(name)) / "manifest.json").read_bytes())
        for node in manifest["nodes"].values():
            if node["resource_type"] == "model" and node["config"].get("access") == "public":
                views.add((node["database"], node["schema"], node["alias"]))
                if node.get("version") is not None and node["version"] == node.get("latest_version"):
                    views.add((node["database"], node["schema"], node["name"]))
    compiled = mesh.artifacts_path(mesh.config.domain("risk")) / "compiled" / "risk" / "models"
    files = sorted(compiled.rglob("*.sql"))
    assert files, "risk has no compiled models"
    cross: list[tuple[str, str, str]] = []
    for path in files:
        for table in sqlglot.parse_one(path.read_text(), read="duckdb").find_all(exp.Table):
            if table.catalog and table.catalog != "risk":
                ref = (table.catalog, table.db, table.name)
                assert ref in views, f"{path.name} reads {'.'.join(ref)}: not a secure view"
                cross.append(ref)
    assert {c[0] for c in cross} == {"consumer_banking", "asset_management"}
