"""One policy model for both engines: masking and row-filter bodies.

Each body is written once, in Snowflake SQL (``IS_ROLE_IN_SESSION``), as a sqlglot expression.
The DuckDB form is derived from it: sqlglot transpiles the body and ``IS_ROLE_IN_SESSION('R')``
becomes a test of the session variable ``mesh_roles`` against every role that holds ``R``
(role inheritance is resolved here, since DuckDB has no roles). A session with no ``mesh_roles``
holds no role, so every classified value is masked: secure by default.

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
from meshkit.config import Classification, MaskRule, Mesh, MeshConfig, RowFilter

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
# DuckDB: the session variable listing the products (``<domain>.<product>``) the session is
# cleared on by approved access requests (meshkit.access), and the placeholder of the product
# in the test the secure views make of it.
CLEARED_PRODUCTS_VARIABLE = "mesh_cleared_products"
PRODUCT = "__mesh_product__"
# The hash mask's secret salt (see hash_salt_sql): never in mesh.yml, the plan, the catalog or logs.
HASH_SALT_ENV = "MESH_HASH_SALT"
HASH_SALT_MIN_LENGTH = 16
# Where each engine reads the salt at query time. DuckDB: a session variable set from the
# environment by meshkit's connections. Snowflake: a one-row table in the policies schema that
# only the policies' owner reads (`mesh apply` writes it with a bound parameter).
DUCKDB_SALT_VARIABLE = "mesh_hash_salt"
SALT_TABLE = "mask_salt"
_SALT = "MESH_HASH_SALT"  # placeholder function in the bodies, resolved per engine


def _cleared(roles: list[str]) -> exp.Expression:
    from sqlglot import exp

    if not roles:
        return exp.false()
    tests = [exp.Anonymous(this="IS_ROLE_IN_SESSION", expressions=[exp.Literal.string(r.upper())])
             for r in roles]
    return exp.or_(*tests) if len(tests) > 1 else tests[0]  # type: ignore[return-value]


def mask_body(classification: Classification, family: str) -> exp.Expression:
    """The Snowflake masking-policy body for one classification and type family.

    >>> from meshkit.config import Classification
    >>> body = mask_body(Classification(mask="partial", cleared=["pci_reader"]), "string")
    >>> print(body.sql("snowflake", pretty=True))
    CASE
      WHEN IS_ROLE_IN_SESSION('PCI_READER')
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
    cleared = exp.If(this=_cleared(classification.cleared), true=value)
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
        return _tokenize(classification, value)
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


def _tokenize(classification: Classification, value: exp.Expression) -> exp.Expression:
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
    return exp.Case(ifs=[exp.If(this=_cleared(classification.cleared), true=value),
                         exp.If(this=no_key, true=exp.null())],
                    default=token)


def with_token_key(body: exp.Expression, key: exp.Expression) -> exp.Expression:
    """``body`` with the tokenize key placeholder replaced by ``key``."""
    from sqlglot import exp

    return body.copy().transform(
        lambda n: key.copy() if isinstance(n, exp.Anonymous) and str(n.this) == TOKEN_KEY else n)


def row_filter_body(row_filter: RowFilter) -> exp.Expression:
    """The Snowflake row-access-policy body: restricted rows only for cleared roles.

    >>> from meshkit.config import RowFilter
    >>> rf = RowFilter(column="region", restricted_values=["EU"], cleared=["eu_data_reader"])
    >>> row_filter_body(rf).sql("snowflake")
    "NOT COALESCE(region, '') IN ('EU') OR IS_ROLE_IN_SESSION('EU_DATA_READER')"
    """
    from sqlglot import exp

    col = exp.func("COALESCE", exp.column(row_filter.column), exp.Literal.string(""))
    unrestricted = exp.not_(exp.In(this=col, expressions=[
        exp.Literal.string(v) for v in row_filter.restricted_values]))
    return exp.or_(unrestricted, _cleared(row_filter.cleared))  # type: ignore[return-value]


