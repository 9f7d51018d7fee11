"""Writing the catalog: the ``catalog/`` folder (atomic swap) and the warehouse tables.

``catalog/`` holds ``catalog.json``, ``products/<domain>.<product>.json`` (one descriptor per
product), ``history.jsonl`` (one line per sync), ``state/<domain>.json`` (each domain's
projection with the hash of its artifacts, for incremental syncs) and ``summary.json`` (what the
next sync lists its changes against).

One commit point for files and tables: a sync stages its new folder complete beside the old one
(``.catalog.tmp-<sync id>``, or ``.history.jsonl.tmp-<sync id>`` when only the history changes),
then commits the warehouse transaction, whose ``sync_runs`` row tags the snapshot with the sync
id, then swaps the staged files in. A sync is committed iff its ``sync_runs`` row exists; after
a crash, :func:`recover` (under the lock) rolls a staged sync forward if it committed and back
if it did not, so files and tables always describe the same sync.

The warehouse copy is a schema ``mesh_catalog`` of plain tables, written in one transaction by a
:class:`CatalogStore` chosen by target type. Table DDL is generated with sqlglot from one column
spec (:data:`TABLES`), so every backend emits the same tables in its own dialect.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from meshkit import faults
from meshkit.catalog.changes import SUMMARY_FILE, CatalogSummary
from meshkit.catalog.model import Catalog, ColumnLineageEdge, Domain, DomainProjection, Product
from meshkit.errors import ArtifactError, UsageError
from meshkit.files import holds

CATALOG_FILE = "catalog.json"
HISTORY_FILE = "history.jsonl"
PRODUCTS_DIR = "products"
STATE_DIR = "state"
SITE_DIR = "site"
SCHEMA = "mesh_catalog"
SCHEMA_FILE_NAME = "catalog.schema.json"
DESCRIPTOR_VERSION = "1.0.0"


def dumps(data: Any) -> bytes:
    """Canonical JSON: sorted keys, two-space indent, trailing newline (byte-stable)."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def catalog_bytes(catalog: Catalog) -> bytes:
    return b"".join(catalog_chunks(catalog))


# The catalog's long lists, dumped a piece at a time (in the order of the sorted keys): the
# column lineage of a mesh is tens of thousands of edges, its domains most of the rest.
_STREAMED = ("column_lineage", "domains")
_EDGE_BATCH = 2048


@functools.cache
def _edges() -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(list[ColumnLineageEdge])


def catalog_chunks(catalog: Catalog) -> Iterator[bytes]:
    """:func:`dumps` of the catalog, byte for byte, a piece at a time: the JSON tree of one
    domain (or of a batch of column lineage edges) is alive at a time instead of that of the
    whole mesh.

    Each piece is dumped on its own and indented by the two levels of its list (JSON strings
    hold no raw newline, so indenting line by line is exact).
    """
    rest = dumps(catalog.model_dump(mode="json", exclude=set(_STREAMED))
                 | {key: [] for key in _STREAMED})
    pieces: dict[str, Iterator[list[Any]]] = {
        "column_lineage": (_edges().dump_python(catalog.column_lineage[i:i + _EDGE_BATCH],
                                             mode="json")
                           for i in range(0, len(catalog.column_lineage), _EDGE_BATCH)),
        "domains": ([d.model_dump(mode="json")] for d in catalog.domains),
    }
    for key in _STREAMED:
        before, sep, rest = rest.partition(f'\n  "{key}": []'.encode())
        assert sep, f"the catalog has a top-level {key} list"
        yield before
        first = True
        for items in pieces[key]:
            # dumps() of a list: "[\n  {...},\n  {...}\n]\n"; its items, two spaces deeper
            body = dumps(items)[2:-3].replace(b"\n", b"\n  ")
            yield (f'\n  "{key}": [\n  '.encode() if first else b",\n  ") + body
            first = False
        yield f'\n  "{key}": []'.encode() if first else b"\n  ]"
    yield rest


def projection_bytes(projection: DomainProjection) -> bytes:
    """The ``state/<domain>.json`` file of a projection."""
    return dumps(projection.model_dump(mode="json"))


