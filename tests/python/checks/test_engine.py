"""The check engine: violations, reports, the registry, renderers, and `mesh check` on the demo."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

import meshkit.checks.registry as rule_module
from meshkit.build import dbt_env
from meshkit.checks import (
    CheckContext,
    CheckReport,
    Rule,
    Severity,
    Violation,
    get_rule,
    registered_rules,
    rule,
    run_checks,
)
from meshkit.checks.render import junit_xml, print_summary, print_table, report_json
from meshkit.cli.main import cli
from meshkit.config import Mesh, MeshConfig, load_mesh
from meshkit.dbt_runner import run_dbt
from meshkit.errors import UsageError


def _v(rule_id: str, severity: str, domain: str | None = None, message: str = "m") -> Violation:
    return Violation(rule=rule_id, severity=Severity(severity), message=message, fix="f",
                     domain=domain)


def test_violation_is_strict_and_frozen() -> None:
    v = _v("a.b", "error")
    with pytest.raises(ValidationError):
        Violation(rule="a", severity="error", message="m", fix="f", extra="x")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        v.message = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Violation(rule="a", severity="fatal", message="m", fix="f")  # type: ignore[arg-type]


def test_report_sorts_errors_first_and_counts() -> None:
    report = CheckReport.of([_v("z.rule", "warn", "a"), _v("b.rule", "error", "b"),
                             _v("a.rule", "error", "b"), _v("a.rule", "error", "b")], [])
    assert [(v.rule, v.severity.value) for v in report.violations] == [
        ("a.rule", "error"), ("b.rule", "error"), ("z.rule", "warn")]  # duplicates folded
    assert (report.errors, report.warnings, report.exit_code) == (2, 1, 1)
    only_warnings = CheckReport.of([_v("z.rule", "warn")], [])
    assert only_warnings.exit_code == 0
    assert report_json(report)["errors"] == 2


class _Planted(Rule):
    """Every domain is reported once."""

    id = "test.planted"

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        for d in ctx.config.domains:
            yield self.violation(f"domain {d.name}", fix="none", domain=d.name)


def _mesh(*names: str) -> Mesh:
    return Mesh(config=MeshConfig.model_validate({"name": "m", "domains": [
        {"name": n, "artifacts": n, "owner": {"name": "o"}} for n in names]}),
        file=Path("mesh.yml"))


def test_run_checks_limits_to_selected_domains_and_severity_override() -> None:
    ctx = CheckContext(_mesh("a", "b"), domains=["b"])
    report = run_checks(ctx, [_Planted(severity="warn")])
    assert [(v.domain, v.severity) for v in report.violations] == [("b", Severity.WARN)]
    assert report.exit_code == 0
    assert report.rules[0].summary == "Every domain is reported once."
    kept = run_checks(CheckContext(_mesh("a", "b")), [_Planted()], keep=lambda v: v.domain != "a")
    assert [v.domain for v in kept.violations] == ["b"]


def test_registry_rejects_bad_ids_and_duplicates_and_suggests() -> None:
    with pytest.raises(TypeError, match="dotted lowercase"):
        type("Bad", (Rule,), {"id": "Not-An-Id", "__doc__": "x"})
    registered_rules()
    with pytest.raises(TypeError, match="taken"):
        rule(type("Other", (Rule,), {"id": "contract.unpinned_ref", "__doc__": "x"}))
    with pytest.raises(UsageError, match=r"did you mean 'contract\.unpinned_ref'"):
        get_rule("contract.unpined_ref")


def test_entry_point_rules_are_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party package's rules, found through its installed entry point."""
    (tmp_path / "acme_rules.py").write_text(
        "from meshkit.checks import Rule, rule\n"
        "@rule\n"
        "class Acme(Rule):\n"
        "    '''Acme's own policy.'''\n"
        "    id = 'acme.policy'\n"
        "    def check(self, ctx):\n"
        "        return []\n")
    dist = tmp_path / "acme_rules-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-rules\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[meshkit.rules]\nacme = acme_rules\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    # Loaded first, so that the copy restored after the test holds every built-in rule: a first
    # load inside the copy would leave the registry without those of modules imported by it.
    registered_rules()
    monkeypatch.setattr(rule_module, "_loaded", False)
    monkeypatch.setattr(rule_module, "_REGISTRY", dict(rule_module._REGISTRY))
    rules = registered_rules()
    assert rules["acme.policy"].summary_text() == "Acme's own policy."
    assert "contract.ref_not_product" in rules
    sys.modules.pop("acme_rules", None)


def test_junit_has_a_suite_per_rule_and_a_failure_per_error() -> None:
    ctx = CheckContext(_mesh("a", "b"))
    report = run_checks(ctx, [_Planted(), _Clean()])
    root = ET.fromstring(junit_xml(report))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"test.planted", "test.clean"}
    assert suites["test.planted"].get("failures") == "2"
    assert len(suites["test.clean"].findall("testcase/failure")) == 0
    assert root.get("tests") == "3"


class _PlantedToo(_Planted):
    """Every domain is reported once more."""

    id = "test.also"


