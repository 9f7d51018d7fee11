"""The catalog's warehouse copy on DuckDB: schema ``mesh_catalog`` in ``<target path>/mesh_catalog.duckdb``.

Same tables as every backend (:data:`meshkit.catalog.store.TABLES`); rows go in as one
``unnest`` of column lists per batch, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshkit import config as cfg
from meshkit import faults
from meshkit.catalog.model import Catalog
from meshkit.catalog.store import (
    APPENDED_TABLES,
    REPLACED_TABLES,
    SCHEMA,
    SNAPSHOT_TABLES,
    TABLES,
    SyncRun,
    create_table_sql,
    drop_table_sql,
    insert_sql,
    iter_rows,
    table_ref,
)


def bulk_insert_sql(table: str, dialect: str = "duckdb", *, database: str | None = None) -> str:
    """``INSERT`` of all rows of ``mesh_catalog.<table>`` at once, from one list parameter per
    column (``unnest($1::VARCHAR[]), ...``): one statement instead of one per row.

    >>> bulk_insert_sql("sync_runs")[:72]
    'INSERT INTO mesh_catalog.sync_runs (sync_id, started_at, finished_at, ta'
    """
    from sqlglot import exp

    names = [name for name, _ in TABLES[table]]
    select = exp.select(*(
        exp.func("unnest", exp.cast(exp.Parameter(this=exp.Literal.number(i)),
                                    exp.DataType.build(f"{kind}[]", dialect=dialect)))
        for i, (_, kind) in enumerate(TABLES[table], 1)
    ))
    return exp.insert(select, table_ref(table, database), columns=names).sql(dialect=dialect)


BATCH_ROWS = 20_000


def column_batches(catalog: Catalog, table: str,
                   size: int = BATCH_ROWS) -> Iterator[list[list[Any]]]:
    """One table's rows as one list per column (the parameters of :func:`bulk_insert_sql`),
    ``size`` rows at a time, filled straight from :func:`iter_rows`: what is alive while
    inserting is one batch, not the table (nor every table), whatever the size of the mesh."""
    columns: list[list[Any]] = [[] for _ in TABLES[table]]
    appends = [c.append for c in columns]
    count = 0
    for row in iter_rows(catalog, table):
        for append, value in zip(appends, row, strict=True):
            append(value)
        count += 1
        if count == size:
            yield columns
            columns = [[] for _ in TABLES[table]]
            appends = [c.append for c in columns]
            count = 0
    if count:
        yield columns


@dataclass(frozen=True)
class DuckDBCatalogStore:
    """The ``mesh_catalog`` schema in ``<target path>/mesh_catalog.duckdb``."""

    path: Path
    dialect = "duckdb"

    @property
    def location(self) -> str:
        return f"{self.path}:{SCHEMA}"

    def write(self, catalog: Catalog, run: SyncRun,
              extra: Mapping[str, list[tuple[Any, ...]]] | None = None) -> None:
        self._write(catalog, run, snapshot=True, extra=extra or {})

    def append_run(self, catalog: Catalog, run: SyncRun) -> None:
        self._write(catalog, run, snapshot=False, extra={})

    def _write(self, catalog: Catalog, run: SyncRun, *, snapshot: bool,
               extra: Mapping[str, list[tuple[Any, ...]]]) -> None:
        import duckdb
        from sqlglot import exp

        # The database is named after the file, as is the schema: qualify fully.
        db = self.path.stem
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path))
        try:
            con.execute("begin transaction")
            con.execute(exp.Create(kind="SCHEMA", exists=True,
                                   this=exp.Table(db=exp.to_identifier(SCHEMA),
                                                  catalog=exp.to_identifier(db))).sql("duckdb"))
            if not snapshot:
                present = {name for (name,) in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_catalog = ? and table_schema = ?", [db, SCHEMA]).fetchall()}
                snapshot = not present.issuperset(SNAPSHOT_TABLES)
            for table in SNAPSHOT_TABLES if snapshot else ():
                con.execute(drop_table_sql(table, self.dialect, database=db))
                con.execute(create_table_sql(table, self.dialect, database=db))
                # One statement per batch of rows: executemany ran one INSERT per row (12s of
                # 50 domains); one statement per table held all its rows at once.
                insert = bulk_insert_sql(table, self.dialect, database=db)
                for columns in column_batches(catalog, table):
                    con.execute(insert, columns)
                    del columns
            for table in (*APPENDED_TABLES, *REPLACED_TABLES):
                con.execute(create_table_sql(table, self.dialect, if_not_exists=True,
                                             database=db))
                if table in REPLACED_TABLES and snapshot:
                    con.execute(exp.delete(exp.table_(table, db=SCHEMA, catalog=db))
                                .sql(self.dialect))
                if extra.get(table):
                    con.executemany(insert_sql(table, self.dialect, database=db), extra[table])
            faults.point("warehouse:snapshot")
            con.execute(create_table_sql("sync_runs", self.dialect, if_not_exists=True,
                                         database=db))
            con.execute(insert_sql("sync_runs", self.dialect, database=db), run.row())
            faults.point("warehouse:run")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        finally:
            con.close()
        faults.point("warehouse:committed")  # the commit point of the sync

    def committed(self, sync_id: str) -> bool:
        import duckdb
        from sqlglot import exp

        if not self.path.is_file():
            return False
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            query = exp.select("count(*)").from_(table_ref("sync_runs", self.path.stem)).where(
                exp.column("sync_id").eq(exp.Placeholder()))
            row = con.execute(query.sql("duckdb"), [sync_id]).fetchone()
            return bool(row and row[0])
        except duckdb.CatalogException:  # no sync_runs table: nothing committed here
            return False
        finally:
            con.close()


def duckdb_store(mesh: cfg.Mesh, target: Any) -> DuckDBCatalogStore:
    """The store of a ``type: duckdb`` target: ``<target path>/mesh_catalog.duckdb``."""
    return DuckDBCatalogStore((mesh.root / target.path / f"{SCHEMA}.duckdb").resolve())


def read_table(path: Path, table: str) -> Iterator[tuple[Any, ...]]:
    """Rows of one warehouse table (for tests and `mesh query` users), in a stable order."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        query = f"select * from {table_ref(table, path.stem).sql('duckdb')} order by all"
        yield from con.execute(query).fetchall()
    finally:
        con.close()
