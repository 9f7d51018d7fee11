"""Rules and their registry.

A rule is a small class: an ``id``, a summary (the first line of its docstring), a default
severity, a scope, and ``check(ctx)`` yielding :class:`~meshkit.checks.model.Violation`. Rules
register with :func:`rule`; meshkit's own rule modules (:data:`BUILTIN_RULE_MODULES`) and those
third parties publish under the entry-point group ``meshkit.rules`` are imported the first time
the registry is read, so ``mesh --help`` pays for none of them.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Iterable, Iterator
from enum import StrEnum
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from meshkit.checks.model import Severity, Violation
from meshkit.errors import UsageError

if TYPE_CHECKING:
    from meshkit.checks.context import CheckContext

ENTRY_POINT_GROUP = "meshkit.rules"
# meshkit's own rule modules, imported when the registry is first read. A module registers its
# rules with the @rule decorator as it is imported.
BUILTIN_RULE_MODULES: list[str] = [
    "meshkit.contracts.refs",
    "meshkit.contracts.rules",
    "meshkit.contracts.consumer_sql",
    "meshkit.contracts.ownership",
    "meshkit.contracts.names",
]
RULE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


class Scope(StrEnum):
    """What a rule looks at; a run limited to some domains still runs every rule, then keeps the
    violations located in those domains."""

    MESH = "mesh"  # the mesh as a whole (config, cross-domain relations)
    DOMAIN = "domain"  # each domain's artifacts on their own
    CONTRACT = "contract"  # published contracts against the current manifests


class Stage(StrEnum):
    """Where a rule is enforced. ``build`` runs on a domain's freshly parsed manifest, before
    anything is built (a rule that needs the built warehouse leaves it out); ``sync`` before
    contracts are published; ``check`` is `mesh check`, the CI gate."""

    CHECK = "check"
    BUILD = "build"
    SYNC = "sync"


ALL_STAGES = frozenset(Stage)


class Rule:
    """Base of all rules. Subclasses set ``id`` and a docstring, and implement :meth:`check`.

    >>> class NoDomains(Rule):
    ...     '''A mesh has at least one domain.'''
    ...     id = "example.no_domains"
    ...     def check(self, ctx):
    ...         if not ctx.config.domains:
    ...             yield self.violation("the mesh has no domain", fix="add one to mesh.yml")
    >>> NoDomains().summary, NoDomains(severity=Severity.WARN).severity.value
    ('A mesh has at least one domain.', 'warn')
    """

    id: ClassVar[str]
    default_severity: ClassVar[Severity] = Severity.ERROR
    scope: ClassVar[Scope] = Scope.MESH
    stages: ClassVar[frozenset[Stage]] = ALL_STAGES
    # Whether governance/waivers.yml may excuse a node from it (the rule then leaves out what a
    # current waiver covers); a waiver naming any other rule is refused as bad input.
    waivable: ClassVar[bool] = False
    # Whether it reads the models' compiled SQL, which a manifest of `dbt parse` lacks: the run
    # then notes each domain where it could check nothing.
    reads_compiled_sql: ClassVar[bool] = False

    def __init__(self, severity: Severity | str | None = None) -> None:
        self.severity = Severity(severity) if severity is not None else self.default_severity

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        rule_id = cls.__dict__.get("id")
        if rule_id is not None and not RULE_ID.match(rule_id):
            raise TypeError(f"rule id {rule_id!r} of {cls.__qualname__}: use dotted lowercase "
                            "identifiers, e.g. 'contract.column_removed'")

    @classmethod
    def summary_text(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0].strip() if doc else cls.id

    @property
    def summary(self) -> str:
        """The first line of the rule's docstring."""
        return self.summary_text()

    def check(self, ctx: CheckContext) -> Iterable[Violation]:
        raise NotImplementedError

    def violation(self, message: str, *, fix: str, node: str | None = None,
                  domain: str | None = None, file: str | None = None, line: int | None = None,
                  severity: Severity | None = None) -> Violation:
        """A violation of this rule (at the rule's severity unless ``severity`` says otherwise)."""
        return Violation(rule=self.id, severity=severity or self.severity, message=message,
                         fix=fix, node=node, domain=domain, file=file, line=line)

    def __repr__(self) -> str:
        return f"<rule {self.id} ({self.severity.value})>"


R = TypeVar("R", bound=type[Rule])
_REGISTRY: dict[str, type[Rule]] = {}
_loaded = False


def rule(cls: R) -> R:
    """Register a rule class (a class decorator). Ids are unique across the mesh's rules."""
    if not isinstance(cls, type) or not issubclass(cls, Rule) or not hasattr(cls, "id"):
        raise TypeError("@rule decorates a subclass of meshkit.checks.Rule with an `id`")
    existing = _REGISTRY.get(cls.id)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise TypeError(f"rule id {cls.id!r} is taken by {existing.__module__}.{existing.__qualname__}")
    _REGISTRY[cls.id] = cls
    return cls


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN_RULE_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        loaded = ep.load()  # a module (its @rule classes register) or a Rule subclass
        if isinstance(loaded, type) and issubclass(loaded, Rule):
            rule(loaded)


def registered_rules() -> dict[str, type[Rule]]:
    """Every registered rule class by id (built-in and entry-point rules included)."""
    _load()
    return dict(sorted(_REGISTRY.items()))


def get_rule(rule_id: str) -> type[Rule]:
    """The rule class of ``rule_id``; an unknown id is a :class:`UsageError` with did-you-mean."""
    rules = registered_rules()
    if rule_id in rules:
        return rules[rule_id]
    close = difflib.get_close_matches(rule_id, list(rules), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UsageError(f"no rule {rule_id!r}{hint}",
                     fix="`mesh check --list-rules` shows every rule id")


def default_rules(select: Iterable[str] | None = None, *,
                  stage: Stage | None = None) -> Iterator[Rule]:
    """An instance (at its default severity) of each registered rule, or of those ``select``
    names (exact ids or dotted prefixes, e.g. ``contract``); with ``stage``, only the rules
    enforced there."""
    rules = {rid: cls for rid, cls in registered_rules().items()
             if stage is None or stage in cls.stages}
    if select is None:
        yield from (cls() for cls in rules.values())
        return
    wanted = list(select)
    for prefix in wanted:
        if prefix not in rules and not any(i.startswith(prefix + ".") for i in rules):
            get_rule(prefix)  # raises with a did-you-mean
    for rid, cls in rules.items():
        if any(rid == p or rid.startswith(p + ".") for p in wanted):
            yield cls()
