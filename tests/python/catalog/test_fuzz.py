"""Fuzzing (hypothesis) of mesh.yml and of every dbt artifact file of a domain, on the real
fixture mesh: never a traceback; a bad mesh.yml is exit 2 with the previous catalog byte for
byte; a bad artifact isolates its domain, every other domain's entry unchanged.

Example counts are kept small so the whole file runs in well under a minute (see
``MESH_EXAMPLES`` / ``ARTIFACT_EXAMPLES``); the derandomized database-free profile makes a run
reproducible.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshkit.artifacts import ARTIFACT_FILES
from meshkit.catalog.build import duplicate_ids
from meshkit.catalog.model import Catalog
from meshkit.catalog.sync import sync
from meshkit.cli.main import cli
from meshkit.config import load_mesh
from meshkit.errors import ConfigError, MeshError

MESH_EXAMPLES = 150
ARTIFACT_EXAMPLES = 20  # per artifact file and domain: 4 files x 2 domains

FUZZ = settings(derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=6,
)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def synced_mesh(fixture_mesh: Path) -> Path:
    result = CliRunner().invoke(cli, ["sync", "--mesh", str(fixture_mesh)])
    assert result.exit_code == 0, result.output
    return fixture_mesh


# --- mesh.yml -----------------------------------------------------------------------------------


@st.composite
def mutated_yaml(draw: st.DrawFn, text: str) -> str:
    """The mesh.yml text with one to three edits: lines deleted, duplicated, re-indented, their
    values replaced, or characters inserted."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "indent", "value", "insert"]))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 6)) + lines[i].lstrip()
        elif op == "value" and ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            value = draw(st.text(max_size=15) | st.sampled_from(
                ["", "[]", "{}", "null", "7", "[a, b]", "{type: x}", "- a", "&a", "*a", "!!binary",
                 "Fx_Bank", "fx_risk", "jaffle_shop", "analyst"]))
            lines[i] = f"{key}: {value}"
        else:
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.text(max_size=4)) + lines[i][at:]
    return "\n".join(lines) + "\n"


def test_fuzzed_mesh_yml_never_tracebacks_and_a_bad_one_changes_nothing(
        synced_mesh: Path) -> None:
    original = synced_mesh.read_text()
    catalog_dir = synced_mesh.parent / "catalog"
    before = _files(catalog_dir)
    seen = {"refused": 0, "loaded": 0}

    @settings(FUZZ, max_examples=MESH_EXAMPLES)
    @given(text=mutated_yaml(original))
    def check(text: str) -> None:
        synced_mesh.write_text(text)
        try:
            load_mesh(synced_mesh)
        except ConfigError:
            seen["refused"] += 1
            result = CliRunner().invoke(cli, ["sync", "--mesh", str(synced_mesh)])
            assert result.exit_code == 2, (text, result.output, result.exc_info)
            assert "error: " in result.output and "fix: " in result.output
            assert _files(catalog_dir) == before
            return
        seen["loaded"] += 1
        # A mesh.yml that loads is synced as a dry run (no traceback, nothing written): its
        # domains may name paths that do not exist, which isolates them (exit 1), or
        # projects of other names (exit 2).
        result = CliRunner().invoke(cli, ["sync", "--dry-run", "--mesh", str(synced_mesh)])
        assert result.exit_code in (0, 1, 2), (text, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            text, result.exc_info)
        assert _files(catalog_dir) == before

    check()
    synced_mesh.write_text(original)
    print(f"mesh.yml fuzz: {seen}")
    assert seen["refused"] > MESH_EXAMPLES // 3  # the fuzzer reaches the validation


# --- artifacts ----------------------------------------------------------------------------------


def _paths(data: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> Iterator[tuple[Any, ...]]:
    """Paths into the parts of an artifact meshkit reads (not dbt's macros and docs)."""
    if depth > 6:
        return
    if isinstance(data, dict):
        for key, value in data.items():
            if depth == 0 and key in ("macros", "docs", "disabled", "parent_map", "child_map",
                                      "group_map", "semantic_models", "saved_queries"):
                continue
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key), depth + 1)
    elif isinstance(data, list):
        for i, value in enumerate(data[:5]):
            yield (*prefix, i)
            yield from _paths(value, (*prefix, i), depth + 1)


def _set(data: Any, path: tuple[Any, ...], value: Any, delete: bool) -> None:
    for part in path[:-1]:
        data = data[part]
    if delete:
        del data[path[-1]]
    else:
        data[path[-1]] = value


@st.composite
def mutated_json(draw: st.DrawFn, raw: bytes, paths: list[tuple[Any, ...]]) -> bytes:
    op = draw(st.sampled_from(["replace", "replace", "delete", "truncate", "garbage"]))
    if op == "truncate":
        return raw[:draw(st.integers(0, len(raw) - 1))]
    if op == "garbage":
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    data = orjson.loads(raw)
    path = paths[draw(st.integers(0, len(paths) - 1))]
    _set(data, path, draw(json_values), delete=op == "delete")
    return orjson.dumps(data)


@pytest.mark.parametrize("domain", ["fx_bank", "fx_risk"])
@pytest.mark.parametrize("name", ARTIFACT_FILES)
def test_fuzzed_artifacts_never_traceback_and_isolate_their_domain(
        synced_mesh: Path, domain: str, name: str) -> None:
    mesh = load_mesh(synced_mesh)
    baseline = Catalog.model_validate_json(
        (synced_mesh.parent / "catalog" / "catalog.json").read_bytes())
    target = synced_mesh.parent / domain / "target"
    file = target / name
    if not file.is_file():  # sources.json: a domain without source freshness; fuzz one anyway
        file.write_bytes(orjson.dumps({"metadata": {}, "results": [
            {"unique_id": f"source.{domain}.raw.raw_customers", "status": "pass",
             "max_loaded_at": "2026-01-01T00:00:00Z"}]}))
    raw = file.read_bytes()
    paths = list(_paths(orjson.loads(raw)))
    seen = {"isolated": 0, "read": 0}

    @settings(FUZZ, max_examples=ARTIFACT_EXAMPLES)
    @given(data=mutated_json(raw, paths))
    def check(data: bytes) -> None:
        file.write_bytes(data)
        try:
            result = sync(mesh, dry_run=True)
        except MeshError as exc:  # a cycle of domains or ids given twice: refused whole
            assert exc.exit_code == 2 and exc.fix, exc
            return
        others = [d for d in result.catalog.domains if d.name != domain]
        mine = next(d for d in result.catalog.domains if d.name == domain)
        assert duplicate_ids(result.catalog) == []
        if result.failures:
            seen["isolated"] += 1
            [failure] = result.failures
            assert f"domain {domain!r}" in failure.message and failure.fix and failure.file
            assert others == [d for d in baseline.domains if d.name != domain]
            assert mine.stale is not None
            assert mine.model_copy(update={"stale": None}) == next(
                d for d in baseline.domains if d.name == domain)
        else:
            seen["read"] += 1
            assert mine.stale is None

    try:
        check()
    finally:
        file.write_bytes(raw)
    print(f"{domain}/{name} fuzz: {seen}")
    if name == "manifest.json":
        assert seen["isolated"] > 0


def test_fuzz_leaves_a_real_sync_intact(synced_mesh: Path) -> None:
    """After the fuzzing above (dry runs), a real sync of restored artifacts is unchanged."""
    shutil.rmtree(synced_mesh.parent / "catalog" / "state")
    assert sync(load_mesh(synced_mesh)).failures == []
