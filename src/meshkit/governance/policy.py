"""Policies: rules of the check engine configured by mesh.yml's ``policies:``.

A :class:`Policy` is a :class:`~meshkit.checks.Rule` with parameters and a scope. Its effective
configuration is worked out per domain: the rule's defaults, then the global ``policies:`` entry,
then the domain's own ``domains[].policies`` entry, which may only make it stricter (switch on a
policy, raise warn to error, narrow a threshold the policy says is stricter). A domain entry that
would switch a global policy off or weaken it is a :class:`~meshkit.errors.ConfigError` naming the
line of mesh.yml.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from meshkit.checks import Rule, Severity, Violation
from meshkit.config import Mesh, PolicyConfig, PolicyScope, line_in_file
from meshkit.errors import ConfigError

if TYPE_CHECKING:
    from meshkit.checks import CheckContext
    from meshkit.governance.facts import Facts


@dataclass(frozen=True)
class Effective:
    """A policy's configuration for one domain."""

    enabled: bool
    severity: Severity
    params: Mapping[str, Any]
    scope: PolicyScope = field(default_factory=PolicyScope)


class Policy(Rule):
    """Base of governance policies: ``evaluate(facts, domain)`` yields a domain's violations."""

    waivable = True
    # Default parameters; mesh.yml's `params` may set these keys only.
    defaults: ClassVar[Mapping[str, Any]] = {}
    # Parameters for which a larger (True) or smaller (False) value is stricter; a domain may
    # move these only that way. Others a domain may not change.
    stricter_when_larger: ClassVar[Mapping[str, bool]] = {}

    def __init__(self, severity: Severity | str | None = None, *,
                 effective: Mapping[str, Effective] | None = None) -> None:
        super().__init__(severity)
        self.effective = dict(effective or {})

    def config_for(self, domain: str) -> Effective:
        return self.effective.get(domain) or Effective(True, self.severity, dict(self.defaults))

    def check(self, ctx: CheckContext) -> Iterable[Violation]:
        """The violations of the policy in every domain, as mesh.yml configures it (an instance
        made at its defaults, as the engine's registry makes them, configures itself from the
        mesh), waived ones left out. A mesh without a ``policies:`` key runs none."""
        from meshkit.governance.facts import facts_of
        from meshkit.governance.waivers import waived_nodes

        if not ctx.config.governed:
            return
        me = self if self.effective else configured(ctx.mesh).get(self.id, self)
        waived = waived_nodes(ctx, self.id)
        for v in me._check(ctx, facts_of(ctx)):
            if (v.node or "") not in waived:
                yield v

    def _check(self, ctx: CheckContext, facts: Facts) -> Iterator[Violation]:
        for domain in ctx.config.domains:
            if domain.name not in facts.domains:
                continue
            eff = self.config_for(domain.name)
            if not eff.enabled or not _in_scope(eff.scope, domain.name):
                continue
            for v in self.evaluate(facts, domain.name, eff.params):
                if not _product_in_scope(eff.scope, facts, v):
                    continue
                yield v.model_copy(update={"severity": eff.severity,
                                           "domain": v.domain or domain.name})

    def evaluate(self, facts: Facts, domain: str, params: Mapping[str, Any]) -> Iterator[Violation]:
        raise NotImplementedError


def _in_scope(scope: PolicyScope, domain: str) -> bool:
    return not scope.domains or domain in scope.domains


def _product_in_scope(scope: PolicyScope, facts: Facts, v: Violation) -> bool:
    if not scope.products and not scope.tiers:
        return True
    product = facts.product_of(v.node) if v.node else None
    if product is None:
        return False
    if scope.products and product.address not in scope.products and \
            product.name not in scope.products:
        return False
    return not scope.tiers or product.tier in scope.tiers


def _weaker(policy: type[Policy], glob: Effective, local: PolicyConfig) -> str | None:
    """Why ``local`` (a domain's entry) would weaken ``glob``; None if it does not."""
    if glob.enabled and not local.enabled:
        return "switches off a global policy"
    if local.severity is not None and glob.severity is Severity.ERROR and \
            local.severity.value == "warn":
        return "lowers its severity from error to warn"
    for key, value in local.params.items():
        base = glob.params.get(key)
        if value == base:
            continue
        larger = policy.stricter_when_larger.get(key)
        if larger is None:
            return f"changes parameter {key!r}, which only the global policy may set"
        try:
            if (value < base) if larger else (value > base):
                return f"makes parameter {key!r} less strict ({base!r} -> {value!r})"
        except TypeError:
            return f"changes parameter {key!r} to a value of another type"
    if local.scope.domains or local.scope.products or local.scope.tiers:
        if not glob.enabled:
            return None  # a policy the domain adds may be scoped within the domain
        return "narrows the scope of a global policy"
    return None


def _param_problem(default: Any, value: Any) -> str | None:
    """Why ``value`` cannot stand for a parameter whose default is ``default``, or None: the
    same kind of value (a whole number where a whole number goes), never a negative count.

    >>> _param_problem(20, "forty"), _param_problem(20, -5), _param_problem(0.3, 1)
    ("is not a whole number: 'forty'", 'cannot be negative: -5', None)
    """
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"is not true or false: {value!r}"
    if isinstance(default, int | float):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or (isinstance(default, int) and not isinstance(value, int)):
            kind = "a whole number" if isinstance(default, int) else "a number"
            return f"is not {kind}: {value!r}"
        return f"cannot be negative: {value!r}" if value < 0 else None
    if not isinstance(value, type(default)):
        return f"is not a {type(default).__name__}: {value!r}"
    return None


