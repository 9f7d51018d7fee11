"""Scale benchmark of the catalog sync (``make bench``; marked slow, never run by ``make test``).

Every figure is a RATIO to a baseline measured in the same run on the same machine, so the
bounds asserted hold on a slow CI runner as on a laptop:

* parse floor: read + ``orjson.loads`` of every artifact file of the mesh, nothing else;
* cold sync (empty catalog) of 50 domains x 200 models, against the floor;
* incremental sync (nothing changed) and one domain rebuilt, against the cold sync;
* peak RSS of a ``mesh-sync --json`` subprocess at 50 domains against 10 domains (flat memory:
  one domain's raw artifacts alive at a time).

The mesh is generated from the real jaffle_shop artifacts (see ``synthetic_mesh``); the sizes can
be changed with MESH_BENCH_DOMAINS / MESH_BENCH_MODELS. With MESH_BENCH_OUT set the figures are
also written to that file (``1`` means ``bench-results.json`` in the current directory).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import synthetic_mesh as sm

pytestmark = pytest.mark.slow

DOMAINS = int(os.environ.get("MESH_BENCH_DOMAINS", "50"))
MODELS = int(os.environ.get("MESH_BENCH_MODELS", "200"))
SMALL = max(2, DOMAINS // 5)  # the memory baseline: same models per domain, fewer domains
# Generous bounds: they catch a regression (e.g. one INSERT per row, a quadratic step), not noise.
MAX_COLD_OVER_FLOOR = 10.0
MAX_INCREMENTAL_OVER_COLD = 0.5  # nothing changed: no rewrite of catalog/ nor the tables
MAX_ONE_CHANGED_OVER_COLD = 0.9
MAX_RSS_RATIO = 2.2

# Runs the real CLI in a child process and reports that process's own peak RSS (KiB).
_RSS_WRAPPER = """
import json, resource, sys
sys.argv = ["mesh-sync", "--mesh", sys.argv[1], "--json"]
from meshkit.cli.main import mesh_sync
code = 0
try:
    mesh_sync()
except SystemExit as exc:
    code = exc.code or 0
# VmHWM is this process's own peak. ru_maxrss is not: Linux carries the parent's peak over
# fork + exec, so every child of a big pytest process would report the parent's figure.
try:
    with open("/proc/self/status") as status:
        rss_kb = next(int(x.split()[1]) for x in status if x.startswith("VmHWM:"))
