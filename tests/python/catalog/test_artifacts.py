"""Reading dbt artifacts: the real jaffle_shop files, schema versions, missing and bad files."""

from __future__ import annotations

import doctest
from pathlib import Path

import orjson
import pytest
from catalog_support import copy_jaffle

from meshkit import artifacts
from meshkit.artifacts import LocalArtifacts, read_domain_artifacts
from meshkit.errors import ArtifactError


def test_reads_real_jaffle_shop(tmp_path: Path) -> None:
    arts = read_domain_artifacts(LocalArtifacts(copy_jaffle(tmp_path)))
    models = [n for n in arts.nodes.values() if n.resource_type == "model"]
    assert arts.project_name == "jaffle_shop"
    assert arts.manifest_schema_version == 12
    assert len(models) == 13
    assert arts.groups == {}
    assert len(arts.tests) == 27
    # That run_results.json was written by `dbt docs generate`: compile results, not a build.
    assert arts.results == {}
    assert dict(arts.warehouse_columns["model.jaffle_shop.customers"])["customer_id"] == "VARCHAR"


def _rewrite_manifest(folder: Path, **metadata: str) -> Path:
    file = folder / "manifest.json"
    manifest = orjson.loads(file.read_bytes())
    manifest["metadata"].update(metadata)
    file.write_bytes(orjson.dumps(manifest))
    return file


def test_old_manifest_says_which_dbt_to_regenerate_with(tmp_path: Path) -> None:
    folder = copy_jaffle(tmp_path)
    _rewrite_manifest(folder, dbt_schema_version="https://schemas.getdbt.com/dbt/manifest/v9.json")
    with pytest.raises(ArtifactError) as err:
        read_domain_artifacts(LocalArtifacts(folder))
    text = str(err.value)
    assert str(folder / "manifest.json") in text
    assert "v9 is too old" in text
    assert "regenerate with dbt >= 1.6: `dbt parse`" in text


def test_newer_manifest_is_refused(tmp_path: Path) -> None:
    folder = copy_jaffle(tmp_path)
    _rewrite_manifest(folder,
                      dbt_schema_version="https://schemas.getdbt.com/dbt/manifest/v13.json")
    with pytest.raises(ArtifactError, match="v13 is newer"):
        read_domain_artifacts(LocalArtifacts(folder))


def test_missing_manifest_says_to_run_dbt(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError) as err:
        read_domain_artifacts(LocalArtifacts(tmp_path))
    assert "manifest.json" in str(err.value)
    assert "dbt build" in str(err.value)


def test_corrupt_manifest_names_the_file(tmp_path: Path) -> None:
    folder = copy_jaffle(tmp_path)
    (folder / "manifest.json").write_bytes(b'{"metadata": ')
    with pytest.raises(ArtifactError) as err:
        read_domain_artifacts(LocalArtifacts(folder))
    assert f"{folder / 'manifest.json'}: not valid JSON" in str(err.value)


def test_column_meta_is_read_from_meta_and_config_meta(tmp_path: Path) -> None:
    folder = copy_jaffle(tmp_path)
    file = folder / "manifest.json"
    manifest = orjson.loads(file.read_bytes())
    cols = manifest["nodes"]["model.jaffle_shop.customers"]["columns"]
    # dbt 1.10+ writes both places; older manifests only `meta`, YAML may set only config.meta.
    cols["customer_id"]["meta"] = {"classification": "internal"}
    cols["customer_id"]["config"] = {"meta": {}}
    cols["customer_name"]["meta"] = {}
    cols["customer_name"]["config"] = {"meta": {"classification": "pii", "regulations": "gdpr"}}
    file.write_bytes(orjson.dumps(manifest))
    node = read_domain_artifacts(LocalArtifacts(folder)).nodes["model.jaffle_shop.customers"]
    by_name = {c.name: c for c in node.columns}
    assert by_name["customer_id"].classification == "internal"
    assert by_name["customer_name"].classification == "pii"
    assert by_name["customer_name"].regulations == ("gdpr",)


