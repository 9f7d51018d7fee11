"""What a check finds: :class:`Severity`, :class:`Violation`, and the :class:`CheckReport` of a run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field


class Severity(StrEnum):
    """How bad a violation is: an ``error`` fails the gate (exit 1), a ``warn`` is reported only."""

    ERROR = "error"
    WARN = "warn"


class Violation(BaseModel):
    """One finding of one rule, with where it is and how to fix it.

    >>> v = Violation(rule="contract.column_removed", severity="error",
    ...               message="column age_band removed", fix="cut a new version",
    ...               node="model.bank.customers.v2", domain="bank")
    >>> v.severity is Severity.ERROR, v.location
    (True, 'model.bank.customers.v2')
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    severity: Severity
    message: str
    fix: str
    node: str | None = Field(default=None, description="A dbt unique_id or a dataset id")
    domain: str | None = None
    file: str | None = None
    line: int | None = None

    @property
    def location(self) -> str:
        """``file:line`` or the node, for one-line renderings."""
        if self.file is not None:
            return f"{self.file}:{self.line}" if self.line is not None else self.file
        return self.node or self.domain or ""

    def sort_key(self) -> tuple[Any, ...]:
        return (self.severity is not Severity.ERROR, self.domain or "", self.node or "",
                self.rule, self.file or "", self.line or 0, self.message)


class RuleRun(BaseModel):
    """One rule of a run: its id, summary, effective severity, and how many violations it found."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    summary: str
    severity: Severity
    violations: int


class CheckReport(BaseModel):
    """The outcome of :func:`~meshkit.checks.run_checks`: violations sorted (errors first, then
    by domain, node, rule, file, line), the rules that ran, counts and the exit code.

    >>> CheckReport.of([], []).exit_code
    0
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    violations: tuple[Violation, ...] = ()
    rules: tuple[RuleRun, ...] = ()
    # What the run could not check, and why (not violations: they change no exit code).
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, violations: list[Violation], rules: list[RuleRun],
           notes: Iterable[str] = ()) -> CheckReport:
        return cls(violations=tuple(sorted(set(violations), key=Violation.sort_key)),
                   rules=tuple(sorted(rules, key=lambda r: r.id)), notes=tuple(notes))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def errors(self) -> int:
        return sum(v.severity is Severity.ERROR for v in self.violations)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def warnings(self) -> int:
        return sum(v.severity is Severity.WARN for v in self.violations)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def exit_code(self) -> int:
        """0 when no violation is an error, 1 otherwise (SPEC.md's exit codes)."""
        return 1 if self.errors else 0

    @property
    def by_rule(self) -> Counter[str]:
        return Counter(v.rule for v in self.violations)

    def for_domain(self, domain: str) -> list[Violation]:
        return [v for v in self.violations if v.domain == domain]

    def merged(self, other: CheckReport) -> CheckReport:
        """Both reports in one (rules run twice keep the later count)."""
        rules = {r.id: r for r in (*self.rules, *other.rules)}
        return CheckReport.of([*self.violations, *other.violations], list(rules.values()))
