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


def test_worker_processes_trace_the_same_lineage(built_mesh_template: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Waves of queries traced side by side in worker processes give the edges and columns of
    the one-process walk (every wave of the small fixture goes to the workers here)."""
    arts = read_domain_artifacts(LocalArtifacts(built_mesh_template / "fx_bank" / "target"))
    alone = _lineage(arts, lineage.LineageCache(None))
    monkeypatch.setattr(lineage, "PARALLEL_MIN_QUERIES", 1)
    workers = lineage.LineageCache(None, processes=2)
    try:
        side_by_side = _lineage(arts, workers)
        assert workers._pool is not None, "the queries went to the worker processes"
    finally:
        workers.shutdown()
    assert side_by_side == alone and alone.edges


def test_once_the_workers_run_every_wave_goes_to_them(built_mesh_template: Path) -> None:
    """The fixture's waves are small: traced here (their parsed trees then need a pass of the
    collector) unless the workers already run, as after a large wave of a sync."""
    arts = read_domain_artifacts(LocalArtifacts(built_mesh_template / "fx_bank" / "target"))
    here = lineage.LineageCache(None, processes=2)
    alone = _lineage(arts, here)
    assert here._pool is None and here.traced_here > 0
    workers = lineage.LineageCache(None, processes=2)
    try:
        assert workers._workers() is not None  # started, as by a large wave
        side_by_side = _lineage(arts, workers)
        assert workers.traced_here == 0
    finally:
        workers.shutdown()
    assert side_by_side == alone and alone.edges


def test_waves_put_every_model_after_the_models_it_reads() -> None:
    from meshkit.artifacts import NodeInfo

    def node(uid: str, *parents: str) -> NodeInfo:
        return NodeInfo(unique_id=uid, resource_type="model", name=uid, package_name="m",
                        version=None, latest_version=None, deprecation_date=None, group=None,
                        access="protected", contract_enforced=False, description="",
                        database=None, schema=None, alias=None, depends_on=parents, columns=(),
                        tags=(), compiled_code=None)

    waves = lineage._waves([node("m.c", "m.b", "m.a"), node("m.b", "m.a"), node("m.a"),
                            node("m.d", "source.x")])
    assert [[n.unique_id for n in w] for w in waves] == [["m.a", "m.d"], ["m.b"], ["m.c"]]


def test_a_dead_worker_costs_time_not_lineage(built_mesh_template: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker process that dies (killed, out of memory) leaves the queries to the calling
    process: the lineage is whole, only slower."""
    import os

    arts = read_domain_artifacts(LocalArtifacts(built_mesh_template / "fx_bank" / "target"))
    alone = _lineage(arts, lineage.LineageCache(None))

    parent, trace = os.getpid(), lineage.query_lineage

    def die_in_a_worker(*job: object) -> object:
        if os.getpid() != parent:
            os._exit(1)
        return trace(*job)  # type: ignore[arg-type]

    monkeypatch.setattr(lineage, "query_lineage", die_in_a_worker)  # the forks inherit it
    monkeypatch.setattr(lineage, "PARALLEL_MIN_QUERIES", 1)
    workers = lineage.LineageCache(None, processes=2)
    try:
        assert _lineage(arts, workers) == alone
    finally:
        workers.shutdown()
    assert workers.processes == 1, "no pool is started again after one broke"


def test_a_new_sqlglot_traces_again(built_mesh_template: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache is keyed by the code that traced too: after an upgrade of sqlglot (or meshkit)
    a model is traced by the new code, not answered with what the old one found."""
    import sqlglot

    from meshkit.code_fingerprint import code_fingerprint

    arts = read_domain_artifacts(LocalArtifacts(built_mesh_template / "fx_bank" / "target"))
    _lineage(arts, lineage.LineageCache(tmp_path / "cache"))
    traced: list[str] = []
    real = lineage.query_lineage

    def counted(sql: str, *args: object, **kwargs: object) -> object:
        traced.append(sql)
        return real(sql, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lineage, "query_lineage", counted)
    monkeypatch.setattr(sqlglot, "__version__", "0.0.0-other")
    code_fingerprint.cache_clear()
    try:
        _lineage(arts, lineage.LineageCache(tmp_path / "cache"))
    finally:
        code_fingerprint.cache_clear()
    assert traced, "a cached model was served across a sqlglot upgrade"
