"""The options every command shares (``--mesh``, ``--target``, ``--json``), declared once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from meshkit.mesh import Mesh

DEFAULT_MESH_FILE = "mesh.yml"

mesh_option = click.option(
    "--mesh", "mesh_file", default=DEFAULT_MESH_FILE, show_default=True,
    type=click.Path(dir_okay=False, path_type=Path), help="The mesh file.",
)
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print machine-readable JSON only.")


def parse_jobs(ctx: click.Context, param: click.Parameter, value: str) -> int | None:
    """``--jobs``: a number of processes, at least 1, or ``auto`` (None: the library decides)."""
    if value.strip().lower() == "auto":
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise click.BadParameter(f"{value!r} is neither a number of processes (1 or more) nor "
                                 "'auto'")
    return number


def target_option(default: str | None = None,
                  help: str = "Target of mesh.yml (default: dev).") -> Callable[[Any], Any]:
    """``--target/-t``: a target of mesh.yml (``dev`` unless the command is Snowflake-only)."""
    return click.option("--target", "-t", default=default, show_default=default is not None,
                        help=help)


def load(mesh_file: Path) -> Mesh:
    """The mesh of ``--mesh`` (raises ConfigError: file, line and fix)."""
    from meshkit.mesh import Mesh

    return Mesh.load(mesh_file)
