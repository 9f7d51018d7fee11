"""Acceptance of the masking rules across every type family a contract can declare.

The fixture mesh (``type_fixtures``) has one dataset with a classified column of every supported
Snowflake type family, a ``varchar(6)`` pii column, a ``char(4)`` sensitive column holding a
3-character value and a ``varchar(32)`` column under the salted hash. ``sf_types`` declares
Snowflake's types and is built by dbt-snowflake on fakesnow; ``dk_types`` is the same dataset in
DuckDB's types, built and queried on DuckDB as every role.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sf_harness import (
    DDL,
    TYPE_FIXTURES,
    FakeSnowflake,
    assert_no_exposure_window,
    assert_signatures_equal_column_types,
    check_golden,
    copy_fixture_mesh,
    documented_type,
    normalise,
    policy_signatures,
)

from meshkit.backends.snowflake.plan import Plan, plan_mesh
from meshkit.cli.main import cli
from meshkit.column_types import type_family
from meshkit.config import MaskRule, load_mesh
from meshkit.errors import ArtifactError, ConfigError

SALT = "type-fixture-salt-0123456789abcdef"
# Every Snowflake type family the type table covers, as policy signatures (documented form).
FAMILIES = {"NUMBER", "FLOAT", "VARCHAR", "BINARY", "BOOLEAN", "DATE", "TIME", "TIMESTAMP_NTZ",
            "TIMESTAMP_LTZ", "TIMESTAMP_TZ", "VARIANT", "OBJECT", "ARRAY", "GEOGRAPHY", "GEOMETRY"}


@dataclass
class SnowflakeBuild:
    mesh_file: Path
    fake: FakeSnowflake
    plan: Plan
    ddl: list[str]
    apply_output: str
    evaluated: dict[str, list[tuple[Any, ...]]]


def _masked_value_sql(body: str, value: str) -> str:
    """A policy body evaluated for a reader without clearance, on one literal value."""
    uncleared = re.sub(r"IS_(DATABASE_)?ROLE_IN_SESSION\('[A-Z_]+'\)", "FALSE", body)
    return "select " + re.sub(r"\bval\b", value, uncleared)


@pytest.fixture(scope="module")
def sf_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnowflakeBuild]:
    from meshkit.build import build

    root = tmp_path_factory.mktemp("sf_types")
    mesh_file = copy_fixture_mesh(root, TYPE_FIXTURES)
    mesh = load_mesh(mesh_file)
    fake = FakeSnowflake(root / "fakesnow")
    old = os.environ.get("MESH_HASH_SALT")
    os.environ["MESH_HASH_SALT"] = SALT
    try:
        with fake.running():
            # Provisioned first, as in a deployment: the views' guard reads the plan's table.
            applied = CliRunner().invoke(cli, ["apply", "--mesh", str(mesh_file)])
            assert applied.exit_code == 0, applied.output
            n_applied = len(fake.statements)
            result = build(mesh, target="prod", only=["sf_types"])
            assert result.success, [d.errors for d in result.domains]
            n_build = len(fake.statements)
            plan = plan_mesh(load_mesh(mesh_file), "prod")
            # each policy body, for an uncleared reader, on the fixture's string values
            bodies = {name: s.sql.split(" -> ", 1)[1] for s in plan.statements
                      if (name := _policy_name(s.sql)) and s.sql.startswith("CREATE MASKING")}
            evaluated = {
                name: [fake.query(_masked_value_sql(body, literal))[0]
                       for literal in ("'abc'", "'abcd'", "'abcde'", "'4111111111111111'", "NULL")]
                for name, body in bodies.items() if "varchar" in name}
            evaluated["salt"] = fake.query("select salt from mesh_governance.policies.mask_salt")
        build_ddl = [normalise(s) for s in fake.statements[n_applied:n_build] if DDL.match(s)]
        yield SnowflakeBuild(mesh_file, fake, plan, build_ddl, applied.output, evaluated)
    finally:
        if old is None:
            os.environ.pop("MESH_HASH_SALT", None)
        else:
            os.environ["MESH_HASH_SALT"] = old


def _policy_name(sql: str) -> str | None:
    m = re.match(r"^CREATE MASKING POLICY IF NOT EXISTS \S+\.(\w+) ", sql)
    return m.group(1) if m else None


@pytest.mark.snowflake
def test_type_fixture_ddl_and_plan_match_golden(sf_build: SnowflakeBuild) -> None:
    check_golden("types_dbt_build_prod.sql", [f"{s};" for s in sf_build.ddl])
    # dk_types (the DuckDB twin) has no manifest in this build: noted, with a temporary path
    assert [n.split(":")[0] for n in sf_build.plan.notes] == ["domain dk_types"]
    check_golden("types_plan_prod.sql", [line for line in sf_build.plan.script().splitlines()
                                         if not line.startswith("-- note:")])


@pytest.mark.snowflake
def test_every_policy_signature_equals_its_column_type(sf_build: SnowflakeBuild) -> None:
    statements = [s.sql for s in sf_build.plan.statements]
    checked = assert_signatures_equal_column_types(statements, sf_build.ddl)
    assert checked == 22  # every column of all_types but the public id
    signatures = policy_signatures(statements)
    bases = {documented_type(argument).split("(")[0] for argument, _ in signatures.values()}
    assert bases == FAMILIES
    # one policy per exact type, not per family
    assert "mask_confidential_number_12_2" in " ".join(signatures)
    assert "mask_confidential_number_6_4" in " ".join(signatures)
    assert "mask_confidential_number_38_0" in " ".join(signatures)
    assert_no_exposure_window(sf_build.ddl)


@pytest.mark.snowflake
def test_masked_strings_never_exceed_the_column(sf_build: SnowflakeBuild) -> None:
    """varchar(6) pii, char(4) sensitive, varchar(32) hashed: each is cast to VARCHAR in the view,
    the type its policy takes, so '***MASKED***', '****1111' and a 64-character hash fit."""
    view = next(s for s in sf_build.ddl if s.startswith("create or replace secure view"))
    for column in ("c_pii6", "c_sensitive_short", "c_sensitive_long", "c_hashed32"):
        assert f"cast({column} as varchar) as {column}" in view
    assert "cast(c_binary as binary) as c_binary" in view
    assert "cast(c_number" not in view  # NULL fits any number


@pytest.mark.snowflake
def test_snowflake_bodies_reveal_no_more_than_the_rules(sf_build: SnowflakeBuild) -> None:
    """The plan's string policy bodies, evaluated by the emulator for an uncleared reader."""
    got = sf_build.evaluated
    assert set(got) == {"mask_pii_varchar", "mask_sensitive_varchar", "mask_internal_varchar",
                        "mask_confidential_varchar", "salt"} - {"mask_confidential_varchar"}
    assert got["mask_pii_varchar"] == [("***MASKED***",)] * 5
    assert got["mask_sensitive_varchar"] == [("****",), ("****",), ("****bcde",), ("****1111",),
                                             ("****",)]
    hashed = [row[0] for row in got["mask_internal_varchar"]]
    for value, digest in zip(["abc", "abcd", "abcde", "4111111111111111"], hashed, strict=False):
        assert digest == hashlib.sha256((SALT + value).encode()).hexdigest()
        assert digest != hashlib.sha256(value.encode()).hexdigest()  # not a dictionary's hash
    assert hashed[-1] is None


