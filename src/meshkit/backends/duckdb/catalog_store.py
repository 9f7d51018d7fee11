"""The catalog's warehouse copy on DuckDB: schema ``mesh_catalog`` in ``<target path>/mesh_catalog.duckdb``.

Same tables as every backend (:data:`meshkit.catalog.store.TABLES`); rows go in as
newline-delimited JSON that DuckDB reads (:func:`json_insert_sql`), all in one transaction.

The snapshot tables are rewritten per domain: ``snapshot_digests`` keeps a digest of each
domain's rows of each table, and a sync deletes and inserts the rows of the domains whose digest
changed (a domain's rows change without its artifacts too: health ages, a consumer or an
upstream dataset changes). Without digests, or with those of other table definitions, every
table is written whole.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from meshkit import config as cfg
from meshkit import faults
from meshkit.catalog.model import Catalog
from meshkit.catalog.store import (
    APPENDED_TABLES,
    REPLACED_TABLES,
    ROW_DOMAIN,
    SCHEMA,
    SNAPSHOT_TABLES,
    TABLES,
    SyncRun,
    create_table_sql,
    domain_rows,
    drop_table_sql,
    insert_sql,
    table_ref,
)
from meshkit.errors import ArtifactError

# The largest row read back (DuckDB's JSON reader stops at 16 MB objects by default).
MAX_ROW_BYTES = 2**31 - 1


def json_insert_sql(table: str, *, database: str | None = None) -> str:
    """``INSERT`` into ``mesh_catalog.<table>`` of the rows of a newline-delimited JSON file (its
    path the one parameter), one object per row keyed by column name, typed as the table is.

    DuckDB reads the file in one pass. A bulk insert of one list parameter per column was slower
    (a 50-domain mesh's rows: 1.07 s in a sync, against 0.82 s), and in batches of 20,000 rows it
    raised the sync's peak memory by 36 MB: DuckDB's allocator keeps what it converts lists into.

    >>> json_insert_sql("violations")[:64]
    'INSERT INTO mesh_catalog.violations (sync_id, rule, severity, do'
    """
    from sqlglot import exp

    columns = TABLES[table]
    types = exp.Struct(expressions=[
        exp.PropertyEQ(this=exp.to_identifier(name), expression=exp.Literal.string(kind))
        for name, kind in columns])
    reader = exp.Table(this=exp.Anonymous(this="read_json", expressions=[
        exp.Placeholder(this="1"),
        exp.PropertyEQ(this=exp.to_identifier("format"),
                       expression=exp.Literal.string("newline_delimited")),
        exp.PropertyEQ(this=exp.to_identifier("maximum_object_size"),
                       expression=exp.Literal.number(MAX_ROW_BYTES)),
        exp.PropertyEQ(this=exp.to_identifier("columns"), expression=types)]))
    names = [name for name, _ in columns]
    return exp.insert(exp.select(*names).from_(reader), table_ref(table, database),
                      columns=names).sql(dialect="duckdb")


DIGESTS = "snapshot_digests"
_DIGEST_COLUMNS = [("table_name", "VARCHAR"), ("domain", "VARCHAR"), ("digest", "VARCHAR")]
# The digest row of the table definitions themselves: another meshkit's tables are rewritten.
_SCHEMA_KEY = ("*", "*")
# The sync whose snapshot the digests describe: trusted only if it is the last one committed (a
# meshkit without digests may have rewritten the tables since).
_WRITER_KEY = ("*", "sync")
_SCHEMA_DIGEST = hashlib.sha256(orjson.dumps(
    {t: TABLES[t] for t in SNAPSHOT_TABLES}, option=orjson.OPT_SORT_KEYS)).hexdigest()
# Rows of a dataset or a product are found through their parent's: deleted first.
_DELETE_ORDER = sorted(SNAPSHOT_TABLES, key=lambda t: isinstance(ROW_DOMAIN[t], str))

Digests = dict[tuple[str, str], str]


def insert_rows(con: Any, table: str, rows: Iterable[tuple[Any, ...]], *,
                database: str | None = None) -> int:
    """Insert ``rows`` (tuples in the table's column order) through a newline-delimited JSON
    file in a private temporary folder (:func:`json_insert_sql`); returns how many."""
    names = [name for name, _ in TABLES[table]]
    count = 0
    with tempfile.TemporaryDirectory(prefix="meshkit-rows-") as folder:
        file = Path(folder) / f"{table}.ndjson"
        with open(file, "wb") as out:
            for row in rows:
                out.write(orjson.dumps(dict(zip(names, row, strict=True))))
                out.write(b"\n")
                count += 1
        if count:
            con.execute(json_insert_sql(table, database=database), [str(file)])
    return count


def hashed(rows: Iterable[tuple[str, tuple[Any, ...]]], table: str,
           digests: Digests) -> Iterator[tuple[Any, ...]]:
    """The rows of :func:`~meshkit.catalog.store.domain_rows`, passed on as they come; once they
    are all read, ``digests`` holds each domain's digest of its rows of ``table``, in order."""
    hashes: dict[str, Any] = {}
    for domain, row in rows:
        h = hashes.get(domain)
        if h is None:
            h = hashes[domain] = hashlib.sha256()
        h.update(orjson.dumps(row))
        h.update(b"\n")
        yield row
    digests.update({(table, domain): h.hexdigest() for domain, h in hashes.items()})


def row_digests(catalog: Catalog) -> Digests:
    """(table, domain) -> the digest of that domain's rows of that snapshot table."""
    out: Digests = {}
    for table in SNAPSHOT_TABLES:
        for _ in hashed(domain_rows(catalog, table), table, out):
            pass
    return out


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

    def withhold(self, rows: list[tuple[Any, ...]]) -> None:
        """Nothing: on DuckDB `mesh query` withholds the views, by the list the sync writes
        beside the databases (:mod:`meshkit.backends.duckdb.withheld`)."""

    def _write(self, catalog: Catalog, run: SyncRun, *, snapshot: bool,
               extra: Mapping[str, list[tuple[Any, ...]]]) -> None:
        from sqlglot import exp

        # The database is named after the file, as is the schema: qualify fully.
        db = self.path.stem
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._connect(read_only=False)
        try:
            con.execute("begin transaction")
            con.execute(exp.Create(kind="SCHEMA", exists=True,
                                   this=exp.Table(db=exp.to_identifier(SCHEMA),
                                                  catalog=exp.to_identifier(db))).sql("duckdb"))
            # append_run: the tables hold this catalog only if the digests say the last sync
            # wrote them (not a writer without digests since), else they are written again.
            stored = _trusted_digests(con, db)
            if snapshot or stored is None:
                self._write_snapshot(con, db, catalog, run.sync_id, stored)
            else:
                _set_writer(con, db, run.sync_id)
            for table in (*APPENDED_TABLES, *REPLACED_TABLES):
                con.execute(create_table_sql(table, self.dialect, if_not_exists=True,
                                             database=db))
                if table in REPLACED_TABLES and snapshot and table in extra:
                    con.execute(exp.delete(exp.table_(table, db=SCHEMA, catalog=db))
                                .sql(self.dialect))
                if extra.get(table):  # the contract registry's rows: thousands, every sync
                    insert_rows(con, table, extra[table], database=db)
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

    def _write_snapshot(self, con: Any, db: str, catalog: Catalog, sync_id: str,
                        stored: Digests | None) -> None:
        """The snapshot tables and their digests, per domain where the ``stored`` digests (the
        trusted ones, :func:`_trusted_digests`) allow."""
        if stored is None:
            digests: Digests = {}
            for table in SNAPSHOT_TABLES:
                con.execute(drop_table_sql(table, self.dialect, database=db))
                con.execute(create_table_sql(table, self.dialect, database=db))
                self._insert(con, db, table, domain_rows(catalog, table), digests)
            con.execute(_drop_digests(db))
            con.execute(_create_digests(db))
            changed = [*digests, _SCHEMA_KEY]
            digests[_SCHEMA_KEY] = _SCHEMA_DIGEST
        else:
            digests = row_digests(catalog)
            changed = [k for k in digests.keys() | stored.keys()
                       if k[0] != "*" and digests.get(k) != stored.get(k)]
            by_table: dict[str, list[str]] = {}
            for table, domain in sorted(changed):
                by_table.setdefault(table, []).append(domain)
            for table in _DELETE_ORDER:
                if by_table.get(table):
                    con.execute(_delete_domains_sql(db, table, by_table[table]))
            for table, domains in by_table.items():
                self._insert(con, db, table, domain_rows(catalog, table, only=domains), {})
        digests[_WRITER_KEY] = sync_id
        changed.append(_WRITER_KEY)
        con.execute(_delete_digests_sql(db), [[f"{t}/{d}" for t, d in changed]])
        rows = [(t, d, digests[t, d]) for t, d in changed if (t, d) in digests]
        if rows:
            con.execute(_insert_digests_sql(db), [list(c) for c in zip(*rows, strict=True)])

    def _insert(self, con: Any, db: str, table: str, rows: Iterable[tuple[str, tuple[Any, ...]]],
                digests: Digests) -> None:
        insert_rows(con, table, hashed(rows, table, digests), database=db)

    def _connect(self, *, read_only: bool) -> Any:
        """The store's database; one DuckDB cannot open is bad input naming it. Its history (sync
        runs, contracts, violations) is not derivable from the catalog: nothing replaces it
        silently, and a sync cannot tell whether a sync it finds staged committed."""
        import duckdb

        try:
            # One thread: the writes are small files read in one pass each, no faster on more
            # threads, while each thread's buffers add to the sync's peak (its write).
            return duckdb.connect(str(self.path), read_only=read_only, config={"threads": 1})
        except duckdb.Error as exc:
            raise ArtifactError(
                f"cannot open the catalog's warehouse: {str(exc).strip().splitlines()[0]}",
                file=self.path,
                fix="restore it from a backup, or move it aside: the next mesh-sync writes a new "
                    "one (its history of syncs, contracts and violations then starts over)",
            ) from None

    def ready(self) -> None:
        """Nothing to set up: a local file."""

    def committed(self, sync_id: str) -> bool:
        import duckdb
        from sqlglot import exp

        if not self.path.is_file():
            return False
        con = self._connect(read_only=True)
        try:
            query = exp.select("count(*)").from_(table_ref("sync_runs", self.path.stem)).where(
                exp.column("sync_id").eq(exp.Placeholder()))
            row = con.execute(query.sql("duckdb"), [sync_id]).fetchone()
            return bool(row and row[0])
        except duckdb.CatalogException:  # no sync_runs table: nothing committed here
            return False
        finally:
            con.close()


def _digests_ref(db: str) -> Any:
    return table_ref(DIGESTS, db)


def _stored_digests(con: Any, db: str) -> Digests | None:
    """The digests of the snapshot tables as written, None when there are none to trust (a
    store written before them, or missing a snapshot table)."""
    from sqlglot import exp

    present = {name for (name,) in con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = ? and table_schema = ?", [db, SCHEMA]).fetchall()}
    if not present.issuperset([*SNAPSHOT_TABLES, DIGESTS]):
        return None
    query = exp.select("table_name", "domain", "digest").from_(_digests_ref(db))
    return {(t, d): h for t, d, h in con.execute(query.sql("duckdb")).fetchall()}


def _trusted_digests(con: Any, db: str) -> Digests | None:
    """The stored digests if they describe the tables as they are: of these table definitions
    and written by the last sync committed here; else None."""
    stored = _stored_digests(con, db)
    if stored is None or stored.get(_SCHEMA_KEY) != _SCHEMA_DIGEST:
        return None
    if stored.get(_WRITER_KEY) != _last_sync(con, db):
        return None
    return stored


def _last_sync(con: Any, db: str) -> str | None:
    """The sync id of the last ``sync_runs`` row written (None: none yet)."""
    import duckdb
    from sqlglot import exp

    query = exp.select("sync_id").from_(table_ref("sync_runs", db)).order_by(
        exp.column("rowid").desc()).limit(1)
    try:
        row = con.execute(query.sql("duckdb")).fetchone()
    except duckdb.CatalogException:
        return None
    return None if row is None else str(row[0])


def _set_writer(con: Any, db: str, sync_id: str) -> None:
    """The current digests describe the snapshot as of ``sync_id`` too (a sync that left it as
    it was: its catalog is the last one, to the byte)."""
    con.execute(_delete_digests_sql(db), [["/".join(_WRITER_KEY)]])
    con.execute(_insert_digests_sql(db), [[_WRITER_KEY[0]], [_WRITER_KEY[1]], [sync_id]])


def _create_digests(db: str) -> str:
    from sqlglot import exp

    columns = [exp.ColumnDef(this=exp.to_identifier(name), kind=exp.DataType.build(kind))
               for name, kind in _DIGEST_COLUMNS]
    return exp.Create(kind="TABLE", this=exp.Schema(this=_digests_ref(db), expressions=columns)
                      ).sql("duckdb")


def _drop_digests(db: str) -> str:
    return drop_table_sql(DIGESTS, "duckdb", database=db)


def _insert_digests_sql(db: str) -> str:
    from sqlglot import exp

    select = exp.select(*(exp.func("unnest", exp.cast(exp.Parameter(this=exp.Literal.number(i)),
                                                        exp.DataType.build("VARCHAR[]")))
                          for i in range(1, 4)))
    return exp.insert(select, _digests_ref(db), columns=[n for n, _ in _DIGEST_COLUMNS]
                      ).sql("duckdb")


def _delete_digests_sql(db: str) -> str:
    """Deletes the digests of the ``table/domain`` keys given as the one parameter."""
    from sqlglot import exp

    key = exp.func("concat", exp.column("table_name"), exp.Literal.string("/"),
                   exp.column("domain"))
    return exp.delete(_digests_ref(db)).where(
        exp.func("list_contains", exp.Parameter(this=exp.Literal.number(1)), key)).sql("duckdb")


def _delete_domains_sql(db: str, table: str, domains: list[str]) -> str:
    """Deletes the rows of ``domains`` from a snapshot table (:data:`ROW_DOMAIN`)."""
    from sqlglot import exp

    names = [exp.Literal.string(d) for d in domains]
    owner = ROW_DOMAIN[table]
    if isinstance(owner, str):
        where: exp.Expression = exp.column(owner).isin(*names)
    else:
        column, parent, key = owner
        parents = exp.select(key).from_(table_ref(parent, db)).where(
            exp.column(ROW_DOMAIN[parent]).isin(*names))  # type: ignore[arg-type]
        where = exp.column(column).isin(query=parents)
    return exp.delete(table_ref(table, db)).where(where).sql("duckdb")


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
