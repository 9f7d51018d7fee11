"""Golden files of the secure views the platform macros generate on DuckDB.

The DDL is read back from the built warehouse (DuckDB keeps each view's SQL), so what is
compared is what really runs. Refresh after an intended change with MESH_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from meshkit.config import load_mesh

GOLDEN = Path(__file__).parent / "golden"
VIEWS = [
    ("consumer_banking", "consumer_demographics", "consumer_demographics_v2"),
    ("consumer_banking", "consumer_demographics", "consumer_demographics"),
    ("consumer_banking", "consumer_credit_card_profile", "consumer_credit_card_profile"),
]


@pytest.mark.parametrize(("domain", "schema", "view"), VIEWS)
def test_secure_view_ddl_matches_golden(built_demo: Path, domain: str, schema: str, view: str) -> None:
    mesh = load_mesh(built_demo)
    db = mesh.root / "warehouse" / f"{domain}.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(
            "select sql from duckdb_views() where schema_name = ? and view_name = ?", [schema, view]
        ).fetchone()
    assert row is not None, f"{domain}.{schema}.{view} was not created"
    ddl = row[0].strip() + "\n"
    golden = GOLDEN / f"{domain}.{schema}.{view}.sql"
    if os.environ.get("MESH_UPDATE_GOLDEN"):
        golden.write_text(ddl)
    assert golden.is_file(), f"{golden} missing: run with MESH_UPDATE_GOLDEN=1 and review it"
    assert ddl == golden.read_text(), f"{golden} differs; if intended, MESH_UPDATE_GOLDEN=1"
