"""`mesh build`, `mesh query`, `mesh generate`, `mesh demo-data`: options in, one library call,
the result rendered."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from meshkit.cli import render
from meshkit.cli.errors import handle_errors
from meshkit.cli.options import load, mesh_option, parse_jobs, target_option
from meshkit.terminal import literal, literal_text

if TYPE_CHECKING:
    from meshkit.build import BuildResult
    from meshkit.catalog.sync import SyncResult
    from meshkit.dbt_runner import DbtRun
    from meshkit.mesh import Mesh

_MARKS = {"success": "[green]✓[/]", "failed": "[red]✗[/]", "skipped": "[yellow]-[/]"}
_COLOURS = {"success": "green", "failed": "red", "skipped": "yellow"}


@click.command()
@mesh_option
@target_option()
@click.option("--domain", "-d", "domains", multiple=True, help="Build only this domain (repeatable).")
@click.option("--upstream", is_flag=True, help="With --domain, also build what it reads.")
@click.option("--no-sync", is_flag=True, help="Do not sync the catalog after the build.")
@click.option("--jobs", "-j", default="auto", show_default=True, metavar="N|auto",
              callback=parse_jobs,
              help="Domains built side by side at most (those not reading each other): this "
                   "process and N-1 worker processes, each importing dbt. auto: the cores (1 GiB "
                   "of memory each; within the cgroup's CPU quota and memory limit) on a DuckDB "
                   "target, 1 elsewhere (each process signs in on its own); 1: one after the "
                   "other.")
@handle_errors
def build(mesh_file: Path, target: str | None, domains: tuple[str, ...], upstream: bool,
          no_sync: bool, jobs: int | None) -> None:
    """Build domains in dependency order (derived from cross-domain refs), then sync."""
    from meshkit.cli.catalog_cmds import print_sync, sync_progress

    mesh = load(mesh_file)
    console = render.console(stderr=True)
    sync_console = render.console(highlight=False)
    order = mesh.build_order(domains, upstream)
    console.print(f"[bold]mesh build[/] {len(order)} domain(s): "
                  + " → ".join(d.name for d in order))
    with console.status("starting …") as status:
        def progress(domain: str, message: str) -> None:
            if message in _MARKS:
                console.print(f"  {_MARKS[message]} {domain} {message}")
            else:
                status.update(f"{domain}: {message} …")

        def built(result: BuildResult) -> None:
            _print_build(mesh, result, console)
            if not result.domains:
                console.print("no domains to build yet: `mesh new domain NAME --owner EMAIL` adds one")
            if not no_sync:
                sync_console.print(f"syncing [bold]{literal(mesh.config.name)}[/] "
                               f"({len(mesh.config.domains)} domains)")

        def synced(result: SyncResult) -> None:
            print_sync(result, sync_console)
            status.update("catalog marts and governance tests …")

        result = mesh.build(target=target, domains=domains, upstream=upstream, sync=not no_sync,
                            on_progress=progress, on_built=built,
                            on_sync=sync_progress(sync_console), on_synced=synced,
                            jobs=jobs)
    if result.marts is not None:
        _print_marts(result.marts, console)
    sys.exit(result.exit_code)


def _print_build(mesh: Mesh, result: BuildResult, console: Any) -> None:
    from rich.text import Text

    rows = []
    for d in result.domains:
        status_text = Text(d.status.value, style=_COLOURS[d.status.value])
        if d.reason:
            status_text += literal_text(f" ({d.reason})")
        rows.append((d.domain, d.models, d.tests, status_text, f"{d.seconds:.1f}s"))
    render.console().print(render.table(("domain", "models", "tests", "status", "time"), rows,
                                        title=f"mesh build (target {literal(result.target)})",
                                        right=("models", "tests", "time")))
    for d in result.domains:
        for err in d.errors[:5]:
            console.print(f"[red]{d.domain}[/]: {literal(err, lines=True)}")
        if d.status.value == "failed":
            log = f"{mesh.domain_path(mesh.config.domain(d.domain))}/logs/dbt.log"
            console.print(f"  full log: {literal(log)}")


def _print_marts(run: DbtRun, console: Any) -> None:
    if run.success:
        console.print(f"  [green]✓[/] catalog marts: {run.models} models, {run.tests} governance "
                      f"and quality tests passed ({run.seconds:.1f}s)")
        return
    console.print(f"  [red]✗[/] catalog marts: {len(run.failed_nodes)} failing")
    for err in run.errors[:10]:
        console.print(f"    [red]{literal(err, lines=True)}[/]")


@click.command()
@mesh_option
@target_option()
@click.option("--role", "-r", "roles", multiple=True,
              help="Role of the session (repeatable). None: the most restrictive view.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.argument("sql")
@handle_errors
def query(mesh_file: Path, target: str | None, roles: tuple[str, ...], fmt: str, sql: str) -> None:
    """Run SQL as a role against the secure views of the mesh (DuckDB)."""
    from meshkit.backends.duckdb.query import query_mesh_file

    result = query_mesh_file(mesh_file, sql, list(roles), target,
                             meanwhile=render.import_tables if fmt == "table" else None)
    if fmt == "json":
        render.echo_json(result.records())
    elif fmt == "csv":
        render.echo_csv(result.columns, result.rows)
    else:
        print_result(result, list(roles))


def print_result(result: Any, roles: list[str]) -> None:
    """A query result as a table (``mesh query`` and ``mesh shell``: the same output)."""
    console = render.console()
    console.print(render.table(result.columns, result.rows, literal=True))
    # Below the table, not as its caption: a caption wraps to the width of a narrow table.
    console.print(f"{len(result.rows)} row(s) as role {', '.join(roles) if roles else '(none)'}",
                  style="dim", markup=False, highlight=False)


@click.command()
@mesh_option
@click.option("--check", is_flag=True, help="Exit 1 if the generated macro is out of date.")
@handle_errors
def generate(mesh_file: Path, check: bool) -> None:
    """Regenerate the mesh's policy macro (mesh_policy.sql) from mesh.yml."""
    result = load(mesh_file).generate(check=check)
    if check and result.changed:
        click.secho(f"{result.path} is out of date with mesh.yml; run `mesh generate`", fg="red",
                    err=True)
    elif check:
        click.echo(f"{result.path} is up to date")
    else:
        click.echo(f"{'wrote' if result.changed else 'unchanged'} {result.path}")
    sys.exit(result.exit_code)


@click.command("demo-data")
@mesh_option
@click.option("--scale", default=1.0, show_default=True,
              type=click.FloatRange(min=0, min_open=True),
              help="Scale factor (1 ≈ 2,000 customers).")
@click.option("--seed", default=42, show_default=True)
@handle_errors
def demo_data(mesh_file: Path, scale: float, seed: int) -> None:
    """Generate the demo's raw data into data/raw/ (Parquet)."""
    from meshkit.demo.generate import generate as gen

    out = load(mesh_file).root / "data" / "raw"
    counts = gen(out, scale=scale, seed=seed)
    for table, n in counts.items():
        click.echo(f"{table:>20} {n:>10,} rows")
    click.echo(f"wrote {out}")


@click.command("env")
@mesh_option
@target_option()
@handle_errors
def env(mesh_file: Path, target: str | None) -> None:
    """Print the environment dbt needs in a domain: eval "$(mesh env)" && dbt deps && dbt build."""
    import shlex

    for key, value in sorted(load(mesh_file).hand_run_env(target).items()):
        click.echo(f"export {key}={shlex.quote(value)}")
