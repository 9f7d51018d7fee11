"""One policy model for both engines: masking and row-filter bodies, and who is cleared.

Each body is written once, in Snowflake SQL, as a sqlglot expression. It names no role: it asks
whether the session holds the *clearance*, a database role of the governance database per
classification and per row filter (``IS_DATABASE_ROLE_IN_SESSION('CLEARED_PII')``), and
``mesh apply`` grants each clearance to exactly the roles mesh.yml declares. So a clearance
granted or revoked in mesh.yml takes effect on every view at the next ``mesh apply``, without
rebuilding a view.

The DuckDB form is derived from the same body with sqlglot: the clearance test becomes a lookup of
the session variable ``mesh_roles`` in one governance relation, ``mesh_governance.main.clearances``
(clearance, role), with every role that holds a clearance directly or by inheritance (DuckDB has
no role graph). ``mesh build`` (of any selection of domains) and ``mesh generate`` rewrite that
relation from mesh.yml in ``<warehouse>/mesh_governance.duckdb``, which every session that reads
views attaches read-only; the views are evaluated against it at query time, so a revoked
clearance stops unmasking in every view at once. A session with no ``mesh_roles``, or one without
the governance database, sees every classified value masked: secure by default.

A domain sees its own data whole: the secure views of a domain also unmask, for its
``<domain>_engineer`` and ``<domain>_owner`` roles, every value and row (on Snowflake they own the
internal tables), and the domain's own dbt nodes read its products' internal tables.

The result is compiled into ``macros/_generated/mesh_policy.sql`` of the root dbt project, where
the platform macros read it (``mesh_platform.mesh_policy()``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from meshkit.column_types import (
    MAX_PARAMS,
    NO_EXACT_POLICY,
    TYPE_FAMILIES,
    TYPE_PREFIXES,
    UNBOUNDED,
    SnowflakeType,
    type_family,
    type_table,
)
from meshkit.config import UNCLASSIFIED, Classification, MaskRule, Mesh, MeshConfig, RowFilter

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["TYPE_FAMILIES", "TYPE_PREFIXES", "type_family"]

# The placeholder the platform macros replace with the quoted column name.
VALUE = "__mesh_value__"
REDACTED = "***MASKED***"
# A partial mask shows this, then the last PARTIAL_SHOWN characters of a value longer than that.
PARTIAL_MARK = "****"
PARTIAL_SHOWN = 4
# tokenize: the key's placeholder in a body, the environment variable a session takes it from
# (the DuckDB variable of that name; on Snowflake a secure function of the governance database),
# and the pseudonym's prefix and length.
TOKEN_KEY = "__mesh_token_key__"
TOKEN_KEY_ENV = "MESH_TOKEN_KEY"
TOKEN_KEY_VARIABLE = "mesh_token_key"
TOKEN_PREFIX = "tok_"
TOKEN_LENGTH = 32
GENERATED_MACRO = Path("macros/_generated/mesh_policy.sql")
# The hash mask's secret salt (see hash_salt_sql): never in mesh.yml, the plan, the catalog or logs.
HASH_SALT_ENV = "MESH_HASH_SALT"
HASH_SALT_MIN_LENGTH = 16
# Where each engine reads the salt at query time. DuckDB: a session variable set from the
# environment by meshkit's connections. Snowflake: a one-row table in the policies schema that
# only the policies' owner reads (`mesh apply` writes it with a bound parameter).
DUCKDB_SALT_VARIABLE = "mesh_hash_salt"
SALT_TABLE = "mask_salt"
_SALT = "MESH_HASH_SALT"  # placeholder function in the bodies, resolved per engine


# The governance database of DuckDB sessions (a file in the warehouse folder) and its relation.
GOVERNANCE_DB = "mesh_governance"
CLEARANCES = "clearances"
CLEARANCE_TEST = "IS_DATABASE_ROLE_IN_SESSION"


def clearance_of_classification(name: str) -> str:
    return f"cleared_{name}"


def clearance_of_row_filter(name: str) -> str:
    return f"cleared_rows_{name}"


def _cleared(clearance: str) -> exp.Expression:
    from sqlglot import exp

    return exp.Anonymous(this=CLEARANCE_TEST, expressions=[exp.Literal.string(clearance.upper())])


def mask_body(name: str, classification: Classification, family: str) -> exp.Expression:
    """The Snowflake masking-policy body for one classification and type family.

    >>> from meshkit.config import Classification
    >>> body = mask_body("sensitive", Classification(mask="partial", cleared=["pci_reader"]), "string")
    >>> print(body.sql("snowflake", pretty=True))
    CASE
      WHEN IS_DATABASE_ROLE_IN_SESSION('CLEARED_SENSITIVE')
      THEN __mesh_value__
      WHEN LENGTH(__mesh_value__) > 4
      THEN CONCAT('****', RIGHT(__mesh_value__, 4))
      ELSE '****'
    END

    A partial mask shows the last four characters of a value longer than four, and nothing of a
    shorter one. The hash mask is a SHA-256 of a secret salt and the value (the salt is read at
    query time, see :func:`resolve_salt`; a NULL salt makes the hash NULL: fail closed).
    """
    from sqlglot import exp

    value = exp.column(VALUE)
    rule = classification.mask
    if rule is MaskRule.none:
        return value
    cleared = exp.If(this=_cleared(clearance_of_classification(name)), true=value)
    ifs = [cleared]
    masked: exp.Expression
    if family == "string" and rule is MaskRule.redact:
        masked = exp.Literal.string(REDACTED)
    elif family == "string" and rule is MaskRule.partial:
        ifs.append(exp.If(
            this=exp.GT(this=exp.Length(this=value.copy()),
                        expression=exp.Literal.number(PARTIAL_SHOWN)),
            true=exp.Anonymous(this="CONCAT", expressions=[
                exp.Literal.string(PARTIAL_MARK),
                exp.Anonymous(this="RIGHT", expressions=[
                    value.copy(), exp.Literal.number(PARTIAL_SHOWN)]),
            ])))
        masked = exp.Literal.string(PARTIAL_MARK)
    elif family == "string" and rule is MaskRule.hash:
        # `||` (not CONCAT: DuckDB's skips NULLs) so that a missing salt gives NULL, no hash.
        masked = exp.SHA2(this=exp.DPipe(this=exp.Anonymous(this=_SALT, expressions=[]),
                                         expression=value.copy(), safe=False),
                          length=exp.Literal.number(256))
    elif family == "string" and rule is MaskRule.tokenize:
        return _tokenize(name, value)
    else:
        masked = exp.null()
    return exp.Case(ifs=ifs, default=masked)


def resolve_salt(body: exp.Expression, dialect: str, governance_db: str) -> exp.Expression:
    """Replace the salt placeholder of a hash body with where ``dialect`` reads the salt.

    >>> from sqlglot import exp
    >>> body = exp.Anonymous(this=_SALT, expressions=[])
    >>> resolve_salt(body, "snowflake", "gov").sql("snowflake")
    '(SELECT salt FROM gov.policies.mask_salt)'
    >>> resolve_salt(body, "duckdb", "gov").sql("duckdb")
    "GETVARIABLE('mesh_hash_salt')"
    """
    from sqlglot import exp

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and str(node.this) == _SALT:
            if dialect == "snowflake":
                return exp.Subquery(this=exp.select("salt").from_(
                    exp.table_(SALT_TABLE, db="policies", catalog=governance_db)))
            return exp.Anonymous(this="getvariable",
                                 expressions=[exp.Literal.string(DUCKDB_SALT_VARIABLE)])
        return node

    return body.copy().transform(swap)


def uses_hash(config: MeshConfig) -> bool:
    """Whether any classification masks with the salted hash (so a salt is needed)."""
    return any(c.mask is MaskRule.hash for c in config.classifications.values())


def _tokenize(name: str, value: exp.Expression) -> exp.Expression:
    """A keyed pseudonym: ``tok_`` + 32 hex of SHA-256(key | value). Fails closed: without a
    key (unset or empty) the value is NULL, never an unkeyed (dictionary-reversible) digest."""
    from sqlglot import exp

    key = exp.Anonymous(this=TOKEN_KEY)
    digest = exp.SHA2(this=exp.Anonymous(this="CONCAT", expressions=[
        key.copy(), exp.Literal.string("|"), value.copy()]), length=exp.Literal.number(256))
    token = exp.Anonymous(this="CONCAT", expressions=[
        exp.Literal.string(TOKEN_PREFIX),
        exp.Anonymous(this="LEFT", expressions=[digest, exp.Literal.number(TOKEN_LENGTH)])])
    no_key = exp.EQ(this=exp.func("COALESCE", key.copy(), exp.Literal.string("")),
                    expression=exp.Literal.string(""))
    return exp.Case(ifs=[exp.If(this=_cleared(clearance_of_classification(name)), true=value),
                         exp.If(this=no_key, true=exp.null())],
                    default=token)


def with_token_key(body: exp.Expression, key: exp.Expression) -> exp.Expression:
    """``body`` with the tokenize key placeholder replaced by ``key``."""
    from sqlglot import exp

    return body.copy().transform(
        lambda n: key.copy() if isinstance(n, exp.Anonymous) and str(n.this) == TOKEN_KEY else n)


def row_filter_body(name: str, row_filter: RowFilter) -> exp.Expression:
    """The Snowflake row-access-policy body: restricted rows only for cleared roles.

    >>> from meshkit.config import RowFilter
    >>> rf = RowFilter(column="region", restricted_values=["EU"], cleared=["eu_data_reader"])
    >>> row_filter_body("eu_residency", rf).sql("snowflake")
    "NOT COALESCE(region, '') IN ('EU') OR IS_DATABASE_ROLE_IN_SESSION('CLEARED_ROWS_EU_RESIDENCY')"
    """
    from sqlglot import exp

    col = exp.func("COALESCE", exp.column(row_filter.column), exp.Literal.string(""))
    unrestricted = exp.not_(exp.In(this=col, expressions=[
        exp.Literal.string(v) for v in row_filter.restricted_values]))
    return exp.or_(unrestricted, _cleared(clearance_of_row_filter(name)))  # type: ignore[return-value]


def _session_roles() -> exp.Func:
    from sqlglot import exp

    return exp.func(
        "COALESCE",
        exp.Anonymous(this="getvariable", expressions=[exp.Literal.string("mesh_roles")]),
        exp.cast(exp.Array(expressions=[]), "VARCHAR[]"),
    )


def to_duckdb(body: exp.Expression) -> str:
    """Transpile a Snowflake body to DuckDB: a clearance is looked up in the governance relation.

    >>> import sqlglot
    >>> sql = to_duckdb(sqlglot.parse_one("IS_DATABASE_ROLE_IN_SESSION('CLEARED_PII')",
    ...                                   read="snowflake"))
    >>> print(sql[sql.index("(SELECT"):])
    (SELECT LIST(role) FROM mesh_governance.main.clearances WHERE clearance = 'cleared_pii')), FALSE)
    """
    import sqlglot
    from sqlglot import exp

    def resolve(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and str(node.this).upper() == CLEARANCE_TEST:
            clearance = node.expressions[0].name.lower()
            holders = sqlglot.select("list(role)").from_(
                f"{GOVERNANCE_DB}.main.{CLEARANCES}").where(
                exp.column("clearance").eq(exp.Literal.string(clearance)))
            return exp.func("COALESCE", exp.Anonymous(this="list_has_any", expressions=[
                _session_roles(), exp.Subquery(this=holders)]), exp.false())
        return node

    key = exp.Anonymous(this="getvariable", expressions=[exp.Literal.string(TOKEN_KEY_VARIABLE)])
    return with_token_key(body, key).transform(resolve).sql("duckdb")


def own_roles_duckdb(roles: list[str]) -> str:
    """The DuckDB test that the session holds one of a domain's own roles (static: those names
    derive from the domain's name, so they never go stale in a view)."""
    from sqlglot import exp

    return exp.Anonymous(this="list_has_any", expressions=[
        _session_roles(), exp.Array(expressions=[exp.Literal.string(r) for r in roles]),
    ]).sql("duckdb")


