"""The library side of ``mesh contract diff / export``: find a dataset's contracts, compare them."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshkit.checks import CheckContext
from meshkit.config import Mesh
from meshkit.contracts.diff import diff_contracts
from meshkit.contracts.model import Change, Contract, PublishedContract, contract_of
from meshkit.contracts.rules import mesh_order
from meshkit.errors import ArtifactError, UsageError


@dataclass(frozen=True)
class ContractDiff:
    dataset: str
    current_label: str
    against_label: str
    changes: list[Change]

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "current": self.current_label,
                "against": self.against_label, "breaking": any(c.breaking for c in self.changes),
                "changes": [c.model_dump(mode="json") | {"text": str(c)} for c in self.changes]}


def _all_current(ctx: CheckContext) -> list[Contract]:
    out = []
    for d, arts in ctx.all_artifacts():
        out += [contract_of(d.name, n) for n in arts.nodes.values()
                if n.package_name == d.name and n.resource_type == "model"]
    return out


def _matches(c: Contract, ref: str) -> bool:
    return ref in (c.key, c.unique_id, c.dataset_id) or (
        c.dataset_id is not None and c.version == c.latest_version
        and c.dataset_id.rsplit("_v", 1)[0] == ref)


def find_contract(mesh: Mesh, ref: str) -> tuple[CheckContext, Contract | None,
                                                  PublishedContract | None]:
    """The dataset version ``ref`` names (dataset id, address = its latest version, contract key
    or unique_id): its contract now and its last published entry; a did-you-mean if neither."""
    ctx = CheckContext(mesh)
    current = next((c for c in _all_current(ctx) if _matches(c, ref)), None)
    key = current.key if current else None
    published = ctx.registry.latest(key) if key else None
    if published is None:
        hits = ctx.registry.find(ref)
        if hits:
            published = hits[0]
    if current is None and published is None:
        known = sorted({c.dataset_id for c in _all_current(ctx) if c.is_published and c.dataset_id}
                       | {e.dataset_id or e.key for e in ctx.registry.latest_contracts()})
        close = difflib.get_close_matches(ref, known, n=1)
        raise UsageError(f"no dataset {ref!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
                         fix="name a dataset id such as " + (known[0] if known else
                                                             "<domain>.<product>.<dataset>")
                         + "; `mesh catalog list` shows them")
    return ctx, current, published


def contract_diff(mesh: Mesh, ref: str, against: str | None = None) -> ContractDiff:
    ctx, current, published = find_contract(mesh, ref)
    if current is None:
        assert published is not None
        name = published.dataset_id or published.key
        return ContractDiff(name, "deleted", f"published revision {published.revision}", [])
    base: Contract | None
    if against is None:
        if published is None:
            raise UsageError(f"{ref}: no published contract to compare with yet",
                             fix="run `mesh-sync` to publish it, or pass --against <version|file>")
        base, label = published.contract, f"published revision {published.revision}"
    elif against.lstrip("v").isdigit():
        version = against.lstrip("v")
        sibling = next((c for c in _all_current(ctx) if c.domain == current.domain
                        and c.name == current.name and c.version == version), None)
        key = f"{current.domain}.{current.name}.v{version}"
        entry = ctx.registry.latest(key)
        base = entry.contract if entry else sibling
        label = (f"v{version} (published revision {entry.revision})" if entry
                 else f"v{version} (not published)")
        if base is None:
            raise UsageError(f"{current.name} has no version {version}",
                             fix="name one of its versions, or a contract file")
    else:
        file = Path(against)
        try:
            text = file.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read: {exc.strerror}", file=file,
                             fix="pass a registry entry (catalog/contracts/<key>@<n>.json)") from None
        try:
            base = PublishedContract.model_validate_json(text).contract
        except ValueError:
            try:
                base = Contract.model_validate_json(text)
            except ValueError as exc:
                raise ArtifactError(f"not a meshkit contract: {str(exc).splitlines()[0]}",
                                    file=file, fix="pass a registry entry "
                                    "(catalog/contracts/<key>@<n>.json)") from None
        label = str(file)
    name = current.dataset_id or current.key
    return ContractDiff(name, "current", label, diff_contracts(base, current, mesh_order(ctx)))


def contract_export(mesh: Mesh, ref: str) -> str:
    """The ODCS v3 YAML of a dataset's last published contract (or its current one if it was
    never published)."""
    from meshkit.contracts.odcs import odcs_yaml

    ctx, current, published = find_contract(mesh, ref)
    entry: PublishedContract | Contract = published if published is not None else current  # type: ignore[assignment]
    domain = entry.contract.domain if isinstance(entry, PublishedContract) else entry.domain
    group = (entry.contract if isinstance(entry, PublishedContract) else entry).group
    owner = None
    if group is not None and ctx.has_artifacts(domain):
        info = ctx.artifacts(domain).groups.get(group)
        owner = info.owner_email or info.owner_name if info else None
    return odcs_yaml(entry, mesh=mesh.config.name, owner=owner)
