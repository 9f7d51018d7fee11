"""Projections of artifacts kept by content (meshkit.artifact_cache): on dbt's own artifacts (the
real jaffle_shop, the fixture producer built with real dbt), a projection served from the cache
is the projection of the artifacts, and a cache that is stale, damaged or absent only costs time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalog_support import copy_jaffle

from meshkit import artifact_cache
from meshkit.artifact_cache import ARTIFACT_CACHE_DIR, ArtifactCache, Handover
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


def test_the_handover_gives_the_projection_of_the_bytes_read_and_holds_what_is_not_kept(
        tmp_path: Path) -> None:
    location = copy_jaffle(tmp_path / "jaffle_shop")
    raw = read_raw(LocalArtifacts(location))
    cache = ArtifactCache(tmp_path / "cache")
    arts = cache.project("d", raw)
    handover = Handover(cache)
    handover.add("d", raw.content_hash, arts)
    # The domain's files change after the sync read them: the checks get what it projected.
    manifest = location / "manifest.json"
    data = json.loads(manifest.read_bytes())
    data["metadata"]["project_name"] = "someone_else"
    manifest.write_text(json.dumps(data))
    assert "d" in handover and list(handover) == ["d"] and len(handover) == 1
    assert handover["d"] == arts and handover["d"] is not arts  # loaded again, not held
    assert handover["d"].location == arts.location

    # Not kept (a dry run's cache writes nothing): held as it is.
    dry = ArtifactCache(tmp_path / "dry", write=False)
    held = Handover(dry)
    held.add("d", raw.content_hash, dry.project("d", raw))
    assert held["d"] == arts and held["d"] is held["d"]

    # Gone from the cache since: missing, and the checks read the domain as any other.
    for file in (tmp_path / "cache" / "d").iterdir():
        file.unlink()
    with pytest.raises(KeyError):
        handover["d"]


def test_a_sync_hands_its_checks_the_domains_it_read_without_holding_them(
        fixture_mesh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from meshkit.checks import CheckContext
    from meshkit.contracts import publish

    given: list[object] = []
    prepare = publish.prepare

    def spy(*args: object, **kwargs: object) -> publish.Ledger:
        given.append(kwargs["artifacts"])
        return prepare(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(publish, "prepare", spy)
    mesh = load_mesh(fixture_mesh)
    names = [d.name for d in mesh.config.domains]
    sync(mesh)
    [handover] = given
    assert isinstance(handover, Handover) and sorted(handover) == sorted(names)
    assert handover._held == {}  # every one is in the cache, none held through the sync
    # ...and each is the projection of the domain's artifacts (made again without the cache).
    handed = {n: handover[n] for n in names}
    folder = mesh.root / ARTIFACT_CACHE_DIR
    folder.rename(folder.with_name("away"))
    try:
        fresh = CheckContext(mesh)
        assert handed == {n: fresh.artifacts(n) for n in names}
    finally:
        folder.with_name("away").rename(folder)
    # A projection gone from the cache since the sync read it: read as any other domain's.
    for file in (folder / names[0]).iterdir():
        file.unlink()
    assert CheckContext(mesh, artifacts=handover).artifacts(names[0]) == handed[names[0]]

    given.clear()
    sync(mesh, dry_run=True)  # unchanged domains: none read, none handed over
    assert len(given[0]) == 0  # type: ignore[arg-type]


def test_a_domain_that_leaves_the_mesh_leaves_the_caches(fixture_mesh: Path) -> None:
    import yaml

    from meshkit.lineage import LINEAGE_CACHE_DIR

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


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every artifact file read from a domain's folder, from now on."""
    reads: list[Path] = []
    read = LocalArtifacts.read

    def counted(self: LocalArtifacts, name: str) -> bytes | None:
        reads.append(self.path / name)
        return read(self, name)

    monkeypatch.setattr(LocalArtifacts, "read", counted)
    return reads


