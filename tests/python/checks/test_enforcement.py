"""Contracts enforced on the real demo: a breaking change in a producer is refused by `mesh build`
(nothing built, consumers skipped, the warehouse untouched), named with its consumer by
`mesh check`, and not published by `mesh-sync`; consumer-side reads checked over compiled SQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from meshkit.build import Status, build, dbt_env
from meshkit.cli.main import cli
from meshkit.config import load_mesh
from meshkit.contracts.registry import ContractRegistry
from meshkit.dbt_runner import run_dbt
from meshkit.mesh import Mesh

V2 = "consumer_banking.consumer_demographics.v2"


def _dbt(mesh_file: Path, domain: str, *commands: str) -> None:
    mesh = load_mesh(mesh_file)
    project = mesh.domain_path(mesh.config.domain(domain))
    assert project is not None
    for command in ("deps", *commands):
        run = run_dbt(project, [command], env=dbt_env(mesh, "dev"))
        assert run.success, run.errors


def _digest(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def _remove_age_band(root: Path) -> None:
    folder = root / "domains/consumer_banking/models/marts/consumer_demographics"
    yml = folder / "_consumer_demographics.yml"
    yml.write_text(yml.read_text().replace("exclude: [first_name, last_name]",
                                           "exclude: [first_name, last_name, age_band]"))
    sql = folder / "consumer_demographics_v2.sql"
    sql.write_text(sql.read_text().replace("        age_band,\n", ""))


def test_breaking_change_refused_everywhere(demo_copy: Path) -> None:
    root = demo_copy.parent
    mesh = Mesh.load(demo_copy)
    first = mesh.sync()
    assert first.exit_code == 0 and V2 in first.published
    warehouse = {name: _digest(root / "warehouse" / f"{name}.duckdb")
                 for name in ("consumer_banking", "risk")}
    # What the consumers' dbt-loom reads: the producer's last built manifest.
    built_manifest = root / "domains/consumer_banking/target/manifest.json"
    last_built = _digest(built_manifest)

    _remove_age_band(root)
    result = build(mesh)
    status = {d.domain: d for d in result.domains}
    assert status["consumer_banking"].status is Status.failed
    assert status["consumer_banking"].models == 0
    assert [v.rule for v in status["consumer_banking"].violations] == ["contract.breaking_change"]
    assert status["risk"].status is Status.skipped
    assert status["asset_management"].status is Status.success
    # Nothing of the producer nor of its consumer was rebuilt.
    assert {n: _digest(root / "warehouse" / f"{n}.duckdb") for n in warehouse} == warehouse
    assert _digest(built_manifest) == last_built

    # The CI gate after the producer's own `dbt parse`: the dataset, the change, the consumer.
    _dbt(demo_copy, "consumer_banking", "parse")
    check = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy), "--json"])
    assert check.exit_code == 1, check.output
    [violation] = json.loads(check.output)["violations"]
    assert violation["rule"] == "contract.breaking_change"
    assert "consumer_banking.consumer_demographics.consumer_demographics_v2" in violation["message"]
    assert "column removed: age_band" in violation["message"]
    assert "risk model model.risk.int_customer_risk_features" in violation["message"]
    assert violation["file"].endswith("_consumer_demographics.yml") and violation["line"]

    sync = CliRunner().invoke(cli, ["sync", "--mesh", str(demo_copy), "--json"])
    assert sync.exit_code == 1, (sync.output, sync.exception)
    summary = json.loads(sync.output)
    assert summary["refused"] == [V2] and summary["errors"] == 1
    registry = ContractRegistry.load(root / "catalog")
    assert [e.revision for e in registry.entries[V2]] == [1]  # the last good contract stays
    age_band = registry.latest(V2).contract.column("age_band")  # type: ignore[union-attr]
    assert age_band is not None
    recorded = json.loads((root / "catalog" / "violations.json").read_text())
    assert recorded["refused"] == [V2]
    assert recorded["violations"][0]["rule"] == "contract.breaking_change"
    _warehouse_holds_the_ledger(root, registry, recorded["violations"], summary["sync_id"])


def _warehouse_holds_the_ledger(root: Path, registry: ContractRegistry,
                                violations: list[dict[str, object]], sync_id: str) -> None:
    """The warehouse's copy of the registry and of the last sync's violations, row for row."""
    import duckdb

    with duckdb.connect(str(root / "warehouse" / "mesh_catalog.duckdb"), read_only=True) as con:
        rows = con.execute("select sync_id, rule, severity, domain, node, file, line, message, fix "
                           "from mesh_catalog.mesh_catalog.violations order by rule, node").fetchall()
        entries = con.execute("select contract_key, revision, domain, fingerprint, breaking, "
                              "changes, contract from mesh_catalog.mesh_catalog.contracts "
                              "order by contract_key, revision").fetchall()
    expected = sorted(((sync_id, v["rule"], v["severity"], v["domain"], v["node"], v["file"],
                        v["line"], v["message"], v["fix"]) for v in violations),
                      key=lambda r: (str(r[1]), str(r[4])))
    assert rows == expected and rows
    published = sorted((e for revisions in registry.entries.values() for e in revisions),
                       key=lambda e: (e.key, e.revision))
    assert [(k, r, d, f) for k, r, d, f, *_ in entries] == [
        (e.key, e.revision, e.contract.domain, e.fingerprint) for e in published]
    for (*_, breaking, changes, contract), e in zip(entries, published, strict=True):
        assert breaking is any(c.breaking for c in e.changes)
        assert json.loads(changes) == [str(c) for c in e.changes]
        assert json.loads(contract) == e.contract.model_dump(mode="json")


def test_consumer_reads_checked_over_compiled_sql(demo_copy: Path) -> None:
    models = demo_copy.parent / "domains/risk/models/intermediate"
    features = models / "int_customer_risk_features.sql"
    features.write_text(features.read_text().replace(
        "    customers.age_band,\n", "    customers.age_band,\n    customers.first_name,\n"))
    (models / "int_bypass.sql").write_text(
        "select customer_id\nfrom consumer_banking.internal.int_customers_enriched\n")
    (models / "int_hardcoded.sql").write_text(
        "select customer_id\nfrom consumer_banking.consumer_demographics.consumer_demographics_v2\n")
    (models / "int_raw.sql").write_text(
        "select *\nfrom read_parquet('" + str(demo_copy.parent / "data/raw/customers.parquet")
        + "')\n")
    # The same read in capitals, and through a macro: neither is a source()'s location.
    (models / "int_raw_upper.sql").write_text(
        "select *\nfrom READ_PARQUET('" + str(demo_copy.parent / "data/raw/customers.parquet")
        + "')\n")
    macros = demo_copy.parent / "domains/risk/macros"
    macros.mkdir(exist_ok=True)
    (macros / "raw_customers.sql").write_text(
        "{% macro raw_customers() %}read_parquet('"
        + str(demo_copy.parent / "data/raw/customers.parquet") + "'){% endmacro %}\n")
    (models / "int_raw_macro.sql").write_text("select *\nfrom {{ raw_customers() }}\n")
    # A file named in place of a table (DuckDB's replacement scan), a parquet file's metadata
    # (its columns' min and max), and another domain's table named in a string.
    raw = str(demo_copy.parent / "data/raw/customers.parquet")
    undeclared = str(demo_copy.parent / "data/raw/card_accounts.parquet")
    (models / "int_raw_name.sql").write_text(f"select *\nfrom '{undeclared}'\n")
    (models / "int_raw_meta.sql").write_text(f"select *\nfrom parquet_metadata('{raw}')\n")
    (models / "int_by_string.sql").write_text(
        "select *\nfrom query_table('consumer_banking.internal.int_customers_enriched')\n")
    # A Python model (dbt-duckdb runs it with the session): its code is not SQL, and not parsed
    # is not "reads nothing", the internal relation it names stays unseen otherwise.
    (models / "int_unparsed.py").write_text(
        "def model(dbt, session):\n"
        "    return session.sql('select customer_id from "
        "consumer_banking.internal.int_customers_enriched')\n")
    # A source whose location is a bare reader name is no licence to call that reader.
    (models / "_bare_reader.yml").write_text(yaml.safe_dump({"version": 2, "sources": [
        {"name": "bare", "tables": [
            {"name": "reader", "meta": {"external_location": "read_parquet("}},
            # and a file declared as a source, read through source(): not a raw read
            {"name": "customers_file", "meta": {"external_location": raw}}]}]}))
    (models / "int_declared_file.sql").write_text(
        "select *\nfrom {{ source('bare', 'customers_file') }}\n")
    _dbt(demo_copy, "risk", "compile")
    manifest = json.loads((demo_copy.parent / "domains/risk/target/manifest.json").read_text())
    assert manifest["sources"]["source.risk.bare.reader"]["relation_name"] == "read_parquet("
    assert manifest["sources"]["source.risk.bare.customers_file"]["relation_name"] == f"'{raw}'"
    check = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy), "--json",
                                     "--rule", "contract.consumer_reads",
                                     "--rule", "contract.consumer_columns"])
    assert check.exit_code == 1, check.output
    violations = json.loads(check.output)["violations"]
    found = {(v["rule"], v["node"], v["file"].rsplit("/", 1)[-1], v["line"]) for v in violations}
    said = {v["node"]: v["message"] for v in violations}
    assert "a raw file by its name" in said["model.risk.int_raw_name"]
    assert "(parquet_metadata)" in said["model.risk.int_raw_meta"]
    assert "SQL given as a string (query_table)" in said["model.risk.int_by_string"]
    fixes = {v["node"]: v["fix"] for v in violations}
    assert "name the relations in the model's SQL" in fixes["model.risk.int_by_string"]
    assert "declare the file as a source" in fixes["model.risk.int_raw_name"]
    assert "(READ_PARQUET)" in said["model.risk.int_raw_upper"]
    assert "names another domain in code meshkit cannot parse as duckdb SQL" in \
        said["model.risk.int_unparsed"]
    assert found == {
        ("contract.consumer_columns", "model.risk.int_customer_risk_features",
         "int_customer_risk_features.sql", 22),
        ("contract.consumer_reads", "model.risk.int_bypass", "int_bypass.sql", 2),
        ("contract.consumer_reads", "model.risk.int_hardcoded", "int_hardcoded.sql", 2),
        ("contract.consumer_reads", "model.risk.int_raw", "int_raw.sql", 2),
        ("contract.consumer_reads", "model.risk.int_raw_upper", "int_raw_upper.sql", 2),
        ("contract.consumer_reads", "model.risk.int_raw_macro", "int_raw_macro.sql", None),
        ("contract.consumer_reads", "model.risk.int_raw_name", "int_raw_name.sql", 2),
        ("contract.consumer_reads", "model.risk.int_raw_meta", "int_raw_meta.sql", 2),
        ("contract.consumer_reads", "model.risk.int_by_string", "int_by_string.sql", 2),
        ("contract.consumer_reads", "model.risk.int_unparsed", "int_unparsed.py", None),
    }
    _the_parsed_sql_is_kept_by_a_sync(demo_copy, found)
    _code_read_by_someone_is_waived_until_its_waiver_expires(demo_copy, found)


def _code_read_by_someone_is_waived_until_its_waiver_expires(
        demo_copy: Path, found: set[tuple[object, ...]]) -> None:
    """The escape hatch the Python model's fix names: a reviewed waiver of that node, current;
    a rule that is never an accepted exception cannot be waived at all."""
    waivers = demo_copy.parent / "governance/waivers.yml"
    original = waivers.read_text()

    def check_with(entry: str) -> Any:
        waivers.write_text(original + entry)
        return CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy), "--json",
                                        "--rule", "contract.consumer_reads",
                                        "--rule", "contract.consumer_columns"])

    def waiver(rule: str, node: str, expires: str) -> str:
        return (f"  - policy: {rule}\n    node: {node}\n    reason: Read by the team; it reads "
                f"only its own domain.\n    approver: Governance council\n"
                f"    expires: {expires}\n")

    current = check_with(waiver("contract.consumer_reads", "model.risk.int_unparsed",
                                "2099-01-01"))
    assert current.exit_code == 1, current.output
    assert {(v["rule"], v["node"], v["file"].rsplit("/", 1)[-1], v["line"])
            for v in json.loads(current.output)["violations"]} == {
        f for f in found if f[1] != "model.risk.int_unparsed"}
    expired = check_with(waiver("contract.consumer_reads", "model.risk.int_unparsed",
                                "2020-01-01"))
    assert "model.risk.int_unparsed" in {v["node"]
                                         for v in json.loads(expired.output)["violations"]}
    refused = check_with(waiver("contract.consumer_columns",
                                "model.risk.int_customer_risk_features", "2099-01-01"))
    assert refused.exit_code == 2, refused.output
    assert "contract.consumer_columns cannot be waived" in refused.output
    waivers.write_text(original)


def _the_parsed_sql_is_kept_by_a_sync(demo_copy: Path, found: set[tuple[object, ...]]) -> None:
    """A sync keeps what each model's SQL reads by its digest: the next run parses only SQL that
    changed, with the same verdicts."""
    import meshkit.contracts.consumer_sql as consumer_sql
    from meshkit.checks import CheckContext, run_checks
    from meshkit.contracts.consumer_sql import ConsumerColumns, ConsumerReads

    parsed: list[str] = []
    real = consumer_sql.sql_reads

    def counted(sql: str, dialect: str) -> consumer_sql.SqlReads | None:
        parsed.append(sql)
        return real(sql, dialect)

    def run(keep: bool) -> set[tuple[object, ...]]:
        report = run_checks(CheckContext(load_mesh(demo_copy), keep_projections=keep),
                            [ConsumerReads(), ConsumerColumns()])
        return {(v.rule, v.node, (v.file or "").rsplit("/", 1)[-1], v.line)
                for v in report.violations}

    consumer_sql.sql_reads = counted
    try:
        assert run(keep=True) == found  # as a sync runs them: the summaries are written
        first = len(parsed)
        assert first >= 4 and (demo_copy.parent / consumer_sql.SQL_READS_CACHE).is_file()
        parsed.clear()
        assert run(keep=False) == found and parsed == []  # all from the cache
        bypass = demo_copy.parent / "domains/risk/models/intermediate/int_bypass.sql"
        bypass.write_text("select customer_id\n"
                          "from consumer_banking.consumer_demographics.consumer_demographics\n")
        _dbt(demo_copy, "risk", "compile")
        after = run(keep=False)
        assert len(parsed) == 1 and "int_bypass" not in str(after - found)
        assert ("contract.consumer_reads", "model.risk.int_bypass", "int_bypass.sql", 2) in after
        assert any("by its name, not through ref()" in v.message for v in run_checks(
            CheckContext(load_mesh(demo_copy)), [ConsumerReads()]).violations
            if v.node == "model.risk.int_bypass")
    finally:
        consumer_sql.sql_reads = real


def test_contract_diff_and_odcs_export(demo_copy: Path, tmp_path: Path) -> None:
    import jsonschema
    import yaml
    from open_data_contract_standard.model import OpenDataContractStandard

    mesh = Mesh.load(demo_copy)
    synced = mesh.sync()
    schema = json.loads(OpenDataContractStandard.json_schema())  # type: ignore[no-untyped-call]
    datasets = [ds.id for ds in synced.catalog.datasets()]
    assert len(datasets) == 8
    for dataset in datasets:
        out = tmp_path / f"{dataset}.yml"
        result = CliRunner().invoke(cli, ["contract", "export", dataset, "--mesh", str(demo_copy),
                                          "-o", str(out)])
        assert result.exit_code == 0, result.output
        doc = OpenDataContractStandard.from_file(str(out))
        jsonschema.validate(yaml.safe_load(out.read_text()), schema)
        assert doc.name == dataset and doc.schema_ and doc.schema_[0].properties
    v1 = yaml.safe_load((tmp_path / "consumer_banking.consumer_demographics."
                         "consumer_demographics_v1.yml").read_text())
    assert v1["status"] == "deprecated"
    pii = [p for p in v1["schema"][0]["properties"] if p.get("classification") == "pii"]
    assert {p["name"] for p in pii} >= {"first_name", "last_name"}

    address = "consumer_banking.consumer_demographics.consumer_demographics"
    same = CliRunner().invoke(cli, ["contract", "diff", address, "--mesh", str(demo_copy), "--json"])
    assert same.exit_code == 0, same.output
    assert json.loads(same.output)["changes"] == []
    versions = CliRunner().invoke(cli, ["contract", "diff", address, "--against", "1",
                                        "--mesh", str(demo_copy), "--json"])
    assert versions.exit_code == 1, versions.output
    kinds = {(c["kind"], c["breaking"]) for c in json.loads(versions.output)["changes"]}
    assert ("column_added", False) in kinds and ("column_removed", True) in kinds
    unknown = CliRunner().invoke(cli, ["contract", "diff", address + "_v9", "--mesh",
                                       str(demo_copy)])
    assert unknown.exit_code == 2 and "did you mean" in unknown.output


def test_a_raw_file_two_domains_declare_is_found_in_both(demo_copy: Path) -> None:
    """risk declares consumer_banking's raw customers file as a source of its own: the file's
    personal data would reach risk with no product, contract or masking between them."""
    root = demo_copy.parent
    sources = root / "domains/risk/models/staging/_sources.yml"
    sources.write_text(sources.read_text().replace(
        "    tables:\n",
        "    tables:\n      - name: customers\n        description: The bank's customers.\n", 1))
    _dbt(demo_copy, "risk", "parse")
    check = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy), "--json"])
    assert check.exit_code == 1, check.output
    found = {(v["domain"], v["node"]): v for v in json.loads(check.output)["violations"]
             if v["rule"] == "contract.shared_source"}
    assert set(found) == {("risk", "source.risk.raw.customers"),
                          ("consumer_banking", "source.consumer_banking.raw.customers")}
    risk = found["risk", "source.risk.raw.customers"]
    assert risk["severity"] == "error"
    assert "reads data/raw/customers.parquet, which domain consumer_banking declares" in \
        risk["message"]
    assert risk["file"] == "domains/risk/models/staging/_sources.yml"
    assert sources.read_text().splitlines()[risk["line"] - 1].strip() == "- name: customers"
    # The platform's own sources, in every domain's manifest, are no one's raw data.
    assert not any("mesh_platform" in v["node"] for v in found.values())


def test_a_model_built_in_another_domains_database_is_refused(demo_copy: Path) -> None:
    """A risk model configured into consumer_banking's database would stand beside (or replace)
    the relations consumer_banking's consumers read as its products."""
    root = demo_copy.parent
    model = root / "domains/risk/models/intermediate/int_customer_loans.sql"
    model.write_text("{{ config(database='consumer_banking') }}\n" + model.read_text())
    _dbt(demo_copy, "risk", "parse")
    check = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy), "--json"])
    assert check.exit_code == 1, check.output
    [found] = [v for v in json.loads(check.output)["violations"]
               if v["rule"] == "contract.foreign_database"]
    assert (found["domain"], found["node"]) == ("risk", "model.risk.int_customer_loans")
    assert "is built in consumer_banking's database" in found["message"]
    assert found["file"] == "domains/risk/models/intermediate/int_customer_loans.sql"
    assert found["line"] == 1


