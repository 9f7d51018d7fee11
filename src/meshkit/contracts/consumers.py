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


def _readers(ctx: CheckContext) -> dict[str, set[ConsumerRef]]:
    """unique_id -> the models and exposures that depend on it, mesh-wide (built once per check
    run: scanning every node for each published dataset was quadratic in the mesh's size)."""
    index: dict[str, set[ConsumerRef]] = {}
    for domain, node in ctx.nodes.values():
        for parent in node.depends_on:
            index.setdefault(parent, set()).add(ConsumerRef(domain, "model", node.unique_id))
    for d, arts in ctx.all_artifacts():
        for exposure in arts.exposures:
            for parent in exposure.depends_on:
                index.setdefault(parent, set()).add(
                    ConsumerRef(d.name, "exposure", exposure.unique_id))
    return index


def consumers_of(ctx: CheckContext, producer: str, unique_ids: Iterable[str]) -> list[ConsumerRef]:
    """Every model of another domain and every exposure that depends on one of ``unique_ids``."""
    index = ctx.shared(_readers)
    found = {ref for uid in set(unique_ids) for ref in index.get(uid, ())
             if ref.kind == "exposure" or ref.domain != producer}
    return sorted(found)
