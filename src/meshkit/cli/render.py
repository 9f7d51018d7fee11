"""How results are shown: JSON for machines, rich tables and CSV for people, in one place."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click

from meshkit.terminal import literal_text


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.time):  # datetime too: ISO 8601, as JSON readers expect
        return value.isoformat()
    return str(value)  # Decimal, UUID, Path, ...


def echo_json(data: Any, *, sort_keys: bool = False) -> None:
    """Print ``data`` as indented JSON on stdout (dates in ISO 8601, other values as strings).

    >>> echo_json({"when": dt.date(2026, 1, 2), "big": 2**70, "a": [1]}, sort_keys=True)
    {
      "a": [
        1
      ],
      "big": 1180591620717411303424,
      "when": "2026-01-02"
    }
    """
    import orjson

    # orjson: a sync's report of a large mesh is megabytes, a second through the json module.
    option = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | (orjson.OPT_SORT_KEYS if sort_keys
                                                             else 0)
    try:
        text = orjson.dumps(data, default=_jsonable, option=option).decode()
    except TypeError:  # what orjson cannot hold (an integer beyond 64 bits: a HUGEINT)
        text = json.dumps(data, indent=2, sort_keys=sort_keys, default=_jsonable)
    click.echo(text)


def echo_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    writer.writerows(rows)
    click.echo(buf.getvalue(), nl=False)


def cell(value: Any) -> Any:
    """A value in a table: a rich ``Text`` (our own styling) as it is; anything else shown as
    written (:func:`~meshkit.terminal.literal_text`: names and descriptions come from dbt's
    artifacts and mesh.yml); None as NULL."""
    from rich.text import Text

    if isinstance(value, Text):
        return value
    return literal_text("NULL" if value is None else value)


def literal_cell(value: Any) -> Any:
    """A value of data as literal text (a NULL dimmed): what the warehouse returned."""
    return literal_text("NULL", style="dim") if value is None else literal_text(value)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None,
          caption: str | None = None, right: Sequence[str] = (), literal: bool = False) -> Any:
    """A rich table of ``rows`` (:func:`cell`), or, with ``literal``, of data from the
    warehouse (:func:`literal_cell`)."""
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