except (OSError, StopIteration):
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
sys.stderr.write("\\nRSS_JSON " + json.dumps({"code": code, "maxrss_kb": rss_kb}) + "\\n")
"""


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _parse_floor(root: Path) -> tuple[float, int]:
    files = sm.artifact_files(root)
    size = 0
    t0 = time.perf_counter()
    for f in files:
        data = f.read_bytes()
        size += len(data)
        orjson.loads(data)
    return time.perf_counter() - t0, size


def _sync(mesh_file: Path) -> Any:
    from meshkit.catalog.sync import sync
    from meshkit.config import load_mesh

    return sync(load_mesh(mesh_file))


def _peak_rss(mesh_file: Path) -> int:
    """Peak RSS (KiB) of a cold ``mesh-sync --json`` of ``mesh_file`` in a child process."""
    for folder in ("catalog", "warehouse"):
        shutil.rmtree(mesh_file.parent / folder, ignore_errors=True)
    proc = subprocess.run([sys.executable, "-c", _RSS_WRAPPER, str(mesh_file)],
                          capture_output=True, text=True, timeout=600, cwd=mesh_file.parent)
    line = [x for x in proc.stderr.splitlines() if x.startswith("RSS_JSON ")]
    assert line, f"mesh-sync wrapper failed:\n{proc.stderr[-3000:]}"
    report = json.loads(line[-1].removeprefix("RSS_JSON "))
    assert report["code"] == 0, f"mesh-sync exited {report['code']}:\n{proc.stderr[-3000:]}"
    summary = json.loads(proc.stdout)
    assert all(d["status"] == "processed" for d in summary["domains"])
    return int(report["maxrss_kb"])


@pytest.fixture(scope="module")
def templates() -> sm.Templates:
    if not sm.REAL_ARTIFACTS.is_dir():
        pytest.skip(f"real dbt artifacts not found at {sm.REAL_ARTIFACTS} (shared/ beside the repo)")
    return sm.Templates.load()


def _table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def test_sync_scales(tmp_path: Path, templates: sm.Templates) -> None:
    big = tmp_path / f"mesh_{DOMAINS}"
    gen_s, mesh_file = _timed(lambda: sm.generate(big, DOMAINS, MODELS, templates=templates))
    small_file = sm.generate(tmp_path / f"mesh_{SMALL}", SMALL, MODELS, templates=templates)

    # Warm the page cache and the imports once, so neither counts against one phase only.
    _parse_floor(big)
    floor_s, size = min(_parse_floor(big) for _ in range(2))

    cold_s, cold = _timed(lambda: _sync(mesh_file))
    assert [d.status for d in cold.domains] == ["processed"] * DOMAINS
    products, datasets = len(cold.catalog.products()), len(cold.catalog.datasets())
    assert datasets >= DOMAINS * MODELS // 5
    del cold

    incr_s, incr = _timed(lambda: _sync(mesh_file))
    assert {d.status for d in incr.domains} == {"skipped (unchanged)"}
    assert not incr.changes
    del incr

    sm.rebuild_domain(big, DOMAINS, MODELS, DOMAINS // 2, "rebuilt", templates=templates)
    one_s, one = _timed(lambda: _sync(mesh_file))
    assert sum(d.status == "processed" for d in one.domains) == 1
    del one

    rss_small = _peak_rss(small_file)
    rss_big = _peak_rss(mesh_file)

    figures = {
        "domains": DOMAINS, "models_per_domain": MODELS, "products": products,
        "datasets": datasets, "artifact_mb": round(size / 2**20, 1),
        "generate_s": round(gen_s, 2), "parse_floor_s": round(floor_s, 3),
        "cold_sync_s": round(cold_s, 3), "cold_over_floor": round(cold_s / floor_s, 2),
        "incremental_s": round(incr_s, 3), "incremental_over_cold": round(incr_s / cold_s, 3),
        "one_changed_s": round(one_s, 3), "one_changed_over_cold": round(one_s / cold_s, 3),
        "rss_small_mb": round(rss_small / 1024, 1), "rss_big_mb": round(rss_big / 1024, 1),
        "small_domains": SMALL, "rss_ratio": round(rss_big / rss_small, 3),
    }
    rows = [
        ("measure", "value", "ratio"),
        (f"mesh ({DOMAINS} domains x {MODELS} models)",
         f"{figures['artifact_mb']} MiB, {products} products, {datasets} datasets", ""),
        ("parse floor (read + orjson.loads)", f"{floor_s:.3f}s", "1.00 (baseline)"),
        ("cold sync (empty catalog)", f"{cold_s:.3f}s", f"{cold_s / floor_s:.2f} x floor"),
        ("incremental (nothing changed)", f"{incr_s:.3f}s", f"{incr_s / cold_s:.3f} x cold"),
        ("one domain rebuilt", f"{one_s:.3f}s", f"{one_s / cold_s:.3f} x cold"),
        (f"peak RSS, {SMALL} domains", f"{rss_small / 1024:.1f} MiB", "1.00 (baseline)"),
        (f"peak RSS, {DOMAINS} domains", f"{rss_big / 1024:.1f} MiB",
         f"{rss_big / rss_small:.2f} x {SMALL} domains"),
    ]
    print("\n\nmesh-sync benchmark\n" + _table(rows) + "\n")
    out = json.dumps(figures, indent=2) + "\n"
    (tmp_path / "bench-results.json").write_text(out)
    target = os.environ.get("MESH_BENCH_OUT")
    if target:
        path = Path("bench-results.json") if target.lower() in ("1", "true", "yes") else Path(target)
        path.write_text(out)
        print(f"figures written to {path.resolve()}")

    assert cold_s / floor_s < MAX_COLD_OVER_FLOOR, figures
    assert incr_s / cold_s < MAX_INCREMENTAL_OVER_COLD, figures
    assert one_s / cold_s < MAX_ONE_CHANGED_OVER_COLD, figures
    assert rss_big / rss_small < MAX_RSS_RATIO, figures
