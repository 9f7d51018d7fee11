"""The one place where meshkit errors become a message and an exit code."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from meshkit.errors import MeshError
from meshkit.terminal import visible

F = TypeVar("F", bound=Callable[..., Any])


def report(exc: MeshError) -> None:
    # A message may quote the input (a name, the SQL): its control characters are shown escaped.
    click.secho(f"error: {visible(exc, lines=True)}", fg="red", err=True)


def fail(exc: MeshError) -> NoReturn:
    """Report ``exc`` on stderr and exit with its code (2 bad input, 1 violations)."""
    report(exc)
    sys.exit(exc.exit_code)


def handle_errors(fn: F) -> F:
    """Turn a MeshError raised by ``fn`` into its message on stderr and its exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MeshError as exc:
            fail(exc)

    return wrapper  # type: ignore[return-value]
