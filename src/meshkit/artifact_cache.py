"""What a domain's artifacts project to, kept by content: ``<mesh>/.catalog-cache/artifacts/``.

The check engine reads every domain's artifacts on every sync (a consumer's break is found from
its producer), also when only one domain changed. Projecting dbt's manifest into
:class:`~meshkit.artifacts.DomainArtifacts` costs five to six times as much as validating the
projection back from JSON with pydantic, so each projection is kept, one file per domain, named
by a key over the hash of the artifact bytes and over the code that projects them: a change of
either is a miss, never a stale projection.

A file that cannot be read, validated or written only costs time: the artifacts are projected
again. Like the lineage cache beside it, the folder belongs to the platform and is as trusted as
the mesh root it is in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from meshkit.artifacts import (
    ArtifactSource,
    DomainArtifacts,
    RawArtifacts,
    parse_artifacts,
    read_raw,
)
from meshkit.code_fingerprint import code_fingerprint

ARTIFACT_CACHE_DIR = ".catalog-cache/artifacts"


def _projection_fingerprint() -> bytes:
    """The code a projection depends on: a new meshkit (or an edited checkout) is a miss."""
    return code_fingerprint(("meshkit.artifacts", "meshkit.dbt_manifest"))


@functools.cache
def _adapter() -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(DomainArtifacts)


def _key(raw: RawArtifacts) -> str:
    return hashlib.sha256(_projection_fingerprint() + raw.content_hash.encode()).hexdigest()


def _frozenset_as_list(value: Any) -> Any:
    if isinstance(value, frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class ArtifactCache:
    """Projections of domains' artifacts by content, in ``directory`` (None: none); new ones are
    kept there only with ``write`` (a read-only command such as `mesh check` writes nothing)."""

    def __init__(self, directory: Path | None, *, write: bool = True) -> None:
        self.directory = directory
        self.write = write

    @classmethod
    def of(cls, mesh_root: Path, *, write: bool = True) -> ArtifactCache:
        return cls(mesh_root / ARTIFACT_CACHE_DIR, write=write)

    def read(self, domain: str, source: ArtifactSource) -> DomainArtifacts:
        """:func:`~meshkit.artifacts.read_domain_artifacts`, through the cache."""
        return self.project(domain, read_raw(source))

    def project(self, domain: str, raw: RawArtifacts) -> DomainArtifacts:
        """:func:`~meshkit.artifacts.parse_artifacts` of ``raw``, from the cache when it holds
        the projection of these bytes (then kept there)."""
        if self.directory is None:
            return parse_artifacts(raw)
        key = _key(raw)
        folder = self.directory / domain
        cached = self._load(folder / f"{key}.json")
        if cached is not None:
            # The same bytes may have been read from another place (the mesh was moved).
            return dataclasses.replace(cached, location=raw.location)
        arts = parse_artifacts(raw)
        if self.write:
            self._store(folder, key, arts)
        return arts

    def forget_others(self, domains: Iterable[str]) -> None:
        """Drop the projections of domains other than ``domains`` (those that left the mesh)."""
        if self.directory is None or not self.write or not self.directory.is_dir():
            return
        keep = set(domains)
        for folder in self.directory.iterdir():
            if folder.is_dir() and folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def _load(path: Path) -> DomainArtifacts | None:
        from pydantic import ValidationError

        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            arts: DomainArtifacts = _adapter().validate_json(data)
        except (ValidationError, ValueError):
            return None
        return arts

    @staticmethod
    def _store(folder: Path, key: str, arts: DomainArtifacts) -> None:
        import orjson

        from meshkit.files import atomic_write

        with contextlib.suppress(OSError, TypeError):
            data = orjson.dumps(arts, default=_frozenset_as_list)
            atomic_write(folder / f"{key}.json", data, durable=False)
            # One projection per domain: the one of its artifacts as they are now.
            for old in folder.glob("*.json"):
                if old.name != f"{key}.json":
                    old.unlink(missing_ok=True)
