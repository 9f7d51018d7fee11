"""How results are shown: JSON for machines, rich tables and CSV for people, in one place."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.time):  # datetime too: ISO 8601, as JSON readers expect
        return value.isoformat()
    return str(value)  # Decimal, UUID, Path, ...


def echo_json(data: Any, *, sort_keys: bool = False) -> None:
    """Print ``data`` as indented JSON on stdout (dates in ISO 8601, other values as strings)."""
    click.echo(json.dumps(data, indent=2, sort_keys=sort_keys, default=_jsonable))


def echo_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    writer.writerows(rows)
    click.echo(buf.getvalue(), nl=False)


def cell(value: Any) -> str:
    """A value of our own (rich markup allowed); None as NULL."""
    return "NULL" if value is None else str(value)


# C0/C1 control characters: ESC starts a terminal escape sequence; a tab or newline in a cell is
# shown as \t / \n too.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def literal_cell(value: Any) -> Any:
    """A value as literal text: no rich markup interpreted, control characters shown escaped
    (data and column names that come from the warehouse, not from us)."""
    from rich.text import Text

    if value is None:
        return Text("NULL", style="dim")
    return Text(_CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), str(value)))


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None,
          caption: str | None = None, right: Sequence[str] = (), literal: bool = False) -> Any:
    """A rich table of ``rows``: our own values with markup (:func:`cell`), or, with
    ``literal``, data shown as is (:func:`literal_cell`, headers included)."""
    from rich.table import Table

    show = literal_cell if literal else cell
    t = Table(title=title, caption=caption)
    for col in columns:
        t.add_column(show(col), justify="right" if col in right else "left")
    for row in rows:
        t.add_row(*(show(v) for v in row))
    return t


def import_tables() -> None:
    """Import rich's console and tables (a query passes this as the work to do while DuckDB
    opens its session: the table it prints then costs no import time). Never raises: an import
    that fails here fails again, and is reported, where the table is printed."""
    with contextlib.suppress(Exception):
        import rich.console
        import rich.table  # noqa: F401


def console(*, stderr: bool = False, quiet: bool = False, highlight: bool = True) -> Any:
    from rich.console import Console

    class PipedConsole(Console):
        def on_broken_pipe(self) -> None:
            # The reader left (`mesh query ... | head`): the command did its work, as with
            # --format csv or json (rich's own handler exits 1). Nothing more reaches stdout.
            self.quiet = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(0)

    return PipedConsole(stderr=stderr, quiet=quiet, highlight=highlight)
