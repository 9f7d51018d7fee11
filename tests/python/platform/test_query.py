"""`mesh query` as an analyst would run it."""

from __future__ import annotations

import json
from pathlib import Path

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
