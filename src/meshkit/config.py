"""mesh.yml: the typed configuration of a mesh.

Every model forbids unknown keys, and every validation error is reported with the file, the line
and the key path of the offending value, plus a hint ("Did you mean ...?" for misspelt keys).
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from meshkit.errors import ConfigError, did_you_mean
from meshkit.files import decode_text, read_text

DEFAULT_MESH_FILE = "mesh.yml"
IDENTIFIER = r"^[a-z][a-z0-9_]*$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Owner(Strict):
    name: str
    email: str | None = None


PolicyId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")]


class PolicySeverity(StrEnum):
    error = "error"
    warn = "warn"


class PolicyScope(Strict):
    """Where a policy applies; an empty list means everywhere."""

    domains: list[Identifier] = Field(default_factory=list)
    products: list[str] = Field(default_factory=list)  # `<domain>.<product>` or `<product>`
    tiers: list[str] = Field(default_factory=list)


class PolicyConfig(Strict):
    """One policy (a rule of the check engine, by id) as mesh.yml sets it."""

    enabled: bool = True
    severity: PolicySeverity | None = None  # None: the rule's default
    params: dict[str, Any] = Field(default_factory=dict)
    scope: PolicyScope = Field(default_factory=PolicyScope)


# A domain is a database (``<warehouse>/<domain>.duckdb``, a Snowflake database) and a dbt
# project: it cannot take the name of the platform's own databases and projects, nor of those
# DuckDB keeps for itself. A domain named mesh_governance built over the clearances' database.
RESERVED_DOMAIN_NAMES = frozenset({
    "mesh_governance", "mesh_catalog", "mesh_platform", "mesh_policy",
    "main", "internal", "memory", "system", "temp", "information_schema", "pg_catalog"})
# A name of every file, database and role the domain gets (``<name>_engineer``...), within the
# limits of file systems (255 bytes) and of the warehouses.
MAX_DOMAIN_NAME = 63


def domain_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a domain, or None if it can.

    >>> domain_name_problem("risk"), domain_name_problem("mesh_governance")
    (None, "'mesh_governance' is the name of one of the platform's databases or projects")
    """
    if not is_identifier(name):
        return f"{name!r} is not a lowercase identifier (letters, digits and underscores, " \
               "starting with a letter)"
    if name in RESERVED_DOMAIN_NAMES:
        return f"{name!r} is the name of one of the platform's databases or projects"
    if len(name) > MAX_DOMAIN_NAME:
        return f"a domain name has at most {MAX_DOMAIN_NAME} characters ({len(name)} given)"
    return None


class Domain(Strict):
    """A domain: a dbt project built here (``path``) or elsewhere (``artifacts``)."""

    name: Identifier
    path: Path | None = None
    artifacts: Path | None = None
    owner: Owner
    description: str = ""
    # The consumer roles this domain's builds hold when they read other domains' products.
    reads_as: list[Identifier] = Field(default_factory=list)
    # Policies the domain adds or makes stricter for itself (never weaker than the global ones).
    policies: dict[PolicyId, PolicyConfig] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        problem = domain_name_problem(name)
        if problem is not None:
            raise ValueError(f"{problem}; choose another name")
        return name

    @model_validator(mode="after")
    def _path_or_artifacts(self) -> Domain:
        if (self.path is None) == (self.artifacts is None):
            raise ValueError("give exactly one of `path` (a dbt project) or `artifacts`")
        return self

    @property
    def engineer_role(self) -> str:
        return f"{self.name}_engineer"

    @property
    def owner_role(self) -> str:
        return f"{self.name}_owner"

    @property
    def consumer_role(self) -> str:
        """On Snowflake, the role that holds ``reads_as``: granted to the user dbt builds the
        domain as (a secondary role), never to the engineer role, which rolls up to SYSADMIN."""
        return f"{self.name}_consumer"


class DuckDBTarget(Strict):
    type: Literal["duckdb"]
    # Folder of one ``<domain>.duckdb`` file per domain (the database is named after the domain).
    path: Path = Path("warehouse")


