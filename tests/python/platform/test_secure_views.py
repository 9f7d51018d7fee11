"""Secure views of the built demo: masking per classification and role, row filters by role.

For every classified column of every public dataset, the values a role sees through the view are
compared with the raw values of the internal table the view reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from meshkit.backends.duckdb.query import connect
from meshkit.config import MaskRule, Mesh, load_mesh


@dataclass(frozen=True)
class Dataset:
    domain: str
    view: str
    internal: str
    columns: dict[str, str]  # column -> classification
    row_filter: str | None
    opt_out: str | None = None

    @property
    def shared(self) -> str:
        """The internal rows the view serves: without those that opted out (CCPA)."""
        if self.opt_out is None:
            return self.internal
        return f'(select * from {self.internal} where not coalesce("{self.opt_out}", false))'


def public_datasets(mesh: Mesh) -> list[Dataset]:
    out = []
    for domain in mesh.config.domains:
        manifest = orjson.loads((mesh.artifacts_path(domain) / "manifest.json").read_bytes())
        for node in manifest["nodes"].values():
            cfg = node["config"]
            if node["resource_type"] != "model" or cfg.get("access") != "public":
                continue
            assert cfg["materialized"] == "secure_view", node["unique_id"]
            db, schema, alias = node["database"], node["schema"], node["alias"]
            classified = {}
            for name, col in node["columns"].items():
                meta = {**col.get("meta", {}), **col.get("config", {}).get("meta", {})}
                if meta.get("classification"):
                    classified[name] = meta["classification"]
            out.append(Dataset(domain.name, f"{db}.{schema}.{alias}",
                               f"{db}.internal.{schema}__{alias}", classified,
                               cfg.get("meta", {}).get("row_filter"),
                               cfg.get("meta", {}).get("opt_out_column")))
    return out


@pytest.fixture(scope="module")
def mesh(built_demo: Path) -> Mesh:
    return load_mesh(built_demo)


def _values(con: Any, sql: str) -> set[Any]:
    return {r[0] for r in con.execute(sql).fetchall()}


def test_demo_exposes_classified_datasets(mesh: Mesh) -> None:
    datasets = public_datasets(mesh)
    masked = [(d, c) for d in datasets for c, cls in d.columns.items()
              if mesh.config.classifications[cls].mask is not MaskRule.none]
    assert len(datasets) >= 5 and len(masked) >= 10
    assert any(d.row_filter for d in datasets)


def test_uncleared_roles_never_see_a_raw_value(mesh: Mesh) -> None:
    checked = 0
    for ds in public_datasets(mesh):
        for column, cls in ds.columns.items():
            rule = mesh.config.classifications[cls]
            if rule.mask is MaskRule.none:
                continue
            holders = set().union(*(mesh.config.roles_granting(r) for r in rule.cleared))
            uncleared = [r for r in ["analyst", *mesh.config.all_role_names] if r not in holders]
            with connect(mesh, ["compliance_officer"]) as admin:
                raw = _values(admin, f'select distinct "{column}" from {ds.internal}') - {None}
            assert raw, f"{ds.internal}.{column} has no data: the check would be vacuous"
            for roles in ([], [uncleared[0]], ["eu_data_reader"]):
                if set(roles) & holders:
                    continue
                with connect(mesh, roles) as con:
                    seen = _values(con, f'select distinct "{column}" from {ds.view}')
                leaked = seen & raw
                assert not leaked, f"{ds.view}.{column} ({cls}) leaks to {roles}: {sorted(leaked)[:3]}"
                checked += 1
    assert checked >= 20


def test_cleared_roles_see_raw_values(mesh: Mesh) -> None:
    for ds in public_datasets(mesh):
        for column, cls in ds.columns.items():
            rule = mesh.config.classifications[cls]
            roles = [*rule.cleared, "eu_data_reader"]
            with connect(mesh, roles) as con:
                seen = _values(con, f'select distinct "{column}" from {ds.view}')
                raw = _values(con, f'select distinct "{column}" from {ds.shared}')
            assert seen == raw, f"{ds.view}.{column} ({cls}) as {roles}"


def test_row_filter_hides_and_shows_the_right_rows(mesh: Mesh) -> None:
    filtered = [ds for ds in public_datasets(mesh) if ds.row_filter]
    assert filtered
    for ds in filtered:
        rf = mesh.config.row_filters[ds.row_filter]  # type: ignore[index]
        restricted = ", ".join(f"'{v}'" for v in rf.restricted_values)
        count = f"select count(*) from {{}} where {rf.column} in ({restricted})"
        others = f"select count(*) from {{}} where {rf.column} not in ({restricted})"
        with connect(mesh, ["compliance_officer"]) as admin:
            raw_restricted = admin.execute(count.format(ds.shared)).fetchone()[0]
            raw_others = admin.execute(others.format(ds.shared)).fetchone()[0]
        assert raw_restricted > 0 and raw_others > 0, ds.internal
        for roles, expect_restricted in (([], 0), (["analyst"], 0), (["pii_reader"], 0),
                                         ([rf.cleared[0]], raw_restricted)):
            with connect(mesh, roles) as con:
                assert con.execute(count.format(ds.view)).fetchone()[0] == expect_restricted
                assert con.execute(others.format(ds.view)).fetchone()[0] == raw_others


def test_ccpa_opt_outs_are_shared_with_no_consumer_but_seen_by_their_domain(mesh: Mesh) -> None:
    flagged = [ds for ds in public_datasets(mesh) if ds.opt_out]
    assert flagged
    for ds in flagged:
        opted = f'select count(*) from {{}} where "{ds.opt_out}"'
        with connect(mesh, ["compliance_officer"]) as admin:
            assert admin.execute(opted.format(ds.internal)).fetchone()[0] > 0, ds.internal
            assert admin.execute(opted.format(ds.view)).fetchone()[0] == 0, ds.view
        with connect(mesh, [f"{ds.domain}_engineer", "eu_data_reader"]) as own:
            assert own.execute(opted.format(ds.view)).fetchone()[0] > 0, ds.view