def clearance_holders(config: MeshConfig) -> dict[str, list[str]]:
    """Each clearance -> the roles mesh.yml declares it to, directly (Snowflake resolves the rest
    through its role graph)."""
    out = {clearance_of_classification(n): sorted(c.cleared)
           for n, c in config.classifications.items() if c.mask is not MaskRule.none}
    if config.default_classification is None:
        out[clearance_of_classification(UNCLASSIFIED)] = []
    out |= {clearance_of_row_filter(n): sorted(rf.cleared) for n, rf in config.row_filters.items()}
    return dict(sorted(out.items()))


def clearance_rows(config: MeshConfig) -> list[tuple[str, str]]:
    """(clearance, role) of every role holding a clearance, inheritance resolved: the rows of the
    DuckDB governance relation.

    >>> from meshkit.config import MeshConfig, Role
    >>> cfg = MeshConfig(name="m", domains=[], roles=[Role(name="a"), Role(name="b", inherits=["a"])],
    ...                  classifications={"pii": Classification(mask="redact", cleared=["a"])})
    >>> clearance_rows(cfg)
    [('cleared_pii', 'a'), ('cleared_pii', 'b'), ('cleared_unclassified', '__nobody__')]
    """
    rows: list[tuple[str, str]] = []
    for clearance, direct in clearance_holders(config).items():
        holders = set().union(*(config.roles_granting(r) for r in direct)) if direct else set()
        # A clearance nobody holds still has a row, so that "not granted" and "relation empty
        # or missing" can be told apart when debugging; the role can never be in a session.
        rows += [(clearance, r) for r in sorted(holders)] or [(clearance, NOBODY)]
    return rows


