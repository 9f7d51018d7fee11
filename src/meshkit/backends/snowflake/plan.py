"""The utility plane of a mesh on Snowflake, as an idempotent list of DDL statements.

``plan_mesh`` turns mesh.yml (and the products the domains' manifests declare) into the
statements that ``mesh plan --target prod`` prints and ``mesh apply`` runs: warehouses, a
database per domain with an ``internal`` schema and a schema per product, the governance
database with the classification tag, the masking and row access policies, the roles and their
hierarchy, a reader database role per product, and the grants.

Every statement is either built as a sqlglot expression, or (where sqlglot has no node type for
it: policies, roles, most grants) written from identifiers that sqlglot quotes and then checked by
parsing it with the Snowflake dialect. Policy bodies are parsed as sqlglot expressions.

Consumer roles are granted only: their parent consumer roles, the reader database roles of the
products they are cleared for, and usage of the consumers' warehouse.

Clearances (who sees a classification unmasked, who sees a row filter's restricted rows) are
database roles of the governance database, ``cleared_<classification>`` and
``cleared_rows_<filter>``, which the policy bodies test (``IS_DATABASE_ROLE_IN_SESSION``). Each is
granted to exactly the roles mesh.yml clears, and revoked from every other role the mesh knows
and from the system roles, so that a clearance granted or revoked in mesh.yml is in force after
the next ``mesh apply``. No system role and no domain engineer or owner role (which roll up to
SYSADMIN, as they own their domain's objects) holds a clearance: what a domain reads as
(``reads_as``) is held by ``<domain>_consumer``, a role granted to the user its builds run as,
used as a secondary role. A reader database role
holds usage of its domain database and product schema and SELECT on the views of that schema,
never anything in ``internal`` (``test_plan.py`` asserts it on the demo's plan).

>>> from meshkit.config import MeshConfig, Mesh, Domain, Owner, Role, SnowflakeTarget
>>> cfg = MeshConfig(name="m", domains=[Domain(name="sales", path="sales", owner=Owner(name="o"))],
...                  roles=[Role(name="analyst")],
...                  targets={"prod": SnowflakeTarget(type="snowflake")})
>>> mesh = Mesh(config=cfg, file=Path("mesh.yml"))
>>> plan = plan_mesh(mesh, products={"sales": [Product("orders")]})
>>> [s.sql for s in plan.statements if s.kind == "schema"][:2]
['CREATE SCHEMA IF NOT EXISTS sales.internal', 'CREATE SCHEMA IF NOT EXISTS sales.orders']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meshkit.catalog.model import product_status
from meshkit.column_types import SnowflakeType, UnsupportedType, snowflake_type
from meshkit.config import Domain, Mesh, SnowflakeTarget, is_identifier
from meshkit.errors import ArtifactError, ConfigError
from meshkit.masking import (
    SALT_TABLE,
    VALUE,
    PolicyNames,
    clearance_holders,
    compile_policy,
    uses_hash,
)

if TYPE_CHECKING:
    from sqlglot import exp

INTERNAL_SCHEMA = "internal"
POLICY_SCHEMA = "policies"
CATALOG_SCHEMA = "mesh_catalog"
CLASSIFICATION_TAG = "classification"
CONSUMER_WAREHOUSE = "mesh_consumers_wh"
# The role `mesh-sync --target prod` writes the catalog as (meshkit.backends.snowflake.catalog_store),
# with its own warehouse: it holds nothing but the catalog schema.
CATALOG_WRITER = "mesh_catalog_writer"
CATALOG_WAREHOUSE = "mesh_catalog_wh"
WAREHOUSE_SIZE = "XSMALL"  # a documented spelling (unquoted; quoted it is 'X-SMALL')
# The statuses whose products consumer roles may read; a draft product's readers role exists
# but is granted to no consumer until the product is released.
READABLE_STATUSES = ("active", "deprecated")
POLICY_ARG = "val"
SYSADMIN = "SYSADMIN"
SECURITYADMIN = "SECURITYADMIN"
# Roles no clearance may reach: the plan revokes every mesh role and clearance from them.
SYSTEM_ROLES = ("ACCOUNTADMIN", "SECURITYADMIN", "SYSADMIN", "USERADMIN")


@dataclass(frozen=True)
class Product:
    """A data product (a dbt group) as far as provisioning cares."""

    name: str
    status: str = "active"

    @property
    def readable(self) -> bool:
        return self.status in READABLE_STATUSES


@dataclass(frozen=True)
class MaskedColumn:
    """A column a secure view masks: its classification and its contract's data type."""

    node: str  # the model's unique_id
    column: str
    classification: str
    data_type: str