class SnowflakeTarget(Strict):
    type: Literal["snowflake"]
    governance_database: Identifier = "mesh_governance"


Target = Annotated[DuckDBTarget | SnowflakeTarget, Field(discriminator="type")]


class Role(Strict):
    name: Identifier
    description: str = ""
    inherits: list[Identifier] = Field(default_factory=list)


class MaskRule(StrEnum):
    """How a classified value is hidden from roles without clearance."""

    none = "none"  # shown to everyone
    redact = "redact"  # strings become a fixed marker; other types NULL
    nullify = "nullify"  # NULL
    partial = "partial"  # strings keep their last four characters; other types NULL
    hash = "hash"  # strings become a SHA-256 hex digest (joinable, not readable); others NULL
    # strings become a keyed deterministic pseudonym (joinable across domains, not reversible
    # without the key, read from MESH_TOKEN_KEY and never stored); NULL when the key is unset
    tokenize = "tokenize"


class Classification(Strict):
    mask: MaskRule = MaskRule.redact
    cleared: list[Identifier] = Field(default_factory=list)


CLASSIFICATION_NAMES = ("public", "internal", "confidential", "pii", "sensitive")
# The masking level of a column no classification covers (see MeshConfig.default_classification).
UNCLASSIFIED = "unclassified"
REGULATIONS = ("gdpr", "ccpa", "hipaa", "pci_dss")


class RowFilter(Strict):
    """Rows whose ``column`` is one of ``restricted_values`` show only to ``cleared`` roles."""

    description: str = ""
    column: Identifier
    restricted_values: list[str]
    cleared: list[Identifier]


def _default_targets() -> dict[str, DuckDBTarget | SnowflakeTarget]:
    return {"dev": DuckDBTarget(type="duckdb")}


class MeshConfig(Strict):
    name: Identifier
    description: str = ""
    domains: list[Domain]
    targets: dict[Identifier, Target] = Field(default_factory=lambda: _default_targets())
    roles: list[Role] = Field(default_factory=list)
    classifications: dict[str, Classification] = Field(default_factory=dict)
    row_filters: dict[Identifier, RowFilter] = Field(default_factory=dict)
    # How a column of an output dataset without meta.classification is masked: as this
    # classification, or (unset) as UNCLASSIFIED, the most restrictive level: masked for every
    # role but the owning domain's own.
    default_classification: str | None = None
    # Governance policies by rule id (see README "Governance"). With the key (even empty), every
    # built-in policy runs, at its default severity unless configured here; a mesh without it
    # has not adopted governance policies and runs none.
    policies: dict[PolicyId, PolicyConfig] | None = None

    @property
    def governed(self) -> bool:
        return self.policies is not None

    @model_validator(mode="after")
    def _unique_and_known_names(self) -> MeshConfig:
        names = [d.name for d in self.domains]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"domain names must be unique; repeated: {', '.join(dupes)}")
        unknown = sorted(set(self.classifications) - set(CLASSIFICATION_NAMES))
        if unknown:
            raise ValueError(
                f"unknown classification {unknown[0]!r}{did_you_mean(unknown[0], CLASSIFICATION_NAMES)}; "
                f"the classifications are {', '.join(CLASSIFICATION_NAMES)}"
            )
        if self.default_classification is not None and (
                self.default_classification not in self.classifications):
            name = self.default_classification
            raise ValueError(
                f"default_classification {name!r} is not defined under classifications"
                f"{did_you_mean(name, self.classifications)}; defined: "
                f"{', '.join(sorted(self.classifications)) or 'none'}"
            )
        return self

    def role_references(self) -> list[tuple[list[str | int], str]]:
        """Every role name mesh.yml mentions, with the key path where it stands."""
        refs: list[tuple[list[str | int], str]] = []
        for i, role in enumerate(self.roles):
            refs += [(["roles", i, "inherits", j], r) for j, r in enumerate(role.inherits)]
        for cname, c in self.classifications.items():
            refs += [(["classifications", cname, "cleared", j], r) for j, r in enumerate(c.cleared)]
        for fname, f in self.row_filters.items():
            refs += [(["row_filters", fname, "cleared", j], r) for j, r in enumerate(f.cleared)]
        for i, d in enumerate(self.domains):
            refs += [(["domains", i, "reads_as", j], r) for j, r in enumerate(d.reads_as)]
        return refs

    @property
    def all_role_names(self) -> list[str]:
        """Consumer roles of mesh.yml plus the generated per-domain roles."""
        names = [r.name for r in self.roles]
        for d in self.domains:
            names += [d.engineer_role, d.owner_role]
        return names

    def domain(self, name: str) -> Domain:
        for d in self.domains:
            if d.name == name:
                return d
        known = [d.name for d in self.domains]
        raise ConfigError(
            f"no domain named {name!r}{did_you_mean(name, known)}",
            fix=f"use one of: {', '.join(known)}",
        )

    def target(self, name: str | None) -> tuple[str, Target]:
        name = name or "dev"
        if name not in self.targets:
            raise ConfigError(
                f"no target named {name!r}{did_you_mean(name, self.targets)}",
                fix=f"use one of: {', '.join(self.targets)}, or add it under `targets:` in mesh.yml",
            )
        return name, self.targets[name]

    def roles_granting(self, role: str) -> set[str]:
        """Every role that holds ``role``: itself and all roles inheriting it, transitively.

        >>> cfg = MeshConfig(name="m", domains=[], roles=[Role(name="a"), Role(name="b", inherits=["a"])])
        >>> sorted(cfg.roles_granting("a"))
        ['a', 'b']
        """
        holders = {role}
        changed = True
        inherits = {r.name: set(r.inherits) for r in self.roles}
        for d in self.domains:
            inherits.setdefault(d.engineer_role, set()).update(d.reads_as)
            inherits.setdefault(d.owner_role, set()).add(d.engineer_role)
        while changed:
            changed = False
            for name, parents in inherits.items():
                if name not in holders and parents & holders:
                    holders.add(name)
                    changed = True
        return holders


