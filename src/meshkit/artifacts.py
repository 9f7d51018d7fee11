"""Our own small projection of dbt artifacts: just the fields meshkit uses, read fast.

dbt writes ``manifest.json`` (required), ``run_results.json``, ``catalog.json`` and
``sources.json``. They are parsed with orjson into plain dicts and immediately projected into the
small frozen dataclasses below, so one domain's raw JSON is dropped before the next is read and
memory stays flat however many domains the mesh has. Nothing here imports dbt-core.

The bytes come from an :class:`ArtifactSource`; :class:`LocalArtifacts` reads a folder (a dbt
``target/`` or a domain's ``artifacts:`` location). Object stores can follow as more sources.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from meshkit.dbt_manifest import (
    MALFORMED,
    gc_paused,
    json_object,
    manifest_schema_version,
    node_access,
    node_group,
    relation_key,
    str_or_none,
)
from meshkit.errors import ArtifactError

MANIFEST = "manifest.json"
RUN_RESULTS = "run_results.json"
CATALOG = "catalog.json"
SOURCES = "sources.json"
ARTIFACT_FILES = (MANIFEST, RUN_RESULTS, CATALOG, SOURCES)

# run_results.json of these commands holds compile results, not builds (`dbt docs generate`
# overwrites the build's run_results.json): they say nothing about tests or freshness.
NON_EXECUTING_COMMANDS = frozenset({"compile", "generate", "docs", "parse", "list", "ls", "show",
                                    "debug", "deps", "clean", "source"})


class ArtifactSource(Protocol):
    """Where a domain's dbt artifacts are read from."""

    @property
    def location(self) -> str:
        """Human-readable place, used in error messages (a folder, a URL)."""
        ...

    def read(self, name: str) -> bytes | None:
        """The bytes of artifact ``name`` (e.g. ``manifest.json``), or None if absent."""
        ...


