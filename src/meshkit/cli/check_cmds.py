"""``mesh check``: the CI gate. Reads artifacts and the catalog, runs every rule, writes nothing
(but the JUnit file asked for); exit 0 clean, 1 error violations, 2 bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from meshkit.cli.errors import handle_errors
from meshkit.cli.options import json_option, load, mesh_option
from meshkit.files import write_output


@click.command("check")
@mesh_option
@click.option("--domain", "-d", "domains", multiple=True,
              help="Only report violations located in this domain (repeatable).")
@click.option("--rule", "-r", "rules", multiple=True,
              help="Only run this rule, or every rule under a prefix such as `contract` "
                   "(repeatable).")
@json_option
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the report as JUnit XML to this file (for CI).")
@click.option("--list-rules", is_flag=True, help="List the rules and exit.")
@handle_errors
def check(mesh_file: Path, domains: tuple[str, ...], rules: tuple[str, ...], as_json: bool,
          junit_file: Path | None, list_rules: bool) -> None:
    """Check contracts and policies across the mesh (the CI gate; writes nothing)."""
    from meshkit.checks import registered_rules
    from meshkit.checks.render import junit_xml, print_table, report_json
    from meshkit.cli.render import console, echo_json

    if list_rules:
        listed = {rid: cls for rid, cls in registered_rules().items()
                  if not rules or any(rid == r or rid.startswith(r + ".") for r in rules)}
        if as_json:
            echo_json([{"id": rid, "summary": cls.summary_text(),
                        "severity": cls.default_severity.value, "scope": cls.scope.value}
                       for rid, cls in listed.items()])
            return
        for rid, cls in listed.items():
            click.echo(f"{rid:40} {cls.default_severity.value:5}  {cls.summary_text()}")
        return
    report = load(mesh_file).check(domains=domains, rules=rules)
    if junit_file is not None:
        write_output(junit_file, junit_xml(report))
    if as_json:
        echo_json(report_json(report))
    else:
        print_table(report, console(highlight=False))
    sys.exit(report.exit_code)