class Mesh(BaseModel):
    """A loaded mesh.yml with the folder it lives in (paths in it are relative to that folder)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    config: MeshConfig
    file: Path
    # SHA-256 of the mesh.yml bytes ``config`` was validated from ("" when not loaded from a
    # file): what vouches that values derived from it are those of a given mesh.yml.
    source_sha256: str = ""

    @property
    def root(self) -> Path:
        return self.file.parent

    def domain_path(self, domain: Domain) -> Path | None:
        return (self.root / domain.path).resolve() if domain.path is not None else None

    def artifacts_path(self, domain: Domain) -> Path:
        """Where a domain's dbt artifacts are: its ``target/`` or its ``artifacts:`` location."""
        if domain.artifacts is not None:
            return (self.root / domain.artifacts).resolve()
        assert domain.path is not None
        return (self.root / domain.path / "target").resolve()

    @cached_property
    def catalog_dir(self) -> Path:
        return self.root / "catalog"


# libyaml's parser when PyYAML was built with it: composing the 50-domain bench mesh's mesh.yml
# took 49 ms in PyYAML's own parser (which also ran twice, once for the lines and once for the
# data), 3 ms in libyaml's, once; every command reads mesh.yml.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def compose_yaml(text: str) -> yaml.Node | None:
    """The node tree of one YAML document (None for an empty one): lines and columns of every
    value; raises :class:`yaml.YAMLError`."""
    loader = _LOADER(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def parse_yaml(text: str, file: Path) -> tuple[yaml.Node | None, Any]:
    """The YAML ``text`` of ``file``: its node tree (for lines) and its data. Bad YAML, a key
    given twice in one mapping, and a value YAML reads as a date that is no date
    (``2027-13-45``), are a :class:`ConfigError` at its line and column.

    >>> parse_yaml("expires: 2027-13-45", Path("waivers.yml"))
    Traceback (most recent call last):
    meshkit.errors.ConfigError: waivers.yml:1:10: not a date: 2027-13-45 (month must be in 1..12)
      fix: write dates as YYYY-MM-DD, a real day
    """
    node = None
    try:
        node = compose_yaml(text)
        if node is not None:
            # Every file meshkit reads, not mesh.yml alone: a waiver or an access request given
            # twice would keep only its last copy, silently.
            _refuse_duplicate_keys(node, file)
        # Built from the tree just composed: the document is parsed once.
        return node, None if node is None else _LOADER("").construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"not valid YAML: {getattr(exc, 'problem', exc)}", file=file,
            location=f"{mark.line + 1}:{mark.column + 1}" if mark else None,
            fix="correct the YAML syntax at that line") from None
    except ValueError as exc:  # (PyYAML builds the date and lets its error through)
        bad = _bad_timestamp(node)
        raise ConfigError(
            f"not a date: {bad.value if bad else '?'} ({exc})", file=file,
            location=f"{bad.start_mark.line + 1}:{bad.start_mark.column + 1}" if bad else None,
            fix="write dates as YYYY-MM-DD, a real day") from None


