"""The contract corpus: every scenario of ``contract_corpus.SCENARIOS`` is a real edit to a model
of a tiny producer, parsed by real dbt (one parse before, one after, for all scenarios), and
judged by the real rule against contracts published from the first parse; a consumer domain,
parsed through dbt-loom, reads some of them and must be named when they break."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from contract_corpus import CONSUMED, DELETE, SCENARIOS, Scenario, base_model, versioned_model

from meshkit.artifacts import DomainArtifacts, LocalArtifacts, read_domain_artifacts
from meshkit.checks import CheckContext, run_checks
from meshkit.config import load_mesh
from meshkit.contracts.model import contract_of
from meshkit.contracts.registry import ContractRegistry
from meshkit.contracts.rules import BreakingChange, changes_since
from meshkit.dbt_runner import run_dbt

PROFILE = """{name}:
  target: dev
  outputs:
    dev: {{type: duckdb, path: "{path}", threads: 1}}
"""
SQL = ("select 1::integer as order_id, 'a@b.c' as customer_email, 1.5::decimal(10,2) as amount, "
       "'new' as status, 0.5::float as score\n")


def _write_producer(project: Path, models: list[dict[str, Any]]) -> None:
    shutil.rmtree(project / "models", ignore_errors=True)
    (project / "models").mkdir(parents=True)
    for m in models:
        versions = [v["v"] for v in m.get("versions", [])]
        for name in [f"{m['name']}_v{v}" for v in versions] or [m["name"]]:
            (project / "models" / f"{name}.sql").write_text(SQL)
    (project / "models" / "models.yml").write_text(yaml.safe_dump({
        "groups": [{"name": g, "owner": {"name": "Shop team"}} for g in ("orders", "returns")],
        "models": models,
    }, sort_keys=False))


def _models(edited: bool) -> list[dict[str, Any]]:
    out = []
    for s in SCENARIOS:
        m = versioned_model(s.id) if s.versioned else base_model(s.id)
        if edited and s.edit == DELETE:
            continue
        if edited and callable(s.edit):
            s.edit(m)
        out.append(m)
    return out


def _parse(project: Path) -> DomainArtifacts:
    run = run_dbt(project, ["parse"])
    assert run.success, run.errors
    return read_domain_artifacts(LocalArtifacts(project / "target"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("corpus")
    (root / "mesh.yml").write_text(yaml.safe_dump({"name": "corpus", "domains": [
        {"name": "shop", "path": "shop", "owner": {"name": "Shop team"}},
        {"name": "ops", "path": "ops", "owner": {"name": "Ops team"}}]}))
    shop, ops = root / "shop", root / "ops"
    for project, name in ((shop, "shop"), (ops, "ops")):
        project.mkdir()
        (project / "dbt_project.yml").write_text(
            f"name: {name}\nversion: '1.0'\nprofile: {name}\nconfig-version: 2\n")
        (project / "profiles.yml").write_text(PROFILE.format(name=name, path=root / f"{name}.duckdb"))
    _write_producer(shop, _models(edited=False))
    before = _parse(shop)
    shutil.copytree(shop / "target", root / "published")
    # The consumer: two models and an exposure reading the producer through dbt-loom.
    (ops / "dbt_loom.config.yml").write_text(yaml.safe_dump({"manifests": [
        {"name": "shop", "type": "file",
         "config": {"path": str(root / "published" / "manifest.json")}}]}))
    (ops / "models").mkdir()
    for sid, pin in CONSUMED.items():
        version = "" if pin == "v=None" else f", {pin}"
        (ops / "models" / f"reads_{sid}.sql").write_text(
            f"select order_id, amount from {{{{ ref('shop', '{sid}'{version}) }}}}\n")
    (ops / "models" / "exposures.yml").write_text(yaml.safe_dump({"exposures": [
        {"name": "dash", "type": "dashboard", "owner": {"name": "Ops"},
         "depends_on": ["ref('shop', 's20')"]}]}))
    consumer = _parse(ops)
    _write_producer(shop, _models(edited=True))
    after = _parse(shop)

    registry = ContractRegistry()
    contracts = [contract_of("shop", n) for n in before.nodes.values() if n.package_name == "shop"]
    for entry in registry.pending(contracts, sync_id="base", published_at="2026-01-01T00:00:00Z",
                                  order=["public", "internal", "confidential", "pii", "sensitive"]):
        registry.entries[entry.key] = [entry]
    ctx = CheckContext(load_mesh(root / "mesh.yml"), artifacts={"shop": after, "ops": consumer},
                       registry=registry)
    yield {"ctx": ctx, "registry": registry, "mesh": root / "mesh.yml",
           "artifacts": {"shop": after, "ops": consumer}}


def _keys(s: Scenario) -> list[str]:
    return [f"shop.{s.id}.v1", f"shop.{s.id}.v2"] if s.versioned else [f"shop.{s.id}"]


def test_corpus_has_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 30
    assert len({s.id for s in SCENARIOS}) == len(SCENARIOS)
    assert {True, False} == {s.breaking for s in SCENARIOS}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{s.id}-{s.title}" for s in SCENARIOS])
def test_verdict(corpus: dict[str, Any], scenario: Scenario) -> None:
    ctx, registry = corpus["ctx"], corpus["registry"]
    report = run_checks(ctx, [BreakingChange()])
    flagged = {v.node for v in report.violations}
    kinds: set[str] = set()
    breaking = False
    for key in _keys(scenario):
        entry = registry.latest(key)
        assert entry is not None, f"{key} was not published from the base parse"
        changes, _ = changes_since(ctx, entry)
        kinds |= {c.kind.value for c in changes}
        breaking |= entry.contract.unique_id in flagged
    assert breaking is scenario.breaking, f"{scenario.title}: kinds {sorted(kinds)}"
    assert kinds == set(scenario.kinds), scenario.title


def test_consumers_are_named(corpus: dict[str, Any]) -> None:
    report = run_checks(corpus["ctx"], [BreakingChange()])
    by_node = {v.node: v for v in report.violations}
    assert "ops model model.ops.reads_s02" in by_node["model.shop.s02"].message
    assert "ops model model.ops.reads_s36" in by_node["model.shop.s36.v1"].message
    assert "ops exposure exposure.ops.dash" in by_node["model.shop.s20"].message
    assert "no consumer reads it yet" in by_node["model.shop.s05"].message
    v = by_node["model.shop.s02"]
    assert (v.file, v.domain) == ("shop/models/models.yml", "shop") and v.line is not None
    assert "column removed: amount" in v.message


@pytest.mark.parametrize(("today", "severity", "text"), [
    ("2029-12-01", "warn", "31 day(s) left"),
    ("2030-02-01", "error", "deprecated since 2030-01-01 (31 day(s) ago)"),
])
def test_deprecated_version_warns_then_fails(corpus: dict[str, Any], today: str, severity: str,
                                             text: str) -> None:
    from datetime import date

    from meshkit.contracts.rules import DeprecatedVersion

    ctx = CheckContext(load_mesh(corpus["mesh"]), artifacts=corpus["artifacts"],
                       registry=corpus["registry"], today=date.fromisoformat(today))
    [v] = run_checks(ctx, [DeprecatedVersion()]).violations
    assert (v.node, v.severity.value, v.file, v.line) == (
        "model.ops.reads_s33", severity, "ops/models/reads_s33.sql", 1)
    assert text in v.message


def test_equal_contracts_have_no_change(corpus: dict[str, Any]) -> None:
    """diff_contracts returns at once for equal contracts: the full comparison agrees (for every
    contract of the corpus: versions, constraints, classifications, deprecations)."""
    from meshkit.contracts.diff import diff_contracts, every_change

    contracts = [e.contract for revisions in corpus["registry"].entries.values()
                 for e in revisions]
    assert len(contracts) >= 30
    for c in contracts:
        twin = c.model_copy(deep=True)
        assert every_change(c, twin) == [] and diff_contracts(c, twin) == []
    # and the shortcut does not hide a difference
    first = contracts[0]
    edited = first.model_copy(update={"description": first.description + " (edited)"})
    assert [ch.kind.value for ch in diff_contracts(first, edited)] == ["description_changed"]


def test_registry_written_and_loaded_back(corpus: dict[str, Any], tmp_path: Path) -> None:
    """The registry's files, as a sync writes them, load back entry for entry, oldest revision
    first; files that are not entries are ignored; a damaged entry is an error naming it."""
    from meshkit.contracts.registry import entry_files
    from meshkit.errors import ArtifactError

    registry: ContractRegistry = corpus["registry"]
    entries = [e for revisions in registry.entries.values() for e in revisions]
    first = entries[0]
    second = first.model_copy(update={"revision": 2, "sync_id": "next"})
    files = dict(entry_files([*entries, second]))
    catalog = tmp_path / "catalog"
    for path, data in files.items():
        (catalog / path).parent.mkdir(parents=True, exist_ok=True)
        (catalog / path).write_bytes(data)
    (catalog / "contracts" / f".{first.key}@0003.json.tmp-1").write_text("{")  # a writer's temp
    (catalog / "contracts" / "README.txt").write_text("not an entry")
    (catalog / "contracts" / "notes.json").write_text("{}")
    loaded = ContractRegistry.load(catalog)
    assert sorted(loaded.entries) == sorted(registry.entries)
    assert [e.revision for e in loaded.entries[first.key]] == [1, 2]
    assert loaded.latest(first.key) == second
    assert all(loaded.entries[k] == v for k, v in registry.entries.items() if k != first.key)
    damaged = catalog / "contracts" / f"{first.key}@0002.json"
    damaged.write_text('{"key": 1}')
    with pytest.raises(ArtifactError) as err:
        ContractRegistry.load(catalog)
    assert err.value.file == damaged and "not a published contract" in err.value.message


def test_registry_of_the_earlier_layout_is_read_and_moved(corpus: dict[str, Any],
                                                         tmp_path: Path) -> None:
    """A catalog folder written by an earlier meshkit (``contracts/<key>/<revision>.json``) loads
    entry for entry; the next sync's folder carries every entry at its place in the current
    layout (``contracts/<key>@<revision>.json``) and loads the same; the same revision in both
    layouts is an error naming the file, not a silent choice between them."""
    from meshkit.catalog import store
    from meshkit.catalog.model import Catalog
    from meshkit.contracts.publish import carried_files
    from meshkit.contracts.registry import entry_bytes
    from meshkit.errors import ArtifactError

    registry: ContractRegistry = corpus["registry"]
    entries = [e for revisions in registry.entries.values() for e in revisions]
    assert len(entries) >= 30
    old = tmp_path / "old" / "catalog"
    for e in entries:
        (old / "contracts" / e.key).mkdir(parents=True, exist_ok=True)
        (old / "contracts" / e.key / f"{e.revision:04d}.json").write_bytes(entry_bytes(e))
    (old / "contracts" / entries[0].key / "notes.json").write_text("{}")  # not an entry
    assert ContractRegistry.load(old).entries == registry.entries

    carried = carried_files(old)
    assert carried[f"contracts/{entries[0].key}/notes.json"].name == "notes.json"
    assert {p for p in carried if "/notes.json" not in p} == {
        f"contracts/{e.key}@{e.revision:04d}.json" for e in entries}
    staged = store.stage_catalog_dir(old, Catalog(mesh="corpus"), {}, {"id": "s1"},
                                     extra_files=carried)
    assert ContractRegistry.load(staged).entries == registry.entries
    assert not any(p.is_dir() for p in (staged / "contracts").iterdir()
                   if p.name != entries[0].key)

    e = entries[1]
    (staged / "contracts" / e.key).mkdir()
    twice = staged / "contracts" / e.key / f"{e.revision:04d}.json"
    twice.write_bytes(entry_bytes(e))
    with pytest.raises(ArtifactError) as err:
        ContractRegistry.load(staged)
    assert "in the registry twice" in err.value.message
    assert err.value.file in (twice, staged / "contracts" / f"{e.key}@{e.revision:04d}.json")


def test_published_contracts_projected_alone_are_those_of_every_model(
        corpus: dict[str, Any]) -> None:
    """``DomainContracts.published()`` yields, in model order, exactly the contracts of the
    domain's models that are published, projecting only those (a sync asks for no others)."""
    from meshkit.contracts.rules import DomainContracts

    for domain in ("shop", "ops"):
        arts: DomainArtifacts = corpus["artifacts"][domain]
        models = [n for n in arts.nodes.values()
                  if n.package_name == domain and n.resource_type == "model"]
        lazy = DomainContracts(domain, models)
        published = list(lazy.published())
        every = {contract_of(domain, n).key: contract_of(domain, n) for n in models}
        assert published == [c for c in every.values() if c.is_published]
        assert len(lazy._made) == len(published) < len(models)
        assert dict(lazy) == every  # and the mapping is the whole domain's
    assert any(DomainContracts("shop", [n for n in corpus["artifacts"]["shop"].nodes.values()
                                        if n.package_name == "shop"]).published())
