"""``run_checks``: every rule over one :class:`CheckContext`, into one :class:`CheckReport`."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable

from meshkit.checks.context import CheckContext
from meshkit.checks.model import CheckReport, RuleRun, Violation
from meshkit.checks.registry import Rule, default_rules


def run_checks(ctx: CheckContext, rules: Iterable[Rule] | None = None, *,
               keep: Callable[[Violation], bool] | None = None,
               note_gaps: bool = False) -> CheckReport:
    """Run ``rules`` (default: every registered rule) and report their violations.

    Violations located outside the context's selected domains are dropped, as are those ``keep``
    rejects (waivers are not applied here, but by the rules that may be waived). ``note_gaps``:
    note each domain whose manifest lacks the compiled SQL a rule that ran reads (it reads every
    domain's artifacts: `mesh check` asks, the sync says so in its own output), and what a rule
    found nothing to read of (:meth:`CheckContext.read_nothing`). A rule raising
    :class:`~meshkit.errors.MeshError` (bad input) stops the run: the gate cannot decide on input
    it cannot read.

    >>> from pathlib import Path
    >>> from meshkit.config import Mesh, MeshConfig
    >>> class NoDomains(Rule):
    ...     '''A mesh has at least one domain.'''
    ...     id = "example.no_domains"
    ...     def check(self, ctx):
    ...         if not ctx.config.domains:
    ...             yield self.violation("the mesh has no domain", fix="add one under `domains:`")
    >>> ctx = CheckContext(Mesh(config=MeshConfig(name="m", domains=[]), file=Path("mesh.yml")))
    >>> report = run_checks(ctx, [NoDomains()])
    >>> report.exit_code, report.violations[0].message
    (1, 'the mesh has no domain')
    """
    violations: list[Violation] = []
    runs: list[RuleRun] = []
    notes: list[str] = []
    try:
        blind: list[str] = []
        for r in default_rules() if rules is None else rules:
            found = [v for v in r.check(ctx)
                     if ctx.in_scope(v.domain) and (keep is None or keep(v))]
            violations += found
            runs.append(RuleRun(id=r.id, summary=r.summary, severity=r.severity,
                                violations=len(found)))
            if r.reads_compiled_sql:
                blind.append(r.id)
            if not gc.isenabled():
                # A sync pauses the collector: the cycles a rule leaves (the SQL it parsed, 13 MB
                # at 50 domains) are freed before the next rule, not stacked under its memory.
                gc.collect(1)
        if blind and note_gaps:
            notes = _without_compiled_sql(ctx, sorted(blind))
        if note_gaps:
            notes += [f"domain {domain}: {missing}, so {', '.join(sorted(rule_ids))} checked "
                      f"nothing there; {fix}"
                      for (domain, missing, fix), rule_ids in sorted(ctx.unread.items())
                      if ctx.in_scope(domain)]
    finally:
        ctx.close()
    return CheckReport.of(violations, runs, notes)


def _without_compiled_sql(ctx: CheckContext, rule_ids: list[str]) -> list[str]:
    """A note for each domain in scope whose manifest carries no compiled SQL (`dbt parse`
    only): the rules ``rule_ids`` read it and found nothing there, which is not a pass."""
    notes = []
    for domain, arts in ctx.all_artifacts():
        if not ctx.in_scope(domain.name):
            continue
        if arts.lacks_compiled_sql(domain.name):
            notes.append(f"domain {domain.name}: its manifest carries no compiled SQL (`dbt parse` "
                         f"only), so {', '.join(rule_ids)} checked nothing there; run "
                         "`dbt compile` or `dbt build` in it, then check again")
    return notes