def to_duckdb(body: exp.Expression, config: MeshConfig) -> str:
    """Transpile a Snowflake body to DuckDB, resolving roles against ``mesh_roles``."""
    from sqlglot import exp

    def resolve_role(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and str(node.this).upper() == "IS_ROLE_IN_SESSION":
            role = node.expressions[0].name.lower()
            holders = sorted(config.roles_granting(role))
            session_roles = exp.func(
                "COALESCE",
                exp.Anonymous(this="getvariable", expressions=[exp.Literal.string("mesh_roles")]),
                exp.cast(exp.Array(expressions=[]), "VARCHAR[]"),
            )
            return exp.Anonymous(this="list_has_any", expressions=[
                session_roles,
                exp.Array(expressions=[exp.Literal.string(h) for h in holders]),
            ])
        return node

    from sqlglot import exp as e

    key = e.Anonymous(this="getvariable", expressions=[e.Literal.string(TOKEN_KEY_VARIABLE)])
    return with_token_key(body, key).transform(resolve_role).sql("duckdb")


def product_clearance_duckdb() -> str:
    """The DuckDB test "the session is cleared on this product" (an approved access request).

    Unset, the variable is an empty list: cleared on nothing (fail closed).

    >>> product_clearance_duckdb()
    "LIST_CONTAINS(COALESCE(GETVARIABLE('mesh_cleared_products'), CAST([] AS TEXT[])), '__mesh_product__')"
    """
    from sqlglot import exp

    session_products = exp.func(
        "COALESCE",
        exp.Anonymous(this="getvariable",
                      expressions=[exp.Literal.string(CLEARED_PRODUCTS_VARIABLE)]),
        exp.cast(exp.Array(expressions=[]), "VARCHAR[]"),
    )
    return exp.Anonymous(this="list_contains", expressions=[
        session_products, exp.Literal.string(PRODUCT)]).sql("duckdb")


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


def compile_policy(mesh: Mesh) -> dict[str, object]:
    """Everything the platform macros need, for both engines, as plain JSON data."""
    config = mesh.config
    governance_db = next((t.governance_database for t in config.targets.values()
                          if t.type == "snowflake"), "mesh_governance")
    names = PolicyNames(governance_db)
    masks: dict[str, dict[str, dict[str, str]]] = {}
    for cname, classification in sorted(config.classifications.items()):
        if classification.mask is MaskRule.none:
            continue
        masks[cname] = {
            family: {
                "duckdb": to_duckdb(resolve_salt(mask_body(classification, family), "duckdb",
                                                 governance_db), config),
                "snowflake": snowflake_body(resolve_salt(mask_body(classification, family),
                                                         "snowflake", governance_db), names),
                # + the exact type's slug (meshkit.column_types.SnowflakeType.slug)
                "snowflake_policy_prefix": names.mask_prefix(cname),
            }
            for family in TYPE_FAMILIES
        }
    row_filters = {
        name: {
            "column": rf.column,
            "duckdb": to_duckdb(row_filter_body(rf), config),
            "snowflake": row_filter_body(rf).sql("snowflake"),
            "snowflake_policy": names.row_filter(name),
        }
        for name, rf in sorted(config.row_filters.items())
    }
    domains = {
        d.name: {"engineer_role": d.engineer_role, "reads_as": sorted(d.reads_as),
                 # The domain's own roles (engineer, owner) in session: the rows its consumers
                 # do not get (CCPA opt-outs) stay visible to the domain itself.
                 "own_roles": {"duckdb": to_duckdb(_cleared([d.engineer_role]), config),
                               "snowflake": _cleared([d.engineer_role]).sql("snowflake")}}
        for d in config.domains
    }
    product_clearance = {"duckdb": product_clearance_duckdb(), "product_placeholder": PRODUCT}
    return {"value_placeholder": VALUE, "masks": masks, "row_filters": row_filters,
            "product_clearance": product_clearance,
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
