"""The warehouse snapshot rewritten per domain (meshkit.backends.duckdb.catalog_store): after each
sync of a changing mesh (real dbt artifacts), every snapshot table holds exactly the rows a whole
rewrite of that catalog writes, and only the domains whose rows changed were written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from meshkit.backends.duckdb import catalog_store
from meshkit.backends.duckdb.catalog_store import DIGESTS, DuckDBCatalogStore, read_table
from meshkit.catalog.store import SNAPSHOT_TABLES, SyncRun
from meshkit.catalog.sync import sync
from meshkit.config import load_mesh

NOW = datetime(2026, 1, 1, tzinfo=UTC)  # health depends on the time of the sync


def _tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The snapshot tables and the digests (but the id of the sync that wrote them)."""
    tables = {t: list(read_table(path, t)) for t in [*SNAPSHOT_TABLES, DIGESTS]}
    tables[DIGESTS] = [r for r in tables[DIGESTS] if r[:2] != ("*", "sync")]
    return tables


def _fail_fx_risk_tests(mesh_file: Path) -> None:
    results = mesh_file.parent / "fx_risk" / "target" / "run_results.json"
    data = orjson.loads(results.read_bytes())
    for r in data["results"]:
        if r["unique_id"].startswith("test.fx_risk."):
            r["status"], r["failures"] = "fail", 2
    results.write_bytes(orjson.dumps(data))


def _whole_rewrite(mesh_file: Path, tmp_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The tables of the last sync's catalog written into a new store, whole."""
    from meshkit.catalog.store import load_catalog

    catalog = load_catalog(mesh_file.parent / "catalog")
    assert catalog is not None
    fresh = tmp_path / "fresh" / "mesh_catalog.duckdb"
    fresh.unlink(missing_ok=True)
    DuckDBCatalogStore(fresh).write(catalog, SyncRun("s", "a", "b", "dev", 0, 0, 0, 0, 0, 0))
    return _tables(fresh)


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[str, ...] | None]]:
    """(table, domains) of every snapshot write: None for a whole table."""
    calls: list[tuple[str, tuple[str, ...] | None]] = []
    real = catalog_store.domain_rows

    def recording(catalog: Any, table: str, only: Any = None) -> Iterator[Any]:
        calls.append((table, None if only is None else tuple(sorted(only))))
        return real(catalog, table, only)

    monkeypatch.setattr(catalog_store, "domain_rows", recording)
    return calls


def test_per_domain_writes_equal_a_whole_rewrite(
        fixture_mesh: Path, tmp_path: Path, written: list[Any]) -> None:
    mesh = load_mesh(fixture_mesh)
    wh = fixture_mesh.parent / "warehouse" / "mesh_catalog.duckdb"
    sync(mesh, now=NOW)
    assert {only for _, only in written} == {None}  # the first sync writes every table whole
    assert _tables(wh) == _whole_rewrite(fixture_mesh, tmp_path)

    # fx_risk's tests fail now: its products', datasets' and quality rows change, nothing else
    _fail_fx_risk_tests(fixture_mesh)
    written.clear()
    sync(mesh, now=NOW)
    # the row digests read every table; only fx_risk's rows are written again
    assert {only for _, only in written} == {None, ("fx_risk",)}
    assert ("quality_results", ("fx_risk",)) in written
    assert _tables(wh) == _whole_rewrite(fixture_mesh, tmp_path)

    # a domain leaves the mesh: its rows and digests go
    config = yaml.safe_load(fixture_mesh.read_text())
    gone = config["domains"][-1]["name"]
    config["domains"] = config["domains"][:-1]
    fixture_mesh.write_text(yaml.safe_dump(config, sort_keys=False))
    sync(load_mesh(fixture_mesh), now=NOW)
    tables = _tables(wh)
    assert tables == _whole_rewrite(fixture_mesh, tmp_path)
    assert gone not in {r[1] for r in tables["products"]} | {r[1] for r in tables[DIGESTS]}