def test_a_database_attached_under_a_name_the_mesh_does_not_know_is_refused(
        demo_copy: Path) -> None:
    """risk attaches consumer_banking's warehouse file as ``cb`` in its profile and opens another
    database with an ATTACH in an on-run-start hook: every relation of either, internal ones
    included, would be read under a name no check knows as a domain's; a model's hook makes
    consumer_banking's database the default."""
    root = demo_copy.parent
    project = root / "domains/risk"
    profiles = project / "profiles.yml"
    warehouse = "{{ env_var('MESH_WAREHOUSE', '../../warehouse') }}"
    profiles.write_text(profiles.read_text().replace(
        "      attach:\n",
        "      attach:\n"
        f'        - path: "{warehouse}/consumer_banking.duckdb"\n'
        "          alias: cb\n"
        "          read_only: true\n"
        "        - path: ../../data/lake.duckdb\n"
        "        - path: ../../data/ledger.duckdb\n", 1))
    # A raw database the domain declares as a source's is its own to attach.
    sources = project / "models/staging/_sources.yml"
    sources.write_text(sources.read_text() + (
        "  - name: ledger\n    database: ledger\n    schema: main\n"
        "    tables:\n      - name: entries\n"))
    dbt_project = project / "dbt_project.yml"
    dbt_project.write_text(dbt_project.read_text() + (
        "\non-run-start:\n  - \"Attach '../../warehouse/asset_management.duckdb' as am2 "
        "(read_only)\"\n"))
    # A hook that makes another domain's database the default: the model's unqualified names
    # resolve there, and its SQL names no other domain.
    model = project / "models/intermediate/int_customer_loans.sql"
    model.write_text("{{ config(pre_hook=\"Use consumer_banking.internal\") }}\n"
                     + model.read_text())
    _dbt(demo_copy, "risk", "parse")
    check = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy), "--json"])
    assert check.exit_code == 1, check.output
    found = sorted((v["file"], v["line"], v["node"], v["message"], v["severity"])
                   for v in json.loads(check.output)["violations"]
                   if v["rule"] == "contract.attached_database")
    assert [(f, n, sev) for f, _, n, _, sev in found] == [
        ("domains/risk/dbt_project.yml", "operation.risk.risk-on-run-start-0", "error"),
        ("domains/risk/models/intermediate/int_customer_loans.sql",
         "model.risk.int_customer_loans", "error"),
        ("domains/risk/profiles.yml", None, "error"),
        ("domains/risk/profiles.yml", None, "error")]
    hook, use, alias, lake = found
    assert "runs ATTACH" in hook[3] and "runs USE" in use[3] and use[1] == 1
    assert "consumer_banking's warehouse file under another name (cb)" in alias[3]
    assert "a database as lake, which no domain of the mesh and no source of risk names" in \
        lake[3]
    lines = {f: Path(root / f).read_text().splitlines() for f in (hook[0], alias[0])}
    assert "on-run-start" not in lines[hook[0]][hook[1] - 1] and \
        "Attach" in lines[hook[0]][hook[1] - 1]
    assert lines[alias[0]][alias[1] - 1].strip() == "alias: cb"
    assert lines[lake[0]][lake[1] - 1].strip() == "- path: ../../data/lake.duckdb"


