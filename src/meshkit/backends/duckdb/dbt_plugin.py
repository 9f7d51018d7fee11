"""A dbt-duckdb plugin that gives every dbt session of a domain its mesh roles and clearances.

DuckDB has no roles: a session's roles are the variable ``mesh_roles``, and the clearances they
hold the variable ``mesh_clearances``, that the secure views test (see :mod:`meshkit.masking`).
dbt-duckdb opens a new cursor per thread, and DuckDB variables live per connection, so both are
set in ``configure_cursor``, which dbt-duckdb calls on every cursor it creates: the clearances are
read then from the governance database, which the plugin attaches read-only beside the domain's
database (``mesh build`` and ``mesh generate`` write it from mesh.yml), so a dbt run holds the
clearances of its start. It also gives the session the function the secure views' build gate
samples values with (:data:`PERSONAL_VALUES_FUNCTION`) and the one it traces a model's column
lineage with (:data:`DERIVED_PERSONAL_FUNCTION`), so a column of personal data published
unmasked, as is or derived, is refused before its view is replaced. A domain's profile enables it::

    plugins:
      - module: meshkit.backends.duckdb.dbt_plugin
        config: {roles: [risk_engineer]}
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from meshkit.backends.duckdb.session import (
    set_roles,
    set_salt,
    set_token_key,
    token_key_from_env,
)


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        roles = plugin_config.get("roles") or []
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ValueError("meshkit.backends.duckdb.dbt_plugin: `roles` must be a list of role names")
        self._roles = [r.lower() for r in roles]

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        # An analyst's `mesh query` holds the domain's file (read-only) for the length of one
        # query: dbt then retries opening it (dbt-duckdb waits 1, 2, 4 ... s between attempts)
        # instead of failing the model.
        if creds.retries is None:
            from dbt.adapters.duckdb.credentials import Retries

            creds.retries = Retries(connect_attempts=CONNECT_ATTEMPTS)

    def configure_connection(self, conn: Any) -> None:
        from pathlib import Path

        from sqlglot import exp

        from meshkit.masking import GOVERNANCE_DB

        database = Path(str(getattr(self.creds, "path", "") or ""))
        governance = database.parent / f"{GOVERNANCE_DB}.duckdb"
        if not governance.is_file():
            raise ValueError(
                f"meshkit: the governance database {governance} does not exist (the secure views "
                "read clearances from it); run `mesh generate` or `mesh build` at the mesh root")
        attached = {row[0] for row in conn.execute("select database_name from duckdb_databases()")
                    .fetchall()}
        if GOVERNANCE_DB not in attached:
            conn.execute(exp.Attach(
                this=exp.alias_(exp.Literal.string(str(governance)), GOVERNANCE_DB),
                expressions=[exp.AttachOption(this=exp.var("READ_ONLY"))],
            ).sql("duckdb"))
        register_personal_values(conn)
        register_derived_personal(conn)

    def configure_cursor(self, cursor: Any) -> None:
        set_roles(cursor, self._roles)
        set_salt(cursor)
        # The tokenize key, read from the environment per cursor and never written anywhere.
        key = token_key_from_env()
        if key:
            set_token_key(cursor, key)


CONNECT_ATTEMPTS = 6

# The function the secure_view materialization's duckdb__refuse_personal_values calls.
PERSONAL_VALUES_FUNCTION = "mesh_personal_values"


def _personal_values(values: list[str | None] | None, min_share: float) -> str | None:
    """``kind|hits|sampled`` when at least ``min_share`` of the sampled values look like one
    kind of personal data (:func:`meshkit.governance.patterns.value_kind`, the detectors of
    the personal_data.by_value policy), else NULL. Never returns a value."""
    from meshkit.governance.patterns import value_kind

    sampled = [v for v in values or [] if v is not None]
    found = value_kind(sampled, min_share)
    return None if found is None else f"{found[0]}|{found[1]}|{len(sampled)}"


def register_personal_values(conn: Any) -> None:
    """Register :data:`PERSONAL_VALUES_FUNCTION` (VARCHAR[], DOUBLE) -> VARCHAR on a DuckDB
    connection (its cursors see it), once."""
    import contextlib

    import duckdb

    # DuckDB refuses a second function of the same name: registered already on this connection.
    with contextlib.suppress(duckdb.NotImplementedException):
        conn.create_function(PERSONAL_VALUES_FUNCTION, _personal_values,
                             ["VARCHAR[]", "DOUBLE"], "VARCHAR", side_effects=False,
                             null_handling="special")


# The function the secure_view materialization's duckdb__refuse_derived_personal calls.
DERIVED_PERSONAL_FUNCTION = "mesh_derived_personal"


def register_derived_personal(conn: Any) -> None:
    """Register :data:`DERIVED_PERSONAL_FUNCTION` (VARCHAR, VARCHAR) -> VARCHAR on a DuckDB
    connection, once: :func:`meshkit.governance.derived.decide` (the model's request, its
    parents' columns as JSON)."""
    import contextlib

    import duckdb

    from meshkit.governance.derived import decide

    with contextlib.suppress(duckdb.NotImplementedException):
        conn.create_function(DERIVED_PERSONAL_FUNCTION, decide, ["VARCHAR", "VARCHAR"], "VARCHAR",
                             side_effects=False, null_handling="special")


def release_database() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the life of the process.

    dbt-duckdb caches its environment (and the open database file) at class level, so after an
    in-process build the domain's file stays attached, and the next domain that attaches it
    read-only, or `mesh query`, fails with a file-handle conflict.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = getattr(DuckDBConnectionManager, "_ENV", None)
    if env is not None:
        env.close()
        DuckDBConnectionManager._ENV = None