@dataclass(frozen=True)
class Statement:
    """One DDL statement of the plan. ``kind`` is the object kind it creates or grants."""

    kind: str
    sql: str
    role: str  # the role that runs it (the plan switches with USE ROLE)
    # Values bound to the statement's ``?`` at apply time, by name of the environment variable
    # they are read from: a secret never appears in the plan, its output or the query history.
    secret_params: tuple[str, ...] = ()


@dataclass
class Plan:
    target: str
    statements: list[Statement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def script(self) -> str:
        """The plan as one SQL script: notes as comments, one statement a line."""
        lines = [f"-- meshkit plan for target {self.target}"]
        lines += [f"-- note: {n}" for n in self.notes]
        lines += [f"{s.sql};" + "".join(f" -- ? is ${p} at apply" for p in s.secret_params)
                  for s in self.statements]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "notes": self.notes,
            "statements": [{"kind": s.kind, "role": s.role, "sql": s.sql}
                           | ({"secret_params": list(s.secret_params)} if s.secret_params else {})
                           for s in self.statements],
        }


# --- names ----------------------------------------------------------------------------------------


def ident(name: str) -> str:
    """An identifier as Snowflake SQL (quoted by sqlglot only when it has to be).

    >>> ident("consumer_banking"), ident("SYSADMIN")
    ('consumer_banking', 'SYSADMIN')
    """
    from sqlglot import exp

    return exp.to_identifier(name).sql("snowflake")


def qualified(*parts: str) -> str:
    return ".".join(ident(p) for p in parts)


def reader_role(domain: str, product: str) -> str:
    """The database role of a product's readers (same name as the macro snowflake_reader_role)."""
    return qualified(domain, f"{product}_reader")


def warehouse_of(domain: str) -> str:
    return f"{domain}_wh"


def masked_type(c: MaskedColumn) -> SnowflakeType:
    """The exact type of a masked column, or the build error naming it (see column_types)."""
    try:
        return snowflake_type(c.data_type)
    except UnsupportedType as exc:
        raise ArtifactError(
            f"{c.node}: column {c.column!r} is classified {c.classification!r} (masked) but its "
            f"type {c.data_type!r} has no exact Snowflake masking policy ({exc})",
            fix="declare one of the types listed in docs/snowflake-runbook.md (masking policies "
                "per type), or classify the column public or internal") from None


# --- statement construction -------------------------------------------------------------


# Statements sqlglot's Snowflake dialect cannot parse at all (its CREATE parser takes ROW ACCESS
# POLICY for a property). Their parts are checked instead: the body by ``policy_body``.
SQLGLOT_UNPARSEABLE = ("CREATE ROW ACCESS POLICY", "ALTER ROW ACCESS POLICY")


def checked(sql: str) -> str:
    """``sql`` after checking it parses with sqlglot's Snowflake dialect.

    Statements sqlglot knows round-trip through its AST; the others (it falls back to a generic
    command for CREATE MASKING POLICY, GRANT ... TO DATABASE ROLE and the like) must at least
    not be a syntax error. Raises ``sqlglot.errors.ParseError`` otherwise.

    >>> checked("GRANT ROLE analyst TO ROLE risk_analyst")
    'GRANT ROLE analyst TO ROLE risk_analyst'
    """
    parse_snowflake(sql)
    return sql


