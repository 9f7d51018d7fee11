"""The contract rules: breaking changes against the registry, deprecation windows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from meshkit.artifacts import NodeInfo
from meshkit.checks import CheckContext, Rule, Scope, Severity, Violation, rule
from meshkit.contracts.consumers import ConsumerRef, consumers_of
from meshkit.contracts.diff import change, classification_order, diff_contracts
from meshkit.contracts.model import Change, ChangeKind, Contract, PublishedContract, contract_of
from meshkit.contracts.refs import cross_domain_reads, producer_node


def current_contracts(ctx: CheckContext, domain: str) -> dict[str, Contract]:
    """The contract every model of ``domain`` declares now, by contract key (projected once per
    check run: every published entry of the domain asks for them)."""
    cache: dict[str, dict[str, Contract]] = ctx.memo.setdefault(current_contracts, {})
    if domain not in cache:
        out = {}
        for node in ctx.artifacts(domain).nodes.values():
            if node.package_name == domain and node.resource_type == "model":
                c = contract_of(domain, node)
                out[c.key] = c
        cache[domain] = out
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
