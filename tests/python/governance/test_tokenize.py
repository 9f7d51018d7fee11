"""The tokenize mask: a keyed deterministic pseudonym, the same on both engines' bodies, joinable
across sessions holding the same key, NULL without a key (fail closed), raw for cleared roles."""

from __future__ import annotations

import duckdb
import pytest

from meshkit.backends.duckdb.session import set_roles, set_token_key
from meshkit.config import Classification, MeshConfig, Role
from meshkit.masking import (
    GOVERNANCE_DB,
    VALUE,
    PolicyNames,
    clearance_rows,
    mask_body,
    snowflake_body,
    to_duckdb,
)

TOKENIZE = Classification(mask="tokenize", cleared=["pii_reader"])
CONFIG = MeshConfig(name="m", domains=[], roles=[Role(name="pii_reader")],
                    classifications={"pii": TOKENIZE})


def _seen(roles: list[str], key: str | None, family: str = "string") -> list[object]:
    body = to_duckdb(mask_body("pii", TOKENIZE, family)).replace(VALUE, "email")
    con = duckdb.connect()
    # the clearances the views read (meshkit.masking.write_governance writes them to a file)
    con.execute(f"attach ':memory:' as {GOVERNANCE_DB}")
    con.execute(f"create table {GOVERNANCE_DB}.main.clearances (clearance varchar, role varchar)")
    con.executemany(f"insert into {GOVERNANCE_DB}.main.clearances values (?, ?)",
                    clearance_rows(CONFIG))
    con.execute("create table t as select * from (values ('a@x.io'), ('b@y.io'), ('a@x.io')) v(email)")
    set_roles(con, roles)
    set_token_key(con, key)
    return [r[0] for r in con.execute(f"select {body} from t").fetchall()]


def test_same_key_same_pseudonym_and_never_the_value() -> None:
    first, second = _seen([], "k1"), _seen([], "k1")
    assert first == second  # deterministic: two domains' sessions join on it
    assert first[0] == first[2] != first[1]
    assert all(isinstance(t, str) and t.startswith("tok_") and "@" not in t for t in first)
    assert _seen([], "k2") != first  # keyed: another key, other pseudonyms


@pytest.mark.parametrize("key", [None, ""])
def test_without_a_key_values_are_null(key: str | None) -> None:
    assert _seen([], key) == [None, None, None]


def test_cleared_roles_see_raw_values_and_other_types_are_null() -> None:
    assert _seen(["pii_reader"], "k1") == ["a@x.io", "b@y.io", "a@x.io"]
    assert to_duckdb(mask_body("pii", TOKENIZE, "number")).endswith("ELSE NULL END")


def test_the_key_is_never_in_generated_sql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESH_TOKEN_KEY", "do-not-store-me")
    body = mask_body("pii", TOKENIZE, "string")
    snowflake = snowflake_body(body, PolicyNames("mesh_governance"))
    assert "MESH_GOVERNANCE.POLICIES.MESH_TOKEN_KEY()" in snowflake.upper()
    assert "do-not-store-me" not in snowflake + to_duckdb(body)
