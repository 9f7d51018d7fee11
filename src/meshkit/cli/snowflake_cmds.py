"""`mesh plan` and `mesh apply`: the Snowflake DDL of the utility plane, printed / executed."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from meshkit.cli import render
from meshkit.cli.errors import handle_errors
from meshkit.cli.options import json_option, load, mesh_option, target_option

snowflake_target = target_option("prod", help="A target of mesh.yml with `type: snowflake`.")


@click.command()
@mesh_option
@snowflake_target
@json_option
@handle_errors
def plan(mesh_file: Path, target: str, as_json: bool) -> None:
    """Print the idempotent Snowflake DDL of the mesh (databases, policies, roles, grants).

    Products are the dbt groups of each domain's target/manifest.json; a domain without one is
    planned without its product schemas, and the plan says so.
    """
    result = load(mesh_file).plan(target=target)
    if as_json:
        render.echo_json(result.to_json())
    else:
        click.echo(result.script(), nl=False)
    for note in result.notes:
        click.secho(f"note: {note}", fg="yellow", err=True)


@click.command()
@mesh_option
@snowflake_target
@json_option
@click.option("--dry-run", is_flag=True, help="Print the plan instead of running it.")
@handle_errors
def apply(mesh_file: Path, target: str, as_json: bool, dry_run: bool) -> None:
    """Run the plan on Snowflake (connection from SNOWFLAKE_* environment variables).

    Each statement is printed with ok / failed; the first failure stops the run (exit 1), and
    since the plan is idempotent, the fix is to correct the cause and apply again.
    """
    if dry_run:
        click.get_current_context().invoke(plan, mesh_file=mesh_file, target=target,
                                           as_json=as_json)
        return
    from meshkit.backends.snowflake.apply import Outcome, StatementResult, secrets_of
    from meshkit.backends.snowflake.profiles import SnowflakeSettings

    mesh = load(mesh_file)
    the_plan = mesh.plan(target=target)
    settings = SnowflakeSettings.from_env()
    secrets_of(the_plan)  # a missing secret stops the run before it connects
    for note in the_plan.notes:
        click.secho(f"note: {note}", fg="yellow", err=True)
    colours = {Outcome.ok: "green", Outcome.failed: "red", Outcome.skipped: "yellow"}

    def show(r: StatementResult) -> None:
        if as_json:
            return
        mark = click.style(f"{r.outcome.value:>7}", fg=colours[r.outcome])
        click.echo(f"{mark}  {r.statement.sql}")
        if r.error:
            click.secho(f"         {r.error}", fg="red")

    if not as_json:
        click.echo(f"-- applying {len(the_plan.statements)} statements as {settings.describe()}")
    result = mesh.apply(the_plan, settings=settings, on_result=show)
    if as_json:
        render.echo_json(result.to_json())
    else:
        counts = {o: sum(r.outcome is o for r in result.results) for o in Outcome}
        click.echo(f"-- {counts[Outcome.ok]} ok, {counts[Outcome.failed]} failed, "
                   f"{counts[Outcome.skipped]} skipped")
    if not result.success:
        sys.exit(1)