@pytest.mark.snowflake
def test_the_salt_is_bound_never_written(sf_build: SnowflakeBuild) -> None:
    script = sf_build.plan.script()
    assert ("INSERT INTO mesh_governance.policies.mask_salt (salt) VALUES (?); "
            "-- ? is $MESH_HASH_SALT at apply") in script
    assert SALT not in script and SALT not in sf_build.apply_output
    assert not any(SALT in s for s in sf_build.fake.statements)  # a bound parameter
    assert sf_build.evaluated["salt"] == [(SALT,)]
    for path in (sf_build.mesh_file.parent / "domains").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".log", ".sql"):
            assert SALT not in path.read_text(errors="replace"), path


def test_apply_without_the_salt_fails_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             ) -> None:
    """A mesh with a hash mask is not applied without its salt (nor with a guessable one)."""
    from meshkit.backends.snowflake.apply import secrets_of

    plan = plan_mesh(load_mesh(TYPE_FIXTURES / "mesh.yml"), "prod", {}, [])
    with pytest.raises(ConfigError, match="MESH_HASH_SALT is not set"):
        secrets_of(plan, {})
    with pytest.raises(ConfigError, match="shorter than 16"):
        secrets_of(plan, {"MESH_HASH_SALT": "short"})
    monkeypatch.delenv("MESH_HASH_SALT", raising=False)
    for name in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD"):
        monkeypatch.setenv(name, "x")
    result = CliRunner().invoke(cli, ["apply", "--mesh", str(TYPE_FIXTURES / "mesh.yml")])
    assert result.exit_code == 2 and "MESH_HASH_SALT" in result.output


@pytest.mark.snowflake
def test_a_type_without_exact_policy_is_refused(tmp_path: Path) -> None:
    """A masked VECTOR column fails the build and the plan, naming the column and its type."""
    from meshkit.build import build

    mesh_file = copy_fixture_mesh(tmp_path / "mesh", TYPE_FIXTURES)
    yml = tmp_path / "mesh" / "domains" / "sf_types" / "models" / "all_types.yml"
    yml.write_text(yml.read_text().replace("data_type: geometry", "data_type: vector(float, 2)"))
    fake = FakeSnowflake(tmp_path / "fakesnow")
    with fake.running():
        result = build(load_mesh(mesh_file), target="prod", only=["sf_types"])
    errors = "\n".join(result.domains[0].errors)
    assert not result.success
    assert "column 'c_geometry' is classified 'confidential' (masked) but its type" in errors
    assert "'vector(float, 2)' has no exact Snowflake masking policy" in errors
    assert not any("secure view" in s for s in fake.statements)
    with pytest.raises(ArtifactError, match=r"c_geometry.*vector"):
        plan_mesh(load_mesh(mesh_file), "prod")


