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

from meshkit.config import Classification, MaskRule, Mesh, MeshConfig, RowFilter

if TYPE_CHECKING:
    from sqlglot import exp

# The placeholder the platform macros replace with the quoted column name.
VALUE = "__mesh_value__"
REDACTED = "***MASKED***"
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
    else:
        masked = exp.null()
    return exp.Case(ifs=[exp.If(this=_cleared(classification.cleared), true=value)],
                    default=masked)


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

    return body.copy().transform(resolve_role).sql("duckdb")


@dataclass(frozen=True)
class PolicyNames:
    """Names of the Snowflake policy objects in the governance database."""

    database: str

    def mask(self, classification: str, family: str) -> str:
        return f"{self.database}.policies.mask_{classification}_{family}"

    def row_filter(self, name: str) -> str:
        return f"{self.database}.policies.rows_{name}"


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
                "snowflake": mask_body(classification, family).sql("snowflake"),
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
        d.name: {"engineer_role": d.engineer_role, "reads_as": sorted(d.reads_as)}
        for d in config.domains
    }
    return {"value_placeholder": VALUE, "masks": masks, "row_filters": row_filters,
            "domains": domains, "governance_database": governance_db,
            "type_prefixes": [[family, list(prefixes)] for family, prefixes in TYPE_PREFIXES]}


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
