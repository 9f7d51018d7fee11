"""`mesh init`, `mesh new domain|product`, `mesh onboard`, `mesh suggest products`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from meshkit.cli import render
from meshkit.cli.errors import handle_errors
from meshkit.cli.options import json_option, load, mesh_option
from meshkit.terminal import literal


def _report(written: Any, root: Path | None = None) -> None:
    def show(path: Path) -> str:
        try:
            return str(path.relative_to(root)) if root else str(path)
        except ValueError:
            return str(path)

    for path in written.created:
        click.echo(f"  created {show(path)}")
    for path in written.changed:
        click.echo(f"  changed {show(path)}")
    for note in written.notes:
        click.secho(f"  note: {note}", fg="yellow")


@click.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default=None, help="The mesh's name (default: from the folder's name).")
@click.option("--description", default=None)
@handle_errors
def init(folder: Path, name: str | None, description: str | None) -> None:
    """Create a new, empty mesh in FOLDER (mesh.yml, layout, DuckDB and Snowflake targets)."""
    from meshkit.selfserve.scaffold import init_mesh

    written = init_mesh(folder, name, description)  # the Mesh does not exist before this
    _report(written, folder.resolve())
    click.echo(f"new mesh in {folder}. Next: cd {folder} && mesh new domain NAME --owner EMAIL")


@click.group("new")
def new() -> None:
    """Scaffold a domain or a data product."""


@new.command("domain")
@click.argument("name")
@click.option("--owner", "owner_email", required=True, help="The domain owner's email.")
@click.option("--owner-name", default=None, help="The owning team's name.")
@click.option("--description", default="")
@click.option("--reads", multiple=True, help="A domain whose products it reads (repeatable).")
@mesh_option
@handle_errors
def new_domain(name: str, owner_email: str, owner_name: str | None, description: str,
               reads: tuple[str, ...], mesh_file: Path) -> None:
    """A domain dbt project wired to the platform, registered in mesh.yml."""
    mesh = load(mesh_file)
    _report(mesh.new_domain(name, owner_email, owner_name=owner_name, description=description,
                            reads=reads), mesh.root)
    click.echo(f"domain {name} added. Next: mesh new product {name} PRODUCT, then mesh build")


@new.command("product")
@click.argument("domain")
@click.argument("name")
@click.option("--dataset", default=None, help="The public dataset's name (default: NAME).")
@click.option("--owner", "owner_email", default=None, help="The product owner's email "
              "(default: the domain's).")
@mesh_option
@handle_errors
def new_product(domain: str, name: str, dataset: str | None, owner_email: str | None,
                mesh_file: Path) -> None:
    """A data product: group, owner, a public dataset with its contract, classified columns,
    tests and metadata to fill in."""
    mesh = load(mesh_file)
    _report(mesh.new_product(domain, name, dataset=dataset, owner_email=owner_email), mesh.root)
    click.echo(f"product {domain}.{name} added (status draft). Fill in the TODOs, then mesh build")


@click.command("onboard")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--artifacts", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Register a project built elsewhere from its dbt artifacts alone.")
@click.option("--owner", "owner_email", default=None, help="The domain owner's email.")
@click.option("--owner-name", default=None)
@json_option
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the readiness report as JUnit XML to this file.")
@mesh_option
@handle_errors
def onboard(path: Path | None, artifacts: Path | None, owner_email: str | None,
            owner_name: str | None, as_json: bool, junit: Path | None, mesh_file: Path) -> None:
    """Make an existing dbt project (PATH) a domain of the mesh, and report what it lacks to
    publish data products. Its models are not changed."""
    mesh = load(mesh_file)
    result = mesh.onboard(path, artifacts=artifacts, owner_email=owner_email,
                          owner_name=owner_name)
    from meshkit.checks.render import junit_xml, print_table, report_json

    title = f"what {result.domain} lacks to publish data products"
    if junit is not None and result.report is not None:
        from meshkit.files import atomic_write

        atomic_write(junit, junit_xml(result.report, name=title))
    if as_json:
        report = report_json(result.report) if result.report is not None else None
        render.echo_json({"domain": result.domain, "reads": result.reads,
                          "notes": result.written.notes, "report": report})
        return
    _report(result.written, mesh.root)
    click.echo(f"domain {result.domain} registered in {mesh.file.name}"
               + (f" (reads {', '.join(result.reads)})" if result.reads else ""))
    if result.report is not None:
        print_table(result.report, title=title)
    click.echo("Next: mesh build" + ("" if artifacts else f" --domain {result.domain}")
               + f"; mesh suggest products {result.domain}")


@click.group("suggest")
def suggest() -> None:
    """Suggest data products from what a domain's models already are."""


@suggest.command("products")
@click.argument("domain")
@click.option("--model", "models", multiple=True, help="Only this model (repeatable).")
@click.option("--dry-run", is_flag=True, help="Show the candidates; write nothing.")
@json_option
@mesh_option
@handle_errors
def suggest_products(domain: str, models: tuple[str, ...], dry_run: bool, as_json: bool,
                     mesh_file: Path) -> None:
    """Candidate products of DOMAIN (fan-out, consumers, exposures, marts), their contract YAML
    written for review (column types from catalog.json, key tests, classification guesses)."""
    from dataclasses import asdict

    mesh = load(mesh_file)
    result = mesh.suggest_products(domain, models=models, write=not dry_run)
    if as_json:
        render.echo_json({"domain": result.domain,
                          "candidates": [asdict(c) for c in result.candidates],
                          "written": [str(p) for p in
                                      result.written.created + result.written.changed]})
        return
    rows = []
    for c in result.candidates:
        personal = ", ".join(f"{col.name} ({col.classification})" for col in c.columns
                             if col.classification in ("pii", "sensitive"))
        rows.append((c.model, str(c.score), "; ".join(c.reasons), ", ".join(c.primary_key),
                     personal, "; ".join(c.blockers)))
    render.console(highlight=False).print(render.table(
        ("model", "score", "why", "key", "personal data", "to do"), rows, literal=True,
        title=f"{len(result.candidates)} candidate product(s) in {literal(domain)}"))
    _report(result.written, mesh.root)
    if result.written.created or result.written.changed:
        click.echo("Review the YAML (status: draft), then `mesh build` publishes the products.")
