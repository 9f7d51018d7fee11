"""Waivers: reviewed exceptions to policies, in ``governance/waivers.yml`` of the mesh.

Each waiver names a policy (rule id), a node (a dbt unique_id, a dataset id or a product
address), why, who approved it and until when. A waived violation is not reported; an expired
waiver is itself a violation, so exceptions are revisited rather than forgotten.

.. code-block:: yaml

    waivers:
      - policy: classification.propagation
        node: model.risk.credit_risk_band_summary
        reason: Band labels of a per-band summary reveal no customer's band.
        approver: Governance council (Ines Laurent)
        expires: 2027-11-30
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from meshkit.checks import CheckContext, Severity, Violation, rule
from meshkit.config import Mesh, line_in_file
from meshkit.errors import ConfigError
from meshkit.governance.facts import Facts
from meshkit.governance.policy import Policy
from meshkit.governance.waiver_file import WAIVERS_FILE, Waiver, read_waivers


def load_waivers(mesh: Mesh) -> list[Waiver]:
    """The mesh's waivers (none if the file is absent); invalid ones, or one naming a policy no
    rule has, are a ConfigError."""
    waivers = read_waivers(mesh)
    file = mesh.root / WAIVERS_FILE
    from meshkit.checks import registered_rules

    rules = registered_rules()
    for i, w in enumerate(waivers):
        if w.policy in rules and not rules[w.policy].waivable:
            line = line_in_file(file, ["waivers", i, "policy"])
            raise ConfigError(
                f"waivers.{i}.policy: {w.policy} cannot be waived: what it finds is never "
                "an accepted exception", file=file, location=str(line) if line else None,
                fix=f"fix what {w.policy} reports, and remove this waiver")
        if w.policy not in rules:
            import difflib

            close = difflib.get_close_matches(w.policy, list(rules), n=1)
            line = line_in_file(file, ["waivers", i, "policy"])
            raise ConfigError(
                f"waivers.{i}.policy: unknown policy {w.policy!r}"
                + (f" (did you mean {close[0]!r}?)" if close else ""),
                file=file, location=str(line) if line else None,
                fix="use a rule id of `mesh check --list-rules`")
    return waivers


def run_waivers(ctx: CheckContext) -> list[Waiver]:
    """:func:`load_waivers`, read once per check run (every waivable rule asks)."""
    return ctx.shared(_mesh_waivers)


def _mesh_waivers(ctx: CheckContext) -> list[Waiver]:
    return load_waivers(ctx.mesh)


def waived_nodes(ctx: CheckContext, rule_id: str) -> set[str]:
    """The nodes a current waiver excuses from rule ``rule_id`` (a waivable one)."""
    return {w.node for w in run_waivers(ctx) if w.policy == rule_id and w.expires >= ctx.today}


@rule
class WaiverExpired(Policy):
    """Waivers are current: an expired waiver is a violation until it is renewed or removed."""

    id = "governance.waiver_expired"

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        today = facts.ctx.today
        file = facts.mesh.root / WAIVERS_FILE
        for i, w in enumerate(run_waivers(facts.ctx)):
            if _owner(w.node) != domain or w.expires >= today:
                continue
            line = line_in_file(file, ["waivers", i, "expires"])
            yield self.violation(
                f"the waiver of {w.policy} for {w.node} expired on {w.expires.isoformat()} "
                f"(approved by {w.approver})",
                fix="fix what it waived and remove the waiver, or have it reviewed and renewed",
                node=w.node, domain=domain, file=WAIVERS_FILE.as_posix(), line=line)


@rule
class WaiverMatches(Policy):
    """Waivers name a node of the mesh: one naming no model, dataset or product (a typo, or a
    node since removed) excuses nothing, and the violation it was written for is still
    reported under the right name."""

    id = "governance.waiver_unmatched"
    default_severity = Severity.WARN
    waivable = False

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        file = facts.mesh.root / WAIVERS_FILE
        names = {d.name for d in facts.mesh.config.domains}
        for i, w in enumerate(run_waivers(facts.ctx)):
            owner = _owner(w.node)
            # A waiver naming no domain of the mesh is reported once, with the first domain's.
            if owner != domain and (owner in names or domain != facts.mesh.config.domains[0].name):
                continue
            if facts.node(w.node) is not None or facts.product_of(w.node) is not None:
                continue
            line = line_in_file(file, ["waivers", i, "node"])
            yield self.violation(
                f"the waiver of {w.policy} names {w.node}, which the mesh does not have: it "
                "excuses nothing",
                fix="name the node as the violation does (a dbt unique_id, a dataset id or a "
                    "product address), or remove the waiver",
                node=w.node, domain=domain, file=WAIVERS_FILE.as_posix(), line=line)


def _owner(node: str) -> str:
    """The domain a waived node belongs to, by its name."""
    parts = node.split(".")
    if parts[0] in ("model", "seed", "snapshot") and len(parts) > 1:
        return parts[1]
    return parts[0]
