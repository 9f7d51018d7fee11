"""Who reads a dataset: models of other domains and exposures, from every domain's manifest
(dbt-loom's cross-project refs appear there as ``depends_on`` nodes of the producer's package)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from meshkit.checks import CheckContext


@dataclass(frozen=True, order=True)
class ConsumerRef:
    domain: str
    kind: str  # "model" | "exposure"
    unique_id: str

    def __str__(self) -> str:
        return f"{self.domain} {self.kind} {self.unique_id}"


def consumers_of(ctx: CheckContext, producer: str, unique_ids: Iterable[str]) -> list[ConsumerRef]:
    """Every model of another domain and every exposure that depends on one of ``unique_ids``."""
    wanted = set(unique_ids)
    found: set[ConsumerRef] = set()
    for domain, node in ctx.nodes.values():
        if domain != producer and wanted.intersection(node.depends_on):
            found.add(ConsumerRef(domain, "model", node.unique_id))
    for d, arts in ctx.all_artifacts():
        for exposure in arts.exposures:
            if wanted.intersection(exposure.depends_on):
                found.add(ConsumerRef(d.name, "exposure", exposure.unique_id))
    return sorted(found)
