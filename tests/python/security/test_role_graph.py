"""The Snowflake role graph of `mesh plan`: who can unmask each classification and see each row
filter's restricted rows is exactly what mesh.yml declares; no system role, no domain engineer or
owner role (they roll up to SYSADMIN) and no undeclared role holds a clearance.

The grant graph is walked from the plan's statements (GRANT ROLE / GRANT DATABASE ROLE); the
expected holders are computed from mesh.yml independently of the plan's code."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from meshkit.backends.snowflake.plan import SYSTEM_ROLES, Plan, Product, plan_mesh
from meshkit.config import MaskRule, MeshConfig, load_mesh
from support import REPO

FIXTURES = Path(__file__).parent / "fixtures"
GRANT = re.compile(r"^GRANT (?:DATABASE )?ROLE (\S+) TO ROLE (\S+)$")
REVOKE = re.compile(r"^REVOKE (?:DATABASE )?ROLE (\S+) FROM ROLE (\S+)$")


def holders_in_plan(plan: Plan) -> dict[str, set[str]]:
    """Each role or database role -> every account role that holds it, transitively."""
    held_by: dict[str, set[str]] = defaultdict(set)  # role -> roles it is granted to
    for s in plan.statements:
        if m := GRANT.match(s.sql):
            held_by[m.group(1).lower()].add(m.group(2).lower())
    out: dict[str, set[str]] = {}
    for role in list(held_by):
        seen: set[str] = set()
        todo = list(held_by[role])
        while todo:
            r = todo.pop()
            if r not in seen:
                seen.add(r)
                todo += held_by.get(r, ())
        out[role] = {r for r in seen if "." not in r}  # account roles only
    return out


def declared_holders(config: MeshConfig, cleared: list[str]) -> set[str]:
    """The roles mesh.yml says hold ``cleared``: themselves, the roles inheriting them, and the
    consumer role of each domain that reads as one of them."""
    inherits = {r.name: set(r.inherits) for r in config.roles}
    for d in config.domains:
        inherits[d.consumer_role] = set(d.reads_as)
    out = set(cleared)
    changed = True
    while changed:
        changed = False
        for role, parents in inherits.items():
            if role not in out and parents & out:
                out.add(role)
                changed = True
    return out


@pytest.mark.parametrize("mesh_file", [REPO / "mesh.yml", FIXTURES / "mesh.yml"],
                         ids=["demo", "fixture"])
def test_clearance_holders_equal_what_mesh_yml_declares(mesh_file: Path) -> None:
    mesh = load_mesh(mesh_file)
    config = mesh.config
    products = {d.name: [Product("p", "active")] for d in config.domains}
    plan = plan_mesh(mesh, "prod", products)
    held = holders_in_plan(plan)
    gov = "mesh_governance"
    system = {r.lower() for r in SYSTEM_ROLES}
    domain_roles = {r for d in config.domains for r in (d.engineer_role, d.owner_role)}
    declared = set(config.all_role_names) | {d.consumer_role for d in config.domains}
    expected: dict[str, set[str]] = {}
    direct: dict[str, set[str]] = {}
    for name, c in config.classifications.items():
        if c.mask is not MaskRule.none:
            expected[f"{gov}.cleared_{name}"] = declared_holders(config, c.cleared)
            direct[f"{gov}.cleared_{name}"] = set(c.cleared)
    for name, rf in config.row_filters.items():
        expected[f"{gov}.cleared_rows_{name}"] = declared_holders(config, rf.cleared)
        direct[f"{gov}.cleared_rows_{name}"] = set(rf.cleared)
    assert expected
    for clearance, roles in expected.items():
        got = held.get(clearance, set())
        assert got == roles, clearance
        assert not got & system and not got & domain_roles and got <= declared, clearance
    # nobody may unmask an unclassified column (default: the most restrictive level)
    assert held.get(f"{gov}.cleared_unclassified", set()) == set()
    # and every other direct grant of a clearance is revoked, from every mesh and system role
    for clearance in expected:
        revoked = {m.group(2).lower() for s in plan.statements if (m := REVOKE.match(s.sql))
                   and m.group(1).lower() == clearance}
        assert revoked == (declared | system) - direct[clearance], clearance
    # SYSADMIN owns the domains' objects through the owner roles, yet holds no consumer role
    # and no clearance
    sysadmin_holds = {role for role, by in held.items() if "sysadmin" in by}
    assert domain_roles <= sysadmin_holds
    consumer_side = {r.name for r in config.roles} | {d.consumer_role for d in config.domains}
    assert not sysadmin_holds & (consumer_side | set(expected)), sysadmin_holds


def test_demo_risk_reads_as_its_consumer_role_not_its_engineer() -> None:
    plan = plan_mesh(load_mesh(REPO / "mesh.yml"), "prod", {})
    script = plan.script()
    assert "GRANT ROLE risk_analyst TO ROLE risk_consumer;" in script
    assert "GRANT ROLE eu_data_reader TO ROLE risk_consumer;" in script
    assert "GRANT ROLE risk_analyst TO ROLE risk_engineer;" not in script
    assert "REVOKE ROLE risk_analyst FROM ROLE risk_engineer;" in script
    assert "GRANT ROLE risk_consumer" not in script  # to the build's user, by the platform team
