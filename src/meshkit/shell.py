"""``mesh shell``: an interactive SQL prompt on the mesh, as a role.

Each statement goes through :func:`meshkit.backends.duckdb.query.query` — the same guard, the same role
session and the same query audit as ``mesh query`` — and prints the same table. A statement
may span lines and ends with ``;``. History is kept with the standard library's ``readline``
(in ``$MESH_SHELL_HISTORY``, default ``~/.mesh_shell_history``).

Commands: ``\\q`` quits, ``\\d`` lists the secure views, ``\\role [R ...]`` shows or changes
the session's roles, ``\\help``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from meshkit.config import Mesh
from meshkit.errors import MeshError

HISTORY_ENV = "MESH_SHELL_HISTORY"
HELP = """\
Type SQL ending with ';' (it may span lines). Only the secure views of the mesh can be read.
  \\d          list the datasets you can query
  \\role [R..] show or set the session's roles (none: the most restrictive view)
  \\q          quit (or Ctrl-D)"""


def statement_complete(buffer: str) -> bool:
    """Whether the text typed so far ends a statement (a ``;`` outside quotes and comments).

    >>> statement_complete("select 1"), statement_complete("select ';'"), statement_complete("select 1;")
    (False, False, True)
    """
    import sqlglot
    from sqlglot.errors import SqlglotError
    from sqlglot.tokens import TokenType  # type: ignore[attr-defined]

    text = buffer.rstrip()
    if not text.endswith(";"):
        return False
    try:
        tokens = sqlglot.tokenize(text, read="duckdb")
    except SqlglotError:
        return True  # let the guard report the error
    return bool(tokens) and tokens[-1].token_type == TokenType.SEMICOLON


def _history_file() -> Path:
    return Path(os.environ.get(HISTORY_ENV) or Path.home() / ".mesh_shell_history")


class Shell:
    """The read-eval-print loop; ``read`` and ``write`` are injectable for tests."""

    def __init__(self, mesh: Mesh, roles: list[str], target: str | None,
                 render: Callable[[object, list[str]], None],
                 write: Callable[[str], None], read: Callable[[str], str] = input) -> None:
        from meshkit.backends.duckdb.query import secure_views

        self.mesh, self.roles, self.target = mesh, roles, target
        self.render, self.write, self.read = render, write, read
        self.views = secure_views(mesh)

    @property
    def prompt(self) -> str:
        return f"mesh({','.join(self.roles) or 'no role'})> "

    def run(self) -> None:
        readline = _setup_history()
        self.write(f"mesh shell on {self.mesh.config.name}; roles: "
                   f"{', '.join(self.roles) or '(none: most restrictive)'}. \\help for help.")
        buffer: list[str] = []
        try:
            while True:
                try:
                    line = self.read(self.prompt if not buffer else " " * (len(self.prompt) - 5)
                                     + "...> ")
                except EOFError:
                    self.write("")
                    return
                except KeyboardInterrupt:
                    buffer = []
                    self.write("")
                    continue
                if not buffer and line.strip().startswith("\\"):
                    if not self.command(line.strip()):
                        return
                    continue
                if not buffer and not line.strip():
                    continue
                buffer.append(line)
                text = "\n".join(buffer)
                if statement_complete(text):
                    buffer = []
                    self.execute(text)
        finally:
            if readline is not None:
                with contextlib.suppress(OSError):
                    readline.write_history_file(str(_history_file()))

    def execute(self, sql: str) -> None:
        from meshkit.backends.duckdb.query import query

        try:
            result = query(self.mesh, sql, self.roles, self.target, views=self.views,
                           client="shell")
        except MeshError as exc:
            self.write(f"error: {exc}")
            return
        self.render(result, self.roles)

    def command(self, line: str) -> bool:
        """Run a backslash command; False to quit."""
        name, *args = line.split()
        if name in ("\\q", "\\quit", "\\exit"):
            return False
        if name == "\\d":
            for view in sorted(".".join(v) for v in self.views):
                self.write(f"  {view}")
        elif name == "\\role":
            if args:
                from meshkit.backends.duckdb.query import connect

                try:
                    connect(self.mesh, args, self.target).close()  # checks the role names
                except MeshError as exc:
                    self.write(f"error: {exc}")
                    return True
                self.roles = args
            self.write(f"roles: {', '.join(self.roles) or '(none)'}")
        else:
            self.write(HELP)
        return True


def _setup_history() -> Any:
    try:
        import readline
    except ImportError:  # pragma: no cover - platforms without readline
        return None
    file = _history_file()
    with contextlib.suppress(OSError):
        readline.read_history_file(str(file))
    readline.set_history_length(1000)
    return readline