NOBODY = "__nobody__"


def write_governance(mesh: Mesh, warehouse: Path) -> Path:
    """(Re)write ``<warehouse>/mesh_governance.duckdb`` from mesh.yml, in one transaction."""
    import duckdb

    warehouse.mkdir(parents=True, exist_ok=True)
    path = warehouse / f"{GOVERNANCE_DB}.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("begin")
        con.execute(f"create or replace table main.{CLEARANCES} "
                    "(clearance varchar not null, role varchar not null)")
        rows = clearance_rows(mesh.config)
        con.executemany(f"insert into main.{CLEARANCES} values (?, ?)", rows)
        con.execute("commit")
    return path


@dataclass(frozen=True)
class PolicyNames:
    """Names of the Snowflake policy objects in the governance database."""

    database: str

    def mask(self, classification: str, column_type: SnowflakeType) -> str:
        """One policy per classification and exact column type (its signature).

        >>> from meshkit.column_types import snowflake_type
        >>> PolicyNames("gov").mask("pii", snowflake_type("decimal(12,2)"))
        'gov.policies.mask_pii_number_12_2'
        """
        return f"{self.mask_prefix(classification)}{column_type.slug}"

    def mask_prefix(self, classification: str) -> str:
        return f"{self.database}.policies.mask_{classification}_"

    def row_filter(self, name: str) -> str:
        return f"{self.database}.policies.rows_{name}"

    def token_key(self) -> str:
        """The secure function returning the tokenize key (created from MESH_TOKEN_KEY by the
        security admin, see the runbook; absent, a tokenized view fails to query: closed)."""
        return f"{self.database}.policies.mesh_token_key"


