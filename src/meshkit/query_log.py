"""The query audit: who read which datasets, as which roles, how many rows, when.

Every ``mesh query`` and every statement of ``mesh shell`` — run or refused — is appended as one
JSON line to ``<warehouse>/mesh_query_log.jsonl`` before its rows are shown. A plain file append,
not a DuckDB write: DuckDB lets one process write a database file at a time, and a query must
never fail (or wait) because a sync or a catalog build holds ``mesh_catalog.duckdb``. Each
``mesh-sync`` then loads the whole log into the table ``mesh_catalog.query_log`` of the catalog
warehouse (rebuilt from the file in its own transaction: the file is the record, the table its
queryable copy), and the marketplace shows each product's reads.

If the line cannot be written the query fails (exit 2): an unaudited read is not served.
"""

from __future__ import annotations

import getpass
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from meshkit.errors import UsageError

LOG_FILE = "mesh_query_log.jsonl"
TABLE = "query_log"
COLUMNS: list[tuple[str, str]] = [
    ("query_id", "VARCHAR"), ("queried_at", "VARCHAR"), ("user_name", "VARCHAR"), ("roles", "VARCHAR"),
    ("cleared_products", "VARCHAR"), ("datasets", "VARCHAR"), ("products", "VARCHAR"),
    ("rows_returned", "BIGINT"), ("seconds", "DOUBLE"), ("status", "VARCHAR"),
    ("error", "VARCHAR"), ("client", "VARCHAR"), ("sql_text", "VARCHAR"),
]
MAX_SQL = 4000


@dataclass
class QueryLogEntry:
    at: str
    user: str
    roles: list[str]
    datasets: list[str]
    rows: int | None
    seconds: float
    status: str  # ok | refused | error
    sql: str
    client: str = "query"  # query | shell
    cleared_products: list[str] = field(default_factory=list)
    error: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def products(self) -> list[str]:
        return sorted({".".join(d.split(".")[:2]) for d in self.datasets})

    def row(self) -> tuple[Any, ...]:
        return (self.id, self.at, self.user, json.dumps(self.roles),
                json.dumps(self.cleared_products), json.dumps(self.datasets),
                json.dumps(self.products), self.rows, self.seconds, self.status, self.error,
                self.client, self.sql)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def current_user() -> str:
    """The analyst: ``$MESH_USER``, else the login name."""
    user = os.environ.get("MESH_USER")
    if user:
        return user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def log_file(warehouse: Path) -> Path:
    return warehouse / LOG_FILE


def record(warehouse: Path, entry: QueryLogEntry) -> None:
    """Append ``entry`` to the log (one ``write`` of one line, flushed to disk)."""
    data = asdict(entry)
    data["sql"] = entry.sql[:MAX_SQL]
    line = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False) + "\n"
    try:
        warehouse.mkdir(parents=True, exist_ok=True)
        fd = os.open(log_file(warehouse), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise UsageError(f"cannot write the query audit log: {exc.strerror}",
                         file=log_file(warehouse),
                         fix="make the warehouse folder writable; queries are not served "
                             "unaudited") from None


def read_log(warehouse: Path) -> list[QueryLogEntry]:
    """Every entry of the log, oldest first (a line cut short by a crash is skipped)."""
    file = log_file(warehouse)
    if not file.is_file():
        return []
    entries = []
    names = set(QueryLogEntry.__dataclass_fields__)
    for line in file.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
            entries.append(QueryLogEntry(**{k: v for k, v in data.items() if k in names}))
        except (ValueError, TypeError):
            continue
    return entries


def load_into_warehouse(database: Path, entries: list[QueryLogEntry]) -> None:
    """Replace ``mesh_catalog.query_log`` in ``database`` with ``entries``, in one transaction."""
    import duckdb
    from sqlglot import exp

    db = database.stem
    table = exp.table_(TABLE, db="mesh_catalog", catalog=db)
    create = exp.Create(kind="TABLE", this=exp.Schema(this=table, expressions=[
        exp.ColumnDef(this=exp.to_identifier(n), kind=exp.DataType.build(t)) for n, t in COLUMNS]))
    insert = exp.insert(
        exp.Values(expressions=[exp.Tuple(expressions=[exp.Placeholder() for _ in COLUMNS])]),
        table, columns=[n for n, _ in COLUMNS])
    con = duckdb.connect(str(database))
    try:
        con.execute("begin transaction")
        con.execute(exp.Create(kind="SCHEMA", exists=True, this=exp.Table(
            db=exp.to_identifier("mesh_catalog"), catalog=exp.to_identifier(db))).sql("duckdb"))
        con.execute(exp.Drop(kind="TABLE", exists=True, tables=[table]).sql("duckdb"))
        con.execute(create.sql("duckdb"))
        if entries:
            con.executemany(insert.sql("duckdb"), [e.row() for e in entries])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.close()


def reads_by_product(entries: Iterable[QueryLogEntry]) -> dict[str, list[QueryLogEntry]]:
    """Successful reads per product address, newest first."""
    out: dict[str, list[QueryLogEntry]] = {}
    for e in entries:
        if e.status != "ok":
            continue
        for product in e.products:
            out.setdefault(product, []).append(e)
    for reads in out.values():
        reads.sort(key=lambda e: e.at, reverse=True)
    return out