def test_session_statements_are_found_where_they_run(tmp_path: Path) -> None:
    """ATTACH, USE and SET search_path in a domain's code and hooks; not Jinja's ``set``, other
    words, nor the macros dbt loads from its own installation."""
    folder = copy_jaffle(tmp_path)
    assert read_domain_artifacts(LocalArtifacts(folder)).session_sites == ()  # 786 real macros
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    nodes, macros = manifest["nodes"], manifest["macros"]
    nodes["model.jaffle_shop.customers"]["config"]["pre-hook"] = "Use consumer_banking.internal"
    nodes["model.jaffle_shop.orders"]["config"]["post-hook"] = [
        {"sql": "select 1; SET GLOBAL search_path = 'cb.internal'", "transaction": True}]
    nodes["model.jaffle_shop.stg_orders"]["raw_code"] = (
        "{% set schema = 'x' %}{# the attachment, attached #}\nselect * from {{ ref('a') }}")
    macro = next(iter(macros.values()))
    macros["macro.jaffle_shop.open_lake"] = {**macro, "package_name": "jaffle_shop",
                                              "macro_sql": "{% do run_query(\"ATTACH 'l.db'\") %}"}
    macros["macro.dbt.open_lake"] = {**macro, "package_name": "dbt", "macro_sql": "attach x"}
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest))
    found = read_domain_artifacts(LocalArtifacts(folder)).session_sites
    assert sorted((s.unique_id, s.statement, s.package_name) for s in found) == [
        ("macro.jaffle_shop.open_lake", "ATTACH", "jaffle_shop"),
        ("model.jaffle_shop.customers", "Use", "jaffle_shop"),
        ("model.jaffle_shop.orders", "SET GLOBAL search_path", "jaffle_shop")]


def test_content_hash_follows_the_bytes(tmp_path: Path) -> None:
    folder = copy_jaffle(tmp_path)
    first = artifacts.read_raw(LocalArtifacts(folder)).content_hash
    assert artifacts.read_raw(LocalArtifacts(folder)).content_hash == first
    (folder / "catalog.json").unlink()
    assert artifacts.read_raw(LocalArtifacts(folder)).content_hash != first


@pytest.mark.parametrize("module", ["meshkit.artifacts", "meshkit.catalog.build",
                                    "meshkit.catalog.store", "meshkit.catalog.search",
                                    "meshkit.catalog.sync"])
def test_docstring_examples(module: str) -> None:
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0


def test_sql_dbt_compiled_last_is_read_for_the_lineage_of_models_the_manifest_has_none_of(
        tmp_path: Path) -> None:
    """jaffle_shop's manifest was written by `dbt parse`: no model carries compiled SQL. dbt's
    compiled folder beside it (as an earlier `dbt build` leaves it) gives the lineage SQL of
    the models it holds, never a file outside it, and never the rules' own compiled_code."""
    from meshkit.artifact_cache import ArtifactCache

    folder = copy_jaffle(tmp_path / "target")
    compiled = folder / "compiled" / "jaffle_shop" / "models" / "staging"
    compiled.mkdir(parents=True)
    (compiled / "stg_orders.sql").write_text("select id as order_id from raw.orders")
    (folder / "outside.sql").write_text("select 1 as leaked")
    file = folder / "manifest.json"
    manifest = orjson.loads(file.read_bytes())
    manifest["nodes"]["model.jaffle_shop.stg_customers"]["original_file_path"] = "../../outside.sql"
    file.write_bytes(orjson.dumps(manifest))

    for arts in (read_domain_artifacts(LocalArtifacts(folder)),
                 ArtifactCache(tmp_path / "cache").read("jaffle_shop", LocalArtifacts(folder))):
        arts = artifacts.with_compiled_files(arts)
        assert dict(arts.compiled_files) == {
            "model.jaffle_shop.stg_orders": "select id as order_id from raw.orders"}
        orders = arts.nodes["model.jaffle_shop.stg_orders"]
        assert orders.compiled_code is None
        assert arts.lineage_sql(orders) == "select id as order_id from raw.orders"
        missing, models = arts.uncompiled_models("jaffle_shop")
        assert "stg_orders" not in missing and len(missing) == models - 1
