"""A dataset's contract, as published to the registry, and the changes between two of them."""

from __future__ import annotations

import hashlib
from enum import StrEnum

import orjson
from pydantic import ConfigDict, Field

from meshkit.artifacts import NodeInfo
from meshkit.lean_model import LeanModel


class Strict(LeanModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContractColumn(Strict):
    name: str
    data_type: str | None = None
    description: str = ""
    classification: str | None = None
    regulations: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)


class Contract(Strict):
    """The promise a dataset version makes to its consumers: what `mesh-sync` publishes.

    ``key`` identifies the dataset version across syncs whatever product it sits in (so that a
    move out of its group is a change, not a new dataset): ``<domain>.<model>`` or
    ``<domain>.<model>.v<N>``.
    """

    key: str
    unique_id: str
    domain: str
    name: str
    version: str | None = None
    latest_version: str | None = None
    group: str | None = None
    access: str = "protected"
    contract_enforced: bool = False
    deprecation_date: str | None = None
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list, description="Model-level constraints")
    columns: list[ContractColumn] = Field(default_factory=list)

    @property
    def dataset_id(self) -> str | None:
        """The dataset's id in the catalog (None unless it is a product's dataset)."""
        if self.group is None:
            return None
        relation = f"{self.name}_v{self.version}" if self.version else self.name
        return f"{self.domain}.{self.group}.{relation}"

    @property
    def is_published(self) -> bool:
        """Public, in a product, contract enforced: what the registry holds."""
        return self.access == "public" and self.group is not None and self.contract_enforced

    @property
    def fingerprint(self) -> str:
        data = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(data).hexdigest()[:16]

    def column(self, name: str) -> ContractColumn | None:
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    @property
    def primary_key(self) -> tuple[str, ...]:
        """Columns of the primary key: a column-level ``primary_key`` or the model-level one."""
        cols = [c.name for c in self.columns if "primary_key" in c.constraints]
        for c in self.constraints:
            if c.startswith("primary_key(") and c.endswith(")"):
                cols += [x.strip() for x in c[len("primary_key("):-1].split(",")]
        return tuple(sorted({c.lower() for c in cols}))


def contract_key(domain: str, name: str, version: str | None) -> str:
    return f"{domain}.{name}.v{version}" if version else f"{domain}.{name}"


def contract_of(domain: str, node: NodeInfo) -> Contract:
    """The contract a model of ``domain`` declares in its manifest."""
    return Contract(
        key=contract_key(domain, node.name, node.version),
        unique_id=node.unique_id, domain=domain, name=node.name, version=node.version,
        latest_version=node.latest_version, group=node.group, access=node.access,
        contract_enforced=node.contract_enforced, deprecation_date=node.deprecation_date,
        description=node.description, tags=sorted(node.tags),
        constraints=list(node.constraints),
        columns=[ContractColumn(name=c.name, data_type=c.data_type, description=c.description,
                                classification=c.classification,
                                regulations=sorted(c.regulations),
                                constraints=sorted(c.constraints)) for c in node.columns],
    )


class ChangeKind(StrEnum):
    dataset_added = "dataset_added"
    dataset_deleted = "dataset_deleted"
    dataset_disabled = "dataset_disabled"
    version_removed = "version_removed"
    made_non_public = "made_non_public"
    made_public = "made_public"
    moved_out_of_group = "moved_out_of_group"
    contract_unenforced = "contract_unenforced"
    contract_enforced = "contract_enforced"
    column_added = "column_added"
    column_removed = "column_removed"
    column_renamed = "column_renamed"
    type_changed = "type_changed"
    type_widened = "type_widened"
    not_null_dropped = "not_null_dropped"
    not_null_added = "not_null_added"
    primary_key_dropped = "primary_key_dropped"
    primary_key_changed = "primary_key_changed"
    constraint_changed = "constraint_changed"
    classification_loosened = "classification_loosened"
    classification_tightened = "classification_tightened"
    regulations_changed = "regulations_changed"
    description_changed = "description_changed"
    tags_changed = "tags_changed"
    deprecation_changed = "deprecation_changed"
    latest_version_changed = "latest_version_changed"
    column_order_changed = "column_order_changed"


class Change(Strict):
    """One difference between the last published contract and the current one, with its verdict."""

    kind: ChangeKind
    breaking: bool
    column: str | None = None
    before: str | None = None
    after: str | None = None
    detail: str = ""

    def __str__(self) -> str:
        what = self.kind.value.replace("_", " ")
        if self.column:
            what = f"{what}: {self.column}"
        if self.before is not None or self.after is not None:
            what += f" ({self.before or '-'} → {self.after or '-'})"
        if self.detail:
            what += f"; {self.detail}"
        return what


class PublishedContract(Strict):
    """One immutable entry of the registry: revision ``revision`` of a dataset version's contract."""

    key: str
    revision: int
    dataset_id: str | None
    published_at: str
    sync_id: str
    fingerprint: str
    contract: Contract
    changes: list[Change] = Field(default_factory=list, description="Against the revision before")