def _merge(policy: type[Policy], base: Effective, entry: PolicyConfig) -> Effective:
    return Effective(
        enabled=entry.enabled,
        severity=Severity(entry.severity.value) if entry.severity else base.severity,
        params={**base.params, **entry.params},
        scope=entry.scope if (entry.scope.domains or entry.scope.products or entry.scope.tiers)
        else base.scope,
    )


def configured_policies(mesh: Mesh, registry: Mapping[str, type[Rule]] | None = None
                        ) -> list[Policy]:
    """Every registered policy, configured by mesh.yml (global, then each domain's stricter
    additions). Unknown policy ids and parameters, and domain entries that weaken a global
    policy, are :class:`ConfigError` naming the line of mesh.yml."""
    from meshkit.checks import registered_rules

    rules = registry if registry is not None else registered_rules()
    policies = {rid: cls for rid, cls in rules.items()
                if isinstance(cls, type) and issubclass(cls, Policy)}
    cfg = mesh.config

    def error(loc: list[str | int], message: str, fix: str) -> ConfigError:
        line = line_in_file(mesh.file, loc)
        return ConfigError(f"{'.'.join(str(p) for p in loc)}: {message}", file=mesh.file,
                           location=str(line) if line else None, fix=fix)

    def known(rid: str, loc: list[str | int]) -> type[Policy]:
        if rid in policies:
            return policies[rid]
        close = difflib.get_close_matches(rid, list(policies), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise error(loc, f"unknown policy {rid!r}{hint}",
                    "use a policy id of `mesh check --list-rules`")

    def check_params(cls: type[Policy], entry: PolicyConfig, loc: list[str | int]) -> None:
        for key, value in entry.params.items():
            if key not in cls.defaults:
                close = difflib.get_close_matches(key, list(cls.defaults), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise error([*loc, "params", key], f"unknown parameter {key!r} of {cls.id}{hint}",
                            f"use one of: {', '.join(sorted(cls.defaults)) or '(none)'}")
            problem = _param_problem(cls.defaults[key], value)
            if problem is not None:
                raise error([*loc, "params", key], f"parameter {key!r} of {cls.id} {problem}",
                            f"give a value like its default, {cls.defaults[key]!r}")
        # A scope naming no domain of the mesh applies the policy nowhere: a typo is not a way
        # to switch a policy off.
        names = [d.name for d in cfg.domains]
        scoped: list[tuple[list[str | int], str]] = [
            (["scope", "domains", i], name) for i, name in enumerate(entry.scope.domains)]
        scoped += [(["scope", "products", i], product.split(".")[0])
                   for i, product in enumerate(entry.scope.products) if "." in product]
        for where, name in scoped:
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise error([*loc, *where], f"no domain {name!r} in the mesh{hint}",
                            f"name one of: {', '.join(names)}")

    glob: dict[str, Effective] = {}
    global_policies = cfg.policies or {}
    for rid, global_entry in global_policies.items():
        check_params(known(rid, ["policies", rid]), global_entry, ["policies", rid])
    out: list[Policy] = []
    for rid, cls in sorted(policies.items()):
        base = Effective(True, cls.default_severity, dict(cls.defaults))
        if rid in global_policies:
            base = _merge(cls, base, global_policies[rid])
        glob[rid] = base
        effective: dict[str, Effective] = {}
        for i, d in enumerate(cfg.domains):
            entry = d.policies.get(rid)
            if entry is None:
                effective[d.name] = base
                continue
            loc: list[str | int] = ["domains", i, "policies", rid]
            check_params(cls, entry, loc)
            why = _weaker(cls, base, entry)
            if why is not None:
                raise error(loc, f"domain {d.name!r} {why}",
                            "a domain may only add policies or make them stricter; ask the "
                            "governance council to change the global policy, or add a waiver")
            effective[d.name] = _merge(cls, base, entry)
        out.append(cls(base.severity, effective=effective))
    for i, d in enumerate(cfg.domains):
        for rid in d.policies:
            known(rid, ["domains", i, "policies", rid])
    return out


def configured(mesh: Mesh) -> dict[str, Policy]:
    """The mesh's configured policies by id, computed once per mesh object."""
    cache: dict[str, Policy] | None = getattr(mesh, "_meshkit_policies", None)
    if cache is None:
        cache = {p.id: p for p in configured_policies(mesh)}
        # A mesh object that takes no attributes is simply configured again next time.
        with contextlib.suppress(AttributeError, TypeError, ValueError):
            object.__setattr__(mesh, "_meshkit_policies", cache)
    return cache


def mesh_rules(mesh: Mesh, select: Iterable[str] | None = None, *,
               stage: Any = None) -> list[Rule]:
    """The rules of a check run: every registered rule (or those ``select`` names), with the
    governance policies configured by mesh.yml instead of at their defaults."""
    from meshkit.checks import default_rules

    configured = {p.id: p for p in configured_policies(mesh)}
    kwargs = {"stage": stage} if stage is not None else {}
    return [configured.get(r.id, r) for r in default_rules(select, **kwargs)]