@dataclass(frozen=True)
class LocalArtifacts:
    """Artifacts in a local folder: a dbt ``target/`` or an ``artifacts:`` location."""

    path: Path

    @property
    def location(self) -> str:
        return str(self.path)

    def read(self, name: str) -> bytes | None:
        try:
            return (self.path / name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ArtifactError(f"cannot read: {exc.strerror}", file=self.path / name,
                                fix="check the file's permissions") from None


def combined_hash(digests: Mapping[str, bytes]) -> str:
    """One domain's content hash from the SHA-256 of each artifact file present (by name)."""
    h = hashlib.sha256()
    for name in ARTIFACT_FILES:
        h.update(name.encode())
        h.update(digests.get(name, b"\0"))
    return h.hexdigest()


@dataclass(frozen=True)
class RawArtifacts:
    """The bytes of one domain's artifacts, read once: hashed for change detection, then parsed."""

    location: str
    files: Mapping[str, bytes]

    @cached_property
    def digests(self) -> dict[str, bytes]:
        """The SHA-256 of each file (hashed once, however often the content hash is asked)."""
        return {name: hashlib.sha256(data).digest() for name, data in self.files.items()}

    @property
    def content_hash(self) -> str:
        return combined_hash(self.digests)


def read_raw(source: ArtifactSource, *, hint: str = "dbt build") -> RawArtifacts:
    """Read the artifact files' bytes; a missing manifest is an :class:`ArtifactError`."""
    files = {name: data for name in ARTIFACT_FILES if (data := source.read(name)) is not None}
    if MANIFEST not in files:
        raise ArtifactError(
            "no dbt manifest found",
            file=f"{source.location.rstrip('/')}/{MANIFEST}",
            fix=f"run `{hint}` (or `dbt parse`) in the domain to produce it",
        )
    return RawArtifacts(location=source.location, files=files)


# --- the projection -----------------------------------------------------------------------------


# Slotted: a sync's checks hold every domain's projection at once, and slots halve it (86 → 44 MB
# for 50 domains of 200 models).
@dataclass(frozen=True, slots=True)
class ColumnInfo:
    name: str
    data_type: str | None
    description: str
    classification: str | None
    regulations: tuple[str, ...]
    constraints: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RefInfo:
    """One ``ref()`` of a model as written: ``package`` is set for a cross-project ref, ``version``
    when the ref pins one (``v=N``)."""

    name: str
    package: str | None
    version: str | None


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A model (or seed/snapshot) of the manifest, including nodes injected by dbt-loom."""

    unique_id: str
    resource_type: str
    name: str
    package_name: str
    version: str | None
    latest_version: str | None
    deprecation_date: str | None
    group: str | None
    access: str
    contract_enforced: bool
    description: str
    database: str | None
    schema: str | None
    alias: str | None
    depends_on: tuple[str, ...]
    columns: tuple[ColumnInfo, ...]
    tags: tuple[str, ...]
    compiled_code: str | None
    # Relative to the project: the SQL file, and the YAML that declares the model's properties
    # (dbt writes it as ``<project>://models/x.yml``; the prefix is dropped).
    original_file_path: str | None = None
    patch_path: str | None = None
    refs: tuple[RefInfo, ...] = ()
    # Model-level constraints, e.g. ``primary_key(customer_id)``.
    constraints: tuple[str, ...] = ()
    # The model's meta (``meta`` and ``config.meta`` merged): row_filter, retention, opt-out...
    meta: Mapping[str, Any] = field(default_factory=dict)
    # config.materialized as dbt resolved it (SQL config() over YAML over dbt_project.yml).
    materialized: str | None = None

    @property
    def row_filter(self) -> str | None:
        """``meta.row_filter``: the mesh.yml row filter the dataset's secure view applies."""
        value = self.meta.get("row_filter")
        return None if value is None else str(value)

    @property
    def relation_key(self) -> tuple[str, str, str]:
        """(database, schema, identifier), lowercased, to match SQL table references."""
        return relation_key(self.database, self.schema, self.alias, self.name)


@dataclass(frozen=True, slots=True)
class GroupInfo:
    name: str
    owner_name: str | None
    owner_email: str | None
    description: str
    meta: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TestInfo:
    unique_id: str
    name: str
    test_type: str
    attached_node: str | None
    depends_on: tuple[str, ...]
    column_name: str | None
    severity: str


@dataclass(frozen=True, slots=True)
class ExposureInfo:
    unique_id: str
    name: str
    type: str
    owner_name: str | None
    owner_email: str | None
    url: str | None
    depends_on: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SourceInfo:
    unique_id: str
    source_name: str
    name: str
    description: str
    database: str | None
    schema: str | None
    identifier: str | None
    columns: tuple[ColumnInfo, ...]
    # What ``source()`` compiles to (dbt-duckdb: ``read_parquet('<location>')`` for a file).
    relation_name: str | None = None
    # Relative to the project: the YAML that declares the source.
    original_file_path: str | None = None


@dataclass(frozen=True, slots=True)
class SessionSite:
    """A node or macro of the manifest whose SQL opens another database in the session or
    changes where unqualified names resolve (DuckDB's ``ATTACH``, ``USE``, ``SET search_path``):
    in a hook, an operation, a macro, a model's own code."""

    unique_id: str
    # Relative to its package's project (a macro of an installed package: inside that package).
    original_file_path: str | None
    package_name: str | None
    statement: str  # as written, e.g. "attach" or "USE"


@dataclass(frozen=True, slots=True)
class RunResult:
    unique_id: str
    status: str
    execution_time: float
    completed_at: str | None
    failures: int | None
    message: str | None


@dataclass(frozen=True, slots=True)
class SourceFreshness:
    unique_id: str
    status: str
    max_loaded_at: str | None


@dataclass(frozen=True, slots=True)
class DomainArtifacts:
    """Everything meshkit reads from one domain's artifacts."""

    location: str
    project_name: str
    dbt_version: str
    manifest_schema_version: int
    adapter_type: str | None
    nodes: Mapping[str, NodeInfo]
    groups: Mapping[str, GroupInfo]
    tests: tuple[TestInfo, ...]
    exposures: tuple[ExposureInfo, ...]
    sources: Mapping[str, SourceInfo]
    results: Mapping[str, RunResult] = field(default_factory=dict)
    results_generated_at: str | None = None
    row_counts: Mapping[str, int] = field(default_factory=dict)
    # Column names and types in the warehouse, from catalog.json (``dbt docs generate``).
    warehouse_columns: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # The columns of the models this manifest has no compiled SQL of, as the warehouse has them
    # built (added by the sync, for the column lineage of the models that read them only).
    built_columns: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # The compiled SQL of the models this manifest carries none of, as dbt's compiled folder
    # beside it holds it from an earlier run (:func:`with_compiled_files`): for the column
    # lineage only (a file compiled elsewhere may name other paths; the rules that read the SQL
    # itself read the manifest's).
    compiled_files: Mapping[str, str] = field(default_factory=dict)
    source_freshness: Mapping[str, SourceFreshness] = field(default_factory=dict)
    # Models the manifest lists as disabled (``enabled: false``), by unique_id.
    disabled: frozenset[str] = frozenset()
    session_sites: tuple[SessionSite, ...] = ()

    def lacks_compiled_sql(self, package: str) -> bool:
        """Whether ``package`` has models here but none carries compiled SQL (a manifest of
        `dbt parse` alone): column lineage and the checks of SQL have nothing to read."""
        models = [n for n in self.nodes.values()
                  if n.package_name == package and n.resource_type == "model"]
        return bool(models) and not any(n.compiled_code for n in models)

    def lineage_sql(self, node: NodeInfo) -> str | None:
        """The compiled SQL the column lineage of ``node`` is traced from: the manifest's, else
        that of dbt's compiled folder."""
        return node.compiled_code or self.compiled_files.get(node.unique_id)

    def uncompiled_models(self, package: str) -> tuple[list[str], int]:
        """The names of ``package``'s models whose column lineage has no compiled SQL to read
        (:meth:`lineage_sql`), and how many models it has: a selective `dbt build --select`
        compiles only what it selects."""
        models = [n for n in self.nodes.values()
                  if n.package_name == package and n.resource_type == "model"]
        return sorted(n.name for n in models if not self.lineage_sql(n)), len(models)


def _load_json(raw: RawArtifacts, name: str) -> dict[str, Any] | None:
    data = raw.files.get(name)
    if data is None:
        return None
    return json_object(data, f"{raw.location.rstrip('/')}/{name}")


def parse_artifacts(raw: RawArtifacts) -> DomainArtifacts:
    """Project raw artifact bytes into :class:`DomainArtifacts` (only the fields used)."""
    with gc_paused():
        return _parse_artifacts(raw)


def _parse_artifacts(raw: RawArtifacts) -> DomainArtifacts:
    manifest_file = f"{raw.location.rstrip('/')}/{MANIFEST}"
    manifest = _load_json(raw, MANIFEST)
    assert manifest is not None
    version = manifest_schema_version(manifest, manifest_file)
    meta = manifest.get("metadata") or {}
    try:
        nodes: dict[str, NodeInfo] = {}
        tests: list[TestInfo] = []
        for uid, n in manifest.get("nodes", {}).items():
            rtype = n.get("resource_type")
            if rtype == "test":
                tests.append(_test(uid, n))
            elif rtype in ("model", "seed", "snapshot"):
                nodes[uid] = _node(uid, n)
        groups = {g["name"]: _group(g) for g in manifest.get("groups", {}).values()}
        exposures = tuple(_exposure(uid, e) for uid, e in manifest.get("exposures", {}).items())
        sources = {uid: _source(uid, s) for uid, s in manifest.get("sources", {}).items()}
        disabled = frozenset(uid for uid in manifest.get("disabled") or {}
                             if uid.startswith("model."))
        session_sites = _session_sites(manifest)
        adapter_type = str_or_none(meta.get("adapter_type"))
    except MALFORMED as exc:
        raise _malformed(raw, MANIFEST, exc, "dbt parse") from None
    del manifest
    with _reading(raw, RUN_RESULTS):
        results, generated_at = _run_results(_load_json(raw, RUN_RESULTS))
    with _reading(raw, CATALOG, "dbt docs generate"):
        catalog = _load_json(raw, CATALOG)
        row_counts, warehouse_columns = _row_counts(catalog), _warehouse_columns(catalog)
    with _reading(raw, SOURCES, "dbt source freshness"):
        freshness = _freshness(_load_json(raw, SOURCES))
    return DomainArtifacts(
        location=raw.location,
        project_name=str(meta.get("project_name") or ""),
        dbt_version=str(meta.get("dbt_version") or ""),
        manifest_schema_version=version,
        adapter_type=adapter_type,
        nodes=nodes,
        groups=groups,
        tests=tuple(tests),
        exposures=exposures,
        sources=sources,
        results=results,
        results_generated_at=generated_at,
        row_counts=row_counts,
        warehouse_columns=warehouse_columns,
        source_freshness=freshness,
        disabled=disabled,
        session_sites=session_sites,
    )


# DuckDB's statements that give a session another database or another default one: ATTACH as a
# word of any case (``attached``, ``attachment`` are other words); USE and SET search_path (or
# its alias ``schema``) where a statement starts, not Jinja's ``{% set schema = ... %}``.
_SESSION = re.compile(r"""\battach\b|(?:^|[;'"(])\s*(?:use\s+(?=[\w"])|set\s+(?:(?:global|session|"""
                      r"""local)\s+)?(?:search_path|schema)\b)""", re.IGNORECASE | re.MULTILINE)
_SESSION_WORDS = ("attach", "use", "search_path", "schema")


# Packages dbt loads from its own installation (core's and the adapters' macros), not from a
# domain's files: a domain overrides one of their macros in its own package, which is scanned.
_INSTALLED_WITH_DBT = frozenset({"dbt", "dbt_duckdb", "dbt_snowflake"})


def _session_sites(manifest: Mapping[str, Any]) -> tuple[SessionSite, ...]:
    """Every node (any resource type: models, tests, operations of ``on-run-start``...) and macro
    whose code or hooks hold :data:`_SESSION`. The code as written: what compiling adds comes
    from the macros, scanned here too (a statement put together in Jinja is not seen either way).
    """
    found = []
    for kind, key in (("nodes", "raw_code"), ("macros", "macro_sql")):
        for uid, item in (manifest.get(kind) or {}).items():
            if kind == "macros" and item.get("package_name") in _INSTALLED_WITH_DBT:
                continue
            config = item.get("config") or {}
            hooks = [h.get("sql") if isinstance(h, Mapping) else h
                     for name in ("pre-hook", "post-hook") for h in _listed(config.get(name))]
            for text in (item.get(key), *hooks):
                if not isinstance(text, str):
                    continue
                low = text.lower()
                if not any(w in low for w in _SESSION_WORDS):
                    continue
                match = _SESSION.search(text)
                if match:
                    found.append(SessionSite(
                        uid, str_or_none(item.get("original_file_path")),
                        str_or_none(item.get("package_name")),
                        " ".join(match.group(0).strip(";'\"( \t\r\n").split())))
                    break
    return tuple(found)


def _listed(value: Any) -> list[Any]:
    """A hook setting as a list (dbt writes a list; a lone hook is one)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _malformed(raw: RawArtifacts, name: str, exc: BaseException, command: str) -> ArtifactError:
    return ArtifactError(f"unexpected {name} structure ({type(exc).__name__}: {exc})",
                         file=f"{raw.location.rstrip('/')}/{name}",
                         fix=f"regenerate it: run `{command}` in the domain")


@contextmanager
def _reading(raw: RawArtifacts, name: str, command: str = "dbt build") -> Iterator[None]:
    """Errors of shape while one artifact is projected become an :class:`ArtifactError`
    naming that file."""
    try:
        yield
    except MALFORMED as exc:
        raise _malformed(raw, name, exc, command) from None


def _sql(value: Any, unique_id: str) -> str | None:
    """A node's compiled SQL: text or nothing (what reads it parses it as SQL)."""
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{unique_id}: compiled_code is a {type(value).__name__}, not text")


def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``meta`` merged from both places dbt puts it: ``meta`` and ``config.meta`` (wins)."""
    merged: dict[str, Any] = dict(obj.get("meta") or {})
    merged.update((obj.get("config") or {}).get("meta") or {})
    return merged


def _columns(columns: Mapping[str, Any]) -> tuple[ColumnInfo, ...]:
    out = []
    for c in columns.values():
        meta = _meta(c)
        regulations = meta.get("regulations") or []
        if isinstance(regulations, str):
            regulations = [regulations]
        out.append(ColumnInfo(
            name=c["name"],
            data_type=str_or_none(c.get("data_type")),
            description=c.get("description") or "",
            classification=str_or_none(meta.get("classification")),
            regulations=tuple(str(r) for r in regulations),
            constraints=tuple(_constraint(k) for k in c.get("constraints") or ()),
        ))
    return tuple(out)


def _constraint(c: Mapping[str, Any]) -> str:
    kind = str(c.get("type"))
    if c.get("expression"):
        return f"{kind}({c['expression']})"
    return kind


def _node(uid: str, n: Mapping[str, Any]) -> NodeInfo:
    config = n.get("config") or {}
    contract = n.get("contract") or config.get("contract") or {}
    return NodeInfo(
        unique_id=uid,
        resource_type=n["resource_type"],
        name=n["name"],
        package_name=n["package_name"],
        version=str_or_none(n.get("version")),
        latest_version=str_or_none(n.get("latest_version")),
        deprecation_date=str_or_none(n.get("deprecation_date")),
        group=node_group(n),
        access=node_access(n),
        contract_enforced=bool(contract.get("enforced") or
                               (config.get("contract") or {}).get("enforced")),
        description=n.get("description") or "",
        database=n.get("database"),
        schema=n.get("schema"),
        alias=n.get("alias"),
        depends_on=tuple((n.get("depends_on") or {}).get("nodes") or ()),
        columns=_columns(n.get("columns") or {}),
        tags=tuple(n.get("tags") or ()),
        compiled_code=_sql(n.get("compiled_code"), uid),
        original_file_path=n.get("original_file_path"),
        patch_path=_project_path(n.get("patch_path")),
        refs=tuple(_ref(r) for r in n.get("refs") or ()),
        constraints=tuple(_model_constraint(c) for c in n.get("constraints") or ()),
        meta=_meta(n),
        materialized=str_or_none(config.get("materialized")),
    )


def _model_constraint(c: Mapping[str, Any]) -> str:
    columns = c.get("columns") or ()
    if columns:
        return f"{c.get('type')}({', '.join(str(x) for x in columns)})"
    return _constraint(c)


def _ref(r: Any) -> RefInfo:
    if isinstance(r, list):  # manifests before v11 wrote refs as [package?, name]
        return RefInfo(name=str(r[-1]), package=str(r[0]) if len(r) > 1 else None, version=None)
    return RefInfo(name=str(r["name"]), package=str_or_none(r.get("package")),
                   version=str_or_none(r.get("version")))


def _project_path(path: str | None) -> str | None:
    """``models/x.yml`` of dbt's ``<project>://models/x.yml``."""
    if not path:
        return None
    return path.split("://", 1)[-1]


def _group(g: Mapping[str, Any]) -> GroupInfo:
    owner = g.get("owner") or {}
    return GroupInfo(
        name=g["name"],
        owner_name=owner.get("name"),
        owner_email=owner.get("email"),
        description=g.get("description") or "",
        meta=_meta(g),
    )


def _test(uid: str, n: Mapping[str, Any]) -> TestInfo:
    test_meta = n.get("test_metadata") or {}
    return TestInfo(
        unique_id=uid,
        name=n["name"],
        test_type=str(test_meta.get("name") or "singular"),
        attached_node=n.get("attached_node"),
        depends_on=tuple((n.get("depends_on") or {}).get("nodes") or ()),
        column_name=n.get("column_name"),
        severity=str((n.get("config") or {}).get("severity") or "error").lower(),
    )


def _exposure(uid: str, e: Mapping[str, Any]) -> ExposureInfo:
    owner = e.get("owner") or {}
    return ExposureInfo(
        unique_id=uid, name=e["name"], type=str(e.get("type") or ""),
        owner_name=owner.get("name"), owner_email=owner.get("email"), url=e.get("url"),
        depends_on=tuple((e.get("depends_on") or {}).get("nodes") or ()),
    )


def _source(uid: str, s: Mapping[str, Any]) -> SourceInfo:
    return SourceInfo(
        unique_id=uid, source_name=s["source_name"], name=s["name"],
        description=s.get("description") or "", database=s.get("database"),
        schema=s.get("schema"), identifier=s.get("identifier"),
        columns=_columns(s.get("columns") or {}),
        relation_name=str_or_none(s.get("relation_name")),
        original_file_path=str_or_none(s.get("original_file_path")),
    )


def _run_results(data: Mapping[str, Any] | None) -> tuple[dict[str, RunResult], str | None]:
    if data is None:
        return {}, None
    if (data.get("args") or {}).get("which") in NON_EXECUTING_COMMANDS:
        return {}, None
    out: dict[str, RunResult] = {}
    for r in data.get("results") or ():
        if not isinstance(r, Mapping) or not isinstance(r.get("unique_id"), str):
            continue  # a result that names no node says nothing about one
        completed = None
        for t in r.get("timing") or ():
            if t.get("name") == "execute":
                completed = t.get("completed_at")
        failures = r.get("failures")
        out[r["unique_id"]] = RunResult(
            unique_id=r["unique_id"],
            status=str(r.get("status")),
            execution_time=float(r.get("execution_time") or 0.0),
            completed_at=completed,
            failures=failures if isinstance(failures, int) else None,
            message=str_or_none(r.get("message")),
        )
    return out, (data.get("metadata") or {}).get("generated_at")


def _row_counts(data: Mapping[str, Any] | None) -> dict[str, int]:
    """Row counts from catalog.json stats (Snowflake reports ``row_count``; DuckDB does not)."""
    if data is None:
        return {}
    counts: dict[str, int] = {}
    for uid, entry in (data.get("nodes") or {}).items():
        stat = (entry.get("stats") or {}).get("row_count") or {}
        value = stat.get("value")
        if isinstance(value, int | float) and stat.get("include", True):
            counts[uid] = int(value)
    return counts


def _warehouse_columns(data: Mapping[str, Any] | None) -> dict[str, tuple[tuple[str, str], ...]]:
    if data is None:
        return {}
    out: dict[str, tuple[tuple[str, str], ...]] = {}
    for uid, entry in (data.get("nodes") or {}).items():
        cols = [c for c in (entry.get("columns") or {}).values()
                if isinstance(c, Mapping) and isinstance(c.get("name"), str)]  # a column has a name
        cols.sort(key=lambda c: index if isinstance(index := c.get("index"), int) else 0)
        out[uid] = tuple((c["name"], str(c.get("type") or "")) for c in cols)
    return out


def _freshness(data: Mapping[str, Any] | None) -> dict[str, SourceFreshness]:
    if data is None:
        return {}
    return {
        r["unique_id"]: SourceFreshness(unique_id=r["unique_id"], status=str(r.get("status")),
                                        max_loaded_at=r.get("max_loaded_at"))
        for r in data.get("results") or ()
        if isinstance(r, Mapping) and isinstance(r.get("unique_id"), str)
    }


# dbt writes each model's compiled SQL under <target>/compiled/<package>/<original_file_path>
# at every compile, selective or not; the file stays until the next compile of that model.
COMPILED_DIR = "compiled"
# A compiled file larger than this is not read back (no model's SQL is; a file that is, is not).
MAX_COMPILED_BYTES = 8 * 1024 * 1024


def with_compiled_files(arts: DomainArtifacts) -> DomainArtifacts:
    """``arts`` with the compiled SQL of the project's models that the manifest carries none of
    taken from dbt's ``compiled/`` folder beside it, where an earlier run left it.

    A selective ``dbt build --select x`` writes a manifest with the compiled SQL of ``x`` only:
    the models it reads would otherwise stop the column lineage (and the policies that follow
    it) at them, so that a column derived from personal data through an internal model built
    by an earlier run would go unseen. The file is that of the model's last compile: the
    version built, or the one about to be. Nothing changes where every model is compiled, or
    where there is no such folder (artifacts copied without it). Kept apart from the
    manifest's (:attr:`DomainArtifacts.compiled_files`): for the column lineage only.
    """
    missing = [n for n in arts.nodes.values()
               if n.resource_type == "model" and not n.compiled_code
               and n.package_name == arts.project_name and n.original_file_path]
    if not missing:
        return arts
    folder = Path(arts.location) / COMPILED_DIR / arts.project_name
    if not folder.is_dir():
        return arts
    root = folder.resolve()
    found: dict[str, str] = {}
    for node in missing:
        path = (folder / str(node.original_file_path)).resolve()
        if not path.is_relative_to(root):  # a manifest's path never leaves the folder
            continue
        try:
            if path.stat().st_size > MAX_COMPILED_BYTES:
                continue
            sql = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if sql.strip():
            found[node.unique_id] = sql
    if not found and not arts.compiled_files:
        return arts
    return dataclasses.replace(arts, compiled_files=found)


def read_domain_artifacts(source: ArtifactSource) -> DomainArtifacts:
    """Read and project one domain's artifacts.

    Raises :class:`ArtifactError` naming the file if the manifest is missing, not JSON, or of an
    unsupported schema version.
    """
    return parse_artifacts(read_raw(source))
