"""A :class:`~meshkit.checks.model.CheckReport` as a terminal table, JSON, or JUnit XML (for CI)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import groupby
from typing import Any

from meshkit.checks.model import CheckReport, Severity, Violation
from meshkit.terminal import literal, visible

_STYLE = {Severity.ERROR: "red", Severity.WARN: "yellow"}
# Past this many violations a report is summed up per rule: after the list (`mesh check`), or in
# its place (a sync's).
SUMMED_UP_PAST = 10


def report_json(report: CheckReport) -> dict[str, Any]:
    """The report as JSON-ready data: ``violations``, ``rules``, ``errors``, ``warnings``,
    ``exit_code``."""
    return report.model_dump(mode="json")


def print_table(report: CheckReport, console: Any = None, *, title: str = "mesh check") -> None:
    """Violations as a rich table (with the fix under each message), then, past
    :data:`SUMMED_UP_PAST` of them, a row per rule, and a summary line."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(highlight=False)
    if report.violations:
        table = Table(title=title, show_lines=True)
        for col in ("severity", "rule", "where", "message"):
            table.add_column(col, overflow="fold")
        # What a rule says quotes names, SQL and paths from the artifacts: never read as markup.
        for v in report.violations:
            where = literal(v.location)
            if v.file is not None and v.node is not None:
                where = f"{literal(v.node)}\n{where}"
            table.add_row(f"[{_STYLE[v.severity]}]{v.severity.value}[/]", literal(v.rule), where,
                          f"{literal(v.message, lines=True)}\n[dim]fix: "
                          f"{literal(v.fix, lines=True)}[/]")
        console.print(table)
        if len(report.violations) > SUMMED_UP_PAST:  # what the long list was, at its end
            console.print(_by_rule(report, "by rule"))
    for note in report.notes:
        console.print(f"[yellow]note:[/] {literal(note)}")
    colour = "red" if report.errors else ("yellow" if report.warnings else "green")
    console.print(f"[{colour}]{report.errors} error(s), {report.warnings} warning(s)[/] "
                  f"from {len(report.rules)} rule(s)")


def _by_rule(report: CheckReport, title: str) -> Any:
    """A table of one row per rule that found something: severity, count, domains, the first
    place (errors first, then the most found)."""
    from rich.table import Table

    by_rule: dict[str, list[Violation]] = {}
    for v in report.violations:  # sorted: errors first, a rule's first is its first listed
        by_rule.setdefault(v.rule, []).append(v)
    table = Table(title=title)
    table.add_column("severity")
    table.add_column("rule", overflow="fold")
    table.add_column("violations", justify="right")
    table.add_column("domains", justify="right")
    table.add_column("first", overflow="fold")
    for rule, found in sorted(by_rule.items(), key=lambda kv: (
            kv[1][0].severity is not Severity.ERROR, -len(kv[1]), kv[0])):
        first = found[0]
        table.add_row(f"[{_STYLE[first.severity]}]{first.severity.value}[/]", literal(rule),
                      str(len(found)), str(len({v.domain for v in found if v.domain})),
                      literal(first.location))
    return table


def print_summary(report: CheckReport, console: Any = None, *, title: str,
                  shown: int = SUMMED_UP_PAST, listing: str = "") -> None:
    """Up to ``shown`` violations as :func:`print_table` prints them; more as one row per rule
    (severity, count, domains, the first location) and how to list them (``listing``).

    A sync reports what its checks recorded, and a 50-domain mesh can have a thousand violations:
    a table of each took a second of the sync and nineteen thousand lines of terminal.
    """
    if len(report.violations) <= shown:
        print_table(report, console, title=title)
        return
    from rich.console import Console

    console = console or Console(highlight=False)
    console.print(_by_rule(report, title))
    colour = "red" if report.errors else "yellow"
    console.print(f"[{colour}]{report.errors} error(s), {report.warnings} warning(s)[/] "
                  f"from {len(report.rules)} rule(s)")
    console.print(visible(f"each violation with its fix: `mesh check --rule RULE`{listing}"),
                  style="dim", markup=False)


def junit_xml(report: CheckReport, *, name: str = "mesh check") -> str:
    """JUnit XML: a ``testsuite`` per rule, a ``testcase`` per violation (an error is a
    ``failure``; a warning passes and carries its message in ``system-out``), and one passing
    ``testcase`` for a rule that found nothing, so CI shows every rule that ran.

    >>> from meshkit.checks.model import RuleRun
    >>> xml = junit_xml(CheckReport.of([], [RuleRun(id="r", summary="s", severity="error",
    ...                                                 violations=0)]))
    >>> 'tests="1"' in xml and 'failures="0"' in xml
    True
    """
    suites = ET.Element("testsuites", name=name, tests="0", failures=str(report.errors))
    by_rule = {rid: list(vs) for rid, vs in groupby(sorted(report.violations, key=lambda v: v.rule),
                                                     key=lambda v: v.rule)}
    runs = {r.id: r for r in report.rules}
    total = 0
    for rid in sorted(set(runs) | set(by_rule)):
        violations = by_rule.get(rid, [])
        failures = sum(v.severity is Severity.ERROR for v in violations)
        suite = ET.SubElement(suites, "testsuite", name=rid, tests=str(max(1, len(violations))),
                              failures=str(failures), errors="0", skipped="0")
        if rid in runs:
            ET.SubElement(suite, "properties").append(
                ET.Element("property", name="summary", value=runs[rid].summary))
        if not violations:
            ET.SubElement(suite, "testcase", classname=rid, name=rid)
            total += 1
            continue
        for v in violations:
            case = ET.SubElement(suite, "testcase", classname=rid, name=v.location or rid)
            if v.file is not None:
                case.set("file", v.file)
                if v.line is not None:
                    case.set("line", str(v.line))
            text = f"{v.message}\nfix: {v.fix}"
            if v.severity is Severity.ERROR:
                failure = ET.SubElement(case, "failure", message=v.message, type=v.severity.value)
                failure.text = text
            else:
                ET.SubElement(case, "system-out").text = f"warning: {text}"
            total += 1
    suites.set("tests", str(total))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