@contextmanager
def sync_lock(catalog_dir: Path, *, wait: float = 0.0) -> Iterator[bool]:
    """One writer at a time: a lock file beside the catalog, held by the OS (freed when the
    process ends, also when it is killed), so a crashed sync never leaves a stale lock behind.

    Waits up to ``wait`` seconds for another holder, then raises :class:`UsageError`; with
    ``wait < 0`` it does not raise but yields False (a reader that goes on without recovering).
    """
    from filelock import FileLock, Timeout

    catalog_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(catalog_dir.parent / f".{catalog_dir.name}-sync.lock")
    try:
        # filelock: a timeout of 0 tries once (a negative one would wait forever).
        lock.acquire(timeout=max(wait, 0.0), poll_interval=0.05)
    except Timeout:
        if wait < 0:
            yield False
            return
        raise UsageError("another mesh-sync is writing this catalog",
                         file=catalog_dir, fix="wait for it to finish, then retry") from None
    try:
        yield True
    finally:
        lock.release()


# --- recovery -----------------------------------------------------------------------------------

# Whether the sync of this id committed to the warehouse of this target.
Committed = Callable[[str, str], bool]


def _staged_sync(history: Path) -> tuple[str, str] | None:
    """(sync id, target) of the last line of a staged history file, if readable."""
    try:
        last = json.loads(history.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1])
        return str(last["id"]), str(last["target"])
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def recover(catalog_dir: Path, committed: Committed | None = None) -> None:
    """Finish or undo what a killed sync left, under the caller's lock.

    A staged folder or history whose sync committed (its ``sync_runs`` row exists) is swapped
    in; one whose sync did not is removed, and a catalog moved aside is put back; a
    :class:`Spool` left is removed. Without ``committed`` (no warehouse to ask), nothing staged
    counts as committed.
    """
    parent = catalog_dir.parent
    is_committed = committed or (lambda sync_id, target: False)
    for tmp in sorted(parent.glob(f".{catalog_dir.name}.tmp-*")):
        staged = _staged_sync(tmp / HISTORY_FILE)
        if staged is not None and is_committed(*staged):
            old = parent / f".{catalog_dir.name}.old-{staged[0]}"
            if catalog_dir.exists():
                catalog_dir.rename(old)
            faults.point("recover:old-moved")
            tmp.rename(catalog_dir)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    olds = sorted(parent.glob(f".{catalog_dir.name}.old-*"))
    if not catalog_dir.exists() and olds:  # moved aside by a sync that did not commit
        olds[-1].rename(catalog_dir)
        olds = olds[:-1]
    for leftover in [*olds, *parent.glob(f".{catalog_dir.name}.spool-*")]:
        shutil.rmtree(leftover, ignore_errors=True)
    for partial in sorted(catalog_dir.glob(f".{HISTORY_FILE}.tmp-*")):
        staged = _staged_sync(partial)
        if staged is not None and is_committed(*staged):
            os.replace(partial, catalog_dir / HISTORY_FILE)
        else:
            partial.unlink(missing_ok=True)


def load_catalog(catalog_dir: Path) -> Catalog | None:
    """The catalog of the last sync, or None if there is none (or it is of another format)."""
    file = catalog_dir / CATALOG_FILE
    try:
        return Catalog.model_validate_json(file.read_bytes())
    except FileNotFoundError:
        return None
    except ValueError:
        return None


WITHHELD_FILE = "withheld.json"


def withheld_bytes(guarded: bool, findings: Mapping[str, str]) -> bytes:
    """The catalog folder's list of the datasets the sync withholds (dataset id -> the finding
    that withholds it); ``guarded``: their views serve no row (Snowflake), else `mesh query`
    refuses them (DuckDB)."""
    return dumps({"guarded": guarded, "datasets": dict(sorted(findings.items()))})


