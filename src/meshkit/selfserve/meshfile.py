"""Editing mesh.yml in place: comments, key order and flow style are kept (ruamel.yaml's
round trip), and the result is validated before it replaces the file."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from meshkit.config import Mesh, load_mesh
from meshkit.errors import ConfigError, UsageError
from meshkit.files import read_text
from meshkit.selfserve.render import write_text


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip: comments and styles survive
    yaml.preserve_quotes = True
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load_document(file: Path) -> Any:
    from ruamel.yaml.error import YAMLError

    try:
        return _yaml().load(read_text(file))
    except YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=file,
                          fix="correct the YAML syntax") from None


def dump_document(doc: Any) -> str:
    buf = io.StringIO()
    _yaml().dump(doc, buf)
    return buf.getvalue()


def add_domain(mesh: Mesh, entry: dict[str, Any]) -> Mesh:
    """Append ``entry`` to ``domains:`` of the mesh's file; returns the reloaded mesh.

    The entry is inserted as text after the last domain (or in place of ``domains: []``), so
    every other byte of the file (comments, alignment) stays as it was; ruamel.yaml only says
    where. Refuses a name already registered. The new text is validated as a mesh.yml before it
    replaces the old one, so a bad entry changes nothing.
    """
    name = entry["name"]
    if any(d.name == name for d in mesh.config.domains):
        raise UsageError(f"domain {name!r} is already in the mesh", file=mesh.file,
                         location="domains", fix="choose another name, or remove the entry first")
    text = read_text(mesh.file)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    doc = load_document(mesh.file)
    keys = list(doc)
    if "domains" not in keys:
        raise ConfigError("no `domains:` key", file=mesh.file, fix="add `domains: []`")
    line_no = doc.lc.key("domains")[0]
    domains = doc["domains"]
    block = _entry_text(entry)
    if not domains:  # `domains: []` (or `domains:` alone): the entries start under the key
        lines[line_no] = "domains:\n" + block
    else:
        after = keys.index("domains") + 1
        end = doc.lc.key(keys[after])[0] if after < len(keys) else len(lines)
        # Blank lines and top-level comments just above the next key belong to that key.
        while end > line_no + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
            end -= 1
        lines.insert(end, block)
    return _replace(mesh.file, "".join(lines))


def _entry_text(entry: dict[str, Any]) -> str:
    """One ``domains:`` item in mesh.yml's own style (nested mappings in flow style)."""
    from ruamel.yaml.comments import CommentedMap

    item = CommentedMap()
    for key, value in entry.items():
        if isinstance(value, dict):
            inner = CommentedMap(value)
            inner.fa.set_flow_style()
            item[key] = inner
        else:
            item[key] = value
    return dump_document([item])


def _replace(file: Path, text: str) -> Mesh:
    candidate = file.with_name(f".{file.name}.candidate")
    candidate.write_text(text)
    try:
        load_mesh(candidate)
    except ConfigError as exc:
        raise ConfigError(f"the edit would make mesh.yml invalid: {exc.message}", file=file,
                          location=exc.location, fix=exc.fix or "") from None
    finally:
        candidate.unlink(missing_ok=True)
    write_text(file, text)
    return load_mesh(file)
