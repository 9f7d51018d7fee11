"""Fail closed, on two tiny real dbt domains built with the real dbt on DuckDB (issue 7, items
3-8): a producer `fx_prod` (product `people_product`: pii, an unclassified column, a row filter;
and an ad-hoc public model) and a consumer `fx_cons` reading the product as `pii_reader`."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meshkit.backends.duckdb.query import connect
from meshkit.build import BuildResult, build
from meshkit.config import Mesh, load_mesh

FIXTURES = Path(__file__).parent / "fixtures"
VIEW = "fx_prod.people_product.people"
INTERNAL = "fx_prod.internal.people_product__people"
PEOPLE_YML = Path("domains/fx_prod/models/products/people.yml")


def copy_fixture(dest: Path) -> Path:
    """The fixture mesh (its domains use the platform as installed with meshkit and the policy
    `mesh build` generates from its mesh.yml); returns mesh.yml."""
    shutil.copytree(FIXTURES, dest)
    return dest / "mesh.yml"


def copy_built(src: Path, dest: Path) -> None:
    """A built fixture mesh, warehouse and artifacts included; never through the dbt_packages
    links (a local package links back to the mesh root)."""
    shutil.copytree(src, dest, symlinks=True,
                    ignore=shutil.ignore_patterns("dbt_packages", "logs", "*.duckdb.wal"))


def edit(root: Path, rel: Path | str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def errors(result: BuildResult, domain: str) -> str:
    found = next(d for d in result.domains if d.domain == domain)
    assert found.status.value == "failed", (domain, found.status)
    return " ".join("\n".join(found.errors).split())


def rows(mesh: Mesh, roles: list[str], sql: str) -> list[tuple[Any, ...]]:
    with connect(mesh, roles) as con:
        return list(con.execute(sql).fetchall())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    mesh_file = copy_fixture(tmp_path_factory.mktemp("fx") / "mesh")
    mesh = load_mesh(mesh_file)
    result = build(mesh)
    assert result.success, [(d.domain, d.errors) for d in result.domains]
    yield mesh


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    return copy_fixture(tmp_path / "mesh").parent


# --- item 3: classifications fail closed ------------------------------------------------------


def test_undefined_classification_is_a_build_error_naming_everything(fresh: Path) -> None:
    """Refused by `mesh build` before dbt builds anything (`contract.classification_defined`),
    and by the secure view's materialization when the domain's engineer runs dbt by hand."""
    from meshkit.build import dbt_env
    from meshkit.dbt_runner import run_dbt

    edit(fresh, PEOPLE_YML, "{meta: {classification: pii}}", "{meta: {classification: PII}}")
    mesh = load_mesh(fresh / "mesh.yml")
    result = build(mesh, only=["fx_prod"])
    message = errors(result, "fx_prod")
    assert "contract.classification_defined: domains/fx_prod/models/products/people.yml:" in message
    assert "column name of model.fx_prod.people: classification 'PII' is not defined in " \
        "mesh.yml (did you mean 'pii'?)" in message
    assert "use one of internal, pii, public" in message
    assert not (fresh / "warehouse" / "fx_prod.duckdb").exists() or not rows(
        load_mesh(fresh / "mesh.yml"), ["auditor"],
        "select * from duckdb_views() where view_name = 'people'")
    project = fresh / "domains/fx_prod"
    by_hand = run_dbt(project, ["build"], env=dbt_env(mesh, "dev"))
    assert not by_hand.success
    message = " ".join("\n".join(by_hand.errors).split())
    assert "models/products/people.yml" in message or "models/products/people.sql" in message
    assert "model.fx_prod.people" in message and "column 'name'" in message
    assert "classification 'PII' is not defined in mesh.yml (did you mean 'pii'?)" in message
    assert "defined: internal, pii, public" in message
    assert not rows(load_mesh(fresh / "mesh.yml"), ["auditor"],
                    "select * from duckdb_views() where view_name = 'people'")


def test_unclassified_column_is_masked_for_every_consumer_role(built: Mesh) -> None:
    raw = {r[0] for r in rows(built, ["auditor"], f"select email from {INTERNAL}")}
    assert raw and all("@" in e for e in raw)
    for roles in ([], ["analyst"], ["pii_reader"], ["auditor"], ["fx_cons_engineer"]):
        seen = {r[0] for r in rows(built, roles, f"select email from {VIEW}")}
        assert seen == {"***MASKED***"}, roles
    # the domain itself sees its own data whole
    assert {r[0] for r in rows(built, ["fx_prod_engineer"], f"select email from {VIEW}")} == raw


def test_public_dataset_must_document_its_columns(fresh: Path) -> None:
    yml = fresh / PEOPLE_YML
    text = yml.read_text()
    yml.write_text(text[: text.index("    columns:")].replace("      contract: {enforced: true}\n", ""))
    message = errors(build(load_mesh(fresh / "mesh.yml"), only=["fx_prod"]), "fx_prod")
    assert "public dataset model.fx_prod.people" in message and "documents no columns" in message


def test_default_classification_is_used_when_declared(fresh: Path) -> None:
    edit(fresh, "mesh.yml", "row_filters:", "default_classification: internal\nrow_filters:")
    mesh = load_mesh(fresh / "mesh.yml")
    assert build(mesh, only=["fx_prod"]).success
    assert all("@" in r[0] for r in rows(mesh, ["analyst"], f"select email from {VIEW}"))


# --- item 4: a product's public model is a secure view --------------------------------------------


def test_public_product_model_materialized_as_table_fails_the_build(fresh: Path) -> None:
    edit(fresh, PEOPLE_YML, "materialized: secure_view", "materialized: table")
    message = errors(build(load_mesh(fresh / "mesh.yml"), only=["fx_prod"]), "fx_prod")
    assert "model.fx_prod.people" in message and "materialized as 'table'" in message
    assert "fix: set `materialized: secure_view`" in message


# --- item 5: cross-domain refs reach products only --------------------------------------------


def test_ref_to_a_non_product_model_of_another_domain_fails(built: Mesh, tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    copy_built(built.root, root)
    edit(root, "domains/fx_cons/models/people_count.sql", "ref('fx_prod', 'people')",
         "ref('fx_prod', 'people_adhoc')")
    mesh = load_mesh(root / "mesh.yml")
    message = errors(build(mesh, only=["fx_cons"]), "fx_cons")
    # Refused by mesh build's pre-build check (contract.ref_not_product) or, for a plain
    # `dbt build` in the domain, by mesh_ref at compile time: either names the ref and the fix.
    assert ("model.fx_cons.people_count refs 'fx_prod.people_adhoc'" in message
            and "fix: in fx_prod, publish" in message) or (
        "contract.ref_not_product: domains/fx_cons/models/people_count.sql:2: "
        "model.fx_cons.people_count reads model.fx_prod.people_adhoc" in message
        and "publish" in message), message
    compiled = list((root / "domains/fx_cons/target/compiled").rglob("people_count.sql"))
    assert not any("fx_prod" in p.read_text() and "internal" in p.read_text() for p in compiled)


def test_ref_to_a_product_compiles_to_its_secure_view(built: Mesh) -> None:
    compiled = next((built.root / "domains/fx_cons/target/compiled").rglob("people_count.sql"))
    sql = compiled.read_text()
    assert '"fx_prod"."people_product"."people"' in sql and "internal" not in sql
    # read as pii_reader (reads_as): names unmasked, EU rows hidden
    got = rows(built, ["fx_cons_engineer"], "select region, people, masked_names "
                                            "from fx_cons.internal.people_count")
    assert got == [("US", 2, 0)]


# --- item 7: clearances are current ------------------------------------------------------------


def test_revoked_clearance_stops_unmasking_after_building_another_domain(
        built: Mesh, tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    copy_built(built.root, root)
    mesh = load_mesh(root / "mesh.yml")
    assert {r[0] for r in rows(mesh, ["pii_reader"], f"select name from {VIEW}")} == {
        "Grace Hopper", "Edsger Dijkstra"}
    # revoke pii from pii_reader in mesh.yml; rebuild only the consumer domain
    edit(root, "mesh.yml", "pii:      {mask: redact, cleared: [pii_reader]}",
         "pii:      {mask: redact, cleared: [auditor]}")
    mesh = load_mesh(root / "mesh.yml")
    result = build(mesh, only=["fx_cons"])
    assert [d.domain for d in result.domains] == ["fx_cons"] and result.success
    # the producer's view, not rebuilt, no longer unmasks for pii_reader...
    assert {r[0] for r in rows(mesh, ["pii_reader"], f"select name from {VIEW}")} == {
        "***MASKED***"}
    # ...and the newly cleared role sees the values
    assert "Ada Lovelace" in {r[0] for r in rows(mesh, ["auditor"], f"select name from {VIEW}")}
    got = rows(mesh, ["fx_cons_engineer"], "select people, masked_names from fx_cons.internal.people_count")
    assert got == [(2, 2)]


def test_a_shell_session_does_not_keep_a_revoked_clearance(built: Mesh, tmp_path: Path) -> None:
    """`mesh shell` reads the clearances for each statement: revoked in mesh.yml and written by
    `mesh generate` while the shell is open, the next statement sees the value masked."""
    from meshkit.masking import write_governance
    from meshkit.shell import Shell

    root = tmp_path / "mesh"
    copy_built(built.root, root)
    seen: list[set[Any]] = []
    shell = Shell(load_mesh(root / "mesh.yml"), ["pii_reader"], None,
                  render=lambda result, roles: seen.append({r[0] for r in result.rows}),  # type: ignore[attr-defined]
                  write=lambda text: None)
    shell.execute(f"select name from {VIEW}")
    edit(root, "mesh.yml", "pii:      {mask: redact, cleared: [pii_reader]}",
         "pii:      {mask: redact, cleared: [auditor]}")
    revoked = load_mesh(root / "mesh.yml")
    write_governance(revoked, root / "warehouse")  # what `mesh generate` / `mesh build` write
    shell.execute(f"select name from {VIEW}")
    assert seen == [{"Grace Hopper", "Edsger Dijkstra"}, {"***MASKED***"}]


# --- item 8: a domain sees its own data whole ------------------------------------------------


def test_own_engineer_sees_every_row_and_value(built: Mesh) -> None:
    whole = rows(built, ["fx_prod_engineer"], f"select * from {VIEW} order by id")
    assert whole == rows(built, ["auditor"], f"select * from {INTERNAL} order by id")
    assert {r[3] for r in whole} == {"EU", "US"}
    assert {r[0] for r in rows(built, ["fx_prod_owner"], f"select region from {VIEW}")} == {"EU", "US"}
    # a consumer sees only what it is cleared for
    assert {r[0] for r in rows(built, ["pii_reader"], f"select region from {VIEW}")} == {"US"}


def test_domain_tests_see_restricted_rows(fresh: Path) -> None:
    """An accepted_values [US] test on region fails while EU rows exist (it passed when the
    domain's tests ran through the view as a consumer would)."""
    edit(fresh, PEOPLE_YML, "        config: {meta: {classification: internal}}",
         "        config: {meta: {classification: internal}}\n"
         "        data_tests:\n          - accepted_values:\n              arguments: {values: [US]}")
    result = build(load_mesh(fresh / "mesh.yml"), only=["fx_prod"])
    message = errors(result, "fx_prod")
    assert "accepted_values_people_region__US" in message
    compiled = next((fresh / "domains/fx_prod/target/compiled").rglob(
        "accepted_values_people_region__US.sql")).read_text()
    assert '"internal"."people_product__people"' in compiled


# --- mesh query's light read of mesh.yml: current, or not used ----------------------------------


def _light(root: Path) -> Any:
    """A copy's mesh.yml loaded in full once, as `mesh build` / `mesh generate` / a query do
    (they record its bytes as valid), then read the light way."""
    from meshkit.backends.duckdb.query_config import read
    from meshkit.mesh import Mesh as FullMesh

    FullMesh.load(root / "mesh.yml").generate()
    return read(root / "mesh.yml")


def test_the_light_read_is_what_the_full_load_derives(built: Mesh, tmp_path: Path) -> None:
    import yaml

    from meshkit.artifacts import LocalArtifacts, read_domain_artifacts
    from meshkit.backends.duckdb.query import secure_views
    from meshkit.backends.duckdb.query_config import QueryConfig, _derive
    from support import REPO

    root = tmp_path / "mesh"
    copy_built(built.root, root)
    light = _light(root)
    assert light == QueryConfig.of(load_mesh(root / "mesh.yml"))
    assert ("fx_prod", "people_product", "people") in secure_views(light)
    # the manifest-only read finds what the projection of the sync finds
    projected = set()
    for domain in load_mesh(root / "mesh.yml").config.domains:
        arts = read_domain_artifacts(LocalArtifacts(root / "domains" / domain.name / "target"))
        public = [n for n in arts.nodes.values()
                  if n.package_name == domain.name and n.access == "public" and n.group]
        projected |= {n.relation_key for n in public}
        projected |= {(*n.relation_key[:2], n.name.lower()) for n in public
                      if n.version is not None and n.version == n.latest_version}
    assert secure_views(light) == projected
    demo = REPO / "mesh.yml"  # more domains, roles and targets (read only: nothing written)
    assert _derive(yaml.safe_load(demo.read_text()), demo.resolve(), "dev") == QueryConfig.of(
        load_mesh(demo))


def test_the_light_read_takes_only_validated_bytes(built: Mesh, tmp_path: Path) -> None:
    """mesh.yml edited since its last full load (here: a role removed), a record of another
    mesh file or a damaged one: the query loads mesh.yml in full, so it is validated and seen
    as it is now; a forged record spares the validation only, the values are the file's."""
    from meshkit.backends.duckdb.query import query_mesh_file
    from meshkit.backends.duckdb.query_config import FILE, read
    from meshkit.errors import ConfigError, UsageError

    root = tmp_path / "mesh"
    copy_built(built.root, root)
    assert read(root / "mesh.yml") is None  # the copied record names the original mesh.yml
    assert _light(root) is not None
    record = root / "warehouse" / FILE
    valid = record.read_text()
    edit(root, "mesh.yml", "  - name: auditor\n    inherits: [pii_reader, eu_data_reader]\n", "")
    assert read(root / "mesh.yml") is None
    with pytest.raises(UsageError, match="unknown role 'auditor'"):
        query_mesh_file(root / "mesh.yml", f"select name from {VIEW}", ["auditor"])
    assert record.read_text() != valid and read(root / "mesh.yml") is not None  # recorded now
    for text in ("{not json", valid, '{"format": 1}', "[]"):
        record.write_text(text)
        assert read(root / "mesh.yml") is None, text
    # a record forged for the current bytes: the values are still the current file's
    forged = valid.replace(valid.split('"mesh_sha256": "')[1].split('"')[0],
                           hashlib.sha256((root / "mesh.yml").read_bytes()).hexdigest())
    record.write_text(forged)
    light = read(root / "mesh.yml")
    assert light is not None and "auditor" not in light.roles
    with pytest.raises(UsageError, match="unknown role 'auditor'"):
        query_mesh_file(root / "mesh.yml", f"select name from {VIEW}", ["auditor"])
    # an invalid mesh.yml is refused as always
    edit(root, "mesh.yml", "name: fx_security", "name: fx_security\nname: again")
    with pytest.raises(ConfigError):
        query_mesh_file(root / "mesh.yml", f"select name from {VIEW}", ["pii_reader"])


def test_a_dataset_unpublished_since_the_last_query_is_refused(built: Mesh, tmp_path: Path) -> None:
    """The secure views are the domains' manifests' as they are at each query."""
    from meshkit.backends.duckdb.query import query_mesh_file
    from meshkit.errors import UsageError

    root = tmp_path / "mesh"
    copy_built(built.root, root)
    assert _light(root) is not None
    sql = f"select count(*) from {VIEW}"
    assert query_mesh_file(root / "mesh.yml", sql, ["pii_reader"]).rows == [(2,)]
    manifest = root / "domains/fx_prod/target/manifest.json"
    text = manifest.read_text()
    assert '"access": "public"' in text
    manifest.write_text(text.replace('"access": "public"', '"access": "protected"'))
    with pytest.raises(UsageError, match="not a data product's secure view"):
        query_mesh_file(root / "mesh.yml", sql, ["pii_reader"])


def test_the_views_summary_serves_only_the_bytes_it_was_read_from(
        built: Mesh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A query parses a domain's manifest once; later queries read the warehouse's summary while
    the manifest's bytes are the same, and parse again when they are not, when the summary is
    damaged or of another shape, or was written by other code."""
    from meshkit import dbt_manifest
    from meshkit.backends.duckdb.query import VIEWS_SUMMARY, query_mesh_file, secure_views

    root = tmp_path / "mesh"
    copy_built(built.root, root)
    light = _light(root)
    assert light is not None
    parses: list[str] = []
    real = dbt_manifest.public_relations

    def counted(data: bytes, location: str, package: str) -> set[tuple[str, str, str]]:
        parses.append(package)
        return real(data, location, package)

    monkeypatch.setattr(dbt_manifest, "public_relations", counted)
    warehouse = light.warehouse
    summary = warehouse / VIEWS_SUMMARY
    summary.unlink(missing_ok=True)
    first = secure_views(light)
    assert ("fx_prod", "people_product", "people") in first
    domains = sorted(name for name, _ in light.domains)
    assert sorted(parses) == domains and not summary.exists()  # nowhere to keep them: parsed
    parses.clear()
    assert query_mesh_file(root / "mesh.yml", f"select count(*) from {VIEW}", ["pii_reader"]).rows
    assert sorted(parses) == domains and summary.is_file()  # a query keeps them
    parses.clear()
    assert secure_views(light, kept_in=warehouse) == first and parses == []
    kept = summary.read_text()
    # a view added to the summary by hand is not believed once the manifest changes
    forged = json.loads(kept)
    forged["domains"]["fx_prod"]["views"].append(["fx_prod", "internal", "stg_people"])
    summary.write_text(json.dumps(forged))
    manifest = root / "domains/fx_prod/target/manifest.json"
    manifest.write_bytes(manifest.read_bytes() + b"\n")
    assert secure_views(light, kept_in=warehouse) == first and parses == ["fx_prod"]
    kept = summary.read_text()
    code = json.loads(kept)["code"]
    for damaged in ("{not json", "[]", kept.replace('"views":[[', '"views":[[1,'),
                    kept.replace('"format":1', '"format":2'),
                    kept.replace('"manifest_sha256":"', '"manifest_sha256":"0'),
                    kept.replace(code, "0" * len(code))):  # written by other code
        assert damaged != kept
        parses.clear()
        summary.write_text(damaged)
        assert secure_views(light, kept_in=warehouse) == first, damaged
        assert parses, damaged
    parses.clear()
    assert secure_views(light, kept_in=warehouse) == first and parses == []  # rewritten
    # a summary that cannot be read nor written (here: a folder in its place, which also
    # stands for a read-only warehouse): parsed at every query, same views
    summary.unlink()
    summary.mkdir()
    assert secure_views(light, kept_in=warehouse) == first
    assert secure_views(light, kept_in=warehouse) == first
    assert sorted(parses) == sorted(domains * 2) and summary.is_dir()


def test_a_domain_database_duckdb_cannot_read_is_bad_input_naming_it(built: Mesh,
                                                                      tmp_path: Path) -> None:
    """A truncated warehouse file (a disk that filled up, a copy cut short): `mesh query` exits 2
    naming the file and the rebuild, and reads nothing from the other domains either."""
    from click.testing import CliRunner

    from meshkit.cli.main import cli

    root = tmp_path / "mesh"
    copy_built(built.root, root)
    db = root / "warehouse" / "fx_prod.duckdb"
    db.write_bytes(db.read_bytes()[:100])
    result = CliRunner().invoke(cli, ["query", "--mesh", str(root / "mesh.yml"), "--format",
                                      "csv", f"select count(*) from {VIEW}"])
    assert result.exit_code == 2, result.output
    assert f"{db}: cannot open the domain's database" in result.output
    assert "fix: rebuild it: `mesh build -d fx_prod`" in result.output


def test_a_governance_database_cut_short_is_named_and_written_anew(built: Mesh,
                                                                   tmp_path: Path) -> None:
    """The clearances every session reads: unreadable, a query refuses (exit 2) rather than run
    without them, and `mesh generate` writes them anew from mesh.yml."""
    from click.testing import CliRunner

    from meshkit.cli.main import cli

    root = tmp_path / "mesh"
    copy_built(built.root, root)
    db = root / "warehouse" / "mesh_governance.duckdb"
    db.write_bytes(db.read_bytes()[:100])
    args = ["query", "--mesh", str(root / "mesh.yml"), "--role", "pii_reader", "--format", "csv",
            f"select count(*) from {VIEW}"]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2, refused.output
    assert f"{db}: cannot open the governance database" in refused.output
    assert "`mesh generate` writes it anew" in refused.output
    assert CliRunner().invoke(cli, ["generate", "--mesh", str(root / "mesh.yml")]).exit_code == 0
    assert CliRunner().invoke(cli, args).output.splitlines()[1] == "2"
