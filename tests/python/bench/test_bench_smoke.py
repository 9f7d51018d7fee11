"""A tiny run of every benchmark of ``make bench``, so that none of them rots between runs.

It asserts that each figure was measured (a ratio, positive and finite), never a time or a target:
targets are for ``make bench`` on a quiet machine, not for a test on a shared runner.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(not (REPO.parent / "shared" / "real-artifacts").is_dir(),
                    reason="the synthetic mesh clones the real jaffle_shop artifacts beside the repo")
def test_every_benchmark_runs_at_tiny_size(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--work", str(tmp_path)],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "MESH_BENCH_CACHE": str(tmp_path / "cache"),
             "MESH_BENCH_ARTIFACTS": str(REPO.parent / "shared" / "real-artifacts" / "jaffle_shop")},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    figures = json.loads((tmp_path / "results.json").read_text())
    names = {f["name"] for f in figures}
    assert names == {"sync_cold", "parser_vs_sync", "real_cold", "real_parser_vs_sync", "one_changed",
                     "rss", "build", "query", "secure_view"}
    for f in figures:
        assert f["ratio"] is not None and math.isfinite(f["ratio"]) and f["ratio"] > 0, f
    # The memory figure shows both peaks it divides, in MB, and says what it leaves out.
    rss = next(f for f in figures if f["name"] == "rss")
    assert rss["unit"] == "MB" and rss["subject_s"] > 20 and rss["baseline_s"] > 20, rss
    assert "lineage worker" in rss["note"], rss
    # The incremental figure says what a sync with nothing changed costs beside it.
    one = next(f for f in figures if f["name"] == "one_changed")
    assert one["extra"]["nothing_changed"] > 0 and "nothing changed" in one["note"], one
    # The smoke run never overwrites the committed results.
    assert "written to" not in proc.stdout
