"""What a sync adds to the catalog besides the catalog itself: the contracts it publishes and the
violations it found (:class:`Ledger`), prepared before anything is written so that they go in
with the sync's one swap of the catalog folder and its one warehouse transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshkit import config as cfg
from meshkit.artifact_cache import ArtifactCache
from meshkit.artifacts import DomainArtifacts
from meshkit.catalog.model import Catalog
from meshkit.checks import CheckContext, CheckReport, Severity, Stage, default_rules, run_checks
from meshkit.contracts.model import PublishedContract
from meshkit.contracts.registry import ContractRegistry, entry_files, registry_files
from meshkit.contracts.rules import current_contracts, mesh_order

VIOLATIONS_FILE = "violations.json"


@dataclass
class Ledger:
    """New registry entries (append-only) and the sync's violations (replacing the last ones)."""

    published: list[PublishedContract] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # contract keys kept at their last entry
    report: CheckReport = field(default_factory=CheckReport)

    def files(self) -> dict[str, bytes]:
        """New files of the catalog folder, by path inside it."""
        from meshkit.catalog.store import dumps

        out = dict(entry_files(self.published))
        out[VIOLATIONS_FILE] = dumps({"violations": [v.model_dump(mode="json")
                                                     for v in self.report.violations],
                                      "refused": sorted(self.refused)})
        return out

    def contract_rows(self) -> Iterator[tuple[Any, ...]]:
        """Rows of ``mesh_catalog.contracts`` (appended)."""
        for e in self.published:
            yield (e.key, e.revision, e.dataset_id, e.contract.domain, e.published_at, e.sync_id,
                   e.fingerprint, any(c.breaking for c in e.changes),
                   json.dumps([str(c) for c in e.changes]),
                   e.contract.model_dump_json())

    def violation_rows(self, sync_id: str) -> Iterator[tuple[Any, ...]]:
        """Rows of ``mesh_catalog.violations`` (the last sync's violations)."""
        for v in self.report.violations:
            yield (sync_id, v.rule, v.severity.value, v.domain, v.node, v.file, v.line,
                   v.message, v.fix)


def prepare(mesh: cfg.Mesh, catalog_dir: Path, *, sync_id: str, published_at: str,
            stale: frozenset[str] = frozenset(),
            artifacts: Mapping[str, DomainArtifacts] | None = None,
            artifact_cache: ArtifactCache | None = None,
            catalog: Catalog | None = None) -> Ledger:
    """Run the sync's rules and decide what to publish: every public, contracted dataset version
    whose contract changed since its last entry, unless an error violation names it (a breaking
    change, a policy): then its last good entry stays and the violation is recorded. ``stale``
    domains (artifacts the sync could not read) are left out: their entries stay as they are;
    ``artifacts`` are those the sync has just read (the others are read here, through the
    sync's ``artifact_cache``: the projections kept by content). ``catalog`` is the sync's, when
    it is that of those very artifacts (:class:`~meshkit.checks.CheckContext`'s ``catalog_now``)."""
    registry = ContractRegistry.load(catalog_dir)
    # A domain whose artifacts cannot be read keeps its last good catalog entry (the sync goes
    # on without it): its contracts stay as last published.
    ctx = CheckContext(mesh, registry=registry, partial=True, exclude=stale,
                       artifacts=artifacts,  # (a stale domain's are excluded)
                       artifact_cache=artifact_cache,
                       keep_projections=artifact_cache is not None and artifact_cache.write,
                       catalog_now=catalog)
    report = run_checks(ctx, default_rules(stage=Stage.SYNC))
    blocked = {v.node for v in report.violations if v.severity is Severity.ERROR and v.node}
    candidates = []
    refused = []
    for d in mesh.config.domains:
        if not ctx.has_artifacts(d.name):
            continue
        for contract in current_contracts(ctx, d.name).published():
            if blocked & {contract.unique_id, contract.dataset_id}:
                refused.append(contract.key)
                continue
            candidates.append(contract)
    # A key whose published entry is named by a breaking change (a model now versioned, say)
    # stays refused under its new identity too.
    for entry in registry.latest_contracts():
        if entry.contract.unique_id in blocked:
            refused.append(entry.key)
    candidates = [c for c in candidates if c.key not in refused]
    published = registry.pending(candidates, sync_id=sync_id, published_at=published_at,
                                 order=mesh_order(ctx))
    # What the rules derived refers back to the context (a cycle): let go of it here, so the
    # mesh's artifacts are freed as the context goes, not by a pass of the collector over them.
    ctx.memo.clear()
    return Ledger(published=published, refused=sorted(set(refused)), report=report)


def carried_files(catalog_dir: Path) -> Mapping[str, Path]:
    """The registry's existing files, by their path in the next catalog folder (carried into it
    unchanged; an entry of the earlier layout moves to the current one)."""
    return {f.carried_as: f.path for f in registry_files(catalog_dir)}
