"""Product success metrics: reads from Snowflake's access history (a fixture of that view's rows)
and from the query audit log; time series from the sync history."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from meshkit.catalog.metrics import (
    _history,
    access_history_sql,
    product_metrics,
    reads_from_access_history,
    reads_from_query_log,
)
from meshkit.catalog.model import Catalog, Dataset, Domain, Operational, Person, Product, Sla

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DATASETS = ["sales.orders.orders", "finance.revenue.revenue"]


def test_reads_from_access_history_rows() -> None:
    rows = json.loads((FIXTURES / "access_history.json").read_text())
    reads = reads_from_access_history(rows, DATASETS)
    # the internal table (a bypass of the view) and the empty row are not product reads; a view
    # named twice in one query is one read; quoted names match
    assert [(r.user, r.dataset) for r in reads] == [
        ("ANA", "sales.orders.orders"), ("BO", "sales.orders.orders"),
        ("CARL", "finance.revenue.revenue"), ("CARL", "sales.orders.orders")]
    assert {r.source for r in reads} == {"snowflake"}
    lower = [{k.lower(): v for k, v in row.items()} for row in rows]
    assert reads_from_access_history(lower, DATASETS) == reads


def test_access_history_sql_reads_account_usage() -> None:
    sql = access_history_sql()
    assert "FROM snowflake.account_usage.access_history" in sql
    assert "direct_objects_accessed" in sql


def _catalog(fresh: bool | None, status: str = "success") -> Catalog:
    ds = Dataset(id="sales.orders.orders", address="sales.orders.orders", name="orders",
                 unique_id="model.sales.orders", relation="orders",
                 operational=Operational(last_build_status=status, fresh=fresh,
                                         last_success_at="2026-11-20T09:00:00Z"))
    product = Product(address="sales.orders", domain="sales", name="orders", owner=Person(),
                      sla=Sla(freshness="24h"), datasets=[ds])
    return Catalog(mesh="m", domains=[Domain(name="sales", owner=Person(), artifacts="x",
                                             dbt_version="1.11", manifest_schema=12,
                                             products=[product])])


def test_sla_attainment_and_reads_per_product(tmp_path: Path) -> None:
    from meshkit.catalog.metrics import observe
    from meshkit.catalog.store import HISTORY_FILE

    lines = []
    for i, fresh in enumerate([True, True, False, None]):
        lines.append(json.dumps({"id": str(i), "finished_at": f"2026-11-2{i}T00:00:00Z",
                                 "products": observe(_catalog(fresh))}))
    (tmp_path / HISTORY_FILE).write_text("\n".join([*lines, '{"torn'] ) + "\n")
    assert len(_history(tmp_path)) == 4
    rows = json.loads((FIXTURES / "access_history.json").read_text())
    reads = [*reads_from_access_history(rows, DATASETS),
             *reads_from_query_log([SimpleNamespace(at="2026-11-22T10:00:00Z", user="dee",
                                                    status="ok", datasets=["sales.orders.orders"])])]
    m = product_metrics(_catalog(True), tmp_path, reads)["sales.orders"]
    assert (m.sla.observed, m.sla.met, m.sla.attainment) == (3, 2, 0.6667)
    assert m.reads.total == 4 and m.reads.users == ["ANA", "BO", "CARL", "dee"]
    assert m.reads.by_source == {"snowflake": 3, "mesh_query": 1}
    assert m.reads.last_read_at == "2026-11-22T10:00:00Z"
    assert len(m.consumers) == 1 and len(m.builds) == 1