def test_tables_of_another_definition_are_rewritten_whole(
        fixture_mesh: Path, tmp_path: Path, written: list[Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    mesh = load_mesh(fixture_mesh)
    sync(mesh, now=NOW)
    monkeypatch.setattr(catalog_store, "_SCHEMA_DIGEST", "tables of another meshkit")
    (fixture_mesh.parent / "catalog" / "catalog.json").unlink()  # not the same catalog as before
    written.clear()
    sync(mesh, now=NOW)
    assert written and {only for _, only in written} == {None}
    wh = fixture_mesh.parent / "warehouse" / "mesh_catalog.duckdb"
    assert ("*", "*", "tables of another meshkit") in _tables(wh)[DIGESTS]


def test_digests_are_trusted_only_from_the_last_sync(
        fixture_mesh: Path, written: list[Any]) -> None:
    import duckdb

    mesh = load_mesh(fixture_mesh)
    wh = fixture_mesh.parent / "warehouse" / "mesh_catalog.duckdb"
    sync(mesh, now=NOW)
    sync(mesh, now=NOW)  # the same catalog: the snapshot stays, the digests follow the sync
    _fail_fx_risk_tests(fixture_mesh)
    written.clear()
    sync(mesh, now=NOW)
    assert {only for _, only in written} == {None, ("fx_risk",)}

    # a writer that keeps no digests (an older meshkit) rewrote a table and recorded its sync
    with duckdb.connect(str(wh)) as con:
        con.execute("update mesh_catalog.mesh_catalog.products set description = 'stale'")
        con.execute("insert into mesh_catalog.mesh_catalog.sync_runs (sync_id) values ('older-meshkit')")
    written.clear()
    sync(mesh, now=NOW)
    assert {only for _, only in written} == {None}  # every table whole again
    assert "stale" not in {r[5] for r in read_table(wh, "products")}


@pytest.mark.parametrize("table", ["datasets", "contracts", "violations"])
def test_rows_go_in_through_json_exactly_as_given(table: str) -> None:
    """Every kind of value the tables hold, and text JSON or CSV could mangle."""
    import duckdb

    from meshkit.catalog.store import TABLES, create_table_sql

    samples: dict[str, list[Any]] = {
        "VARCHAR": ['a "quoted", comma', "line\nbreak\ttab \\ back\\slash", "ünïcødé ✓ 𝄞",
                    '{"a": [1, null]}', "", "\\N", None],
        "INT": [0, -2_147_483_648, 2_147_483_647, None],
        "BIGINT": [0, 9_007_199_254_740_993, -1, None],
        "DOUBLE": [0.1, 1e-300, -2.5e300, 1 / 3, None],
        "BOOLEAN": [True, False, None],
    }
    columns = TABLES[table]
    width = max(len(samples[kind]) for _, kind in columns)
    rows = [tuple(samples[kind][i % len(samples[kind])] for _, kind in columns)
            for i in range(width)]
    con = duckdb.connect()
    con.execute("create schema mesh_catalog")
    con.execute(create_table_sql(table, "duckdb"))
    assert catalog_store.insert_rows(con, table, rows) == width
    assert catalog_store.insert_rows(con, table, []) == 0
    names = ", ".join(name for name, _ in columns)
    assert con.execute(f"select {names} from mesh_catalog.{table}").fetchall() == rows


def test_the_rows_file_is_private_and_gone_after_the_insert(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import stat

    import duckdb

    from meshkit.catalog.store import create_table_sql

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again
    seen: list[int] = []
    con = duckdb.connect()
    con.execute("create schema mesh_catalog")
    con.execute(create_table_sql("violations", "duckdb"))

    def rows() -> Iterator[tuple[Any, ...]]:
        [folder] = tmp_path.iterdir()
        seen.append(stat.S_IMODE(os.stat(folder).st_mode))
        yield ("s", "r", "error", "d", "n", "f", 1, "m", "x")
        raise RuntimeError("the rows stop")

    with pytest.raises(RuntimeError):
        catalog_store.insert_rows(con, "violations", rows())
    assert seen == [0o700] and list(tmp_path.iterdir()) == []


def test_a_row_larger_than_duckdbs_default_json_object_goes_in() -> None:
    import duckdb

    from meshkit.catalog.store import create_table_sql

    con = duckdb.connect()
    con.execute("create schema mesh_catalog")
    con.execute(create_table_sql("violations", "duckdb"))
    message = "x" * (40 * 2**20)  # DuckDB reads no larger object than 16 MB by default
    catalog_store.insert_rows(con, "violations", [("s", "r", "error", "d", "n", "f", 1,
                                                   message, "fix")])
    assert con.execute("select length(message) from mesh_catalog.violations").fetchone() == (
        len(message),)