def withheld_datasets(catalog_dir: Path) -> tuple[bool, dict[str, str]]:
    """What :func:`withheld_bytes` wrote for the last sync (nothing if no sync wrote it)."""
    try:
        data = orjson.loads((catalog_dir / WITHHELD_FILE).read_bytes())
        return bool(data["guarded"]), {str(k): str(v) for k, v in data["datasets"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False, {}


def require_catalog(catalog_dir: Path) -> Catalog:
    """The current catalog for the discovery commands; raises if no sync has written one."""
    file = catalog_dir / CATALOG_FILE
    if not file.is_file():
        raise ArtifactError("no catalog yet", file=file, fix="run `mesh-sync` first")
    try:
        return Catalog.model_validate_json(file.read_bytes())
    except ValueError as exc:
        raise ArtifactError(f"not a valid meshkit catalog: {str(exc).splitlines()[0]}",
                            file=file, fix="run `mesh-sync` to rewrite it") from None


def state_file(catalog_dir: Path, domain: str) -> Path:
    return catalog_dir / STATE_DIR / f"{domain}.json"


def load_projection(catalog_dir: Path, domain: str) -> DomainProjection | None:
    file = state_file(catalog_dir, domain)
    try:
        return DomainProjection.model_validate_json(file.read_bytes())
    except (FileNotFoundError, ValueError):
        return None


# --- the catalog folder -------------------------------------------------------------------------


def product_descriptor(mesh_name: str, product: Product) -> dict[str, Any]:
    """A product descriptor after the open Data Product Descriptor Specification's shape:
    ``info`` (identity, owner, status), ``interfaceComponents`` (input and output ports with
    their schema and promises) and the meshkit extras under ``x-meshkit``."""
    fqn = f"urn:dpds:{mesh_name}:dataproducts:{product.domain}:{product.name}"
    return {
        "dataProductDescriptor": DESCRIPTOR_VERSION,
        "info": {
            "fullyQualifiedName": fqn,
            "name": product.name,
            "domain": product.domain,
            "description": product.description,
            "owner": product.owner.model_dump(mode="json"),
            "status": product.status,
            "tier": product.tier,
            "tags": product.tags,
            "support": product.support,
        },
        "interfaceComponents": {
            "inputPorts": [
                {"fullyQualifiedName": p.ref, "kind": p.kind, "domain": p.domain,
                 "version": p.version} for p in product.input_ports
            ],
            "outputPorts": [
                {
                    "fullyQualifiedName": f"{fqn}:{ds.relation}",
                    "address": ds.address,
                    "name": ds.name,
                    "version": ds.version,
                    "isLatest": ds.is_latest,
                    "deprecationDate": ds.deprecation_date,
                    "description": ds.description,
                    "promises": {
                        "servicesType": "sql",
                        "api": {"relation": ds.id, "contractEnforced": ds.contract_enforced,
                                "schema": [c.model_dump(mode="json") for c in ds.columns]},
                        "slo": {"freshness": product.sla.freshness},
                    },
                } for ds in product.datasets
            ],
        },
        "x-meshkit": {
            "useCases": product.use_cases,
            "kpis": product.kpis,
            "consumers": [c.model_dump(mode="json") for c in product.consumers],
            "quality": product.quality.model_dump(mode="json"),
            "health": product.health.model_dump(mode="json"),
        },
    }


def _history_line(history_entry: dict[str, Any]) -> bytes:
    return (json.dumps(history_entry, sort_keys=True, separators=(",", ":")) + "\n").encode()


def stage_catalog_dir(catalog_dir: Path, catalog: Catalog,
                      states: Mapping[str, bytes | Path],
                      history_entry: dict[str, Any],
                      catalog_data: Iterable[bytes] | None = None,
                      site: Mapping[str, bytes | Path] | None = None,
                      extra_files: Mapping[str, bytes | Path] | None = None,
                      summary: CatalogSummary | None = None) -> Path:
    """Write the whole new folder into a temporary sibling (returned); :func:`swap_in` puts it
    in place once the warehouse committed.

    ``site`` is the marketplace (:func:`meshkit.marketplace.site.site_items`), written under
    ``site/`` inside the same swap: bytes, or a file to carry (hard-linked).

    ``states`` maps each domain to its ``state/<domain>.json``: the bytes of a projection read
    this sync (:func:`projection_bytes`, taken before :func:`~meshkit.catalog.build.assemble`
    filled it in) or a file holding them (the unchanged file of the previous sync, or one a
    :class:`Spool` wrote), carried over as it is (hard-linked).
    ``catalog_data`` is ``catalog.json`` if the caller has it already (else it is dumped here).
    ``extra_files`` are more files by path inside the folder: bytes, or a file to carry over
    (hard-linked where the filesystem allows: the contract registry's entries never change).
    ``summary`` is written as ``summary.json``, naming the digest of the ``catalog.json`` written
    (what the next sync lists its changes against, :mod:`meshkit.catalog.changes`).
    The history is written last: a staged folder with the sync's history line is complete.
    """
    sync_id = str(history_entry["id"])
    tmp = catalog_dir.parent / f".{catalog_dir.name}.tmp-{sync_id}"
    try:
        (tmp / PRODUCTS_DIR).mkdir(parents=True)
        (tmp / STATE_DIR).mkdir()
        digest = hashlib.sha256()
        with open(tmp / CATALOG_FILE, "wb") as out:
            for chunk in catalog_chunks(catalog) if catalog_data is None else catalog_data:
                out.write(chunk)
                digest.update(chunk)
        if summary is not None:
            (tmp / SUMMARY_FILE).write_bytes(
                summary.model_copy(update={"catalog": digest.hexdigest()}).to_bytes())
        faults.point("stage:catalog")
        for product in catalog.products():
            name = f"{product.address}.json"
            _write_or_carry(tmp / PRODUCTS_DIR / name,
                            dumps(product_descriptor(catalog.mesh, product)),
                            catalog_dir / PRODUCTS_DIR / name)
        faults.point("stage:products")
        for name, state in states.items():
            file = tmp / STATE_DIR / f"{name}.json"
            if isinstance(state, Path):
                _carry(state, file)
            else:
                file.write_bytes(state)
        made: set[Path] = set()  # folders created: one mkdir per folder, not per file

        def folder_of(file: Path) -> Path:
            if file.parent not in made:
                file.parent.mkdir(parents=True, exist_ok=True)
                made.add(file.parent)
            return file

        for rel, content in (site or {}).items():
            if isinstance(content, Path):
                _carry(content, folder_of(tmp / SITE_DIR / rel))
            else:
                folder_of(tmp / SITE_DIR / rel).write_bytes(content)
        for rel, extra in (extra_files or {}).items():
            file = folder_of(tmp / rel)
            if isinstance(extra, Path):
                _carry(extra, file)
            else:
                file.write_bytes(extra)
        faults.point("stage:states")
        previous = catalog_dir / HISTORY_FILE
        history = previous.read_bytes() if previous.is_file() else b""
        _write_synced(tmp / HISTORY_FILE, history + _history_line(history_entry))
        faults.point("stage:done")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


class Spool:
    """Files of the next catalog folder written as soon as the sync has them, in a sibling folder
    (``.<catalog>.spool-<id>``, made on the first :meth:`put`), and hard-linked into the staged
    folder by :func:`stage_catalog_dir`: a 50-domain sync held its state files (31 MB) from each
    domain's read to the staging, and its marketplace (19 MB) from the render. :meth:`remove`
    drops the folder when the sync ends (the staged folder keeps its own links);
    :func:`recover` drops one a killed sync left."""

    def __init__(self, catalog_dir: Path) -> None:
        import uuid

        self.folder = catalog_dir.parent / f".{catalog_dir.name}.spool-{uuid.uuid4().hex}"
        self._made: set[Path] = set()

    def put(self, rel: str, data: bytes) -> Path:
        file = self.folder / rel
        if file.parent not in self._made:
            file.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(file.parent)
        file.write_bytes(data)  # (nothing is linked to it before the staging)
        return file

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_or_carry(file: Path, data: bytes, previous: Path) -> None:
    """``data`` into ``file``, carrying the previous folder's file when it holds these very
    bytes: reading a small file costs a hundredth of creating one on some file systems (0.5 ms
    each, a sync's 250 product descriptors 0.13 s)."""
    if holds(previous, data):
        _carry(previous, file)
    else:
        file.write_bytes(data)


def _carry(previous: Path, file: Path) -> None:
    """A file of the previous folder into the staged one, unchanged: hard-linked where the
    filesystem allows (no file of a catalog folder is ever rewritten in place), else copied."""
    try:
        os.link(previous, file)
    except OSError:
        shutil.copyfile(previous, file)


def swap_in(catalog_dir: Path, staged: Path, sync_id: str) -> None:
    """Put a staged folder in place of ``catalog/`` (two renames; :func:`recover` finishes a
    swap cut short)."""
    old = catalog_dir.parent / f".{catalog_dir.name}.old-{sync_id}"
    if catalog_dir.exists():
        catalog_dir.rename(old)
    faults.point("swap:old-moved")
    staged.rename(catalog_dir)
    faults.point("swap:new-in")
    shutil.rmtree(old, ignore_errors=True)


def _write_synced(file: Path, data: bytes) -> None:
    with open(file, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def catalog_dir_holds(catalog_dir: Path, catalog: Catalog, data: bytes,
                      domains: Iterable[str]) -> bool:
    """Whether the folder already holds exactly this ``catalog.json`` (``data``, the bytes of
    ``catalog``), the descriptors of its products and the state files of exactly ``domains``:
    then writing it again would change nothing but the history."""
    try:
        if (catalog_dir / CATALOG_FILE).read_bytes() != data:
            return False
        states = {p.name for p in (catalog_dir / STATE_DIR).iterdir()}
        products = {p.name for p in (catalog_dir / PRODUCTS_DIR).iterdir()}
    except OSError:
        return False
    return (states == {f"{d}.json" for d in domains}
            and products == {f"{p.address}.json" for p in catalog.products()})


def site_holds(catalog_dir: Path, site: Mapping[str, bytes | Path]) -> bool:
    """Whether ``catalog/site/`` holds exactly these files, byte for byte (a file given by its
    path: the same bytes, or that very file)."""
    folder = catalog_dir / SITE_DIR

    def holds(file: Path, content: bytes | Path) -> bool:
        if isinstance(content, Path):
            return content == file or content.read_bytes() == file.read_bytes()
        return file.read_bytes() == content

    try:
        present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
        return present == set(site) and all(
            holds(folder / rel, content) for rel, content in site.items())
    except OSError:
        return False


def stage_history(catalog_dir: Path, history_entry: dict[str, Any]) -> Path:
    """The new ``history.jsonl`` of an otherwise unchanged folder, written beside the old one
    (returned); :func:`commit_history` renames it over the old once the warehouse committed."""
    file = catalog_dir / HISTORY_FILE
    tmp = catalog_dir / f".{HISTORY_FILE}.tmp-{history_entry['id']}"
    try:
        history = file.read_bytes() if file.is_file() else b""
        _write_synced(tmp, history + _history_line(history_entry))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    faults.point("history:staged")
    return tmp


def commit_history(catalog_dir: Path, staged: Path) -> None:
    os.replace(staged, catalog_dir / HISTORY_FILE)


# --- the warehouse tables -----------------------------------------------------------------------

# One spec for every backend: table → [(column, type)], types in sqlglot's generic names.
TABLES: dict[str, list[tuple[str, str]]] = {
    "products": [
        ("product_id", "VARCHAR"), ("domain", "VARCHAR"), ("product", "VARCHAR"),
        ("owner_name", "VARCHAR"), ("owner_email", "VARCHAR"), ("description", "VARCHAR"),
        ("status", "VARCHAR"), ("tier", "VARCHAR"), ("sla_freshness", "VARCHAR"),
        ("tags", "VARCHAR"), ("support", "VARCHAR"), ("datasets", "INT"),
        ("tests_passed", "INT"), ("tests_failed", "INT"), ("pass_rate", "DOUBLE"),
        ("health", "VARCHAR"), ("health_reasons", "VARCHAR"),
    ],
    "datasets": [
        ("dataset_id", "VARCHAR"), ("address", "VARCHAR"), ("domain", "VARCHAR"),
        ("product_id", "VARCHAR"), ("dataset", "VARCHAR"), ("kind", "VARCHAR"),
        ("unique_id", "VARCHAR"), ("version", "VARCHAR"), ("latest_version", "VARCHAR"),
        ("is_latest", "BOOLEAN"), ("relation", "VARCHAR"), ("deprecation_date", "VARCHAR"),
        ("contract_enforced", "BOOLEAN"), ("description", "VARCHAR"),
        ("last_build_status", "VARCHAR"), ("last_success_at", "VARCHAR"),
        ("build_seconds", "DOUBLE"), ("row_count", "BIGINT"), ("fresh", "BOOLEAN"),
        ("tests_total", "INT"), ("tests_passed", "INT"), ("pass_rate", "DOUBLE"),
        ("health", "VARCHAR"), ("health_reasons", "VARCHAR"),
    ],
    "columns": [
        ("dataset_id", "VARCHAR"), ("column_name", "VARCHAR"), ("position", "INT"),
        ("data_type", "VARCHAR"), ("description", "VARCHAR"), ("classification", "VARCHAR"),
        ("regulations", "VARCHAR"), ("constraints", "VARCHAR"),
    ],
    "ports": [
        ("product_id", "VARCHAR"), ("direction", "VARCHAR"), ("kind", "VARCHAR"),
        ("ref", "VARCHAR"), ("unique_id", "VARCHAR"), ("domain", "VARCHAR"),
        ("dataset_id", "VARCHAR"), ("consumer_product", "VARCHAR"),
    ],
    "lineage": [
        ("level", "VARCHAR"), ("upstream", "VARCHAR"), ("upstream_column", "VARCHAR"),
        ("upstream_domain", "VARCHAR"), ("upstream_dataset", "VARCHAR"),
        ("downstream", "VARCHAR"), ("downstream_column", "VARCHAR"),
        ("downstream_domain", "VARCHAR"), ("downstream_dataset", "VARCHAR"),
        ("downstream_product", "VARCHAR"), ("transform", "VARCHAR"),
    ],
    "quality_results": [
        ("dataset_id", "VARCHAR"), ("test_id", "VARCHAR"), ("test_name", "VARCHAR"),
        ("test_type", "VARCHAR"), ("column_name", "VARCHAR"), ("severity", "VARCHAR"),
        ("status", "VARCHAR"),
    ],
    "sync_runs": [
        ("sync_id", "VARCHAR"), ("started_at", "VARCHAR"), ("finished_at", "VARCHAR"),
        ("target", "VARCHAR"), ("domains", "INT"), ("processed", "INT"), ("skipped", "INT"),
        ("products", "INT"), ("datasets", "INT"), ("changes", "INT"),
    ],
}
TABLES["contracts"] = [
    ("contract_key", "VARCHAR"), ("revision", "INT"), ("dataset_id", "VARCHAR"),
    ("domain", "VARCHAR"), ("published_at", "VARCHAR"), ("sync_id", "VARCHAR"),
    ("fingerprint", "VARCHAR"), ("breaking", "BOOLEAN"), ("changes", "VARCHAR"),
    ("contract", "VARCHAR"),
]
TABLES["violations"] = [
    ("sync_id", "VARCHAR"), ("rule", "VARCHAR"), ("severity", "VARCHAR"), ("domain", "VARCHAR"),
    ("node", "VARCHAR"), ("file", "VARCHAR"), ("line", "INT"), ("message", "VARCHAR"),
    ("fix", "VARCHAR"),
]
# The secure views the sync withholds (meshkit.backends.duckdb.withheld), by their own
# lower-cased ``database.schema.view`` name: on Snowflake every product view reads this table
# and serves no row while it names the view (the consumers query the views themselves there).
TABLES["withheld_views"] = [
    ("sync_id", "VARCHAR"), ("view_name", "VARCHAR"), ("dataset_id", "VARCHAR"),
    ("rule", "VARCHAR"), ("message", "VARCHAR"),
]
# Rows a sync adds besides the catalog's (meshkit.contracts.publish.Ledger): the published
# contracts are appended (a published entry is never changed), the violations and the views
# withheld replaced (a table left out of a write's rows keeps its rows).
APPENDED_TABLES = ("contracts",)
REPLACED_TABLES = ("violations", "withheld_views")
WITHHELD_TABLE = "withheld_views"
# Tables rewritten from the catalog on every sync; sync_runs keeps one row per sync.
SNAPSHOT_TABLES = [t for t in TABLES
                   if t not in ("sync_runs", *APPENDED_TABLES, *REPLACED_TABLES)]


def table_ref(table: str, database: str | None) -> Any:
    """``[<database>.]mesh_catalog.<table>`` as a sqlglot table."""
    from sqlglot import exp

    return exp.table_(table, db=SCHEMA, catalog=database)


def create_table_sql(table: str, dialect: str, *, if_not_exists: bool = False,
                     database: str | None = None) -> str:
    """``CREATE TABLE [<database>.]mesh_catalog.<table> (...)`` in ``dialect``, from
    :data:`TABLES`.

    >>> create_table_sql("sync_runs", "duckdb")[:49]
    'CREATE TABLE mesh_catalog.sync_runs (sync_id TEXT'
    """
    from sqlglot import exp

    columns = [exp.ColumnDef(this=exp.to_identifier(name), kind=exp.DataType.build(kind))
               for name, kind in TABLES[table]]
    create = exp.Create(kind="TABLE", exists=if_not_exists,
                        this=exp.Schema(this=table_ref(table, database), expressions=columns))
    return create.sql(dialect=dialect)


def drop_table_sql(table: str, dialect: str, *, database: str | None = None) -> str:
    from sqlglot import exp

    drop = exp.Drop(kind="TABLE", exists=True, tables=[table_ref(table, database)])
    return drop.sql(dialect=dialect)


def insert_sql(table: str, dialect: str, *, database: str | None = None) -> str:
    """A parameterised ``INSERT`` of one row into ``mesh_catalog.<table>``."""
    from sqlglot import exp

    names = [name for name, _ in TABLES[table]]
    insert = exp.insert(
        exp.Values(expressions=[exp.Tuple(expressions=[exp.Placeholder() for _ in names])]),
        table_ref(table, database), columns=names,
    )
    return insert.sql(dialect=dialect)


def _j(values: Iterable[str]) -> str:
    return _json_list(tuple(values))


@functools.lru_cache(maxsize=4096)
def _json_list(values: tuple[str, ...]) -> str:
    # The same few lists (mostly none, a regulation or two) for each of a mesh's columns: one
    # json.dumps each, not one per column of every domain at every sync.
    return json.dumps(list(values))


def iter_rows(catalog: Catalog, table: str) -> Iterator[tuple[Any, ...]]:
    """The rows of one snapshot table, in :data:`TABLES` column order, built as they are read
    (a table's rows need not all be alive at once, nor those of every table)."""
    for _, row in domain_rows(catalog, table):
        yield row


# Where a snapshot table says which domain a row is of: a column of its own, or, for the rows of
# a dataset or a product, its parent's (column of the row, parent table, parent's column).
ROW_DOMAIN: dict[str, str | tuple[str, str, str]] = {
    "products": "domain",
    "datasets": "domain",
    "lineage": "downstream_domain",
    "columns": ("dataset_id", "datasets", "dataset_id"),
    "quality_results": ("dataset_id", "datasets", "dataset_id"),
    "ports": ("product_id", "products", "product_id"),
}


def domain_rows(catalog: Catalog, table: str, only: Iterable[str] | None = None,
                ) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(domain, row) of :func:`iter_rows`, the domain as :data:`ROW_DOMAIN` reads it back
    (a lineage edge is its downstream domain's); ``only``: those domains' rows alone."""
    wanted = None if only is None else set(only)
    if table == "lineage":
        edges = [e for e in catalog.lineage if wanted is None or e.downstream_domain in wanted]
        for e in edges:
            yield e.downstream_domain, (
                "model", e.upstream, None, e.upstream_domain, e.upstream_dataset, e.downstream,
                None, e.downstream_domain, e.downstream_dataset, e.downstream_product, None)
        column_edges = [ce for ce in catalog.column_lineage
                        if wanted is None or ce.downstream_domain in wanted]
        if column_edges:
            datasets = {ds.unique_id: ds.id for ds in catalog.datasets()}
            for ce in column_edges:
                yield ce.downstream_domain, (
                    "column", ce.upstream, ce.upstream_column, ce.upstream_domain,
                    datasets.get(ce.upstream), ce.downstream, ce.downstream_column,
                    ce.downstream_domain, datasets.get(ce.downstream), None, ce.transform)
        return
    if table not in SNAPSHOT_TABLES:
        raise KeyError(table)
    for d in catalog.domains:
        if wanted is not None and d.name not in wanted:
            continue
        for row in _domain_table_rows(d, table):
            yield d.name, row


def _domain_table_rows(d: Domain, table: str) -> Iterator[tuple[Any, ...]]:
    """One domain's rows of a snapshot table other than ``lineage``."""
    for p in d.products:
        if table == "products":
            yield (
                p.address, d.name, p.name, p.owner.name, p.owner.email, p.description,
                p.status, p.tier, p.sla.freshness, _j(p.tags), p.support, len(p.datasets),
                p.quality.passed, p.quality.failed, p.quality.pass_rate,
                p.health.status.value, _j(p.health.reasons),
            )
            continue
        if table == "ports":
            for port in p.input_ports:
                yield (p.address, "input", port.kind, port.ref, port.unique_id,
                       port.domain, None, None)
        for ds in p.datasets:
            if table == "datasets":
                op, q = ds.operational, ds.quality
                yield (
                    ds.id, ds.address, d.name, p.address, ds.name, "product", ds.unique_id,
                    ds.version, ds.latest_version, ds.is_latest, ds.relation,
                    ds.deprecation_date, ds.contract_enforced, ds.description,
                    op.last_build_status, op.last_success_at, op.build_seconds,
                    op.row_count, op.fresh, len(q.tests), q.passed, q.pass_rate,
                    ds.health.status.value, _j(ds.health.reasons),
                )
            elif table == "ports":
                yield (p.address, "output", "dataset", ds.id, ds.unique_id,
                       d.name, ds.id, None)
                for c in ds.consumers:
                    yield (p.address, "consumer", c.kind, c.ref, c.unique_id,
                           c.domain, ds.id, c.product)
            elif table == "columns":
                for i, col in enumerate(ds.columns, 1):
                    yield (ds.id, col.name, i, col.data_type, col.description,
                           col.classification, _j(col.regulations), _j(col.constraints))
            elif table == "quality_results":
                for t in ds.quality.tests:
                    yield (ds.id, t.unique_id, t.name, t.test_type, t.column, t.severity,
                           t.status)
    for a in d.adhoc_datasets:
        if table == "datasets":
            yield (
                a.unique_id, None, d.name, None, a.name, "adhoc", a.unique_id, None, None,
                True, a.relation, None, False, a.description, a.last_build_status, None,
                None, None, None, a.tests_total, a.tests_passed,
                round(a.tests_passed / a.tests_total, 4) if a.tests_total else None,
                None, None,
            )
        elif table == "columns":
            for i, col in enumerate(a.columns, 1):
                yield (a.unique_id, col.name, i, col.data_type, col.description,
                       col.classification, _j(col.regulations), _j(col.constraints))


@dataclass(frozen=True)
class SyncRun:
    """One row of ``sync_runs``."""

    sync_id: str
    started_at: str
    finished_at: str
    target: str
    domains: int
    processed: int
    skipped: int
    products: int
    datasets: int
    changes: int

    def row(self) -> tuple[Any, ...]:
        return (self.sync_id, self.started_at, self.finished_at, self.target, self.domains,
                self.processed, self.skipped, self.products, self.datasets, self.changes)


class CatalogStore(Protocol):
    """A warehouse copy of the catalog. ``write`` replaces it in one transaction."""

    @property
    def location(self) -> str: ...

    def write(self, catalog: Catalog, run: SyncRun,
              extra: Mapping[str, list[tuple[Any, ...]]] | None = None) -> None:
        """Replace the snapshot tables, add the run; ``extra`` rows by table: appended to
        :data:`APPENDED_TABLES`, replacing those of :data:`REPLACED_TABLES` (one not given
        keeps its rows)."""
        ...

    def append_run(self, catalog: Catalog, run: SyncRun) -> None:
        """Add the ``sync_runs`` row of a sync whose catalog the snapshot tables already hold
        (the catalog of the last sync, to the byte); a store that cannot tell they do
        (e.g. the tables are missing) writes them as :meth:`write` does."""
        ...

    def committed(self, sync_id: str) -> bool:
        """Whether the sync ``sync_id`` committed here (its ``sync_runs`` row exists)."""
        ...

    def withhold(self, rows: list[tuple[Any, ...]]) -> None:
        """Add ``rows`` of :data:`WITHHELD_TABLE` at once, before the sync's commit, where the
        consumers read the views themselves (Snowflake): a sync stopped on the way leaves more
        withheld, never less. (DuckDB's views are withheld by `mesh query`'s own list.)"""
        ...

    def ready(self) -> None:
        """Raise what :meth:`write` would raise for want of its settings (credentials), before
        a sync stages anything: a sync that stops at the write leaves a staged folder that every
        reader must then ask this store about."""
        ...
