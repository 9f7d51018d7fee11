"""Governance policies over a fixture mesh with planted violations: every planted violation is
reported, and nothing else (one table, one build per session)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

pytest.importorskip("meshkit.checks", reason="the check engine (issue 8) is not installed")

from meshkit.checks import CheckContext, registered_rules, run_checks
from meshkit.config import load_mesh
from meshkit.errors import ConfigError
from meshkit.governance.policy import Policy, configured_policies

TODAY = dt.date(2026, 11, 27)
BANK, SHOP = "model.gv_bank", "model.gv_shop"

# (rule, node, severity, a fragment of the message): one row per planted violation.
PLANTED = [
    ("product.owner", "gv_bank.accounts", "error", "no owner with an email"),
    ("product.description", "gv_bank.accounts", "error", "no description of 20+"),
    ("product.status", "gv_bank.accounts", "error", "no valid status"),
    ("product.sla", "gv_bank.accounts", "error", "no readable SLA"),
    ("dataset.contract", f"{BANK}.account_list", "warn", "no enforced contract"),
    ("dataset.columns_documented", f"{BANK}.account_events", "error", "column event_note"),
    ("dataset.columns_classified", f"{BANK}.account_events", "warn", "column channel"),
    ("dataset.primary_key", f"{BANK}.account_events", "error", "no primary-key test"),
    ("naming.conventions", f"{BANK}.tmp_balances", "error", "'tmp_balances'"),
    ("personal_data.by_name", f"{BANK}.customer_profile", "warn", "column iban"),
    # a birth date under a harmless name: found through the column lineage
    ("personal_data.by_lineage", f"{SHOP}.customer_orders", "error",
     "column buyer_since of gv_shop.orders.customer_orders derives from birth_date of "
     "seed.gv_shop.raw_orders"),
    # the name hides it: found from the sampled values (never printed)
    ("personal_data.by_value", f"{BANK}.customer_profile", "error", "column contact"),
    ("masking.verified", f"{BANK}.customer_profile", "error",
     "column nickname of gv_bank.customers.customer_profile (pii) shows"),
    # a classification lost across the domain boundary
    ("classification.propagation", f"{SHOP}.customer_orders", "error",
     "column contact_host of gv_shop.orders.customer_orders is internal but derives across "
     "domains from pii column email of model.gv_bank.customer_profile"),
    # warn by default; gv_shop made it an error for itself
    ("consumer.masked_predicate", f"{SHOP}.int_orders_by_card", "error", "on card_number"),
    ("regulation.pci_dss", f"{BANK}.customer_profile", "error", "column card_token"),
    ("regulation.gdpr", f"{BANK}.ledger", "error", "declares no retention"),
    ("regulation.gdpr", f"{BANK}.ledger", "error", "filters no EU rows"),
    ("regulation.hipaa", f"{BANK}.customer_profile", "error", "column diagnosis_code"),
    ("regulation.ccpa", f"{BANK}.ledger", "error", "no boolean opt-out flag"),
    ("governance.waiver_expired", f"{BANK}.account_list", "error", "expired on 2020-01-01"),
    ("governance.waiver_unmatched", f"{BANK}.acount_list", "warn",
     "the waiver of dataset.contract names model.gv_bank.acount_list, which the mesh does not "
     "have: it excuses nothing"),
]


def copy_built_demo(built_demo: Path, tmp_path: Path, domain: str) -> Path:
    """A copy of the built demo, with ``domain``'s dbt packages installed anew. A domain's
    dbt_packages holds symlinks to meshkit's folder and to the mesh's policy package: a copy
    that follows them copies meshkit (and loops through the catalog marts' own packages), one
    that keeps them points the copy at the original's policy."""
    import shutil

    from meshkit.build import dbt_env
    from meshkit.dbt_runner import run_dbt

    root = tmp_path / "demo"
    shutil.copytree(built_demo.parent, root,
                    ignore=shutil.ignore_patterns("*.wal", "logs", "dbt_packages"))
    deps = run_dbt(root / "domains" / domain, ["deps"],
                   env=dbt_env(load_mesh(root / "mesh.yml"), "dev"))
    assert deps.success, deps.errors
    return root


def test_every_planted_violation_and_nothing_else(governance_mesh: Path) -> None:
    mesh = load_mesh(governance_mesh)
    # The engine's own defaults (as `mesh check` runs them): each policy configures itself from
    # mesh.yml and leaves out what a current waiver covers.
    policies = [cls() for cls in registered_rules().values() if issubclass(cls, Policy)]
    report = run_checks(CheckContext(mesh, today=TODAY), policies)
    found = [(v.rule, v.node, v.severity.value, v.message) for v in report.violations]
    unmatched = list(found)
    for rule, node, severity, fragment in PLANTED:
        hit = next((f for f in unmatched if f[:3] == (rule, node, severity) and fragment in f[3]),
                   None)
        assert hit is not None, (rule, node, fragment, found)
        unmatched.remove(hit)
    assert unmatched == [], unmatched
    # the first session that sees the raw values is named (all sessions counted in one query)
    assert next(m for r, _, _, m in found if r == "masking.verified").endswith(
        "raw value(s) to a session without roles")
    # every built-in policy is exercised by at least one planted violation
    assert {p.id for p in policies} == {row[0] for row in PLANTED}
    # the sampled values are never shown
    assert not any("@" in v.message for v in report.violations)
    assert report.exit_code == 1
    for v in report.violations:
        assert v.fix and v.domain in ("gv_bank", "gv_shop")
        if v.node and v.node.startswith("model.") and v.rule != "governance.waiver_expired":
            assert (v.file and v.file.endswith(".yml")) or v.rule == "consumer.masked_predicate", v


def test_a_domain_sees_the_policies_in_its_own_dbt_build(governance_mesh: Path,
                                                          tmp_path: Path) -> None:
    """The platform package's governance test fails the domain's own `dbt test` on the
    error-severity policies its manifest decides (here made errors), minus current waivers."""
    import shutil

    import duckdb
    import yaml

    from meshkit.build import dbt_env
    from meshkit.dbt_runner import run_dbt
    from meshkit.masking import write_policy_macro

    root = tmp_path / "mesh"
    # dbt_packages holds a symlink to the mesh root: never follow it
    shutil.copytree(governance_mesh.parent, root, symlinks=True,
                    ignore=shutil.ignore_patterns("*.wal", "dbt_packages", "target", "logs"))
    data = yaml.safe_load((root / "mesh.yml").read_text())
    for rule in ("dataset.contract", "dataset.columns_classified", "personal_data.by_name"):
        data["policies"][rule] = {"severity": "error"}
    (root / "mesh.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    mesh = load_mesh(root / "mesh.yml")
    write_policy_macro(mesh)
    project = root / "domains" / "gv_bank"
    assert run_dbt(project, ["deps"], env=dbt_env(mesh, "dev")).success
    run = run_dbt(project, ["test", "--select", "mesh_domain_governance", "--store-failures"],
                  env=dbt_env(mesh, "dev"))
    assert not run.success
    con = duckdb.connect(str(root / "warehouse" / "gv_bank.duckdb"), read_only=True)
    [(schema,)] = con.execute("select table_schema from information_schema.tables "
                              "where table_name = 'mesh_domain_governance'").fetchall()
    rows = set(con.execute(
        f'select policy, node, violation from "{schema}".mesh_domain_governance').fetchall())
    con.close()
    assert rows == {
        ("dataset.contract", f"{BANK}.account_list", "no enforced contract"),
        ("dataset.columns_classified", f"{BANK}.account_events", "column channel has no classification"),
        ("personal_data.by_name", f"{BANK}.customer_profile",
         "column iban looks like iban but is not masked"),
    }


@pytest.mark.parametrize(("entry", "why"), [
    ("{enabled: false}", "switches off a global policy"),
    ("{severity: warn}", "lowers its severity from error to warn"),
    ("{params: {min_length: 5}}", "makes parameter 'min_length' less strict"),
    ("{scope: {tiers: [gold]}}", "narrows the scope of a global policy"),
])
def test_a_domain_may_not_weaken_a_global_policy(tmp_path: Path, entry: str, why: str) -> None:
    text = (Path(__file__).parent / "fixtures" / "mesh.yml").read_text().replace(
        "      consumer.masked_predicate: {severity: error}",
        f"      consumer.masked_predicate: {{severity: error}}\n      product.description: {entry}")
    (tmp_path / "mesh.yml").write_text(text)
    mesh = load_mesh(tmp_path / "mesh.yml")
    with pytest.raises(ConfigError) as info:
        configured_policies(mesh)
    err = info.value
    line = text.splitlines().index(f"      product.description: {entry}") + 1
    assert err.file == tmp_path / "mesh.yml" and err.location == str(line)
    assert why in err.message and "gv_shop" in err.message


def test_unknown_policies_and_parameters_are_config_errors(tmp_path: Path) -> None:
    text = (Path(__file__).parent / "fixtures" / "mesh.yml").read_text()
    added = "\npolicies:\n"
    for old, bad, said in (
            (added, "  product.ownr: {}",
             "unknown policy 'product.ownr' (did you mean 'product.owner'?)"),
            (added, "  naming.conventions: {params: {patern: x}}", "unknown parameter 'patern'"),
            # A value of the wrong kind was a ValueError traceback; a negative count and a
            # scope naming no domain turned the policy off without a word.
            ("sample_rows: 100", "sample_rows: forty",
             "parameter 'sample_rows' of personal_data.by_value is not a whole number"),
            ("min_share: 0.3", "min_share: -0.5", "cannot be negative: -0.5"),
            (added, "  naming.conventions: {params: {forbidden_prefixes: stg_}}",
             "parameter 'forbidden_prefixes' of naming.conventions is not a list"),
            (added, "  product.owner: {scope: {domains: [gv_banc]}}",
             "no domain 'gv_banc' in the mesh (did you mean 'gv_bank'?)"),
            (added, "  product.owner: {scope: {products: [gv_shopp.orders]}}",
             "no domain 'gv_shopp' in the mesh (did you mean 'gv_shop'?)")):
        variant = text.replace(old, f"{added}{bad}\n" if old == added else bad, 1)
        (tmp_path / "mesh.yml").write_text(variant)
        with pytest.raises(ConfigError, match=re.escape(said)) as info:
            configured_policies(load_mesh(tmp_path / "mesh.yml"))
        line = next(i for i, t in enumerate(variant.splitlines(), 1) if bad.strip() in t)
        assert info.value.location == str(line), (bad, info.value)


def test_policies_read_the_lineage_the_sync_traced_and_leave_its_cache_alone(
        governance_mesh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The policies' column lineage (classification.propagation, consumer.masked_predicate) comes
    from the sync's lineage cache, by the same keys: after a sync nothing is traced again (at 50
    domains tracing again cost 13 s of every sync and `mesh check`), the verdicts are those of a
    run that traced everything, and a check, which writes nothing, leaves the cache as it was."""
    import shutil

    import meshkit.lineage
    from meshkit.catalog import sync
    from meshkit.lineage import LINEAGE_CACHE_DIR

    root = tmp_path / "mesh"
    # dbt_packages links to meshkit itself: not followed (a sync reads only the artifacts)
    shutil.copytree(governance_mesh.parent, root, ignore=shutil.ignore_patterns("dbt_packages"))
    mesh = load_mesh(root / "mesh.yml")
    policies = [cls() for cls in registered_rules().values() if issubclass(cls, Policy)]

    def verdicts() -> list[tuple[str, str | None, str]]:
        report = run_checks(CheckContext(load_mesh(root / "mesh.yml"), today=TODAY), policies)
        return sorted((v.rule, v.node, v.message) for v in report.violations)

    traced = verdicts()
    assert not (root / LINEAGE_CACHE_DIR).exists()  # a check writes no cache
    assert any(rule == "classification.propagation" for rule, _, _ in traced)
    sync(mesh)
    cache = {f.name: f.read_bytes() for f in (root / LINEAGE_CACHE_DIR).glob("*.json")}
    # gv_bank's manifest is a `dbt parse`'s (no compiled SQL): its lineage is traced from the
    # SQL its build left in target/compiled, and the planted propagation reads gv_bank's
    # columns across the boundary.
    assert set(cache) == {"gv_bank.json", "gv_shop.json"}

    def traced_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model's lineage was traced again")

    monkeypatch.setattr(meshkit.lineage, "query_lineage", traced_again)
    assert verdicts() == traced
    assert {f.name: f.read_bytes() for f in (root / LINEAGE_CACHE_DIR).glob("*.json")} == cache


def test_a_sync_checks_its_own_catalog_only_when_it_is_that_of_the_artifacts_checked(
        governance_mesh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sync that read, or found unchanged, every domain hands its catalog to the policies
    (projecting the whole mesh again cost 3.3 s of each sync of the 50 x 200 bench mesh); one
    that kept a domain as it was (`--domain`), whose files may have changed since, has them
    project what they check from the artifacts, as `mesh check` does. The verdicts are the same."""
    import importlib
    import shutil

    from meshkit.governance.facts import Facts

    sync = importlib.import_module("meshkit.catalog.sync")  # (the package exports the function)

    root = tmp_path / "mesh"
    # dbt_packages links to meshkit itself: not followed (a sync reads only the artifacts)
    shutil.copytree(governance_mesh.parent, root, ignore=shutil.ignore_patterns("dbt_packages"))
    projected: list[bool] = []
    own = Facts._projected
    monkeypatch.setattr(Facts, "_projected", lambda self: projected.append(True) or own(self))

    def verdicts(result: sync.SyncResult) -> list[tuple[str, str | None, str]]:
        return sorted((v.rule, v.node, v.message) for v in result.report.violations
                      if v.rule == "classification.propagation")

    whole = sync.sync(load_mesh(root / "mesh.yml"))
    assert projected == [] and verdicts(whole), verdicts(whole)
    again = sync.sync(load_mesh(root / "mesh.yml"))  # every domain unchanged
    assert projected == [] and verdicts(again) == verdicts(whole)
    one = sync.sync(load_mesh(root / "mesh.yml"), domains=["gv_shop"])  # gv_bank kept
    assert projected == [True] and verdicts(one) == verdicts(whole)


def test_warehouse_policies_skip_a_column_documented_since_the_build(
        built_demo: Path, tmp_path: Path) -> None:
    """A product column renamed in its YAML, then `dbt parse` (the documented way to have
    `mesh check` see a change before building it): the built view and table do not have the new
    name yet. masking.verified and personal_data.by_value queried it and ended in DuckDB's
    BinderException, a traceback of every `mesh check` until the next build; they now verify
    every column that is built and leave out the one that is not."""
    from click.testing import CliRunner

    from meshkit.build import dbt_env
    from meshkit.cli.main import cli
    from meshkit.dbt_runner import run_dbt

    root = copy_built_demo(built_demo, tmp_path, "asset_management")
    yml = root / ("domains/asset_management/models/marts/consumer_asset_profile/"
                  "_consumer_asset_profile.yml")
    text = yml.read_text()
    assert text.count("- name: risk_profile") == 2 and text.count("- name: total_assets") == 1
    yml.write_text(text.replace("- name: risk_profile", "- name: risk_level")  # internal text
                   .replace("- name: total_assets", "- name: total_holdings"))  # confidential
    mesh = load_mesh(root / "mesh.yml")
    parsed = run_dbt(root / "domains/asset_management", ["parse"], env=dbt_env(mesh, "dev"))
    assert parsed.success, parsed.errors
    result = CliRunner().invoke(cli, ["check", "--mesh", str(root / "mesh.yml"), "--json",
                                      "--rule", "masking.verified",
                                      "--rule", "personal_data.by_value"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output


class CardProfile:
    """consumer_banking's credit card profile (a product model) in a copy of the built demo,
    published with one more column by a hand `dbt build` of the domain."""

    ANCHOR = "      - name: country\n"

    def __init__(self, root: Path) -> None:
        self.mesh = load_mesh(root / "mesh.yml")
        self.project = root / "domains/consumer_banking"
        folder = self.project / "models/marts/consumer_credit_card_profile"
        self.sql_file, self.yml_file = (folder / "consumer_credit_card_profile.sql",
                                        folder / "_consumer_credit_card_profile.yml")
        self.sql, self.yml = self.sql_file.read_text(), self.yml_file.read_text()
        assert "        customers.country,\n" in self.sql and self.yml.count(self.ANCHOR) == 1

    def publish(self, expression: str, column: str, data_type: str | None,
                description: str, *, enforced: bool = True) -> list[str]:
        """The build's errors (none: it succeeded). ``data_type`` None: declared without one
        (the model's contract then not ``enforced``, as dbt requires)."""
        from meshkit.build import dbt_env
        from meshkit.dbt_runner import run_dbt

        self.sql_file.write_text(self.sql.replace("        customers.country,\n",
                                                  f"        customers.country,\n"
                                                  f"        {expression} as {column},\n"))
        yml = self.yml if enforced else self.yml.replace(  # the first model: this one
            "contract: {enforced: true}", "contract: {enforced: false}", 1)
        typed = "" if data_type is None else f"        data_type: {data_type}\n"
        self.yml_file.write_text(yml.replace(
            self.ANCHOR, f"      - name: {column}\n{typed}"
                         f"        description: {description}\n"
                         "        config:\n"
                         "          meta: {classification: internal}\n" + self.ANCHOR))
        run = run_dbt(self.project, ["build", "--select", "consumer_credit_card_profile"],
                      env=dbt_env(self.mesh, "dev"))
        return [] if run.success else run.errors


def test_a_domain_build_refuses_to_publish_personal_data_unmasked(
        built_demo: Path, tmp_path: Path) -> None:
    """A domain engineer adds the customers' emails to a product under a classification that
    does not mask, and runs `dbt build` by hand. The build replaced the secure view first, and
    analysts without a role read the emails until the dbt test or the next sync reported them
    (found by a tester). The secure_view materialization now refuses such a column before the
    view is replaced: by its name, or by its sampled values under a harmless name, unless a
    waiver excuses the model. (The customers' own emails are refused by their lineage first,
    tested below: the values here are emails made from an account id, which only the values
    give away.)"""
    from meshkit.backends.duckdb.query import query
    from meshkit.errors import UsageError

    root = copy_built_demo(built_demo, tmp_path, "consumer_banking")
    profile = CardProfile(root)
    mesh = profile.mesh
    view = "consumer_banking.consumer_credit_card_profile.consumer_credit_card_profile"
    node = "model.consumer_banking.consumer_credit_card_profile"

    expression = "'holder' || cast(accounts.card_account_id as varchar) || '@example.com'"

    def publish(column: str) -> list[str]:
        return profile.publish(expression, column, "varchar", "How to reach the holder.")

    def served(column: str) -> list[str]:
        return [str(r[0]) for r in query(mesh, f"select {column} from {view}", []).rows]

    # A harmless name: the sampled values give it away (never shown in the message).
    errors = " ".join(publish("reach_at"))
    assert "_consumer_credit_card_profile.yml: model " + node + ", column 'reach_at'" in errors
    assert "sampled values look like email" in errors and "personal_data.by_value" in errors
    assert "the secure view was not replaced; fix: classify `reach_at`" in errors
    assert "@" not in errors
    with pytest.raises(UsageError, match="not found"):
        served("reach_at")
    # A personal name: refused before anything is built.
    errors = " ".join(publish("holder_email"))
    assert "column 'holder_email': its name looks like email" in errors
    assert "personal_data.by_name" in errors
    with pytest.raises(UsageError, match="not found"):
        served("holder_email")
    # The model's previous view still serves, masked as before.
    assert len(served("card_number")) > 0
    # A waiver of the value policy for this model lets the (reviewed) column through.
    waivers = root / "governance" / "waivers.yml"
    waivers.write_text(waivers.read_text() + (
        f"  - policy: personal_data.by_value\n    node: {node}\n"
        "    reason: Reviewed; the test shows a waiver lets a column through.\n"
        "    approver: Governance council\n    expires: 2999-01-01\n"))
    from meshkit.masking import write_policy_macro

    write_policy_macro(load_mesh(root / "mesh.yml"))
    assert publish("reach_at") == []
    assert any("@" in v for v in served("reach_at"))


# Luhn-valid card numbers (the networks' published test numbers), as a SQL CASE over an id.
CARD_NUMBERS = ("case {id} % 4 when 0 then 4111111111111111 when 1 then 5500000000000004 "
                "when 2 then 6011000000000004 else 4012888888881881 end")


def test_card_numbers_kept_as_integers_are_refused_by_their_values(
        built_demo: Path, tmp_path: Path) -> None:
    """personal_data.by_value sampled text columns only: card numbers kept as a BIGINT under a
    harmless name went through the build gate and every check, to sessions without a role
    (found probing the policy with numbers a card system keeps as integers). Integer columns
    are sampled too; only a run of 13 to 19 digits that passes Luhn's check can match."""
    profile = CardProfile(copy_built_demo(built_demo, tmp_path, "consumer_banking"))
    card = CARD_NUMBERS.format(id="accounts.card_account_id")
    refused = profile.publish(f"cast({card} as bigint)", "settlement_ref", "bigint",
                              "The settlement's reference.")
    errors = " ".join(refused)
    assert refused
    assert "column 'settlement_ref'" in errors and "personal_data.by_value" in errors
    assert "sampled values look like card number" in errors
    assert "4111111111111111" not in errors  # the values are never shown


def test_a_column_declared_without_a_type_is_sampled_too(built_demo: Path,
                                                         tmp_path: Path) -> None:
    """A model whose contract is not enforced may declare a column without a data_type. The
    sync's personal_data.by_value samples it as text; the build gate took its type family as
    `other` and sampled nothing, so emails under a harmless name reached the view."""
    profile = CardProfile(copy_built_demo(built_demo, tmp_path, "consumer_banking"))
    assert profile.yml.index("contract: {enforced: true}") < profile.yml.index(
        "name: card_transactions_monthly")  # the first: the profile's
    errors = " ".join(profile.publish(
        "'holder' || cast(accounts.card_account_id as varchar) || '@example.com'", "reach_at",
        None, "How to reach the holder.", enforced=False))
    assert "column 'reach_at'" in errors and "personal_data.by_value" in errors, errors
    assert "sampled values look like email" in errors


def test_a_check_finds_card_numbers_kept_as_integers(built_demo: Path, tmp_path: Path) -> None:
    """The same in the built warehouse (a table loaded past the build gate, or before a column
    held them): `mesh check` samples integer columns too, and names the column."""
    import json
    import shutil

    import duckdb
    from click.testing import CliRunner

    from meshkit.cli.main import cli

    root = tmp_path / "demo"
    shutil.copytree(built_demo.parent, root,
                    ignore=shutil.ignore_patterns("*.wal", "logs", "dbt_packages"))
    card = CARD_NUMBERS.format(id="customer_id")
    with duckdb.connect(str(root / "warehouse" / "risk.duckdb")) as con:
        con.execute("update internal.credit_risk_scorecard__credit_risk_scorecard "
                    f"set loan_count = {card}")
    result = CliRunner().invoke(cli, ["check", "--mesh", str(root / "mesh.yml"), "--json",
                                      "-r", "personal_data.by_value"])
    found = [v for v in json.loads(result.output)["violations"]
             if v["rule"] == "personal_data.by_value"]
    assert [v["message"].split(":")[0] for v in found] == [
        "column loan_count of risk.credit_risk_scorecard.credit_risk_scorecard"], result.output
    assert "look like card number" in found[0]["message"]
    assert "4111111111111111" not in result.output


def test_a_domain_build_refuses_a_column_derived_from_personal_data(
        built_demo: Path, tmp_path: Path) -> None:
    """A domain engineer publishes a column derived from personal data under a harmless name and
    a classification that does not mask, and runs `dbt build` by hand: the customers' email
    local parts (neither the name nor the values, which hold no '@', look personal). The build
    published them to sessions without a role, and the sync reported nothing: the selective
    build compiled no parent, so its column lineage had nothing to resolve (found probing the
    build gate). The secure_view materialization now traces the model's lineage against its
    parents as built, and refuses such a column before anything is built (by the name of the
    parent column, or by its classification), unless a waiver excuses the model."""
    from meshkit.backends.duckdb.query import query
    from meshkit.build import dbt_env
    from meshkit.dbt_runner import run_dbt
    from meshkit.errors import UsageError
    from meshkit.masking import write_policy_macro

    root = copy_built_demo(built_demo, tmp_path, "consumer_banking")
    mesh = load_mesh(root / "mesh.yml")
    assert run_dbt(root / "domains/risk", ["deps"], env=dbt_env(mesh, "dev")).success

    def edit(path: Path, old: str, new: str) -> None:
        text = path.read_text()
        assert text.count(old) == 1, (path, old)
        path.write_text(text.replace(old, new))

    def build(domain: str, model: str) -> list[str]:
        run = run_dbt(root / "domains" / domain, ["build", "--select", model],
                      env=dbt_env(mesh, "dev"))
        return [] if run.success else run.errors

    def column(name: str, classification: str, data_type: str = "varchar") -> str:
        return (f"      - name: {name}\n        data_type: {data_type}\n"
                f"        description: A derived column.\n        config:\n"
                f"          meta: {{classification: {classification}}}\n")

    # The email's local part, from a staging model that documents only its key.
    cards = root / "domains/consumer_banking/models/marts/consumer_credit_card_profile"
    edit(cards / "consumer_credit_card_profile.sql", "        customers.country,\n",
         "        customers.country,\n        split_part(customers.email, '@', 1) as member_handle,\n")
    edit(cards / "_consumer_credit_card_profile.yml", "      - name: country\n",
         column("member_handle", "public") + "      - name: country\n")
    node = "model.consumer_banking.consumer_credit_card_profile"
    errors = " ".join(build("consumer_banking", "consumer_credit_card_profile"))
    assert (f"_consumer_credit_card_profile.yml: model {node}, column 'member_handle': it derives "
            "from email of consumer_banking.internal.stg_customers, which looks like email, and "
            "its classification 'public' shows it unmasked (personal_data.by_lineage); the secure "
            "view was not replaced") in errors, errors
    view = "consumer_banking.consumer_credit_card_profile.consumer_credit_card_profile"
    with pytest.raises(UsageError, match="not found"):
        query(mesh, f"select member_handle from {view}", [])
    assert len(query(mesh, f"select card_number from {view}", []).rows) > 0  # (as before)
    # The sync reports it too, and publishes no contract naming it: the manifest now holds the
    # model's SQL but not its parents' (a selective build compiles what it selects), and the
    # staging model documents only its key, so its lineage resolves against the columns the
    # warehouse has (it was empty, and the sync reported nothing). Without dbt's compiled
    # folder (artifacts copied without it), the parents' SQL is nowhere to be read.
    import shutil

    from meshkit.mesh import Mesh

    compiled = root / "domains/consumer_banking/target/compiled"
    compiled.rename(compiled.with_name("compiled_aside"))

    synced = Mesh.load(root / "mesh.yml").sync()
    assert synced.report is not None
    assert any(v.rule == "personal_data.by_lineage" and v.node == node and v.severity.value == "error"
               and "column member_handle of" in v.message
               and "derives from email of model.consumer_banking.stg_customers" in v.message
               for v in synced.report.violations), synced.report.violations
    assert "consumer_banking.consumer_credit_card_profile" in synced.refused, synced.refused
    # And it says that the domain's lineage is partial: the models the build did not compile.
    [banking] = [d for d in synced.domains if d.name == "consumer_banking"]
    assert banking.note.startswith("column lineage partial: ") and \
        "models carry no compiled SQL (not compiled by the last dbt run" in banking.note, banking
    # Without that folder, nor the statements dbt ran (target/run), the build gate cannot
    # follow the card model's internal parents up: refused (with the fix), as by_lineage is
    # waived below.
    ran = compiled.with_name("run")
    ran.rename(ran.with_name("run_aside"))
    waivers = root / "governance" / "waivers.yml"
    council = waivers.read_text()
    waivers.write_text(council + (
        f"  - policy: personal_data.by_lineage\n    node: {node}\n"
        "    reason: Reviewed; the test shows a waiver lets a column through.\n"
        "    approver: Governance council\n    expires: 2999-01-01\n"))
    write_policy_macro(load_mesh(root / "mesh.yml"))
    errors = " ".join(build("consumer_banking", "consumer_credit_card_profile"))
    assert "its column lineage cannot be traced through consumer_banking.internal." in errors \
        and "build the model with its parents, `dbt build --select +<model>`" in errors, errors
    waivers.write_text(council)
    write_policy_macro(load_mesh(root / "mesh.yml"))
    for folder in (compiled, ran):  # (the card model's own, from the refused build)
        shutil.rmtree(folder, ignore_errors=True)
        folder.with_name(f"{folder.name}_aside").rename(folder)

    # The band summary's public band_id derives from the scorecard's confidential risk_band:
    # the governance council's waiver lets it through (the demo builds); without it, refused.
    waived = "  - policy: classification.propagation\n    node: model.risk.credit_risk_band_summary\n"
    head, rest = council.split(waived)
    waivers.write_text(head + rest[rest.index("  - policy:"):])
    write_policy_macro(load_mesh(root / "mesh.yml"))
    errors = " ".join(build("risk", "credit_risk_band_summary"))
    assert ("column 'band_id': it derives from confidential column risk_band of "
            "risk.internal.credit_risk_scorecard__credit_risk_scorecard, and its classification "
            "'public' shows it unmasked (classification.propagation)") in errors, errors
    waivers.write_text(council)

    # A profile without meshkit's plugin has no function to trace with: refused, not waved
    # through.
    profiles = root / "domains/consumer_banking/profiles.yml"
    profile = profiles.read_text()
    plugin = profile[profile.index("      plugins:\n"):profile.index("    # prod:")]
    profiles.write_text(profile.replace(plugin, ""))
    errors = " ".join(build("consumer_banking", "consumer_credit_card_profile"))
    assert "cannot trace its columns to personal data (the function mesh_derived_personal is " \
        "missing); fix: enable meshkit's plugin" in errors, errors
    profiles.write_text(profile)

    # A policy macro of an earlier meshkit, without the gate's parameters: refused, not waved
    # through.
    macro = root / "mesh_policy/macros/mesh_policy.sql"
    generated = macro.read_text()
    macro.write_text(generated.replace('"derived": {', '"derived_before": {', 1))
    errors = " ".join(build("consumer_banking", "consumer_credit_card_profile"))
    assert "predates this platform's build gate of derived personal data; fix: run `mesh " \
        "generate`" in errors, errors
    macro.write_text(generated)

    # A waiver of the lineage policy for the card model lets the (reviewed) column through.
    waivers.write_text(council + (
        f"  - policy: personal_data.by_lineage\n    node: {node}\n"
        "    reason: Reviewed; the test shows a waiver lets a column through.\n"
        "    approver: Governance council\n    expires: 2999-01-01\n"))
    write_policy_macro(load_mesh(root / "mesh.yml"))
    assert build("consumer_banking", "consumer_credit_card_profile") == []
    # Withheld by the sync that found it, until a sync finds the dataset clean (here: waived).
    with pytest.raises(UsageError, match="which the last mesh-sync withheld: dataset "):
        query(mesh, f"select card_number from {view}", [])
    resynced = Mesh.load(root / "mesh.yml").sync()
    assert resynced.report is not None and resynced.report.errors == 0, [
        (v.rule, v.message) for v in resynced.report.violations]
    assert "amelia.russo3" in [r[0] for r in query(mesh, f"select member_handle from {view}",
                                                     []).rows]


def test_a_column_derived_from_personal_data_two_models_up_is_refused_and_withheld(
        built_demo: Path, tmp_path: Path) -> None:
    """A domain engineer derives the email's local part in an internal model and builds it,
    then publishes that column from a product under a harmless name, classified public, with
    `dbt build --select` of the product alone. The build gate traced one model up and let it
    through; the sync's lineage stopped at the internal model (the manifest of the last build
    holds no SQL of it) and reported nothing; analysts without a role read `amelia.russo3`
    (found probing the build gate). The gate now follows the domain's internal models up, each
    from the SQL dbt compiled it to last; the sync reads that SQL too, and withholds from
    `mesh query` a dataset its personal-data policies find serving personal data unmasked (here:
    once the waiver that let it through expires), until a sync finds it clean."""
    from meshkit.backends.duckdb.query import query
    from meshkit.build import dbt_env
    from meshkit.dbt_runner import run_dbt
    from meshkit.errors import UsageError
    from meshkit.masking import write_policy_macro
    from meshkit.mesh import Mesh

    root = copy_built_demo(built_demo, tmp_path, "consumer_banking")
    mesh = load_mesh(root / "mesh.yml")
    project = root / "domains/consumer_banking"

    def build(model: str) -> list[str]:
        run = run_dbt(project, ["build", "--select", model], env=dbt_env(mesh, "dev"))
        return [] if run.success else run.errors

    (project / "models/intermediate/int_member_handles.sql").write_text(
        "select customer_id, split_part(email, '@', 1) as handle_part\n"
        "from {{ ref('stg_customers') }}\n")
    assert build("int_member_handles") == []
    cards = project / "models/marts/consumer_credit_card_profile"
    sql, yml = cards / "consumer_credit_card_profile.sql", cards / "_consumer_credit_card_profile.yml"
    sql_text, yml_text = sql.read_text(), yml.read_text()
    for old, new in (("        customers.country,\n",
                      "        customers.country,\n        handles.handle_part as member_handle,\n"),
                     ("    left join activity\n",
                      "    left join {{ ref('int_member_handles') }} as handles\n"
                      "        on accounts.customer_id = handles.customer_id\n"
                      "    left join activity\n")):
        assert sql_text.count(old) == 1
        sql_text = sql_text.replace(old, new)
    sql.write_text(sql_text)
    anchor = "      - name: country\n"
    assert yml_text.count(anchor) == 1
    yml.write_text(yml_text.replace(anchor, (
        "      - name: member_handle\n        data_type: varchar\n"
        "        description: The holder's handle.\n"
        "        config:\n          meta: {classification: public}\n") + anchor))
    node = "model.consumer_banking.consumer_credit_card_profile"
    view = "consumer_banking.consumer_credit_card_profile.consumer_credit_card_profile"

    # Refused at the build, two models up.
    errors = " ".join(build("consumer_credit_card_profile"))
    assert (f"model {node}, column 'member_handle': it derives from email of "
            "consumer_banking.internal.stg_customers (via consumer_banking.internal."
            "int_member_handles), which looks like email, and its classification 'public' shows "
            "it unmasked (personal_data.by_lineage); the secure view was not replaced") in errors, \
        errors
    with pytest.raises(UsageError, match="not found"):
        query(mesh, f"select member_handle from {view}", [])
    # Without the internal model's SQL (neither the statement that built it nor its compiled
    # SQL) the gate cannot follow it: refused too.
    files = [project / "target" / kind / "consumer_banking/models/intermediate/int_member_handles.sql"
             for kind in ("compiled", "run")]
    kept_sql = [f.read_bytes() for f in files]
    for f in files:
        f.unlink()
    errors = " ".join(build("consumer_credit_card_profile"))
    assert ("column 'member_handle': its column lineage cannot be traced through "
            "consumer_banking.internal.int_member_handles (the SQL dbt last built or compiled "
            "it from") in errors, errors
    for f, kept in zip(files, kept_sql, strict=True):
        f.write_bytes(kept)
    # Built from the email, then edited to something harmless and only compiled: the table
    # still holds what the statement that built it says, and the gate reads that statement.
    tags = project / "models/intermediate/int_member_tags.sql"
    tags.write_text("select customer_id, split_part(email, '@', 1) as tag\n"
                    "from {{ ref('stg_customers') }}\n")
    assert build("int_member_tags") == []
    tags.write_text("select customer_id, 'member' as tag from {{ ref('stg_customers') }}\n")
    assert run_dbt(project, ["compile", "--select", "int_member_tags"],
                   env=dbt_env(mesh, "dev")).success
    sql.write_text(sql_text.replace("handles.handle_part as member_handle", "tags.tag as member_handle")
                   .replace("{{ ref('int_member_handles') }} as handles\n"
                            "        on accounts.customer_id = handles.customer_id",
                            "{{ ref('int_member_tags') }} as tags\n"
                            "        on accounts.customer_id = tags.customer_id"))
    errors = " ".join(build("consumer_credit_card_profile"))
    assert ("column 'member_handle': it derives from email of consumer_banking.internal."
            "stg_customers (via consumer_banking.internal.int_member_tags), which looks like "
            "email") in errors, errors
    sql.write_text(sql_text)

    # A reviewed waiver lets it through, at the build and at the sync.
    waivers = root / "governance" / "waivers.yml"
    council = waivers.read_text()
    waiver = (f"  - policy: personal_data.by_lineage\n    node: {node}\n"
              "    reason: Reviewed; the test shows what an expired waiver leaves.\n"
              "    approver: Governance council\n    expires: 2999-01-01\n")
    waivers.write_text(council + waiver)
    write_policy_macro(load_mesh(root / "mesh.yml"))
    assert build("consumer_credit_card_profile") == []
    assert Mesh.load(root / "mesh.yml").sync().report is not None
    assert "amelia.russo3" in [r[0] for r in query(mesh, f"select member_handle from {view}",
                                                     []).rows]

    # The waiver expires: the sync finds the column (its lineage reads the internal model's SQL
    # from dbt's compiled folder: the manifest of the last build holds none of it) and
    # withholds the dataset, every column of it, with a role or without, through a CTE too.
    waivers.write_text(council + waiver.replace("2999-01-01", "2001-01-01"))
    from click.testing import CliRunner

    from meshkit.cli.catalog_cmds import mesh_sync

    shown = CliRunner().invoke(mesh_sync, ["--mesh", str(root / "mesh.yml")],
                               env={"COLUMNS": "250"})
    assert shown.exit_code == 1 and f"withheld {view}: `mesh query` refuses it until a sync " \
        "finds it clean" in shown.output, shown.output
    synced = Mesh.load(root / "mesh.yml").sync()
    assert synced.report is not None
    assert any(v.rule == "personal_data.by_lineage" and v.node == node
               and v.severity.value == "error"
               and "derives from email of model.consumer_banking.stg_customers (via "
                   "model.consumer_banking.int_member_handles)" in v.message
               for v in synced.report.violations), synced.report.violations
    [banking] = [d for d in synced.domains if d.name == "consumer_banking"]
    assert "partial" not in banking.note, banking  # (every model's SQL was read)
    # And every product reading it (risk reads the cards), which may serve what it read on.
    scorecard = "risk.credit_risk_scorecard.credit_risk_scorecard"
    assert view in synced.withheld and scorecard in synced.withheld, synced.withheld
    assert not [v for v in synced.withheld
                if not v.startswith(("consumer_banking.consumer_credit_card_profile.", "risk."))]
    with pytest.raises(UsageError, match=f"reads {scorecard}, which the last mesh-sync withheld: "
                                         "dataset .* it reads consumer_banking.consumer_credit"):
        query(mesh, f"select count(*) from {scorecard}", ["compliance_officer"])
    for sql_text, roles in ((f"select member_handle from {view}", []),
                            (f"select card_type from {view}", ["compliance_officer"]),
                            (f"with c as (select * from {view}) select count(*) from c", [])):
        with pytest.raises(UsageError) as refused:
            query(mesh, sql_text, roles)
        assert (f"reads {view}, which the last mesh-sync withheld: dataset "
                "consumer_banking.consumer_credit_card_profile.consumer_credit_card_profile "
                "serves personal data unmasked (personal_data.by_lineage: column member_handle"
                ) in refused.value.message, refused.value.message
        assert "classify `member_handle` with a masking classification" in str(refused.value.fix)
    other = "consumer_banking.consumer_demographics.consumer_demographics"
    assert len(query(mesh, f"select region from {other}", []).rows) > 0
    # The marketplace says so on the product's page.
    page = (root / "catalog" / "site" / "products" /
            "consumer_banking.consumer_credit_card_profile.html").read_text()
    assert "Withheld from <code>mesh query</code></strong> until a sync finds it clean: " \
        "personal_data.by_lineage: column member_handle of" in page
    # And so does the catalog.
    from meshkit.cli.catalog_cmds import catalog

    described = CliRunner().invoke(catalog, ["show", view, "--mesh", str(root / "mesh.yml")],
                                   env={"COLUMNS": "250"})
    assert ("withheld (`mesh query` refuses it until a sync finds it clean): "
            "personal_data.by_lineage: column member_handle of") in described.output, \
        described.output

    # A withheld list that cannot be read withholds everything.
    withheld_file = root / "warehouse" / "mesh_withheld.json"
    kept = withheld_file.read_bytes()
    withheld_file.write_text('{"format": 1, "views": "all"}')
    with pytest.raises(UsageError, match="not in the form this meshkit writes") as broken:
        query(mesh, f"select region from {other}", [])
    assert broken.value.file == withheld_file
    withheld_file.write_bytes(kept)

    # Fixed (classified pii, which masks), rebuilt and synced: served again, masked.
    yml.write_text(yml.read_text().replace("meta: {classification: public}\n" + anchor,
                                           "meta: {classification: pii}\n" + anchor))
    assert build("consumer_credit_card_profile") == []
    with pytest.raises(UsageError, match="withheld"):  # (until the sync finds it clean)
        query(mesh, f"select member_handle from {view}", [])
    resynced = Mesh.load(root / "mesh.yml").sync()
    assert resynced.report is not None and not [
        v for v in resynced.report.violations if v.node == node and v.rule in (
            "personal_data.by_lineage", "classification.propagation")], resynced.report.violations
    handles = {r[0] for r in query(mesh, f"select member_handle from {view}", []).rows}
    assert handles == {"***MASKED***"}, handles


def test_masked_predicate_parses_only_sql_it_has_not_seen(governance_mesh: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """consumer.masked_predicate keeps what each model's SQL joins and filters on by the digest
    of its whole input: a sync's next check run answers unchanged SQL from the mesh's cache
    folder with the same finding; an entry that cannot be read is parsed again."""
    import json
    import shutil

    import meshkit.lineage
    from meshkit.checks import get_rule
    from meshkit.governance.propagation import PREDICATES_CACHE

    root = tmp_path / "mesh"
    shutil.copytree(governance_mesh.parent, root,
                    ignore=shutil.ignore_patterns("dbt_packages", "logs", "*.wal", ".catalog-cache"))
    mesh = load_mesh(root / "mesh.yml")
    real = meshkit.lineage.predicate_columns
    parsed: list[str] = []

    def counted(sql: str, *args: object) -> object:
        parsed.append(sql)
        return real(sql, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(meshkit.lineage, "predicate_columns", counted)

    def findings(*, keep: bool) -> list[tuple[str | None, str]]:
        rule = get_rule("consumer.masked_predicate")()
        report = run_checks(CheckContext(mesh, today=TODAY, keep_projections=keep), [rule])
        return [(v.node, v.message) for v in report.violations]

    first = findings(keep=True)  # a sync's run: the cache file is written
    assert any(node == f"{SHOP}.int_orders_by_card" and "on card_number" in message
               for node, message in first), first
    assert parsed and (root / PREDICATES_CACHE).is_file()
    parsed.clear()
    assert findings(keep=False) == first and parsed == []  # answered from the file
    kept = json.loads((root / PREDICATES_CACHE).read_text())
    kept["entries"] = {key: [[["db", "schema"], "card_number", "join"]] for key in kept["entries"]}
    (root / PREDICATES_CACHE).write_text(json.dumps(kept))
    assert findings(keep=False) == first and parsed  # unreadable entries: parsed again


def test_where_a_violation_is_declared_is_kept_by_the_bytes_of_its_yaml(
        governance_mesh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The policies locate a violation in the domain's model YAML (file and line), each file's
    entries kept between syncs by the digest of its bytes: a sync's next check run reads
    unchanged files from the mesh's cache folder and finds the same places, a file edited since
    is indexed again (its lines as they now are), and entries that cannot be read are indexed
    again."""
    import json
    import shutil

    import meshkit.governance.facts as facts_module
    from meshkit.governance.facts import YAML_INDEX_CACHE

    root = tmp_path / "mesh"
    shutil.copytree(governance_mesh.parent, root,
                    ignore=shutil.ignore_patterns("dbt_packages", "logs", "*.wal", ".catalog-cache"))
    mesh = load_mesh(root / "mesh.yml")
    real = facts_module._file_entries
    indexed: list[bytes] = []

    def counted(data: bytes) -> object:
        indexed.append(data)
        return real(data)

    monkeypatch.setattr(facts_module, "_file_entries", counted)

    def located(*, keep: bool) -> list[tuple[str, str | None, str | None, int | None]]:
        policies = [cls() for cls in registered_rules().values() if issubclass(cls, Policy)]
        report = run_checks(CheckContext(mesh, today=TODAY, keep_projections=keep), policies)
        return sorted((v.rule, v.node, v.file, v.line) for v in report.violations if v.file)

    first = located(keep=True)  # a sync's run: the cache file is written
    customers = "domains/gv_bank/models/customers/_customers.yml"
    assert any(file == customers and line for _, _, file, line in first), first
    assert indexed and (root / YAML_INDEX_CACHE).is_file()
    indexed.clear()
    assert located(keep=False) == first and indexed == []  # answered from the file

    yml = root / customers
    yml.write_text("# moved down by a comment\n\n" + yml.read_text())
    moved = located(keep=True)
    assert moved == sorted((r, n, f, line + 2 if f == customers and line else line)
                           for r, n, f, line in first)
    assert indexed == [yml.read_bytes()]  # that file only

    kept = json.loads((root / YAML_INDEX_CACHE).read_text())
    kept["entries"] = {key: [["customer_profile", "one", True, {}]] for key in kept["entries"]}
    (root / YAML_INDEX_CACHE).write_text(json.dumps(kept))
    indexed.clear()
    assert located(keep=False) == moved and indexed  # unreadable entries: indexed again
    kept["entries"] = {key: [["customer_profile", True, True, {}]] for key in kept["entries"]}
    (root / YAML_INDEX_CACHE).write_text(json.dumps(kept))
    indexed.clear()
    assert located(keep=False) == moved and indexed  # true is no line number


def test_a_sync_check_run_lets_go_of_the_mesh_as_it_ends(governance_mesh: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A sync pauses the collector: what its check run read (every domain's artifacts, through
    the run's context) must be freed by reference counting when the run ends, not wait for a
    pass of the collector over the whole mesh. The policies' facts refer back to the context:
    they are kept in the run's memo, which the sync clears."""
    import gc
    import weakref

    import meshkit.contracts.publish as publish

    contexts: list[weakref.ref[CheckContext]] = []

    class Tracked(CheckContext):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            contexts.append(weakref.ref(self))

    monkeypatch.setattr(publish, "CheckContext", Tracked)
    mesh = load_mesh(governance_mesh)
    gc.collect()
    gc.disable()
    try:
        ledger = publish.prepare(mesh, mesh.catalog_dir, sync_id="s1",
                                 published_at="2026-01-01T00:00:00Z")
        alive = [ref() is not None for ref in contexts]
    finally:
        gc.enable()
    assert any(v.rule.startswith("regulation.") for v in ledger.report.violations)  # policies ran
    assert alive == [False]