def _bad_timestamp(node: yaml.Node | None) -> yaml.ScalarNode | None:
    """The first scalar of the tree that YAML reads as a date but that is none (each node
    looked at once: an alias is the node it names)."""
    stack, visited = [node], set()
    while stack:
        current = stack.pop()
        if current is None or id(current) in visited:
            continue
        visited.add(id(current))
        if isinstance(current, yaml.ScalarNode):
            if current.tag == "tag:yaml.org,2002:timestamp":
                try:
                    yaml.SafeLoader("").construct_yaml_timestamp(current)
                except ValueError:
                    return current
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(reversed(current.value))
        elif isinstance(current, yaml.MappingNode):
            stack.extend(reversed([v for pair in current.value for v in pair]))
    return None


def load_mesh(path: Path | str | None = None) -> Mesh:
    """Load and validate mesh.yml; raises :class:`ConfigError` naming file, line and fix."""
    file = Path(path or DEFAULT_MESH_FILE).resolve()
    if not file.is_file():
        raise ConfigError(
            "mesh file not found",
            file=file,
            fix="run from the mesh's root folder or pass --mesh PATH/TO/mesh.yml",
        )
    source = file.read_bytes()
    node, data = parse_yaml(decode_text(source, file), file)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping at the top level", file=file, location="1",
                          fix="start mesh.yml with `name:` and `domains:`")
    try:
        config = MeshConfig.model_validate(data)
    except ValidationError as exc:
        raise config_error_from_validation(exc, file, node) from None
    known_roles = set(config.all_role_names)
    for loc, role in config.role_references():
        if role not in known_roles:
            line = _line_of(node, loc)
            raise ConfigError(
                f"{'.'.join(str(p) for p in loc)}: unknown role {role!r}{did_you_mean(role, known_roles)}",
                file=file, location=str(line) if line else None,
                fix="declare it under `roles:` or use one of: " + ", ".join(sorted(known_roles)),
            )
    _refuse_role_cycles(config, file, node)
    return Mesh(config=config, file=file, source_sha256=hashlib.sha256(source).hexdigest())