def parse_snowflake(sql: str) -> exp.Expr | None:
    """The sqlglot tree of one Snowflake statement (a generic Command where sqlglot has no node
    type for it); None for the few statements it cannot parse at all (SQLGLOT_UNPARSEABLE)."""
    import sqlglot
    from sqlglot.errors import ParseError

    from meshkit.sqlglot_logging import quiet_sqlglot

    try:
        with quiet_sqlglot():
            return sqlglot.parse_one(sql, read="snowflake")
    except ParseError:
        if sql.lstrip().upper().startswith(SQLGLOT_UNPARSEABLE):
            return None
        raise


def _create(kind: str, name: exp.Expression, properties: Mapping[str, exp.Expression] | None = None,
            ) -> str:
    from sqlglot import exp

    props = None
    if properties:
        props = exp.Properties(expressions=[
            exp.Property(this=exp.var(k), value=v) for k, v in properties.items()])
    return exp.Create(this=name, kind=kind, exists=True, properties=props).sql("snowflake")


def _table(*parts: str) -> exp.Expression:
    from sqlglot import exp

    return exp.to_table(".".join(parts), dialect="snowflake")


def policy_body(body: str, value_name: str | None) -> str:
    """A compiled policy body with the value placeholder renamed, parsed as an expression.

    >>> policy_body("CASE WHEN IS_ROLE_IN_SESSION('X') THEN __mesh_value__ ELSE NULL END", "val")
    "CASE WHEN IS_ROLE_IN_SESSION('X') THEN val ELSE NULL END"
    """
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(body, read="snowflake")
    if value_name is not None:
        def rename(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and node.name == VALUE and not node.table:
                return exp.column(value_name)
            return node

        tree = tree.transform(rename)
    return tree.sql("snowflake")


# --- the plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    mesh: Mesh
    governance_db: str
    products: Mapping[str, list[Product]]
    policy: Mapping[str, Any]
    # (domain, product, role) of every approved access request (meshkit.access).
    access_grants: tuple[tuple[str, str, str], ...] = ()
    masked: tuple[MaskedColumn, ...] = ()

    @property
    def domains(self) -> list[Domain]:
        return self.mesh.config.domains

    @property
    def consumer_roles(self) -> list[str]:
        return [r.name for r in self.mesh.config.roles]

    def tag(self) -> str:
        return qualified(self.governance_db, POLICY_SCHEMA, CLASSIFICATION_TAG)

    def mask_policies(self) -> list[tuple[str, SnowflakeType, str]]:
        """(policy name, exact type, Snowflake body) of every masking policy: one per
        classification and exact type of the columns it masks, sorted by name."""
        names = PolicyNames(self.governance_db)
        out: dict[str, tuple[str, SnowflakeType, str]] = {}
        for c in self.masked:
            column_type = masked_type(c)
            name = names.mask(c.classification, column_type)
            body = self.policy["masks"][c.classification][column_type.family]["snowflake"]
            out[name] = (name, column_type, body)
        return [out[n] for n in sorted(out)]

    def salt_table(self) -> str:
        return qualified(self.governance_db, POLICY_SCHEMA, SALT_TABLE)

    def row_policies(self) -> list[tuple[str, str, str]]:
        return [(rf["column"], rf["snowflake_policy"], rf["snowflake"])
                for _, rf in sorted(self.policy["row_filters"].items())]


def _warehouses(ctx: _Context) -> Iterable[str]:
    from sqlglot import exp

    props = {
        "WAREHOUSE_SIZE": exp.var(WAREHOUSE_SIZE),
        "AUTO_SUSPEND": exp.Literal.number(60),
        "AUTO_RESUME": exp.true(),
        "INITIALLY_SUSPENDED": exp.true(),
    }
    for d in ctx.domains:
        yield _create("WAREHOUSE", _table(ident(warehouse_of(d.name))), props)
    yield _create("WAREHOUSE", _table(ident(CONSUMER_WAREHOUSE)), props)
    yield _create("WAREHOUSE", _table(ident(CATALOG_WAREHOUSE)), props)


def _databases(ctx: _Context) -> Iterable[str]:
    for d in ctx.domains:
        yield _create("DATABASE", _table(ident(d.name)))
    yield _create("DATABASE", _table(ident(ctx.governance_db)))


def _schemas(ctx: _Context) -> Iterable[str]:
    for d in ctx.domains:
        yield _create("SCHEMA", _table(ident(d.name), INTERNAL_SCHEMA))
        for p in ctx.products.get(d.name, []):
            yield _create("SCHEMA", _table(ident(d.name), ident(p.name)))
    yield _create("SCHEMA", _table(ident(ctx.governance_db), POLICY_SCHEMA))
    # Written by `mesh-sync --target prod` (meshkit.backends.snowflake.catalog_store); not for consumers.
    yield _create("SCHEMA", _table(ident(ctx.governance_db), CATALOG_SCHEMA))


def _tags(ctx: _Context) -> Iterable[str]:
    # Written out: sqlglot's CREATE TAG node drops the qualified name. CREATE TAG IF NOT EXISTS
    # never changes an existing tag, so the allowed values are set on every apply by ALTER TAG.
    # (Not CREATE OR ALTER TAG: sqlglot reads it as CREATE OR REPLACE TAG without its qualifier.)
    from sqlglot import exp

    values = ", ".join(exp.Literal.string(c).sql("snowflake")
                       for c in ctx.mesh.config.classifications)
    yield checked(f"CREATE TAG IF NOT EXISTS {ctx.tag()} "
                  "COMMENT = 'meshkit: column classification of output datasets'")
    if values:
        yield checked(f"ALTER TAG {ctx.tag()} SET ALLOWED_VALUES {values}")


def _salt(ctx: _Context) -> Iterable[str | Statement]:
    """The hash mask's secret salt: a one-row table only the policies' owner reads, written
    with a bound parameter from the environment (so the plan never contains it)."""
    if not uses_hash(ctx.mesh.config):
        return
    from sqlglot import exp

    from meshkit.masking import HASH_SALT_ENV

    table = ctx.salt_table()
    create = exp.Create(kind="TABLE", exists=True, this=exp.Schema(
        this=exp.to_table(table, dialect="snowflake"),
        expressions=[exp.ColumnDef(this=exp.to_identifier("salt"),
                                   kind=exp.DataType.build("VARCHAR"),
                                   constraints=[exp.ColumnConstraint(
                                       kind=exp.NotNullColumnConstraint())])]))
    yield checked(create.sql("snowflake"))
    # Replaced in one transaction: a policy never reads an empty table (an unsalted hash).
    yield checked("BEGIN")
    yield checked(exp.delete(table, dialect="snowflake").sql("snowflake"))
    insert = exp.insert(exp.values([(exp.Placeholder(),)]), table, columns=["salt"],
                        dialect="snowflake")
    yield Statement("salt", checked(insert.sql("snowflake")), SYSADMIN,
                    secret_params=(HASH_SALT_ENV,))
    yield checked("COMMIT")


def _masking_policies(ctx: _Context) -> Iterable[str]:
    # CREATE OR REPLACE fails while a policy is attached to a column, so a policy is created
    # once and its body kept current with ALTER ... SET BODY: the pair is idempotent.
    # The signature is the exact type of the columns the policy is attached to.
    for name, column_type, body in ctx.mask_policies():
        sql_type = column_type.sql
        expr = policy_body(body, POLICY_ARG)
        yield checked(f"CREATE MASKING POLICY IF NOT EXISTS {name} AS ({POLICY_ARG} {sql_type}) "
                      f"RETURNS {sql_type} -> {expr}")
        yield checked(f"ALTER MASKING POLICY {name} SET BODY -> {expr}")


def _row_access_policies(ctx: _Context) -> Iterable[str]:
    for column, name, body in ctx.row_policies():
        expr = policy_body(body, None)
        yield checked(f"CREATE ROW ACCESS POLICY IF NOT EXISTS {name} AS ({ident(column)} VARCHAR) "
                      f"RETURNS BOOLEAN -> {expr}")
        yield checked(f"ALTER ROW ACCESS POLICY {name} SET BODY -> {expr}")


def clearance_role(governance_db: str, clearance: str) -> str:
    """The database role of a clearance (meshkit.masking names the clearances)."""
    return qualified(governance_db, clearance)


def _database_roles(ctx: _Context) -> Iterable[str]:
    for d in ctx.domains:
        for p in ctx.products.get(d.name, []):
            yield checked(f"CREATE DATABASE ROLE IF NOT EXISTS {reader_role(d.name, p.name)}")
    for clearance in clearance_holders(ctx.mesh.config):
        yield checked(f"CREATE DATABASE ROLE IF NOT EXISTS "
                      f"{clearance_role(ctx.governance_db, clearance)}")


def _roles(ctx: _Context) -> Iterable[str]:
    for d in ctx.domains:
        yield checked(f"CREATE ROLE IF NOT EXISTS {ident(d.engineer_role)}")
        yield checked(f"CREATE ROLE IF NOT EXISTS {ident(d.owner_role)}")
        yield checked(f"CREATE ROLE IF NOT EXISTS {ident(d.consumer_role)}")
    for r in ctx.consumer_roles:
        yield checked(f"CREATE ROLE IF NOT EXISTS {ident(r)}")


def _role_hierarchy(ctx: _Context) -> Iterable[str]:
    """Declared grants between roles, and the revocation of every other grant of a consumer
    role (to another consumer role, a domain role or a system role), so that the role graph
    is what mesh.yml says after each apply."""
    def grant(role: str, to: str) -> str:
        return checked(f"GRANT ROLE {ident(role)} TO ROLE {ident(to)}")

    def revoke(role: str, frm: str) -> str:
        return checked(f"REVOKE ROLE {ident(role)} FROM ROLE {ident(frm)}")

    consumers = ctx.consumer_roles
    for r in ctx.mesh.config.roles:
        for parent in r.inherits:
            yield grant(parent, r.name)
        for other in consumers:
            if other != r.name and other not in r.inherits:
                yield revoke(other, r.name)
    for d in ctx.domains:
        yield grant(d.engineer_role, d.owner_role)
        # Domain roles own their domain's objects, so they roll up to SYSADMIN; no clearance
        # may follow them there: the domain's reads are held by its consumer role instead.
        yield grant(d.owner_role, SYSADMIN)
        for consumer in consumers:
            if consumer in d.reads_as:
                yield grant(consumer, d.consumer_role)
            else:
                yield revoke(consumer, d.consumer_role)
            yield revoke(consumer, d.engineer_role)
            yield revoke(consumer, d.owner_role)
    for system in SYSTEM_ROLES:
        for role in [*consumers, *(d.consumer_role for d in ctx.domains)]:
            yield revoke(role, system)


def _clearance_grants(ctx: _Context) -> Iterable[str]:
    """Each clearance to the roles mesh.yml declares, revoked from every other role."""
    config = ctx.mesh.config
    everyone = [*ctx.consumer_roles,
                *(r for d in ctx.domains for r in (d.engineer_role, d.owner_role, d.consumer_role)),
                *SYSTEM_ROLES]
    for clearance, holders in clearance_holders(config).items():
        name = clearance_role(ctx.governance_db, clearance)
        for role in everyone:
            if role in holders:
                yield checked(f"GRANT DATABASE ROLE {name} TO ROLE {ident(role)}")
            else:
                yield checked(f"REVOKE DATABASE ROLE {name} FROM ROLE {ident(role)}")


def _withheld_table(ctx: _Context) -> Iterable[str]:
    """The views the sync withholds (``mesh-sync --target prod`` writes it as the catalog
    writer): every product view reads it, so it exists before the first build."""
    from meshkit.catalog.store import WITHHELD_TABLE, create_table_sql

    yield create_table_sql(WITHHELD_TABLE, "snowflake", if_not_exists=True,
                           database=ctx.governance_db)


def withheld_table(governance_db: str) -> str:
    """``<governance db>.mesh_catalog.withheld_views`` (the macro's guard reads the same)."""
    from meshkit.catalog.store import WITHHELD_TABLE

    return qualified(governance_db, CATALOG_SCHEMA, WITHHELD_TABLE)


def _engineer_grants(ctx: _Context) -> Iterable[str]:
    gov, pol = ident(ctx.governance_db), qualified(ctx.governance_db, POLICY_SCHEMA)
    catalog = qualified(ctx.governance_db, CATALOG_SCHEMA)
    for d in ctx.domains:
        role, db = ident(d.engineer_role), ident(d.name)
        yield checked(f"GRANT USAGE ON WAREHOUSE {ident(warehouse_of(d.name))} TO ROLE {role}")
        yield checked(f"GRANT ALL PRIVILEGES ON DATABASE {db} TO ROLE {role}")
        yield checked(f"GRANT ALL PRIVILEGES ON ALL SCHEMAS IN DATABASE {db} TO ROLE {role}")
        yield checked(f"GRANT ALL PRIVILEGES ON FUTURE SCHEMAS IN DATABASE {db} TO ROLE {role}")
        # To create secure views with the policies and the tag inline.
        yield checked(f"GRANT USAGE ON DATABASE {gov} TO ROLE {role}")
        yield checked(f"GRANT USAGE ON SCHEMA {pol} TO ROLE {role}")
        yield checked(f"GRANT APPLY ON TAG {ctx.tag()} TO ROLE {role}")
        for name, _, _ in ctx.mask_policies():
            yield checked(f"GRANT APPLY ON MASKING POLICY {name} TO ROLE {role}")
        for _, name, _ in ctx.row_policies():
            yield checked(f"GRANT APPLY ON ROW ACCESS POLICY {name} TO ROLE {role}")
        # A view runs as its owner: each product view reads the withheld list (its guard),
        # and nothing else of the catalog.
        yield checked(f"GRANT USAGE ON SCHEMA {catalog} TO ROLE {role}")
        yield checked(f"GRANT SELECT ON TABLE {withheld_table(ctx.governance_db)} TO ROLE {role}")


def _reader_grants(ctx: _Context) -> Iterable[str]:
    for d in ctx.domains:
        db = ident(d.name)
        for p in ctx.products.get(d.name, []):
            reader, schema = reader_role(d.name, p.name), qualified(d.name, p.name)
            yield checked(f"GRANT USAGE ON DATABASE {db} TO DATABASE ROLE {reader}")
            yield checked(f"GRANT USAGE ON SCHEMA {schema} TO DATABASE ROLE {reader}")
            # A product schema holds only the secure views of the secure_view materialization;
            # dbt also grants each view explicitly (grant_product_readers) as it is created.
            yield checked(f"GRANT SELECT ON FUTURE VIEWS IN SCHEMA {schema} "
                          f"TO DATABASE ROLE {reader}")
            # The product's own team reads it whatever its status.
            yield checked(f"GRANT DATABASE ROLE {reader} TO ROLE {ident(d.owner_role)}")
            if p.readable:
                for r in ctx.consumer_roles:
                    yield checked(f"GRANT DATABASE ROLE {reader} TO ROLE {ident(r)}")


def _access_grants(ctx: _Context) -> Iterable[str]:
    """Approved access requests: the product's reader database role to the requested role,
    whatever the product's status (a draft product is read by approved roles only)."""
    planned = {(d, p.name) for d, products in ctx.products.items() for p in products}
    for domain, product, role in ctx.access_grants:
        if (domain, product) in planned:
            yield checked(f"GRANT DATABASE ROLE {reader_role(domain, product)} TO ROLE {ident(role)}")


def _consumer_grants(ctx: _Context) -> Iterable[str]:
    for r in ctx.consumer_roles:
        yield checked(f"GRANT USAGE ON WAREHOUSE {ident(CONSUMER_WAREHOUSE)} TO ROLE {ident(r)}")


def _catalog_writer_role(ctx: _Context) -> Iterable[str]:
    yield checked(f"CREATE ROLE IF NOT EXISTS {ident(CATALOG_WRITER)}")
    # Like the domain roles, it rolls up to SYSADMIN; it holds no clearance and no data.
    yield checked(f"GRANT ROLE {ident(CATALOG_WRITER)} TO ROLE {SYSADMIN}")


def _catalog_writer_grants(ctx: _Context) -> Iterable[str]:
    """Exactly what ``mesh-sync --target prod`` runs (meshkit.backends.snowflake.catalog_store):
    CREATE TABLE IF NOT EXISTS, then DELETE and INSERT, in the catalog schema, on its
    warehouse (``test_sf_dbt.py`` holds the grants against the captured statements)."""
    role = ident(CATALOG_WRITER)
    schema = qualified(ctx.governance_db, CATALOG_SCHEMA)
    yield checked(f"GRANT USAGE ON WAREHOUSE {ident(CATALOG_WAREHOUSE)} TO ROLE {role}")
    yield checked(f"GRANT USAGE ON DATABASE {ident(ctx.governance_db)} TO ROLE {role}")
    yield checked(f"GRANT USAGE ON SCHEMA {schema} TO ROLE {role}")
    yield checked(f"GRANT CREATE TABLE ON SCHEMA {schema} TO ROLE {role}")
    # Tables it creates it owns; these cover tables another role created (an earlier sync).
    for which in ("ALL", "FUTURE"):
        yield checked(f"GRANT INSERT, DELETE ON {which} TABLES IN SCHEMA {schema} TO ROLE {role}")


# Object kind -> (role that runs it, statements). Order matters: objects before their grants.
STEPS: list[tuple[str, str, Callable[[_Context], Iterable[str | Statement]]]] = [
    ("warehouse", SYSADMIN, _warehouses),
    ("database", SYSADMIN, _databases),
    ("schema", SYSADMIN, _schemas),
    ("table", SYSADMIN, _withheld_table),
    ("tag", SYSADMIN, _tags),
    ("salt", SYSADMIN, _salt),
    ("masking_policy", SYSADMIN, _masking_policies),
    ("row_access_policy", SYSADMIN, _row_access_policies),
    ("database_role", SYSADMIN, _database_roles),
    ("role", SECURITYADMIN, _roles),
    ("role_grant", SECURITYADMIN, _role_hierarchy),
    ("clearance_grant", SECURITYADMIN, _clearance_grants),
    ("engineer_grant", SECURITYADMIN, _engineer_grants),
    ("reader_grant", SECURITYADMIN, _reader_grants),
    ("access_grant", SECURITYADMIN, _access_grants),
    ("consumer_grant", SECURITYADMIN, _consumer_grants),
    ("catalog_writer_role", SECURITYADMIN, _catalog_writer_role),
    ("catalog_writer_grant", SECURITYADMIN, _catalog_writer_grants),
]


def snowflake_target(mesh: Mesh, target: str | None) -> tuple[str, SnowflakeTarget]:
    name, t = mesh.config.target(target or "prod")
    if not isinstance(t, SnowflakeTarget):
        raise ConfigError(
            f"target {name!r} is of type {t.type!r}, not snowflake",
            file=mesh.file, location=f"targets.{name}",
            fix="pass --target with a target of `type: snowflake` (e.g. prod)",
        )
    return name, t


def products_from_manifests(mesh: Mesh) -> tuple[dict[str, list[Product]], list[str]]:
    """Each domain's products (dbt groups) from its manifest, and notes on domains without one."""
    products, _, notes = read_manifests(mesh)
    return products, notes


def read_manifests(mesh: Mesh) -> tuple[dict[str, list[Product]], list[MaskedColumn], list[str]]:
    """Each domain's products (dbt groups) and masked columns (of its secure views) from its
    manifest, and notes on domains without one."""
    from meshkit.artifacts import LocalArtifacts, read_domain_artifacts

    products: dict[str, list[Product]] = {}
    masked: list[MaskedColumn] = []
    notes: list[str] = []
    # The classifications that mask (and so need policies), and the one a column without any
    # is masked as (the platform macros' rule, from the compiled policy) when the mesh has one.
    policy = compile_policy(mesh)
    masking = set(policy["masks"])  # type: ignore[call-overload]
    default = policy.get("default_classification")
    for d in mesh.config.domains:
        path = mesh.artifacts_path(d)
        try:
            artifacts = read_domain_artifacts(LocalArtifacts(path))
        except ArtifactError as exc:
            notes.append(f"domain {d.name}: {exc.message} in {path}; planned without its "
                         "product schemas and reader roles (build or `dbt parse` it, then re-plan)")
            continue
        found = []
        for g in sorted(artifacts.groups.values(), key=lambda g: g.name):
            if not is_identifier(g.name):
                raise ArtifactError(f"group {g.name!r} is not a lowercase identifier",
                                    file=path / "manifest.json",
                                    fix="rename the group: it names a Snowflake schema")
            found.append(Product(g.name, product_status(g.meta)))
        products[d.name] = found
        for node in sorted(artifacts.nodes.values(), key=lambda n: n.unique_id):
            if node.package_name != d.name or node.materialized != "secure_view":
                continue  # dbt-loom's upstream nodes are planned with their own domain
            for c in node.columns:
                effective = c.classification if c.classification is not None else default
                if isinstance(effective, str) and effective in masking:
                    masked.append(MaskedColumn(node.unique_id, c.name, effective,
                                               c.data_type or ""))
    return products, masked, notes


def plan_mesh(mesh: Mesh, target: str | None = None,
              products: Mapping[str, list[Product]] | None = None,
              masked: Iterable[MaskedColumn] | None = None) -> Plan:
    """The plan of ``target`` (default ``prod``); products and masked columns (whose exact
    types give the masking policies) read from the domains' manifests unless given."""
    name, t = snowflake_target(mesh, target)
    notes: list[str] = []
    if products is None or masked is None:
        read_products, read_masked, notes = read_manifests(mesh)
        products = read_products if products is None else products
        masked = read_masked if masked is None else masked
    from meshkit.access import effective_grants

    grants = effective_grants(mesh)
    notes += [f"access request {g.id}: role {g.role} reads {g.product}, approved by "
              f"{g.decided_by} at {g.decided_at}" for g in grants]
    access = tuple(sorted((g.product.split(".", 1)[0], g.product.split(".", 1)[1], g.role)
                          for g in grants))
    ctx = _Context(mesh=mesh, governance_db=t.governance_database, products=products,
                   policy=compile_policy(mesh), masked=tuple(masked), access_grants=access)
    plan = Plan(target=name, notes=notes)
    current_role = None
    for kind, role, step in STEPS:
        for item in step(ctx):
            if role != current_role:
                plan.statements.append(Statement("use_role", f"USE ROLE {role}", role))
                current_role = role
            plan.statements.append(item if isinstance(item, Statement)
                                   else Statement(kind, item, role))
    return plan


def load_plan(mesh_file: Path | str, target: str | None = None) -> Plan:
    from meshkit.config import load_mesh

    return plan_mesh(load_mesh(mesh_file), target)
