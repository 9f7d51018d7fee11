"""A DuckDB session's mesh roles: the variable ``mesh_roles`` the secure views test.

Kept apart from the dbt-duckdb plugin so that `mesh query` sets roles without importing dbt.
"""

from __future__ import annotations


def set_roles_sql(roles: list[str]) -> str:
    """``SET VARIABLE mesh_roles = [...]`` built with sqlglot (role names are data, not SQL).

    >>> set_roles_sql(["risk_engineer"])
    "SET VARIABLE mesh_roles = ['risk_engineer']"
    """
    from sqlglot import exp

    array: exp.Expression = exp.Array(expressions=[exp.Literal.string(r) for r in roles])
    if not roles:
        array = exp.cast(array, "VARCHAR[]")
    return f"SET VARIABLE mesh_roles = {array.sql('duckdb')}"
