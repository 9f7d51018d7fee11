"""A DuckDB session's mesh roles: the variable ``mesh_roles``, the clearances those roles hold:
the variable ``mesh_clearances`` (both tested by the secure views), and the hash mask's salt: the
variable ``mesh_hash_salt`` they read.

Kept apart from the dbt-duckdb plugin so that `mesh query` sets roles without importing dbt.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

# How long to wait for another process that holds a database file: DuckDB lets one process write
# a file and no other open it meanwhile (a query waits for the model being built; a build waits
# for the query reading the clearances).
BUSY_TIMEOUT_SECONDS = 60.0


def retry_while_locked(action: Callable[[], T], timeout: float = BUSY_TIMEOUT_SECONDS) -> T:
    """``action()``, tried again while DuckDB says another process holds the file's lock."""
    import time

    import duckdb

    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def set_salt(cursor: Any, env: Mapping[str, str] | None = None) -> bool:
    """Give the session the hash mask's salt from ``$MESH_HASH_SALT``, bound as a parameter (so
    it is in no SQL text or log). Without it, hashed values read NULL: fail closed. Returns
    whether a salt was set."""
    from meshkit.masking import DUCKDB_SALT_VARIABLE, HASH_SALT_ENV

    salt = (os.environ if env is None else env).get(HASH_SALT_ENV, "")
    if salt:
        cursor.execute(f"SET VARIABLE {DUCKDB_SALT_VARIABLE} = ?", [salt])
    return bool(salt)


def set_roles(cursor: Any, roles: list[str]) -> None:
    """Give the session ``roles`` and the clearances they hold now, read from the attached
    governance database (:data:`meshkit.masking.SESSION_CLEARANCES_SQL`).

    The clearances are reset first, so that a session where they cannot be read (the governance
    database not attached, or not a clearances relation) holds none: every classified value
    masked, every restricted row hidden. Every meshkit session sets its roles through this, when it
    opens (``mesh query``, each statement of ``mesh shell``, each cursor of a dbt run), so a
    clearance revoked in mesh.yml is not held past the next ``mesh build`` / ``mesh generate``.
    The role names are bound as a parameter: data, never SQL text.
    """
    import contextlib

    import duckdb

    from meshkit.masking import CLEARANCES_VARIABLE, ROLES_VARIABLE, SESSION_CLEARANCES_SQL

    cursor.execute(f"SET VARIABLE {ROLES_VARIABLE} = CAST(? AS VARCHAR[])", [list(roles)])
    cursor.execute(f"RESET VARIABLE {CLEARANCES_VARIABLE}")
    # No governance relation: no clearance (fail closed).
    with contextlib.suppress(duckdb.CatalogException, duckdb.BinderException):
        cursor.execute(SESSION_CLEARANCES_SQL)


def set_cleared_products(cursor: Any, products: list[str]) -> None:
    """Set ``mesh_cleared_products``: the products the session is cleared on by approved access
    requests (:mod:`meshkit.access`), bound as a parameter (product addresses are data)."""
    from meshkit.masking import CLEARED_PRODUCTS_VARIABLE

    cursor.execute(f"SET VARIABLE {CLEARED_PRODUCTS_VARIABLE} = CAST(? AS VARCHAR[])",
                   [list(products)])


def set_token_key(cursor: Any, key: str | None) -> None:
    """Set ``mesh_token_key`` (the tokenize mask's key, from MESH_TOKEN_KEY), bound as a
    parameter so that it is in no SQL text or log; without one, reset it: tokenized columns then
    read as NULL (fail closed)."""
    from meshkit.masking import TOKEN_KEY_VARIABLE

    if key:
        cursor.execute(f"SET VARIABLE {TOKEN_KEY_VARIABLE} = ?", [key])
    else:
        cursor.execute(f"RESET VARIABLE {TOKEN_KEY_VARIABLE}")


def token_key_from_env() -> str | None:
    import os

    return os.environ.get("MESH_TOKEN_KEY") or None
