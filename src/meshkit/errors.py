"""The typed errors of meshkit.

Every error names where the problem is (a file, and a place in it: a line, a key path or a dbt
``unique_id``) and how to fix it. The CLI turns them into a message and an exit code in one place
(:func:`meshkit.cli.main.handle_errors`).
"""

from __future__ import annotations

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
