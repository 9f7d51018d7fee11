"""`mesh build`, `mesh query`, `mesh generate`, `mesh demo-data`."""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path
from typing import Any

import click

from meshkit.cli.errors import handle_errors

mesh_option = click.option(
    "--mesh", "mesh_file", default="mesh.yml", show_default=True,
    type=click.Path(dir_okay=False, path_type=Path), help="The mesh file.",
)
target_option = click.option("--target", "-t", default=None, help="Target of mesh.yml (default: dev).")


@click.command()
@mesh_option
@target_option
@click.option("--domain", "-d", "domains", multiple=True, help="Build only this domain (repeatable).")
@click.option("--upstream", is_flag=True, help="With --domain, also build what it reads.")
@click.option("--no-sync", is_flag=True, help="Do not sync the catalog after the build.")
@handle_errors
def build(mesh_file: Path, target: str | None, domains: tuple[str, ...], upstream: bool,
          no_sync: bool) -> None:
    """Build domains in dependency order (derived from cross-domain refs), then sync."""
    from rich.console import Console
    from rich.table import Table

    from meshkit.build import Status, build_order
    from meshkit.build import build as run_build
    from meshkit.config import load_mesh

    mesh = load_mesh(mesh_file)
    console = Console(stderr=True)
    order = build_order(mesh, list(domains) or None, upstream)
    console.print(f"[bold]mesh build[/] {len(order)} domain(s): "
                  + " → ".join(d.name for d in order))
    with console.status("starting …") as status:
        def progress(domain: str, message: str) -> None:
            if message in ("success", "failed", "skipped"):
                mark = {"success": "[green]✓[/]", "failed": "[red]✗[/]",
                        "skipped": "[yellow]-[/]"}[message]
                console.print(f"  {mark} {domain} {message}")
            else:
                status.update(f"{domain}: {message} …")

        result = run_build(mesh, target=target, only=list(domains) or None, upstream=upstream,
                           on_progress=progress)

    table = Table(title=f"mesh build (target {result.target})")
    for col in ("domain", "models", "tests", "status", "time"):
        table.add_column(col, justify="right" if col in ("models", "tests", "time") else "left")
    colours = {Status.success: "green", Status.failed: "red", Status.skipped: "yellow"}
    for d in result.domains:
        status_text = f"[{colours[d.status]}]{d.status.value}[/]"
        if d.reason:
            status_text += f" ({d.reason})"
        table.add_row(d.domain, str(d.models), str(d.tests), status_text, f"{d.seconds:.1f}s")
    Console().print(table)
    for d in result.domains:
        for err in d.errors[:5]:
            console.print(f"[red]{d.domain}[/]: {err}")
        if d.status is Status.failed:
            console.print(f"  full log: {mesh.domain_path(mesh.config.domain(d.domain))}/logs/dbt.log")
    if not result.domains:
        console.print("no domains to build yet: `mesh new domain NAME --owner EMAIL` adds one")
    # A failed build still syncs: the last good views serve on, and the catalog says which
    # products are degraded and which are at risk downstream. A mesh with no domains syncs too:
    # its (empty) catalog is there for the tools that read it.
    failed = not result.success
    if not no_sync:
        from meshkit.cli.main import load_command

        sync_args = ["--mesh", str(mesh_file)] + (["--target", target] if target else [])
        try:
            load_command("sync").main(sync_args, standalone_mode=False)
        except SystemExit as exc:
            if exc.code == 2:  # bad input stops everything
                sys.exit(2)
            failed = failed or bool(exc.code)  # 1: a domain's artifacts kept stale
        if not _build_catalog_marts(mesh, target, console):
            failed = True
    if failed:
        sys.exit(1)


def _build_catalog_marts(mesh: Any, target: str | None, console: Any) -> bool:
    """Build the root project's catalog marts and governance tests; False if a test fails."""
    from meshkit.platform_project import build_catalog_marts

    with console.status("catalog marts and governance tests …"):
        run = build_catalog_marts(mesh, target)
    if run is None:
        return True
    if run.success:
        console.print(f"  [green]✓[/] catalog marts: {run.models} models, {run.tests} governance "
                      f"and quality tests passed ({run.seconds:.1f}s)")
        return True
    console.print(f"  [red]✗[/] catalog marts: {len(run.failed_nodes)} failing")
    for err in run.errors[:10]:
        console.print(f"    [red]{err}[/]")
    return False


@click.command()
@mesh_option
@target_option
@click.option("--role", "-r", "roles", multiple=True,
              help="Role of the session (repeatable). None: the most restrictive view.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.argument("sql")
@handle_errors
def query(mesh_file: Path, target: str | None, roles: tuple[str, ...], fmt: str, sql: str) -> None:
    """Run SQL as a role against the secure views of the mesh (DuckDB)."""
    from meshkit.backends.duckdb.query import query as run_query
    from meshkit.config import load_mesh

    result = run_query(load_mesh(mesh_file), sql, list(roles), target)
    if fmt == "json":
        import orjson

        click.echo(orjson.dumps(result.records(), default=str,
                                option=orjson.OPT_INDENT_2).decode())
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
        click.echo(buf.getvalue(), nl=False)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(caption=f"{len(result.rows)} row(s) as role "
                              f"{', '.join(roles) if roles else '(none)'}")
        for col in result.columns:
            table.add_column(_cell(col))
        for row in result.rows:
            table.add_row(*[_cell(v) for v in row])
        Console().print(table)


def _cell(value: Any) -> Any:
    """A value as literal text: no rich markup interpreted, control characters shown escaped
    (data and column names come from the warehouse, not from us)."""
    from rich.text import Text

    if value is None:
        return Text("NULL", style="dim")
    return Text(_CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), str(value)))


# C0/C1 control characters: ESC starts a terminal escape sequence; a tab or newline in a cell is
# shown as \t / \n too.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@click.command()
@mesh_option
@click.option("--check", is_flag=True, help="Exit 1 if the generated macro is out of date.")
@handle_errors
def generate(mesh_file: Path, check: bool) -> None:
    """Regenerate macros/_generated/mesh_policy.sql from mesh.yml."""
    from meshkit.config import load_mesh
    from meshkit.masking import GENERATED_MACRO, render_policy_macro, write_policy_macro

    mesh = load_mesh(mesh_file)
    path = mesh.root / GENERATED_MACRO
    if check:
        current = path.read_text() if path.is_file() else ""
        if current != render_policy_macro(mesh):
            click.secho(f"{path} is out of date with mesh.yml; run `mesh generate`", fg="red",
                        err=True)
            sys.exit(1)
        click.echo(f"{path} is up to date")
        return
    changed = write_policy_macro(mesh)
    click.echo(f"{'wrote' if changed else 'unchanged'} {path}")


@click.command("demo-data")
@mesh_option
@click.option("--scale", default=1.0, show_default=True, help="Scale factor (1 ≈ 2,000 customers).")
@click.option("--seed", default=42, show_default=True)
@handle_errors
def demo_data(mesh_file: Path, scale: float, seed: int) -> None:
    """Generate the demo's raw data into data/raw/ (Parquet)."""
    from meshkit.config import load_mesh
    from meshkit.demo.generate import generate as gen

    mesh = load_mesh(mesh_file)
    out = mesh.root / "data" / "raw"
    counts = gen(out, scale=scale, seed=seed)
    for table, n in counts.items():
        click.echo(f"{table:>20} {n:>10,} rows")
    click.echo(f"wrote {out}")