# --- DuckDB: the same dataset, every reader ----------------------------------------------------


@pytest.fixture(scope="module")
def dk_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from meshkit.build import build

    root = tmp_path_factory.mktemp("dk_types")
    mesh_file = copy_fixture_mesh(root, TYPE_FIXTURES)
    old = {k: os.environ.get(k) for k in ("MESH_HASH_SALT", "MESH_WAREHOUSE")}
    os.environ["MESH_HASH_SALT"] = SALT
    os.environ["MESH_WAREHOUSE"] = str(root / "warehouse")
    try:
        result = build(load_mesh(mesh_file), only=["dk_types"])
        assert result.success, [d.errors for d in result.domains]
        yield mesh_file
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _expected(rule: MaskRule, value: Any, salt: str | None) -> Any:
    """What an uncleared reader may see of ``value`` under ``rule`` (string columns)."""
    if rule is MaskRule.none:
        return value
    if rule is MaskRule.redact:
        return "***MASKED***"
    if rule is MaskRule.partial:
        return "****" + value[-4:] if value is not None and len(value) > 4 else "****"
    if rule is MaskRule.hash:
        if salt is None or value is None:
            return None
        return hashlib.sha256((salt + value).encode()).hexdigest()
    return None


@pytest.mark.parametrize("salted", [True, False])
def test_duckdb_readers_see_no_more_than_the_rules(dk_mesh: Path, salted: bool,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from meshkit.backends.duckdb.query import connect

    if salted:
        monkeypatch.setenv("MESH_HASH_SALT", SALT)
    else:
        monkeypatch.delenv("MESH_HASH_SALT", raising=False)  # hashes read NULL: fail closed
    monkeypatch.setenv("MESH_WAREHOUSE", str(dk_mesh.parent / "warehouse"))
    mesh = load_mesh(dk_mesh)
    cfg = mesh.config
    classes = {n: c for n, _, c in _columns(dk_mesh)}
    strings = {n for n, t, _ in _columns(dk_mesh) if type_family(t) == "string"}
    view, table = "dk_types.type_lab.all_types", "dk_types.internal.type_lab__all_types"
    with connect(mesh, ["auditor", "pii_reader", "pci_reader", "risk_analyst"], locked=False) as c:
        raw = c.execute(f"select * from {table} order by id").fetchall()
        names = [d[0] for d in c.description]
    checked = 0
    for roles in ([], ["analyst"], ["pii_reader"], ["pci_reader"], ["risk_analyst"], ["auditor"]):
        with connect(mesh, roles, locked=False) as con:
            seen = con.execute(f"select * from {view} order by id").fetchall()  # never fails
            types = dict(con.execute("select column_name, data_type from information_schema"
                                     ".columns where table_name = 'all_types' and "
                                     "table_schema = 'type_lab'").fetchall())
        holders = {name: set().union(*(cfg.roles_granting(r) for r in c.cleared))
                   for name, c in cfg.classifications.items()}
        for i, column in enumerate(names):
            rule = cfg.classifications[classes[column]].mask
            cleared = bool(set(roles) & holders[classes[column]]) or rule is MaskRule.none
            for raw_row, seen_row in zip(raw, seen, strict=True):
                value, shown = raw_row[i], seen_row[i]
                if cleared:
                    assert shown == value, (roles, column)
                elif column in strings:
                    assert shown == _expected(rule, value, SALT if salted else None), (
                        roles, column, value, shown)
                    assert shown != value
                    assert types[column] == "VARCHAR"  # unbounded: the mask always fits
                else:
                    assert shown is None, (roles, column, shown)
                checked += 1
    assert strings == {"c_pii6", "c_sensitive_short", "c_sensitive_long", "c_hashed32"}
    assert checked == 6 * 2 * len(names)
    # the 3-character sensitive value shows nothing of itself
    assert ("abc",) in [(r[names.index("c_sensitive_short")],) for r in raw]


def _columns(mesh_file: Path) -> list[tuple[str, str, str]]:
    import yaml

    yml = mesh_file.parent / "domains" / "dk_types" / "models" / "all_types.yml"
    model = yaml.safe_load(yml.read_text())["models"][0]
    return [(c["name"], c["data_type"], c["config"]["meta"]["classification"])
            for c in model["columns"]]


def test_duckdb_salt_is_in_no_log_or_artifact(dk_mesh: Path) -> None:
    for path in dk_mesh.parent.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".log", ".sql", ".yml"):
            assert SALT not in path.read_text(errors="replace"), path


def test_mesh_query_cannot_read_the_salt(dk_mesh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from meshkit.backends.duckdb.query import query
    from meshkit.errors import UsageError

    monkeypatch.setenv("MESH_HASH_SALT", SALT)
    with pytest.raises(UsageError, match="getvariable"):
        query(load_mesh(dk_mesh), "select getvariable('mesh_hash_salt')", ["analyst"])
