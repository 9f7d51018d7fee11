"""``mesh serve``, ``mesh shell`` and ``mesh access request / approve / deny / list``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from meshkit.cli.errors import handle_errors
from meshkit.cli.options import mesh_option, target_option

as_option = click.option("--as", "as_user", default=None, metavar="EMAIL",
                          help="Who you are (default: $MESH_USER, else git config user.email).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON only.")


@click.command()
@mesh_option
@click.option("--port", "-p", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0: any free one).")
@handle_errors
def serve(mesh_file: Path, port: int) -> None:
    """Serve the marketplace (catalog/site/, written by mesh-sync) on 127.0.0.1."""
    from meshkit.catalog.store import SITE_DIR
    from meshkit.config import load_mesh
    from meshkit.marketplace.serve import serve as run

    mesh = load_mesh(mesh_file)
    run(mesh.catalog_dir / SITE_DIR, port,
        on_ready=lambda url: click.echo(f"marketplace at {url}  (Ctrl-C to stop)", err=True))


@click.command()
@mesh_option
@target_option()
@click.option("--role", "-r", "roles", multiple=True,
              help="Role of the session (repeatable). None: the most restrictive view.")
@handle_errors
def shell(mesh_file: Path, target: str | None, roles: tuple[str, ...]) -> None:
    """Interactive SQL on the mesh as a role: ';' ends a statement, \\q quits."""
    from meshkit.backends.duckdb.query import connect
    from meshkit.cli.build_cmds import print_result
    from meshkit.config import load_mesh
    from meshkit.shell import Shell

    mesh = load_mesh(mesh_file)
    connect(mesh, list(roles), target).close()  # unknown role or no warehouse: fail up front
    Shell(mesh, list(roles), target, render=print_result, write=click.echo).run()


@click.group()
def access() -> None:
    """Access requests: a role asks to read a product whole; its owner decides; all audited."""


def _show(request: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(request.model_dump(mode="json"), indent=2, sort_keys=True))
        return
    click.echo(f"{request.id}  {request.status}  role {request.role} on {request.product}"
               + (f"  (by {request.decided_by})" if request.decided_by else ""))


@access.command("request")
@mesh_option
@click.option("--product", "-P", required=True, help="The product, as <domain>.<product>.")
@click.option("--role", "-r", required=True, help="The role that should read it.")
@click.option("--reason", required=True, help="Why the role needs it (shown to the owner).")
@as_option
@json_option
@handle_errors
def request_cmd(mesh_file: Path, product: str, role: str, reason: str, as_user: str | None,
                as_json: bool) -> None:
    """Ask the product's owner for ROLE to read PRODUCT whole (unmasked, every row)."""
    from meshkit.access import REQUESTS_FILE, acting_user, request_access
    from meshkit.config import load_mesh

    mesh = load_mesh(mesh_file)
    req = request_access(mesh, product=product, role=role, reason=reason,
                         user=acting_user(as_user, mesh.root))
    _show(req, as_json)
    if not as_json:
        click.echo(f"recorded in {mesh.root / REQUESTS_FILE}; commit it for review. The owner "
                   f"decides with `mesh access approve {req.id}` or `mesh access deny {req.id}`.")


def _decide(mesh_file: Path, request_id: str, approve: bool, as_user: str | None,
            note: str | None, as_json: bool) -> None:
    from meshkit.access import acting_user, decide
    from meshkit.config import load_mesh

    mesh = load_mesh(mesh_file)
    req = decide(mesh, request_id, approve=approve, user=acting_user(as_user, mesh.root),
                 note=note)
    _show(req, as_json)
    if not as_json and approve:
        click.echo(f"in force now for `mesh query --role {req.role}` on DuckDB; `mesh plan` "
                   f"shows the Snowflake grant; `mesh-sync` refreshes the marketplace.")


@access.command("approve")
@click.argument("request_id")
@mesh_option
@as_option
@click.option("--note", default=None, help="A note for the audit log.")
@json_option
@handle_errors
def approve(request_id: str, mesh_file: Path, as_user: str | None, note: str | None,
            as_json: bool) -> None:
    """Approve a pending request (the product's owner only)."""
    _decide(mesh_file, request_id, True, as_user, note, as_json)


@access.command("deny")
@click.argument("request_id")
@mesh_option
@as_option
@click.option("--note", default=None, help="A note for the audit log.")
@json_option
@handle_errors
def deny(request_id: str, mesh_file: Path, as_user: str | None, note: str | None,
         as_json: bool) -> None:
    """Deny a pending request (the product's owner only)."""
    _decide(mesh_file, request_id, False, as_user, note, as_json)


@access.command("list")
@mesh_option
@click.option("--product", "-P", default=None, help="Only this product's requests.")
@json_option
@handle_errors
def list_cmd(mesh_file: Path, product: str | None, as_json: bool) -> None:
    """Every access request with its status."""
    from meshkit.access import load_requests
    from meshkit.cli import render
    from meshkit.config import load_mesh

    requests = [r for r in load_requests(load_mesh(mesh_file)).requests
                if product is None or r.product == product]
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in requests], indent=2,
                              sort_keys=True))
        return
    # A reason is user input: shown as written (render.table's cells), never as markup.
    render.console(highlight=False).print(render.table(
        ("id", "product", "role", "status", "requested by", "decided by", "reason"),
        [(r.id, r.product, r.role, r.status, r.requested_by, r.decided_by or "", r.reason)
         for r in requests], title=f"{len(requests)} access request(s)"))