def test_a_long_report_is_summed_up_per_rule_and_a_short_one_listed() -> None:
    from rich.console import Console

    names = [f"d{i:02d}" for i in range(12)]
    report = run_checks(CheckContext(_mesh(*names)), [_Planted(), _PlantedToo(severity="warn")])

    def shown(limit: int) -> str:
        console = Console(record=True, width=160, highlight=False)
        print_summary(report, console, title="t", shown=limit, listing="; see FILE")
        return console.export_text()

    summed = shown(10)
    rows = {line.split("│")[2].strip(): line for line in summed.splitlines()
            if line.count("│") == 6}
    assert set(rows) == {"test.planted", "test.also"}
    # errors first, then the count, the domains and where the rule's first violation is
    assert [c.strip() for c in rows["test.planted"].split("│")[1:6]] == [
        "error", "test.planted", "12", "12", "d00"]
    assert summed.index("test.planted") < summed.index("test.also")
    assert "domain d05" not in summed  # no violation one by one
    assert "12 error(s), 12 warning(s) from 2 rule(s)" in summed
    assert "`mesh check --rule RULE`; see FILE" in summed
    listed = shown(24)
    assert all(f"domain {n}" in listed for n in names) and "mesh check --rule" not in listed
    # `mesh check` lists every one, then sums them up per rule at the end of the long list.
    console = Console(record=True, width=160, highlight=False)
    print_table(report, console)
    checked = console.export_text()
    assert all(f"domain {n}" in checked for n in names)
    by_rule = checked[checked.index("by rule"):]
    assert [[c.strip() for c in line.split("│")[1:4]] for line in by_rule.splitlines()
            if line.count("│") == 6] == [["error", "test.planted", "12"],
                                         ["warn", "test.also", "12"]]
    console = Console(record=True, width=160, highlight=False)
    print_table(CheckReport.of(list(report.violations[:3]), []), console)
    assert "by rule" not in console.export_text()


def test_what_a_violation_quotes_is_shown_as_written() -> None:
    from rich.console import Console

    quoted = Violation(rule="a.b", severity="error",
                       message="column \"x [/] y\" [deprecated]\x1b", fix="rename [red]it[/]",
                       node="model.d.m", file="models/[legacy]/m.sql")
    for limit in (10, 0):  # listed, then summed up
        console = Console(record=True, width=200, highlight=False)
        print_summary(CheckReport.of([quoted], []), console, title="t", shown=limit)
        out = console.export_text()
        assert "models/[legacy]/m.sql" in out and "\x1b" not in out
        if limit:
            assert 'column "x [/] y" [deprecated]\\x1b' in out and "fix: rename [red]it[/]" in out


class _Clean(Rule):
    """Finds nothing."""

    id = "test.clean"

    def check(self, ctx: CheckContext) -> Iterator[Violation]:
        return iter(())


# --- real dbt: the built demo ---------------------------------------------------------------------


def test_demo_passes_mesh_check_clean(built_demo: Path, tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    before = sorted(p.name for p in built_demo.parent.rglob("*") if p.is_file())
    result = CliRunner().invoke(cli, ["check", "--mesh", str(built_demo), "--json",
                                      "--junit", str(junit)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["violations"] == [] and data["exit_code"] == 0
    assert {r["id"] for r in data["rules"]} >= {"contract.ref_not_product", "contract.unpinned_ref",
                                                "contract.attached_database",
                                                "contract.classification_defined",
                                                "contract.regulation_known",
                                                "contract.row_filter_defined"}
    assert ET.fromstring(junit.read_text()).get("failures") == "0"
    assert sorted(p.name for p in built_demo.parent.rglob("*") if p.is_file()) == before
    # A report path in no folder is bad input naming it (it was a FileNotFoundError, exit 1),
    # and so is `mesh contract export -o` there.
    nowhere = tmp_path / "no-such-folder" / "report.xml"
    for argv in (["check", "--junit", str(nowhere)],
                 ["contract", "export", "consumer_banking.consumer_demographics."
                  "consumer_demographics_v2", "-o", str(nowhere)]):
        result = CliRunner().invoke(cli, [*argv, "--mesh", str(built_demo)])
        assert result.exit_code == 2, result.output
        assert f"{nowhere}: cannot write" in result.output and "fix: give a path" in result.output
        assert not nowhere.parent.exists()


def _parse(mesh_file: Path, domain: str) -> None:
    mesh = load_mesh(mesh_file)
    project = mesh.domain_path(mesh.config.domain(domain))
    assert project is not None
    for args in (["deps"], ["parse"]):
        run = run_dbt(project, args, env=dbt_env(mesh, "dev"))
        assert run.success, run.errors


def test_unpinned_and_non_product_refs_found_in_a_real_parse(demo_copy: Path) -> None:
    root = demo_copy.parent
    # dbt itself refuses a ref to another project's protected model; a public model outside any
    # group is let through by dbt, and is not a product.
    staging = root / "domains/consumer_banking/models/staging/_staging.yml"
    staging.write_text(staging.read_text().replace(
        "  - name: stg_customers\n", "  - name: stg_customers\n    config: {access: public}\n"))
    sql = root / "domains/risk/models/intermediate/int_customer_risk_features.sql"
    sql.write_text(sql.read_text().replace("'consumer_demographics', v=2", "'consumer_demographics'"))
    loans = root / "domains/risk/models/intermediate/int_customer_loans.sql"
    loans.write_text(loans.read_text().replace(
        "select * from {{ ref('stg_loans') }}",
        "select * from {{ ref('stg_loans') }}\n    -- {{ ref('consumer_banking', 'stg_customers') }}"))
    _parse(demo_copy, "consumer_banking")
    _parse(demo_copy, "risk")
    result = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy), "--json"])
    assert result.exit_code == 1, result.output
    found = {(v["rule"], v["severity"], v["file"], v["line"])
             for v in json.loads(result.output)["violations"]}
    assert found == {
        ("contract.unpinned_ref", "warn",
         "domains/risk/models/intermediate/int_customer_risk_features.sql", 3),
        ("contract.ref_not_product", "error",
         "domains/risk/models/intermediate/int_customer_loans.sql", 4),
    }
    table = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy), "--domain", "asset_management"])
    assert table.exit_code == 0, table.output
    assert "0 error(s), 0 warning(s)" in table.output
