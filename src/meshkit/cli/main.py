"""``mesh`` and ``mesh-sync``.

Subcommands live in modules of their own and are imported only when run, so ``mesh --help``
does not pay for dbt, DuckDB or sqlglot.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, NoReturn

import click

from meshkit import __version__
from meshkit.cli.errors import fail
from meshkit.errors import MeshError

# name -> (module:attribute, one-line help shown by `mesh --help` without importing it)
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("meshkit.cli.build_cmds:build", "Build domains in dependency order, then sync."),
    "query": ("meshkit.cli.build_cmds:query", "Run SQL as a role against the mesh (DuckDB)."),
    "generate": ("meshkit.cli.build_cmds:generate",
                 "Regenerate the platform's policy macro from mesh.yml."),
    "env": ("meshkit.cli.build_cmds:env",
            "Print the environment for dbt in a domain (the installed platform, the warehouse)."),
    "demo-data": ("meshkit.cli.build_cmds:demo_data",
                  "Generate the demo's raw data (deterministic, scalable)."),
    "sync": ("meshkit.cli.catalog_cmds:mesh_sync", "Same as mesh-sync."),
    "catalog": ("meshkit.cli.catalog_cmds:catalog", "Discover products: list, show, search."),
    "serve": ("meshkit.cli.marketplace_cmds:serve",
              "Browse the marketplace site on http://127.0.0.1 (loopback only)."),
    "shell": ("meshkit.cli.marketplace_cmds:shell",
              "Interactive SQL prompt on the mesh, as a role (same guard as query)."),
    "access": ("meshkit.cli.marketplace_cmds:access",
               "Access requests to products: request, approve, deny, list (audited)."),
    "plan": ("meshkit.cli.snowflake_cmds:plan", "Print the Snowflake DDL of the utility plane."),
    "apply": ("meshkit.cli.snowflake_cmds:apply", "Run the Snowflake DDL of the utility plane."),
    "contract": ("meshkit.cli.contract_cmds:contract",
                 "Dataset contracts: diff with verdicts, ODCS v3 export."),
    "check": ("meshkit.cli.check_cmds:check",
              "Check contracts and policies across the mesh (the CI gate; writes nothing)."),
    "init": ("meshkit.cli.selfserve_cmds:init", "Create a new, empty mesh in a folder."),
    "new": ("meshkit.cli.selfserve_cmds:new", "Scaffold a domain or a data product."),
    "onboard": ("meshkit.cli.selfserve_cmds:onboard",
                "Make an existing dbt project a domain; report what it lacks."),
    "suggest": ("meshkit.cli.selfserve_cmds:suggest",
                "Suggest data products of a domain, with their contract YAML."),
}


def load_command(name: str) -> click.Command:
    module, attr = COMMANDS[name][0].split(":")
    command: click.Command = getattr(importlib.import_module(module), attr)
    return command


class LazyGroup(click.Group):
    """A group whose subcommands are imported on use, with errors handled in one place."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        return load_command(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MeshError as exc:
            fail(exc)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="meshkit")
def cli() -> None:
    """meshkit: a governed data mesh from a set of dbt projects."""


def main() -> NoReturn:
    """Entry point of the ``mesh`` script: the command, then the process ends at once
    (:func:`meshkit.shutdown.leave`)."""
    _run_as_process(cli)


def mesh_sync() -> NoReturn:
    """Entry point of the ``mesh-sync`` script."""
    _run_as_process(lambda: load_command("sync")(prog_name="mesh-sync"))


def _run_as_process(command: Callable[[], Any]) -> NoReturn:
    # Only the scripts end this way: click's test runner calls `cli` itself, in its own process.
    from meshkit.shutdown import leave

    try:
        command()
    except SystemExit as exc:
        leave(exc.code)
    leave(0)


if __name__ == "__main__":  # `python -m meshkit.cli.main` (tests drive it in a pseudo-terminal)
    main()
