"""What a domain's DuckDB warehouse file says of its models as built: row counts for the
catalog's operational metrics, and columns for the column lineage.

dbt-duckdb reports no row counts (its adapter response carries none, and its catalog.json has no
``row_count`` stats), but DuckDB keeps each table's row count in its metadata. A product
dataset's rows live in the internal table behind its secure view
(``internal.<product>__<dataset>``); other models count when they are tables.

The columns are those of each model's relation. A model whose YAML documents some of its columns
and whose compiled SQL the manifest lacks (a selective ``dbt build --select`` compiles only what
it selects) would otherwise hide the rest from the lineage of the models reading it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from meshkit.artifacts import NodeInfo
from meshkit.backends import BuiltRelations


def duckdb_built_relations(db_file: Path, nodes: Iterable[NodeInfo]) -> BuiltRelations:
    """Rows and columns by unique_id, for the nodes whose relation is in ``db_file``; nothing if
    it can't be read. A file that is missing or locked by a running build only means they are
    unknown.
    """
    import duckdb

    if not db_file.is_file():
        return BuiltRelations()
    try:
        with duckdb.connect(str(db_file), read_only=True) as con:
            sizes = {
                (schema.lower(), table.lower()): int(rows)
                for schema, table, rows in con.execute(
                    "select schema_name, table_name, estimated_size from duckdb_tables()"
                ).fetchall()
            }
            columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
            for schema, table, column, data_type in con.execute(
                    "select schema_name, table_name, column_name, data_type from duckdb_columns() "
                    "where database_name = current_database() "
                    "order by schema_name, table_name, column_index").fetchall():
                columns.setdefault((schema.lower(), table.lower()), []).append((column, data_type))
    except duckdb.Error:
        return BuiltRelations()
    counts: dict[str, int] = {}
    built: dict[str, tuple[tuple[str, str], ...]] = {}
    for node in nodes:
        _, schema, name = node.relation_key
        rows = sizes.get(("internal", f"{schema}__{name}"), sizes.get((schema, name)))
        if rows is not None:
            counts[node.unique_id] = rows
        if (schema, name) in columns:
            built[node.unique_id] = tuple(columns[(schema, name)])
    return BuiltRelations(row_counts=counts, columns=built)
