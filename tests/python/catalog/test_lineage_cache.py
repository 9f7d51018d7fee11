"""The lineage cache: a domain's models are parsed once, then served from one file per domain
(on the fixture producer, built with real dbt once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshkit import lineage
from meshkit.artifacts import LocalArtifacts, read_domain_artifacts


def _lineage(arts: object, cache: lineage.LineageCache) -> lineage.DomainLineage:
    return lineage.domain_lineage(arts, "fx_bank", is_foreign=lambda uid: False,  # type: ignore[arg-type]
                                  cache=cache)


def test_second_run_reads_the_domain_file_and_parses_nothing(
        built_mesh_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arts = read_domain_artifacts(LocalArtifacts(built_mesh_template / "fx_bank" / "target"))
    first = _lineage(arts, lineage.LineageCache(tmp_path / "cache"))
    assert first.edges, "the fixture producer's models have column lineage"
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["fx_bank.json"]

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached model was parsed again")

    monkeypatch.setattr(lineage, "query_lineage", no_parse)
    second = _lineage(arts, lineage.LineageCache(tmp_path / "cache"))
    assert second == first


def test_unreadable_cache_file_only_costs_time(built_mesh_template: Path, tmp_path: Path) -> None:
    arts = read_domain_artifacts(LocalArtifacts(built_mesh_template / "fx_bank" / "target"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "fx_bank.json").write_text("{not json")
    assert _lineage(arts, lineage.LineageCache(tmp_path / "cache")).edges
    assert _lineage(arts, lineage.LineageCache(tmp_path / "cache")) == \
        _lineage(arts, lineage.LineageCache(None))
