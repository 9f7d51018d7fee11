"""The check engine every enforcement point uses (``mesh check``, ``mesh build``, ``mesh-sync``).

A :class:`Rule` has an id, a summary (its docstring's first line), a default severity and a
``check(ctx)`` yielding :class:`Violation`\\ s; :func:`rule` registers one (third parties through
the entry-point group ``meshkit.rules``). :func:`run_checks` runs them over a
:class:`CheckContext` into a :class:`CheckReport`, rendered by :mod:`meshkit.checks.render`.
"""

from meshkit.checks.context import CheckContext
from meshkit.checks.engine import run_checks
from meshkit.checks.model import CheckReport, RuleRun, Severity, Violation
from meshkit.checks.registry import (
    ENTRY_POINT_GROUP,
    Rule,
    Scope,
    Stage,
    default_rules,
    get_rule,
    registered_rules,
    rule,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "CheckContext",
    "CheckReport",
    "Rule",
    "RuleRun",
    "Scope",
    "Severity",
    "Stage",
    "Violation",
    "default_rules",
    "get_rule",
    "registered_rules",
    "rule",
    "run_checks",
]
