"""The demo domains, built with the real dbt: products, contracts, and a scorecard that works."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from meshkit.backends.duckdb.query import connect
from meshkit.config import Mesh, load_mesh

CLASSIFICATIONS = {"public", "internal", "confidential", "pii", "sensitive"}
PRODUCT_META = {"status", "tier", "sla", "tags", "use_cases", "kpis", "support"}
PRODUCTS = {
    "consumer_banking": {"consumer_demographics", "consumer_credit_card_profile"},
    "asset_management": {"consumer_asset_profile"},
    "risk": {"credit_risk_scorecard"},
}


@pytest.fixture(scope="module")
def mesh(built_demo: Path) -> Mesh:
    return load_mesh(built_demo)


def manifest(mesh: Mesh, domain: str) -> dict[str, Any]:
    path = mesh.artifacts_path(mesh.config.domain(domain)) / "manifest.json"
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    return data


def own_models(data: dict[str, Any], domain: str) -> list[dict[str, Any]]:
    return [n for n in data["nodes"].values()
            if n["resource_type"] == "model" and n["package_name"] == domain]


def column_meta(column: dict[str, Any]) -> dict[str, Any]:
    return {**column.get("meta", {}), **(column.get("config") or {}).get("meta", {})}


@pytest.mark.parametrize("domain", sorted(PRODUCTS))
def test_products_are_groups_with_owner_and_metadata(mesh: Mesh, domain: str) -> None:
    groups = {g["name"]: g for g in manifest(mesh, domain)["groups"].values()}
    assert set(groups) == PRODUCTS[domain]
    for name, group in groups.items():
        assert group["owner"]["name"] and group["owner"]["email"], name
        assert group["description"], name
        meta = group["config"]["meta"]
        assert set(meta) >= PRODUCT_META, (name, PRODUCT_META - set(meta))
        assert meta["status"] == "active" and meta["sla"]["freshness"] == "24h"


@pytest.mark.parametrize("domain", sorted(PRODUCTS))
def test_public_datasets_are_contracted_classified_secure_views(mesh: Mesh, domain: str) -> None:
    models = own_models(manifest(mesh, domain), domain)
    public = [m for m in models if m["config"].get("access") == "public"]
    # every product has a dataset named after it
    assert PRODUCTS[domain] <= {m["name"] for m in public}
    for model in public:
        where = model["unique_id"]
        assert model["config"]["materialized"] == "secure_view", where
        assert model["config"]["contract"]["enforced"], where
        assert model["group"] in PRODUCTS[domain], where
        assert model["schema"] == model["group"], where
        for name, column in model["columns"].items():
            assert column["data_type"] and column["description"], (where, name)
            meta = column_meta(column)
            assert meta.get("classification") in CLASSIFICATIONS, (where, name)
        if "region" in model["columns"]:
            assert model["config"]["meta"].get("row_filter") == "eu_residency", where
    for model in models:
        if model["config"].get("access") != "public":
            assert model["schema"] == "internal", model["unique_id"]
        # staging is ad-hoc data; intermediates are the products' internals
        assert (model["group"] is None) == model["name"].startswith("stg_"), model["unique_id"]


def test_personal_and_card_data_are_classified(mesh: Mesh) -> None:
    nodes = manifest(mesh, "consumer_banking")["nodes"]
    demographics = nodes["model.consumer_banking.consumer_demographics.v1"]["columns"]
    for name in ("first_name", "last_name", "email", "national_id", "birth_date",
                 "street_address"):
        meta = column_meta(demographics[name])
        assert meta["classification"] == "pii" and set(meta["regulations"]) == {"gdpr", "ccpa"}
    card = nodes["model.consumer_banking.consumer_credit_card_profile"]["columns"]
    assert column_meta(card["card_number"]) == {"classification": "sensitive",
                                                "regulations": ["pci_dss"]}
    assert column_meta(card["current_balance"])["classification"] == "confidential"


def test_demographics_is_versioned_with_a_deprecated_v1(mesh: Mesh) -> None:
    nodes = manifest(mesh, "consumer_banking")["nodes"]
    v1 = nodes["model.consumer_banking.consumer_demographics.v1"]
    v2 = nodes["model.consumer_banking.consumer_demographics.v2"]
    assert v1["latest_version"] == 2 and v1["deprecation_date"].startswith("2027-06-30")
    assert v2["deprecation_date"] is None
    assert {"first_name", "last_name"} <= set(v1["columns"]) - set(v2["columns"])
    assert {"full_name", "age_band"} <= set(v2["columns"]) - set(v1["columns"])


def test_risk_reads_other_domains_only_through_their_public_datasets(mesh: Mesh) -> None:
    data = manifest(mesh, "risk")
    upstream = set()
    for model in own_models(data, "risk"):
        for parent in model["depends_on"]["nodes"]:
            package = parent.split(".")[1]
            if package != "risk":
                upstream.add(parent)
    assert upstream == {
        "model.consumer_banking.consumer_demographics.v2",
        "model.consumer_banking.consumer_credit_card_profile",
        "model.asset_management.consumer_asset_profile",
    }
    for parent in upstream:
        assert data["nodes"][parent]["access"] == "public", parent


@pytest.fixture()
def as_role(mesh: Mesh) -> Iterator[Callable[[str], Any]]:
    """Open mesh sessions as a role; closed after the test."""
    sessions: list[Any] = []

    def open_as(role: str) -> Any:
        sessions.append(connect(mesh, [role]))
        return sessions[-1]

    yield open_as
    for con in sessions:
        con.close()


def test_scorecard_separates_defaulters(as_role: Callable[[str], Any]) -> None:
    con = as_role("compliance_officer")
    rows = con.execute("""
        select is_defaulted, avg(score), count(*), min(score), max(score)
        from risk.credit_risk_scorecard.credit_risk_scorecard
        group by is_defaulted
    """).fetchall()
    by_outcome = {r[0]: r[1:] for r in rows}
    assert set(by_outcome) == {True, False}
    defaulted, healthy = by_outcome[True], by_outcome[False]
    assert defaulted[0] < healthy[0] - 50  # defaulters score clearly lower
    default_rate = defaulted[1] / (defaulted[1] + healthy[1])
    assert 0.02 < default_rate < 0.20
    assert min(defaulted[2], healthy[2]) >= 300 and max(defaulted[3], healthy[3]) <= 850
    # the riskiest band defaults far more often than the two safest ones
    bands = dict(con.execute("""
        select risk_band, avg(is_defaulted::int)
        from risk.credit_risk_scorecard.credit_risk_scorecard group by 1
    """).fetchall())
    assert bands["very_high"] > 3 * max(bands["low"], bands["very_low"])
    assert bands["very_high"] > bands["high"] > bands["low"]


def test_risk_sees_eu_rows_and_confidential_numbers_but_no_pii(
    as_role: Callable[[str], Any],
) -> None:
    con = as_role("risk_engineer")
    regions = {r[0] for r in con.execute(
        "select distinct region from risk.credit_risk_scorecard.credit_risk_scorecard").fetchall()}
    assert regions == {"EU", "US"}
    masked = con.execute("""
        select count(*) filter (where email != '***MASKED***'),
               count(*) filter (where current_balance is null)
        from consumer_banking.consumer_demographics.consumer_demographics
        join consumer_banking.consumer_credit_card_profile.consumer_credit_card_profile
            using (customer_id)
    """).fetchone()
    assert masked == (0, 0)
