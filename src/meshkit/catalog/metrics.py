"""Product success metrics: consumers over time, build and test history, SLA attainment, reads.

Every sync records, in its line of ``catalog/history.jsonl``, one small observation per product
(:func:`observe`): its consumers (datasets, domains, exposures), each dataset's last build and
freshness, its tests. :func:`product_metrics` reads them back as time series, and adds reads:
``mesh query``'s own audit log on DuckDB (:func:`reads_from_query_log`), and on Snowflake the
account's ``SNOWFLAKE.ACCOUNT_USAGE.ACCESS_HISTORY`` (:func:`access_history_sql`,
:func:`reads_from_access_history`), both reduced to :class:`Read` rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from meshkit.catalog.model import Catalog, Product

OBSERVATIONS_KEY = "products"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Read(_Strict):
    """One read of one dataset by one user."""

    at: str
    user: str
    dataset: str = Field(description="The dataset id `<domain>.<product>.<relation>`")
    source: str = Field(description="`mesh_query` (DuckDB audit log) or `snowflake`")


class ConsumerPoint(_Strict):
    at: str
    datasets: int
    domains: list[str]
    exposures: int


class BuildPoint(_Strict):
    at: str
    dataset: str
    status: str | None
    last_success_at: str | None


class TestPoint(_Strict):
    at: str
    passed: int
    failed: int


class SlaAttainment(_Strict):
    freshness: str | None
    observed: int = Field(description="Syncs at which the freshness of its datasets was known")
    met: int = Field(description="... of which every dataset was within the SLA")
    attainment: float | None = Field(description="met / observed; null when none observed")


class ReadStats(_Strict):
    total: int = 0
    users: list[str] = Field(default_factory=list)
    last_read_at: str | None = None
    by_dataset: dict[str, int] = Field(default_factory=dict)
    by_source: dict[str, int] = Field(default_factory=dict)
    by_day: dict[str, int] = Field(default_factory=dict)


class ProductMetrics(_Strict):
    product: str
    consumers: list[ConsumerPoint] = Field(default_factory=list)
    builds: list[BuildPoint] = Field(default_factory=list)
    tests: list[TestPoint] = Field(default_factory=list)
    sla: SlaAttainment
    reads: ReadStats = Field(default_factory=ReadStats)


# --- what a sync records ------------------------------------------------------------------------


def observe(catalog: Catalog) -> dict[str, Any]:
    """Per product: ``[consumer datasets, consumer domains, exposures, {dataset: [build status,
    last success, fresh]}, tests passed, tests failed]`` (compact: one line per sync)."""
    out: dict[str, Any] = {}
    for p in catalog.products():
        datasets = {c.unique_id for c in p.consumers if c.kind == "dataset"}
        domains = sorted({c.domain for c in p.consumers if c.kind == "dataset"})
        exposures = {c.unique_id for c in p.consumers if c.kind == "exposure"}
        builds = {ds.id: [ds.operational.last_build_status, ds.operational.last_success_at,
                          ds.operational.fresh] for ds in p.datasets}
        out[p.address] = [len(datasets), domains, len(exposures), builds,
                          p.quality.passed, p.quality.failed]
    return out


def _history(catalog_dir: Path) -> list[dict[str, Any]]:
    from meshkit.catalog.store import HISTORY_FILE

    file = catalog_dir / HISTORY_FILE
    if not file.is_file():
        return []
    lines = []
    for line in file.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash
        if isinstance(entry, dict) and isinstance(entry.get(OBSERVATIONS_KEY), dict):
            lines.append(entry)
    return lines


# --- reads ----------------------------------------------------------------------------------------


def reads_from_query_log(entries: Iterable[Any]) -> list[Read]:
    """Reads of ``mesh query`` / ``mesh shell`` from their audit log (successful queries only).

    >>> from types import SimpleNamespace as E
    >>> [r.dataset for r in reads_from_query_log([E(at="t", user="ana", status="ok",
    ...     datasets=["d.p.x", "d.p.y"]), E(at="t", user="bo", status="refused", datasets=["d.p.x"])])]
    ['d.p.x', 'd.p.y']
    """
    return [Read(at=e.at, user=e.user, dataset=ds, source="mesh_query")
            for e in entries if e.status == "ok" for ds in e.datasets]


def access_history_sql(since: datetime | None = None) -> str:
    """The query of Snowflake's access history (one row per query that read objects).

    >>> access_history_sql()[:60]
    'SELECT query_id, query_start_time, user_name, direct_objects'
    """
    from sqlglot import exp

    select = exp.select("query_id", "query_start_time", "user_name",
                        "direct_objects_accessed").from_(
        exp.table_("access_history", db="account_usage", catalog="snowflake"))
    if since is not None:
        select = select.where(exp.GTE(this=exp.column("query_start_time"),
                                      expression=exp.cast(exp.Literal.string(since.isoformat()),
                                                          "TIMESTAMP_LTZ")))
    return select.order_by("query_start_time").sql("snowflake")


def reads_from_access_history(rows: Iterable[Mapping[str, Any]],
                              datasets: Iterable[str]) -> list[Read]:
    """Reads of the mesh's datasets in rows of ``ACCOUNT_USAGE.ACCESS_HISTORY``.

    ``DIRECT_OBJECTS_ACCESSED`` is a JSON array (a string or a parsed list) of
    ``{objectName: "DB.SCHEMA.VIEW", objectDomain, columns}``: the objects the query named,
    matched case-insensitively against the dataset ids. Column names in the rows may be upper
    or lower case, as the connector returns them.
    """
    known = {d.lower(): d for d in datasets}
    out: list[Read] = []
    for row in rows:
        r = {str(k).lower(): v for k, v in row.items()}
        objects = r.get("direct_objects_accessed") or []
        if isinstance(objects, str):
            try:
                objects = json.loads(objects)
            except ValueError:
                continue
        at = r.get("query_start_time")
        at_text = at.isoformat() if isinstance(at, datetime) else str(at)
        seen: set[str] = set()
        for obj in objects if isinstance(objects, list) else ():
            name = str((obj or {}).get("objectName") or "").replace('"', "").lower()
            dataset = known.get(name)
            if dataset is not None and dataset not in seen:
                seen.add(dataset)
                out.append(Read(at=at_text, user=str(r.get("user_name") or ""), dataset=dataset,
                                source="snowflake"))
    return out


def fetch_access_history(connection: Any, since: datetime | None = None) -> list[dict[str, Any]]:
    """Rows of the access history through a Snowflake connection (a role with ACCOUNT_USAGE)."""
    cursor = connection.cursor()
    try:
        cursor.execute(access_history_sql(since))
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        cursor.close()


# --- the metrics ----------------------------------------------------------------------------------


def _read_stats(reads: list[Read]) -> ReadStats:
    stats = ReadStats(total=len(reads), users=sorted({r.user for r in reads}),
                      last_read_at=max((r.at for r in reads), default=None))
    for r in reads:
        stats.by_dataset[r.dataset] = stats.by_dataset.get(r.dataset, 0) + 1
        stats.by_source[r.source] = stats.by_source.get(r.source, 0) + 1
        day = r.at[:10]
        stats.by_day[day] = stats.by_day.get(day, 0) + 1
    return stats


def product_metrics(catalog: Catalog, catalog_dir: Path,
                    reads: Iterable[Read] = ()) -> dict[str, ProductMetrics]:
    """The success metrics of every product of ``catalog`` from the sync history beside it."""
    history = _history(catalog_dir)
    by_product: dict[str, list[Read]] = {}
    for r in reads:
        by_product.setdefault(".".join(r.dataset.split(".")[:2]), []).append(r)
    out: dict[str, ProductMetrics] = {}
    for p in catalog.products():
        out[p.address] = _metrics_of(p, history, by_product.get(p.address, []))
    return out


def _metrics_of(p: Product, history: list[dict[str, Any]], reads: list[Read]) -> ProductMetrics:
    consumers: list[ConsumerPoint] = []
    builds: list[BuildPoint] = []
    tests: list[TestPoint] = []
    observed = met = 0
    last_build: dict[str, tuple[Any, Any]] = {}
    for entry in history:
        obs = entry[OBSERVATIONS_KEY].get(p.address)
        if obs is None:
            continue
        at = str(entry.get("finished_at") or entry.get("started_at"))
        n_datasets, domains, n_exposures, dataset_builds, passed, failed = obs
        point = ConsumerPoint(at=at, datasets=n_datasets, domains=domains, exposures=n_exposures)
        if not consumers or consumers[-1].model_dump(exclude={"at"}) != point.model_dump(
                exclude={"at"}):
            consumers.append(point)  # a change, not every sync
        if not tests or (tests[-1].passed, tests[-1].failed) != (passed, failed):
            tests.append(TestPoint(at=at, passed=passed, failed=failed))
        fresh_known = [b[2] for b in dataset_builds.values() if b[2] is not None]
        if fresh_known:
            observed += 1
            met += all(fresh_known)
        for dataset, (status, success_at, _) in sorted(dataset_builds.items()):
            if last_build.get(dataset) != (status, success_at):
                last_build[dataset] = (status, success_at)
                builds.append(BuildPoint(at=at, dataset=dataset, status=status,
                                         last_success_at=success_at))
    return ProductMetrics(
        product=p.address, consumers=consumers, builds=builds, tests=tests,
        sla=SlaAttainment(freshness=p.sla.freshness, observed=observed, met=met,
                          attainment=round(met / observed, 4) if observed else None),
        reads=_read_stats(reads))


def mesh_reads(mesh: Any, target: str | None = None) -> list[Read]:
    """The reads of the mesh's datasets on ``target``: ``mesh query``'s audit log on DuckDB,
    the account's access history on Snowflake (connection from SNOWFLAKE_* variables)."""
    from meshkit.config import DuckDBTarget

    _, target_config = mesh.config.target(target)
    if isinstance(target_config, DuckDBTarget):
        from meshkit import query_log

        entries = query_log.read_log((mesh.root / target_config.path).resolve())
        return reads_from_query_log(entries)
    from meshkit.backends.snowflake.profiles import SnowflakeSettings, connect

    catalog = mesh.catalog()
    connection = connect(SnowflakeSettings.from_env())
    try:
        rows = fetch_access_history(connection)
    finally:
        connection.close()
    return reads_from_access_history(rows, [ds.id for ds in catalog.datasets()])
