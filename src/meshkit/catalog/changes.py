"""What a sync changed: the catalog's summary (kept beside it) and the change list drawn from two.

A sync lists its changes against the last catalog. Loading that whole ``catalog.json`` (tens of
megabytes at mesh scale) only to compare a few fields per dataset was most of a small sync's
change list; the summary holds just those fields, digested, and is written with the catalog.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from meshkit.catalog.model import Catalog, Dataset

SUMMARY_FILE = "summary.json"


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class DatasetSummary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: str  # digest of the columns as catalog.json has them
    contract_enforced: bool
    consumers: str  # digest of the consumers as catalog.json has them

    @classmethod
    def of(cls, ds: Dataset) -> DatasetSummary:
        return cls(columns=_digest(ds.model_dump_json(include={"columns"})),
                   contract_enforced=ds.contract_enforced,
                   consumers=_digest(ds.model_dump_json(include={"consumers"})))


class CatalogSummary(BaseModel):
    """What :func:`changes_between` compares of a catalog: each product's health, each dataset's
    columns, contract and consumers (digested), the ad-hoc datasets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    catalog: str  # the digest of the catalog.json it summarizes
    products: dict[str, str]  # address -> health status
    datasets: dict[str, DatasetSummary]
    adhoc: list[str]

    @classmethod
    def of(cls, catalog: Catalog, catalog_digest: str) -> CatalogSummary:
        return cls(
            catalog=catalog_digest,
            products={p.address: p.health.status.value for p in catalog.products()},
            datasets={ds.id: DatasetSummary.of(ds) for ds in catalog.datasets()},
            adhoc=sorted({a.unique_id for d in catalog.domains for a in d.adhoc_datasets}))

    def to_bytes(self) -> bytes:
        return self.model_dump_json(indent=2).encode() + b"\n"


def previous_summary(catalog_dir: Path) -> CatalogSummary | None:
    """The summary of the catalog in ``catalog_dir``: its summary file when that is of this very
    catalog.json, else made from the catalog itself (a folder of an earlier meshkit, or a file
    edited or damaged); None when there is no catalog."""
    from meshkit.catalog.store import CATALOG_FILE, load_catalog

    try:
        with open(catalog_dir / CATALOG_FILE, "rb") as f:  # streamed: tens of MB at scale
            digest = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None
    try:
        kept = CatalogSummary.model_validate_json((catalog_dir / SUMMARY_FILE).read_bytes())
    except (OSError, ValueError):
        kept = None
    if kept is not None and kept.catalog == digest:
        return kept
    old = load_catalog(catalog_dir)
    return None if old is None else CatalogSummary.of(old, digest)


def changes_between(old: CatalogSummary | None, new: CatalogSummary) -> list[str]:
    """Human-readable differences: products and datasets added, removed, changed; health moves.

    >>> empty = CatalogSummary.of(Catalog(mesh="m"), "")
    >>> changes_between(None, empty), changes_between(empty, empty)
    ([], [])
    """
    if old is None:
        return [f"+ product {a}" for a in new.products] + \
               [f"+ dataset {i}" for i in new.datasets]
    out: list[str] = []
    old_p, new_p = old.products, new.products
    out += [f"+ product {a}" for a in sorted(new_p.keys() - old_p.keys())]
    out += [f"- product {a}" for a in sorted(old_p.keys() - new_p.keys())]
    for a in sorted(new_p.keys() & old_p.keys()):
        if old_p[a] != new_p[a]:
            out.append(f"~ product {a}: health {old_p[a]} → {new_p[a]}")
    old_d, new_d = old.datasets, new.datasets
    out += [f"+ dataset {i}" for i in sorted(new_d.keys() - old_d.keys())]
    out += [f"- dataset {i}" for i in sorted(old_d.keys() - new_d.keys())]
    for i in sorted(new_d.keys() & old_d.keys()):
        before, after = old_d[i], new_d[i]
        if before.columns != after.columns:
            out.append(f"~ dataset {i}: columns changed")
        if before.contract_enforced != after.contract_enforced:
            out.append(f"~ dataset {i}: contract enforced {after.contract_enforced}")
        if before.consumers != after.consumers:
            out.append(f"~ dataset {i}: consumers changed")
    old_a, new_a = set(old.adhoc), set(new.adhoc)
    out += [f"+ ad-hoc {u}" for u in sorted(new_a - old_a)]
    out += [f"- ad-hoc {u}" for u in sorted(old_a - new_a)]
    return out
