"""`mesh shell` through a pseudo-terminal, as an analyst types into it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

VIEW = "consumer_banking.consumer_demographics.consumer_demographics"


def test_shell_answers_a_multiline_query_as_a_role(market: Path, tmp_path: Path) -> None:
    from meshkit.backends.duckdb.query import query
    from meshkit.config import load_mesh

    expected = query(load_mesh(market), f"select count(*) from {VIEW} where region = 'EU'",
                     ["eu_data_reader"]).rows[0][0]
    assert expected > 0
    history = tmp_path / "history"
    child = pexpect.spawn(
        sys.executable, ["-m", "meshkit.cli.main", "shell", "--mesh", str(market),
                         "--role", "eu_data_reader"],
        env={"MESH_SHELL_HISTORY": str(history), "TERM": "dumb", "COLUMNS": "120",
             "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MESH_USER": "shell-test"},
        encoding="utf-8", timeout=60, dimensions=(40, 120))
    try:
        child.expect_exact("mesh(eu_data_reader)> ")
        child.sendline("select region, count(*) as n")  # a statement over two lines
        child.expect_exact("...> ")
        child.sendline(f"from {VIEW} where region = 'EU' group by region;")
        child.expect(r"EU\s*│\s*(\d+)")
        assert int(child.match.group(1)) == expected
        child.expect(r"1 row\(s\) as role\s+eu_data_reader")
        child.sendline("select * from consumer_banking.internal.stg_customers;")  # the guard
        child.expect("not a data product's secure view")
        child.expect_exact("mesh(eu_data_reader)> ")
        child.sendline("\\q")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert "group by region;" in history.read_text()
    from meshkit.query_log import read_log

    shell_reads = [e for e in read_log(market.parent / "warehouse") if e.client == "shell"]
    assert [e.status for e in shell_reads[-2:]] == ["ok", "refused"]
    assert shell_reads[-2].user == "shell-test" and shell_reads[-2].roles == ["eu_data_reader"]
