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

Knowing that a domain is unchanged used to mean reading and hashing every artifact of every
domain, twice a sync (its projection, then the checks). :class:`FileDigests` keeps each artifact
file's SHA-256 with the file's identity and times as ``stat`` gives them (device, inode, size,
modification and change time in nanoseconds), as git's index does: while all five are as they
were, the digest stands for the bytes. Writing a file, replacing it or copying another over it
with its times kept changes the change time or the inode, which no user can set back. A digest is
kept only for bytes that stayed the same from before to after the read and whose file had not been
touched for two seconds, so a write in the same tick of the file system's clock as the read
cannot hide behind an identical ``stat``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from meshkit.artifacts import (
    ARTIFACT_FILES,
    MANIFEST,
    ArtifactSource,
    DomainArtifacts,
    LocalArtifacts,
    RawArtifacts,
    combined_hash,
    parse_artifacts,
    read_raw,
    with_compiled_files,
)
from meshkit.code_fingerprint import code_fingerprint

ARTIFACT_CACHE_DIR = ".catalog-cache/artifacts"
FILE_DIGESTS = ".catalog-cache/artifact-digests.json"
_DIGESTS_FORMAT = 1
_SETTLED_NS = 2_000_000_000  # a file untouched this long before its read may be known by stat


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


# On Windows st_ctime is the creation time, which a rewrite in place keeps: no file is known by
# its stat there, every one is read.
_STAT_KNOWS = os.name == "posix"