def snowflake_body(body: exp.Expression, names: PolicyNames) -> str:
    from sqlglot import exp

    return with_token_key(body, exp.Anonymous(this=names.token_key())).sql("snowflake")


def effective_classifications(config: MeshConfig) -> dict[str, Classification]:
    """The classifications of mesh.yml plus UNCLASSIFIED when no default is declared."""
    out = dict(config.classifications)
    if config.default_classification is None:
        out[UNCLASSIFIED] = Classification(mask=MaskRule.redact, cleared=[])
    return out


def compile_policy(mesh: Mesh) -> dict[str, object]:
    """Everything the platform macros need, for both engines, as plain JSON data."""
    from sqlglot import exp

    config = mesh.config
    governance_db = next((t.governance_database for t in config.targets.values()
                          if t.type == "snowflake"), "mesh_governance")
    names = PolicyNames(governance_db)
    masks: dict[str, dict[str, dict[str, str]]] = {}
    for cname, classification in sorted(effective_classifications(config).items()):
        if classification.mask is MaskRule.none:
            continue
        masks[cname] = {
            family: {
                "duckdb": to_duckdb(resolve_salt(mask_body(cname, classification, family),
                                                 "duckdb", governance_db)),
                "snowflake": snowflake_body(resolve_salt(mask_body(cname, classification, family),
                                                         "snowflake", governance_db), names),
                # + the exact type's slug (meshkit.column_types.SnowflakeType.slug)
                "snowflake_policy_prefix": names.mask_prefix(cname),
            }
            for family in TYPE_FAMILIES
        }
    row_filters = {
        name: {
            "column": rf.column,
            "duckdb": to_duckdb(row_filter_body(name, rf)),
            "snowflake": row_filter_body(name, rf).sql("snowflake"),
            "snowflake_policy": names.row_filter(name),
        }
        for name, rf in sorted(config.row_filters.items())
    }
    domains = {
        d.name: {"engineer_role": d.engineer_role, "reads_as": sorted(d.reads_as),
                 # The domain's own roles (engineer, owner) in session: they see every value
                 # and row of their own views (and the CCPA opt-outs hidden from consumers).
                 "own_roles": {"duckdb": own_roles_duckdb([d.engineer_role, d.owner_role]),
                               "snowflake": exp.Anonymous(this="IS_ROLE_IN_SESSION", expressions=[
                                   exp.Literal.string(d.engineer_role.upper())]).sql("snowflake")}}
        for d in config.domains
    }
    return {"value_placeholder": VALUE, "masks": masks, "row_filters": row_filters,
            "classifications": sorted(config.classifications),
            "default_classification": config.default_classification or UNCLASSIFIED,
            "domains": domains, "governance_database": governance_db,
            "type_prefixes": [[family, list(prefixes)] for family, prefixes in TYPE_PREFIXES],
            "snowflake_types": type_table(), "no_exact_policy": NO_EXACT_POLICY,
            "type_max_params": MAX_PARAMS,
            "unbounded_types": list(UNBOUNDED)}


def render_policy_macro(mesh: Mesh) -> str:
    data = json.dumps(compile_policy(mesh), sort_keys=True, indent=1)
    return (
        "{#- Generated by `mesh generate` from mesh.yml: do not edit.\n"
        "    The masking and row-filter bodies of every classification, for both engines. -#}\n"
        "{% macro mesh_policy() %}\n"
        "{%- set policy -%}\n" + data + "\n{%- endset -%}\n"
        "{{ return(fromjson(policy)) }}\n"
        "{% endmacro %}\n"
    )


def policy_macro_path(mesh: Mesh) -> Path:
    """Where the mesh's generated policy macro lives."""
    return mesh.root / GENERATED_MACRO


def write_policy_macro(mesh: Mesh) -> bool:
    """(Re)write the generated macro; returns True when its content changed."""
    path = policy_macro_path(mesh)
    text = render_policy_macro(mesh)
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True
