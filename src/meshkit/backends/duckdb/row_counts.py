"""Row counts read from a domain's DuckDB warehouse file, for the catalog's operational metrics.

dbt-duckdb reports no row counts (its adapter response carries none, and its catalog.json has no
``row_count`` stats), but DuckDB keeps each table's row count in its metadata. A product
dataset's rows live in the internal table behind its secure view
(``internal.<product>__<dataset>``); other models count when they are tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from meshkit.artifacts import NodeInfo


def duckdb_row_counts(db_file: Path, nodes: Iterable[NodeInfo]) -> dict[str, int]:
    """unique_id -> rows, for the nodes whose table is in ``db_file``; {} if it can't be read.

    A file that is missing or locked by a running build only means the counts are unknown.
    """
    import duckdb

    if not db_file.is_file():
        return {}
    try:
        with duckdb.connect(str(db_file), read_only=True) as con:
            sizes = {
                (schema.lower(), table.lower()): int(rows)
                for schema, table, rows in con.execute(
                    "select schema_name, table_name, estimated_size from duckdb_tables()"
                ).fetchall()
            }
    except duckdb.Error:
        return {}
    counts: dict[str, int] = {}
    for node in nodes:
        _, schema, name = node.relation_key
        rows = sizes.get(("internal", f"{schema}__{name}"), sizes.get((schema, name)))
        if rows is not None:
            counts[node.unique_id] = rows
    return counts
