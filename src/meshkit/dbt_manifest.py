"""The few reads of a dbt manifest that need none of :mod:`meshkit.artifacts`' projection: its
schema version, and the secure views it declares, which `mesh query` reads at every start (so
this module imports nothing heavier than orjson). :mod:`meshkit.artifacts` derives its node fields
with the same functions.
"""

from __future__ import annotations

import functools
import gc
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import orjson

from meshkit.errors import ArtifactError

# Manifest schema versions read, and the dbt release that first wrote each one.
SUPPORTED_MANIFEST_VERSIONS = range(10, 13)
OLDEST_SUPPORTED_DBT = "1.6"
_SCHEMA_VERSION = re.compile(r"/v(\d+)\.json$")
# Nodes meshkit projects (tests apart).
RELATION_TYPES = ("model", "seed", "snapshot")
# What a well-formed JSON file of the wrong shape raises while it is read or projected (a list
# where an object goes, a number where a string goes, a key missing).
MALFORMED = (KeyError, TypeError, AttributeError, ValueError, IndexError)


class CollectorPause:
    """What :func:`gc_paused` yields: :meth:`freeze` hides what is alive from the passes a caller
    still makes (``gc.collect``) until the pause ends."""

    def __init__(self) -> None:
        self.frozen = False

    def freeze(self) -> None:
        """Move every object alive now out of the collector's reach until the pause ends
        (``gc.freeze``): a pass after this scans only what is made after. For a mesh loaded and
        alive (acyclic, freed by reference counting) that a pass would scan in vain. Does nothing
        if objects are frozen already: someone else's, whom the end of the pause would thaw."""
        if not self.frozen and gc.get_freeze_count() == 0:
            gc.freeze()
            self.frozen = True

    @staticmethod
    def release() -> None:
        """Collect the cycles made since the freeze, then hand the heap freed so far back to the
        system (glibc's ``malloc_trim``; elsewhere nothing more): memory freed but kept by the
        allocator otherwise stays in the process's resident size, under what comes next. In
        a cold sync of 50 domains that was 28 MB under the warehouse write, its peak."""
        gc.collect()
        _trim_heap()


@functools.cache
def _libc_trim() -> Callable[[int], int] | None:
    import ctypes

    # The symbols the process has loaded: glibc's, on Linux. Elsewhere (macOS, musl, Windows)
    # the allocator keeps its own policy.
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None


def _trim_heap() -> None:
    trim = _libc_trim()
    if trim is not None:
        trim(0)


@contextmanager
def gc_paused() -> Iterator[CollectorPause]:
    """Pause the cyclic garbage collector (restoring its previous state after, and thawing what
    :meth:`CollectorPause.freeze` froze).

    A parsed manifest is millions of acyclic dicts and lists, freed by reference counting alone;
    left running, the collector traverses them (and everything else alive, such as the
    projections of the domains read before) again and again while they are built, which made
    parsing a mesh of 50 large domains 2-3 times slower than the JSON parse itself.
    """
    enabled = gc.isenabled()
    gc.disable()
    pause = CollectorPause()
    try:
        yield pause
    finally:
        if pause.frozen:
            gc.unfreeze()
        if enabled:
            gc.enable()


def str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def json_object(data: bytes, file: str) -> dict[str, Any]:
    """``data`` parsed as a JSON object; anything else is an :class:`ArtifactError` naming
    ``file``."""
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ArtifactError(f"not valid JSON: {exc}", file=file,
                            fix="regenerate it: run `dbt build` (or `dbt parse`) in the domain",
                            ) from None
    if not isinstance(parsed, dict):
        raise ArtifactError("expected a JSON object at the top level", file=file,
                            fix="regenerate it: run `dbt build` (or `dbt parse`) in the domain")
    return parsed


