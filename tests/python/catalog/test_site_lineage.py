"""The product pages' lineage graphs read their product's edges from one LineageIndex: the same
edges as scanning every edge of the mesh for each product (on a catalog synced from real dbt
artifacts, with cross-domain lineage)."""

from __future__ import annotations

from pathlib import Path

from meshkit.catalog.sync import sync
from meshkit.config import load_mesh
from meshkit.marketplace.site import LineageIndex, column_lineage_graph, lineage_graph


def test_each_product_graph_has_the_edges_a_full_scan_finds(fixture_mesh: Path) -> None:
    catalog = sync(load_mesh(fixture_mesh)).catalog
    index = LineageIndex(catalog)
    datasets = {ds.id: p.address for p in catalog.products() for ds in p.datasets}
    dataset_of = {ds.unique_id: ds.id for p in catalog.products() for ds in p.datasets}
    assert catalog.lineage and index.cross, "the fixture mesh reads across domains"
    drawn = drawn_columns = 0
    for p in catalog.products():
        # every edge of the mesh, kept when one of its ends is a dataset of the product
        expected: list[tuple[str, str]] = []
        for e in catalog.lineage:
            up = e.upstream_dataset or e.upstream
            down = e.downstream_dataset or dataset_of.get(e.downstream) or e.downstream
            if p.address in (datasets.get(up), e.downstream_product) and (up, down) not in expected:
                expected.append((up, down))
        _, edges = lineage_graph(catalog, focus=p, index=index)
        assert [e for e in edges if not e[1].startswith("exposure:")] == expected
        columns = [e for e in index.cross
                   if p.address in (datasets.get(dataset_of.get(e.upstream, "")),
                                    datasets.get(dataset_of.get(e.downstream, "")))]
        _, column_edges = column_lineage_graph(catalog, focus=p, index=index)
        assert len(column_edges) == len(columns)
        drawn, drawn_columns = drawn + len(expected), drawn_columns + len(columns)
    assert drawn and drawn_columns  # some product pages draw edges of both kinds