class FileDigests:
    """The SHA-256 of artifact files by absolute path, each with the ``stat`` identity it holds
    for; read from ``path`` (None: none kept), saved there by :meth:`save` (with ``write``)."""

    def __init__(self, path: Path | None, *, write: bool = True) -> None:
        self.path, self.write = path, write
        self._known: dict[str, tuple[tuple[int, ...], bytes]] = {}
        self._changed = False
        if path is None:
            return
        try:
            data = orjson.loads(path.read_bytes())
            if data.get("format") == _DIGESTS_FORMAT:
                self._known = {str(f): (tuple(int(x) for x in ident), bytes.fromhex(digest))
                               for f, (ident, digest) in data["files"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            self._known = {}
        # Only the exact shape: anything else is not believed.
        if not all(len(i) == 5 and len(d) == 32 for i, d in self._known.values()):
            self._known = {}

    def content_hash(self, folder: Path) -> str | None:
        """The domain's content hash from the digests of its files as they are now, without
        reading them; None when a file present is not known by its current ``stat``."""
        if not _STAT_KNOWS:
            return None
        digests = {}
        for name in ARTIFACT_FILES:
            file = folder / name
            try:
                st = os.stat(file)
            except FileNotFoundError:
                if name == MANIFEST:
                    return None  # reading it raises the error that names the fix
                continue  # absent, as a read would find it
            except OSError:
                return None
            known = self._known.get(str(file))
            if known is None or known[0] != _identity(st):
                return None
            digests[name] = known[1]
        return combined_hash(digests)

    def read(self, source: ArtifactSource, *, hint: str = "dbt build") -> RawArtifacts:
        """:func:`~meshkit.artifacts.read_raw`, keeping the digests of a local folder's files."""
        if not isinstance(source, LocalArtifacts):
            return read_raw(source, hint=hint)
        before = {name: self._stat(source.path / name) for name in ARTIFACT_FILES}
        raw = read_raw(source, hint=hint)
        now = time.time_ns()
        for name, data in raw.files.items():
            file = source.path / name
            st, after = before[name], self._stat(file)
            # (Not the whole stat: reading the file may move its access time.)
            if (st is None or after is None or _identity(after) != _identity(st)
                    or st.st_size != len(data)
                    or now - max(st.st_mtime_ns, st.st_ctime_ns) < _SETTLED_NS):
                continue
            entry = (_identity(st), raw.digests[name])
            if self._known.get(str(file)) != entry:
                self._known[str(file)] = entry
                self._changed = True
        return raw

    @staticmethod
    def _stat(file: Path) -> os.stat_result | None:
        try:
            return os.stat(file)
        except OSError:
            return None

    def save(self) -> None:
        """Keep the digests (those of files gone or changed drop out as they are replaced)."""
        from meshkit.files import atomic_write

        if self.path is None or not self.write or not self._changed:
            return
        files = {f: [list(ident), digest.hex()] for f, (ident, digest) in self._known.items()
                 if self._stat(Path(f)) is not None}
        with contextlib.suppress(OSError):
            atomic_write(self.path, orjson.dumps({"format": _DIGESTS_FORMAT, "files": files}),
                         durable=False)
        self._changed = False


def _projection_fingerprint() -> bytes:
    """The code a projection depends on: a new meshkit (or an edited checkout) is a miss."""
    return code_fingerprint(("meshkit.artifacts", "meshkit.dbt_manifest"))


@functools.cache
def _adapter() -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(DomainArtifacts)


def _key(content_hash: str) -> str:
    return hashlib.sha256(_projection_fingerprint() + content_hash.encode()).hexdigest()


def _frozenset_as_list(value: Any) -> Any:
    if isinstance(value, frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class ArtifactCache:
    """Projections of domains' artifacts by content, in ``directory`` (None: none); new ones are
    kept there only with ``write`` (a read-only command such as `mesh check` writes nothing)."""

    def __init__(self, directory: Path | None, *, write: bool = True,
                 digests: FileDigests | None = None) -> None:
        self.directory = directory
        self.write = write
        self.digests = digests or FileDigests(None)

    @classmethod
    def of(cls, mesh_root: Path, *, write: bool = True) -> ArtifactCache:
        return cls(mesh_root / ARTIFACT_CACHE_DIR, write=write,
                   digests=FileDigests(mesh_root / FILE_DIGESTS, write=write))

    def read(self, domain: str, source: ArtifactSource) -> DomainArtifacts:
        """:func:`~meshkit.artifacts.read_domain_artifacts`, through the cache: a projection
        kept for the files as they are now is taken without reading them."""
        if self.directory is not None and isinstance(source, LocalArtifacts):
            known = self.digests.content_hash(source.path)
            if known is not None:
                cached = self._load(self.directory / domain / f"{_key(known)}.json")
                if cached is not None:
                    return with_compiled_files(
                        dataclasses.replace(cached, location=source.location))
        return self.project(domain, self.digests.read(source))

    def project(self, domain: str, raw: RawArtifacts) -> DomainArtifacts:
        """:func:`~meshkit.artifacts.parse_artifacts` of ``raw``, from the cache when it holds
        the projection of these bytes (then kept there)."""
        if self.directory is None:
            return with_compiled_files(parse_artifacts(raw))
        key = _key(raw.content_hash)
        folder = self.directory / domain
        cached = self._load(folder / f"{key}.json")
        if cached is not None:
            # The same bytes may have been read from another place (the mesh was moved).
            return with_compiled_files(dataclasses.replace(cached, location=raw.location))
        arts = parse_artifacts(raw)
        if self.write:  # as the artifact files have it: the compiled folder is read each time
            self._store(folder, key, arts)
        return with_compiled_files(arts)

    def kept(self, domain: str, content_hash: str) -> DomainArtifacts | None:
        """The projection kept for the artifacts of ``content_hash``, if the cache holds one."""
        if self.directory is None:
            return None
        return self._load(self.directory / domain / f"{_key(content_hash)}.json")

    def holds(self, domain: str, content_hash: str) -> bool:
        return self.directory is not None and (
            self.directory / domain / f"{_key(content_hash)}.json").is_file()

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


def ready_for_workers() -> None:
    """Import and build here what :func:`project_into` uses, before workers are forked: a
    worker that imports while another thread of this process (the progress display) held an
    import lock at the fork would wait for ever."""
    from meshkit import files  # noqa: F401 - the write of a projection

    _adapter()


def project_into(directory: str, domain: str, location: str) -> bool:
    """Keep the projection of a local artifact folder in the cache at ``directory`` (run by a
    lineage worker, ahead of the sync, :class:`~meshkit.catalog.sync.ReadAhead`); False if it
    could not. Nothing is raised: the sync reads the domain itself, and reports what is wrong."""
    try:
        ArtifactCache(Path(directory)).project(domain, read_raw(LocalArtifacts(Path(location))))
    except Exception:  # the sync's own read of the domain says what it is
        return False
    return True


class Handover(Mapping[str, DomainArtifacts]):
    """The artifacts a sync projected, by domain, for its checks, without holding them all
    through the sync (at 50 domains they raised its peak by 36 MB): each is taken again from the
    cache, by the key of the bytes the sync read (the very projection it made, whatever the
    domain's files hold by then), or held where the cache does not keep it (a dry run, a write
    that failed). A projection gone from the cache since is missing here: the checks then read
    the domain's artifacts as for a domain the sync did not read."""

    def __init__(self, cache: ArtifactCache) -> None:
        self.cache = cache
        self._keys: dict[str, tuple[str, str]] = {}  # domain -> (content hash, location)
        self._held: dict[str, DomainArtifacts] = {}

    def add(self, domain: str, content_hash: str, arts: DomainArtifacts) -> None:
        self._keys.pop(domain, None)
        self._held.pop(domain, None)
        if self.cache.holds(domain, content_hash):
            self._keys[domain] = (content_hash, arts.location)
        else:
            self._held[domain] = arts

    def __getitem__(self, domain: str) -> DomainArtifacts:
        if domain in self._held:
            return self._held[domain]
        content_hash, location = self._keys[domain]
        arts = self.cache.kept(domain, content_hash)
        if arts is None:
            raise KeyError(domain)
        return with_compiled_files(dataclasses.replace(arts, location=location))

    def __contains__(self, domain: object) -> bool:
        return domain in self._held or domain in self._keys  # (Mapping's would load it)

    def __iter__(self) -> Iterator[str]:
        return iter([*self._held, *self._keys])

    def __len__(self) -> int:
        return len(self._held) + len(self._keys)