def test_a_manifest_of_another_project_is_bad_input_for_the_check(demo_copy: Path) -> None:
    """`mesh-sync` refuses a domain whose manifest is another dbt project's; `mesh check` read
    it as the domain's and reported the other project's models as its violations, exit 1
    (found by a tester). The gate cannot decide on it: exit 2, naming the file and the fix."""
    target = demo_copy.parent / "domains" / "asset_management" / "target" / "manifest.json"
    target.write_bytes((demo_copy.parent / "domains/risk/target/manifest.json").read_bytes())
    result = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert f"{target}: domain 'asset_management': this is a manifest of dbt project 'risk'" in \
        text.replace("\n", "")
    assert "fix: put 'asset_management''s own artifacts there" in text


def test_a_check_of_parse_only_artifacts_says_what_it_could_not_check(demo_copy: Path) -> None:
    """After `dbt parse` (the documented way to check a change before building it) a manifest
    carries no compiled SQL: the rules that read it found nothing there, and `mesh check`
    passed without a word (found by a tester). It now notes each such domain, in its table and
    its JSON; the exit code is the violations' alone."""
    _dbt(demo_copy, "risk", "parse")
    result = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy), "--json"])
    assert result.exit_code == 0, result.output
    notes = json.loads(result.output)["notes"]
    assert notes == [
        "domain risk: its manifest carries no compiled SQL (`dbt parse` only), so "
        "classification.propagation, contract.consumer_columns, contract.consumer_reads, "
        "personal_data.by_lineage checked nothing there; run `dbt compile` or `dbt build` in "
        "it, then check again"]
    table = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy)])
    assert table.exit_code == 0 and "note: domain risk: its manifest carries no compiled" in \
        " ".join(table.output.split()), table.output
    # A run of rules that read no compiled SQL has nothing to note.
    only = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy), "--json", "-r", "product"])
    assert json.loads(only.output)["notes"] == []


