"""`mesh init`, `mesh new domain|product`, `mesh onboard`, `mesh suggest products`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from meshkit.cli.errors import handle_errors
from meshkit.cli.options import mesh_option


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

    written = init_mesh(folder, name, description)
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
    from meshkit.config import load_mesh
    from meshkit.selfserve.scaffold import new_domain as scaffold

    mesh = load_mesh(mesh_file)
    _report(scaffold(mesh, name, owner_email, owner_name=owner_name, description=description,
                     reads=list(reads)), mesh.root)
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
    from meshkit.config import load_mesh
    from meshkit.selfserve.scaffold import new_product as scaffold

    mesh = load_mesh(mesh_file)
    _report(scaffold(mesh, domain, name, dataset=dataset, owner_email=owner_email), mesh.root)
    click.echo(f"product {domain}.{name} added (status draft). Fill in the TODOs, then mesh build")