def _refuse_duplicate_keys(node: Any, file: Path) -> None:
    """A key given twice in one mapping is refused (YAML loaders silently keep the last)."""
    stack = [node]
    # Each node once: an alias is the node it names, and nine aliases of nine aliases of ... of
    # one list make a 1 KB file whose paths number in the billions.
    visited: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in visited:
            continue
        visited.add(id(current))
        if isinstance(current, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in current.value:
                name = str(key.value)
                line = key.start_mark.line + 1
                if name in seen:
                    raise ConfigError(
                        f"duplicate key {name!r} (first given at line {seen[name]})",
                        file=file, location=str(line),
                        fix=f"keep one `{name}:` in this mapping and remove the other",
                    )
                seen[name] = line
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _refuse_role_cycles(config: MeshConfig, file: Path, node: Any) -> None:
    """Role inheritance must be acyclic: a role that inherits itself, directly or not, is refused."""
    import graphlib

    graph = {r.name: list(r.inherits) for r in config.roles}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        # graphlib lists the cycle against the arrows: cycle[i] inherits cycle[i + 1].
        cycle: list[str] = list(reversed(exc.args[1]))
        index = next(i for i, r in enumerate(config.roles) if r.name == cycle[0])
        line = _line_of(node, ["roles", index, "inherits"])
        raise ConfigError(
            f"roles inherit in a cycle: {' -> '.join(cycle)}",
            file=file, location=str(line) if line else None,
            fix=f"break the cycle: e.g. remove {cycle[1]!r} from the `inherits:` of role "
                f"{cycle[0]!r}",
        ) from None


def check_domain_projects(mesh: Mesh) -> None:
    """Each domain built here is the dbt project of its name, and no two domains are one project.

    The domain name is the dbt project name (the database, the package of its nodes and the
    first part of every address): a mismatch would catalogue the domain under wrong addresses.
    """
    node: Any = None
    owners: dict[str, str] = {}
    for index, domain in enumerate(mesh.config.domains):
        path = mesh.domain_path(domain)
        project_file = path / "dbt_project.yml" if path is not None else None
        if project_file is None or not project_file.is_file():
            continue  # registered by artifacts, or not scaffolded yet: the manifest is checked
        try:
            project = yaml.safe_load(read_text(project_file))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read the dbt project: {exc}", file=project_file,
                              fix="correct its YAML") from None
        name = str(project.get("name")) if isinstance(project, dict) else ""
        if node is None:
            node = compose_yaml(read_text(mesh.file))
        line = _line_of(node, ["domains", index, "name"])
        where = str(line) if line else None
        if name in owners:
            raise ConfigError(
                f"domains {owners[name]!r} and {domain.name!r} are the same dbt project "
                f"{name!r} ({project_file})",
                file=mesh.file, location=where,
                fix="give each domain its own dbt project, with the domain's name as `name:`",
            )
        owners[name] = domain.name
        if name != domain.name:
            raise ConfigError(
                f"domain {domain.name!r} is the dbt project {name!r} ({project_file}); "
                "the domain name must be the dbt project name",
                file=mesh.file, location=where,
                fix=f"rename the domain to {name!r} in mesh.yml, or set `name: {domain.name}` "
                    f"in {project_file}",
            )


def line_in_file(file: Path, loc: list[str | int]) -> int | None:
    """1-based line of the key path ``loc`` in a YAML file (of its nearest existing parent)."""
    try:
        node = compose_yaml(read_text(file))
    except (OSError, yaml.YAMLError, ConfigError):
        return None
    return _line_of(node, loc)


def config_error_from_validation(exc: ValidationError, file: Path, node: Any) -> ConfigError:
    """The first validation error as a ConfigError with line, key path and a fix hint."""
    err = exc.errors()[0]
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p in ("duckdb", "snowflake"))]
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    line = _line_of(node, loc)
    msg = err["msg"].removeprefix("Value error, ")
    fix = "see the mesh.yml reference in README.md"
    if err["type"] == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(loc[:-1])
        msg = f"unknown key {key!r}{did_you_mean(key, allowed)}"
        fix = f"remove it, or use one of: {', '.join(sorted(allowed))}" if allowed else "remove it"
    elif err["type"] == "missing":
        fix = f"add `{loc[-1]}:`"
    elif err["type"] == "string_pattern_mismatch":
        fix = "use a lowercase identifier: letters, digits and underscores, starting with a letter"
    return ConfigError(f"{dotted}: {msg}", file=file,
                       location=str(line) if line else None, fix=fix)


def _line_of(node: Any, loc: list[str | int]) -> int | None:
    """1-based line of the YAML node at ``loc`` (or of its nearest existing parent)."""
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(part):
                    child = k if part == loc[-1] else v
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def _allowed_keys(loc: list[str | int]) -> set[str]:
    model: Any = MeshConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            if model is MeshConfig:
                return set()
            continue  # a dict key (a domain name, a classification): stay on the value type
        model = _inner_model(field.annotation)
        if model is None:
            return set()
    return set(model.model_fields) if hasattr(model, "model_fields") else set()


def _inner_model(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", ())
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in reversed(args):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def is_identifier(name: str) -> bool:
    return re.match(IDENTIFIER, name) is not None