def manifest_schema_version(manifest: Mapping[str, Any], file: str) -> int:
    """The manifest's schema version; raises unless it is one meshkit reads (v10-v12).

    >>> manifest_schema_version(
    ...     {"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}},
    ...     "manifest.json")
    12
    """
    metadata = manifest.get("metadata")
    url = str(metadata.get("dbt_schema_version", "")) if isinstance(metadata, Mapping) else ""
    match = _SCHEMA_VERSION.search(url)
    if match is None:
        raise ArtifactError(
            f"not a dbt manifest: metadata.dbt_schema_version is {url or 'missing'!r}",
            file=file, fix="regenerate it with `dbt parse`",
        )
    version = int(match.group(1))
    if version < SUPPORTED_MANIFEST_VERSIONS.start:
        raise ArtifactError(
            f"manifest schema v{version} is too old; meshkit reads v10-v12 (dbt 1.6 and later)",
            file=file,
            fix=f"regenerate with dbt >= {OLDEST_SUPPORTED_DBT}: `dbt parse` (or `dbt build`)",
        )
    if version >= SUPPORTED_MANIFEST_VERSIONS.stop:
        raise ArtifactError(
            f"manifest schema v{version} is newer than meshkit reads (v10-v12)",
            file=file, fix="upgrade meshkit, or regenerate with dbt 1.11: `dbt parse`",
        )
    return version


def node_group(n: Mapping[str, Any]) -> Any:
    """A node's group: dbt-loom injects upstream nodes with the top-level fields only, not their
    config."""
    return n.get("group") or (n.get("config") or {}).get("group")


def node_access(n: Mapping[str, Any]) -> str:
    config = n.get("config") or {}
    return str(n.get("access") or config.get("access") or "protected")


def relation_key(database: str | None, schema: str | None, alias: str | None,
                 name: str) -> tuple[str, str, str]:
    """(database, schema, identifier), lowercased, to match SQL table references."""
    return (database or "").lower(), (schema or "").lower(), (alias or name).lower()


def public_relations(manifest_bytes: bytes, location: str, package: str
                     ) -> set[tuple[str, str, str]]:
    """(database, schema, identifier) of every secure view a domain's manifest declares: the
    public models of a group of ``package``, and, for a versioned one that is the latest version,
    its unversioned name too. ``location`` is the manifest's folder, for errors.

    Raises :class:`ArtifactError` as :func:`meshkit.artifacts.read_domain_artifacts` does for a
    manifest that is not JSON, not of a schema version read, or not of a manifest's shape.

    >>> manifest = {"metadata": {"dbt_schema_version": "https://x/manifest/v12.json"},
    ...             "nodes": {"model.d.m": {"resource_type": "model", "name": "m",
    ...                                     "package_name": "d", "database": "d", "schema": "p",
    ...                                     "alias": "m", "config": {
    ...                                         "group": "p", "access": "public",
    ...                                         "materialized": "secure_view"}}}}
    >>> public_relations(orjson.dumps(manifest), "target", "d")
    {('d', 'p', 'm')}
    """
    file = f"{location.rstrip('/')}/manifest.json"
    with gc_paused():
        manifest = json_object(manifest_bytes, file)
    manifest_schema_version(manifest, file)
    views: set[tuple[str, str, str]] = set()
    try:
        for n in manifest.get("nodes", {}).values():
            # Only the secure_view materialization masks: a public model built otherwise (a
            # domain without the platform's schema macro) holds raw rows at its address.
            if (n.get("resource_type") not in RELATION_TYPES or n["package_name"] != package
                    or node_access(n) != "public" or not node_group(n)
                    or (n.get("config") or {}).get("materialized") != "secure_view"):
                continue
            name = n["name"]
            database, schema, identifier = relation_key(n.get("database"), n.get("schema"),
                                                        n.get("alias"), name)
            views.add((database, schema, identifier))
            version = n.get("version")
            if version is not None and str(version) == str_or_none(n.get("latest_version")):
                views.add((database, schema, str(name).lower()))
    except MALFORMED as exc:
        raise ArtifactError(f"unexpected manifest.json structure ({type(exc).__name__}: {exc})",
                            file=file, fix="regenerate it: run `dbt parse` in the domain") from None
    return views
