"""The typed errors of meshkit.

Every error names where the problem is (a file, and a place in it: a line, a key path or a dbt
``unique_id``) and how to fix it. The CLI turns them into a message and an exit code in one place
(:func:`meshkit.cli.main.handle_errors`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class MeshError(Exception):
    """Base of all meshkit errors. ``exit_code`` follows SPEC.md: 2 bad input, 1 violations."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        location: str | None = None,
        fix: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = Path(file) if file is not None else None
        self.location = location
        self.fix = fix

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = str(self.file)
            if self.location:
                where += f":{self.location}"
            where += ": "
        text = f"{where}{self.message}"
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


class ConfigError(MeshError):
    """mesh.yml (or another meshkit config file) is missing or invalid."""


class ArtifactError(MeshError):
    """A dbt artifact is missing, unreadable or of an unsupported schema version."""


class UsageError(MeshError):
    """A command was called with options that do not fit together."""


class BuildFailed(MeshError):
    """One or more domains failed to build."""

    exit_code = 1


class ViolationsFound(MeshError):
    """Contract or policy violations of error severity were found."""

    exit_code = 1


def did_you_mean(word: str, options: Iterable[str], *, quote: bool = True) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options``, or ``""``: the one hint of
    every "unknown name" error.

    >>> did_you_mean("risk_analist", ["risk_analyst", "analyst"])
    " (did you mean 'risk_analyst'?)"
    >>> did_you_mean("a.b.cc", ["a.b.c"], quote=False), did_you_mean("zzz", ["a"])
    (' (did you mean a.b.c?)', '')
    """
    import difflib

    close = difflib.get_close_matches(word, list(options), n=1)
    if not close:
        return ""
    return f" (did you mean {close[0]!r}?)" if quote else f" (did you mean {close[0]}?)"
