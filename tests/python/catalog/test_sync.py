"""mesh-sync end to end over real artifacts: jaffle_shop and two dbt projects built with dbt."""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import orjson
import pytest
from catalog_support import GOLDEN
from click.testing import CliRunner

from meshkit.backends.duckdb.catalog_store import read_table
from meshkit.catalog.model import Catalog, json_schema, json_schema_text
from meshkit.catalog.store import SCHEMA_FILE_NAME, dumps, recover
from meshkit.catalog.store import catalog_bytes as store_bytes
from meshkit.catalog.sync import SKIPPED, sync
from meshkit.cli.catalog_cmds import mesh_sync
from meshkit.config import load_mesh

# A fixed clock for golden output (health depends on the time of the sync).
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _catalog(mesh_file: Path) -> Catalog:
    return Catalog.model_validate_json((mesh_file.parent / "catalog" / "catalog.json").read_bytes())


def test_jaffle_shop_catalogs_as_13_adhoc_models_and_no_products(jaffle_mesh: Path) -> None:
    result = sync(load_mesh(jaffle_mesh), now=NOW)
    [domain] = result.catalog.domains
    assert domain.products == []
    assert len(domain.adhoc_datasets) == 13
    assert {a.name for a in domain.adhoc_datasets} >= {"customers", "orders", "stg_customers"}
    # Those artifacts carry no compiled SQL: the catalog and the sync output say why there is
    # no column lineage instead of leaving it silently empty.
    assert domain.column_lineage is not None and "dbt compile" in domain.column_lineage
    assert result.catalog.column_lineage == [] or all(
        not e.downstream.startswith("model.jaffle_shop.") for e in result.catalog.column_lineage)
    [status] = result.domains
    assert status.note.startswith("column lineage none")
    written = (jaffle_mesh.parent / "catalog" / "catalog.json").read_bytes()
    golden = GOLDEN / "jaffle_shop.catalog.json"
    if not golden.exists():  # first run writes it; review it, then commit it
        golden.write_bytes(written)
    assert written == golden.read_bytes()


def test_products_datasets_ports_consumers_lineage(fixture_mesh: Path) -> None:
    cat = sync(load_mesh(fixture_mesh)).catalog
    bank = cat.domains[0]
    assert bank.name == "fx_bank"
    assert bank.column_lineage is None  # built with dbt build: compiled SQL, lineage read
    [product] = bank.products
    assert product.address == "fx_bank.customer_profile"
    assert (product.owner.name, product.owner.email) == ("Jane Doe", "jane@example.com")
    assert (product.status, product.tier, product.sla.freshness) == ("active", "gold", "24h")
    assert product.tags == ["customers", "profile"]
    assert product.use_cases == ["credit decisions"] and product.support == "#bank-data"
    assert product.internals == ["model.fx_bank.stg_customers"]
    assert [(p.kind, p.ref) for p in product.input_ports] == [("source", "raw.raw_customers")]
    assert [a.name for a in bank.adhoc_datasets] == ["region_counts"]

    v1, v2 = product.datasets
    assert (v1.id, v1.address, v1.version, v1.is_latest) == (
        "fx_bank.customer_profile.customers_v1", "fx_bank.customer_profile.customers", "1", False)
    assert v2.latest_version == "2" and v2.is_latest and v2.contract_enforced
    assert v1.deprecation_date is not None and v1.deprecation_date.startswith("2020-01-01")
    cols = {c.name: c for c in v2.columns}
    assert cols["email"].classification == "pii" and cols["email"].regulations == ["gdpr"]
    assert cols["full_name"].regulations == ["gdpr", "ccpa"]
    assert cols["credit_limit"].classification == "confidential"
    assert cols["customer_id"].constraints == ["not_null"]
    assert cols["credit_limit"].data_type == "decimal(12, 2)"
    assert v2.quality.passed == 3 and v2.quality.pass_rate == 1.0
    assert v2.operational.last_build_status == "success" and v2.operational.fresh is True
    assert v2.health.status == "healthy", v2.health.reasons
    assert v1.health.status == "caution"
    assert "version 1 past its deprecation date 2020-01-01" in v1.health.reasons
    assert product.health.status == "caution"

    # The consumer domain reads v2 through a cross-project ref (dbt-loom).
    risk = cat.domains[1]
    [scores] = risk.products
    assert [(p.kind, p.ref, p.domain) for p in scores.input_ports] == [
        ("product", "fx_bank.customer_profile.customers_v2", "fx_bank")]
    assert [(c.kind, c.ref) for c in v2.consumers] == [
        ("dataset", "fx_risk.risk_scores.scorecard")]
    assert v1.consumers == []
    [scorecard] = scores.datasets
    assert [(c.kind, c.ref, c.type) for c in scorecard.consumers] == [
        ("exposure", "risk_dashboard", "dashboard")]
    assert [(e.upstream_dataset, e.downstream_dataset) for e in cat.lineage] == [
        ("fx_bank.customer_profile.customers_v2", "fx_risk.risk_scores.scorecard")]
    across = {(e.upstream_column, e.downstream_column, e.transform) for e in cat.column_lineage
              if e.upstream_domain != e.downstream_domain}
    assert across == {("customer_id", "customer_id", "identity"), ("region", "region", "identity"),
                      ("credit_limit", "score", "derived")}
    # Lineage within a domain too: the bank's products trace back to its staging model.
    assert ("model.fx_bank.stg_customers", "email", "model.fx_bank.customers.v2", "email") in {
        (e.upstream, e.upstream_column, e.downstream, e.downstream_column)
        for e in cat.column_lineage}
    # dbt-loom's injected upstream nodes are not the consumer's own models.
    assert risk.adhoc_datasets == []


