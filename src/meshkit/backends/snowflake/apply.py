"""Run a plan with snowflake-connector-python, one statement at a time, reporting each.

The plan is idempotent, so a failed apply is fixed and re-run from the start; statements after
the first failure are not run (later ones depend on earlier ones) and are reported as skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from meshkit.backends.snowflake.plan import Plan, Statement
from meshkit.errors import ConfigError
from meshkit.masking import HASH_SALT_ENV, HASH_SALT_MIN_LENGTH


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


def secrets_of(plan: Plan, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The secret values the plan binds, from the environment; fails closed before anything runs
    when one is missing (e.g. a hash mask without its salt is never created unsalted)."""
    env = os.environ if env is None else env
    values: dict[str, str] = {}
    for name in sorted({p for s in plan.statements for p in s.secret_params}):
        value = env.get(name, "")
        if not value:
            raise ConfigError(
                f"environment variable {name} is not set: a classification of mesh.yml masks "
                "with `hash`, whose secret salt it holds",
                fix=f"export {name} (at least {HASH_SALT_MIN_LENGTH} random characters, e.g. "
                    "`python -c 'import secrets; print(secrets.token_hex(32))'`), kept in your "
                    "secret store: changing it changes every hashed value")
        if name == HASH_SALT_ENV and len(value) < HASH_SALT_MIN_LENGTH:
            raise ConfigError(f"environment variable {name} is shorter than "
                              f"{HASH_SALT_MIN_LENGTH} characters: a short salt is guessed",
                              fix=f"set {name} to at least {HASH_SALT_MIN_LENGTH} random characters")
        values[name] = value
    return values


def apply_plan(plan: Plan, connection: Any,
               on_result: Callable[[StatementResult], None] | None = None,
               env: Mapping[str, str] | None = None) -> ApplyResult:
    """Execute every statement of ``plan`` on ``connection`` (a DB-API connection).

    Secret parameters are bound server-side (qmark), so their values are neither in the plan
    nor in the account's query history."""
    secrets = secrets_of(plan, env)
    result = ApplyResult(target=plan.target)
    failed = False
    cursor = connection.cursor()
    try:
        for statement in plan.statements:
            if failed:
                r = StatementResult(statement, Outcome.skipped)
            else:
                try:
                    if statement.secret_params:
                        cursor.execute(statement.sql,
                                       [secrets[p] for p in statement.secret_params],
                                       _force_qmark_paramstyle=True)
                    else:
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
