"""The mesh catalog: pydantic models, unknown keys forbidden, published as a JSON Schema.

mesh → domains → data products → output datasets (versions, columns) → input ports, consumers,
quality, operational metrics, health; plus each domain's ad-hoc datasets and the lineage edges
across domains. ``catalog.json`` is this model dumped with sorted keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field

from meshkit.lean_model import LeanModel

CATALOG_FORMAT = 1


ProductStatus = Literal["draft", "active", "deprecated"]
PRODUCT_STATUSES: tuple[ProductStatus, ...] = ("draft", "active", "deprecated")


def product_status(meta: Mapping[str, object]) -> ProductStatus:
    """A group's ``meta.status``; a missing or unknown one is ``draft`` (fail closed: consumers
    are granted a product only once it is declared active), in the catalog as in the plan.

    >>> product_status({"status": "active"}), product_status({}), product_status({"status": "x"})
    ('active', 'draft', 'draft')
    """
    value = meta.get("status")
    for status in PRODUCT_STATUSES:
        if value == status:
            return status
    return "draft"


def timestamp(moment: datetime) -> str:
    """The one timestamp format of the catalog: UTC, ISO 8601, milliseconds, ``Z``.

    >>> timestamp(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
    '2026-01-02T03:04:05.678Z'
    """
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
SCHEMA_FILE = Path(__file__).resolve().parents[3] / "schemas" / "catalog.schema.json"


class Strict(LeanModel):
    model_config = ConfigDict(extra="forbid")


class HealthStatus(StrEnum):
    healthy = "healthy"
    caution = "caution"
    degraded = "degraded"


HEALTH_ORDER = {HealthStatus.healthy: 0, HealthStatus.caution: 1, HealthStatus.degraded: 2}


class Health(Strict):
    status: HealthStatus = HealthStatus.healthy
    reasons: list[str] = Field(default_factory=list)


class Person(Strict):
    name: str | None = None
    email: str | None = None


class Sla(Strict):
    freshness: str | None = Field(default=None, description="Maximum age of the data, e.g. `24h`.")
    freshness_hours: float | None = None


class Column(Strict):
    name: str
    data_type: str | None = None
    description: str = ""
    classification: str | None = None
    regulations: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)


class TestResult(Strict):
    unique_id: str
    name: str
    test_type: str
    column: str | None = None
    severity: str = "error"
    status: str = Field(
        default="not_run", description="pass | fail | warn | error | skipped | not_run")


class Quality(Strict):
    tests: list[TestResult] = Field(default_factory=list)
    passed: int = 0
    failed: int = 0
    warned: int = 0
    not_run: int = 0
    pass_rate: float | None = Field(
        default=None, description="passed / tests that ran; null if none ran")


class Operational(Strict):
    last_build_status: str | None = None
    last_success_at: str | None = Field(
        default=None, description="When the last successful build ended")
    build_seconds: float | None = None
    row_count: int | None = None
    stale_after: str | None = Field(default=None, description="last_success_at + the product's SLA")
    fresh: bool | None = Field(
        default=None, description="Within the SLA at sync time; null if unknown")


class Port(Strict):
    """An input port: a dbt source or an upstream product's dataset."""

    kind: Literal["source", "product"]
    ref: str = Field(description="`source_name.table` or a dataset address")
    unique_id: str
    domain: str
    version: str | None = None


class Consumer(Strict):
    kind: Literal["dataset", "exposure"]
    ref: str = Field(description="The consuming dataset's id or the exposure's name")
    unique_id: str
    domain: str
    type: str | None = Field(default=None, description="For exposures: dashboard, notebook, ...")
    product: str | None = Field(
        default=None, description="The consuming product (when a dataset or internal reads)")
    owner: Person | None = None


class RowFilter(Strict):
    """The rows a dataset's secure view shows only to some roles (mesh.yml ``row_filters``)."""

    name: str
    column: str | None = None
    restricted_values: list[str] = Field(default_factory=list)
    cleared: list[str] = Field(
        default_factory=list, description="Roles that see the restricted rows (and roles holding them)")
    description: str = ""


class Dataset(Strict):
    """One output dataset (one version of a public model of a product)."""

    id: str = Field(description="Unique in the mesh: the address, with `_v<N>` if versioned")
    address: str = Field(description="`<domain>.<product>.<dataset>`")
    name: str
    unique_id: str
    version: str | None = None
    latest_version: str | None = None
    is_latest: bool = True
    relation: str = Field(description="The relation's name: `<dataset>` or `<dataset>_v<N>`")
    deprecation_date: str | None = None
    description: str = ""
    contract_enforced: bool = False
    tags: list[str] = Field(default_factory=list)
    columns: list[Column] = Field(default_factory=list)
    row_filter: RowFilter | None = Field(
        default=None, description="Rows filtered by role: `operational.row_count` counts them all")
    consumers: list[Consumer] = Field(default_factory=list)
    quality: Quality = Field(default_factory=Quality)
    operational: Operational = Field(default_factory=Operational)
    health: Health = Field(default_factory=Health)


class Product(Strict):
    """A data product: a dbt group of a domain."""

    address: str = Field(description="`<domain>.<product>`")
    domain: str
    name: str
    owner: Person
    description: str = ""
    status: Literal["draft", "active", "deprecated"] = "active"
    tier: str | None = None
    sla: Sla = Field(default_factory=Sla)
    tags: list[str] = Field(default_factory=list)
    use_cases: list[str] = Field(default_factory=list)
    kpis: list[str] = Field(default_factory=list)
    support: str | None = None
    datasets: list[Dataset] = Field(default_factory=list)
    internals: list[str] = Field(default_factory=list, description="unique_ids of private models")
    input_ports: list[Port] = Field(default_factory=list)
    consumers: list[Consumer] = Field(default_factory=list)
    quality: Quality = Field(default_factory=Quality)
    health: Health = Field(default_factory=Health)


class AdhocDataset(Strict):
    """A model in no product: catalogued, never consumable across domains."""

    unique_id: str
    name: str
    relation: str
    description: str = ""
    columns: list[Column] = Field(default_factory=list)
    tests_total: int = 0
    tests_passed: int = 0
    last_build_status: str | None = None


class Source(Strict):
    unique_id: str
    ref: str
    relation: str
    description: str = ""
    freshness_status: str | None = None


class Exposure(Strict):
    unique_id: str
    name: str
    type: str
    owner: Person
    url: str | None = None
    depends_on: list[str] = Field(default_factory=list)


class LineageEdge(Strict):
    """Model-level lineage between domains: ``upstream`` feeds ``downstream``."""

    upstream: str = Field(description="unique_id of the producing node")
    upstream_domain: str
    downstream: str
    downstream_domain: str
    upstream_dataset: str | None = Field(
        default=None, description="Dataset id, if a product's output")
    downstream_dataset: str | None = None
    downstream_product: str | None = None


class ColumnLineageEdge(Strict):
    """Column-level lineage: ``upstream.upstream_column`` feeds ``downstream.downstream_column``
    (dbt unique_ids), within a domain or across domains."""

    upstream: str
    upstream_column: str = Field(description="`*` when the upstream's columns are unknown")
    upstream_domain: str | None = Field(
        default=None, description="The upstream's domain (null for a package's node)")
    downstream: str
    downstream_column: str
    downstream_domain: str
    transform: Literal["identity", "derived", "aggregate"] = Field(
        default="derived",
        description="identity: the value itself (renamed, cast, case-folded, min/max); derived: "
                    "computed from it; aggregate: folded into a count, sum or average")


class SyncError(Strict):
    """Why a domain's artifacts could not be read at the last sync."""

    message: str
    file: str | None = None
    fix: str | None = None


class Domain(Strict):
    name: str
    owner: Person
    description: str = ""
    artifacts: str = Field(description="Where the artifacts were read from, relative to the mesh")
    dbt_version: str
    manifest_schema: int
    stale: SyncError | None = Field(
        default=None,
        description="Set when the last sync could not read the domain's artifacts: the entry is "
                    "the domain's last good projection (or empty if it never had one)")
    column_lineage: str | None = Field(
        default=None,
        description="Why the domain has no column-level lineage, when it has none (e.g. its "
                    "artifacts come from `dbt parse` and carry no compiled SQL)")
    products: list[Product] = Field(default_factory=list)
    adhoc_datasets: list[AdhocDataset] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    exposures: list[Exposure] = Field(default_factory=list)


class DomainProjection(Strict):
    """One domain as read from its artifacts, before the mesh-wide pass; kept in catalog/state."""

    format: int = CATALOG_FORMAT
    content_hash: str
    domain: Domain
    lineage: list[LineageEdge] = Field(default_factory=list)
    column_lineage: list[ColumnLineageEdge] = Field(default_factory=list)
    foreign_inputs: dict[str, str] = Field(
        default_factory=dict,
        description="Other domains' nodes read, with a checksum of the columns the lineage used")


class Catalog(Strict):
    """The whole mesh catalog, as written to ``catalog/catalog.json``."""

    format: int = CATALOG_FORMAT
    mesh: str
    description: str = ""
    domains: list[Domain] = Field(default_factory=list)
    lineage: list[LineageEdge] = Field(default_factory=list)
    column_lineage: list[ColumnLineageEdge] = Field(default_factory=list)

    def products(self) -> list[Product]:
        return [p for d in self.domains for p in d.products]

    def datasets(self) -> list[Dataset]:
        return [ds for p in self.products() for ds in p.datasets]


def json_schema() -> dict[str, object]:
    """The published JSON Schema of ``catalog.json``."""
    schema = Catalog.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:meshkit:schema:catalog:1"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def write_json_schema(path: Path = SCHEMA_FILE) -> Path:
    """Regenerate ``schemas/catalog.schema.json`` (a test checks it is up to date)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json_schema_text())
    return path


if __name__ == "__main__":
    print(write_json_schema())
