"""``mesh contract diff`` and ``mesh contract export``: a dataset's contract changes with their
verdicts, and its ODCS v3 document."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from meshkit.cli.errors import handle_errors
from meshkit.cli.options import json_option, load, mesh_option
from meshkit.files import write_output


@click.group("contract")
def contract() -> None:
    """Published dataset contracts: diff against the registry, export as ODCS v3."""


@contract.command("diff")
@click.argument("dataset")
@click.option("--against", default=None,
              help="A version of the dataset (`2` or `v2`), or a contract file (a registry "
                   "entry's JSON); default: the dataset version's last published contract.")
@mesh_option
@json_option
@handle_errors
def diff(dataset: str, against: str | None, mesh_file: Path, as_json: bool) -> None:
    """Each change of DATASET's contract, with its verdict (exit 1 if one breaks consumers)."""
    from rich.text import Text

    from meshkit.cli.render import console, echo_json, table
    from meshkit.contracts.service import contract_diff
    from meshkit.terminal import literal

    result = contract_diff(load(mesh_file), dataset, against)
    if as_json:
        echo_json(result.to_json())
    else:
        out = console(highlight=False)
        out.print(f"[bold]{literal(result.dataset)}[/]: {literal(result.current_label)} "
                  f"against {literal(result.against_label)}")
        if result.changes:
            out.print(table(("verdict", "change"), [
                (Text("breaking", style="red") if c.breaking else Text("compatible",
                                                                        style="green"), str(c))
                for c in result.changes]))
        else:
            out.print("no change")
    sys.exit(1 if any(c.breaking for c in result.changes) else 0)


@contract.command("export")
@click.argument("dataset")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the YAML to this file (default: print it).")
@mesh_option
@handle_errors
def export(dataset: str, output: Path | None, mesh_file: Path) -> None:
    """DATASET's contract as an ODCS v3 YAML document (validated against the standard)."""
    from meshkit.contracts.service import contract_export

    text = contract_export(load(mesh_file), dataset)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text)
        click.echo(f"wrote {output}", err=True)
