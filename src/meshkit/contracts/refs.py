"""Rules on cross-domain refs as the consumers' manifests record them."""

from __future__ import annotations

import re
from collections.abc import Iterator

from meshkit.artifacts import NodeInfo, RefInfo
from meshkit.checks import CheckContext, Rule, Scope, Severity, Violation, rule


def is_product_dataset(node: NodeInfo) -> bool:
    """A product's output dataset: a public model of a group (SPEC.md, Data products)."""
    return node.resource_type == "model" and node.access == "public" and node.group is not None


def ref_pattern(ref: RefInfo) -> str:
    """A regex finding the ``ref(...)`` call in the model's SQL, for the violation's line."""
    package = re.escape(ref.package or "")
    return rf"ref\(\s*['\"]{package}['\"]\s*,\s*['\"]{re.escape(ref.name)}['\"]"


def cross_domain_reads(ctx: CheckContext) -> Iterator[tuple[str, NodeInfo, str, str]]:
    """(consumer domain, consumer node, producer domain, producer unique_id) of every model
    that depends on a node of another domain of the mesh."""
    for uid, (domain, node) in ctx.nodes.items():
        del uid
        for up in node.depends_on:
            producer = ctx.domain_of(up)
            if producer is not None and producer != domain:
                yield domain, node, producer, up


def producer_node(ctx: CheckContext, producer: str, unique_id: str) -> NodeInfo | None:
    """The node as its own domain's manifest declares it (None if it is gone from there)."""
    return ctx.artifacts(producer).nodes.get(unique_id)


@rule
class RefToProduct(Rule):
    """A cross-domain ref reads a product's public dataset, never another node of the domain."""

    id = "contract.ref_not_product"
    scope = Scope.MESH

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        for domain, node, producer, up in cross_domain_reads(ctx):
            if not ctx.has_artifacts(producer):
                continue
            target = producer_node(ctx, producer, up)
            if target is None:
                yield self.violation(
                    f"{node.unique_id} reads {up}, which {producer}'s manifest no longer has",
                    fix=f"ref a dataset {producer} publishes (`mesh catalog list -d {producer}`), "
                        f"or rebuild {producer}'s artifacts",
                    node=node.unique_id,
                    **ctx.place(domain, node.original_file_path, re.escape(up.split(".")[2])))
            elif not is_product_dataset(target):
                what = "not public" if target.access != "public" else "in no product (group)"
                yield self.violation(
                    f"{node.unique_id} reads {up} of domain {producer}, which is {what}: "
                    "only a product's public datasets may be read across domains",
                    fix=f"read one of {producer}'s product datasets instead, or ask {producer} "
                        "to publish this one (a public model of a group, with a contract)",
                    node=node.unique_id,
                    **ctx.place(domain, node.original_file_path,
                                rf"['\"]{re.escape(target.name)}['\"]"))


@rule
class UnpinnedRef(Rule):
    """A cross-domain ref to a versioned dataset pins its version (v=N)."""

    id = "contract.unpinned_ref"
    default_severity = Severity.WARN
    scope = Scope.MESH

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        for domain, node in ctx.nodes.values():
            for ref in node.refs:
                if ref.package is None or ref.package == domain or ref.version is not None:
                    continue
                if ref.package not in ctx.domain_names or not ctx.has_artifacts(ref.package):
                    continue
                versions = sorted({n.version for n in ctx.artifacts(ref.package).nodes.values()
                                   if n.name == ref.name and n.version is not None}, key=_vkey)
                if not versions:
                    continue
                latest = next((n.latest_version for n in ctx.artifacts(ref.package).nodes.values()
                               if n.name == ref.name and n.latest_version), versions[-1])
                yield self.violation(
                    f"{node.unique_id} refs {ref.package}.{ref.name} without a version: it "
                    f"follows the latest (now v{latest}) and breaks when a new version is cut",
                    fix=f"pin it: ref('{ref.package}', '{ref.name}', v={latest})",
                    node=node.unique_id,
                    **ctx.place(domain, node.original_file_path, ref_pattern(ref)))


def _vkey(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 30, version)
