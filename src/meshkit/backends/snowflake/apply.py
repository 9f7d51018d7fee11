"""Run a plan with snowflake-connector-python, one statement at a time, reporting each.

The plan is idempotent, so a failed apply is fixed and re-run from the start; statements after
the first failure are not run (later ones depend on earlier ones) and are reported as skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from meshkit.backends.snowflake.plan import Plan, Statement


class Outcome(StrEnum):
    ok = "ok"
    failed = "failed"
    skipped = "skipped"


@dataclass(frozen=True)
class StatementResult:
    statement: Statement
    outcome: Outcome
    error: str | None = None


@dataclass
class ApplyResult:
    target: str
    results: list[StatementResult] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(r.outcome is Outcome.ok for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "success": self.success,
            "statements": [{"sql": r.statement.sql, "kind": r.statement.kind,
                            "outcome": r.outcome.value, "error": r.error} for r in self.results],
        }


def apply_plan(plan: Plan, connection: Any,
               on_result: Callable[[StatementResult], None] | None = None) -> ApplyResult:
    """Execute every statement of ``plan`` on ``connection`` (a DB-API connection)."""
    result = ApplyResult(target=plan.target)
    failed = False
    cursor = connection.cursor()
    try:
        for statement in plan.statements:
            if failed:
                r = StatementResult(statement, Outcome.skipped)
            else:
                try:
                    cursor.execute(statement.sql)
                    r = StatementResult(statement, Outcome.ok)
                except Exception as exc:  # the connector's errors: reported, then stop
                    failed = True
                    r = StatementResult(statement, Outcome.failed, _first_line(exc))
            result.results.append(r)
            if on_result is not None:
                on_result(r)
    finally:
        cursor.close()
    return result


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
