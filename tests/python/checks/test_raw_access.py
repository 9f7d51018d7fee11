"""What contract.consumer_reads counts as reading raw data (meshkit.contracts.consumer_sql.
raw_access), on SQL as dbt compiles it: files named in place of a table are found on DuckDB's own
parse wherever the table reference sits, a file name in a string value is not a read."""

from __future__ import annotations

import pytest

from meshkit.contracts.consumer_sql import raw_access


def _raw(sql: str, dialect: str = "duckdb") -> str | None:
    found = raw_access(sql, dialect, own=lambda: sql)
    return None if found is None else found.what


@pytest.mark.parametrize("sql", [
    "select * from 'data/raw/customers.parquet'",
    'select * from "data/raw/customers.parquet"',
    "select * from /* where */ 'customers.csv' as c",
    "select a.id from accounts a join 'https://example.com/x.json' j using (id)",
    "with x as (select * from 'x.ndjson') select * from x",
    "select * from (select * from 'x.parquet')",
    "select * from accounts where id in (select id from 'ids.csv')",
    "select * from accounts, 'x.tsv'",
    "select * from accounts union all select * from 's3://bucket/x.parquet'",
])
def test_a_file_named_in_place_of_a_table_is_a_raw_read(sql: str) -> None:
    assert _raw(sql) == "a raw file by its name in place of a table"


@pytest.mark.parametrize("sql", [
    "select * from accounts where file_name = 'report.csv'",
    "select 'x.parquet' as exported_to, count(*) from accounts",
    "select * from accounts where note like '%.json%'",
    "select query_id, parquet_rows from accounts",
])
def test_a_file_name_as_a_value_is_not(sql: str) -> None:
    assert _raw(sql) is None


@pytest.mark.parametrize(("sql", "said"), [
    ("select * from read_json_objects('x')", "a raw file directly (read_json_objects)"),
    ("select * from parquet_schema('x')", "a raw file directly (parquet_schema)"),
    ("select * from glob('data/*')", "a raw file directly (glob)"),
    ("select * from Delta_Scan('x')", "a raw file directly (Delta_Scan)"),
    ("select * from query('select * from internal.t')",
     "SQL given as a string (query): what it reads cannot be checked"),
    ("select * from query_table ('internal.t')",
     "SQL given as a string (query_table): what it reads cannot be checked"),
])
def test_readers_and_sql_in_strings_are_named(sql: str, said: str) -> None:
    assert _raw(sql) == said


def test_sql_duckdb_cannot_parse_answers_by_a_quoted_file_name() -> None:
    assert _raw("select * from 'x.parquet' where (((") == \
        "a raw file by its name in place of a table"
    assert _raw("select * from accounts where ((( ") is None


def test_the_sources_location_is_not_a_raw_read() -> None:
    location = "read_parquet('../../data/raw/loans.parquet')"
    sql = f"select * from {location} as loans"
    assert raw_access(sql, "duckdb", own=lambda: sql.replace(location, " ")) is None
    also = sql + " join read_csv('other.csv') o using (id)"
    found = raw_access(also, "duckdb", own=lambda: also.replace(location, " "))
    assert found is not None and found.what == "a raw file directly (read_csv)"
    assert "declare the file as a source" in found.fix


def test_sql_from_a_string_is_told_to_name_its_relations() -> None:
    found = raw_access("select * from query_table('x.internal.t')", "duckdb",
                       own=lambda: "select * from query_table('x.internal.t')")
    assert found is not None and "name the relations in the model's SQL" in found.fix