def test_two_syncs_are_byte_identical_and_the_second_skips(fixture_mesh: Path) -> None:
    mesh = load_mesh(fixture_mesh)
    first = sync(mesh)
    before = (fixture_mesh.parent / "catalog" / "catalog.json").read_bytes()
    second = sync(mesh)
    assert (fixture_mesh.parent / "catalog" / "catalog.json").read_bytes() == before
    assert all(d.status == "processed" for d in first.domains)
    assert [d.status for d in second.domains] == [SKIPPED] * len(mesh.config.domains)
    assert second.changes == []
    history = (fixture_mesh.parent / "catalog" / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in history] == [first.sync_id, second.sync_id]


def test_the_checks_run_with_the_mesh_frozen_and_the_sync_thaws_only_that(
        fixture_mesh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from meshkit.contracts import publish

    seen: list[int] = []
    prepare = publish.prepare

    def spy(*args: object, **kwargs: object) -> publish.Ledger:
        seen.append(gc.get_freeze_count())
        return prepare(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(publish, "prepare", spy)
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    first = sync(load_mesh(fixture_mesh))
    # The mesh read was out of the collector's reach for the checks, and is back after.
    assert seen[0] > 0
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    # Objects a caller froze before are theirs: the sync neither adds to them nor thaws them.
    gc.freeze()
    try:
        theirs = gc.get_freeze_count()
        second = sync(load_mesh(fixture_mesh))
        assert seen[1] == theirs and gc.get_freeze_count() == theirs
    finally:
        gc.unfreeze()
    assert first.catalog == second.catalog


def test_state_files_are_on_disk_before_the_checks_and_the_spool_goes_with_the_sync(
        fixture_mesh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from meshkit.contracts import publish

    mesh = load_mesh(fixture_mesh)
    spooled: list[dict[str, bytes]] = []
    prepare = publish.prepare

    def spy(*args: object, **kwargs: object) -> publish.Ledger:
        spools = list(fixture_mesh.parent.glob(".catalog.spool-*"))
        assert len(spools) == 1
        spooled.append(_files(spools[0]))
        return prepare(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(publish, "prepare", spy)
    sync(mesh, now=NOW)
    # Every domain read was written out by the time the checks ran, as it is staged.
    state = fixture_mesh.parent / "catalog" / "state"
    assert spooled[0] == {f"state/{d.name}.json": (state / f"{d.name}.json").read_bytes()
                          for d in mesh.config.domains}
    assert not list(fixture_mesh.parent.glob(".catalog.*"))

    # A sync that fails after spooling leaves neither the spool nor a change to the catalog.
    before = _files(fixture_mesh.parent / "catalog")
    results = fixture_mesh.parent / "fx_risk" / "target" / "run_results.json"
    data = orjson.loads(results.read_bytes())
    for r in data["results"]:
        r["status"] = "fail" if r["unique_id"].startswith("test.") else r["status"]
    results.write_bytes(orjson.dumps(data))

    def failing(*args: object, **kwargs: object) -> publish.Ledger:
        assert list(fixture_mesh.parent.glob(".catalog.spool-*/state/fx_risk.json"))
        raise RuntimeError("the checks broke")

    monkeypatch.setattr(publish, "prepare", failing)
    with pytest.raises(RuntimeError):
        sync(mesh, domains=["fx_risk"], now=NOW)
    assert not list(fixture_mesh.parent.glob(".catalog.*"))
    assert _files(fixture_mesh.parent / "catalog") == before


def test_the_site_and_descriptors_are_those_written_whole_with_the_unchanged_carried(
        fixture_mesh: Path) -> None:
    from meshkit.catalog.store import dumps, product_descriptor
    from meshkit.catalog.sync import _query_log_dir
    from meshkit.marketplace.site import gather_inputs, product_page, render_site

    mesh = load_mesh(fixture_mesh)
    site = fixture_mesh.parent / "catalog" / "site"
    descriptors = fixture_mesh.parent / "catalog" / "products"
    sync(mesh, now=NOW)
    inodes = {rel: (site / rel).stat().st_ino for rel in _files(site)}
    descriptor_inodes = {rel: (descriptors / rel).stat().st_ino for rel in _files(descriptors)}
    results = fixture_mesh.parent / "fx_risk" / "target" / "run_results.json"
    data = orjson.loads(results.read_bytes())
    for r in data["results"]:
        r["status"] = "fail" if r["unique_id"].startswith("test.fx_risk.") else r["status"]
    results.write_bytes(orjson.dumps(data))
    second = sync(mesh, now=NOW)

    inputs = gather_inputs(mesh, _query_log_dir(mesh, None))
    inputs.violations = [v.model_dump(mode="json") for v in second.report.violations]
    assert _files(site) == render_site(mesh, second.catalog, inputs)
    pages = {product_page(p.address): p.domain for p in second.catalog.products()}
    kept = {rel for rel in pages if (site / rel).stat().st_ino == inodes[rel]}
    # The pages of the domain that changed are new files; the others are the last sync's.
    assert kept == {rel for rel, domain in pages.items() if domain != "fx_risk"} != set()
    assert not list(fixture_mesh.parent.glob(".catalog.*"))

    # So are the product descriptors: the same bytes as written whole, the unchanged carried.
    products = {f"{p.address}.json": p for p in second.catalog.products()}
    assert _files(descriptors) == {rel: dumps(product_descriptor(second.catalog.mesh, p))
                                   for rel, p in products.items()}
    carried = {rel for rel in products
               if (descriptors / rel).stat().st_ino == descriptor_inodes[rel]}
    assert carried == {rel for rel, p in products.items() if p.domain != "fx_risk"} != set()


def _read_files(root: Path) -> dict[str, bytes]:
    """What a sync writes of what it read (not its id: a history line, the registry's entries)."""
    return {rel: data for rel, data in _files(root / "catalog").items()
            if rel == "catalog.json" or rel.startswith(("state/", "products/"))}


def test_domains_read_ahead_by_the_workers_give_the_catalog_read_alone(
        fixture_mesh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the lineage workers run, they project the next domains' artifacts into the cache
    ahead of the sync: the catalog is byte for byte the one of a sync reading every domain
    itself; a job that fails costs only time; a domain whose artifacts are bad is reported as
    it is without the workers."""
    import os
    import shutil

    from meshkit import artifact_cache, lineage, resources

    root = fixture_mesh.parent
    mesh = load_mesh(fixture_mesh)

    def afresh() -> None:
        for folder in ("catalog", ".catalog-cache", "warehouse"):
            shutil.rmtree(root / folder, ignore_errors=True)

    def with_workers() -> None:
        monkeypatch.setattr(lineage, "PARALLEL_MIN_QUERIES", 1)  # the first wave starts them
        monkeypatch.setattr(resources, "usable_cpus", lambda: 2)

    afresh()
    alone = sync(mesh, now=NOW)  # one process: no worker starts
    read_alone = _read_files(root)

    stored = tmp_path / "stored.txt"
    real_store = artifact_cache.ArtifactCache._store

    def recording(folder: Path, key: str, arts: object) -> None:
        with open(stored, "a") as out:  # (the workers' writes reach the test through a file)
            out.write(f"{os.getpid()} {folder.name}\n")
        real_store(folder, key, arts)  # type: ignore[arg-type]

    afresh()
    monkeypatch.setattr(artifact_cache.ArtifactCache, "_store", staticmethod(recording))
    with_workers()
    ahead = sync(mesh, now=NOW)
    by = {domain: int(pid) for pid, domain in (line.split() for line in
                                                 stored.read_text().splitlines())}
    assert set(by) == {d.name for d in mesh.config.domains}
    assert by[mesh.config.domains[0].name] == os.getpid()
    assert all(by[d.name] != os.getpid() for d in mesh.config.domains[1:])
    assert _read_files(root) == read_alone and ahead.catalog == alone.catalog

    # Jobs that fail: the sync reads each domain itself, to the same catalog.
    parent, real_parse = os.getpid(), artifact_cache.parse_artifacts

    def fails_in_a_worker(raw: object) -> object:
        if os.getpid() != parent:
            raise RuntimeError("broken in a worker")
        return real_parse(raw)  # type: ignore[arg-type]

    afresh()
    stored.unlink()
    monkeypatch.setattr(artifact_cache, "parse_artifacts", fails_in_a_worker)  # the forks' too
    assert sync(mesh, now=NOW).catalog == alone.catalog
    assert _read_files(root) == read_alone
    assert {int(line.split()[0]) for line in stored.read_text().splitlines()} == {parent}

    # A domain whose manifest is bad is stale, with the error of a sync without workers.
    monkeypatch.undo()
    last = mesh.config.domains[-1]
    (mesh.artifacts_path(last) / "manifest.json").write_text("{ not json")
    errors = []
    for workers in (False, True):
        afresh()
        if workers:
            with_workers()
        result = sync(mesh, now=NOW)
        errors.append([(e.message, e.fix, e.file) for e in result.failures])
    assert errors[0] == errors[1] and len(errors[0]) == 1


def test_an_unchanged_catalog_is_not_rewritten_but_the_sync_is_recorded(
        fixture_mesh: Path) -> None:
    mesh = load_mesh(fixture_mesh)
    catalog_dir = fixture_mesh.parent / "catalog"
    warehouse = fixture_mesh.parent / "warehouse" / "mesh_catalog.duckdb"
    first = sync(mesh, now=NOW)
    before = _files(catalog_dir)
    inode = (catalog_dir / "catalog.json").stat().st_ino
    products_before = list(read_table(warehouse, "products"))
    second = sync(mesh, now=NOW)
    assert [d.status for d in second.domains] == [SKIPPED] * len(mesh.config.domains)
    assert second.changes == []
    after = _files(catalog_dir)
    history = after.pop("history.jsonl").decode().splitlines()
    assert after == {k: v for k, v in before.items() if k != "history.jsonl"}
    assert (catalog_dir / "catalog.json").stat().st_ino == inode  # left in place, not swapped
    assert [json.loads(line)["id"] for line in history] == [first.sync_id, second.sync_id]
    assert [r[0] for r in read_table(warehouse, "sync_runs")] == sorted(
        [first.sync_id, second.sync_id])
    assert list(read_table(warehouse, "products")) == products_before
    assert not list(fixture_mesh.parent.glob(".catalog.*"))
    assert not list(catalog_dir.glob(".*"))
    # Health moves with the clock: a later sync of the same artifacts rewrites the catalog.
    later = sync(mesh, now=datetime(2026, 1, 3, tzinfo=UTC))
    assert (catalog_dir / "catalog.json").read_bytes() == store_bytes(later.catalog)
    assert store_bytes(later.catalog) == dumps(later.catalog.model_dump(mode="json"))
    # The snapshot tables are rewritten when missing, though the folder is unchanged.
    warehouse.unlink()
    sync(mesh, now=datetime(2026, 1, 3, tzinfo=UTC))
    assert len(list(read_table(warehouse, "products"))) == 2


def test_catalog_json_streamed_in_pieces_is_the_whole_dump(fixture_mesh: Path) -> None:
    catalog = sync(load_mesh(fixture_mesh), now=NOW).catalog
    edges = catalog.column_lineage
    assert edges
    many = (edges * (5000 // len(edges) + 1))[:4097]  # three batches, the last of one edge
    for variant in (catalog, Catalog(mesh="m"),
                    catalog.model_copy(update={"column_lineage": many}),
                    catalog.model_copy(update={"column_lineage": []}),
                    catalog.model_copy(update={"domains": []})):
        assert store_bytes(variant) == dumps(variant.model_dump(mode="json"))


def test_recover_drops_a_history_append_cut_short(fixture_mesh: Path) -> None:
    sync(load_mesh(fixture_mesh))
    catalog_dir = fixture_mesh.parent / "catalog"
    before = _files(catalog_dir)
    (catalog_dir / ".history.jsonl.tmp-x").write_bytes(b"partial")
    recover(catalog_dir)
    assert _files(catalog_dir) == before


def test_a_changed_domain_is_reprocessed_alone(fixture_mesh: Path) -> None:
    mesh = load_mesh(fixture_mesh)
    sync(mesh)
    results = fixture_mesh.parent / "fx_risk" / "target" / "run_results.json"
    data = orjson.loads(results.read_bytes())
    for r in data["results"]:
        if r["unique_id"].startswith("test.fx_risk."):
            r["status"] = "fail"
            r["failures"] = 2
    results.write_bytes(orjson.dumps(data))
    again = sync(mesh)
    statuses = {d.name: d.status for d in again.domains}
    assert statuses["fx_risk"] == "processed"
    assert statuses["fx_bank"] == SKIPPED
    scores = again.catalog.domains[1].products[0]
    assert scores.health.status == "degraded"
    assert "scorecard: 1 failing test(s)" in scores.health.reasons
    assert "~ product fx_risk.risk_scores: health healthy → degraded" in again.changes


def test_a_bad_manifest_isolates_its_domain_and_the_rest_syncs(fixture_mesh: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(mesh_sync, ["--mesh", str(fixture_mesh)])
    assert ok.exit_code == 0, ok.output
    before = _catalog(fixture_mesh)
    warehouse = fixture_mesh.parent / "warehouse" / "mesh_catalog.duckdb"
    runs_before = list(read_table(warehouse, "sync_runs"))

    manifest = fixture_mesh.parent / "fx_risk" / "target" / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:1000])  # truncated, as by a killed dbt
    bad = runner.invoke(mesh_sync, ["--mesh", str(fixture_mesh)])
    assert bad.exit_code == 1, bad.output
    assert f"error: {manifest}: domain 'fx_risk': not valid JSON" in bad.output
    assert "fix: regenerate it" in bad.output
    after = _catalog(fixture_mesh)
    old_risk, new_risk = before.domains[1], after.domains[1]
    assert new_risk.stale is not None and "not valid JSON" in new_risk.stale.message
    assert new_risk.stale.file == str(manifest)
    assert new_risk.model_copy(update={"stale": None}) == old_risk  # the last good entry
    assert [d for d in after.domains if d.name != "fx_risk"] == [
        d for d in before.domains if d.name != "fx_risk"]
    assert len(list(read_table(warehouse, "sync_runs"))) == len(runs_before) + 1
    assert not list(fixture_mesh.parent.glob(".catalog.*"))


def test_dry_run_writes_nothing(fixture_mesh: Path) -> None:
    result = CliRunner().invoke(mesh_sync, ["--mesh", str(fixture_mesh), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["dry_run"] is True and summary["products"] == 2 and summary["violations"] == 0
    assert not (fixture_mesh.parent / "catalog").exists()
    assert not (fixture_mesh.parent / "warehouse" / "mesh_catalog.duckdb").exists()


def test_domain_option_reads_only_that_domain(fixture_mesh: Path) -> None:
    mesh = load_mesh(fixture_mesh)
    sync(mesh)
    result = sync(mesh, domains=["fx_risk"])
    statuses = {d.name: d.status for d in result.domains}
    assert statuses["fx_risk"] == SKIPPED
    assert statuses["fx_bank"] == "kept (not selected)"
    unknown = CliRunner().invoke(mesh_sync, ["--mesh", str(fixture_mesh), "--domain", "fx_bnk"])
    assert unknown.exit_code == 2
    assert "did you mean 'fx_bank'?" in unknown.output


def test_warehouse_tables_agree_with_catalog_json(fixture_mesh: Path) -> None:
    sync(load_mesh(fixture_mesh))
    cat = _catalog(fixture_mesh)
    wh = fixture_mesh.parent / "warehouse" / "mesh_catalog.duckdb"
    products = list(read_table(wh, "products"))
    assert [(r[0], r[3], r[6], r[15]) for r in products] == sorted(
        (p.address, p.owner.name, p.status, p.health.status.value) for p in cat.products())
    datasets = {r[0]: r for r in read_table(wh, "datasets")}
    product_ds = {k: r for k, r in datasets.items() if r[5] == "product"}
    assert set(product_ds) == {ds.id for ds in cat.datasets()}
    adhoc = sum(len(d.adhoc_datasets) for d in cat.domains)
    assert len(datasets) - len(product_ds) == adhoc
    columns = list(read_table(wh, "columns"))
    expected_columns = sum(len(ds.columns) for ds in cat.datasets()) + sum(
        len(a.columns) for d in cat.domains for a in d.adhoc_datasets)
    assert len(columns) == expected_columns
    pii = {(r[0], r[1]) for r in columns if r[5] == "pii"}
    assert ("fx_bank.customer_profile.customers_v2", "email") in pii
    ports = list(read_table(wh, "ports"))
    assert ("fx_risk.risk_scores", "input", "product", "fx_bank.customer_profile.customers_v2",
            "model.fx_bank.customers.v2", "fx_bank", None, None) in ports
    consumers = [r for r in ports if r[1] == "consumer"]
    assert len(consumers) == sum(len(ds.consumers) for ds in cat.datasets())
    quality = list(read_table(wh, "quality_results"))
    assert len(quality) == sum(len(ds.quality.tests) for ds in cat.datasets())
    lineage = list(read_table(wh, "lineage"))
    assert len(lineage) == len(cat.lineage) + len(cat.column_lineage)
    assert len(list(read_table(wh, "sync_runs"))) == 1


def test_catalog_validates_against_the_published_json_schema(fixture_mesh: Path) -> None:
    sync(load_mesh(fixture_mesh))
    data = json.loads((fixture_mesh.parent / "catalog" / "catalog.json").read_text())
    jsonschema.validate(data, json_schema())
    published = Path(__file__).resolve().parents[3] / "schemas" / SCHEMA_FILE_NAME
    assert published.read_text() == json_schema_text(), (
        "schemas/catalog.schema.json is stale: run "
        "`python -c 'from meshkit.catalog.model import write_json_schema; write_json_schema()'`")
    data["domains"][0]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, json_schema())


def test_product_descriptors(fixture_mesh: Path) -> None:
    sync(load_mesh(fixture_mesh))
    products = fixture_mesh.parent / "catalog" / "products"
    assert sorted(p.name for p in products.iterdir()) == [
        "fx_bank.customer_profile.json", "fx_risk.risk_scores.json"]
    desc = json.loads((products / "fx_risk.risk_scores.json").read_text())
    assert desc["info"]["owner"] == {"name": "Sam Risk", "email": "sam@example.com"}
    assert desc["interfaceComponents"]["inputPorts"][0]["fullyQualifiedName"] == (
        "fx_bank.customer_profile.customers_v2")
    [out] = desc["interfaceComponents"]["outputPorts"]
    assert out["promises"]["slo"] == {"freshness": "12h"}
    assert [c["name"] for c in out["promises"]["api"]["schema"]] == [
        "customer_id", "region", "score"]


def test_interrupted_swap_is_recovered(fixture_mesh: Path) -> None:
    sync(load_mesh(fixture_mesh))
    catalog_dir = fixture_mesh.parent / "catalog"
    before = _files(catalog_dir)
    # A sync killed between its two renames leaves the old catalog under its backup name.
    catalog_dir.rename(fixture_mesh.parent / ".catalog.old-x")
    (fixture_mesh.parent / ".catalog.tmp-x").mkdir()
    recover(catalog_dir)
    assert _files(catalog_dir) == before
    assert not list(fixture_mesh.parent.glob(".catalog.*"))


def test_ddl_golden_for_duckdb_and_snowflake() -> None:
    from meshkit.catalog.store import TABLES, create_table_sql

    text = "".join(f"-- {dialect}\n" + "".join(f"{create_table_sql(t, dialect)};\n"
                                               for t in TABLES)
                   for dialect in ("duckdb", "snowflake"))
    golden = GOLDEN / "mesh_catalog_ddl.sql"
    if not golden.exists():
        golden.write_text(text)
    assert text == golden.read_text()


def test_a_second_writer_is_refused_while_one_holds_the_lock(jaffle_mesh: Path) -> None:
    from meshkit.catalog.store import sync_lock
    from meshkit.errors import UsageError

    mesh = load_mesh(jaffle_mesh)
    with sync_lock(mesh.catalog_dir), pytest.raises(UsageError, match="another mesh-sync"):
        sync(mesh)
    assert sync(mesh).domains[0].status == "processed"
