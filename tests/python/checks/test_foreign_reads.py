"""The consumer rules parse a model's SQL only when its text may name another domain: the
prefilter must never skip SQL that reads one, however the name is written."""

from __future__ import annotations

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
