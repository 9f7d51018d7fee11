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

from meshkit.config import (
    Classification,
    Domain,
    MaskRule,
    Mesh,
    MeshConfig,
    PolicyConfig,
    RowFilter,
)

if TYPE_CHECKING:
    from sqlglot import exp

# The placeholder the platform macros replace with the quoted column name.
VALUE = "__mesh_value__"
REDACTED = "***MASKED***"
# tokenize: the key's placeholder in a body, the environment variable a session takes it from
# (the DuckDB variable of that name; on Snowflake a secure function of the governance database),
# and the pseudonym's prefix and length.
TOKEN_KEY = "__mesh_token_key__"
TOKEN_KEY_ENV = "MESH_TOKEN_KEY"
TOKEN_KEY_VARIABLE = "mesh_token_key"
TOKEN_PREFIX = "tok_"
TOKEN_LENGTH = 32
TYPE_FAMILIES = ("string", "number", "date", "timestamp", "boolean", "other")
GENERATED_MACRO = Path("macros/_generated/mesh_policy.sql")


# Type-name prefixes of each masking family, checked in order. The one table both engines use:
# compiled into mesh_policy() for the platform macros, and read by type_family() here.
TYPE_PREFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("string", ("varchar", "text", "string", "char", "nvarchar")),
    ("number", ("int", "bigint", "smallint", "tinyint", "hugeint", "number", "numeric", "decimal",
                "double", "float", "real")),
    ("timestamp", ("timestamp", "datetime")),
    ("date", ("date",)),
    ("boolean", ("bool",)),
)


def type_family(data_type: str) -> str:
    """The masking family of a SQL type, the same on both engines.

    >>> [type_family(t) for t in ("varchar(20)", "NUMBER(38,2)", "date", "timestamp_ntz", "bool")]
    ['string', 'number', 'date', 'timestamp', 'boolean']
    """
    t = data_type.strip().lower()
    return next((family for family, prefixes in TYPE_PREFIXES if t.startswith(prefixes)), "other")


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
      ELSE CONCAT('****', RIGHT(__mesh_value__, 4))
    END
    """
    from sqlglot import exp

    value = exp.column(VALUE)
    rule = classification.mask
    if rule is MaskRule.none:
        return value
    masked: exp.Expression
    if family == "string" and rule is MaskRule.redact:
        masked = exp.Literal.string(REDACTED)
    elif family == "string" and rule is MaskRule.partial:
        masked = exp.Anonymous(this="CONCAT", expressions=[
            exp.Literal.string("****"),
            exp.Anonymous(this="RIGHT", expressions=[value.copy(), exp.Literal.number(4)]),
        ])
    elif family == "string" and rule is MaskRule.hash:
        masked = exp.Anonymous(this="SHA2", expressions=[value.copy(), exp.Literal.number(256)])
    elif family == "string" and rule is MaskRule.tokenize:
        return _tokenize(classification, value)
    else:
        masked = exp.null()
    return exp.Case(ifs=[exp.If(this=_cleared(classification.cleared), true=value)],
                    default=masked)


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


@dataclass(frozen=True)
class PolicyNames:
    """Names of the Snowflake policy objects in the governance database."""

    database: str

    def mask(self, classification: str, family: str) -> str:
        return f"{self.database}.policies.mask_{classification}_{family}"

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
                "duckdb": to_duckdb(mask_body(classification, family), config),
                "snowflake": snowflake_body(mask_body(classification, family), names),
                "snowflake_policy": names.mask(cname, family),
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
    return {"value_placeholder": VALUE, "masks": masks, "row_filters": row_filters,
            "domains": domains, "governance_database": governance_db,
            "governance": _domain_checks(mesh),
            "type_prefixes": [[family, list(prefixes)] for family, prefixes in TYPE_PREFIXES]}


# The policies a domain's own `dbt build` also enforces, through the platform package's
# singular test (tests/dbt/domain/mesh_domain_governance.sql): those its manifest alone decides.
DBT_ENFORCED_POLICIES = ("dataset.contract", "dataset.columns_classified", "personal_data.by_name")


def _domain_checks(mesh: Mesh) -> dict[str, object]:
    """What the domain-side governance test needs: per domain, the policies of
    :data:`DBT_ENFORCED_POLICIES` it runs at error severity (global entry, then the domain's);
    the classifications that mask; the personal-data name patterns; the waivers. A mesh without
    ``policies:`` runs none. Read from mesh.yml alone (these policies default to error)."""
    from meshkit.governance.patterns import NAME_PATTERNS
    from meshkit.governance.waiver_file import read_waivers

    config = mesh.config
    if not config.governed:
        return {"checks": {}, "masked_classifications": [], "personal_patterns": {}, "waivers": []}
    global_policies = config.policies or {}

    def enforced(rid: str, domain: Domain) -> bool:
        enabled, severity = True, "error"
        for entry in (global_policies.get(rid), domain.policies.get(rid)):
            if entry is not None:
                enabled = entry.enabled
                severity = entry.severity.value if entry.severity else severity
                scope = entry.scope
                if scope.products or scope.tiers or (scope.domains and
                                                     domain.name not in scope.domains):
                    return False  # scoped finer than a domain: left to `mesh check`
        return enabled and severity == "error"

    extra = (global_policies.get("personal_data.by_name") or PolicyConfig()).params.get(
        "extra_patterns") or {}
    return {
        "checks": {d.name: [rid for rid in DBT_ENFORCED_POLICIES if enforced(rid, d)]
                   for d in config.domains},
        "masked_classifications": sorted(n for n, c in config.classifications.items()
                                         if c.mask is not MaskRule.none),
        "personal_patterns": {**NAME_PATTERNS, **dict(extra)},
        "waivers": [[w.policy, w.node, w.expires.isoformat()] for w in read_waivers(mesh)],
    }


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
