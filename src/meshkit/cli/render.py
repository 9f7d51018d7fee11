"""How results are shown: JSON for machines, rich tables and CSV for people, in one place."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

import click


def echo_json(data: Any, *, sort_keys: bool = False) -> None:
    """Print ``data`` as indented JSON on stdout (dates and paths as strings)."""
    click.echo(json.dumps(data, indent=2, sort_keys=sort_keys, default=str))


def echo_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    writer.writerows(rows)
    click.echo(buf.getvalue(), nl=False)


def cell(value: Any) -> str:
    return "NULL" if value is None else str(value)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None,
          caption: str | None = None, right: Sequence[str] = ()) -> Any:
    """A rich table of ``rows`` (values shown with :func:`cell`; markup kept)."""
    from rich.table import Table

    t = Table(title=title, caption=caption)
    for col in columns:
        t.add_column(col, justify="right" if col in right else "left")
    for row in rows:
        t.add_row(*(cell(v) for v in row))
    return t


def console(*, stderr: bool = False, quiet: bool = False, highlight: bool = True) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, quiet=quiet, highlight=highlight)
