"""`mesh query` as an analyst would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from meshkit.cli.main import cli

SQL = ("select customer_id, email from "
       "consumer_banking.consumer_demographics.consumer_demographics order by 1 limit 3")


def test_json_is_a_list_of_row_objects(built_demo: Path) -> None:
    result = CliRunner().invoke(cli, ["query", "--mesh", str(built_demo), "--format", "json", SQL])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 3 and set(rows[0]) == {"customer_id", "email"}
    assert all(r["email"] == "***MASKED***" for r in rows)
    cleared = CliRunner().invoke(cli, ["query", "--mesh", str(built_demo), "--role", "pii_reader",
                                       "--format", "json", SQL])
    assert all("@" in r["email"] for r in json.loads(cleared.output))


def test_csv_and_table(built_demo: Path) -> None:
    csv = CliRunner().invoke(cli, ["query", "--mesh", str(built_demo), "--format", "csv", SQL])
    assert csv.output.splitlines()[0] == "customer_id,email" and len(csv.output.splitlines()) == 4
    table = CliRunner().invoke(cli, ["query", "--mesh", str(built_demo), SQL])
    assert "3 row(s) as role (none)" in table.output


def test_internal_schema_is_refused(built_demo: Path) -> None:
    result = CliRunner().invoke(cli, ["query", "--mesh", str(built_demo),
                                      "select * from consumer_banking.internal.stg_customers"])
    assert result.exit_code == 2
    assert "not a data product's secure view" in result.output


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_a_reader_that_leaves_early_is_not_an_error(built_demo: Path, fmt: str) -> None:
    # `mesh query ... | head -1`: the reader closes the pipe with most of the rows unwritten.
    proc = subprocess.Popen(
        [sys.executable, "-m", "meshkit.cli.main", "query", "--mesh", str(built_demo),
         "--format", fmt, "select * from range(20000)"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, err.decode()
    assert b"Traceback" not in err
