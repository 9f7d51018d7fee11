"""The consumer rules parse a model's SQL only when its text may name another domain: the
prefilter must never skip SQL that reads one, however the name is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshkit.checks import CheckContext
from meshkit.config import Domain, Mesh, MeshConfig, Owner
from meshkit.contracts.consumer_sql import ForeignReads


@pytest.fixture
def reads() -> ForeignReads:
    owner = Owner(name="t", email="t@example.com")
    config = MeshConfig(name="m", domains=[
        Domain(name=n, artifacts=Path(n), owner=owner) for n in ("risk", "banking", "bank")])
    return ForeignReads.of(CheckContext(Mesh(config=config, file=Path("mesh.yml"))))


@pytest.mark.parametrize("sql", [
    'select * from "BANKING"."internal"."accounts"',
    "select * from Banking.internal.accounts",
    "select * from identifier('banking.internal.accounts')",
    'select a.x from "risk"."main"."t" as a join "bank"."p"."d" as b on a.k = b.k',
])
def test_sql_naming_another_domain_is_parsed(reads: ForeignReads, sql: str) -> None:
    assert reads.may_read_others("risk", sql)


@pytest.mark.parametrize("sql", [
    'select * from "risk"."main"."scores"',
    "select 1 as n",
])
def test_sql_naming_only_its_own_domain_is_not(reads: ForeignReads, sql: str) -> None:
    assert not reads.may_read_others("risk", sql)


def test_kept_reads_are_of_this_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a model's SQL reads is kept by its digest, the dialect and the code that parsed it:
    the same SQL is answered from the file; after a sqlglot upgrade it is parsed again."""
    import sqlglot

    import meshkit.contracts.consumer_sql as consumer_sql
    from meshkit.code_fingerprint import code_fingerprint

    sql = ("with c as (select * from banking.products.accounts) "
           "select c.balance, r.score from c join risk.main.scores as r on c.id = r.id")
    file = tmp_path / "sql-reads.json"
    cache = consumer_sql.SqlReadsCache(file)
    reads = cache.reads(sql, "duckdb")
    assert reads is not None
    assert set(reads.tables) == {("banking", "products", "accounts"), ("risk", "main", "scores")}
    # balance comes from the product table through the import CTE; score from risk's table
    assert ("balance", ("banking", "products", "accounts")) in reads.columns
    assert ("score", ("risk", "main", "scores")) in reads.columns
    cache.save()

    parsed: list[str] = []
    monkeypatch.setattr(consumer_sql, "sql_reads",
                        lambda s, d: parsed.append(s) or consumer_sql.SqlReads((), ()))
    assert consumer_sql.SqlReadsCache(file).reads(sql, "duckdb") == reads and parsed == []
    assert consumer_sql.SqlReadsCache(file).reads(sql, "snowflake") != reads  # another dialect
    parsed.clear()
    monkeypatch.setattr(sqlglot, "__version__", "0.0.0-other")
    code_fingerprint.cache_clear()
    try:
        consumer_sql.SqlReadsCache(file).reads(sql, "duckdb")
    finally:
        code_fingerprint.cache_clear()
    assert parsed == [sql]


def test_an_unreadable_reads_file_only_costs_time(tmp_path: Path) -> None:
    import meshkit.contracts.consumer_sql as consumer_sql

    sql = "select a from risk.main.t"
    file = tmp_path / "sql-reads.json"
    cache = consumer_sql.SqlReadsCache(file)
    good = cache.reads(sql, "duckdb")
    cache.save()
    [key] = json.loads(file.read_text())["entries"]
    for bad in ([[["risk", "main"]], []], [[["risk", "main", 1]], []], [[], [["a", ["x"]]]],
                [[], 3], "x"):
        file.write_text(json.dumps({"format": 1, "entries": {key: bad}}))
        assert consumer_sql.SqlReadsCache(file).reads(sql, "duckdb") == good
    file.write_text("{not json")
    assert consumer_sql.SqlReadsCache(file).reads(sql, "duckdb") == good
