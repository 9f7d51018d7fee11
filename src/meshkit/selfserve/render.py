"""Rendering the package's templates and writing them, never over an existing file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from meshkit.errors import UsageError
from meshkit.files import atomic_write

TEMPLATE_SUFFIX = ".j2"


@cache
def _environment() -> Any:
    import jinja2

    root = resources.files("meshkit.selfserve") / "templates"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,  # a missing variable is a bug, not an empty string
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, **context: Any) -> str:
    """Render ``templates/<template>`` (a ``.j2`` file) with ``context``."""
    text: str = _environment().get_template(template).render(**context)
    return text


def template_text(template: str) -> str:
    """The bytes of a template copied as it is (not rendered)."""
    return (resources.files("meshkit.selfserve") / "templates" / template).read_text()


def render_tree(folder: str, **context: Any) -> dict[str, str]:
    """Every file under ``templates/<folder>``: relative path -> text (``.j2`` rendered and its
    suffix dropped)."""
    root = resources.files("meshkit.selfserve") / "templates" / folder
    out: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                if child.name != "__pycache__":
                    walk(child, rel + "/")
            elif rel.endswith(TEMPLATE_SUFFIX):
                out[rel.removesuffix(TEMPLATE_SUFFIX)] = render(f"{folder}/{rel}", **context)
            else:
                out[rel] = child.read_text()

    walk(root, "")
    return out


@dataclass
class Written:
    """What a scaffolding step wrote (paths relative to the mesh root where possible)."""

    created: list[Path] = field(default_factory=list)
    changed: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def write_new(dest: Path, files: Mapping[str, str], written: Written) -> None:
    """Write ``files`` under ``dest``; refuses (before writing anything) if one exists."""
    existing = [dest / rel for rel in files if (dest / rel).exists()]
    if existing:
        raise UsageError(f"would overwrite {len(existing)} existing file(s), e.g. {existing[0]}",
                         file=existing[0], fix="choose another name or folder, or remove them")
    for rel, text in files.items():
        path = dest / rel
        write_text(path, text)
        written.created.append(path)


def write_text(path: Path, text: str) -> None:
    """Write a file whole or not at all (temporary file beside it, then renamed)."""
    atomic_write(path, text)
