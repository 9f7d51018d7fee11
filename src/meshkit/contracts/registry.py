"""The append-only registry of published contracts: ``catalog/contracts/<key>/<revision>.json``.

Each entry is written once and never changed: a sync whose contract for a dataset version
differs from its last entry adds the next revision, with the changes between them. The files
live inside the catalog folder, so they are written by the sync's atomic swap, together with the
warehouse table ``mesh_catalog.contracts`` (one row per entry) in the sync's one transaction.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from meshkit.contracts.diff import diff_contracts
from meshkit.contracts.model import Contract, PublishedContract
from meshkit.errors import ArtifactError

CONTRACTS_DIR = "contracts"


def entry_path(key: str, revision: int) -> str:
    """The entry's path inside the catalog folder."""
    return f"{CONTRACTS_DIR}/{key}/{revision:04d}.json"


@dataclass
class ContractRegistry:
    """Every published revision, by contract key, oldest first."""

    entries: dict[str, list[PublishedContract]] = field(default_factory=dict)

    @classmethod
    def load(cls, catalog_dir: Path) -> ContractRegistry:
        """The registry of a catalog folder (empty if no contract was published yet)."""
        root = catalog_dir / CONTRACTS_DIR
        entries: dict[str, list[PublishedContract]] = {}
        if not root.is_dir():
            return cls(entries)
        # os.scandir: a mesh's registry is thousands of folders, and pathlib's iterdir, is_dir
        # and glob for each cost a sync more than reading the entries.
        with os.scandir(root) as listing:
            folders = sorted(e.name for e in listing if e.is_dir())
        for name in folders:
            with os.scandir(root / name) as listing:
                files = sorted(e.name for e in listing if e.name.endswith(".json"))
            revisions = []
            for file_name in files:
                file = root / name / file_name
                try:
                    revisions.append(PublishedContract.model_validate_json(file.read_bytes()))
                except ValueError as exc:
                    raise ArtifactError(
                        f"not a published contract: {str(exc).splitlines()[0]}", file=file,
                        fix="restore it from the warehouse table mesh_catalog.contracts or "
                            "from version control; published entries are never rewritten",
                    ) from None
            if revisions:
                entries[name] = sorted(revisions, key=lambda e: e.revision)
        return cls(entries)

    def latest(self, key: str) -> PublishedContract | None:
        revisions = self.entries.get(key)
        return revisions[-1] if revisions else None

    def revision(self, key: str, revision: int) -> PublishedContract | None:
        return next((e for e in self.entries.get(key, ()) if e.revision == revision), None)

    def latest_contracts(self) -> Iterator[PublishedContract]:
        for key in sorted(self.entries):
            yield self.entries[key][-1]

    def find(self, ref: str) -> list[PublishedContract]:
        """The latest entries matching a contract key or a dataset id (or its address: every
        version of it), or a model name."""
        hits = [e for e in self.latest_contracts()
                if ref in (e.key, e.dataset_id, e.contract.unique_id)]
        if not hits:
            hits = [e for e in self.latest_contracts()
                    if e.dataset_id is not None and (
                        e.dataset_id.rsplit("_v", 1)[0] == ref or e.contract.name == ref)]
        return hits

    def pending(self, contracts: Iterable[Contract], *, sync_id: str, published_at: str,
                order: Sequence[str]) -> list[PublishedContract]:
        """The entries a sync adds for ``contracts`` (the published ones whose contract differs
        from their latest entry), without adding them."""
        out = []
        for contract in contracts:
            if not contract.is_published:
                continue
            last = self.latest(contract.key)
            if last is not None and last.fingerprint == contract.fingerprint:
                continue
            out.append(PublishedContract(
                key=contract.key, revision=1 if last is None else last.revision + 1,
                dataset_id=contract.dataset_id, published_at=published_at, sync_id=sync_id,
                fingerprint=contract.fingerprint, contract=contract,
                changes=[] if last is None else diff_contracts(last.contract, contract, order),
            ))
        return out


def entry_bytes(entry: PublishedContract) -> bytes:
    from meshkit.catalog.store import dumps

    return dumps(entry.model_dump(mode="json"))


def entry_files(entries: Iterable[PublishedContract]) -> Mapping[str, bytes]:
    """The new files of ``entries``, by their path inside the catalog folder."""
    return {entry_path(e.key, e.revision): entry_bytes(e) for e in entries}
