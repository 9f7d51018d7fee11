"""Property: for any set of roles, what a session sees through each secure view of the built demo
equals what its clearances allow, computed here from mesh.yml and the internal table alone.

For every column of every public dataset: the visible rows are the internal rows minus the row
filter's restricted rows (unless the roles hold that clearance) and minus the CCPA opt-outs
(unless they are the domain's own); each value is raw if the roles are cleared for the column's
classification (or are the domain's own), else masked by the classification's rule. Unclassified
columns fall under mesh.yml's default (unset: masked for everyone but the domain)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshkit.backends.duckdb.query import connect
from meshkit.config import UNCLASSIFIED, Classification, MaskRule, Mesh, load_mesh
from meshkit.masking import REDACTED, effective_classifications, type_family


@dataclass(frozen=True)
class Column:
    name: str
    classification: str  # effective: the declared one or the mesh's default
    family: str


@dataclass(frozen=True)
class Dataset:
    domain: str
    view: str
    internal: str
    columns: tuple[Column, ...]
    row_filter: str | None
    opt_out: str | None


def demo_datasets(mesh: Mesh) -> list[Dataset]:
    default = mesh.config.default_classification or UNCLASSIFIED
    out = []
    for domain in mesh.config.domains:
        manifest = orjson.loads((mesh.artifacts_path(domain) / "manifest.json").read_bytes())
        for node in manifest["nodes"].values():
            cfg = node["config"]
            if node["resource_type"] != "model" or cfg.get("materialized") != "secure_view":
                continue
            columns = []
            for name, col in node["columns"].items():
                meta = {**col.get("meta", {}), **(col.get("config") or {}).get("meta", {})}
                columns.append(Column(name, meta.get("classification") or default,
                                      type_family(col.get("data_type") or "")))
            db, schema, alias = node["database"], node["schema"], node["alias"]
            meta = cfg.get("meta") or {}
            out.append(Dataset(domain.name, f"{db}.{schema}.{alias}",
                               f"{db}.internal.{schema}__{alias}", tuple(columns),
                               meta.get("row_filter"), meta.get("opt_out_column")))
    return out


def holds(mesh: Mesh, roles: set[str], cleared: list[str]) -> bool:
    return any(roles & mesh.config.roles_granting(r) for r in cleared)


def masked(rule: Classification, family: str, value: Any) -> Any:
    """The value a session without clearance gets (meshkit.masking.mask_body, restated)."""
    if rule.mask is MaskRule.none:
        return value
    if family != "string" or rule.mask is MaskRule.nullify:
        return None
    if rule.mask is MaskRule.redact:
        return REDACTED
    if rule.mask is MaskRule.partial:
        return None if value is None else "****" + value[-4:] if len(value) > 4 else "****"
    raise AssertionError(f"no model of mask {rule.mask} here: extend the property")


def _sorted(values: list[Any]) -> list[Any]:
    return sorted(values, key=lambda v: (v is None, str(v)))


@pytest.fixture(scope="module")
def demo(built_demo: Path) -> tuple[Mesh, list[Dataset]]:
    mesh = load_mesh(built_demo)
    datasets = demo_datasets(mesh)
    assert len(datasets) >= 5 and sum(len(d.columns) for d in datasets) >= 50
    return mesh, datasets


ROLES = sorted(load_mesh(Path(__file__).resolve().parents[3] / "mesh.yml").config.all_role_names)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(roles=st.sets(st.sampled_from(ROLES), max_size=3))
def test_view_shows_exactly_what_the_clearances_allow(demo: tuple[Mesh, list[Dataset]],
                                                     roles: set[str]) -> None:
    mesh, datasets = demo
    rules = effective_classifications(mesh.config)
    with connect(mesh, [], locked=False) as admin, connect(mesh, sorted(roles)) as con:
        for ds in datasets:
            own = bool(roles & {f"{ds.domain}_engineer", f"{ds.domain}_owner"})
            where = ["true"]
            if ds.row_filter and not own:
                rf = mesh.config.row_filters[ds.row_filter]
                if not holds(mesh, roles, rf.cleared):
                    values = ", ".join(f"'{v}'" for v in rf.restricted_values)
                    where.append(f"coalesce({rf.column}, '') not in ({values})")
            if ds.opt_out and not own:
                where.append(f'not coalesce("{ds.opt_out}", false)')
            for col in ds.columns:
                rule = rules[col.classification]
                raw = [r[0] for r in admin.execute(
                    f'select "{col.name}" from {ds.internal} where {" and ".join(where)}').fetchall()]
                cleared = own or rule.mask is MaskRule.none or holds(mesh, roles, rule.cleared)
                expected = raw if cleared else [masked(rule, col.family, v) for v in raw]
                seen = [r[0] for r in con.execute(f'select "{col.name}" from {ds.view}').fetchall()]
                assert _sorted(seen) == _sorted(expected), (ds.view, col, sorted(roles))
