"""`mesh onboard` of real dbt projects (a dbt-loom producer/consumer pair, built with real dbt on
DuckDB) and of the real jaffle_shop artifacts; `mesh suggest products` over both."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from catalog_support import REAL_ARTIFACTS, copy_jaffle
from click.testing import CliRunner

from meshkit.catalog.store import require_catalog
from meshkit.cli.main import cli
from meshkit.config import load_mesh
from meshkit.errors import UsageError
from meshkit.selfserve.onboard import onboard
from meshkit.selfserve.scaffold import init_mesh
from meshkit.selfserve.suggest import suggest_products

PAIR = Path(__file__).resolve().parent / "fixtures" / "loom_pair"


def _run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def test_onboard_a_dbt_loom_pair_builds_both_and_reports_gaps(tmp_path: Path) -> None:
    shutil.copytree(PAIR, tmp_path / "projects")
    init_mesh(tmp_path / "mesh")
    mesh_file = str(tmp_path / "mesh" / "mesh.yml")
    models_before = {p: p.read_text() for p in (tmp_path / "projects").rglob("models/**/*")
                     if p.is_file()}

    out = _run("onboard", str(tmp_path / "projects" / "revenue"), "--owner", "rev@x.example",
               "--mesh", mesh_file, "--json", "--junit", str(tmp_path / "readiness.xml"))
    revenue = json.loads(out)
    assert "publish.sql_config" in (tmp_path / "readiness.xml").read_text()
    rules = {v["rule"]: v for v in revenue["report"]["violations"]}
    # what the producer lacks to publish, with where and how
    assert {"publish.no_products", "publish.public_without_group",
            "publish.sql_config"} <= set(rules)
    sql_config = rules["publish.sql_config"]
    assert sql_config["file"].endswith("models/marts/payments.sql")
    assert sql_config["line"] == 1
    assert "materialized" in sql_config["message"] and "YAML" in sql_config["fix"]

    consumer = onboard(load_mesh(mesh_file), tmp_path / "projects" / "customer_success")
    assert consumer.reads == ["revenue"]
    assert any("marketing" in n for n in consumer.written.notes)  # the unused optional entry
    loom = yaml.safe_load((tmp_path / "projects/customer_success/dbt_loom.config.yml").read_text())
    assert [m["name"] for m in loom["manifests"]] == ["revenue"]
    gaps = {v.rule: v for v in consumer.report.violations}
    assert "publish.cross_domain_ref" in gaps  # it reads a model that is in no product
    assert gaps["publish.cross_domain_ref"].node == "model.customer_success.customer_revenue"
    # onboarding left the projects' models untouched
    assert models_before == {p: p.read_text() for p in (tmp_path / "projects").rglob("models/**/*")
                             if p.is_file() and p in models_before}

    # The mesh refuses the consumer while what it reads is no product (fail closed) ...
    refused = _run("build", "--mesh", mesh_file, code=1)
    assert "contract.ref_not_product" in refused
    # ... so the producer follows its report: the model's SQL config() goes (YAML decides), and
    # the suggested contract publishes it as a product.
    payments_sql = tmp_path / "projects/revenue/models/marts/payments.sql"
    (revenue_candidate,) = suggest_products(load_mesh(mesh_file), "revenue",
                                            only=["payments"], write=False).candidates
    assert any("config() sets materialized" in b for b in revenue_candidate.blockers)
    payments_sql.write_text(payments_sql.read_text().replace(
        "{{ config(materialized='table') }}\n", ""))
    suggest_products(load_mesh(mesh_file), "revenue", only=["payments"])
    _run("build", "--mesh", mesh_file)
    warehouse = tmp_path / "mesh" / "warehouse"
    con = duckdb.connect(str(warehouse / "customer_success.duckdb"), read_only=True)
    try:
        con.execute(f"attach '{warehouse / 'revenue.duckdb'}' as revenue (read_only)")
        rows = con.execute("select customer_id, payments, revenue from "
                           "customer_success.internal.customer_revenue order by 1").fetchall()
    finally:
        con.close()
    assert [(r[0], r[1], float(r[2])) for r in rows] == [(10, 2, 20.5), (11, 1, 40.0)]
    catalog = require_catalog(tmp_path / "mesh" / "catalog")
    assert {d.name for d in catalog.domains} == {"revenue", "customer_success"}
    assert any(e.upstream == "model.revenue.payments" for e in catalog.lineage)
    payments = next(p for p in catalog.products() if p.address == "revenue.payments")
    assert [c.domain for c in payments.consumers] == ["customer_success"]

    # A suggestion for the consumer, written into its project: a re-run of build publishes it.
    suggestion = suggest_products(load_mesh(mesh_file), "customer_success")
    (candidate,) = suggestion.candidates
    assert candidate.model == "customer_revenue" and candidate.primary_key == ["customer_id"]
    assert {c.name: c.data_type for c in candidate.columns}["customer_id"] == "INTEGER"
    _run("build", "--mesh", mesh_file, "--domain", "customer_success")
    catalog = require_catalog(tmp_path / "mesh" / "catalog")
    product = next(p for p in catalog.products() if p.domain == "customer_success")
    assert product.status == "draft" and product.datasets[0].contract_enforced
    assert product.datasets[0].quality.failed == 0


def test_onboard_jaffle_shop_by_artifacts_and_suggest(tmp_path: Path) -> None:
    init_mesh(tmp_path / "mesh")
    mesh = load_mesh(tmp_path / "mesh" / "mesh.yml")
    folder = tmp_path / "mesh" / "artifacts" / "jaffle_shop"
    folder.mkdir(parents=True)
    if not REAL_ARTIFACTS.is_dir():
        pytest.skip("real dbt artifacts not found (shared/ beside the repo)")
    shutil.copyfile(REAL_ARTIFACTS / "manifest_dbt1.11.json", folder / "manifest_dbt1.11.json")
    with pytest.raises(UsageError, match=re.escape("copy manifest_dbt1.11.json to manifest.json")):
        onboard(mesh, artifacts=folder)
    copy_jaffle(folder)
    result = onboard(mesh, artifacts=folder, owner_email="jaffle@x.example")
    assert result.domain == "jaffle_shop"
    assert [v.rule for v in result.report.violations] == ["publish.no_products"]

    mesh_file = str(tmp_path / "mesh" / "mesh.yml")
    _run("build", "--mesh", mesh_file)  # nothing to build here: the sync reads the artifacts
    catalog = require_catalog(tmp_path / "mesh" / "catalog")
    (jaffle,) = catalog.domains
    assert jaffle.products == []
    assert {"customers", "orders", "stg_customers"} <= {a.name for a in jaffle.adhoc_datasets}

    out = json.loads(_run("suggest", "products", "jaffle_shop", "--mesh", mesh_file, "--json"))
    by_model = {c["model"]: c for c in out["candidates"]}
    assert {"customers", "orders"} <= set(by_model)
    assert not any(m.startswith("stg_") for m in by_model)
    warehouse = json.loads((folder / "catalog.json").read_text())["nodes"]
    for model in ("customers", "orders"):
        expected = {name.lower(): col["type"]
                    for name, col in warehouse[f"model.jaffle_shop.{model}"]["columns"].items()}
        assert {c["name"]: c["data_type"] for c in by_model[model]["columns"]} == expected
        assert by_model[model]["primary_key"] == [f"{model[:-1]}_id"]
    names = {c["name"]: c for c in by_model["customers"]["columns"]}
    assert names["customer_name"]["classification"] == "pii"
    assert names["customer_id"]["classification"] == "internal"
    (written,) = out["written"]
    proposal = yaml.safe_load(Path(written).read_text())
    orders = next(m for m in proposal["models"] if m["name"] == "orders")
    assert orders["config"] == {"group": "orders", "access": "public",
                                "materialized": "secure_view", "contract": {"enforced": True}}
