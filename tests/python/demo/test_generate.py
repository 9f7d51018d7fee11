"""The demo data generator: deterministic, scalable, fast, and telling a credit-risk story."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

from meshkit.demo.generate import CUSTOMERS_AT_SCALE_1, TABLES, generate, main

# Each table's primary key, to hash its rows in a fixed order.
KEYS = {
    "customers": "customer_id",
    "card_accounts": "card_account_id",
    "card_transactions": "transaction_id",
    "loans": "loan_id",
    "loan_defaults": "loan_id",
    "portfolios": "portfolio_id",
    "holdings": "holding_id",
}


def content_hash(folder: Path, table: str) -> str:
    """An md5 of every row of a Parquet table in key order (independent of file layout)."""
    path = str(folder / f"{table}.parquet").replace("'", "''")
    row = duckdb.connect().execute(
        f"select md5(string_agg(cast(t as varchar), '|' order by {KEYS[table]})) "
        f"from read_parquet('{path}') as t"
    ).fetchone()
    assert row is not None
    return str(row[0])


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("raw")
    generate(out, scale=1.0, seed=42)
    return out


@pytest.fixture()
def con(raw: Path) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    for table in TABLES:
        path = str(raw / f"{table}.parquet").replace("'", "''")
        c.execute(f"create view {table} as select * from read_parquet('{path}')")
    return c


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    row = con.execute(sql).fetchone()
    assert row is not None
    return float(row[0])


def test_same_seed_same_data_other_seed_other_data(raw: Path, tmp_path: Path) -> None:
    again, other = tmp_path / "again", tmp_path / "other"
    generate(again, scale=1.0, seed=42)
    generate(other, scale=1.0, seed=7)
    for table in TABLES:
        assert content_hash(again, table) == content_hash(raw, table), table
        assert content_hash(other, table) != content_hash(raw, table), table


def test_counts_follow_the_scale(raw: Path, tmp_path: Path) -> None:
    half = generate(tmp_path / "half", scale=0.5)
    full = generate(tmp_path / "full", scale=1.0)
    assert full["customers"] == CUSTOMERS_AT_SCALE_1
    assert half["customers"] == CUSTOMERS_AT_SCALE_1 // 2
    for table in TABLES:
        assert full[table] > 0, table
        assert 0.35 < half[table] / full[table] < 0.65, table
    # every table is written, with the counts reported
    for table, n in full.items():
        path = str(tmp_path / "full" / f"{table}.parquet")
        rows = duckdb.connect().execute(f"select count(*) from read_parquet('{path}')").fetchall()
        assert rows == [(n,)]


def test_scale_1_generates_in_under_two_seconds(tmp_path: Path) -> None:
    started = time.perf_counter()
    generate(tmp_path, scale=1.0)
    assert time.perf_counter() - started < 2.0


def test_bad_scale_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path, scale=0)


def test_every_table_has_its_columns(con: duckdb.DuckDBPyConnection) -> None:
    expected = {
        "customers": {"customer_id", "first_name", "last_name", "email", "national_id",
                      "birth_date", "street_address", "city", "country", "region",
                      "signup_date"},
        "card_accounts": {"card_account_id", "customer_id", "card_number", "card_type",
                          "credit_limit", "current_balance", "opened_date", "status"},
        "card_transactions": {"transaction_id", "card_account_id", "transaction_ts", "amount",
                              "merchant_category", "is_declined"},
        "loans": {"loan_id", "customer_id", "principal", "interest_rate", "term_months",
                  "origination_date", "status"},
        "loan_defaults": {"loan_id", "default_date", "amount_outstanding"},
        "portfolios": {"portfolio_id", "customer_id", "risk_profile", "opened_date"},
        "holdings": {"holding_id", "portfolio_id", "asset_class", "market_value"},
    }
    for table, columns in expected.items():
        actual = {r[0] for r in con.execute(f"describe {table}").fetchall()}
        assert columns <= actual, (table, columns - actual)


def test_keys_are_unique_and_references_resolve(con: duckdb.DuckDBPyConnection) -> None:
    for table, key in KEYS.items():
        assert scalar(con, f"select count(*) - count(distinct {key}) from {table}") == 0, table
    orphans = {
        "card_accounts": "select count(*) from card_accounts "
                         "anti join customers using (customer_id)",
        "card_transactions": "select count(*) from card_transactions "
                             "anti join card_accounts using (card_account_id)",
        "loans": "select count(*) from loans anti join customers using (customer_id)",
        "loan_defaults": "select count(*) from loan_defaults anti join loans using (loan_id)",
        "portfolios": "select count(*) from portfolios anti join customers using (customer_id)",
        "holdings": "select count(*) from holdings anti join portfolios using (portfolio_id)",
    }
    for table, sql in orphans.items():
        assert scalar(con, sql) == 0, table


def test_regions_and_personal_data_are_plausible(con: duckdb.DuckDBPyConnection) -> None:
    regions = dict(con.execute("select region, count(*) from customers group by 1").fetchall())
    assert set(regions) == {"EU", "US"}
    assert 0.3 < regions["EU"] / sum(regions.values()) < 0.5
    assert scalar(con, "select count(*) from customers where email not like '%@%.%'") == 0
    assert scalar(con, "select count(distinct email) = count(*) from customers") == 1
    ages = con.execute(
        "select min(date_diff('year', birth_date, date '2025-12-31')), "
        "max(date_diff('year', birth_date, date '2025-12-31')) from customers"
    ).fetchone()
    assert ages is not None and ages[0] >= 18 and ages[1] <= 81
    # wealth clients are a subset of the customers
    share = scalar(con, "select count(distinct customer_id) / (select count(*) from customers) "
                        "from portfolios")
    assert 0.1 < share < 0.5


def test_card_numbers_are_16_digit_luhn_valid_pans(con: duckdb.DuckDBPyConnection) -> None:
    pans = [r[0] for r in con.execute("select card_number from card_accounts").fetchall()]
    assert len(set(pans)) == len(pans)
    for pan in pans:
        assert len(pan) == 16 and pan.isdigit() and pan[0] in "45", pan
        digits = [int(d) for d in reversed(pan)]
        total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
        assert total % 10 == 0, pan


def test_defaults_rise_with_utilization_declines_and_low_assets(
    con: duckdb.DuckDBPyConnection,
) -> None:
    default_rate = scalar(con, "select (select count(*) from loan_defaults) / count(*) from loans")
    assert 0.02 < default_rate < 0.20
    assert scalar(con, "select count(*) from loans where status = 'defaulted'") == scalar(
        con, "select count(*) from loan_defaults")
    con.execute("""
        create temp table per_customer as
        select
            c.customer_id,
            coalesce(max(ld.loan_id is not null), false) as defaulted,
            any_value(cards.utilization) as utilization,
            any_value(cards.decline_rate) as decline_rate,
            coalesce(any_value(assets.total_assets), 0) as total_assets
        from customers as c
        join loans as l using (customer_id)
        left join loan_defaults as ld using (loan_id)
        left join (
            select a.customer_id,
                sum(a.current_balance) / sum(a.credit_limit) as utilization,
                avg(t.is_declined::int) as decline_rate
            from card_accounts as a join card_transactions as t using (card_account_id)
            group by 1
        ) as cards using (customer_id)
        left join (
            select p.customer_id, sum(h.market_value) as total_assets
            from portfolios as p join holdings as h using (portfolio_id) group by 1
        ) as assets using (customer_id)
        group by c.customer_id
    """)

    def rate(where: str) -> float:
        return scalar(con, f"select avg(defaulted::int) from per_customer where {where}")

    assert rate("utilization > 0.7") > 2 * rate("utilization < 0.3")
    assert rate("decline_rate > 0.1") > 2 * rate("decline_rate < 0.03")
    assert rate("total_assets = 0") > 1.5 * rate("total_assets > 100000")


def test_cli_writes_the_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path), "--scale", "0.1", "--seed", "3"]) == 0
    assert sorted(p.stem for p in tmp_path.glob("*.parquet")) == sorted(TABLES)
    assert "customers" in capsys.readouterr().out
