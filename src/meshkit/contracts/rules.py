"""The contract rules: breaking changes against the registry, deprecation windows."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date

from meshkit.artifacts import NodeInfo
from meshkit.checks import CheckContext, Rule, Scope, Severity, Violation, rule
from meshkit.contracts.consumers import ConsumerRef, consumers_of
from meshkit.contracts.diff import change, classification_order, diff_contracts
from meshkit.contracts.model import (
    Change,
    ChangeKind,
    Contract,
    PublishedContract,
    contract_key,
    contract_of,
)
from meshkit.contracts.refs import cross_domain_reads, producer_node


class DomainContracts(Mapping[str, Contract]):
    """The contract every model of a domain declares now, by contract key, each projected when
    first asked for: a sync's rules ask for the published ones and those the registry names, a
    fraction of a mesh's models."""

    def __init__(self, domain: str, models: Iterable[NodeInfo]) -> None:
        self.domain = domain
        self._nodes = {contract_key(domain, n.name, n.version): n for n in models}
        self._made: dict[str, Contract] = {}

    def __getitem__(self, key: str) -> Contract:
        if key not in self._made:
            self._made[key] = contract_of(self.domain, self._nodes[key])
        return self._made[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, key: object) -> bool:
        return key in self._nodes  # (Mapping's would project the contract)

    def published(self) -> Iterator[Contract]:
        """The contracts the registry holds (:attr:`Contract.is_published`), in model order."""
        for key, node in self._nodes.items():
            # The node's own fields first: most models of a mesh are not published.
            if node.access == "public" and node.group is not None and node.contract_enforced:
                contract = self[key]
                if contract.is_published:
                    yield contract


def current_contracts(ctx: CheckContext, domain: str) -> DomainContracts:
    """The contract every model of ``domain`` declares now, by contract key (kept for the check
    run: every published entry of the domain asks for them)."""
    cache: dict[str, DomainContracts] = ctx.memo.setdefault(current_contracts, {})
    if domain not in cache:
        cache[domain] = DomainContracts(domain, (
            node for node in ctx.artifacts(domain).nodes.values()
            if node.package_name == domain and node.resource_type == "model"))
    return cache[domain]


def mesh_order(ctx: CheckContext) -> list[str]:
    return classification_order(list(ctx.config.classifications))


def changes_since(ctx: CheckContext, entry: PublishedContract) -> tuple[list[Change], Contract | None]:
    """The changes from a published entry to the dataset version as its domain declares it now
    (with the current contract, if the version still exists)."""
    old = entry.contract
    current = current_contracts(ctx, old.domain)
    new = current.get(old.key)
    if new is not None:
        return diff_contracts(old, new, mesh_order(ctx)), new
    if old.unique_id in ctx.artifacts(old.domain).disabled:
        return [change(ChangeKind.dataset_disabled)], None
    siblings = [c for c in current.values() if c.name == old.name]
    if not siblings:
        return [change(ChangeKind.dataset_deleted)], None
    if old.version is None:
        # Now versioned: an unpinned ref resolves to the latest version; that is what consumers get.
        latest = next((c for c in siblings if c.version == c.latest_version), siblings[-1])
        return diff_contracts(old, latest, mesh_order(ctx)), latest
    return [change(ChangeKind.version_removed, breaking=False,
                   detail="no consumer uses it")], None


def _yaml_location(ctx: CheckContext, contract: Contract, node: NodeInfo | None
                   ) -> tuple[str | None, int | None]:
    if node is None or node.patch_path is None:
        return None, None
    return (ctx.file_of(contract.domain, node.patch_path),
            ctx.line_of(contract.domain, node.patch_path,
                        rf"^\s*-?\s*name:\s*['\"]?{re.escape(contract.name)}['\"]?\s*$",
                        after=r"^models:"))


def _consumers_text(consumers: list[ConsumerRef]) -> str:
    if not consumers:
        return "no consumer reads it yet"
    return "breaks " + "; ".join(str(c) for c in consumers)


@rule
class BreakingChange(Rule):
    """A published dataset version changes only compatibly; a breaking change needs a new version."""

    id = "contract.breaking_change"
    scope = Scope.CONTRACT

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        for entry in ctx.registry.latest_contracts():
            old = entry.contract
            if old.domain not in ctx.domain_names or not ctx.has_artifacts(old.domain):
                continue
            changes, new = changes_since(ctx, entry)
            removed = any(c.kind is ChangeKind.version_removed for c in changes)
            if not removed and not any(c.breaking for c in changes):
                continue  # most entries of a sync: nothing to report, no consumers to look up
            ids = {old.unique_id} | ({new.unique_id} if new else set())
            consumers = consumers_of(ctx, old.domain, ids)
            if consumers and removed:
                changes = [change(ChangeKind.version_removed, breaking=True,
                                  detail="consumers still read it")]
            breaking = [c for c in changes if c.breaking]
            if not breaking:
                continue
            node = ctx.artifacts(old.domain).nodes.get(new.unique_id if new else old.unique_id)
            file, line = _yaml_location(ctx, old, node)
            dataset = entry.dataset_id or old.key
            users = sorted({c.domain for c in consumers})
            yield self.violation(
                f"{dataset} (published revision {entry.revision}): breaking change without a "
                f"new version: {'; '.join(str(c) for c in breaking)}. {_consumers_text(consumers)}",
                fix=(f"undo the change, or keep this version as published and cut a new one "
                     f"(add a `versions:` entry, move `latest_version`), then migrate "
                     f"{', '.join(users) if users else 'its consumers'}; "
                     f"see `mesh contract diff {dataset}`"),
                node=old.unique_id, domain=old.domain, file=file, line=line)


def _deprecation(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


@rule
class DeprecatedVersion(Rule):
    """A consumer reads no deprecated dataset version past its deprecation date (warned before)."""

    id = "contract.deprecated_version"
    default_severity = Severity.WARN
    scope = Scope.MESH

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        for domain, node, producer, up in cross_domain_reads(ctx):
            if not ctx.has_artifacts(producer):
                continue
            target = producer_node(ctx, producer, up)
            if target is None:
                continue
            when = _deprecation(target.deprecation_date)
            if when is None:
                continue
            left = (when - ctx.today).days
            newer = (f"v{target.latest_version}" if target.latest_version
                     and target.latest_version != target.version else "its replacement")
            what = f"{target.name} v{target.version}" if target.version else target.name
            file = ctx.file_of(domain, node.original_file_path)
            line = ctx.line_of(domain, node.original_file_path,
                               rf"['\"]{re.escape(target.name)}['\"]")
            if left >= 0:
                yield self.violation(
                    f"{node.unique_id} reads {producer}'s {what}, deprecated on "
                    f"{when.isoformat()}: {left} day(s) left",
                    fix=f"move to {newer} before {when.isoformat()}",
                    node=node.unique_id, domain=domain, file=file, line=line)
            else:
                yield self.violation(
                    f"{node.unique_id} reads {producer}'s {what}, deprecated since "
                    f"{when.isoformat()} ({-left} day(s) ago)",
                    fix=f"move to {newer} now: the producer may remove this version",
                    node=node.unique_id, domain=domain, file=file, line=line,
                    severity=Severity.ERROR)
