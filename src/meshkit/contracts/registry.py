"""The append-only registry of published contracts: ``catalog/contracts/<key>@<revision>.json``.

Each entry is written once and never changed: a sync whose contract for a dataset version
differs from its last entry adds the next revision, with the changes between them. The files
live inside the catalog folder, so they are written by the sync's atomic swap, together with the
warehouse table ``mesh_catalog.contracts`` (one row per entry) in the sync's one transaction.

The entries lie side by side in one folder. Every sync stages the whole catalog folder anew (its
entries hard-linked), and a folder per contract key made that staging, and deleting the folder
it replaced, cost a directory per key: more than the rest of the folder at thousands of keys.
The layout of earlier versions (``<key>/<revision>.json``) is still read, and a sync moves its
entries to this one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from meshkit.contracts.diff import diff_contracts
from meshkit.contracts.model import Contract, PublishedContract
from meshkit.errors import ArtifactError

CONTRACTS_DIR = "contracts"
_ENTRY = re.compile(r"^(?P<key>[^/@]+)@(?P<revision>\d{4,})\.json$")
_LEGACY_ENTRY = re.compile(r"^(?P<revision>\d{4,})\.json$")


def entry_path(key: str, revision: int) -> str:
    """The entry's path inside the catalog folder.

    >>> entry_path("risk.exposures.v2", 3)
    'contracts/risk.exposures.v2@0003.json'
    """
    return f"{CONTRACTS_DIR}/{key}@{revision:04d}.json"


@dataclass(frozen=True)
class EntryFile:
    """One JSON file of the registry's folder (``rel``: its path inside the catalog folder): an
    entry, with its ``key`` and ``revision``, or a file that is not one (both None)."""

    path: Path
    rel: str
    key: str | None = None
    revision: int | None = None

    @property
    def carried_as(self) -> str:
        """Its path in the next catalog folder (an entry of the old layout moves to the new)."""
        if self.key is not None and self.revision is not None:
            return entry_path(self.key, self.revision)
        return self.rel


def registry_files(catalog_dir: Path) -> list[EntryFile]:
    """The JSON files of the registry's folder, entries recognised by name, in both layouts.

    ``os.scandir``: a mesh's registry is thousands of entries, and pathlib's listing and stat
    calls for each cost a sync more than reading them.
    """
    root = catalog_dir / CONTRACTS_DIR
    out: list[EntryFile] = []
    try:
        with os.scandir(root) as listing:
            found = [(e.name, e.is_dir()) for e in listing]
    except (FileNotFoundError, NotADirectoryError):
        return out
    for name, is_dir in sorted(found):
        if not is_dir:
            match = _ENTRY.match(name)
            rel = f"{CONTRACTS_DIR}/{name}"
            if match:
                out.append(EntryFile(root / name, rel, match["key"], int(match["revision"])))
            elif name.endswith(".json"):
                out.append(EntryFile(root / name, rel))
            continue
        with os.scandir(root / name) as listing:  # the layout of earlier versions
            inner = sorted(e.name for e in listing if e.name.endswith(".json"))
        for file_name in inner:
            match = _LEGACY_ENTRY.match(file_name)
            rel = f"{CONTRACTS_DIR}/{name}/{file_name}"
            out.append(EntryFile(root / name / file_name, rel, name, int(match["revision"]))
                       if match else EntryFile(root / name / file_name, rel))
    return out


@dataclass
class ContractRegistry:
    """Every published revision, by contract key, oldest first."""

    entries: dict[str, list[PublishedContract]] = field(default_factory=dict)

    @classmethod
    def load(cls, catalog_dir: Path) -> ContractRegistry:
        """The registry of a catalog folder (empty if no contract was published yet)."""
        entries: dict[str, list[PublishedContract]] = {}
        where: dict[tuple[str, int], Path] = {}
        for file in registry_files(catalog_dir):
            if file.key is None or file.revision is None:
                continue
            if (file.key, file.revision) in where:
                raise ArtifactError(
                    f"revision {file.revision} of {file.key} is in the registry twice (also "
                    f"{where[file.key, file.revision]})", file=file.path,
                    fix="keep one of the two files: published entries are never rewritten")
            where[file.key, file.revision] = file.path
            try:
                entry = PublishedContract.model_validate_json(file.path.read_bytes())
            except ValueError as exc:
                raise ArtifactError(
                    f"not a published contract: {str(exc).splitlines()[0]}", file=file.path,
                    fix="restore it from the warehouse table mesh_catalog.contracts or "
                        "from version control; published entries are never rewritten",
                ) from None
            entries.setdefault(file.key, []).append(entry)
        return cls({key: sorted(revisions, key=lambda e: e.revision)
                    for key, revisions in sorted(entries.items())})

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
