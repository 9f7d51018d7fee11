"""The demo mesh's raw data: a hypothetical financial-services company, generated in DuckDB SQL.

Every random draw is ``u(i, salt)``: a hash of the row's key, a salt naming the draw and the seed,
mapped to [0, 1). Unlike ``random()`` it does not depend on thread scheduling, so a seed and a
scale always give the same data. Two hidden per-customer factors drive the story the risk domain
tells: ``risk`` raises card utilization, declines, days past due, loan rates and the chance of a
loan default; ``wealth`` raises credit limits and, for wealth clients, the assets that lower it.

Scale 1 is about 2,000 customers (tests and the demo); scale 100 is for benchmarks::

    python -m meshkit.demo.generate --out data/raw --scale 1
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

TABLES = (
    "customers",
    "card_accounts",
    "card_transactions",
    "loans",
    "loan_defaults",
    "portfolios",
    "holdings",
)
CUSTOMERS_AT_SCALE_1 = 2_000
# The day the data describes; fixed so that the data never depends on when it is generated.
AS_OF = "2025-12-31"

_FIRST_NAMES = [
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Leon", "Sofia", "Mateo", "Lena",
    "Elias", "Clara", "Hugo", "Chloe", "Louis", "Isabella", "James", "Amelia", "Henry", "Nora",
    "Jack", "Freya", "Oscar", "Julia", "David", "Sara", "Marco", "Anna", "Daniel", "Grace",
    "Samuel", "Lucia", "Ethan", "Hannah", "Theo", "Zoe", "Felix", "Ines", "Adam",
]
_LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Martinez", "Muller",
    "Schmidt", "Schneider", "Fischer", "Martin", "Bernard", "Dubois", "Rossi", "Russo", "Ferrari",
    "Fernandez", "Lopez", "Gonzalez", "de Vries", "Jansen", "Murphy", "Kelly", "Nowak", "Kowalski",
    "Andersson", "Johansson", "Taylor", "Anderson", "Thomas", "Moore", "Jackson", "White", "Harris",
    "Clark", "Lewis", "Walker", "Young",
]
_STREETS = [
    "Main Street", "Oak Avenue", "Maple Drive", "Park Lane", "Station Road", "High Street",
    "Church Road", "Mill Lane", "River Road", "Elm Street", "Lake View", "Hill Crest",
    "Market Square", "Bridge Street", "Garden Way", "King Street",
]
# (country, city) of EU and US customers.
_EU_PLACES = [
    ("DE", "Berlin"), ("DE", "Munich"), ("DE", "Hamburg"), ("FR", "Paris"), ("FR", "Lyon"),
    ("NL", "Amsterdam"), ("NL", "Rotterdam"), ("ES", "Madrid"), ("ES", "Barcelona"),
    ("IT", "Milan"), ("IT", "Rome"), ("IE", "Dublin"), ("PL", "Warsaw"), ("SE", "Stockholm"),
]
_US_PLACES = [
    ("US", "New York"), ("US", "Chicago"), ("US", "Houston"), ("US", "Phoenix"),
    ("US", "Philadelphia"), ("US", "San Antonio"), ("US", "San Diego"), ("US", "Dallas"),
    ("US", "Austin"), ("US", "Seattle"), ("US", "Boston"), ("US", "Denver"),
]
_MERCHANT_CATEGORIES = [
    "groceries", "fuel", "dining", "retail", "travel", "electronics", "utilities", "healthcare",
    "entertainment", "online_services",
]


def _list(values: list[str]) -> str:
    """A DuckDB list literal of strings (constants of this module, never user input)."""
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _places(places: list[tuple[str, str]]) -> str:
    return "[" + ", ".join(f"{{'country': '{c}', 'city': '{city}'}}" for c, city in places) + "]"


def _pick(values: str, draw: str) -> str:
    """SQL picking one element of a list literal with a uniform draw in [0, 1)."""
    return f"({values})[1 + cast(floor({draw} * len({values})) as integer)]"


def _statements(customers: int) -> list[str]:
    first, last, streets = _list(_FIRST_NAMES), _list(_LAST_NAMES), _list(_STREETS)
    eu, us = _places(_EU_PLACES), _places(_US_PLACES)
    categories = _list(_MERCHANT_CATEGORIES)
    return [
        # Hidden factors of each customer; not written out.
        f"""
        create table latent as
        select
            i as customer_id,
            u(i, 'risk') as risk,
            u(i, 'wealth') as wealth,
            u(i, 'region') < 0.4 as is_eu,
            u(i, 'wealth') > 0.68 and u(i, 'wealth_client') < 0.85 as is_wealth_client
        from range(1, {customers} + 1) as t(i)
        """,
        f"""
        create table customers as
        with drawn as (
            select
                l.customer_id,
                l.is_eu,
                {_pick(first, "u(l.customer_id, 'first')")} as first_name,
                {_pick(last, "u(l.customer_id, 'last')")} as last_name,
                case when l.is_eu then {_pick(eu, "u(l.customer_id, 'place')")}
                     else {_pick(us, "u(l.customer_id, 'place')")} end as place,
                -- younger customers are a little riskier
                18 + floor((1 - l.risk * 0.4) * u(l.customer_id, 'age') * 62) as age_years
            from latent as l
        )
        select
            customer_id,
            first_name,
            last_name,
            lower(replace(first_name || '.' || last_name, ' ', ''))
                || customer_id || '@example.com' as email,
            case
                when is_eu then place.country
                    || printf('%010d', hash(customer_id, 'nid', $seed) % 10000000000)
                else printf('%03d-%02d-%04d',
                    100 + hash(customer_id, 'ssn1', $seed) % 799,
                    1 + hash(customer_id, 'ssn2', $seed) % 98,
                    1 + hash(customer_id, 'ssn3', $seed) % 9998)
            end as national_id,
            date '{AS_OF}' - cast(floor((age_years + u(customer_id, 'bday')) * 365.25) as integer)
                as birth_date,
            (1 + hash(customer_id, 'house', $seed) % 250) || ' '
                || {_pick(streets, "u(customer_id, 'street')")} as street_address,
            place.city as city,
            place.country as country,
            case when is_eu then 'EU' else 'US' end as region,
            date '2012-01-01' + cast(floor(u(customer_id, 'signup') * 4900) as integer)
                as signup_date,
            -- US residents who opted out of the sharing of their data (CCPA)
            not is_eu and u(customer_id, 'ccpa_opt_out') < 0.06 as ccpa_opt_out
        from drawn
        order by customer_id
        """,
        """
        create table card_accounts as
        with per_customer as (
            select
                l.*,
                c.signup_date,
                unnest(range(case
                    when u(l.customer_id, 'cards') < 0.12 then 0
                    when u(l.customer_id, 'cards') < 0.72 then 1
                    when u(l.customer_id, 'cards') < 0.94 then 2
                    else 3 end)) as k
            from latent as l
            join customers as c using (customer_id)
        ),
        numbered as (
            select
                *,
                row_number() over (order by customer_id, k) as card_account_id,
                customer_id * 4 + k as card_key
            from per_customer
        ),
        drawn as (
            select
                *,
                case
                    when wealth + 0.3 * u(card_key, 'tier') > 1.0 then 'platinum'
                    when wealth + 0.3 * u(card_key, 'tier') > 0.6 then 'gold'
                    else 'classic'
                end as card_type,
                case when u(card_key, 'network') < 0.55 then '4' else '5' end
                    || printf('%014d', hash(card_key, 'pan', $seed) % 100000000000000) as pan15,
                greatest(0.0, least(1.1,
                    0.05 + 0.8 * risk + 0.35 * (u(card_key, 'util') - 0.5))) as utilization,
                case
                    when u(card_key, 'status') < 0.04 then 'closed'
                    when risk > 0.8 and u(card_key, 'frozen') < 0.35 then 'frozen'
                    else 'active'
                end as status
            from numbered
        ),
        luhn as (
            select
                *,
                list_sum(list_transform(range(15), lambda j:
                    case when j % 2 = 0
                        then cast(substr(pan15, 15 - j, 1) as integer) * 2
                            - case when cast(substr(pan15, 15 - j, 1) as integer) > 4
                                then 9 else 0 end
                        else cast(substr(pan15, 15 - j, 1) as integer)
                    end)) as luhn_sum
            from drawn
        )
        select
            card_account_id,
            customer_id,
            pan15 || cast((10 - luhn_sum % 10) % 10 as varchar) as card_number,
            card_type,
            cast(case card_type
                when 'platinum' then 15000 + 500 * floor(u(card_key, 'limit') * 50)
                when 'gold' then 5000 + 500 * floor(u(card_key, 'limit') * 20)
                else 1000 + 500 * floor(u(card_key, 'limit') * 8)
            end as decimal(12, 2)) as credit_limit,
            cast(case when status = 'closed' then 0 else round(
                utilization * case card_type
                    when 'platinum' then 15000 + 500 * floor(u(card_key, 'limit') * 50)
                    when 'gold' then 5000 + 500 * floor(u(card_key, 'limit') * 20)
                    else 1000 + 500 * floor(u(card_key, 'limit') * 8)
                end, 2) end as decimal(12, 2)) as current_balance,
            signup_date + cast(floor(u(card_key, 'opened')
                * (date '2025-06-30' - signup_date)) as integer) as opened_date,
            status,
            -- delinquency: days past due on the last statement
            case
                when status = 'closed' then 0
                when u(card_key, 'dpd') < 0.02 + 0.45 * pow(risk, 3) then
                    [30, 60, 90][1 + cast(floor(u(card_key, 'dpd_bucket') * risk * 3) as integer)]
                else 0
            end as days_past_due
        from luhn
        order by card_account_id
        """,
        f"""
        create table card_transactions as
        with per_card as (
            select
                a.card_account_id,
                l.risk,
                unnest(range(case when a.status = 'closed' then 0
                    else 8 + cast(floor(u(a.card_account_id, 'n_tx') * 45) as integer) end)) as k
            from card_accounts as a
            join latent as l using (customer_id)
        ),
        numbered as (
            select *, card_account_id * 64 + k as tx_key
            from per_card
        )
        select
            row_number() over (order by card_account_id, k) as transaction_id,
            card_account_id,
            timestamp '2025-01-01'
                + to_seconds(cast(floor(u(tx_key, 'ts') * 31536000) as bigint)) as transaction_ts,
            cast(round(2 + 60 * -ln(1 - u(tx_key, 'amount') * 0.999)
                * (1 + risk), 2) as decimal(12, 2)) as amount,
            case when u(tx_key, 'cash') < 0.12 * risk then 'cash_advance'
                else {_pick(categories, "u(tx_key, 'mcc')")} end as merchant_category,
            u(tx_key, 'declined') < 0.01 + 0.25 * pow(risk, 3) as is_declined
        from numbered
        order by transaction_id
        """,
        """
        create table portfolios as
        with per_customer as (
            select
                l.customer_id,
                c.signup_date,
                c.region,
                unnest(range(case when u(l.customer_id, 'n_port') < 0.25 then 2 else 1 end)) as k
            from latent as l
            join customers as c using (customer_id)
            where l.is_wealth_client
        )
        select
            row_number() over (order by customer_id, k) as portfolio_id,
            customer_id,
            ['conservative', 'balanced', 'growth', 'aggressive'][
                1 + cast(floor(u(customer_id * 4 + k, 'profile') * 4) as integer)] as risk_profile,
            signup_date + cast(floor(u(customer_id * 4 + k, 'p_opened')
                * (date '2025-06-30' - signup_date)) as integer) as opened_date,
            region
        from per_customer
        order by portfolio_id
        """,
        """
        create table holdings as
        with per_portfolio as (
            select
                p.portfolio_id,
                l.wealth,
                unnest(range(3 + cast(floor(u(p.portfolio_id, 'n_hold') * 6) as integer))) as k
            from portfolios as p
            join latent as l using (customer_id)
        ),
        numbered as (
            select *, portfolio_id * 16 + k as h_key
            from per_portfolio
        )
        select
            row_number() over (order by portfolio_id, k) as holding_id,
            portfolio_id,
            ['equity', 'fixed_income', 'cash', 'real_estate', 'alternatives'][
                1 + cast(floor(u(h_key, 'class') * 5) as integer)] as asset_class,
            cast(round(500 + 120000 * pow(wealth, 4) * -ln(1 - u(h_key, 'value') * 0.999), 2)
                as decimal(14, 2)) as market_value
        from numbered
        order by holding_id
        """,
        """
        create table loans_drawn as
        with assets as (
            select p.customer_id, sum(h.market_value) as total_assets
            from holdings as h
            join portfolios as p using (portfolio_id)
            group by all
        ),
        per_customer as (
            select
                l.*,
                coalesce(a.total_assets, 0) as total_assets,
                unnest(range(case
                    when u(l.customer_id, 'n_loans') < 0.40 then 0
                    when u(l.customer_id, 'n_loans') < 0.88 then 1
                    else 2 end)) as k
            from latent as l
            left join assets as a using (customer_id)
        ),
        numbered as (
            select
                *,
                row_number() over (order by customer_id, k) as loan_id,
                customer_id * 4 + k as loan_key
            from per_customer
        )
        select
            loan_id,
            customer_id,
            cast(1000 + 500 * floor(u(loan_key, 'principal') * (6 + 90 * wealth)) as decimal(12, 2))
                as principal,
            cast(round(0.03 + 0.16 * risk + 0.02 * u(loan_key, 'rate'), 4) as decimal(6, 4))
                as interest_rate,
            [12, 24, 36, 48, 60, 72, 84][1 + cast(floor(u(loan_key, 'term') * 7) as integer)]
                as term_months,
            date '2019-01-01' + cast(floor(u(loan_key, 'orig') * 2190) as integer)
                as origination_date,
            -- the chance of default: high risk, little wealth held with the firm
            u(loan_key, 'default') < 1 / (1 + exp(-(-5.8 + 6.0 * risk
                - 1.1 * ln(1 + total_assets / 50000)))) as will_default,
            u(loan_key, 'late') < 0.35 * pow(risk, 2) as is_late,
            loan_key
        from numbered
        """,
        f"""
        create table loans as
        select
            loan_id,
            customer_id,
            principal,
            interest_rate,
            term_months,
            origination_date,
            case
                when will_default then 'defaulted'
                when origination_date + to_months(term_months) <= date '{AS_OF}' then 'paid_off'
                when is_late then 'late'
                else 'current'
            end as status
        from loans_drawn
        order by loan_id
        """,
        f"""
        create table loan_defaults as
        select
            loan_id,
            least(date '{AS_OF}', origination_date + 60 + cast(floor(u(loan_key, 'when')
                * least(term_months * 30, date '{AS_OF}' - origination_date)) as integer))
                as default_date,
            cast(round(principal * (0.25 + 0.65 * u(loan_key, 'outstanding')), 2)
                as decimal(12, 2)) as amount_outstanding
        from loans_drawn
        where will_default
        order by loan_id
        """,
    ]


def generate(out_dir: Path, scale: float = 1.0, seed: int = 42) -> dict[str, int]:
    """Write the demo's raw tables as ``out_dir/<table>.parquet``; returns table -> row count.

    >>> import tempfile
    >>> counts = generate(Path(tempfile.mkdtemp()), scale=0.05)
    >>> counts["customers"]
    100
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    customers = max(1, round(CUSTOMERS_AT_SCALE_1 * scale))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute(
            "create macro u(i, salt) as hash(i, salt, getvariable('seed')) / 18446744073709551616.0"
        )
        con.execute("set variable seed = $1", [int(seed)])
        for sql in _statements(customers):
            con.execute(sql.replace("$seed", "getvariable('seed')"))
        counts: dict[str, int] = {}
        for table in TABLES:
            target = out_dir / f"{table}.parquet"
            tmp = target.with_suffix(".parquet.tmp")
            con.execute(
                f"copy (select * from {table}) to '{_sql_path(tmp)}' "
                "(format parquet, compression zstd)"
            )
            tmp.replace(target)
            row = con.execute(f"select count(*) from {table}").fetchone()
            counts[table] = int(row[0]) if row else 0
        return counts
    finally:
        con.close()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m meshkit.demo.generate",
        description="Generate the demo mesh's raw data as Parquet files.",
    )
    parser.add_argument("--out", type=Path, default=Path("data/raw"),
                        help="folder for the <table>.parquet files (default: data/raw)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help=f"1 = {CUSTOMERS_AT_SCALE_1:,} customers (default: 1)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    started = time.perf_counter()
    counts = generate(args.out, scale=args.scale, seed=args.seed)
    elapsed = time.perf_counter() - started
    width = max(len(t) for t in counts)
    for table, n in counts.items():
        print(f"{table:<{width}}  {n:>12,}")
    print(f"wrote {len(counts)} tables to {args.out} in {elapsed:.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