def _same_size_edit(manifest: Path) -> None:
    """Change one character of a description, keep the size and set the old times back, as
    `cp -p` or a restore from a backup would leave them: only the change time and inode tell."""
    before = manifest.stat()
    data = manifest.read_bytes()
    import re

    found = re.search(rb'"description": ?"[A-Za-z]', data)  # a description that is not empty
    assert found is not None
    at = found.end() - 1
    edited = data[:at] + (b"X" if data[at:at + 1] != b"X" else b"Y") + data[at + 1:]
    manifest.write_bytes(edited)
    import os

    os.utime(manifest, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = manifest.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_an_unchanged_domain_is_known_by_stat_and_any_write_is_seen(
        fixture_mesh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With every file settled, the second sync reads no artifact at all (each domain skipped,
    the checks served from the kept projections); a manifest edited to the same size with its
    modification time set back is read and projected again, by the sync and by the checks."""
    from meshkit.artifact_cache import FILE_DIGESTS
    from meshkit.catalog.sync import PROCESSED, SKIPPED

    monkeypatch.setattr(artifact_cache, "_SETTLED_NS", 0)  # the fixture was built a moment ago
    mesh = load_mesh(fixture_mesh)
    names = [d.name for d in mesh.config.domains]
    first = sync(mesh)
    assert first.exit_code == 0
    digests = json.loads((mesh.root / FILE_DIGESTS).read_text())["files"]
    assert {str(mesh.artifacts_path(d) / "manifest.json") for d in mesh.config.domains} <= set(
        digests)

    reads = _counting_reads(monkeypatch)
    second = sync(mesh)
    assert [d.status for d in second.domains] == [SKIPPED] * len(names)
    assert reads == []
    assert second.report == first.report

    producer = mesh.config.domains[0]
    manifest = mesh.artifacts_path(producer) / "manifest.json"
    _same_size_edit(manifest)
    third = sync(mesh)
    status = {d.name: d.status for d in third.domains}
    assert status[producer.name] == PROCESSED
    assert manifest in reads
    # and `mesh check`, which shares the digests file but writes nothing
    from meshkit.checks import CheckContext

    reads.clear()
    _same_size_edit(manifest)
    ctx = CheckContext(mesh)
    ctx.artifacts(producer.name)
    assert reads and all(r.parent == manifest.parent for r in reads)


def test_a_file_written_a_moment_ago_is_not_known_by_stat(fixture_mesh: Path) -> None:
    """A write in the same tick of the file system's clock as the read could leave the same
    ``stat``: digests are kept only for files settled before they were read."""
    from meshkit.artifact_cache import FILE_DIGESTS, FileDigests

    mesh = load_mesh(fixture_mesh)
    folder = mesh.artifacts_path(mesh.config.domains[0])
    (folder / "manifest.json").write_bytes((folder / "manifest.json").read_bytes())
    digests = FileDigests(mesh.root / FILE_DIGESTS)
    digests.read(LocalArtifacts(folder))
    assert digests.content_hash(folder) is None
    digests.save()
    assert not (mesh.root / FILE_DIGESTS).exists()


@pytest.mark.parametrize("damage", [b"{not json", b'{"format": 1, "files": []}', b"[]",
                                    b'{"format": 1, "files": {"x": [[1, 2], "00"]}}',
                                    b'{"format": 2, "files": {}}'])
def test_a_damaged_digests_file_is_not_believed(damage: bytes, fixture_mesh: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from meshkit.artifact_cache import FILE_DIGESTS, FileDigests

    monkeypatch.setattr(artifact_cache, "_SETTLED_NS", 0)
    mesh = load_mesh(fixture_mesh)
    folder = mesh.artifacts_path(mesh.config.domains[0])
    kept = FileDigests(mesh.root / FILE_DIGESTS)
    raw = kept.read(LocalArtifacts(folder))
    kept.save()
    assert FileDigests(mesh.root / FILE_DIGESTS).content_hash(folder) == raw.content_hash
    (mesh.root / FILE_DIGESTS).write_bytes(damage)
    assert FileDigests(mesh.root / FILE_DIGESTS).content_hash(folder) is None
