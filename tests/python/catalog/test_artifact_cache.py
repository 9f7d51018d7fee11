"""Projections of artifacts kept by content (meshkit.artifact_cache): on dbt's own artifacts (the
real jaffle_shop, the fixture producer built with real dbt), a projection served from the cache
is the projection of the artifacts, and a cache that is stale, damaged or absent only costs time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalog_support import copy_jaffle

from meshkit import artifact_cache
from meshkit.artifact_cache import ARTIFACT_CACHE_DIR, ArtifactCache
from meshkit.artifacts import LocalArtifacts, parse_artifacts, read_raw
from meshkit.catalog.sync import sync
from meshkit.config import load_mesh


def _no_projection(*args: object, **kwargs: object) -> None:
    raise AssertionError("projected again although the cache holds these bytes")


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("source", ["jaffle_shop", "fixture_producer"])
def test_served_projection_is_the_artifacts_projection(
        source: str, built_mesh_template: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    location = (copy_jaffle(tmp_path / "jaffle_shop") if source == "jaffle_shop"
                else built_mesh_template / "fx_bank" / "target")
    expected = parse_artifacts(read_raw(LocalArtifacts(location)))
    cache = ArtifactCache(tmp_path / "cache")
    assert cache.read("d", LocalArtifacts(location)) == expected
    assert len(_files(tmp_path / "cache" / "d")) == 1

    monkeypatch.setattr(artifact_cache, "parse_artifacts", _no_projection)
    served = ArtifactCache(tmp_path / "cache").read("d", LocalArtifacts(location))
    assert served == expected
    # the same types all the way down, not merely equal values
    node = next(iter(served.nodes.values()))
    assert isinstance(served.disabled, frozenset) and isinstance(node.columns, tuple)
    assert type(node) is type(next(iter(expected.nodes.values())))


def test_artifacts_moved_elsewhere_keep_their_new_location(tmp_path: Path) -> None:
    first = copy_jaffle(tmp_path / "a")
    ArtifactCache(tmp_path / "cache").read("d", LocalArtifacts(first))
    moved = copy_jaffle(tmp_path / "b")
    served = ArtifactCache(tmp_path / "cache").read("d", LocalArtifacts(moved))
    assert served.location == str(moved)


def test_changed_artifacts_are_projected_again_and_replace_the_old_entry(tmp_path: Path) -> None:
    location = copy_jaffle(tmp_path / "jaffle_shop")
    cache = ArtifactCache(tmp_path / "cache")
    cache.read("d", LocalArtifacts(location))
    before = _files(tmp_path / "cache" / "d")
    manifest = json.loads((location / "manifest.json").read_text())
    node = next(n for n in manifest["nodes"].values() if n["resource_type"] == "model")
    node["description"] = "changed since the last read"
    (location / "manifest.json").write_text(json.dumps(manifest))
    served = cache.read("d", LocalArtifacts(location))
    assert served.nodes[node["unique_id"]].description == "changed since the last read"
    after = _files(tmp_path / "cache" / "d")
    assert len(after) == 1 and after != before


@pytest.mark.parametrize("damage", [b"{not json", b'{"location": "x"}', b"",
                                    b'{"nodes": {"model.x.y": 3}}'])
def test_a_damaged_entry_only_costs_time(damage: bytes, tmp_path: Path) -> None:
    location = copy_jaffle(tmp_path / "jaffle_shop")
    expected = parse_artifacts(read_raw(LocalArtifacts(location)))
    ArtifactCache(tmp_path / "cache").read("d", LocalArtifacts(location))
    (entry,) = (tmp_path / "cache" / "d").iterdir()
    entry.write_bytes(damage)
    assert ArtifactCache(tmp_path / "cache").read("d", LocalArtifacts(location)) == expected
    assert entry.read_bytes() != damage  # written again, whole


def test_a_new_projection_code_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    location = copy_jaffle(tmp_path / "jaffle_shop")
    ArtifactCache(tmp_path / "cache").read("d", LocalArtifacts(location))
    monkeypatch.setattr(artifact_cache, "_projection_fingerprint", lambda: b"another meshkit")
    calls = []

    def counted(raw: object) -> object:
        calls.append(raw)
        return parse_artifacts(raw)  # type: ignore[arg-type]

    monkeypatch.setattr(artifact_cache, "parse_artifacts", counted)
    ArtifactCache(tmp_path / "cache").read("d", LocalArtifacts(location))
    assert len(calls) == 1


def test_sync_keeps_projections_and_a_dry_run_writes_none(fixture_mesh: Path) -> None:
    mesh = load_mesh(fixture_mesh)
    folder = mesh.root / ARTIFACT_CACHE_DIR
    sync(mesh, dry_run=True)
    assert not folder.exists()
    sync(mesh)
    assert _files(folder) == sorted(d.name for d in mesh.config.domains)


def test_checks_after_a_sync_project_nothing_again(fixture_mesh: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from meshkit.checks import CheckContext, run_checks

    mesh = load_mesh(fixture_mesh)
    names = [d.name for d in mesh.config.domains]
    sync(mesh)
    folder = mesh.root / ARTIFACT_CACHE_DIR
    kept = {p: p.read_bytes() for p in folder.rglob("*.json")}
    folder.rename(folder.with_name("away"))
    fresh = CheckContext(mesh)  # projected from the artifacts
    expected = {n: fresh.artifacts(n) for n in names}
    report = run_checks(fresh)
    assert not folder.exists()  # `mesh check` writes nothing
    folder.with_name("away").rename(folder)

    monkeypatch.setattr(artifact_cache, "parse_artifacts", _no_projection)
    served = CheckContext(mesh)
    assert {n: served.artifacts(n) for n in names} == expected
    assert run_checks(served) == report
    assert {p: p.read_bytes() for p in folder.rglob("*.json")} == kept


def test_a_domain_that_leaves_the_mesh_leaves_the_caches(fixture_mesh: Path) -> None:
    import yaml

    from meshkit.catalog.sync import LINEAGE_CACHE_DIR

    sync(load_mesh(fixture_mesh))
    config = yaml.safe_load(fixture_mesh.read_text())
    gone = "fx_risk"  # a consumer: nothing else reads it
    config["domains"] = [d for d in config["domains"] if d["name"] != gone]
    fixture_mesh.write_text(yaml.safe_dump(config, sort_keys=False))
    mesh = load_mesh(fixture_mesh)
    lineage = mesh.root / LINEAGE_CACHE_DIR
    assert (mesh.root / ARTIFACT_CACHE_DIR / gone).is_dir()
    had_lineage = (lineage / f"{gone}.json").is_file()
    sync(mesh)
    kept = sorted(d.name for d in mesh.config.domains)
    assert _files(mesh.root / ARTIFACT_CACHE_DIR) == kept
    assert not (lineage / f"{gone}.json").exists()
    assert had_lineage  # so the check above is not vacuous
