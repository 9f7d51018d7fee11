"""`mesh init`, `mesh new domain`, `mesh new product`: real dbt on real DuckDB, in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from meshkit.catalog.store import require_catalog
from meshkit.cli.main import cli
from meshkit.config import load_mesh
from meshkit.errors import ConfigError, UsageError
from meshkit.mesh import Mesh
from meshkit.selfserve.meshfile import add_domain
from meshkit.selfserve.scaffold import init_mesh, new_domain, new_product

REPO = Path(__file__).resolve().parents[3]


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_new_mesh_domain_product_build_and_catalog(tmp_path: Path) -> None:
    root = tmp_path / "acme"
    _run("init", str(root))
    mesh_file = str(root / "mesh.yml")
    _run("build", "--mesh", mesh_file)  # the first build of an empty mesh succeeds
    assert require_catalog(root / "catalog").domains == []

    _run("new", "domain", "sales", "--owner", "sales@acme.example", "--mesh", mesh_file)
    _run("new", "product", "sales", "orders", "--mesh", mesh_file)
    _run("new", "domain", "finance", "--owner", "fin@acme.example", "--reads", "sales",
         "--mesh", mesh_file)
    # every scaffolded YAML file is valid YAML (target/: build output, e.g. the catalog marts')
    for file in root.rglob("*.yml"):
        if "target" not in file.relative_to(root).parts:
            yaml.safe_load(file.read_text())
    out = _run("build", "--mesh", mesh_file)
    assert "sales.orders" in out
    catalog = require_catalog(root / "catalog")
    product = next(p for p in catalog.products() if p.address == "sales.orders")
    assert product.status == "draft" and product.owner.email == "sales@acme.example"
    (ds,) = product.datasets
    assert ds.contract_enforced and ds.id == "sales.orders.orders"
    assert {c.name: c.classification for c in ds.columns}["contact_email"] == "pii"
    assert ds.quality.tests and ds.quality.passed == len(ds.quality.tests)
    # the staging model over the landed file and the seed are ad-hoc data
    sales = next(d for d in catalog.domains if d.name == "sales")
    assert [a.name for a in sales.adhoc_datasets] == ["stg_records"]
    assert [s.ref for s in sales.sources] == ["raw.records"]
    # the secure view masks the personal column for a session without roles
    from meshkit.backends.duckdb.query import query

    rows = query(load_mesh(root / "mesh.yml"), "select contact_email from sales.orders.orders",
                 []).rows
    assert rows and {r[0] for r in rows} == {"***MASKED***"}
    _run("query", "--mesh", mesh_file, "select count(*) from sales.orders.orders")
    finance = load_mesh(root / "mesh.yml").config.domain("finance")
    assert finance.owner.email == "fin@acme.example"
    loom = yaml.safe_load((root / "domains/finance/dbt_loom.config.yml").read_text())
    assert [m["name"] for m in loom["manifests"]] == ["sales"]

    # Success over time: finance starts reading sales.orders, and the next sync sees it.
    (root / "domains/finance/models/sales_summary.sql").write_text(
        "select count(*) as orders from {{ ref('sales', 'orders') }}\n")
    _run("build", "--mesh", mesh_file, "--domain", "finance")
    mesh = load_mesh(root / "mesh.yml")
    metrics = Mesh.load(mesh.file).product_metrics()["sales.orders"]
    assert [(c.datasets, c.domains) for c in metrics.consumers] == [(0, []), (1, ["finance"])]
    assert metrics.tests[-1].passed == len(ds.quality.tests) and metrics.tests[-1].failed == 0
    assert metrics.builds and metrics.builds[0].status == "success"
    assert metrics.sla.freshness == "24h" and metrics.sla.observed >= 2
    assert metrics.sla.attainment == 1.0
    # the two reads above, from the query audit log
    assert metrics.reads.by_dataset == {"sales.orders.orders": 2}
    assert metrics.reads.by_source == {"mesh_query": 2} and len(metrics.reads.users) == 1


def test_init_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(UsageError, match="not empty"):
        init_mesh(tmp_path)


def test_new_domain_refuses_bad_names_and_duplicates(tmp_path: Path) -> None:
    init_mesh(tmp_path / "m")
    mesh = load_mesh(tmp_path / "m" / "mesh.yml")
    with pytest.raises(UsageError, match="lowercase identifier"):
        new_domain(mesh, "Sales", "a@b.example")
    with pytest.raises(UsageError, match="email"):
        new_domain(mesh, "sales", "nobody")
    new_domain(mesh, "sales", "a@b.example")
    mesh = load_mesh(mesh.file)
    with pytest.raises(ConfigError, match="did you mean 'sales'"):
        new_domain(mesh, "finance", "a@b.example", reads=["sale"])
    with pytest.raises(UsageError, match="already"):
        new_domain(mesh, "sales", "a@b.example")
    new_product(mesh, "sales", "orders")
    with pytest.raises(UsageError, match="already has a group"):
        new_product(mesh, "sales", "orders", dataset="other")


def test_add_domain_keeps_every_other_byte_of_mesh_yml(tmp_path: Path) -> None:
    original = (REPO / "mesh.yml").read_text()
    (tmp_path / "mesh.yml").write_text(original)
    mesh = add_domain(load_mesh(tmp_path / "mesh.yml"), {
        "name": "sales", "path": "domains/sales",
        "owner": {"name": "Sales", "email": "s@x.example"}, "description": "Sales: all of it."})
    after = (tmp_path / "mesh.yml").read_text()
    added = [line for line in after.splitlines() if line not in original.splitlines()]
    assert added == ["  - name: sales", "    path: domains/sales",
                     "    owner: {name: Sales, email: s@x.example}",
                     "    description: 'Sales: all of it.'"]
    assert [d.name for d in mesh.config.domains][-1] == "sales"
    # an entry mesh.yml would refuse changes nothing
    with pytest.raises(ConfigError, match="invalid"):
        add_domain(mesh, {"name": "bad", "path": "x", "artifacts": "y", "owner": {"name": "n"}})
    assert (tmp_path / "mesh.yml").read_text() == after


def test_a_new_product_of_a_governed_mesh_builds_at_once(built_demo: Path, tmp_path: Path) -> None:
    """The product `mesh new product` wrote failed regulation.gdpr on its first build in a mesh
    that runs the policies (its example personal column was tagged gdpr without a retention or
    an EU row filter; found by a tester). It builds, and its personal column is masked."""
    import shutil

    from meshkit.backends.duckdb.query import query

    root = tmp_path / "demo"
    shutil.copytree(built_demo.parent, root, symlinks=True,
                    ignore=shutil.ignore_patterns("*.wal", "logs", "dbt_packages"))
    mesh_file = str(root / "mesh.yml")
    assert load_mesh(root / "mesh.yml").config.governed
    _run("new", "product", "risk", "loan_watch", "--mesh", mesh_file)
    out = _run("build", "--mesh", mesh_file, "--domain", "risk")
    assert "risk success" in " ".join(out.split()), out
    rows = query(load_mesh(root / "mesh.yml"),
                 "select contact_email from risk.loan_watch.loan_watch", []).rows
    assert rows and {r[0] for r in rows} <= {None, "***MASKED***"}