def test_a_check_that_could_not_query_the_warehouse_says_so(demo_copy: Path) -> None:
    """masking.verified and personal_data.by_value query the built secure views: where a domain
    or a dataset is not built they checked nothing, and `mesh check` passed without a word. It
    now notes each, naming what is missing and the build that lets them check; the exit code
    is the violations' alone."""
    import duckdb

    with duckdb.connect(str(demo_copy.parent / "warehouse" / "consumer_banking.duckdb")) as con:
        con.execute("drop view consumer_demographics.consumer_demographics_v2")
    (demo_copy.parent / "warehouse" / "risk.duckdb").unlink()
    result = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy), "--json",
                                      "-r", "masking", "-r", "personal_data"])
    report = json.loads(result.output)
    assert result.exit_code == report["exit_code"], result.output
    assert report["notes"] == [
        "domain consumer_banking: dataset "
        "consumer_banking.consumer_demographics.consumer_demographics_v2 is not built, so "
        "masking.verified checked nothing there; build it (`mesh build --domain "
        "consumer_banking`), then check again",
        "domain risk: its warehouse is not built (warehouse/risk.duckdb is missing), so "
        "masking.verified, personal_data.by_value checked nothing there; build it (`mesh build "
        "--domain risk`), then check again"]
    # Built, every dataset of it: nothing to note.
    only = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy), "--json",
                                    "-r", "masking", "-d", "asset_management"])
    assert json.loads(only.output)["notes"] == []


def test_a_row_filter_on_a_column_a_dataset_lacks_is_found_before_the_build(
        demo_copy: Path) -> None:
    """mesh.yml's row filter pointed at a column the datasets do not have: `mesh check` passed
    it, and the build then stopped in the secure view (found by a tester)."""
    text = demo_copy.read_text()
    assert text.count("column: region") == 1
    demo_copy.write_text(text.replace("column: region", "column: residence"))
    check = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy), "--json",
                                     "--rule", "contract.row_filter_defined"])
    assert check.exit_code == 1, check.output
    found = json.loads(check.output)["violations"]
    assert found and all(
        v["message"].endswith("row filter 'eu_residency' reads column 'residence', which the "
                               "model does not document") and v["file"].endswith(".yml")
        and v["line"] for v in found)
    assert "model.risk.credit_risk_scorecard" in {v["node"] for v in found}


def test_names_nobody_defines_are_refused_before_any_build(demo_copy: Path) -> None:
    """A typo in a product column's classification, a list where a name goes on an internal
    model's column, an unknown name on a source's column; a regulation written `GDPR`; a row
    filter misspelt. Each is a control that would silently not apply (or, for a product's secure
    view, a build that fails only when it runs): `mesh check` names each at its line, and
    `mesh-sync` does not publish the product's contract with them."""
    root = demo_copy.parent
    mesh = Mesh.load(demo_copy)
    first = mesh.sync()
    scorecard = next(k for k in first.published if k.startswith("risk.credit_risk_scorecard"))
    project = root / "domains/risk"
    product = project / "models/marts/credit_risk_scorecard/_credit_risk_scorecard.yml"
    text = product.read_text()
    for old, new in (("meta: {classification: confidential}",
                      "meta: {classification: confidental}"),
                     ("row_filter: eu_residency", "row_filter: eu_residancy"),
                     ("meta: {classification: internal}",
                      "meta: {classification: internal, regulations: [GDPR]}")):
        assert old in text
        text = text.replace(old, new, 1)
    product.write_text(text)
    internal = project / "models/intermediate/_intermediate.yml"
    internal.write_text(internal.read_text().replace(
        "        description: The customer's id.\n        data_tests: [unique, not_null]\n"
        "  - name: int_customer_assets",
        "        description: The customer's id.\n        data_tests: [unique, not_null]\n"
        "        config:\n          meta: {classification: [pii]}\n"
        "  - name: int_customer_assets", 1))
    sources = project / "models/staging/_sources.yml"
    sources.write_text(sources.read_text().replace(
        "      - name: loans\n        description: Consumer loans with their terms and current "
        "status.\n",
        "      - name: loans\n        description: Consumer loans with their terms and current "
        "status.\n        columns:\n          - name: borrower_ssn\n"
        "            config:\n              meta: {classification: secret}\n", 1))
    _dbt(demo_copy, "risk", "parse")
    check = CliRunner().invoke(cli, ["check", "--mesh", str(demo_copy), "--json"])
    assert check.exit_code == 1, check.output
    rules = ("contract.classification_defined", "contract.regulation_known",
             "contract.row_filter_defined")
    found = sorted((v["rule"], v["node"], v["file"], v["line"], v["message"], v["severity"])
                   for v in json.loads(check.output)["violations"] if v["rule"] in rules)
    files = {p: str(p.relative_to(root)) for p in (product, internal, sources)}
    assert [(r, n, f, sev) for r, n, f, _, _, sev in found] == [
        (rules[0], "model.risk.credit_risk_scorecard", files[product], "error"),
        (rules[0], "model.risk.int_customer_card_exposure", files[internal], "error"),
        (rules[0], "source.risk.raw.loans", files[sources], "error"),
        (rules[1], "model.risk.credit_risk_scorecard", files[product], "error"),
        (rules[2], "model.risk.credit_risk_scorecard", files[product], "error")]
    typo, listed, secret, upper, row_filter = ((v[3], v[4]) for v in found)
    assert "classification 'confidental' is not defined in mesh.yml (did you mean " \
        "'confidential'?)" in typo[1]
    assert "classification \"['pii']\" is not defined" in listed[1]
    assert "column borrower_ssn of source.risk.raw.loans: classification 'secret'" in secret[1]
    assert "regulation 'GDPR' is not defined in meshkit (did you mean 'gdpr'?)" in upper[1]
    assert "row filter 'eu_residancy' is not defined in mesh.yml (did you mean " \
        "'eu_residency'?)" in row_filter[1]
    lines = {p: p.read_text().splitlines() for p in (product, internal, sources)}
    assert lines[product][typo[0] - 1].strip() == "- name: total_credit_limit"
    assert lines[internal][listed[0] - 1].strip() == "- name: customer_id"
    assert lines[sources][secret[0] - 1].strip() == "- name: borrower_ssn"
    assert lines[product][upper[0] - 1].strip() == "- name: region"
    assert lines[product][row_filter[0] - 1].strip() == "- name: credit_risk_scorecard"
    assert "models:" in lines[product][:row_filter[0]]  # the model's entry, not its group's
    # The sync keeps the contract as last published, and says so.
    second = mesh.sync()
    assert scorecard in second.refused and scorecard not in second.published


def test_a_source_through_a_link_is_the_place_it_links_to(tmp_path: Path) -> None:
    from meshkit.artifacts import SourceInfo
    from meshkit.contracts.ownership import locations

    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "data" / "raw" / "customers.parquet").write_bytes(b"")
    for d in ("bank", "risk"):
        (tmp_path / "domains" / d).mkdir(parents=True)
    (tmp_path / "domains" / "risk" / "landed").symlink_to(tmp_path / "data" / "raw")

    def where(domain: str, relation: str) -> list[tuple[str, str]]:
        source = SourceInfo(f"source.{domain}.raw.customers", "raw", "customers", "", domain,
                            "raw", None, (), relation_name=relation)
        return locations(source, tmp_path / "domains" / domain, tmp_path)

    bank = where("bank", "read_parquet('../../data/raw/customers.parquet')")
    assert bank == where("risk", "read_parquet(\"landed/customers.parquet\", union_by_name=true)")
    assert [shown for _, shown in bank] == ["data/raw/customers.parquet"]
